import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeValue, keyGroupOf, type Key } from '../src/index.js';
import { checkedKeyIdOf, keyGroupOfId, keyIdOf, keyOfId } from '../src/keys/keyId.js';

const part = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.bigInt(),
  fc.constantFrom(-0, Infinity, -Infinity, '$d', '\u0000x'),
);

describe('key ids of composite keys', () => {
  it('are the codec encoding of the plain array of parts (-0 as 0), and map back to equal parts', () => {
    fc.assert(
      fc.property(fc.array(part, { maxLength: 5 }), (parts) => {
        const id = keyIdOf(parts as Key);
        const plain = parts.map((p) => (Object.is(p, -0) ? 0 : p));
        expect(id).toBe(encodeValue(plain));
        expect(checkedKeyIdOf(parts)).toBe(id);
        const back = keyOfId(id) as unknown[];
        expect(back.length).toBe(parts.length);
        back.forEach((p, i) => expect(Object.is(p, plain[i])).toBe(true));
      }),
      { numRuns: 500 },
    );
  });

  it('-0 in a composite key is 0, as a key of its own is: one id, one key group', () => {
    for (const [a, b] of [
      [[-0], [0]],
      [['a', -0, 1], ['a', 0, 1]],
      [[1n, -0], [1n, 0]],
      [[-0, 2.5], [0, 2.5]],
    ] as const) {
      expect(keyIdOf(a as unknown as Key)).toBe(keyIdOf(b as unknown as Key));
      expect(checkedKeyIdOf(a)).toBe(keyIdOf(b as unknown as Key));
      expect(keyGroupOf(a as unknown as Key, 128)).toBe(keyGroupOf(b as unknown as Key, 128));
    }
  });

  it("an array's other properties are not part of the key: the same id as the plain array", () => {
    const plain = ['user-17', 42];
    const decorated = Object.assign(['user-17', 42], { source: 'kafka' });
    expect(checkedKeyIdOf(decorated)).toBe(checkedKeyIdOf(plain));
    expect(keyIdOf(decorated as Key)).toBe('["user-17",42]');
    expect(checkedKeyIdOf(Object.assign([1n, -0], { x: 1 }))).toBe(checkedKeyIdOf([1n, -0]));
  });

  it('never equal the id of a string key, whatever the string (one starting with "[" or U+0000 is escaped); each maps back', () => {
    const strings = fc.oneof(fc.string(), fc.string().map((x) => `[${x}`), fc.string().map((x) => `\u0000${x}`), fc.constantFrom('[1,2]', '["a"]', '\u0000[1,2]', '[', ''));
    fc.assert(
      fc.property(strings, fc.array(part, { maxLength: 3 }), (text, parts) => {
        const stringId = checkedKeyIdOf(text);
        expect(stringId).toBe(keyIdOf(text));
        expect(keyOfId(stringId as string)).toBe(text);
        expect(stringId).not.toBe(keyIdOf(parts as Key));
        expect(stringId).not.toBe(keyIdOf(JSON.parse(JSON.stringify(text === '' ? [] : [text])) as Key));
      }),
      { numRuns: 500 },
    );
    expect(keyIdOf('[1,2]')).toBe('\u0000[1,2]');
    expect(keyIdOf([1, 2])).toBe('[1,2]');
    expect(keyOfId(keyIdOf('[1,2]'))).toBe('[1,2]');
    expect(keyOfId(keyIdOf([1, 2]))).toStrictEqual([1, 2]);
    expect(keyIdOf('plain')).toBe('plain');
    // the id of an array key, taken as a string key, is escaped: never the array's id
    fc.assert(
      fc.property(fc.array(part, { maxLength: 3 }), (parts) => {
        expect(keyIdOf(String(keyIdOf(parts as Key)))).not.toBe(keyIdOf(parts as Key));
      }),
    );
  });

  it('arrays of numbers and booleans (built by concatenation) give the text JSON.stringify gives', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)), fc.boolean()), { maxLength: 6 }), (parts) => {
        expect(keyIdOf(parts)).toBe(JSON.stringify(parts));
      }),
      { numRuns: 500 },
    );
    expect(keyIdOf([1e21, 5e-324, 2 ** 53 + 2, true, -1.5])).toBe('[1e+21,5e-324,9007199254740994,true,-1.5]');
  });

  it("an array's own toJSON changes nothing: its parts are the key", () => {
    const decorated = Object.assign(['user-17', 42], { toJSON: () => 'user-17' });
    expect(checkedKeyIdOf(decorated)).toBe('["user-17",42]');
    expect(checkedKeyIdOf(decorated)).not.toBe(checkedKeyIdOf('"user-17"'));
    expect(keyOfId(checkedKeyIdOf(decorated) as string)).toStrictEqual(['user-17', 42]);
  });
});

describe('keyGroupOfId', () => {
  it("is the key group of the id's key, for every kind of key (int32 arrays read in place, the rest decoded)", () => {
    const int = fc.oneof(fc.integer(), fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), fc.constantFrom(0, -1, 999_999_999, -999_999_999, 1_000_000_000, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40));
    const key = fc.oneof(fc.array(int, { maxLength: 4 }), fc.array(part, { maxLength: 3 }), part);
    fc.assert(
      fc.property(key, fc.constantFrom(128, 4096, 32768), (k, maxParallelism) => {
        expect(keyGroupOfId(keyIdOf(k as Key), maxParallelism)).toBe(keyGroupOf(k as Key, maxParallelism));
      }),
      { numRuns: 2_000 },
    );
    expect([[], [0], [-7, 42], [1, 2.5], [1e21], [-0, 1]].map((k) => keyGroupOfId(keyIdOf(k as Key), 128))).toStrictEqual(
      [[], [0], [-7, 42], [1, 2.5], [1e21], [-0, 1]].map((k) => keyGroupOf(k as Key, 128)),
    );
  });
});

