/**
 * `tidewater/level`: checkpoints in LevelDB through `level` 10 (`classic-level` in Node, `browser-level` in a browser
 * bundle, which also needs the `events` package).
 *
 * @packageDocumentation
 */
import { Level } from 'level';
import { checkBatch, checkpointStore } from './checkpointStore.js';
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

class LevelBackend implements KeyValueBackend {
  constructor(
    private readonly db: LevelLike,
    private readonly sync: boolean,
  ) {}

  get(key: string): Promise<string | undefined> {
    return this.db.get(key);
  }

  async batch(ops: readonly BatchOp[]): Promise<void> {
    checkBatch(ops);
    if (ops.length > 0) await this.db.batch([...ops], { sync: this.sync });
  }

  range(gte: string, lt: string, limit?: number): Promise<[key: string, value: string][]> {
    if (gte >= lt) return Promise.resolve([]);
    return this.db.iterator(limit === undefined ? { gte, lt } : { gte, lt, limit }).all();
  }

  keys(gte: string, lt: string): Promise<string[]> {
    if (gte >= lt) return Promise.resolve([]);
    return this.db.keys({ gte, lt }).all();
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/**
 * A {@link StateStore} in LevelDB: `location` is a directory (created if missing; in a browser bundle, an IndexedDB
 * name), or an open `level` database with string keys and values. One checkpoint is one LevelDB batch, durable
 * (fsync'd) when the promise resolves unless `{ sync: false }`.
 *
 * @example
 * ```ts
 * import { levelStore } from 'tidewater/level';
 * const store = levelStore('./clicks-state');
 * const job = runJob({ name: 'clicks', source, pipeline, checkpoint: { intervalMs: 1000, store } });
 * ```
 */
export function levelStore(location: string | LevelLike, options: LevelStoreOptions = {}): StateStore {
  const db: LevelLike = typeof location === 'string' ? new Level<string, string>(location) : location;
  const where = typeof location === 'string' ? location : (location.location ?? 'database');
  return checkpointStore(new LevelBackend(db, options.sync ?? true), `level:${where}`);
}
