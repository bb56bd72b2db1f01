import type { Observer } from 'rxjs';
import type { CoreArgs } from '../core/keyedOperator.js';
import { KeyedOperatorCore } from '../core/keyedOperator.js';
import { MIN_WATERMARK, type Key, type OutputTag, type StreamRecord } from '../elements/index.js';
import { ConfigurationError, describeValue } from '../errors/index.js';
import { engineArrays } from '../state/backend.js';
import { valueState } from '../state/descriptors.js';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';
import type { KeyId } from '../keys/keyId.js';
import type { Timer } from '../timers/queue.js';
import { checkTimestamp, isTimestamp, MAX_OPERATOR_TIMESTAMP } from '../time/timestamps.js';

/**
 * The bounds of an interval join: `l` and `r` of one key join when `l.timestamp + lower ≤ r.timestamp ≤
 * l.timestamp + upper` (each bound inclusive unless said otherwise).
 *
 * @example
 * ```ts
 * const bounds: IntervalJoinBounds = { lower: -5_000, upper: 10_000, upperInclusive: false };
 * ```
 */
export interface IntervalJoinBounds {
  /** ms relative to the left element's timestamp (may be negative) */
  readonly lower: number;
  /** ms relative to the left element's timestamp, `≥ lower` */
  readonly upper: number;
  /** default true */
  readonly lowerInclusive?: boolean;
  /** default true */
  readonly upperInclusive?: boolean;
}

/**
 * What the join function gets besides the two values.
 *
 * @example
 * ```ts
 * (click, view, ctx) => ({ user: ctx.key, delay: ctx.rightTimestamp - ctx.leftTimestamp })
 * ```
 */
export interface IntervalJoinContext<K> {
  readonly key: K;
  readonly leftTimestamp: number;
  readonly rightTimestamp: number;
  /** the output record's timestamp: `max(leftTimestamp, rightTimestamp)` */
  readonly timestamp: number;
}

/**
 * Options of `intervalJoin`.
 *
 * @example
 * ```ts
 * const late = new Subject<StreamRecord<Click, string>>();
 * const options: IntervalJoinOptions<Click, View, string> = { name: 'click-view', leftLateData: late };
 * ```
 */
export interface IntervalJoinOptions<L, R, K> {
  /** Stable id of the join's state in checkpoints; defaults to its position (`intervalJoin#0`, …). */
  readonly name?: string;
  /** Receives left records that arrived late (timestamp below the watermark); otherwise they are dropped and counted. */
  readonly leftLateData?: Observer<StreamRecord<L, K>> | OutputTag<L>;
  /** The same for right records. */
  readonly rightLateData?: Observer<StreamRecord<R, K>> | OutputTag<R>;
}

/** State indices (declaration order): per key, one side's buffer (see {@link Buffer}). */
const LEFT = 0;
const RIGHT = 1;
/**
 * When keys' oldest buckets are due for cleanup: entries (time, key id, side) taken in time order. In-order data
 * pushes them in time order: they go to a run (appended, taken from its front); the others to a binary min-heap.
 * An entry may be stale (its bucket went, or an earlier one was inserted before it): the cleanup checks the buffer.
 */
class CleanupQueue {
  private runTimes: number[] = [];
  private runIds: KeyId[] = [];
  private runSides: number[] = [];
  private runHead = 0;
  private readonly heapTimes: number[] = [];
  private readonly heapIds: KeyId[] = [];
  private readonly heapSides: number[] = [];
  /** the entry {@link take} took */
  id: KeyId = '';
  side = 0;

  push(time: number, id: KeyId, side: number): void {
    const last = this.runTimes.length - 1;
    if (last < this.runHead || time >= (this.runTimes[last] as number)) {
      this.runTimes.push(time);
      this.runIds.push(id);
      this.runSides.push(side);
      return;
    }
    const t = this.heapTimes;
    let i = t.length;
    t.push(time);
    this.heapIds.push(id);
    this.heapSides.push(side);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((t[parent] as number) <= time) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Takes the earliest entry with time ≤ `limit` into `id` and `side`; false when there is none. */
  take(limit: number): boolean {
    const inRun = this.runHead < this.runTimes.length;
    const inHeap = this.heapTimes.length > 0;
    if (inRun && (!inHeap || (this.runTimes[this.runHead] as number) <= (this.heapTimes[0] as number))) {
      const i = this.runHead;
      if ((this.runTimes[i] as number) > limit) return false;
      this.id = this.runIds[i] as KeyId;
      this.side = this.runSides[i] as number;
      this.runHead = i + 1;
      if (this.runHead >= 1024 && 2 * this.runHead >= this.runTimes.length) {
        this.runTimes = this.runTimes.slice(this.runHead);
        this.runIds = this.runIds.slice(this.runHead);
        this.runSides = this.runSides.slice(this.runHead);
        this.runHead = 0;
      }
      return true;
    }
    const t = this.heapTimes;
    if (!inHeap || (t[0] as number) > limit) return false;
    this.id = this.heapIds[0] as KeyId;
    this.side = this.heapSides[0] as number;
    const last = t.length - 1;
    this.swap(0, last);
    t.pop();
    this.heapIds.pop();
    this.heapSides.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && (t[r] as number) < (t[l] as number) ? r : l;
      if ((t[c] as number) >= (t[i] as number)) break;
      this.swap(i, c);
      i = c;
    }
    return true;
  }

  clear(): void {
    this.runTimes = [];
    this.runIds = [];
    this.runSides = [];
    this.runHead = 0;
    this.heapTimes.length = 0;
    this.heapIds.length = 0;
    this.heapSides.length = 0;
  }

  private swap(a: number, b: number): void {
    const t = this.heapTimes;
    const ids = this.heapIds;
    const sides = this.heapSides;
    [t[a], t[b]] = [t[b] as number, t[a] as number];
    [ids[a], ids[b]] = [ids[b] as KeyId, ids[a] as KeyId];
    [sides[a], sides[b]] = [sides[b] as number, sides[a] as number];
  }
}

/**
 * A key's buffer of one side: `[ts₀, values₀, ts₁, values₁, …]`, timestamps ascending and distinct, each bucket's
 * values in arrival order. In-order elements append to the last bucket or add one at the end. Cleanup empties the
 * buckets it drops (a bucket is never empty otherwise: the dropped ones are a prefix, which joins nothing) and
 * removes that prefix from the array once it is half of it — so a watermark costs what it drops, not the buffer's
 * length (docs/SEMANTICS.md §10.2, rule 6). Plain data: it snapshots with the state codec as it is.
 */
type Buffer = unknown[];

/**
 * A key's buffer of one side as stored: one {@link Buffer} while it has at most {@link MAX_BUCKETS} buckets (the
 * common case), else blocks of at most that many — each a {@link Buffer}, only the first with dropped buckets, none
 * all dropped — so that a bucket made in the middle of many (elements of one key out of order while the watermark
 * lags) moves a block, not the key's whole buffer. Plain data (a buffer's first item is a timestamp, the blocks' an
 * array).
 */
type StoredBuffer = Buffer | Buffer[];
/** The most buckets a block holds: a block with more is split in two. */
const MAX_BUCKETS = 256;

/** Whether a key's stored buffer is one {@link Buffer} (else its blocks). */
function isOneBuffer(stored: StoredBuffer): boolean {
  return typeof stored[0] === 'number';
}

/** The index of the first block whose last bucket's timestamp is ≥ `ts` (the number of blocks when none is). */
function firstBlockFrom(blocks: Buffer[], ts: number): number {
  let lo = 0;
  let hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const block = blocks[mid] as Buffer;
    if ((block[block.length - 2] as number) < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The values of a bucket cleanup dropped (restored from a checkpoint, an empty array like it). */
const DROPPED: unknown[] = Object.freeze([]) as unknown as unknown[];

/** Whether bucket `i` (even) of a buffer was dropped by cleanup (see {@link Buffer}). */
function isDropped(buffer: Buffer, i: number): boolean {
  return (buffer[i + 1] as unknown[]).length === 0;
}

/** The index (even) of the first bucket cleanup has not dropped (the dropped ones are a prefix: a binary search). */
function firstKeptBucket(buffer: Buffer): number {
  let lo = 0;
  let hi = buffer.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isDropped(buffer, 2 * mid)) lo = mid + 1;
    else hi = mid;
  }
  return 2 * lo;
}

/** The reused context of the join function. */
class JoinContext<K> implements IntervalJoinContext<K> {
  key: K = undefined as K;
  leftTimestamp = 0;
  rightTimestamp = 0;
  timestamp = 0;
}

/**
 * Checks the bounds and returns the inclusive ones, `[lo, hi]` (docs/SEMANTICS.md §10.2, rule 1).
 *
 * @internal
 */
export function inclusiveBounds(name: string, bounds: IntervalJoinBounds): readonly [lo: number, hi: number] {
  const { lower, upper } = bounds ?? ({} as IntervalJoinBounds);
  const fix = 'Pass integer ms with lower ≤ upper, e.g. intervalJoin(right$, { lower: -5_000, upper: 5_000 }, fn).';
  if (typeof bounds !== 'object' || bounds === null) throw new ConfigurationError(name, bounds, `${name}: bounds must be an object { lower, upper }, got ${describeValue(bounds)}. ${fix}`);
  for (const [what, v] of [['lower', lower], ['upper', upper]] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ConfigurationError(name, v, `${name}: ${what} bound must be an integer number of ms, got ${describeValue(v)}. ${fix}`);
  }
  if (lower > upper) throw new ConfigurationError(name, bounds, `${name}: lower bound ${lower} is above upper bound ${upper}. ${fix}`);
  for (const what of ['lowerInclusive', 'upperInclusive'] as const) {
    const v = bounds[what];
    if (v !== undefined && typeof v !== 'boolean') throw new ConfigurationError(name, v, `${name}: ${what} must be true or false, got ${describeValue(v)}.`);
  }
  return [bounds.lowerInclusive === false ? lower + 1 : lower, bounds.upperInclusive === false ? upper - 1 : upper];
}

/** The index (even) of the first bucket of `buffer` with timestamp ≥ `ts` (`buffer.length` when none). */
function firstBucketFrom(buffer: Buffer, ts: number): number {
  let lo = 0;
  let hi = buffer.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((buffer[2 * mid] as number) < ts) lo = mid + 1;
    else hi = mid;
  }
  return 2 * lo;
}

/**
 * The interval join (Flink's `IntervalJoinOperator`, docs/SEMANTICS.md §10.2): per key and side a buffer of values by
 * timestamp (state `left` / `right`, one {@link Buffer} per key). An element that is not late joins the other side's
 * buffered values in range (ascending timestamp, then arrival order: a binary search, then a scan), and is buffered.
 * Cleanup (rule 6: a bucket is dropped once the watermark reaches its timestamp + `max(hi, 0)` on the left,
 * `+ max(−lo, 0)` on the right) runs from a queue of the keys' oldest buckets by cleanup time ({@link CleanupQueue};
 * rebuilt from the buffers on restore), as the session operator keeps its due sessions: at each watermark, the due
 * keys drop every bucket due by then and queue their next oldest one. That drops, at each watermark, exactly the
 * buckets Flink's per-bucket timers drop, without a keyed timer per bucket.
 *
 * @example
 * ```ts
 * twoInputOperator('intervalJoin', name, right$, 'operator', (args) => new IntervalJoinCore(args, bounds, fn, options));
 * ```
 *
 * @internal
 */
export class IntervalJoinCore<L, R, K, OUT> extends KeyedOperatorCore<L | R, OUT> {
  /** inclusive bounds: `l.ts + lo ≤ r.ts ≤ l.ts + hi` */
  private readonly lo: number;
  private readonly hi: number;
  /** how long after its timestamp a bucket is kept, per side */
  private readonly leftKeep: number;
  private readonly rightKeep: number;
  private readonly ctx = new JoinContext<K>();
  /** the keys' oldest buckets, by cleanup time */
  private readonly cleanup = new CleanupQueue();
  private lateDropped = 0;
  private warnedLate = false;

  constructor(
    args: CoreArgs<OUT>,
    bounds: IntervalJoinBounds,
    private readonly fn: (left: L, right: R, ctx: IntervalJoinContext<K>) => OUT,
    private readonly options: IntervalJoinOptions<L, R, K>,
  ) {
    super(args, { left: engineArrays(valueState<Buffer>()), right: engineArrays(valueState<Buffer>()) });
    this.checkLateOutput('leftLateData', options.leftLateData);
    this.checkLateOutput('rightLateData', options.rightLateData);
    [this.lo, this.hi] = inclusiveBounds(args.name, bounds);
    this.leftKeep = Math.max(this.hi, 0);
    this.rightKeep = Math.max(-this.lo, 0);
  }

  protected onRecord(r: StreamRecord<L | R, Key>): void {
    // a finite timestamp, as Flink refuses Long.MIN_VALUE here (docs/SEMANTICS.md §10.2 rule 2): NaN or ±Infinity
    // would be joined at NaN / never be late / never be cleaned up
    const ts = isTimestamp(r.timestamp, MAX_OPERATOR_TIMESTAMP) ? r.timestamp : this.checkedTimestamp(r);
    const left = this.currentInput === 0;
    // late: strictly below the operator watermark (§10.2 rule 3); MIN: nothing is late yet
    if (this.watermark !== MIN_WATERMARK && ts < this.watermark) {
      this.late(r, left);
      return;
    }
    const b = this.backend;
    // the other side's buckets in range: l.ts + lo ≤ r.ts ≤ l.ts + hi, i.e. for a right element r.ts − hi ≤ l.ts ≤ r.ts − lo
    const others = b.get(left ? RIGHT : LEFT) as StoredBuffer | undefined;
    if (others !== undefined) {
      const from = left ? ts + this.lo : ts - this.hi;
      const to = left ? ts + this.hi : ts - this.lo;
      if (isOneBuffer(others)) this.joinIn(others, from, to, r, left, ts);
      else for (let k = firstBlockFrom(others as Buffer[], from); k < others.length && this.joinIn(others[k] as Buffer, from, to, r, left, ts); k++);
    }
    this.buffer(left ? LEFT : RIGHT, ts, r.value, left ? this.leftKeep : this.rightKeep);
  }

  /**
   * Joins record `r` (of the left side when `left`, at `ts`) with the values of a buffer or block in its buckets from
   * `from` to `to`; false once a bucket after `to` was seen (a later block has nothing in range).
   */
  private joinIn(buffer: Buffer, from: number, to: number, r: StreamRecord<L | R, Key>, left: boolean, ts: number): boolean {
    for (let i = firstBucketFrom(buffer, from); i < buffer.length; i += 2) {
      const t = buffer[i] as number;
      if (t > to) return false;
      const values = buffer[i + 1] as unknown[];
      for (let v = 0, n = values.length; v < n; v++) {
        if (left) this.emitPair(r.key, r.value as L, ts, values[v] as R, t);
        else this.emitPair(r.key, values[v] as L, t, r.value as R, ts);
      }
    }
    return true;
  }

  /** The cold path of {@link onRecord}: the error naming the join, the record's value and its timestamp. */
  private checkedTimestamp(r: StreamRecord<L | R, Key>): number {
    return checkTimestamp(this.name, r.timestamp, r.value, 'An interval join needs finite timestamps: stamp records with eventTime(...) first.', false, MAX_OPERATOR_TIMESTAMP);
  }

  /** Appends a value to its side's bucket of `ts` (made when new); a new oldest bucket is queued for cleanup. */
  private buffer(side: number, ts: number, value: unknown, keep: number): void {
    const b = this.backend;
    const stored = b.get(side) as StoredBuffer | undefined;
    if (stored === undefined) {
      b.put(side, [ts, [value]]);
      this.cleanup.push(ts + keep, b.currentKeyId(), side);
      return;
    }
    const one = isOneBuffer(stored);
    const buffer = (one ? stored : stored[stored.length - 1]) as Buffer;
    const last = buffer.length - 2;
    if (buffer[last] === ts) {
      this.changing(side, stored, one, buffer);
      (buffer[last + 1] as unknown[]).push(value);
    } else if ((buffer[last] as number) < ts) {
      if (buffer.length < 2 * MAX_BUCKETS) {
        this.changing(side, stored, one, buffer);
        buffer.push(ts, [value]);
      }
      // a full last block: the bucket opens the next one
      else if (one) b.put(side, [buffer, [ts, [value]]]);
      else {
        b.changeBlocks(side, stored);
        (stored as Buffer[]).push([ts, [value]]);
      }
    } else this.bufferBefore(side, stored, one, ts, value, keep);
  }

  /**
   * Records that `buffer` of the current key's side (its one buffer when `one`, else one of its blocks) is about to
   * change in place: one buffer is written whole by the next delta, blocks only those that changed (docs/SEMANTICS.md
   * §6.3).
   */
  private changing(side: number, stored: StoredBuffer, one: boolean, buffer: Buffer): void {
    if (one) this.backend.touch(side);
    else this.backend.changeBlocks(side, stored, buffer);
  }

  /** {@link buffer} for a timestamp before the key's last bucket: into its block (the first that reaches `ts`). */
  private bufferBefore(side: number, stored: StoredBuffer, one: boolean, ts: number, value: unknown, keep: number): void {
    const k = one ? -1 : firstBlockFrom(stored as Buffer[], ts);
    const buffer = (one ? stored : stored[k]) as Buffer;
    this.changing(side, stored, one, buffer);
    let i = firstBucketFrom(buffer, ts);
    if (buffer[i] === ts && isDropped(buffer, i)) {
      // a bucket cleanup dropped at this very watermark gets a value again (timestamp = watermark, nothing kept after
      // it): the dropped prefix goes first, and the bucket is new
      buffer.splice(0, firstKeptBucket(buffer));
      i = firstBucketFrom(buffer, ts);
    }
    if (buffer[i] === ts) {
      (buffer[i + 1] as unknown[]).push(value);
      return;
    }
    buffer.splice(i, 0, ts, [value]);
    // a new oldest bucket (after the dropped ones; only the first block has any) is queued
    if (k <= 0 && i === firstKeptBucket(buffer)) this.cleanup.push(ts + keep, this.backend.currentKeyId(), side);
    if (buffer.length > 2 * MAX_BUCKETS) {
      // split in two halves (the dropped buckets go first); one buffer becomes blocks
      buffer.splice(0, firstKeptBucket(buffer));
      const middle = 2 * (buffer.length >>> 2);
      if (one) this.backend.put(side, [buffer.slice(0, middle), buffer.slice(middle)]);
      else (stored as Buffer[]).splice(k + 1, 0, buffer.splice(middle));
    }
  }

  private emitPair(key: Key, l: L, lts: number, r: R, rts: number): void {
    const ctx = this.ctx;
    ctx.key = key as K;
    ctx.leftTimestamp = lts;
    ctx.rightTimestamp = rts;
    const ts = lts > rts ? lts : rts;
    ctx.timestamp = ts;
    const value = this.fn(l, r, ctx);
    this.recordsOut++;
    this.out.next({ kind: 'record', value, timestamp: ts, key });
  }

  /**
   * Cleanup (§10.2 rule 6), before the keyed timers of the new watermark: every queued key and side whose oldest
   * bucket is due drops the buckets due by `w`, and queues its next oldest one. Emits nothing.
   */
  protected override onWatermark(w: number): void {
    const q = this.cleanup;
    const b = this.backend;
    while (q.take(w)) {
      const side = q.side;
      const id = q.id;
      const stored = b.getAt(side, id, '') as StoredBuffer | undefined;
      if (stored === undefined) continue;
      const blocks = isOneBuffer(stored) ? undefined : (stored as Buffer[]);
      let buffer = (blocks === undefined ? stored : blocks[0]) as Buffer;
      const keep = side === LEFT ? this.leftKeep : this.rightKeep;
      let kept = firstKeptBucket(buffer);
      let drop = kept;
      while (drop < buffer.length && (buffer[drop] as number) + keep <= w) drop += 2;
      if (drop === kept) continue; // a stale entry: an earlier bucket was inserted, or this one went already
      if (blocks !== undefined) b.changeBlocksAt(side, id, '', blocks);
      // a first block all due goes whole, and the next one is looked at (it has no dropped buckets)
      while (drop === buffer.length && blocks !== undefined && blocks.length > 1) {
        blocks.shift();
        buffer = blocks[0] as Buffer;
        kept = drop = 0;
        while (drop < buffer.length && (buffer[drop] as number) + keep <= w) drop += 2;
      }
      if (drop === buffer.length) {
        b.removeAt(side, id, '');
        continue;
      }
      let next = drop;
      if (blocks === undefined) b.putAt(side, id, '', stored);
      else if (drop > kept) b.changeBlocksAt(side, id, '', blocks, buffer);
      if (2 * drop >= buffer.length) {
        buffer.splice(0, drop);
        next = 0;
      } else for (let i = kept; i < drop; i += 2) buffer[i + 1] = DROPPED;
      q.push((buffer[next] as number) + keep, id, side);
    }
  }

  /** The interval join registers no keyed timers. */
  protected onTimer(t: Timer): void {
    void t;
  }

  /** Restores the buffers, then queues every key's oldest buckets again (the queue is not in the snapshot). */
  override restore(snapshots: readonly OperatorSnapshot[]): void {
    super.restore(snapshots);
    this.cleanup.clear();
    for (const side of [LEFT, RIGHT]) {
      const keep = side === LEFT ? this.leftKeep : this.rightKeep;
      for (const [id, stored] of this.backend.column(side)) {
        const buffer = (isOneBuffer(stored as StoredBuffer) ? stored : (stored as Buffer[])[0]) as Buffer;
        this.cleanup.push((buffer[firstKeptBucket(buffer)] as number) + keep, id, side);
      }
    }
  }

  private late(r: StreamRecord<L | R, Key>, left: boolean): void {
    const side = left ? this.options.leftLateData : this.options.rightLateData;
    if (side !== undefined) {
      this.lateOutput(side as Observer<StreamRecord<L | R, Key>>, r);
      return;
    }
    this.lateDropped++;
    if (this.warnedLate) return;
    this.warnedLate = true;
    this.warn(
      `${this.name}: a ${left ? 'left' : 'right'} record arrived late (timestamp ${r.timestamp} < watermark ${this.watermark}) and was dropped. ` +
        `Dropped records are counted in the lateRecordsDropped metric; pass { ${left ? 'leftLateData' : 'rightLateData'}: subject } to intervalJoin(...) to receive them, or allow more out-of-orderness in the watermarks of that input.`,
    );
  }

  override metrics(): Record<string, number> {
    return { ...super.metrics(), lateRecordsDropped: this.lateDropped };
  }

  protected override kindLabel(): string {
    return 'intervalJoin (on both inputs)';
  }
}
