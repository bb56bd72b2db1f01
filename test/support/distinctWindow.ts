import { pipe } from 'rxjs';
import { expect } from 'vitest';
import { tumblingWindows, type OperatorSnapshot } from '../../src/index.js';
import { aggregate, window } from '../../operators/index.js';
import { harness, rec, wm, type HarnessCheckpoint } from '../../testing/index.js';

/** JSON round trip, as a store would write and read a checkpoint. */
export function viaJson(cp: HarnessCheckpoint): HarnessCheckpoint {
  const ops = JSON.parse(JSON.stringify([...cp.operators])) as [string, OperatorSnapshot[]][];
  const latest = JSON.parse(JSON.stringify([...cp.latest])) as [string, OperatorSnapshot][];
  return { operators: new Map(ops), latest: new Map(latest) };
}

/**
 * A windowed distinct count (Nexmark q16's accumulators: the slicing operator's, changed in place between
 * checkpoints) over 6 000 records of two keys in 12 batches, a checkpoint after every batch; at batch `cut`, a restore
 * from the chain so far (its sets rows folded). Returns the results and how many sets rows the checkpoints held.
 *
 * @example
 * ```ts
 * expect(distinctWindowRun(() => new Set(), 3).results).toStrictEqual(distinctWindowRun(() => new Set(), undefined).results);
 * ```
 */
export function distinctWindowRun(makeSet: () => Set<number>, cut: number | undefined): { results: unknown[]; sets: number } {
  interface Distinct {
    ids: Set<number>;
    n: number;
  }
  const op = pipe(
    window<number, string>(tumblingWindows(10_000)),
    aggregate<number, Distinct, { distinct: number; n: number }, string>({
      create: () => ({ ids: makeSet(), n: 0 }),
      add: (a, x) => {
        a.ids.add(x);
        a.n++;
        return a;
      },
      result: (a) => ({ distinct: a.ids.size, n: a.n }),
    }),
  );
  const batches: ReturnType<typeof rec<number, string>>[][] = [];
  let batch: ReturnType<typeof rec<number, string>>[] = [];
  for (let i = 0; i < 6_000; i++) {
    batch.push(rec((i * 7919) % 4_000, Math.floor(i / 1_000) * 1_000 + (i % 1_000), i % 2 === 0 ? 'a' : 'b'));
    if (i % 500 === 499) {
      batches.push(batch);
      batch = [];
    }
  }
  let h = harness(op);
  let sets = 0;
  for (let b = 0; b < batches.length; b++) {
    h.push(...(batches[b] as never[]));
    const cp = h.snapshot();
    for (const snapshot of cp.latest.values()) sets += snapshot.entries.filter((e) => e.value?.startsWith('[8,') === true).length;
    if (b === cut) h = h.restore(viaJson(cp));
  }
  h.push(wm(20_000) as never);
  return { results: h.records().map((r) => [r.key, r.timestamp, r.value.value]), sets };
}

/** What {@link distinctWindowRun} gives: both keys' one window. */
export const DISTINCT_WINDOW_RESULTS = [
  ['a', 9_999, { distinct: 2_000, n: 3_000 }],
  ['b', 9_999, { distinct: 2_000, n: 3_000 }],
];

/**
 * Asserts the uninterrupted run of {@link distinctWindowRun} with Sets made by `makeSet`: every checkpoint after the
 * first writes both keys' accumulators as sets rows, the results are {@link DISTINCT_WINDOW_RESULTS}, and a restore at
 * each of the 12 cuts gives the same results.
 */
export function expectRestoresAtEveryCut(makeSet: () => Set<number>): void {
  const straight = distinctWindowRun(makeSet, undefined);
  expect(straight.sets).toBe(2 * 11);
  expect(straight.results).toStrictEqual(DISTINCT_WINDOW_RESULTS);
  for (let cut = 0; cut < 12; cut++) expect(distinctWindowRun(makeSet, cut).results, `cut ${cut}`).toStrictEqual(straight.results);
}
