import { describe, expect, it } from 'vitest';
import { checkpointStore, memoryStore, StoreError, TidewaterError, type KeyValueBackend } from '../src/index.js';
import { MemoryBackend } from '../src/stores/memory.js';
import { storeConformance, writerCheckpoint } from './support/storeConformance.js';
import { checksum } from '../src/stores/checksum.js';

storeConformance('memoryStore', () => memoryStore());

describe('memoryStore', () => {
  it('describes itself and refuses use after close', async () => {
    const store = memoryStore();
    expect(store.description).toBe('memory');
    await store.close();
    await expect(store.kv.get('a')).rejects.toThrow('memoryStore: the store is closed');
  });
});

describe('checkpointStore over a custom backend', () => {
  it('a failing write rejects with the store, job, checkpoint and the backend error as cause', async () => {
    const inner = memoryStore().kv;
    const boom = new Error('disk full');
    const store = checkpointStore({ ...bind(inner), batch: () => Promise.reject(boom) }, 'custom:test');
    const err = await store.writeCheckpoint({ job: 'j', id: 3, timestamp: 0, savepoint: false, operators: [], sources: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TidewaterError);
    expect((err as Error).message).toBe(
      'store custom:test, job "j", checkpoint 3: the write failed (disk full); nothing of it was stored. ' +
        'Check that the store is open and has space; the previous complete checkpoint is still the one a restore uses.',
    );
    expect((err as Error).cause).toBe(boom);
    expect(await store.listCheckpoints('j')).toStrictEqual([]);
  });
});

function bind(kv: KeyValueBackend): KeyValueBackend {
  return { get: (k) => kv.get(k), batch: (o) => kv.batch(o), range: (a, b, l) => kv.range(a, b, l), keys: (a, b) => kv.keys(a, b), close: () => kv.close() };
}

describe('manifest formats', () => {
  it('writes format 5; reads formats 1 (written before append and patch rows), 2 (before blocks rows), 3 (before sets rows) and 4 (before TrackedSets) as before; a later format is unusable, not misread', async () => {
    const kv = memoryStore().kv;
    const store = checkpointStore(kv, 'mem');
    await store.writeCheckpoint({ job: 'j', id: 1, timestamp: 0, savepoint: false, operators: [], sources: ['7'] });
    const text = (await kv.get('cp/j/m/0000000000000001')) as string;
    expect(JSON.parse(text).format).toBe('tidewater-checkpoint/5');
    const as = async (format: string): Promise<void> => {
      const t = text.replace('"tidewater-checkpoint/5"', JSON.stringify(format));
      await kv.batch([
        { type: 'put', key: 'cp/j/m/0000000000000001', value: t },
        { type: 'put', key: 'cp/j/d/0000000000000001', value: checksum(t) },
      ]);
    };
    for (const readable of ['tidewater-checkpoint/1', 'tidewater-checkpoint/2', 'tidewater-checkpoint/3', 'tidewater-checkpoint/4']) {
      await as(readable);
      const loaded = await store.loadCheckpoint('j', 'latest');
      expect([loaded?.id, loaded?.sources, loaded?.skipped]).toStrictEqual([1, ['7'], []]);
    }
    await as('tidewater-checkpoint/6');
    const later = await store.loadCheckpoint('j', 'latest').catch((e: unknown) => e);
    expect((later as { id?: number } | undefined)?.id).toBeUndefined();
  });
});

describe('two writers of one job on one backend (two tabs on one IndexedDB database)', () => {
  const cp = writerCheckpoint;
  /** Tab A prunes (abandoning what is above 1, as a job restored from 1 does) while tab B's write of 3 lands before A's read of `before`. */
  const race = async (before: 'head' | 'manifests') => {
    const shared = new MemoryBackend();
    const tabB = checkpointStore(shared, 'memory');
    let armed = false;
    const land = async (): Promise<void> => {
      if (!armed) return;
      armed = false;
      await tabB.writeCheckpoint(cp(3, 'B'));
    };
    const tabA = checkpointStore(
      {
        get: async (key) => {
          if (before === 'head' && key.endsWith('/h')) await land();
          return shared.get(key);
        },
        batch: (ops, expect) => shared.batch(ops, expect),
        range: async (gte, lt, limit) => {
          if (before === 'manifests' && gte.endsWith('/m/')) await land();
          return shared.range(gte, lt, limit);
        },
        keys: (gte, lt) => shared.keys(gte, lt),
        close: () => shared.close(),
      } satisfies KeyValueBackend,
      'memory',
    );
    await tabA.writeCheckpoint(cp(1, 'A'));
    await tabA.writeCheckpoint(cp(2, 'A', 1));
    armed = true;
    const pruned = await tabA.prune('dash', Number.MAX_SAFE_INTEGER, undefined, { abandonAfter: 1 }).then((kept) => kept.map((m) => m.id), (e: unknown) => e);
    const latest = await tabB.loadCheckpoint('dash', 'latest');
    return { pruned, listed: (await tabB.listCheckpoints('dash')).map((m) => m.id), latest: [latest?.id, latest?.skipped] };
  };

  it('a write that lands before the prune reads the head is in its scan: pruned whole (abandoned), nothing torn', async () => {
    expect(await race('head')).toStrictEqual({ pruned: [1], listed: [1], latest: [1, []] });
  });

  it('a write that lands during the prune\'s scan moves the head the prune expects: the prune fails whole, the write stays', async () => {
    const r = await race('manifests');
    expect(r.pruned).toBeInstanceOf(StoreError);
    expect([r.listed, r.latest]).toStrictEqual([[3, 2, 1], [3, []]]);
  });
});
