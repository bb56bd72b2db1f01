// Flink's MergingWindowSet (src/windows/mergingWindowSet.ts, docs/SEMANTICS.md §1.4): merges, state windows, and the
// stored array it keeps sorted in place.
import { pipe } from 'rxjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sessionWindows, type OperatorSnapshot } from '../src/index.js';
import { processWindow, window } from '../operators/index.js';
import { harness, type Harness } from '../testing/index.js';
import { fmt } from './support/windows.js';
import { entriesOf, MergingWindowSet, sortPersisted, type PersistedMergingSet } from '../src/windows/mergingWindowSet.js';
import type { TimeWindow } from '../src/windows/types.js';

type Merge = [result: TimeWindow, merged: readonly TimeWindow[], stateWindow: TimeWindow, others: readonly TimeWindow[]];

function adding(set: MergingWindowSet, w: TimeWindow): { actual: TimeWindow; merges: Merge[] } {
  const merges: Merge[] = [];
  const actual = set.add(w, (...m) => merges.push(m));
  return { actual, merges };
}

describe('MergingWindowSet', () => {
  it('adds, merges a run (the first merged window keeps its state window), takes a window inside one without a merge, retires', () => {
    const stored: PersistedMergingSet = [];
    const set = new MergingWindowSet(stored);
    expect(adding(set, { start: 20, end: 30 })).toStrictEqual({ actual: { start: 20, end: 30 }, merges: [] });
    expect(adding(set, { start: 0, end: 10 })).toStrictEqual({ actual: { start: 0, end: 10 }, merges: [] });
    expect(adding(set, { start: 40, end: 50 })).toStrictEqual({ actual: { start: 40, end: 50 }, merges: [] });
    expect(stored).toStrictEqual([[0, 10, 0, 10], [20, 30, 20, 30], [40, 50, 40, 50]]);
    // touching [0, 10) and [20, 30): one merge of both, not [40, 50)
    expect(adding(set, { start: 10, end: 20 })).toStrictEqual({
      actual: { start: 0, end: 30 },
      merges: [[{ start: 0, end: 30 }, [{ start: 0, end: 10 }, { start: 20, end: 30 }], { start: 0, end: 10 }, [{ start: 20, end: 30 }]]],
    });
    expect(adding(set, { start: 2, end: 8 })).toStrictEqual({ actual: { start: 0, end: 30 }, merges: [] });
    // a window that grows one window: a merge of that window alone
    expect(adding(set, { start: 45, end: 55 })).toStrictEqual({ actual: { start: 40, end: 55 }, merges: [[{ start: 40, end: 55 }, [{ start: 40, end: 50 }], { start: 40, end: 50 }, []]] });
    expect(stored).toStrictEqual([[0, 30, 0, 10], [40, 55, 40, 50]]);
    expect(set.stateWindowOf({ start: 0, end: 30 })).toStrictEqual({ start: 0, end: 10 });
    expect(set.stateWindowOf({ start: 0, end: 10 })).toBeUndefined();
    set.retire({ start: 0, end: 30 });
    expect(stored).toStrictEqual([[40, 55, 40, 50]]);
    expect(() => set.retire({ start: 0, end: 30 })).toThrow('window [0, 30) is not in the merging window set');
    expect(set.size).toBe(1);
    expect(set.dirty).toBe(true);
  });

  it('a set stored unsorted (checkpoints written before it was kept sorted) is sorted, then merges as Flink does', () => {
    const stored = sortPersisted([[50, 60, 52, 60], [0, 10, 0, 10], [20, 30, 25, 30]]);
    expect(stored).toStrictEqual([[0, 10, 0, 10], [20, 30, 25, 30], [50, 60, 52, 60]]);
    const set = new MergingWindowSet(stored);
    expect(adding(set, { start: 30, end: 50 }).merges).toStrictEqual([[{ start: 20, end: 60 }, [{ start: 20, end: 30 }, { start: 50, end: 60 }], { start: 25, end: 30 }, [{ start: 52, end: 60 }]]]);
    expect(stored).toStrictEqual([[0, 10, 0, 10], [20, 60, 25, 30]]);
  });
});

/**
 * Flink's MergingWindowSet.addWindow as written in docs/SEMANTICS.md §1.4 (the oracle): every window of the set and
 * the new one sorted by start and swept into groups; each group of two or more merges, keeping the state window of
 * its first window other than the new one.
 */
class FlinkMergingSet {
  mapping: { w: TimeWindow; s: TimeWindow }[] = [];
  add(nw: TimeWindow, merges: Merge[]): TimeWindow {
    const sorted = [...this.mapping.map((m) => m.w), nw].sort((a, b) => a.start - b.start || a.end - b.end);
    const groups: { result: TimeWindow; merged: TimeWindow[] }[] = [];
    for (const w of sorted) {
      const cur = groups[groups.length - 1];
      if (cur !== undefined && cur.result.start <= w.end && cur.result.end >= w.start) {
        cur.result = { start: Math.min(cur.result.start, w.start), end: Math.max(cur.result.end, w.end) };
        cur.merged.push(w);
      } else groups.push({ result: w, merged: [w] });
    }
    let actual = nw;
    let taken = false;
    for (const { result, merged } of groups.filter((g) => g.merged.length > 1)) {
      const i = merged.findIndex((w) => w.start === nw.start && w.end === nw.end);
      if (i >= 0) {
        merged.splice(i, 1);
        taken = true;
        actual = result;
      }
      const stateOf = (w: TimeWindow) => this.mapping.find((m) => m.w.start === w.start && m.w.end === w.end)?.s as TimeWindow;
      const stateWindow = stateOf(merged[0] as TimeWindow);
      const states = merged.map(stateOf);
      this.mapping = this.mapping.filter((m) => !merged.some((w) => w.start === m.w.start && w.end === m.w.end));
      this.mapping.push({ w: result, s: stateWindow });
      if (!(merged.length === 1 && merged[0]?.start === result.start && merged[0]?.end === result.end)) {
        merges.push([result, merged, stateWindow, states.filter((s) => !(s.start === stateWindow.start && s.end === stateWindow.end))]);
      }
    }
    if (!taken && actual === nw) this.mapping.push({ w: nw, s: nw });
    return actual;
  }
  entries(): [number, number, number, number][] {
    return this.mapping.map(({ w, s }): [number, number, number, number] => [w.start, w.end, s.start, s.end]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }
}

describe('MergingWindowSet against Flink\'s sort-and-sweep (property)', () => {
  it('hundreds of windows on one key (in blocks of at most 256), added out of order, some retired: the same merges, results and state windows', () => {
    const op = fc.oneof(
      { weight: 9, arbitrary: fc.tuple(fc.constant('add' as const), fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 1, max: 30 })) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('retire' as const), fc.nat(), fc.constant(0)) },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 700, maxLength: 1_200 }), (ops) => {
        let stored: PersistedMergingSet = [];
        const flink = new FlinkMergingSet();
        for (const [kind, a, len] of ops) {
          // (a new set over the stored value each time, as the window operator makes one per element)
          const set = new MergingWindowSet(stored);
          if (kind === 'add') {
            const w = { start: a, end: a + len };
            const merges: Merge[] = [];
            const expected: Merge[] = [];
            expect(set.add(w, (...m) => merges.push(m))).toStrictEqual(flink.add(w, expected));
            expect(merges).toStrictEqual(expected);
          } else {
            if (flink.mapping.length === 0) continue;
            const gone = flink.mapping[a % flink.mapping.length] as { w: TimeWindow; s: TimeWindow };
            expect(set.stateWindowOf(gone.w)).toStrictEqual(gone.s);
            set.retire(gone.w);
            flink.mapping = flink.mapping.filter((m) => m !== gone);
          }
          stored = set.persisted();
        }
        expect(entriesOf(stored)).toStrictEqual(flink.entries());
        expect(new MergingWindowSet(stored).size).toBe(flink.mapping.length);
      }),
      { numRuns: 40 },
    );
  });
  it('600 windows in order, then bridges between neighbours (runs across blocks), then every window retired: as Flink', () => {
    let stored: PersistedMergingSet = [];
    const flink = new FlinkMergingSet();
    const step = (f: (set: MergingWindowSet) => void) => {
      const set = new MergingWindowSet(stored);
      f(set);
      stored = set.persisted();
    };
    const add = (w: TimeWindow) =>
      step((set) => {
        const merges: Merge[] = [];
        const expected: Merge[] = [];
        expect(set.add(w, (...m) => merges.push(m))).toStrictEqual(flink.add(w, expected));
        expect(merges).toStrictEqual(expected);
      });
    for (let i = 0; i < 600; i++) add({ start: 20 * i, end: 20 * i + 5 });
    expect(Array.isArray((stored[0] as unknown[])[0])).toBe(true); // blocks
    // bridges over every third gap, then windows spanning three and four neighbours
    for (let i = 0; i < 599; i += 3) add({ start: 20 * i + 5, end: 20 * i + 20 });
    for (let i = 1; i < 590; i += 37) add({ start: 20 * i, end: 20 * i + 70 });
    expect(entriesOf(stored)).toStrictEqual(flink.entries());
    while (flink.mapping.length > 0) {
      const gone = flink.mapping[flink.mapping.length >> 1] as { w: TimeWindow; s: TimeWindow };
      step((set) => {
        expect(set.stateWindowOf(gone.w)).toStrictEqual(gone.s);
        set.retire(gone.w);
        expect(set.stateWindowOf(gone.w)).toBeUndefined();
      });
      flink.mapping = flink.mapping.filter((m) => m !== gone);
      expect(entriesOf(stored)).toStrictEqual(flink.entries());
    }
    expect(new MergingWindowSet(stored).isEmpty).toBe(true);
  });
});

describe('the general window operator restoring an unsorted merging-window set', () => {
  it('a checkpoint written before the sets were kept sorted (windows in the order they were added): the uninterrupted output', () => {
    type E = [string, number];
    const op = () => pipe(window<E, string>(sessionWindows(5), { name: 'w' }), processWindow((els: readonly E[]) => els.map((e) => e[1]).join(',')));
    const first = (h: Harness<E, string, unknown>) => h.record(['k', 1], 20, 'k').record(['k', 2], 0, 'k').record(['k', 3], 40, 'k');
    const rest = (h: Harness<E, string, unknown>) => h.record(['k', 4], 23, 'k').record(['k', 5], 3, 'k').record(['k', 6], 44, 'k').watermark(100);
    const whole = harness(op());
    rest(first(whole));
    const expected = whole.output().map(fmt);
    expect(expected).toStrictEqual(['k [0,8) "2,5" @7', 'k [20,28) "1,4" @27', 'k [40,49) "3,6" @48', 'W 100']);
    const h = harness(op());
    first(h);
    const cp = h.snapshot();
    const sorted = '[0,[[0,5,0,5],[20,25,20,25],[40,45,40,45]]]';
    let found = 0;
    const unsorted = (snapshots: readonly OperatorSnapshot[]): OperatorSnapshot[] =>
      snapshots.map((s) => ({ ...s, entries: s.entries.map((e) => (e.value === sorted ? (found++, { ...e, value: '[0,[[20,25,20,25],[40,45,40,45],[0,5,0,5]]]' }) : e)) }));
    const restored = harness(op(), {
      restore: { operators: new Map([...cp.operators].map(([name, snaps]) => [name, unsorted(snaps)])), latest: new Map([...cp.latest].map(([name, snap]) => [name, unsorted([snap])[0] as OperatorSnapshot])) },
    });
    expect(found).toBeGreaterThan(0);
    rest(restored);
    expect(restored.output().map(fmt)).toStrictEqual(expected);
  });
});
