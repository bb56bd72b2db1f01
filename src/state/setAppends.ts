// Sets rows (docs/SEMANTICS.md §6.3): a value whose large Sets only grew since the last snapshot is written with those
// Sets as what they gained, so that a checkpoint of a distinct count costs what arrived since, not all it holds.
import type { ChunkWriter } from '../checkpoints/snapshot.js';
import { SET_APPEND_TAG } from '../checkpoints/deltaRows.js';
import { setTrackedSetMark, trackedSetGained, trackedSetMark, trackedSetReader, trackedSetRestart, TrackedSet } from './trackedSet.js';
import { writeCodecJson, writePlainSet, writeReaderItems, type SetWriter } from './valueWriter.js';

/**
 * The fewest items a Set must hold for a snapshot to remember it (and a later one to write what it gained): a smaller
 * Set is written whole, which costs about what checking it would.
 *
 * @example
 * ```ts
 * const remembered = set.size >= SET_APPEND_MIN;
 * ```
 * @internal
 */
export const SET_APPEND_MIN = 16;

/** An item a remembered Set may hold: compared with `===`, written by the direct writer as it is. */
type SetItem = number | string | boolean | null;

const isSetItem = (x: unknown): x is SetItem => x === null || typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean';

/**
 * What the last snapshot wrote of a large Set: the row it was in (its entry's token then), its place among the Sets of
 * that row's value (`ordinal`, in the order the codec writes them), and its items then, in order.
 */
interface SetMark {
  token: SetRowToken;
  ordinal: number;
  items: SetItem[];
  /** the row that last tried to append to the Set (a Set met again in the same row is written whole there) */
  row: number;
}

/**
 * The snapshot writer's memory of a large {@link TrackedSet}, kept in the Set (`trackedSetMark`): what the last
 * snapshot that completed wrote of it — the row it was in (its entry's token then), its place among the Sets of that
 * row's value, and the reader the Set started then (what it gained since is read by it, while that reader lasts) —
 * and what the snapshot being taken wrote of it.
 */
interface TrackedMark {
  /** the last completed snapshot's write (`token` undefined: none the Set may be appended to) */
  token: SetRowToken | undefined;
  ordinal: number;
  /** the number of the reader that write started (undefined: none) */
  epoch: number | undefined;
  /** the Set's size when its reader started: it holds `size` + the items its `add` counted since, unless changed around its methods */
  size: number;
  /** whether the snapshot being taken wrote the Set (its mark is among those {@link SetAppends.commit} settles) */
  pending: boolean;
  /** its write: its place, the reader it started, its row's token (set when the row ends) */
  nextOrdinal: number;
  nextEpoch: number | undefined;
  nextSize: number;
  nextToken: SetRowToken | undefined;
}

/**
 * The token of an entry whose last row remembered Sets (`ChangeTracker.setEntries`): `misses`, how many of its rows in
 * a row could have appended to its Sets and did not (a value whose Sets are replaced rather than grown: after two, its
 * changes count towards the tracking's saturation again, see `SetAppends.isAppending`).
 *
 * @example
 * ```ts
 * const token: SetRowToken = { misses: 0 };
 * ```
 * @internal
 */
export interface SetRowToken {
  readonly misses: number;
}

/** A mark a row of the snapshot being taken makes: kept when the snapshot completes ({@link SetAppends.commit}). */
interface PendingMark {
  readonly set: Set<unknown>;
  readonly ordinal: number;
  /** the Set's items, when written whole; else the mark it was appended to, and what it gained */
  readonly items: SetItem[] | undefined;
  readonly appendedTo: SetMark | undefined;
  /** the mark's items when appended to */
  readonly base: SetItem[] | undefined;
  readonly added: SetItem[] | undefined;
  token: SetRowToken | undefined;
}

/**
 * The snapshot writer's memory of the large Sets of value-like states (no TTL), and the {@link SetWriter} of their rows.
 * A row's value is written with every Set of {@link SET_APPEND_MIN} items or more either whole (remembered: its items
 * copied, 8 bytes each) or — when the row may append (its entry was in the last snapshot, and the entry's last row is
 * the one that remembered the Set), the Set still begins with the items remembered, in order, and what it gained are
 * numbers, strings, booleans or null — as `{"$s+": [ordinal, added]}`: the payload is then a sets row (`[8, value]`,
 * `SETS_PATCH`), which a restore folds into the value before it. A Set lost from the front or the middle, or reordered
 * (deleted and added again), is written whole. A {@link TrackedSet} is not compared: what it gained is read from it by
 * the reader the write that remembered it started (see `writeTracked`), and no copy of its items is kept.
 *
 * The marks a snapshot makes count from when it completes ({@link commit}); a snapshot that fails leaves the marks of
 * the one before, and its entries' tokens changed, so that their next rows are whole. A Set that is garbage goes from
 * the memory with its mark (a `WeakMap`).
 *
 * @example
 * ```ts
 * appends.beginRow(entryWasInLastSnapshot ? last : undefined);
 * if (writeCodecJsonWith(w, value, 1, appends)) token = appends.endRow(last); else appends.discardRow();
 * appends.commit(); // once the snapshot is taken
 * ```
 * @internal
 */
export class SetAppends implements SetWriter {
  private readonly marks = new WeakMap<Set<unknown>, SetMark>();
  /** the marks of the TrackedSets the snapshot being taken wrote, and of those the row being written wrote */
  private trackedPending: TrackedMark[] = [];
  private trackedRow: TrackedMark[] = [];
  /** marks of the rows written so far in this snapshot */
  private pending: PendingMark[] = [];
  /** marks of the row being written */
  private row: PendingMark[] = [];
  /** the row being written: its entry's token before it (undefined: it may not append), Sets written so far */
  private before: SetRowToken | undefined = undefined;
  private ordinal = 0;
  /** the number of the row being written (see {@link SetMark.row}) */
  private rowNumber = 0;
  /**
   * Whether changes of an entry whose last row has `token` should not count towards the tracking's saturation: its
   * next row will likely write what its Sets gained (it missed fewer than twice).
   *
   * @example
   * ```ts
   * if (SetAppends.isAppending(token)) changes++; // not weighed
   * ```
   */
  static isAppending(token: SetRowToken | undefined): boolean {
    return token !== undefined && token.misses < 2;
  }

  /** Whether the row being written has a Set written as what it gained (its payload's flag is then 8). */
  appended = false;
  /** Bytes of the items appended in the row being written. */
  appendedBytes = 0;

  /** Starts a row; `before`: its entry's token, when the row may append to the Sets of the entry's last row. */
  beginRow(before: SetRowToken | undefined): void {
    this.before = before;
    this.ordinal = 0;
    this.rowNumber++;
    // (emptied only when not: setting an array's length is a call into the runtime, per row)
    if (this.row.length !== 0) this.row.length = 0;
    if (this.trackedRow.length !== 0) this.trackedRow.length = 0;
    this.appended = false;
    this.appendedBytes = 0;
  }

  /** The row was not written this way (the codec's path took it): nothing of it is remembered. */
  discardRow(): void {
    this.row.length = 0;
    // (its TrackedSets' marks get no token at endRow: the snapshot's commit leaves them nothing to append to)
    this.trackedRow.length = 0;
    this.appended = false;
    this.appendedBytes = 0;
  }

  /**
   * Ends a row written: its entry's new token when it remembered Sets (else undefined: the entry has none); `last`, the
   * entry's token before the row, whether or not the row could append.
   */
  endRow(last: SetRowToken | undefined): SetRowToken | undefined {
    const row = this.row;
    const trackedRow = this.trackedRow;
    if (row.length === 0 && trackedRow.length === 0) return undefined;
    // (a row that could append and did not is a miss; a row that could not — a full snapshot's, an entry new since —
    // keeps the count)
    const token: SetRowToken = { misses: this.appended || last === undefined ? 0 : this.before !== undefined ? last.misses + 1 : last.misses };
    for (let k = 0; k < row.length; k++) {
      const m = row[k] as PendingMark;
      m.token = token;
      this.pending.push(m);
    }
    row.length = 0;
    for (let k = 0; k < trackedRow.length; k++) (trackedRow[k] as TrackedMark).nextToken = token;
    trackedRow.length = 0;
    return token;
  }

  /** The snapshot is taken: its rows' marks count from now on. */
  commit(): void {
    const pending = this.pending;
    for (let k = 0; k < pending.length; k++) {
      const m = pending[k] as PendingMark;
      const token = m.token as SetRowToken;
      const mark = m.appendedTo ?? this.marks.get(m.set);
      if (m.items !== undefined) {
        if (mark === undefined) this.marks.set(m.set, { token, ordinal: m.ordinal, items: m.items, row: 0 });
        else {
          mark.token = token;
          mark.ordinal = m.ordinal;
          mark.items = m.items;
        }
        continue;
      }
      // (a row of this snapshot before it that wrote the Set whole — its Set, shared with another key's value — made
      // the mark that Set's items now: this row's items, appended to what the mark had, are the same)
      const appended = mark as SetMark;
      if (appended.items === m.base) for (const x of m.added as SetItem[]) appended.items.push(x);
      appended.token = token;
      appended.ordinal = m.ordinal;
    }
    pending.length = 0;
    // a TrackedSet is remembered as its last write in the snapshot left it (a Set met more than once — in two keys'
    // values, or twice in one — at its last place, with the reader that write started; a row not kept leaves no
    // token, so nothing to append to). Every write starts a new reader, so a row may append to a Set only when no
    // write since its entry's last row did.
    const tracked = this.trackedPending;
    for (let k = 0; k < tracked.length; k++) {
      const m = tracked[k] as TrackedMark;
      m.token = m.nextToken;
      m.ordinal = m.nextOrdinal;
      m.epoch = m.nextEpoch;
      m.size = m.nextSize;
      m.nextEpoch = undefined;
      m.pending = false;
    }
    tracked.length = 0;
  }

  /** A snapshot begins: marks of one that failed are dropped. */
  abort(): void {
    this.pending.length = 0;
    this.row.length = 0;
    this.trackedRow.length = 0;
    // (the readers the failed snapshot started are not what its marks hold: those Sets' next writes are whole)
    for (const m of this.trackedPending) {
      m.nextEpoch = undefined;
      m.pending = false;
    }
    this.trackedPending.length = 0;
  }

  writeSet(w: ChunkWriter, set: Set<unknown>, depth: number): boolean {
    const ordinal = this.ordinal++;
    if (set.size < SET_APPEND_MIN) return writePlainSet(w, set, depth);
    if (set instanceof TrackedSet) return this.writeTracked(w, set, depth, ordinal);
    const mark = this.marks.get(set);
    // (a Set met twice in one value — shared — is appended to at its first place only)
    if (mark !== undefined && mark.row === this.rowNumber) return writePlainSet(w, set, depth);
    if (mark !== undefined && this.before !== undefined && mark.token === this.before && mark.items.length <= set.size) {
      mark.row = this.rowNumber;
      const added = gained(set, mark.items);
      if (added !== undefined) {
        this.writeAppend(w, mark.ordinal, added, depth);
        this.row.push({ set, ordinal, items: undefined, appendedTo: mark, base: mark.items, added, token: undefined });
        return true;
      }
    }
    if (!writePlainSet(w, set, depth)) return false;
    // (copied natively, then checked: a Set holding anything but primitives is written, not remembered)
    const items = Array.from(set);
    if (!items.every(isSetItem)) return true;
    this.row.push({ set, ordinal, items, appendedTo: undefined, base: undefined, added: undefined, token: undefined });
    return true;
  }

  /** `{"$s+": [ordinal, added]}`: the row's value before has, as its `ordinal`-th Set, the Set that gained `added`. */
  private writeAppend(w: ChunkWriter, ordinal: number, added: readonly SetItem[], depth: number): void {
    const at = this.beginAppend(w, ordinal);
    if (!w.integerArray(added)) {
      for (let k = 0; k < added.length; k++) {
        if (k > 0) w.byte(44);
        writeCodecJson(w, added[k], depth);
      }
    }
    this.endAppend(w, at);
  }

  /**
   * {@link writeAppend} of the `count` items `reader` reads (what a TrackedSet gained); false, nothing written, when
   * one is not a number, string, boolean or null (the Set is then written whole).
   */
  private writeAppendRead(w: ChunkWriter, ordinal: number, reader: Iterator<unknown>, count: number, depth: number): boolean {
    const start = w.position;
    const at = this.beginAppend(w, ordinal);
    if (!writeReaderItems(w, reader, count, depth, isSetItem)) {
      w.rewind(start);
      return false;
    }
    this.endAppend(w, at);
    return true;
  }

  /** An append's opening, up to its items; returns where they start (for {@link endAppend}). */
  private beginAppend(w: ChunkWriter, ordinal: number): number {
    w.ascii(`{"${SET_APPEND_TAG}":[`);
    w.num(ordinal);
    w.ascii(',[');
    return w.size;
  }

  /** An append's close, its items (from `at`) counted in {@link appendedBytes}. */
  private endAppend(w: ChunkWriter, at: number): void {
    this.appendedBytes += w.size - at;
    w.ascii(']]}');
    this.appended = true;
  }

  /**
   * A large {@link TrackedSet}: as what it gained when its entry's last row wrote it and it only gained since (its
   * reader still the one that write started: no write of it since, by any row; and its size that size plus what its
   * `add` counted: nothing added or deleted around its methods, e.g. by `Set.prototype.add.call`), else whole, read by
   * a new reader; either way the reader is left after its last item, numbered anew.
   */
  private writeTracked(w: ChunkWriter, set: TrackedSet<unknown>, depth: number, ordinal: number): boolean {
    let mark = trackedSetMark(set) as TrackedMark | undefined;
    let appended = false;
    if (mark !== undefined && this.before !== undefined && mark.token === this.before && mark.epoch !== undefined) {
      const reader = trackedSetGained(set, mark.epoch, mark.size);
      if (reader !== undefined) appended = this.writeAppendRead(w, mark.ordinal, reader, set.size - mark.size, depth);
    }
    if (!appended) {
      // (whole, read by a new reader: left after the last item, it reads what the Set gains next)
      w.ascii('{"$t":[');
      if (!writeReaderItems(w, trackedSetReader(set), set.size, depth)) return false;
      w.ascii(']}');
    }
    if (mark === undefined) {
      mark = { token: undefined, ordinal: 0, epoch: undefined, size: 0, pending: false, nextOrdinal: 0, nextEpoch: undefined, nextSize: 0, nextToken: undefined };
      setTrackedSetMark(set, mark);
    }
    mark.nextOrdinal = ordinal;
    mark.nextEpoch = trackedSetRestart(set);
    mark.nextSize = set.size;
    mark.nextToken = undefined;
    if (!mark.pending) {
      mark.pending = true;
      this.trackedPending.push(mark);
    }
    this.trackedRow.push(mark);
    return true;
  }
}

/** The items `set` gained after `items` (its first items, in order), or undefined when it does not begin with them. */
function gained(set: Set<unknown>, items: readonly SetItem[]): SetItem[] | undefined {
  const n = items.length;
  const added: SetItem[] = [];
  let k = 0;
  for (const x of set) {
    if (k < n) {
      if (x !== items[k]) return undefined;
    } else if (isSetItem(x)) added.push(x);
    else return undefined;
    k++;
  }
  return added;
}
