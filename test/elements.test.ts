import { from, of, type Observable } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  active,
  barrier,
  boundedOutOfOrderness,
  ConfigurationError,
  describeValue,
  idle,
  InvalidTimestampError,
  isKey,
  isStreamElement,
  MAX_WATERMARK,
  MIN_WATERMARK,
  record,
  watermark,
  type StreamElement,
  type StreamRecord,
} from '../src/index.js';
import { eventTime, filter, flatMap, keyBy, map, values } from '../operators/index.js';
import { ckpt, rec, wm } from '../testing/index.js';

describe('element model', () => {
  it('constructors make the documented plain shapes', () => {
    expect(record('v', 5)).toStrictEqual({ kind: 'record', value: 'v', timestamp: 5, key: undefined });
    expect(record('v', 5, 'k')).toStrictEqual({ kind: 'record', value: 'v', timestamp: 5, key: 'k' });
    expect(Object.keys(record('v', 5))).toStrictEqual(['kind', 'value', 'timestamp', 'key']);
    expect(watermark(3)).toStrictEqual({ kind: 'watermark', timestamp: 3 });
    expect(barrier(7)).toStrictEqual({ kind: 'barrier', checkpointId: 7 });
    expect(idle()).toStrictEqual({ kind: 'status', idle: true });
    expect(active()).toStrictEqual({ kind: 'status', idle: false });
    expect(MIN_WATERMARK).toBe(-Infinity);
    expect(MAX_WATERMARK).toBe(Infinity);
  });

  it('watermark and barrier refuse what is no timestamp or checkpoint id (taken silently before: a string watermark was compared as a number)', () => {
    for (const [bad, shown] of [[NaN, 'NaN'], ['20', '"20"'], [undefined, 'undefined']] as const) {
      expect(() => watermark(bad as number)).toThrow(InvalidTimestampError);
      expect(() => watermark(bad as number)).toThrow(
        `watermark: timestamp ${shown} given to watermark(…) is not a number of milliseconds. Pass a number of ms, or MAX_WATERMARK (Infinity) for the end of event time.`,
      );
    }
    expect([watermark(MAX_WATERMARK).timestamp, watermark(MIN_WATERMARK).timestamp, watermark(-5).timestamp]).toStrictEqual([Infinity, -Infinity, -5]);
    for (const [bad, shown] of [[-1, '-1'], [1.5, '1.5'], ['3', '"3"']] as const) {
      expect(() => barrier(bad as number)).toThrow(ConfigurationError);
      expect(() => barrier(bad as number)).toThrow(`barrier: checkpoint id ${shown} must be an integer ≥ 0 (checkpoints are numbered 1, 2, …).`);
    }
  });

  it('testing helpers equal the constructors', () => {
    expect(rec(1, 2, 'k')).toStrictEqual(record(1, 2, 'k'));
    expect(wm(4)).toStrictEqual(watermark(4));
    expect(ckpt(9)).toStrictEqual(barrier(9));
  });

  it('isStreamElement recognises the four shapes and nothing else', () => {
    for (const e of [record(1, 1), watermark(1), idle(), barrier(1)]) expect(isStreamElement(e)).toBe(true);
    for (const v of [null, 1, 'record', { kind: 'record' }, { kind: 'watermark' }, { kind: 'other', timestamp: 1 }, { kind: 'barrier', checkpointId: '1' }]) {
      expect(isStreamElement(v)).toBe(false);
    }
  });

  it('isKey', () => {
    expect([isKey('a'), isKey(1), isKey(true), isKey(1n), isKey(['a', 1])]).toStrictEqual([true, true, true, true, true]);
    expect([isKey(NaN), isKey(undefined), isKey(null), isKey({}), isKey([[1]])]).toStrictEqual([false, false, false, false, false]);
  });

  it('describeValue renders values for error messages', () => {
    expect(describeValue('a')).toBe('"a"');
    expect(describeValue(NaN)).toBe('NaN');
    expect(describeValue(-0)).toBe('-0');
    expect(describeValue(2n)).toBe('2n');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue({ a: 1n, b: Infinity })).toBe('{"a":1n,"b":Infinity}');
    // written as in JavaScript, unquoted: a key [NaN] is not the valid key ["NaN"]; a string stays quoted
    expect(describeValue([NaN, undefined, -0, 'NaN', [-Infinity]])).toBe('[NaN,undefined,-0,"NaN",[-Infinity]]');
    const cyc: { self?: unknown } = {};
    cyc.self = cyc;
    expect(describeValue(cyc)).toBe('{"self":"[Circular]"}');
    expect(describeValue('x'.repeat(500)).length).toBe(200);
    class Point {
      constructor(readonly x: number) {}
    }
    expect(describeValue(new Point(1))).toBe('Point {"x":1}');
  });
});

describe('types flow through pipe()', () => {
  interface Click {
    user: string;
    page: string;
    at: number;
  }
  it('infers value and key types without annotations', () => {
    const clicks: Click[] = [{ user: 'ann', page: '/', at: 1 }];
    const out = from(clicks).pipe(
      eventTime((c) => c.at, boundedOutOfOrderness(10)),
      keyBy((c) => c.user),
      map((c) => c.page.length),
      filter((n) => n > 0),
      flatMap((n) => [n, n]),
    );
    expectTypeOf(out).toEqualTypeOf<Observable<StreamElement<number, string>>>();
    expectTypeOf(out.pipe(values())).toEqualTypeOf<Observable<number>>();
    const keyed = of(rec(1, 1)).pipe(keyBy((n) => [String(n), n] as const));
    expectTypeOf(keyed).toEqualTypeOf<Observable<StreamElement<number, readonly [string, number]>>>();
    const r: StreamRecord<number, string> = { kind: 'record', value: 1, timestamp: 1, key: 'k' };
    expectTypeOf(r.value).toEqualTypeOf<number>();
  });
});
