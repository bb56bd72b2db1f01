// The rows of a delta snapshot that change a keyed entry instead of replacing it (docs/SEMANTICS.md §6.3): an append
// row adds items to a list, a patch row sets and deletes entries of a map. `mergeSnapshots` folds them into the entry
// the chain has before them; everything here is that fold, on the payloads' JSON (the state codec's form, not decoded
// but for map keys, which are compared as the state backend compares them: by key id).
import { describeValue } from '../errors/index.js';
import { keyIdOf, type KeyId } from '../keys/keyId.js';
import { decodeParsed } from '../state/codec.js';
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

/** Whether `flag` (a payload's first item) is that of an append or patch row. */
function changesEntry(flag: unknown): boolean {
  return flag === APPEND || flag === APPEND_TTL || flag === MAP_PATCH || flag === MAP_PATCH_TTL || flag === TIMERS_PATCH;
}

/**
 * The payload of entry `e` of a delta when it is an append or patch row; undefined for a row that replaces its entry
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
  // (an entry of text — a raw row's entry that crossed a thread as a copy —: `[2,` … `[5,` of a keyed state's path,
  // `[6,` of a key's timers)
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

/** The key id of a map entry's key in its JSON form (`[key, value, time?]` or a delete `[key]`). */
function mapKeyId(op: unknown): KeyId {
  return keyIdOf(decodeParsed((op as unknown[])[0]) as Key);
}

/**
 * An entry of the merged table changed by append or patch rows: its payload is its own, so later rows of the chain
 * change it in place (O(1) per item or map entry however long the chain); a map's entries found by key id.
 */
interface OwnEntry {
  readonly entry: SnapshotEntry;
  /** `[0 | 1, items]`: a list's items or a map's entries (a deleted one `undefined` until {@link DeltaFold.finish}) */
  readonly payload: [number, unknown[]];
  index: Map<KeyId, number> | undefined;
  holes: number;
  /** a list's items before this index are dropped (cut off by {@link DeltaFold.finish}) */
  start: number;
}

/**
 * Folds the append and patch rows of a chain into the entries before them (see {@link APPEND}, {@link MAP_PATCH}):
 * {@link apply} per such row, in chain order, then {@link finish}. Items and entries with TTL times and without (a
 * TTL configuration changed across a restore) fold into a value without times: a restore with TTL gives them the
 * current time.
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
    const [flag, items] = change;
    if (flag === TIMERS_PATCH) {
      this.patchTimers(table, e, change);
      return;
    }
    const list = flag === APPEND || flag === APPEND_TTL;
    const what = list ? 'append row' : 'patch row';
    const base = table.get(e.path);
    if (base === undefined) {
      throw new Error(`mergeSnapshots: operator ${this.operator}: the ${what} of ${e.path} has no ${list ? 'list' : 'map'} before it in the chain (a checkpoint of the chain is missing)`);
    }
    if (!Array.isArray(items)) throw new Error(`mergeSnapshots: operator ${this.operator}: the ${what} of ${e.path} is malformed`);
    let own = this.own.get(e.path);
    if (own === undefined || own.entry !== base) {
      const [baseFlag, baseItems] = payloadOf(base);
      if ((baseFlag !== 0 && baseFlag !== 1) || !Array.isArray(baseItems)) {
        throw new Error(`mergeSnapshots: operator ${this.operator}: the ${what} of ${e.path} follows an entry that is not a ${list ? 'list' : 'map'}`);
      }
      const payload: [number, unknown[]] = [baseFlag, baseItems.slice()];
      own = { entry: rawEntry(base.keyGroup, e.path, payload), payload, index: undefined, holes: 0, start: 0 };
      this.own.set(e.path, own);
      table.set(e.path, own.entry);
    }
    const timed = flag === APPEND_TTL || flag === MAP_PATCH_TTL;
    if (own.payload[0] === 1 && !timed) this.dropTimes(own, list);
    const untime = own.payload[0] === 0 && timed;
    if (list) {
      const into = own.payload[1];
      const dropped = change[2] ?? 0;
      if (!(typeof dropped === 'number' && Number.isSafeInteger(dropped) && dropped >= 0 && own.start + dropped <= into.length)) {
        throw new Error(`mergeSnapshots: operator ${this.operator}: the append row of ${e.path} drops ${describeValue(dropped)} items of a list of ${into.length - own.start}`);
      }
      own.start += dropped;
      if (untime) for (const x of items) into.push((x as unknown[])[0]);
      else for (const x of items) into.push(x);
    } else this.patch(own, items, untime);
  }

  /** The items or entries of `own` without their TTL times (the last item of each). */
  private dropTimes(own: OwnEntry, list: boolean): void {
    const items = own.payload[1];
    for (let k = 0; k < items.length; k++) {
      const x = items[k] as unknown[] | undefined;
      if (x !== undefined) items[k] = list ? x[0] : [x[0], x[1]];
    }
    own.payload[0] = 0;
  }

  /** Applies a patch's operations to the map entries of `own` (`untime`: set entries without their times). */
  private patch(own: OwnEntry, ops: readonly unknown[], untime: boolean): void {
    const entries = own.payload[1];
    let index = own.index;
    if (index === undefined) {
      index = new Map();
      for (let k = 0; k < entries.length; k++) index.set(mapKeyId(entries[k]), k);
      own.index = index;
    }
    for (const op of ops) {
      if (!Array.isArray(op) || op.length === 0) throw new Error(`mergeSnapshots: operator ${this.operator}: the patch row of ${own.entry.path} has a malformed operation ${describeValue(op)}`);
      const id = mapKeyId(op);
      const at = index.get(id);
      if (op.length === 1) {
        if (at !== undefined) {
          entries[at] = undefined;
          index.delete(id);
          own.holes++;
        }
        continue;
      }
      const entry = untime ? [op[0], op[1]] : op;
      if (at !== undefined) entries[at] = entry;
      else {
        index.set(id, entries.length);
        entries.push(entry);
      }
    }
  }

  /**
   * Applies a key's timers patch: its base is a whole timers row (`[[domain, ns, timestamp, seq], …]`), whose copy the
   * fold owns (the entry's payload is that list itself); timers found by registration number.
   */
  private patchTimers(table: Map<string, SnapshotEntry>, e: SnapshotEntry, change: readonly unknown[]): void {
    const [, added, gone] = change;
    const base = table.get(e.path);
    if (base === undefined) {
      // (a key whose timers the chain does not have: a patch is only written for a key with timers in the last snapshot)
      throw new Error(`mergeSnapshots: operator ${this.operator}: the timers patch row of ${e.path} has no timers before it in the chain (a checkpoint of the chain is missing)`);
    }
    if (!Array.isArray(added) || !Array.isArray(gone)) throw new Error(`mergeSnapshots: operator ${this.operator}: the timers patch row of ${e.path} is malformed`);
    let own = this.own.get(e.path);
    if (own === undefined || own.entry !== base) {
      const timers = payloadOf(base);
      const list = timers.slice();
      own = { entry: rawEntry(base.keyGroup, e.path, list), payload: [TIMERS_PATCH, list], index: undefined, holes: 0, start: 0 };
      this.own.set(e.path, own);
      table.set(e.path, own.entry);
    }
    const timers = own.payload[1];
    let index = own.index;
    if (index === undefined) {
      index = new Map();
      for (let k = 0; k < timers.length; k++) index.set((timers[k] as unknown[])[3] as KeyId, k);
      own.index = index;
    }
    for (const seq of gone) {
      const at = index.get(seq as KeyId);
      if (at === undefined) continue;
      timers[at] = undefined;
      index.delete(seq as KeyId);
      own.holes++;
    }
    for (const t of added) {
      index.set((t as unknown[])[3] as KeyId, timers.length);
      timers.push(t);
    }
  }

  /** Ends the fold: the lists' dropped items and the maps' deleted entries go (a value left empty, from the table). */
  finish(table: Map<string, SnapshotEntry>): void {
    for (const [path, own] of this.own) {
      if (own.payload[0] === TIMERS_PATCH) {
        // (in place: the entry's payload is this list)
        if (own.holes === 0 || table.get(path) !== own.entry) continue;
        const timers = own.payload[1];
        let n = 0;
        for (const t of timers) if (t !== undefined) timers[n++] = t;
        timers.length = n;
        if (n === 0) table.delete(path);
        continue;
      }
      if ((own.holes === 0 && own.start === 0) || table.get(path) !== own.entry) continue;
      const kept = own.holes > 0 ? own.payload[1].filter((x) => x !== undefined) : own.payload[1].slice(own.start);
      if (kept.length === 0) table.delete(path);
      else own.payload[1] = kept;
    }
  }
}
