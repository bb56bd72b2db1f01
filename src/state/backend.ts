import type { SchedulerLike } from 'rxjs';
import type { Key } from '../elements/index.js';
import { keyIdOf, keyOfId, type KeyId } from '../keys/keyId.js';
import { PackedSnapshot, type OperatorSnapshot } from '../checkpoints/snapshot.js';
import { TimerService, type Namespace, type Timer } from '../timers/queue.js';
import { NamespacedColumns } from './columns.js';
import type { StateDescriptor } from './descriptors.js';
import { makeHandle, UNDEFINED, type MapItem, type TtlBox, type TtlItem } from './handles.js';
import { restoreBackend } from './restore.js';
import { ConfigurationError } from '../errors/index.js';
import { SnapshotWriter } from './snapshotWriter.js';
import { ChangeTracker, MAP_DELETE, type MapEntryChange } from './tracking.js';
import { TtlCleanup } from './ttl.js';

// The backend's parts, one job each (docs/ARCHITECTURE.md, "The keyed state backend"): this module keeps the key
// context, the columns and the per-record path; what other modules use from the rest is re-exported here.
export { StateRestoreError } from './restore.js';
export { engineArrays, StateSerializationError } from './snapshotWriter.js';
export { SATURATION_MIN, SATURATION_SKIP_MAX } from './tracking.js';
export type { Namespace };

/** Options of {@link KeyedStateBackend}. @internal */
export interface BackendOptions {
  readonly operator: string;
  readonly state: Readonly<Record<string, StateDescriptor>>;
  readonly scheduler: SchedulerLike;
  readonly maxParallelism?: number;
  /** called when a processing-time timer is registered (the operator schedules its wake-up) */
  readonly onProcessingTimer?: (timestamp: number) => void;
  /** how many keys one incremental snapshot checks for expired TTL state, per TTL'd state (default 1000) */
  readonly ttlCleanupBatch?: number;
  /**
   * States whose namespaced values are stored namespace-major (`namespace → key → value`): for window contents,
   * where each element touches one of a few open windows, so the per-window map stays hot.
   */
  readonly namespaceMajor?: readonly string[];
}

/** Writes of TTL'd state between two sweeps of expired state on the record path (`KeyedStateBackend.wroteTtl`). */
const TTL_SWEEP_EVERY = 1024;

/** keyId → (namespace → value) */
type NsColumn = Map<KeyId, Map<Namespace, unknown>>;

/**
 * The keyed state and timers of one operator instance, stored by column: one `Map<keyId, value>` per declared state
 * (values inline, no object per key; a running count costs what a hand-written `Map` costs), a `Map<keyId,
 * Map<namespace, value>>` per state for namespaced (window) state, a timer service per time domain, TTL, and
 * snapshot/restore grouped by key group with incremental (changed-only) snapshots.
 * `process`, windows and joins all keep their state here.
 *
 * This class is the key context (current key, its id, the namespace), the columns and the per-record path (`get`,
 * `put`, `remove`, the handles of `src/state/handles.ts`, timers); the rest is in modules of their own, each taking
 * the backend: the namespaced columns' two layouts (`NamespacedColumns`, `src/state/columns.ts`), change tracking for
 * incremental snapshots (`ChangeTracker`, `src/state/tracking.ts`; on only while `tracking` is), TTL cleanup
 * (`TtlCleanup`, `src/state/ttl.ts`), snapshots (`SnapshotWriter`, `src/state/snapshotWriter.ts`) and restore
 * (`restoreBackend`, `src/state/restore.ts`).
 *
 * @example
 * ```ts
 * const b = new KeyedStateBackend({ operator: 'count', state: { n: valueState<number>() }, scheduler: asyncScheduler });
 * b.setCurrentKey('alice');
 * b.put(0, 1);
 * b.snapshot(); // full: every entry
 * ```
 * @internal
 */
export class KeyedStateBackend {
  readonly operator: string;
  readonly names: readonly string[];
  readonly descriptors: readonly StateDescriptor[];
  readonly maxParallelism: number;
  readonly eventTimers = new TimerService('event');
  readonly processingTimers = new TimerService('processing');
  /** typed handles by state name */
  readonly handles: Record<string, unknown>;
  /**
   * per state: keyId → value (default namespace). Written only by the methods below, each of which advances
   * {@link writes}, and by a value state's own handle, which keeps its read cache up to date as it writes; operators
   * read a column through {@link column}, which gives it read-only.
   */
  readonly cols: Map<KeyId, unknown>[];
  /**
   * Advanced by every write of a value of the default namespace other than a value handle's own (and by namespaced
   * puts, which only invalidates more often): a value handle's one-entry read cache (the value of the key it read
   * last) holds while this has not moved.
   * @internal
   */
  writes = 0;
  /** per state: keyId → namespace → value (key-major), or namespace → keyId → value (namespace-major) */
  readonly nsCols: NsColumn[];
  /** the namespaced columns with their layouts (`nsCols` is its `cols`) @internal */
  readonly namespaced: NamespacedColumns;
  readonly hasTtl: boolean;

  /** current key, its id, and the current namespace ('' = none) */
  key: Key | undefined = undefined;
  id: KeyId = '';
  ns: Namespace = '';
  /** true once a snapshot was taken or state restored: from then on changes are tracked for incremental snapshots */
  tracking = false;
  /** what changed since the last snapshot (called only while `tracking` is on) @internal */
  readonly tracker: ChangeTracker;
  /** cleanup of expired TTL state at snapshot time (with TTL'd states only) @internal */
  readonly ttlCleanup: TtlCleanup | undefined;
  /** the registration number of the next timer (a restore continues the stored numbering) @internal */
  timerSeq = 0;

  private readonly scheduler: SchedulerLike;
  private readonly onProcessingTimer: ((timestamp: number) => void) | undefined;
  private readonly n: number;
  /** made at the first snapshot (an operator never checkpointed needs none) */
  private writer: SnapshotWriter | undefined;
  /** writes of TTL'd state left before the next sweep of expired state ({@link wroteTtl}) */
  private ttlWritesUntilSweep = TTL_SWEEP_EVERY;

  constructor(opts: BackendOptions) {
    this.operator = opts.operator;
    this.scheduler = opts.scheduler;
    this.maxParallelism = opts.maxParallelism ?? 128;
    this.onProcessingTimer = opts.onProcessingTimer;
    this.names = Object.keys(opts.state);
    this.n = this.names.length;
    this.descriptors = this.names.map((n) => opts.state[n] as StateDescriptor);
    this.hasTtl = this.descriptors.some((d) => d.ttl !== undefined);
    this.cols = this.names.map(() => new Map<KeyId, unknown>());
    this.namespaced = new NamespacedColumns(this.names.map((n) => opts.namespaceMajor?.includes(n) === true));
    this.nsCols = this.namespaced.cols;
    this.tracker = new ChangeTracker(this);
    this.ttlCleanup = this.hasTtl ? new TtlCleanup(this, opts.ttlCleanupBatch ?? 1000) : undefined;
    const handles: Record<string, unknown> = {};
    this.names.forEach((name, i) => {
      handles[name] = makeHandle(this, i, this.descriptors[i] as StateDescriptor);
    });
    this.handles = handles;
  }

  now(): number {
    return this.scheduler.now();
  }

  // ---- current key ------------------------------------------------------------------------------------------------

  /** Sets the current key from a validated key and its id (the per-record path). */
  setCurrent(key: Key, id: KeyId): void {
    this.key = key;
    this.id = id;
    this.ns = '';
  }

  /** Sets the current key (for a record); namespace back to none. */
  setCurrentKey(key: Key): void {
    this.key = key;
    this.id = keyIdOf(key);
    this.ns = '';
  }

  /** Sets the current key and namespace from a timer. */
  setCurrentTimer(t: Timer): void {
    this.key = t.key;
    this.id = t.id;
    this.ns = t.ns;
  }

  /** The current key (undefined before the first). */
  currentKey(): Key | undefined {
    return this.key;
  }

  /** The current key's id. */
  currentKeyId(): KeyId {
    return this.id;
  }

  /** Sets the namespace of the current key's state ('' = none). */
  setNamespace(ns: Namespace): void {
    this.ns = ns;
  }

  /** Whether changes are tracked for the next (incremental) snapshot: then an in-place change needs `touch`. */
  isTracking(): boolean {
    return this.tracking;
  }

  /**
   * Stops change tracking until the next snapshot, which is then full: for writes made just before a full snapshot
   * (they need not be tracked).
   */
  untrackUntilSnapshot(): void {
    this.tracking = false;
  }

  // ---- columns, for operators that keep their own layout in a state ------------------------------------------------

  /**
   * The live column of state `i` (default namespace): keyId → value. For an operator whose per-key value is its own
   * structure, changed in place: read it here (read only; write with `put` / `putAt` / `removeAt`), `touch` after an
   * in-place change while tracking.
   */
  column(i: number): ReadonlyMap<KeyId, unknown> {
    return this.cols[i] as Map<KeyId, unknown>;
  }

  /** The namespace-major column of state `i`: namespace → keyId → value (read only; write with {@link putAt}). */
  namespaceMajorColumn(i: number): ReadonlyMap<Namespace, ReadonlyMap<KeyId, unknown>> {
    if (this.namespaced.namespaceMajor[i] !== true) throw new Error(`${this.operator}: state '${this.names[i]}' is not namespace-major`);
    return this.nsCols[i] as unknown as ReadonlyMap<Namespace, ReadonlyMap<KeyId, unknown>>;
  }

  /** How many namespaced values state `i` holds. */
  namespacedSize(i: number): number {
    return this.namespaced.size(i);
  }

  /**
   * The current key's values of state `i` by namespace (a key-major namespaced column; live, read only; undefined when
   * the key has none): for an operator that scans a key's namespaces (the interval join's buffers by timestamp).
   */
  namespacedValuesOfCurrentKey(i: number): ReadonlyMap<Namespace, unknown> | undefined {
    return this.namespaced.valuesOf(i, this.id);
  }

  /** The stored value of state `i` at (id, ns), without moving the cursor (undefined when absent). */
  getAt(i: number, id: KeyId, ns: Namespace): unknown {
    return ns === '' ? (this.cols[i] as Map<KeyId, unknown>).get(id) : this.namespaced.get(i, id, ns);
  }

  /** Stores a value (never `undefined`) of state `i` at (key, ns), without moving the cursor (tracked). */
  putAt(i: number, id: KeyId, ns: Namespace, v: unknown): void {
    if (this.tracking) this.tracker.mark(i, id, ns);
    this.writes++;
    if (ns === '') (this.cols[i] as Map<KeyId, unknown>).set(id, v);
    else this.namespaced.set(i, id, ns, v);
  }

  /**
   * Deletes every timer of a domain (tracked, so the next snapshot deletes them too): a window operator converting
   * another operator's restored state, whose timers it replaces with its own schedule. Moves the key cursor.
   */
  deleteAllTimers(domain: 'event' | 'processing'): void {
    for (const t of this.allTimers(domain)) {
      this.setCurrent(t.key, t.id);
      this.deleteTimer(domain, t.timestamp, t.ns);
    }
  }

  /** The live timers of a domain (a scan: for restore and inspection). */
  allTimers(domain: 'event' | 'processing'): Timer[] {
    return [...(domain === 'event' ? this.eventTimers : this.processingTimers).all()];
  }

  /**
   * Counts a write of TTL'd state (by its handle, after the write); every {@link TTL_SWEEP_EVERY} of them the TTL
   * cleanup's rotation checks twice as many keys of each TTL'd state (`TtlCleanup.sweep`): expired state goes as fast
   * as state is written, whether the job checkpoints or not (docs/SEMANTICS.md §6.2). @internal
   */
  wroteTtl(): void {
    if (--this.ttlWritesUntilSweep > 0) return;
    this.ttlWritesUntilSweep = TTL_SWEEP_EVERY;
    this.ttlCleanup?.sweep(this.now(), 2 * TTL_SWEEP_EVERY);
  }

  // ---- state of the current key and namespace ---------------------------------------------------------------------

  /** The stored value of state `i` (undefined when absent). */
  get(i: number): unknown {
    if (this.ns === '') return (this.cols[i] as Map<KeyId, unknown>).get(this.id);
    return this.namespaced.get(i, this.id, this.ns);
  }

  /** Stores a value (never `undefined`). */
  put(i: number, v: unknown): void {
    if (this.tracking) this.tracker.mark(i, this.id, this.ns);
    this.writes++;
    if (this.ns === '') (this.cols[i] as Map<KeyId, unknown>).set(this.id, v);
    else this.namespaced.set(i, this.id, this.ns, v);
  }

  /** Removes the value of state `i`. */
  remove(i: number): void {
    this.removeAt(i, this.id, this.ns);
  }

  /** Records an in-place change of the (present) value of state `i`. */
  touch(i: number): void {
    if (this.tracking) this.tracker.mark(i, this.id, this.ns);
  }

  /**
   * Records that items are about to be appended in place to the (present) list of state `i`, which has `from` items
   * now: a delta writes only the appended items, unless the list changes otherwise before it
   * (`ChangeTracker.markAppend`).
   */
  appendTo(i: number, from: number): void {
    this.appendToAt(i, this.id, this.ns, from);
  }

  /**
   * Records that entry `mapKey` of the (present) map of state `i`, which has `size` entries, is about to change
   * (`ChangeTracker.markMapEntry`): a delta then writes only the entries that changed, unless the map changes
   * otherwise before it. The caller checks {@link tracking} first (it may then skip finding out how the entry
   * changes).
   */
  trackMapEntry(i: number, mapKey: KeyId, change: MapEntryChange, size: number): void {
    this.tracker.markMapEntry(i, this.id, this.ns, mapKey, change, size);
  }

  /**
   * Records that the (present) value of state `i`, a list of blocks (`blocks`: arrays in an engine's own layout), is
   * about to change: `block`, one of them, in place, or (none given) the list itself. A delta then writes only the
   * blocks new or changed, unless the value changes otherwise before it (`ChangeTracker.markBlocks`).
   */
  changeBlocks(i: number, blocks: readonly unknown[], block?: unknown): void {
    this.changeBlocksAt(i, this.id, this.ns, blocks, block);
  }

  /** {@link changeBlocks} at (id, ns). */
  changeBlocksAt(i: number, id: KeyId, ns: Namespace, blocks: readonly unknown[], block?: unknown): void {
    if (this.tracking) this.tracker.markBlocks(i, id, ns, blocks, block);
  }

  /** {@link appendTo} at (id, ns). */
  appendToAt(i: number, id: KeyId, ns: Namespace, from: number): void {
    if (this.tracking) {
      if (from > 0) this.tracker.markAppend(i, id, ns, from);
      else this.tracker.mark(i, id, ns);
    }
  }

  /** Removes the value of state `i` at (id, ns), if any (tracked). @internal */
  removeAt(i: number, id: KeyId, ns: Namespace): void {
    if (ns === '') {
      const col = this.cols[i] as Map<KeyId, unknown>;
      if (!col.has(id)) return;
      if (this.tracking) this.tracker.markRemoved(i, id, ns);
      this.writes++;
      col.delete(id);
    } else {
      if (!this.namespaced.has(i, id, ns)) return;
      if (this.tracking) this.tracker.markRemoved(i, id, ns);
      this.namespaced.delete(i, id, ns);
    }
  }

  /**
   * Drops the first `count` items of `items`, the (present) list of state `i` at (id, ns): the value goes when that is
   * all of them. Tracked: a delta drops them (`ChangeTracker.markDropFront`). The list state's own reads and the TTL
   * cleanup drop expired items so.
   */
  dropListFrontAt(i: number, id: KeyId, ns: Namespace, items: unknown[], count: number): void {
    if (count <= 0) return;
    if (count >= items.length) {
      this.removeAt(i, id, ns);
      return;
    }
    if (this.tracking) this.tracker.markDropFront(i, id, ns, count, items.length);
    items.splice(0, count);
  }

  /**
   * Deletes the entries `mapKeys` of `m`, the (present) map of state `i` at (id, ns): the value goes when that is all
   * of them. Tracked entry by entry: a delta deletes them (`ChangeTracker.markMapEntry`). The map state's own reads and
   * the TTL cleanup drop expired entries so.
   */
  deleteMapEntriesAt(i: number, id: KeyId, ns: Namespace, m: Map<KeyId, unknown>, mapKeys: readonly KeyId[]): void {
    if (mapKeys.length === 0) return;
    if (mapKeys.length >= m.size && new Set(mapKeys.filter((k) => m.has(k))).size === m.size) {
      this.removeAt(i, id, ns);
      return;
    }
    for (const k of mapKeys) {
      if (!m.has(k)) continue;
      if (this.tracking) this.tracker.markMapEntry(i, id, ns, k, MAP_DELETE, m.size);
      m.delete(k);
    }
  }

  /**
   * Removes the values of every key in namespace `ns` of state `i` at once (a namespace-major column; tracked like
   * removing them one by one).
   */
  dropNamespace(i: number, ns: Namespace): void {
    const m = (this.nsCols[i] as Map<unknown, Map<unknown, unknown>>).get(ns);
    if (m === undefined || this.namespaced.namespaceMajor[i] !== true) return;
    this.tracker.markNamespaceDropped(i, ns, m);
    this.namespaced.deleteNamespace(i, ns);
  }

  // ---- timers -----------------------------------------------------------------------------------------------------

  /** Registers a timer of the current key unless it has one at (domain, ns, timestamp); returns the timer added. */
  registerTimer(domain: 'event' | 'processing', timestamp: number, ns: Namespace = this.ns): Timer | undefined {
    const service = domain === 'event' ? this.eventTimers : this.processingTimers;
    const t = service.register(this.key as Key, this.id, ns, timestamp, this.timerSeq++);
    if (t === undefined) return undefined;
    if (this.tracking) this.tracker.markTimers(this.id, t);
    if (domain === 'processing') this.onProcessingTimer?.(timestamp);
    return t;
  }

  deleteTimer(domain: 'event' | 'processing', timestamp: number, ns: Namespace = this.ns): void {
    const t = (domain === 'event' ? this.eventTimers : this.processingTimers).delete(this.id, ns, timestamp);
    if (t !== undefined && this.tracking) this.tracker.markTimers(this.id, undefined, t);
  }

  /** Pops the next timer of a domain with timestamp <= limit (ascending timestamp, then registration order). */
  popTimer(domain: 'event' | 'processing', limit: number): Timer | undefined {
    const t = (domain === 'event' ? this.eventTimers : this.processingTimers).pop(limit);
    if (t !== undefined && this.tracking) this.tracker.markTimers(t.id, undefined, t);
    return t;
  }

  /** The earliest pending processing-time timer. */
  nextProcessingTimer(): number | undefined {
    return this.processingTimers.peek();
  }

  /**
   * Pending timers by key (for full snapshots and inspection, not the per-record path): a scan of every timer, or for
   * a few keys (`only`, e.g. {@link timersOf}) among many timers, a lookup per key and timestamp. (A delta takes a
   * changed key's timers from the change tracker.)
   * @internal
   */
  timersByKey(only?: ReadonlySet<KeyId>): Map<KeyId, Timer[]> {
    const out = new Map<KeyId, Timer[]>();
    const services = [this.eventTimers, this.processingTimers];
    if (only !== undefined && only.size * (this.eventTimers.lookupsPerKey + this.processingTimers.lookupsPerKey) < this.eventTimers.size + this.processingTimers.size) {
      for (const id of only) {
        const list: Timer[] = [];
        for (const service of services) service.timersOf(id, list);
        if (list.length > 0) out.set(id, list);
      }
      return out;
    }
    for (const service of services) {
      for (const t of service.all()) {
        if (only !== undefined && !only.has(t.id)) continue;
        const list = out.get(t.id);
        if (list === undefined) out.set(t.id, [t]);
        else list.push(t);
      }
    }
    return out;
  }

  // ---- inspection -------------------------------------------------------------------------------------------------

  /** Number of state values held (over all keys and namespaces). */
  get entryCount(): number {
    let n = 0;
    for (let i = 0; i < this.n; i++) {
      n += (this.cols[i] as Map<KeyId, unknown>).size + this.namespaced.size(i);
    }
    return n;
  }

  private allIds(): Set<KeyId> {
    const ids = new Set<KeyId>(this.timersByKey().keys());
    for (let i = 0; i < this.n; i++) {
      for (const id of (this.cols[i] as Map<KeyId, unknown>).keys()) ids.add(id);
      for (const id of this.namespaced.ids(i)) ids.add(id);
    }
    return ids;
  }

  /**
   * Keys with a value in a declared state (default namespace; not those with timers only): state by state in
   * declaration order, each in the order its current values were created (broadcast's `applyToKeyedState`).
   */
  keysWithState(): Key[] {
    const ids = new Set<KeyId>();
    const cleanup = this.ttlCleanup;
    const now = cleanup === undefined ? 0 : this.now();
    for (let i = 0; i < this.n; i++) {
      // (a value expired and never returned is not there, whether a cleanup removed it yet or not)
      for (const id of [...(this.cols[i] as Map<KeyId, unknown>).keys()]) if (cleanup === undefined || cleanup.isVisible(i, id, now)) ids.add(id);
    }
    return [...ids].map(keyOfId);
  }

  /** Keys with state or timers. */
  allKeys(): Key[] {
    return [...this.allIds()].map(keyOfId);
  }

  /**
   * The physically present value of a state for a key, without TTL side effects: value-like → the value
   * (aggregating → the result), list → array, map → `Map` (keys as given). `undefined` when absent.
   */
  peekState(key: Key, name: string, ns: Namespace = ''): unknown {
    const i = this.names.indexOf(name);
    if (i < 0) throw new ConfigurationError(this.operator, name, `${this.operator}: no state named '${name}'; name one of its states: ${this.names.join(', ') || 'none'}.`);
    const id = keyIdOf(key);
    const v = ns === '' ? (this.cols[i] as Map<KeyId, unknown>).get(id) : this.namespaced.get(i, id, ns);
    if (v === undefined) return undefined;
    const d = this.descriptors[i] as StateDescriptor;
    switch (d.kind) {
      case 'list':
        return d.ttl ? (v as TtlItem<unknown>[]).map((x) => x.v) : [...(v as unknown[])];
      case 'map':
        return new Map([...(v as Map<KeyId, MapItem<Key, unknown>>).values()].map((x) => [x.k, x.v]));
      default: {
        const raw = d.ttl ? (v as TtlBox).v : v;
        const val = raw === UNDEFINED ? undefined : raw;
        return d.kind === 'aggregating' ? d.aggregator.result(val) : val;
      }
    }
  }

  /** Timers of a key: `[domain, timestamp, namespace]`, in firing order (event time first). */
  timersOf(key: Key): [domain: 'event' | 'processing', timestamp: number, ns: Namespace][] {
    const m = this.timersByKey(new Set([keyIdOf(key)])).get(keyIdOf(key));
    if (m === undefined) return [];
    return [...m]
      .sort((a, b) => (a.domain === b.domain ? a.timestamp - b.timestamp || a.seq - b.seq : a.domain === 'event' ? -1 : 1))
      .map((t) => [t.domain, t.timestamp, t.ns]);
  }

  // ---- snapshot / restore -----------------------------------------------------------------------------------------

  /**
   * Snapshot of all keyed state and timers, grouped by key group. The first snapshot (or `full: true`) has every
   * entry; later ones only what changed or was deleted since the previous snapshot. Expired TTL state is cleaned up
   * and left out (all of it in a full snapshot; in an incremental one, the changed entries plus a rotating batch of
   * keys). A value that cannot be serialized throws before anything is marked as taken. See `SnapshotWriter`.
   */
  snapshot(full = false): PackedSnapshot {
    return (this.writer ??= new SnapshotWriter(this)).snapshot(full);
  }

  /**
   * The snapshot of a finished operator (docs/SEMANTICS.md §8 "End of input"): full and without entries — its state
   * and timers are not written. A later snapshot, if any, is full.
   */
  finishedSnapshot(): PackedSnapshot {
    this.tracking = false;
    return new PackedSnapshot(this.operator, true, this.maxParallelism, [], 0);
  }

  /**
   * Restores state and timers from a full snapshot, or a full snapshot followed by deltas. Only key groups accepted
   * by `keyGroups` are taken (default: all). Must be called on a fresh backend. See `restoreBackend`.
   */
  restore(snapshots: OperatorSnapshot | readonly OperatorSnapshot[], keyGroups?: (group: number) => boolean, drops?: (name: string) => boolean): void {
    restoreBackend(this, snapshots, keyGroups, drops);
  }
}
