import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import type { OperatorSnapshot, SnapshotEntry, StateStore } from '../src/index.js';
import { levelStore } from '../src/stores/level.js';
import { measureAsync, ratio, table, type Result } from './harness.js';

/**
 * Checkpoint store on LevelDB with N snapshot entries shaped like a keyed count's (`["s","count","","\"user-123\""]`
 * → `[42]`, 128 key groups): (a) writing one full checkpoint through `levelStore` (chunks + manifest + marker in one
 * batch) vs a raw `level` batch with one put per entry; (b) restoring it (`loadCheckpoint`: read, verify, decode) vs a
 * raw `level` range scan of those entries. Both sides write with `{ sync: true }` (levelStore's default); the write
 * without fsync is shown too. Checksums: entries written / read.
 */
export async function checkpointStoreBench(n = 1_000_000): Promise<{ report: string; results: Result[][] }> {
  const entries: SnapshotEntry[] = Array.from({ length: n }, (_, i) => ({
    keyGroup: i % 128,
    path: `["s","count","","\\"user-${i}\\""]`,
    value: `[${i % 1000}]`,
  }));
  const snapshot: OperatorSnapshot = { operator: 'counts', full: true, maxParallelism: 128, watermark: '1000', entries };
  const rawKey = (e: SnapshotEntry): string => `s/counts/${String(e.keyGroup).padStart(3, '0')}/${e.path}`;
  const root = mkdtempSync(join(tmpdir(), 'tidewater-bench-'));
  try {
    // every write case starts each run on a new, empty database (no tombstones or compaction left by the last run)
    let dirs = 0;
    const dir = (): string => join(root, `db${dirs++}`);
    let raw = new Level<string, string>(dir());
    let store = levelStore(dir());
    let lax = levelStore(dir(), { sync: false });
    let id = 0;
    const checkpoint = (s: StateStore) => async (): Promise<number> =>
      (await s.writeCheckpoint({ job: 'bench', id: ++id, timestamp: 0, savepoint: false, operators: [snapshot], sources: ['0'] })).entries;
    const rawBatch = async (sync: boolean): Promise<number> => {
      await raw.batch(
        entries.map((e) => ({ type: 'put' as const, key: rawKey(e), value: e.value as string })),
        { sync },
      );
      return n;
    };
    const writes = await measureAsync(n, [
      {
        name: 'raw level batch (put per entry)',
        run: () => rawBatch(true),
        after: async () => {
          await raw.close();
          raw = new Level<string, string>(dir());
        },
      },
      {
        name: 'levelStore writeCheckpoint',
        run: () => checkpoint(store)(),
        after: async () => {
          await store.close();
          store = levelStore(dir());
        },
      },
      {
        name: 'levelStore writeCheckpoint (sync: false)',
        run: () => checkpoint(lax)(),
        after: async () => {
          await lax.close();
          lax = levelStore(dir(), { sync: false });
        },
      },
    ]);

    await rawBatch(false);
    await checkpoint(store)();
    const reads = await measureAsync(n, [
      { name: 'raw level range scan', run: async () => (await raw.iterator({ gte: 's/counts/', lt: 's/counts0' }).all()).length },
      {
        name: 'levelStore loadCheckpoint',
        run: async () => (await store.loadCheckpoint('bench', 'latest'))?.operators[0]?.entries.length ?? 0,
      },
    ]);
    await Promise.all([store.close(), lax.close(), raw.close()]);

    const w = ratio(writes, 'levelStore writeCheckpoint', 'raw level batch (put per entry)');
    const r = ratio(reads, 'levelStore loadCheckpoint', 'raw level range scan');
    const report =
      table(`checkpoint write, ${n.toLocaleString('en')} snapshot entries (LevelDB, sync)`, writes, 'raw level batch (put per entry)') +
      `\n\nlevelStore / raw batch: ${w.toFixed(2)}× (target ≥ 0.7: ${w >= 0.7 ? 'met' : 'NOT met'})\n\n` +
      table(`checkpoint restore, ${n.toLocaleString('en')} snapshot entries (LevelDB)`, reads, 'raw level range scan') +
      `\n\nlevelStore loadCheckpoint / raw range scan: ${r.toFixed(2)}×`;
    return { report, results: [writes, reads] };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
