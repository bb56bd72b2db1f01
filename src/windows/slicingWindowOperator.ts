// The slicing window operator (docs/ARCHITECTURE.md, "One record, end to end"): aligned event-time windows — tumbling,
// and sliding with a mergeable, order-insensitive aggregator — on the built-in event-time trigger, and processing-time
// tumbling windows on the built-in processing-time trigger. Elements go into slices of gcd(size, slide) ms, slice-major
// (one accumulator per key and slice, the slice's keys in the order of their first elements), and a window is folded
// from its slices when it fires; no keyed timers. The general operator (`windowOperator.ts`) takes every other window;
// `operators/windowFunction.ts` chooses.
import { MAX_WATERMARK, type Key, type StreamRecord } from '../elements/index.js';
import { ConfigurationError, TidewaterError } from '../errors/index.js';
import type { CoreArgs } from '../core/keyedOperator.js';
import { engineArrays, type Namespace } from '../state/backend.js';
import { keyIdOf, keyOfId, type KeyId } from '../keys/keyId.js';
import { isKey } from '../keys/validate.js';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';
import type { SnapshotOptions } from '../core/runtime.js';
import { valueState, type Aggregator, type StateDescriptor } from '../state/descriptors.js';
import { UNDEFINED } from '../state/handles.js';
import type { Timer } from '../timers/queue.js';
import { isTimestamp, MAX_OPERATOR_TIMESTAMP } from '../time/timestamps.js';
import type { WindowAssigner } from './assigners.js';
import { isEventTimeTrigger, isProcessingTimeTrigger, type Trigger } from './triggers.js';
import { SliceOrder } from './sliceOrder.js';
import { addMerge, type TimeWindow, type WindowResult } from './types.js';
import { contentsAppend } from './aggregators.js';
import {
  cleanedThroughOf,
  firstTimerSequences,
  windowTimerKey,
  CONTENTS,
  contentsDescriptor,
  foldOf,
  mergeOf,
  NONE,
  unboxAccumulator,
  WindowOperatorBase,
  type WindowFunction,
  type WindowOperatorOptions,
} from './windowOperatorBase.js';

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * The state index of `panes`: the per-key layout of checkpoints written before 2026-12-03 (read on restore and
 * converted into slices; never written). Per key one array `[sequence, nextEvent, scheduling, firstSlice, order₀,
 * acc₀, order₁, acc₁, …]`: the key's closed slices from `firstSlice` on (`orderᵢ` ≥ 0 when the key has slice
 * `firstSlice + i`: tumbling, its sequence number; sliding, 0; `accᵢ` its accumulator, null and undefined boxed).
 */
const LEGACY_KEY_SLICES_STATE = 1;
const LEGACY_KEY_SEQUENCE = 0;
const LEGACY_FIRST_SLICE = 3;
const LEGACY_FIRST_SLICE_ENTRY = 4;
/** The state index of `order`: per slice (namespace: its start) and key, the entry's sequence number. */
const ORDER_STATE = 2;

/**
 * The slice grid (Flink's "slicing" of aligned windows): slices of `sliceSize` ms from `offset`; slice `slice` holds
 * the elements with floor((ts − offset) / sliceSize) = slice; window k covers slices
 * [k·slicesPerSlide, k·slicesPerSlide + slicesPerWindow).
 *
 * @example
 * ```ts
 * const grid: SliceGrid = { sliceSize: 10_000, slicesPerSlide: 1, slicesPerWindow: 3, offset: 0 }; // sliding 30 s by 10 s
 * ```
 *
 * @internal
 */
export interface SliceGrid {
  /** gcd(size, slide) ms */
  readonly sliceSize: number;
  /** slide / sliceSize */
  readonly slicesPerSlide: number;
  /** size / sliceSize (1: tumbling) */
  readonly slicesPerWindow: number;
  /** the assigner's offset */
  readonly offset: number;
}

/** Entries at most for which {@link firingOrder} sorts numbers (an index takes 21 bits). */
const ORDER_INDEX_BITS = 2 ** 21;

/**
 * The indexes `0 … len − 1` in ascending order of `orders` (ties: by index): a restored slice's entries in the order of
 * their sequence numbers. Sorted as numbers
 * `o · 2²¹ + i` in a `Float64Array` (exact below 2⁵³: `o` ≥ −1 is a sequence number) — a native numeric sort instead
 * of a comparator call per comparison; beyond 2²¹ entries or such sequence numbers, a comparator sort.
 *
 * @example
 * ```ts
 * firingOrder([3, 1, 2], 3); // [1, 2, 0]
 * ```
 *
 * @internal
 */
export function firingOrder(orders: readonly number[], len: number): ArrayLike<number> {
  let max = 0;
  for (let n = 0; n < len; n++) if ((orders[n] as number) > max) max = orders[n] as number;
  if (len > ORDER_INDEX_BITS || (max + 2) * ORDER_INDEX_BITS >= Number.MAX_SAFE_INTEGER) {
    return Array.from({ length: len }, (_, i) => i).sort((x, y) => (orders[x] as number) - (orders[y] as number) || x - y);
  }
  const packed = new Float64Array(len);
  for (let n = 0; n < len; n++) packed[n] = ((orders[n] as number) + 1) * ORDER_INDEX_BITS + n;
  packed.sort();
  const order = new Uint32Array(len);
  for (let n = 0; n < len; n++) order[n] = (packed[n] as number) % ORDER_INDEX_BITS;
  return order;
}

/**
 * The slice grid of a window operator when the slicing operator takes it, else `undefined`: event-time tumbling and
 * sliding windows on the built-in event-time trigger (sliding ones need a mergeable, order-insensitive aggregator),
 * and processing-time tumbling windows on the built-in processing-time trigger, with whole-ms size, slide and offset.
 * (Processing-time sliding windows stay on the general operator: when the clock steps back, an element joins windows
 * that already fired beside windows that did not, which slices shared between them cannot express.)
 *
 * @example
 * ```ts
 * sliceGridOf(slidingWindows(30_000, 10_000), eventTimeTrigger(), fn); // { sliceSize: 10000, slicesPerSlide: 1, slicesPerWindow: 3, offset: 0 }
 * ```
 *
 * @internal
 */
export function sliceGridOf<T, K, R>(a: WindowAssigner<T>, trigger: Trigger<T>, fn: WindowFunction<T, K, R>): SliceGrid | undefined {
  if (a.kind !== 'tumbling' && a.kind !== 'sliding') return undefined;
  const builtIn = a.isEventTime ? isEventTimeTrigger(trigger as Trigger<unknown>) : a.kind === 'tumbling' && isProcessingTimeTrigger(trigger as Trigger<unknown>);
  if (!builtIn) return undefined;
  const size = a.size as number;
  const slide = a.slide as number;
  const offset = a.offset ?? 0;
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(slide) || !Number.isSafeInteger(offset)) return undefined;
  if (slide < size) {
    // overlapping windows share slices: the aggregator must merge, and element order must not matter (`orderSensitive`)
    const agg = fn.kind === 'reduce' ? undefined : fn.aggregator;
    if (agg?.merge === undefined || agg.orderSensitive === true) return undefined;
  } else if (slide > size) return undefined;
  const sliceSize = gcd(size, slide);
  return { sliceSize, slicesPerSlide: slide / sliceSize, slicesPerWindow: size / sliceSize, offset };
}


/**
 * One slice's state, slice-major: an entry per key that has elements in it, in the order of the keys' first elements
 * in the slice, in parallel arrays (an entry's position is its order: the `order` state in snapshots); `positions`
 * finds a key's entry by its id, and holds the ids in entry order (a `Map` iterates in insertion order, and entries
 * are never removed from a live slice). `keys` holds the entries' keys only where the operator keeps them (see
 * `keysKept`): while every key is its own id, the ids are the keys. Sliding windows also keep each entry's key slot
 * (`slots`, see the operator). Change tracking for incremental snapshots: entries from `entriesAtSnapshot` on are new
 * since the last snapshot; `changed` lists the older ones changed since (each once: `changedIn` holds the snapshot
 * epoch of its last mark); with list contents (a window function without reduce or aggregate), `appendFrom` how many
 * elements a changed entry had at the last snapshot (its delta row appends the others).
 */
class Slice {
  readonly positions = new Map<KeyId, number>();
  /**
   * entries: the first {@link size} items (the arrays are made with room for as many as the slice before held, and an
   * eighth more); `keys` undefined while the operator does not keep keys
   */
  keys: Key[] | undefined;
  readonly accs: unknown[];
  readonly slots: number[];
  readonly changedIn: number[] = [];
  readonly changed: number[] = [];
  readonly appendFrom: number[] = [];
  /** the number of entries */
  size = 0;
  entriesAtSnapshot = 0;
  constructor(
    /** the slice index (see {@link SliceGrid}) */
    readonly index: number,
    /** its start, the namespace of its entries in `contents` and `order` */
    readonly start: number,
    /**
     * Room for this many entries, made at once: grown by `push`, a slice's arrays would be copied a dozen times on the
     * way to thousands of entries, each copy garbage.
     */
    capacity: number,
    sliding: boolean,
    withKeys: boolean,
  ) {
    this.keys = withKeys ? (capacity > 0 ? new Array<Key>(capacity) : []) : undefined;
    this.accs = capacity > 0 ? new Array<unknown>(capacity) : [];
    this.slots = sliding && capacity > 0 ? new Array<number>(capacity) : [];
  }

  /** Appends an entry (`slot`: sliding windows' key slot) and returns its position. */
  add(key: Key, acc: unknown, slot: number): number {
    const pos = this.size++;
    if (this.keys !== undefined) this.keys[pos] = key;
    this.accs[pos] = acc;
    if (slot >= 0) this.slots[pos] = slot;
    return pos;
  }
}

/**
 * The slicing window operator: Flink's window semantics for aligned event-time windows (docs/SEMANTICS.md §3.3–3.5),
 * slice-major as Flink's `SlicingWindowOperator`: an element goes into its slice's accumulator for its key (one map
 * lookup when the key already has the slice), and when the watermark passes a window's end the window is folded from
 * its slices and each key's result emitted. No keyed timers and no per-key schedule: the slices are kept in index
 * order, fired window by window, and dropped when their last window is cleaned up. Processing-time tumbling windows
 * take the same slices, by the scheduler's clock at an element's arrival, and fire on a wake-up at their max timestamp
 * (docs/SEMANTICS.md §3.12). Build it only for the grid {@link sliceGridOf} gives; the general operator
 * (`WindowOperatorCore`) takes every other window.
 *
 * State in checkpoints: `contents` (namespace-major: slice start → key → accumulator) and `order` (slice start → key →
 * the entry's sequence number: restored, a slice's keys come back in the order of their first elements). The live
 * slices are the truth; a snapshot first writes into these columns what changed since the last one. Checkpoints of
 * the earlier, key-major layout (`panes`) are converted on restore.
 *
 * @example
 * ```ts
 * const grid = sliceGridOf(assigner, eventTimeTrigger(), fn);
 * if (grid !== undefined) keyedOperator('window', name, (args) => new SlicingWindowOperatorCore(args, assigner, {}, fn, grid));
 * ```
 *
 * @internal
 */
export class SlicingWindowOperatorCore<T, K, R> extends WindowOperatorBase<T, K, R> {
  private readonly grid: SliceGrid;
  /** slicesPerWindow === 1 (then slicesPerSlide is 1 too): a window is one slice */
  private readonly tumbling: boolean;
  /** processing-time windows (tumbling): slices by the clock, fired on wake-ups, never late */
  private readonly processingTime: boolean;
  /** how each element is added to its slice's accumulator (`NONE` = a new entry) */
  private readonly fold: (acc: unknown, value: T) => unknown;
  /** Whether an accumulator is the array of its elements, grown in place (`processWindow`, `collect()`). */
  private readonly listContents: boolean;
  /** how the slices of a sliding window combine (the aggregator's merge; `addMerge` for count and sum) */
  private readonly merge: ((a: unknown, b: unknown) => unknown) | undefined;
  /** the live slices by index, and in ascending index */
  private readonly slices = new Map<number, Slice>();
  private readonly sliceOrder = new SliceOrder<Slice>();
  /** the slice made last, while live (its size is the room the next one is made with); else that size when it went */
  private lastMade: Slice | undefined = undefined;
  private lastMadeSize = 0;
  /** derived from the watermark: the first window not yet ended, and the first slice none of whose windows ended */
  private firstOpenWindow = -Infinity;
  /**
   * Windows whose max timestamp is at or below this were cleaned up before a restore, under the lateness the
   * checkpoint was taken with: restored with more lateness, they stay gone (their slices, still held by newer windows,
   * must not fold them back). `-Infinity`: nothing beyond what this operator's own lateness says.
   */
  private cleanedThrough = -Infinity;
  private firstOpenSlice = -Infinity;
  /** the open slice of the last element, and its time range (NaN: none cached) */
  private lastSlice: Slice | undefined = undefined;
  private lastSliceStart = NaN;
  private lastSliceEnd = NaN;
  /** the snapshot epoch (see {@link Slice}); `writeAllNext`: the next snapshot writes every entry (after a conversion) */
  private epoch = 0;
  private writeAllNext = false;
  /**
   * Sliding windows: a dense slot per key with entries in live slices (how many: `slotRefs`), so that folding a
   * window's slices per key indexes arrays (`slotAcc`, and `slotMark`: the firing that last touched the slot) instead
   * of a map. Slots of keys without entries are reused.
   */
  private readonly slotOf = new Map<KeyId, number>();
  private slotKeys: (Key | undefined)[] = [];
  private slotIds: (KeyId | undefined)[] = [];
  private slotRefs: number[] = [];
  private slotAcc: unknown[] = [];
  private slotMark: number[] = [];
  private freeSlots: number[] = [];
  private firing = 0;
  /** the keys' slots of the window being fired, in firing order (reused) */
  private firedSlots: number[] = [];
  /** the window of the last firing (results of one window share it) */
  private lastWindow: TimeWindow = Object.freeze({ start: NaN, end: NaN });
  /**
   * Whether the slices keep their entries' keys (`Slice.keys`). Not at first: every key is then its own id (a string,
   * a number, a boolean, a bigint), and a tumbling window fires its keys from the slice's `positions` — a slice holds
   * an array less, a slice held to a late watermark costs the collector less to keep. From the first key whose id is
   * not itself (an array, a string that starts with U+0000 or `[`, `-0`), the first snapshot (not a finished one) or
   * a restore on, they do: snapshots read keys by position, and a restore decodes them from their ids. The switch
   * does not go back, so a checkpointed job keeps keys from its first checkpoint on.
   */
  private keysKept = false;

  /** Declares the state (`contents`, the legacy `panes`, `order`, the trigger's), checks the options; `grid` from {@link sliceGridOf}. */
  constructor(args: CoreArgs<WindowResult<K, R>>, assigner: WindowAssigner<T>, options: WindowOperatorOptions<T, K>, fn: WindowFunction<T, K, R>, grid: SliceGrid) {
    const trigger = options.trigger ?? assigner.defaultTrigger();
    const state: Record<string, StateDescriptor> = {
      contents: contentsDescriptor(fn),
      panes: engineArrays(valueState<unknown[]>()),
      order: valueState<number>(),
    };
    for (const [name, d] of Object.entries(trigger.state ?? {})) state[`trigger:${name}`] = d;
    super(args, state, { namespaceMajor: ['contents', 'order'] }, assigner, options, fn);
    this.grid = grid;
    this.tumbling = grid.slicesPerWindow === 1;
    this.processingTime = !assigner.isEventTime;
    this.fold = foldOf(fn);
    this.listContents = contentsAppend(fn);
    this.merge = mergeOf(fn);
  }

  /** No keyed timers: windows fire from {@link onWatermark}. */
  protected onTimer(t: Timer): void {
    void t;
  }

  // ---- records (docs/SEMANTICS.md §3.3–3.5, §4) -------------------------------------------------------------------
  //
  // Window k covers slices [k·slicesPerSlide, k·slicesPerSlide + slicesPerWindow); a slice holds the elements with
  // floor((ts − offset) / sliceSize) = its index (see SliceGrid). Every rule is the general operator's
  // (docs/SEMANTICS.md §3.3–3.5): a window is late when its cleanup time (max timestamp + lateness) is at or below the
  // watermark; an element accepted by no window and late itself goes to the late output; a window at or below the
  // watermark fires at once when an element joins it (windows in descending start order), the others when the
  // watermark reaches their end, in ascending end order. Keys firing one window (Flink leaves their order open, see
  // docs/SEMANTICS.md §3.12) do so in the order of their first elements in the window's slices: slice by slice from
  // the oldest, within a slice by first element (tumbling: the order of the keys' first elements in the window, as
  // the general operator's timers).

  /** The max timestamp of window k (its end − 1). */
  private windowMaxTimestamp(k: number): number {
    const grid = this.grid;
    return grid.offset + (k * grid.slicesPerSlide + grid.slicesPerWindow) * grid.sliceSize - 1;
  }

  /** The first window holding slice `slice`. */
  private firstWindowOf(slice: number): number {
    const grid = this.grid;
    return Math.floor((slice - grid.slicesPerWindow) / grid.slicesPerSlide) + 1;
  }

  /** The last window holding slice `slice`. */
  private lastWindowOf(slice: number): number {
    return Math.floor(slice / this.grid.slicesPerSlide);
  }

  /** Recomputes what derives from the watermark: the first open window and the first open slice. */
  private deriveFromWatermark(): void {
    const grid = this.grid;
    const wm = this.watermark;
    this.firstOpenWindow =
      wm === -Infinity ? -Infinity : wm === Infinity ? Infinity : Math.floor((wm + 1 - grid.offset - grid.slicesPerWindow * grid.sliceSize) / (grid.slicesPerSlide * grid.sliceSize)) + 1;
    this.firstOpenSlice = (this.firstOpenWindow - 1) * grid.slicesPerSlide + grid.slicesPerWindow;
  }

  protected onRecord(rec: StreamRecord<T, Key>): void {
    this.add(rec.value, rec.timestamp, rec.key, rec);
  }

  protected override onFields(value: T, timestamp: number, key: Key): void {
    this.add(value, timestamp, key, undefined);
  }

  /**
   * A record (`rec`: itself, when it came as one — a late record goes to the late-data output as it came — else made
   * of its fields where it is handed on): into its slice's accumulator (the common case — an open slice the key
   * already has — inline). Its time is its timestamp, or for processing-time windows the scheduler's clock.
   */
  private add(value: T, timestamp: number, key: Key, rec: StreamRecord<T, Key> | undefined): void {
    const ts = this.processingTime ? this.scheduler.now() : timestamp;
    const slice =
      ts >= this.lastSliceStart && ts < this.lastSliceEnd ? (this.lastSlice as Slice) : this.openSliceOf(rec ?? { kind: 'record', value, timestamp, key }, ts);
    if (slice === undefined) return;
    const pos = slice.positions.get(this.backend.currentKeyId());
    if (pos === undefined) {
      this.addEntry(slice, value);
      return;
    }
    slice.accs[pos] = this.fold(slice.accs[pos], value);
    if (this.backend.isTracking() && pos < slice.entriesAtSnapshot && slice.changedIn[pos] !== this.epoch) this.changedEntry(slice, pos);
  }

  /**
   * The open slice of a record at time `ts` (made when new), cached with its time range; or, for a slice one of whose
   * windows has ended, the record handled here (late-but-allowed, or late) and `undefined`. Processing time: a slice
   * is never closed (one whose window fired was dropped and is made again, to fire at the next wake-up, as the
   * general operator fires a window again that gets an element after its timer); its wake-up is asked for here.
   */
  private openSliceOf(rec: StreamRecord<T, Key>, ts: number): Slice | undefined {
    const grid = this.grid;
    if (!isTimestamp(ts, MAX_OPERATOR_TIMESTAMP)) this.assigner.assign(rec.value, ts, ts); // throws the assigner's error
    const index = Math.floor((ts - grid.offset) / grid.sliceSize);
    if (index < this.firstOpenSlice) {
      this.onClosedSliceRecord(rec, index);
      return undefined;
    }
    const slice = this.sliceAt(index);
    this.lastSlice = slice;
    this.lastSliceStart = slice.start;
    this.lastSliceEnd = slice.start + grid.sliceSize;
    if (this.processingTime) this.scheduleWakeUp(this.lastSliceEnd - 1);
    return slice;
  }

  /** The live slice of an index, made (in index order) when there is none. */
  private sliceAt(index: number): Slice {
    let slice = this.slices.get(index);
    if (slice !== undefined) return slice;
    // room for as many entries as the slice made before holds (keys come back slice after slice), and an eighth more:
    // a slice that outgrows its room copies its arrays into ones half as large again (garbage, then slack held until
    // the slice goes), and with as many keys as before half the slices would; none for a slice older than that one
    // (made for a late element)
    const newer = this.lastMade === undefined || index > this.lastMade.index;
    const room = newer ? (this.lastMade?.size ?? this.lastMadeSize) : 0;
    slice = new Slice(index, this.grid.offset + index * this.grid.sliceSize, room + (room >> 3), !this.tumbling, this.keysKept);
    if (newer) this.lastMade = slice;
    this.slices.set(index, slice);
    this.sliceOrder.insert(slice);
    return slice;
  }

  /** A key's first element in a slice: a new entry (sliding: with the key's slot). */
  private addEntry(slice: Slice, value: T): number {
    const id = this.backend.currentKeyId();
    const key = this.backend.currentKey() as Key;
    // (a `Map` keeps -0 as 0)
    if (!this.keysKept && (id !== key || Object.is(id, -0))) this.keepKeys();
    const acc = this.fold(NONE, value);
    const pos = slice.add(key, acc, this.tumbling ? -1 : this.slotFor(id, key));
    slice.positions.set(id, pos);
    return pos;
  }

  /** From now on the slices keep their entries' keys (see {@link keysKept}): the live ones take them from their ids. */
  private keepKeys(): void {
    this.keysKept = true;
    // (every key so far was its own id)
    for (const slice of this.slices.values()) if (slice.keys === undefined) slice.keys = Array.from(slice.positions.keys()) as Key[];
  }

  /** The slot of a key (sliding), taken when it has none; counts one more entry of the key. */
  private slotFor(id: KeyId, key: Key): number {
    let slot = this.slotOf.get(id);
    if (slot === undefined) {
      slot = this.freeSlots.length > 0 ? (this.freeSlots.pop() as number) : undefined;
      if (slot === undefined) {
        slot = this.slotKeys.length;
        this.slotKeys.push(undefined);
        this.slotIds.push(undefined);
        this.slotRefs.push(0);
        this.slotAcc.push(undefined);
        this.slotMark.push(-1);
      }
      this.slotOf.set(id, slot);
      this.slotKeys[slot] = key;
      this.slotIds[slot] = id;
    }
    this.slotRefs[slot] = (this.slotRefs[slot] as number) + 1;
    return slot;
  }

  /**
   * A record of a slice one of whose windows has ended: late when every window of it is cleaned up (to the late
   * output if the record itself is late), else into the slice, and its windows that have ended fire for the key at
   * once, in descending start order (docs/SEMANTICS.md §3.3).
   */
  private onClosedSliceRecord(rec: StreamRecord<T, Key>, index: number): void {
    const kmax = this.lastWindowOf(index);
    if (this.windowGone(kmax)) {
      const max = this.windowMaxTimestamp(kmax);
      if (!(max + this.lateness <= this.watermark)) {
        this.late(rec, `timestamp ${rec.timestamp}: before the restore, under the allowed lateness of the checkpoint restored, windows ending up to ${this.cleanedThrough + 1} were cleaned up`);
        return;
      }
      // every window of the element is late (the one with the largest start ends last): the element is, even when a
      // fractional timestamp puts it above the watermark after its windows' last millisecond (docs/SEMANTICS.md §3.3)
      this.late(rec);
      return;
    }
    const slice = this.sliceAt(index);
    const id = this.backend.currentKeyId();
    let pos = slice.positions.get(id);
    if (pos === undefined) pos = this.addEntry(slice, rec.value);
    else {
      slice.accs[pos] = this.fold(slice.accs[pos], rec.value);
      if (this.backend.isTracking() && pos < slice.entriesAtSnapshot && slice.changedIn[pos] !== this.epoch) this.changedEntry(slice, pos);
    }
    for (let k = Math.min(kmax, this.firstOpenWindow - 1), kmin = this.firstWindowOf(index); k >= kmin; k--) {
      if (this.windowGone(k)) break; // smaller k end earlier: gone too
      this.fireKey(k, id, this.backend.currentKey() as Key);
      if (this.out.closed) return;
    }
  }

  // ---- firing -----------------------------------------------------------------------------------------------------

  /**
   * On a watermark: fire every window it ended, ascending, then drop the slices whose last window is cleaned up.
   * (Processing-time windows ignore watermarks.)
   */
  protected override onWatermark(wm: number): void {
    if (this.processingTime) return;
    const previous = this.firstOpenWindow;
    this.deriveFromWatermark();
    if (this.firstOpenWindow !== previous) {
      // the cached slice may have closed
      this.lastSlice = undefined;
      this.lastSliceStart = this.lastSliceEnd = NaN;
    }
    const order = this.sliceOrder;
    if (this.firstOpenWindow > previous && order.length > 0) this.fireWindows(previous, this.firstOpenWindow);
    if (this.out.closed) return;
    // cleanup: a slice goes with its last window's cleanup time (max timestamp + lateness; overflowing: never)
    const L = this.lateness;
    let n = 0;
    done: for (const block of order.blocks) {
      for (const slice of block) {
        const cleanup = this.windowMaxTimestamp(this.lastWindowOf(slice.index)) + L;
        if (!(cleanup <= wm) || cleanup === Infinity) break done;
        this.dropSlice(slice);
        n++;
      }
    }
    if (n > 0) order.dropFirst(n);
  }

  /** On a wake-up (processing time `now`): the windows the clock ended fire, then the keyed timers (restored ones). */
  override fireProcessingTimers(now: number): void {
    if (this.processingTime) this.fireByClock(now);
    if (!this.out.closed) super.fireProcessingTimers(now);
  }

  /**
   * Processing-time tumbling windows: every live slice whose window's max timestamp is at or below `now` fires and is
   * dropped (lateness is 0), ascending; then the wake-up for the next one is asked for — also when none fired (a
   * wake-up that came early: the clock stepped back, or a timer longer than the host's longest delay was cut short).
   */
  private fireByClock(now: number): void {
    const order = this.sliceOrder;
    const size = this.grid.sliceSize;
    let n = 0;
    let closed = false;
    due: for (const block of order.blocks) {
      for (const slice of block) {
        if (slice.start + size - 1 > now) break due;
        this.fireSlice(slice, slice.index);
        if ((closed = this.out.closed)) break due;
        this.dropSlice(slice);
        n++;
      }
    }
    if (closed) {
      order.dropFirst(n);
      return;
    }
    if (n > 0) {
      order.dropFirst(n);
      // the cached slice may be one of those dropped
      this.lastSlice = undefined;
      this.lastSliceStart = this.lastSliceEnd = NaN;
    }
    this.wakeUpForOldestSlice();
  }

  /** Processing time: asks for a wake-up at the max timestamp of the oldest live slice's window, if any. */
  private wakeUpForOldestSlice(): void {
    const oldest = this.sliceOrder.first();
    if (oldest !== undefined) this.scheduleWakeUp(oldest.start + this.grid.sliceSize - 1);
  }

  /** Fires the windows [from, to) that hold a live slice, ascending. */
  private fireWindows(from: number, to: number): void {
    const grid = this.grid;
    const order = this.sliceOrder;
    const blocks = order.blocks;
    // the first live slice of a window from `from` on (binary searches: slices ascend), as block b, offset o
    let b = 0;
    let o = 0;
    if (from !== -Infinity) {
      const first = from * grid.slicesPerSlide;
      b = order.blockOf(first);
      if (b < blocks.length) o = order.offsetIn(b, first);
    }
    let k = from;
    while (b < blocks.length) {
      const block = blocks[b] as Slice[];
      if (o >= block.length) {
        b++;
        o = 0;
        continue;
      }
      const slice = block[o] as Slice;
      if (this.lastWindowOf(slice.index) < k) {
        o++;
        continue;
      }
      k = Math.max(k, this.firstWindowOf(slice.index));
      if (k >= to) return;
      if (this.tumbling) this.fireSlice(slice, k);
      else this.fireSliding(k, b, o);
      if (this.out.closed) return;
      k++;
    }
  }

  /** Tumbling: window k is slice `slice`; every key's result, in entry order. */
  private fireSlice(slice: Slice, k: number): void {
    const w = this.windowOf(k);
    const accs = slice.accs;
    const keys = slice.keys;
    const size = slice.size;
    let pos = 0;
    let key: Key | undefined;
    try {
      if (keys !== undefined) {
        for (; pos < size; pos++) {
          key = keys[pos] as Key;
          this.emitResult(key, w, accs[pos]);
          if (this.out.closed) return;
        }
      } else {
        // (the ids are the keys, in entry order)
        for (const id of slice.positions.keys()) {
          key = id as Key;
          this.emitResult(key, w, accs[pos++]);
          if (this.out.closed) return;
        }
      }
    } catch (err) {
      this.failUser(err, { kind: 'timer', timestamp: w.end - 1, domain: this.processingTime ? 'processing' : 'event', key });
    }
  }

  /**
   * Sliding: window k from its slices (from block `b`, offset `o` of the order on): per key the merge of its
   * accumulators, slice by slice from the oldest (the keys' slots collect them), then every key's result in the order
   * of first appearance.
   */
  private fireSliding(k: number, b: number, o: number): void {
    const grid = this.grid;
    const w = this.windowOf(k);
    const end = k * grid.slicesPerSlide + grid.slicesPerWindow;
    const blocks = this.sliceOrder.blocks;
    const mark = this.slotMark;
    const acc = this.slotAcc;
    const fired = this.firedSlots;
    const merge = this.merge as (a: unknown, b: unknown) => unknown;
    const firing = ++this.firing;
    let n = 0;
    let slot = -1;
    try {
      // count and sum: numbers added in place (no call per entry and slice)
      const adds = merge === addMerge;
      window: for (let bb = b; bb < blocks.length; bb++) {
        const block = blocks[bb] as Slice[];
        for (let j = bb === b ? o : 0; j < block.length; j++) {
          const slice = block[j] as Slice;
          if (slice.index >= end) break window;
          const slots = slice.slots;
          const accs = slice.accs;
          for (let p = 0, size = slice.size; p < size; p++) {
            slot = slots[p] as number;
            if (mark[slot] !== firing) {
              mark[slot] = firing;
              acc[slot] = adds ? accs[p] : this.foldStart(accs[p]);
              fired[n++] = slot;
            } else acc[slot] = adds ? (acc[slot] as number) + (accs[p] as number) : this.mergeSlice(acc[slot], accs[p]);
          }
        }
      }
      for (let x = 0; x < n; x++) {
        slot = fired[x] as number;
        const v = acc[slot];
        acc[slot] = undefined;
        this.emitResult(this.slotKeys[slot] as Key, w, v);
        if (this.out.closed) return;
      }
    } catch (err) {
      for (let x = 0; x < n; x++) acc[fired[x] as number] = undefined;
      this.failUser(err, { kind: 'timer', timestamp: w.end - 1, domain: 'event', key: slot >= 0 ? this.slotKeys[slot] : undefined });
    }
  }

  /** Window k of one key, fired by a late element: the merge of the key's entries in the window's slices. */
  private fireKey(k: number, id: KeyId, key: Key): void {
    const grid = this.grid;
    let v: unknown = NONE;
    for (let s = k * grid.slicesPerSlide, end = s + grid.slicesPerWindow; s < end; s++) {
      const slice = this.slices.get(s);
      const pos = slice?.positions.get(id);
      if (pos === undefined) continue;
      const a = (slice as Slice).accs[pos];
      v = v === NONE ? this.foldStart(a) : this.mergeSlice(v, a);
    }
    if (v !== NONE) this.emitResult(key, this.windowOf(k), v);
  }

  /**
   * The start of a window's fold from a slice's accumulator: the accumulator itself when it is a primitive, else a fresh
   * one merged with it — `merge` may change its first argument, and the slice's stays in state (docs/SEMANTICS.md §4).
   */
  private foldStart(a: unknown): unknown {
    // (a tumbling window is one slice: nothing is merged into its accumulator)
    if (typeof a !== 'object' || a === null || this.grid.slicesPerWindow === 1 || this.merge === undefined) return a;
    return this.mergeSlice((this.fn as { readonly aggregator: Aggregator<unknown, unknown, unknown> }).aggregator.create(), a);
  }

  /**
   * `merge(acc, sliceAcc)` of a window's fold; an aggregator whose `merge` returns its second argument — a slice's
   * accumulator, still in state, which the fold would then change — is refused (docs/SEMANTICS.md §4).
   */
  private mergeSlice(acc: unknown, sliceAcc: unknown): unknown {
    const merged = (this.merge as (a: unknown, b: unknown) => unknown)(acc, sliceAcc);
    if (merged === sliceAcc && typeof sliceAcc === 'object' && sliceAcc !== null) {
      throw new ConfigurationError(
        this.name,
        sliceAcc,
        `${this.name}: the aggregator's merge(a, b) returned b; sliding windows fold their slices' accumulators, which stay in state: merge may change and return a, and must neither change nor return b.`,
      );
    }
    return merged;
  }

  /** Window k, one frozen object shared by the results of a firing. */
  private windowOf(k: number): TimeWindow {
    const grid = this.grid;
    const start = grid.offset + k * grid.slicesPerSlide * grid.sliceSize;
    let w = this.lastWindow;
    if (w.start !== start) this.lastWindow = w = Object.freeze({ start, end: start + grid.slicesPerWindow * grid.sliceSize });
    return w;
  }

  /** Emits a key's result of window w from its accumulator. */
  private emitResult(key: Key, w: TimeWindow, acc: unknown): void {
    const fn = this.fn;
    if (fn.kind === 'process') {
      this.backend.setCurrent(key, keyIdOf(key));
      // (the elements as a copy, as the general path's list state gives them: the function may keep them, and a late
      // element must not change what a firing already handed on)
      this.emitWindow(w, fn.aggregator !== undefined ? fn.aggregator.result(acc) : (acc as unknown[]).slice(), true);
    } else this.emitOne(key as unknown as K, w, (fn.kind === 'aggregate' ? fn.aggregator.result(acc) : acc) as R, w.end - 1);
  }

  /** Drops a slice (its last window is cleaned up): its entries, their slots, its namespaces in the state. */
  private dropSlice(slice: Slice): void {
    this.slices.delete(slice.index);
    if (slice === this.lastMade) {
      this.lastMadeSize = slice.size;
      this.lastMade = undefined;
    }
    if (!this.tumbling) {
      for (let p = 0; p < slice.size; p++) {
        const slot = slice.slots[p] as number;
        const refs = (this.slotRefs[slot] as number) - 1;
        this.slotRefs[slot] = refs;
        if (refs > 0) continue;
        this.slotOf.delete(this.slotIds[slot] as KeyId);
        this.slotKeys[slot] = undefined;
        this.slotIds[slot] = undefined;
        this.freeSlots.push(slot);
      }
    }
    this.backend.dropNamespace(CONTENTS, slice.start);
    this.backend.dropNamespace(ORDER_STATE, slice.start);
  }

  // ---- snapshots, restore, inspection -----------------------------------------------------------------------------

  /**
   * Brings `contents` and `order` up to date with the live slices (what changed since the last snapshot; all of it
   * for a full one), then snapshots.
   */
  override snapshot(options?: SnapshotOptions): OperatorSnapshot {
    // finished: no keyed state is written, so nothing is mirrored (the backend stops tracking: a later snapshot, if
    // any, is full and mirrors every slice)
    if (options?.finished === true) return super.snapshot(options);
    if (!this.keysKept) this.keepKeys();
    const b = this.backend;
    const all = options?.full === true || !b.isTracking();
    // a full snapshot follows: what the mirroring changes need not be tracked
    if (all) b.untrackUntilSnapshot();
    const every = all || this.writeAllNext;
    for (const slice of this.sliceOrder) {
      if (every) {
        for (let pos = 0; pos < slice.size; pos++) this.mirror(slice, pos, true);
      } else {
        for (const pos of slice.changed) this.mirrorChanged(slice, pos);
        for (let pos = slice.entriesAtSnapshot; pos < slice.size; pos++) this.mirror(slice, pos, true);
      }
      slice.changed.length = 0;
      slice.entriesAtSnapshot = slice.size;
    }
    this.epoch++;
    this.writeAllNext = false;
    return super.snapshot(options);
  }

  /**
   * Records that entry `pos` of `slice`, which the last snapshot has, changed since, by the element just folded in:
   * once per snapshot epoch. A list of elements grew by that element: the delta appends the ones from there on.
   */
  private changedEntry(slice: Slice, pos: number): void {
    slice.changedIn[pos] = this.epoch;
    slice.changed.push(pos);
    if (this.listContents) slice.appendFrom[pos] = (slice.accs[pos] as unknown[]).length - 1;
  }

  /**
   * Writes a changed slice entry (one the last snapshot has) into `contents`: a list of elements the backend holds
   * (the same array, grown in place) is recorded as appended to since the last snapshot, anything else written again.
   */
  private mirrorChanged(slice: Slice, pos: number): void {
    if (this.listContents) {
      const b = this.backend;
      const id = keyIdOf((slice.keys as Key[])[pos] as Key);
      if (b.getAt(CONTENTS, id, slice.start) === slice.accs[pos]) {
        b.appendToAt(CONTENTS, id, slice.start, slice.appendFrom[pos] as number);
        return;
      }
    }
    this.mirror(slice, pos, false);
  }

  /** Writes a slice entry into `contents` (and its position into `order`). */
  private mirror(slice: Slice, pos: number, withOrder: boolean): void {
    const b = this.backend;
    const id = keyIdOf((slice.keys as Key[])[pos] as Key);
    const acc = slice.accs[pos];
    b.putAt(CONTENTS, id, slice.start, acc === undefined ? UNDEFINED : acc);
    if (withOrder) b.putAt(ORDER_STATE, id, slice.start, pos);
  }

  /**
   * Sliding windows in event time, mid-stream: the windows cleaned up so far ({@link cleanedThrough}), for a restore
   * with more lateness (tumbling windows need none: a cleaned-up window's slice went with it).
   */
  protected override operatorState(): unknown {
    if (this.processingTime || this.tumbling) return undefined;
    const through = Math.max(this.cleanedThrough, this.watermark - this.lateness);
    return through === -Infinity || through === Infinity || Number.isNaN(through) ? undefined : { cleanedThrough: through };
  }

  protected override restoreOperatorState(state: unknown): void {
    this.cleanedThrough = cleanedThroughOf(state) ?? -Infinity;
  }

  /** Whether window `k` has been cleaned up: past its cleanup time, or before a restore ({@link cleanedThrough}). */
  private windowGone(k: number): boolean {
    const max = this.windowMaxTimestamp(k);
    return max + this.lateness <= this.watermark || max <= this.cleanedThrough;
  }

  /** Restores state, then the live slices from it (converting slices of the legacy `panes` layout). */
  override restore(snapshots: readonly OperatorSnapshot[]): void {
    super.restore(snapshots);
    // (restored keys are decoded from their ids; the next snapshot reads them by position)
    if (!this.keysKept) this.keepKeys();
    if (!this.processingTime) this.deriveFromWatermark();
    const grid = this.grid;
    const b = this.backend;
    const contents = b.namespaceMajorColumn(CONTENTS);
    const orders = b.namespaceMajorColumn(ORDER_STATE);
    const legacy = b.column(LEGACY_KEY_SLICES_STATE) as ReadonlyMap<KeyId, unknown[]>;
    // entries per slice index: [sequence, id, accumulator]
    const restored = new Map<number, [number, KeyId, unknown][]>();
    const entriesOf = (index: number) => {
      let list = restored.get(index);
      if (list === undefined) restored.set(index, (list = []));
      return list;
    };
    // a checkpoint of the general operator for these windows (taken with another trigger): a window's keys in the
    // order of their timers' registration, the order it fires them in (docs/SEMANTICS.md §3.12)
    let generalTimers: Map<string, number> | undefined;
    const generalSequence = (id: KeyId, ns: Namespace): number | undefined =>
      (generalTimers ??= firstTimerSequences(b.allTimers('event')).first).get(windowTimerKey(id, ns));
    let fromGeneral = false;
    for (const [ns, byKey] of contents) {
      const index = ((ns as number) - grid.offset) / grid.sliceSize;
      const seqs = orders.get(ns);
      for (const [id, raw] of byKey) {
        let seq = seqs?.get(id) as number | undefined;
        if (seq === undefined && this.processingTime) {
          // processing-time windows of the general operator (checkpoints written before 2026-12-03): no order state;
          // a window's keys fire in the order the snapshot lists them
          seq = entriesOf(index).length;
          this.writeAllNext = true;
        } else if (seq === undefined) {
          // a legacy open slice: tumbling, the sequence is in the key's array; sliding, the key's
          const keySlices = legacy.get(id);
          if (keySlices !== undefined) seq = this.legacySequence(keySlices, index);
          else {
            seq = generalSequence(id, ns);
            if (seq === undefined) {
              throw new TidewaterError(this.name, keyOfId(id), `${this.name}: the snapshot has window contents of a key without its order, pane state or timers; it was not taken by a window operator of these windows.`);
            }
            if (!this.tumbling) {
              throw new TidewaterError(
                this.name,
                keyOfId(id),
                `${this.name}: the snapshot holds sliding windows of the general window operator (taken with another trigger); this operator keeps the windows' slices, which whole windows cannot be split into. Restore it with the trigger it was taken with.`,
              );
            }
            fromGeneral = true;
          }
          this.writeAllNext = true;
        }
        entriesOf(index).push([seq, id, raw === UNDEFINED ? undefined : raw]);
      }
    }
    for (const [id, keySlices] of legacy) {
      // the legacy layout's closed slices
      const first = keySlices[LEGACY_FIRST_SLICE] as number;
      for (let i = LEGACY_FIRST_SLICE_ENTRY; i < keySlices.length; i += 2) {
        if ((keySlices[i] as number) < 0) continue;
        const index = first + (i - LEGACY_FIRST_SLICE_ENTRY) / 2;
        // (tumbling: the key's open slices have their sequence here and their accumulators in `contents`)
        if (index >= this.firstOpenSlice) continue;
        entriesOf(index).push([this.legacySequence(keySlices, index), id, unboxAccumulator(keySlices[i + 1])]);
      }
      b.removeAt(LEGACY_KEY_SLICES_STATE, id, '');
      this.writeAllNext = true;
    }
    const indexes = [...restored.keys()].sort((x, y) => x - y);
    for (const index of indexes) {
      const list = restored.get(index) as [number, KeyId, unknown][];
      const sequence = list.map((e) => e[0]);
      const byOrder = firingOrder(sequence, list.length);
      const slice = this.sliceAt(index);
      // (a restore of some key groups only, or of the legacy layout, leaves gaps: `order` is then rewritten)
      let renumbered = false;
      for (let n = 0; n < list.length; n++) {
        const [seq, id, acc] = list[byOrder[n] as number] as [number, KeyId, unknown];
        const key = keyOfId(id);
        slice.positions.set(id, slice.add(key, acc, this.tumbling ? -1 : this.slotFor(id, key)));
        if (seq !== n) renumbered = true;
      }
      if (renumbered) this.writeAllNext = true;
    }
    for (const slice of this.sliceOrder) slice.entriesAtSnapshot = this.writeAllNext ? 0 : slice.size;
    if (this.processingTime) {
      // the general operator's processing-time timers (its checkpoints): the slices fire instead (tracked, so the
      // next snapshot deletes them)
      b.deleteAllTimers('processing');
      this.wakeUpForOldestSlice();
    } else if (fromGeneral) b.deleteAllTimers('event'); // (likewise its event-time timers, its trigger's and cleanup's)
  }

  /**
   * The order of a key's entry in a slice, from the legacy layout (a sequence number): tumbling, the slice's; sliding,
   * the key's.
   */
  private legacySequence(keySlices: unknown[], index: number): number {
    if (this.tumbling) {
      const i = LEGACY_FIRST_SLICE_ENTRY + 2 * (index - (keySlices[LEGACY_FIRST_SLICE] as number));
      if (i >= LEGACY_FIRST_SLICE_ENTRY && i < keySlices.length && (keySlices[i] as number) >= 0) return keySlices[i] as number;
    }
    return keySlices[LEGACY_KEY_SEQUENCE] as number;
  }

  /**
   * State values held: the backend's, with one per entry of the live slices (its accumulator; its position in `order`
   * is not counted).
   */
  override get stateEntries(): number {
    const b = this.backend;
    let live = 0;
    for (const slice of this.sliceOrder) live += slice.size;
    return super.stateEntries - b.namespacedSize(CONTENTS) - b.namespacedSize(ORDER_STATE) + live;
  }

  /** Keys with state: the backend's and those of the live slices. */
  override keys(): unknown[] {
    const ids = new Set<KeyId>();
    const out: unknown[] = [];
    for (const key of super.keys()) {
      ids.add(keyIdOf(key as Key));
      out.push(key);
    }
    for (const slice of this.sliceOrder) {
      const keys = slice.keys ?? (Array.from(slice.positions.keys()) as Key[]);
      for (let pos = 0; pos < slice.size; pos++) {
        const id = keyIdOf(keys[pos] as Key);
        if (ids.has(id)) continue;
        ids.add(id);
        out.push(keys[pos]);
      }
    }
    return out;
  }

  /** The present value of a state; `contents` and `order` are read from the live slices. */
  override peekState(key: unknown, name: string, namespace: string | number = ''): unknown {
    const grid = this.grid;
    if ((name === 'contents' || name === 'order') && typeof namespace === 'number' && isKey(key)) {
      const slice = this.slices.get((namespace - grid.offset) / grid.sliceSize);
      const pos = slice?.positions.get(keyIdOf(key));
      if (slice === undefined || pos === undefined) return undefined;
      if (name === 'order') return pos;
      const v = slice.accs[pos];
      const fn = this.fn;
      if (fn.kind === 'reduce') return v;
      if (fn.aggregator !== undefined) return fn.aggregator.result(v);
      return [...(v as unknown[])];
    }
    return super.peekState(key, name, namespace);
  }

  /**
   * Pending timers of a key. This operator keeps no keyed timers; it reports the ones the general operator (Flink) has:
   * per window with contents, its end until it fires and its cleanup time (with lateness) until it is cleaned up
   * (processing time: its end, in the processing-time domain).
   */
  override timersOf(key: unknown): [domain: 'event' | 'processing', timestamp: number, namespace: string | number][] {
    const timers = super.timersOf(key);
    const id = keyIdOf(key as Key);
    const out = new Map<string, [domain: 'event' | 'processing', timestamp: number, namespace: string | number]>();
    const wm = this.watermark;
    const L = this.lateness;
    const grid = this.grid;
    for (const slice of this.sliceOrder) {
      if (!slice.positions.has(id)) continue;
      for (let k = this.firstWindowOf(slice.index); k <= this.lastWindowOf(slice.index); k++) {
        const max = this.windowMaxTimestamp(k);
        const start = grid.offset + k * grid.slicesPerSlide * grid.sliceSize;
        if (this.processingTime) out.set(`${max},${start}`, ['processing', max, start]);
        else if (max > wm) out.set(`${max},${start}`, ['event', max, start]);
        if (L > 0 && max + L > wm && max + L !== MAX_WATERMARK) out.set(`${max + L},${start}`, ['event', max + L, start]);
      }
    }
    return [...timers, ...[...out.values()].sort((x, y) => x[1] - y[1] || (x[2] as number) - (y[2] as number))];
  }
}
