// The slicing window operator (docs/ARCHITECTURE.md, "Windows"): aligned event-time windows — tumbling, and sliding
// with a mergeable, order-insensitive aggregator — on the built-in event-time trigger. Elements go into panes
// (slices of gcd(size, slide) ms) and windows are folded from their panes when they fire; no keyed timers. The
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

/** pane path: the state index of the per-key {@link KeyPanes} */
const PANES = 1;

/**
 * The pane path's state of one key besides its open panes (`panes` state, default namespace), one flat array (one
 * memory access away): `[kq, t, v, b, q0, a0, q1, a1, …]`. `kq`: when the key's state was created (an operator
 * sequence number: the firing order of sliding windows); `t`: the key's next event time (a window end to fire, or a
 * pane's cleanup; NaN = none), `v` counting its schedulings; then per pane `b + i`: `qi` >= 0 when the key has the
 * pane (tumbling: when the pane got its first element, a sequence number: the firing order), `ai` its accumulator
 * once the pane is closed (an accumulator that is itself null or undefined is boxed). The key's open panes are pulled
 * in at its first event after they close. Plain data: it snapshots with the state codec as it is.
 */
type KeyPanes = unknown[];
const KQ = 0;
const KT = 1;
const KV = 2;
const KB = 3;
/** index of the first pane's `q` */
const K0 = 4;
/** The most panes a key's {@link KeyPanes} spans (4 194 304: 48 days of 1 s panes; 8 years of 1 min panes). */
const MAX_KEY_PANES = 1 << 22;

/**
 * The keys due at one event time of the pane path, in parallel arrays: the key's slot, its state, the scheduling
 * (`v`; an entry whose key was scheduled again since is stale) and the firing order (`o`, ascending); the first `n`
 * entries count (a list is reused once fired: its arrays keep their capacity).
 */
interface DueList {
  n: number;
  ss: number[];
  ps: KeyPanes[];
  vs: number[];
  os: number[];
}

/** The pane grid: panes of `p` ms from `offset`; window k covers panes [k·s, k·s + m). */
interface PaneGrid {
  readonly p: number;
  readonly s: number;
  readonly m: number;
  readonly offset: number;
}

/**
 * An open pane of the pane path: its accumulators by key slot (`undefined`: the key has none; an accumulator that is
 * itself undefined is stored as `UNDEFINED`), how many it holds, and (once snapshots are taken) the slots changed
 * since the last one.
 */
interface OpenPane {
  readonly j: number;
  vals: unknown[];
  n: number;
  /** The slots that got a value, in order (so closing the pane visits its values, not every slot). */
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
 * The indexes `0 … len − 1` of a due list in ascending order of `os` (ties: by index). Sorted as numbers `o · 2²¹ + i`
 * in a `Float64Array` (exact below 2⁵³: `o` ≥ −1 is a sequence number) — a native numeric sort instead of a
 * comparator call per comparison; beyond 2²¹ entries or such sequence numbers, a comparator sort.
 *
 * @internal
 */
export function firingOrder(os: readonly number[], len: number): ArrayLike<number> {
  let max = 0;
  for (let n = 0; n < len; n++) if ((os[n] as number) > max) max = os[n] as number;
  if (len > ORDER_INDEX_BITS || (max + 2) * ORDER_INDEX_BITS >= Number.MAX_SAFE_INTEGER) {
    return Array.from({ length: len }, (_, i) => i).sort((x, y) => (os[x] as number) - (os[y] as number) || x - y);
  }
  const packed = new Float64Array(len);
  for (let n = 0; n < len; n++) packed[n] = ((os[n] as number) + 1) * ORDER_INDEX_BITS + n;
  packed.sort();
  const order = new Uint32Array(len);
  for (let n = 0; n < len; n++) order[n] = (packed[n] as number) % ORDER_INDEX_BITS;
  return order;
}

/**
 * The pane grid of a window operator when the slicing operator applies to it, else `undefined`: event-time tumbling
 * and sliding windows on the built-in event-time trigger (sliding ones need a mergeable, order-insensitive
 * aggregator), with whole-ms size, slide and offset.
 *
 * @example
 * ```ts
 * paneGridOf(slidingWindows(30_000, 10_000), eventTimeTrigger(), fn); // { p: 10000, s: 1, m: 3, offset: 0 }
 * ```
 *
 * @internal
 */
export function paneGridOf<T, K, R>(a: WindowAssigner<T>, trigger: Trigger<T>, fn: WindowFunction<T, K, R>): PaneGrid | undefined {
    if ((a.kind !== 'tumbling' && a.kind !== 'sliding') || !a.isEventTime || !isEventTimeTrigger(trigger as Trigger<unknown>)) return undefined;
    const size = a.size as number;
    const slide = a.slide as number;
    const offset = a.offset ?? 0;
    if (!Number.isSafeInteger(size) || !Number.isSafeInteger(slide) || !Number.isSafeInteger(offset)) return undefined;
    if (slide < size) {
      // overlapping windows share panes: the aggregator must merge, and element order must not matter
      const agg = fn.kind === 'reduce' ? undefined : fn.aggregator;
      if (agg?.merge === undefined || (agg as { [ORDER_SENSITIVE]?: boolean })[ORDER_SENSITIVE] === true) return undefined;
    } else if (slide > size) return undefined;
    const p = gcd(size, slide);
    return { p, s: slide / p, m: size / p, offset };
}

/**
 * The slicing window operator: Flink's window semantics for aligned event-time windows (docs/SEMANTICS.md §3.3–3.5),
 * with one state value per key instead of one per (key, window), and a list of due keys per event time instead of
 * keyed timers. Build it only for the grid {@link paneGridOf} gives; the general operator (`WindowOperatorCore`)
 * takes every other window.
 *
 * @example
 * ```ts
 * const grid = paneGridOf(assigner, eventTimeTrigger(), fn);
 * if (grid !== undefined) keyedOperator('window', name, (args) => new SlicingWindowOperatorCore(args, assigner, {}, fn, grid));
 * ```
 *
 * @internal
 */
export class SlicingWindowOperatorCore<T, K, R> extends WindowOperatorBase<T, K, R> {
  /**
   * The pane path (event-time tumbling and sliding windows on the default event-time trigger; sliding ones need a
   * mergeable, order-insensitive aggregator): panes of gcd(size, slide) ms (tumbling: one pane per window). Open panes
   * (all of whose windows are still to fire) keep their accumulators in arrays indexed by a dense slot per key (an
   * element: one lookup of its key's slot, then an array element; a key's first element in a pane writes an array
   * element instead of growing a fresh map). `contents` (namespace-major by pane start) holds them as of the last
   * snapshot: a snapshot writes what changed since (all of it when full), a restore reads them back, and the pane's
   * namespace goes when it closes. When the watermark ends a pane's first
   * window, the pane moves into its keys' {@link KeyPanes}, from which windows are folded at firing. No keyed
   * timers: the operator keeps the keys due per event time and fires window-major as the watermark passes.
   */
  private readonly grid: PaneGrid;
  /** the `contents` column (namespace-major): the pane path's open panes as of the last snapshot */
  private readonly openCol: Map<unknown, Map<KeyId, unknown>>;
  /** pane path: keyId → {@link KeyPanes} */
  private readonly panesCol: Map<KeyId, unknown>;
  /** pane path: the open panes by index, in creation order */
  private readonly open = new Map<number, OpenPane>();
  /** pane path: cleared value arrays of closed panes, for new open panes (all of length `slotCap`) */
  private pool: unknown[][] = [];
  /**
   * pane path: a dense slot per key with pane state (derived from the `panes` state; slots of removed keys are reused):
   * slot of a key, and per slot its id and {@link KeyPanes}; every open pane's array is `slotCap` long.
   */
  private readonly slotOf = new Map<KeyId, number>();
  private slotIds: (KeyId | undefined)[] = [];
  private slotKeys: (Key | undefined)[] = [];
  private slotKps: (KeyPanes | undefined)[] = [];
  /**
   * pane path, per slot: an index of its {@link KeyPanes} before which every pane is a hole (dropped), so that a key's
   * event does not walk the holes again (derived: {@link K0} after a restore)
   */
  private slotHeads: number[] = [];
  private freeSlots: number[] = [];
  private slotCap = 0;
  /** pane path: how each element is added to its pane's accumulator (`NONE` = empty pane); sliding: how panes merge */
  private readonly paneAdd: (acc: unknown, value: T) => unknown;
  /** pane path: the keys due per event time, and those times ascending */
  private readonly due = new Map<number, DueList>();
  private dueTimes: number[] = [];
  private lastDueT = NaN;
  private lastDue: DueList | undefined = undefined;
  private spareDue: DueList[] = [];
  /** pane path: the window of the last firing (results of one window share it) */
  private lastWindow: TimeWindow = Object.freeze({ start: NaN, end: NaN });
  /** pane path, during a watermark: the open panes it closed, pulled into their keys' arrays */
  private closing: OpenPane[] = [];
  /** pane path: slots of keys with state that may not be due by the end of the first open window (derived from the
   * state) */
  private readonly idle = new Set<number>();
  /** pane path: the sequence number of the next new pane of a key */
  private nextQ = 0;
  /** pane path, derived from the watermark: the first window not yet ended, and the first open pane */
  private kOpen = -Infinity;
  private jQuiet = -Infinity;
  /** pane path: the pane of the last element (index, time range, and when open the pane and its values) */
  private lastJ = NaN;
  private lastLo = NaN;
  private lastHi = NaN;
  private lastPane: OpenPane | undefined = undefined;
  private lastVals: unknown[] | undefined = undefined;

  /** Declares the state (contents, panes, the trigger's), checks the options; `grid` from {@link paneGridOf}. */
  constructor(args: CoreArgs<WindowResult<K, R>>, assigner: WindowAssigner<T>, options: WindowOperatorOptions<T, K>, fn: WindowFunction<T, K, R>, grid: PaneGrid) {
    const trigger = options.trigger ?? assigner.defaultTrigger();
    const state: Record<string, StateDescriptor> = {
      contents: contentsDescriptor(fn),
    };
    state['panes'] = engineArrays(valueState<KeyPanes>());
    for (const [name, d] of Object.entries(trigger.state ?? {})) state[`trigger:${name}`] = d;
    // contents namespace-major (pane → key → accumulator): the open panes as of the last snapshot
    super(args, state, { namespaceMajor: ['contents'] }, assigner, options, fn);
    this.grid = grid;
    this.openCol = this.backend.nsCols[CONTENTS] as Map<unknown, Map<KeyId, unknown>>;
    this.panesCol = this.backend.cols[PANES] as Map<KeyId, unknown>;
    this.paneAdd = foldOf(fn);
  }

  /** No keyed timers: the operator keeps its own schedule of due keys (fired from {@link onWatermark}). */
  protected onTimer(t: Timer): void {
    void t;
  }

  /** Restores state, then the pane path's schedule from its state values. */
  override restore(snapshots: readonly OperatorSnapshot[]): void {
    super.restore(snapshots);
    const g = this.grid;
    this.paneWatermark(g);
    for (const [id, v] of this.panesCol) this.slotNew(keyOfId(id), id, v as KeyPanes);
    // the open panes: from `contents` (which keeps them as of this snapshot) into their arrays
    for (const [ns, m] of this.openCol) {
      const pane = this.paneOpen(((ns as number) - g.offset) / g.p);
      for (const [id, raw] of m) {
        const slot = this.slotOf.get(id);
        if (slot === undefined) {
          throw new TidewaterError(this.name, keyOfId(id), `${this.name}: the snapshot has window contents of a key without pane state; it was not taken by this operator.`);
        }
        pane.vals[slot] = raw;
        pane.n++;
        pane.slots.push(slot);
      }
    }
    for (const [id, v] of this.panesCol) {
      const kp = v as KeyPanes;
      const slot = this.slotOf.get(id) as number;
      for (let i = K0; i < kp.length; i += 2) this.nextQ = Math.max(this.nextQ, (kp[i] as number) + 1);
      this.nextQ = Math.max(this.nextQ, (kp[KQ] as number) + 1);
      const t = kp[KT] as number;
      if (Number.isFinite(t)) this.paneSchedule(slot, kp, t, g);
      else this.paneIdle(slot, kp, g);
    }
  }

  /** Brings `contents` up to date with the pane path's open panes (what changed since the last snapshot; all of it
   * for a full one), then snapshots. */
  override snapshot(options?: { full?: boolean }): OperatorSnapshot {
    const g = this.grid;
    if (this.open.size === 0) return super.snapshot(options);
    const b = this.backend;
    const key = b.key;
    const id = b.id;
    const ns = b.ns;
    const all = options?.full === true || !b.tracking;
    // a full snapshot follows: what the mirroring changes need not be tracked
    if (all) b.tracking = false;
    try {
      for (const pane of this.open.values()) {
        const start = g.offset + pane.j * g.p;
        const vals = pane.vals;
        if (all) {
          for (let s = 0; s < vals.length; s++) if (vals[s] !== undefined) this.paneMirror(s, start, vals[s]);
        } else {
          for (const s of pane.dirty) if (vals[s] !== undefined) this.paneMirror(s, start, vals[s]);
        }
        pane.dirty.clear();
      }
      return super.snapshot(options);
    } finally {
      b.key = key;
      b.id = id;
      b.ns = ns;
    }
  }

  private paneMirror(slot: number, start: number, raw: unknown): void {
    const b = this.backend;
    b.setCurrent(this.slotKeys[slot] as Key, this.slotIds[slot] as KeyId);
    b.ns = start;
    b.put(CONTENTS, raw);
  }

  /** State values held: the backend's, with the open panes' accumulators counted once. */
  override get stateEntries(): number {
    let n = super.stateEntries;
    const g = this.grid;
    for (const pane of this.open.values()) n += pane.n - (this.openCol.get(g.offset + pane.j * g.p)?.size ?? 0);
    return n;
  }

  /** The present value of a state; the pane path's open panes are read from their arrays. */
  override peekState(key: unknown, name: string, namespace: string | number = ''): unknown {
    const g = this.grid;
    if (name === 'contents' && typeof namespace === 'number' && isKey(key)) {
      const pane = this.open.get((namespace - g.offset) / g.p);
      const slot = this.slotOf.get(keyIdOf(key));
      if (pane !== undefined && slot !== undefined && pane.vals[slot] !== undefined) {
        const raw = pane.vals[slot];
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
   * Pending timers of a key. The pane path keeps no keyed timers; it reports the ones the general path (Flink) has:
   * per window with contents, its end until it fires and its cleanup time (with lateness) until it is cleaned up.
   */
  override timersOf(key: unknown): [domain: 'event' | 'processing', timestamp: number, namespace: string | number][] {
    const timers = super.timersOf(key);
    const g = this.grid;
    const kp = this.peekState(key, 'panes') as KeyPanes | undefined;
    if (kp === undefined) return timers;
    const slot = this.slotOf.get(keyIdOf(key as Key));
    const panes: number[] = [];
    for (let i = K0; i < kp.length; i += 2) if ((kp[i] as number) >= 0) panes.push((kp[KB] as number) + (i - K0) / 2);
    if (slot !== undefined) for (const [j, pane] of this.open) if (pane.vals[slot] !== undefined) panes.push(j);
    const out = new Map<string, [domain: 'event' | 'processing', timestamp: number, namespace: string | number]>();
    const wm = this.watermark;
    const L = this.lateness;
    panes.forEach((j) => {
      for (let k = Math.floor((j - g.m) / g.s) + 1; k <= Math.floor(j / g.s); k++) {
        const max = this.paneMax(k, g);
        const start = g.offset + k * g.s * g.p;
        if (max > wm) out.set(`${max},${start}`, ['event', max, start]);
        if (L > 0 && max + L > wm && max + L !== MAX_WATERMARK) out.set(`${max + L},${start}`, ['event', max + L, start]);
      }
    });
    return [...timers, ...[...out.values()].sort((x, y) => x[1] - y[1] || (x[2] as number) - (y[2] as number))];
  }

  // ---- the pane path ------------------------------------------------------------------------------------------------
  //
  // Window k covers panes [k·s, k·s + m); pane j holds the elements with floor((ts − offset) / p) = j. Every rule is
  // the general path's (docs/SEMANTICS.md §3.3–3.5): a window is late when its cleanup time (max timestamp + lateness) is at
  // or below the watermark; an element accepted by no window and late itself goes to the late output; a window at
  // or below the watermark fires at once when an element joins it (windows in descending start order), the others
  // when the watermark reaches their end, in ascending end order. What differs is bookkeeping: one state value per
  // key instead of one per (key, window), and instead of keyed timers a list of due keys per event time, so a
  // watermark fires window-major. Keys that fire at one timestamp (Flink leaves their order open) do so, tumbling, in
  // the order of their first elements in the window (the general path's timer order); sliding, in the order their
  // state was created. Both orders are sequence numbers in the state, so a restored run keeps them.

  private paneMax(k: number, g: PaneGrid): number {
    return g.offset + (k * g.s + g.m) * g.p - 1;
  }

  /** Recomputes what the pane path derives from the watermark: the first open window and the first quiet pane. */
  private paneWatermark(g: PaneGrid): void {
    const wm = this.watermark;
    this.kOpen = wm === -Infinity ? -Infinity : wm === Infinity ? Infinity : Math.floor((wm + 1 - g.offset - g.m * g.p) / (g.s * g.p)) + 1;
    this.jQuiet = (this.kOpen - 1) * g.s + g.m;
  }

  protected onRecord(rec: StreamRecord<T, Key>): void {
    const g = this.grid;
    const ts = rec.timestamp;
    if (!(ts >= this.lastLo && ts < this.lastHi)) this.paneOf(rec, g);
    const vals = this.lastVals;
    if (vals !== undefined) {
      // the common case: an open pane the key has already (open panes are written whole into a snapshot: no tracking)
      const slot = this.slotOf.get(this.backend.id);
      if (slot !== undefined) {
        const raw = vals[slot];
        if (raw !== undefined) {
          const next = this.paneAdd(raw === UNDEFINED ? undefined : raw, rec.value);
          vals[slot] = next === undefined ? UNDEFINED : next;
          if (this.backend.tracking) (this.lastPane as OpenPane).dirty.add(slot);
          return;
        }
      }
    }
    this.paneRecordSlow(rec, g, this.lastJ);
  }

  /** Caches the pane of an element: its index, time range and (when open and present) the pane. */
  private paneOf(rec: StreamRecord<T, Key>, g: PaneGrid): void {
    const ts = rec.timestamp;
    if (!isTimestamp(ts, MAX_OPERATOR_TIMESTAMP)) this.assigner.assign(rec.value, ts, 0); // throws the assigner's error
    const j = Math.floor((ts - g.offset) / g.p);
    this.lastJ = j;
    this.lastLo = g.offset + j * g.p;
    this.lastHi = this.lastLo + g.p;
    const pane = j >= this.jQuiet ? this.open.get(j) : undefined;
    this.lastPane = pane;
    this.lastVals = pane?.vals;
  }

  /** A new open pane (its array from the pool when there is one). */
  private paneOpen(j: number): OpenPane {
    let vals = this.pool.pop();
    if (vals === undefined) {
      vals = new Array<unknown>(this.slotCap);
      vals.fill(undefined);
    }
    const pane: OpenPane = { j, vals, n: 0, slots: [], dirty: new Set() };
    this.open.set(j, pane);
    return pane;
  }

  /** Gives a key with new pane state a slot (every open pane's array grows with the slots). */
  private slotNew(key: Key, id: KeyId, kp: KeyPanes): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slotIds.length;
      this.slotIds.push(undefined);
      this.slotKeys.push(undefined);
      this.slotKps.push(undefined);
      this.slotHeads.push(K0);
      if (slot >= this.slotCap) {
        const cap = Math.max(1024, this.slotCap * 2);
        for (const pane of this.open.values()) for (let x = pane.vals.length; x < cap; x++) pane.vals.push(undefined);
        for (const pane of this.closing) for (let x = pane.vals.length; x < cap; x++) pane.vals.push(undefined);
        this.pool = [];
        this.slotCap = cap;
      }
    }
    this.slotOf.set(id, slot);
    this.slotIds[slot] = id;
    this.slotKeys[slot] = key;
    this.slotKps[slot] = kp;
    this.slotHeads[slot] = K0;
    return slot;
  }

  /** Frees the slot of a key whose pane state is gone (it has no open pane either). */
  private slotFree(slot: number): void {
    const id = this.slotIds[slot] as KeyId;
    this.slotOf.delete(id);
    this.slotIds[slot] = undefined;
    this.slotKeys[slot] = undefined;
    this.slotKps[slot] = undefined;
    this.freeSlots.push(slot);
  }

  private paneRecordSlow(rec: StreamRecord<T, Key>, g: PaneGrid, j: number): void {
    const kmax = Math.floor(j / g.s);
    const L = this.lateness;
    const wm = this.watermark;
    if (this.paneMax(kmax, g) + L <= wm) {
      // every window of the element is late (the one with the largest start ends last)
      if (rec.timestamp + L <= wm) this.late(rec);
      return;
    }
    const b = this.backend;
    let slot = this.slotOf.get(b.id);
    let kp = slot === undefined ? undefined : this.slotKps[slot];
    const created = kp === undefined;
    if (kp === undefined) {
      kp = [this.nextQ++, NaN, 0, j];
      b.put(PANES, kp);
      slot = this.slotNew(keyOfId(b.id), b.id, kp);
    }
    const s = slot as number;
    if (j >= this.jQuiet) {
      // an open pane: its accumulator lives in the pane's array; the key's first event after the pane closes pulls it in
      let pane = this.lastPane;
      if (pane === undefined) {
        pane = this.open.get(j) ?? this.paneOpen(j);
        this.lastPane = pane;
        this.lastVals = pane.vals;
      }
      const raw = pane.vals[s];
      const next = this.paneAdd(raw === undefined ? NONE : raw === UNDEFINED ? undefined : raw, rec.value);
      pane.vals[s] = next === undefined ? UNDEFINED : next;
      if (b.tracking) pane.dirty.add(s);
      if (raw !== undefined) return;
      pane.n++;
      pane.slots.push(s);
      // the key must be due by the pane's first window end; one that is not idle is due by the end of the first open
      // window already (sliding: no need to look at its array)
      const tf = this.paneMax(Math.floor((j - g.m) / g.s) + 1, g);
      if (g.m === 1) {
        // tumbling: the order of the keys firing a window is the order of their first elements in it
        if (b.tracking) b.touch(PANES);
        kp[this.paneSlot(kp, j, s)] = this.nextQ++;
        this.paneScheduleAt(s, kp, tf, g);
      } else if (created || (this.idle.size > 0 && this.idle.has(s))) {
        if (b.tracking) b.touch(PANES);
        this.paneScheduleAt(s, kp, tf, g);
      }
      return;
    }
    // a closed pane: one of its windows has ended (a late-but-allowed element)
    if (b.tracking) b.touch(PANES);
    const i = this.paneSlot(kp, j, s);
    const isNew = (kp[i] as number) < 0;
    if (isNew) kp[i] = this.nextQ++;
    kp[i + 1] = box(this.paneAdd(isNew ? NONE : unbox(kp[i + 1]), rec.value));
    // its windows that already ended fire now, in descending start order
    const kmin = Math.floor((j - g.m) / g.s) + 1;
    for (let k = Math.min(kmax, this.kOpen - 1); k >= kmin; k--) {
      if (this.paneMax(k, g) + L <= wm) break; // smaller k end earlier: late too
      this.paneFire(kp, k, g);
    }
    if (isNew) this.paneFirstEvent(s, kp, j, this.kOpen, g);
  }

  /**
   * The index of pane j's `q` in a key's array, made room for. The array runs from the key's first pane to its last,
   * so its length is their distance: beyond {@link MAX_KEY_PANES} the key fails with a clear error instead of
   * growing by the distance of its timestamps (with timestamps up to ±MAX_TIMESTAMP, that could be 1.7e16 panes).
   */
  private paneSlot(kp: KeyPanes, j: number, slot: number): number {
    if (kp.length === K0) kp[KB] = j;
    const first = kp[KB] as number;
    const last = first + (kp.length - K0) / 2 - 1;
    if (j < first || j > last) {
      const span = Math.max(j, last) - Math.min(j, first) + 1;
      if (span > MAX_KEY_PANES) this.paneSpanError(Math.min(j, first), Math.max(j, last));
    }
    if (j < first) {
      // (moved by hand, not spliced: a spread of many arguments would overflow the stack)
      const n = 2 * (first - j);
      const len = kp.length;
      kp.length = len + n;
      for (let x = len - 1; x >= K0; x--) kp[x + n] = kp[x];
      for (let x = K0; x < K0 + n; x += 2) {
        kp[x] = -1;
        kp[x + 1] = null;
      }
      kp[KB] = j;
    }
    const i = K0 + 2 * (j - (kp[KB] as number));
    while (kp.length <= i) kp.push(-1, null);
    if (i < (this.slotHeads[slot] as number)) this.slotHeads[slot] = i;
    return i;
  }

  private paneSpanError(from: number, to: number): never {
    const g = this.grid;
    const key = this.backend.key;
    throw new TidewaterError(
      this.name,
      key,
      `${this.name}: key ${describeValue(key)} would hold panes from ${g.offset + from * g.p} to ${g.offset + (to + 1) * g.p} ms at once, ` +
        `${to - from + 1} panes of ${g.p} ms (at most ${MAX_KEY_PANES}): this window operator keeps a key's panes between its watermark and ` +
        'its newest element in one array. Advance the watermark with the data (e.g. boundedOutOfOrderness(bound, { interval: 0 })), ' +
        'use larger windows or a smaller allowedLateness, or check the timestamps of this key.',
    );
  }

  /**
   * Schedules a key for a closed pane it just got: the end of the pane's first window from `kFrom` on (the windows
   * before have fired), or the pane's cleanup if earlier.
   */
  private paneFirstEvent(slot: number, kp: KeyPanes, j: number, kFrom: number, g: PaneGrid): void {
    const kmin = Math.floor((j - g.m) / g.s) + 1;
    const kmax = Math.floor(j / g.s);
    const kf = Math.max(kmin, kFrom);
    let t = kf <= kmax ? this.paneMax(kf, g) : Infinity;
    if (this.lateness > 0) t = Math.min(t, this.paneMax(kmax, g) + this.lateness);
    this.paneScheduleAt(slot, kp, t, g);
  }

  /** Schedules a key at t unless it is due earlier (tumbling: again at an equal time, to take a new pane's place in
   * the firing order). */
  private paneScheduleAt(slot: number, kp: KeyPanes, t: number, g: PaneGrid): void {
    const cur = kp[KT] as number;
    if (t < cur || Number.isNaN(cur) || (t === cur && g.m === 1)) this.paneSchedule(slot, kp, t, g);
  }

  /** Folds window k of a key from its (closed) panes and emits it (nothing when it has no pane). */
  private paneFire(kp: KeyPanes, k: number, g: PaneGrid): void {
    const first = kp[KB] as number;
    const lo = K0 + 2 * Math.max(0, k * g.s - first);
    const hi = Math.min(kp.length, K0 + 2 * (k * g.s + g.m - first));
    const fn = this.fn;
    let acc: unknown = NONE;
    if (g.m === 1) {
      if (lo < hi && (kp[lo] as number) >= 0) acc = unbox(kp[lo + 1]);
    } else {
      // (m > 1: the aggregator merges; called as its method, unboxing only what is boxed)
      const agg = fn.kind === 'reduce' ? undefined : (fn.aggregator as Required<Aggregator<T, unknown, unknown>>);
      if (agg?.merge === addMerge) {
        // count() / sum(): number accumulators, never boxed
        let n = 0;
        let any = false;
        for (let i = lo; i < hi; i += 2) {
          if ((kp[i] as number) < 0) continue;
          n += kp[i + 1] as number;
          any = true;
        }
        if (any) acc = n;
      } else {
        for (let i = lo; i < hi; i += 2) {
          if ((kp[i] as number) < 0) continue;
          const v = kp[i + 1];
          const x = typeof v === 'object' && v !== null ? unbox(v) : v;
          acc = acc === NONE ? x : (agg as Required<Aggregator<T, unknown, unknown>>).merge(acc, x);
        }
      }
    }
    if (acc === NONE) return;
    const start = g.offset + k * g.s * g.p;
    let w = this.lastWindow;
    if (w.start !== start) this.lastWindow = w = Object.freeze({ start, end: start + g.m * g.p });
    if (fn.kind === 'process') this.emitWindow(w, fn.aggregator !== undefined ? fn.aggregator.result(acc) : acc, true);
    else this.emitOne(this.backend.key as unknown as K, w, (fn.kind === 'aggregate' ? fn.aggregator.result(acc) : acc) as R, w.end - 1);
  }

  /**
   * Moves the values of a pane the watermark closed into their keys' arrays: pane-major, visiting only the slots that
   * have a value, so closing many panes at one watermark costs what they hold (not keys × panes).
   */
  private panePull(pane: OpenPane, g: PaneGrid): void {
    const vals = pane.vals;
    const slots = pane.slots;
    const b = this.backend;
    let c = 0;
    try {
      for (; c < slots.length; c++) {
        const slot = slots[c] as number;
        const raw = vals[slot];
        if (raw === undefined) continue;
        vals[slot] = undefined;
        pane.n--;
        const kp = this.slotKps[slot] as KeyPanes;
        // (the key is current for the error of a key whose array would span too many panes)
        b.setCurrent(this.slotKeys[slot] as Key, this.slotIds[slot] as KeyId);
        const i = this.paneSlot(kp, pane.j, slot);
        if ((kp[i] as number) < 0) kp[i] = 0;
        kp[i + 1] = box(raw === UNDEFINED ? undefined : raw);
      }
    } catch (err) {
      // as the key's event at the pane's first window end would have failed
      const key = this.slotKeys[slots[c] as number] as Key;
      this.failUser(err, { kind: 'timer', timestamp: this.paneMax(Math.floor((pane.j - g.m) / g.s) + 1, g), domain: 'event', key });
    }
    slots.length = 0;
  }

  /**
   * Sliding: keeps a key in `idle` while it is not due by the end of the first open window (a new open pane of the
   * key must then look whether it has to be due earlier).
   */
  private paneIdle(slot: number, kp: KeyPanes, g: PaneGrid): void {
    if (g.m === 1) return;
    if ((kp[KT] as number) <= this.paneMax(this.kOpen, g)) {
      if (this.idle.size > 0) this.idle.delete(slot);
    } else this.idle.add(slot);
  }

  /** The first window end of a key's earliest open pane (NaN: none). */
  private paneOpenFirst(slot: number, g: PaneGrid): number {
    let o = NaN;
    for (const [j, pane] of this.open) {
      if (j < this.jQuiet || pane.vals[slot] === undefined) continue;
      const tf = this.paneMax(Math.floor((j - g.m) / g.s) + 1, g);
      if (!(o <= tf)) o = tf;
    }
    return o;
  }

  /** Puts a key on the due list of event time t (it may still be on another one: stale entries are skipped). */
  private paneSchedule(slot: number, kp: KeyPanes, t: number, g: PaneGrid): void {
    kp[KT] = t;
    const v = (kp[KV] as number) + 1;
    kp[KV] = v;
    this.paneIdle(slot, kp, g);
    if (t === Infinity) return; // a cleanup time that overflows: never (as the general path)
    let list = t === this.lastDueT ? this.lastDue : this.due.get(t);
    if (list === undefined) {
      list = this.spareDue.pop() ?? { n: 0, ss: [], ps: [], vs: [], os: [] };
      this.due.set(t, list);
      const times = this.dueTimes;
      let i = times.length;
      while (i > 0 && (times[i - 1] as number) > t) i--;
      times.splice(i, 0, t);
    }
    // the firing order: sliding, when the key's state was created; tumbling, when the key got its first element
    // into the window (as the general path's timers); an event without a firing keeps its place
    let o = g.m === 1 ? -1 : (kp[KQ] as number);
    if (g.m === 1) {
      const kf = (t + 1 - g.offset) / g.p - 1;
      const i = K0 + 2 * (kf - (kp[KB] as number));
      if (Number.isInteger(i) && i >= K0 && i < kp.length) o = kp[i] as number;
      if (o < 0) o = list.n === 0 ? -1 : (list.os[list.n - 1] as number);
    }
    this.lastDueT = t;
    this.lastDue = list;
    const n = list.n++;
    list.ss[n] = slot;
    list.ps[n] = kp;
    list.vs[n] = v;
    list.os[n] = o;
  }

  /** On a watermark: close panes, then every due event time up to it, ascending; at each, the due keys in order. */
  protected override onWatermark(wm: number): void {
    const g = this.grid;
    this.paneWatermark(g);
    this.lastLo = this.lastHi = NaN;
    this.lastPane = undefined;
    this.lastVals = undefined;
    let closing: OpenPane[] | undefined;
    for (const [j, pane] of this.open) {
      if (j >= this.jQuiet) continue;
      (closing ??= []).push(pane);
    }
    if (closing === undefined) {
      this.paneDue(wm, g);
      return;
    }
    for (const pane of closing) this.open.delete(pane.j);
    this.closing = closing;
    // every key of a closed pane is due by now (the pane's first window ended): its values go into the keys' arrays
    // before any fires (the keys' arrays are theirs alone, so the order of keys does not matter here)
    for (const pane of closing) {
      this.panePull(pane, g);
      if (this.out.closed) return;
    }
    this.paneDue(wm, g);
    for (const pane of closing) {
      this.backend.dropNamespace(CONTENTS, g.offset + pane.j * g.p);
      if (pane.n === 0 && pane.vals.length === this.slotCap) this.pool.push(pane.vals);
    }
    this.closing = [];
  }

  private paneDue(wm: number, g: PaneGrid): void {
    const b = this.backend;
    for (;;) {
      const t = this.dueTimes[0];
      if (t === undefined || t > wm || this.out.closed) return;
      this.dueTimes.shift();
      const list = this.due.get(t) as DueList;
      this.due.delete(t);
      if (this.lastDueT === t) {
        this.lastDueT = NaN;
        this.lastDue = undefined;
      }
      const os = list.os;
      const len = list.n;
      let order: ArrayLike<number> | undefined;
      for (let n = 1; n < len; n++) {
        if ((os[n] as number) < (os[n - 1] as number)) {
          order = firingOrder(os, len);
          break;
        }
      }
      for (let n = 0; n < len; n++) {
        const i = order === undefined ? n : (order[n] as number);
        const kp = list.ps[i] as KeyPanes;
        if (kp[KV] !== list.vs[i]) continue; // scheduled again since, or gone
        const slot = list.ss[i] as number;
        const key = this.slotKeys[slot] as Key;
        b.setCurrent(key, this.slotIds[slot] as KeyId);
        try {
          this.paneEvent(kp, slot, t, g);
        } catch (err) {
          this.failUser(err, { kind: 'timer', timestamp: t, domain: 'event', key });
        }
        if (this.out.closed) return;
      }
      list.n = 0;
      if (this.spareDue.length < 4) this.spareDue.push(list);
    }
  }

  /**
   * A key's event at time t: fire the window ending at t, drop the panes whose last window is cleaned up, and
   * schedule the next event (the next window end with contents, or the next cleanup).
   */
  private paneEvent(kp: KeyPanes, slot: number, t: number, g: PaneGrid): void {
    const b = this.backend;
    if (b.tracking) b.touch(PANES);
    const span = g.s * g.p;
    const base = t + 1 - g.offset - g.m * g.p; // window k ends at t iff k = base / span
    const kf = base / span;
    if (Number.isInteger(kf)) this.paneFire(kp, kf, g);
    // drop the panes whose last window (floor(j / s)) is cleaned up by t, and holes before the first pane left
    const L = this.lateness;
    const jKeep = (Math.floor((base - L) / span) + 1) * g.s;
    let first = kp[KB] as number;
    const n = kp.length;
    let i0 = Math.max(K0, this.slotHeads[slot] as number);
    while (i0 < n && ((kp[i0] as number) < 0 || first + (i0 - K0) / 2 < jKeep)) {
      kp[i0] = -1;
      kp[i0 + 1] = null;
      i0 += 2;
    }
    this.slotHeads[slot] = i0;
    const has = i0 < n; // the key keeps a pane (the one at i0)
    if (i0 - K0 >= Math.max(2 * g.m, n - i0) || (!has && i0 > K0)) {
      // shift left once the dropped panes (now holes) at the front are m and at least as many as the panes after them
      // (so a key with many panes does not move them all at each event), leaving the array's length (a pane pulled in
      // next takes a place at its end without growing it)
      this.slotHeads[slot] = K0;
      let y = K0;
      for (let x = i0; x < n; x++, y++) kp[y] = kp[x];
      if (n - y > 4 * g.m + 8) kp.length = y;
      else {
        for (; y < n; y += 2) {
          kp[y] = -1;
          kp[y + 1] = null;
        }
      }
      first += (i0 - K0) / 2;
      kp[KB] = first;
      i0 = K0;
    }
    // the first window ending after t that has a pane (panes ascend, so do their first windows)
    const kNext = Math.floor(base / span) + 1;
    let next = NaN;
    for (let i = i0; i < kp.length; i += 2) {
      if ((kp[i] as number) < 0) continue;
      const j = first + (i - K0) / 2;
      if (Math.floor(j / g.s) >= kNext) {
        next = this.paneMax(Math.max(Math.floor((j - g.m) / g.s) + 1, kNext), g);
        break;
      }
    }
    // the lowest pane is cleaned up first
    if (L > 0 && has) next = Math.min(Number.isNaN(next) ? Infinity : next, this.paneMax(Math.floor((first + (i0 - K0) / 2) / g.s), g) + L);
    if (!(next <= this.paneMax(this.kOpen, g))) {
      // not due by the end of the first open window: an open pane's first window may come earlier
      const o = this.paneOpenFirst(slot, g);
      if (!Number.isNaN(o) && !(next <= o)) next = o;
    }
    if (!Number.isNaN(next)) {
      this.paneSchedule(slot, kp, next, g);
      return;
    }
    // no pane left: the key's state goes
    kp[KT] = NaN;
    kp[KV] = (kp[KV] as number) + 1;
    this.idle.delete(slot);
    b.remove(PANES);
    this.slotFree(slot);
  }

}
