import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeValue,
  encodeValue,
  InvalidKeyError,
  StateSerializationError,
  UnserializableValueError,
  valueState,
  type StateHandles,
} from '../src/index.js';
import { keyBy, process } from '../operators/index.js';
import { harness } from '../testing/index.js';
import { rigOf, stateRig } from './support/stateRig.js';
import { nullProto, Stamp, stateValue } from './support/stateValues.js';

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
      [{ list: [1, new Point(2)] }, 'an instance of Point cannot be serialized (only plain objects, arrays, Map, Set, TrackedSet, Date and primitives restore faithfully; store plain data) at .list[1]'],
      [new Uint8Array(2), 'an instance of Uint8Array cannot be serialized (only plain objects, arrays, Map, Set, TrackedSet, Date and primitives restore faithfully; store plain data) at (root)'],
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

/**
 * Exact equality, stricter than toStrictEqual: same prototype, the same own keys in the same order (holes stay holes,
 * symbol keys count), data properties with the same enumerability, Object.is for primitives (-0, NaN), Date times
 * with Object.is (an invalid Date stays invalid), Map and Set contents in order. Returns the path of the first
 * difference, or undefined.
 */
function difference(a: unknown, b: unknown, path = ''): string | undefined {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b) ? undefined : path || '(root)';
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path} (prototype)`;
  if (a instanceof Date && !Object.is(a.getTime(), (b as Date).getTime())) return `${path} (time)`;
  if (a instanceof Map || a instanceof Set) {
    const x = [...(a as Map<unknown, unknown>).entries()];
    const y = [...(b as Map<unknown, unknown>).entries()];
    if (x.length !== y.length) return `${path} (size)`;
    for (let i = 0; i < x.length; i++) {
      const d = difference((x[i] as unknown[])[0], (y[i] as unknown[])[0], `${path}<${i}>`) ?? difference((x[i] as unknown[])[1], (y[i] as unknown[])[1], `${path}<${i}>`);
      if (d !== undefined) return d;
    }
  }
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return `${path} (keys ${ka.map(String).join()} vs ${kb.map(String).join()})`;
  for (const k of ka) {
    const da = Object.getOwnPropertyDescriptor(a, k) as PropertyDescriptor;
    const db = Object.getOwnPropertyDescriptor(b, k) as PropertyDescriptor;
    if (da.enumerable !== db.enumerable || 'value' in da !== 'value' in db) return `${path}.${String(k)} (descriptor)`;
    const d = difference(da.value, db.value, `${path}.${String(k)}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

/** A value through a real checkpoint: set in a value state, snapshot, restored into a fresh operator, read back. */
function throughCheckpoint(v: unknown): unknown {
  const r = stateRig({ v: valueState<unknown>() }, 'ops');
  r.run((s) => s.v.set(v), 'user-7');
  const cp = r.h.snapshot();
  const state = { v: valueState<unknown>() };
  type Op = (s: StateHandles<typeof state>) => unknown;
  const back = rigOf(harness(process<Op, string, unknown, typeof state>({ name: 'ops', state, onElement: (op, ctx) => ctx.emit(op(ctx.state)) }), { restore: cp }));
  return back.run((s) => s.v.get(), 'user-7');
}

// eslint-disable-next-line no-sparse-arrays
const holey = [1, , 3];
const match = /(?<word>b+)/.exec('abbc') as RegExpExecArray; // an array with index, input and a null-prototype `groups`

describe('state codec: values that used to change silently (issue 12 item 3)', () => {
  const exact: [string, unknown][] = [
    ['an invalid Date', new Date(NaN)],
    ['an invalid Date in a Set in a Map', new Map([['k', new Set([new Date(NaN), new Date(5)])]])],
    ['an array with a hole', holey],
    ['an array of holes only', new Array(4)],
    ['an array with a hole at the end', Object.assign([1, 2], { length: 3 })],
    ['a holey array of numbers (the direct writer)', [1.5, , null, 2]],
    ['an array with an extra property', Object.assign([1, 2], { unit: 'ms' })],
    ['a number array with an extra property (the direct writer)', Object.assign([1, null, 3], { sum: 4 })],
    ['a RegExp match', match],
    ['a null-prototype object', nullProto({ a: 1, $b: 2, ['__proto__']: 3 })],
    ['an empty null-prototype object in an object', { dict: nullProto({}) }],
    ['null-prototype objects in a Map', new Map([[1, nullProto({ x: [, 1] })]])],
    ['-0 alone, in an array, in an object, as a Set item', [-0, { z: -0 }, new Set([-0])]],
    ['tagged items between plain ones in a Set and a Map', [new Set([1, -0, 'a', new Date(3), 2, NaN, 3n]), new Map<unknown, unknown>([[1, new Date(1)], ['x', 2], [new Date(2), 'y'], [-0, undefined], [4, 5]])]],
    ['an object with a `__proto__` key and -0', JSON.parse('{"__proto__": -0, "$d": null}') as unknown],
  ];

  it.each(exact)('round-trips exactly through the codec: %s', (_name, v) => {
    expect(difference(decodeValue(encodeValue(v)), v)).toBeUndefined();
  });

  it.each(exact)('round-trips exactly through a checkpoint: %s', (_name, v) => {
    expect(difference(throughCheckpoint(v), v)).toBeUndefined();
  });

  it('the cases the issue named, asserted directly', () => {
    expect(Number.isNaN((throughCheckpoint(new Date(NaN)) as Date).getTime())).toBe(true);
    const h = throughCheckpoint(holey) as unknown[];
    expect([h.length, 0 in h, 1 in h, 2 in h]).toStrictEqual([3, true, false, true]);
    expect(Object.getPrototypeOf(throughCheckpoint(Object.create(null)))).toBe(null);
    expect(Object.is(throughCheckpoint(-0), -0)).toBe(true);
    // a checkpoint written before this change holds an invalid Date as {"$d":null}: it restores as an invalid Date
    expect(Number.isNaN((decodeValue('{"$d":null}') as Date).getTime())).toBe(true);
  });

  class Bag extends Map<string, number> {}
  class Items extends Array<number> {}
  const plain = '(only plain objects, arrays, Map, Set, TrackedSet, Date and primitives restore faithfully; store plain data)';
  const rejected: [string, unknown, string][] = [
    ['a Date subclass', { at: new Stamp(0) }, `an instance of Stamp cannot be serialized ${plain} at .at`],
    ['a Map subclass', [new Bag()], `an instance of Bag cannot be serialized ${plain} at [0]`],
    ['an Array subclass', { list: Items.from([1, 2]) }, `an instance of Items cannot be serialized ${plain} at .list`],
    ['a Date with an own property', Object.assign(new Date(0), { tz: 'UTC' }), 'a Date with own properties (tz) cannot be serialized (they would be lost on restore); keep them beside it in a plain object at (root)'],
    ['a Set with an own property', { s: Object.assign(new Set([1]), { note: 1 }) }, 'a Set with own properties (note) cannot be serialized (they would be lost on restore); keep them beside it in a plain object at .s'],
    ['a getter', { a: 1, get total(): number { return 2; } }, 'a getter/setter property cannot be serialized (it would restore as a plain value); store the value itself at .total'],
    ['a getter on a null-prototype object', Object.defineProperty(nullProto({}), 'g', { get: () => 1, enumerable: true }), 'a getter/setter property cannot be serialized (it would restore as a plain value); store the value itself at .g'],
    ['a non-enumerable property', { o: Object.defineProperty({ a: 1 }, 'hidden', { value: 1 }) }, 'a non-enumerable property cannot be serialized (it would be lost on restore); make it enumerable or drop it at .o.hidden'],
    ['a non-enumerable property on an array', Object.defineProperty([1, 2], 'hidden', { value: 1 }), 'a non-enumerable property cannot be serialized (it would be lost on restore); make it enumerable or drop it at .hidden'],
    ['a symbol key on an array', Object.assign([1], { [Symbol('s')]: 1 }), 'an object with symbol keys cannot be serialized at (root)'],
    ['a symbol key on a null-prototype object', { d: Object.assign(nullProto({}), { [Symbol('s')]: 1 }) }, 'an object with symbol keys cannot be serialized at .d'],
    ['a boxed number', { n: Object(1) as unknown }, `an instance of Number cannot be serialized ${plain} at .n`],
  ];

  it.each(rejected)('rejects %s at the write, naming the path and the remedy', (_name, v, msg) => {
    expect(() => encodeValue(v)).toThrow(UnserializableValueError);
    expect(() => encodeValue(v)).toThrow(msg);
    // at a checkpoint: the operator, key and state name, the reason and the remedy
    const r = stateRig({ v: valueState<unknown>() }, 'ops');
    r.run((s) => s.v.set(v), 'user-7');
    expect(() => r.h.snapshot()).toThrow(StateSerializationError);
    expect(() => r.h.snapshot()).toThrow(
      `ops: state 'v' of key "user-7" cannot be serialized for a checkpoint: ${msg}. Keep state as plain data (objects, arrays, Map, Set, Date, primitives).`,
    );
  });

  it('an Array subclass is not a key (the codec could not restore it as one)', () => {
    const h = harness(keyBy((v: number[]) => v));
    h.record(Items.from([1, 2]), 0, undefined as never);
    expect(h.error).toBeInstanceOf(InvalidKeyError);
  });

  it('property: through the codec and through a checkpoint, a value comes back exactly or the write throws', () => {
    fc.assert(
      fc.property(stateValue, (v) => {
        let text: string;
        try {
          text = encodeValue(v);
        } catch (e) {
          expect(e).toBeInstanceOf(UnserializableValueError);
          const r = stateRig({ v: valueState<unknown>() }, 'ops');
          r.run((s) => s.v.set(v));
          expect(() => r.h.snapshot()).toThrow(StateSerializationError);
          return;
        }
        expect(difference(decodeValue(text), v)).toBeUndefined();
        if (v !== undefined) expect(difference(throughCheckpoint(v), v)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});
