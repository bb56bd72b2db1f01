// The slicing window operator (docs/ARCHITECTURE.md, "Windows"): aligned event-time windows — tumbling, and sliding
// with a mergeable, order-insensitive aggregator — on the built-in event-time trigger. Elements go into slices
// (slices of gcd(size, slide) ms) and windows are folded from their slices when they fire; no keyed timers. The
// general operator (`windowOperator.ts`) takes every other window; `operators/windowFunction.ts` chooses.
import { MAX_WATERMARK, type Key, type StreamRecord } from '../elements/index.js';
import { describeValue, TidewaterError } from '../errors/index.js';
import type { CoreArgs } from '../core/keyedOperator.js';
import { engineArrays } from '../state/backend.js';
import { keyIdOf, keyOfId, type KeyId } from '../keys/keyId.js';
import { isKey } from '../keys/validate.js';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';
import { valueState, type Aggregator, type StateDescriptor } from '../state/descriptors.js';
import { UNDEFINED } from '../state/handles.js';
import type { Timer } from '../timers/queue.js';
import { isTimestamp, MAX_OPERATOR_TIMESTAMP } from '../time/timestamps.js';
import type { WindowAssigner } from './assigners.js';
import { isEventTimeTrigger, type Trigger } from './triggers.js';
import { addMerge, ORDER_SENSITIVE, type TimeWindow, type WindowResult } from './types.js';
import {
  CONTENTS,
  contentsDescriptor,
  foldOf,
  NONE,
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

/** the state index of the per-key {@link KeySlices} (the state named `panes`) */
const KEY_SLICES_STATE = 1;

/**
 * A key's state besides its open slices (the `panes` state, default namespace), one flat array (one memory access
 * away): `[sequence, nextEvent, scheduling, firstSlice, order₀, acc₀, order₁, acc₁, …]`. `sequence`
 * ({@link KEY_SEQUENCE}): when the key's state was created (an operator sequence number: the firing order of sliding
 * windows); `nextEvent` ({@link KEY_NEXT_EVENT}): the key's next event time (a window end to fire, or a slice's
 * cleanup; NaN = none); `scheduling` ({@link KEY_SCHEDULING}) counting its schedulings; `firstSlice`
 * ({@link KEY_FIRST_SLICE}): the index of the slice of the first entry. Then per slice `firstSlice + i`, from
 * {@link FIRST_SLICE_ENTRY}: `orderᵢ` >= 0 when the key has the slice (tumbling: when the slice got its first
 * element, a sequence number: the firing order; -1: a hole), `accᵢ` its accumulator once the slice is closed (an
 * accumulator that is itself null or undefined is boxed). The key's open slices are pulled in at its first event
 * after they close. Plain data: it snapshots with the state codec as it is (the layout of checkpoints: do not change).
 */
type KeySlices = unknown[];
/** {@link KeySlices}: when the key's state was created (a sequence number) */
const KEY_SEQUENCE = 0;
/** {@link KeySlices}: the key's next event time (NaN: none) */
const KEY_NEXT_EVENT = 1;
/** {@link KeySlices}: how often the key was scheduled (due-list entries with an older count are stale) */
const KEY_SCHEDULING = 2;
/** {@link KeySlices}: the slice index of the first slice entry */
const KEY_FIRST_SLICE = 3;
/** {@link KeySlices}: the index of the first slice entry (its `order`; its accumulator follows) */
const FIRST_SLICE_ENTRY = 4;
/** The most slices a key's {@link KeySlices} spans (4 194 304: 48 days of 1 s slices; 8 years of 1 min slices). */
const MAX_KEY_SLICES = 1 << 22;

/**
 * The keys due at one event time, in parallel arrays: the key's slot, its state, the scheduling (an entry whose key
 * was scheduled again since is stale) and the firing order (ascending); the first `count` entries count (a list is
 * reused once fired: its arrays keep their capacity).
 */
interface DueList {
  count: number;
  slots: number[];
  keySlicesOf: KeySlices[];
  schedulings: number[];
  orders: number[];
}

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

/**
 * An open slice: its accumulators by key slot (`undefined`: the key has none; an accumulator that is itself
 * undefined is stored as `UNDEFINED`), how many it holds, and (once snapshots are taken) the slots changed since the
 * last one.
 */
interface OpenSlice {
  readonly slice: number;
  values: unknown[];
  count: number;
  /** The slots that got a value, in order (so closing the slice visits its values, not every slot). */
  readonly slots: number[];
  readonly dirty: Set<number>;
}

const NIL = '\u0000tidewater:nil';
function box(v: unknown): unknown {
  return v === null || v === undefined ? { [NIL]: v === null ? 0 : 1 } : v;
}
function unbox(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && NIL in v) return (v as Record<string, number>)[NIL] === 0 ? null : undefined;
  return v;
}

/** Entries of a due list at most for which {@link firingOrder} sorts numbers (an index takes 21 bits). */
const ORDER_INDEX_BITS = 2 ** 21;

/**
 * The indexes `0 … len − 1` of a due list in ascending order of `orders` (ties: by index). Sorted as numbers
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
 * with whole-ms size, slide and offset.
 *
 * @example
 * ```ts
 * sliceGridOf(slidingWindows(30_000, 10_000), eventTimeTrigger(), fn); // { sliceSize: 10000, slicesPerSlide: 1, slicesPerWindow: 3, offset: 0 }
 * ```
 *
 * @internal
 */
export function sliceGridOf<T, K, R>(a: WindowAssigner<T>, trigger: Trigger<T>, fn: WindowFunction<T, K, R>): SliceGrid | undefined {
  if ((a.kind !== 'tumbling' && a.kind !== 'sliding') || !a.isEventTime || !isEventTimeTrigger(trigger as Trigger<unknown>)) return undefined;
  const size = a.size as number;
  const slide = a.slide as number;
  const offset = a.offset ?? 0;
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(slide) || !Number.isSafeInteger(offset)) return undefined;
  if (slide < size) {
    // overlapping windows share slices: the aggregator must merge, and element order must not matter
    const agg = fn.kind === 'reduce' ? undefined : fn.aggregator;
    if (agg?.merge === undefined || (agg as { [ORDER_SENSITIVE]?: boolean })[ORDER_SENSITIVE] === true) return undefined;
  } else if (slide > size) return undefined;
  const sliceSize = gcd(size, slide);
  return { sliceSize, slicesPerSlide: slide / sliceSize, slicesPerWindow: size / sliceSize, offset };
}

/**
 * The slicing window operator: Flink's window semantics for aligned event-time windows (docs/SEMANTICS.md §3.3–3.5),
 * with one state value per key instead of one per (key, window), and a list of due keys per event time instead of
 * keyed timers. Build it only for the grid {@link sliceGridOf} gives; the general operator (`WindowOperatorCore`)
 * takes every other window.
 *
 * Slices of gcd(size, slide) ms (tumbling: one slice per window). Open slices (all of whose windows are still to
 * fire) keep their accumulators in arrays indexed by a dense slot per key (an element: one lookup of its key's slot,
 * then an array element; a key's first element in a slice writes an array element instead of growing a fresh map).
 * `contents` (namespace-major by slice start) holds them as of the last snapshot: a snapshot writes what changed
 * since (all of it when full), a restore reads them back, and the slice's namespace goes when it closes. When the
 * watermark ends a slice's first window, the slice moves into its keys' {@link KeySlices}, from which windows are
 * folded at firing. No keyed timers: the operator keeps the keys due per event time and fires window-major as the
 * watermark passes.
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
  /** the `contents` column (namespace-major): the open slices as of the last snapshot */
  private readonly openSlicesColumn: Map<unknown, Map<KeyId, unknown>>;
  /** keyId → {@link KeySlices} (the `panes` column) */
  private readonly keySlicesColumn: Map<KeyId, unknown>;
  /** the open slices by index, in creation order */
  private readonly openSlices = new Map<number, OpenSlice>();
  /** cleared value arrays of closed slices, for new open slices (all of length `slotCapacity`) */
  private spareValueArrays: unknown[][] = [];
  /**
   * A dense slot per key with slice state (derived from the `panes` state; slots of removed keys are reused): slot of
   * a key, and per slot its id, key and {@link KeySlices}; every open slice's array is `slotCapacity` long.
   */
  private readonly slotOf = new Map<KeyId, number>();
  private slotIds: (KeyId | undefined)[] = [];
  private slotKeys: (Key | undefined)[] = [];
  private slotSlices: (KeySlices | undefined)[] = [];
  /**
   * Per slot: an index of its {@link KeySlices} before which every slice is a hole (dropped), so that a key's event
   * does not walk the holes again (derived: {@link FIRST_SLICE_ENTRY} after a restore)
   */
  private slotHeads: number[] = [];
  private freeSlots: number[] = [];
  private slotCapacity = 0;
  /** how each element is added to its slice's accumulator (`NONE` = empty slice); sliding: slices then merge */
  private readonly fold: (acc: unknown, value: T) => unknown;
  /** the keys due per event time, and those times ascending */
  private readonly due = new Map<number, DueList>();
  private dueTimes: number[] = [];
  private lastDueTime = NaN;
  private lastDue: DueList | undefined = undefined;
  private spareDueLists: DueList[] = [];
  /** the window of the last firing (results of one window share it) */
  private lastWindow: TimeWindow = Object.freeze({ start: NaN, end: NaN });
  /** during a watermark: the open slices it closed, pulled into their keys' arrays */
  private closingSlices: OpenSlice[] = [];
  /** slots of keys with state that may not be due by the end of the first open window (derived from the state) */
  private readonly idle = new Set<number>();
  /** the sequence number of the next new slice of a key (and of a new key) */
  private nextSequence = 0;
  /** derived from the watermark: the first window not yet ended, and the first open slice */
  private firstOpenWindow = -Infinity;
  private firstOpenSlice = -Infinity;
  /** the slice of the last element (index, time range, and when open the slice and its values) */
  private lastSlice = NaN;
  private lastSliceStart = NaN;
  private lastSliceEnd = NaN;
  private lastOpenSlice: OpenSlice | undefined = undefined;
  private lastOpenValues: unknown[] | undefined = undefined;

  /** Declares the state (contents, `panes`, the trigger's), checks the options; `grid` from {@link sliceGridOf}. */
  constructor(args: CoreArgs<WindowResult<K, R>>, assigner: WindowAssigner<T>, options: WindowOperatorOptions<T, K>, fn: WindowFunction<T, K, R>, grid: SliceGrid) {
    const trigger = options.trigger ?? assigner.defaultTrigger();
    const state: Record<string, StateDescriptor> = {
      contents: contentsDescriptor(fn),
    };
    state['panes'] = engineArrays(valueState<KeySlices>());
    for (const [name, d] of Object.entries(trigger.state ?? {})) state[`trigger:${name}`] = d;
    // contents namespace-major (slice → key → accumulator): the open slices as of the last snapshot
    super(args, state, { namespaceMajor: ['contents'] }, assigner, options, fn);
    this.grid = grid;
    this.openSlicesColumn = this.backend.nsCols[CONTENTS] as Map<unknown, Map<KeyId, unknown>>;
    this.keySlicesColumn = this.backend.cols[KEY_SLICES_STATE] as Map<KeyId, unknown>;
    this.fold = foldOf(fn);
  }

  /** No keyed timers: the operator keeps its own schedule of due keys (fired from {@link onWatermark}). */
  protected onTimer(t: Timer): void {
    void t;
  }

  /** Restores state, then the schedule of due keys from the state values. */
  override restore(snapshots: readonly OperatorSnapshot[]): void {
    super.restore(snapshots);
    const grid = this.grid;
    this.deriveFromWatermark(grid);
    for (const [id, v] of this.keySlicesColumn) this.allocateSlot(keyOfId(id), id, v as KeySlices);
    // the open slices: from `contents` (which keeps them as of this snapshot) into their arrays
    for (const [ns, byKey] of this.openSlicesColumn) {
      const openSlice = this.newOpenSlice(((ns as number) - grid.offset) / grid.sliceSize);
      for (const [id, raw] of byKey) {
        const slot = this.slotOf.get(id);
        if (slot === undefined) {
          throw new TidewaterError(this.name, keyOfId(id), `${this.name}: the snapshot has window contents of a key without pane state; it was not taken by this operator.`);
        }
        openSlice.values[slot] = raw;
        openSlice.count++;
        openSlice.slots.push(slot);
      }
    }
    for (const [id, v] of this.keySlicesColumn) {
      const keySlices = v as KeySlices;
      const slot = this.slotOf.get(id) as number;
      for (let i = FIRST_SLICE_ENTRY; i < keySlices.length; i += 2) this.nextSequence = Math.max(this.nextSequence, (keySlices[i] as number) + 1);
      this.nextSequence = Math.max(this.nextSequence, (keySlices[KEY_SEQUENCE] as number) + 1);
      const t = keySlices[KEY_NEXT_EVENT] as number;
      if (Number.isFinite(t)) this.schedule(slot, keySlices, t, grid);
      else this.updateIdle(slot, keySlices, grid);
    }
  }

  /** Brings `contents` up to date with the open slices (what changed since the last snapshot; all of it for a full
   * one), then snapshots. */
  override snapshot(options?: { full?: boolean }): OperatorSnapshot {
    const grid = this.grid;
    if (this.openSlices.size === 0) return super.snapshot(options);
    const b = this.backend;
    const key = b.key;
    const id = b.id;
    const ns = b.ns;
    const all = options?.full === true || !b.tracking;
    // a full snapshot follows: what the mirroring changes need not be tracked
    if (all) b.tracking = false;
    try {
      for (const openSlice of this.openSlices.values()) {
        const start = grid.offset + openSlice.slice * grid.sliceSize;
        const values = openSlice.values;
        if (all) {
          for (let slot = 0; slot < values.length; slot++) if (values[slot] !== undefined) this.mirrorOpenValue(slot, start, values[slot]);
        } else {
          for (const slot of openSlice.dirty) if (values[slot] !== undefined) this.mirrorOpenValue(slot, start, values[slot]);
        }
        openSlice.dirty.clear();
      }
      return super.snapshot(options);
    } finally {
      b.key = key;
      b.id = id;
      b.ns = ns;
    }
  }

  private mirrorOpenValue(slot: number, start: number, raw: unknown): void {
    const b = this.backend;
    b.setCurrent(this.slotKeys[slot] as Key, this.slotIds[slot] as KeyId);
    b.ns = start;
    b.put(CONTENTS, raw);
  }

  /** State values held: the backend's, with the open slices' accumulators counted once. */
  override get stateEntries(): number {
    let n = super.stateEntries;
    const grid = this.grid;
    for (const openSlice of this.openSlices.values()) n += openSlice.count - (this.openSlicesColumn.get(grid.offset + openSlice.slice * grid.sliceSize)?.size ?? 0);
    return n;
  }

  /** The present value of a state; the open slices are read from their arrays. */
  override peekState(key: unknown, name: string, namespace: string | number = ''): unknown {
    const grid = this.grid;
    if (name === 'contents' && typeof namespace === 'number' && isKey(key)) {
      const openSlice = this.openSlices.get((namespace - grid.offset) / grid.sliceSize);
      const slot = this.slotOf.get(keyIdOf(key));
      if (openSlice !== undefined && slot !== undefined && openSlice.values[slot] !== undefined) {
        const raw = openSlice.values[slot];
        const v = raw === UNDEFINED ? undefined : raw;
        const fn = this.fn;
        if (fn.kind === 'reduce') return v;
        if (fn.aggregator !== undefined) return fn.aggregator.result(v);
        return [...(v as unknown[])];
      }
    }
    return super.peekState(key, name, namespace);
  }

  /**
   * Pending timers of a key. This operator keeps no keyed timers; it reports the ones the general operator (Flink) has:
   * per window with contents, its end until it fires and its cleanup time (with lateness) until it is cleaned up.
   */
  override timersOf(key: unknown): [domain: 'event' | 'processing', timestamp: number, namespace: string | number][] {
    const timers = super.timersOf(key);
    const grid = this.grid;
    const keySlices = this.peekState(key, 'panes') as KeySlices | undefined;
    if (keySlices === undefined) return timers;
    const slot = this.slotOf.get(keyIdOf(key as Key));
    const slices: number[] = [];
    for (let i = FIRST_SLICE_ENTRY; i < keySlices.length; i += 2) if ((keySlices[i] as number) >= 0) slices.push((keySlices[KEY_FIRST_SLICE] as number) + (i - FIRST_SLICE_ENTRY) / 2);
    if (slot !== undefined) for (const [slice, openSlice] of this.openSlices) if (openSlice.values[slot] !== undefined) slices.push(slice);
    const out = new Map<string, [domain: 'event' | 'processing', timestamp: number, namespace: string | number]>();
    const wm = this.watermark;
    const L = this.lateness;
    slices.forEach((slice) => {
      for (let k = Math.floor((slice - grid.slicesPerWindow) / grid.slicesPerSlide) + 1; k <= Math.floor(slice / grid.slicesPerSlide); k++) {
        const max = this.windowMaxTimestamp(k, grid);
        const start = grid.offset + k * grid.slicesPerSlide * grid.sliceSize;
        if (max > wm) out.set(`${max},${start}`, ['event', max, start]);
        if (L > 0 && max + L > wm && max + L !== MAX_WATERMARK) out.set(`${max + L},${start}`, ['event', max + L, start]);
      }
    });
    return [...timers, ...[...out.values()].sort((x, y) => x[1] - y[1] || (x[2] as number) - (y[2] as number))];
  }

  // ---- records, slices and firing (docs/SEMANTICS.md §3.3–3.5, §4) ----------------------------------------------
  //
  // Window k covers slices [k·slicesPerSlide, k·slicesPerSlide + slicesPerWindow); a slice holds the elements with
  // floor((ts − offset) / sliceSize) = its index (see SliceGrid). Every rule is the general operator's
  // (docs/SEMANTICS.md §3.3–3.5): a window is late when its cleanup time (max timestamp + lateness) is at or below the
  // watermark; an element accepted by no window and late itself goes to the late output; a window at or below the
  // watermark fires at once when an element joins it (windows in descending start order), the others when the
  // watermark reaches their end, in ascending end order. What differs is bookkeeping: one state value per key
  // instead of one per (key, window), and instead of keyed timers a list of due keys per event time, so a watermark
  // fires window-major. Keys that fire at one timestamp (Flink leaves their order open) do so, tumbling, in the order
  // of their first elements in the window (the general operator's timer order); sliding, in the order their state was
  // created. Both orders are sequence numbers in the state, so a restored run keeps them.

  /** The max timestamp of window k (its end − 1). */
  private windowMaxTimestamp(k: number, grid: SliceGrid): number {
    return grid.offset + (k * grid.slicesPerSlide + grid.slicesPerWindow) * grid.sliceSize - 1;
  }

  /** Recomputes what derives from the watermark: the first open window and the first open slice. */
  private deriveFromWatermark(grid: SliceGrid): void {
    const wm = this.watermark;
    this.firstOpenWindow = wm === -Infinity ? -Infinity : wm === Infinity ? Infinity : Math.floor((wm + 1 - grid.offset - grid.slicesPerWindow * grid.sliceSize) / (grid.slicesPerSlide * grid.sliceSize)) + 1;
    this.firstOpenSlice = (this.firstOpenWindow - 1) * grid.slicesPerSlide + grid.slicesPerWindow;
  }

  /** A record: into its slice's accumulator (the common case: an open slice the key already has, inline). */
  protected onRecord(rec: StreamRecord<T, Key>): void {
    const grid = this.grid;
    const ts = rec.timestamp;
    if (!(ts >= this.lastSliceStart && ts < this.lastSliceEnd)) this.locateSlice(rec, grid);
    const values = this.lastOpenValues;
    if (values !== undefined) {
      // the common case: an open slice the key has already (open slices are written whole into a snapshot: no tracking)
      const slot = this.slotOf.get(this.backend.id);
      if (slot !== undefined) {
        const raw = values[slot];
        if (raw !== undefined) {
          const next = this.fold(raw === UNDEFINED ? undefined : raw, rec.value);
          values[slot] = next === undefined ? UNDEFINED : next;
          if (this.backend.tracking) (this.lastOpenSlice as OpenSlice).dirty.add(slot);
          return;
        }
      }
    }
    this.addRecordSlow(rec, grid, this.lastSlice);
  }

  /** Caches the slice of an element: its index, time range and (when open and present) the slice. */
  private locateSlice(rec: StreamRecord<T, Key>, grid: SliceGrid): void {
    const ts = rec.timestamp;
    if (!isTimestamp(ts, MAX_OPERATOR_TIMESTAMP)) this.assigner.assign(rec.value, ts, 0); // throws the assigner's error
    const slice = Math.floor((ts - grid.offset) / grid.sliceSize);
    this.lastSlice = slice;
    this.lastSliceStart = grid.offset + slice * grid.sliceSize;
    this.lastSliceEnd = this.lastSliceStart + grid.sliceSize;
    const openSlice = slice >= this.firstOpenSlice ? this.openSlices.get(slice) : undefined;
    this.lastOpenSlice = openSlice;
    this.lastOpenValues = openSlice?.values;
  }

  /** A new open slice (its array from the pool when there is one). */
  private newOpenSlice(slice: number): OpenSlice {
    let values = this.spareValueArrays.pop();
    if (values === undefined) {
      values = new Array<unknown>(this.slotCapacity);
      values.fill(undefined);
    }
    const openSlice: OpenSlice = { slice, values, count: 0, slots: [], dirty: new Set() };
    this.openSlices.set(slice, openSlice);
    return openSlice;
  }

  /** Gives a key with new slice state a slot (every open slice's array grows with the slots). */
  private allocateSlot(key: Key, id: KeyId, keySlices: KeySlices): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slotIds.length;
      this.slotIds.push(undefined);
      this.slotKeys.push(undefined);
      this.slotSlices.push(undefined);
      this.slotHeads.push(FIRST_SLICE_ENTRY);
      if (slot >= this.slotCapacity) {
        const cap = Math.max(1024, this.slotCapacity * 2);
        for (const openSlice of this.openSlices.values()) for (let x = openSlice.values.length; x < cap; x++) openSlice.values.push(undefined);
        for (const openSlice of this.closingSlices) for (let x = openSlice.values.length; x < cap; x++) openSlice.values.push(undefined);
        this.spareValueArrays = [];
        this.slotCapacity = cap;
      }
    }
    this.slotOf.set(id, slot);
    this.slotIds[slot] = id;
    this.slotKeys[slot] = key;
    this.slotSlices[slot] = keySlices;
    this.slotHeads[slot] = FIRST_SLICE_ENTRY;
    return slot;
  }

  /** Frees the slot of a key whose slice state is gone (it has no open slice either). */
  private freeSlot(slot: number): void {
    const id = this.slotIds[slot] as KeyId;
    this.slotOf.delete(id);
    this.slotIds[slot] = undefined;
    this.slotKeys[slot] = undefined;
    this.slotSlices[slot] = undefined;
    this.freeSlots.push(slot);
  }

  private addRecordSlow(rec: StreamRecord<T, Key>, grid: SliceGrid, slice: number): void {
    const kmax = Math.floor(slice / grid.slicesPerSlide);
    const L = this.lateness;
    const wm = this.watermark;
    if (this.windowMaxTimestamp(kmax, grid) + L <= wm) {
      // every window of the element is late (the one with the largest start ends last)
      if (rec.timestamp + L <= wm) this.late(rec);
      return;
    }
    const b = this.backend;
    let slot = this.slotOf.get(b.id);
    let keySlices = slot === undefined ? undefined : this.slotSlices[slot];
    const created = keySlices === undefined;
    if (keySlices === undefined) {
      keySlices = [this.nextSequence++, NaN, 0, slice];
      b.put(KEY_SLICES_STATE, keySlices);
      slot = this.allocateSlot(keyOfId(b.id), b.id, keySlices);
    }
    const keySlot = slot as number;
    if (slice >= this.firstOpenSlice) {
      // an open slice: its accumulator lives in the slice's array; the key's first event after the slice closes pulls it in
      let openSlice = this.lastOpenSlice;
      if (openSlice === undefined) {
        openSlice = this.openSlices.get(slice) ?? this.newOpenSlice(slice);
        this.lastOpenSlice = openSlice;
        this.lastOpenValues = openSlice.values;
      }
      const raw = openSlice.values[keySlot];
      const next = this.fold(raw === undefined ? NONE : raw === UNDEFINED ? undefined : raw, rec.value);
      openSlice.values[keySlot] = next === undefined ? UNDEFINED : next;
      if (b.tracking) openSlice.dirty.add(keySlot);
      if (raw !== undefined) return;
      openSlice.count++;
      openSlice.slots.push(keySlot);
      // the key must be due by the slice's first window end; one that is not idle is due by the end of the first open
      // window already (sliding: no need to look at its array)
      const tf = this.windowMaxTimestamp(Math.floor((slice - grid.slicesPerWindow) / grid.slicesPerSlide) + 1, grid);
      if (grid.slicesPerWindow === 1) {
        // tumbling: the order of the keys firing a window is the order of their first elements in it
        if (b.tracking) b.touch(KEY_SLICES_STATE);
        keySlices[this.sliceEntry(keySlices, slice, keySlot)] = this.nextSequence++;
        this.scheduleUnlessEarlier(keySlot, keySlices, tf, grid);
      } else if (created || (this.idle.size > 0 && this.idle.has(keySlot))) {
        if (b.tracking) b.touch(KEY_SLICES_STATE);
        this.scheduleUnlessEarlier(keySlot, keySlices, tf, grid);
      }
      return;
    }
    // a closed slice: one of its windows has ended (a late-but-allowed element)
    if (b.tracking) b.touch(KEY_SLICES_STATE);
    const i = this.sliceEntry(keySlices, slice, keySlot);
    const isNew = (keySlices[i] as number) < 0;
    if (isNew) keySlices[i] = this.nextSequence++;
    keySlices[i + 1] = box(this.fold(isNew ? NONE : unbox(keySlices[i + 1]), rec.value));
    // its windows that already ended fire now, in descending start order
    const kmin = Math.floor((slice - grid.slicesPerWindow) / grid.slicesPerSlide) + 1;
    for (let k = Math.min(kmax, this.firstOpenWindow - 1); k >= kmin; k--) {
      if (this.windowMaxTimestamp(k, grid) + L <= wm) break; // smaller k end earlier: late too
      this.fireWindow(keySlices, k, grid);
    }
    if (isNew) this.scheduleFirstEvent(keySlot, keySlices, slice, this.firstOpenWindow, grid);
  }

  /**
   * The index of a slice's entry (its `order`) in a key's array, made room for. The array runs from the key's first slice to its last,
   * so its length is their distance: beyond {@link MAX_KEY_SLICES} the key fails with a clear error instead of
   * growing by the distance of its timestamps (with timestamps up to ±MAX_TIMESTAMP, that could be 1.7e16 slices).
   */
  private sliceEntry(keySlices: KeySlices, slice: number, slot: number): number {
    if (keySlices.length === FIRST_SLICE_ENTRY) keySlices[KEY_FIRST_SLICE] = slice;
    const first = keySlices[KEY_FIRST_SLICE] as number;
    const last = first + (keySlices.length - FIRST_SLICE_ENTRY) / 2 - 1;
    if (slice < first || slice > last) {
      const span = Math.max(slice, last) - Math.min(slice, first) + 1;
      if (span > MAX_KEY_SLICES) this.spanError(Math.min(slice, first), Math.max(slice, last));
    }
    if (slice < first) {
      // (moved by hand, not spliced: a spread of many arguments would overflow the stack)
      const n = 2 * (first - slice);
      const len = keySlices.length;
      keySlices.length = len + n;
      for (let x = len - 1; x >= FIRST_SLICE_ENTRY; x--) keySlices[x + n] = keySlices[x];
      for (let x = FIRST_SLICE_ENTRY; x < FIRST_SLICE_ENTRY + n; x += 2) {
        keySlices[x] = -1;
        keySlices[x + 1] = null;
      }
      keySlices[KEY_FIRST_SLICE] = slice;
    }
    const i = FIRST_SLICE_ENTRY + 2 * (slice - (keySlices[KEY_FIRST_SLICE] as number));
    while (keySlices.length <= i) keySlices.push(-1, null);
    if (i < (this.slotHeads[slot] as number)) this.slotHeads[slot] = i;
    return i;
  }

  private spanError(from: number, to: number): never {
    const grid = this.grid;
    const key = this.backend.key;
    throw new TidewaterError(
      this.name,
      key,
      `${this.name}: key ${describeValue(key)} would hold panes from ${grid.offset + from * grid.sliceSize} to ${grid.offset + (to + 1) * grid.sliceSize} ms at once, ` +
        `${to - from + 1} panes of ${grid.sliceSize} ms (at most ${MAX_KEY_SLICES}): this window operator keeps a key's panes between its watermark and ` +
        'its newest element in one array. Advance the watermark with the data (e.g. boundedOutOfOrderness(bound, { interval: 0 })), ' +
        'use larger windows or a smaller allowedLateness, or check the timestamps of this key.',
    );
  }

  /**
   * Schedules a key for a closed slice it just got: the end of the slice's first window from `kFrom` on (the windows
   * before have fired), or the slice's cleanup if earlier.
   */
  private scheduleFirstEvent(slot: number, keySlices: KeySlices, slice: number, kFrom: number, grid: SliceGrid): void {
    const kmin = Math.floor((slice - grid.slicesPerWindow) / grid.slicesPerSlide) + 1;
    const kmax = Math.floor(slice / grid.slicesPerSlide);
    const kf = Math.max(kmin, kFrom);
    let t = kf <= kmax ? this.windowMaxTimestamp(kf, grid) : Infinity;
    if (this.lateness > 0) t = Math.min(t, this.windowMaxTimestamp(kmax, grid) + this.lateness);
    this.scheduleUnlessEarlier(slot, keySlices, t, grid);
  }

  /** Schedules a key at t unless it is due earlier (tumbling: again at an equal time, to take a new slice's place in
   * the firing order). */
  private scheduleUnlessEarlier(slot: number, keySlices: KeySlices, t: number, grid: SliceGrid): void {
    const cur = keySlices[KEY_NEXT_EVENT] as number;
    if (t < cur || Number.isNaN(cur) || (t === cur && grid.slicesPerWindow === 1)) this.schedule(slot, keySlices, t, grid);
  }

  /** Folds window k of a key from its (closed) slices and emits it (nothing when it has no slice). */
  private fireWindow(keySlices: KeySlices, k: number, grid: SliceGrid): void {
    const first = keySlices[KEY_FIRST_SLICE] as number;
    const lo = FIRST_SLICE_ENTRY + 2 * Math.max(0, k * grid.slicesPerSlide - first);
    const hi = Math.min(keySlices.length, FIRST_SLICE_ENTRY + 2 * (k * grid.slicesPerSlide + grid.slicesPerWindow - first));
    const fn = this.fn;
    let acc: unknown = NONE;
    if (grid.slicesPerWindow === 1) {
      if (lo < hi && (keySlices[lo] as number) >= 0) acc = unbox(keySlices[lo + 1]);
    } else {
      // (slicesPerWindow > 1: the aggregator merges; called as its method, unboxing only what is boxed)
      const agg = fn.kind === 'reduce' ? undefined : (fn.aggregator as Required<Aggregator<T, unknown, unknown>>);
      if (agg?.merge === addMerge) {
        // count() / sum(): number accumulators, never boxed
        let n = 0;
        let any = false;
        for (let i = lo; i < hi; i += 2) {
          if ((keySlices[i] as number) < 0) continue;
          n += keySlices[i + 1] as number;
          any = true;
        }
        if (any) acc = n;
      } else {
        for (let i = lo; i < hi; i += 2) {
          if ((keySlices[i] as number) < 0) continue;
          const v = keySlices[i + 1];
          const x = typeof v === 'object' && v !== null ? unbox(v) : v;
          acc = acc === NONE ? x : (agg as Required<Aggregator<T, unknown, unknown>>).merge(acc, x);
        }
      }
    }
    if (acc === NONE) return;
    const start = grid.offset + k * grid.slicesPerSlide * grid.sliceSize;
    let w = this.lastWindow;
    if (w.start !== start) this.lastWindow = w = Object.freeze({ start, end: start + grid.slicesPerWindow * grid.sliceSize });
    if (fn.kind === 'process') this.emitWindow(w, fn.aggregator !== undefined ? fn.aggregator.result(acc) : acc, true);
    else this.emitOne(this.backend.key as unknown as K, w, (fn.kind === 'aggregate' ? fn.aggregator.result(acc) : acc) as R, w.end - 1);
  }

  /**
   * Moves the values of a slice the watermark closed into their keys' arrays: slice-major, visiting only the slots that
   * have a value, so closing many slices at one watermark costs what they hold (not keys × slices).
   */
  private pullClosedSlice(openSlice: OpenSlice, grid: SliceGrid): void {
    const values = openSlice.values;
    const slots = openSlice.slots;
    const b = this.backend;
    let c = 0;
    try {
      for (; c < slots.length; c++) {
        const slot = slots[c] as number;
        const raw = values[slot];
        if (raw === undefined) continue;
        values[slot] = undefined;
        openSlice.count--;
        const keySlices = this.slotSlices[slot] as KeySlices;
        // (the key is current for the error of a key whose array would span too many slices)
        b.setCurrent(this.slotKeys[slot] as Key, this.slotIds[slot] as KeyId);
        const i = this.sliceEntry(keySlices, openSlice.slice, slot);
        if ((keySlices[i] as number) < 0) keySlices[i] = 0;
        keySlices[i + 1] = box(raw === UNDEFINED ? undefined : raw);
      }
    } catch (err) {
      // as the key's event at the slice's first window end would have failed
      const key = this.slotKeys[slots[c] as number] as Key;
      this.failUser(err, { kind: 'timer', timestamp: this.windowMaxTimestamp(Math.floor((openSlice.slice - grid.slicesPerWindow) / grid.slicesPerSlide) + 1, grid), domain: 'event', key });
    }
    slots.length = 0;
  }

  /**
   * Sliding: keeps a key in `idle` while it is not due by the end of the first open window (a new open slice of the
   * key must then look whether it has to be due earlier).
   */
  private updateIdle(slot: number, keySlices: KeySlices, grid: SliceGrid): void {
    if (grid.slicesPerWindow === 1) return;
    if ((keySlices[KEY_NEXT_EVENT] as number) <= this.windowMaxTimestamp(this.firstOpenWindow, grid)) {
      if (this.idle.size > 0) this.idle.delete(slot);
    } else this.idle.add(slot);
  }

  /** The first window end of a key's earliest open slice (NaN: none). */
  private firstWindowEndOfOpenSlices(slot: number, grid: SliceGrid): number {
    let o = NaN;
    for (const [slice, openSlice] of this.openSlices) {
      if (slice < this.firstOpenSlice || openSlice.values[slot] === undefined) continue;
      const tf = this.windowMaxTimestamp(Math.floor((slice - grid.slicesPerWindow) / grid.slicesPerSlide) + 1, grid);
      if (!(o <= tf)) o = tf;
    }
    return o;
  }

  /** Puts a key on the due list of event time t (it may still be on another one: stale entries are skipped). */
  private schedule(slot: number, keySlices: KeySlices, t: number, grid: SliceGrid): void {
    keySlices[KEY_NEXT_EVENT] = t;
    const v = (keySlices[KEY_SCHEDULING] as number) + 1;
    keySlices[KEY_SCHEDULING] = v;
    this.updateIdle(slot, keySlices, grid);
    if (t === Infinity) return; // a cleanup time that overflows: never (as the general operator)
    let list = t === this.lastDueTime ? this.lastDue : this.due.get(t);
    if (list === undefined) {
      list = this.spareDueLists.pop() ?? { count: 0, slots: [], keySlicesOf: [], schedulings: [], orders: [] };
      this.due.set(t, list);
      const times = this.dueTimes;
      let i = times.length;
      while (i > 0 && (times[i - 1] as number) > t) i--;
      times.splice(i, 0, t);
    }
    // the firing order: sliding, when the key's state was created; tumbling, when the key got its first element
    // into the window (as the general operator's timers); an event without a firing keeps its place
    let o = grid.slicesPerWindow === 1 ? -1 : (keySlices[KEY_SEQUENCE] as number);
    if (grid.slicesPerWindow === 1) {
      const kf = (t + 1 - grid.offset) / grid.sliceSize - 1;
      const i = FIRST_SLICE_ENTRY + 2 * (kf - (keySlices[KEY_FIRST_SLICE] as number));
      if (Number.isInteger(i) && i >= FIRST_SLICE_ENTRY && i < keySlices.length) o = keySlices[i] as number;
      if (o < 0) o = list.count === 0 ? -1 : (list.orders[list.count - 1] as number);
    }
    this.lastDueTime = t;
    this.lastDue = list;
    const n = list.count++;
    list.slots[n] = slot;
    list.keySlicesOf[n] = keySlices;
    list.schedulings[n] = v;
    list.orders[n] = o;
  }

  /** On a watermark: close slices, then every due event time up to it, ascending; at each, the due keys in order. */
  protected override onWatermark(wm: number): void {
    const grid = this.grid;
    this.deriveFromWatermark(grid);
    this.lastSliceStart = this.lastSliceEnd = NaN;
    this.lastOpenSlice = undefined;
    this.lastOpenValues = undefined;
    let closingSlices: OpenSlice[] | undefined;
    for (const [slice, openSlice] of this.openSlices) {
      if (slice >= this.firstOpenSlice) continue;
      (closingSlices ??= []).push(openSlice);
    }
    if (closingSlices === undefined) {
      this.fireDue(wm, grid);
      return;
    }
    for (const openSlice of closingSlices) this.openSlices.delete(openSlice.slice);
    this.closingSlices = closingSlices;
    // every key of a closed slice is due by now (the slice's first window ended): its values go into the keys' arrays
    // before any fires (the keys' arrays are theirs alone, so the order of keys does not matter here)
    for (const openSlice of closingSlices) {
      this.pullClosedSlice(openSlice, grid);
      if (this.out.closed) return;
    }
    this.fireDue(wm, grid);
    for (const openSlice of closingSlices) {
      this.backend.dropNamespace(CONTENTS, grid.offset + openSlice.slice * grid.sliceSize);
      if (openSlice.count === 0 && openSlice.values.length === this.slotCapacity) this.spareValueArrays.push(openSlice.values);
    }
    this.closingSlices = [];
  }

  private fireDue(wm: number, grid: SliceGrid): void {
    const b = this.backend;
    for (;;) {
      const t = this.dueTimes[0];
      if (t === undefined || t > wm || this.out.closed) return;
      this.dueTimes.shift();
      const list = this.due.get(t) as DueList;
      this.due.delete(t);
      if (this.lastDueTime === t) {
        this.lastDueTime = NaN;
        this.lastDue = undefined;
      }
      const orders = list.orders;
      const len = list.count;
      let order: ArrayLike<number> | undefined;
      for (let n = 1; n < len; n++) {
        if ((orders[n] as number) < (orders[n - 1] as number)) {
          order = firingOrder(orders, len);
          break;
        }
      }
      for (let n = 0; n < len; n++) {
        const i = order === undefined ? n : (order[n] as number);
        const keySlices = list.keySlicesOf[i] as KeySlices;
        if (keySlices[KEY_SCHEDULING] !== list.schedulings[i]) continue; // scheduled again since, or gone
        const slot = list.slots[i] as number;
        const key = this.slotKeys[slot] as Key;
        b.setCurrent(key, this.slotIds[slot] as KeyId);
        try {
          this.keyEvent(keySlices, slot, t, grid);
        } catch (err) {
          this.failUser(err, { kind: 'timer', timestamp: t, domain: 'event', key });
        }
        if (this.out.closed) return;
      }
      list.count = 0;
      if (this.spareDueLists.length < 4) this.spareDueLists.push(list);
    }
  }

  /**
   * A key's event at time t: fire the window ending at t, drop the slices whose last window is cleaned up, and
   * schedule the next event (the next window end with contents, or the next cleanup).
   */
  private keyEvent(keySlices: KeySlices, slot: number, t: number, grid: SliceGrid): void {
    const b = this.backend;
    if (b.tracking) b.touch(KEY_SLICES_STATE);
    const span = grid.slicesPerSlide * grid.sliceSize;
    const base = t + 1 - grid.offset - grid.slicesPerWindow * grid.sliceSize; // window k ends at t iff k = base / span
    const kf = base / span;
    if (Number.isInteger(kf)) this.fireWindow(keySlices, kf, grid);
    // drop the slices whose last window (floor(slice / slicesPerSlide)) is cleaned up by t, and holes before the first slice left
    const L = this.lateness;
    const sliceKeep = (Math.floor((base - L) / span) + 1) * grid.slicesPerSlide;
    let first = keySlices[KEY_FIRST_SLICE] as number;
    const n = keySlices.length;
    let i0 = Math.max(FIRST_SLICE_ENTRY, this.slotHeads[slot] as number);
    while (i0 < n && ((keySlices[i0] as number) < 0 || first + (i0 - FIRST_SLICE_ENTRY) / 2 < sliceKeep)) {
      keySlices[i0] = -1;
      keySlices[i0 + 1] = null;
      i0 += 2;
    }
    this.slotHeads[slot] = i0;
    const has = i0 < n; // the key keeps a slice (the one at i0)
    if (i0 - FIRST_SLICE_ENTRY >= Math.max(2 * grid.slicesPerWindow, n - i0) || (!has && i0 > FIRST_SLICE_ENTRY)) {
      // shift left once the dropped slices (now holes) at the front are slicesPerWindow and at least as many as the slices after them
      // (so a key with many slices does not move them all at each event), leaving the array's length (a slice pulled in
      // next takes a place at its end without growing it)
      this.slotHeads[slot] = FIRST_SLICE_ENTRY;
      let y = FIRST_SLICE_ENTRY;
      for (let x = i0; x < n; x++, y++) keySlices[y] = keySlices[x];
      if (n - y > 4 * grid.slicesPerWindow + 8) keySlices.length = y;
      else {
        for (; y < n; y += 2) {
          keySlices[y] = -1;
          keySlices[y + 1] = null;
        }
      }
      first += (i0 - FIRST_SLICE_ENTRY) / 2;
      keySlices[KEY_FIRST_SLICE] = first;
      i0 = FIRST_SLICE_ENTRY;
    }
    // the first window ending after t that has a slice (slices ascend, so do their first windows)
    const kNext = Math.floor(base / span) + 1;
    let next = NaN;
    for (let i = i0; i < keySlices.length; i += 2) {
      if ((keySlices[i] as number) < 0) continue;
      const slice = first + (i - FIRST_SLICE_ENTRY) / 2;
      if (Math.floor(slice / grid.slicesPerSlide) >= kNext) {
        next = this.windowMaxTimestamp(Math.max(Math.floor((slice - grid.slicesPerWindow) / grid.slicesPerSlide) + 1, kNext), grid);
        break;
      }
    }
    // the lowest slice is cleaned up first
    if (L > 0 && has) next = Math.min(Number.isNaN(next) ? Infinity : next, this.windowMaxTimestamp(Math.floor((first + (i0 - FIRST_SLICE_ENTRY) / 2) / grid.slicesPerSlide), grid) + L);
    if (!(next <= this.windowMaxTimestamp(this.firstOpenWindow, grid))) {
      // not due by the end of the first open window: an open slice's first window may come earlier
      const o = this.firstWindowEndOfOpenSlices(slot, grid);
      if (!Number.isNaN(o) && !(next <= o)) next = o;
    }
    if (!Number.isNaN(next)) {
      this.schedule(slot, keySlices, next, grid);
      return;
    }
    // no slice left: the key's state goes
    keySlices[KEY_NEXT_EVENT] = NaN;
    keySlices[KEY_SCHEDULING] = (keySlices[KEY_SCHEDULING] as number) + 1;
    this.idle.delete(slot);
    b.remove(KEY_SLICES_STATE);
    this.freeSlot(slot);
  }
}
