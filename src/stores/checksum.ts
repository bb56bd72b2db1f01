/**
 * Checksums of checkpoint chunks, manifests and savepoint files.
 *
 * The text is encoded as UTF-8 (`TextEncoder.encodeInto`, native in Node and browsers) in segments into one reused
 * buffer, and its 32-bit little-endian words are mixed in two independent lanes (even and odd words) with
 * MurmurHash3's block step; trailing bytes go into the other lane than the word before them, the byte length into
 * both, and both lanes are finalised with MurmurHash3's mixer. Every step is a bijection of a lane's state for a given
 * word, so a single changed word always changes the result (hence a single character changed into one of the same
 * UTF-8 length — it spans at most two adjacent words, one in each lane — in texts without lone surrogates, which
 * every text written here is: JSON with them escaped); other damage changes it but with probability 2⁻⁶⁴. Two lanes
 * break the multiply chain of a one-lane hash: about 0.5 ns per character, against 2.5 for the FNV-1a over UTF-16
 * code units that came before (still accepted: {@link checksumMatches}).
 *
 * @internal
 */

const SEGMENT = 1 << 16;
/** The length of a {@link checksum}. @internal */
export const CHECKSUM_CHARS = 16;
const encoder = new TextEncoder();
/** little-endian platform: words can be read through an Int32Array view (else they are assembled from bytes) */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
let bytes: Uint8Array | undefined;
let words: Int32Array | undefined;

function mixWord(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function wordAt(buf: Uint8Array, i: number): number {
  const o = i * 4;
  return (buf[o] as number) | ((buf[o + 1] as number) << 8) | ((buf[o + 2] as number) << 16) | ((buf[o + 3] as number) << 24);
}

/**
 * The checksum of a text: 16 hex digits.
 *
 * @example
 * ```ts
 * checksum('[1,2,3]'); // 16 hex digits; any single changed character changes them
 * ```
 * @internal
 */
export function checksum(text: string): string {
  if (bytes === undefined || words === undefined) {
    bytes = new Uint8Array(SEGMENT + 8);
    words = new Int32Array(bytes.buffer);
  }
  const buf = bytes;
  const w32 = words;
  let a = 0x811c9dc5 | 0;
  let b = 0x2545f491 | 0;
  let total = 0;
  let carry = 0; // bytes left at the buffer's start from the previous segment (fewer than 8)
  let pos = 0;
  while (pos < text.length) {
    const { read, written } = encoder.encodeInto(pos === 0 ? text : text.slice(pos), buf.subarray(carry, SEGMENT));
    pos += read;
    total += written;
    const n = carry + written;
    const pairs = n >> 3;
    if (LITTLE_ENDIAN) {
      for (let i = 0; i < pairs; i++) {
        a = mixWord(a, w32[2 * i] as number);
        b = mixWord(b, w32[2 * i + 1] as number);
      }
    } else {
      for (let i = 0; i < pairs; i++) {
        a = mixWord(a, wordAt(buf, 2 * i));
        b = mixWord(b, wordAt(buf, 2 * i + 1));
      }
    }
    carry = n & 7;
    buf.copyWithin(0, pairs * 8, n);
    if (read === 0) break; // (cannot happen: the segment has room for any character)
  }
  let i = 0;
  if (carry >= 4) {
    a = mixWord(a, LITTLE_ENDIAN ? (w32[0] as number) : wordAt(buf, 0));
    i = 4;
  }
  let tail = 0;
  for (; i < carry; i++) tail = (tail << 8) | (buf[i] as number);
  // into the other lane than the word before it: a character across both then changes one input of each lane
  if (carry >= 4) b = mixWord(b, tail);
  else a = mixWord(a, tail);
  a ^= total;
  b ^= total;
  return fmix(a).toString(16).padStart(8, '0') + fmix(b).toString(16).padStart(8, '0');
}

/** The checksum of earlier versions: FNV-1a (32 bit) over UTF-16 code units, 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Whether `sum` is the checksum of `text`: {@link checksum}'s 16 digits, or the 8 of the FNV-1a that checkpoints and
 * savepoints written by earlier versions carry.
 *
 * @example
 * ```ts
 * checksumMatches(text, checksum(text)); // true
 * ```
 * @internal
 */
export function checksumMatches(text: string, sum: string): boolean {
  if (sum.length === 8) return fnv1a(text) === sum;
  // every text written is well-formed UTF-16; UTF-8 would turn a lone surrogate (damage) into U+FFFD unnoticed
  return wellFormed(text) && checksum(text) === sum;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether a text has no lone surrogate (`String.prototype.isWellFormed` where there is one): its UTF-8 encoding
 * decodes back to it.
 *
 * @example
 * ```ts
 * wellFormed('a😀'); // true
 * wellFormed('a\ud800'); // false
 * ```
 * @internal
 */
export function wellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  return native !== undefined ? native.call(text) : !LONE_SURROGATE.test(text);
}
