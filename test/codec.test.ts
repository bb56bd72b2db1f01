import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue, UnserializableValueError } from '../src/index.js';

describe('state codec', () => {
  it('round-trips what JSON cannot say', () => {
    const v = {
      u: undefined,
      n: [NaN, Infinity, -Infinity, -0, 1.5],
      b: 123456789012345678901234567890n,
      d: new Date(86_400_000),
      m: new Map<unknown, unknown>([['a', 1], [2n, new Set([1, 'x'])]]),
      $dollar: { $b: 'not a tag' },
      nested: [[{ a: null }]],
    };
    const back = decodeValue(encodeValue(v));
    expect(back).toStrictEqual(v);
    expect(Object.is((back as { n: number[] }).n[3], -0)).toBe(true);
  });

  it('encodes plain data as plain JSON', () => {
    expect(encodeValue({ a: [1, 'x', true, null] })).toBe('{"a":[1,"x",true,null]}');
  });

  it('rejects what would not restore faithfully, naming the path', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const cases: [unknown, string][] = [
      [{ f: () => 1 }, 'a function cannot be serialized at .f'],
      [{ s: Symbol('x') }, 'a symbol cannot be serialized at .s'],
      [{ list: [1, new Point(2)] }, 'an instance of Point cannot be serialized (only plain objects, arrays, Map, Set, Date and primitives restore faithfully; store plain data) at .list[1]'],
      [new Uint8Array(2), 'an instance of Uint8Array cannot be serialized (only plain objects, arrays, Map, Set, Date and primitives restore faithfully; store plain data) at (root)'],
    ];
    for (const [v, msg] of cases) {
      expect(() => encodeValue(v)).toThrow(UnserializableValueError);
      expect(() => encodeValue(v)).toThrow(msg);
    }
    const cyc: { self?: unknown } = {};
    cyc.self = cyc;
    expect(() => encodeValue(cyc)).toThrow('a circular reference cannot be serialized at .self');
    const shared = { x: 1 };
    expect(decodeValue(encodeValue([shared, shared]))).toStrictEqual([{ x: 1 }, { x: 1 }]);
  });

  it('property: decode(encode(v)) equals v for arbitrary plain data', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.bigInt(), fc.double(), (j, b, d) => {
        const v = { j, b, d, list: [j, b, d] };
        expect(decodeValue(encodeValue(v))).toStrictEqual(v);
      }),
      { numRuns: 200 },
    );
  });
});
