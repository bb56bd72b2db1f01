import type { Key } from '../elements/index.js';
import type { KeyId } from '../keys/keyId.js';
import type { Namespace } from '../timers/queue.js';
import type { KeyedStateBackend } from './backend.js';
import type { StateDescriptor } from './descriptors.js';
import { keepOnly, type MapItem, type TtlBox, type TtlItem } from './handles.js';

/**
 * Cleanup of expired TTL state (docs/SEMANTICS.md §6.2) at snapshot time, for a `KeyedStateBackend` with TTL'd states:
 * a full snapshot drops every expired value first; an incremental one checks the entries changed since the last
 * snapshot plus a rotating batch of keys per TTL'd state (Flink's incremental cleanup). Reads drop what they find
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

  /** `batch`: how many keys one incremental snapshot checks, per TTL'd state. */
  constructor(
    private readonly b: KeyedStateBackend,
    private readonly batch: number,
  ) {
    this.cursors = b.names.map(() => undefined);
  }

  /** Drops expired TTL data of state `i` at (id, ns): the whole value, or list elements / map entries. */
  expire(i: number, id: KeyId, ns: Namespace, now: number): void {
    const b = this.b;
    const d = b.descriptors[i] as StateDescriptor;
    const ttl = d.ttl;
    if (ttl === undefined) return;
    const v = ns === '' ? (b.cols[i] as Map<KeyId, unknown>).get(id) : b.namespaced.get(i, id, ns);
    if (v === undefined) return;
    if (d.kind === 'list') {
      const items = v as TtlItem<unknown>[];
      const alive = items.filter((x) => x.t + ttl.ms > now);
      if (alive.length === items.length) return;
      if (alive.length === 0) b.removeAt(i, id, ns);
      else {
        if (b.tracking) b.tracker.mark(i, id, ns);
        keepOnly(items, alive);
      }
    } else if (d.kind === 'map') {
      const m = v as Map<KeyId, MapItem<Key, unknown>>;
      const gone = [...m].filter(([, x]) => x.t + ttl.ms <= now);
      if (gone.length === 0) return;
      if (gone.length === m.size) b.removeAt(i, id, ns);
      else {
        if (b.tracking) b.tracker.mark(i, id, ns);
        for (const [k] of gone) m.delete(k);
      }
    } else if ((v as TtlBox).t + ttl.ms <= now) {
      b.removeAt(i, id, ns);
    }
  }

  /** Drops the expired TTL data of a key in state `i`, in every namespace. */
  private expireKey(i: number, id: KeyId, now: number): void {
    this.expire(i, id, '', now);
    for (const ns of this.b.namespaced.namespacesOf(i, id)) this.expire(i, id, ns, now);
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
      for (const id of [...(b.tracker.dirty[i] as ReadonlyMap<KeyId, unknown>).keys()]) this.expire(i, id, '', now);
      for (const [ns, m] of [...(b.tracker.nsDirty[i] as ReadonlyMap<Namespace, ReadonlyMap<KeyId, unknown>>)]) for (const id of [...m.keys()]) this.expire(i, id, ns, now);
    }
  }

  /** A bounded, rotating pass over the keys of each TTL'd state (Flink's incremental cleanup). */
  private incremental(now: number): void {
    const b = this.b;
    for (let i = 0; i < b.descriptors.length; i++) {
      if ((b.descriptors[i] as StateDescriptor).ttl === undefined) continue;
      const col = b.cols[i] as Map<KeyId, unknown>;
      let budget = Math.min(this.batch, col.size);
      while (budget-- > 0) {
        let r = this.cursors[i]?.next();
        if (r === undefined || r.done === true) {
          this.cursors[i] = col.keys();
          r = (this.cursors[i] as Iterator<KeyId>).next();
          if (r.done === true) break;
        }
        this.expire(i, r.value, '', now);
      }
    }
  }
}
