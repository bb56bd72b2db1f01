import type { SideRecord, StreamElement } from '../../elements/index.js';
import { EmittedSideRecord } from '../../elements/plumbing.js';
import { wellFormed } from '../../stores/checksum.js';

/**
 * How stream elements cross between threads: in batches, each one message of a few transferred buffers — the numbers
 * of every element side by side (`Float64Array` sequence numbers and timestamps, a `Uint8Array` of kinds: written in
 * place, no per-element object), and the records' values and keys, each as a `Float64Array` column when they are
 * all numbers (the common case of keys and measurements), string keys as ids into the channel's key dictionary
 * ({@link BatchEncoder}) or, past the dictionary, as one text with their lengths ({@link StringColumn}), else encoded
 * with msgpackr (its record extension writes an object shape once per batch); an
 * output record whose key is that of the input record being processed refers to it ({@link EncodedBatch.keyRefs}).
 * Measured on a 2-core machine (bench/parallel.ts), encode + copy + decode of a record on one thread: structured
 * clone of arrays of records ≈ 0.6 M records/s, this ≈ 11 M/s with 100 string keys and ≈ 5.4 M/s with 100 000
 * (the keys' text crosses; 2.6 M/s with UUID keys). Values keep their types through
 * msgpackr (Date, Map, Set, bigint, typed arrays, undefined); class instances arrive as plain objects, `-0` as `0`,
 * functions as `undefined`, a lone surrogate in a string inside a value that msgpackr carries as U+FFFD (its UTF-8),
 * an object's own property named `__proto__` as `__proto_` (msgpackr renames it, against prototype pollution);
 * in a numeric column `-0` and NaN stay as they are, and keys always arrive as they were sent — a batch whose keys
 * would lose a lone surrogate or a `-0` in msgpackr sends them as an array, structured-cloned (docs/ARCHITECTURE.md, "Parallel subtasks").
 *
 * @internal
 */

/** Element kinds in a batch. */
const RECORD = 0;
const WATERMARK = 1;
const IDLE = 2;
const ACTIVE = 3;
const BARRIER = 4;
/** A barrier whose checkpoint takes full snapshots. */
const BARRIER_FULL = 5;
/** A side-output record: a record slot whose value is `[tag, value]` and whose key is undefined. */
const SIDE = 6;
/**
 * A side-output record that a worker passes on as it received it: a record slot `[tag, value, seq]`, `seq` the number
 * of the input element it came as — the receiver hands back that element's object (see {@link BatchEncoder.addPassedSide}).
 */
const PASSED_SIDE = 7;

/**
 * Strings side by side: their texts joined into one string and each one's length (a string crosses `postMessage` as
 * one copy of its characters; msgpackr's UTF-8 encoding of many short strings costs ≈ 3–4× more on the sender).
 *
 * @internal
 */
export interface StringColumn {
  readonly text: string;
  readonly lengths: Uint32Array;
}

/** One encoded batch: what a message carries. @internal */
export interface EncodedBatch {
  /** `count` sequence numbers, then `count` timestamps (or barrier ids), as float64. */
  readonly numbers: Float64Array;
  readonly kinds: Uint8Array;
  /**
   * The records' values, in order: a column of float64 when all are numbers, a {@link StringColumn} when all are
   * strings, else msgpackr of the array.
   */
  readonly values: Float64Array | Uint8Array | StringColumn | undefined;
  /**
   * The records' keys that are not {@link keyRefs} (all of them when there are none), in order: a float64 column
   * when all are numbers; ids into the channel's key dictionary when all are strings that have one (see
   * {@link newKeys}); a {@link StringColumn} when all are strings; else msgpackr of the array — or the array itself
   * (structured-cloned by `postMessage`) when a key has a lone surrogate, which msgpackr's UTF-8 would turn into
   * U+FFFD (another key, in another key group), or a `-0`, which msgpackr would send as 0.
   */
  readonly keys: Float64Array | Uint32Array | Uint8Array | StringColumn | readonly unknown[] | undefined;
  /**
   * Keys this batch adds to the dictionary, with ids from {@link keyBase} on — also when its keys travel otherwise (a
   * batch of mixed keys), so that the receiver's dictionary stays the sender's.
   */
  readonly newKeys: StringColumn | Uint8Array | undefined;
  /** The id of the first of {@link newKeys} (the receiver's dictionary is cut to this length first); else the dictionary's size. */
  readonly keyBase: number;
  /**
   * Per record, when some record's key is the key of an input record of the message being processed (a keyed
   * operator's output): that record's index in that message, else −1 (the key is in {@link keys}). The receiver,
   * which sent that message, still holds its keys (see {@link BatchDecoder.open}).
   */
  readonly keyRefs: Int32Array | undefined;
}

/** What encodes the records' values and keys (msgpackr, loaded with the threads: see `msgpack.ts`). @internal */
export interface ValueCodec {
  pack(values: unknown[]): Uint8Array;
  unpack(bytes: Uint8Array): unknown;
}

/**
 * The key dictionary's size past which the sender drops it: with many distinct keys its lookups miss the CPU caches
 * and cost more than sending the keys' text (measured: a `Map` lookup of one of 100 000 string keys ≈ 350 ns, of one
 * of 100 ≈ 20 ns; msgpackr encode + decode of a short string ≈ 75–240 ns).
 */
const DICTIONARY_LIMIT = 1 << 14;
/** Batches whose string keys go as text after the dictionary was dropped, before a new one is tried. */
const DICTIONARY_PAUSE = 64;
/**
 * The longest pause: each drop right after a new dictionary doubles the pause (a channel that keeps seeing many keys
 * stops paying for dictionaries it drops again), up to this many batches (≈ 8 M records), after which it tries again.
 */
const MAX_DICTIONARY_PAUSE = 1024;

/**
 * Collects elements with their sequence numbers and encodes them as one {@link EncodedBatch}. Reused: after
 * {@link take} it is empty again. One encoder per channel (one direction between two threads): it keeps the channel's
 * key dictionary — string keys cross as 32-bit ids, each distinct key's text once — so the receiver decodes keys with
 * one {@link BatchDecoder} per channel, and gets the same string object for the same key each time (no string is
 * decoded or allocated per record, and the string's hash is computed once).
 *
 * @internal
 */
export class BatchEncoder {
  // columns written in place (grown by doubling), values and keys in one array reused from batch to batch
  private seqs = new Float64Array(256);
  private stamps = new Float64Array(256);
  private kinds = new Uint8Array(256);
  private n = 0;
  private readonly values: unknown[] = [];
  private readonly keys: unknown[] = [];
  /** Whether every value (key) so far is a number: then they travel as a float64 column. */
  private numericValues = true;
  /** Whether every value so far is a string: then they travel as a {@link StringColumn}. */
  private stringValues = true;
  private numericKeys = true;
  /** Whether every key so far is a string: then they travel as dictionary ids. */
  private stringKeys = true;
  /** The channel's key dictionary: string key → id. */
  private readonly keyIds = new Map<string, number>();
  /** Batches left before the dictionary is used again (see {@link DICTIONARY_PAUSE}). */
  private dictionaryPaused = 0;
  /** The pause after the next drop (doubles while dictionaries are dropped again as soon as they are tried). */
  private nextPause = DICTIONARY_PAUSE;
  /** Batches taken since the dictionary was last started anew. */
  private dictionaryAge = 0;
  /** The dictionary reached {@link DICTIONARY_LIMIT} in this batch: it takes no more keys and is dropped at `take`. */
  private dictionaryFull = false;
  /** Per string key of the batch (by position among the keys not given by reference): its dictionary id, or −1. */
  private ids = new Uint32Array(256);
  /** Whether every key given by value so far has a dictionary id. */
  private allIds = true;
  /** The id of the first key this batch added to the dictionary. */
  private firstNewId = 0;
  /** Keys this batch added to the dictionary, in id order. */
  private readonly newKeys: string[] = [];
  /**
   * Called when the dictionary is dropped (its ids are given to other keys from then on): whoever kept ids of this
   * channel (the host's routing cache) forgets them.
   */
  onDictionaryDropped: (() => void) | undefined;
  /** Per record: the index of the input record whose key it has, or −1 (then its key is in `keys`). */
  private refs = new Int32Array(256);
  private refCount = 0;
  /** Keys not given by reference. */
  private otherKeys = 0;
  /** Records in the batch. */
  records = 0;

  get size(): number {
    return this.n;
  }

  /** The sequence number of the batch's first element (Infinity when empty). */
  get firstSeq(): number {
    return this.n === 0 ? Infinity : (this.seqs[0] as number);
  }

  private grow(): void {
    const cap = this.seqs.length * 2;
    const seqs = new Float64Array(cap);
    seqs.set(this.seqs);
    const stamps = new Float64Array(cap);
    stamps.set(this.stamps);
    const kinds = new Uint8Array(cap);
    kinds.set(this.kinds);
    this.seqs = seqs;
    this.stamps = stamps;
    this.kinds = kinds;
  }

  /** The index of a new element numbered `seq` (its kind and timestamp for the caller to set). */
  private slotFor(seq: number): number {
    const i = this.n;
    if (i === this.seqs.length) this.grow();
    this.seqs[i] = seq;
    this.n = i + 1;
    return i;
  }

  /**
   * Adds side record `e`, the input element number `from` passed on unchanged (a worker's output): the receiver hands
   * back the object that went in, so that a merge meeting it on another branch too knows it (docs/SEMANTICS.md §14).
   */
  addPassedSide(seq: number, e: SideRecord<unknown>, from: number): void {
    const i = this.slotFor(seq);
    this.kinds[i] = PASSED_SIDE;
    this.stamps[i] = e.timestamp;
    this.addSlot([e.tag, e.value, from], undefined, -1, -1);
  }

  /**
   * Adds an element. `keyRef` ≥ 0: the record's key is that of input record `keyRef` of the message the receiver
   * sent and this side is processing (see {@link EncodedBatch.keyRefs}); the key itself is not sent.
   */
  add(seq: number, e: StreamElement<unknown, unknown>, fullBarrier = false, keyRef = -1, keyId = -1): void {
    const i = this.slotFor(seq);
    switch (e.kind) {
      case 'record':
        this.kinds[i] = RECORD;
        this.stamps[i] = e.timestamp;
        this.addSlot(e.value, e.key, keyRef, keyId);
        return;
      case 'side':
        // rare: its undefined key sends the batch's keys through msgpackr
        this.kinds[i] = SIDE;
        this.stamps[i] = e.timestamp;
        this.addSlot([e.tag, e.value], undefined, -1, -1);
        return;
      case 'watermark':
        this.kinds[i] = WATERMARK;
        this.stamps[i] = e.timestamp;
        return;
      case 'status':
        this.kinds[i] = e.idle ? IDLE : ACTIVE;
        this.stamps[i] = 0;
        return;
      case 'barrier':
        this.kinds[i] = fullBarrier ? BARRIER_FULL : BARRIER;
        this.stamps[i] = e.checkpointId;
        return;
    }
  }

  /**
   * The dictionary id of string key `key` (added to the dictionary when new), or −1 while the dictionary takes no
   * keys (too many distinct keys: they travel as text). The id holds until {@link onDictionaryDropped}.
   */
  keyId(key: string): number {
    if (this.dictionaryPaused > 0 || this.dictionaryFull) return -1;
    const dictionary = this.keyIds;
    const id = dictionary.get(key);
    if (id !== undefined) return id;
    const fresh = dictionary.size;
    if (fresh >= DICTIONARY_LIMIT) {
      this.dictionaryFull = true;
      return -1;
    }
    if (this.newKeys.length === 0) this.firstNewId = fresh;
    dictionary.set(key, fresh);
    this.newKeys.push(key);
    return fresh;
  }

  /**
   * A record's value and key (or `keyRef`, see {@link add}; `keyId`: the key's dictionary id when the caller has it
   * from {@link keyId}) in the next record slot.
   */
  private addSlot(value: unknown, key: unknown, keyRef: number, keyId: number): void {
    const r = this.records++;
    this.values[r] = value;
    if (typeof value !== 'number') this.numericValues = false;
    if (typeof value !== 'string') this.stringValues = false;
    if (r === this.refs.length) {
      const refs = new Int32Array(r * 2);
      refs.set(this.refs);
      this.refs = refs;
    }
    this.refs[r] = keyRef;
    if (keyRef >= 0) {
      this.refCount++;
      return;
    }
    const k = this.otherKeys++;
    this.keys[k] = key;
    if (typeof key === 'string') {
      this.numericKeys = false;
      if (this.allIds) {
        const id = keyId >= 0 ? keyId : this.keyId(key);
        if (id < 0) this.allIds = false;
        else {
          if (k === this.ids.length) {
            const ids = new Uint32Array(k * 2);
            ids.set(this.ids);
            this.ids = ids;
          }
          this.ids[k] = id;
        }
      }
    } else {
      this.stringKeys = false;
      if (typeof key !== 'number') this.numericKeys = false;
    }
  }

  /** The keys of the batch's records so far (given by value: none by reference), in order: a copy. */
  recordKeys(): unknown[] {
    return this.keys.slice(0, this.otherKeys);
  }

  /** The batch so far, encoded; the encoder is empty after. */
  take(codec: ValueCodec): EncodedBatch {
    const n = this.n;
    const numbers = new Float64Array(2 * n);
    numbers.set(this.seqs.subarray(0, n));
    numbers.set(this.stamps.subarray(0, n), n);
    const kinds = this.kinds.slice(0, n);
    const r = this.records;
    const values = r === 0 ? undefined : this.stringValues ? stringColumn(this.values, r, codec) : column(this.values, r, this.numericValues, codec);
    const keyRefs = this.refCount > 0 ? this.refs.slice(0, r) : undefined;
    const k = this.otherKeys;
    let keys: EncodedBatch['keys'];
    let newKeys: StringColumn | Uint8Array | undefined;
    let keyBase = this.keyIds.size;
    if (this.newKeys.length > 0) {
      // (sent whatever way the keys travel: the receiver's dictionary follows the sender's)
      keyBase = this.firstNewId;
      newKeys = stringColumn(this.newKeys, this.newKeys.length, codec);
      this.newKeys.length = 0;
    }
    if (k === 0) keys = undefined;
    else if (this.stringKeys) keys = this.allIds ? this.ids.slice(0, k) : stringColumn(this.keys, k, codec);
    else if (this.numericKeys || keysSurvivePacking(this.keys, k)) keys = column(this.keys, k, this.numericKeys, codec);
    else keys = this.keys.slice(0, k);
    if (this.dictionaryPaused > 0) this.dictionaryPaused--;
    else this.dictionaryAge++;
    if (this.dictionaryFull) {
      // too many distinct keys: the next batches send their keys' text; then a new dictionary starts (its first key
      // gets id 0, which tells the receiver to drop its own)
      this.keyIds.clear();
      this.dictionaryFull = false;
      // (a dictionary that lasted a while is a new phase of the stream: the pause starts short again)
      if (this.dictionaryAge > DICTIONARY_PAUSE) this.nextPause = DICTIONARY_PAUSE;
      this.dictionaryPaused = this.nextPause;
      this.nextPause = Math.min(2 * this.nextPause, MAX_DICTIONARY_PAUSE);
      this.dictionaryAge = 0;
      this.onDictionaryDropped?.();
    }
    this.n = this.records = this.refCount = this.otherKeys = 0;
    this.numericValues = this.stringValues = this.numericKeys = this.stringKeys = this.allIds = true;
    return { numbers, kinds, values, keys, newKeys, keyBase, keyRefs };
  }
}

/**
 * The first `count` items of `items` as a float64 column (all numbers) or msgpackr bytes. `items` keeps its length
 * (and its storage) from batch to batch: the next batch overwrites it.
 */
function column(items: unknown[], count: number, numeric: boolean, codec: ValueCodec): Float64Array | Uint8Array {
  if (numeric) {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = items[i] as number;
    return out;
  }
  return packed(items, count, codec);
}

/** The first `count` items of `items` packed by msgpackr (into a shared buffer: the message takes a copy of its bytes). */
function packed(items: readonly unknown[], count: number, codec: ValueCodec): Uint8Array {
  return Uint8Array.prototype.slice.call(codec.pack(items.length === count ? (items as unknown[]) : items.slice(0, count)));
}

/**
 * Whether the first `count` keys (strings, numbers, booleans, bigints, arrays of them) come back from msgpackr as
 * they are: no lone surrogate (UTF-8 turns it into U+FFFD) and no `-0` (msgpackr writes it as the integer 0).
 */
function keysSurvivePacking(keys: readonly unknown[], count: number): boolean {
  for (let i = 0; i < count; i++) if (!keySurvivesPacking(keys[i])) return false;
  return true;
}

function keySurvivesPacking(key: unknown): boolean {
  if (typeof key === 'string') return wellFormed(key);
  if (typeof key === 'number') return !Object.is(key, -0);
  if (Array.isArray(key)) {
    for (const part of key as readonly unknown[]) if (!keySurvivesPacking(part)) return false;
  }
  return true;
}

/**
 * A column back: the numbers of a float64 column, the strings of a {@link StringColumn}, a plain array as it came,
 * else what the msgpackr bytes hold.
 */
function uncolumn(bytes: Float64Array | Uint8Array | StringColumn | readonly unknown[] | undefined, codec: ValueCodec): ArrayLike<unknown> {
  if (bytes === undefined) return [];
  if (Array.isArray(bytes)) return bytes as readonly unknown[];
  if (bytes instanceof Float64Array) return bytes;
  return bytes instanceof Uint8Array ? (codec.unpack(bytes) as unknown[]) : strings(bytes as StringColumn);
}

/** The longest text a {@link StringColumn} joins (V8's strings end at 2²⁹ − 24 characters); longer goes through msgpackr. */
const MAX_COLUMN_TEXT = 1 << 28;

/** The first `count` items of `items`, all strings, as a {@link StringColumn} (msgpackr bytes when they are very long). */
function stringColumn(items: readonly unknown[], count: number, codec: ValueCodec): StringColumn | Uint8Array {
  const lengths = new Uint32Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) total += lengths[i] = (items[i] as string).length;
  if (total > MAX_COLUMN_TEXT) return packed(items, count, codec);
  return { text: (items.length === count ? items : items.slice(0, count)).join(''), lengths };
}

/**
 * V8 (Node, Chromium) makes a slice of 13 characters or more a view into the sliced string, which keeps all of it
 * alive: a key kept in state would keep its whole batch's text. Slices that long are copied ({@link strings}).
 */
const SLICE_VIEW_LENGTH = 13;

/**
 * The strings of a {@link StringColumn}, each a string of its own (see {@link SLICE_VIEW_LENGTH}). A text with a
 * character past U+00FF is stored two bytes a character, and so are the strings cut from it (those the dictionary
 * keeps included): twice the memory of the one-byte strings msgpackr decodes for ASCII.
 */
function strings({ text, lengths }: StringColumn): string[] {
  const out = new Array<string>(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i] as number;
    const end = at + length;
    // (a slice of `slice + ' '`, which is flattened into a string of its own first: the view holds only that)
    out[i] = length < SLICE_VIEW_LENGTH ? text.slice(at, end) : (text.slice(at, end) + ' ').slice(0, -1);
    at = end;
  }
  if (at !== text.length) throw new Error(`tidewater internal error: a string column's lengths add up to ${at}, its text has ${text.length} characters`);
  return out;
}

/** The buffer of a column (a string column's lengths: its text is copied). */
const bufferOf = (column: Float64Array | Uint32Array | Uint8Array | StringColumn): ArrayBuffer =>
  (ArrayBuffer.isView(column) ? column.buffer : column.lengths.buffer) as ArrayBuffer;

/** The buffers of a batch to transfer rather than copy with `postMessage`. @internal */
export function transferables(batch: EncodedBatch): ArrayBuffer[] {
  const list = [batch.numbers.buffer as ArrayBuffer, batch.kinds.buffer as ArrayBuffer];
  if (batch.values !== undefined) list.push(bufferOf(batch.values));
  if (batch.keys !== undefined && !Array.isArray(batch.keys)) list.push(bufferOf(batch.keys as Float64Array | Uint32Array | Uint8Array | StringColumn));
  if (batch.newKeys !== undefined) list.push(bufferOf(batch.newKeys));
  if (batch.keyRefs !== undefined) list.push(batch.keyRefs.buffer as ArrayBuffer);
  return list;
}

/**
 * One received batch, read element by element (the elements are made as they are read, so a consumer that holds
 * a batch a while holds its columns, not an object per element).
 *
 * @internal
 */
export class BatchReader {
  /** The next element's index. */
  position = 0;
  /** The index of the next record's value and key. */
  private record = 0;
  readonly length: number;

  constructor(
    private readonly numbers: Float64Array,
    private readonly kinds: Uint8Array,
    private readonly values: ArrayLike<unknown>,
    private readonly keys: ArrayLike<unknown>,
    /** The side record that went in as input element `seq` (see {@link BatchEncoder.addPassedSide}). */
    private readonly sent?: (seq: number) => SideRecord<unknown> | undefined,
  ) {
    this.length = kinds.length;
  }

  /** The sequence number of element `i`. */
  seqAt(i: number): number {
    return this.numbers[i] as number;
  }

  /** Whether the next element is a barrier whose checkpoint takes full snapshots. */
  get fullBarrier(): boolean {
    return this.kinds[this.position] === BARRIER_FULL;
  }

  /** The next element (in the one shape of `record()` for records); moves on. */
  next(): StreamElement<unknown, unknown> {
    const i = this.position++;
    const t = this.numbers[this.length + i] as number;
    switch (this.kinds[i]) {
      case RECORD: {
        const v = this.record++;
        return { kind: 'record', value: this.values[v], timestamp: t, key: this.keys[v] };
      }
      case WATERMARK:
        return { kind: 'watermark', timestamp: t };
      case IDLE:
        return { kind: 'status', idle: true };
      case ACTIVE:
        return { kind: 'status', idle: false };
      case SIDE: {
        const [tag, value] = this.values[this.record++] as [string, unknown];
        return new EmittedSideRecord(tag, value, t);
      }
      case PASSED_SIDE: {
        const [tag, value, from] = this.values[this.record++] as [string, unknown, number];
        return this.sent?.(from) ?? new EmittedSideRecord(tag, value, t);
      }
      default:
        return { kind: 'barrier', checkpointId: t };
    }
  }
}

/** Every record's key: by reference into `sentKeys`, or the next of `others`. */
function resolveRefs(refs: Int32Array, others: ArrayLike<unknown>, sentKeys: ArrayLike<unknown> | undefined): unknown[] {
  const out = new Array<unknown>(refs.length);
  let o = 0;
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i] as number;
    if (ref < 0) out[i] = others[o++];
    else {
      if (sentKeys === undefined || ref >= sentKeys.length) {
        throw new Error(`tidewater internal error: a batch refers to key ${ref} of a message of ${sentKeys?.length ?? 0} records`);
      }
      out[i] = sentKeys[ref];
    }
  }
  return out;
}

/**
 * Decodes the batches of one channel back into elements (it keeps the channel's key dictionary, see
 * {@link BatchEncoder}).
 *
 * @internal
 */
export class BatchDecoder {
  /** The channel's key dictionary: id → key. */
  private readonly dictionary: string[] = [];

  constructor(private readonly codec: ValueCodec) {}

  /**
   * A reader over `batch`'s elements (the batch's new keys enter the dictionary now). `sentKeys`: the keys of the
   * records of the message the sender was processing, which its {@link EncodedBatch.keyRefs} point into.
   */
  open(batch: EncodedBatch, sentKeys?: ArrayLike<unknown>, sentSides?: (seq: number) => SideRecord<unknown> | undefined): BatchReader {
    const values = uncolumn(batch.values, this.codec);
    let keys: ArrayLike<unknown>;
    const ids = batch.keys;
    const dictionary = this.dictionary;
    if (batch.newKeys !== undefined) {
      dictionary.length = batch.keyBase;
      for (const key of uncolumn(batch.newKeys, this.codec) as string[]) dictionary.push(key);
    }
    if (ids instanceof Uint32Array) {
      const out = new Array<string>(ids.length);
      for (let i = 0; i < ids.length; i++) out[i] = dictionary[ids[i] as number] as string;
      keys = out;
    } else keys = uncolumn(ids, this.codec);
    const refs = batch.keyRefs;
    if (refs !== undefined) keys = resolveRefs(refs, keys, sentKeys);
    return new BatchReader(batch.numbers, batch.kinds, values, keys, sentSides);
  }

  /**
   * Calls `each(seq, element, fullBarrier)` for every element of `batch`, in order. `each` may stop early by
   * returning false (the rest is dropped). `sentKeys`: as for {@link open}.
   */
  decode(batch: EncodedBatch, each: (seq: number, e: StreamElement<unknown, unknown>, fullBarrier: boolean) => boolean | void, sentKeys?: ArrayLike<unknown>): void {
    const reader = this.open(batch, sentKeys);
    while (reader.position < reader.length) {
      const seq = reader.seqAt(reader.position);
      const full = reader.fullBarrier;
      if (each(seq, reader.next(), full) === false) return;
    }
  }
}

/**
 * Why a batch could not be encoded (a symbol, a cycle: what msgpackr refuses), and what to do: `what` names the
 * record and its direction, `remedy` where to map it to plain data. @internal
 */
export function cannotCrossMessage(what: string, cause: unknown, remedy: string): string {
  const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return `${what} (${why}). Values and keys crossing threads must be plain data (no symbols, functions or cycles): ${remedy}, or run it in-process (no worker option).`;
}
