import { Subject, pipe } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { count, mean, slidingWindows, type Aggregator } from '../src/index.js';
import { aggregate, processWindow, window } from '../operators/index.js';
import { harness } from '../testing/index.js';
import { feed, fmt, sortRuns, type E, type Step, runWithRestore, type LateSide, type WindowOp } from './support/windows.js';

type Op = WindowOp;
type Late = LateSide;

/**
 * Many keys in phases: 1 500 keys, then 1 500 others (the first ones' state goes: their slots are reused), then all
 * 3 000 again; timestamps slightly out of order, a watermark every 5 ms of event time, late records now and then.
 */
function data(): Step[] {
  const steps: Step[] = [];
  let x = 12345;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const phases: [from: number, to: number, k0: number, k1: number][] = [
    [0, 120, 0, 1500],
    [120, 240, 1500, 3000],
    [240, 300, 0, 3000],
  ];
  let wm = -Infinity;
  for (const [t0, t1, k0, k1] of phases) {
    for (let t = t0; t < t1; t++) {
      for (let i = 0; i < 40; i++) {
        const late = rnd(50) === 0 ? 40 : 0;
        steps.push([`k${k0 + rnd(k1 - k0)}`, rnd(9) + 1, Math.max(0, t - rnd(4) - late)]);
      }
      if (t % 5 === 4 && t - 3 > wm) steps.push((wm = t - 3));
    }
  }
  return steps;
}

/** An order-insensitive aggregator whose accumulator is undefined until a value that is not a multiple of 3. */
const sumNot3: Aggregator<E, number | undefined, number | null> = {
  create: () => undefined,
  add: (a, v) => (v[1] % 3 === 0 ? a : (a ?? 0) + v[1]),
  merge: (a, b) => (a === undefined ? b : b === undefined ? a : a + b),
  result: (a) => a ?? null,
};


describe('pane path with many keys (open panes by key slot)', () => {
  const input = data();
  const n = input.length;
  const cases: [string, (L: number, late: Late) => Op, (L: number, late: Late) => Op][] = [
    [
      'mean (object accumulators)',
      (L, late) => pipe(window<E, string>(slidingWindows(30, 10), { allowedLateness: L, lateData: late }), aggregate(mean((e: E) => e[1]))),
      (L, late) =>
        pipe(
          window<E, string>(slidingWindows(30, 10), { allowedLateness: L, lateData: late }),
          processWindow((els: readonly E[]) => els.reduce((s, e) => s + e[1], 0) / els.length),
        ),
    ],
    [
      'an accumulator that may be undefined',
      (L, late) => pipe(window<E, string>(slidingWindows(25, 5, { offset: 3 }), { allowedLateness: L, lateData: late }), aggregate(sumNot3)),
      (L, late) =>
        pipe(
          window<E, string>(slidingWindows(25, 5, { offset: 3 }), { allowedLateness: L, lateData: late }),
          processWindow((els: readonly E[]) => {
            const xs = els.filter((e) => e[1] % 3 !== 0);
            return xs.length === 0 ? null : xs.reduce((s, e) => s + e[1], 0);
          }),
        ),
    ],
  ];
  for (const [name, op, oracle] of cases) {
    for (const L of [0, 20]) {
      it(`${name}, lateness ${L}: equals the general path; restores mid-stream to exactly the uninterrupted output; no state left`, () => {
        const late: Late = new Subject();
        const whole = runWithRestore(() => op(L, late), late, input, []);
        const general = runWithRestore(() => oracle(L, late), late, input, []);
        expect(whole.out.length).toBeGreaterThan(10_000);
        expect(sortRuns(whole.out)).toStrictEqual(sortRuns(general.out));
        expect(whole.late).toStrictEqual(general.late);
        expect(whole.entries).toBe(0);
        // cuts: while the first keys arrive (slots grow past 1 024 with panes open), while they go, and in the last phase
        for (const cuts of [[Math.floor(n * 0.1)], [Math.floor(n * 0.05), Math.floor(n * 0.3), Math.floor(n * 0.5)], [Math.floor(n * 0.45), Math.floor(n * 0.85)]]) {
          const restored = runWithRestore(() => op(L, late), late, input, cuts);
          expect(restored.out).toStrictEqual(whole.out);
          expect(restored.late).toStrictEqual(whole.late);
          expect(restored.entries).toBe(0);
        }
      });
    }
  }
});

describe('slicing operator: slices in snapshots and inspection', () => {
  const op = () => pipe(window<E, string>(slidingWindows(30, 10)), aggregate(count()));

  it('an incremental checkpoint writes only the slice entries that changed (and the order of new ones); state entries count each entry once', () => {
    const h = feed(harness(op()), [['a', 1, 1], ['b', 1, 2], ['a', 1, 3], ['c', 1, 12]]);
    // a: slice [0,10) = 2; b: slice [0,10) = 1; c: slice [10,20) = 1
    expect(h.operators[0]?.stateEntries).toBe(3);
    expect(h.state('a', 'contents', { namespace: 0 })).toBe(2);
    expect(h.state('c', 'contents', { namespace: 10 })).toBe(1);
    expect(h.state('c', 'contents', { namespace: 0 })).toBeUndefined();
    // the keys' order in each slice: the order of their first elements in it
    expect([h.state('a', 'order', { namespace: 0 }), h.state('b', 'order', { namespace: 0 }), h.state('c', 'order', { namespace: 10 })]).toStrictEqual([0, 1, 0]);
    const first = h.snapshot();
    expect(first.latest.values().next().value?.entries.length).toBe(6);
    expect(h.operators[0]?.stateEntries).toBe(3);
    feed(h, [['b', 1, 5]]);
    const second = h.snapshot();
    expect(second.latest.values().next().value?.entries.map((e) => e.path)).toStrictEqual(['["s","contents","aggregating",0,"\\"b\\""]']);
    expect(h.snapshot().latest.values().next().value?.entries).toStrictEqual([]);
    expect(h.state('b', 'contents', { namespace: 0 })).toBe(2);
    // watermark 9 fires window [-20,10); slice [0,10) stays (windows [-10,20) and [0,30) hold it)
    feed(h, [9, ['d', 1, 4]]);
    expect(h.records().map((r) => [r.key, r.value.window.start, r.value.value])).toStrictEqual([
      ['a', -20, 2],
      ['b', -20, 2],
    ]);
    expect(h.state('a', 'contents', { namespace: 0 })).toBe(2);
    // d's late-but-accepted element went into slice [0,10) (window [-20,10) is cleaned up: no firing)
    expect(h.state('d', 'contents', { namespace: 0 })).toBe(1);
    expect(h.snapshot().latest.values().next().value?.entries.map((e) => e.path)).toStrictEqual([
      '["s","contents","aggregating",0,"\\"d\\""]',
      '["s","order","value",0,"\\"d\\""]',
    ]);
    // watermark 29 fires [-10,20) and [0,30) and drops slice [0,10): its contents and order are deleted
    feed(h, [29]);
    const third = h.snapshot();
    const paths = third.latest.values().next().value?.entries.map((e) => [e.path, e.value === undefined]);
    expect(paths).toContainEqual(['["s","contents","aggregating",0,"\\"a\\""]', true]);
    expect(paths).toContainEqual(['["s","order","value",0,"\\"b\\""]', true]);
    expect(h.operators[0]?.stateEntries).toBe(1);
    const restored = h.restore(third);
    expect(restored.operators[0]?.stateEntries).toBe(1);
    expect(restored.state('c', 'contents', { namespace: 10 })).toBe(1);
    restored.complete();
    h.complete();
    expect(restored.output().map(fmt)).toStrictEqual(h.output().map(fmt).slice(h.output().length - restored.output().length));
    expect(restored.operators[0]?.stateEntries).toBe(0);
    expect(restored.keys()).toStrictEqual([]);
  });
});
