/**
 * `tidewater/indexeddb`: checkpoints in the browser's IndexedDB through `idb-keyval`.
 *
 * @packageDocumentation
 */
import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';
import { checkBatch, checkpointStore } from './checkpointStore.js';
import type { BatchOp, KeyValueBackend, StateStore } from './types.js';

const OBJECT_STORE = 'tidewater';

class IndexedDbBackend implements KeyValueBackend {
  constructor(private readonly use: UseStore) {}

  get(key: string): Promise<string | undefined> {
    return this.use('readonly', (s) => promisifyRequest(s.get(key) as IDBRequest<string | undefined>));
  }

  batch(ops: readonly BatchOp[]): Promise<void> {
    try {
      checkBatch(ops);
    } catch (e) {
      return Promise.reject(e);
    }
    if (ops.length === 0) return Promise.resolve();
    return this.use('readwrite', (s) => {
      try {
        for (const op of ops) {
          if (op.type === 'put') s.put(op.value, op.key);
          else s.delete(op.key);
        }
      } catch (e) {
        s.transaction.abort(); // all or nothing
        throw e;
      }
      return promisifyRequest(s.transaction);
    });
  }

  range(gte: string, lt: string, limit?: number): Promise<[key: string, value: string][]> {
    if (gte >= lt) return Promise.resolve([]);
    return this.use('readonly', async (s) => {
      const r = IDBKeyRange.bound(gte, lt, false, true);
      const [keys, values] = await Promise.all([promisifyRequest(s.getAllKeys(r, limit)), promisifyRequest(s.getAll(r, limit) as IDBRequest<string[]>)]);
      return keys.map((k, i): [string, string] => [k as string, values[i] as string]);
    });
  }

  keys(gte: string, lt: string): Promise<string[]> {
    if (gte >= lt) return Promise.resolve([]);
    return this.use('readonly', (s) => promisifyRequest(s.getAllKeys(IDBKeyRange.bound(gte, lt, false, true)) as IDBRequest<string[]>));
  }

  close(): Promise<void> {
    return this.use('readonly', (s) => s.transaction.db.close());
  }
}

/**
 * A {@link StateStore} in IndexedDB database `name` (object store `tidewater`, created on first use). One checkpoint
 * is one readwrite transaction; the promise resolves when the transaction completes.
 *
 * @example
 * ```ts
 * import { indexedDbStore } from 'tidewater/indexeddb';
 * const store = indexedDbStore('dashboard');
 * const job = runJob({ name: 'clicks', source, pipeline, checkpoint: { intervalMs: 1000, store } });
 * ```
 */
export function indexedDbStore(name: string): StateStore {
  return checkpointStore(new IndexedDbBackend(createStore(name, OBJECT_STORE)), `indexeddb:${name}`);
}
