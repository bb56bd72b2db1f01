// Window operators (pane path and general path) restored again and again from checkpoints that went through JSON,
// with full and incremental snapshots mixed: the total output (results, watermarks, late records) is the output of
// one uninterrupted run.
import fc from 'fast-check';
import { Subject, pipe, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  collect,
  count,
  countTrigger,
  mean,
  sessionWindows,
  slidingWindows,
  sum,
  tumblingWindows,
  type OperatorSnapshot,
  type StreamElement,
  type StreamRecord,
  type WindowResult,
} from '../src/index.js';
import { aggregate, processWindow, reduce, window } from '../operators/index.js';
import { harness, type Harness, type HarnessCheckpoint } from '../testing/index.js';
import { feed, fmt, sumE, type E, type Step } from './support/windows.js';

type Op = OperatorFunction<StreamElement<E, string>, StreamElement<WindowResult<string, unknown>, string>>;
type Late = Subject<StreamRecord<E, string>>;

function viaJson(cp: HarnessCheckpoint): HarnessCheckpoint {
  const ops = JSON.parse(JSON.stringify([...cp.operators])) as [string, OperatorSnapshot[]][];
  const latest = JSON.parse(JSON.stringify([...cp.latest])) as [string, OperatorSnapshot][];
  return { operators: new Map(ops), latest: new Map(latest) };
}

const steps: fc.Arbitrary<Step[]> = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', '"q\\'), fc.integer({ min: 1, max: 9 }), fc.integer({ min: -20, max: 200 })) },
      { weight: 1, arbitrary: fc.integer({ min: -20, max: 220 }) },
    ),
    { maxLength: 70 },
  )
  .map((xs) => {
    let w = -Infinity;
    return xs.map((x) => (typeof x === 'number' ? (w = Math.max(w, x)) : x));
  });

/** what happens after a step: nothing, a snapshot (delta or full), or a snapshot and a restore from it */
type Act = 'none' | 'snap' | 'full' | 'restore' | 'restore-full';
const acts: fc.Arbitrary<Act[]> = fc.array(fc.constantFrom<Act>('none', 'none', 'none', 'snap', 'full', 'restore', 'restore', 'restore-full'), { maxLength: 80 });

/** Output and late records of a run that follows `plan` after each step (the uninterrupted run: plan []). */
function runOut(op: () => Op, late: Late, input: readonly Step[], plan: readonly Act[]): { out: string[]; late: string[] } {
  const lates: string[] = [];
  const sub = late.subscribe((r) => lates.push(`${r.key} ${r.value[1]}@${r.timestamp}`));
  let h: Harness<E, string, WindowResult<string, unknown>> = harness(op());
  const out: string[] = [];
  input.forEach((s, i) => {
    feed(h, [s]);
    const act = plan[i] ?? 'none';
    if (act === 'none') return;
    const cp = h.snapshot(act === 'full' || act === 'restore-full' ? { full: true } : undefined);
    if (act === 'restore' || act === 'restore-full') {
      out.push(...h.takeOutput().map(fmt));
      h = h.restore(viaJson(cp));
    }
  });
  h.complete();
  out.push(...h.takeOutput().map(fmt));
  sub.unsubscribe();
  return { out, late: lates };
}
const cases: [string, (L: number, late: Late) => Op][] = [
  ['tumbling 20, offset 5, sum', (L, late) => pipe(window<E, string>(tumblingWindows(20, { offset: 5 }), { allowedLateness: L, lateData: late }), aggregate(sum((e: E) => e[1])))],
  ['tumbling 20, reduce', (L, late) => pipe(window<E, string>(tumblingWindows(20), { allowedLateness: L, lateData: late }), reduce(sumE)) as Op],
  ['tumbling 20, processWindow lists', (L, late) => pipe(window<E, string>(tumblingWindows(20), { allowedLateness: L, lateData: late }), processWindow((els: readonly E[]) => els.map((e) => e[1]).join(',')))],
  ['sliding 30 / 10, count', (L, late) => pipe(window<E, string>(slidingWindows(30, 10), { allowedLateness: L, lateData: late }), aggregate(count()))],
  ['sliding 25 / 10, offset 3, mean', (L, late) => pipe(window<E, string>(slidingWindows(25, 10, { offset: 3 }), { allowedLateness: L, lateData: late }), aggregate(mean((e: E) => e[1])))],
  ['sliding 30 / 10, reduce (general path)', (L, late) => pipe(window<E, string>(slidingWindows(30, 10), { allowedLateness: L, lateData: late }), reduce(sumE)) as Op],
  // lists grown between snapshots: their deltas append the elements added since (append rows)
  ['sliding 30 / 10, processWindow lists', (L, late) => pipe(window<E, string>(slidingWindows(30, 10), { allowedLateness: L, lateData: late }), processWindow((els: readonly E[]) => els.map((e) => e[1]).join(',')))],
  ['tumbling 40, count trigger 3, processWindow lists (general path)', (L, late) => pipe(window<E, string>(tumblingWindows(40), { allowedLateness: L, lateData: late, trigger: countTrigger(3) }), processWindow((els: readonly E[]) => els.map((e) => e[1]).join(',')))],
  ['tumbling 20, collect', (L, late) => pipe(window<E, string>(tumblingWindows(20), { allowedLateness: L, lateData: late }), aggregate(collect<E>()))],
  ['sliding 30 / 10, collect', (L, late) => pipe(window<E, string>(slidingWindows(30, 10), { allowedLateness: L, lateData: late }), aggregate(collect<E>()))],
  ['tumbling 40, count trigger 3, collect (general path)', (L, late) => pipe(window<E, string>(tumblingWindows(40), { allowedLateness: L, lateData: late, trigger: countTrigger(3) }), aggregate(collect<E>()))],
  ['sessions gap 15, processWindow lists (general path)', (L, late) => pipe(window<E, string>(sessionWindows(15), { allowedLateness: L, lateData: late }), processWindow((els: readonly E[]) => els.map((e) => e[1]).join(',')))],
  ['sliding 30 / 10, processWindow with sum', (L, late) => pipe(window<E, string>(slidingWindows(30, 10), { allowedLateness: L, lateData: late }), processWindow((xs: readonly number[]) => xs[0], { aggregate: sum((e: E) => e[1]) }))],
];

describe('property: window operators restored repeatedly via JSON, full and incremental snapshots mixed', () => {
  for (const [name, op] of cases) {
    it(name, () => {
      fc.assert(
        fc.property(steps, fc.constantFrom(0, 7, 30), acts, (input, L, plan) => {
          const late: Late = new Subject();
          expect(runOut(() => op(L, late), late, input, plan)).toStrictEqual(runOut(() => op(L, late), late, input, []));
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe('timer order across restores (general path)', () => {
  it('keys firing at one timestamp keep their order after two restores (timers keep their registration numbers)', () => {
    const op = () => pipe(window<E, string>(slidingWindows(30, 10), {}), reduce(sumE)) as Op;
    const late: Late = new Subject();
    const input: Step[] = [['a', 1, 10], ['e', 1, -1]];
    const expected = [
      'e [-30,0) ["e",1] @-1',
      'e [-20,10) ["e",1] @9',
      'a [-10,20) ["a",1] @19',
      'e [-10,20) ["e",1] @19',
      'a [0,30) ["a",1] @29',
      'a [10,40) ["a",1] @39',
      'W MAX',
    ];
    expect(runOut(op, late, input, []).out).toStrictEqual(expected);
    expect(runOut(op, late, input, ['restore', 'restore']).out).toStrictEqual(expected);
  });
});
