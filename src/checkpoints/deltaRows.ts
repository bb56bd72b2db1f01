// The rows of a delta snapshot that change a keyed entry instead of replacing it (docs/SEMANTICS.md §6.3): an append
// row adds items to a list, a patch row sets and deletes entries of a map (or a key's timers), a blocks row keeps
// blocks of a value by index, a sets row grows the Sets of a value. `mergeSnapshots` folds them into the entry the
// chain has before them; everything here is that fold, on the payloads' JSON (the state codec's form, not decoded
// but for map keys, which are compared as the state backend compares them: by key id).
import { describeValue } from '../errors/index.js';
import { keyIdOf, type KeyId } from '../keys/keyId.js';
import { decodeParsed, setOwn } from '../state/codec.js';
import type { Key } from '../elements/index.js';
import { rawEntry, rawPayloadOf, type SnapshotEntry } from './snapshot.js';

/**
 * The first item of an append row's payload (`[2, items]`): items to append to the list state the entry's path names;
 * {@link APPEND_TTL} for items with their TTL times (`[3, [[item, time], …]]`). A third item, when there, is how many
 * items to drop from the front of the list first (expired under TTL: `[3, items, 2]`). A value payload starts with 0
 * or 1 (without or with TTL).
 *
 * @example
 * ```ts
 * const row = [APPEND, [4, 5]]; // the list gets 4 and 5 at its end
 * ```
 * @internal
 */
export const APPEND = 2;
/** See {@link APPEND}. @internal */
export const APPEND_TTL = 3;
/**
 * The first item of a patch row's payload (`[4, ops]`): operations on the map state the entry's path names, in order,
 * each `[key, value]` (set: in place when the key is there, else at the end) or `[key]` (delete);
 * {@link MAP_PATCH_TTL} with TTL times (`[5, [[key, value, time] | [key], …]]`).
 *
 * @example
 * ```ts
 * const row = [MAP_PATCH, [['a', 1], ['b']]]; // a set to 1, b deleted
 * ```
 * @internal
 */
export const MAP_PATCH = 4;
/** See {@link MAP_PATCH}. @internal */
export const MAP_PATCH_TTL = 5;
/**
 * The first item of a key's timers patch row (path `["t", key]`, `[6, added, gone]`): timers registered since the
 * last snapshot, as a whole timers row holds them (`[domain, namespace, timestamp, seq]`), and the registration
 * numbers (`seq`) of the timers popped or deleted since. A whole timers row is a list of timers (`[[…], …]`).
 *
 * @example
 * ```ts
 * const row = [TIMERS_PATCH, [[0, '', 5_000, 12]], [3]]; // event timer at 5 000 added, timer 3 gone
 * ```
 * @internal
 */
export const TIMERS_PATCH = 6;
/**
 * The first item of a blocks row's payload (`[7, blocks]`): the new list of blocks of a value stored as a list of
 * blocks (an engine's layout: the interval join's buffer of a key with many timestamps), each item the index of a
 * block of the value before the row (kept as it was), or −m after such an index (the m blocks after that one, kept
 * too), or a block written whole (new, or changed since).
 *
 * @example
 * ```ts
 * const row = [BLOCKS_PATCH, [1, -1, [5_000, ['x']]]]; // block 0 gone, blocks 1 and 2 kept, a block appended
 * ```
 * @internal
 */
export const BLOCKS_PATCH = 7;
/**
 * The first item of a sets row's payload (`[8, value]`): the new value of a value-like state (no TTL), written as a
 * whole value is, except that a `Set` of the value before the row that has only grown since is written as
 * `{"$s+": [k, items]}`: the value before the row's `k`-th Set (counting every Set of that value in the order the
 * codec writes them: a Set before its items, an object's properties and an array's items in order), with `items`
 * appended. A distinct count's Set grows by what arrived since the last checkpoint, and only that is written.
 *
 * @example
 * ```ts
 * const row = [SETS_PATCH, { n: 7, ids: { '$s+': [0, [41, 42]] } }]; // ids: the first Set before, plus 41 and 42
 * ```
 * @internal
 */
export const SETS_PATCH = 8;
/** The tag of a Set in a sets row that is the value before the row's Set, appended to (see {@link SETS_PATCH}). @internal */
export const SET_APPEND_TAG = '$s+';

/** Whether `flag` (a payload's first item) is that of an append, patch, timers patch, blocks or sets row. */
function changesEntry(flag: unknown): boolean {
  return flag === APPEND || flag === APPEND_TTL || flag === MAP_PATCH || flag === MAP_PATCH_TTL || flag === TIMERS_PATCH || flag === BLOCKS_PATCH || flag === SETS_PATCH;
}

/**
 * The payload of entry `e` of a delta when it is an append, patch, blocks or sets row; undefined for a row that replaces its entry
 * (or deletes it).
 *
 * @example
 * ```ts
 * const change = changePayloadOf(entry); // [2, [4, 5]], or undefined
 * ```
 * @internal
 */
export function changePayloadOf(e: SnapshotEntry): unknown[] | undefined {
  const raw = rawPayloadOf(e);
  if (raw !== undefined) return changesEntry(raw[0]) ? raw : undefined;
  // (an entry of text — a raw row's entry that crossed a thread as a copy —: `[2,` … `[5,`, `[7,`, `[8,` of a keyed
  // state's path, `[6,` of a key's timers)
  const v = e.value;
  if (v === undefined || v.charCodeAt(0) !== 91 || v.charCodeAt(2) !== 44) return undefined;
  const flag = v.charCodeAt(1) - 48;
  if (!(flag === TIMERS_PATCH ? e.path.startsWith('["t",') : changesEntry(flag) && e.path.startsWith('["s",'))) return undefined;
  const payload: unknown = JSON.parse(v);
  return Array.isArray(payload) ? payload : undefined;
}

/** The payload of an entry, parsed (a raw row's as it is). */
function payloadOf(e: SnapshotEntry): unknown[] {
  const raw = rawPayloadOf(e);
  if (raw !== undefined) return raw;
  const parsed: unknown = JSON.parse(e.value as string);
  if (!Array.isArray(parsed)) throw new Error(`mergeSnapshots: the entry ${e.path} holds ${describeValue(e.value)}, not a state payload`);
  return parsed;
}

/** A Set of a value's JSON: its tag (`$s`, or `$t` for a TrackedSet) and its items. */
interface SetJson {
  readonly tag: '$s' | '$t';
  readonly items: unknown[];
}

/**
 * Collects every Set in a value's JSON (the codec's `{"$s": items}` and a TrackedSet's `{"$t": items}`), in the order
 * the codec writes them: a Set before its items, an object's properties and an array's items in order (see
 * {@link SETS_PATCH}).
 */
function setsOf(x: unknown, out: SetJson[]): void {
  if (Array.isArray(x)) {
    for (const y of x) setsOf(y, out);
    return;
  }
  if (x === null || typeof x !== 'object') return;
  const o = x as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const tag = keys[0];
    const items = o[tag as string];
    if ((tag === '$s' || tag === '$t') && Array.isArray(items)) out.push({ tag, items });
  }
  for (const key of keys) setsOf(o[key], out);
}

/** The key id of a map entry's key in its JSON form (`[key, value, time?]` or a delete `[key]`). */
function mapKeyId(op: unknown): KeyId {
  return keyIdOf(decodeParsed((op as unknown[])[0]) as Key);
}

/**
 * An entry of the merged table changed by append or patch rows: its payload is its own, so later rows of the chain
 * change it in place (O(1) per item, map entry or timer, however long the chain).
 */
interface OwnEntry {
  readonly entry: SnapshotEntry;
  /** a value's payload `[0 | 1, items]` (a list's items, a map's entries); undefined for a key's timers */
  readonly payload: [number, unknown[]] | undefined;
  /**
   * what the rows change: the list's items, the map's entries, the key's timers (the timers row's payload itself);
   * one deleted is `undefined` (no item, entry or timer of a payload's JSON is) until {@link DeltaFold.finish}
   */
  readonly items: unknown[];
  /** a map's entries by key id, a key's timers by registration number (made at the first patch) */
  index: Map<KeyId, number> | undefined;
  /** a list's items before this index are dropped */
  start: number;
  /** whether some of {@link items} are deleted or dropped */
  cut: boolean;
}

/**
 * Folds the append, patch, blocks and sets rows of a chain into the entries before them (see {@link APPEND},
 * {@link MAP_PATCH}, {@link TIMERS_PATCH}, {@link BLOCKS_PATCH}, {@link SETS_PATCH}): {@link apply} per such row, in chain order, then {@link finish}. Items and entries with TTL
 * times and without (a TTL configuration changed across a restore) fold into a value without times: a restore with
 * TTL gives them the current time.
 *
 * @example
 * ```ts
 * const fold = new DeltaFold('op');
 * fold.apply(table, entry, changePayloadOf(entry));
 * fold.finish(table);
 * ```
 * @internal
 */
export class DeltaFold {
  private readonly own = new Map<string, OwnEntry>();

  constructor(private readonly operator: string) {}

  /** Applies row `e` (its payload `change`) to the entry of its path in `table`. */
  apply(table: Map<string, SnapshotEntry>, e: SnapshotEntry, change: readonly unknown[]): void {
    const [flag, items, third] = change;
    if (flag === SETS_PATCH) {
      this.appendSets(table, e, items);
      return;
    }
    const timers = flag === TIMERS_PATCH;
    const list = flag === APPEND || flag === APPEND_TTL;
    const blocks = flag === BLOCKS_PATCH;
    const what = timers ? 'timers patch row' : list ? 'append row' : blocks ? 'blocks row' : 'patch row';
    const base = table.get(e.path);
    if (base === undefined) {
      throw new Error(`mergeSnapshots: operator ${this.operator}: the ${what} of ${e.path} has no ${timers ? 'timers' : list ? 'list' : blocks ? 'blocks' : 'map'} before it in the chain (a checkpoint of the chain is missing)`);
    }
    if (!Array.isArray(items) || (timers && !Array.isArray(third))) throw new Error(`mergeSnapshots: operator ${this.operator}: the ${what} of ${e.path} is malformed`);
    const own = this.ownEntry(table, e, base, timers, what, list ? 'list' : blocks ? 'list of blocks' : 'map');
    if (timers) {
      const index = this.indexOf(own, (t) => (t as unknown[])[3] as KeyId);
      for (const seq of third as unknown[]) this.remove(own, index, seq as KeyId);
      for (const t of items) this.put(own, index, (t as unknown[])[3] as KeyId, t);
      return;
    }
    if (blocks) {
      this.replaceBlocks(own, e, items);
      return;
    }
    const payload = own.payload as [number, unknown[]];
    const timed = flag === APPEND_TTL || flag === MAP_PATCH_TTL;
    if (payload[0] === 1 && !timed) this.dropTimes(own, list);
    const untime = payload[0] === 0 && timed;
    if (list) {
      const into = own.items;
      const dropped = third ?? 0;
      if (!(typeof dropped === 'number' && Number.isSafeInteger(dropped) && dropped >= 0 && own.start + dropped <= into.length)) {
        throw new Error(`mergeSnapshots: operator ${this.operator}: the append row of ${e.path} drops ${describeValue(dropped)} items of a list of ${into.length - own.start}`);
      }
      if (dropped > 0) {
        own.start += dropped;
        own.cut = true;
      }
      for (const x of items) into.push(untime ? (x as unknown[])[0] : x);
      return;
    }
    const index = this.indexOf(own, mapKeyId);
    for (const op of items) {
      if (!Array.isArray(op) || op.length === 0) throw new Error(`mergeSnapshots: operator ${this.operator}: the patch row of ${e.path} has a malformed operation ${describeValue(op)}`);
      if (op.length === 1) this.remove(own, index, mapKeyId(op));
      else this.put(own, index, mapKeyId(op), untime ? [op[0], op[1]] : op);
    }
  }

  /**
   * A blocks row (see {@link BLOCKS_PATCH}): the entry's blocks become `items`, each an index into its blocks before the
   * row, a run after one (−m), or a block. O(blocks), whatever their size.
   */
  private replaceBlocks(own: OwnEntry, e: SnapshotEntry, items: readonly unknown[]): void {
    const before = own.items;
    const next: unknown[] = [];
    // the index of the last block kept, which a run (−m) goes on from; −1: none just before
    let last = -1;
    const kept = (k: number, x: unknown): void => {
      if (!(Number.isSafeInteger(k) && k >= 0 && k < before.length && Array.isArray(before[k]))) {
        throw new Error(`mergeSnapshots: operator ${this.operator}: the blocks row of ${e.path} has ${describeValue(x)}, neither a block, nor the index of one of the ${before.length} blocks before it, nor a run of them after one`);
      }
      next.push(before[k]);
      last = k;
    };
    for (const x of items) {
      if (Array.isArray(x)) {
        next.push(x);
        last = -1;
      } else if (typeof x === 'number' && x < 0 && last >= 0) {
        const from = last;
        for (let k = from + 1; k <= from - x; k++) kept(k, x);
      } else kept(typeof x === 'number' ? x : NaN, x);
    }
    before.length = 0;
    for (const x of next) before.push(x);
  }

  /**
   * A sets row (see {@link SETS_PATCH}): the entry becomes the row's value, each `{"$s+": [k, items]}` in it the entry's
   * `k`-th Set before the row with `items` appended. O(the value's size).
   */
  private appendSets(table: Map<string, SnapshotEntry>, e: SnapshotEntry, value: unknown): void {
    const base = table.get(e.path);
    if (base === undefined) {
      throw new Error(`mergeSnapshots: operator ${this.operator}: the sets row of ${e.path} has no value before it in the chain (a checkpoint of the chain is missing)`);
    }
    const before = payloadOf(base);
    if (before[0] !== 0 || before.length !== 2) {
      throw new Error(`mergeSnapshots: operator ${this.operator}: the sets row of ${e.path} follows an entry that is not a value without TTL`);
    }
    const sets: SetJson[] = [];
    setsOf(before[1], sets);
    const resolve = (x: unknown): unknown => {
      if (Array.isArray(x)) return x.map(resolve);
      if (x === null || typeof x !== 'object') return x;
      const o = x as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === SET_APPEND_TAG) {
        const [k, items] = (Array.isArray(o[SET_APPEND_TAG]) ? o[SET_APPEND_TAG] : []) as unknown[];
        const set = typeof k === 'number' ? sets[k] : undefined;
        if (set === undefined || !Array.isArray(items)) {
          throw new Error(`mergeSnapshots: operator ${this.operator}: the sets row of ${e.path} has ${describeValue(o[SET_APPEND_TAG])}, not the index of one of the ${sets.length} Sets of the value before it and the items to append`);
        }
        return { [set.tag]: set.items.concat(items) };
      }
      const out: Record<string, unknown> = {};
      for (const key of keys) setOwn(out, key, resolve(o[key]));
      return out;
    };
    table.set(e.path, rawEntry(e.keyGroup, e.path, [0, resolve(value)]));
  }

  /** The table's entry of `e`'s path as the fold's own (a copy of `base`, made at its first change in the fold). */
  private ownEntry(table: Map<string, SnapshotEntry>, e: SnapshotEntry, base: SnapshotEntry, timers: boolean, what: string, changes: string): OwnEntry {
    let own = this.own.get(e.path);
    if (own !== undefined && own.entry === base) return own;
    let payload: [number, unknown[]] | undefined;
    let items: unknown[];
    if (timers) items = payloadOf(base).slice();
    else {
      const [baseFlag, baseItems] = payloadOf(base);
      if ((baseFlag !== 0 && baseFlag !== 1) || !Array.isArray(baseItems)) {
        throw new Error(`mergeSnapshots: operator ${this.operator}: the ${what} of ${e.path} follows an entry that is not a ${changes}`);
      }
      payload = [baseFlag, (items = baseItems.slice())];
    }
    own = { entry: rawEntry(base.keyGroup, e.path, payload ?? items), payload, items, index: undefined, start: 0, cut: false };
    this.own.set(e.path, own);
    table.set(e.path, own.entry);
    return own;
  }

  /** The index of `own`'s items by `idOf`, made at its first use. */
  private indexOf(own: OwnEntry, idOf: (item: unknown) => KeyId): Map<KeyId, number> {
    if (own.index !== undefined) return own.index;
    const index = new Map<KeyId, number>();
    for (let k = 0; k < own.items.length; k++) if (own.items[k] !== undefined) index.set(idOf(own.items[k]), k);
    return (own.index = index);
  }

  /** Sets the item of `id`: in place when there, else at the end. */
  private put(own: OwnEntry, index: Map<KeyId, number>, id: KeyId, item: unknown): void {
    const at = index.get(id);
    if (at !== undefined) own.items[at] = item;
    else {
      index.set(id, own.items.length);
      own.items.push(item);
    }
  }

  /** Deletes the item of `id`, if there. */
  private remove(own: OwnEntry, index: Map<KeyId, number>, id: KeyId): void {
    const at = index.get(id);
    if (at === undefined) return;
    own.items[at] = undefined;
    index.delete(id);
    own.cut = true;
  }

  /** The items or entries of `own` without their TTL times (the last item of each). */
  private dropTimes(own: OwnEntry, list: boolean): void {
    const items = own.items;
    for (let k = 0; k < items.length; k++) {
      const x = items[k] as unknown[] | undefined;
      if (x !== undefined) items[k] = list ? x[0] : [x[0], x[1]];
    }
    (own.payload as [number, unknown[]])[0] = 0;
  }

  /**
   * Ends the fold: the lists' dropped items, the maps' deleted entries and the timers gone are cut out, in place (the
   * entries' payloads hold these arrays); an entry left empty goes from the table.
   */
  finish(table: Map<string, SnapshotEntry>): void {
    for (const [path, own] of this.own) {
      if (!own.cut || table.get(path) !== own.entry) continue;
      const items = own.items;
      let n = 0;
      for (let k = own.start; k < items.length; k++) if (items[k] !== undefined) items[n++] = items[k];
      items.length = n;
      if (n === 0) table.delete(path);
    }
  }
}
