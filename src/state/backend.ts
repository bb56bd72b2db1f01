import type { SchedulerLike } from 'rxjs';
import type { Key } from '../elements/index.js';
import { InvalidKeyError, TidewaterError, describeValue } from '../errors/index.js';
import { javaHashCode, murmurHash } from '../keys/keyGroups.js';
import { keyIdOf, type KeyId } from '../keys/keyId.js';
import { isKey } from '../keys/validate.js';
import type { OperatorSnapshot, SnapshotEntry } from '../checkpoints/snapshot.js';
import { mergeSnapshots } from '../checkpoints/snapshot.js';
import { TimerQueue, type Timer } from '../timers/queue.js';
import { decodeValue, encodeValue, UnserializableValueError } from './codec.js';
import type {
  AggregatingState,
  ListState,
  MapState,
  ReducingState,
  StateDescriptor,
  StateKind,
  TtlConfig,
  ValueState,
} from './descriptors.js';

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
        `${cause.path || '(root)'}. ` +
        'Keep state as plain data (objects, arrays, Map, Set, Date, primitives).',
      { cause },
    );
  }
}

/**
 * A snapshot that does not fit the operator it is restored into (unknown state name, other state kind, bad entry).
 *
 * @example
 * ```ts
 * harness(process({ state: { n: valueState() }, onElement() {} }), { restore: snapshotOfOtherOperator }); // throws
 * ```
 */
export class StateRestoreError extends TidewaterError {
  override name = 'StateRestoreError';
}

/** @internal a key's state and timers. */
export class KeyEntry {
  group = -1;
  enc: string | undefined = undefined;
  slots: (Cell | undefined)[] = [];
  ns: Map<string, (Cell | undefined)[]> | undefined = undefined;
  /** cells holding a value */
  live = 0;
  timers: Map<string | number, Timer<KeyEntry>> | undefined = undefined;
  timersDirty = false;
  timersPersisted = false;
  constructor(
    readonly key: Key,
    readonly id: KeyId,
  ) {}
}

/** @internal one piece of state: (key, state, namespace). */
export class Cell {
  value: unknown = undefined;
  /** last access (TTL), processing time */
  ts = 0;
  present = false;
  dirty = false;
  persisted = false;
  constructor(
    readonly entry: KeyEntry,
    readonly idx: number,
    readonly ns: string,
  ) {}
}

interface TtlItem<V> {
  v: V;
  t: number;
}
interface MapItem<MK, MV> {
  k: MK;
  v: MV;
  t: number;
}

const NOT_FOUND: unique symbol = Symbol('not found');
type Found<V> = V | typeof NOT_FOUND;

function timerKey(domain: 'event' | 'processing', ns: string, ts: number): string | number {
  if (ns === '' && domain === 'event') return ts;
  return `${domain === 'event' ? 'e' : 'p'}${ns}@${ts}`;
}

/** Options of {@link KeyedStateBackend}. */
export interface BackendOptions {
  readonly operator: string;
  readonly state: Readonly<Record<string, StateDescriptor>>;
  readonly scheduler: SchedulerLike;
  readonly maxParallelism?: number;
  /** called when a processing-time timer is registered (the operator schedules its wake-up) */
  readonly onProcessingTimer?: (timestamp: number) => void;
  /** how many keys one incremental snapshot checks for expired TTL state (default 1000) */
  readonly ttlCleanupBatch?: number;
}

/**
 * The keyed state and timers of one operator instance: state tables in `Map`s (one entry per key), a timer service
 * per time domain, TTL, and snapshot/restore grouped by key group with incremental (changed-only) snapshots.
 * `process`, windows and joins all keep their state here.
 *
 * @internal
 */
export class KeyedStateBackend {
  readonly operator: string;
  readonly names: readonly string[];
  readonly descriptors: readonly StateDescriptor[];
  readonly maxParallelism: number;
  readonly eventTimers = new TimerQueue<KeyEntry>();
  readonly processingTimers = new TimerQueue<KeyEntry>();
  /** typed handles by state name */
  readonly handles: Record<string, unknown> = {};

  private readonly keys = new Map<KeyId, KeyEntry>();
  private curKey: Key | undefined = undefined;
  private curEntry: KeyEntry | undefined = undefined;
  /** current namespace ('' = none) */
  ns = '';
  /** true once a snapshot was taken or state restored: from then on changes are tracked for incremental snapshots */
  private tracking = false;
  private dirtyCells: Cell[] = [];
  private dirtyTimerEntries: KeyEntry[] = [];
  private seq = 0;
  private readonly scheduler: SchedulerLike;
  private readonly onProcessingTimer: ((timestamp: number) => void) | undefined;
  private readonly hasTtl: boolean;
  private readonly ttlCleanupBatch: number;
  private cleanupCursor: Iterator<KeyEntry> | undefined = undefined;

  constructor(opts: BackendOptions) {
    this.operator = opts.operator;
    this.scheduler = opts.scheduler;
    this.maxParallelism = opts.maxParallelism ?? 128;
    this.onProcessingTimer = opts.onProcessingTimer;
    this.ttlCleanupBatch = opts.ttlCleanupBatch ?? 1000;
    this.names = Object.keys(opts.state);
    this.descriptors = this.names.map((n) => opts.state[n] as StateDescriptor);
    this.hasTtl = this.descriptors.some((d) => d.ttl !== undefined);
    this.names.forEach((name, i) => {
      this.handles[name] = makeHandle(this, i, this.descriptors[i] as StateDescriptor);
    });
  }

  now(): number {
    return this.scheduler.now();
  }

  // ---- current key ------------------------------------------------------------------------------------------------

  /** Sets the current key (for a record). The key's entry is looked up lazily, on first state access. */
  setCurrentKey(key: Key): void {
    this.curKey = key;
    this.curEntry = undefined;
    this.ns = '';
  }

  /** Sets the current key from an entry (for a timer). */
  setCurrentEntry(entry: KeyEntry, ns: string): void {
    this.curKey = entry.key;
    this.curEntry = entry;
    this.ns = ns;
  }

  get currentKey(): Key | undefined {
    return this.curKey;
  }

  /** Ends the work on the current key: without change tracking, an entry left empty is dropped at once. */
  endKey(): void {
    const e = this.curEntry;
    if (e !== undefined && !this.tracking && e.live === 0 && (e.timers === undefined || e.timers.size === 0)) {
      if (this.keys.get(e.id) === e) this.keys.delete(e.id);
    }
    this.curEntry = undefined;
  }

  /** The current key's entry, created if missing (for writes). */
  entry(): KeyEntry {
    let e = this.curEntry;
    if (e !== undefined) return e;
    const key = this.curKey;
    if (key === undefined) throw new Error(`${this.operator}: keyed state used outside of a keyed context`);
    const id = keyIdOf(key);
    e = this.keys.get(id);
    if (e === undefined) {
      e = new KeyEntry(key, id);
      this.keys.set(id, e);
    }
    this.curEntry = e;
    return e;
  }

  /** The current key's entry if it exists (for reads: a read never creates state). */
  private peekEntry(): KeyEntry | undefined {
    let e = this.curEntry;
    if (e !== undefined) return e;
    const key = this.curKey;
    if (key === undefined) throw new Error(`${this.operator}: keyed state used outside of a keyed context`);
    e = this.keys.get(keyIdOf(key));
    if (e !== undefined) this.curEntry = e;
    return e;
  }

  // ---- cells ------------------------------------------------------------------------------------------------------

  readCell(idx: number): Cell | undefined {
    const e = this.peekEntry();
    if (e === undefined) return undefined;
    if (this.ns === '') return e.slots[idx];
    return e.ns?.get(this.ns)?.[idx];
  }

  writeCell(idx: number): Cell {
    const e = this.entry();
    let arr: (Cell | undefined)[];
    if (this.ns === '') arr = e.slots;
    else {
      const m = (e.ns ??= new Map());
      let a = m.get(this.ns);
      if (a === undefined) {
        a = [];
        m.set(this.ns, a);
      }
      arr = a;
    }
    let c = arr[idx];
    if (c === undefined) {
      c = new Cell(e, idx, this.ns);
      arr[idx] = c;
    }
    return c;
  }

  markDirty(c: Cell): void {
    if (this.tracking && !c.dirty) {
      c.dirty = true;
      this.dirtyCells.push(c);
    }
  }

  setPresent(c: Cell): void {
    if (!c.present) {
      c.present = true;
      c.entry.live++;
    }
    this.markDirty(c);
  }

  clearCell(c: Cell): void {
    if (c.present) {
      c.present = false;
      c.entry.live--;
    }
    c.value = undefined;
    if (this.tracking) this.markDirty(c);
    else this.dropCell(c);
  }

  private dropCell(c: Cell): void {
    const e = c.entry;
    if (c.ns === '') {
      if (e.slots[c.idx] === c) e.slots[c.idx] = undefined;
      return;
    }
    const arr = e.ns?.get(c.ns);
    if (arr === undefined || arr[c.idx] !== c) return;
    arr[c.idx] = undefined;
    if (arr.every((x) => x === undefined)) e.ns?.delete(c.ns);
  }

  /** Value-like read with TTL rules: expired → cleared; returned only with return-expired visibility (and not forWrite). */
  readValue(idx: number, ttl: Required<TtlConfig> | undefined, forWrite: boolean): Found<unknown> {
    const c = this.readCell(idx);
    if (c === undefined || !c.present) return NOT_FOUND;
    if (ttl !== undefined) {
      const now = this.now();
      if (c.ts + ttl.ms <= now) {
        const v = c.value;
        this.clearCell(c);
        return !forWrite && ttl.visibility === 'return-expired-if-not-cleaned-up' ? v : NOT_FOUND;
      }
      if (!forWrite && ttl.update === 'on-read-and-write') {
        c.ts = now;
        this.markDirty(c);
      }
    }
    return c.value;
  }

  writeValue(idx: number, ttl: Required<TtlConfig> | undefined, v: unknown): void {
    const c = this.writeCell(idx);
    c.value = v;
    if (ttl !== undefined) c.ts = this.now();
    this.setPresent(c);
  }

  clearState(idx: number): void {
    const c = this.readCell(idx);
    if (c !== undefined && c.present) this.clearCell(c);
  }

  // ---- timers -----------------------------------------------------------------------------------------------------

  registerTimer(domain: 'event' | 'processing', timestamp: number, entry: KeyEntry = this.entry(), ns: string = this.ns): void {
    const tk = timerKey(domain, ns, timestamp);
    const m = (entry.timers ??= new Map());
    if (m.has(tk)) return;
    const t: Timer<KeyEntry> = { timestamp, seq: this.seq++, entry, ns, domain, live: true };
    m.set(tk, t);
    (domain === 'event' ? this.eventTimers : this.processingTimers).push(t);
    this.markTimersDirty(entry);
    if (domain === 'processing') this.onProcessingTimer?.(timestamp);
  }

  deleteTimer(domain: 'event' | 'processing', timestamp: number, ns: string = this.ns): void {
    const entry = this.peekEntry();
    const t = entry?.timers?.get(timerKey(domain, ns, timestamp));
    if (entry === undefined || t === undefined) return;
    entry.timers?.delete(timerKey(domain, ns, timestamp));
    (domain === 'event' ? this.eventTimers : this.processingTimers).kill(t);
    this.markTimersDirty(entry);
  }

  /** Pops the next timer of a domain with timestamp <= limit (ascending timestamp, then registration order). */
  popTimer(domain: 'event' | 'processing', limit: number): Timer<KeyEntry> | undefined {
    const t = (domain === 'event' ? this.eventTimers : this.processingTimers).popUpTo(limit);
    if (t === undefined) return undefined;
    t.live = false;
    t.entry.timers?.delete(timerKey(domain, t.ns, t.timestamp));
    this.markTimersDirty(t.entry);
    return t;
  }

  private markTimersDirty(e: KeyEntry): void {
    if (this.tracking && !e.timersDirty) {
      e.timersDirty = true;
      this.dirtyTimerEntries.push(e);
    }
  }

  // ---- inspection -------------------------------------------------------------------------------------------------

  /** Number of keys with state or timers. */
  get keyCount(): number {
    return this.keys.size;
  }

  /** Number of state cells holding a value. */
  get entryCount(): number {
    let n = 0;
    for (const e of this.keys.values()) n += e.live;
    return n;
  }

  /** Keys with state or timers. */
  allKeys(): Key[] {
    const out: Key[] = [];
    for (const e of this.keys.values()) if (e.live > 0 || (e.timers?.size ?? 0) > 0) out.push(e.key);
    return out;
  }

  /**
   * The physically present value of a state for a key, without TTL side effects: value-like → the value
   * (aggregating → the result), list → array, map → `Map` (keys as given). `undefined` when absent.
   */
  peekState(key: Key, name: string, ns = ''): unknown {
    const idx = this.names.indexOf(name);
    if (idx < 0) throw new StateRestoreError(this.operator, name, `${this.operator}: no state named '${name}' (states: ${this.names.join(', ') || 'none'})`);
    const e = this.keys.get(keyIdOf(key));
    const c = ns === '' ? e?.slots[idx] : e?.ns?.get(ns)?.[idx];
    if (c === undefined || !c.present) return undefined;
    const d = this.descriptors[idx] as StateDescriptor;
    switch (d.kind) {
      case 'list':
        return d.ttl ? (c.value as TtlItem<unknown>[]).map((x) => x.v) : [...(c.value as unknown[])];
      case 'map':
        return new Map([...(c.value as Map<KeyId, MapItem<Key, unknown>>).values()].map((x) => [x.k, x.v]));
      case 'aggregating':
        return d.aggregator.result(c.value);
      default:
        return c.value;
    }
  }

  /** Timers of a key: `[domain, timestamp, namespace]`, in firing order. */
  timersOf(key: Key): [domain: 'event' | 'processing', timestamp: number, ns: string][] {
    const e = this.keys.get(keyIdOf(key));
    if (e?.timers === undefined) return [];
    return [...e.timers.values()]
      .sort((a, b) => (a.domain === b.domain ? a.timestamp - b.timestamp || a.seq - b.seq : a.domain === 'event' ? -1 : 1))
      .map((t) => [t.domain, t.timestamp, t.ns]);
  }

  // ---- snapshot / restore -----------------------------------------------------------------------------------------

  private groupOf(e: KeyEntry): number {
    if (e.group < 0) e.group = murmurHash(javaHashCode(e.key)) % this.maxParallelism;
    return e.group;
  }

  private keyEnc(e: KeyEntry): string {
    return (e.enc ??= encodeValue(e.key));
  }

  private encodeCell(c: Cell): SnapshotEntry {
    const d = this.descriptors[c.idx] as StateDescriptor;
    const name = this.names[c.idx] as string;
    const ttl = d.ttl !== undefined;
    let payload: unknown;
    switch (d.kind) {
      case 'list':
        payload = ttl ? [1, (c.value as TtlItem<unknown>[]).map((x) => [x.v, x.t])] : [0, c.value];
        break;
      case 'map':
        payload = [ttl ? 1 : 0, [...(c.value as Map<KeyId, MapItem<Key, unknown>>).values()].map((x) => (ttl ? [x.k, x.v, x.t] : [x.k, x.v]))];
        break;
      default:
        payload = ttl ? [1, c.value, c.ts] : [0, c.value];
    }
    let value: string;
    try {
      value = encodeValue(payload);
    } catch (err) {
      if (err instanceof UnserializableValueError) {
        // report the path inside the user's value, not inside the stored payload
        const path = userPath(d.kind, ttl, err.path);
        throw new StateSerializationError(this.operator, c.entry.key, name, c.value, new UnserializableValueError(path, err.offending, err.reason));
      }
      throw err;
    }
    return { keyGroup: this.groupOf(c.entry), path: JSON.stringify(['s', name, d.kind, c.ns, this.keyEnc(c.entry)]), value };
  }

  private deletedCell(c: Cell): SnapshotEntry {
    const d = this.descriptors[c.idx] as StateDescriptor;
    return {
      keyGroup: this.groupOf(c.entry),
      path: JSON.stringify(['s', this.names[c.idx], d.kind, c.ns, this.keyEnc(c.entry)]),
      value: undefined,
    };
  }

  private timersEntry(e: KeyEntry): SnapshotEntry {
    const path = JSON.stringify(['t', this.keyEnc(e)]);
    const timers = e.timers === undefined ? [] : [...e.timers.values()];
    if (timers.length === 0) return { keyGroup: this.groupOf(e), path, value: undefined };
    return {
      keyGroup: this.groupOf(e),
      path,
      value: encodeValue(timers.map((t) => [t.domain === 'event' ? 0 : 1, t.ns, t.timestamp, t.seq])),
    };
  }

  private forEachCell(e: KeyEntry, fn: (c: Cell) => void): void {
    for (const c of e.slots) if (c !== undefined) fn(c);
    if (e.ns !== undefined) for (const arr of [...e.ns.values()]) for (const c of arr) if (c !== undefined) fn(c);
  }

  /** Drops expired TTL data of a cell (whole value, or list elements / map entries); marks it dirty when changed. */
  private expire(c: Cell, now: number): void {
    if (!c.present) return;
    const ttl = (this.descriptors[c.idx] as StateDescriptor).ttl;
    if (ttl === undefined) return;
    const d = this.descriptors[c.idx] as StateDescriptor;
    if (d.kind === 'list') {
      const items = c.value as TtlItem<unknown>[];
      const alive = items.filter((x) => x.t + ttl.ms > now);
      if (alive.length === items.length) return;
      if (alive.length === 0) this.clearCell(c);
      else {
        c.value = alive;
        this.markDirty(c);
      }
    } else if (d.kind === 'map') {
      const m = c.value as Map<KeyId, MapItem<Key, unknown>>;
      let changed = false;
      for (const [id, x] of m) {
        if (x.t + ttl.ms <= now) {
          m.delete(id);
          changed = true;
        }
      }
      if (!changed) return;
      if (m.size === 0) this.clearCell(c);
      else this.markDirty(c);
    } else if (c.ts + ttl.ms <= now) {
      this.clearCell(c);
    }
  }

  private sweep(e: KeyEntry): void {
    if (e.live === 0 && (e.timers === undefined || e.timers.size === 0) && this.keys.get(e.id) === e) this.keys.delete(e.id);
  }

  /**
   * Snapshot of all keyed state and timers, grouped by key group. The first snapshot (or `full: true`) has every
   * entry; later ones only what changed or was deleted since the previous snapshot. Expired TTL state is cleaned up
   * and left out (fully in a full snapshot; in an incremental one, the changed entries plus a rotating batch of keys).
   */
  snapshot(full = false): OperatorSnapshot {
    const now = this.hasTtl ? this.now() : 0;
    const out: SnapshotEntry[] = [];
    if (full || !this.tracking) {
      const all = [...this.keys.values()];
      if (this.hasTtl) for (const e of all) this.forEachCell(e, (c) => this.expire(c, now));
      // encode first: a value that cannot be serialized throws before any bookkeeping changes
      for (const e of all) {
        this.forEachCell(e, (c) => {
          if (c.present) out.push(this.encodeCell(c));
        });
        if ((e.timers?.size ?? 0) > 0) out.push(this.timersEntry(e));
      }
      this.tracking = true;
      for (const e of all) {
        this.forEachCell(e, (c) => {
          c.dirty = false;
          c.persisted = c.present;
          if (!c.present) this.dropCell(c);
        });
        e.timersDirty = false;
        e.timersPersisted = (e.timers?.size ?? 0) > 0;
        this.sweep(e);
      }
      this.dirtyCells = [];
      this.dirtyTimerEntries = [];
      return { operator: this.operator, full: true, maxParallelism: this.maxParallelism, entries: out };
    }

    if (this.hasTtl) {
      this.incrementalTtlCleanup(now);
      for (const c of this.dirtyCells) this.expire(c, now);
    }
    const cells = this.dirtyCells;
    const timerEntries = this.dirtyTimerEntries;
    for (const c of cells) {
      if (c.present) out.push(this.encodeCell(c));
      else if (c.persisted) out.push(this.deletedCell(c));
    }
    for (const e of timerEntries) {
      if ((e.timers?.size ?? 0) > 0 || e.timersPersisted) out.push(this.timersEntry(e));
    }
    // commit
    this.dirtyCells = [];
    this.dirtyTimerEntries = [];
    for (const c of cells) {
      c.dirty = false;
      c.persisted = c.present;
      if (!c.present) this.dropCell(c);
    }
    for (const e of timerEntries) {
      e.timersDirty = false;
      e.timersPersisted = (e.timers?.size ?? 0) > 0;
    }
    for (const c of cells) this.sweep(c.entry);
    for (const e of timerEntries) this.sweep(e);
    return { operator: this.operator, full: false, maxParallelism: this.maxParallelism, entries: out };
  }

  private incrementalTtlCleanup(now: number): void {
    let budget = Math.min(this.ttlCleanupBatch, this.keys.size);
    while (budget-- > 0) {
      let r = this.cleanupCursor?.next();
      if (r === undefined || r.done === true) {
        this.cleanupCursor = this.keys.values();
        r = this.cleanupCursor.next();
        if (r.done === true) return;
      }
      const e = r.value;
      this.forEachCell(e, (c) => this.expire(c, now));
    }
  }

  /**
   * Restores state and timers from a full snapshot, or a full snapshot followed by deltas. Only key groups accepted
   * by `keyGroups` are taken (default: all). Must be called on a fresh backend.
   */
  restore(snapshots: OperatorSnapshot | readonly OperatorSnapshot[], keyGroups?: (group: number) => boolean): void {
    const list = Array.isArray(snapshots) ? (snapshots as readonly OperatorSnapshot[]) : [snapshots as OperatorSnapshot];
    if (list.length === 0) return;
    const merged = list.length === 1 ? (list[0] as OperatorSnapshot) : mergeSnapshots(list);
    if (!merged.full) {
      throw new StateRestoreError(this.operator, merged.operator, `${this.operator}: cannot restore from an incremental snapshot alone; give the full snapshot and the deltas after it, in order.`);
    }
    if (merged.maxParallelism !== this.maxParallelism) {
      throw new StateRestoreError(
        this.operator,
        merged.maxParallelism,
        `${this.operator}: snapshot has maxParallelism ${merged.maxParallelism}, operator has ${this.maxParallelism}; key groups cannot be remapped (keep maxParallelism fixed for the lifetime of the state).`,
      );
    }
    const now = this.now();
    const pendingTimers: { entry: KeyEntry; domain: 'event' | 'processing'; ns: string; ts: number; seq: number }[] = [];
    this.tracking = true;
    for (const se of merged.entries) {
      if (se.value === undefined) continue;
      if (keyGroups !== undefined && !keyGroups(se.keyGroup)) continue;
      let path: unknown;
      try {
        path = JSON.parse(se.path);
      } catch {
        throw new StateRestoreError(this.operator, se.path, `${this.operator}: corrupt snapshot entry path ${describeValue(se.path)}`);
      }
      if (!Array.isArray(path)) throw new StateRestoreError(this.operator, se.path, `${this.operator}: corrupt snapshot entry path ${describeValue(se.path)}`);
      const kind = path[0];
      const keyEnc = (kind === 't' ? path[1] : path[4]) as string;
      const key = decodeValue(keyEnc);
      if (!isKey(key)) throw new InvalidKeyError(this.operator, key, se.path);
      const id = keyIdOf(key);
      let e = this.keys.get(id);
      if (e === undefined) {
        e = new KeyEntry(key, id);
        e.enc = keyEnc;
        e.group = se.keyGroup;
        this.keys.set(id, e);
      }
      const payload = decodeValue(se.value);
      if (kind === 't') {
        for (const [d, ns, ts, seq] of payload as [0 | 1, string, number, number][]) {
          pendingTimers.push({ entry: e, domain: d === 0 ? 'event' : 'processing', ns, ts, seq });
        }
        continue;
      }
      const [, name, stateKind, ns] = path as [string, string, StateKind, string];
      const idx = this.names.indexOf(name);
      if (idx < 0) {
        throw new StateRestoreError(
          this.operator,
          name,
          `${this.operator}: the snapshot has state '${name}' that this operator does not declare (declared: ${this.names.join(', ') || 'none'}). Declare it, or restore into the operator it came from.`,
        );
      }
      const d = this.descriptors[idx] as StateDescriptor;
      if (d.kind !== stateKind) {
        throw new StateRestoreError(this.operator, name, `${this.operator}: state '${name}' is a ${d.kind} state here but a ${stateKind} state in the snapshot.`);
      }
      this.ns = ns;
      this.curEntry = e;
      const c = this.writeCell(idx);
      this.fillCell(c, d, payload as [0 | 1, unknown, number?], now);
      c.present = true;
      c.persisted = true;
      e.live++;
    }
    pendingTimers.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    for (const t of pendingTimers) {
      this.registerTimer(t.domain, t.ts, t.entry, t.ns);
      t.entry.timersPersisted = true;
    }
    for (const t of pendingTimers) t.entry.timersDirty = false;
    this.dirtyTimerEntries = [];
    this.dirtyCells = [];
    this.curEntry = undefined;
    this.curKey = undefined;
    this.ns = '';
  }

  private fillCell(c: Cell, d: StateDescriptor, payload: [0 | 1, unknown, number?], now: number): void {
    const [hadTtl, data] = payload;
    const ttl = d.ttl !== undefined;
    switch (d.kind) {
      case 'list': {
        const items = data as unknown[];
        if (ttl) c.value = hadTtl ? (items as [unknown, number][]).map(([v, t]) => ({ v, t })) : items.map((v) => ({ v, t: now }));
        else c.value = hadTtl ? (items as [unknown, number][]).map(([v]) => v) : items;
        break;
      }
      case 'map': {
        const m = new Map<KeyId, MapItem<Key, unknown>>();
        for (const row of data as [Key, unknown, number?][]) {
          const [k, v, t] = row;
          m.set(keyIdOf(k), { k, v, t: hadTtl && t !== undefined ? t : now });
        }
        c.value = m;
        break;
      }
      default:
        c.value = data;
        c.ts = hadTtl ? (payload[2] ?? now) : now;
    }
  }
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

// ---- handles --------------------------------------------------------------------------------------------------------

function makeHandle(b: KeyedStateBackend, idx: number, d: StateDescriptor): unknown {
  switch (d.kind) {
    case 'value':
      return new ValueHandle(b, idx, d.ttl);
    case 'list':
      return new ListHandle(b, idx, d.ttl);
    case 'map':
      return new MapHandle(b, idx, d.ttl);
    case 'reducing':
      return new ReducingHandle(b, idx, d.ttl, (a, v) => d.reduce(a, v));
    case 'aggregating':
      return new AggregatingHandle(b, idx, d.ttl, d.aggregator);
  }
}

class ValueHandle<T> implements ValueState<T> {
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly idx: number,
    private readonly ttl: Required<TtlConfig> | undefined,
  ) {}
  get(): T | undefined {
    if (this.ttl === undefined) {
      const c = this.b.readCell(this.idx);
      return c === undefined || !c.present ? undefined : (c.value as T);
    }
    const v = this.b.readValue(this.idx, this.ttl, false);
    return v === NOT_FOUND ? undefined : (v as T);
  }
  set(value: T): void {
    if (this.ttl === undefined) {
      const c = this.b.writeCell(this.idx);
      c.value = value;
      this.b.setPresent(c);
      return;
    }
    this.b.writeValue(this.idx, this.ttl, value);
  }
  clear(): void {
    this.b.clearState(this.idx);
  }
}

class ReducingHandle<T> implements ReducingState<T> {
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly idx: number,
    private readonly ttl: Required<TtlConfig> | undefined,
    private readonly reduce: (acc: T, v: T) => T,
  ) {}
  get(): T | undefined {
    const v = this.b.readValue(this.idx, this.ttl, false);
    return v === NOT_FOUND ? undefined : (v as T);
  }
  add(value: T): void {
    const cur = this.b.readValue(this.idx, this.ttl, true);
    this.b.writeValue(this.idx, this.ttl, cur === NOT_FOUND ? value : this.reduce(cur as T, value));
  }
  clear(): void {
    this.b.clearState(this.idx);
  }
}

class AggregatingHandle<T, A, R> implements AggregatingState<T, R> {
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly idx: number,
    private readonly ttl: Required<TtlConfig> | undefined,
    private readonly agg: { create(): A; add(acc: A, v: T): A; result(acc: A): R },
  ) {}
  get(): R | undefined {
    const v = this.b.readValue(this.idx, this.ttl, false);
    return v === NOT_FOUND ? undefined : this.agg.result(v as A);
  }
  add(value: T): void {
    const cur = this.b.readValue(this.idx, this.ttl, true);
    this.b.writeValue(this.idx, this.ttl, this.agg.add(cur === NOT_FOUND ? this.agg.create() : (cur as A), value));
  }
  clear(): void {
    this.b.clearState(this.idx);
  }
}

class ListHandle<T> implements ListState<T> {
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly idx: number,
    private readonly ttl: Required<TtlConfig> | undefined,
  ) {}
  get(): T[] {
    const c = this.b.readCell(this.idx);
    if (c === undefined || !c.present) return [];
    const ttl = this.ttl;
    if (ttl === undefined) return [...(c.value as T[])];
    const now = this.b.now();
    const items = c.value as TtlItem<T>[];
    const alive = items.filter((x) => x.t + ttl.ms > now);
    const result = (ttl.visibility === 'return-expired-if-not-cleaned-up' ? items : alive).map((x) => x.v);
    if (alive.length !== items.length) {
      if (alive.length === 0) this.b.clearCell(c);
      else {
        c.value = alive;
        this.b.markDirty(c);
      }
    }
    if (ttl.update === 'on-read-and-write' && alive.length > 0) {
      for (const x of alive) x.t = now;
      this.b.markDirty(c);
    }
    return result;
  }
  add(value: T): void {
    this.addAll([value]);
  }
  addAll(values: Iterable<T>): void {
    const c = this.b.writeCell(this.idx);
    const ttl = this.ttl;
    if (!c.present) c.value = [];
    const arr = c.value as unknown[];
    const before = arr.length;
    if (ttl === undefined) for (const v of values) arr.push(v);
    else {
      const t = this.b.now();
      for (const v of values) arr.push({ v, t });
    }
    if (arr.length === 0) {
      if (c.present) this.b.clearCell(c);
      else if (before === 0) this.b.clearCell(c);
      return;
    }
    this.b.setPresent(c);
  }
  set(values: Iterable<T>): void {
    this.b.clearState(this.idx);
    this.addAll(values);
  }
  clear(): void {
    this.b.clearState(this.idx);
  }
}

class MapHandle<MK extends Key, MV> implements MapState<MK, MV> {
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly idx: number,
    private readonly ttl: Required<TtlConfig> | undefined,
  ) {}

  private map(): { c: Cell; m: Map<KeyId, MapItem<MK, MV>> } | undefined {
    const c = this.b.readCell(this.idx);
    if (c === undefined || !c.present) return undefined;
    return { c, m: c.value as Map<KeyId, MapItem<MK, MV>> };
  }

  private id(key: MK): KeyId {
    if (!isKey(key)) throw new InvalidKeyError(`${this.b.operator} (mapState '${this.b.names[this.idx] ?? ''}')`, key, key);
    return keyIdOf(key);
  }

  /** Looks an entry up with TTL rules; returns the item, or undefined. */
  private lookup(key: MK, forRead: boolean): MapItem<MK, MV> | undefined {
    const s = this.map();
    if (s === undefined) return undefined;
    const id = this.id(key);
    const item = s.m.get(id);
    if (item === undefined) return undefined;
    const ttl = this.ttl;
    if (ttl === undefined) return item;
    const now = this.b.now();
    if (item.t + ttl.ms <= now) {
      s.m.delete(id);
      if (s.m.size === 0) this.b.clearCell(s.c);
      else this.b.markDirty(s.c);
      return forRead && ttl.visibility === 'return-expired-if-not-cleaned-up' ? item : undefined;
    }
    if (forRead && ttl.update === 'on-read-and-write') {
      item.t = now;
      this.b.markDirty(s.c);
    }
    return item;
  }

  /** All unexpired items (expired ones are removed; returned too with return-expired visibility). */
  private items(): MapItem<MK, MV>[] {
    const s = this.map();
    if (s === undefined) return [];
    const ttl = this.ttl;
    if (ttl === undefined) return [...s.m.values()];
    const now = this.b.now();
    const out: MapItem<MK, MV>[] = [];
    let changed = false;
    for (const [id, item] of s.m) {
      if (item.t + ttl.ms <= now) {
        s.m.delete(id);
        changed = true;
        if (ttl.visibility === 'return-expired-if-not-cleaned-up') out.push(item);
      } else {
        if (ttl.update === 'on-read-and-write') {
          item.t = now;
          changed = true;
        }
        out.push(item);
      }
    }
    if (changed) {
      if (s.m.size === 0) this.b.clearCell(s.c);
      else this.b.markDirty(s.c);
    }
    return out;
  }

  get(key: MK): MV | undefined {
    return this.lookup(key, true)?.v;
  }
  set(key: MK, value: MV): void {
    const id = this.id(key);
    const c = this.b.writeCell(this.idx);
    if (!c.present) c.value = new Map<KeyId, MapItem<MK, MV>>();
    (c.value as Map<KeyId, MapItem<MK, MV>>).set(id, { k: key, v: value, t: this.ttl === undefined ? 0 : this.b.now() });
    this.b.setPresent(c);
  }
  has(key: MK): boolean {
    return this.lookup(key, true) !== undefined;
  }
  delete(key: MK): boolean {
    const existed = this.lookup(key, false) !== undefined;
    const s = this.map();
    if (s === undefined) return existed;
    if (s.m.delete(this.id(key))) {
      if (s.m.size === 0) this.b.clearCell(s.c);
      else this.b.markDirty(s.c);
    }
    return existed;
  }
  entries(): [MK, MV][] {
    return this.items().map((x) => [x.k, x.v]);
  }
  keys(): MK[] {
    return this.items().map((x) => x.k);
  }
  values(): MV[] {
    return this.items().map((x) => x.v);
  }
  get size(): number {
    return this.items().length;
  }
  clear(): void {
    this.b.clearState(this.idx);
  }
}
