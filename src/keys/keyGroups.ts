import type { Key } from '../elements/index.js';
import { ConfigurationError, describeValue, InvalidKeyError } from '../errors/index.js';
import { isKey } from './validate.js';

/**
 * Java's `String.hashCode`: `h = 31 * h + c` over UTF-16 code units, int32 wrap-around.
 */
function stringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const MASK32 = (1n << 32n) - 1n;

/** Java `Long.hashCode`: `(int)(v ^ (v >>> 32))`. */
function longHash(v: bigint): number {
  const u = BigInt.asUintN(64, v);
  return Number(BigInt.asIntN(32, (u ^ (u >> 32n)) & MASK32));
}

/** Java `BigInteger.hashCode`: `h = 31*h + word` over the magnitude's 32-bit words (big-endian), times the signum. */
function bigIntegerHash(v: bigint): number {
  const neg = v < 0n;
  let mag = neg ? -v : v;
  const words: number[] = [];
  while (mag > 0n) {
    words.push(Number(mag & MASK32) | 0);
    mag >>= 32n;
  }
  let h = 0;
  for (let i = words.length - 1; i >= 0; i--) h = (Math.imul(31, h) + (words[i] ?? 0)) | 0;
  return neg ? -h | 0 : h;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Java `Double.hashCode`: `bits = doubleToLongBits(v)` (NaN canonical), `(int)(bits ^ (bits >>> 32))`. */
function doubleHash(v: number): number {
  f64[0] = v;
  const lo = u32[LITTLE ? 0 : 1] ?? 0;
  const hi = u32[LITTLE ? 1 : 0] ?? 0;
  return (lo ^ hi) | 0;
}

/**
 * The Java-compatible `hashCode` tidewater uses for a key, so that key groups match Flink's for the same keys:
 * - string → `String.hashCode`;
 * - number: int32 → the value (`Integer`; -0 counts as 0, as in a `Map`); other safe integers → `Long.hashCode`;
 *   anything else → `Double.hashCode`;
 * - boolean → 1231 / 1237 (`Boolean.hashCode`);
 * - bigint: in int64 range → `Long.hashCode`; beyond → `BigInteger.hashCode`;
 * - array → Flink's `TupleN.hashCode`: `h = hash(f0)`, then `h = 31 * h + hash(fi)` (empty array → 0).
 *
 * @example
 * ```ts
 * javaHashCode('a'); // 97
 * javaHashCode(-1);  // -1
 * javaHashCode(true); // 1231
 * ```
 */
export function javaHashCode(key: Key): number {
  switch (typeof key) {
    case 'string':
      return stringHash(key);
    case 'number':
      if ((key | 0) === key) return key | 0; // int32 (and -0, which is the same key as 0)
      if (Number.isSafeInteger(key)) return longHash(BigInt(key));
      return doubleHash(key);
    case 'boolean':
      return key ? 1231 : 1237;
    case 'bigint':
      return key >= INT64_MIN && key <= INT64_MAX ? longHash(key) : bigIntegerHash(key);
    default: {
      if (!Array.isArray(key)) throw new InvalidKeyError('javaHashCode', key, key);
      if (key.length === 0) return 0;
      let h = javaHashCode(key[0] as Key);
      for (let i = 1; i < key.length; i++) h = (Math.imul(31, h) + javaHashCode(key[i] as Key)) | 0;
      return h;
    }
  }
}

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/**
 * Flink's `MathUtils.murmurHash(int)`: a non-negative int32 spread of a hash code.
 *
 * @example
 * ```ts
 * murmurHash(42) % 128; // 29 — the key group of the int key 42
 * ```
 */
export function murmurHash(code: number): number {
  let h = Math.imul(code | 0, 0xcc9e2d51);
  h = rotl32(h, 15);
  h = Math.imul(h, 0x1b873593);
  h = rotl32(h, 13);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  h ^= 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  if (h >= 0) return h;
  return h !== -2147483648 ? -h : 0;
}

/**
 * Whether `v` is a valid number of key groups: an integer in [1, 32768] (Flink's bounds).
 *
 * @example
 * ```ts
 * isMaxParallelism(128); // true
 * ```
 * @internal
 */
export function isMaxParallelism(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 32768;
}

function checkMaxParallelism(op: string, maxParallelism: number): void {
  if (!isMaxParallelism(maxParallelism)) {
    throw new ConfigurationError(op, maxParallelism, `${op}: maxParallelism ${describeValue(maxParallelism)} must be an integer in [1, 32768].`);
  }
}

/**
 * The key group of a key, exactly as Flink's `KeyGroupRangeAssignment.assignToKeyGroup`:
 * `murmurHash(hashCode(key)) % maxParallelism`, with the Java-compatible hash code of {@link javaHashCode}.
 * Keyed state and timers are stored and redistributed by key group.
 *
 * @example
 * ```ts
 * keyGroupOf('key1'); // 41
 * keyGroupOf(42);     // 29
 * keyGroupOf(-1);     // 80
 * ```
 */
export function keyGroupOf(key: Key, maxParallelism = 128): number {
  checkMaxParallelism('keyGroupOf', maxParallelism);
  if (!isKey(key)) throw new InvalidKeyError('keyGroupOf', key, key);
  return keyGroupUnchecked(key, maxParallelism);
}

/**
 * {@link keyGroupOf} without its argument checks, for paths whose key and `maxParallelism` were checked before (a
 * record's key checked by `keyBy`, the partition count checked once).
 *
 * @example
 * ```ts
 * keyGroupUnchecked('key1', 128); // 41
 * ```
 * @internal
 */
export function keyGroupUnchecked(key: Key, maxParallelism: number): number {
  // the common keys tested inline (`typeof` tests, not javaHashCode's switch, which materialises the typeof string
  // per call): routing calls this per record
  if (typeof key === 'string') return murmurHash(stringHash(key)) % maxParallelism;
  if (typeof key === 'number' && (key | 0) === key) return murmurHash(key | 0) % maxParallelism;
  return murmurHash(javaHashCode(key)) % maxParallelism;
}

/**
 * The parallel instance that owns a key group: `floor(group * parallelism / maxParallelism)` (Flink's
 * `computeOperatorIndexForKeyGroup`).
 *
 * @example
 * ```ts
 * partitionOfKeyGroup(keyGroupOf('key1'), 4); // 1 (group 41 of 128)
 * ```
 */
export function partitionOfKeyGroup(group: number, parallelism: number, maxParallelism = 128): number {
  checkMaxParallelism('partitionOfKeyGroup', maxParallelism);
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > maxParallelism) {
    throw new ConfigurationError('partitionOfKeyGroup', parallelism, `partitionOfKeyGroup: parallelism ${describeValue(parallelism)} must be an integer in [1, maxParallelism=${maxParallelism}].`);
  }
  if (!Number.isInteger(group) || group < 0 || group >= maxParallelism) {
    throw new ConfigurationError('partitionOfKeyGroup', group, `partitionOfKeyGroup: key group ${describeValue(group)} must be an integer in [0, ${maxParallelism}).`);
  }
  return Math.floor((group * parallelism) / maxParallelism);
}

/**
 * The contiguous key-group range `[first, last]` owned by parallel instance `index` (Flink's
 * `computeKeyGroupRangeForOperatorIndex`).
 *
 * @example
 * ```ts
 * keyGroupRange(1, 4); // { first: 32, last: 63 }
 * ```
 */
export function keyGroupRange(index: number, parallelism: number, maxParallelism = 128): { readonly first: number; readonly last: number } {
  checkMaxParallelism('keyGroupRange', maxParallelism);
  return {
    first: Math.floor((index * maxParallelism + parallelism - 1) / parallelism),
    last: Math.floor(((index + 1) * maxParallelism - 1) / parallelism),
  };
}

/**
 * Flink's default max parallelism for a parallelism `p`: `roundUpToPowerOfTwo(p + p/2)` clamped to [128, 32768].
 *
 * @example
 * ```ts
 * defaultMaxParallelism(4);   // 128
 * defaultMaxParallelism(86);  // 256
 * ```
 */
export function defaultMaxParallelism(parallelism: number): number {
  let x = parallelism + Math.floor(parallelism / 2) - 1;
  x |= x >> 1;
  x |= x >> 2;
  x |= x >> 4;
  x |= x >> 8;
  x |= x >> 16;
  return Math.min(Math.max(x + 1, 128), 32768);
}
