import type { StreamElement } from '../../elements/index.js';

/**
 * How stream elements cross between threads: in batches, each one message of two buffers — the numbers of every
 * element side by side (`Float64Array` sequence numbers and timestamps, a `Uint8Array` of kinds: copied once, no
 * per-element object) and the records' values and keys encoded with msgpackr (its record extension writes an
 * object shape once per batch). Measured on a 2-core machine (bench/parallel.ts): structured clone of arrays of
 * records ≈ 0.6 M records/s, this ≈ 5 M/s encoded and ≈ 7 M/s decoded per thread. Values keep their types through
 * msgpackr (Date, Map, Set, bigint, typed arrays, undefined); class instances arrive as plain objects, `-0` as `0`,
 * functions as `undefined` (docs/ARCHITECTURE.md, "Parallel subtasks").
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
  /** msgpackr of `[value0, key0, value1, key1, …]` for the records, in order. */
  readonly payload: Uint8Array | undefined;
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
  private seqs: number[] = [];
  private stamps: number[] = [];
  private kinds: number[] = [];
  private values: unknown[] = [];
  /** Records in the batch. */
  records = 0;

  get size(): number {
    return this.kinds.length;
  }

  /** The sequence number of the batch's first element (Infinity when empty). */
  get firstSeq(): number {
    return this.seqs.length === 0 ? Infinity : (this.seqs[0] as number);
  }

  add(seq: number, e: StreamElement<unknown, unknown>, fullBarrier = false): void {
    this.seqs.push(seq);
    switch (e.kind) {
      case 'record':
        this.kinds.push(RECORD);
        this.stamps.push(e.timestamp);
        this.values.push(e.value, e.key);
        this.records++;
        return;
      case 'watermark':
        this.kinds.push(WATERMARK);
        this.stamps.push(e.timestamp);
        return;
      case 'status':
        this.kinds.push(e.idle ? IDLE : ACTIVE);
        this.stamps.push(0);
        return;
      case 'barrier':
        this.kinds.push(fullBarrier ? BARRIER_FULL : BARRIER);
        this.stamps.push(e.checkpointId);
        return;
    }
  }

  /** The batch so far, encoded; the encoder is empty after. */
  take(codec: ValueCodec): EncodedBatch {
    const n = this.kinds.length;
    const numbers = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      numbers[i] = this.seqs[i] as number;
      numbers[n + i] = this.stamps[i] as number;
    }
    const kinds = Uint8Array.from(this.kinds);
    // msgpackr packs into a shared buffer: the message takes a copy of its bytes
    const payload = this.values.length === 0 ? undefined : Uint8Array.prototype.slice.call(codec.pack(this.values));
    this.seqs = [];
    this.stamps = [];
    this.kinds = [];
    this.values = [];
    this.records = 0;
    return { numbers, kinds, payload };
  }
}

/** The buffers of a batch to transfer rather than copy with `postMessage`. @internal */
export function transferables(batch: EncodedBatch): ArrayBuffer[] {
  const list = [batch.numbers.buffer as ArrayBuffer, batch.kinds.buffer as ArrayBuffer];
  if (batch.payload !== undefined) list.push(batch.payload.buffer as ArrayBuffer);
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
    const values = batch.payload === undefined ? [] : (this.codec.unpack(batch.payload) as unknown[]);
    let v = 0;
    for (let i = 0; i < n; i++) {
      const seq = numbers[i] as number;
      const t = numbers[n + i] as number;
      let e: StreamElement<unknown, unknown>;
      let full = false;
      switch (kinds[i]) {
        case RECORD:
          e = { kind: 'record', value: values[v], timestamp: t, key: values[v + 1] };
          v += 2;
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
