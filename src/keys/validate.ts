import type { Key } from '../elements/index.js';

function isKeyPart(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'bigint':
      return true;
    case 'number':
      return v === v; // not NaN
    default:
      return false;
  }
}

/**
 * True when `v` is a valid {@link Key}: a string, a number other than NaN, a boolean, a bigint, or an array of those.
 *
 * @example
 * ```ts
 * isKey('a');        // true
 * isKey(['eu', 3]);  // true
 * isKey(NaN);        // false
 * isKey({ id: 1 });  // false
 * ```
 */
export function isKey(v: unknown): v is Key {
  if (isKeyPart(v)) return true;
  // (an Array subclass is not a key: the codec would not restore it as one)
  if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) return false;
  for (let i = 0; i < v.length; i++) if (!isKeyPart(v[i])) return false;
  return true;
}

/**
 * {@link isKey} with strings and numbers — what keys mostly are — answered in a few bytecodes, the rest by `isKey`:
 * for a record path (operators/recordChain.ts) whose keys are strings or numbers the `isKey` call is never taken, so
 * TurboFan does not inline it, and its budget for the path's inlining goes to the operators after it
 * (docs/ARCHITECTURE.md, "One record, end to end").
 *
 * @example
 * ```ts
 * isKeyOnPath(42);     // true
 * isKeyOnPath(NaN);    // false
 * isKeyOnPath(['a']);  // true (by isKey)
 * ```
 *
 * @internal
 */
export function isKeyOnPath(v: unknown): boolean {
  return typeof v === 'string' || (typeof v === 'number' ? v === v : isKey(v));
}
