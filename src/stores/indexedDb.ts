/**
 * `tidewater/indexeddb`: checkpoints in the browser's IndexedDB through `idb-keyval`.
 *
 * @packageDocumentation
 */
import { promisifyRequest } from 'idb-keyval';
import { StoreError } from '../errors/index.js';
import { checkBatch, checkpointStore, conflictError } from './checkpointStore.js';
import type { BatchOp, KeyValueBackend, StateStore } from './types.js';

const OBJECT_STORE = 'tidewater';

/** What to do once the database's content is gone while the store was open (see `IndexedDbBackend.lost`). */
const LOST_REMEDY = 'The checkpoints and journals it held are gone: open a new store, and start the job afresh (restore: false) or from a copy of its checkpoints kept elsewhere.';

/** What to do about an IndexedDB failure, from the DOMException's name. */
function remedy(cause: unknown, closed: boolean): string {
  if (closed) return 'The store was closed: open a new one.';
  const name = (cause as { name?: unknown } | null)?.name;
  if (name === 'QuotaExceededError') {
    return "The browser's storage quota for this site is used up: free space (delete old data, keep fewer checkpoints: retain); navigator.storage.estimate() tells the quota and the use.";
  }
  return 'Check that this page may use IndexedDB (storage is not disabled, e.g. in a private window) and that there is space.';
}

/**
 * Resolves when `tx` commits; rejects with what aborted it. (A request's failure reaches the transaction's `error`
 * event before the transaction aborts, while `tx.error` is still null: the cause is the request's error, taken from
 * that event, or `tx.error` once aborted.)
 */
function completion(tx: IDBTransaction): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let cause: unknown;
    tx.oncomplete = () => resolve();
    tx.onerror = (event) => {
      cause ??= (event.target as IDBRequest | null)?.error ?? undefined;
    };
    tx.onabort = () => reject(tx.error ?? cause ?? new DOMException('the transaction was aborted', 'AbortError'));
  });
}

class IndexedDbBackend implements KeyValueBackend {
  /** The connection, opened by the first operation. */
  private db: Promise<IDBDatabase> | undefined;
  private closed = false;
  /**
   * Why the database's content is gone while the store was open (deleted by another page, site data cleared by the
   * browser or the user): every later operation fails with it. Opening a new connection would create an empty
   * database in its place, and the store would go on as if the checkpoints it wrote were still there.
   */
  private lost: string | undefined;
  /**
   * Whether a connection was ever opened: a later one that finds no database (an upgrade from version 0) or no object
   * store of ours finds the content gone — deleted, or changed by another page, after that page's upgrade had closed
   * our connection — and must not start an empty database in its place.
   */
  private connected = false;

  constructor(
    private readonly name: string,
    private readonly durability: IDBTransactionDurability,
    private readonly description: string,
  ) {}

  /**
   * Opens database `name`, creating the object store in a new database; rejects with a {@link StoreError}. A
   * connection another page wants to upgrade (`versionchange` to a new version) is closed, and the next operation
   * opens a new one. One whose database is deleted (`versionchange` to none) or that the browser closed (site data
   * cleared, an I/O error) is closed for good: its checkpoints are gone, and every later operation fails saying so.
   */
  private connect(): Promise<IDBDatabase> {
    const connection: Promise<IDBDatabase> = new Promise<IDBDatabase>((resolve, reject) => {
      const fail = (cause: unknown, fix = remedy(cause, false)): void => reject(new StoreError(this.description, 'open', cause, fix));
      let request: IDBOpenDBRequest;
      try {
        request = indexedDB.open(this.name);
      } catch (e) {
        fail(e);
        return;
      }
      request.onupgradeneeded = (event) => {
        if (this.connected && event.oldVersion === 0) {
          // (aborted, the upgrade leaves no database behind: the next page to open it finds none, as it should)
          this.lost ??= 'the database was deleted (by another page or script, or with the site\'s data) while the store was open';
          request.transaction?.abort();
          return;
        }
        request.result.createObjectStore(OBJECT_STORE);
      };
      request.onerror = () => {
        if (this.lost !== undefined) fail(new DOMException(this.lost, 'InvalidStateError'), LOST_REMEDY);
        else fail(request.error);
      };
      request.onsuccess = () => {
        const db = request.result;
        if (db.objectStoreNames.contains(OBJECT_STORE)) {
          this.connected = true;
          const forget = (): void => {
            if (this.db === connection) this.db = undefined;
          };
          db.onversionchange = (event) => {
            db.close();
            if (event.newVersion === null) this.lost ??= 'the database was deleted (by another page or script) while the store was open';
            forget();
          };
          db.onclose = () => {
            this.lost ??= 'the browser closed the database (site data cleared, or a storage failure) while the store was open';
            forget();
          };
          resolve(db);
          return;
        }
        db.close();
        if (this.connected) {
          this.lost ??= `the database was changed by another page or script (its object store "${OBJECT_STORE}" removed) while the store was open`;
          fail(new DOMException(this.lost, 'InvalidStateError'), LOST_REMEDY);
          return;
        }
        fail(
          new DOMException(`the database has no object store "${OBJECT_STORE}" (it was created by something else)`, 'NotFoundError'),
          'Give indexedDbStore a name of its own.',
        );
      };
    });
    return connection;
  }

  /** Runs `op` on the object store in a new transaction; any failure becomes a {@link StoreError} with the cause. */
  private async run<V>(action: 'read' | 'write', mode: IDBTransactionMode, op: (store: IDBObjectStore) => Promise<V>): Promise<V> {
    // (a closed store opens no new connection: its writes would go to a database nobody closes)
    if (this.closed) throw new StoreError(this.description, action, new DOMException('the store was closed', 'InvalidStateError'), remedy(undefined, true));
    if (this.lost !== undefined) throw new StoreError(this.description, action, new DOMException(this.lost, 'InvalidStateError'), LOST_REMEDY);
    const opened = (this.db ??= this.connect());
    let db: IDBDatabase;
    try {
      db = await opened;
    } catch (e) {
      if (this.db === opened) this.db = undefined; // the next operation tries again
      throw e;
    }
    try {
      return await op(db.transaction(OBJECT_STORE, mode, { durability: this.durability }).objectStore(OBJECT_STORE));
    } catch (e) {
      if (e instanceof StoreError) throw e; // (a conflict: says what and why already)
      // (a connection the browser closes fails the transactions in flight before its 'close' event says why)
      if (!this.closed && this.lost === undefined) await new Promise((r) => setTimeout(r, 0));
      throw new StoreError(this.description, action, e, this.lost !== undefined ? LOST_REMEDY : remedy(e, this.closed));
    }
  }

  get(key: string): Promise<string | undefined> {
    return this.run('read', 'readonly', (s) => promisifyRequest(s.get(key) as IDBRequest<string | undefined>));
  }

  batch(ops: readonly BatchOp[], expect?: ReadonlyMap<string, string | undefined>): Promise<void> {
    try {
      checkBatch(ops);
    } catch (e) {
      return Promise.reject(e);
    }
    if (ops.length === 0 && (expect === undefined || expect.size === 0)) return Promise.resolve();
    // our own transaction, with the durability asked for (Chromium's default is relaxed); the expected values are read
    // in it, so that no other tab's transaction writes between the check and the write
    return this.run('write', 'readwrite', (store) => {
      const tx = store.transaction;
      const write = (): void => {
        for (const op of ops) {
          if (op.type === 'put') store.put(op.value, op.key);
          else store.delete(op.key);
        }
      };
      const checks = [...(expect ?? [])];
      if (checks.length === 0) {
        try {
          write();
        } catch (e) {
          tx.abort(); // all or nothing
          throw e;
        }
        return completion(tx);
      }
      let conflict: string | undefined;
      let failure: { readonly error: unknown } | undefined;
      let left = checks.length;
      for (const [key, value] of checks) {
        const r = store.get(key);
        r.onsuccess = () => {
          if (conflict === undefined && r.result !== value) conflict = key;
          if (--left > 0) return;
          if (conflict !== undefined) {
            tx.abort();
            return;
          }
          try {
            write();
          } catch (error) {
            failure = { error };
            tx.abort();
          }
        };
      }
      return completion(tx).catch((e: unknown) => {
        if (conflict !== undefined) throw conflictError(this.description, conflict);
        throw failure !== undefined ? failure.error : e;
      });
    });
  }

  range(gte: string, lt: string, limit?: number): Promise<[key: string, value: string][]> {
    if (gte >= lt) return Promise.resolve([]);
    return this.run('read', 'readonly', async (s) => {
      const r = IDBKeyRange.bound(gte, lt, false, true);
      const [keys, values] = await Promise.all([promisifyRequest(s.getAllKeys(r, limit)), promisifyRequest(s.getAll(r, limit) as IDBRequest<string[]>)]);
      return keys.map((k, i): [string, string] => [k as string, values[i] as string]);
    });
  }

  keys(gte: string, lt: string): Promise<string[]> {
    if (gte >= lt) return Promise.resolve([]);
    return this.run('read', 'readonly', (s) => promisifyRequest(s.getAllKeys(IDBKeyRange.bound(gte, lt, false, true)) as IDBRequest<string[]>));
  }

  async close(): Promise<void> {
    this.closed = true;
    const db = await this.db?.catch(() => undefined);
    db?.close();
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
 * transaction completes. The database opens on first use; when it cannot be opened, read or written (a database of
 * that name made by something else, the storage quota used up, IndexedDB not allowed), the operation rejects with a
 * `StoreError` naming the database, the cause and the remedy.
 *
 * @example
 * ```ts
 * import { indexedDbStore } from 'tidewater/indexeddb';
 * const store = indexedDbStore('dashboard');
 * const job = runJob({ name: 'clicks', source, pipeline, checkpoint: { intervalMs: 1000, store } });
 * ```
 */
export function indexedDbStore(name: string, options: IndexedDbStoreOptions = {}): StateStore {
  return checkpointStore(new IndexedDbBackend(name, options.durability ?? 'strict', `indexeddb:${name}`), `indexeddb:${name}`);
}
