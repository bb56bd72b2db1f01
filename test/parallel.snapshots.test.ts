// A checkpoint of a parallel pipeline when one subtask's state saturates its change tracking (most of its keys
// changed since the last checkpoint: its backend writes a full snapshot, docs/SEMANTICS.md §7.1) and the other's
// does not (a delta). Found by the crash test's thread mode (test/crash.node.test.ts): a threaded job failed at its
// second checkpoint with "window#0: subtask snapshots disagree (full true vs false …)".
import { describe, expect, it } from 'vitest';
import { memoryStore, valueState, type OperatorSnapshot } from '../src/index.js';
import { keyGroupOf, partitionOfKeyGroup } from '../src/keys/keyGroups.js';
import { SATURATION_MIN } from '../src/state/backend.js';
import { parallel, process } from '../operators/index.js';
import { harness } from '../testing/index.js';

/** The first `count` keys `u0`, `u1` … that subtask `subtask` of 2 owns (maxParallelism 128). */
function keysOf(subtask: number, count: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) if (partitionOfKeyGroup(keyGroupOf(`u${i}`, 128), 2, 128) === subtask) keys.push(`u${i}`);
  return keys;
}

const latest = process<number, string, never, { v: ReturnType<typeof valueState<number>> }>({
  name: 'latest',
  state: { v: valueState<number>() },
  onElement(v, ctx) {
    ctx.state.v.set(v);
  },
});

describe('parallel: a checkpoint where one subtask snapshots in full and the other a delta', () => {
  it('combines them and restores every key (subtask 0 saturated, subtask 1 changed one key)', () => {
    const zero = keysOf(0, SATURATION_MIN + 1000);
    const one = keysOf(1, SATURATION_MIN + 1000);
    const h = harness(parallel(2, latest));
    for (const k of [...zero, ...one]) h.record(1, 0, k);
    expect(h.snapshot().latest.get('latest')?.full).toBe(true);
    // every key of subtask 0 changes (past saturation: its next snapshot is full), one key of subtask 1 (a delta)
    for (const k of zero) h.record(2, 0, k);
    h.record(3, 0, one[0] as string);
    const back = h.restore(h.snapshot());
    expect([zero[0], zero.at(-1), one[0], one[1], one.at(-1)].map((k) => back.state(k as string, 'v'))).toStrictEqual([2, 2, 3, 1, 1]);
    expect(back.keys().length).toBe(zero.length + one.length);
  });

  it('the combined delta goes through a store: the checkpoint it loads holds every key with its latest value', async () => {
    const zero = keysOf(0, SATURATION_MIN + 500);
    const one = keysOf(1, 3);
    const h = harness(parallel(2, latest));
    for (const k of [...zero, ...one]) h.record(1, 0, k);
    const first = h.snapshot().latest.get('latest') as OperatorSnapshot;
    for (const k of zero.slice(1)) h.record(2, 0, k);
    h.record(3, 0, one[0] as string);
    const second = h.snapshot().latest.get('latest') as OperatorSnapshot;
    expect([first.full, second.full]).toStrictEqual([true, false]);
    const store = memoryStore();
    await store.writeCheckpoint({ job: 'j', id: 1, timestamp: 0, savepoint: false, operators: [first], sources: [] });
    await store.writeCheckpoint({ job: 'j', id: 2, parent: 1, timestamp: 0, savepoint: false, operators: [second], sources: [] });
    const loaded = (await store.loadCheckpoint('j', 'latest'))?.operators[0];
    const values = new Map((loaded?.entries ?? []).map((e) => [e.path, e.value]));
    expect(loaded?.full).toBe(true);
    expect(values.size).toBe(zero.length + one.length);
    const back = harness(parallel(3, latest), { restore: { operators: new Map([['latest', [loaded as OperatorSnapshot]]]), latest: new Map() } });
    expect([zero[0], zero[1], one[0], one[1]].map((k) => back.state(k as string, 'v'))).toStrictEqual([1, 2, 3, 1]);
    expect(back.keys().length).toBe(zero.length + one.length);
  });
});
