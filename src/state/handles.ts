import type { Key } from '../elements/index.js';
import { InvalidKeyError } from '../errors/index.js';
import { keyIdOf, type KeyId } from '../keys/keyId.js';
import { isKey } from '../keys/validate.js';
import type { KeyedStateBackend } from './backend.js';
import { MAP_INSERT, MAP_UPDATE } from './tracking.js';
import type {
  AggregatingState,
  Aggregator,
  ListState,
  MapState,
  StateDescriptor,
  TtlConfig,
  ValueState,
} from './descriptors.js';

/** Stands for a stored `undefined` (an accumulator may be undefined; a stored value never is). @internal */
export const UNDEFINED: unique symbol = Symbol('undefined');

/** A value-like state with TTL: the value and its last-access time. @internal */
export interface TtlBox {
  v: unknown;
  t: number;
}
/** A map state's key as it is kept and handed out: an array key (of primitives) copied, anything else itself. */
function copyOfKey<K>(key: K): K {
  return Array.isArray(key) ? (key.slice() as K) : key;
}

/**
 * Makes `items` hold exactly `kept` (a subsequence of it), in place: the stored list keeps its identity. Element by
 * element — `push(...kept)` would pass every element as an argument, which overflows the stack past ≈ 10⁵ of them
 * (after the list was emptied). @internal
 *
 * @example
 * ```ts
 * const items = [1, 2, 3];
 * keepOnly(items, [1, 3]); // items is [1, 3]
 * ```
 */
export function keepOnly<T>(items: T[], kept: readonly T[]): void {
  for (let n = 0; n < kept.length; n++) items[n] = kept[n] as T;
  items.length = kept.length;
}

/** A list element with its TTL timestamp. @internal */
export interface TtlItem<V> {
  v: V;
  t: number;
}
/** A map-state entry: the key as given, the value, its TTL timestamp. @internal */
export interface MapItem<MK, MV> {
  k: MK;
  v: MV;
  t: number;
}

type Ttl = Required<TtlConfig>;
const NONE: unique symbol = Symbol('none');

/** @internal the handle object of a state descriptor, bound to a backend (scoped to its current key and namespace). */
export function makeHandle(b: KeyedStateBackend, idx: number, d: StateDescriptor): unknown {
  switch (d.kind) {
    case 'value':
      return d.ttl === undefined ? new ValueHandle(b, idx) : new TtlValueHandle(b, idx, d.ttl);
    case 'list':
      return new ListHandle(b, idx, d.ttl);
    case 'map':
      return new MapHandle(b, idx, d.ttl, `${b.operator} (mapState '${b.names[idx] ?? ''}')`);
    case 'reducing':
      // a reducing state is an aggregating one whose accumulator starts as "nothing yet"
      return new AggregatingHandle(b, idx, d.ttl, {
        create: () => NONE,
        add: (acc: unknown, v: unknown) => (acc === NONE ? v : d.reduce(acc, v)),
        result: (acc: unknown) => acc,
      });
    case 'aggregating':
      return new AggregatingHandle(b, idx, d.ttl, d.aggregator);
  }
}

/**
 * Value-like read (docs/SEMANTICS.md §6.2): absent → NONE; with TTL, expired → removed, then returned only with
 * return-expired visibility (for a write too: an add folds into it); alive → refreshed with on-read-and-write (not
 * when reading for a write, which stamps the value anew).
 */
function readValue(b: KeyedStateBackend, idx: number, ttl: Ttl | undefined, forWrite: boolean): unknown {
  const v = b.get(idx);
  if (v === undefined) return NONE;
  if (ttl === undefined) return v === UNDEFINED ? undefined : v;
  const box = v as TtlBox;
  const now = b.now();
  const value = box.v === UNDEFINED ? undefined : box.v;
  if (box.t + ttl.ms <= now) {
    b.remove(idx);
    // (an add folds into it too, as Flink's TtlReduceFunction / TtlAggregateFunction read through getUnexpired)
    return ttl.visibility === 'return-expired-if-not-cleaned-up' ? value : NONE;
  }
  if (!forWrite && ttl.update === 'on-read-and-write') {
    b.touch(idx);
    box.t = now;
  }
  return value;
}

function writeValue(b: KeyedStateBackend, idx: number, ttl: Ttl | undefined, v: unknown): void {
  const raw = v === undefined ? UNDEFINED : v;
  if (ttl === undefined) {
    b.put(idx, raw);
    return;
  }
  const now = b.now();
  // an expired value is gone, whether a cleanup removed it yet or not: written again, it is a new entry, at the end of
  // its column (the order keys are visited in does not depend on when cleanups ran — nor, then, on where a job was
  // restored)
  const old = b.get(idx) as TtlBox | undefined;
  if (old !== undefined && old.t + ttl.ms <= now) b.remove(idx);
  b.put(idx, { v: raw, t: now });
  b.wroteTtl();
}

/**
 * The keys of a TTL'd map's entries expired at `now` before its first live entry, and whether it has one (the look
 * stops there). @internal
 *
 * @example
 * ```ts
 * expiredFront(new Map([[1, { k: 1, v: 'a', t: 0 }], [2, { k: 2, v: 'b', t: 90 }]]), 100, 150); // { gone: [1], live: true }
 * ```
 */
export function expiredFront(m: ReadonlyMap<KeyId, MapItem<unknown, unknown>>, ttlMs: number, now: number): { gone: KeyId[]; live: boolean } {
  const gone: KeyId[] = [];
  for (const [k, x] of m) {
    if (x.t + ttlMs > now) return { gone, live: true };
    gone.push(k);
  }
  return { gone, live: false };
}

/** Whether every item of a TTL'd list has expired (its newest first: items are stamped in order, but for a restore). */
function allExpired(items: readonly TtlItem<unknown>[], ttl: Ttl, now: number): boolean {
  const last = items[items.length - 1];
  if (last === undefined || last.t + ttl.ms > now) return false;
  for (const x of items) if (x.t + ttl.ms > now) return false;
  return true;
}

class ValueHandle<T> implements ValueState<T> {
  /** the column of the default namespace: the per-record fast path reads and writes it directly */
  private readonly col: Map<KeyId, unknown>;
  /**
   * The value of the number key read last here, while the backend's `writes` is still `cachedAt`: records of one key
   * often come in runs (a key per window, a few devices), and a run then looks the column up once. Number keys only:
   * two different strings of one length are told apart by their characters, which costs about what the lookup saves.
   * (NaN, the id before any read, is no key's id and equals none.)
   */
  private cachedId = NaN;
  private cachedValue: unknown = undefined;
  private cachedAt = 0;
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly idx: number,
  ) {
    this.col = b.cols[idx] as Map<KeyId, unknown>;
  }
  get(): T | undefined {
    // the cached value here, the rest in `read`: small enough for TurboFan to inline into a record's path along with
    // the operators before it, the lookup a call only where keys change
    const b = this.b;
    const id = b.id;
    if (typeof id === 'number' && id === this.cachedId && b.writes === this.cachedAt && b.ns === '') return this.cachedValue as T | undefined;
    return this.read(b, id);
  }
  private read(b: KeyedStateBackend, id: KeyId): T | undefined {
    if (b.ns !== '') return b.get(this.idx) as T | undefined;
    const v = this.col.get(id);
    if (typeof id === 'number') {
      this.cachedId = id;
      this.cachedValue = v;
      this.cachedAt = b.writes;
    }
    return v as T | undefined;
  }
  /** `set(undefined)` clears, as Flink's `update(null)`. */
  set(value: T): void {
    const b = this.b;
    // the per-record case inline, the rest in setOther: small enough for TurboFan to inline into a record's path
    if (b.ns === '' && !b.tracking && value !== undefined) {
      const id = b.id;
      this.col.set(id, value);
      // (a write to another key leaves the cached one as it is)
      if (typeof id === 'number' && id === this.cachedId) this.cachedValue = value;
    } else this.setOther(value);
  }
  private setOther(value: T): void {
    // (the backend's write below moves its `writes` too: this also lets go of the cached value)
    this.cachedValue = undefined;
    this.cachedId = NaN;
    if (value === undefined) this.b.remove(this.idx);
    else this.b.put(this.idx, value);
  }
  clear(): void {
    this.cachedValue = undefined;
    this.cachedId = NaN;
    this.b.remove(this.idx);
  }
}

class TtlValueHandle<T> implements ValueState<T> {
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly idx: number,
    private readonly ttl: Ttl,
  ) {}
  get(): T | undefined {
    const v = readValue(this.b, this.idx, this.ttl, false);
    return v === NONE ? undefined : (v as T);
  }
  set(value: T): void {
    if (value === undefined) this.b.remove(this.idx);
    else writeValue(this.b, this.idx, this.ttl, value);
  }
  clear(): void {
    this.b.remove(this.idx);
  }
}

class AggregatingHandle<T, A, R> implements AggregatingState<T, R> {
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly idx: number,
    private readonly ttl: Ttl | undefined,
    private readonly agg: Aggregator<T, A, R>,
  ) {}
  get(): R | undefined {
    const v = readValue(this.b, this.idx, this.ttl, false);
    return v === NONE ? undefined : this.agg.result(v as A);
  }
  add(value: T): void {
    const cur = readValue(this.b, this.idx, this.ttl, true);
    writeValue(this.b, this.idx, this.ttl, this.agg.add(cur === NONE ? this.agg.create() : (cur as A), value));
  }
  clear(): void {
    this.b.remove(this.idx);
  }
}

class ListHandle<T> implements ListState<T> {
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly idx: number,
    private readonly ttl: Ttl | undefined,
  ) {}
  get(): T[] {
    const v = this.b.get(this.idx);
    if (v === undefined) return [];
    const ttl = this.ttl;
    if (ttl === undefined) return [...(v as T[])];
    const now = this.b.now();
    const items = v as TtlItem<T>[];
    const alive = items.filter((x) => x.t + ttl.ms > now);
    const result = (ttl.visibility === 'return-expired-if-not-cleaned-up' ? items : alive).map((x) => x.v);
    if (alive.length === 0) this.b.remove(this.idx);
    else if (ttl.update !== 'on-read-and-write' && alive[0] === items[items.length - alive.length]) {
      // (only its front expired, the usual case: a delta drops that many items, see ChangeTracker.markDropFront)
      this.b.dropListFrontAt(this.idx, this.b.id, this.b.ns, items, items.length - alive.length);
    } else {
      this.b.touch(this.idx);
      if (ttl.update === 'on-read-and-write') for (const x of alive) x.t = now;
      if (alive.length !== items.length) keepOnly(items, alive);
    }
    return result;
  }
  add(value: T): void {
    const b = this.b;
    const ttl = this.ttl;
    const item = ttl === undefined ? value : { v: value, t: b.now() };
    const cur = this.current();
    if (cur === undefined) b.put(this.idx, [item]);
    else {
      b.appendTo(this.idx, cur.length);
      cur.push(item);
    }
    if (ttl !== undefined) b.wroteTtl();
  }
  addAll(values: Iterable<T>): void {
    const b = this.b;
    const fresh = this.itemsOf(values);
    if (fresh.length === 0) return;
    const cur = this.current();
    if (cur === undefined) b.put(this.idx, fresh);
    else {
      b.appendTo(this.idx, cur.length);
      for (const x of fresh) cur.push(x);
    }
    if (this.ttl !== undefined) b.wroteTtl();
  }
  /**
   * The stored list to add to; with TTL, none when every item expired (removed first: added to again, it is a new
   * entry, at the end of its column, as `writeValue` does for a value).
   */
  private current(): unknown[] | undefined {
    const b = this.b;
    const cur = b.get(this.idx) as unknown[] | undefined;
    const ttl = this.ttl;
    if (cur === undefined || ttl === undefined || !allExpired(cur as TtlItem<unknown>[], ttl, b.now())) return cur;
    b.remove(this.idx);
    return undefined;
  }
  /** The items to store for `values` (with TTL, each stamped now). */
  private itemsOf(values: Iterable<T>): unknown[] {
    const items: unknown[] = [];
    if (this.ttl === undefined) for (const v of values) items.push(v);
    else {
      const t = this.b.now();
      for (const v of values) items.push({ v, t });
    }
    return items;
  }
  set(values: Iterable<T>): void {
    const fresh = this.itemsOf(values);
    if (fresh.length === 0) {
      this.b.remove(this.idx);
      return;
    }
    // a key's list replaced in place keeps the key's place in the column, as a value's set does (the order
    // `applyToKeyedState` visits, docs/SEMANTICS.md §10.6); with TTL, one whose items all expired goes first: the new
    // list is a new entry, as `add` makes it
    this.current();
    this.b.put(this.idx, fresh);
    if (this.ttl !== undefined) this.b.wroteTtl();
  }
  clear(): void {
    this.b.remove(this.idx);
  }
}

class MapHandle<MK extends Key, MV> implements MapState<MK, MV> {
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly idx: number,
    private readonly ttl: Ttl | undefined,
    private readonly label: string,
  ) {}

  private id(key: MK): KeyId {
    if (!isKey(key)) throw new InvalidKeyError(this.label, key, key);
    return keyIdOf(key);
  }

  private map(): Map<KeyId, MapItem<MK, MV>> | undefined {
    return this.b.get(this.idx) as Map<KeyId, MapItem<MK, MV>> | undefined;
  }

  /** Removes entries (the whole state when none is left), recording the change first. */
  private drop(m: Map<KeyId, MapItem<MK, MV>>, ids: readonly KeyId[]): void {
    this.b.deleteMapEntriesAt(this.idx, this.b.id, this.b.ns, m, ids);
  }

  /** Looks an entry up with TTL rules: expired → removed, returned only with return-expired visibility on a read. */
  private lookup(key: MK, forRead: boolean): MapItem<MK, MV> | undefined {
    const id = this.id(key);
    const m = this.map();
    const item = m?.get(id);
    if (m === undefined || item === undefined) return undefined;
    const ttl = this.ttl;
    if (ttl === undefined) return item;
    const now = this.b.now();
    if (item.t + ttl.ms <= now) {
      this.drop(m, [id]);
      return forRead && ttl.visibility === 'return-expired-if-not-cleaned-up' ? item : undefined;
    }
    if (forRead && ttl.update === 'on-read-and-write') {
      if (this.b.tracking) this.b.trackMapEntry(this.idx, id, MAP_UPDATE, m.size);
      item.t = now;
    }
    return item;
  }

  /** All unexpired items (expired ones are removed; returned too with return-expired visibility). */
  private items(): MapItem<MK, MV>[] {
    const m = this.map();
    if (m === undefined) return [];
    const ttl = this.ttl;
    if (ttl === undefined) return [...m.values()];
    const now = this.b.now();
    const out: MapItem<MK, MV>[] = [];
    const expired: KeyId[] = [];
    const refresh = ttl.update === 'on-read-and-write';
    for (const [id, item] of m) {
      if (item.t + ttl.ms <= now) {
        expired.push(id);
        if (ttl.visibility === 'return-expired-if-not-cleaned-up') out.push(item);
      } else out.push(item);
    }
    if (refresh && expired.length < m.size) {
      this.b.touch(this.idx);
      for (const item of m.values()) if (item.t + ttl.ms > now) item.t = now;
    }
    this.drop(m, expired);
    return out;
  }

  get(key: MK): MV | undefined {
    return this.lookup(key, true)?.v;
  }
  set(key: MK, value: MV): void {
    const id = this.id(key);
    // (an array key is kept as a copy, and handed out as one: its id was taken now, and a caller that changes its
    // array later must change neither the live entry's key nor what a checkpoint writes for it)
    const item: MapItem<MK, MV> = { k: copyOfKey(key), v: value, t: this.ttl === undefined ? 0 : this.b.now() };
    let m = this.map();
    const ttl = this.ttl;
    if (m !== undefined && ttl !== undefined) {
      // an expired entry is gone, whether a cleanup removed it yet or not: set again, it is a new entry, at the end
      // (the map's order does not depend on when cleanups ran — nor, then, on where a job was restored)
      const old = m.get(id);
      if (old !== undefined && old.t + ttl.ms <= item.t) {
        this.drop(m, [id]);
        m = this.map();
      }
      // so is a map whose entries all expired: given a new entry, it is a new map, at the end of its state's keys. The
      // expired entries before the first live one are dropped on the way (each once: over a run these looks cost what
      // they dropped, not the map's size at each write)
      if (m !== undefined && !m.has(id)) {
        const { gone } = expiredFront(m, ttl.ms, item.t);
        if (gone.length > 0) {
          this.drop(m, gone);
          m = this.map();
        }
      }
    }
    if (m === undefined) this.b.put(this.idx, new Map([[id, item]]));
    else {
      if (this.b.tracking) this.b.trackMapEntry(this.idx, id, m.has(id) ? MAP_UPDATE : MAP_INSERT, m.size);
      m.set(id, item);
    }
    if (ttl !== undefined) this.b.wroteTtl();
  }
  has(key: MK): boolean {
    return this.lookup(key, true) !== undefined;
  }
  delete(key: MK): boolean {
    const existed = this.lookup(key, false) !== undefined;
    const m = this.map();
    const id = this.id(key);
    if (m !== undefined && m.has(id)) this.drop(m, [id]);
    return existed;
  }
  entries(): [MK, MV][] {
    return this.items().map((x) => [copyOfKey(x.k), x.v]);
  }
  keys(): MK[] {
    return this.items().map((x) => copyOfKey(x.k));
  }
  values(): MV[] {
    return this.items().map((x) => x.v);
  }
  get size(): number {
    // (without TTL the map's own count; with TTL, counting what is unexpired reads every entry, as entries() does)
    if (this.ttl === undefined) return this.map()?.size ?? 0;
    return this.items().length;
  }
  clear(): void {
    this.b.remove(this.idx);
  }
}
