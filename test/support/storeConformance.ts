// One conformance suite for every StateStore: memoryStore, levelStore, indexedDbStore (fake-indexeddb in Node and real
// IndexedDB in Chromium). Exact expected values throughout.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptCheckpointError, StoreError, type BatchOp, type CheckpointWrite, type OperatorSnapshot, type SnapshotEntry, type StateStore } from '../../src/index.js';
import { CHUNK_CHARS } from '../../src/checkpoints/snapshot.js';

export type OpenStore = () => StateStore | Promise<StateStore>;

/** Key layout helpers (see src/stores/checkpointStore.ts). */
export const id16 = (id: number): string => String(id).padStart(16, '0');
export const markerKey = (job: string, id: number): string => `cp/${encodeURIComponent(job)}/d/${id16(id)}`;
export const manifestKey = (job: string, id: number): string => `cp/${encodeURIComponent(job)}/m/${id16(id)}`;
export const chunkKey = (job: string, id: number, op: number, chunk: number): string =>
  `cp/${encodeURIComponent(job)}/c/${id16(id)}/${String(op).padStart(4, '0')}/${String(chunk).padStart(6, '0')}`;

const kg = (path: string): number => path.length % 128;
/** A snapshot from `[path, value]` pairs (`undefined` = deletion). */
export function snap(operator: string, full: boolean, entries: [string, string | undefined][], watermark?: string): OperatorSnapshot {
  return {
    operator,
    full,
    maxParallelism: 128,
    ...(watermark !== undefined ? { watermark } : {}),
    entries: entries.map(([path, value]): SnapshotEntry => ({ keyGroup: kg(path), path, value })),
  };
}
const cp = (job: string, id: number, operators: OperatorSnapshot[], extra: Partial<CheckpointWrite> = {}): CheckpointWrite => ({
  job,
  id,
  timestamp: id * 1000,
  savepoint: false,
  operators,
  sources: [`{"index":${id * 10}}`],
  sink: `{"pending":[${id}]}`,
  ...extra,
});
const entriesOf = (s: OperatorSnapshot | undefined): [string, string | undefined][] => (s?.entries ?? []).map((e) => [e.path, e.value]);
/** The reason given for a checkpoint the store recorded as complete but of which no entry is left. */
/**
 * A checkpoint of job `dash` written by `writer` (a tab, a process): one entry `from-<writer>`, its sources `[writer]`
 * — for tests of two writers of one job.
 */
export const writerCheckpoint = (id: number, writer: string, parent?: number): CheckpointWrite => ({
  job: 'dash',
  id,
  ...(parent !== undefined ? { parent } : {}),
  timestamp: 0,
  savepoint: false,
  sources: [writer],
  operators: [{ operator: 'op', full: parent === undefined, maxParallelism: 128, entries: [{ keyGroup: 1, path: `from-${writer}`, value: JSON.stringify(writer) }] }],
});

export const VANISHED = 'vanished: the store recorded it as complete, but none of its entries are left (lost after it was written)';
const flip = (s: string, at: number): string => s.slice(0, at) + (s[at] === 'x' ? 'y' : 'x') + s.slice(at + 1);

/** A full/delta chain: 1 full, 2 delta on 1, 3 delta on 2 ("counts" changes, "win" is an empty delta each time). */
async function writeChain(store: StateStore, job = 'clicks'): Promise<void> {
  await store.writeCheckpoint(cp(job, 1, [snap('counts', true, [['a', '1'], ['b', '2']], '10'), snap('win', true, [['w1', '[1,2]']], '10')]));
  await store.writeCheckpoint(
    cp(job, 2, [snap('counts', false, [['a', '5'], ['b', undefined], ['c', '3']], '20'), snap('win', false, [], '20')], { parent: 1 }),
  );
  await store.writeCheckpoint(cp(job, 3, [snap('counts', false, [['d', '4']], '30'), snap('win', false, [['w2', '[3]']], '30')], { parent: 2 }));
}

export function storeConformance(name: string, open: OpenStore, options: { propertyRuns?: number } = {}): void {
  describe(`${name}: StateStore conformance`, () => {
    const opened: StateStore[] = [];
    const fresh = async (): Promise<StateStore> => {
      const s = await open();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    describe('key-value backend', () => {
      it('applies a batch in order, reads ordered ranges and keys, get of a missing key is undefined', async () => {
        const { kv } = await fresh();
        await kv.batch([
          { type: 'put', key: 'b', value: '2' },
          { type: 'put', key: 'a', value: '1' },
          { type: 'put', key: 'c/1', value: 'x' },
          { type: 'put', key: 'c/2', value: 'y' },
          { type: 'del', key: 'c/1' },
          { type: 'put', key: 'b', value: '22' },
          { type: 'put', key: 'd', value: '' },
        ]);
        expect(await kv.range('a', 'z')).toStrictEqual([['a', '1'], ['b', '22'], ['c/2', 'y'], ['d', '']]);
        expect(await kv.range('b', 'd')).toStrictEqual([['b', '22'], ['c/2', 'y']]);
        expect(await kv.range('a', 'z', 2)).toStrictEqual([['a', '1'], ['b', '22']]);
        expect(await kv.range('c/', 'c0')).toStrictEqual([['c/2', 'y']]);
        expect(await kv.range('d', 'd')).toStrictEqual([]);
        expect(await kv.range('z', 'a')).toStrictEqual([]);
        expect(await kv.keys('a', 'z')).toStrictEqual(['a', 'b', 'c/2', 'd']);
        expect(await kv.get('b')).toBe('22');
        expect(await kv.get('c/1')).toBeUndefined();
        expect(await kv.get('nope')).toBeUndefined();
      });

      it('a batch with a malformed op applies nothing', async () => {
        const { kv } = await fresh();
        await kv.batch([{ type: 'put', key: 'keep', value: '1' }]);
        const bad = [
          { type: 'put', key: 'new', value: '1' },
          { type: 'del', key: 'keep' },
          { type: 'put', key: 'x', value: 5 as unknown as string },
        ] as const;
        await expect(kv.batch(bad)).rejects.toThrow(TypeError);
        expect(await kv.range('', '~')).toStrictEqual([['keep', '1']]);
      });

      it('a batch whose expected values another writer changed applies nothing and fails naming the key; one whose values hold applies', async () => {
        const { kv, description } = await fresh();
        await kv.batch([{ type: 'put', key: 'head', value: '1' }]);
        const conflict: unknown = await kv.batch([{ type: 'put', key: 'new', value: '1' }, { type: 'put', key: 'head', value: '2' }], new Map([['marker', undefined], ['head', '0']])).catch((e: unknown) => e);
        expect(conflict).toBeInstanceOf(StoreError);
        expect((conflict as Error).message).toBe(
          `store ${description}: a write failed: another writer changed 'head' since this one read it. Nothing of this write was stored. Two writers write the same checkpoints: a job runs in one process, tab or worker at a time (in a browser, e.g. behind navigator.locks), or give each its own store.`,
        );
        expect(await kv.range('', '~')).toStrictEqual([['head', '1']]);
        await kv.batch([{ type: 'put', key: 'new', value: '1' }, { type: 'put', key: 'head', value: '2' }], new Map([['marker', undefined], ['head', '1']]));
        expect(await kv.range('', '~')).toStrictEqual([['head', '2'], ['new', '1']]);
        // (a batch of no ops checks its expectations all the same)
        await expect(kv.batch([], new Map([['head', '1']]))).rejects.toThrow(StoreError);
        await kv.batch([], new Map([['head', '2']]));
      });

      it('many keys come back sorted', async () => {
        const { kv } = await fresh();
        const keys = Array.from({ length: 300 }, (_, i) => `k/${String((i * 7919) % 300).padStart(4, '0')}`);
        await kv.batch(keys.map((key) => ({ type: 'put', key, value: key })));
        expect(await kv.keys('k/', 'k0')).toStrictEqual([...keys].sort());
      });
    });

    describe('checkpoints', () => {
      it('writes, lists and loads a full + delta chain (deletions and watermarks kept)', async () => {
        const store = await fresh();
        await writeChain(store);
        const list = await store.listCheckpoints('clicks');
        expect(list.map((m) => [m.id, m.parent, m.timestamp, m.savepoint, m.entries])).toStrictEqual([
          [3, 2, 3000, false, 2],
          [2, 1, 2000, false, 3],
          [1, undefined, 1000, false, 3],
        ]);
        const latest = await store.loadCheckpoint('clicks', 'latest');
        expect(latest?.id).toBe(3);
        expect(latest?.parent).toBe(2);
        expect(latest?.skipped).toStrictEqual([]);
        expect(latest?.sources).toStrictEqual(['{"index":30}']);
        expect(latest?.sink).toBe('{"pending":[3]}');
        expect(latest?.operators).toStrictEqual([
          snap('counts', true, [['a', '5'], ['c', '3'], ['d', '4']], '30'),
          snap('win', true, [['w1', '[1,2]'], ['w2', '[3]']], '30'),
        ]);
        const second = await store.loadCheckpoint('clicks', 2);
        expect(second?.id).toBe(2);
        expect(second?.operators).toStrictEqual([snap('counts', true, [['a', '5'], ['c', '3']], '20'), snap('win', true, [['w1', '[1,2]']], '20')]);
        const first = await store.loadCheckpoint('clicks', 1);
        expect(first?.operators).toStrictEqual([snap('counts', true, [['a', '1'], ['b', '2']], '10'), snap('win', true, [['w1', '[1,2]']], '10')]);
        expect(await store.loadCheckpoint('clicks', 0)).toBeUndefined();
        expect(await store.loadCheckpoint('other', 'latest')).toBeUndefined();
        expect(await store.listCheckpoints('other')).toStrictEqual([]);
      });

      it('bytes counts every character the checkpoint wrote, entries its own entries', async () => {
        const store = await fresh();
        await writeChain(store);
        const meta = await store.writeCheckpoint(cp('clicks', 4, [snap('counts', true, [['x', '"y"']])], { savepoint: true }));
        const all = await store.kv.range('cp/', 'cp0');
        const written = all.filter(([k]) => k.includes(`/${id16(4)}`)).reduce((n, [k, v]) => n + k.length + v.length, 0);
        expect(meta).toStrictEqual({ job: 'clicks', id: 4, timestamp: 4000, savepoint: true, bytes: written, entries: 1, sources: ['{"index":40}'] });
        expect((await store.listCheckpoints('clicks'))[0]).toStrictEqual(meta);
        expect(all.filter(([k]) => k.includes(`/${id16(4)}`)).map(([k]) => k)).toStrictEqual([
          chunkKey('clicks', 4, 0, 0),
          markerKey('clicks', 4),
          manifestKey('clicks', 4),
        ]);
      });

      it('packs large snapshots into ~256 K-character chunks and restores them exactly', async () => {
        const store = await fresh();
        const entries: [string, string | undefined][] = Array.from({ length: 20_000 }, (_, i) => [`["s","count","","\\"user-${i}\\""]`, `[${i}]`]);
        const meta = await store.writeCheckpoint(cp('big', 1, [snap('counts', true, entries, '7')]));
        const chunks = await store.kv.range(`cp/big/c/`, `cp/big/c0`);
        expect(chunks.map(([k]) => k)).toStrictEqual([0, 1, 2, 3, 4].map((i) => chunkKey('big', 1, 0, i)));
        // each closes at the first row that takes it to CHUNK_CHARS (256 K) characters (a row here is < 70 characters)
        expect(chunks.map(([, v]) => (v.length >= CHUNK_CHARS && v.length < CHUNK_CHARS + 70 ? 'full' : v.length))).toStrictEqual(['full', 'full', 'full', 'full', 189_064]);
        expect(meta.entries).toBe(20_000);
        const loaded = await store.loadCheckpoint('big', 'latest');
        expect(loaded?.operators).toStrictEqual([snap('counts', true, entries, '7')]);
      });

      it('escapes job names so that jobs never see each other', async () => {
        const store = await fresh();
        await store.writeCheckpoint(cp('a', 1, [snap('o', true, [['k', '1']])]));
        await store.writeCheckpoint(cp('a/b c', 2, [snap('o', true, [['k', '2']])]));
        expect((await store.listCheckpoints('a')).map((m) => m.id)).toStrictEqual([1]);
        expect((await store.loadCheckpoint('a/b c', 'latest'))?.operators).toStrictEqual([snap('o', true, [['k', '2']])]);
      });

      it('rejects a checkpoint id that already exists and bad arguments', async () => {
        const store = await fresh();
        await store.writeCheckpoint(cp('j', 1, []));
        await expect(store.writeCheckpoint(cp('j', 1, []))).rejects.toThrow(
          `store ${store.description}: job "j": checkpoint 1 already exists; checkpoint ids must strictly increase`,
        );
        await expect(store.writeCheckpoint(cp('j', 2, [], { parent: 2 }))).rejects.toThrow('parent 2 must be an earlier checkpoint id');
        await expect(store.prune('j', -1)).rejects.toThrow('prune: retain must be a non-negative integer, not -1');
      });

      it('writes and prunes of one job at once take turns: the same id twice is refused once; every id written is in the head', async () => {
        const store = await fresh();
        const same = await Promise.allSettled([store.writeCheckpoint(cp('j', 1, [])), store.writeCheckpoint(cp('j', 1, []))]);
        expect(same.map((r) => r.status)).toStrictEqual(['fulfilled', 'rejected']);
        await Promise.all([store.writeCheckpoint(cp('j', 2, [])), store.writeCheckpoint(cp('j', 3, [])), store.prune('j', 10), store.writeCheckpoint(cp('j', 4, []))]);
        expect((await store.listCheckpoints('j')).map((m) => m.id)).toStrictEqual([4, 3, 2, 1]);
        const head = (await store.kv.get('cp/j/h')) as string;
        expect(JSON.parse(head.slice(head.indexOf('[')))).toStrictEqual([1, 2, 3, 4]);
        // imports take their turn too: each above every id written before it
        const text = await store.exportSavepoint('j', 1);
        const imported = await Promise.all([store.importSavepoint(text), store.writeCheckpoint(cp('j', 9, [])), store.importSavepoint(text)]);
        expect(imported.map((m) => m.id)).toStrictEqual([5, 9, 10]);
      });

      it('a job or journal name that is not well-formed text (a lone surrogate) is refused naming it', async () => {
        const store = await fresh();
        const message = (kind: string) =>
          `checkpoint store: ${kind} name "a\\ud800" is not well-formed text (it holds a lone UTF-16 surrogate), so it cannot name the ${kind}'s keys; name the ${kind} with well-formed text.`;
        await expect(store.writeCheckpoint(cp('a\ud800', 1, []))).rejects.toThrow(message('job'));
        await expect(store.listCheckpoints('a\ud800')).rejects.toThrow(message('job'));
        await expect(store.appendJournal('a\ud800', 0, ['x'])).rejects.toThrow(message('journal'));
      });
    });

    describe('prune', () => {
      it('keeps the newest `retain`, savepoints and chain members; deletes the rest and older torn leftovers', async () => {
        const store = await fresh();
        const full = (id: number, extra: Partial<CheckpointWrite> = {}) => cp('p', id, [snap('o', true, [[`k${id}`, `${id}`]])], extra);
        const delta = (id: number) => cp('p', id, [snap('o', false, [[`k${id}`, `${id}`]])], { parent: id - 1 });
        await store.writeCheckpoint(full(1));
        await store.writeCheckpoint(delta(2));
        await store.writeCheckpoint(full(3, { savepoint: true }));
        await store.writeCheckpoint(full(4));
        await store.writeCheckpoint(delta(5));
        await store.writeCheckpoint(delta(6));
        await store.writeCheckpoint(full(7));
        await store.writeCheckpoint(full(8));
        await store.writeCheckpoint(full(9));
        // torn: 7 (older than the newest complete, deleted) and 9 (newest: left alone)
        await store.kv.batch([
          { type: 'del', key: markerKey('p', 7) },
          { type: 'del', key: markerKey('p', 9) },
        ]);
        await store.prune('p', 2); // newest complete: 8, 6 → chain 6 → 5 → 4 (full)
        expect((await store.listCheckpoints('p')).map((m) => m.id)).toStrictEqual([8, 6, 5, 4, 3]);
        const ids = new Set((await store.kv.keys('cp/p/', 'cp/p0')).flatMap((k) => /\/(\d{16})(\/|$)/.exec(k)?.[1] ?? []).map(Number));
        expect([...ids].sort((a, b) => a - b)).toStrictEqual([3, 4, 5, 6, 8, 9]);
        expect((await store.loadCheckpoint('p', 'latest'))?.operators).toStrictEqual([snap('o', true, [['k8', '8']])]);
        expect((await store.loadCheckpoint('p', 6))?.operators).toStrictEqual([snap('o', true, [['k4', '4'], ['k5', '5'], ['k6', '6']])]);
        await store.prune('p', 0);
        expect((await store.listCheckpoints('p')).map((m) => m.id)).toStrictEqual([3]);
        // the pruned ids are never used again
        expect(await store.nextCheckpointId('p')).toBe(10);
      });

      it('abandonAfter: the checkpoints above it (complete or torn, not savepoints) go and are never reported; ids go on above them', async () => {
        const store = await fresh();
        const full = (id: number, extra: Partial<CheckpointWrite> = {}) => cp('a', id, [snap('o', true, [[`k${id}`, `${id}`]])], extra);
        await store.writeCheckpoint(full(1));
        await store.writeCheckpoint(cp('a', 2, [snap('o', false, [['k2', '2']])], { parent: 1 }));
        await store.writeCheckpoint(full(3));
        await store.writeCheckpoint(full(4, { savepoint: true }));
        await store.writeCheckpoint(full(5));
        await store.writeCheckpoint(full(6));
        await store.kv.batch([{ type: 'del', key: markerKey('a', 6) }]); // torn
        await expect(store.prune('a', 5, undefined, { abandonAfter: -1 })).rejects.toThrow('prune: abandonAfter must be a checkpoint id, not -1');
        const kept = await store.prune('a', 5, undefined, { abandonAfter: 2 });
        expect(kept.map((m) => m.id)).toStrictEqual([4, 2, 1]);
        expect((await store.listCheckpoints('a')).map((m) => m.id)).toStrictEqual([4, 2, 1]);
        const ids = new Set((await store.kv.keys('cp/a/', 'cp/a0')).flatMap((k) => /\/(\d{16})(\/|$)/.exec(k)?.[1] ?? []).map(Number));
        expect([...ids].sort((a, b) => a - b)).toStrictEqual([1, 2, 4]);
        // 'latest' is the savepoint; up to 3 it is 2, with no fallback reported for the abandoned ones
        expect((await store.loadCheckpoint('a', 'latest'))?.id).toBe(4);
        const upTo3 = await store.loadCheckpoint('a', 3);
        expect([upTo3?.id, upTo3?.fallback, upTo3?.skipped]).toStrictEqual([2, undefined, []]);
        expect(await store.nextCheckpointId('a')).toBe(7);
        await store.writeCheckpoint(full(7));
        await store.prune('a', 1);
        expect(await store.nextCheckpointId('a')).toBe(8);
      });
    });

    describe('corruption', () => {
      const torn = async (store: StateStore, damage: () => Promise<void>) => {
        await writeChain(store);
        await store.writeCheckpoint(cp('clicks', 4, [snap('counts', true, [['z', '9']], '40'), snap('win', true, [], '40')]));
        await damage();
        const loaded = await store.loadCheckpoint('clicks', 'latest');
        expect(loaded?.id).toBe(3);
        expect(loaded?.operators).toStrictEqual([
          snap('counts', true, [['a', '5'], ['c', '3'], ['d', '4']], '30'),
          snap('win', true, [['w1', '[1,2]'], ['w2', '[3]']], '30'),
        ]);
        return loaded?.skipped;
      };

      it('a missing completion marker (torn write) is skipped and the previous checkpoint loaded', async () => {
        const store = await fresh();
        const skipped = await torn(store, () => store.kv.batch([{ type: 'del', key: markerKey('clicks', 4) }]));
        expect(skipped).toStrictEqual([{ id: 4, kind: 'torn', reason: 'torn: no completion marker (the write never completed)' }]);
        expect((await store.listCheckpoints('clicks')).map((m) => m.id)).toStrictEqual([3, 2, 1]);
      });

      it('a truncated batch (marker present, a chunk missing) is skipped', async () => {
        const store = await fresh();
        const skipped = await torn(store, () => store.kv.batch([{ type: 'del', key: chunkKey('clicks', 4, 0, 0) }]));
        expect(skipped).toStrictEqual([{ id: 4, kind: 'missing-part', reason: 'missing chunk 0 of operator "counts" (truncated write)' }]);
      });

      it('a flipped character in a chunk is skipped', async () => {
        const store = await fresh();
        const skipped = await torn(store, async () => {
          const key = chunkKey('clicks', 4, 0, 0);
          await store.kv.batch([{ type: 'put', key, value: flip((await store.kv.get(key)) ?? '', 3) }]);
        });
        expect(skipped).toStrictEqual([{ id: 4, kind: 'checksum-mismatch', reason: 'checksum mismatch in chunk 0 of operator "counts"' }]);
      });

      it('a flipped character in a manifest is skipped (and not listed)', async () => {
        const store = await fresh();
        const skipped = await torn(store, async () => {
          const key = manifestKey('clicks', 4);
          await store.kv.batch([{ type: 'put', key, value: flip((await store.kv.get(key)) ?? '', 20) }]);
        });
        expect(skipped).toStrictEqual([{ id: 4, kind: 'checksum-mismatch', reason: 'checksum mismatch in manifest' }]);
        expect((await store.listCheckpoints('clicks')).map((m) => m.id)).toStrictEqual([3, 2, 1]);
      });

      it('checkpoints of earlier versions (8-digit FNV-1a checksums in manifest and marker) still load', async () => {
        const store = await fresh();
        await writeChain(store);
        const fnv = (t: string): string => {
          let h = 0x811c9dc5;
          for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
          return (h >>> 0).toString(16).padStart(8, '0');
        };
        for (const id of [1, 2, 3]) {
          const manifest = JSON.parse((await store.kv.get(manifestKey('clicks', id))) ?? '') as { operators: { chunks: string[] }[] };
          for (const [i, op] of manifest.operators.entries()) {
            for (const j of op.chunks.keys()) op.chunks[j] = fnv((await store.kv.get(chunkKey('clicks', id, i, j))) ?? '');
          }
          const text = JSON.stringify(manifest);
          await store.kv.batch([
            { type: 'put', key: manifestKey('clicks', id), value: text },
            { type: 'put', key: markerKey('clicks', id), value: fnv(text) },
          ]);
        }
        const latest = await store.loadCheckpoint('clicks', 'latest');
        expect(latest?.skipped).toStrictEqual([]);
        expect(latest?.operators).toStrictEqual([
          snap('counts', true, [['a', '5'], ['c', '3'], ['d', '4']], '30'),
          snap('win', true, [['w1', '[1,2]'], ['w2', '[3]']], '30'),
        ]);
        // and their damage is still found
        const key = chunkKey('clicks', 3, 0, 0);
        await store.kv.batch([{ type: 'put', key, value: flip((await store.kv.get(key)) ?? '', 3) }]);
        expect((await store.loadCheckpoint('clicks', 'latest'))?.skipped).toStrictEqual([{ id: 3, kind: 'checksum-mismatch', reason: 'checksum mismatch in chunk 0 of operator "counts"' }]);
      });

      it('a broken chain (corrupt or missing parent) falls back to an older usable checkpoint', async () => {
        const store = await fresh();
        const o = (id: number, full: boolean) => [snap('counts', full, [[`k${id}`, `${id}`]])];
        await store.writeCheckpoint(cp('c', 1, o(1, true)));
        await store.writeCheckpoint(cp('c', 2, o(2, true)));
        await store.writeCheckpoint(cp('c', 3, o(3, false), { parent: 2 }));
        await store.writeCheckpoint(cp('c', 4, o(4, false), { parent: 3 }));
        const key = chunkKey('c', 2, 0, 0);
        await store.kv.batch([{ type: 'put', key, value: flip((await store.kv.get(key)) ?? '', 5) }]);
        const loaded = await store.loadCheckpoint('c', 'latest');
        expect(loaded?.id).toBe(1);
        expect(loaded?.operators).toStrictEqual(o(1, true));
        const bad = 'checksum mismatch in chunk 0 of operator "counts"';
        expect(loaded?.skipped).toStrictEqual([
          { id: 4, kind: 'broken-chain', reason: `broken chain: parent checkpoint 2 is unusable (${bad})` },
          { id: 3, kind: 'broken-chain', reason: `broken chain: parent checkpoint 2 is unusable (${bad})` },
          { id: 2, kind: 'checksum-mismatch', reason: bad },
        ]);
        // a missing parent (it vanished: the store still knows it was there)
        await store.kv.batch([{ type: 'del', key: markerKey('c', 3) }, { type: 'del', key: manifestKey('c', 3) }, { type: 'del', key: chunkKey('c', 3, 0, 0) }]);
        expect((await store.loadCheckpoint('c', 'latest'))?.skipped).toStrictEqual([
          { id: 4, kind: 'broken-chain', reason: 'broken chain: parent checkpoint 3 is missing' },
          { id: 3, kind: 'vanished', reason: VANISHED },
          { id: 2, kind: 'checksum-mismatch', reason: bad },
        ]);
        // a delta whose operator has no full snapshot anywhere in its chain
        await store.writeCheckpoint(cp('d', 1, o(1, false)));
        expect(await store.loadCheckpoint('d', 'latest')).toBeUndefined();
      });
    });

    describe('fallback report (which checkpoint was expected, which was used, why)', () => {
      /** Checkpoints 1–3 (a chain), 4 full and pruned to the newest 3 as a job does, then `damage`; loads 'latest'. */
      const fallBack = async (store: StateStore, damage: () => Promise<void>) => {
        await writeChain(store);
        await store.writeCheckpoint(cp('clicks', 4, [snap('counts', true, [['z', '9']], '40'), snap('win', true, [['w3', '[4]']], '40')]));
        await store.prune('clicks', 3);
        await damage();
        const loaded = await store.loadCheckpoint('clicks', 'latest');
        return { id: loaded?.id, skipped: loaded?.skipped, fallback: loaded?.fallback };
      };
      const report = (expected: number, used: number, skipped: { id: number; kind: string; reason: string }[]) => ({ id: used, skipped, fallback: { expected, used, skipped } });
      const keysOf = async (store: StateStore, id: number): Promise<string[]> =>
        (await store.kv.keys('cp/clicks/', 'cp/clicks0')).filter((k) => k.includes(`/${id16(id)}`));

      it('a checksum failure of the newest checkpoint', async () => {
        const store = await fresh();
        const r = await fallBack(store, async () => {
          const key = chunkKey('clicks', 4, 0, 0);
          await store.kv.batch([{ type: 'put', key, value: flip((await store.kv.get(key)) ?? '', 3) }]);
        });
        expect(r).toStrictEqual(report(4, 3, [{ id: 4, kind: 'checksum-mismatch', reason: 'checksum mismatch in chunk 0 of operator "counts"' }]));
      });

      it('a missing part of the newest checkpoint', async () => {
        const store = await fresh();
        const r = await fallBack(store, () => store.kv.batch([{ type: 'del', key: chunkKey('clicks', 4, 1, 0) }]));
        expect(r).toStrictEqual(report(4, 3, [{ id: 4, kind: 'missing-part', reason: 'missing chunk 0 of operator "win" (truncated write)' }]));
      });

      it('the newest checkpoint vanished entirely (every entry of it gone)', async () => {
        const store = await fresh();
        const r = await fallBack(store, async () => store.kv.batch((await keysOf(store, 4)).map((key) => ({ type: 'del', key }))));
        expect(r).toStrictEqual(report(4, 3, [{ id: 4, kind: 'vanished', reason: VANISHED }]));
        expect((await store.listCheckpoints('clicks')).map((m) => m.id)).toStrictEqual([3, 2, 1]);
        // its id is never reused, and an imported savepoint goes past it
        expect(await store.nextCheckpointId('clicks')).toBe(5);
        const imported = await store.importSavepoint(await store.exportSavepoint('clicks', 3));
        expect(imported.id).toBe(5);
      });

      it('several at once: the newest corrupt, the one before vanished', async () => {
        const store = await fresh();
        const r = await fallBack(store, async () => {
          await store.writeCheckpoint(cp('clicks', 5, [snap('counts', true, [['y', '8']], '50'), snap('win', true, [], '50')]));
          await store.kv.batch([...(await keysOf(store, 4)).map((key): BatchOp => ({ type: 'del', key })), { type: 'del', key: markerKey('clicks', 5) }]);
        });
        expect(r).toStrictEqual(
          report(5, 3, [
            { id: 5, kind: 'torn', reason: 'torn: no completion marker (the write never completed)' },
            { id: 4, kind: 'vanished', reason: VANISHED },
          ]),
        );
        // asked for an id at most 4: 4 is expected
        const upTo4 = await store.loadCheckpoint('clicks', 4);
        expect([upTo4?.id, upTo4?.fallback]).toStrictEqual([3, { expected: 4, used: 3, skipped: [{ id: 4, kind: 'vanished', reason: VANISHED }] }]);
      });

      it('no fallback: no report; checkpoints pruned by retention are not expected', async () => {
        const store = await fresh();
        const r = await fallBack(store, async () => {
          await store.prune('clicks', 1);
        });
        expect(r).toStrictEqual({ id: 4, skipped: [], fallback: undefined });
        expect((await store.loadCheckpoint('clicks', 3))?.id).toBeUndefined();
      });

      it('checkpoints deleted by retention are never reported', async () => {
        const store = await fresh();
        await store.writeCheckpoint(cp('r', 1, [snap('o', true, [['k', '1']])], { savepoint: true }));
        for (const id of [2, 3, 4, 5]) {
          await store.writeCheckpoint(cp('r', id, [snap('o', true, [['k', `${id}`]])]));
          await store.prune('r', 1);
        }
        const key = chunkKey('r', 5, 0, 0);
        await store.kv.batch([{ type: 'put', key, value: flip((await store.kv.get(key)) ?? '', 3) }]);
        const skipped = [{ id: 5, kind: 'checksum-mismatch', reason: 'checksum mismatch in chunk 0 of operator "o"' }];
        const loaded = await store.loadCheckpoint('r', 'latest');
        expect([loaded?.id, loaded?.fallback]).toStrictEqual([1, { expected: 5, used: 1, skipped }]);
      });

      it('starting over (prune to 0) forgets the pruned checkpoints; savepoints stay expected', async () => {
        const store = await fresh();
        await writeChain(store);
        await store.writeCheckpoint(cp('clicks', 4, [snap('counts', true, [['z', '9']])], { savepoint: true }));
        await store.prune('clicks', 0);
        expect((await store.listCheckpoints('clicks')).map((m) => m.id)).toStrictEqual([4]);
        await store.kv.batch((await keysOf(store, 4)).map((key) => ({ type: 'del', key })));
        expect(await store.loadCheckpoint('clicks', 'latest')).toBeUndefined();
        expect(await store.nextCheckpointId('clicks')).toBe(5);
      });
    });

    describe('journal', () => {
      it('appends, reads in sequence order, limits and truncates', async () => {
        const store = await fresh();
        await store.appendJournal('clicks/src 0', 0, ['a', 'b', 'c']);
        await store.appendJournal('clicks/src 0', 3, ['d']);
        await store.appendJournal('clicks/src', 0, ['other']);
        await store.appendJournal('clicks/src 0', 10, ['k']);
        expect(await store.readJournal('clicks/src 0', 0)).toStrictEqual(['a', 'b', 'c', 'd', 'k']);
        expect(await store.readJournal('clicks/src 0', 2)).toStrictEqual(['c', 'd', 'k']);
        expect(await store.readJournal('clicks/src 0', 1, 2)).toStrictEqual(['b', 'c']);
        expect(await store.readJournal('clicks/src 0', 1, 0)).toStrictEqual([]);
        expect(await store.readJournal('clicks/src 0', 11)).toStrictEqual([]);
        // limits past what a backend's range read takes (IndexedDB: 2³² − 1; LevelDB's wraps at 2³²) read everything
        for (const limit of [2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
          expect(await store.readJournal('clicks/src 0', 1, limit)).toStrictEqual(['b', 'c', 'd', 'k']);
        }
        await store.truncateJournal('clicks/src 0', 2);
        expect(await store.readJournal('clicks/src 0', 0)).toStrictEqual(['c', 'd', 'k']);
        await store.truncateJournal('clicks/src 0', 100);
        expect(await store.readJournal('clicks/src 0', 0)).toStrictEqual([]);
        expect(await store.readJournal('clicks/src', 0)).toStrictEqual(['other']);
        await expect(store.appendJournal('j', -1, ['x'])).rejects.toThrow('sequence number -1 is not a non-negative safe integer');
      });
    });

    describe('savepoints', () => {
      it('export → import into another store restores identical state, flagged savepoint', async () => {
        const a = await fresh();
        const b = await fresh();
        await writeChain(a);
        const text = await a.exportSavepoint('clicks');
        const meta = await b.importSavepoint(text);
        expect(meta).toStrictEqual({ ...meta, job: 'clicks', id: 3, timestamp: 3000, savepoint: true, entries: 5 });
        const [from, to] = [await a.loadCheckpoint('clicks', 'latest'), await b.loadCheckpoint('clicks', 'latest')];
        expect(to?.operators).toStrictEqual(from?.operators);
        expect([to?.sources, to?.sink, to?.savepoint, to?.parent]).toStrictEqual([['{"index":30}'], '{"pending":[3]}', true, undefined]);
        // an older checkpoint, under another job name, after existing checkpoints: gets the next id
        const older = await a.exportSavepoint('clicks', 2);
        const again = await b.importSavepoint(older, { job: 'clicks' });
        expect([again.id, again.timestamp]).toStrictEqual([4, 2000]);
        expect((await b.loadCheckpoint('clicks', 'latest'))?.operators.map(entriesOf)).toStrictEqual([
          [['a', '5'], ['c', '3']],
          [['w1', '[1,2]']],
        ]);
        const renamed = await b.importSavepoint(text, { job: 'copy' });
        expect(renamed.job).toBe('copy');
        // savepoints survive retention
        await b.prune('clicks', 0);
        expect((await b.listCheckpoints('clicks')).map((m) => m.id)).toStrictEqual([4, 3]);
      });

      it('rejects a corrupt or foreign savepoint file with a clear error', async () => {
        const a = await fresh();
        await writeChain(a);
        const text = await a.exportSavepoint('clicks');
        const remedy = 'Use the unmodified text returned by exportSavepoint (export it again if the file was damaged).';
        const at = text.indexOf('w1');
        await expect(a.importSavepoint(flip(text, at))).rejects.toThrow(
          new CorruptCheckpointError(a.description, 'clicks', 3, 'cannot import savepoint: checksum mismatch (the file was modified or damaged)', remedy),
        );
        const err = await a.importSavepoint(text.slice(0, 100)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CorruptCheckpointError);
        expect((err as Error).message).toMatch(new RegExp(`^store ${a.description}: cannot import savepoint: the file is not JSON \\(.+\\)\\. Use the unmodified`));
        await expect(a.importSavepoint('{"format":"something-else"}')).rejects.toThrow(
          `store ${a.description}: cannot import savepoint: not a tidewater savepoint (format is "something-else", expected "tidewater-savepoint"). ${remedy}`,
        );
        await expect(a.exportSavepoint('clicks', 9)).rejects.toThrow(
          `store ${a.description}, job "clicks", checkpoint 9: no such checkpoint. List the usable ones with listCheckpoints(job)`,
        );
        // pretty-printing does not invalidate a savepoint
        const pretty = JSON.stringify(JSON.parse(text), null, 2);
        expect((await a.importSavepoint(pretty)).id).toBe(4);
      });
    });

    it('agrees with a simple model over random full/delta writes, prunes and loads', async () => {
      type Cmd = { kind: 'full'; entries: [string, string][] } | { kind: 'delta'; entries: [string, string | undefined][]; savepoint: boolean } | { kind: 'prune'; retain: number } | { kind: 'load' };
      const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
      const cmd: fc.Arbitrary<Cmd> = fc.oneof(
        fc.record({ kind: fc.constant('full' as const), entries: fc.array(fc.tuple(key, fc.string({ maxLength: 3 })), { maxLength: 4 }) }),
        fc.record({
          kind: fc.constant('delta' as const),
          entries: fc.array(fc.tuple(key, fc.option(fc.string({ maxLength: 3 }), { nil: undefined })), { maxLength: 4 }),
          savepoint: fc.boolean(),
        }),
        fc.record({ kind: fc.constant('prune' as const), retain: fc.integer({ min: 1, max: 3 }) }),
        fc.constant({ kind: 'load' as const }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(cmd, { maxLength: 12 }), async (cmds) => {
          const store = await fresh();
          // model: id → materialised state, parent, savepoint, full
          const model = new Map<number, { state: Map<string, string>; parent?: number; savepoint: boolean }>();
          let next = 1;
          const newest = () => Math.max(0, ...model.keys());
          for (const c of cmds) {
            if (c.kind === 'full' || (c.kind === 'delta' && model.size === 0)) {
              const entries = c.entries.flatMap(([k, v]) => (v === undefined ? [] : [[k, v] as [string, string]]));
              const state = new Map<string, string>();
              for (const [k, v] of entries) state.set(k, v);
              await store.writeCheckpoint(cp('m', next, [snap('o', true, [...state])]));
              model.set(next++, { state, savepoint: false });
            } else if (c.kind === 'delta') {
              const parent = newest();
              const state = new Map((model.get(parent) as { state: Map<string, string> }).state);
              for (const [k, v] of c.entries) {
                if (v === undefined) state.delete(k);
                else state.set(k, v);
              }
              // a delta names each key once with its final value
              const changes = new Map(c.entries);
              await store.writeCheckpoint(cp('m', next, [snap('o', false, [...changes])], { parent, savepoint: c.savepoint }));
              model.set(next++, { state, parent, savepoint: c.savepoint });
            } else if (c.kind === 'prune') {
              const ids = [...model.keys()].sort((a, b) => b - a);
              const keep = new Set([...ids.filter((id) => model.get(id)?.savepoint !== true).slice(0, c.retain), ...ids.filter((id) => model.get(id)?.savepoint)]);
              for (const id of [...keep]) for (let p = model.get(id)?.parent; p !== undefined; p = model.get(p)?.parent) keep.add(p);
              for (const id of ids) if (!keep.has(id)) model.delete(id);
              await store.prune('m', c.retain);
            } else {
              const loaded = await store.loadCheckpoint('m', 'latest');
              const want = model.get(newest());
              expect(loaded?.id).toBe(want === undefined ? undefined : newest());
              if (want !== undefined) expect(new Map(entriesOf(loaded?.operators[0]))).toStrictEqual(want.state);
            }
            expect((await store.listCheckpoints('m')).map((m) => m.id)).toStrictEqual([...model.keys()].sort((a, b) => b - a));
          }
        }),
        { numRuns: options.propertyRuns ?? 40 },
      );
    });
  });
}
