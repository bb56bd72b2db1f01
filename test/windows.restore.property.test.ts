import fc from 'fast-check';
import { Subject, pipe } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { slidingWindows, sum, tumblingWindows } from '../src/index.js';
import { aggregate, processWindow, window } from '../operators/index.js';
import { type E, type Step, runWithRestore, type LateSide, type WindowOp } from './support/windows.js';

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
