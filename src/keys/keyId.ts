import type { Key } from '../elements/index.js';
import { encodeValue } from '../state/codec.js';

/**
 * The in-memory identity of a key, usable as a `Map` key: primitives stand for themselves (so `1`, `'1'`, `1n` and
 * `true` stay distinct), an array key becomes `"\0" + its encoding`, and a string that itself starts with `"\0"`
 * gets a second `"\0"` so it can never collide with an array key.
 */
export type KeyId = string | number | boolean | bigint;

/** @internal */
export function keyIdOf(key: Key): KeyId {
  if (typeof key === 'object') return '\u0000' + encodeValue(key);
  if (typeof key === 'string' && key.charCodeAt(0) === 0) return '\u0000' + key;
  return key;
}
