import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeValue, type Key } from '../src/index.js';
import { checkedKeyIdOf, keyIdOf, keyOfId } from '../src/keys/keyId.js';

const part = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.bigInt(),
  fc.constantFrom(-0, Infinity, -Infinity, '$d', '\u0000x'),
);

describe('key ids of composite keys', () => {
  it('are the codec encoding of the plain array of parts, and map back to equal parts', () => {
    fc.assert(
      fc.property(fc.array(part, { maxLength: 5 }), (parts) => {
        const id = keyIdOf(parts as Key);
        expect(id).toBe('\u0000' + encodeValue(parts));
        expect(checkedKeyIdOf(parts)).toBe(id);
        const back = keyOfId(id) as unknown[];
        expect(back.length).toBe(parts.length);
        back.forEach((p, i) => expect(Object.is(p, parts[i])).toBe(true));
      }),
      { numRuns: 500 },
    );
  });

  it("an array's other properties are not part of the key: the same id as the plain array", () => {
    const plain = ['user-17', 42];
    const decorated = Object.assign(['user-17', 42], { source: 'kafka' });
    expect(checkedKeyIdOf(decorated)).toBe(checkedKeyIdOf(plain));
    expect(keyIdOf(decorated as Key)).toBe('\u0000["user-17",42]');
    expect(checkedKeyIdOf(Object.assign([1n, -0], { x: 1 }))).toBe(checkedKeyIdOf([1n, -0]));
  });
});
