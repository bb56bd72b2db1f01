import type { TimeWindow } from './types.js';

/** Flink's `TimeWindow.intersects`: touching windows intersect. */
function intersects(a: TimeWindow, b: TimeWindow): boolean {
  return a.start <= b.end && a.end >= b.start;
}

const same = (a: TimeWindow, b: TimeWindow): boolean => a.start === b.start && a.end === b.end;

/**
 * Flink's `TimeWindow.mergeWindows`: sort by start, sweep, extend the current group with `cover` while the next
 * window intersects it. Returns the groups of two or more windows with the window covering each.
 */
export function mergeGroups(windows: readonly TimeWindow[]): { result: TimeWindow; merged: TimeWindow[] }[] {
  const sorted = [...windows].sort((a, b) => a.start - b.start || a.end - b.end);
  const groups: { result: TimeWindow; merged: TimeWindow[] }[] = [];
  let cur: { result: TimeWindow; merged: TimeWindow[] } | undefined;
  for (const w of sorted) {
    if (cur !== undefined && intersects(cur.result, w)) {
      cur.result = { start: Math.min(cur.result.start, w.start), end: Math.max(cur.result.end, w.end) };
      cur.merged.push(w);
    } else {
      if (cur !== undefined) groups.push(cur);
      cur = { result: w, merged: [w] };
    }
  }
  if (cur !== undefined) groups.push(cur);
  return groups.filter((g) => g.merged.length > 1);
}

/** Called when windows merge: (merge result, merged windows, state window of the result, state windows merged into it). */
export type MergeCallback = (result: TimeWindow, merged: readonly TimeWindow[], stateWindow: TimeWindow, mergedStateWindows: readonly TimeWindow[]) => void;

/**
 * Flink's `MergingWindowSet`: per key, the in-flight windows and, for each, its *state window* — the namespace
 * where its contents live. A merge keeps one of the merged windows' state windows, so contents never move except
 * by merging namespaces into it.
 */
export class MergingWindowSet {
  /** window → state window */
  private readonly mapping: { w: TimeWindow; s: TimeWindow }[];
  private changed = false;

  constructor(persisted: readonly [number, number, number, number][] | undefined) {
    this.mapping = (persisted ?? []).map(([a, b, c, d]) => ({ w: { start: a, end: b }, s: { start: c, end: d } }));
  }

  persisted(): [number, number, number, number][] {
    return this.mapping.map(({ w, s }) => [w.start, w.end, s.start, s.end]);
  }

  get dirty(): boolean {
    return this.changed;
  }

  get size(): number {
    return this.mapping.length;
  }

  stateWindowOf(w: TimeWindow): TimeWindow | undefined {
    return this.mapping.find((m) => same(m.w, w))?.s;
  }

  retire(w: TimeWindow): void {
    const i = this.mapping.findIndex((m) => same(m.w, w));
    if (i < 0) throw new Error(`window [${w.start}, ${w.end}) is not in the merging window set`);
    this.mapping.splice(i, 1);
    this.changed = true;
  }

  /**
   * Adds a new window, merging as needed (docs/SEMANTICS.md §1.4); returns the window the element belongs to. The callback is
   * called for each real merge (not when the new window lies inside an existing one).
   */
  add(newWindow: TimeWindow, onMerge: MergeCallback): TimeWindow {
    const groups = mergeGroups([...this.mapping.map((m) => m.w), newWindow]);
    let resultWindow = newWindow;
    let mergedNewWindow = false;
    for (const { result, merged } of groups) {
      const i = merged.findIndex((w) => same(w, newWindow));
      if (i >= 0) {
        merged.splice(i, 1);
        mergedNewWindow = true;
        resultWindow = result;
      }
      const first = merged[0] as TimeWindow;
      const stateWindow = this.stateWindowOf(first) as TimeWindow;
      const mergedStateWindows: TimeWindow[] = [];
      for (const w of merged) {
        const j = this.mapping.findIndex((m) => same(m.w, w));
        if (j >= 0) {
          mergedStateWindows.push((this.mapping[j] as { s: TimeWindow }).s);
          this.mapping.splice(j, 1);
        }
      }
      this.mapping.push({ w: result, s: stateWindow });
      this.changed = true;
      const others = mergedStateWindows.filter((s) => !same(s, stateWindow));
      if (!(merged.length === 1 && same(merged[0] as TimeWindow, result))) onMerge(result, merged, stateWindow, others);
    }
    if (groups.length === 0 || (same(resultWindow, newWindow) && !mergedNewWindow)) {
      this.mapping.push({ w: resultWindow, s: resultWindow });
      this.changed = true;
    }
    return resultWindow;
  }
}
