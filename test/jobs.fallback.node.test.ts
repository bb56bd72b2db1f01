// Issue 12, item 2: a restore that falls back past the newest checkpoint says which one it expected, which one it
// used and why — in the job summary (`fallback`, typed `skipped`) and as a warning — for a memory and a LevelDB store,
// whether the newest checkpoint fails its checksum, misses a part or vanished entirely.
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipe } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { fromArray, memoryStore, runJob, toArray, valueState, type StateStore } from '../src/index.js';
import { levelStore } from '../src/stores/level.js';
import { eventTime, keyBy, process } from '../operators/index.js';
import { VANISHED } from './support/storeConformance.js';

const root = mkdtempSync(join(tmpdir(), 'tidewater-fallback-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const sums = () =>
  pipe(
    eventTime((v: number) => v),
    keyBy((v: number) => v % 2),
    process<number, number, number, { sum: ReturnType<typeof valueState<number>> }>({
      name: 'sums',
      state: { sum: valueState<number>() },
      onElement(v, ctx) {
        const s = (ctx.state.sum.get() ?? 0) + v;
        ctx.state.sum.set(s);
        ctx.emit(s);
      },
    }),
  );

const values = Array.from({ length: 10 }, (_, i) => i + 1);
const run = (store: StateStore, warnings: string[] = []) =>
  runJob({ name: 'j', source: fromArray(values), pipeline: sums(), sink: toArray<number>(), checkpoint: { intervalMs: 1e9, store }, onWarning: (m) => warnings.push(m) })
    .done;

/** The keys of checkpoint `id` of job `j`. */
const keysOf = async (store: StateStore, id: number): Promise<string[]> =>
  (await store.kv.keys('cp/j/', 'cp/j0')).filter((k) => k.includes(`/${String(id).padStart(16, '0')}`));
const manifestKey = (id: number): string => `cp/j/m/${String(id).padStart(16, '0')}`;

const damages: Record<string, { damage: (store: StateStore) => Promise<void>; kind: string; reason: string }> = {
  'fails its checksum': {
    damage: async (store) => {
      const value = (await store.kv.get(manifestKey(2))) ?? '';
      await store.kv.batch([{ type: 'put', key: manifestKey(2), value: value.replace('"id":2', '"id":7') }]);
    },
    kind: 'checksum-mismatch',
    reason: 'checksum mismatch in manifest',
  },
  'misses a part': {
    damage: (store) => store.kv.batch([{ type: 'del', key: manifestKey(2) }]),
    kind: 'missing-part',
    reason: 'missing manifest',
  },
  'vanished entirely': {
    damage: async (store) => store.kv.batch((await keysOf(store, 2)).map((key) => ({ type: 'del', key }))),
    kind: 'vanished',
    reason: VANISHED,
  },
};

const stores: Record<string, () => StateStore> = {
  memoryStore: () => memoryStore(),
  levelStore: () => levelStore(join(root, `db${n++}`)),
};

describe('a restore that falls back reports it', () => {
  for (const [storeName, open] of Object.entries(stores)) {
    for (const [how, { damage, kind, reason }] of Object.entries(damages)) {
      it(`${storeName}: the newest checkpoint ${how}`, async () => {
        const store = open();
        try {
          expect(await run(store)).toMatchObject({ lastCheckpoint: 1, skipped: [] });
          expect(await run(store)).toMatchObject({ restoredFrom: 1, lastCheckpoint: 2, skipped: [] });
          expect((await keysOf(store, 2)).length).toBeGreaterThan(0);
          await damage(store);
          const warnings: string[] = [];
          const summary = await run(store, warnings);
          const skipped = [{ id: 2, kind, reason }];
          expect([summary.restoredFrom, summary.lastCheckpoint, summary.skipped, summary.fallback]).toStrictEqual([1, 3, skipped, { expected: 2, used: 1, skipped }]);
          expect(warnings).toStrictEqual([`runJob(j): restoring checkpoint 1 instead of checkpoint 2, the newest in ${store.description}; skipped checkpoint 2 (${reason}).`]);
          // the next restore is a normal one again
          const again = await run(store, warnings);
          expect([again.restoredFrom, again.skipped, again.fallback, warnings.length]).toStrictEqual([3, [], undefined, 1]);
        } finally {
          await store.close();
        }
      });
    }
  }
});

/** The LevelDB log file of `location` (the database is closed) and the offset of the first byte of `text` in it, last occurrence. */
function logAt(location: string, text: string): { file: string; at: number } {
  const file = join(location, readdirSync(location).find((f) => f.endsWith('.log')) as string);
  const at = readFileSync(file).lastIndexOf(Buffer.from(text));
  expect(at).toBeGreaterThan(0);
  return { file, at };
}

const damageLog: Record<string, (file: string, at: number) => void> = {
  'a flipped byte': (file, at) => {
    const bytes = readFileSync(file);
    bytes[at] = (bytes[at] as number) ^ 0x20;
    writeFileSync(file, bytes);
  },
  'a truncation': (file, at) => truncateSync(file, at),
};

describe("damage to LevelDB's log: a newest checkpoint that LevelDB drops when it reopens is reported as vanished", () => {
  for (const [how, damage] of Object.entries(damageLog)) {
    it(`levelStore, ${how} in the newest checkpoint's write`, async () => {
      const location = join(root, `db${n++}`);
      const a = levelStore(location);
      for (const id of [1, 2, 3]) {
        await a.writeCheckpoint({ job: 'j', id, timestamp: id, savepoint: false, operators: [{ operator: 'o', full: true, maxParallelism: 128, entries: [{ keyGroup: 0, path: 'k', value: `${id}` }] }], sources: [`${id}`] });
        await a.prune('j', 2);
      }
      await a.close();
      const { file, at } = logAt(location, '"id":3,');
      damage(file, at);
      const b = levelStore(location);
      const loaded = await b.loadCheckpoint('j', 'latest');
      const skipped = [{ id: 3, kind: 'vanished', reason: VANISHED }];
      expect([loaded?.id, loaded?.skipped, loaded?.fallback]).toStrictEqual([2, skipped, { expected: 3, used: 2, skipped }]);
      expect(await b.nextCheckpointId('j')).toBe(4);
      await b.close();
    });
  }

  it('runJob on levelStore: the summary and the warning say which checkpoint vanished', async () => {
    const location = join(root, `db${n++}`);
    for (const expected of [1, 2]) {
      const store = levelStore(location);
      expect(await run(store)).toMatchObject({ lastCheckpoint: expected });
      await store.close();
    }
    const { file, at } = logAt(location, '"id":2,');
    damageLog['a flipped byte']?.(file, at);
    const store = levelStore(location);
    const warnings: string[] = [];
    const summary = await run(store, warnings);
    const skipped = [{ id: 2, kind: 'vanished', reason: VANISHED }];
    expect([summary.restoredFrom, summary.lastCheckpoint, summary.fallback]).toStrictEqual([1, 3, { expected: 2, used: 1, skipped }]);
    expect(warnings).toStrictEqual([`runJob(j): restoring checkpoint 1 instead of checkpoint 2, the newest in level:${location}; skipped checkpoint 2 (${VANISHED}).`]);
    await store.close();
  });
});

describe('a store whose every checkpoint vanished, though its head records them', () => {
  for (const [storeName, open] of Object.entries(stores)) {
    it(`${storeName}: the job refuses to start over silently, naming the newest recorded checkpoint and the remedy`, async () => {
      const store = open();
      try {
        await run(store);
        expect(await run(store)).toMatchObject({ restoredFrom: 1, lastCheckpoint: 2 });
        for (const id of [1, 2]) await store.kv.batch((await keysOf(store, id)).map((key) => ({ type: 'del', key })));
        await expect(run(store)).rejects.toThrow(
          `runJob(j): ${store.description} recorded checkpoints of this job up to checkpoint 2, but none of them is usable (torn, corrupt or vanished after it was written); restore the store (e.g. from a backup), or pass restore: false to start over.`,
        );
        // starting over is explicit
        const fresh = await runJob({ name: 'j', source: fromArray(values), pipeline: sums(), sink: toArray<number>(), checkpoint: { intervalMs: 1e9, store }, restore: false }).done;
        expect([fresh.restoredFrom, fresh.lastCheckpoint]).toStrictEqual([undefined, 3]); // a new timeline; ids never repeat
      } finally {
        await store.close();
      }
    });
  }
});
