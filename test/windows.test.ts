import { Subject, pipe, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  collect,
  ConfigurationError,
  continuousEventTimeTrigger,
  count,
  countTrigger,
  endOfStreamTrigger,
  eventTimeTrigger,
  globalWindows,
  neverTrigger,
  processingTimeTrigger,
  purging,
  sessionWindows,
  slidingWindows,
  sum,
  tumblingWindows,
  type Aggregator,
  type StreamElement,
  type Trigger,
  type StreamRecord,
  type WindowResult,
} from '../src/index.js';
import { aggregate, processWindow, reduce, window } from '../operators/index.js';
import { windowFunction } from '../operators/windowFunction.js';
import { harness } from '../testing/index.js';
import { feed, lines, sortRuns, sumE, windowed, type E, type Step } from './support/windows.js';
import { expectRefused } from './support/refused.js';

const sumOf = (els: readonly E[]): number => els.reduce((a, e) => a + e[1], 0);

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

describe('WindowOperatorTest scenarios: sliding and tumbling event-time windows', () => {
  const slidingOps: [string, () => OperatorFunction<StreamElement<E, string>, StreamElement<WindowResult<string, unknown>, string>>][] = [
    ['reduce', () => pipe(window<E, string>(slidingWindows(3000, 1000)), reduce(sumE))],
    ['aggregate (pane pre-aggregation)', () => pipe(window<E, string>(slidingWindows(3000, 1000)), aggregate({ create: () => ['', 0] as E, add: (a: E, v: E): E => [v[0], a[1] + v[1]], result: (a: E) => a, merge: (a: E, b: E): E => [a[0] || b[0], a[1] + b[1]] }))],
    ['processWindow', () => pipe(window<E, string>(slidingWindows(3000, 1000)), processWindow((els: readonly E[]) => [[els[0]?.[0], sumOf(els)]]))], // an array return emits each item
  ];
  for (const [name, op] of slidingOps) {
    it(`sliding 3 s / 1 s, ${name}: Flink's expected output, with a snapshot/restore after watermark 2999`, () => {
      const h = windowed(op(), [...FLINK_INPUT, 999, 1999, 2999]);
      // Flink compares sorted: the order of keys at one timestamp is unspecified (see sortRuns)
      expect(sortRuns(lines(h))).toStrictEqual([
        'key1 [-2000,1000) ["key1",3] @999',
        'W 999',
        'key1 [-1000,2000) ["key1",3] @1999',
        'key2 [-1000,2000) ["key2",3] @1999',
        'W 1999',
        'key1 [0,3000) ["key1",3] @2999',
        'key2 [0,3000) ["key2",3] @2999',
        'W 2999',
      ]);
      const r = feed(h.restore(h.snapshot()), [3999, 4999, 5999, 6999, 7999]);
      expect(sortRuns(lines(r))).toStrictEqual([
        'key2 [1000,4000) ["key2",5] @3999',
        'W 3999',
        'key2 [2000,5000) ["key2",2] @4999',
        'W 4999',
        'key2 [3000,6000) ["key2",2] @5999',
        'W 5999',
        'W 6999',
        'W 7999',
      ]);
      expect(r.keys()).toStrictEqual([]);
      expect(r.operators[0]?.stateEntries).toBe(0);
    });
  }

  it('tumbling 3 s, reduce: Flink\'s expected output, restore in the middle', () => {
    const h = windowed(pipe(window<E, string>(tumblingWindows(3000)), reduce(sumE)), [...FLINK_INPUT, 999, 1999, 2999]);
    expect(lines(h)).toStrictEqual(['W 999', 'W 1999', 'key1 [0,3000) ["key1",3] @2999', 'key2 [0,3000) ["key2",3] @2999', 'W 2999']);
    const r = feed(h.restore(h.snapshot()), [3999, 4999, 5999, 6999, 7999]);
    expect(lines(r)).toStrictEqual(['W 3999', 'W 4999', 'key2 [3000,6000) ["key2",2] @5999', 'W 5999', 'W 6999', 'W 7999']);
    expect(r.keys()).toStrictEqual([]);
  });

  it('the results a watermark causes come before it; end of input fires the rest at MAX', () => {
    const h = windowed(pipe(window<E, string>(tumblingWindows(1000)), aggregate(count())), [
      ['a', 1, 10],
      ['b', 1, 1500],
      ['a', 1, 2500],
      1999,
    ]);
    h.complete();
    expect(lines(h)).toStrictEqual(['a [0,1000) 1 @999', 'b [1000,2000) 1 @1999', 'W 1999', 'a [2000,3000) 1 @2999', 'W MAX']);
  });
});

describe('WindowOperatorTest scenarios: session windows', () => {
  const sessionFn = () =>
    pipe(
      window<E, string>(sessionWindows(3000)),
      processWindow((els: readonly E[], ctx) => `${ctx.key}-${sumOf(els)}`),
    );
  const first: Step[] = [
    ['key2', 1, 0],
    ['key2', 2, 1000],
    ['key2', 3, 2500],
    ['key1', 1, 10],
    ['key1', 2, 1000],
  ];
  const second: Step[] = [['key1', 3, 2500], ['key2', 4, 5501], ['key2', 5, 6000], ['key2', 5, 6000], ['key2', 6, 6050], 12000];

  it('merge on overlap or touch; Flink\'s expected output with a restore between the two halves', () => {
    const h = windowed(sessionFn(), first);
    const r = feed(h.restore(h.snapshot()), second);
    expect(lines(r)).toStrictEqual(['key2 [0,5500) "key2-6" @5499', 'key1 [10,5500) "key1-6" @5499', 'key2 [5501,9050) "key2-20" @9049', 'W 12000']);
    feed(r, [['key1', 10, 15000], ['key1', 20, 15000], 17999]);
    expect(lines(r)).toStrictEqual(['key1 [15000,18000) "key1-30" @17999', 'W 17999']);
    expect(r.keys()).toStrictEqual([]);
  });

  it('two elements exactly gap apart share a session, one ms more and they do not', () => {
    const h = windowed(pipe(window<E, string>(sessionWindows(3000)), aggregate(count())), [['k', 1, 0], ['k', 1, 3000], ['j', 1, 0], ['j', 1, 3001], 10000]);
    expect(lines(h)).toStrictEqual(['j [0,3000) 1 @2999', 'k [0,6000) 2 @5999', 'j [3001,6001) 1 @6000', 'W 10000']);
  });

  it("a general operator's checkpoint with a session whose contents a purging trigger cleared: restored with the default trigger, the empty session is still merged with (session operator and general alike, and back again)", () => {
    const countOf = { kind: 'aggregate', aggregator: count(), name: 'aggregate' } as const;
    const op = (choice: 'sessions' | 'general', options: { trigger?: ReturnType<typeof purging> } = {}) =>
      pipe(window<E, string>(sessionWindows(10), { name: 'w', ...options }), windowFunction<E, string, unknown>(countOf, choice));
    const before = windowed(op('general', { trigger: purging(countTrigger(2)) }), [['k', 1, 0], ['k', 1, 1], 2]);
    expect(lines(before)).toStrictEqual(['k [0,11) 2 @10', 'W 2']); // fired and purged: [0,11) stays in the merging set, empty
    const checkpoint = before.snapshot();
    for (const choice of ['sessions', 'general'] as const) {
      const h = feed(harness(op(choice), { restore: checkpoint }), [['k', 1, 11], 30]);
      expect(lines(h), choice).toStrictEqual(['k [0,21) 1 @20', 'W 30']);
      expect(h.keys(), choice).toStrictEqual([]);
    }
    // an empty session alone fires nothing; through the session operator's checkpoint into the general operator
    const sessions = harness(op('sessions'), { restore: checkpoint });
    const general = feed(harness(op('general'), { restore: sessions.snapshot() }), [['k', 1, 11], 30]);
    expect(lines(general)).toStrictEqual(['k [0,21) 1 @20', 'W 30']);
    expect(lines(feed(harness(op('sessions'), { restore: checkpoint }), [30]))).toStrictEqual(['W 30']);
  });

  it('a session started by an element at −0 starts at +0, on the session operator as on the general one', () => {
    for (const choice of ['sessions', 'general'] as const) {
      const h = windowed(pipe(window<E, string>(sessionWindows(10)), windowFunction<E, string, unknown>({ kind: 'aggregate', aggregator: count(), name: 'aggregate' }, choice)), [['k', 1, -0], 100]);
      const fired = (h.records()[0]?.value as { window: { start: number } } | undefined)?.window;
      expect(Object.is(fired?.start, 0), choice).toBe(true);
    }
  });

  it('dynamic gaps; a new window inside an existing session does not re-merge', () => {
    const gapOf = (e: E) => e[1];
    const h = windowed(pipe(window<E, string>(sessionWindows(gapOf)), aggregate(collect<E>())), [['k', 100, 0], ['k', 10, 50], ['k', 1000, 60], 5000]);
    expect(lines(h)).toStrictEqual(['k [0,1060) [["k",100],["k",10],["k",1000]] @1059', 'W 5000']);
  });

  it('purging count trigger: fires every 4 elements of the merged session, counts merge', () => {
    const h = windowed(
      pipe(window<E, string>(sessionWindows(3000), { trigger: purging(countTrigger(4)) }), processWindow((els: readonly E[], ctx) => `${ctx.key}-${sumOf(els)}`)),
      [['key2', 1, 0], ['key2', 2, 1000], ['key2', 3, 2500], ['key1', 1, 10], ['key1', 2, 1000]],
    );
    expect(lines(h)).toStrictEqual([]);
    const r = feed(h.restore(h.snapshot()), [['key2', 4, 3500], ['key1', 3, 2500], ['key1', 4, 5000], ['key2', 2, 20000], 50000]);
    // key2's 4th element merges [0,3500) with [3500,6500): count 3 + 1 = 4 → fire-and-purge the merged session
    // key1: 10,1000,2500 (3) + 5000 → 4 → fires; key2 @20000 starts a new session with count 1: never fires
    expect(lines(r)).toStrictEqual(['key2 [0,6500) "key2-10" @6499', 'key1 [10,8000) "key1-10" @7999', 'W 50000']);
    expect(r.keys()).toStrictEqual([]);
  });

  it('continuous event-time trigger on sessions: early firings every interval, fire times merge, final firing at the end', () => {
    const h = windowed(
      pipe(window<E, string>(sessionWindows(3000), { trigger: continuousEventTimeTrigger(1000) }), processWindow((els: readonly E[], ctx) => `${ctx.key}-${sumOf(els)}`)),
      [['k', 1, 0], ['k', 2, 500], 1000, ['k', 3, 2500], 2000, 3000, 10000],
    );
    expect(lines(h)).toStrictEqual(['k [0,3500) "k-3" @3499', 'W 1000', 'k [0,5500) "k-6" @5499', 'W 2000', 'k [0,5500) "k-6" @5499', 'W 3000', 'k [0,5500) "k-6" @5499', 'k [0,5500) "k-6" @5499', 'k [0,5500) "k-6" @5499', 'W 10000']);
  });
});

describe('global windows and count / end-of-stream triggers', () => {
  it('purging(countTrigger(3)) emits non-overlapping batches; the remainder is dropped at the end', () => {
    const h = windowed(pipe(window<E, string>(globalWindows(), { trigger: purging(countTrigger(3)) }), aggregate(count())), [
      ['a', 1, 1], ['a', 1, 2], ['b', 1, 3], ['a', 1, 4], ['a', 1, 5], ['a', 1, 6], ['a', 1, 7],
    ]);
    h.complete();
    expect(lines(h)).toStrictEqual(['a global 3 @MAX', 'a global 3 @MAX', 'W MAX']);
  });

  it('countTrigger without purging accumulates', () => {
    const h = windowed(pipe(window<E, string>(globalWindows(), { trigger: countTrigger(2) }), reduce(sumE)), [['a', 1, 1], ['a', 2, 2], ['a', 3, 3], ['a', 4, 4]]);
    expect(lines(h)).toStrictEqual(['a global ["a",3] @MAX', 'a global ["a",10] @MAX']);
  });

  it('the default trigger never fires, not even at end of input', () => {
    const h = windowed(pipe(window<E, string>(globalWindows()), aggregate(count())), [['a', 1, 1], 100]);
    h.complete();
    expect(lines(h)).toStrictEqual(['W 100', 'W MAX']);
    const n = windowed(pipe(window<E, string>(tumblingWindows(10), { trigger: neverTrigger() }), aggregate(count())), [['a', 1, 1], 100]);
    expect(lines(n)).toStrictEqual(['W 100']);
    expect(n.keys()).toStrictEqual([]); // cleaned up all the same
  });

  it('endOfStreamTrigger fires once on MAX, stamped MAX', () => {
    const h = windowed(pipe(window<E, string>(globalWindows(), { trigger: endOfStreamTrigger() }), reduce(sumE)), [['a', 1, 1], ['b', 5, 2], 1000, ['a', 2, 3]]);
    h.complete();
    expect(lines(h)).toStrictEqual(['W 1000', 'a global ["a",3] @MAX', 'b global ["b",5] @MAX', 'W MAX']);
  });

  it('continuous trigger on a global window: fires every interval and once at MAX (no loop towards MAX)', () => {
    const h = windowed(pipe(window<E, string>(globalWindows(), { trigger: continuousEventTimeTrigger(100) }), aggregate(count())), [['a', 1, 5], ['a', 1, 150], 99, 100, 250]);
    h.complete();
    expect(lines(h)).toStrictEqual(['W 99', 'a global 2 @MAX', 'W 100', 'a global 2 @MAX', 'W 250', 'a global 2 @MAX', 'W MAX']);
  });
});

describe('continuous event-time trigger on time windows', () => {
  it('at end of input, fires at each firing time left up to the window end, then there (as Flink does)', () => {
    const h = windowed(pipe(window<E, string>(tumblingWindows(10_000), { trigger: continuousEventTimeTrigger(3_000) }), aggregate(count())), [['a', 1, 1_000]]);
    h.complete();
    // the timers at 3 000, 6 000, 9 000 and 9 999 go off in order as the watermark jumps to MAX, each cumulative
    expect(lines(h)).toStrictEqual(['a [0,10000) 1 @9999', 'a [0,10000) 1 @9999', 'a [0,10000) 1 @9999', 'a [0,10000) 1 @9999', 'W MAX']);
    expect(h.keys()).toStrictEqual([]);
  });

  it('fires at each interval (next firing clamped to the window end), then at the end; all stamped end - 1', () => {
    const h = windowed(pipe(window<E, string>(tumblingWindows(1000), { trigger: continuousEventTimeTrigger(400) }), aggregate(count())), [
      ['a', 1, 100], 399, 400, ['a', 1, 500], 799, 800, 999,
    ]);
    expect(lines(h)).toStrictEqual(['W 399', 'a [0,1000) 1 @999', 'W 400', 'W 799', 'a [0,1000) 2 @999', 'W 800', 'a [0,1000) 2 @999', 'W 999']);
    expect(h.keys()).toStrictEqual([]);
  });
});

describe('allowed lateness, late firings and late side output', () => {
  const lateOf = (h: ReturnType<typeof harness>, s: Subject<StreamRecord<E, string>>) => h.sideOutput(s).map((r) => `${(r as StreamRecord<E, string>).value[1]}@${(r as StreamRecord<E, string>).timestamp}`);

  for (const [L, expected, lateRecords] of [
    [0, ['key2 [0,2000) 2 @1999', 'W 1999', 'W 2500', 'key2 [2000,4000) 1 @3999', 'W 5000'], ['3@1998', '4@1000']],
    // with lateness 1000 the window lives until 2999: at watermark 2500 the element @1000 is accepted (late firing)
    [1000, ['key2 [0,2000) 2 @1999', 'W 1999', 'key2 [0,2000) 3 @1999', 'W 2500', 'key2 [0,2000) 4 @1999', 'key2 [2000,4000) 1 @3999', 'W 5000'], []],
    [Number.MAX_SAFE_INTEGER, ['key2 [0,2000) 2 @1999', 'W 1999', 'key2 [0,2000) 3 @1999', 'W 2500', 'key2 [0,2000) 4 @1999', 'key2 [2000,4000) 1 @3999', 'W 5000'], []],
  ] as [number, string[], string[]][]) {
    it(`tumbling, allowedLateness ${L}: late firings re-emit the accumulated result; only records late for every window go to lateData`, () => {
      const late = new Subject<StreamRecord<E, string>>();
      const h = windowed(pipe(window<E, string>(tumblingWindows(2000), { allowedLateness: L, lateData: late }), aggregate(count())), [
        ['key2', 1, 0],
        ['key2', 2, 1999],
        1999,
        ['key2', 3, 1998], // late for a window at its end (fires again if within lateness)
        2500,
        ['key2', 4, 1000], // its window is still there if 1999 + L > 2500
        ['key2', 5, 2001],
        5000,
      ]);
      expect(lines(h)).toStrictEqual(expected);
      expect(lateOf(h, late)).toStrictEqual(lateRecords);
      expect(h.metrics().lateRecordsDropped).toBe(0);
    });
  }

  it('sliding, lateness 0: an element late for some windows is accepted by the others (no side output)', () => {
    const late = new Subject<StreamRecord<E, string>>();
    const h = windowed(pipe(window<E, string>(slidingWindows(2000, 1000), { lateData: late }), aggregate(count())), [['k', 1, 1500], 1999, ['k', 2, 1500], ['k', 3, 500], 5000]);
    expect(lines(h)).toStrictEqual(['k [0,2000) 1 @1999', 'W 1999', 'k [1000,3000) 2 @2999', 'W 5000']);
    expect(lateOf(h, late)).toStrictEqual(['3@500']);
  });

  it('sessions with lateness: a late-but-allowed element merges with a session that already fired and fires the merged one at once', () => {
    const late = new Subject<StreamRecord<E, string>>();
    const h = windowed(pipe(window<E, string>(sessionWindows(1000), { allowedLateness: 2000, lateData: late }), aggregate(count())), [
      ['k', 1, 0],
      ['k', 1, 1500],
      2600, // fires [0,1000) and [1500,2500); [0,1000) lives until 999 + 2000
      ['k', 1, 900], // merges [0,1000) + [900,1900) + [1500,2500) → [0,2500): late firing
      4600, // cleanup of [0,2500) at 2499 + 2000 = 4499
      ['k', 1, 100], // too late: side output
    ]);
    expect(lines(h)).toStrictEqual(['k [0,1000) 1 @999', 'k [1500,2500) 1 @2499', 'W 2600', 'k [0,2500) 3 @2499', 'W 4600']);
    expect(lateOf(h, late)).toStrictEqual(['1@100']);
    expect(h.keys()).toStrictEqual([]);
  });

  it('sessions restored with less allowed lateness, a kept session not late yet: cleaned up at its new cleanup time, so a later late element is late', () => {
    const op = (lateness: number) => pipe(window<E, string>(sessionWindows(10), { name: 'w', allowedLateness: lateness }), aggregate(count()));
    // [2, 12) fires at 15 (its timer at 11 passed): kept until 31 with lateness 20
    const before = windowed(op(20), [15, ['a', 1, 2]]);
    const restored = feed(harness(op(5), { restore: before.snapshot() }), [20, ['a', 1, 3], 60]);
    // with lateness 5 it went at 16: 3 is late (it merged into it and failed the stream)
    expect([restored.error, lines(restored), restored.metrics().lateRecordsDropped, restored.operators[0]?.stateEntries]).toStrictEqual([undefined, ['W 20', 'W 60'], 1, 0]);
  });

  it('a checkpoint taken with another, stateful trigger: its state is dropped, the windows go on with the new trigger (as in Flink)', () => {
    const taken = windowed(pipe(window<E, string>(sessionWindows(10), { name: 'w', trigger: countTrigger(100) as Trigger<E> }), aggregate(count())), [['a', 1, 1], ['a', 1, 3], 2]);
    for (const choice of ['auto', 'general'] as const) {
      const r = feed(harness(pipe(window<E, string>(sessionWindows(10), { name: 'w' }), windowFunction<E, string, unknown>({ kind: 'aggregate', aggregator: count(), name: 'aggregate' }, choice)), { restore: taken.snapshot() }), [['a', 1, 4], 30]);
      expect([r.error, lines(r), r.operators[0]?.stateEntries], choice).toStrictEqual([undefined, ['a [1,14) 3 @13', 'W 30'], 0]);
    }
  });

  it('restored windows without timers (kept for an allowed lateness of Infinity, or by a trigger that registers none) are fitted to the new lateness and trigger too', () => {
    // a session kept forever with lateness Infinity, restored with 5: cleaned up at the restore, a later element late
    const kept = windowed(pipe(window<E, string>(sessionWindows(10), { name: 'w', allowedLateness: Infinity }), aggregate(count())), [['a', 1, 1], 50]);
    const five = feed(harness(pipe(window<E, string>(sessionWindows(10), { name: 'w', allowedLateness: 5 }), aggregate(count())), { restore: kept.snapshot() }), [100, ['a', 1, 2], 1000]);
    expect([five.error, lines(five), five.metrics().lateRecordsDropped, five.operators[0]?.stateEntries]).toStrictEqual([undefined, ['W 100', 'W 1000'], 1, 0]);
    // windows a count trigger held, unfired, restored with the event-time trigger and lateness 5: they fire at their end
    for (const [assigner, fired] of [
      [sessionWindows<E>(10), 'a [1,13) 2 @12'],
      [tumblingWindows<E>(10), 'a [0,10) 2 @9'],
    ] as const) {
      const counted = windowed(pipe(window<E, string>(assigner, { name: 'w', trigger: countTrigger(100) as Trigger<E>, allowedLateness: 5 }), aggregate(count())), [['a', 1, 1], ['a', 1, 3], 2]);
      const r = feed(harness(pipe(window<E, string>(assigner, { name: 'w', allowedLateness: 5 }), windowFunction<E, string, unknown>({ kind: 'aggregate', aggregator: count(), name: 'aggregate' }, 'general')), { restore: counted.snapshot() }), [30]);
      expect([r.error, lines(r), r.operators[0]?.stateEntries]).toStrictEqual([undefined, [fired, 'W 30'], 0]);
    }
    // a session without a timer, into the session operator: it goes on
    const untimed = windowed(pipe(window<E, string>(sessionWindows(10), { name: 'w', trigger: countTrigger(100) as Trigger<E>, allowedLateness: Infinity }), aggregate(count())), [['a', 1, 1]]);
    const sessions = feed(harness(pipe(window<E, string>(sessionWindows(10), { name: 'w' }), windowFunction<E, string, unknown>({ kind: 'aggregate', aggregator: count(), name: 'aggregate' }, 'sessions')), { restore: untimed.snapshot() }), [30]);
    expect([sessions.error, lines(sessions)]).toStrictEqual([undefined, ['a [1,11) 1 @10', 'W 30']]);
  });

  it('sliding windows with gaps (slide above size): an on-time element of no window is ignored, as in Flink, not late', () => {
    const late = new Subject<StreamRecord<E, string>>();
    const h = windowed(pipe(window<E, string>(slidingWindows(5, 10), { name: 'w', lateData: late }), aggregate(count())), [0, ['k', 1, 7], ['k', 1, 12], 20]);
    expect(lines(h)).toStrictEqual(['W 0', 'k [10,15) 1 @14', 'W 20']);
    expect([lateOf(h, late), h.metrics().lateRecordsDropped, h.warnings()]).toStrictEqual([[], 0, []]);
  });

  it('sessions restored with less allowed lateness: a kept session past its new cleanup time is cleaned up at the restore, a late element is late', () => {
    const op = (lateness: number) => pipe(window<E, string>(sessionWindows(5), { name: 'w', allowedLateness: lateness }), processWindow((els: readonly E[]) => els.map((e) => e[1]).join('+')));
    const before = windowed(op(10), [['k', 1, 5], ['k', 2, 10], 16]);
    expect(lines(before)).toStrictEqual(['k [5,15) "1+2" @14', 'W 16']);
    const cp = before.snapshot();
    // the same lateness: [5,15) is kept until 24, so an element at 3 merges into it and fires it late
    const same = feed(harness(op(10), { restore: cp }), [['k', 3, 3], 30]);
    expect(lines(same)).toStrictEqual(['k [3,15) "1+2+3" @14', 'W 30']);
    // none: [5,15) was done at 14 (≤ 16); an element at 3 (or 7, inside it) is late, and nothing stays behind
    for (const ts of [3, 7]) {
      const less = feed(harness(op(0), { restore: cp }), [['k', 3, ts]]);
      expect([less.error, lines(less), less.metrics().lateRecordsDropped, less.keys(), less.timers('k')]).toStrictEqual([undefined, [], 1, [], []]);
      feed(less, [1000]);
      expect([lines(less), less.operators[0]?.stateEntries]).toStrictEqual([['W 1000'], 0]);
    }
  });

  it('without lateData, dropped records are counted and warned about once', () => {
    const h = windowed(pipe(window<E, string>(tumblingWindows(100), { name: 'clicks-per-100ms' }), aggregate(count())), [['k', 1, 5], 500, ['k', 1, 6], ['k', 1, 7]]);
    expect(h.metrics().lateRecordsDropped).toBe(2);
    expect(h.warnings()).toStrictEqual([
      'clicks-per-100ms: a record arrived after its windows were cleaned up (timestamp 6 + allowedLateness 0 <= watermark 500) and was dropped. Dropped records are counted in the lateRecordsDropped metric; pass { lateData: subject } to window(...) to receive them, or raise allowedLateness.',
    ]);
  });

  it('cleanup with lateness: contents, trigger state and timers are gone after end - 1 + lateness', () => {
    const h = windowed(pipe(window<E, string>(tumblingWindows(1000), { allowedLateness: 500 }), aggregate(count())), [['k', 1, 10], 999]);
    expect(h.timers('k').map(([, ts]) => ts)).toStrictEqual([1499]);
    expect(h.operators[0]?.stateEntries).toBe(1);
    feed(h, [1498]);
    expect(h.keys()).toStrictEqual(['k']);
    feed(h, [1499]);
    expect(h.keys()).toStrictEqual([]);
    expect(h.operators[0]?.stateEntries).toBe(0);
  });

  it('allowedLateness is a whole number of ms (near the ends of the range a fraction rounded away: the window cleaned up at its end, a late record counted alone)', () => {
    const at = (lateness: number) => {
      const h = harness(pipe(window<E, string>(tumblingWindows(10), { allowedLateness: lateness }), aggregate(count())));
      // (a lateness refused fails the operator as it starts: the harness then takes no input)
      if (h.error === undefined) h.record(['k', 1], 8e15, 'k').watermark(8e15 + 9).record(['k', 1], 8e15 + 1, 'k');
      return [(h.error as Error | undefined)?.name, (h.error as Error | undefined)?.message, lines(h)];
    };
    expect(at(0.5)).toStrictEqual([
      'ConfigurationError',
      'window#0: allowedLateness 0.5 is not a whole number of milliseconds: allowedLateness values are whole milliseconds, as timestamps are (near the ends of their range a fraction of a millisecond rounds away): use 1 instead of 0.5.',
      [],
    ]);
    expect(at(1)).toStrictEqual([undefined, undefined, ['k [8000000000000000,8000000000000010) 1 @8000000000000009', 'W 8000000000000009', 'k [8000000000000000,8000000000000010) 2 @8000000000000009']]);
    expect(at(Infinity)[0]).toBeUndefined();
  });
});

describe('processing-time windows', () => {
  it('tumbling by the clock at arrival; fire and clean up on processing-time timers; no lateness', () => {
    const late = new Subject<StreamRecord<E, string>>();
    const h = harness(pipe(window<E, string>(tumblingWindows(1000, { time: 'processing' }), { lateData: late, allowedLateness: 5000 }), aggregate(count())), {
      processingTime: 100,
    });
    feed(h, [['a', 1, 999_999], ['b', 1, -5], 10_000_000]);
    h.setProcessingTime(998);
    expect(lines(h)).toStrictEqual(['W 10000000']);
    h.setProcessingTime(999);
    expect(lines(h)).toStrictEqual(['a [0,1000) 1 @999', 'b [0,1000) 1 @999']);
    h.setProcessingTime(1500);
    feed(h, [['a', 1, 0]]);
    h.setProcessingTime(2500);
    expect(lines(h)).toStrictEqual(['a [1000,2000) 1 @1999']);
    expect(h.keys()).toStrictEqual([]);
    expect(h.sideOutput(late)).toStrictEqual([]);
  });

  it('sessions by the clock, with processingTimeTrigger merging', () => {
    const h = harness(pipe(window<E, string>(sessionWindows(100, { time: 'processing' }), { trigger: processingTimeTrigger() }), aggregate(count())));
    feed(h, [['a', 1, 0]]);
    h.setProcessingTime(50);
    feed(h, [['a', 1, 0]]);
    h.setProcessingTime(149);
    expect(lines(h)).toStrictEqual(['a [0,150) 2 @149']);
    h.setProcessingTime(1000);
    expect(h.keys()).toStrictEqual([]);
  });
});

describe('window, aggregate, reduce, processWindow: what they cannot run, refused where given', () => {
  it('an assigner or trigger not called or not one, a misspelt option, an aggregator or function that is none (before: a TypeError, or a user-function error at the first firing)', () => {
    expectRefused(() => window(1000 as never), 'window: 1000 is not a window assigner; give tumblingWindows(size), slidingWindows(size, slide), sessionWindows(gap), globalWindows() or their processing-time forms.');
    expectRefused(() => window(tumblingWindows as never), 'window: the window assigner is the function tumblingWindows, not a window assigner; call it, e.g. tumblingWindows(60_000).');
    expectRefused(() => window(globalWindows(), { trigger: countTrigger as never }), 'window: the trigger is the function countTrigger, not a trigger; call it, e.g. countTrigger(100).');
    expectRefused(
      () => window(tumblingWindows(10), { trigger: { onElement: () => 'continue' } as never }),
      'window: the trigger {} is not a trigger (it has no onEventTime, onProcessingTime, clear); give eventTimeTrigger(), countTrigger(n), purging(trigger), … or an object with onElement, onEventTime, onProcessingTime and clear.',
    );
    expectRefused(
      () => window(tumblingWindows(10), { allowedLatenes: 5 } as never),
      'window: no option "allowedLatenes" in the options — did you mean "allowedLateness"? The options: trigger, allowedLateness, lateData, name.',
    );
    expectRefused(() => aggregate(count as never), 'aggregate: the aggregator is the function count, not an aggregator; call it, e.g. count().');
    expectRefused(() => window(globalWindows(), { trigger: count as never }), 'window: the trigger is the function count, not a trigger; count() makes an aggregator; give a trigger, e.g. countTrigger(100).');
    // (a function of the user's of a built-in's name is not taken for the built-in)
    const count2 = { count: (n: number) => countTrigger(n) }.count;
    expectRefused(() => window(globalWindows(), { trigger: count2 as never }), 'window: the trigger is the function count, not a trigger; call it with its arguments: count(…).');
    class Eager {}
    expectRefused(() => window(globalWindows(), { trigger: Eager as never }), 'window: the trigger is the class Eager, not a trigger; make one: new Eager(…).');
    const everyTen = (n: number) => countTrigger(n * 10);
    expectRefused(() => window(globalWindows(), { trigger: everyTen as never }), 'window: the trigger is the function everyTen, not a trigger; call it with its arguments: everyTen(…).');
    expectRefused(
      () => aggregate({ create: () => 0, add: (a: number) => a } as never),
      'aggregate: {} is not an aggregator: it needs create(), add(acc, value) and result(acc) (and merge(a, b) for session and sliding windows); e.g. count(), sum((v) => v.amount).',
    );
    expectRefused(() => aggregate({ ...count(), merge: 1 } as never), "aggregate: the aggregator's merge 1 is not a function; give merge(a, b) or leave it out.");
    expectRefused(() => reduce(5 as never), 'reduce: 5 is not a function; give reduce((acc, value) => acc).');
    expectRefused(() => processWindow(5 as never), 'processWindow: 5 is not a function; give processWindow((elements, ctx) => result).');
    expectRefused(() => processWindow((els: readonly E[]) => els.length, { aggregat: count() } as never), 'processWindow: no option "aggregat" in the options — did you mean "aggregate"? The options: aggregate.');
  });
});

describe('a trigger of your own whose kind says event-time', () => {
  it('is called for every element (the operator recognises the built-in event-time trigger by identity, not by kind)', () => {
    const calls: string[] = [];
    const eager: Trigger<E> = {
      kind: 'event-time',
      canMerge: false,
      onElement: (v, ts, w) => {
        calls.push(`${v[0]}${v[1]}@${ts} [${w.start},${w.end})`);
        return 'fire';
      },
      onEventTime: () => 'continue',
      onProcessingTime: () => 'continue',
      clear: () => undefined,
    };
    const h = windowed(pipe(window<E, string>(tumblingWindows(10), { trigger: eager }), aggregate(sum((e: E) => e[1]))), [['a', 1, 1], ['a', 2, 3], ['b', 5, 12], 20]);
    expect(calls).toStrictEqual(['a1@1 [0,10)', 'a2@3 [0,10)', 'b5@12 [10,20)']);
    expect(lines(h)).toStrictEqual(['a [0,10) 1 @9', 'a [0,10) 3 @9', 'b [10,20) 5 @19', 'W 20']);
  });

  it('sliding windows folded from slices refuse an aggregator whose merge returns its second argument (a slice\'s accumulator)', () => {
    const sneaky = {
      create: () => ({ sum: 0 }),
      add: (a: { sum: number }, e: E) => ((a.sum += e[1]), a),
      result: (a: { sum: number }) => a.sum,
      merge: (a: { sum: number }, b: { sum: number }) => (a.sum === 0 ? b : ((a.sum += b.sum), a)),
    };
    const h = windowed(pipe(window<E, string>(slidingWindows(30, 10), { name: 's' }), aggregate(sneaky)), [['k', 1, 5], ['k', 10, 15], 100]);
    expect(h.error).toBeInstanceOf(ConfigurationError);
    expect((h.error as Error).message).toBe(
      "s: the aggregator's merge(a, b) returned b; sliding windows fold their slices' accumulators, which stay in state: merge may change and return a, and must neither change nor return b.",
    );
  });

  it("an aggregator whose result depends on arrival order: with orderSensitive, sliding windows and sessions give Flink's per-window (arrival order) result; without, sliding windows fold their slices in time order", () => {
    // the value that arrived first
    const first = (orderSensitive: boolean): Aggregator<E, { v: number }, number> => ({
      create: () => ({ v: -1 }),
      add: (a, e) => (a.v === -1 ? { v: e[1] } : a),
      result: (a) => a.v,
      merge: (a, b) => (a.v === -1 ? { v: b.v } : a),
      ...(orderSensitive ? { orderSensitive: true } : {}),
    });
    // 7 at t = 7 arrives before 2 at t = 2: window [0, 10) holds both (slices [0, 5) and [5, 10))
    const input: Step[] = [['k', 7, 7], ['k', 2, 2], 100];
    const sliding = (agg: Aggregator<E, { v: number }, number>, trigger?: Trigger<E>) =>
      lines(windowed(pipe(window<E, string>(slidingWindows(10, 5), trigger === undefined ? {} : { trigger }), aggregate(agg)), input));
    const general = { ...eventTimeTrigger<E>() }; // (not the built-in by identity: the general operator)
    expect(sliding(first(true))).toStrictEqual(['k [-5,5) 2 @4', 'k [0,10) 7 @9', 'k [5,15) 7 @14', 'W 100']);
    expect(sliding(first(true))).toStrictEqual(sliding(first(true), general));
    expect(sliding(first(false))).toStrictEqual(['k [-5,5) 2 @4', 'k [0,10) 2 @9', 'k [5,15) 7 @14', 'W 100']);
    const sessions = (trigger?: Trigger<E>) =>
      lines(windowed(pipe(window<E, string>(sessionWindows(10), trigger === undefined ? {} : { trigger }), aggregate(first(true))), [['k', 7, 7], ['k', 2, 2], ['k', 30, 30], 100]));
    expect(sessions()).toStrictEqual(sessions({ ...eventTimeTrigger<E>() }));
  });

  it('a result that is none of the four (Flink\'s \'FIRE\', nothing) fails the stream naming the operator, the value and the four', () => {
    for (const [result, shown] of [['FIRE', '"FIRE"'], [undefined, 'undefined']] as const) {
      const odd = {
        canMerge: false,
        onElement: () => 'continue',
        onEventTime: () => result,
        onProcessingTime: () => 'continue',
        clear: () => undefined,
      } as unknown as Trigger<E>;
      const h = windowed(pipe(window<E, string>(tumblingWindows(10), { trigger: odd, name: 'w' }), aggregate(sum((e: E) => e[1]))), [['a', 1, 1], 20]);
      expect(h.error).toBeInstanceOf(ConfigurationError);
      expect((h.error as Error).message).toBe(`w: the trigger returned ${shown}; a trigger returns 'continue', 'fire', 'purge' or 'fire-and-purge' (lower case).`);
      expect(lines(h)).toStrictEqual([]);
    }
  });
});
