import type { TimeWindow } from './types.js';

const same = (a: TimeWindow, b: TimeWindow): boolean => a.start === b.start && a.end === b.end;

/** Called when windows merge: (merge result, merged windows, state window of the result, state windows merged into it). */
export type MergeCallback = (result: TimeWindow, merged: readonly TimeWindow[], stateWindow: TimeWindow, mergedStateWindows: readonly TimeWindow[]) => void;

/** A key's merging-window set as stored: per window `[start, end, stateStart, stateEnd]`, ascending by start. */
export type PersistedMergingSet = [number, number, number, number][];

/**
 * Flink's `MergingWindowSet`: per key, the in-flight windows and, for each, its *state window* — the namespace
 * where its contents live. A merge keeps one of the merged windows' state windows, so contents never move except
 * by merging namespaces into it.
 *
 * It works in place on the key's stored array ({@link PersistedMergingSet}), kept ascending by start. The windows of
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
  private readonly mapping: PersistedMergingSet;
  private changed = false;

  /** `persisted`: the key's stored array, changed in place (checkpoints written before it was kept sorted: see {@link sortPersisted}). */
  constructor(persisted: PersistedMergingSet | undefined) {
    this.mapping = persisted ?? [];
  }

  /** The stored array (the one given, changed in place, or a new one). */
  persisted(): PersistedMergingSet {
    return this.mapping;
  }

  get dirty(): boolean {
    return this.changed;
  }

  get size(): number {
    return this.mapping.length;
  }

  stateWindowOf(w: TimeWindow): TimeWindow | undefined {
    const i = this.indexOf(w);
    if (i < 0) return undefined;
    const e = this.mapping[i] as [number, number, number, number];
    return { start: e[2], end: e[3] };
  }

  retire(w: TimeWindow): void {
    const i = this.indexOf(w);
    if (i < 0) throw new Error(`window [${w.start}, ${w.end}) is not in the merging window set`);
    // (the first window — sessions go in order — by shift, which V8 does without moving the others)
    if (i === 0) this.mapping.shift();
    else this.mapping.splice(i, 1);
    this.changed = true;
  }

  /**
   * Adds a new window, merging as needed (docs/SEMANTICS.md §1.4); returns the window the element belongs to. The callback is
   * called for each real merge (not when the new window lies inside an existing one).
   */
  add(newWindow: TimeWindow, onMerge: MergeCallback): TimeWindow {
    const m = this.mapping;
    // the run [lo, hi) of windows the new one intersects (touching counts): ending at or after its start, starting at
    // or before its end
    let lo = 0;
    let hi = m.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (((m[mid] as [number, number, number, number])[1] as number) < newWindow.start) lo = mid + 1;
      else hi = mid;
    }
    hi = lo;
    while (hi < m.length && (m[hi] as [number, number, number, number])[0] <= newWindow.end) hi++;
    this.changed = true;
    if (lo === hi) {
      m.splice(lo, 0, [newWindow.start, newWindow.end, newWindow.start, newWindow.end]);
      return newWindow;
    }
    const merged: TimeWindow[] = [];
    const mergedStateWindows: TimeWindow[] = [];
    for (let i = lo; i < hi; i++) {
      const [start, end, stateStart, stateEnd] = m[i] as [number, number, number, number];
      merged.push({ start, end });
      mergedStateWindows.push({ start: stateStart, end: stateEnd });
    }
    const result: TimeWindow = { start: Math.min(newWindow.start, (merged[0] as TimeWindow).start), end: Math.max(newWindow.end, (merged[merged.length - 1] as TimeWindow).end) };
    // the first merged window's state window stays (Flink: the first in start order)
    const stateWindow = mergedStateWindows[0] as TimeWindow;
    m.splice(lo, hi - lo, [result.start, result.end, stateWindow.start, stateWindow.end]);
    // (a new window inside one window of the set: no merge)
    if (!(merged.length === 1 && same(merged[0] as TimeWindow, result))) onMerge(result, merged, stateWindow, mergedStateWindows.slice(1).filter((s) => !same(s, stateWindow)));
    return result;
  }

  /** The index of window `w` in the set, or −1 (a binary search by start, then end). */
  private indexOf(w: TimeWindow): number {
    const m = this.mapping;
    let lo = 0;
    let hi = m.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = m[mid] as [number, number, number, number];
      if (e[0] < w.start || (e[0] === w.start && e[1] < w.end)) lo = mid + 1;
      else hi = mid;
    }
    const e = m[lo];
    return e !== undefined && e[0] === w.start && e[1] === w.end ? lo : -1;
  }
}

/**
 * Sorts a stored merging-window set by start (then end), as {@link MergingWindowSet} keeps it: checkpoints written
 * before it was kept sorted hold the windows in the order they were added or merged.
 *
 * @example
 * ```ts
 * sortPersisted([[20, 30, 20, 30], [0, 10, 0, 10]]); // [[0, 10, 0, 10], [20, 30, 20, 30]]
 * ```
 */
export function sortPersisted(persisted: PersistedMergingSet): PersistedMergingSet {
  return persisted.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}
