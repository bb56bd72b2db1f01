import type { SchedulerLike } from 'rxjs';
import type { Key } from '../elements/index.js';
import { InvalidKeyError, TidewaterError, describeValue } from '../errors/index.js';
import { keyGroupUnchecked } from '../keys/keyGroups.js';
import { keyIdOf, keyOfId, type KeyId } from '../keys/keyId.js';
import { isKey } from '../keys/validate.js';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';
import { ChunkWriter, encode, escapeJson, mergeSnapshots, PackedSnapshot } from '../checkpoints/snapshot.js';
import { TimerService, type Namespace, type Timer } from '../timers/queue.js';
import { decodeValue, encodeValue, hasOnlyItems, isPlainNumber, UnserializableValueError } from './codec.js';
import type { StateDescriptor, StateKind } from './descriptors.js';
import { makeHandle, UNDEFINED, type MapItem, type TtlBox, type TtlItem } from './handles.js';

/**
 * A state value that cannot be serialized, found while taking a snapshot: names the operator, the key, the state and
 * the path inside the value.
 *
 * @example
 * ```ts
 * try { h.snapshot(); } catch (e) { if (e instanceof StateSerializationError) console.error(e.key, e.state); }
 * ```
 */
export class StateSerializationError extends TidewaterError {
  override name = 'StateSerializationError';
  constructor(
    operator: string,
    readonly key: unknown,
    readonly state: string,
    value: unknown,
    cause: UnserializableValueError,
  ) {
    super(
      operator,
      value,
      `${operator}: state '${state}' of key ${describeValue(key)} cannot be serialized for a checkpoint: ${cause.reason} at ` +
        `${cause.path || '(root)'}. Keep state as plain data (objects, arrays, Map, Set, Date, primitives).`,
      { cause },
    );
  }
}

/** Descriptors whose array values only the engine makes (see {@link engineArrays}). */
const ENGINE_ARRAYS = new WeakSet<StateDescriptor>();

/**
 * Marks a state whose array values only the engine makes (e.g. the window operator's pane state): plain arrays,
 * never with holes or extra properties, so a snapshot writes them without checking for those (a check that costs
 * more than writing a short array of numbers). List states are such states already. Returns the descriptor.
 *
 * @example
 * ```ts
 * const panes = engineArrays(valueState<unknown[]>());
 * ```
 * @internal
 */
export function engineArrays<D extends StateDescriptor>(d: D): D {
  ENGINE_ARRAYS.add(d);
  return d;
}

/**
 * A snapshot that does not fit the operator it is restored into (unknown state name, other state kind, bad entry).
 *
 * @example
 * ```ts
 * harness(process({ name: 'op', state: { n: valueState() }, onElement() {} }), { restore: otherCheckpoint }).error;
 * ```
 */
export class StateRestoreError extends TidewaterError {
  override name = 'StateRestoreError';
}


/** Maps a path inside a stored payload (`[flag, data…]`) to the path inside the user's value. */
function userPath(kind: StateKind, ttl: boolean, p: string): string {
  const m = /^\[1\](.*)$/.exec(p);
  if (m === null) return p;
  const rest = m[1] ?? '';
  if (kind === 'list' && ttl) {
    const x = /^(\[\d+\])\[0\](.*)$/.exec(rest);
    return x === null ? rest : `${x[1] ?? ''}${x[2] ?? ''}`;
  }
  if (kind === 'map') {
    const x = /^\[(\d+)\]\[([01])\](.*)$/.exec(rest);
    return x === null ? rest : `<${x[2] === '0' ? 'key' : 'value'} of entry ${x[1] ?? ''}>${x[3] ?? ''}`;
  }
  return rest;
}

/**
 * Fewest changes since the last snapshot after which tracking may stop and the next snapshot be full (see
 * `KeyedStateBackend.changed`): small states always get exact deltas. @internal
 */
export const SATURATION_MIN = 4096;
/** Most intervals left untracked after tracking saturated (see `KeyedStateBackend.trackNext`). @internal */
export const SATURATION_SKIP_MAX = 3;

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

export type { Namespace };
/** keyId → (namespace → value) */
type NsColumn = Map<KeyId, Map<Namespace, unknown>>;
/** keyId → was the key present in the last snapshot (recorded at its first change after that snapshot) */
type Dirty = Map<KeyId, boolean>;
/** Changed namespaced entries: namespace → key → present at the previous snapshot (namespace-major: windows are few, keys many). */
type NsDirty = Map<Namespace, Map<KeyId, boolean>>;

/**
 * The keyed state and timers of one operator instance, stored by column: one `Map<keyId, value>` per declared state
 * (values inline, no object per key; a running count costs what a hand-written `Map` costs), a `Map<keyId,
 * Map<namespace, value>>` per state for namespaced (window) state, a timer service per time domain, TTL, and
 * snapshot/restore grouped by key group with incremental (changed-only) snapshots.
 * `process`, windows and joins all keep their state here.
 *
 * Change tracking starts with the first snapshot (or a restore): before that there is nothing to be incremental to,
 * and an operator that is never checkpointed keeps no bookkeeping. It stops again once half the state changed since
 * the last snapshot (see `changed`): the next snapshot is then full, and while that keeps happening the intervals
 * after it go untracked too (see `trackNext`). A change records, once per key and state, whether
 * the key was present at the last snapshot (= present before its first change since), so a snapshot writes what is
 * present and deletes what was persisted and is gone — and nothing for state created and dropped in between.
 *
 * @internal
 */
export class KeyedStateBackend {
  readonly operator: string;
  readonly names: readonly string[];
  readonly descriptors: readonly StateDescriptor[];
  /** Per state: whether its array values are the engine's own, plain arrays (a list's items; see {@link engineArrays}). */
  private readonly plainArrays: readonly boolean[];
  readonly maxParallelism: number;
  readonly eventTimers = new TimerService('event');
  readonly processingTimers = new TimerService('processing');
  /** typed handles by state name */
  readonly handles: Record<string, unknown>;
  /** per state: keyId → value (default namespace) */
  readonly cols: Map<KeyId, unknown>[];
  /** per state: keyId → namespace → value (key-major), or namespace → keyId → value (namespace-major) */
  readonly nsCols: NsColumn[];
  private readonly nsMajor: boolean[];
  readonly hasTtl: boolean;

  /** current key, its id, and the current namespace ('' = none) */
  key: Key | undefined = undefined;
  id: KeyId = '';
  ns: Namespace = '';
  /** true once a snapshot was taken or state restored: from then on changes are tracked for incremental snapshots */
  tracking = false;

  private readonly dirty: Dirty[];
  private readonly nsDirty: NsDirty[];
  /**
   * Namespaces of namespace-major states (without TTL) created since the last snapshot: written whole by the next
   * snapshot, so their entries need no per-key change tracking (windows open and close many panes between two
   * checkpoints: those cost nothing to track).
   */
  private readonly freshNs: Set<Namespace>[];
  /** per state: the namespace last found fresh (an element mostly goes to the same open window) */
  private readonly lastFresh: (Namespace | undefined)[];
  /** changes recorded since the last snapshot, and how many stop tracking (see {@link changed}) */
  private changes = 0;
  private saturateAt = Infinity;
  /**
   * Whether tracking saturated since the last snapshot; how many tracked intervals in a row did (capped at
   * {@link SATURATION_SKIP_MAX}); and how many intervals are still to go untracked (see `trackNext`).
   */
  private saturated = false;
  private saturatedStreak = 0;
  private untracked = 0;
  /** whether tracking was on when the interval since the last snapshot began */
  private intervalTracked = false;
  /** keys whose timers changed since the last snapshot, and keys that had timers in it */
  private readonly timersDirty = new Set<KeyId>();
  private timersPersisted = new Set<KeyId>();
  private seq = 0;
  private readonly scheduler: SchedulerLike;
  private readonly onProcessingTimer: ((timestamp: number) => void) | undefined;
  private readonly n: number;
  private readonly ttlCleanupBatch: number;
  private readonly cleanupCursors: (Iterator<KeyId> | undefined)[];

  constructor(opts: BackendOptions) {
    this.operator = opts.operator;
    this.scheduler = opts.scheduler;
    this.maxParallelism = opts.maxParallelism ?? 128;
    this.onProcessingTimer = opts.onProcessingTimer;
    this.ttlCleanupBatch = opts.ttlCleanupBatch ?? 1000;
    this.names = Object.keys(opts.state);
    this.n = this.names.length;
    this.descriptors = this.names.map((n) => opts.state[n] as StateDescriptor);
    this.plainArrays = this.descriptors.map((d) => d.kind === 'list' || ENGINE_ARRAYS.has(d));
    this.hasTtl = this.descriptors.some((d) => d.ttl !== undefined);
    this.cols = this.names.map(() => new Map<KeyId, unknown>());
    this.nsCols = this.names.map(() => new Map<KeyId, Map<Namespace, unknown>>());
    this.nsMajor = this.names.map((n) => opts.namespaceMajor?.includes(n) === true);
    this.freshNs = this.names.map(() => new Set<Namespace>());
    this.lastFresh = this.names.map(() => undefined);
    this.dirty = this.names.map(() => new Map<KeyId, boolean>());
    this.nsDirty = this.names.map(() => new Map<Namespace, Map<KeyId, boolean>>());
    this.cleanupCursors = this.names.map(() => undefined);
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

  // ---- state of the current key and namespace ---------------------------------------------------------------------

  /** The stored value of state `i` (undefined when absent). */
  get(i: number): unknown {
    if (this.ns === '') return (this.cols[i] as Map<KeyId, unknown>).get(this.id);
    return this.nsGet(i, this.id, this.ns);
  }

  // ---- namespaced columns, in either layout ---------------------------------------------------------------------

  /** namespace-major columns: the last namespace used and its map (elements mostly go to the same open window) */
  private lastNs: unknown[] = [];
  private lastMap: (Map<unknown, unknown> | undefined)[] = [];

  private nsMap(i: number, ns: Namespace): Map<unknown, unknown> | undefined {
    const cached = this.lastMap[i];
    if (cached !== undefined && this.lastNs[i] === ns) return cached;
    const m = (this.nsCols[i] as Map<unknown, Map<unknown, unknown>>).get(ns);
    if (m !== undefined) {
      this.lastNs[i] = ns;
      this.lastMap[i] = m;
    }
    return m;
  }

  private nsGet(i: number, id: KeyId, ns: Namespace): unknown {
    if (this.nsMajor[i] === true) return this.nsMap(i, ns)?.get(id);
    return (this.nsCols[i] as NsColumn).get(id)?.get(ns);
  }

  private nsHas(i: number, id: KeyId, ns: Namespace): boolean {
    if (this.nsMajor[i] === true) return this.nsMap(i, ns)?.has(id) === true;
    return (this.nsCols[i] as NsColumn).get(id)?.has(ns) === true;
  }

  private nsSet(i: number, id: KeyId, ns: Namespace, v: unknown): void {
    const col = this.nsCols[i] as Map<unknown, Map<unknown, unknown>>;
    const major = this.nsMajor[i] === true;
    const outer = major ? ns : id;
    const inner = major ? id : ns;
    let m = major ? this.nsMap(i, ns) : col.get(outer);
    if (m === undefined) {
      m = new Map();
      col.set(outer, m);
      if (major) {
        this.lastNs[i] = ns;
        this.lastMap[i] = m;
      }
    }
    m.set(inner, v);
  }

  /** Deletes; returns whether there was a value. */
  private nsDelete(i: number, id: KeyId, ns: Namespace): boolean {
    const col = this.nsCols[i] as Map<unknown, Map<unknown, unknown>>;
    const major = this.nsMajor[i] === true;
    const outer = major ? ns : id;
    const inner = major ? id : ns;
    const m = col.get(outer);
    if (m === undefined || !m.delete(inner)) return false;
    if (m.size === 0) {
      col.delete(outer);
      if (major && this.lastNs[i] === ns) {
        this.lastNs[i] = undefined;
        this.lastMap[i] = undefined;
      }
    }
    return true;
  }

  private nsSize(i: number): number {
    let n = 0;
    for (const m of (this.nsCols[i] as Map<unknown, Map<unknown, unknown>>).values()) n += m.size;
    return n;
  }

  /** Namespaces of a key in a namespaced column. */
  private nsOfKey(i: number, id: KeyId): Namespace[] {
    if (!this.nsMajor[i]) {
      const m = (this.nsCols[i] as NsColumn).get(id);
      return m === undefined ? [] : [...m.keys()];
    }
    const out: Namespace[] = [];
    for (const [ns, m] of this.nsCols[i] as Map<unknown, Map<unknown, unknown>>) if (m.has(id)) out.push(ns as Namespace);
    return out;
  }

  private nsIds(i: number): Iterable<KeyId> {
    if (!this.nsMajor[i]) return (this.nsCols[i] as NsColumn).keys();
    const ids = new Set<KeyId>();
    for (const m of (this.nsCols[i] as Map<unknown, Map<unknown, unknown>>).values()) for (const id of m.keys()) ids.add(id as KeyId);
    return ids;
  }

  /**
   * Removes the values of every key in namespace `ns` of state `i` at once (a namespace-major column; tracked like
   * removing them one by one).
   */
  dropNamespace(i: number, ns: Namespace): void {
    const col = this.nsCols[i] as Map<unknown, Map<unknown, unknown>>;
    const m = col.get(ns);
    if (m === undefined || this.nsMajor[i] !== true) return;
    if (this.lastFresh[i] === ns) this.lastFresh[i] = undefined;
    if (this.tracking && !(this.freshNs[i] as Set<Namespace>).delete(ns)) {
      // only entries the previous snapshot had need a deletion; the rest of the namespace leaves no trace
      const nd = this.nsDirty[i] as NsDirty;
      const d = nd.get(ns);
      const kept = new Map<KeyId, boolean>();
      if (d === undefined) for (const id of m.keys()) kept.set(id as KeyId, true);
      else {
        for (const id of m.keys()) {
          const was = d.get(id as KeyId);
          if (was !== false) kept.set(id as KeyId, true);
        }
        for (const [id, was] of d) if (was && !m.has(id)) kept.set(id, true);
      }
      if (kept.size > 0) nd.set(ns, kept);
      else nd.delete(ns);
    }
    col.delete(ns);
    if (this.lastNs[i] === ns) {
      this.lastNs[i] = undefined;
      this.lastMap[i] = undefined;
    }
  }

  /** Stores a value (never `undefined`). */
  put(i: number, v: unknown): void {
    if (this.tracking) this.mark(i, this.id, this.ns);
    if (this.ns === '') (this.cols[i] as Map<KeyId, unknown>).set(this.id, v);
    else this.nsSet(i, this.id, this.ns, v);
  }

  /** Removes the value of state `i`. */
  remove(i: number): void {
    this.removeAt(i, this.id, this.ns);
  }

  /** Records an in-place change of the (present) value of state `i`. */
  touch(i: number): void {
    if (this.tracking) this.mark(i, this.id, this.ns);
  }

  private removeAt(i: number, id: KeyId, ns: Namespace): void {
    if (ns === '') {
      const col = this.cols[i] as Map<KeyId, unknown>;
      if (!col.has(id)) return;
      if (this.tracking) {
        // created since the previous snapshot and gone again: nothing to write
        const d = this.dirty[i] as Dirty;
        const was = d.get(id);
        if (was === false) d.delete(id);
        else if (was === undefined) {
          d.set(id, true);
          this.changed();
        }
      }
      col.delete(id);
    } else {
      if (!this.nsHas(i, id, ns)) return;
      if (this.tracking) {
        this.mark(i, id, ns);
        const d = (this.nsDirty[i] as NsDirty).get(ns);
        if (d?.get(id) === false) d.delete(id);
      }
      this.nsDelete(i, id, ns);
    }
  }

  private mark(i: number, id: KeyId, ns: Namespace): void {
    if (ns === '') {
      const d = this.dirty[i] as Dirty;
      if (!d.has(id)) {
        d.set(id, (this.cols[i] as Map<KeyId, unknown>).has(id));
        this.changed();
      }
      return;
    }
    if (this.lastFresh[i] === ns) return;
    const nd = this.nsDirty[i] as NsDirty;
    let d = nd.get(ns);
    if (d === undefined) {
      if (this.nsMajor[i] === true && (this.descriptors[i] as StateDescriptor).ttl === undefined) {
        const fresh = this.freshNs[i] as Set<Namespace>;
        if (fresh.has(ns)) {
          this.lastFresh[i] = ns;
          return;
        }
        // a namespace that neither exists nor changed since the last snapshot did not exist then: it is fresh
        if (!(this.nsCols[i] as Map<unknown, unknown>).has(ns)) {
          fresh.add(ns);
          this.lastFresh[i] = ns;
          this.changed();
          return;
        }
      }
      d = new Map();
      nd.set(ns, d);
    }
    if (!d.has(id)) {
      d.set(id, this.nsHas(i, id, ns));
      this.changed();
    }
  }

  /**
   * Counts a change recorded since the last snapshot. Once they reach half the state's entries (and at least
   * {@link SATURATION_MIN}), tracking stops until the next snapshot, which is then a full one: past that point a full
   * snapshot writes at most twice what a delta would, while tracking every further change would cost a lookup per
   * write (at high rates, where every key changes between two checkpoints, most of a checkpoint's cost).
   */
  private changed(): void {
    if (++this.changes >= this.saturateAt) {
      this.tracking = false;
      this.saturated = true;
      this.clearTracking();
    }
  }

  /**
   * After a snapshot: whether to track the interval up to the next one (a delta's interval was tracked and did not
   * saturate: tracking goes on, counting afresh). Tracking that saturated (most of the
   * state changed between two snapshots: at high rates, every interval) would only pay a lookup per write again to
   * end in another full snapshot, so after a saturated interval the next 1, 2, then 3 intervals (while they keep
   * saturating when tracked) go untracked, their snapshots full; then tracking resumes, and one interval that stays
   * below saturation resets the count.
   */
  private trackNext(): void {
    if (this.intervalTracked) {
      if (this.saturated) this.untracked = this.saturatedStreak = Math.min(this.saturatedStreak + 1, SATURATION_SKIP_MAX);
      else this.saturatedStreak = 0;
    }
    this.saturated = false;
    this.clearTracking();
    if (this.untracked > 0) {
      this.untracked--;
      this.tracking = this.intervalTracked = false;
      return;
    }
    this.tracking = this.intervalTracked = true;
    this.resetSaturation();
  }

  /** Where {@link changed} stops tracking, from the state's current size. */
  private resetSaturation(): void {
    this.changes = 0;
    this.saturateAt = Math.max(SATURATION_MIN, Math.ceil(this.entryCount / 2));
  }


  // ---- timers -----------------------------------------------------------------------------------------------------

  registerTimer(domain: 'event' | 'processing', timestamp: number, ns: Namespace = this.ns): void {
    const service = domain === 'event' ? this.eventTimers : this.processingTimers;
    if (!service.register(this.key as Key, this.id, ns, timestamp, this.seq++)) return;
    if (this.tracking) this.timerChanged(this.id);
    if (domain === 'processing') this.onProcessingTimer?.(timestamp);
  }

  deleteTimer(domain: 'event' | 'processing', timestamp: number, ns: Namespace = this.ns): void {
    const t = (domain === 'event' ? this.eventTimers : this.processingTimers).delete(this.id, ns, timestamp);
    if (t !== undefined && this.tracking) this.timerChanged(this.id);
  }

  private timerChanged(id: KeyId): void {
    if (this.timersDirty.has(id)) return;
    this.timersDirty.add(id);
    this.changed();
  }

  /** Pops the next timer of a domain with timestamp <= limit (ascending timestamp, then registration order). */
  popTimer(domain: 'event' | 'processing', limit: number): Timer | undefined {
    const t = (domain === 'event' ? this.eventTimers : this.processingTimers).pop(limit);
    if (t !== undefined && this.tracking) this.timerChanged(t.id);
    return t;
  }

  /** The earliest pending processing-time timer. */
  nextProcessingTimer(): number | undefined {
    return this.processingTimers.peek();
  }

  /** Pending timers by key (a scan: for snapshots and inspection, not the per-record path). */
  private timersByKey(only?: ReadonlySet<KeyId>): Map<KeyId, Timer[]> {
    const out = new Map<KeyId, Timer[]>();
    for (const service of [this.eventTimers, this.processingTimers]) {
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
      n += (this.cols[i] as Map<KeyId, unknown>).size + this.nsSize(i);
    }
    return n;
  }

  private allIds(): Set<KeyId> {
    const ids = new Set<KeyId>(this.timersByKey().keys());
    for (let i = 0; i < this.n; i++) {
      for (const id of (this.cols[i] as Map<KeyId, unknown>).keys()) ids.add(id);
      for (const id of this.nsIds(i)) ids.add(id);
    }
    return ids;
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
    if (i < 0) throw new StateRestoreError(this.operator, name, `${this.operator}: no state named '${name}' (states: ${this.names.join(', ') || 'none'})`);
    const id = keyIdOf(key);
    const v = ns === '' ? (this.cols[i] as Map<KeyId, unknown>).get(id) : this.nsGet(i, id, ns);
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

  // ---- TTL cleanup ------------------------------------------------------------------------------------------------

  /** Drops expired TTL data of state `i` at (id, ns): the whole value, or list elements / map entries. */
  private expire(i: number, id: KeyId, ns: Namespace, now: number): void {
    const d = this.descriptors[i] as StateDescriptor;
    const ttl = d.ttl;
    if (ttl === undefined) return;
    const v = ns === '' ? (this.cols[i] as Map<KeyId, unknown>).get(id) : this.nsGet(i, id, ns);
    if (v === undefined) return;
    if (d.kind === 'list') {
      const items = v as TtlItem<unknown>[];
      const alive = items.filter((x) => x.t + ttl.ms > now);
      if (alive.length === items.length) return;
      if (alive.length === 0) this.removeAt(i, id, ns);
      else {
        if (this.tracking) this.mark(i, id, ns);
        items.length = 0;
        items.push(...alive);
      }
    } else if (d.kind === 'map') {
      const m = v as Map<KeyId, MapItem<Key, unknown>>;
      const gone = [...m].filter(([, x]) => x.t + ttl.ms <= now);
      if (gone.length === 0) return;
      if (gone.length === m.size) this.removeAt(i, id, ns);
      else {
        if (this.tracking) this.mark(i, id, ns);
        for (const [k] of gone) m.delete(k);
      }
    } else if ((v as TtlBox).t + ttl.ms <= now) {
      this.removeAt(i, id, ns);
    }
  }

  private expireKey(i: number, id: KeyId, now: number): void {
    this.expire(i, id, '', now);
    for (const ns of this.nsOfKey(i, id)) this.expire(i, id, ns, now);
  }

  private expireEverything(now: number): void {
    for (let i = 0; i < this.n; i++) {
      if ((this.descriptors[i] as StateDescriptor).ttl === undefined) continue;
      const ids = new Set<KeyId>([...(this.cols[i] as Map<KeyId, unknown>).keys(), ...this.nsIds(i)]);
      for (const id of ids) this.expireKey(i, id, now);
    }
  }

  /** A bounded, rotating pass over the keys of each TTL'd state (Flink's incremental cleanup). */
  private incrementalTtlCleanup(now: number): void {
    for (let i = 0; i < this.n; i++) {
      if ((this.descriptors[i] as StateDescriptor).ttl === undefined) continue;
      const col = this.cols[i] as Map<KeyId, unknown>;
      let budget = Math.min(this.ttlCleanupBatch, col.size);
      while (budget-- > 0) {
        let r = this.cleanupCursors[i]?.next();
        if (r === undefined || r.done === true) {
          this.cleanupCursors[i] = col.keys();
          r = (this.cleanupCursors[i] as Iterator<KeyId>).next();
          if (r.done === true) break;
        }
        this.expire(i, r.value, '', now);
      }
    }
  }

  // ---- snapshot / restore -----------------------------------------------------------------------------------------

  private groupOfId(id: KeyId): number {
    return keyGroupUnchecked(keyOfId(id), this.maxParallelism);
  }

  /**
   * `["s",<name>,<kind>,` per state, as it appears inside a chunk's JSON string (escaped): a path is this prefix, the
   * namespace and the encoded key.
   */
  private pathPrefixes: Uint8Array[] | undefined;

  /** Writes the path of an entry (`JSON.stringify(['s', name, kind, ns, encodeValue(key)])`), escaped. */
  private writePath(w: ChunkWriter, i: number, id: KeyId, ns: Namespace): void {
    const prefixes = (this.pathPrefixes ??= this.descriptors.map((d, j) => encode(escapeJson(JSON.stringify(['s', this.names[j], d.kind]).slice(0, -1) + ','))));
    w.bytes(prefixes[i] as Uint8Array);
    if (ns === '') w.ascii('\\"\\"');
    else if (typeof ns === 'number' && Number.isFinite(ns)) w.num(ns);
    else w.text(escapeJson(JSON.stringify(ns)));
    w.ascii(',');
    KeyedStateBackend.writeKey(w, id);
    w.ascii(']');
  }

  /** Writes the key's element of a path (`JSON.stringify(encodeValue(key))`), escaped. */
  private static writeKey(w: ChunkWriter, id: KeyId): void {
    // a number key (not -0, which the codec tags) is its digits: no stringify, nothing to escape
    if (isPlainNumber(id)) {
      w.ascii('\\"');
      w.num(id);
      w.ascii('\\"');
    } else w.text(escapeJson(JSON.stringify(encodeValue(keyOfId(id)))));
  }

  /** The stored form of a value (`encodeValue([ttl flag, data, …])`), escaped: the general case of {@link writeValue}. */
  private valueText(i: number, id: KeyId, v: unknown): string {
    const d = this.descriptors[i] as StateDescriptor;
    const ttl = d.ttl !== undefined;
    let payload: unknown[];
    switch (d.kind) {
      case 'list':
        payload = ttl ? [1, (v as TtlItem<unknown>[]).map((x) => [x.v, x.t])] : [0, v];
        break;
      case 'map':
        payload = [ttl ? 1 : 0, [...(v as Map<KeyId, MapItem<Key, unknown>>).values()].map((x) => (ttl ? [x.k, x.v, x.t] : [x.k, x.v]))];
        break;
      default: {
        const raw = ttl ? (v as TtlBox).v : v;
        const val = raw === UNDEFINED ? undefined : raw;
        payload = ttl ? [1, val, (v as TtlBox).t] : [0, val];
      }
    }
    try {
      return escapeJson(encodeValue(payload));
    } catch (err) {
      if (err instanceof UnserializableValueError) {
        // report the path inside the user's value, not inside the stored payload
        const path = userPath(d.kind, ttl, err.path);
        throw new StateSerializationError(this.operator, keyOfId(id), this.names[i] ?? '', v, new UnserializableValueError(path, err.offending, err.reason));
      }
      throw err;
    }
  }

  /** Writes the entry of state `i` at (id, ns): its value, or (`v` undefined) its deletion. */
  private row(w: ChunkWriter, i: number, id: KeyId, ns: Namespace, v: unknown): void {
    w.begin(this.groupOfId(id));
    this.writePath(w, i, id, ns);
    if (v !== undefined) {
      w.value();
      this.writeValue(w, i, id, v);
    }
    w.end();
  }

  /** Writes a stored value as its payload `[0|1, …]`, escaped. */
  private writeValue(w: ChunkWriter, i: number, id: KeyId, v: unknown): void {
    const d = this.descriptors[i] as StateDescriptor;
    // the common cases written directly: a number in a value-like state, an array of numbers and nulls (a list of
    // numbers; the window operator's per-key pane state); their JSON is what the codec writes, nothing to escape
    if (d.ttl === undefined && d.kind !== 'map') {
      if (d.kind !== 'list' && isPlainNumber(v)) {
        w.ascii('[0,');
        w.num(v);
        w.ascii(']');
        return;
      }
      if (Array.isArray(v)) {
        const at = w.position;
        w.ascii('[0,');
        // (a hole fails numbers(); a user's array with more than its items takes the codec's tagged form)
        if (w.numbers(v) && (this.plainArrays[i] === true || hasOnlyItems(v))) {
          w.ascii(']');
          return;
        }
        w.rewind(at);
      }
    }
    w.text(this.valueText(i, id, v));
  }

  private timersRow(w: ChunkWriter, id: KeyId, timers: readonly Timer[] | undefined): void {
    w.begin(this.groupOfId(id));
    w.ascii('[\\"t\\",');
    KeyedStateBackend.writeKey(w, id);
    w.ascii(']');
    if (timers !== undefined && timers.length > 0) {
      const sorted = [...timers].sort((a, b) => a.seq - b.seq);
      w.value();
      w.text(escapeJson(encodeValue(sorted.map((t) => [t.domain === 'event' ? 0 : 1, t.ns, t.timestamp, t.seq]))));
    }
    w.end();
  }

  private clearTracking(): void {
    for (const d of this.dirty) d.clear();
    for (const d of this.nsDirty) d.clear();
    for (const f of this.freshNs) f.clear();
    this.lastFresh.fill(undefined);
    this.timersDirty.clear();
  }

  /**
   * Snapshot of all keyed state and timers, grouped by key group. The first snapshot (or `full: true`) has every
   * entry; later ones only what changed or was deleted since the previous snapshot. Expired TTL state is cleaned up
   * and left out (all of it in a full snapshot; in an incremental one, the changed entries plus a rotating batch of
   * keys). A value that cannot be serialized throws before anything is marked as taken.
   */
  snapshot(full = false): PackedSnapshot {
    const now = this.hasTtl ? this.now() : 0;
    const out = new ChunkWriter();
    if (!full && this.tracking && this.hasTtl) {
      // (before choosing between full and delta: the deletions this cleanup records can saturate the tracking, and
      // the snapshot must then be full)
      this.incrementalTtlCleanup(now);
      for (let i = 0; i < this.n && this.tracking; i++) {
        if ((this.descriptors[i] as StateDescriptor).ttl === undefined) continue;
        for (const id of [...(this.dirty[i] as Dirty).keys()]) this.expire(i, id, '', now);
        for (const [ns, m] of [...(this.nsDirty[i] as NsDirty)]) for (const id of [...m.keys()]) this.expire(i, id, ns, now);
      }
    }
    if (full || !this.tracking) {
      if (this.hasTtl) this.expireEverything(now);
      for (let i = 0; i < this.n; i++) {
        for (const [id, v] of this.cols[i] as Map<KeyId, unknown>) this.row(out, i, id, '', v);
        const major = this.nsMajor[i] === true;
        for (const [outer, m] of this.nsCols[i] as Map<unknown, Map<unknown, unknown>>) {
          if (major) for (const [id, v] of m) this.row(out, i, id as KeyId, outer as Namespace, v);
          else for (const [ns, v] of m) this.row(out, i, outer as KeyId, ns as Namespace, v);
        }
      }
      const timers = this.timersByKey();
      for (const [id, list] of timers) this.timersRow(out, id, list);
      this.trackNext();
      this.timersPersisted = new Set(timers.keys());
      return new PackedSnapshot(this.operator, true, this.maxParallelism, out.finish(), out.count);
    }

    for (let i = 0; i < this.n; i++) {
      const col = this.cols[i] as Map<KeyId, unknown>;
      for (const [id, was] of this.dirty[i] as Dirty) {
        const v = col.get(id);
        if (v !== undefined || was) this.row(out, i, id, '', v);
      }
      for (const ns of this.freshNs[i] as Set<Namespace>) {
        const m = (this.nsCols[i] as Map<unknown, Map<unknown, unknown>>).get(ns);
        if (m !== undefined) for (const [id, v] of m) this.row(out, i, id as KeyId, ns, v);
      }
      for (const [ns, m] of this.nsDirty[i] as NsDirty) {
        for (const [id, was] of m) {
          const v = this.nsGet(i, id, ns);
          if (v !== undefined || was) this.row(out, i, id, ns, v);
        }
      }
    }
    if (this.timersDirty.size > 0) {
      const timers = this.timersByKey(this.timersDirty);
      for (const id of this.timersDirty) {
        const list = timers.get(id);
        if (list !== undefined || this.timersPersisted.has(id)) this.timersRow(out, id, list);
        if (list !== undefined) this.timersPersisted.add(id);
        else this.timersPersisted.delete(id);
      }
    }
    this.trackNext();
    return new PackedSnapshot(this.operator, false, this.maxParallelism, out.finish(), out.count);
  }

  /**
   * Restores state and timers from a full snapshot, or a full snapshot followed by deltas. Only key groups accepted
   * by `keyGroups` are taken (default: all). Must be called on a fresh backend.
   */
  restore(snapshots: OperatorSnapshot | readonly OperatorSnapshot[], keyGroups?: (group: number) => boolean): void {
    const list: readonly OperatorSnapshot[] = Array.isArray(snapshots) ? snapshots : [snapshots as OperatorSnapshot];
    if (list.length === 0) return;
    const merged = list.length === 1 ? (list[0] as OperatorSnapshot) : mergeSnapshots(list);
    if (!merged.full) {
      throw new StateRestoreError(
        this.operator,
        merged.operator,
        `${this.operator}: cannot restore from an incremental snapshot alone; give the full snapshot and the deltas after it, in order.`,
      );
    }
    if (merged.maxParallelism !== this.maxParallelism) {
      throw new StateRestoreError(
        this.operator,
        merged.maxParallelism,
        `${this.operator}: snapshot has maxParallelism ${merged.maxParallelism}, operator has ${this.maxParallelism}; key groups cannot be remapped (keep maxParallelism fixed for the lifetime of the state).`,
      );
    }
    this.tracking = false;
    const now = this.now();
    const pendingTimers: { key: Key; domain: 'event' | 'processing'; ns: Namespace; ts: number; seq: number }[] = [];
    for (const se of merged.entries) {
      if (se.value === undefined) continue;
      if (keyGroups !== undefined && !keyGroups(se.keyGroup)) continue;
      let path: unknown;
      try {
        path = JSON.parse(se.path);
      } catch {
        path = undefined;
      }
      if (!Array.isArray(path) || (path[0] !== 't' && path[0] !== 's')) {
        throw new StateRestoreError(this.operator, se.path, `${this.operator}: corrupt snapshot entry path ${describeValue(se.path)}`);
      }
      const key = decodeValue((path[0] === 't' ? path[1] : path[4]) as string);
      if (!isKey(key)) throw new InvalidKeyError(this.operator, key, se.path);
      const payload = decodeValue(se.value);
      if (path[0] === 't') {
        for (const [d, ns, ts, seq] of payload as [0 | 1, Namespace, number, number][]) {
          pendingTimers.push({ key, domain: d === 0 ? 'event' : 'processing', ns, ts, seq });
        }
        continue;
      }
      const [, name, stateKind, ns] = path as [string, string, StateKind, Namespace];
      const i = this.names.indexOf(name);
      if (i < 0) {
        throw new StateRestoreError(
          this.operator,
          name,
          `${this.operator}: the snapshot has state '${name}' that this operator does not declare (declared: ${this.names.join(', ') || 'none'}). Declare it, or restore into the operator it came from.`,
        );
      }
      const d = this.descriptors[i] as StateDescriptor;
      if (d.kind !== stateKind) {
        throw new StateRestoreError(this.operator, name, `${this.operator}: state '${name}' is a ${d.kind} state here but a ${stateKind} state in the snapshot.`);
      }
      this.setCurrentKey(key);
      this.ns = ns;
      this.put(i, this.fill(d, payload as [0 | 1, unknown, number?], now));
    }
    pendingTimers.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    // timers keep their registration numbers: the entries of keys whose timers do not change again stay in the
    // stored chain with them, so the timers registered from now on must number after every one of them
    let nextSeq = 0;
    for (const t of pendingTimers) {
      this.setCurrentKey(t.key);
      this.seq = t.seq;
      this.registerTimer(t.domain, t.ts, t.ns);
      this.timersPersisted.add(this.id);
      nextSeq = Math.max(nextSeq, t.seq + 1);
    }
    this.seq = nextSeq;
    this.tracking = this.intervalTracked = true;
    this.saturated = false;
    this.saturatedStreak = this.untracked = 0;
    this.resetSaturation();
    this.key = undefined;
    this.ns = '';
  }

  /** The stored form of a snapshot payload under the current descriptor (TTL added or removed since is handled). */
  private fill(d: StateDescriptor, payload: [0 | 1, unknown, number?], now: number): unknown {
    const [hadTtl, data] = payload;
    const ttl = d.ttl !== undefined;
    switch (d.kind) {
      case 'list': {
        const items = data as unknown[];
        if (ttl) return hadTtl ? (items as [unknown, number][]).map(([x, t]) => ({ v: x, t })) : items.map((x) => ({ v: x, t: now }));
        return hadTtl ? (items as [unknown, number][]).map(([x]) => x) : items;
      }
      case 'map': {
        const m = new Map<KeyId, MapItem<Key, unknown>>();
        for (const [k, x, t] of data as [Key, unknown, number?][]) m.set(keyIdOf(k), { k, v: x, t: hadTtl && t !== undefined ? t : now });
        return m;
      }
      default: {
        const raw = data === undefined ? UNDEFINED : data;
        return ttl ? { v: raw, t: hadTtl ? (payload[2] ?? now) : now } : raw;
      }
    }
  }
}
