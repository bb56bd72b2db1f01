import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checksum, checksumMatches } from '../src/stores/checksum.js';

/**
 * The oracle: the same hash written the plain way (the whole text encoded at once, words read one by one from the
 * bytes), against which the segmented, buffer-reusing implementation is checked.
 */
function oracle(text: string): string {
  const b = new TextEncoder().encode(text);
  const mix = (h: number, w: number): number => {
    let k = Math.imul(w, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    return (Math.imul(h, 5) + 0xe6546b64) | 0;
  };
  const fmix = (h: number): string => {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return ((h ^ (h >>> 16)) >>> 0).toString(16).padStart(8, '0');
  };
  const word = (o: number): number => (b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24);
  let a = 0x811c9dc5 | 0;
  let c = 0x2545f491 | 0;
  let o = 0;
  for (; o + 8 <= b.length; o += 8) {
    a = mix(a, word(o));
    c = mix(c, word(o + 4));
  }
  const lastWordInA = b.length - o >= 4;
  if (lastWordInA) {
    a = mix(a, word(o));
    o += 4;
  }
  let tail = 0;
  for (; o < b.length; o++) tail = (tail << 8) | (b[o] as number);
  if (lastWordInA) c = mix(c, tail);
  else a = mix(a, tail);
  return fmix(a ^ b.length) + fmix(c ^ b.length);
}

const unit = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', '"', '\\', ',', '[', '0') },
  { weight: 1, arbitrary: fc.constantFrom('é', '€', '😀', '\u0000', '\u007f') },
);

describe('checksum', () => {
  it('has fixed values (it is stored in checkpoints and savepoints: a change of algorithm must be deliberate)', () => {
    expect(checksum('')).toBe('596923799ca70078');
    expect(checksum('a')).toBe('b3478aa86ca3b96e');
    expect(checksum('[[12,"[\\"s\\",\\"count\\",\\"\\",\\"\\\\\\"user-1\\\\\\"\\"]","[42]"]]')).toBe('8e8820fe30714954');
    expect(checksum('é😀'.repeat(40_000))).toBe('9e707719523ab698');
  });

  it('equals the whole-text oracle, across segment boundaries and for multibyte characters', () => {
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 200 }), fc.nat({ max: 70_000 }), (s, pad) => {
        // pad pushes the sample across the 64 KiB segment boundary at every offset mod 8
        const text = 'x'.repeat(pad) + s;
        expect(checksum(text)).toBe(oracle(text));
      }),
      { numRuns: 300 },
    );
  });

  it('changes with a character across the last whole word and the trailing bytes (two words of one lane collided)', () => {
    // 23 bytes: two word pairs, a word (bytes 16–19) and 3 trailing bytes; '€' (E2 82 AC) and '⃀' (E2 83 80) sit
    // across bytes 18–20, so they change the word and the trailing bytes. The prefix was solved for the lane state at
    // which, with both in lane a, the two changes cancelled (both texts had the sum 42d762a8a792a454).
    const t1 = '___50000Zq$ezzzzxa€?x';
    const t2 = '___50000Zq$ezzzzxa⃀?x';
    expect(checksum(t1)).toBe(oracle(t1));
    expect(checksum(t2)).toBe(oracle(t2));
    expect(checksum(t1)).not.toBe(checksum(t2));
  });

  it('changes with any single changed character (of the same UTF-8 length) and with the length', () => {
    fc.assert(
      fc.property(
        fc.string({ unit, minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.constantFrom('b', '1', ']'),
        (s, at, to) => {
          const chars = [...s];
          const i = at % chars.length;
          const from = chars[i] as string;
          const replacement = from.length === 1 && from.charCodeAt(0) < 0x80 ? (from === to ? 'z' : to) : from === '€' ? '₤' : from === '😀' ? '😁' : from === 'é' ? 'è' : 'q';
          if (new TextEncoder().encode(replacement).length !== new TextEncoder().encode(from).length) return;
          chars[i] = replacement;
          expect(checksum(chars.join(''))).not.toBe(checksum(s));
          expect(checksum(s + '\u0000')).not.toBe(checksum(s));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('verifies its own sums and the 8-digit FNV-1a sums of earlier versions; rejects others', () => {
    const t = '{"a":1}';
    expect(checksumMatches(t, checksum(t))).toBe(true);
    expect(checksumMatches('{"a":2}', checksum(t))).toBe(false);
    // FNV-1a (32 bit) reference values
    expect(checksumMatches('a', 'e40c292c')).toBe(true);
    expect(checksumMatches('foobar', 'bf9cf968')).toBe(true);
    expect(checksumMatches('foobaz', 'bf9cf968')).toBe(false);
    expect(checksumMatches(t, '')).toBe(false);
    // a lone surrogate (damage: nothing written has one) would encode as U+FFFD: refused, whatever its sum
    expect(checksumMatches('[1,"\ud800"]', checksum('[1,"\ufffd"]'))).toBe(false);
    expect(checksumMatches('[1,"\udc00x"]', checksum('[1,"\udc00x"]'))).toBe(false);
    expect(checksumMatches('[1,"😀"]', checksum('[1,"😀"]'))).toBe(true);
  });
});
