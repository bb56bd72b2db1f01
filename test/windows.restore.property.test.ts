import fc from 'fast-check';
import { Subject, pipe } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { collect, sessionWindows, slidingWindows, sum, tumblingWindows } from '../src/index.js';
import { aggregate, processWindow, window } from '../operators/index.js';
import { type E, type Step, feed, runWithRestore, type LateSide, type WindowOp } from './support/windows.js';
import { harness } from '../testing/index.js';

type Op = WindowOp;
type Late = LateSide;

/** Up to 60 steps over four keys; watermarks are a running max. */
const steps: fc.Arbitrary<Step[]> = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 1, max: 9 }), fc.integer({ min: -20, max: 200 })) },
      { weight: 1, arbitrary: fc.integer({ min: -20, max: 220 }) },
    ),
    { maxLength: 60 },
  )
  .map((xs) => {
    let w = -Infinity;
    return xs.map((x) => (typeof x === 'number' ? (w = Math.max(w, x)) : x));
  });


describe('property: the pane path restores from incremental checkpoints to exactly the uninterrupted output', () => {
  const cases: [string, (L: number, late: Late) => Op][] = [
    ['tumbling 20, offset 5, aggregate', (L, late) => pipe(window<E, string>(tumblingWindows(20, { offset: 5 }), { allowedLateness: L, lateData: late }), aggregate(sum((e: E) => e[1])))],
    ['tumbling 20, processWindow (element lists)', (L, late) => pipe(window<E, string>(tumblingWindows(20), { allowedLateness: L, lateData: late }), processWindow((els: readonly E[]) => els.map((e) => e[1]).join(',')))],
    ['sliding 30 / 10, aggregate', (L, late) => pipe(window<E, string>(slidingWindows(30, 10), { allowedLateness: L, lateData: late }), aggregate(sum((e: E) => e[1])))],
    ['sliding 25 / 10, offset 3 (panes of 5), aggregate', (L, late) => pipe(window<E, string>(slidingWindows(25, 10, { offset: 3 }), { allowedLateness: L, lateData: late }), aggregate(sum((e: E) => e[1])))],
  ];
  for (const [name, op] of cases) {
    it(`${name}: order of keys included`, () => {
      fc.assert(
        fc.property(steps, fc.constantFrom(0, 7, 30, 1000), fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), (input, L, seeds) => {
          const late: Late = new Subject();
          const cuts = seeds.map((x) => x % (input.length + 1)).sort((a, b) => a - b);
          expect(runWithRestore(() => op(L, late), late, input, cuts)).toStrictEqual(runWithRestore(() => op(L, late), late, input, []));
        }),
        { numRuns: 200 },
      );
    });
  }
});

describe('property: merging windows with element lists (merged in place, appended) restore from incremental checkpoints to exactly the uninterrupted output', () => {
  // out-of-order elements with a gap of 15 over timestamps −20…200: sessions merge often, a small one into a big one
  const cases: [string, (L: number, late: Late) => Op][] = [
    ['sessions 15, processWindow', (L, late) => pipe(window<E, string>(sessionWindows(15), { allowedLateness: L, lateData: late }), processWindow((els: readonly E[]) => els.map((e) => e[1]).join(',')))],
    ['sessions 15, aggregate(collect())', (L, late) => pipe(window<E, string>(sessionWindows(15), { allowedLateness: L, lateData: late }), aggregate(collect<E>()))],
  ];
  it('a small session merged into a big one: the next delta appends the merged elements to the big one\'s list (not the list whole)', () => {
    const late: Late = new Subject();
    const h = harness((cases[0] as [string, (L: number, late: Late) => Op])[1](0, late));
    const big: Step[] = Array.from({ length: 100 }, (_, t) => ['a', 1, t]);
    feed(h, big);
    // (the state window of a session is its first window's, [0, 15): merges keep it)
    const contents = (): unknown => h.state('a', 'contents', { namespace: '0,15' });
    expect(contents()).toHaveLength(100);
    h.snapshot();
    // its own session at 125, then 112 bridges it to the big one [0, 114): merged into the big one's state window
    feed(h, [['a', 2, 125], ['a', 3, 112]]);
    expect(contents()).toHaveLength(102);
    const rows = (h.snapshot().latest.values().next().value?.entries ?? []).filter((e) => e.path.includes('contents')).map((e) => e.value);
    expect(rows).toStrictEqual(['[2,[["a",2],["a",3]]]']);
  });

  for (const [name, op] of cases) {
    it(name, () => {
      fc.assert(
        fc.property(steps, fc.constantFrom(0, 7, 1000), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), (input, L, seeds) => {
          const late: Late = new Subject();
          const cuts = seeds.map((x) => x % (input.length + 1)).sort((a, b) => a - b);
          expect(runWithRestore(() => op(L, late), late, input, cuts)).toStrictEqual(runWithRestore(() => op(L, late), late, input, []));
        }),
        { numRuns: 200 },
      );
    });
  }
});
