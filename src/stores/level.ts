/**
 * `tidewater/level`: checkpoints in LevelDB through `level` 10 (`classic-level` in Node, `browser-level` in a browser
 * bundle, which also needs the `events` package).
 *
 * @packageDocumentation
 */
import { nodeFiles } from '../core/node.js';
import { Level } from 'level';
import { StoreError } from '../errors/index.js';
import { checkBatch, checkpointStore, conflictError } from './checkpointStore.js';
import { checksum } from './checksum.js';
import type { BatchOp, KeyValueBackend, StateStore } from './types.js';

/**
 * The part of a `level` database (`Level`, `ClassicLevel`, `BrowserLevel`, `MemoryLevel` …) that {@link levelStore}
 * uses, with string keys and values. Structural, so no `abstract-level` type leaks into yours.
 *
 * @example
 * ```ts
 * import { Level } from 'level';
 * const db: LevelLike = new Level('./state');
 * const store = levelStore(db);
 * ```
 */
export interface LevelLike {
  /** The directory (or, in browsers, the IndexedDB name); used in the store's description. */
  readonly location?: string;
  /**
   * Opens the database (a no-op when it is open). `levelStore` calls it before the first operation, so that a failed
   * open rejects with its real cause (`level` keeps it in `cause` of `LEVEL_DATABASE_NOT_OPEN`).
   */
  open?(): Promise<void>;
  get(key: string): Promise<string | undefined>;
  batch(ops: BatchOp[], options?: { sync?: boolean }): Promise<void>;
  iterator(options: { gte: string; lt: string; limit?: number }): { all(): Promise<[string, string][]> };
  keys(options: { gte: string; lt: string }): { all(): Promise<string[]> };
  close(): Promise<void>;
}

/**
 * Options of {@link levelStore}.
 *
 * @example
 * ```ts
 * const store = levelStore('./state', { sync: false }); // faster, survives a process crash but not a power loss
 * ```
 */
export interface LevelStoreOptions {
  /**
   * Default true: each batch (a checkpoint, a journal append) is written with `{ sync: true }`, so it is flushed to
   * disk (fsync) before the promise resolves and survives a power loss. With false, a batch survives a crash of the
   * process (it is in the OS buffers) but not of the machine. Ignored by `browser-level`.
   */
  readonly sync?: boolean;
}

/** The error `level` failed with: the open's own error rather than its `LEVEL_DATABASE_NOT_OPEN` wrapper. */
function rootCause(e: unknown): unknown {
  const err = e as { code?: unknown; cause?: unknown } | null;
  return err?.code === 'LEVEL_DATABASE_NOT_OPEN' && err.cause !== undefined ? err.cause : e;
}

/** What to do about a LevelDB failure, from its code and message. */
function remedy(cause: unknown, closed: boolean): string {
  if (closed) return 'The store was closed: open a new one.';
  const { code, message } = (cause ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (code === 'LEVEL_LOCKED') {
    return 'Another process, or another store in this process, has this database open: stop that process or close that store first, or give each its own directory.';
  }
  if (code === 'EEXIST' || code === 'ENOTDIR') return 'The location is a file, not a directory: give levelStore the path of a directory (it is created when missing).';
  if (code === 'EACCES' || code === 'EPERM' || /Permission denied/.test(text)) {
    return 'This process may not read or write the directory: give its user read and write access to the directory and its files.';
  }
  if (code === 'LEVEL_CORRUPTION' || (code === 'LEVEL_IO_ERROR' && /No such file or directory/.test(text))) {
    return 'The database is damaged (a file of it is missing or corrupt): restore the directory from a backup, or move it aside and start the job over (restore: false).';
  }
  if (/No space left|ENOSPC/.test(text) || code === 'ENOSPC') return 'The disk is full: free space, then restart the job (it resumes from its last complete checkpoint).';
  return 'Check the location, its permissions and the free disk space.';
}

/** Node's `fs` and `path` (this module also runs in browsers). */
const nodeModules = nodeFiles;

/**
 * Values put aside: one small file per key in the database's directory (`tidewater-aside-<checksum of the key>`, JSON
 * `{ key, value }`), replaced atomically (written to a temporary file, renamed). LevelDB ignores files it did not
 * name, and they stay whole when LevelDB's own log is damaged. They are not fsynced (that would nearly double the cost
 * of a checkpoint): a process crash keeps them, a power loss may leave the previous value (one checkpoint older) or a
 * damaged one, which the store ignores (a head is checksummed) — what is put aside only helps to report a loss.
 */
class AsideFiles {
  /** The last put: puts run one after another (they share a temporary file name). */
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly node: NonNullable<ReturnType<typeof nodeFiles>>,
    private readonly dir: string,
  ) {}

  private file(key: string): string {
    return this.node.path.join(this.dir, `tidewater-aside-${checksum(key)}`);
  }

  put(key: string, value: string): Promise<void> {
    const { promises: fs } = this.node.fs;
    const file = this.file(key);
    const tmp = `${file}.tmp`;
    const done = this.last.then(async () => {
      await fs.writeFile(tmp, JSON.stringify({ key, value }));
      await fs.rename(tmp, file);
    });
    this.last = done.catch(() => undefined);
    return done;
  }

  async get(key: string): Promise<string | undefined> {
    let text: string;
    try {
      text = await this.node.fs.promises.readFile(this.file(key), 'utf8');
    } catch {
      // missing, or unreadable (a directory in its place, no permission): the copy only serves to report a checkpoint
      // the store loses later, so it never fails a checkpoint or a restore; the next put of it warns when it fails too
      return undefined;
    }
    try {
      const kept = JSON.parse(text) as { key?: unknown; value?: unknown };
      return kept.key === key && typeof kept.value === 'string' ? kept.value : undefined;
    } catch {
      return undefined; // damaged: the value is lost (what it guards is then found by the store's own scan only)
    }
  }
}

class LevelBackend implements KeyValueBackend {
  /** The open, started by the first operation. */
  private opened: Promise<void> | undefined;
  private closed = false;
  readonly putAside?: (key: string, value: string) => Promise<void>;
  readonly getAside?: (key: string) => Promise<string | undefined>;

  constructor(
    private readonly db: LevelLike,
    private readonly sync: boolean,
    private readonly description: string,
    /** The database's directory, when values can be put aside in files there. */
    dir?: string,
  ) {
    const node = dir === undefined ? undefined : nodeModules();
    if (node !== undefined && dir !== undefined) {
      const files = new AsideFiles(node, dir);
      this.putAside = (key, value) => this.run('write', () => files.put(key, value));
      this.getAside = (key) => this.run('read', () => files.get(key));
    }
  }

  /** Runs `op` on the open database; any failure becomes a {@link StoreError} with the real cause. */
  private async run<V>(action: 'read' | 'write', op: () => Promise<V>): Promise<V> {
    if (!this.closed && this.db.open !== undefined) {
      const opened = (this.opened ??= this.db.open());
      try {
        await opened;
      } catch (e) {
        this.opened = undefined; // the next operation tries again (another process may have let go of the lock)
        const cause = rootCause(e);
        throw new StoreError(this.description, 'open', cause, remedy(cause, false));
      }
    }
    try {
      return await op();
    } catch (e) {
      const cause = rootCause(e);
      throw new StoreError(this.description, action, cause, remedy(cause, this.closed));
    }
  }

  get(key: string): Promise<string | undefined> {
    return this.run('read', () => this.db.get(key));
  }

  async batch(ops: readonly BatchOp[], expect?: ReadonlyMap<string, string | undefined>): Promise<void> {
    checkBatch(ops);
    // (one process holds the database, and the checkpoint store writes a job's checkpoints one after another: a
    // check before the write is a check at it)
    if (expect !== undefined && expect.size > 0) {
      // (read together: each read waits for the event loop, which a busy job yields every few ms)
      const expected = [...expect];
      const found = await Promise.all(expected.map(([key]) => this.get(key)));
      expected.forEach(([key, value], i) => {
        if (found[i] !== value) throw conflictError(this.description, key);
      });
    }
    if (ops.length > 0) await this.run('write', () => this.db.batch([...ops], { sync: this.sync }));
  }

  range(gte: string, lt: string, limit?: number): Promise<[key: string, value: string][]> {
    if (gte >= lt) return Promise.resolve([]);
    return this.run('read', () => this.db.iterator(limit === undefined ? { gte, lt } : { gte, lt, limit }).all());
  }

  keys(gte: string, lt: string): Promise<string[]> {
    if (gte >= lt) return Promise.resolve([]);
    return this.run('read', () => this.db.keys({ gte, lt }).all());
  }

  close(): Promise<void> {
    this.closed = true;
    return this.db.close();
  }
}

/**
 * A {@link StateStore} in LevelDB: `location` is a directory (created if missing; in a browser bundle, an IndexedDB
 * name), or an open `level` database with string keys and values. One checkpoint is one LevelDB batch, durable
 * (fsync'd) when the promise resolves unless `{ sync: false }`. The database opens on first use; when it cannot be
 * opened, read or written (locked by another process, damaged, not a directory, no permission), every operation
 * rejects with a `StoreError` naming the location, the cause and the remedy. A job does not close it: close it once
 * no job uses it, which unlocks the directory (another `levelStore` of it in this process can open it then).
 *
 * @example
 * ```ts
 * import { levelStore } from 'tidewater/level';
 * const store = levelStore('./clicks-state');
 * const job = runJob({ name: 'clicks', source, pipeline, checkpoint: { intervalMs: 1000, store } });
 * await job.done;
 * await store.close();
 * ```
 */
export function levelStore(location: string | LevelLike, options: LevelStoreOptions = {}): StateStore {
  const db: LevelLike = typeof location === 'string' ? new Level<string, string>(location) : location;
  const where = typeof location === 'string' ? location : (location.location ?? 'database');
  const dir = typeof location === 'string' ? location : undefined;
  return checkpointStore(new LevelBackend(db, options.sync ?? true, `level:${where}`, dir), `level:${where}`);
}
