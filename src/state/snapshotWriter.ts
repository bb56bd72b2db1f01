import type { Key } from '../elements/index.js';
import { TidewaterError, describeValue } from '../errors/index.js';
import { encodedKeyOfId, isEscapedInId, keyGroupOfId, keyOfId, type KeyId } from '../keys/keyId.js';
import { ChunkWriter, encode, escapeJson, PackedSnapshot, type SnapshotChurn } from '../checkpoints/snapshot.js';
import { APPEND, APPEND_TTL, BLOCKS_PATCH, MAP_PATCH, MAP_PATCH_TTL, SETS_PATCH, TIMERS_PATCH } from '../checkpoints/deltaRows.js';
import type { Namespace, Timer } from '../timers/queue.js';
import type { KeyedStateBackend } from './backend.js';
import { encodeValue, hasOnlyItems, isPlainNumber, UnserializableValueError } from './codec.js';
import type { StateDescriptor, StateKind } from './descriptors.js';
import { BlockChanges, ListChanges, MAP_MOVED, MAP_PERSISTED, MapChanges, type EntryChange } from './tracking.js';
import { UNDEFINED, type MapItem, type TtlBox, type TtlItem } from './handles.js';
import { writeCodecJson, writeCodecJsonWith } from './valueWriter.js';
import { SetAppends, type SetRowToken } from './setAppends.js';

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
    /** What holds the value, when it is not a key's state (operator-level state: a broadcast state's entry). */
    where = `state '${state}' of key ${describeValue(key)}`,
  ) {
    super(
      operator,
      value,
      `${operator}: ${where} cannot be serialized for a checkpoint: ${cause.reason} at ` +
        `${cause.path || '(root)'}. Keep state as plain data (objects, arrays, Map, Set, Date, primitives).`,
      { cause },
    );
  }
}

/** Descriptors whose array values only the engine makes (see {@link engineArrays}). */
const ENGINE_ARRAYS = new WeakSet<StateDescriptor>();

/**
 * Marks a state whose array values only the engine makes (e.g. the session operator's per-key sessions): plain arrays,
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

/** Timers as a timers row holds them: `[domain (0 event, 1 processing), namespace, timestamp, seq]`, by registration. */
function timerItems(timers: readonly Timer[]): [number, Namespace, number, number][] {
  return [...timers].sort((a, b) => a.seq - b.seq).map((t) => [t.domain === 'event' ? 0 : 1, t.ns, t.timestamp, t.seq]);
}

/** A {@link SnapshotChurn} being counted. */
type MutableChurn = { -readonly [K in keyof SnapshotChurn]: SnapshotChurn[K] };

/** Counts a delta's row of `bytes` that rewrites or (`deletes`) deletes an entry the chain holds (see SnapshotChurn). */
function superseded(churn: MutableChurn, deletes: boolean, bytes: number): void {
  if (deletes) {
    churn.deleteRows++;
    churn.deleteBytes += bytes;
  } else {
    churn.rewriteRows++;
    churn.rewriteBytes += bytes;
  }
}

/**
 * How the path of every entry of a declared state begins, before its namespace and key: `["s",<name>,<kind>,` — what
 * the snapshot writes (escaped, in front of each row) and what a restore looks for to read a path without parsing it.
 *
 * @example
 * ```ts
 * statePathStart('count', 'value'); // '["s","count","value",'
 * ```
 *
 * @internal
 */
export function statePathStart(name: string, kind: StateKind): string {
  return JSON.stringify(['s', name, kind]).slice(0, -1) + ',';
}

/** Writes the key's element of a path (`JSON.stringify(encodeValue(key))`), escaped. */
function writeKey(w: ChunkWriter, id: KeyId): void {
  // a number key (not -0, which the codec tags) is its digits: no stringify, nothing to escape
  if (isPlainNumber(id)) {
    w.ascii('\\"');
    w.num(id);
    w.ascii('\\"');
  } else if (typeof id !== 'string' || !writePlainStringId(w, id)) w.text(escapeJson(JSON.stringify(encodedKeyOfId(id))));
}

/**
 * {@link writeKey} of a string id with nothing to escape — a string key (its own id), or an array key's JSON text:
 * true; false, with nothing written, for any other (the general case writes it).
 */
function writePlainStringId(w: ChunkWriter, id: string): boolean {
  const at = w.position;
  if (!isEscapedInId(id.charCodeAt(0))) {
    // a string key: its text `"k"` as a JSON string inside the path's string, `\"\\\"k\\\"\"`, written around it (what
    // the general case makes with three JSON.stringify calls)
    w.ascii('\\"\\\\\\"');
    if (w.plainText(id)) {
      w.ascii('\\\\\\"\\"');
      return true;
    }
  } else if (id.charCodeAt(0) === 91) {
    // an array key whose id — numbers, booleans: `[7,42]` — is written between the escaped quotes the two stringify
    // calls would put around it
    w.ascii('\\"');
    if (w.plainText(id)) {
      w.ascii('\\"');
      return true;
    }
  }
  w.rewind(at);
  return false;
}

/**
 * Takes the snapshots of a `KeyedStateBackend`: chooses full or delta, runs the TTL cleanup (`src/state/ttl.ts`),
 * and writes each entry as a row `[keyGroup, path, value?]` of a `PackedSnapshot` (docs/ARCHITECTURE.md, "One
 * barrier, end to end"): the path `["s", name, kind, namespace, key]` (`["t", key]` for a key's timers), the value
 * the state codec's text of `[ttl flag, data, …]` (docs/SEMANTICS.md §6.3). Common values (numbers, arrays of numbers) are written straight
 * into the chunk; the bytes are those of the general path either way.
 *
 * @example
 * ```ts
 * const writer = new SnapshotWriter(backend);
 * const first = writer.snapshot(false); // full: nothing to be incremental to yet
 * const delta = writer.snapshot(false); // what changed since
 * ```
 * @internal
 */
export class SnapshotWriter {
  /** Per state: whether its array values are the engine's own, plain arrays (a list's items; see {@link engineArrays}). */
  private readonly plainArrays: readonly boolean[];
  /**
   * `["s",<name>,<kind>,` per state, as it appears inside a chunk's JSON string (escaped): a path is this prefix, the
   * namespace and the encoded key.
   */
  private readonly pathPrefixes: readonly Uint8Array[];
  /** {@link pathPrefixes} with the namespace of an entry that has none, `"",` (what most entries are): one copy a row. */
  private readonly noNamespacePrefixes: readonly Uint8Array[];

  /**
   * The bytes of the append and patch rows written since an entry's last whole row, per entry (`-1` for a key's
   * timers) of the chain since the last full snapshot: when the entry is written whole again or deleted, they are dead
   * weight in the chain, and the delta's churn says so (`SnapshotChurn.deleteBytes`) — the chain's sizing (`runJob`)
   * otherwise charged one row for them all.
   */
  private readonly changeRowBytes = new Map<string, number>();

  /**
   * Per state: whether its values may be written as sets rows (value-like, no TTL, not an engine's arrays: their rows
   * are whole values only; see `src/state/setAppends.ts`).
   */
  private readonly setStates: readonly boolean[];
  /** The large Sets the last snapshot wrote (see {@link SetAppends}). */
  private readonly setAppends = new SetAppends();

  constructor(private readonly b: KeyedStateBackend) {
    this.plainArrays = b.descriptors.map((d) => d.kind === 'list' || ENGINE_ARRAYS.has(d));
    this.setStates = b.descriptors.map((d) => d.kind !== 'list' && d.kind !== 'map' && d.ttl === undefined && !ENGINE_ARRAYS.has(d));
    this.pathPrefixes = b.descriptors.map((d, j) => encode(escapeJson(statePathStart(b.names[j] as string, d.kind))));
    this.noNamespacePrefixes = b.descriptors.map((d, j) => encode(escapeJson(statePathStart(b.names[j] as string, d.kind) + '"",')));
  }

  /**
   * Snapshot of all keyed state and timers, grouped by key group. The first snapshot (or `full: true`) has every
   * entry; later ones only what changed or was deleted since the previous snapshot. Expired TTL state is cleaned up
   * and left out (all of it in a full snapshot; in an incremental one, the changed entries plus a rotating batch of
   * keys). A value that cannot be serialized throws before anything is marked as taken.
   */
  snapshot(full: boolean): PackedSnapshot {
    const b = this.b;
    const now = b.hasTtl ? b.now() : 0;
    if (!full && b.tracking && b.ttlCleanup !== undefined) {
      // (before choosing between full and delta: the deletions this cleanup records can saturate the tracking, and
      // the snapshot must then be full)
      b.ttlCleanup.expireBeforeDelta(now);
    }
    if (full || !b.tracking) {
      b.ttlCleanup?.expireAll(now);
      return this.full();
    }
    return this.delta();
  }

  /** Every entry and every key's timers. */
  private full(): PackedSnapshot {
    const b = this.b;
    const out = new ChunkWriter();
    this.changeRowBytes.clear();
    this.setAppends.abort();
    for (let i = 0; i < b.descriptors.length; i++) {
      for (const [id, v] of b.cols[i] as Map<KeyId, unknown>) this.row(out, i, id, '', v);
      const major = b.namespaced.namespaceMajor[i] === true;
      for (const [outer, m] of b.nsCols[i] as Map<unknown, Map<unknown, unknown>>) {
        if (major) for (const [id, v] of m) this.row(out, i, id as KeyId, outer as Namespace, v);
        else for (const [ns, v] of m) this.row(out, i, outer as KeyId, ns as Namespace, v);
      }
    }
    const timers = b.timersByKey();
    for (const [id, list] of timers) this.timersRow(out, id, list);
    this.pruneSetTokens();
    b.tracker.trackNext();
    b.tracker.persistAllTimers(timers);
    this.setAppends.commit();
    return new PackedSnapshot(b.operator, true, b.maxParallelism, out.finish(), out.count, undefined, undefined, out.rowSizes);
  }

  /** The entries and timers changed since the last snapshot: present ones written, persisted and gone ones deleted. */
  private delta(): PackedSnapshot {
    const b = this.b;
    const tracker = b.tracker;
    const out = new ChunkWriter();
    // the rows that rewrite or delete what the last snapshot had (the job sizes its checkpoint chains by them, see
    // SnapshotChurn)
    const churn = { rewriteRows: 0, rewriteBytes: 0, deleteRows: 0, deleteBytes: 0 };
    this.setAppends.abort();
    for (let i = 0; i < b.descriptors.length; i++) {
      const col = b.cols[i] as Map<KeyId, unknown>;
      for (const [id, was] of tracker.dirty[i] as Map<KeyId, EntryChange>) this.changedRow(out, churn, i, id, '', col.get(id), was);
      for (const ns of tracker.freshNs[i] as Set<Namespace>) {
        const m = (b.nsCols[i] as Map<unknown, Map<unknown, unknown>>).get(ns);
        if (m !== undefined) for (const [id, v] of m) this.row(out, i, id as KeyId, ns, v);
      }
      for (const [ns, m] of tracker.nsDirty[i] as Map<Namespace, Map<KeyId, EntryChange>>) {
        for (const [id, was] of m) this.changedRow(out, churn, i, id, ns, b.namespaced.get(i, id, ns), was);
      }
    }
    for (const id of tracker.timersDirty.keys()) {
      const persisted = tracker.timersPersisted.has(id);
      const patch = persisted ? tracker.takeTimerPatch(id) : undefined;
      if (patch !== undefined) {
        this.timersPatchRow(out, churn, id, patch.added, patch.gone);
        continue;
      }
      const list = tracker.takeTimersOf(id);
      if (persisted) {
        const at = out.size;
        this.timersRow(out, id, list);
        superseded(churn, list.length === 0, out.size - at);
        this.changeRowsDead(churn, -1, '', id);
      } else if (list.length > 0) this.timersRow(out, id, list);
    }
    tracker.trackNext();
    this.setAppends.commit();
    return new PackedSnapshot(b.operator, false, b.maxParallelism, out.finish(), out.count, undefined, churn, out.rowSizes);
  }

  /**
   * Writes the row of an entry changed since the last snapshot (`was`: how, see `EntryChange`; `v`: its value now):
   * an append or patch row, the value, or (gone) its deletion; nothing for one created and gone since.
   */
  private changedRow(out: ChunkWriter, churn: MutableChurn, i: number, id: KeyId, ns: Namespace, v: unknown, was: EntryChange): void {
    if ((typeof was === 'number' || was instanceof ListChanges) && v !== undefined) this.appendRow(out, churn, i, id, ns, v as unknown[], was);
    else if (was instanceof MapChanges && v !== undefined) this.mapEntriesRow(out, churn, i, id, ns, v as Map<KeyId, MapItem<Key, unknown>>, was);
    else if (was instanceof BlockChanges && v !== undefined) this.blocksRow(out, churn, i, id, ns, v as unknown[], was);
    else if (was !== false) {
      const at = out.size;
      if (this.row(out, i, id, ns, v, true)) {
        // a sets row: the row before it stays in use (its Sets' items); what this one rewrites besides what the Sets
        // gained makes that much of it dead weight
        const bytes = out.size - at;
        const charged = bytes - this.setAppends.appendedBytes;
        churn.deleteBytes += charged;
        this.changeRowWritten(i, ns, id, bytes, charged);
        return;
      }
      superseded(churn, v === undefined, out.size - at);
      this.changeRowsDead(churn, i, ns, id);
    } else if (v !== undefined) this.row(out, i, id, ns, v);
  }

  /** The key of an entry in {@link changeRowBytes}. */
  private static entryKey(i: number, ns: Namespace, id: KeyId): string {
    return `${i}\u0000${typeof ns}:${String(ns)}\u0000${typeof id}:${String(id)}`;
  }

  /**
   * Counts an append or patch row of `bytes` written for an entry (see {@link changeRowBytes}), less what its churn
   * charged already as made dead by it (`charged`: items it drops, values it replaces, timers it deletes — of the
   * entry's earlier rows, which the count holds).
   */
  private changeRowWritten(i: number, ns: Namespace, id: KeyId, bytes: number, charged: number): void {
    const key = SnapshotWriter.entryKey(i, ns, id);
    this.changeRowBytes.set(key, Math.max(0, (this.changeRowBytes.get(key) ?? 0) - charged) + bytes);
  }

  /** An entry written whole or deleted: the bytes of its append and patch rows are dead weight from now on. */
  private changeRowsDead(churn: MutableChurn, i: number, ns: Namespace, id: KeyId): void {
    if (this.changeRowBytes.size === 0) return;
    const key = SnapshotWriter.entryKey(i, ns, id);
    const bytes = this.changeRowBytes.get(key);
    if (bytes === undefined) return;
    churn.deleteBytes += bytes;
    this.changeRowBytes.delete(key);
  }

  private groupOfId(id: KeyId): number {
    return keyGroupOfId(id, this.b.maxParallelism);
  }

  /** Writes the path of an entry (`JSON.stringify(['s', name, kind, ns, encodeValue(key)])`), escaped. */
  private writePath(w: ChunkWriter, i: number, id: KeyId, ns: Namespace): void {
    if (ns === '') w.bytes(this.noNamespacePrefixes[i] as Uint8Array);
    else {
      w.bytes(this.pathPrefixes[i] as Uint8Array);
      if (typeof ns === 'number' && Number.isFinite(ns)) w.num(ns);
      else w.text(escapeJson(JSON.stringify(ns)));
      w.ascii(',');
    }
    writeKey(w, id);
    w.ascii(']');
  }

  /** The stored form of a value before encoding: `[ttl flag, data, …]` (docs/SEMANTICS.md §6.3). */
  private payload(i: number, v: unknown): unknown[] {
    const d = this.b.descriptors[i] as StateDescriptor;
    const ttl = d.ttl !== undefined;
    switch (d.kind) {
      case 'list':
        return ttl ? [1, (v as TtlItem<unknown>[]).map((x) => [x.v, x.t])] : [0, v];
      case 'map':
        return [ttl ? 1 : 0, [...(v as Map<KeyId, MapItem<Key, unknown>>).values()].map((x) => (ttl ? [x.k, x.v, x.t] : [x.k, x.v]))];
      default: {
        const raw = ttl ? (v as TtlBox).v : v;
        const val = raw === UNDEFINED ? undefined : raw;
        return ttl ? [1, val, (v as TtlBox).t] : [0, val];
      }
    }
  }

  /**
   * The codec's text of the stored form `payload` of value `v` (`encodeValue(payload)`), not escaped: the general
   * case of {@link writeValue}.
   */
  private valueText(i: number, id: KeyId, v: unknown, payload: unknown[]): string {
    const d = this.b.descriptors[i] as StateDescriptor;
    try {
      return encodeValue(payload);
    } catch (err) {
      if (err instanceof UnserializableValueError) {
        // report the path inside the user's value, not inside the stored payload
        const path = userPath(d.kind, d.ttl !== undefined, err.path);
        throw new StateSerializationError(this.b.operator, keyOfId(id), this.b.names[i] ?? '', v, new UnserializableValueError(path, err.offending, err.reason));
      }
      throw this.tooDeep(i, id, v, err);
    }
  }

  /**
   * Writes the entry of state `i` at (id, ns): its value, or (`v` undefined) its deletion. `appendable`: the entry was
   * in the last snapshot, so its value may be written as a sets row (see {@link SetAppends}); returns whether it was.
   */
  private row(w: ChunkWriter, i: number, id: KeyId, ns: Namespace, v: unknown, appendable = false): boolean {
    w.begin(this.groupOfId(id));
    this.writePath(w, i, id, ns);
    if (v === undefined) {
      w.end();
      if (this.b.tracker.setEntries[i] !== undefined) this.setToken(i, id, ns, undefined);
      return false;
    }
    // the payload as JSON itself (a raw row, docs/ARCHITECTURE.md "One barrier, end to end"): no second escaping
    w.rawValue();
    const tokens = this.b.tracker.setEntries[i];
    if (this.setStates[i] !== true || v === null || typeof v !== 'object') {
      // (a state whose values hold no Sets, or a value that is none — a count, a name: what keyed state mostly holds —
      // goes without the Sets' bookkeeping; a token its entry kept from a value that held Sets goes)
      this.writeValue(w, i, id, v, undefined);
      w.endRaw();
      if (tokens !== undefined) this.setToken(i, id, ns, undefined);
      return false;
    }
    const sets = this.setAppends;
    const last = tokens?.get(ns)?.get(id);
    sets.beginRow(appendable ? last : undefined);
    // (the payload's flag, the digit after `[`: 0, or 8 once a Set was written as what it gained)
    const flagAt = w.position + 1;
    this.writeValue(w, i, id, v, sets);
    const appended = sets.appended;
    if (appended) w.patchByte(flagAt, 48 + SETS_PATCH);
    w.endRaw();
    const token = sets.endRow(last);
    if (token !== undefined || last !== undefined) this.setToken(i, id, ns, token);
    return appended;
  }

  /**
   * Drops the tokens of entries gone (after a full snapshot, which wrote every entry there is: one removed while
   * tracking was off left its token, which no deletion row took away).
   */
  private pruneSetTokens(): void {
    const b = this.b;
    const entries = b.tracker.setEntries;
    for (let i = 0; i < entries.length; i++) {
      const tokens = entries[i];
      if (tokens === undefined) continue;
      for (const [ns, byId] of tokens) {
        for (const id of byId.keys()) if (!(ns === '' ? (b.cols[i] as Map<KeyId, unknown>).has(id) : b.namespaced.has(i, id, ns))) byId.delete(id);
        if (byId.size === 0) tokens.delete(ns);
      }
    }
  }

  /** Sets (or, undefined, deletes) the token of the entry of state `i` at (id, ns) (see `ChangeTracker.setEntries`). */
  private setToken(i: number, id: KeyId, ns: Namespace, token: SetRowToken | undefined): void {
    const entries = this.b.tracker.setEntries;
    let tokens = entries[i];
    if (token === undefined) {
      const byId = tokens?.get(ns);
      if (byId === undefined || !byId.delete(id) || byId.size > 0) return;
      (tokens as Map<Namespace, Map<KeyId, SetRowToken>>).delete(ns);
      return;
    }
    if (tokens === undefined) entries[i] = tokens = new Map();
    let byId = tokens.get(ns);
    if (byId === undefined) tokens.set(ns, (byId = new Map()));
    byId.set(id, token);
  }

  /**
   * Writes the append row of the list of state `i` at (id, ns), appended to since the last snapshot (`change`: the
   * index its new items start at, or with items dropped at its front too, a {@link ListChanges}): the new items of
   * `v`, as the payload `[2, items]` (`[3, [[item, time], …]]` with TTL), `[2, items, dropped]` when items were
   * dropped; a restore drops that many from the front of the list the chain has, then appends (`mergeSnapshots`;
   * docs/SEMANTICS.md §6.3).
   */
  private appendRow(w: ChunkWriter, churn: MutableChurn, i: number, id: KeyId, ns: Namespace, v: readonly unknown[], change: number | ListChanges): void {
    const from = typeof change === 'number' ? change : change.from;
    const dropped = typeof change === 'number' ? 0 : change.dropped;
    const at = w.size;
    w.begin(this.groupOfId(id));
    this.writePath(w, i, id, ns);
    w.rawValue();
    const ttl = (this.b.descriptors[i] as StateDescriptor).ttl !== undefined;
    const items = v.slice(from);
    const valueAt = w.position;
    let fast = false;
    if (!ttl) {
      w.ascii(`[${APPEND},`);
      if (w.numbers(items)) {
        w.ascii(dropped > 0 ? `,${dropped}]` : ']');
        fast = true;
      } else w.rewind(valueAt);
    }
    if (!fast) {
      const add = ttl ? (items as TtlItem<unknown>[]).map((x) => [x.v, x.t]) : items;
      this.writeChange(w, i, id, v, dropped > 0 ? [ttl ? APPEND_TTL : APPEND, add, dropped] : [ttl ? APPEND_TTL : APPEND, add]);
    }
    w.endRaw();
    // (the items it drops are dead weight in the chain: about as large as the items it appends, each)
    const charged = dropped > 0 ? Math.round((dropped * (w.size - at)) / Math.max(1, items.length)) : 0;
    churn.deleteBytes += charged;
    this.changeRowWritten(i, ns, id, w.size - at, charged);
  }

  /**
   * Writes the payload of an append or patch row of value `v` (the list or map it changes). A part that cannot be
   * serialized is reported as for the whole value: its error names the item's place in it.
   */
  private writeChange(w: ChunkWriter, i: number, id: KeyId, v: unknown, payload: unknown[]): void {
    const at = w.position;
    if (writeCodecJson(w, payload, 0)) return;
    w.rewind(at);
    let text: string;
    try {
      text = encodeValue(payload);
    } catch (err) {
      this.valueText(i, id, v, this.payload(i, v));
      throw err;
    }
    w.text(text);
  }

  /**
   * Writes the row of the map of state `i` at (id, ns), changed entry by entry since the last snapshot (`changes`):
   * the whole map when most of it changed, else a patch row of the changed entries, payload `[4, ops]` (`[5, ops]`
   * with TTL), each op `[key, value]` (`[key, value, time]`) setting an entry or `[key]` deleting one, in the order a
   * restore applies them (`mergeSnapshots`; docs/SEMANTICS.md §6.3): an entry inserted since goes to the end of the
   * map, as it did here — one that was there at the last snapshot, deleted and inserted again, is deleted first.
   */
  private mapEntriesRow(w: ChunkWriter, churn: MutableChurn, i: number, id: KeyId, ns: Namespace, m: Map<KeyId, MapItem<Key, unknown>>, changes: MapChanges): void {
    const at = w.size;
    if (2 * changes.keys.size >= m.size) {
      this.row(w, i, id, ns, m);
      superseded(churn, false, w.size - at);
      this.changeRowsDead(churn, i, ns, id);
      return;
    }
    const ttl = (this.b.descriptors[i] as StateDescriptor).ttl !== undefined;
    const ops: unknown[][] = [];
    let replacing = 0;
    for (const [mapKey, flags] of changes.keys) {
      const item = m.get(mapKey);
      if ((flags & MAP_PERSISTED) !== 0 && (item === undefined || (flags & MAP_MOVED) !== 0)) {
        ops.push([item === undefined ? keyOfId(mapKey) : item.k]);
        replacing++;
      }
      if (item !== undefined) {
        ops.push(ttl ? [item.k, item.v, item.t] : [item.k, item.v]);
        if ((flags & (MAP_PERSISTED | MAP_MOVED)) === MAP_PERSISTED) replacing++;
      }
    }
    if (ops.length === 0) return;
    w.begin(this.groupOfId(id));
    this.writePath(w, i, id, ns);
    w.rawValue();
    this.writeChange(w, i, id, m, [ttl ? MAP_PATCH_TTL : MAP_PATCH, ops]);
    w.endRaw();
    // (the values its updates and deletions replace are dead weight in the chain, about as large as those ops)
    const charged = Math.round(((w.size - at) * replacing) / ops.length);
    churn.deleteBytes += charged;
    this.changeRowWritten(i, ns, id, w.size - at, charged);
  }

  /**
   * Writes the row of the value of state `i` at (id, ns), a list of blocks changed block by block since the last
   * snapshot (`changes`): the whole value when half its blocks or more are new or changed, else a blocks row, payload
   * `[7, items]` — per block of the value now, in order, its index among the blocks of the last snapshot when it is one
   * of them unchanged (a run of them as its first index and −m, the m after it), else the block itself
   * (`mergeSnapshots`; docs/SEMANTICS.md §6.3).
   */
  private blocksRow(w: ChunkWriter, churn: MutableChurn, i: number, id: KeyId, ns: Namespace, v: unknown[], changes: BlockChanges): void {
    const at = w.size;
    const before = changes.before;
    const indexOf = new Map<unknown, number>();
    for (let k = 0; k < before.length; k++) indexOf.set(before[k], k);
    const items: unknown[] = [];
    let written = 0;
    let unchanged = before.length === v.length;
    // the index of the last block kept as it was, when it is the last item or ends the run that is (−m: the m after it)
    let runEnd = -2;
    for (let k = 0; k < v.length; k++) {
      const block = v[k];
      const was = indexOf.get(block);
      if (was !== undefined && !changes.changed.has(block)) {
        if (was !== runEnd + 1) items.push(was);
        else {
          const last = items[items.length - 1] as number;
          if (last < 0) items[items.length - 1] = last - 1;
          else items.push(-1);
        }
        runEnd = was;
      } else {
        items.push(block);
        written++;
        runEnd = -2;
      }
      if (was !== k || written > 0) unchanged = false;
    }
    if (unchanged) return;
    // (a value that is no list of blocks any more — made another way since — or mostly new: written whole)
    if (2 * written >= v.length || !v.every((b) => Array.isArray(b))) {
      this.row(w, i, id, ns, v);
      superseded(churn, false, w.size - at);
      this.changeRowsDead(churn, i, ns, id);
      return;
    }
    w.begin(this.groupOfId(id));
    this.writePath(w, i, id, ns);
    w.rawValue();
    this.writeChange(w, i, id, v, [BLOCKS_PATCH, items]);
    w.endRaw();
    // (the blocks it replaces or drops are dead weight in the chain: each charged as the largest blocks seen written —
    // a row's average, which its last block, partly filled, brings down, would charge less than they hold: runJob's
    // estimate of what a chain reads in vain errs high, never low)
    const bytes = w.size - at;
    if (written > 0) this.blockBytes = Math.max(this.blockBytes, bytes / written);
    const charged = Math.round((before.length - (v.length - written)) * this.blockBytes);
    churn.deleteBytes += charged;
    this.changeRowWritten(i, ns, id, bytes, charged);
  }

  /** The largest bytes a block of a blocks row took, on average over the row's blocks (see {@link blocksRow}). */
  private blockBytes = 0;

  /**
   * Writes a stored value as its payload `[0|1, …]`, escaped; its Sets through `sets` when given (a value-like state's
   * value written directly: see {@link row}).
   */
  private writeValue(w: ChunkWriter, i: number, id: KeyId, v: unknown, sets: SetAppends | undefined): void {
    const d = this.b.descriptors[i] as StateDescriptor;
    // the common cases written directly: an array of numbers and nulls (a list of numbers; the session operator's
    // per-key sessions: engine arrays, not checked for extra properties), and any value of a value-like state
    if (d.ttl === undefined && d.kind !== 'map') {
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
      if (d.kind !== 'list') {
        // a value-like state without TTL: `[0,` + the value's text + `]` — what the codec writes for the payload
        // `[0, value]` (JSON.stringify of an array is its items' text), written straight into the chunk when it can
        // be (see writeCodecJson), else through the codec's text (which names what cannot be serialized)
        w.ascii('[0,');
        const at = w.position;
        const value = v === UNDEFINED ? undefined : v;
        if (!(sets === undefined ? writeCodecJson(w, value, 1) : writeCodecJsonWith(w, value, 1, sets))) {
          sets?.discardRow();
          w.rewind(at);
          w.text(this.plainValueText(i, id, v));
        }
        w.ascii(']');
        return;
      }
    }
    const at = w.position;
    const payload = this.payload(i, v);
    if (writeCodecJson(w, payload, 0)) return;
    w.rewind(at);
    w.text(this.valueText(i, id, v, payload));
  }

  /** The codec's text of the value of a value-like state without TTL (errors name the path inside the user's value). */
  private plainValueText(i: number, id: KeyId, v: unknown): string {
    try {
      return encodeValue(v === UNDEFINED ? undefined : v);
    } catch (err) {
      if (err instanceof UnserializableValueError) throw new StateSerializationError(this.b.operator, keyOfId(id), this.b.names[i] ?? '', v, err);
      throw this.tooDeep(i, id, v, err);
    }
  }

  /**
   * A failure of the codec other than an unserializable value: a value nested too deeply for the codec's recursion
   * (a `RangeError`: the stack) is reported as a {@link StateSerializationError} naming the operator, key and state;
   * anything else as it is.
   */
  private tooDeep(i: number, id: KeyId, v: unknown, err: unknown): unknown {
    if (!(err instanceof RangeError)) return err;
    return new StateSerializationError(this.b.operator, keyOfId(id), this.b.names[i] ?? '', v, new UnserializableValueError('', v, `nested too deeply to encode (${err.message}; nest it less, e.g. an array in place of a linked list)`));
  }

  /** Writes the row of a key's timers (`["t", key]` → `[[domain, ns, timestamp, seq], …]` by registration), or its deletion. */
  private timersRow(w: ChunkWriter, id: KeyId, timers: readonly Timer[] | undefined): void {
    this.timersPath(w, id);
    if (timers !== undefined && timers.length > 0) {
      w.rawValue();
      w.text(encodeValue(timerItems(timers)));
      w.endRaw();
    } else w.end();
  }

  /** Begins the row of a key's timers: its key group and path `["t", key]`. */
  private timersPath(w: ChunkWriter, id: KeyId): void {
    w.begin(this.groupOfId(id));
    w.ascii('[\\"t\\",');
    writeKey(w, id);
    w.ascii(']');
  }

  /**
   * Writes the patch row of a key's timers: `[6, added, gone]`, the timers registered since the last snapshot (as in
   * a whole row) and the registration numbers of its timers popped or deleted since (docs/SEMANTICS.md §6.3).
   */
  private timersPatchRow(w: ChunkWriter, churn: MutableChurn, id: KeyId, added: readonly Timer[], gone: readonly number[]): void {
    const at = w.size;
    this.timersPath(w, id);
    w.rawValue();
    w.text(encodeValue([TIMERS_PATCH, timerItems(added), gone]));
    w.endRaw();
    // (the timers it deletes are dead weight in the chain, about as large as the ones it adds, each)
    const charged = Math.round((gone.length * (w.size - at)) / Math.max(1, added.length + gone.length));
    churn.deleteBytes += charged;
    this.changeRowWritten(-1, '', id, w.size - at, charged);
  }
}
