import type { Key } from '../elements/index.js';
import type { KeyId } from '../keys/keyId.js';
import type { Namespace } from '../timers/queue.js';
import type { KeyedStateBackend } from './backend.js';
import type { StateDescriptor } from './descriptors.js';
import { expiredFront, keepOnly, type MapItem, type TtlBox, type TtlItem } from './handles.js';
import { MapChanges, type EntryChange } from './tracking.js';

/**
 * Cleanup of expired TTL state (docs/SEMANTICS.md §6.2), for a `KeyedStateBackend` with TTL'd states: a full snapshot
 * drops every expired value first; an incremental one checks the entries changed since the last snapshot plus a
 * rotating batch of keys per TTL'd state (Flink's incremental cleanup); and every so many writes of TTL'd state, the
 * same rotation goes on by twice as many keys (`sweep`), so that expired state goes as fast as new state comes, in a
 * job that checkpoints rarely or never. Reads drop what they find
 * expired themselves (`src/state/handles.ts`); this only makes sure state nobody reads again goes away too. Removals
 * are tracked like any other change.
 *
 * @example
 * ```ts
 * const cleanup = new TtlCleanup(backend, 1000);
 * cleanup.expireAll(backend.now()); // before a full snapshot
 * ```
 * @internal
 */
export class TtlCleanup {
  /** per state: where the rotating pass over its keys goes on */
  private readonly cursors: (Iterator<KeyId> | undefined)[];
  /**
   * per state: what the rotating pass spent beyond its batch (a list or map costs its entries): taken from the next
   * passes' batches, so that a big value costs about a batch per snapshot on average, not its size at every snapshot
   */
  private readonly overspent: number[];

  /** `batch`: how many keys one incremental snapshot checks, per TTL'd state. */
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly batch: number,
  ) {
    this.cursors = b.names.map(() => undefined);
    this.overspent = b.names.map(() => 0);
  }

  /**
   * Drops expired TTL data of state `i` at (id, ns): the whole value, or list elements / map entries (each map entry
   * dropped tracked on its own: the next delta deletes those, see `ChangeTracker.markMapEntry`). Returns how many
   * items or entries it looked at. `everywhere`: a list's elements all checked (before a full snapshot), not only its
   * front.
   */
  expire(i: number, id: KeyId, ns: Namespace, now: number, everywhere = false): number {
    const b = this.b;
    const d = b.descriptors[i] as StateDescriptor;
    const ttl = d.ttl;
    if (ttl === undefined) return 0;
    const v = ns === '' ? (b.cols[i] as Map<KeyId, unknown>).get(id) : b.namespaced.get(i, id, ns);
    if (v === undefined) return 0;
    if (d.kind === 'list') {
      const items = v as TtlItem<unknown>[];
      if (everywhere) {
        // (times out of order: a restore, or a clock set back, stamped later items earlier than older ones)
        const alive = items.filter((x) => x.t + ttl.ms > now);
        if (alive.length === items.length) return items.length;
        if (alive.length === 0) b.removeAt(i, id, ns);
        else {
          if (b.tracking) b.tracker.mark(i, id, ns);
          keepOnly(items, alive);
        }
        return items.length;
      }
      // the items' times do not decrease along the list (an add stamps now, a refresh stamps every live item now)
      // unless a restore or a clock set back stamped later ones earlier: the expired ones are a prefix here, found by
      // looking at it and the first live item (a full snapshot checks them all). The prefix is cut once it is half
      // the list or more: cutting the front moves every item after it, so a long list cut (or its prefix counted) at
      // every pass would cost its length each time — the cuts now add up to about twice the items dropped; reads
      // leave out the expired items meanwhile.
      // (in time order, the item at the middle tells whether half the list expired: one look when it did not)
      const middle = items[((items.length + 1) >>> 1) - 1];
      if (middle === undefined || middle.t + ttl.ms > now) return 1;
      let expired = 0;
      while (expired < items.length && (items[expired] as TtlItem<unknown>).t + ttl.ms <= now) expired++;
      if (2 * expired < items.length) return expired + 1;
      b.dropListFrontAt(i, id, ns, items, expired);
      return expired + 1;
    }
    if (d.kind === 'map') {
      const m = v as Map<KeyId, MapItem<Key, unknown>>;
      const gone: KeyId[] = [];
      const size = m.size;
      for (const [k, x] of m) if (x.t + ttl.ms <= now) gone.push(k);
      b.deleteMapEntriesAt(i, id, ns, m, gone);
      return size;
    }
    if ((v as TtlBox).t + ttl.ms <= now) b.removeAt(i, id, ns);
    return 1;
  }

  /**
   * Whether key `id` has a value in state `i` (default namespace) that a read could return, dropping what it finds
   * expired on the way (each dropped once: the checks add up to the state's size over a run, not per call). A value:
   * its time; a list: its newest item (they are in time order but for a restore: an expired newest one makes the
   * list checked whole); a map: its entries up to the first live one, the expired ones before it dropped.
   */
  isVisible(i: number, id: KeyId, now: number): boolean {
    const b = this.b;
    const d = b.descriptors[i] as StateDescriptor;
    const ttl = d.ttl;
    const v = (b.cols[i] as Map<KeyId, unknown>).get(id);
    if (v === undefined) return false;
    if (ttl === undefined || ttl.visibility === 'return-expired-if-not-cleaned-up') return true;
    if (d.kind === 'list') {
      const items = v as TtlItem<unknown>[];
      const last = items[items.length - 1];
      if (last !== undefined && last.t + ttl.ms > now) return true;
      this.expire(i, id, '', now, true);
    } else if (d.kind === 'map') {
      const m = v as Map<KeyId, MapItem<Key, unknown>>;
      const { gone, live } = expiredFront(m, ttl.ms, now);
      b.deleteMapEntriesAt(i, id, '', m, gone);
      if (live) return true;
    } else if ((v as TtlBox).t + ttl.ms <= now) b.removeAt(i, id, '');
    return (b.cols[i] as Map<KeyId, unknown>).has(id);
  }

  /** Drops the expired TTL data of a key in state `i`, in every namespace. */
  private expireKey(i: number, id: KeyId, now: number): void {
    this.expire(i, id, '', now, true);
    for (const ns of this.b.namespaced.namespacesOf(i, id)) this.expire(i, id, ns, now, true);
  }

  /** Drops every expired value (before a full snapshot). */
  expireAll(now: number): void {
    const b = this.b;
    for (let i = 0; i < b.descriptors.length; i++) {
      if ((b.descriptors[i] as StateDescriptor).ttl === undefined) continue;
      const ids = new Set<KeyId>([...(b.cols[i] as Map<KeyId, unknown>).keys(), ...b.namespaced.ids(i)]);
      for (const id of ids) this.expireKey(i, id, now);
    }
  }

  /**
   * Before an incremental snapshot (tracking on): a rotating batch of keys per TTL'd state, then the entries changed
   * since the last snapshot. The deletions recorded can saturate the tracking (the snapshot must then be full): the
   * caller chooses between full and delta after this.
   */
  expireBeforeDelta(now: number): void {
    const b = this.b;
    this.incremental(now);
    for (let i = 0; i < b.descriptors.length && b.tracking; i++) {
      if ((b.descriptors[i] as StateDescriptor).ttl === undefined) continue;
      // (a map changed entry by entry is left to the rotating pass: checking all its entries here, at every
      // snapshot, would cost what writing it whole did)
      for (const [id, was] of [...(b.tracker.dirty[i] as ReadonlyMap<KeyId, EntryChange>)]) if (!(was instanceof MapChanges)) this.expire(i, id, '', now);
      for (const [ns, m] of [...(b.tracker.nsDirty[i] as ReadonlyMap<Namespace, ReadonlyMap<KeyId, EntryChange>>)]) {
        for (const [id, was] of [...m]) if (!(was instanceof MapChanges)) this.expire(i, id, ns, now);
      }
    }
  }

  /**
   * A pass on the record path (`KeyedStateBackend.wroteTtl`): `budget` keys of each TTL'd state checked, where its
   * rotation goes on — so expired state goes at the pace TTL'd state is written, with or without checkpoints.
   */
  sweep(now: number, budget: number): void {
    this.incremental(now, budget);
  }

  /** A bounded, rotating pass over the keys of each TTL'd state (Flink's incremental cleanup). */
  private incremental(now: number, batch = this.batch): void {
    const b = this.b;
    for (let i = 0; i < b.descriptors.length; i++) {
      if ((b.descriptors[i] as StateDescriptor).ttl === undefined) continue;
      const col = b.cols[i] as Map<KeyId, unknown>;
      // (what a pass looked at beyond its batch is taken from the next ones: a big list or map costs about a batch
      // a snapshot on average, and each key is still reached within a rotation)
      let budget = batch - (this.overspent[i] as number);
      let visits = col.size;
      while (budget > 0 && visits-- > 0) {
        let r = this.cursors[i]?.next();
        if (r === undefined || r.done === true) {
          this.cursors[i] = col.keys();
          r = (this.cursors[i] as Iterator<KeyId>).next();
          if (r.done === true) break;
        }
        budget -= Math.max(1, this.expire(i, r.value, '', now));
      }
      this.overspent[i] = budget < 0 ? -budget : 0;
    }
  }
}
