import type { Key } from '../elements/index.js';
import { isKey } from './validate.js';
import { javaHashCode, murmurHash } from './keyGroups.js';
import { decodeValue, encodeValue, isPlainNumber } from '../state/codec.js';

/**
 * The in-memory identity of a key, usable as a `Map` key: primitives stand for themselves (so `1`, `'1'`, `1n` and
 * `true` stay distinct), an array key becomes its encoding (which starts with `[`), and a string that itself starts
 * with `[` or `"\0"` gets a `"\0"` in front so it can never collide with an array key. (An array's id is the
 * encoding itself, not a prefixed copy: a prefix would make a rope string that every `Map` lookup flattens.)
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
  if (typeof key === 'string' ? !isEscapedInId(key.charCodeAt(0)) : typeof key === 'number' && key === key) return key as KeyId;
  return otherKeyIdOf(key);
}

/** Whether a string key with this first character code is escaped in its id: U+0000 and `[` (an array's id). @internal */
export function isEscapedInId(first: number): boolean {
  return first === 0 || first === 91;
}

/** {@link checkedKeyIdOf} for every other value: NaN, strings starting with U+0000 or `[`, booleans, bigints, objects. */
function otherKeyIdOf(key: unknown): KeyId | typeof NOT_A_KEY {
  if (typeof key === 'string') return '\u0000' + key;
  if (typeof key === 'boolean' || typeof key === 'bigint') return key;
  if (typeof key === 'object') return isKey(key) ? arrayKeyText(key as readonly unknown[]) : NOT_A_KEY;
  return NOT_A_KEY;
}

/** @internal */
export function keyIdOf(key: Key): KeyId {
  if (typeof key === 'object') return arrayKeyText(key);
  if (typeof key === 'string' && isEscapedInId(key.charCodeAt(0))) return '\u0000' + key;
  return key;
}

/** @internal the key a {@link KeyId} stands for. */
export function keyOfId(id: KeyId): Key {
  if (typeof id === 'string') {
    const first = id.charCodeAt(0);
    if (first === 0) return id.slice(1);
    // (without a `{`, the text has no tagged part: JSON.parse gives what decodeValue would, without its copy)
    if (first === 91) return (id.indexOf('{') < 0 ? JSON.parse(id) : decodeValue(id)) as Key;
  }
  return id;
}

/**
 * The codec's text of the key with this id (`encodeValue(keyOfId(id))`, what snapshots write), without decoding it:
 * an array key's id is that text already, a string key's id the string (after a U+0000 when it starts with one or
 * with `[`).
 *
 * @example
 * ```ts
 * encodedKeyOfId(keyIdOf(['a', 1])); // '["a",1]'
 * encodedKeyOfId(keyIdOf('user-7')); // '"user-7"'
 * ```
 * @internal
 */
export function encodedKeyOfId(id: KeyId): string {
  if (typeof id === 'string') {
    const first = id.charCodeAt(0);
    if (first === 91) return id;
    return JSON.stringify(first === 0 ? id.slice(1) : id);
  }
  return encodeValue(keyOfId(id));
}

/**
 * The encoding of an array key (already validated by `isKey`): its parts only — other properties of the array are not
 * part of the key. Parts that JSON writes as they are (strings, booleans, finite numbers other than -0) give the text
 * `JSON.stringify` gives, which reads indices only and equals the codec's output for such an array — built by
 * concatenation when no part is a string (numbers and booleans print as JSON prints them; ≈ 3× faster than the
 * stringify call); bigint, NaN, ±Infinity and -0 parts take the codec on a plain copy. Per record for composite keys,
 * so no property checks here.
 */
function arrayKeyText(key: readonly unknown[]): string {
  let strings = false;
  for (let i = 0; i < key.length; i++) {
    const part = key[i];
    if (typeof part === 'string') strings = true;
    else if (typeof part !== 'boolean' && !isPlainNumber(part)) {
      // (-0 is the key 0, in an array as alone: a `Map` takes -0 for 0, the key group is 0's)
      const parts = Array.from(key, (p) => (Object.is(p, -0) ? 0 : p));
      return Object.is(part, -0) ? arrayKeyText(parts) : encodeValue(parts);
    }
  }
  // (a `toJSON` of the array's own would make JSON.stringify write something else: its parts are the key)
  if (strings || key.length === 0) {
    return (key as { toJSON?: unknown }).toJSON === undefined ? JSON.stringify(key) : JSON.stringify(Array.from(key));
  }
  let text = '[' + String(key[0]);
  for (let i = 1; i < key.length; i++) text += ',' + String(key[i]);
  return text + ']';
}

/**
 * The key group of the key with this id (`keyGroupUnchecked(keyOfId(id), maxParallelism)`): an array id of int32
 * items (a composite key of ids, the common case) is read in place — Java's list hash of its items' int hashes —
 * without parsing it into an array; every other id decodes its key.
 *
 * @example
 * ```ts
 * keyGroupOfId(keyIdOf([7, 42]), 128) === keyGroupOf([7, 42], 128); // true
 * ```
 * @internal
 */
export function keyGroupOfId(id: KeyId, maxParallelism: number): number {
  const code = typeof id === 'string' && id.charCodeAt(0) === 91 ? int32ArrayHash(id) : undefined;
  return murmurHash(code ?? javaHashCode(keyOfId(id))) % maxParallelism;
}

/**
 * `javaHashCode` of the array with this id when its items are all int32 in canonical JSON (`[7,-42]`: optional `-`,
 * one to nine digits, no leading zero); undefined for any other array.
 */
function int32ArrayHash(id: string): number | undefined {
  const n = id.length;
  if (n === 2) return id.charCodeAt(1) === 93 ? 0 : undefined;
  let h = 0;
  let i = 1;
  for (;;) {
    let c = id.charCodeAt(i);
    const negative = c === 45;
    if (negative) c = id.charCodeAt(++i);
    if (c < 48 || c > 57 || (c === 48 && negative)) return undefined; // (not a digit; "-0…")
    const first = i;
    let v = 0;
    while (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      c = id.charCodeAt(++i);
    }
    if (i - first > 9 || (i - first > 1 && id.charCodeAt(first) === 48)) return undefined; // beyond int32 digits; leading zero
    h = (Math.imul(31, h) + (negative ? -v : v)) | 0;
    if (c === 93) return i === n - 1 ? h : undefined;
    if (c !== 44) return undefined; // a fraction, an exponent, another kind of item
    i++;
  }
}

