// Flink's MergingWindowSet (src/windows/mergingWindowSet.ts, docs/SEMANTICS.md §1.4): merges, state windows, and the
// stored array it keeps sorted in place.
import { pipe } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { sessionWindows, type OperatorSnapshot } from '../src/index.js';
import { processWindow, window } from '../operators/index.js';
import { harness, type Harness } from '../testing/index.js';
import { fmt } from './support/windows.js';
import { MergingWindowSet, sortPersisted, type PersistedMergingSet } from '../src/windows/mergingWindowSet.js';
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
