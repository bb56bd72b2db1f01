import { describe, expect, it } from 'vitest';
import { ConfigurationError, globalWindows, sessionWindows, slidingWindows, tumblingWindows, windowStart } from '../src/index.js';

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
      new ConfigurationError('sessionWindows', 0, 'sessionWindows: the dynamic gap 0 for this element must be a finite number of ms > 0.'),
    );
  });

  it('processing-time variants assign by the clock, not the timestamp', () => {
    expect(tumblingWindows(1000, { time: 'processing' }).assign(null, 99_999, 1500)).toStrictEqual([w(1000, 2000)]);
    expect(tumblingWindows(1000, { time: 'processing' }).isEventTime).toBe(false);
    expect(sessionWindows(10, { time: 'processing' }).assign(null, 5, 7)).toStrictEqual([w(7, 17)]);
  });

  it('global: one window, max timestamp MAX', () => {
    expect(globalWindows().assign(null, 5, 0)).toStrictEqual([w(-Infinity, Infinity)]);
  });

  it('rejects bad parameters with clear errors', () => {
    expect(() => tumblingWindows(0)).toThrow('tumblingWindows: size 0 must be a finite number of ms > 0.');
    expect(() => tumblingWindows(1000, { offset: 1000 })).toThrow('tumblingWindows: offset 1000 must satisfy |offset| < size (1000).');
    expect(() => slidingWindows(1000, 100, { offset: -100 })).toThrow('slidingWindows: offset -100 must satisfy |offset| < slide (100).');
    expect(() => slidingWindows(1e9, 1)).toThrow('slidingWindows: size / slide must be <= 10 000 000.');
    expect(() => sessionWindows(-5)).toThrow('sessionWindows: gap -5 must be a finite number of ms > 0.');
    expect(() => tumblingWindows(1000).assign(null, NaN, 0)).toThrow(
      'tumblingWindows: timestamp NaN of null is not a finite number of milliseconds. Window assignment needs finite timestamps: stamp records with eventTime(...) first.',
    );
  });
});
