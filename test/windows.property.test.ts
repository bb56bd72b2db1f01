import fc from 'fast-check';
import { Subject, pipe, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  sessionWindows,
  slidingWindows,
  sum,
  tumblingWindows,
  windowStart,
  type StreamElement,
  type StreamRecord,
  type WindowResult,
} from '../src/index.js';
import { aggregate, processWindow, reduce, window } from '../operators/index.js';
import { harness } from '../testing/index.js';
import { feed, fmt, sortRuns, sumE, type E, type Step } from './support/windows.js';

type W = { start: number; end: number };
type Op = OperatorFunction<StreamElement<E, string>, StreamElement<WindowResult<string, unknown>, string>>;

const line = (k: string, w: W, v: number): string => `${k} [${w.start},${w.end}) ${v}`;

/** Batch oracle for tumbling/sliding windows: which windows exist, when they fire, with what (docs/SEMANTICS.md §3). */
function fixedOracle(steps: readonly Step[], assign: (ts: number) => W[], L: number): { fired: string[]; late: string[] } {
  let wm = -Infinity;
  const live = new Map<string, { k: string; w: W; sum: number }>();
  const fired: string[] = [];
  const late: string[] = [];
  const fireRange = (lo: number, hi: number) => {
    for (const s of live.values()) if (s.w.end - 1 > lo && s.w.end - 1 <= hi) fired.push(line(s.k, s.w, s.sum));
  };
  for (const st of steps) {
    if (typeof st === 'number') {
      if (st <= wm) continue;
      fireRange(wm, st);
      wm = st;
      for (const [id, s] of live) if (s.w.end - 1 + L <= wm) live.delete(id);
      continue;
    }
    const [k, v, ts] = st;
    let accepted = false;
    for (const w of assign(ts)) {
      if (w.end - 1 + L <= wm) continue;
      accepted = true;
      const id = `${k}|${w.start}`;
      const s = live.get(id) ?? { k, w, sum: 0 };
      s.sum += v;
      live.set(id, s);
      if (w.end - 1 <= wm) fired.push(line(k, w, s.sum));
    }
    if (!accepted && ts + L <= wm) late.push(`${k} ${v}@${ts}`);
  }
  fireRange(wm, Infinity);
  return { fired, late };
}

/** Batch oracle for session windows: merge on overlap or touch, late-but-allowed elements merge too. */
function sessionOracle(steps: readonly Step[], gap: number, L: number): { fired: string[]; late: string[] } {
  let wm = -Infinity;
  const sessions = new Map<string, { w: W; sum: number }[]>();
  const fired: string[] = [];
  const late: string[] = [];
  for (const st of steps) {
    if (typeof st === 'number') {
      if (st <= wm) continue;
      for (const [k, list] of sessions) {
        for (const s of list) if (s.w.end - 1 > wm && s.w.end - 1 <= st) fired.push(line(k, s.w, s.sum));
        sessions.set(
          k,
          list.filter((s) => s.w.end - 1 + L > st),
        );
      }
      wm = st;
      continue;
    }
    const [k, v, ts] = st;
    const nw = { start: ts, end: ts + gap };
    const list = sessions.get(k) ?? [];
    const touching = list.filter((s) => s.w.start <= nw.end && s.w.end >= nw.start);
    const w = touching.reduce((acc, s) => ({ start: Math.min(acc.start, s.w.start), end: Math.max(acc.end, s.w.end) }), nw);
    if (w.end - 1 + L <= wm) {
      if (ts + L <= wm) late.push(`${k} ${v}@${ts}`);
      continue;
    }
    const merged = { w, sum: touching.reduce((a, s) => a + s.sum, v) };
    sessions.set(k, [...list.filter((s) => !touching.includes(s)), merged]);
    if (w.end - 1 <= wm) fired.push(line(k, w, merged.sum));
  }
  for (const [k, list] of sessions) for (const s of list) if (s.w.end - 1 > wm) fired.push(line(k, s.w, s.sum));
  return { fired, late };
}

/** Runs the operator over the steps (and end of input); optionally restores from a snapshot after `cut` steps. */
function stream(op: () => Op, late: Subject<StreamRecord<E, string>>, steps: readonly Step[], cut?: number): { out: string[]; late: string[] } {
  let h = harness(op());
  const out: string[] = [];
  if (cut !== undefined) {
    feed(h, steps.slice(0, cut));
    out.push(...h.output().map(fmt));
    const sides = h.sideOutput(late);
    h = h.restore(h.snapshot());
    feed(h, steps.slice(cut));
    h.complete();
    out.push(...h.output().map(fmt));
    return { out, late: [...sides, ...h.sideOutput(late)].map((r) => `${r.key} ${r.value[1]}@${r.timestamp}`) };
  }
  feed(h, steps);
  h.complete();
  return { out: h.output().map(fmt), late: h.sideOutput(late).map((r) => `${r.key} ${r.value[1]}@${r.timestamp}`) };
}
const firings = (out: string[]): string[] => out.filter((l) => !l.startsWith('W ')).map((l) => l.replace(/ @\S+$/, ''));
const sorted = (xs: string[]): string[] => [...xs].sort();

const stepsArb: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 9 }), fc.integer({ min: -20, max: 200 })) },
    { weight: 1, arbitrary: fc.integer({ min: -20, max: 220 }) },
  ),
  { maxLength: 40 },
).map((steps) => {
  // watermarks only move forward in a real stream: make them a running max
  let w = -Infinity;
  return steps.map((s) => (typeof s === 'number' ? (w = Math.max(w, s)) : s));
});
const latenessArb = fc.constantFrom(0, 7, 30, 1000);

describe('property: streaming windows equal a batch oracle', () => {
  it('tumbling (size 20, offset 5): firings, late firings and late side output; restore anywhere changes nothing', () => {
    fc.assert(
      fc.property(stepsArb, latenessArb, fc.nat(), (steps, L, cutSeed) => {
        const late = new Subject<StreamRecord<E, string>>();
        const op = (): Op => pipe(window<E, string>(tumblingWindows(20, { offset: 5 }), { allowedLateness: L, lateData: late }), aggregate(sum((e: E) => e[1])));
        const got = stream(op, late, steps);
        const want = fixedOracle(steps, (ts) => [{ start: windowStart(ts, 5, 20), end: windowStart(ts, 5, 20) + 20 }], L);
        expect(sorted(firings(got.out))).toStrictEqual(sorted(want.fired));
        expect(sorted(got.late)).toStrictEqual(sorted(want.late));
        const cut = stream(op, late, steps, cutSeed % (steps.length + 1));
        expect(cut).toStrictEqual(got);
      }),
      { numRuns: 200 },
    );
  });

  it('sliding (size 30, slide 10): naive reduce, processWindow and pane aggregate all equal the oracle and each other', () => {
    fc.assert(
      fc.property(stepsArb, latenessArb, fc.nat(), (steps, L, cutSeed) => {
        const late = new Subject<StreamRecord<E, string>>();
        const assigner = () => slidingWindows<E>(30, 10);
        const naive = (): Op => pipe(window<E, string>(assigner(), { allowedLateness: L, lateData: late }), reduce(sumE), mapValue((e: E) => e[1]));
        const list = (): Op => pipe(window<E, string>(assigner(), { allowedLateness: L, lateData: late }), processWindow((els: readonly E[]) => [els.reduce((a, e) => a + e[1], 0)]));
        const panes = (): Op => pipe(window<E, string>(assigner(), { allowedLateness: L, lateData: late }), aggregate(sum((e: E) => e[1])));
        const a = stream(naive, late, steps);
        const b = stream(list, late, steps);
        const c = stream(panes, late, steps);
        expect(b).toStrictEqual(a);
        // the pane ring may order keys differently at one timestamp (unspecified in Flink); nothing else differs
        expect({ out: sortRuns(c.out), late: c.late }).toStrictEqual({ out: sortRuns(a.out), late: a.late });
        const want = fixedOracle(steps, (ts) => slidingWindows(30, 10).assign(null, ts, 0), L);
        expect(sorted(firings(a.out))).toStrictEqual(sorted(want.fired));
        expect(sorted(a.late)).toStrictEqual(sorted(want.late));
        expect(stream(panes, late, steps, cutSeed % (steps.length + 1))).toStrictEqual(c);
      }),
      { numRuns: 200 },
    );
  });

  it('sessions (gap 15): merging, late merges within lateness, late side output; restore anywhere changes nothing', () => {
    fc.assert(
      fc.property(stepsArb, latenessArb, fc.nat(), (steps, L, cutSeed) => {
        const late = new Subject<StreamRecord<E, string>>();
        const op = (): Op => pipe(window<E, string>(sessionWindows(15), { allowedLateness: L, lateData: late }), aggregate(sum((e: E) => e[1])));
        const got = stream(op, late, steps);
        const want = sessionOracle(steps, 15, L);
        expect(sorted(firings(got.out))).toStrictEqual(sorted(want.fired));
        expect(sorted(got.late)).toStrictEqual(sorted(want.late));
        expect(stream(op, late, steps, cutSeed % (steps.length + 1))).toStrictEqual(got);
      }),
      { numRuns: 200 },
    );
  });
});

/** Maps a window result's value (to compare reduce's tuple with aggregate's number). */
function mapValue<A, B>(f: (a: A) => B): OperatorFunction<StreamElement<WindowResult<string, A>, string>, StreamElement<WindowResult<string, B>, string>> {
  return (src) =>
    new (src.constructor as typeof import('rxjs').Observable)<StreamElement<WindowResult<string, B>, string>>((sub) =>
      src.subscribe({
        next: (e) => sub.next(e.kind === 'record' ? { ...e, value: { ...e.value, value: f(e.value.value) } } : e),
        error: (err: unknown) => sub.error(err),
        complete: () => sub.complete(),
      }),
    );
}
