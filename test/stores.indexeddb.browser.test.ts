// indexedDbStore on the real IndexedDB of Chromium (browser project only).
import { describe, expect, it } from 'vitest';
import { openDefaultStore, StoreError } from '../src/index.js';
import { indexedDbStore } from '../src/stores/indexedDb.js';
import { storeConformance, writerCheckpoint } from './support/storeConformance.js';

const run = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
let n = 0;
storeConformance('indexedDbStore (Chromium)', () => indexedDbStore(`tidewater-${run}-${n++}`), { propertyRuns: 15 });

describe('indexedDbStore in a browser', () => {
  it('gives way to another page upgrading its database, and opens a new connection for the next operation', async () => {
    const name = `tidewater-${run}-upgrade`;
    const store = indexedDbStore(name);
    await store.appendJournal('j', 0, ['a']);
    // another page's upgrade: blocked until the store's connection closes (before, it never closed)
    const version = await new Promise<number>((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onsuccess = () => {
        const v = r.result.version;
        r.result.close();
        resolve(v);
      };
      r.onerror = () => reject(r.error);
    });
    await new Promise<void>((resolve, reject) => {
      const r = indexedDB.open(name, version + 1);
      r.onupgradeneeded = () => r.result.createObjectStore('other');
      r.onsuccess = () => {
        r.result.close();
        resolve();
      };
      r.onerror = () => reject(r.error);
    });
    await store.appendJournal('j', 1, ['b']);
    expect(await store.readJournal('j', 0)).toStrictEqual(['a', 'b']);
    await store.close();
  });

  it('a database deleted while the store is open fails every later operation with StoreError, instead of starting an empty one', async () => {
    const name = `tidewater-${run}-deleted`;
    const store = indexedDbStore(name);
    await store.appendJournal('j', 0, ['a']);
    // another page deletes the database: the store's connection gives way
    await new Promise<void>((resolve, reject) => {
      const r = indexedDB.deleteDatabase(name);
      r.onsuccess = () => resolve();
      r.onerror = () => reject(r.error);
    });
    const ops = [['write', () => store.appendJournal('j', 1, ['b'])], ['read', () => store.readJournal('j', 0)], ['read', () => store.loadCheckpoint('job', 'latest')]] as const;
    for (const [action, op] of ops) {
      const err: unknown = await op().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).message).toBe(
        `store indexeddb:${name}: a ${action} failed: the database was deleted (by another page or script) while the store was open. ` +
          'The checkpoints and journals it held are gone: open a new store, and start the job afresh (restore: false) or from a copy of its checkpoints kept elsewhere.',
      );
    }
    // (and no empty database was made in its place)
    const names = (await indexedDB.databases()).map((d) => d.name);
    expect(names).not.toContain(name);
    await store.close();
  });

  it('a database deleted after another page\'s upgrade closed the store\'s connection: the next connection finds it gone and fails, instead of starting an empty one', async () => {
    const name = `tidewater-${run}-upgraded-deleted`;
    const store = indexedDbStore(name);
    await store.appendJournal('j', 0, ['a']);
    const request = <T>(r: IDBRequest<T>): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    // another page opens the next version (the store closes its connection), then the database is deleted
    const version = await request(indexedDB.open(name)).then((db) => (db.close(), db.version));
    (await request(indexedDB.open(name, version + 1))).close();
    await request(indexedDB.deleteDatabase(name));
    const first: unknown = await store.readJournal('j', 0).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(StoreError);
    expect((first as StoreError).message).toBe(
      `store indexeddb:${name}: opening the database failed: the database was deleted (by another page or script, or with the site's data) while the store was open. ` +
        'The checkpoints and journals it held are gone: open a new store, and start the job afresh (restore: false) or from a copy of its checkpoints kept elsewhere.',
    );
    const next: unknown = await store.appendJournal('j', 1, ['b']).catch((e: unknown) => e);
    expect((next as StoreError).message).toBe(
      `store indexeddb:${name}: a write failed: the database was deleted (by another page or script, or with the site's data) while the store was open. ` +
        'The checkpoints and journals it held are gone: open a new store, and start the job afresh (restore: false) or from a copy of its checkpoints kept elsewhere.',
    );
    expect((await indexedDB.databases()).map((d) => d.name)).not.toContain(name);
    await store.close();
  });

  it('two tabs (two connections) writing the same checkpoint of one job: one write is refused whole, and a restore reads one writer\'s state', async () => {
    const name = `tidewater-${run}-tabs`;
    const cp = writerCheckpoint;
    const [tabA, tabB] = [indexedDbStore(name), indexedDbStore(name)];
    await Promise.all([tabA.loadCheckpoint('dash', 'latest'), tabB.loadCheckpoint('dash', 'latest')]);
    const results = await Promise.allSettled([tabA.writeCheckpoint(cp(1, 'A')), tabB.writeCheckpoint(cp(1, 'B'))]);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused.length).toBe(1);
    expect(refused[0]?.reason).toBeInstanceOf(StoreError);
    expect((refused[0]?.reason as Error).message).toMatch(
      new RegExp(`^store indexeddb:${name}: a write failed: another writer changed '.*' since this one read it\\. Nothing of this write was stored\\.`),
    );
    const winner = results[0]?.status === 'fulfilled' ? 'A' : 'B';
    const loaded = await indexedDbStore(name).loadCheckpoint('dash', 'latest');
    expect([loaded?.id, loaded?.sources, loaded?.operators[0]?.entries.map((e) => e.path)]).toStrictEqual([1, [winner], [`from-${winner}`]]);
    await tabA.close();
    await tabB.close();
  });

  it('openDefaultStore is IndexedDB in a browser', async () => {
    const store = await openDefaultStore(`tidewater-${run}-default`);
    expect(store.description).toBe(`indexeddb:tidewater-${run}-default`);
    await store.appendJournal('j', 0, ['x']);
    expect(await store.readJournal('j', 0)).toStrictEqual(['x']);
    await store.close();
  });
});

// `level` in a browser bundle is browser-level (IndexedDB underneath; needs the `events` package)
storeConformance('levelStore (browser-level)', async () => (await import('../src/stores/level.js')).levelStore(`tidewater-level-${run}-${n++}`), { propertyRuns: 10 });
