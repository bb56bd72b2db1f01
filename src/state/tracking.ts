import type { KeyId } from '../keys/keyId.js';
import type { Namespace, Timer } from '../timers/queue.js';
import type { KeyedStateBackend } from './backend.js';
import type { NamespacedColumns } from './columns.js';
import { SetAppends, type SetRowToken } from './setAppends.js';

/**
 * Fewest changes since the last snapshot after which tracking may stop and the next snapshot be full (see
 * `ChangeTracker.changed`): small states always get exact deltas.
 *
 * @example
 * ```ts
 * const saturated = changes >= SATURATION_MIN && 2 * updated + created >= entriesAtLastSnapshot;
 * ```
 * @internal
 */
export const SATURATION_MIN = 4096;
/**
 * Most intervals left untracked after tracking saturated (see `ChangeTracker.trackNext`).
 *
 * @example
 * ```ts
 * const skip = Math.min(streak + 1, SATURATION_SKIP_MAX);
 * ```
 * @internal
 */
export const SATURATION_SKIP_MAX = 3;

/**
 * A map entry of {@link MapChanges} was in the map at the last snapshot.
 * @internal
 */
export const MAP_PERSISTED = 1;
/** A map entry of {@link MapChanges} was inserted since while absent: it is at the end of the map now. @internal */
export const MAP_MOVED = 2;

/**
 * The entries of a map state (present at the last snapshot) set, inserted or deleted since, by map key id →
 * {@link MAP_PERSISTED} | {@link MAP_MOVED}; an entry inserted while absent is moved to the end, so that the
 * entries inserted since are in the order the map has them (its delta row inserts them in that order).
 *
 * @example
 * ```ts
 * for (const [mapKey, flags] of changes.keys) if (flags & MAP_MOVED) console.log('inserted since', mapKey);
 * ```
 * @internal
 */
export class MapChanges {
  readonly keys = new Map<KeyId, number>();
  /** whether it counted towards saturation (once half the map changed: it is then written whole, as any change) */
  counted = false;
}

/**
 * A list present at the last snapshot that has, since, lost `dropped` items at its front (expired under TTL) and had
 * items appended: its items before `from` are the ones the last snapshot has after those `dropped` (its delta row
 * drops and appends, see {@link ChangeTracker.markDropFront}).
 *
 * @example
 * ```ts
 * const change = new ListChanges(2, 5); // 2 dropped at the front; items from index 5 on are new
 * ```
 * @internal
 */
export class ListChanges {
  constructor(
    readonly dropped: number,
    readonly from: number,
  ) {}
}

/**
 * A value stored as a list of blocks (arrays, changed in place by the engine that owns the layout), present at the last
 * snapshot, whose blocks changed since (see {@link ChangeTracker.markBlocks}): its blocks then, in order (`before`),
 * and those of them changed in place since (`changed`); a block of the value now that is neither new nor changed is
 * written as its index in `before`.
 *
 * @example
 * ```ts
 * const change = new BlockChanges(blocks.slice()); // at the first change since the last snapshot
 * change.changed.add(blocks[blocks.length - 1]);   // the last block is about to get an item
 * ```
 * @internal
 */
export class BlockChanges {
  readonly changed = new Set<unknown>();
  /** the block last added to {@link changed} (the same block changes record after record) */
  last: unknown = undefined;
  constructor(readonly before: readonly unknown[]) {}
}

/**
 * How an entry changed since the last snapshot, recorded at its first change after it: `false`, absent from the last
 * snapshot (created since); `true`, present there (changed or removed since); a number `n`, a list present there with
 * its first `n` items, only appended to since (its delta row carries the items after them, see
 * {@link ChangeTracker.markAppend}); a {@link ListChanges}, such a list that also lost items at its front; a
 * {@link MapChanges}, a map present there whose entries changed one by one since (its delta row carries those
 * entries, see {@link ChangeTracker.markMapEntry}); a {@link BlockChanges}, a list of blocks present there whose
 * blocks changed since (its delta row carries the blocks new or changed, see {@link ChangeTracker.markBlocks}).
 */
export type EntryChange = boolean | number | ListChanges | MapChanges | BlockChanges;

/** A map entry set while present (see {@link ChangeTracker.markMapEntry}). @internal */
export const MAP_UPDATE = 0;
/** A map entry set while absent. @internal */
export const MAP_INSERT = 1;
/** A map entry deleted while present. @internal */
export const MAP_DELETE = 2;
/** How a map entry changes: {@link MAP_UPDATE}, {@link MAP_INSERT} or {@link MAP_DELETE}. @internal */
export type MapEntryChange = typeof MAP_UPDATE | typeof MAP_INSERT | typeof MAP_DELETE;
/** keyId → how the key's entry changed since the last snapshot */
type Dirty = Map<KeyId, EntryChange>;
/** Changed namespaced entries: namespace → key → how it changed (namespace-major: windows are few, keys many). */
type NsDirty = Map<Namespace, Map<KeyId, EntryChange>>;
/** Some timers of one key: one (the common case, no array) or several; popped and deleted ones are no longer `live`. */
type KeyTimers = Timer | Timer[];

/**
 * The timers registered for a key since the last snapshot, when more than one: the dead ones (deleted, popped) are
 * filtered out each time the list doubles since the last filtering, so a key that registers and deletes a timer per
 * record keeps about its live timers, at O(1) amortised a registration.
 */
class AddedTimers {
  compactAt = 16;
  constructor(public list: Timer[]) {}
  add(t: Timer): void {
    this.list.push(t);
    if (this.list.length < this.compactAt) return;
    this.list = this.list.filter((x) => x.live);
    this.compactAt = Math.max(16, 2 * this.list.length);
  }
}

/** Appends the live timers of `timers` to `out`. */
function pushLive(out: Timer[], timers: KeyTimers | AddedTimers | null | undefined): void {
  if (timers === null || timers === undefined) return;
  if (timers instanceof AddedTimers) timers = timers.list;
  if (!Array.isArray(timers)) {
    if (timers.live) out.push(timers);
    return;
  }
  for (const t of timers) if (t.live) out.push(t);
}

/**
 * Change tracking of a `KeyedStateBackend` for incremental snapshots: what changed since the last snapshot, and when
 * to stop tracking (saturation). The backend calls it only while `backend.tracking` is on (the per-record path pays
 * one flag test when it is off; `markNamespaceDropped` checks the flag itself); the snapshot writer
 * (`src/state/snapshotWriter.ts`) reads what it recorded.
 *
 * Change tracking starts with the first snapshot (or a restore): before that there is nothing to be incremental to,
 * and an operator that is never checkpointed keeps no bookkeeping. It stops again once a full snapshot would write
 * at most twice what a delta would (see `changed`): the next snapshot is then full, and while that keeps happening the intervals
 * after it go untracked too (see `trackNext`). A change records, once per key and state, whether the key was present
 * at the last snapshot (= present before its first change since), so a snapshot writes what is present and deletes
 * what was persisted and is gone — and nothing for state created and dropped in between.
 *
 * @example
 * ```ts
 * if (backend.tracking) backend.tracker.mark(i, backend.id, backend.ns); // before the value changes
 * ```
 * @internal
 */
export class ChangeTracker {
  /** per state: changed keys of the default namespace, and whether each was present at the last snapshot */
  readonly dirty: Dirty[];
  /** per state: changed namespaced entries (namespace → key → present at the last snapshot) */
  readonly nsDirty: NsDirty[];
  /**
   * Namespaces of namespace-major states (without TTL) created since the last snapshot: written whole by the next
   * snapshot, so their entries need no per-key change tracking (windows open and close many panes between two
   * checkpoints: those cost nothing to track).
   */
  readonly freshNs: Set<Namespace>[];
  /**
   * Keys whose timers changed since the last snapshot → the timers registered for the key since then (`null`: none).
   * With {@link timersPersisted} these are all of the key's timers now, so a delta writes a changed key's timers
   * without searching the timer services for them (a lookup per pending timestamp: with a timestamp of its own per
   * key, a scan of every timer per snapshot).
   */
  readonly timersDirty = new Map<KeyId, Timer | AddedTimers | null>();
  /**
   * Keys that had timers in the last snapshot → those timers (one or several; after a patch, possibly with some
   * popped or deleted since they were written: {@link persistedDead} counts them).
   */
  timersPersisted = new Map<KeyId, KeyTimers>();
  /** Per key: how many of its {@link timersPersisted} timers are no longer live (dropped once they are half of them). */
  private readonly persistedDead = new Map<KeyId, number>();
  /**
   * Keys whose timers of the last snapshot were popped or deleted since → their registration numbers (a timer
   * registered before the last snapshot and live until now was in it).
   */
  private readonly timersGone = new Map<KeyId, number[]>();
  /** The backend's next registration number at the last snapshot (or restore): timers numbered below it are in it. */
  private seqAtSnapshot = 0;

  /** per state: the namespace last found fresh (an element mostly goes to the same open window) */
  private readonly lastFresh: (Namespace | undefined)[];
  /** per state: whether its new namespaces are tracked whole (namespace-major, no TTL) */
  private readonly wholeNamespaces: readonly boolean[];
  /**
   * Changes recorded since the last snapshot; their weight (2 for an entry the last snapshot had, 1 for one created
   * since); and the weight that stops tracking: the state's entries at the last snapshot (see {@link changed}).
   */
  private changes = 0;
  private weight = 0;
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
  /**
   * Per state (value-like, no TTL), per namespace and key id: the token of the entry's last row when that row
   * remembered large Sets (undefined until a row of the state does), kept by the snapshot writer
   * (`src/state/setAppends.ts`): a sets row appends only to the Sets of its entry's last row. A change of such an entry
   * does not count towards saturation while its rows append (`SetAppends.isAppending`): its delta row writes what its
   * Sets gained, not the whole value.
   */
  readonly setEntries: (Map<Namespace, Map<KeyId, SetRowToken>> | undefined)[];
  private readonly cols: readonly Map<KeyId, unknown>[];
  private readonly namespaced: NamespacedColumns;

  /** Tracks the changes of `b` (whose columns exist already). */
  constructor(private readonly b: KeyedStateBackend) {
    this.cols = b.cols;
    this.namespaced = b.namespaced;
    this.dirty = b.names.map(() => new Map<KeyId, boolean>());
    this.nsDirty = b.names.map(() => new Map<Namespace, Map<KeyId, boolean>>());
    this.freshNs = b.names.map(() => new Set<Namespace>());
    this.lastFresh = b.names.map(() => undefined);
    this.wholeNamespaces = b.descriptors.map((d, i) => this.namespaced.namespaceMajor[i] === true && d.ttl === undefined);
    this.setEntries = b.descriptors.map(() => undefined);
  }

  /** Whether the entry of state `i` at (id, ns) had its last row remember Sets it appends to (see {@link setEntries}). */
  private hasSetRow(i: number, id: KeyId, ns: Namespace): boolean {
    const entries = this.setEntries[i];
    return entries !== undefined && SetAppends.isAppending(entries.get(ns)?.get(id));
  }

  /** Records that the value of state `i` at (id, ns) is about to be set or changed in place. */
  mark(i: number, id: KeyId, ns: Namespace): void {
    if (ns === '') {
      const d = this.dirty[i] as Dirty;
      const was = d.get(id);
      if (was === undefined) {
        const present = (this.cols[i] as Map<KeyId, unknown>).has(id);
        d.set(id, present);
        if (present && this.hasSetRow(i, id, ns)) this.changes++;
        else this.changed(1, present);
      } else if (was !== true && was !== false) d.set(id, true); // appended to or changed by entries, now otherwise: whole
      return;
    }
    const d = this.entriesOf(i, ns);
    if (d === undefined) return;
    const was = d.get(id);
    if (was === undefined) {
      const present = this.namespaced.has(i, id, ns);
      d.set(id, present);
      if (present && this.hasSetRow(i, id, ns)) this.changes++;
      else this.changed(1, present);
    } else if (was !== true && was !== false) d.set(id, true);
  }

  /**
   * Records that the entry `mapKey` of the map of state `i` at (id, ns), which exists and has `size` entries, is about
   * to change (`change`). While the map changes only so, entry by entry, the next delta writes only those entries (a
   * patch row, docs/SEMANTICS.md §6.3): a big map changed a little between checkpoints is not written whole each time.
   * Such changes do not count towards saturation; once more entries changed than twice the map's size (many inserted
   * and deleted again), the map is written whole.
   */
  markMapEntry(i: number, id: KeyId, ns: Namespace, mapKey: KeyId, change: MapEntryChange, size: number): void {
    const d = ns === '' ? (this.dirty[i] as Dirty) : this.entriesOf(i, ns);
    if (d === undefined) return;
    let c = d.get(id);
    if (c === undefined) {
      d.set(id, (c = new MapChanges()));
      this.changes++;
    } else if (!(c instanceof MapChanges)) return; // written whole anyway
    const keys = c.keys;
    const flags = keys.get(mapKey);
    if (change === MAP_UPDATE) {
      // (first change of an entry present now: it was present at the last snapshot)
      if (flags === undefined) keys.set(mapKey, MAP_PERSISTED);
    } else if (change === MAP_DELETE) {
      keys.set(mapKey, flags === undefined ? MAP_PERSISTED : flags & MAP_PERSISTED);
    } else {
      // to the end, as the map moves it (absent now and not changed since: absent at the last snapshot too)
      if (flags !== undefined) keys.delete(mapKey);
      keys.set(mapKey, (flags === undefined ? 0 : flags & MAP_PERSISTED) | MAP_MOVED);
    }
    // (written whole from half the map on: then it counts towards saturation as a change of the entry does — maps of
    // one or two entries, every one changed each interval, saturate as they did before patches)
    const whole = 2 * keys.size >= size;
    if (keys.size > 2 * size + 16) d.set(id, true);
    if (whole && !c.counted) {
      c.counted = true;
      this.changed(1, true);
    }
  }

  /**
   * Records that items are about to be appended to the list of state `i` at (id, ns), which exists and has `from`
   * items now: when that is its first change since the last snapshot, the next delta writes only the items from
   * `from` on (an append row, docs/SEMANTICS.md §6.3), so a list that grows by a few items between
   * checkpoints (a long window's contents) is not written whole each time. Appends do not count towards saturation:
   * a delta of them writes less than a full snapshot, however many there are.
   */
  markAppend(i: number, id: KeyId, ns: Namespace, from: number): void {
    const d = ns === '' ? (this.dirty[i] as Dirty) : this.entriesOf(i, ns);
    if (d === undefined || d.has(id)) return;
    d.set(id, from);
    this.changes++;
  }

  /**
   * Records that the value of state `i` at (id, ns), a list of blocks (`blocks`, the value itself: arrays an engine
   * keeps in its own layout), is about to change: `block`, one of them, in place; or (none given) the list itself — a
   * block added, inserted or removed. While the value changes only so, the next delta writes the blocks new or changed
   * since and the others as their indices (a blocks row, docs/SEMANTICS.md §6.3): a big value whose last block grows
   * between checkpoints is not written whole each time. Such changes do not count towards saturation.
   */
  markBlocks(i: number, id: KeyId, ns: Namespace, blocks: readonly unknown[], block: unknown): void {
    const d = ns === '' ? (this.dirty[i] as Dirty) : this.entriesOf(i, ns);
    if (d === undefined) return;
    let c = d.get(id);
    if (c === undefined) {
      // (first change since the last snapshot: the blocks now are the snapshot's)
      d.set(id, (c = new BlockChanges(blocks.slice())));
      this.changes++;
    } else if (!(c instanceof BlockChanges)) return; // written whole anyway
    if (block !== undefined && c.last !== block) {
      c.changed.add(block);
      c.last = block;
    }
  }

  /**
   * Records that the first `count` items of the list of state `i` at (id, ns), which exists and has `length` items
   * now, more than `count`, are about to be dropped (expired under TTL, `src/state/ttl.ts`): while the list is changed
   * only so and by appends, its delta row drops that many and appends the new items — a list kept as a window of
   * recent items is not written whole at each snapshot. Dropping into the items appended since writes it whole.
   */
  markDropFront(i: number, id: KeyId, ns: Namespace, count: number, length: number): void {
    const d = ns === '' ? (this.dirty[i] as Dirty) : this.entriesOf(i, ns);
    if (d === undefined) return;
    const was = d.get(id);
    // (first change since the last snapshot: every item now is one the snapshot has)
    const dropped = was === undefined ? 0 : was instanceof ListChanges ? was.dropped : typeof was === 'number' ? 0 : -1;
    const from = was === undefined ? length : was instanceof ListChanges ? was.from : typeof was === 'number' ? was : -1;
    if (dropped < 0) return; // written whole anyway
    if (was === undefined) this.changes++;
    d.set(id, count < from ? new ListChanges(dropped + count, from - count) : true);
  }

  /**
   * The changed entries of namespace `ns` of state `i`, made when missing; undefined when the namespace is new since
   * the last snapshot, written whole (its entries need no tracking of their own).
   */
  private entriesOf(i: number, ns: Namespace): Map<KeyId, EntryChange> | undefined {
    if (this.lastFresh[i] === ns) return undefined;
    const nd = this.nsDirty[i] as NsDirty;
    let d = nd.get(ns);
    if (d === undefined) {
      if (this.wholeNamespaces[i] === true) {
        const fresh = this.freshNs[i] as Set<Namespace>;
        if (fresh.has(ns)) {
          this.lastFresh[i] = ns;
          return undefined;
        }
        // a namespace that neither exists nor changed since the last snapshot did not exist then: it is fresh
        if (!(this.namespaced.cols[i] as Map<unknown, unknown>).has(ns)) {
          fresh.add(ns);
          this.lastFresh[i] = ns;
          this.changed(1, false);
          return undefined;
        }
      }
      d = new Map();
      nd.set(ns, d);
    }
    return d;
  }

  /** Records that the (present) value of state `i` at (id, ns) is about to be removed. */
  markRemoved(i: number, id: KeyId, ns: Namespace): void {
    if (ns === '') {
      // created since the previous snapshot and gone again: nothing to write
      const d = this.dirty[i] as Dirty;
      const was = d.get(id);
      if (was === false) d.delete(id);
      else if (was === undefined) {
        d.set(id, true);
        if (this.hasSetRow(i, id, ns)) this.changes++;
        else this.changed(1, true);
      } else if (was !== true) d.set(id, true);
      return;
    }
    this.mark(i, id, ns);
    const d = (this.nsDirty[i] as NsDirty).get(ns);
    if (d?.get(id) === false) d.delete(id);
  }

  /**
   * Records that namespace `ns` of the namespace-major state `i` (its entries `m`) is about to be removed whole:
   * tracked like removing its entries one by one. Called whether tracking is on or not.
   */
  markNamespaceDropped(i: number, ns: Namespace, m: ReadonlyMap<unknown, unknown>): void {
    if (this.lastFresh[i] === ns) this.lastFresh[i] = undefined;
    if (this.b.tracking && !(this.freshNs[i] as Set<Namespace>).delete(ns)) {
      // only entries the previous snapshot had need a deletion; the rest of the namespace leaves no trace
      const nd = this.nsDirty[i] as NsDirty;
      const d = nd.get(ns);
      const kept = new Map<KeyId, EntryChange>();
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
      // (counted as that many removals, for saturation)
      if (kept.size > 0) this.changed(kept.size, true);
    }
  }

  /** Records that the timers of a key changed: `added` registered, or (none given) one popped or deleted. */
  markTimers(id: KeyId, added?: Timer, removed?: Timer): void {
    if (removed !== undefined && removed.seq < this.seqAtSnapshot) {
      const gone = this.timersGone.get(id);
      if (gone === undefined) this.timersGone.set(id, [removed.seq]);
      else gone.push(removed.seq);
    }
    const d = this.timersDirty;
    const had = d.get(id);
    if (had === undefined) {
      d.set(id, added ?? null);
      this.changed(1, this.timersPersisted.has(id));
    } else if (added === undefined) return;
    else if (had === null) d.set(id, added);
    else if (had instanceof AddedTimers) had.add(added);
    else d.set(id, new AddedTimers([had, added]));
  }

  /** Records that timer `t` is in the last snapshot (a restore). */
  persistTimer(t: Timer): void {
    const m = this.timersPersisted;
    const had = m.get(t.id);
    if (had === undefined) m.set(t.id, t);
    else if (Array.isArray(had)) had.push(t);
    else m.set(t.id, [had, t]);
  }

  /**
   * The pending timers of a key whose timers changed since the last snapshot (see {@link timersDirty}), in no
   * particular order, and what the last snapshot had of it from now on. Called by the delta, once per changed key.
   */
  takeTimersOf(id: KeyId): Timer[] {
    const now: Timer[] = [];
    pushLive(now, this.timersPersisted.get(id));
    pushLive(now, this.timersDirty.get(id));
    this.persistedDead.delete(id);
    if (now.length === 0) this.timersPersisted.delete(id);
    else this.timersPersisted.set(id, now.length === 1 ? (now[0] as Timer) : now);
    return now;
  }

  /**
   * The changes of a key whose timers changed since the last snapshot, when they are fewer than half of its timers
   * (then a delta writes them as a patch: `gone`, the registration numbers of timers of the last snapshot popped or
   * deleted since; `added`, the live timers registered since), and what the last snapshot has of the key from now on;
   * undefined when the key is better written whole ({@link takeTimersOf}). Called by the delta, once per changed key,
   * in O(its changes): a key with many timers, a few of them changing between snapshots, is not written whole.
   */
  takeTimerPatch(id: KeyId): { readonly gone: readonly number[]; readonly added: readonly Timer[] } | undefined {
    const persisted = this.timersPersisted.get(id);
    if (persisted === undefined) return undefined;
    const list = Array.isArray(persisted) ? persisted : [persisted];
    const dead = this.persistedDead.get(id) ?? 0;
    const gone = this.timersGone.get(id) ?? [];
    const added: Timer[] = [];
    pushLive(added, this.timersDirty.get(id));
    const live = list.length - dead - gone.length + added.length;
    if (live <= 0 || 2 * (gone.length + added.length) >= live) return undefined;
    let kept = list;
    for (const t of added) kept.push(t);
    let deadNow = dead + gone.length;
    if (2 * deadNow >= kept.length) {
      kept = kept.filter((t) => t.live);
      deadNow = 0;
    }
    this.timersPersisted.set(id, kept);
    if (deadNow > 0) this.persistedDead.set(id, deadNow);
    else this.persistedDead.delete(id);
    return { gone, added };
  }

  /** After a full snapshot: the timers it wrote, by key. */
  persistAllTimers(byKey: ReadonlyMap<KeyId, Timer[]>): void {
    const m = new Map<KeyId, KeyTimers>();
    for (const [id, list] of byKey) m.set(id, list.length === 1 ? (list[0] as Timer) : list);
    this.timersPersisted = m;
    this.persistedDead.clear();
  }

  /**
   * Counts `n` changes recorded since the last snapshot, of entries the last snapshot had (`persisted`: updated or
   * removed) or created since. A delta writes `updated + created` entries, a full snapshot about `entries + created`
   * (`entries`: the state's at the last snapshot); once the full one writes at most twice what the delta would —
   * `2 · updated + created ≥ entries` — and at least {@link SATURATION_MIN} changes were recorded, tracking stops until
   * the next snapshot, which is then a full one: tracking every further change would cost a lookup per write (at
   * high rates, where every key changes between two checkpoints, most of a checkpoint's cost) to save at most half
   * the snapshot. New entries weigh half: a state that grows (every key new, none changed) saturates only once it
   * doubled since the last snapshot, not when half of it is new — its deltas stay exact.
   */
  private changed(n: number, persisted: boolean): void {
    this.changes += n;
    if ((this.weight += persisted ? 2 * n : n) >= this.saturateAt && this.changes >= SATURATION_MIN) {
      this.b.tracking = false;
      this.saturated = true;
      this.clear();
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
  trackNext(): void {
    if (this.intervalTracked) {
      if (this.saturated) this.untracked = this.saturatedStreak = Math.min(this.saturatedStreak + 1, SATURATION_SKIP_MAX);
      else this.saturatedStreak = 0;
    }
    this.saturated = false;
    this.clear();
    this.seqAtSnapshot = this.b.timerSeq;
    if (this.untracked > 0) {
      this.untracked--;
      this.b.tracking = this.intervalTracked = false;
      return;
    }
    this.b.tracking = this.intervalTracked = true;
    this.resetSaturation();
  }

  /** After a restore: the restored state is the last snapshot; track from here, counting afresh. */
  trackAfterRestore(): void {
    this.b.tracking = this.intervalTracked = true;
    this.seqAtSnapshot = this.b.timerSeq;
    this.saturated = false;
    this.saturatedStreak = this.untracked = 0;
    this.resetSaturation();
  }

  /** Where {@link changed} stops tracking, from the state's current size. */
  private resetSaturation(): void {
    this.changes = this.weight = 0;
    this.saturateAt = this.b.entryCount;
  }

  private clear(): void {
    for (const d of this.dirty) d.clear();
    for (const d of this.nsDirty) d.clear();
    for (const f of this.freshNs) f.clear();
    this.lastFresh.fill(undefined);
    this.timersDirty.clear();
    this.timersGone.clear();
  }
}
