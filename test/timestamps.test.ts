import fc from 'fast-check';
import { pipe, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  boundedOutOfOrderness,
  ConfigurationError,
  count,
  eventTimeTrigger,
  InvalidTimestampError,
  MAX_TIMESTAMP,
  MAX_WATERMARK,
  MAX_WINDOW_SIZE,
  MIN_TIMESTAMP,
  monotonousTimestamps,
  punctuated,
  purging,
  record,
  sessionWindows,
  slidingWindows,
  tumblingWindows,
  type StreamElement,
  type WindowAssigner,
  type WindowResult,
} from '../src/index.js';
import { aggregate, eventTime, ingestionTime, keyBy, process, reduce, window } from '../operators/index.js';
import { harness } from '../testing/index.js';

const range = 'Timestamps are milliseconds since the epoch within ±8640000000000000 (-8640000000000000 … 8640000000000000); convert or drop such values before they enter the stream.';
const outside = 'is outside the range of timestamps (±8.64e15 ms, the range of Date).';
const ns = 'Nanoseconds? Divide by 1e6 (a nanosecond epoch of today is about 1.7e18). ';
const us = 'Microseconds? Divide by 1e3 (nanoseconds: by 1e6). ';
// inside operators (assigners, emit, timers) the bound leaves room for window ends past MAX_TIMESTAMP
const opRange = 'Timestamps are milliseconds since the epoch within ±8907199254740991 (±MAX_TIMESTAMP and room for window ends); convert or drop such values before they enter the stream.';
const opOutside = 'is outside the range in which tidewater computes exactly.';

describe('timestamps: where they enter (issue 12 item 4)', () => {
  it('record() refuses a timestamp beyond the range or NaN, and accepts the ends of the range and MAX_WATERMARK', () => {
    expect(() => record('x', 1.7e18)).toThrow(InvalidTimestampError);
    expect(() => record('x', 1.7e18)).toThrow(`record: timestamp 1700000000000000000 of "x" ${outside} ${ns}${range}`);
    expect(() => record('x', MAX_TIMESTAMP + 1)).toThrow(`record: timestamp 8640000000000001 of "x" ${outside} ${us}${range}`);
    expect(() => record('x', -1e300)).toThrow(`record: timestamp -1e+300 of "x" ${outside} ${range}`);
    expect(() => record('x', NaN)).toThrow('record: timestamp NaN of "x" is not a finite number of milliseconds. Pass a finite number of ms (or MAX_WATERMARK).');
    expect(record('x', MAX_TIMESTAMP).timestamp).toBe(8.64e15);
    expect(record('x', MIN_TIMESTAMP).timestamp).toBe(-8.64e15);
    expect(record('x', MAX_WATERMARK).timestamp).toBe(Infinity);
  });

  it('eventTime accepts ±MAX_TIMESTAMP and refuses one millisecond beyond', () => {
    const h = harness(eventTime((v: number) => v, boundedOutOfOrderness(0, { interval: 0 })));
    h.record(MIN_TIMESTAMP, 0, undefined).record(MAX_TIMESTAMP, 0, undefined);
    expect(h.error).toBeUndefined();
    h.record(MAX_TIMESTAMP + 1, 0, undefined);
    expect(h.error).toBeInstanceOf(InvalidTimestampError);
    expect((h.error as Error).message).toBe(`eventTime: timestamp 8640000000000001 of 8640000000000001 ${outside} ${us}${range}`);
  });

  it('ingestionTime refuses a scheduler clock beyond the range (a clock in nanoseconds)', () => {
    const clock = { now: () => 1.7e18, schedule: () => ({ unsubscribe() {} }) } as unknown as SchedulerLike;
    const h = harness(ingestionTime(monotonousTimestamps({ scheduler: clock })));
    h.record('a', 0, undefined);
    expect(h.error).toBeInstanceOf(InvalidTimestampError);
    expect((h.error as Error).message).toBe(`ingestionTime: timestamp 1700000000000000000 of "a" ${outside} ${ns}${range}`);
  });

  it('a punctuated watermark beyond the range is refused; MAX_WATERMARK is not', () => {
    const h = harness(eventTime((v: { t: number; w: number }) => v.t, punctuated((v) => v.w)));
    h.record({ t: 1, w: MAX_WATERMARK }, 0, undefined);
    expect(h.error).toBeUndefined();
    const h2 = harness(eventTime((v: { t: number; w: number }) => v.t, punctuated((v) => v.w)));
    h2.record({ t: 1, w: 1e19 }, 0, undefined);
    expect(h2.error).toBeInstanceOf(InvalidTimestampError);
    expect((h2.error as Error).message).toBe(`eventTime(punctuated): timestamp 10000000000000000000 of {"t":1,"w":10000000000000000000} ${outside} ${ns}${range}`);
  });

  it('process: emit and timers refuse a timestamp beyond the range; timers still take MAX_WATERMARK', () => {
    const run = (f: (ctx: { emit(v: number, ts?: number): void; timers: { registerEventTime(t: number): void; registerProcessingTime(t: number): void } }) => void) => {
      const h = harness(process<number, string, number>({ onElement: (_v, ctx) => f(ctx) }));
      h.record(1, 1, 'a');
      return h;
    };
    expect(run((ctx) => ctx.timers.registerEventTime(MAX_WATERMARK)).error).toBeUndefined();
    for (const [f, what, ts, hint] of [
      [(ctx) => ctx.emit(1, 1e19), 'emit', '10000000000000000000', ns],
      [(ctx) => ctx.timers.registerEventTime(1.7e18), 'registerEventTime', '1700000000000000000', ns],
      [(ctx) => ctx.timers.registerProcessingTime(-2e16), 'registerProcessingTime', '-20000000000000000', us],
    ] as [Parameters<typeof run>[0], string, string, string][]) {
      const h = run(f);
      expect(h.error).toBeInstanceOf(InvalidTimestampError);
      expect((h.error as Error).message).toBe(`process#0: timestamp ${ts} given to ${what}(…) ${opOutside} ${hint}${opRange}`);
    }
  });

  it('window sizes, slides and gaps are at most MAX_WINDOW_SIZE (window ends stay exact)', () => {
    const msg = (op: string, name: string) =>
      `${op}: ${name} 200000000000000 is above MAX_WINDOW_SIZE (100000000000000 ms, about 3 170 years), beyond which window ends are no longer exact; use globalWindows() with a trigger for unbounded windows.`;
    expect(() => tumblingWindows(2e14)).toThrow(ConfigurationError);
    expect(() => tumblingWindows(2e14)).toThrow(msg('tumblingWindows', 'size'));
    expect(() => slidingWindows(2e14, 1e14)).toThrow(msg('slidingWindows', 'size'));
    expect(() => sessionWindows(2e14)).toThrow(msg('sessionWindows', 'gap'));
    expect(() => sessionWindows(() => 2e14).assign(0, 0, 0)).toThrow(msg('sessionWindows', 'the dynamic gap').replace('200000000000000', '200000000000000 of the element 0 at 0'));
    expect(tumblingWindows(MAX_WINDOW_SIZE).assign(0, MAX_TIMESTAMP, 0)).toStrictEqual([{ start: 8.6e15, end: 8.7e15 }]);
  });
});

// ---- exact windows at the ends of the range: a BigInt oracle ---------------------------------------------------------

const floorDiv = (a: bigint, b: bigint): bigint => (a % b < 0n ? a / b - 1n : a / b);

/** The windows of ts, computed in BigInt: [start, end) pairs, as the assigner's order. */
function oracle(kind: 'tumbling' | 'sliding' | 'session', ts: number, size: number, slide: number, offset: number): [bigint, bigint][] {
  const t = BigInt(ts);
  const [z, sl, o] = [BigInt(size), BigInt(slide), BigInt(offset)];
  if (kind === 'session') return [[t, t + z]];
  const last = floorDiv(t - o, sl) * sl + o;
  const out: [bigint, bigint][] = [];
  for (let st = last; st > t - z; st -= sl) out.push([st, st + z]);
  return out;
}

function assignerOf(kind: 'tumbling' | 'sliding' | 'session', size: number, slide: number, offset: number, dynamic = false): WindowAssigner<unknown> {
  if (kind === 'tumbling') return tumblingWindows(size, { offset });
  if (kind === 'sliding') return slidingWindows(size, slide, { offset });
  // a dynamic gap is checked per element (docs/SEMANTICS.md §2.8), with the same windows as a fixed one
  return dynamic ? sessionWindows(() => size) : sessionWindows(size);
}

/** The key of a timestamp in these tests: one per end of the range (a key's panes span its timestamps). */
const keyOf = (ts: number): string => (ts > 1e15 ? 'hi' : ts < -1e15 ? 'lo' : 'mid');

/** What the window operator emits for records at `tss` (count per key and window), then MAX_WATERMARK. */
function operatorWindows(a: WindowAssigner<unknown>, tss: readonly number[], general: boolean): string[] {
  const op = general
    ? pipe(window<number, string>(a as WindowAssigner<number>, { trigger: purging(eventTimeTrigger()) }), reduce<number, string>((x, y) => x + y))
    : pipe(window<number, string>(a as WindowAssigner<number>), aggregate(count()));
  const h = harness(op as OperatorFunction<StreamElement<number, string>, StreamElement<WindowResult<string, number>, string>>);
  for (const ts of tss) h.record(1, ts, keyOf(ts));
  h.watermark(MAX_WATERMARK);
  expect(h.error).toBeUndefined();
  return h
    .records()
    .map((r) => `${r.key} [${r.value.window.start},${r.value.window.end}) ${r.value.value} @${r.timestamp}`)
    .sort();
}

/** The same, from the oracle: per key, windows with their counts (sessions merged), emitted at end - 1. */
function oracleWindows(kind: 'tumbling' | 'sliding' | 'session', tss: readonly number[], size: number, slide: number, offset: number): string[] {
  return ['lo', 'mid', 'hi'].flatMap((k) => oracleKeyWindows(k, kind, tss.filter((ts) => keyOf(ts) === k), size, slide, offset)).sort();
}

function oracleKeyWindows(key: string, kind: 'tumbling' | 'sliding' | 'session', tss: readonly number[], size: number, slide: number, offset: number): string[] {
  const counts = new Map<string, [bigint, bigint, number]>();
  if (kind === 'session') {
    const sorted = [...tss].map(BigInt).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    let cur: [bigint, bigint, number] | undefined;
    for (const t of sorted) {
      if (cur !== undefined && t <= cur[1]) {
        cur[1] = t + BigInt(size) > cur[1] ? t + BigInt(size) : cur[1];
        cur[2]++;
      } else {
        cur = [t, t + BigInt(size), 1];
        counts.set(String(t), cur);
      }
    }
  } else {
    for (const ts of tss) {
      for (const [s, e] of oracle(kind, ts, size, slide, offset)) {
        const c = counts.get(`${s}`) ?? [s, e, 0];
        c[2]++;
        counts.set(`${s}`, c);
      }
    }
  }
  return [...counts.values()].map(([s, e, c]) => `${key} [${s},${e}) ${c} @${e - 1n}`);
}

const SIZES = [1, 7, 10, 1_000, 60_000, 3_600_000, 86_400_000];
const nearEnds = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000 }).map((d) => MAX_TIMESTAMP - d),
  fc.integer({ min: 0, max: 1_000_000 }).map((d) => MIN_TIMESTAMP + d),
  fc.integer({ min: -100_000, max: 100_000 }),
);
// whole milliseconds only (docs/SEMANTICS.md §2.8): the usual sizes, and any from 1 ms to MAX_WINDOW_SIZE
const sizeOf = fc.oneof(fc.constantFrom(...SIZES), fc.integer({ min: 1, max: MAX_WINDOW_SIZE }));
const shape = fc
  .tuple(fc.constantFrom<'tumbling' | 'sliding' | 'session'>('tumbling', 'sliding', 'session'), sizeOf, fc.integer({ min: 1, max: 10 }), fc.double({ min: -0.999, max: 0.999, noNaN: true }), fc.boolean())
  .map(([kind, size, div, frac, dynamic]) => {
    // sliding: a slide that divides the size or not (both paths' grids), at most 10 windows per element
    const slide = kind === 'sliding' ? Math.max(1, Math.floor(size / div)) : size;
    return { kind, size, slide, offset: kind === 'session' ? 0 : Math.trunc(frac * slide), dynamic };
  });

describe('timestamps: exact windows up to ±MAX_TIMESTAMP (BigInt oracle)', () => {
  it('the ends of the range, every size from 1 ms to 1 day, tumbling, sliding and sessions, through both paths', () => {
    for (const size of SIZES) {
      for (const kind of ['tumbling', 'sliding', 'session'] as const) {
        const slide = kind === 'sliding' ? Math.max(1, Math.floor(size / 5)) : size;
        for (const offset of kind === 'session' ? [0] : [0, slide - 1, -(slide - 1)]) {
          const tss = [MIN_TIMESTAMP, MIN_TIMESTAMP + 1, MIN_TIMESTAMP + size, -1, 0, MAX_TIMESTAMP - size, MAX_TIMESTAMP - 1, MAX_TIMESTAMP];
          const a = assignerOf(kind, size, slide, offset);
          for (const ts of tss) {
            expect(a.assign(0, ts, 0).map((w) => [BigInt(w.start), BigInt(w.end)])).toStrictEqual(oracle(kind, ts, size, slide, offset));
          }
          const want = oracleWindows(kind, tss, size, slide, offset);
          expect(operatorWindows(a, tss, false)).toStrictEqual(want);
          expect(operatorWindows(a, tss, true)).toStrictEqual(want);
        }
      }
    }
  });

  it('property: timestamps near the ends of the range get exactly the oracle windows', () => {
    fc.assert(
      fc.property(shape, fc.array(nearEnds, { minLength: 1, maxLength: 8 }), ({ kind, size, slide, offset, dynamic }, tss) => {
        const a = assignerOf(kind, size, slide, offset, dynamic);
        for (const ts of tss) expect(a.assign(0, ts, 0).map((w) => [BigInt(w.start), BigInt(w.end)])).toStrictEqual(oracle(kind, ts, size, slide, offset));
        const want = oracleWindows(kind, tss, size, slide, offset);
        expect(operatorWindows(a, tss, false)).toStrictEqual(want);
        expect(operatorWindows(a, tss, true)).toStrictEqual(want);
      }),
      { numRuns: 150 },
    );
  });

  it('property: a size, slide, gap or offset with a fraction of a millisecond is refused at construction, naming the whole number to use', () => {
    const fraction = fc.double({ min: 0, max: MAX_WINDOW_SIZE, noNaN: true }).filter((x) => x > 0 && !Number.isInteger(x));
    const make: Record<string, (x: number) => unknown> = {
      'tumblingWindows size': (x) => tumblingWindows(x),
      'slidingWindows size': (x) => slidingWindows(x, Math.max(1, Math.ceil(x / 10))),
      'slidingWindows slide': (x) => slidingWindows(Math.ceil(x), x),
      'sessionWindows gap': (x) => sessionWindows(x, { time: 'processing' }),
      'tumblingWindows offset': (x) => tumblingWindows(MAX_WINDOW_SIZE, { offset: -x }),
    };
    fc.assert(
      fc.property(fraction, fc.constantFrom(...Object.keys(make)), (x, what) => {
        const [op, name] = what.split(' ') as [string, string];
        const v = name === 'offset' ? -x : x;
        const noun = name === 'offset' ? 'window offsets' : 'window sizes, slides and gaps';
        const instead = name === 'offset' ? Math.trunc(v) : Math.max(1, Math.round(v));
        expect(() => (make[what] as (x: number) => unknown)(x)).toThrow(
          new ConfigurationError(
            op,
            v,
            `${op}: ${name} ${String(v)} is not a whole number of milliseconds: ${noun} are whole milliseconds, as timestamps are (near the ends of their range a fraction of a millisecond rounds away): use ${String(instead)} instead of ${String(v)}.`,
          ),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('property: a timestamp beyond the range is refused by eventTime, never windowed', () => {
    const beyond = fc.oneof(
      fc.double({ min: MAX_TIMESTAMP, max: 1e308, noNaN: true }).filter((x) => x > MAX_TIMESTAMP),
      fc.double({ min: -1e308, max: MIN_TIMESTAMP, noNaN: true }).filter((x) => x < MIN_TIMESTAMP),
      fc.integer({ min: 1, max: 1_000_000 }).map((d) => MAX_TIMESTAMP + d),
    );
    fc.assert(
      fc.property(beyond, shape, (ts, { kind, size, slide, offset }) => {
        const h = harness(
          pipe(
            eventTime((v: number) => v, boundedOutOfOrderness(0, { interval: 0 })),
            keyBy(() => 'k'),
            window(assignerOf(kind, size, slide, offset)),
            aggregate(count()),
          ) as unknown as OperatorFunction<StreamElement<number, undefined>, StreamElement<unknown, undefined>>,
        );
        h.record(0, 0, undefined).record(ts, 0, undefined);
        expect(h.error).toBeInstanceOf(InvalidTimestampError);
        expect((h.error as Error).message).toContain(`eventTime: timestamp ${String(ts)} of ${String(ts)} ${outside}`);
        expect(h.records()).toStrictEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
