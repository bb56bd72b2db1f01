// The pane path with enough keys to saturate change tracking (≥ SATURATION_MIN changes since the last snapshot):
// inside the snapshot's own mirroring of open panes, during records, and during a watermark's cleanup. Every
// snapshot after saturation is full, and so is the next (untracked) one; deltas after that are exact, and a restore from any point of the chain (via JSON)
// gives the uninterrupted output.
import { pipe, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { count, slidingWindows, tumblingWindows, type OperatorSnapshot, type StreamElement, type WindowResult } from '../src/index.js';
import { aggregate, reduce, window } from '../operators/index.js';
import { harness, type Harness, type HarnessCheckpoint } from '../testing/index.js';
import { SATURATION_MIN } from '../src/state/backend.js';
import { fmt, sumE, type E } from './support/windows.js';

type Op = OperatorFunction<StreamElement<E, string>, StreamElement<WindowResult<string, unknown>, string>>;
const N = 5_000;
const keys = Array.from({ length: N }, (_, i) => `k${i}`);

function viaJson(cp: HarnessCheckpoint): HarnessCheckpoint {
  const ops = JSON.parse(JSON.stringify([...cp.operators])) as [string, OperatorSnapshot[]][];
  const latest = JSON.parse(JSON.stringify([...cp.latest])) as [string, OperatorSnapshot][];
  return { operators: new Map(ops), latest: new Map(latest) };
}

/** The output of all steps run without a snapshot or restore, formatted: what every restored run must give. */
function uninterrupted(op: () => Op, steps: readonly ((h: H) => void)[]): string[] {
  const whole: H = harness(op());
  for (const p of steps) p(whole);
  whole.complete();
  return whole.output().map(fmt);
}

const op = (): Op => pipe(window<E, string>(tumblingWindows(100), { name: 'w' }), aggregate(count()));
type H = Harness<E, string, WindowResult<string, unknown>>;

const phases: ((h: H) => void)[] = [
  (h) => keys.forEach((k) => h.record([k, 1], 5, k)), // every key opens pane [0,100)
  (h) => keys.forEach((k) => h.record([k, 1], 6, k)), // every key again: only the open pane's arrays change
  (h) => keys.slice(0, 5).forEach((k) => h.record([k, 1], 6, k)), // five keys, in the interval after saturation
  (h) => keys.slice(0, 10).forEach((k) => h.record([k, 1], 7, k)), // ten keys
  (h) => {
    keys.slice(0, 3).forEach((k) => h.record([k, 1], 150, k)); // a second pane for three keys
    h.watermark(99); // the first window fires; its pane and 4 997 keys' state go
  },
  (h) => keys.forEach((k) => h.record([k, 1], 120, k)), // every key in the second pane (5 000 new pane states)
  (h) => h.watermark(300),
];

describe('pane path: saturation of change tracking', () => {
  it(`snapshots after ≥ ${SATURATION_MIN} changes are full, the others exact; restores from each point match the uninterrupted run`, () => {
    const expected = uninterrupted(op, phases);
    const h = harness(op());
    const cps: HarnessCheckpoint[] = [];
    const outs: number[] = [];
    const shape: [boolean, number][] = [];
    for (const p of phases) {
      p(h);
      const cp = h.snapshot();
      cps.push(viaJson(cp));
      outs.push(h.output().length);
      const s = cp.latest.get('w') as OperatorSnapshot;
      shape.push([s.full, s.entries.length]);
    }
    expect(shape).toStrictEqual([
      [true, 2 * N], // first snapshot: panes + contents of every key
      [true, 2 * N], // 5 000 contents changed while mirrored: saturated inside the snapshot, full
      [true, 2 * N], // the interval after a saturated one goes untracked: full
      [false, 10], // tracked again, exact delta: ten contents
      [true, 3 + 3], // 4 997 pane states and the pane's contents gone: full (3 keys, their pane state and contents)
      [true, 2 * N], // 4 997 new pane states (untracked after saturation): full
      [true, 0], // everything fired and gone (tracked, saturated by the deletions): full and empty
    ]);
    expect([h.keys(), h.metrics().stateEntries]).toStrictEqual([[], 0]);
    cps.forEach((cp, i) => {
      const r = harness(op(), { restore: cp });
      for (const p of phases.slice(i + 1)) p(r);
      r.complete();
      expect([i, ...h.output().slice(0, outs[i]).map(fmt), ...r.output().map(fmt)]).toStrictEqual([i, ...expected]);
      // restored, one more phase, a snapshot (a delta on the restored chain, or full once saturated), restored again
      if (i + 1 < phases.length) {
        const r1 = harness(op(), { restore: cp });
        (phases[i + 1] as (h: H) => void)(r1);
        const r2 = r1.restore(viaJson(r1.snapshot()));
        for (const p of phases.slice(i + 2)) p(r2);
        r2.complete();
        expect([i, ...h.output().slice(0, outs[i]).map(fmt), ...r1.output().map(fmt), ...r2.output().map(fmt)]).toStrictEqual([i, ...expected]);
      }
    });
  });
});

describe('general path: saturation of change tracking', () => {
  const ops: [string, () => Op][] = [
    ['sliding 200 / 100, reduce (event time)', () => pipe(window<E, string>(slidingWindows(200, 100), { name: 'w' }), reduce(sumE)) as Op],
    ['tumbling 100, processing time, count', () => pipe(window<E, string>(tumblingWindows(100, { time: 'processing' }), { name: 'w' }), aggregate(count()))],
  ];
  const steps: ((h: H) => void)[] = [
    (h) => keys.forEach((k) => h.record([k, 1], 5, k)),
    (h) => keys.forEach((k) => h.record([k, 1], 6, k)),
    (h) => keys.slice(0, 5).forEach((k) => h.record([k, 1], 6, k)),
    (h) => keys.slice(0, 10).forEach((k) => h.record([k, 1], 7, k)),
    (h) => {
      h.setProcessingTime(150);
      keys.slice(0, 3).forEach((k) => h.record([k, 1], 150, k));
      h.watermark(99);
    },
    (h) => keys.forEach((k) => h.record([k, 1], 120, k)),
    (h) => {
      h.setProcessingTime(400);
      h.watermark(300);
    },
  ];
  for (const [name, op] of ops) {
    it(`${name}: restores from each point (and again after one more snapshot) match the uninterrupted run`, () => {
      const expected = uninterrupted(op, steps);
      const h = harness(op());
      const cps: HarnessCheckpoint[] = [];
      const outs: number[] = [];
      const fulls: boolean[] = [];
      const clock: number[] = [];
      for (const p of steps) {
        p(h);
        clock.push(h.processingTime);
        const cp = h.snapshot();
        fulls.push((cp.latest.get('w') as OperatorSnapshot).full);
        cps.push(viaJson(cp));
        outs.push(h.output().length);
      }
      // first, saturated, untracked after saturation, exact delta
      expect(fulls.slice(0, 4)).toStrictEqual([true, true, true, false]);
      cps.forEach((cp, i) => {
        const r1 = harness(op(), { restore: cp, processingTime: clock[i] as number });
        for (const p of steps.slice(i + 1, i + 2)) p(r1);
        const r2 = r1.restore(viaJson(r1.snapshot()));
        for (const p of steps.slice(i + 2)) p(r2);
        r2.complete();
        expect([i, ...h.output().slice(0, outs[i]).map(fmt), ...r1.output().map(fmt), ...r2.output().map(fmt)]).toStrictEqual([i, ...expected]);
      });
    });
  }
});
