import { of, pipe, type Observable, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  boundedOutOfOrderness,
  collect,
  ConfigurationError,
  count,
  countTrigger,
  InvalidKeyError,
  MAX_WATERMARK,
  max,
  mean,
  min,
  purging,
  sessionWindows,
  slidingWindows,
  sum,
  TidewaterError,
  topN,
  tumblingWindows,
  UserFunctionError,
  type Aggregator,
  type StreamElement,
  type Trigger,
  type WindowResult,
} from '../src/index.js';
import { aggregate, eventTime, keyBy, processWindow, reduce, values, window } from '../operators/index.js';
import { harness, rec, wm } from '../testing/index.js';
import { marbles } from './support/marbles.js';
import { feed, lines, sumE, windowed, type E } from './support/windows.js';

function fold<T, A, R>(agg: Aggregator<T, A, R>, xs: T[]): R {
  return agg.result(xs.reduce((a, x) => agg.add(a, x), agg.create()));
}

describe('built-in aggregators', () => {
  it('count, sum, min, max, mean, collect, topN: add / result / merge', () => {
    expect(fold(count(), ['a', 'b'])).toBe(2);
    expect(fold(sum(), [1, 2, 3.5])).toBe(6.5);
    expect(fold(sum((o: { amount: number }) => o.amount), [{ amount: 2 }, { amount: 3 }])).toBe(5);
    expect(fold(min(), [3, -1, 2])).toBe(-1);
    expect(fold(max((x: { v: number }) => x.v), [{ v: 3 }, { v: 9 }])).toBe(9);
    expect(fold(mean(), [1, 2, 6])).toBe(3);
    expect(fold(collect<string>(), ['x', 'y'])).toStrictEqual(['x', 'y']);
    expect(fold(topN(2, (x: { s: number; id: string }) => x.s), [{ s: 1, id: 'a' }, { s: 5, id: 'b' }, { s: 5, id: 'c' }, { s: 3, id: 'd' }])).toStrictEqual([
      { s: 5, id: 'b' },
      { s: 5, id: 'c' },
    ]);
    const m = mean();
    expect(m.result(m.merge?.(m.add(m.create(), 1), m.add(m.add(m.create(), 2), 3)) ?? m.create())).toBe(2);
    const t = topN(3, (x: number) => x);
    expect(t.result(t.merge?.([{ v: 9, s: 9 }, { v: 1, s: 1 }], [{ v: 5, s: 5 }, { v: 4, s: 4 }]) ?? [])).toStrictEqual([9, 5, 4]);
    expect(collect<number>().merge?.([1], [2, 3])).toStrictEqual([1, 2, 3]);
  });

  it("an aggregator made from collect() with an add of its own runs that add on every window operator, restored or not", () => {
    // (from a review: collect()'s mark that its add only appends was copied by the spread, and the operators pushed
    // the elements themselves)
    const evensAdd = (a: number[], v: number): number[] => (v % 2 === 0 ? (a.push(v), a) : a);
    const replaced = collect<number>();
    replaced.add = evensAdd;
    // spread from collect(), made with it as prototype, its add replaced: all with an add of their own
    const made: Aggregator<number, number[], number[]>[] = [{ ...collect<number>(), add: evensAdd }, Object.assign(Object.create(collect<number>()) as Aggregator<number, number[], number[]>, { add: evensAdd }), replaced];
    const assigners = [
      { name: 'sessions', w: () => window<number, string>(sessionWindows(100)) },
      { name: 'count trigger', w: () => window<number, string>(tumblingWindows(1_000), { trigger: countTrigger(9) }) },
      { name: 'slicing', w: () => window<number, string>(tumblingWindows(1_000)) },
    ];
    for (const [a, evens] of made.entries()) for (const { name, w } of assigners) {
      for (const cut of [0, 4]) {
        let h = harness(pipe(w(), aggregate(evens)));
        for (let v = 1; v <= 9; v++) {
          h.record(v, v, 'k');
          if (v === cut) h = h.restore(h.snapshot());
        }
        h.watermark(MAX_WATERMARK);
        expect([a, name, cut, h.records().map((r) => (r.value as WindowResult<string, number[]>).value)]).toStrictEqual([a, name, cut, [[2, 4, 6, 8]]]);
      }
    }
  });

  it('a non-number fails with an error naming the aggregator and the value', () => {
    expect(() => fold(sum(), ['7' as unknown as number])).toThrow(
      new TidewaterError('sum', '7', 'sum: value "7" of "7" is not a number. Pass an extractor returning a number, e.g. sum((v) => v.amount).'),
    );
    expect(() => fold(mean((o: { x?: number }) => o.x as number), [{}])).toThrow('mean: extracted value undefined of {} is not a number.');
    expect(() => topN(0, (x: number) => x)).toThrow('topN: n 0 must be an integer >= 1.');
  });
});

describe('window functions', () => {
  const input: [string, number, number][] = [
    ['a', 1, 10],
    ['a', 2, 20],
    ['b', 5, 30],
  ];

  it('processWindow: one result, an array (one per item), or undefined (nothing); ctx has key, window, watermark, clock', () => {
    const h = harness(
      pipe(
        window<E, string>(tumblingWindows(100)),
        processWindow((els: readonly E[], ctx) => {
          if (ctx.key === 'b') return undefined;
          return [`n=${els.length}`, `${ctx.key} ${ctx.window.start}-${ctx.window.end} wm=${ctx.currentWatermark} pt=${ctx.currentProcessingTime}`];
        }),
      ),
      { processingTime: 42 },
    );
    feed(h, [...input, 150]);
    expect(lines(h)).toStrictEqual(['a [0,100) "n=2" @99', 'a [0,100) "a 0-100 wm=150 pt=42" @99', 'W 150']);
  });

  it('processWindow with { aggregate }: the window keeps the accumulator, the function sees [result]', () => {
    const h = windowed(
      pipe(
        window<E, string>(tumblingWindows(100)),
        processWindow((r: readonly number[], ctx) => `${ctx.key}: ${r.length} value(s), mean ${r[0]}`, { aggregate: mean((e: E) => e[1]) }),
      ),
      [...input, 150],
    );
    expect(lines(h)).toStrictEqual(['a [0,100) "a: 1 value(s), mean 1.5" @99', 'b [0,100) "b: 1 value(s), mean 5" @99', 'W 150']);
    expect(h.state('a', 'contents', { namespace: 0 })).toBe(undefined);
  });

  it('reduce keeps the existing value first (reduce(acc, value))', () => {
    const h = windowed(pipe(window<E, string>(tumblingWindows(100)), reduce((acc: E, v: E): E => [`${acc[0]}<${v[1]}`, acc[1]])), [...input, 150]);
    expect(lines(h)).toStrictEqual(['a [0,100) ["a<2",1] @99', 'b [0,100) ["b",5] @99', 'W 150']);
  });

  it('aggregate with sessions merges accumulators with merge()', () => {
    const h = windowed(pipe(window<E, string>(sessionWindows(10)), aggregate(mean((e: E) => e[1]))), [['k', 1, 0], ['k', 3, 20], ['k', 5, 10], 100]);
    expect(lines(h)).toStrictEqual(['k [0,30) 3 @29', 'W 100']);
  });

  it('a throwing window function fails with UserFunctionError naming the window operator', () => {
    const h = windowed(
      pipe(
        window<E, string>(tumblingWindows(100), { name: 'w' }),
        reduce((): E => {
          throw new Error('bad reduce');
        }),
      ),
      [['a', 1, 1], ['a', 2, 2]],
    );
    expect(h.error).toBeInstanceOf(UserFunctionError);
    expect((h.error as Error).message).toBe('w: user function threw on record value ["a",2] @ 2 key "a": bad reduce');
  });
});

describe('misuse is a clear error', () => {
  const err = (obs: Observable<unknown>): unknown => {
    let e: unknown;
    obs.subscribe({ error: (x: unknown) => (e = x) });
    return e;
  };
  const src = of<StreamElement<E, string>>(rec(['a', 1], 1, 'a'));

  it('a window function not right after window(...), or window(...) not followed by one', () => {
    expect(err(src.pipe(reduce(sumE) as never))).toStrictEqual(
      new ConfigurationError('reduce', undefined, 'reduce(...) must directly follow window(...): keyBy(...), window(assigner), reduce(...).'),
    );
    expect(err(src.pipe(window(tumblingWindows(10))))).toStrictEqual(
      new ConfigurationError('window', undefined, 'window(...) must be followed directly by reduce(...), aggregate(...) or processWindow(...).'),
    );
  });

  it('an unkeyed stream', () => {
    const e = err(of(rec(['a', 1] as E, 1)).pipe(window(tumblingWindows(10)), aggregate(count())));
    expect(e).toBeInstanceOf(InvalidKeyError);
    expect((e as Error).message).toBe('window: key undefined of ["a",1] is not a valid key. The stream is not keyed: put keyBy(...) before window.');
  });

  it('sessions need mergeable aggregators and triggers; lateness must be >= 0', () => {
    const noMerge: Aggregator<E, number, number> = { create: () => 0, add: (a) => a + 1, result: (a) => a };
    expect((err(src.pipe(window(sessionWindows(10)), aggregate(noMerge))) as Error).message).toBe('window: session windows merge, so the aggregator needs merge(a, b).');
    const noMergeTrigger: Trigger<E> = { canMerge: false, onElement: () => 'fire', onEventTime: () => 'continue', onProcessingTime: () => 'continue', clear: () => {} };
    expect((err(src.pipe(window(sessionWindows(10), { trigger: noMergeTrigger }), aggregate(count()))) as Error).message).toBe(
      'window: the trigger cannot merge windows, so it cannot be used with session windows.',
    );
    // (it says it can merge, but has no onMerge: merged windows lost the counts kept for the windows merged away)
    const noOnMerge: Trigger<E> = { ...noMergeTrigger, canMerge: true };
    expect((err(src.pipe(window(sessionWindows(10), { trigger: noOnMerge }), aggregate(count()))) as Error).message).toBe(
      "window: the trigger says canMerge but has no onMerge(window, ctx); session windows merge, and a merged window needs the trigger's timers and state set up again there (e.g. register its timer, merge its state with ctx.mergeState(name)). Give it onMerge.",
    );
    expect(err(src.pipe(window(sessionWindows(10), { trigger: purging({ ...noOnMerge }) }), aggregate(count())))).toBeInstanceOf(ConfigurationError);
    expect((err(src.pipe(window(tumblingWindows(10), { allowedLateness: -1 }), aggregate(count()))) as Error).message).toBe(
      'window: allowedLateness -1 must be a number of ms >= 0.',
    );
    // a string is quoted (it read as the number)
    expect((err(src.pipe(window(tumblingWindows(10), { allowedLateness: '5' as unknown as number }), aggregate(count()))) as Error).message).toBe(
      'window: allowedLateness "5" must be a number of ms >= 0.',
    );
    expect(() => countTrigger('2' as unknown as number)).toThrow('countTrigger: n "2" must be an integer >= 1.');
    expect(() => countTrigger(0)).toThrow('countTrigger: n 0 must be an integer >= 1.');
  });
});

describe('state hygiene', () => {
  it('a long stream keeps a flat amount of state: windows are gone after their cleanup time', () => {
    const peaks: number[] = [];
    type Op = OperatorFunction<StreamElement<E, string>, StreamElement<unknown, string>>;
    const ops: Op[] = [
      pipe(window<E, string>(tumblingWindows(100), { allowedLateness: 50 }), aggregate(count())),
      pipe(window<E, string>(slidingWindows(100, 20)), aggregate(sum((e: E) => e[1]))),
      pipe(window<E, string>(sessionWindows(30)), reduce(sumE)),
      pipe(window<E, string>(tumblingWindows(100), { trigger: countTrigger(3) }), aggregate(count())),
    ];
    for (const op of ops) {
      const h = harness(op);
      let peak = 0;
      for (let t = 0; t < 20_000; t += 7) {
        h.record([`k${t % 13}`, 1], t, `k${t % 13}`);
        if (t % 70 === 0) {
          h.watermark(t - 10);
          peak = Math.max(peak, h.operators[0]?.stateEntries ?? 0);
          h.takeOutput();
        }
      }
      h.watermark(MAX_WATERMARK);
      peaks.push(peak);
      expect(h.operators[0]?.stateEntries).toBe(0);
      expect(h.keys()).toStrictEqual([]);
    }
    // bounded by keys × windows alive, independent of the stream length (≈ 2 860 records per key here)
    for (const p of peaks) expect(p).toBeLessThan(200);
  });
});

describe('marble test of a windowed pipeline', () => {
  it(
    'eventTime → keyBy → tumbling window → count',
    marbles((m) => {
      const input = m.cold('a 99ms b 99ms c 199ms d 99ms |', {
        a: { page: '/', at: 1_000 },
        b: { page: '/cart', at: 1_500 },
        c: { page: '/', at: 2_100 },
        d: { page: '/', at: 4_000 },
      });
      const out = input.pipe(
        eventTime((c) => c.at, boundedOutOfOrderness(0, { interval: 0 })),
        keyBy((c) => c.page),
        window(tumblingWindows(1_000)),
        aggregate(count()),
      );
      const r = (key: string, start: number, value: number) => rec<WindowResult<string, number>, string>({ key, window: { start, end: start + 1_000 }, value }, start + 999, key);
      m.expect(out).toBeObservable('w 99ms x 99ms (ghy) 195ms (iz) 96ms (jM|)', {
        w: wm(999),
        x: wm(1_499),
        g: r('/', 1_000, 1),
        y: wm(2_099),
        h: r('/cart', 1_000, 1),
        z: wm(3_999),
        i: r('/', 2_000, 1),
        j: r('/', 4_000, 1),
        M: wm(MAX_WATERMARK),
      });
    }),
  );

  it('values() after a window gives plain WindowResults', () => {
    const got: WindowResult<string, number>[] = [];
    of(rec({ u: 'a' }, 5), rec({ u: 'a' }, 7))
      .pipe(keyBy((v: { u: string }) => v.u), window(tumblingWindows(10)), aggregate(count()), values())
      .subscribe((v) => got.push(v));
    expect(got).toStrictEqual([{ key: 'a', window: { start: 0, end: 10 }, value: 2 }]);
  });
});
