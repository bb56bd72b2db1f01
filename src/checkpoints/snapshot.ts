import { changePayloadOf, DeltaFold } from './deltaRows.js';
import { isPlainNumber } from '../state/codec.js';

/**
 * One entry of an operator's snapshot: a piece of keyed state (or a key's timers) in one key group.
 * `value` is the encoded state; `undefined` means "deleted since the previous snapshot".
 *
 * @example
 * ```ts
 * const e: SnapshotEntry = { keyGroup: 41, path: '["s","count","","\\"key1\\""]', value: '[3]' };
 * ```
 */
export interface SnapshotEntry {
  readonly keyGroup: number;
  /** Identifies the entry inside the operator: kind, state name, namespace and encoded key. */
  readonly path: string;
  readonly value: string | undefined;
}

/**
 * A stateful operator's snapshot: every entry (`full`) or only what changed since the previous snapshot.
 *
 * @example
 * ```ts
 * const snap: OperatorSnapshot = h.snapshot();
 * snap.entries.length;
 * ```
 */
export interface OperatorSnapshot {
  /** The operator's stable name (its `name`, or its position). */
  readonly operator: string;
  /** True when `entries` is the whole state; false when it is a delta on the previous snapshot. */
  readonly full: boolean;
  readonly maxParallelism: number;
  /**
   * The operator's event-time clock (its current watermark) when the snapshot was taken, encoded with the state
   * codec (so MIN/MAX survive JSON). Restored with the state so that lateness decisions after a restore are the
   * ones an uninterrupted run makes; undefined = MIN.
   */
  readonly watermark?: string;
  readonly entries: readonly SnapshotEntry[];
}

/**
 * The path of a marker entry (no value) that clears one key group: in a delta, the entries of that key group that
 * follow in the same snapshot replace all it held. A parallel operator's checkpoint carries them when some subtasks
 * snapshotted their key groups in full and others as deltas (docs/SEMANTICS.md §7.1). State paths are JSON arrays
 * starting with `"s"` or `"t"`, so it never names state.
 *
 * @internal
 */
export const CLEAR_KEY_GROUP_PATH = '["g"]';

/**
 * Folds a full snapshot and the deltas after it into one full snapshot (what a store materialises on restore). An
 * append or patch row changes the list or map the chain has (`src/checkpoints/deltaRows.ts`).
 *
 * @example
 * ```ts
 * const whole = mergeSnapshots([first, delta1, delta2]);
 * ```
 */
export function mergeSnapshots(snapshots: readonly OperatorSnapshot[]): OperatorSnapshot {
  const first = snapshots[0];
  if (first === undefined) throw new Error('mergeSnapshots: no snapshots given');
  const table = new Map<string, SnapshotEntry>();
  const fold = new DeltaFold(first.operator);
  let full = false;
  for (const s of snapshots) {
    if (s.full) {
      table.clear();
      full = true;
    }
    // key groups this snapshot replaces whole (see CLEAR_KEY_GROUP_PATH): cleared first, in one pass
    let cleared: Set<number> | undefined;
    for (const e of s.entries) if (e.path === CLEAR_KEY_GROUP_PATH) (cleared ??= new Set()).add(e.keyGroup);
    if (cleared !== undefined) for (const [path, e] of table) if (cleared.has(e.keyGroup)) table.delete(path);
    for (const e of s.entries) {
      if (e.path === CLEAR_KEY_GROUP_PATH) continue;
      // the entry itself is kept (a raw row's text is not made here)
      if (!hasValue(e)) table.delete(e.path);
      else {
        const change = s.full ? undefined : changePayloadOf(e);
        if (change !== undefined) fold.apply(table, e, change);
        else table.set(e.path, e);
      }
    }
  }
  fold.finish(table);
  const last = snapshots[snapshots.length - 1] ?? first;
  return {
    operator: last.operator,
    full,
    maxParallelism: last.maxParallelism,
    ...(last.watermark !== undefined ? { watermark: last.watermark } : {}),
    entries: [...table.values()],
  };
}

/**
 * Bytes (UTF-8) of snapshot JSON per chunk (a chunk closes once it reaches this size). 256 KB: a chunk's string is
 * then past V8's largest regular object, so it is made in the large-object space and never copied by a young-generation
 * collection while its checkpoint is written (with 64 KB chunks, young-generation collections took about a quarter
 * of the time of a snapshot of whole records, copying the chunks; with these, under a tenth: BENCHMARKS.md,
 * session 49). Stores take values this large (the NATS store splits a batch into messages below the server's
 * `max_payload`). @internal
 */
export const CHUNK_CHARS = 256 * 1024;
/** Bytes a {@link ChunkWriter}'s buffer starts with (it grows as rows need: a small snapshot takes a small buffer). */
const FIRST_BUFFER = 16 * 1024;
/** A buffer that holds a full chunk and the row that takes it past {@link CHUNK_CHARS} (unless that row is larger). */
const CHUNK_BUFFER = CHUNK_CHARS + 4096;

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * The text of a string inside a JSON string literal (what `JSON.stringify(s)` has between its quotes); the string
 * itself when it has nothing to escape. @internal
 */
export function escapeJson(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s).slice(1, -1) : s;
}

/** Whether `s` has a character JSON escapes inside a string literal (then {@link escapeJson} changes it). @internal */
export function needsEscape(s: string): boolean {
  return NEEDS_ESCAPE.test(s);
}

const utf8 = new TextEncoder();
/** A character a JSON string literal cannot hold as it is (not printable ASCII, or `"` or `\\`). */
const NOT_PLAIN = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
/** {@link ChunkWriter.asciiString} checks and copies longer strings with nothing to escape natively. */
const LONG_STRING = 64;
/**
 * {@link ChunkWriter.asciiString} leaves longer strings with characters to escape to `JSON.stringify` (the loop took
 * 1.0× its time, with the encoding, at 200 characters, 1.3× from 2 000 on, for a string with an escape every eight
 * characters: BENCHMARKS.md, session 49).
 */
const LONG_ESCAPED = 1024;
/** The letter of a character's short escape in a JSON literal (`\\n` …), by its code; 0 for `\\u00XX` (below 0x20). */
const SHORT_ESCAPES = new Uint8Array(93);
SHORT_ESCAPES[8] = 98; // \b
SHORT_ESCAPES[9] = 116; // \t
SHORT_ESCAPES[10] = 110; // \n
SHORT_ESCAPES[12] = 102; // \f
SHORT_ESCAPES[13] = 114; // \r
SHORT_ESCAPES[34] = 34; // \"
SHORT_ESCAPES[92] = 92; // \\
const HEX_DIGITS = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);

/** The ASCII codes of "0000", "0001", … "9999", four bytes each (see {@link writeInt}); 40 KB. */
const DIGIT_QUADS = new Uint8Array(40_000);
for (let i = 0; i < 10_000; i++) {
  DIGIT_QUADS[4 * i] = 48 + Math.floor(i / 1000);
  DIGIT_QUADS[4 * i + 1] = 48 + (Math.floor(i / 100) % 10);
  DIGIT_QUADS[4 * i + 2] = 48 + (Math.floor(i / 10) % 10);
  DIGIT_QUADS[4 * i + 3] = 48 + (i % 10);
}

/** The most bytes {@link ChunkWriter.integerItems} writes for one item (a comma, a sign, twelve digits). */
const ITEM_BYTES = 14;
/** How many items' room {@link ChunkWriter.integerItems} makes at a time. */
const ITEMS_PER_STEP = 4096;

/**
 * Writes `item` at `p` as an item of {@link ChunkWriter.integerItems} (after a comma unless `first`): returns the
 * position after, or -1 when it is not an integer below 10¹² in magnitude (or is -0). `buf` has room for
 * {@link ITEM_BYTES} bytes at `p`.
 */
function writeIntegerItem(buf: Uint8Array, p: number, item: unknown, first: boolean): number {
  if (typeof item !== 'number') return -1;
  let x = item;
  if (!(x > -1e12 && x < 1e12 && x === Math.floor(x)) || (x === 0 && 1 / x < 0)) return -1;
  if (!first) buf[p++] = 44;
  if (x < 0) {
    buf[p++] = 45;
    x = -x;
  }
  return writeInt(buf, p, x);
}

/** Writes the decimal digits of `x` (0 ≤ x < 10 000, no leading zeros) at `p`; returns the position after. */
function writeSmall(buf: Uint8Array, p: number, x: number): number {
  const at = 4 * x;
  if (x < 100) {
    if (x < 10) {
      buf[p] = 48 + x;
      return p + 1;
    }
    buf[p] = DIGIT_QUADS[at + 2] as number;
    buf[p + 1] = DIGIT_QUADS[at + 3] as number;
    return p + 2;
  }
  if (x < 1000) {
    buf[p] = DIGIT_QUADS[at + 1] as number;
    buf[p + 1] = DIGIT_QUADS[at + 2] as number;
    buf[p + 2] = DIGIT_QUADS[at + 3] as number;
    return p + 3;
  }
  return writeQuad(buf, p, x);
}

/** Writes the four digits of `x` (0 ≤ x < 10 000, zero-padded) at `p`; returns the position after. */
function writeQuad(buf: Uint8Array, p: number, x: number): number {
  const at = 4 * x;
  buf[p] = DIGIT_QUADS[at] as number;
  buf[p + 1] = DIGIT_QUADS[at + 1] as number;
  buf[p + 2] = DIGIT_QUADS[at + 2] as number;
  buf[p + 3] = DIGIT_QUADS[at + 3] as number;
  return p + 4;
}

/**
 * Writes the decimal digits of the safe integer `x` (≥ 0, no leading zeros) at `p`, four at a time from a table (one
 * division per four digits, no branch on the digit count beyond the first four); returns the position after. (From
 * 10⁸ on: the digits above 10⁸ — fewer than 10⁸ of them for a safe integer — then the lower eight, zero-padded.)
 */
function writeInt(buf: Uint8Array, p: number, x: number): number {
  if (x < 10_000) return writeSmall(buf, p, x);
  if (x < 100_000_000) {
    const high = Math.floor(x / 10_000);
    return writeQuad(buf, writeSmall(buf, p, high), x - high * 10_000);
  }
  const high = Math.floor(x / 100_000_000);
  const low = x - high * 100_000_000;
  const middle = Math.floor(low / 10_000);
  return writeQuad(buf, writeQuad(buf, writeInt(buf, p, high), middle), low - middle * 10_000);
}

const fromUtf8 = new TextDecoder();

/** UTF-8 of a text without lone surrogates, for {@link ChunkWriter.bytes}. @internal */
export function encode(text: string): Uint8Array {
  return utf8.encode(text);
}

/**
 * The length a {@link ChunkWriter}'s buffer of `length` bytes grows to when `needed` bytes must fit: double (so a row
 * larger than a chunk, written piece by piece, copies its bytes a constant number of times on average), straight to a
 * chunk's buffer where doubling would come just short of it, and at least `needed` and a row's slack.
 *
 * @example
 * ```ts
 * grownLength(16_384, 16_385); // 32_768
 * ```
 * @internal
 */
export function grownLength(length: number, needed: number): number {
  const doubled = length < CHUNK_BUFFER && 2 * length >= CHUNK_CHARS ? CHUNK_BUFFER : 2 * length;
  return Math.max(doubled, needed + 4096);
}

/**
 * Packs snapshot rows into chunk texts as they are produced: each chunk is the JSON array `[[keyGroup, path,
 * value?], …]` a store writes (a row without value is a deletion; a value is a string, or — keyed state, written
 * with {@link rawValue} — the JSON array the string would hold, without a second escaping), closed once its UTF-8 text reaches
 * {@link CHUNK_CHARS} bytes. Rows are written as UTF-8 into one growing byte buffer and a chunk becomes a string once,
 * when it closes: no string per row or per piece of a row (building rows as strings and joining them cost twice as
 * much, half of it in collecting the garbage). Paths and values are given as they appear inside the JSON string
 * literals (escaped, so they hold no lone surrogates). A row is written piecewise — {@link begin}, {@link text},
 * {@link ascii}, {@link num}, {@link value}, {@link end} — or whole with {@link row}.
 *
 * @example
 * ```ts
 * const w = new ChunkWriter();
 * w.row(41, escapeJson('["s","n","value","","\\"k\\""]'), '[0,1]');
 * w.finish(); // one chunk: the JSON of [[41, '["s","n","value","","\\"k\\""]', '[0,1]']]
 * ```
 * @internal
 */
export class ChunkWriter {
  readonly chunks: string[] = [];
  count = 0;
  private buf = new Uint8Array(FIRST_BUFFER);
  /** bytes of the open chunk */
  private p = 0;
  /** bytes of the chunks closed so far */
  private closedBytes = 0;
  /** where the open row starts in the open chunk (a chunk closes only after a row) */
  private rowStart = 0;
  /** How many rows of each size were written so far: see {@link RowSizes}. */
  readonly rowSizes: number[] = noRows();

  /** Bytes written so far, over all chunks (a row's size is the difference before and after it). */
  get size(): number {
    return this.closedBytes + this.p;
  }

  /** Where the next byte goes in the open chunk (for {@link rewind}). */
  get position(): number {
    return this.p;
  }

  /** Drops what was written after {@link position} `p` (within the same row). */
  rewind(p: number): void {
    this.p = p;
  }

  /**
   * Replaces the byte at position `at` of the open row (an ASCII character written before, e.g. a payload's flag decided
   * once its value is written: a row stays in the buffer until it ends).
   *
   * @example
   * ```ts
   * const flagAt = w.position + 1; w.ascii('[0,'); … ; if (appended) w.patchByte(flagAt, 56); // '8'
   * ```
   * @internal
   */
  patchByte(at: number, c: number): void {
    this.buf[at] = c;
  }

  /** Room for `n` more bytes. */
  private ensure(n: number): void {
    if (this.p + n <= this.buf.length) return;
    const bigger = new Uint8Array(grownLength(this.buf.length, this.p + n));
    bigger.set(this.buf.subarray(0, this.p));
    this.buf = bigger;
  }

  /** Starts a row: `[keyGroup,"` (after the chunk's `[` or the previous row's `,`). */
  begin(keyGroup: number): void {
    this.ensure(32);
    this.rowStart = this.p;
    const first = this.p === 0;
    this.buf[this.p++] = first ? 91 : 44; // '[' opens the chunk, ',' separates rows
    this.buf[this.p++] = 91;
    this.num(keyGroup);
    this.buf[this.p++] = 44;
    this.buf[this.p++] = 34;
  }

  /** Text with only ASCII characters (digits, JSON punctuation, escaped constants). */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.p;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.p = p;
  }

  /** One ASCII character by its code (JSON punctuation). */
  byte(c: number): void {
    this.ensure(1);
    this.buf[this.p++] = c;
  }

  /** Bytes as they are (text encoded once with {@link encode}, e.g. a prefix every row repeats). */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.p;
    for (let i = 0; i < n; i++) buf[p++] = b[i] as number;
    this.p = p;
  }

  /**
   * An array of finite numbers (not -0) and nulls as its JSON (`[1,null,2]`), written directly; false (and nothing
   * written) when it has anything else.
   */
  numbers(a: readonly unknown[]): boolean {
    const start = this.p;
    this.ensure(1);
    this.buf[this.p++] = 91;
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (i > 0) {
        this.ensure(1);
        this.buf[this.p++] = 44;
      }
      if (x === null) this.ascii('null');
      else if (isPlainNumber(x)) this.num(x);
      else {
        this.p = start;
        return false;
      }
    }
    this.ensure(1);
    this.buf[this.p++] = 93;
    return true;
  }

  /** Any text without lone surrogates (escaped JSON string content), as UTF-8. */
  text(s: string): void {
    const n = s.length;
    this.ensure(3 * n);
    if (n > 48) {
      this.p += utf8.encodeInto(s, this.buf.subarray(this.p)).written;
      return;
    }
    const buf = this.buf;
    let p = this.p;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.p = p + utf8.encodeInto(s.slice(i), buf.subarray(p)).written;
        return;
      }
      buf[p++] = c;
    }
    this.p = p;
  }

  /** A positive safe integer (ids, prices, times: what records mostly hold) as JSON writes it. */
  positiveInteger(x: number): void {
    this.ensure(16);
    this.p = writeInt(this.buf, this.p, x);
  }

  /** A finite number as JSON writes it. */
  num(x: number): void {
    if (Number.isSafeInteger(x) && !(x === 0 && 1 / x < 0)) {
      this.ensure(17);
      if (x < 0) {
        this.buf[this.p++] = 45;
        x = -x;
      }
      this.p = writeInt(this.buf, this.p, x);
      return;
    }
    this.ascii(String(x));
  }

  /**
   * The items as comma-separated JSON numbers when every one is an integer below 10¹² in magnitude (not -0): true;
   * otherwise false, with nothing written. One loop over the items with the buffer in locals (a `Set` of ids, as
   * distinct counts hold, costs little more than iterating it); room is made as it goes (`count`, the number of
   * items, bounds the first step), so a collection it declines at its first item costs no buffer.
   */
  integerItems(items: Iterable<unknown>, count: number): boolean {
    const start = this.p;
    this.ensure(ITEM_BYTES * Math.min(count, ITEMS_PER_STEP) + 1);
    let buf = this.buf;
    let p = start;
    for (const item of items) {
      if (p + ITEM_BYTES > buf.length) {
        this.p = p;
        this.ensure(ITEM_BYTES * ITEMS_PER_STEP);
        buf = this.buf;
      }
      p = writeIntegerItem(buf, p, item, p === start);
      if (p < 0) {
        this.p = start;
        return false;
      }
    }
    this.p = p;
    return true;
  }

  /** The item {@link integerReader} read and did not write (not such an integer), for its caller to write. */
  declinedItem: unknown = undefined;

  /**
   * {@link integerItems} of `count` items read from `reader` — a TrackedSet's whole write, which leaves its reader after
   * its last item: never read past it, since an iterator that has once said `done` is done for good. Returns how many
   * it wrote: `count`, or fewer when it read an item that is not such an integer — that one is in
   * {@link declinedItem}, for the caller to write (after a comma unless it is the first) with the rest; what was
   * written stays.
   */
  integerReader(reader: Iterator<unknown>, count: number): number {
    this.ensure(ITEM_BYTES * Math.min(count, ITEMS_PER_STEP) + 1);
    let buf = this.buf;
    let p = this.p;
    for (let k = 0; k < count; k++) {
      if (p + ITEM_BYTES > buf.length) {
        this.p = p;
        this.ensure(ITEM_BYTES * ITEMS_PER_STEP);
        buf = this.buf;
      }
      const item: unknown = reader.next().value;
      const next = writeIntegerItem(buf, p, item, k === 0);
      if (next < 0) {
        this.p = p;
        this.declinedItem = item;
        return k;
      }
      p = next;
    }
    this.p = p;
    return count;
  }

  /**
   * {@link integerItems} of an array's items (an indexed loop: the items a Set gained since a checkpoint, arrays of
   * ids), so that neither loop iterates both kinds of collection.
   */
  integerArray(items: readonly unknown[]): boolean {
    const start = this.p;
    const n = items.length;
    this.ensure(ITEM_BYTES * Math.min(n, ITEMS_PER_STEP) + 1);
    let buf = this.buf;
    let p = start;
    for (let i = 0; i < n; i++) {
      if (p + ITEM_BYTES > buf.length) {
        this.p = p;
        this.ensure(ITEM_BYTES * ITEMS_PER_STEP);
        buf = this.buf;
      }
      p = writeIntegerItem(buf, p, items[i], i === 0);
      if (p < 0) {
        this.p = start;
        return false;
      }
    }
    this.p = p;
    return true;
  }


  /**
   * A string of ASCII characters as its JSON literal, escaped as `JSON.stringify` escapes it (`\"`, `\\`, `\n` and the
   * other short forms, `\u001f` for the other control characters; DEL as it is); false, with nothing written, for a
   * string with any character from U+0080 on, and for one of more than {@link LONG_ESCAPED} characters with any to
   * escape (the caller writes those with `JSON.stringify`, faster per character than this loop). Checked and copied in
   * one loop; a long string with nothing to escape is checked by a regular expression and copied by the encoder (both
   * native: about twice as fast per character as the loop, whose per-call cost is lower).
   */
  asciiString(s: string): boolean {
    const n = s.length;
    if (n > LONG_STRING) {
      if (NOT_PLAIN.test(s)) {
        if (n > LONG_ESCAPED) return false;
      } else {
        this.ensure(n + 2);
        this.buf[this.p++] = 34;
        this.p += utf8.encodeInto(s, this.buf.subarray(this.p)).written;
        this.buf[this.p++] = 34;
        return true;
      }
    }
    this.ensure(n + 2);
    const start = this.p;
    let buf = this.buf;
    let p = start;
    buf[p++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c !== 34 && c !== 92) {
        if (c >= 0x80) {
          this.p = start;
          return false;
        }
        buf[p++] = c;
        continue;
      }
      // an escape: up to six bytes for this character, room for the rest as they are
      if (p + 6 + (n - i) > buf.length) {
        this.p = p;
        this.ensure(6 + (n - i));
        buf = this.buf;
      }
      const short = SHORT_ESCAPES[c] as number;
      buf[p++] = 92;
      if (short !== 0) buf[p++] = short;
      else {
        // \u00XX, lower-case hex as JSON.stringify writes it
        buf[p++] = 117;
        buf[p++] = 48;
        buf[p++] = 48;
        buf[p++] = HEX_DIGITS[c >> 4] as number;
        buf[p++] = HEX_DIGITS[c & 15] as number;
      }
    }
    buf[p++] = 34;
    this.p = p;
    return true;
  }

  /**
   * Text whose every character is printable ASCII other than `"` and `\\` (nothing to escape, at any depth of JSON
   * strings), as it is: true; false, with nothing written, for any other text (the caller escapes it). Checked and
   * copied in one loop (a string key inside a row's path: a regular expression's test, then the copy, took longer).
   */
  plainText(s: string): boolean {
    const n = s.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.p;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return false;
      buf[p++] = c;
    }
    this.p = p;
    return true;
  }

  /**
   * An object's key as `"key":` (after a comma when it is not the first), when every character of the key is printable
   * ASCII other than `"` and `\\`: true; false, with nothing written, for any other key (the caller writes it escaped).
   * (A loop of its own: written as a comma, {@link asciiString} and a colon, the writer took 5–20 % longer over Nexmark
   * records.)
   */
  key(k: string, comma: boolean): boolean {
    const n = k.length;
    this.ensure(n + 4);
    const buf = this.buf;
    let p = this.p;
    if (comma) buf[p++] = 44;
    buf[p++] = 34;
    for (let i = 0; i < n; i++) {
      const c = k.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return false;
      buf[p++] = c;
    }
    buf[p++] = 34;
    buf[p++] = 58;
    this.p = p;
    return true;
  }

  /**
   * Between a row's path and a value given as JSON itself (not inside a string literal): `",`. The row then ends with
   * {@link endRaw}.
   */
  rawValue(): void {
    this.ensure(2);
    this.buf[this.p++] = 34;
    this.buf[this.p++] = 44;
  }

  /** Ends a row whose value was written as JSON itself ({@link rawValue}): `]`; closes the chunk once it is full. */
  endRaw(): void {
    this.ensure(1);
    this.buf[this.p++] = 93;
    this.rowEnded();
  }

  private rowEnded(): void {
    this.count++;
    (this.rowSizes[rowSizeClass(this.p - this.rowStart)] as number)++;
    if (this.p >= CHUNK_CHARS) this.close();
  }

  /** Between a row's path and its value: `","`. */
  value(): void {
    this.ensure(3);
    this.buf[this.p++] = 34;
    this.buf[this.p++] = 44;
    this.buf[this.p++] = 34;
  }

  /** Ends a row: `"]`; closes the chunk once it is full. */
  end(): void {
    this.ensure(3);
    this.buf[this.p++] = 34;
    this.buf[this.p++] = 93;
    this.rowEnded();
  }

  /**
   * A whole row; `path` and `value` already escaped ({@link escapeJson}), or `value` JSON written as it is (`raw`: a
   * keyed payload); no value = deletion.
   */
  row(keyGroup: number, path: string, value: string | undefined, raw = false): void {
    this.begin(keyGroup);
    this.text(path);
    if (value === undefined) {
      this.end();
    } else if (raw) {
      this.rawValue();
      this.text(value);
      this.endRaw();
    } else {
      this.value();
      this.text(value);
      this.end();
    }
  }

  private close(): void {
    this.ensure(1);
    this.buf[this.p++] = 93;
    this.chunks.push(fromUtf8.decode(this.buf.subarray(0, this.p)));
    this.closedBytes += this.p;
    this.p = 0;
  }

  /** An entry in its plain form (escaped here); an entry read from a raw row as a raw row again. */
  entry(e: SnapshotEntry): void {
    const raw = rawPayloadOf(e) !== undefined;
    this.row(e.keyGroup, escapeJson(e.path), raw || e.value === undefined ? e.value : escapeJson(e.value), raw);
  }

  /** The chunks, the last one closed. */
  finish(): string[] {
    if (this.p > 0) this.close();
    return this.chunks;
  }
}

/** A non-negative safe integer (key groups, ids, counts in stored data). @internal */
export const isIndex = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

const RAW_PAYLOAD = Symbol('tidewater.rawPayload');

/**
 * The entry of a raw row: `value` is its payload's text, made on first read (an own enumerable getter, so a copy,
 * `JSON.stringify` or a structured clone of the entry sees the text); a restore takes the parsed payload itself
 * ({@link rawPayloadOf}) and never makes the text.
 *
 * @example
 * ```ts
 * const e = rawEntry(3, '["s","l","list","","\\"a\\""]', [0, [1, 2]]);
 * e.value; // '[0,[1,2]]'
 * ```
 * @internal
 */
export function rawEntry(keyGroup: number, path: string, payload: unknown[]): SnapshotEntry {
  let text: string | undefined;
  return {
    keyGroup,
    path,
    get value(): string {
      return (text ??= JSON.stringify(payload));
    },
    [RAW_PAYLOAD]: payload,
  } as SnapshotEntry;
}

/**
 * The payload of an entry read from a raw row as the chunk's parse gave it (JSON, not yet decoded by the state codec),
 * or undefined for an entry whose value is only text. A copy of a raw entry (a spread, perhaps with a `value` of its
 * own) carries the payload along but has `value` as data: it is an entry of text. Not to be changed: the entry's
 * `value` is made from it. (Not a `WeakMap` beside the entries: hundreds of thousands of entries there made every
 * collection of the garbage crawl.)
 * @internal
 */
export function rawPayloadOf(e: SnapshotEntry): unknown[] | undefined {
  const payload = (e as { [RAW_PAYLOAD]?: unknown[] })[RAW_PAYLOAD];
  return payload !== undefined && Object.getOwnPropertyDescriptor(e, 'value')?.get !== undefined ? payload : undefined;
}

/** Whether an entry has a value (is not a deletion), without making a raw row's text. @internal */
export function hasValue(e: SnapshotEntry): boolean {
  return rawPayloadOf(e) !== undefined || e.value !== undefined;
}

/**
 * Decodes parsed chunk rows (`[[keyGroup, path, value?], …]`) into entries (appended to `out`); false when malformed.
 * A value is the entry's text, or (keyed state, since the format's raw rows) that text's JSON array itself, given back
 * as its text. @internal
 */
export function unpackRows(rows: unknown, out: SnapshotEntry[]): boolean {
  if (!Array.isArray(rows)) return false;
  for (const r of rows as unknown[]) {
    if (!Array.isArray(r)) return false;
    const [keyGroup, path, value] = r as unknown[];
    if (!isIndex(keyGroup) || typeof path !== 'string' || r.length > 3) return false;
    if (value === undefined || typeof value === 'string') out.push({ keyGroup, path, value });
    else if (Array.isArray(value)) out.push(rawEntry(keyGroup, path, value));
    else return false;
  }
  return true;
}

/** Decodes the rows of one chunk text into entries (appended to `out`); false when it is not a valid chunk. @internal */
export function unpackChunk(text: string, out: SnapshotEntry[]): boolean {
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    return false;
  }
  return unpackRows(rows, out);
}

/**
 * What a delta snapshot does to the state its chain holds, for sizing chains (`runJob`): its rows that rewrite an
 * entry (or a key's timers) the previous snapshot had, and those that delete one — each, how many and their UTF-8
 * bytes; its other rows add entries. Both kinds make an earlier row of the chain dead weight (see {@link RowSizes}).
 *
 * @example
 * ```ts
 * const churn: SnapshotChurn = { rewriteRows: 4, rewriteBytes: 1_200, deleteRows: 3, deleteBytes: 120 };
 * ```
 * @internal
 */
export interface SnapshotChurn {
  readonly rewriteRows: number;
  readonly rewriteBytes: number;
  readonly deleteRows: number;
  readonly deleteBytes: number;
}

/**
 * The number of size classes of {@link RowSizes}: four per power of two.
 *
 * @example
 * ```ts
 * const sizes = new Array<number>(ROW_SIZE_CLASSES).fill(0);
 * ```
 * @internal
 */
export const ROW_SIZE_CLASSES = 128;

/**
 * How many rows of a snapshot (or a chain of them) are of each size class ({@link rowSizeClass}: a quarter of a power
 * of two wide, so a row is at least four fifths of its class's upper end). A job charges the rows a delta supersedes
 * at the largest rows its chain holds (see `runJob`), without keeping each row's size.
 *
 * @example
 * ```ts
 * const sizes: RowSizes = w.rowSizes; // sizes[rowSizeClass(100)]: rows of 96–111 bytes
 * ```
 * @internal
 */
export type RowSizes = readonly number[];

/**
 * The size class of a row of `bytes` (≥ 1) bytes: `4 · floor(log2(bytes))` plus the two bits after the leading one
 * (bytes 1–3: one class per power of two).
 *
 * @example
 * ```ts
 * rowSizeClass(100); // 26: rows of 96–111 bytes
 * ```
 * @internal
 */
export function rowSizeClass(bytes: number): number {
  const power = 31 - Math.clz32(bytes);
  return power < 2 ? 4 * power : 4 * power + ((bytes >>> (power - 2)) & 3);
}

/**
 * A {@link RowSizes} with no rows, to add to.
 *
 * @example
 * ```ts
 * const sizes = noRows(); // sizes.every((n) => n === 0)
 * ```
 * @internal
 */
export function noRows(): number[] {
  return new Array<number>(ROW_SIZE_CLASSES).fill(0);
}

/**
 * Adds the rows counted in `sizes` to `into`.
 *
 * @example
 * ```ts
 * const chain = noRows();
 * addRows(chain, writer.rowSizes);
 * ```
 * @internal
 */
export function addRows(into: number[], sizes: RowSizes): void {
  for (let c = 0; c < ROW_SIZE_CLASSES; c++) into[c] = (into[c] ?? 0) + (sizes[c] ?? 0);
}

/** The largest row size of a class of {@link rowSizeClass}. */
function classTop(sizeClass: number): number {
  const power = sizeClass >> 2;
  return power < 2 ? 2 ** (power + 1) - 1 : (5 + (sizeClass & 3)) * 2 ** (power - 2) - 1;
}

/**
 * Removes the `k` largest rows from `sizes` (largest first) and returns at least their bytes (each at its class's
 * upper end: under 5/4 of its size).
 *
 * @example
 * ```ts
 * const sizes = noRows();
 * sizes[rowSizeClass(100)] = 2; // two rows of 96–111 bytes
 * takeLargestRows(sizes, 1); // 111; one row left
 * ```
 * @internal
 */
export function takeLargestRows(sizes: number[], k: number): number {
  let bytes = 0;
  for (let c = sizes.length - 1; c >= 0 && k > 0; c--) {
    const n = Math.min(sizes[c] as number, k);
    if (n === 0) continue;
    bytes += n * classTop(c);
    sizes[c] = (sizes[c] as number) - n;
    k -= n;
  }
  return bytes;
}

/**
 * An {@link OperatorSnapshot} whose entries were packed into chunk texts as the operator produced them (what keyed
 * operators take): a store writes the chunks as they are, and `entries` is decoded from them on first use.
 * @internal
 */
export class PackedSnapshot implements OperatorSnapshot {
  private decoded: SnapshotEntry[] | undefined;
  readonly watermark?: string;
  constructor(
    readonly operator: string,
    readonly full: boolean,
    readonly maxParallelism: number,
    /** chunk texts, see {@link ChunkWriter} */
    readonly chunks: readonly string[],
    /** number of entries in the chunks */
    readonly count: number,
    watermark?: string,
    /** Of a delta: how much of it rewrites or deletes what the chain holds (undefined: not known). */
    readonly churn?: SnapshotChurn,
    /** How many of its rows are of each size (undefined: not known). */
    readonly rowSizes?: RowSizes,
  ) {
    if (watermark !== undefined) this.watermark = watermark;
  }

  get entries(): readonly SnapshotEntry[] {
    if (this.decoded === undefined) {
      const out: SnapshotEntry[] = [];
      for (const c of this.chunks) if (!unpackChunk(c, out)) throw new Error(`${this.operator}: a packed snapshot chunk does not decode`);
      this.decoded = out;
    }
    return this.decoded;
  }

  /** The plain {@link OperatorSnapshot} form (what `JSON.stringify` writes). */
  toJSON(): OperatorSnapshot {
    return {
      operator: this.operator,
      full: this.full,
      maxParallelism: this.maxParallelism,
      ...(this.watermark !== undefined ? { watermark: this.watermark } : {}),
      entries: this.entries,
    };
  }

  /** The same snapshot with the operator's watermark (undefined: none, MIN). */
  withWatermark(watermark: string | undefined): PackedSnapshot {
    return new PackedSnapshot(this.operator, this.full, this.maxParallelism, this.chunks, this.count, watermark, this.churn, this.rowSizes);
  }
}
