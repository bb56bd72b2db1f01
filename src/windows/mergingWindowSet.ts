import type { TimeWindow } from './types.js';

const same = (a: TimeWindow, b: TimeWindow): boolean => a.start === b.start && a.end === b.end;

/** Called when windows merge: (merge result, merged windows, state window of the result, state windows merged into it). */
export type MergeCallback = (result: TimeWindow, merged: readonly TimeWindow[], stateWindow: TimeWindow, mergedStateWindows: readonly TimeWindow[]) => void;

/** One window of a set: `[start, end, stateStart, stateEnd]`. */
export type MergingSetEntry = [number, number, number, number];

/**
 * A key's merging-window set as stored: its windows ascending by start, one array of {@link MergingSetEntry} while
 * they are at most {@link MAX_BLOCK}, else blocks of at most that many (each with at least one), so that a window
 * added or merged away among many moves a block, not all of the key's windows.
 */
export type PersistedMergingSet = MergingSetEntry[] | MergingSetEntry[][];
/** The most windows one block holds: a block with more is split in two. */
const MAX_BLOCK = 256;

/** A stored set as blocks (one array: itself, the one block). */
function blocksOf(stored: PersistedMergingSet): MergingSetEntry[][] {
  const first = stored[0] as unknown[] | undefined;
  return first === undefined || typeof first[0] === 'number' ? [stored as MergingSetEntry[]] : (stored as MergingSetEntry[][]);
}

/**
 * A stored set's windows in order (one array, or its blocks' windows).
 *
 * @example
 * ```ts
 * entriesOf([[[0, 10, 0, 10]], [[20, 30, 20, 30]]]); // [[0, 10, 0, 10], [20, 30, 20, 30]]
 * ```
 */
export function entriesOf(stored: PersistedMergingSet): MergingSetEntry[] {
  const blocks = blocksOf(stored);
  return blocks.length === 1 ? (blocks[0] as MergingSetEntry[]) : blocks.flat();
}

/**
 * Flink's `MergingWindowSet`: per key, the in-flight windows and, for each, its *state window* — the namespace
 * where its contents live. A merge keeps one of the merged windows' state windows, so contents never move except
 * by merging namespaces into it.
 *
 * It works in place on the key's stored set ({@link PersistedMergingSet}), kept ascending by start. The windows of
 * a set never intersect (intersecting windows merge), so their ends ascend too, and the windows a new one intersects
 * are one run found by binary search: Flink's `mergeWindows` (sort every window, sweep) gives the same merge, as only
 * the new window's group can hold two windows — without its cost per element in the key's number of windows.
 *
 * @example
 * ```ts
 * const set = new MergingWindowSet([[0, 10, 0, 10]]);
 * set.add({ start: 8, end: 18 }, (result, merged) => console.log(result, merged)); // { start: 0, end: 18 } [{ start: 0, end: 10 }]
 * set.persisted(); // [[0, 18, 0, 10]]
 * ```
 */
export class MergingWindowSet {
  private readonly blocks: MergingSetEntry[][];
  private changed = false;
  /** Whether the set was given stored as blocks (its stored array is then changed in place: see {@link blocksChangedInPlace}). */
  private readonly givenAsBlocks: boolean;

  /**
   * `persisted`: the key's stored set, changed in place (checkpoints written before it was kept sorted: see
   * {@link sortPersisted}). `changing`: told before a set stored as blocks changes — `block`, one of them, in place, or
   * (none given) the list of blocks itself — so that a delta writes only the blocks that changed
   * (`KeyedStateBackend.changeBlocks`, docs/SEMANTICS.md §6.3).
   */
  constructor(
    persisted: PersistedMergingSet | undefined,
    private readonly changing?: (blocks: readonly MergingSetEntry[][], block?: MergingSetEntry[]) => void,
  ) {
    this.blocks = persisted === undefined ? [[]] : blocksOf(persisted);
    this.givenAsBlocks = this.blocks.length > 1;
  }

  /**
   * Whether the set was stored as blocks and still is, the stored array changed in place (each change told as it
   * came): it need not be stored again.
   */
  get blocksChangedInPlace(): boolean {
    return this.givenAsBlocks && this.blocks.length > 1;
  }

  /** Tells {@link changing} of a change coming (`block` in place, or none: the list of blocks). */
  private willChange(block?: MergingSetEntry[]): void {
    if (this.givenAsBlocks && this.changing !== undefined) this.changing(this.blocks, block);
  }

  /** What the key stores now: one array while its windows fit one block, else the blocks. */
  persisted(): PersistedMergingSet {
    return this.blocks.length === 1 ? (this.blocks[0] as MergingSetEntry[]) : this.blocks;
  }

  get dirty(): boolean {
    return this.changed;
  }

  /**
   * The block that holds window `w` if the set does (−1: none can): the first whose last window ends at or after
   * `w`'s end — the windows before `w` end before it starts, as windows of a set never intersect.
   */
  private blockOf(w: TimeWindow): number {
    const k = firstBlockEndingFrom(this.blocks, w.end);
    return k < this.blocks.length ? k : -1;
  }

  /** Whether the set holds no window (blocks always hold one at least: only a single block can be empty). */
  get isEmpty(): boolean {
    return this.blocks.length === 1 && (this.blocks[0] as MergingSetEntry[]).length === 0;
  }

  /** The number of windows (a sum over the blocks: for inspection). */
  get size(): number {
    let n = 0;
    for (const block of this.blocks) n += block.length;
    return n;
  }

  stateWindowOf(w: TimeWindow): TimeWindow | undefined {
    const k = this.blockOf(w);
    const i = k < 0 ? -1 : indexIn(this.blocks[k] as MergingSetEntry[], w);
    if (i < 0) return undefined;
    const e = (this.blocks[k] as MergingSetEntry[])[i] as MergingSetEntry;
    return { start: e[2], end: e[3] };
  }

  retire(w: TimeWindow): void {
    const k = this.blockOf(w);
    const block = this.blocks[k];
    const i = block === undefined ? -1 : indexIn(block, w);
    if (block === undefined || i < 0) throw new Error(`window [${w.start}, ${w.end}) is not in the merging window set`);
    if (block.length === 1 && this.blocks.length > 1) {
      this.willChange();
      this.blocks.splice(k, 1);
    } else {
      this.willChange(block);
      block.splice(i, 1);
    }
    this.changed = true;
  }

  /**
   * Adds a new window, merging as needed (docs/SEMANTICS.md §1.4); returns the window the element belongs to. The callback is
   * called for each real merge (not when the new window lies inside an existing one).
   */
  add(newWindow: TimeWindow, onMerge: MergeCallback): TimeWindow {
    const blocks = this.blocks;
    // the block holding the run of windows the new one intersects (touching counts) — the first block with a window
    // ending at or after its start — else the last one, which takes it at its end
    const k = Math.min(firstBlockEndingFrom(blocks, newWindow.start), blocks.length - 1);
    const m = blocks[k] as MergingSetEntry[];
    // (before anything changes: a block taken into this one, or split off it, changes the list of blocks)
    this.willChange();
    this.willChange(m);
    // the run [lo, hi): ending at or after the new window's start, starting at or before its end; a run that goes on
    // into the next block takes that block in
    let lo = 0;
    let hi = m.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((m[mid] as MergingSetEntry)[1] < newWindow.start) lo = mid + 1;
      else hi = mid;
    }
    hi = lo;
    for (;;) {
      while (hi < m.length && (m[hi] as MergingSetEntry)[0] <= newWindow.end) hi++;
      const next = blocks[k + 1];
      if (hi < m.length || next === undefined || (next[0] as MergingSetEntry)[0] > newWindow.end) break;
      for (const e of next) m.push(e);
      blocks.splice(k + 1, 1);
    }
    this.changed = true;
    if (lo === hi) {
      m.splice(lo, 0, [newWindow.start, newWindow.end, newWindow.start, newWindow.end]);
      if (m.length > MAX_BLOCK) blocks.splice(k + 1, 0, m.splice(m.length >>> 1));
      return newWindow;
    }
    const merged: TimeWindow[] = [];
    const mergedStateWindows: TimeWindow[] = [];
    for (let i = lo; i < hi; i++) {
      const [start, end, stateStart, stateEnd] = m[i] as MergingSetEntry;
      merged.push({ start, end });
      mergedStateWindows.push({ start: stateStart, end: stateEnd });
    }
    const result: TimeWindow = { start: Math.min(newWindow.start, (merged[0] as TimeWindow).start), end: Math.max(newWindow.end, (merged[merged.length - 1] as TimeWindow).end) };
    // the first merged window's state window stays (Flink: the first in start order)
    const stateWindow = mergedStateWindows[0] as TimeWindow;
    m.splice(lo, hi - lo, [result.start, result.end, stateWindow.start, stateWindow.end]);
    if (m.length > MAX_BLOCK) blocks.splice(k + 1, 0, m.splice(m.length >>> 1));
    // (a new window inside one window of the set: no merge)
    if (!(merged.length === 1 && same(merged[0] as TimeWindow, result))) onMerge(result, merged, stateWindow, mergedStateWindows.slice(1).filter((s) => !same(s, stateWindow)));
    return result;
  }
}

/** The index of the first block whose last window ends at or after `t` (the number of blocks when none does). */
function firstBlockEndingFrom(blocks: readonly MergingSetEntry[][], t: number): number {
  let lo = 0;
  let hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const block = blocks[mid] as MergingSetEntry[];
    const e = block[block.length - 1];
    if (e !== undefined && e[1] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of window `w` in a block, or −1 (a binary search by start, then end). */
function indexIn(block: readonly MergingSetEntry[], w: TimeWindow): number {
  let lo = 0;
  let hi = block.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = block[mid] as MergingSetEntry;
    if (e[0] < w.start || (e[0] === w.start && e[1] < w.end)) lo = mid + 1;
    else hi = mid;
  }
  const e = block[lo];
  return e !== undefined && e[0] === w.start && e[1] === w.end ? lo : -1;
}

/**
 * Sorts a stored merging-window set by start (then end), as {@link MergingWindowSet} keeps it: checkpoints written
 * before it was kept sorted hold one array, the windows in the order they were added or merged. (Blocks are
 * written sorted.)
 *
 * @example
 * ```ts
 * sortPersisted([[20, 30, 20, 30], [0, 10, 0, 10]]); // [[0, 10, 0, 10], [20, 30, 20, 30]]
 * ```
 */
export function sortPersisted(persisted: PersistedMergingSet): PersistedMergingSet {
  const blocks = blocksOf(persisted);
  if (blocks.length === 1) (blocks[0] as MergingSetEntry[]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return persisted;
}
