// The job's head put aside (levelStore on a directory: a file next to the database) only serves fallback reporting:
// a failure to put it aside once the checkpoint (or prune) batch is durable is a warning, never a failed checkpoint.
import { describe, expect, it } from 'vitest';
import { checkpointStore, fromArray, memoryStore, runJob, type KeyValueBackend } from '../src/index.js';
import { runningSum } from './support/gated.js';

/** A memory backend whose `putAside` rejects (e.g. a full disk next to the database). */
function asideFails(): KeyValueBackend {
  const kv = memoryStore().kv;
  return {
    get: (key) => kv.get(key),
    batch: (ops) => kv.batch(ops),
    range: (gte, lt, limit) => kv.range(gte, lt, limit),
    keys: (gte, lt) => kv.keys(gte, lt),
    close: () => kv.close(),
    putAside: () => Promise.reject(new Error('ENOSPC: no space left on device')),
    getAside: () => Promise.resolve(undefined),
  };
}

const warning = (id: number): string =>
  `store custom:full, job "j", checkpoint ${id}: the checkpoint is complete, but putting the job's head aside failed (ENOSPC: no space left on device); ` +
  'the copy only serves to report a newest checkpoint that the store loses later. Check the space and permissions next to the store; the next checkpoint tries again.';

describe('putAside failing after the batch is durable', () => {
  it('writeCheckpoint resolves and warns through onWarning; the checkpoint is complete', async () => {
    const store = checkpointStore(asideFails(), 'custom:full');
    const warnings: string[] = [];
    const meta = await store.writeCheckpoint({ job: 'j', id: 1, timestamp: 0, savepoint: false, operators: [], sources: [], onWarning: (m) => warnings.push(m) });
    expect(meta.id).toBe(1);
    expect(warnings).toStrictEqual([warning(1)]);
    expect((await store.listCheckpoints('j')).map((c) => c.id)).toStrictEqual([1]);
    expect((await store.loadCheckpoint('j', 'latest'))?.id).toBe(1);
  });

  it('prune resolves and warns through its onWarning', async () => {
    const store = checkpointStore(asideFails(), 'custom:full');
    const warnings: string[] = [];
    for (const id of [1, 2]) await store.writeCheckpoint({ job: 'j', id, timestamp: 0, savepoint: false, operators: [], sources: [], onWarning: () => undefined });
    const kept = await store.prune('j', 1, (m) => warnings.push(m));
    expect(kept.map((c) => c.id)).toStrictEqual([2]);
    expect(warnings).toStrictEqual([
      `store custom:full, job "j": the prune is complete, but putting the job's head aside failed (ENOSPC: no space left on device); ` +
        'the copy only serves to report a newest checkpoint that the store loses later. Check the space and permissions next to the store; the next checkpoint tries again.',
    ]);
  });

  it("a job completes its checkpoints and reports the failure through the job's onWarning", async () => {
    const store = checkpointStore(asideFails(), 'custom:full');
    const warnings: string[] = [];
    const s = await runJob({ name: 'j', source: fromArray([1, 2, 3]), pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store }, onWarning: (m) => warnings.push(m) }).done;
    expect(s.lastCheckpoint).toBe(1);
    expect(warnings).toStrictEqual([`runJob(j): ${warning(1)}`]);
    expect((await store.listCheckpoints('j')).map((c) => c.id)).toStrictEqual([1]);
  });
});
