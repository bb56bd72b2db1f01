// Seeded draws for tests that need the same large input every run, over the demo's PRNG (mulberry32).
import { prng } from '../../demo/clicks.js';

/**
 * A seeded draw: `rnd(n)` gives an integer in `[0, n)`, the same sequence for the same seed.
 *
 * @example
 * ```ts
 * const rnd = seededRandom(7);
 * rnd(10); // the same number every run
 * ```
 */
export function seededRandom(seed: number): (n: number) => number {
  const next = prng(seed);
  return (n: number): number => Math.floor(next() * n);
}

/**
 * `0 … n − 1` shuffled with `rnd` (Fisher–Yates, from the end).
 *
 * @example
 * ```ts
 * shuffledRange(5, seededRandom(1)); // a permutation of [0, 1, 2, 3, 4]
 * ```
 */
export function shuffledRange(n: number, rnd: (n: number) => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rnd(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}
