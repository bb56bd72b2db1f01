/**
 * A deterministic generated clickstream (seeded PRNG): users browsing pages, with event timestamps that arrive
 * slightly out of order, as real client clocks and networks deliver them. Shared by `npm start` and the tests.
 */
export interface Click {
  readonly user: string;
  readonly page: string;
  /** event time, ms */
  readonly at: number;
}

/** mulberry32: a tiny, well-known 32-bit PRNG; same seed, same stream. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const USERS = ['ann', 'bob', 'cyd', 'dee', 'eli', 'fay'];
const PAGES = ['/', '/search', '/item/1', '/item/2', '/cart', '/checkout', '/health'];

/**
 * `n` clicks starting at `start` ms, about `stepMs` apart, each delayed by up to `maxDelayMs` (so they arrive out of
 * order by at most that much).
 *
 * @example
 * ```ts
 * generateClicks(100, { seed: 7 }).length; // 100
 * ```
 */
export function generateClicks(
  n: number,
  opts: { seed?: number; start?: number; stepMs?: number; maxDelayMs?: number } = {},
): Click[] {
  const rnd = prng(opts.seed ?? 42);
  const start = opts.start ?? 1_700_000_000_000;
  const step = opts.stepMs ?? 100;
  const maxDelay = opts.maxDelayMs ?? 300;
  const made: { click: Click; arrival: number }[] = [];
  for (let i = 0; i < n; i++) {
    const at = start + i * step + Math.floor(rnd() * step);
    const click: Click = {
      user: USERS[Math.floor(rnd() * USERS.length)] ?? 'ann',
      page: PAGES[Math.floor(rnd() * PAGES.length)] ?? '/',
      at,
    };
    made.push({ click, arrival: at + Math.floor(rnd() * maxDelay) });
  }
  // arrival order = event time + network delay: out of order by at most maxDelay
  return made.sort((a, b) => a.arrival - b.arrival).map((m) => m.click);
}
