// A job whose wide operator changes most of its state between checkpoints (its snapshots are full) while a narrow one
// changes little: the delta chain of the narrow one must still be closed by full checkpoints, or every checkpoint
// (each with the wide operator's whole state) is kept by retention and read by a restore.
import { describe, expect, it } from 'vitest';
import { memoryStore, runJob, toArray, type CheckpointInfo } from '../src/index.js';
import { gatedAt, wideNarrow, type UserClick } from './support/gated.js';

const USERS = 5_000;
const ROUNDS = 8;

describe('checkpoint chains with an operator that is full in every checkpoint', () => {
  it('stay bounded: retention drops old checkpoints and a restore reads about twice the state at most', async () => {
    // every round changes every user (the wide operator saturates), the narrow operator changes one value
    const input: UserClick[] = Array.from({ length: ROUNDS * USERS }, (_, i) => ({ user: `u${i % USERS}`, ts: i }));
    const { source, gates } = gatedAt(input, Array.from({ length: ROUNDS }, (_, r) => (r + 1) * USERS));
    const store = memoryStore();
    const job = runJob({ name: 'wn', source, pipeline: wideNarrow((user) => user === 'u0'), sink: toArray<number>(), checkpoint: { intervalMs: 1e9, store, retain: 2 } });
    const taken: CheckpointInfo[] = [];
    for (const g of gates) {
      await g.reached;
      taken.push(await job.triggerCheckpoint());
      g.open();
    }
    await job.stop();
    const kept = await store.listCheckpoints('wn');
    const latest = taken.at(-1) as CheckpointInfo;
    // what restoring the newest one reads: it and its parents up to the last checkpoint where everything was full
    let read = 0;
    for (const c of kept.filter((c) => c.id <= latest.id).sort((a, b) => b.id - a.id)) {
      read += c.bytes;
      if (taken.find((t) => t.id === c.id)?.full === true) break;
    }
    const fullBytes = Math.max(...taken.filter((t) => t.full).map((t) => t.bytes));
    expect(read).toBeLessThanOrEqual(2.1 * fullBytes);
    // the chain is closed by a full checkpoint once the checkpoints in it hold about the state twice over
    expect(taken.map((t) => t.full)).toStrictEqual([true, false, false, true, false, false, true, false]);
    expect(kept.map((c) => c.id)).toStrictEqual([8, 7]);
  }, 20_000);
});

describe('checkpoint chains of a state that grows', () => {
  it('stay deltas: each entry is written once, and the chain restores the whole state', async () => {
    // 20 000 users, then five rounds of 5 000 new ones (fewer than the state each time: no saturation), then ten
    // known users again
    const users = (from: number, n: number): UserClick[] => Array.from({ length: n }, (_, i) => ({ user: `u${from + i}`, ts: from + i }));
    const input = [...users(0, 20_000), ...[0, 1, 2, 3, 4].flatMap((r) => users(20_000 + r * 5_000, 5_000)), ...users(0, 10)];
    const ats = [20_000, 25_000, 30_000, 35_000, 40_000, 45_000];
    const { source, gates } = gatedAt(input, ats);
    const store = memoryStore();
    const pipeline = wideNarrow((user) => /^u\d$/.test(user));
    const job = runJob({ name: 'grow', source, pipeline, sink: toArray<number>(), checkpoint: { intervalMs: 1e9, store, retain: 2 } });
    const taken: CheckpointInfo[] = [];
    for (const g of gates) {
      await g.reached;
      taken.push(await job.triggerCheckpoint());
      if (g.at < 45_000) g.open();
    }
    await job.stop();
    // the old rule (a full checkpoint once the deltas add up to the last full one) made the fifth one full
    expect(taken.map((t) => [t.full, t.entries])).toStrictEqual([
      [true, 20_001],
      [false, 5_000],
      [false, 5_000],
      [false, 5_000],
      [false, 5_000],
      [false, 5_000],
    ]);
    // restored from the chain: the ten known users count their second click (u0…u9 emit; the total of their counts
    // was 10 after their first clicks)
    const sink = toArray<number>();
    const again = runJob({ name: 'grow', source, pipeline, sink, checkpoint: { intervalMs: 1e9, store, retain: 2 } });
    await again.done;
    expect(sink.values).toStrictEqual([12, 14, 16, 18, 20, 22, 24, 26, 28, 30]);
  }, 30_000);
});
