import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  defaultMaxParallelism,
  InvalidKeyError,
  javaHashCode,
  keyGroupOf,
  keyGroupRange,
  murmurHash,
  partitionOfKeyGroup,
  type Key,
} from '../src/index.js';

// Expected values computed with the JVM (javac 17): String/Integer/Long/Double/Boolean/BigInteger.hashCode and
// Flink's murmurHash(code) % 128, ported to Java from docs/SEMANTICS.md §7.
const jvm: [string, Key, number, number][] = [
  ['String', 'key1', 3288498, 41],
  ['String', 'key2', 3288499, 27],
  ['String', '', 0, 94],
  ['String', 'a', 97, 81],
  ['String', 'user-42', -147182656, 20],
  ['String', 'héllo', 103094734, 18],
  ['String', '日本語', 25921943, 27],
  ['String', '😀emoji', -1233692477, 57],
  ['String', 'a much longer string that overflows int32 many times over', 1182917889, 67],
  ['Integer', 0, 0, 94],
  ['Integer', 1, 1, 86],
  ['Integer', -1, -1, 80],
  ['Integer', 42, 42, 29],
  ['Integer', 2147483647, 2147483647, 62],
  ['Integer', -2147483648, -2147483648, 108],
  ['Long', 4294967296, 1, 86],
  ['Long', -4294967297, 1, 86],
  ['Long', 9007199254740991, -2097152, 73],
  ['Long', -9007199254740991, -2097151, 13],
  ['Long', 1700000000000, -807048821, 64],
  ['Long (bigint)', 1700000000000n, -807048821, 64],
  ['Double', 1.5, 1073217536, 65],
  ['Double', 0.1, -1507852285, 97],
  ['Double', Infinity, 2146435072, 122],
  ['Double', -Infinity, -1048576, 78],
  ['Double', 3.141592653589793, 340593891, 75],
  ['Double', 1e300, -164130400, 111],
  ['Boolean', true, 1231, 77],
  ['Boolean', false, 1237, 3],
  ['BigInteger', 9223372036854775808n, -2147483648, 108],
  ['BigInteger', -9223372036854775809n, 2147483647, 62],
  ['BigInteger', 123456789012345678901234567890n, 1915528825, 12],
  ['Tuple2', ['eu-west', 7], 2090234075, 39],
];

describe('key groups (Flink KeyGroupRangeAssignment)', () => {
  it('matches the values fixed by the issue', () => {
    expect([keyGroupOf('key1'), keyGroupOf('key2'), keyGroupOf(42), keyGroupOf(-1)]).toStrictEqual([41, 27, 29, 80]);
  });

  for (const [type, key, hash, group] of jvm) {
    it(`${type} ${String(key)}: hashCode ${hash}, key group ${group} (as the JVM computes)`, () => {
      expect(javaHashCode(key)).toBe(hash);
      expect(keyGroupOf(key, 128)).toBe(group);
    });
  }

  it('-0 is the same key as 0', () => {
    expect(keyGroupOf(-0)).toBe(keyGroupOf(0));
  });

  it('empty tuple hashes to 0; tuples fold with 31*h', () => {
    expect(javaHashCode([])).toBe(0);
    expect(javaHashCode(['a'])).toBe(97);
    expect(javaHashCode(['a', 'b'])).toBe(31 * 97 + 98);
  });

  it('murmurHash is non-negative', () => {
    for (const c of [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 123456789]) expect(murmurHash(c)).toBeGreaterThanOrEqual(0);
  });

  it('other max parallelisms', () => {
    expect(keyGroupOf('key1', 32768)).toBe(murmurHash(3288498) % 32768);
    expect(keyGroupOf('key1', 1)).toBe(0);
  });

  it('partitionOfKeyGroup = floor(group * p / maxP), ranges are contiguous and cover all groups', () => {
    expect(partitionOfKeyGroup(41, 4)).toBe(1);
    expect(partitionOfKeyGroup(127, 4)).toBe(3);
    expect(partitionOfKeyGroup(0, 3)).toBe(0);
    for (const p of [1, 2, 3, 5, 7, 128]) {
      let next = 0;
      for (let i = 0; i < p; i++) {
        const r = keyGroupRange(i, p);
        expect(r.first).toBe(next);
        for (let g = r.first; g <= r.last; g++) expect(partitionOfKeyGroup(g, p)).toBe(i);
        next = r.last + 1;
      }
      expect(next).toBe(128);
    }
  });

  it('defaultMaxParallelism', () => {
    expect([1, 85, 86, 1000, 100000].map(defaultMaxParallelism)).toStrictEqual([128, 128, 256, 2048, 32768]);
  });

  it('rejects bad arguments', () => {
    expect(() => keyGroupOf({} as unknown as Key)).toThrow(InvalidKeyError);
    expect(() => keyGroupOf(NaN)).toThrow('keyGroupOf: key NaN of NaN is not a valid key.');
    expect(() => keyGroupOf('a', 0)).toThrow(new ConfigurationError('keyGroupOf', 0, 'keyGroupOf: maxParallelism 0 must be an integer in [1, 32768].'));
    expect(() => partitionOfKeyGroup(128, 4)).toThrow('partitionOfKeyGroup: key group 128 must be an integer in [0, 128).');
    expect(() => partitionOfKeyGroup(1, 0)).toThrow('partitionOfKeyGroup: parallelism 0 must be an integer in [1, maxParallelism=128].');
  });
});
