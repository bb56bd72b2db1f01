import type { Key } from '../elements/index.js';
import { isKey } from './validate.js';
import { decodeValue, encodeValue, isPlainNumber } from '../state/codec.js';

/**
 * The in-memory identity of a key, usable as a `Map` key: primitives stand for themselves (so `1`, `'1'`, `1n` and
 * `true` stay distinct), an array key becomes `"\0" + its encoding`, and a string that itself starts with `"\0"`
 * gets a second `"\0"` so it can never collide with an array key.
 */
export type KeyId = string | number | boolean | bigint;

/** Returned by {@link checkedKeyIdOf} for a value that is not a {@link Key}. @internal */
export const NOT_A_KEY: unique symbol = Symbol('not a key');

/**
 * The key id of a value that may not be a key: validates and maps in one pass (the per-record path of keyed
 * operators). @internal
 */
export function checkedKeyIdOf(key: unknown): KeyId | typeof NOT_A_KEY {
  // `typeof x === '…'` tests, not `switch (typeof x)`: the tests compile to inline type checks, while a switch
  // materialises the typeof string through a builtin call on every record (≈ 10 % of a keyed count's time). The
  // common keys are answered here, the rest in a second function, so this one stays small enough to inline.
  if (typeof key === 'string' ? key.charCodeAt(0) !== 0 : typeof key === 'number' && key === key) return key as KeyId;
  return otherKeyIdOf(key);
}

/** {@link checkedKeyIdOf} for every other value: NaN, strings starting with U+0000, booleans, bigints, objects. */
function otherKeyIdOf(key: unknown): KeyId | typeof NOT_A_KEY {
  if (typeof key === 'string') return '\u0000' + key;
  if (typeof key === 'boolean' || typeof key === 'bigint') return key;
  if (typeof key === 'object') return isKey(key) ? '\u0000' + arrayKeyText(key as readonly unknown[]) : NOT_A_KEY;
  return NOT_A_KEY;
}

/** @internal */
export function keyIdOf(key: Key): KeyId {
  if (typeof key === 'object') return '\u0000' + arrayKeyText(key);
  if (typeof key === 'string' && key.charCodeAt(0) === 0) return '\u0000' + key;
  return key;
}

/** @internal the key a {@link KeyId} stands for. */
export function keyOfId(id: KeyId): Key {
  if (typeof id === 'string' && id.charCodeAt(0) === 0) {
    return id.charCodeAt(1) === 0 ? id.slice(1) : (decodeValue(id.slice(1)) as Key);
  }
  return id;
}

/**
 * The encoding of an array key (already validated by `isKey`): its parts only — other properties of the array are not
 * part of the key. Parts that JSON writes as they are (strings, booleans, finite numbers other than -0) take
 * `JSON.stringify`, which reads indices only and equals the codec's output for such an array; bigint, NaN, ±Infinity
 * and -0 parts take the codec on a plain copy. Per record for composite keys, so no property checks here.
 */
function arrayKeyText(key: readonly unknown[]): string {
  for (let i = 0; i < key.length; i++) {
    const part = key[i];
    if (typeof part !== 'string' && typeof part !== 'boolean' && !isPlainNumber(part)) return encodeValue(Array.from(key));
  }
  return JSON.stringify(key);
}
