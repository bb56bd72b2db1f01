import type { StreamElement } from '../../elements/index.js';

/**
 * How stream elements cross between threads: in batches, each one message of a few transferred buffers — the numbers
 * of every element side by side (`Float64Array` sequence numbers and timestamps, a `Uint8Array` of kinds: written in
 * place, no per-element object), and the records' values and keys, each as a `Float64Array` column when they are
 * all numbers (the common case of keys and measurements), else encoded with msgpackr (its record extension writes an
 * object shape once per batch). Measured on a 2-core machine (bench/parallel.ts): structured clone of arrays of
 * records ≈ 0.6 M records/s, this ≈ 5 M/s encoded and ≈ 7 M/s decoded per thread. Values keep their types through
 * msgpackr (Date, Map, Set, bigint, typed arrays, undefined); class instances arrive as plain objects, `-0` as `0`,
 * functions as `undefined`; in a numeric column `-0` and NaN stay as they are (docs/ARCHITECTURE.md, "Parallel
 * subtasks").
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

/** One encoded batch: what a message carries. @internal */
export interface EncodedBatch {
  /** `count` sequence numbers, then `count` timestamps (or barrier ids), as float64. */
  readonly numbers: Float64Array;
  readonly kinds: Uint8Array;
  /** The records' values, in order: a column of float64 when all are numbers, else msgpackr of the array. */
  readonly values: Float64Array | Uint8Array | undefined;
  /** The records' keys, the same way. */
  readonly keys: Float64Array | Uint8Array | undefined;
}

/** What encodes the records' values and keys (msgpackr, loaded with the threads: see `msgpack.ts`). @internal */
export interface ValueCodec {
  pack(values: unknown[]): Uint8Array;
  unpack(bytes: Uint8Array): unknown;
}

/**
 * Collects elements with their sequence numbers and encodes them as one {@link EncodedBatch}. Reused: after
 * {@link take} it is empty again.
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
  private numericKeys = true;
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

  add(seq: number, e: StreamElement<unknown, unknown>, fullBarrier = false): void {
    const i = this.n;
    if (i === this.seqs.length) this.grow();
    this.seqs[i] = seq;
    this.n = i + 1;
    switch (e.kind) {
      case 'record':
        this.kinds[i] = RECORD;
        this.stamps[i] = e.timestamp;
        this.values[this.records] = e.value;
        this.keys[this.records++] = e.key;
        if (typeof e.value !== 'number') this.numericValues = false;
        if (typeof e.key !== 'number') this.numericKeys = false;
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

  /** The batch so far, encoded; the encoder is empty after. */
  take(codec: ValueCodec): EncodedBatch {
    const n = this.n;
    const numbers = new Float64Array(2 * n);
    numbers.set(this.seqs.subarray(0, n));
    numbers.set(this.stamps.subarray(0, n), n);
    const kinds = this.kinds.slice(0, n);
    const r = this.records;
    const values = r === 0 ? undefined : column(this.values, r, this.numericValues, codec);
    const keys = r === 0 ? undefined : column(this.keys, r, this.numericKeys, codec);
    this.n = this.records = 0;
    this.numericValues = this.numericKeys = true;
    return { numbers, kinds, values, keys };
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
  // (msgpackr packs into a shared buffer: the message takes a copy of its bytes)
  return Uint8Array.prototype.slice.call(codec.pack(items.length === count ? items : items.slice(0, count)));
}

/** A column back: the numbers of a float64 column, else what the msgpackr bytes hold. */
function uncolumn(bytes: Float64Array | Uint8Array | undefined, codec: ValueCodec): ArrayLike<unknown> {
  if (bytes === undefined) return [];
  return bytes instanceof Float64Array ? bytes : (codec.unpack(bytes) as unknown[]);
}


/** The buffers of a batch to transfer rather than copy with `postMessage`. @internal */
export function transferables(batch: EncodedBatch): ArrayBuffer[] {
  const list = [batch.numbers.buffer as ArrayBuffer, batch.kinds.buffer as ArrayBuffer];
  if (batch.values !== undefined) list.push(batch.values.buffer as ArrayBuffer);
  if (batch.keys !== undefined) list.push(batch.keys.buffer as ArrayBuffer);
  return list;
}

/**
 * Decodes batches back into elements — records in the one shape of `record()` (`kind`, `value`, `timestamp`, `key`).
 *
 * @internal
 */
export class BatchDecoder {
  constructor(private readonly codec: ValueCodec) {}

  /**
   * Calls `each(seq, element, fullBarrier)` for every element of `batch`, in order. `each` may stop early by
   * returning false (the rest is dropped).
   */
  decode(batch: EncodedBatch, each: (seq: number, e: StreamElement<unknown, unknown>, fullBarrier: boolean) => boolean | void): void {
    const { numbers, kinds } = batch;
    const n = kinds.length;
    const values = uncolumn(batch.values, this.codec);
    const keys = uncolumn(batch.keys, this.codec);
    let v = 0;
    for (let i = 0; i < n; i++) {
      const seq = numbers[i] as number;
      const t = numbers[n + i] as number;
      let e: StreamElement<unknown, unknown>;
      let full = false;
      switch (kinds[i]) {
        case RECORD:
          e = { kind: 'record', value: values[v], timestamp: t, key: keys[v] };
          v++;
          break;
        case WATERMARK:
          e = { kind: 'watermark', timestamp: t };
          break;
        case IDLE:
          e = { kind: 'status', idle: true };
          break;
        case ACTIVE:
          e = { kind: 'status', idle: false };
          break;
        default:
          full = kinds[i] === BARRIER_FULL;
          e = { kind: 'barrier', checkpointId: t };
      }
      if (each(seq, e, full) === false) return;
    }
  }
}
