import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipe, type OperatorFunction } from 'rxjs';
import { ConfigurationError, continuousEventTimeTrigger, count, globalWindows, sessionWindows, slidingWindows, tumblingWindows, windowStart, type StreamElement } from '../src/index.js';
import { aggregate, window } from '../operators/index.js';
import { windowFunction } from '../operators/windowFunction.js';
import { harness } from '../testing/index.js';

const w = (start: number, end: number) => ({ start, end });

describe('window assignment (docs/SEMANTICS.md §1)', () => {
  it('windowStart floors to the grid offset + k·size, negative timestamps included', () => {
    const table: [number, number, number, number][] = [
      // ts, offset, size, start
      [0, 0, 1000, 0],
      [999, 0, 1000, 0],
      [1000, 0, 1000, 1000],
      [-1, 0, 1000, -1000],
      [-1000, 0, 1000, -1000],
      [-1001, 0, 1000, -2000],
      [250, 100, 1000, 100],
      [50, 100, 1000, -900],
      [50, -100, 1000, -100],
      [950, -100, 1000, 900],
      [-50, -100, 1000, -100],
      [-150, -100, 1000, -1100],
    ];
    for (const [ts, offset, size, start] of table) expect([ts, offset, size, windowStart(ts, offset, size)]).toStrictEqual([ts, offset, size, start]);
  });

  it('windowStart keeps a fractional timestamp on the grid with an offset: one window, on both window operators', () => {
    expect(windowStart(423.28219671846125, -682, 1000)).toBe(318);
    expect(windowStart(-0.5, 7, 10)).toBe(-3);
    fc.assert(
      fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.integer({ min: -999, max: 999 }), (ts, offset) => {
        const start = windowStart(ts, offset, 1000);
        expect(Number.isInteger(start) && (start - offset) % 1000 === 0).toBe(true);
        expect(start <= ts + 1e-6 && ts < start + 1000 + 1e-6).toBe(true);
      }),
    );
    for (const choice of ['auto', 'general'] as const) {
      const h = harness(pipe(window(tumblingWindows(1000, { offset: -682 })), windowFunction({ kind: 'aggregate', aggregator: count(), name: 'aggregate' }, choice)));
      h.record('x', 423.28219671846125, 'k').record('y', 500, 'k').complete();
      expect(h.records().map((r) => [(r.value as { window: unknown }).window, (r.value as { value: unknown }).value])).toStrictEqual([[{ start: 318, end: 1318 }, 2]]);
    }
  });

  it('tumbling: one window [start, start + size), with offset (e.g. days at UTC+8 midnight)', () => {
    const t = tumblingWindows(1000);
    expect(t.assign(null, 1500, 0)).toStrictEqual([w(1000, 2000)]);
    expect(t.assign(null, -1, 0)).toStrictEqual([w(-1000, 0)]);
    const day = 86_400_000;
    const cst = tumblingWindows(day, { offset: -8 * 3_600_000 });
    // 2024-01-01T15:59:59.999Z is 23:59:59.999 at UTC+8 → the day that started 2023-12-31T16:00Z
    expect(cst.assign(null, Date.UTC(2024, 0, 1, 15, 59, 59, 999), 0)).toStrictEqual([w(Date.UTC(2023, 11, 31, 16), Date.UTC(2024, 0, 1, 16))]);
    expect(cst.assign(null, Date.UTC(2024, 0, 1, 16), 0)).toStrictEqual([w(Date.UTC(2024, 0, 1, 16), Date.UTC(2024, 0, 2, 16))]);
  });

  it('sliding: every window containing ts, descending start; size not a multiple of slide', () => {
    const s = slidingWindows(3000, 1000);
    expect(s.assign(null, 3999, 0)).toStrictEqual([w(3000, 6000), w(2000, 5000), w(1000, 4000)]);
    expect(s.assign(null, 0, 0)).toStrictEqual([w(0, 3000), w(-1000, 2000), w(-2000, 1000)]);
    expect(s.assign(null, -1, 0)).toStrictEqual([w(-1000, 2000), w(-2000, 1000), w(-3000, 0)]);
    const odd = slidingWindows(2500, 1000);
    expect(odd.assign(null, 2600, 0)).toStrictEqual([w(2000, 4500), w(1000, 3500)]);
    expect(odd.assign(null, 2400, 0)).toStrictEqual([w(2000, 4500), w(1000, 3500), w(0, 2500)]);
    const off = slidingWindows(3000, 1000, { offset: 200 });
    expect(off.assign(null, 1100, 0)).toStrictEqual([w(200, 3200), w(-800, 2200), w(-1800, 1200)]);
  });

  it('sessions: [ts, ts + gap), static and dynamic gap', () => {
    expect(sessionWindows(3000).assign(null, 10, 0)).toStrictEqual([w(10, 3010)]);
    const dyn = sessionWindows((v: { gap: number }) => v.gap);
    expect(dyn.assign({ gap: 50 }, 100, 0)).toStrictEqual([w(100, 150)]);
    expect(() => dyn.assign({ gap: 0 }, 100, 0)).toThrow(
      new ConfigurationError('sessionWindows', 0, 'sessionWindows: the dynamic gap 0 of the element {"gap":0} at 100 must be a finite number of ms > 0.'),
    );
  });

  it('processing-time variants assign by the clock, not the timestamp', () => {
    expect(tumblingWindows(1000, { time: 'processing' }).assign(null, 99_999, 1500)).toStrictEqual([w(1000, 2000)]);
    expect(tumblingWindows(1000, { time: 'processing' }).isEventTime).toBe(false);
    expect(sessionWindows(10, { time: 'processing' }).assign(null, 5, 7)).toStrictEqual([w(7, 17)]);
  });

  it('global: one window, max timestamp MAX', () => {
    expect(globalWindows().assign(null, 5, 0)).toStrictEqual([w(-Infinity, Infinity)]);
    // { time } as every assigner takes it: checked, and the same window
    expect(globalWindows({ time: 'processing' }).assign(null, 5, 0)).toStrictEqual([w(-Infinity, Infinity)]);
    expect(() => globalWindows({ time: 'wall' as 'event' })).toThrow("globalWindows: time must be 'event' or 'processing'.");
  });

  it('rejects bad parameters with clear errors', () => {
    expect(() => tumblingWindows(0)).toThrow('tumblingWindows: size 0 must be a finite number of ms > 0.');
    expect(() => tumblingWindows(1000, { offset: 1000 })).toThrow('tumblingWindows: offset 1000 must satisfy |offset| < size (1000).');
    expect(() => slidingWindows(1000, 100, { offset: -100 })).toThrow('slidingWindows: offset -100 must satisfy |offset| < slide (100).');
    expect(() => slidingWindows(1e9, 1)).toThrow('slidingWindows: size / slide must be <= 10 000 000.');
    expect(() => sessionWindows(-5)).toThrow('sessionWindows: gap -5 must be a finite number of ms > 0.');
    expect(() => tumblingWindows(1000, { offset: NaN })).toThrow('tumblingWindows: offset NaN must satisfy |offset| < size (1000).');
    expect(() => tumblingWindows(1000).assign(null, NaN, 0)).toThrow(
      'tumblingWindows: timestamp NaN of null is not a finite number of milliseconds. Window assignment needs finite timestamps: stamp records with eventTime(...) first.',
    );
  });

  // issue 12 item 4: near the ends of the range of timestamps one millisecond is the smallest step of a double, so a
  // fractional size, slide, gap, offset or interval rounds away (a hang, a dropped record, an empty window)
  const whole = (noun: string, v: number, instead: number) =>
    `is not a whole number of milliseconds: ${noun} are whole milliseconds, as timestamps are (near the ends of their range a fraction of a millisecond rounds away): use ${instead} instead of ${v}.`;
  const sizes = 'window sizes, slides and gaps';

  it('sizes, slides, gaps, offsets and trigger intervals are whole milliseconds: a ConfigurationError naming the assigner, the value and the whole number to use', () => {
    const cases: [() => unknown, string, number, string][] = [
      [() => slidingWindows(3, 0.5), 'slidingWindows', 0.5, `slidingWindows: slide 0.5 ${whole(sizes, 0.5, 1)}`],
      [() => slidingWindows(0.3, 0.1), 'slidingWindows', 0.3, `slidingWindows: size 0.3 ${whole(sizes, 0.3, 1)}`],
      [() => slidingWindows(3000, 999.5), 'slidingWindows', 999.5, `slidingWindows: slide 999.5 ${whole(sizes, 999.5, 1000)}`],
      [() => tumblingWindows(0.1), 'tumblingWindows', 0.1, `tumblingWindows: size 0.1 ${whole(sizes, 0.1, 1)}`],
      [() => tumblingWindows(1500.4, { time: 'processing' }), 'tumblingWindows', 1500.4, `tumblingWindows: size 1500.4 ${whole(sizes, 1500.4, 1500)}`],
      [() => slidingWindows(10, 2.5, { time: 'processing' }), 'slidingWindows', 2.5, `slidingWindows: slide 2.5 ${whole(sizes, 2.5, 3)}`],
      [() => sessionWindows(0.5), 'sessionWindows', 0.5, `sessionWindows: gap 0.5 ${whole(sizes, 0.5, 1)}`],
      [() => sessionWindows(0.5, { time: 'processing' }), 'sessionWindows', 0.5, `sessionWindows: gap 0.5 ${whole(sizes, 0.5, 1)}`],
      [() => tumblingWindows(1000, { offset: 0.5 }), 'tumblingWindows', 0.5, `tumblingWindows: offset 0.5 ${whole('window offsets', 0.5, 0)}`],
      [() => slidingWindows(1000, 100, { offset: -99.9 }), 'slidingWindows', -99.9, `slidingWindows: offset -99.9 ${whole('window offsets', -99.9, -99)}`],
      [() => continuousEventTimeTrigger(0.5), 'continuousEventTimeTrigger', 0.5, `continuousEventTimeTrigger: interval 0.5 ${whole('trigger intervals', 0.5, 1)}`],
      [
        () => continuousEventTimeTrigger(2e14),
        'continuousEventTimeTrigger',
        2e14,
        'continuousEventTimeTrigger: interval 200000000000000 is above MAX_WINDOW_SIZE (100000000000000 ms, about 3 170 years), beyond which firing times are no longer exact; use endOfStreamTrigger() or the window\'s own trigger for a firing at its end.',
      ],
    ];
    for (const [make, op, value, message] of cases) {
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigurationError);
      expect([(err as ConfigurationError).operator, (err as ConfigurationError).value, (err as Error).message]).toStrictEqual([op, value, message]);
    }
    // whole milliseconds stay accepted, at both ends of MAX_WINDOW_SIZE
    expect(slidingWindows(3, 1).assign(null, 8e15 + 1, 0)).toStrictEqual([w(8e15 + 1, 8e15 + 4), w(8e15, 8e15 + 3), w(8e15 - 1, 8e15 + 2)]);
    expect(continuousEventTimeTrigger(1e14).kind).toBe('continuous-event-time');
  });

  it('a dynamic gap that is not a whole number of ms fails the stream, naming sessionWindows, the gap and the element', () => {
    const dyn = sessionWindows((v: { gap: number }) => v.gap);
    const fails = (gap: number, ts: number) => {
      const h = harness(pipe(window(dyn), aggregate(count())) as OperatorFunction<StreamElement<{ gap: number }, string>, StreamElement<unknown, string>>);
      h.record({ gap: 10 }, ts - 100, 'k').record({ gap }, ts, 'k');
      return [h.error instanceof ConfigurationError, (h.error as ConfigurationError).operator, (h.error as ConfigurationError).value, (h.error as Error).message, h.records()];
    };
    expect(fails(0.5, 8e15)).toStrictEqual([true, 'sessionWindows', 0.5, `sessionWindows: the dynamic gap 0.5 of the element {"gap":0.5} at 8000000000000000 ${whole(sizes, 0.5, 1)}`, []]);
    expect(fails(2e14, 0)).toStrictEqual([
      true,
      'sessionWindows',
      2e14,
      'sessionWindows: the dynamic gap 200000000000000 of the element {"gap":200000000000000} at 0 is above MAX_WINDOW_SIZE (100000000000000 ms, about 3 170 years), beyond which window ends are no longer exact; use globalWindows() with a trigger for unbounded windows.',
      [],
    ]);
    expect(fails(-1, 5)).toStrictEqual([true, 'sessionWindows', -1, 'sessionWindows: the dynamic gap -1 of the element {"gap":-1} at 5 must be a finite number of ms > 0.', []]);
    expect(dyn.assign({ gap: 3 }, 8e15 + 1, 0)).toStrictEqual([w(8e15 + 1, 8e15 + 4)]);
  });
});
