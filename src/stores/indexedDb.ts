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
  constructor(
    private readonly use: UseStore,
    private readonly durability: IDBTransactionDurability,
  ) {}

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
    return this.use('readonly', (s) => {
      // our own transaction, to ask for the durability (idb-keyval's has the browser's default, relaxed in Chromium)
      const tx = s.transaction.db.transaction(s.name, 'readwrite', { durability: this.durability });
      const store = tx.objectStore(s.name);
      try {
        for (const op of ops) {
          if (op.type === 'put') store.put(op.value, op.key);
          else store.delete(op.key);
        }
      } catch (e) {
        tx.abort(); // all or nothing
        throw e;
      }
      return promisifyRequest(tx);
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
 * Options of {@link indexedDbStore}.
 *
 * @example
 * ```ts
 * const store = indexedDbStore('dashboard', { durability: 'relaxed' }); // faster; may lose the last writes on power loss
 * ```
 */
export interface IndexedDbStoreOptions {
  /**
   * The durability of each write transaction (a checkpoint, a journal append). Default `'strict'`: the transaction
   * completes once flushed to disk, so the promise resolves when the write survives a power loss (Chromium's own
   * default is `'relaxed'`: written to the OS, not flushed).
   */
  readonly durability?: 'strict' | 'relaxed' | 'default';
}

/**
 * A {@link StateStore} in IndexedDB database `name` (object store `tidewater`, created on first use). One checkpoint
 * is one readwrite transaction (durability `'strict'` unless told otherwise); the promise resolves when the
 * transaction completes.
 *
 * @example
 * ```ts
 * import { indexedDbStore } from 'tidewater/indexeddb';
 * const store = indexedDbStore('dashboard');
 * const job = runJob({ name: 'clicks', source, pipeline, checkpoint: { intervalMs: 1000, store } });
 * ```
 */
export function indexedDbStore(name: string, options: IndexedDbStoreOptions = {}): StateStore {
  return checkpointStore(new IndexedDbBackend(createStore(name, OBJECT_STORE), options.durability ?? 'strict'), `indexeddb:${name}`);
}
