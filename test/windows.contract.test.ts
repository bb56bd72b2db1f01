// The window operators' contract (docs/ARCHITECTURE.md, "Windows"; docs/SEMANTICS.md §3.3–3.5): the same cases, with
// exact outputs, run against the general operator (forced for windows the slicing one would take) and the slicing
// operator, for tumbling and sliding windows. Where the two may legitimately differ — the order of different keys
// firing at one timestamp, which Flink leaves open — outputs are compared in the canonical form `sortRuns` gives.
import fc from 'fast-check';
import { Subject, Subscription, pipe, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, count, countTrigger, decodeValue, mergeSnapshots, eventTimeTrigger, mean, processingTimeTrigger, sessionWindows, slidingWindows, sum, tumblingWindows, type StreamElement, type StreamRecord, type Trigger, type WindowAssigner, type WindowOperatorOptions, type Aggregator } from '../src/index.js';
import { aggregate, window } from '../operators/index.js';
import { windowFunction, type WindowOperatorChoice } from '../operators/windowFunction.js';
import type { WindowFunction } from '../src/windows/windowOperatorBase.js';
import { WindowOperatorCore } from '../src/windows/windowOperator.js';
import { SlicingWindowOperatorCore } from '../src/windows/slicingWindowOperator.js';
import { SessionWindowOperatorCore } from '../src/windows/sessionWindowOperator.js';
import { harness } from '../testing/index.js';
import { PipelineRuntime } from '../src/core/runtime.js';
import { feed, fmt, lines, runWithRestore, sortRuns, sumE, windowed, type E, type LateSide, type Step, type WindowOp } from './support/windows.js';
import { seededRandom, shuffledRange } from './support/seeded.js';

/** Builds a window operator over {@link E} records from an assigner, `window(...)` options and a window function. */
type WindowOperatorFactory = (assigner: WindowAssigner<E>, options: WindowOperatorOptions<E, string>, fn: WindowFunction<E, string, unknown>) => WindowOp;

const factoryOf =
  (choice: WindowOperatorChoice): WindowOperatorFactory =>
  (assigner, options, fn) =>
    pipe(window<E, string>(assigner, options), windowFunction<E, string, unknown>(fn, choice));

const reduceSum: WindowFunction<E, string, unknown> = { kind: 'reduce', reduce: sumE, name: 'reduce' };
const sumOfValues = (): WindowFunction<E, string, unknown> => ({ kind: 'aggregate', aggregator: sum((e: E) => e[1]), name: 'aggregate' });
const countOf = (): WindowFunction<E, string, unknown> => ({ kind: 'aggregate', aggregator: count(), name: 'aggregate' });

// Flink WindowOperatorTest's input for tumbling and sliding windows (out of order)
const FLINK_INPUT: Step[] = [
  ['key2', 1, 3999],
  ['key2', 1, 3000],
  ['key1', 1, 20],
  ['key1', 1, 0],
  ['key1', 1, 999],
  ['key2', 1, 1998],
  ['key2', 1, 1999],
  ['key2', 1, 1000],
];

/** Many keys, slightly out of order, a watermark every 5 ms of event time, some records late by 80 ms. */
function manyKeys(): Step[] {
  const steps: Step[] = [];
  let x = 4242;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  let wm = -Infinity;
  for (let t = 0; t < 200; t++) {
    for (let i = 0; i < 12; i++) steps.push([`k${rnd(300)}`, rnd(9) + 1, Math.max(0, t - rnd(4) - (rnd(40) === 0 ? 80 : 0))]);
    if (t % 5 === 4 && t - 3 > wm) steps.push((wm = t - 3));
  }
  return steps;
}

/**
 * The contract every window operator meets for tumbling and sliding event-time windows on the event-time trigger:
 * Flink's expected outputs, late firings and the late-data output, end of input, and restores that change nothing.
 */
function windowOperatorContract(name: string, make: WindowOperatorFactory): void {
  describe(`window operator contract: ${name}`, () => {
    it("tumbling 3 s, reduce: Flink's expected output, restore in the middle, no state left", () => {
      const h = windowed(make(tumblingWindows(3000), {}, reduceSum), [...FLINK_INPUT, 999, 1999, 2999]);
      expect(lines(h)).toStrictEqual(['W 999', 'W 1999', 'key1 [0,3000) ["key1",3] @2999', 'key2 [0,3000) ["key2",3] @2999', 'W 2999']);
      const r = feed(h.restore(h.snapshot()), [3999, 4999, 5999, 6999, 7999]);
      expect(lines(r)).toStrictEqual(['W 3999', 'W 4999', 'key2 [3000,6000) ["key2",2] @5999', 'W 5999', 'W 6999', 'W 7999']);
      expect(r.keys()).toStrictEqual([]);
      expect(r.operators[0]?.stateEntries).toBe(0);
    });

    it('tumbling 1 s, processWindow: the context has the key and window; an array return emits each item', () => {
      const fn: WindowFunction<E, string, unknown> = {
        kind: 'process',
        aggregator: undefined,
        fn: (els, ctx) => [`${String(ctx.key)}@${ctx.window.start}`, els.length],
        name: 'processWindow',
      };
      const h = windowed(make(tumblingWindows(1000), {}, fn), [['a', 1, 10], ['b', 1, 20], ['a', 1, 999], ['a', 1, 1000], 999]);
      h.complete();
      expect(lines(h)).toStrictEqual([
        'a [0,1000) "a@0" @999',
        'a [0,1000) 2 @999',
        'b [0,1000) "b@0" @999',
        'b [0,1000) 1 @999',
        'W 999',
        'a [1000,2000) "a@1000" @1999',
        'a [1000,2000) 1 @1999',
        'W MAX',
      ]);
    });

    it("sliding 3 s / 1 s, aggregate(sum): Flink's expected output (sorted per run), with a restore after watermark 2999", () => {
      const h = windowed(make(slidingWindows(3000, 1000), {}, sumOfValues()), [...FLINK_INPUT, 999, 1999, 2999]);
      expect(sortRuns(lines(h))).toStrictEqual([
        'key1 [-2000,1000) 3 @999',
        'W 999',
        'key1 [-1000,2000) 3 @1999',
        'key2 [-1000,2000) 3 @1999',
        'W 1999',
        'key1 [0,3000) 3 @2999',
        'key2 [0,3000) 3 @2999',
        'W 2999',
      ]);
      const r = feed(h.restore(h.snapshot()), [3999, 4999, 5999, 6999, 7999]);
      expect(sortRuns(lines(r))).toStrictEqual([
        'key2 [1000,4000) 5 @3999',
        'W 3999',
        'key2 [2000,5000) 2 @4999',
        'W 4999',
        'key2 [3000,6000) 2 @5999',
        'W 5999',
        'W 6999',
        'W 7999',
      ]);
      expect(r.keys()).toStrictEqual([]);
      expect(r.operators[0]?.stateEntries).toBe(0);
    });

    it('tumbling 2 s, allowedLateness 1 s: a late firing re-emits the accumulated result; a record late for every window goes to lateData', () => {
      const late: LateSide = new Subject();
      const h = windowed(make(tumblingWindows(2000), { allowedLateness: 1000, lateData: late }, countOf()), [
        ['a', 1, 100],
        ['a', 1, 500],
        1999,
        ['a', 1, 300],
        2999,
        ['a', 1, 400],
        ['b', 1, 2500],
      ]);
      h.complete();
      expect(lines(h)).toStrictEqual(['a [0,2000) 2 @1999', 'W 1999', 'a [0,2000) 3 @1999', 'W 2999', 'b [2000,4000) 1 @3999', 'W MAX']);
      expect(h.sideOutput(late).map((r: StreamRecord<E, string>) => `${r.key} ${r.timestamp}`)).toStrictEqual(['a 400']);
      expect(h.metrics().lateRecordsDropped).toBe(0);
    });

    it('restored with more (or less) allowed lateness: a window is cleaned up at the restoring operator\'s cleanup time', () => {
      const before = windowed(make(tumblingWindows(10), { allowedLateness: 5 }, countOf()), [['a', 1, 1], ['a', 1, 2], ['b', 1, 3], 3]);
      const cp = before.snapshot();
      // lateness 20: window [0,10) stays until watermark 29 (the checkpoint's cleanup timer is at 14); an element
      // within the new lateness fires it late with what it held
      const more = feed(harness(make(tumblingWindows(10), { allowedLateness: 20 }, countOf()), { restore: cp }), [9, 16, ['a', 1, 5], 28]);
      expect(lines(more)).toStrictEqual(['a [0,10) 2 @9', 'b [0,10) 1 @9', 'W 9', 'W 16', 'a [0,10) 3 @9', 'W 28']);
      expect(more.operators[0]?.stateEntries).toBeGreaterThan(0);
      feed(more, [29]);
      expect(more.operators[0]?.stateEntries).toBe(0);
      expect([more.timers('a'), more.timers('b')]).toStrictEqual([[], []]);
      // b got no element after the restore: cleaned up all the same
      feed(more, [['b', 1, 8]]);
      expect(lines(more)).toStrictEqual(['W 29']);
      // lateness 0: cleaned up as the window fires
      const less = feed(harness(make(tumblingWindows(10), { allowedLateness: 0 }, countOf()), { restore: cp }), [9]);
      expect(lines(less)).toStrictEqual(['a [0,10) 2 @9', 'b [0,10) 1 @9', 'W 9']);
      expect(less.operators[0]?.stateEntries).toBe(0);
    });

    it('without lateData, a record late for every window is dropped, counted and warned about once', () => {
      const h = windowed(make(tumblingWindows(100), { name: 'w' }, countOf()), [['a', 1, 5], 500, ['a', 1, 6], ['b', 1, 7], ['c', 1, 550]]);
      h.complete();
      expect(lines(h)).toStrictEqual(['a [0,100) 1 @99', 'W 500', 'c [500,600) 1 @599', 'W MAX']);
      expect(h.metrics().lateRecordsDropped).toBe(2);
      expect(h.warnings()).toStrictEqual([
        'w: a record arrived after its windows were cleaned up (timestamp 6 + allowedLateness 0 <= watermark 500) and was dropped. Dropped records are counted in the lateRecordsDropped metric; pass { lateData: subject } to window(...) to receive them, or raise allowedLateness.',
      ]);
    });

    it('a fractional timestamp above the watermark but after its windows\' last millisecond is late: to lateData, else dropped, counted and warned about', () => {
      // 9.5 is in [0, 10), whose last millisecond 9 (end − 1, as Flink) the watermark 9.2 passed: the window is gone
      const late: LateSide = new Subject();
      const h = windowed(make(tumblingWindows(10), { lateData: late }, countOf()), [['a', 1, 5], 9.2, ['a', 1, 9.5], ['a', 1, 10.5]]);
      h.complete();
      expect(lines(h)).toStrictEqual(['a [0,10) 1 @9', 'W 9.2', 'a [10,20) 1 @19', 'W MAX']);
      expect(h.sideOutput(late).map((r: StreamRecord<E, string>) => `${r.key} ${r.timestamp}`)).toStrictEqual(['a 9.5']);
      const sliding = windowed(make(slidingWindows(20, 10), { name: 'w' }, countOf()), [['a', 1, 5], 19.2, ['a', 1, 19.5], ['a', 1, 9.5]]);
      sliding.complete();
      // 19.5 is in [0, 20), gone, and in [10, 30), open: not late; 9.5 only in gone windows: late
      expect(lines(sliding)).toStrictEqual(['a [-10,10) 1 @9', 'a [0,20) 1 @19', 'W 19.2', 'a [10,30) 1 @29', 'W MAX']);
      expect(sliding.metrics().lateRecordsDropped).toBe(1);
      expect(sliding.warnings()).toStrictEqual([
        'w: a record arrived after its windows were cleaned up (timestamp 9.5 + allowedLateness 0 <= watermark 19.2) and was dropped. Dropped records are counted in the lateRecordsDropped metric; pass { lateData: subject } to window(...) to receive them, or raise allowedLateness.',
      ]);
      const dropped = windowed(make(tumblingWindows(10), { name: 'w' }, countOf()), [['a', 1, 5], 9.2, ['a', 1, 9.5]]);
      expect(dropped.metrics().lateRecordsDropped).toBe(1);
      expect(dropped.warnings()).toStrictEqual([
        'w: a record arrived after its windows were cleaned up (timestamp 9.5, after the last millisecond of each of its windows, end − 1 + allowedLateness 0 <= watermark 9.2: stamp records in whole milliseconds) and was dropped. Dropped records are counted in the lateRecordsDropped metric; pass { lateData: subject } to window(...) to receive them, or raise allowedLateness.',
      ]);
    });

    it('sliding 30 / 10, allowedLateness 20: a late element fires its ended windows at once, in descending start order', () => {
      const late: LateSide = new Subject();
      const h = windowed(make(slidingWindows(30, 10), { allowedLateness: 20, lateData: late }, sumOfValues()), [
        ['k', 1, 5],
        ['k', 2, 15],
        29,
        ['k', 4, 7],
        ['k', 8, 35],
        49,
      ]);
      h.complete();
      expect(lines(h)).toStrictEqual([
        'k [-20,10) 1 @9',
        'k [-10,20) 3 @19',
        'k [0,30) 3 @29',
        'W 29',
        'k [0,30) 7 @29',
        'k [-10,20) 7 @19',
        'k [10,40) 10 @39',
        'k [20,50) 8 @49',
        'W 49',
        'k [30,60) 8 @59',
        'W MAX',
      ]);
      expect(h.sideOutput(late)).toStrictEqual([]);
    });

    it('processWindow gets the elements as its own copy: a late element does not change what a firing handed on', () => {
      const handed: (readonly E[])[] = [];
      const fn: WindowFunction<E, string, unknown> = {
        kind: 'process',
        aggregator: undefined,
        fn: (els) => {
          handed.push(els as readonly E[]);
          return els.length;
        },
        name: 'processWindow',
      };
      const h = windowed(make(tumblingWindows(10), { allowedLateness: 100 }, fn), [['k', 1, 1], ['k', 5, 2], 20, ['k', 3, 3], 200]);
      expect(lines(h)).toStrictEqual(['k [0,10) 2 @9', 'W 20', 'k [0,10) 3 @9', 'W 200']);
      expect(handed.map((els) => els.map((e) => e[1]))).toStrictEqual([[1, 5], [1, 5, 3]]);
    });

    it('sliding 30 / 10 with an aggregator whose merge changes its first argument: each window its own sum', () => {
      const total: WindowFunction<E, string, unknown> = {
        kind: 'aggregate',
        aggregator: {
          create: () => ({ sum: 0 }),
          add: (a: { sum: number }, e: E) => ((a.sum += e[1]), a),
          result: (a: { sum: number }) => a.sum,
          merge: (a: { sum: number }, b: { sum: number }) => ((a.sum += b.sum), a),
        } as unknown as Aggregator<E, unknown, unknown>,
        name: 'aggregate',
      };
      const h = windowed(make(slidingWindows(30, 10), {}, total), [['k', 1, 5], ['k', 10, 15], ['k', 100, 25]]);
      h.complete();
      expect(lines(h)).toStrictEqual(['k [-20,10) 1 @9', 'k [-10,20) 11 @19', 'k [0,30) 111 @29', 'k [10,40) 110 @39', 'k [20,50) 100 @49', 'W MAX']);
    });

    it("tumbling 10, sum: a key's elements out of order, into a slice older than its newest, with and without an entry there", () => {
      // a's newest slice is [20,30) when its elements for [0,10) and [10,20) come; b's newest is [10,20) when 3 comes
      const input: Step[] = [['a', 1, 25], ['a', 2, 5], ['b', 4, 6], ['a', 8, 7], ['a', 16, 15], ['a', 32, 26], ['b', 64, 16], ['b', 128, 3], ['a', 256, 9]];
      const h = windowed(make(tumblingWindows(10), {}, sumOfValues()), input);
      h.complete();
      expect(lines(h)).toStrictEqual(['a [0,10) 266 @9', 'b [0,10) 132 @9', 'a [10,20) 16 @19', 'b [10,20) 64 @19', 'a [20,30) 33 @29', 'W MAX']);
    });

    it("sliding 20 / 10, sum: a key's elements out of order, into a slice older than its newest (sorted per run)", () => {
      const input: Step[] = [['a', 1, 25], ['a', 2, 5], ['b', 4, 6], ['a', 8, 7], ['a', 16, 15], ['a', 32, 26], ['b', 64, 16], ['b', 128, 3]];
      const h = windowed(make(slidingWindows(20, 10), {}, sumOfValues()), input);
      h.complete();
      expect(sortRuns(lines(h))).toStrictEqual([
        'a [-10,10) 10 @9',
        'b [-10,10) 132 @9',
        'a [0,20) 26 @19',
        'b [0,20) 196 @19',
        'a [10,30) 49 @29',
        'b [10,30) 64 @29',
        'a [20,40) 33 @39',
        'W MAX',
      ]);
    });

    it('70 000 keys, then the same keys in reverse order in the next window: every result exact, in first-element order', () => {
      const n = 70_000;
      const input: Step[] = [];
      for (let i = 0; i < n; i++) input.push([`k${i}`, 1, 5]);
      input.push(9);
      // the same keys in reverse order, each twice
      for (let i = n - 1; i >= 0; i--) input.push([`k${i}`, 1, 15], [`k${i}`, 2, 15]);
      input.push(19);
      const h = windowed(make(tumblingWindows(10), {}, sumOfValues()), input);
      const expected: string[] = [];
      for (let i = 0; i < n; i++) expected.push(`k${i} [0,10) 1 @9`);
      expected.push('W 9');
      for (let i = n - 1; i >= 0; i--) expected.push(`k${i} [10,20) 3 @19`);
      expected.push('W 19');
      expect(lines(h)).toStrictEqual(expected);
      expect(h.keys()).toStrictEqual([]);
    });

    it('3 000 keys leave while 20 stay in the next window, then some come back: the stayers keep their entries, every result exact', () => {
      // [0,10) holds k0…k2999 and r0…r9; [10,20) gets r0…r9 and k0…k9 before watermark 9 fires [0,10): the other
      // keys are then without entries (the slicing operator frees their slots), r0…r9 and k0…k9 still hold [10,20)
      const input: Step[] = [];
      for (let i = 0; i < 3000; i++) input.push([`k${i}`, 1, 1]);
      for (let i = 0; i < 10; i++) input.push([`r${i}`, 1, 2]);
      for (let i = 0; i < 10; i++) input.push([`r${i}`, 2, 12], [`k${i}`, 4, 12]);
      input.push(9);
      // r0 and k3 again into their entries; k500 and k2999 back after leaving; then [20,30)
      input.push(['r0', 8, 13], ['k500', 16, 14], ['k3', 32, 15], ['k2999', 64, 16], ['k500', 128, 25], ['r0', 256, 26], 29);
      const h = windowed(make(tumblingWindows(10), {}, sumOfValues()), input);
      const expected: string[] = [];
      for (let i = 0; i < 3000; i++) expected.push(`k${i} [0,10) 1 @9`);
      for (let i = 0; i < 10; i++) expected.push(`r${i} [0,10) 1 @9`);
      expected.push('W 9');
      for (let i = 0; i < 10; i++) expected.push(`r${i} [10,20) ${i === 0 ? 10 : 2} @19`, `k${i} [10,20) ${i === 3 ? 36 : 4} @19`);
      expected.push('k500 [10,20) 16 @19', 'k2999 [10,20) 64 @19', 'k500 [20,30) 128 @29', 'r0 [20,30) 256 @29', 'W 29');
      expect(lines(h)).toStrictEqual(expected);
      expect(h.keys()).toStrictEqual([]);
    });

    for (const [kind, assigner, fn] of [
      ['tumbling 20, reduce', tumblingWindows<E>(20), reduceSum],
      ['sliding 30 / 10, sum', slidingWindows<E>(30, 10), sumOfValues()],
      ['sliding 25 / 5, offset 3, count', slidingWindows<E>(25, 5, { offset: 3 }), countOf()],
    ] as const) {
      it(`${kind}, many keys, lateness 15: restores at any cut give exactly the uninterrupted output; no state left`, () => {
        const input = manyKeys();
        const late: LateSide = new Subject();
        const op = () => make(assigner, { allowedLateness: 15, lateData: late }, fn);
        const whole = runWithRestore(op, late, input, []);
        expect(whole.out.length).toBeGreaterThan(500);
        expect(whole.late.length).toBeGreaterThan(0);
        expect(whole.entries).toBe(0);
        const n = input.length;
        for (const cuts of [[Math.floor(n * 0.2)], [Math.floor(n * 0.1), Math.floor(n * 0.5), Math.floor(n * 0.9)]]) {
          const restored = runWithRestore(op, late, input, cuts);
          expect(restored.out).toStrictEqual(whole.out);
          expect(restored.late).toStrictEqual(whole.late);
          expect(restored.entries).toBe(0);
        }
      });
    }
  });
}

windowOperatorContract('general (WindowOperatorCore, forced)', factoryOf('general'));
windowOperatorContract('slicing (SlicingWindowOperatorCore, forced)', factoryOf('slicing'));

describe('the two window operators against each other', () => {
  const general = factoryOf('general');
  const slicing = factoryOf('slicing');
  for (const [kind, assigner, fn, sorted] of [
    ['tumbling 20, reduce (same key order)', tumblingWindows<E>(20), reduceSum, false],
    ['tumbling 10, offset 4, count (same key order)', tumblingWindows<E>(10, { offset: 4 }), countOf(), false],
    ['sliding 30 / 10, sum (key order per timestamp may differ)', slidingWindows<E>(30, 10), sumOfValues(), true],
    ['sliding 25 / 5, offset 3, count (key order per timestamp may differ)', slidingWindows<E>(25, 5, { offset: 3 }), countOf(), true],
  ] as const) {
    for (const L of [0, 15]) {
      it(`${kind}, lateness ${L}: equal outputs and late records`, () => {
        const input = manyKeys();
        const late: LateSide = new Subject();
        const a = runWithRestore(() => general(assigner, { allowedLateness: L, lateData: late }, fn), late, input, []);
        const b = runWithRestore(() => slicing(assigner, { allowedLateness: L, lateData: late }, fn), late, input, []);
        expect(b.out.length).toBeGreaterThan(500);
        if (sorted) expect(sortRuns(b.out)).toStrictEqual(sortRuns(a.out));
        else expect(b.out).toStrictEqual(a.out);
        expect(b.late).toStrictEqual(a.late);
      });

      it(`${kind}, lateness ${L}: a checkpoint of either restores into the other (a trigger given or taken) with the uninterrupted output`, () => {
        const input = manyKeys();
        const late: LateSide = new Subject();
        const options = { allowedLateness: L, lateData: late };
        const whole = runWithRestore(() => general(assigner, options, fn), late, input, []);
        // (sliding windows of the general operator cannot be split into slices: below)
        const directions = sorted ? [[slicing, general] as const] : ([[slicing, general], [general, slicing]] as const);
        for (const [from, to] of directions) {
          for (const cut of [1, 300, 1000, 1700, input.length - 5]) {
            const h = harness(from(assigner, options, fn));
            feed(h, input.slice(0, cut));
            const out = h.output().map(fmt);
            const lates = h.sideOutput(late).map((r) => `${r.key} ${r.value[1]}@${r.timestamp}`);
            const r = harness(to(assigner, options, fn), { restore: h.snapshot() });
            feed(r, input.slice(cut));
            r.complete();
            out.push(...r.output().map(fmt));
            lates.push(...r.sideOutput(late).map((x) => `${x.key} ${x.value[1]}@${x.timestamp}`));
            if (sorted) expect(sortRuns(out)).toStrictEqual(sortRuns(whole.out));
            else expect(out).toStrictEqual(whole.out);
            expect(lates).toStrictEqual(whole.late);
            expect(r.operators[0]?.stateEntries).toBe(0);
          }
        }
      });
    }
  }

  it('a stateful trigger taken away (the general operator\'s checkpoint, with trigger state, into the slicing one): its state is dropped, the windows go on', () => {
    const h = windowed(general(tumblingWindows<E>(10), { name: 'w', trigger: countTrigger(100) as Trigger<E> }, countOf()), [['a', 1, 1], ['a', 1, 2], ['b', 1, 3], 5]);
    const r = harness(slicing(tumblingWindows<E>(10), { name: 'w' }, countOf()), { restore: h.snapshot() });
    feed(r, [['a', 1, 4], 20]);
    expect([r.error, lines(r), r.operators[0]?.stateEntries]).toStrictEqual([undefined, ['a [0,10) 3 @9', 'b [0,10) 1 @9', 'W 20'], 0]);
  });

  it('processing-time tumbling windows given a trigger (the slicing operator\'s checkpoint into the general one): each window fires by the clock as the trigger says', () => {
    const a = tumblingWindows<E>(100, { time: 'processing' });
    const h = harness(slicing(a, { name: 'w' }, countOf()), { processingTime: 0 });
    feed(h, [['a', 1, 0], ['b', 1, 0], ['a', 1, 0]]);
    const r = harness(general(a, { name: 'w', trigger: processingTimeTrigger() as Trigger<E> }, countOf()), { processingTime: 10, restore: h.snapshot() });
    expect(r.timers('a')).toStrictEqual([['processing', 99, 0]]);
    r.setProcessingTime(1000);
    expect([r.error, lines(r), r.operators[0]?.stateEntries]).toStrictEqual([undefined, ['a [0,100) 2 @99', 'b [0,100) 1 @99'], 0]);
  });

  it('sliding windows restored with more allowed lateness: a window the checkpoint\'s lateness cleaned up is not folded back from the slices newer windows hold', () => {
    // [-5, 5) fired and went at watermark 4 (lateness 0); its slice [0, 5) stays, held by [0, 10)
    const h = windowed(slicing(slidingWindows<E>(10, 5), { name: 'w' }, countOf()), [['a', 1, 0], 4]);
    expect(lines(h)).toStrictEqual(['a [-5,5) 1 @4', 'W 4']);
    // an element at 1, within the new lateness of [-5, 5): before, the window came back with the first element in it
    // (a count of 2). The general operator starts it afresh, as Flink does (a count of 1); the slicing operator keeps
    // it gone (slices cannot tell old elements from new: docs/SEMANTICS.md §3.4)
    const expected = new Map([
      [general, ['a [-5,5) 1 @4', 'a [0,10) 3 @9', 'a [5,15) 1 @14', 'W 20']],
      [slicing, ['a [0,10) 3 @9', 'a [5,15) 1 @14', 'W 20']],
    ]);
    for (const [to, out] of expected) {
      const r = feed(harness(to(slidingWindows<E>(10, 5), { name: 'w', allowedLateness: 5 }, countOf()), { restore: h.snapshot() }), [['a', 1, 1], ['a', 1, 6], 20]);
      expect([r.error, lines(r), r.operators[0]?.stateEntries]).toStrictEqual([undefined, out, 0]);
    }
  });

  it("sliding windows of the general operator restored into the slicing one fail naming why: whole windows cannot be split into slices", () => {
    const h = windowed(general(slidingWindows<E>(30, 10), { name: 'w' }, countOf()), [['a', 1, 5]]);
    const r = harness(slicing(slidingWindows<E>(30, 10), { name: 'w' }, countOf()), { restore: h.snapshot() });
    expect((r.error as Error | undefined)?.message).toBe(
      'w: the snapshot holds sliding windows of the general window operator (taken with another trigger); this operator keeps the windows\' slices, which whole windows cannot be split into. Restore it with the trigger it was taken with.',
    );
  });
});

describe('processing-time tumbling windows: the slicing operator against the general one', () => {
  /** Steps: a record (key, value) at the clock's time, or the clock moved on by `advance` ms. */
  type ClockStep = { key: string; value: number } | { advance: number };
  const stepsArb: fc.Arbitrary<ClockStep[]> = fc.array(
    fc.oneof(
      { weight: 5, arbitrary: fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), value: fc.integer({ min: 1, max: 9 }) }) },
      { weight: 2, arbitrary: fc.record({ advance: fc.integer({ min: 0, max: 25 }) }) },
    ),
    { maxLength: 100 },
  );
  const procFns = [
    ['count', countOf],
    ['reduce', () => reduceSum],
    [
      'processWindow',
      (): WindowFunction<E, string, unknown> => ({
        kind: 'process',
        aggregator: undefined,
        fn: (els, ctx) => `${String(ctx.key)} ${(els as E[]).map((e) => e[1]).join('+')} at ${ctx.currentProcessingTime}`,
        name: 'processWindow',
      }),
    ],
  ] as const;

  /** Output lines of a run (restored from a snapshot at each cut), and what is left at the end. */
  const runByClock = (choice: WindowOperatorChoice, fn: () => WindowFunction<E, string, unknown>, steps: readonly ClockStep[], cuts: readonly number[]) => {
    const op = () => factoryOf(choice)(tumblingWindows(10, { time: 'processing', offset: 3 }), {}, fn());
    let h = harness(op(), { processingTime: 5 });
    const out: string[] = [];
    steps.forEach((s, i) => {
      if (cuts.includes(i)) {
        out.push(...h.takeOutput().map(fmt));
        h = h.restore(h.snapshot());
      }
      if ('advance' in s) h.setProcessingTime(h.processingTime + s.advance);
      else h.record([s.key, s.value], 0, s.key);
    });
    const pending = ['a', 'b', 'c', 'd'].map((k) => JSON.stringify(h.timers(k)));
    h.setProcessingTime(h.processingTime + 100);
    out.push(...h.takeOutput().map(fmt));
    return { out, pending, keys: h.keys(), entries: h.operators[0]?.stateEntries };
  };

  for (const [name, fn] of procFns) {
    it(`${name}: the same output in the same order, the same pending timers, restores at any cut change nothing (property)`, () => {
      fc.assert(
        fc.property(stepsArb, fc.nat(), (steps, c) => {
          const cut = c % (steps.length + 1);
          const general = runByClock('general', fn, steps, []);
          expect(runByClock('slicing', fn, steps, [])).toStrictEqual(general);
          expect(runByClock('slicing', fn, steps, [cut])).toStrictEqual(general);
          expect(general.keys).toStrictEqual([]);
          expect(general.entries).toBe(0);
        }),
        { numRuns: 150 },
      );
    });
  }

  it("records by the clock at arrival, fired at the window's max timestamp; watermarks and lateness do not matter; pending windows are dropped at the end of input", () => {
    const late = new Subject<StreamRecord<E, string>>();
    const h = harness(factoryOf('slicing')(tumblingWindows(1000, { time: 'processing' }), { lateData: late, allowedLateness: 5000 }, countOf()), { processingTime: 100 });
    feed(h, [['a', 1, 999_999], ['b', 1, -5], ['a', 1, 3], 10_000_000]);
    expect(h.timers('a')).toStrictEqual([['processing', 999, 0]]);
    h.setProcessingTime(998);
    expect(lines(h)).toStrictEqual(['W 10000000']);
    h.setProcessingTime(999);
    expect(lines(h)).toStrictEqual(['a [0,1000) 2 @999', 'b [0,1000) 1 @999']);
    h.setProcessingTime(1500);
    feed(h, [['b', 1, 0]]);
    h.setProcessingTime(2700);
    feed(h, [['a', 1, 0]]);
    expect(lines(h)).toStrictEqual(['b [1000,2000) 1 @1999']);
    h.complete();
    expect(lines(h)).toStrictEqual(['W MAX']);
    expect(h.sideOutput(late)).toStrictEqual([]);
  });

  it("restores a processing-time checkpoint of the general operator (written before the slicing operator took these windows): the same results", () => {
    const general = harness(factoryOf('general')(tumblingWindows(100, { time: 'processing' }), {}, countOf()), { processingTime: 0 });
    feed(general, [['a', 1, 0], ['b', 1, 0], ['a', 1, 0]]);
    general.setProcessingTime(150);
    feed(general, [['c', 1, 0], ['b', 1, 0]]);
    const cp = general.snapshot();
    const restored = harness(factoryOf('slicing')(tumblingWindows(100, { time: 'processing' }), {}, countOf()), { processingTime: 150, restore: cp });
    // the general operator's timers are replaced by the slices' (one per key and window, as it had)
    expect(restored.timers('c')).toStrictEqual(general.timers('c'));
    expect(restored.timers('c')).toStrictEqual([['processing', 199, 100]]);
    feed(restored, [['c', 1, 0]]);
    restored.setProcessingTime(199);
    expect(lines(restored)).toStrictEqual(['c [100,200) 2 @199', 'b [100,200) 1 @199']);
    expect(restored.keys()).toStrictEqual([]);
  });

  it('a wake-up that comes before the window ends (the clock stepped back, a cut-short timer) asks for another: the window still fires', () => {
    /** A clock whose timers can expire while it reads an earlier time (an NTP step back), as a host's clock can. */
    class SteppingClock implements SchedulerLike {
      time = 0;
      private pending: { due: number; run: () => void }[] = [];
      now(): number {
        return this.time;
      }
      schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay = 0, state?: S): Subscription {
        const entry = { due: this.time + delay, run: () => work.call(action, state) };
        const action = new Subscription(() => void (this.pending = this.pending.filter((p) => p !== entry))) as unknown as SchedulerAction<S>;
        this.pending.push(entry);
        return action;
      }
      /** Every pending timer expires while the clock reads `time`. */
      expireAllAt(time: number): void {
        this.time = time;
        const due = this.pending;
        this.pending = [];
        for (const p of due) p.run();
      }
      /** The clock moves on to `time`, running the timers due on the way. */
      advanceTo(time: number): void {
        for (;;) {
          const next = [...this.pending].sort((x, y) => x.due - y.due)[0];
          if (next === undefined || next.due > time) break;
          this.pending = this.pending.filter((p) => p !== next);
          this.time = Math.max(this.time, next.due);
          next.run();
        }
        this.time = time;
      }
      get pendingCount(): number {
        return this.pending.length;
      }
    }
    for (const choice of ['general', 'slicing'] as const) {
      const clock = new SteppingClock();
      const runtime = new PipelineRuntime({ owner: 'test', scheduler: clock, checkpointed: false });
      const input = new Subject<StreamElement<E, string>>();
      const out: string[] = [];
      runtime.subscribe(factoryOf(choice)(tumblingWindows(10, { time: 'processing' }), {}, countOf())(input), {
        next: (e) => void out.push(fmt(e)),
        error: (err: unknown) => void out.push(`error ${String(err)}`),
        complete: () => void out.push('complete'),
      });
      clock.time = 5;
      runtime.run(() => input.next({ kind: 'record', value: ['a', 1], timestamp: 0, key: 'a' })); // [0, 10): a wake-up at 9
      clock.expireAllAt(8);
      expect(out).toStrictEqual([]);
      clock.advanceTo(100);
      expect([choice, out, clock.pendingCount]).toStrictEqual([choice, ['a [0,10) 1 @9'], 0]);
    }
  });

  it('a window function that throws fails the stream naming the processing-time firing', () => {
    const fn: WindowFunction<E, string, unknown> = {
      kind: 'process',
      aggregator: undefined,
      fn: () => {
        throw new Error('boom');
      },
      name: 'processWindow',
    };
    const h = harness(factoryOf('slicing')(tumblingWindows(10, { time: 'processing' }), { name: 'w' }, fn));
    feed(h, [['a', 1, 0]]);
    h.setProcessingTime(9);
    expect((h.error as Error).message).toContain('processing');
  });
});

describe('the choice of window operator (operators/windowFunction.ts)', () => {
  const auto = factoryOf('auto');
  it('by default: slicing for event-time tumbling and sliding windows on the event-time trigger, general for the rest', () => {
    const kindOf = (op: WindowOp): string => {
      const h = harness(op);
      const core = h.operators[0];
      return core instanceof SlicingWindowOperatorCore
        ? 'slicing'
        : core instanceof SessionWindowOperatorCore
          ? 'sessions'
          : core instanceof WindowOperatorCore
            ? 'general'
            : 'other';
    };
    expect(kindOf(auto(tumblingWindows(10), {}, reduceSum))).toBe('slicing');
    expect(kindOf(auto(slidingWindows(30, 10), {}, countOf()))).toBe('slicing');
    // sliding with reduce: no pre-aggregation of shared slices without merge
    expect(kindOf(auto(slidingWindows(30, 10), {}, reduceSum))).toBe('general');
    expect(kindOf(auto(sessionWindows(10), {}, countOf()))).toBe('sessions');
    // sessions: reduce, allowed lateness, a dynamic gap, a trigger that is not the built-in one (even a copy of it)
    expect(kindOf(auto(sessionWindows(10), {}, reduceSum))).toBe('general');
    expect(kindOf(auto(sessionWindows(10), { allowedLateness: 5 }, countOf()))).toBe('general');
    expect(kindOf(auto(sessionWindows(() => 10), {}, countOf()))).toBe('general');
    expect(kindOf(auto(sessionWindows(10), { trigger: { ...eventTimeTrigger() } }, countOf()))).toBe('general');
    expect(kindOf(auto(sessionWindows(10, { time: 'processing' }), {}, countOf()))).toBe('general');
    expect(kindOf(auto(tumblingWindows(10, { time: 'processing' }), {}, countOf()))).toBe('slicing');
    expect(kindOf(auto(tumblingWindows(10, { time: 'processing' }), {}, reduceSum))).toBe('slicing');
    // processing-time sliding windows, or a trigger that is not the built-in processing-time one: general
    expect(kindOf(auto(slidingWindows(30, 10, { time: 'processing' }), {}, countOf()))).toBe('general');
    expect(kindOf(auto(tumblingWindows(10, { time: 'processing' }), { trigger: { ...processingTimeTrigger() } }, countOf()))).toBe('general');
    expect(kindOf(auto(tumblingWindows(10, { time: 'processing' }), { trigger: eventTimeTrigger() }, countOf()))).toBe('general');
    expect(kindOf(factoryOf('general')(tumblingWindows(10), {}, reduceSum))).toBe('general');
  });

  it('forcing the session operator on windows it cannot take fails the stream with a ConfigurationError naming the operator', () => {
    const h = harness(factoryOf('sessions')(sessionWindows(10), { name: 'sessions', allowedLateness: 5 }, countOf()));
    expect(h.error).toBeInstanceOf(ConfigurationError);
    expect((h.error as Error).message).toBe(
      'sessions: the session window operator takes only event-time session windows with a fixed gap on the event-time trigger, without allowed lateness, with a mergeable, order-insensitive aggregator; use the default operator choice.',
    );
  });

  it('forcing the slicing operator on windows it cannot take fails the stream with a ConfigurationError naming the operator', () => {
    const h = harness(factoryOf('slicing')(sessionWindows(10), { name: 'sessions' }, countOf()));
    const err = h.error;
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toBe(
      'sessions: the slicing window operator takes only event-time tumbling and sliding windows on the event-time trigger (sliding: with a mergeable, order-insensitive aggregator) and processing-time tumbling windows on the processing-time trigger; use the default operator choice.',
    );
  });

});

describe('the session operator against the general one (sessions with a fixed gap)', () => {
  // records of five keys out of order (some far behind: late, or bridging two sessions), watermarks now and then
  const stepsArb: fc.Arbitrary<Step[]> = fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 1, max: 9 }), fc.integer({ min: -30, max: 300 })) },
      { weight: 1, arbitrary: fc.integer({ min: -30, max: 320 }) },
    ),
    { maxLength: 120 },
  );
  const meanOf = (): WindowFunction<E, string, unknown> => ({
    kind: 'process',
    aggregator: mean((e: E) => e[1]),
    fn: (els, ctx) => `${String(ctx.key)} ${String(els[0])} wm ${ctx.currentWatermark}`,
    name: 'processWindow',
  });
  for (const [name, fn] of [
    ['count', countOf],
    ['sum', sumOfValues],
    ['processWindow with mean', meanOf],
  ] as const) {
    it(`gap 12, ${name}: the same output in the same order (ties included), the same late records, restores at any two cuts change nothing (property)`, () => {
      fc.assert(
        fc.property(stepsArb, fc.nat(), fc.nat(), (steps, c1, c2) => {
          const late: LateSide = new Subject();
          const cuts = [c1 % (steps.length + 1), c2 % (steps.length + 1)].sort((x, y) => x - y);
          const general = runWithRestore(() => factoryOf('general')(sessionWindows(12), { lateData: late }, fn()), late, steps, []);
          const sessions = runWithRestore(() => factoryOf('sessions')(sessionWindows(12), { lateData: late }, fn()), late, steps, []);
          expect(sessions).toStrictEqual(general);
          expect(runWithRestore(() => factoryOf('sessions')(sessionWindows(12), { lateData: late }, fn()), late, steps, cuts)).toStrictEqual(general);
        }),
        { numRuns: 300 },
      );
    });
  }

  for (const [from, to] of [
    ['general', 'sessions'],
    ['sessions', 'general'],
  ] as const) {
    it(`the ${to} operator restored from the ${from} operator's checkpoint at any cut: the uninterrupted output, ties in the same order (property)`, () => {
      fc.assert(
        fc.property(stepsArb, fc.nat(), (steps, c) => {
          const late: LateSide = new Subject();
          const cut = c % (steps.length + 1);
          const general = runWithRestore(() => factoryOf('general')(sessionWindows(12), { lateData: late }, sumOfValues()), late, steps, []);
          const h = harness(factoryOf(from)(sessionWindows(12), { lateData: late }, sumOfValues()));
          feed(h, steps.slice(0, cut));
          const before = h.output().map(fmt);
          const beforeLate = h.sideOutput(late).map((r) => `${r.key} ${r.value[1]}@${r.timestamp}`);
          const r = harness(factoryOf(to)(sessionWindows(12), { lateData: late }, sumOfValues()), { restore: h.snapshot() });
          feed(r, steps.slice(cut));
          r.complete();
          expect([...before, ...r.output().map(fmt)]).toStrictEqual(general.out);
          expect([...beforeLate, ...r.sideOutput(late).map((x) => `${x.key} ${x.value[1]}@${x.timestamp}`)]).toStrictEqual(general.late);
          expect(r.operators[0]?.stateEntries).toBe(0);
        }),
        { numRuns: 300 },
      );
    });
  }

  it("a growth whose due entry would come before the run's last one is pushed again when it comes up: it fires at its watermark", () => {
    // a grows to [0, 22) (an entry at 21 appended to the run), then b to [0, 16): its entry at 15 cannot go after 21
    const late: LateSide = new Subject();
    const steps: Step[] = [0, ['a', 1, 0], ['b', 2, 0], ['a', 3, 10], ['b', 4, 4], 15, 21];
    const general = runWithRestore(() => factoryOf('general')(sessionWindows(12), { lateData: late }, sumOfValues()), late, steps, []);
    expect(general.out).toStrictEqual(['W 0', 'b [0,16) 6 @15', 'W 15', 'a [0,22) 4 @21', 'W 21', 'W MAX']);
    expect(runWithRestore(() => factoryOf('sessions')(sessionWindows(12), { lateData: late }, sumOfValues()), late, steps, [])).toStrictEqual(general);
  });

  it('in-order records growing sessions past the bound of the due run (4 × keys + 65 536 entries): the general operator\'s output, restores at cuts change nothing', () => {
    // each growth of a session by a quarter gap or more, the watermark near, appends a due entry on in-order data
    // (src/windows/sessionDueQueue.ts). Here 8 000 keys grow every 3 ms (gap 12) and the watermark trails by 30 ms, so
    // up to 14 rounds of entries are pending: past the bound of 97 536, growths leave the session's entry to be pushed
    // again when it comes up. Keys 6 000 and up stop after rounds 5 to 24 (some sessions' last growths are of those);
    // every key pauses after round 25 (all sessions fire), then grows again.
    const steps: Step[] = [];
    for (let round = 0; round < 32; round++) {
      const t = 3 * round + (round > 25 ? 100 : 0);
      for (let k = 0; k < 8_000; k++) if (k < 6_000 || round <= 5 + (k % 20)) steps.push([`k${k}`, 1 + (k % 5), t]);
      steps.push(t - 30);
    }
    const late: LateSide = new Subject();
    const general = runWithRestore(() => factoryOf('general')(sessionWindows(12), { lateData: late }, sumOfValues()), late, steps, []);
    expect(general.out.filter((l) => !l.startsWith('W')).length).toBe(14_000);
    expect(runWithRestore(() => factoryOf('sessions')(sessionWindows(12), { lateData: late }, sumOfValues()), late, steps, [])).toStrictEqual(general);
    expect(runWithRestore(() => factoryOf('sessions')(sessionWindows(12), { lateData: late }, sumOfValues()), late, steps, [100_000, 170_001])).toStrictEqual(general);
  });

  it('one key with 1 500 open sessions (the watermark far behind): made in reverse and random order, merged across blocks, fired in steps — the general operator\'s output; restores at cuts change nothing', () => {
    // a key's sessions are kept in blocks of at most 256 (src/windows/sessionWindowOperator.ts): this input makes
    // sessions before, between and after others, bridges neighbours (merges, some across blocks) and fires in steps
    const rnd = seededRandom(99);
    const steps: Step[] = [];
    const n = 1_500;
    const order = shuffledRange(n, rnd);
    // key a: a session per 20 ms (gap 12: they do not touch) in random order; key b: the same in reverse order
    for (const i of order) steps.push(['a', 1 + (i % 7), 20 * i]);
    for (let i = n - 1; i >= 0; i--) steps.push(['b', 1, 20 * i]);
    // bridges: an element at 20 i + 10 touches the sessions at 20 i and 20 (i + 1); runs of them merge long runs
    for (let k = 0; k < 600; k++) {
      const i = rnd(n - 1);
      steps.push(['a', 2, 20 * i + 10]);
      if (k % 3 === 0) steps.push(['b', 3, 20 * rnd(n - 1) + 10]);
    }
    // fire the first third, then more sessions and bridges below and above the watermark (late ones too)
    steps.push(10_000);
    for (let k = 0; k < 300; k++) steps.push([k % 2 === 0 ? 'a' : 'b', 1, 20 * rnd(n) + rnd(20)]);
    steps.push(20_000);
    for (let k = 0; k < 300; k++) steps.push(['a', 4, 20 * n - 20 * rnd(700) - 5]);
    const late: LateSide = new Subject();
    const general = runWithRestore(() => factoryOf('general')(sessionWindows(12), { lateData: late }, sumOfValues()), late, steps, []);
    expect(general.out.length).toBeGreaterThan(1_000);
    expect(general.late.length).toBeGreaterThan(0);
    const sessions = runWithRestore(() => factoryOf('sessions')(sessionWindows(12), { lateData: late }, sumOfValues()), late, steps, []);
    expect(sessions).toStrictEqual(general);
    for (const cuts of [[n], [n + 700, 2 * n + 200], [2 * n + 650, steps.length - 150]]) {
      expect(runWithRestore(() => factoryOf('sessions')(sessionWindows(12), { lateData: late }, sumOfValues()), late, steps, cuts), String(cuts)).toStrictEqual(general);
    }
    // each operator's checkpoint (the session operator's in blocks; the general one's made into one block of 2 000
    // sessions, then split) restores into the other
    for (const [from, to] of [
      ['general', 'sessions'],
      ['sessions', 'general'],
    ] as const) {
      const cut = 2 * n + 200;
      const h = harness(factoryOf(from)(sessionWindows(12), { lateData: late }, sumOfValues()));
      feed(h, steps.slice(0, cut));
      const before = h.output().map(fmt);
      const r = harness(factoryOf(to)(sessionWindows(12), { lateData: late }, sumOfValues()), { restore: h.snapshot() });
      feed(r, steps.slice(cut));
      r.complete();
      expect([...before, ...r.output().map(fmt)], `${from} into ${to}`).toStrictEqual(general.out);
      expect(r.operators[0]?.stateEntries).toBe(0);
    }
  });

  /** One key: a session per 20 ms in order (gap 12: they do not touch), bridges of recent ones, the watermark 30 s behind. */
  const laggingSessions = (seed: number): Step[] => {
    const steps: Step[] = [];
    const rnd = seededRandom(seed);
    for (let i = 0; i < 6_000; i++) {
      steps.push(['a', 1, 20 * i]);
      if (i % 7 === 0 && i > 20) steps.push(['a', 2, 20 * (i - 1 - rnd(20)) + 10]);
      if (i % 100 === 99) steps.push(20 * i - 30_000);
    }
    return steps;
  };

  /**
   * The checks of the two tests below: the key had more than 1 000 windows; its delta rows (`whole-length row`) were
   * blocks rows, each under half the key's whole value; a restore at every snapshot gives the uninterrupted output.
   */
  const expectBlocksRows = (most: number, rows: readonly string[], steps: readonly Step[], make: () => WindowOp, late: LateSide): void => {
    expect(most).toBeGreaterThan(1_000);
    const blocksRows = rows.filter((r) => r.includes(' [7,'));
    expect(blocksRows.length).toBeGreaterThan(15);
    // (the blocks new or changed in 300 steps: ≈ 300 sessions of ≈ 1 500)
    for (const r of blocksRows) expect(r.length - r.indexOf(' ')).toBeLessThan(Number(r.slice(0, r.indexOf(' '))) / 2);
    const cuts = Array.from({ length: Math.floor(steps.length / 300) }, (_, k) => 300 * (k + 1));
    expect(runWithRestore(make, late, steps, cuts)).toStrictEqual(runWithRestore(make, late, steps, []));
  };

  it('one key with ≈ 1 500 open sessions in blocks, a snapshot every 300 steps: each delta writes the blocks that changed (a blocks row), each restores the sessions; restored at each, the uninterrupted output', () => {
    const steps = laggingSessions(5);
    const late: LateSide = new Subject();
    const make = () => factoryOf('sessions')(sessionWindows(12), { lateData: late }, sumOfValues());
    /** The key's open sessions: [start, end, sequence, id, accumulator] each, blocks flattened. */
    const open = (h: ReturnType<typeof harness<E, string, unknown>>): unknown[][] => {
      const stored = h.state('a', 'sessions') as unknown[] | undefined;
      if (stored === undefined) return [];
      const out: unknown[][] = [];
      for (const b of (typeof stored[0] === 'number' ? [stored] : stored) as unknown[][]) for (let i = b[0] as number; i < b.length; i += 5) out.push(b.slice(i, i + 5));
      return out;
    };
    const h = harness(make());
    const deltaRows: string[] = [];
    let most = 0;
    for (let n = 0; n < steps.length; n += 300) {
      feed(h, steps.slice(n, n + 300));
      const cp = h.snapshot();
      const whole = JSON.stringify(h.state('a', 'sessions') ?? []).length;
      // (the row of the key's sessions, against their whole text now)
      if ((cp.operators.values().next().value?.length ?? 0) > 1) deltaRows.push(...(cp.latest.values().next().value?.entries ?? []).filter((e) => e.path.includes('"sessions"')).map((e) => `${whole} ${e.value ?? ''}`));
      most = Math.max(most, open(h).length);
      expect(open(h.restore(cp)), `after step ${n + 300}`).toStrictEqual(open(h));
    }
    // only the key's last session grows between two snapshots; then, first after a snapshot, a bridge of two blocks
    h.snapshot();
    const lastStart = (open(h).at(-1) as unknown[])[0] as number;
    feed(h, [['a', 5, lastStart], ['a', 5, lastStart + 3]]);
    expect(open(h.restore(h.snapshot())), 'the last session grown').toStrictEqual(open(h));
    const blocks = h.state('a', 'sessions') as unknown[][];
    expect(blocks.length).toBeGreaterThan(3);
    const [one, two] = [blocks[1] as unknown[], blocks[2] as unknown[]];
    const end = one[one.length - 4] as number;
    expect((two[(two[0] as number) + 0] as number) - end).toBeLessThanOrEqual(12);
    const sessionsBefore = open(h).length;
    feed(h, [['a', 6, end]]);
    expect(open(h).length).toBe(sessionsBefore - 1); // (block two taken into block one, split again)
    expect(open(h.restore(h.snapshot())), 'two blocks bridged').toStrictEqual(open(h));
    expectBlocksRows(most, deltaRows, steps, make, late);
  });

  it('the general operator, one key with ≈ 1 500 open sessions, a snapshot every 300 steps: each delta writes the blocks of the merging window set that changed, each restores the set; restored at each, the uninterrupted output', () => {
    const steps = laggingSessions(6);
    const late: LateSide = new Subject();
    const make = () => factoryOf('general')(sessionWindows(12), { lateData: late }, sumOfValues());
    /** The key's windows, `[start, end, stateStart, stateEnd]` each, blocks flattened. */
    const windows = (h: ReturnType<typeof harness<E, string, unknown>>): unknown[] => {
      const stored = h.state('a', 'merging-window-set') as unknown[][] | undefined;
      if (stored === undefined) return [];
      return typeof (stored[0] as unknown[] | undefined)?.[0] === 'number' ? stored : stored.flat();
    };
    const h = harness(make());
    const rows: string[] = [];
    let most = 0;
    for (let n = 0; n < steps.length; n += 300) {
      feed(h, steps.slice(n, n + 300));
      const whole = JSON.stringify(h.state('a', 'merging-window-set') ?? []).length;
      const cp = h.snapshot();
      if ((cp.operators.values().next().value?.length ?? 0) > 1) rows.push(...(cp.latest.values().next().value?.entries ?? []).filter((e) => e.path.includes('"merging-window-set"')).map((e) => `${whole} ${e.value ?? ''}`));
      most = Math.max(most, windows(h).length);
      expect(windows(h.restore(cp)), `after step ${n + 300}`).toStrictEqual(windows(h));
      // the chain folded holds the set as it is (a restore would also drop windows cleaned up already)
      const folded = mergeSnapshots(cp.operators.values().next().value ?? []).entries.find((e) => e.path.includes('"merging-window-set"'));
      const set = (decodeValue(folded?.value ?? '[0,[]]') as [number, unknown[][]])[1];
      expect(typeof (set[0] as unknown[] | undefined)?.[0] === 'number' ? set : set.flat(), `the chain after step ${n + 300}`).toStrictEqual(windows(h));
    }
    expectBlocksRows(most, rows, steps, make, late);
  });

  it('the general operator: a block of the merging window set emptied and dropped as the first change after a snapshot — the delta indexes the blocks left; restored there, the uninterrupted output', () => {
    // 600 sessions of one key in order: blocks of ≈ 128 (each split in half at 256); the watermark fires all but the
    // last window of the first block, a snapshot, then that window: its block goes (the list of blocks changes first)
    const steps: Step[] = [];
    for (let i = 0; i < 600; i++) steps.push(['a', 1, 100 * i]);
    steps.push(100 * 126 + 50); // windows 0 … 126 fire: the first block keeps window 127
    const cut = steps.length;
    steps.push(100 * 127 + 50); // window 127 fires: its block is dropped
    steps.push(100 * 200 + 50, ['a', 5, 100 * 300 + 1], 100 * 700);
    const late: LateSide = new Subject();
    const make = () => factoryOf('general')(sessionWindows(12), { lateData: late }, sumOfValues());
    const blocks = (h: ReturnType<typeof harness<E, string, unknown>>): number[] => ((h.state('a', 'merging-window-set') as unknown[][]) ?? []).map((b) => b.length);
    const h = harness(make());
    feed(h, steps.slice(0, cut));
    expect(blocks(h)[0]).toBe(1);
    const before = blocks(h).length;
    expect(before).toBeGreaterThan(3);
    h.snapshot();
    feed(h, steps.slice(cut, cut + 1));
    expect(blocks(h).length).toBe(before - 1);
    const cp = h.snapshot();
    const row = (cp.latest.values().next().value?.entries ?? []).find((e) => e.path.includes('"merging-window-set"'));
    // a blocks row: the index of each block kept (a run of them: its first, then −m), no block written
    expect(row?.value).toBe(`[7,[1,-${before - 2}]]`);
    const folded = mergeSnapshots(cp.operators.values().next().value ?? []).entries.find((e) => e.path.includes('"merging-window-set"'));
    expect((decodeValue(folded?.value ?? '[0,[]]') as [number, unknown[][]])[1]).toStrictEqual(h.state('a', 'merging-window-set'));
    expect(runWithRestore(make, late, steps, [cut + 1])).toStrictEqual(runWithRestore(make, late, steps, []));
  });

  it('2 000 slices made in reverse and random order (the watermark far behind), tumbling and sliding, with lateness, fired in steps — the general operator\'s output; restores at cuts change nothing', () => {
    // the slicing operator keeps its slices in blocks of at most 256 (src/windows/sliceOrder.ts): slices made before
    // all others, between others (splitting blocks), sliding windows that span two blocks, and blocks dropped in steps
    const rnd = seededRandom(5);
    const n = 2_000;
    const steps: Step[] = [];
    for (const i of shuffledRange(n, rnd)) steps.push(['a', 1 + (i % 5), 10 * i + rnd(10)]);
    for (let i = n - 1; i >= 0; i -= 2) steps.push(['b', 1, 10 * i]);
    steps.push(6_000);
    for (let k = 0; k < 300; k++) steps.push([k % 2 === 0 ? 'a' : 'b', 2, 10 * rnd(n)]); // some late, some allowed late
    steps.push(13_000);
    for (let i = n + 600; i >= n; i--) steps.push(['c', 1, 10 * i]);
    for (const [name, assigner] of [
      ['tumbling 10 ms', tumblingWindows(10)],
      ['sliding 40 / 10 ms', slidingWindows(40, 10)],
    ] as const) {
      const late: LateSide = new Subject();
      const run = (choice: WindowOperatorChoice, cuts: number[]) => runWithRestore(() => factoryOf(choice)(assigner, { allowedLateness: 2_000, lateData: late }, sumOfValues()), late, steps, cuts);
      const general = run('general', []);
      expect(general.out.length, name).toBeGreaterThan(2_000);
      expect(general.late.length, name).toBeGreaterThan(0);
      expect(run('slicing', []), name).toStrictEqual(general);
      for (const cuts of [[700], [n + 500, n + 1_000], [n + 1_150, steps.length - 200]]) {
        expect(run('slicing', cuts), `${name} cut at ${String(cuts)}`).toStrictEqual(general);
      }
    }
  });

  it('sessions given allowed lateness after a checkpoint (the session operator\'s, read by the general one): the open sessions go on, a late element is kept', () => {
    const h = harness(pipe(window<E, string>(sessionWindows(5), { name: 'w' }), aggregate(count())));
    feed(h, [['a', 1, 10], ['a', 1, 12], ['b', 1, 11], 5]);
    const r = harness(pipe(window<E, string>(sessionWindows(5), { name: 'w', allowedLateness: 5 }), aggregate(count())), { restore: h.snapshot() });
    feed(r, [['a', 1, 13], 17, ['b', 1, 14]]);
    r.complete();
    expect(r.error).toBeUndefined();
    expect(lines(r)).toStrictEqual(['b [11,16) 1 @15', 'a [10,18) 3 @17', 'W 17', 'b [11,19) 2 @18', 'W MAX']);
  });

  it("restored from a general checkpoint that kept fired sessions for allowed lateness, now with none: they are done, not fired again", () => {
    const h = harness(factoryOf('general')(sessionWindows(10), { allowedLateness: 50 }, countOf()));
    feed(h, [['k', 1, 0], 20]);
    expect(lines(h)).toStrictEqual(['k [0,10) 1 @9', 'W 20']);
    for (const choice of ['general', 'sessions'] as const) {
      const r = harness(factoryOf(choice)(sessionWindows(10), {}, countOf()), { restore: h.snapshot() });
      feed(r, [30, 100]);
      expect(lines(r), choice).toStrictEqual(['W 30', 'W 100']);
      expect(r.operators[0]?.stateEntries, choice).toBe(0);
    }
  });
});
