import type { OperatorSnapshot } from '../checkpoints/snapshot.js';

/**
 * One operation of an atomic batch on a {@link KeyValueBackend}.
 *
 * @example
 * ```ts
 * const ops: BatchOp[] = [{ type: 'put', key: 'a', value: '1' }, { type: 'del', key: 'b' }];
 * ```
 */
export type BatchOp = { readonly type: 'put'; readonly key: string; readonly value: string } | { readonly type: 'del'; readonly key: string };

/**
 * The ordered string key-value store a {@link StateStore} is built on: a `Map` (memory), LevelDB (`level`) or an
 * IndexedDB object store (`idb-keyval`). Keys are compared by UTF-16 code unit (tidewater only writes ASCII keys, for
 * which LevelDB's byte order and IndexedDB's order agree).
 *
 * @example
 * ```ts
 * await kv.batch([{ type: 'put', key: 'cp/job/1/done', value: 'ok' }]);
 * await kv.range('cp/job/', 'cp/job0'); // [['cp/job/1/done', 'ok']]
 * ```
 */
export interface KeyValueBackend {
  /** The value at `key`, or undefined. */
  get(key: string): Promise<string | undefined>;
  /**
   * Applies every op or none (one LevelDB batch, one IndexedDB transaction); resolves when durable. `expect`: the batch
   * applies only if each of these keys holds that value (undefined: absent) as it is applied — else it rejects with a
   * `StoreError` and applies nothing. IndexedDB checks in the batch's own transaction (two tabs may write one
   * database); a backend that one process writes at a time (LevelDB's lock, a JetStream subject's expected sequence)
   * checks before it writes.
   */
  batch(ops: readonly BatchOp[], expect?: ReadonlyMap<string, string | undefined>): Promise<void>;
  /** Entries with `gte <= key < lt`, ascending by key; at most `limit` of them when given. */
  range(gte: string, lt: string, limit?: number): Promise<[key: string, value: string][]>;
  /** Keys with `gte <= key < lt`, ascending. */
  keys(gte: string, lt: string): Promise<string[]>;
  /** Releases the backend (closes the database). */
  close(): Promise<void>;
  /**
   * Optional: keeps a small value apart from the backend's own storage (`levelStore` on a directory: a file next to the
   * database), so that it survives damage that makes the database lose its newest writes (LevelDB drops what it finds
   * corrupt in its log when it reopens). The store puts each job's head here after the batch that holds it is durable.
   */
  putAside?(key: string, value: string): Promise<void>;
  /** The value last put aside under `key`, or undefined. */
  getAside?(key: string): Promise<string | undefined>;
}

/**
 * What a job hands the store to write as checkpoint `id`: each stateful operator's snapshot (full, or a delta on the
 * job's checkpoint `parent`), the source offsets and the sink's transaction state, already encoded.
 *
 * @example
 * ```ts
 * await store.writeCheckpoint({ job: 'clicks', id: 4, parent: 3, timestamp: 1_000, savepoint: false,
 *   operators: [h.snapshot()], sources: ['{"index":120}'], sink: '{"pending":[]}' });
 * ```
 */
export interface CheckpointWrite {
  readonly job: string;
  /** Checkpoint ids strictly increase within a job. */
  readonly id: number;
  /** The checkpoint the delta snapshots in `operators` build on; undefined when every snapshot is full. */
  readonly parent?: number;
  /** Scheduler time when the checkpoint was triggered. */
  readonly timestamp: number;
  /** A savepoint: written full, never deleted by retention. */
  readonly savepoint: boolean;
  readonly operators: readonly OperatorSnapshot[];
  /** One encoded offset per source, in the job's source order. */
  readonly sources: readonly string[];
  /** The sink's encoded transaction state (pending pre-committed transactions), or undefined without a sink. */
  readonly sink?: string;
  /**
   * Receives a warning about a failure after the checkpoint is durable that leaves it usable (putting the job's head
   * aside, see {@link KeyValueBackend.putAside}) instead of a rejection; default `console.warn`. runJob passes its
   * `onWarning`.
   */
  readonly onWarning?: (message: string) => void;
}

/**
 * A complete checkpoint as listed by a store (no state entries).
 *
 * @example
 * ```ts
 * const [newest] = await store.listCheckpoints('clicks'); // newest first
 * newest?.id;
 * ```
 */
export interface CheckpointMeta {
  readonly job: string;
  readonly id: number;
  readonly parent?: number;
  readonly timestamp: number;
  readonly savepoint: boolean;
  /**
   * Characters written for this checkpoint: keys and values of its chunks, manifest and completion marker (its own
   * entries, not its parents').
   */
  readonly bytes: number;
  /** State entries written for this checkpoint (its own, not its parents'). */
  readonly entries: number;
  /** The encoded source offsets (sources that keep data for replay, like journals, must keep it from the oldest). */
  readonly sources: readonly string[];
}

/**
 * Why a checkpoint could not be restored:
 * - `torn`: no completion marker (its write never completed);
 * - `missing-part`: its manifest or one of its chunks is missing;
 * - `checksum-mismatch`: its manifest or one of its chunks fails its checksum;
 * - `unreadable`: a part passes its checksum but cannot be read (a foreign or newer format);
 * - `broken-chain`: it is a delta whose parent checkpoint is missing or unusable;
 * - `vanished`: the store recorded it as complete (see {@link StateStore.loadCheckpoint}), but none of its entries
 *   are left — e.g. LevelDB dropped the write from a damaged log.
 *
 * @example
 * ```ts
 * const kind: SkipKind = 'checksum-mismatch';
 * ```
 */
export type SkipKind = 'torn' | 'missing-part' | 'checksum-mismatch' | 'unreadable' | 'broken-chain' | 'vanished';

/**
 * A checkpoint a restore could not use: its id, why (`kind`) and the details (`reason`, e.g. `checksum mismatch in
 * chunk 3 of operator "counts"`).
 *
 * @example
 * ```ts
 * const s: SkippedCheckpoint = { id: 7, kind: 'missing-part', reason: 'missing chunk 2 of operator "counts" (truncated write)' };
 * ```
 */
export interface SkippedCheckpoint {
  readonly id: number;
  readonly kind: SkipKind;
  readonly reason: string;
}

/**
 * A restore that used an older checkpoint than the newest the store knows of: which one was expected, which one was
 * used, and why each one in between was skipped (newest first; the first is `expected`).
 *
 * @example
 * ```ts
 * const f: CheckpointFallback = { expected: 12, used: 11, skipped: [{ id: 12, kind: 'vanished', reason: '…' }] };
 * ```
 */
export interface CheckpointFallback {
  /** The newest checkpoint the store knows of (within the ids asked for). */
  readonly expected: number;
  /** The checkpoint restored instead. */
  readonly used: number;
  readonly skipped: readonly SkippedCheckpoint[];
}

/**
 * A checkpoint loaded for a restore: every operator's state materialised into one full snapshot (its chain of deltas
 * folded), plus offsets and sink state, and the newer checkpoints that were skipped because they are torn, corrupt or
 * gone.
 *
 * @example
 * ```ts
 * const cp = await store.loadCheckpoint('clicks', 'latest');
 * cp?.skipped; // [{ id: 7, kind: 'checksum-mismatch', reason: 'checksum mismatch in chunk 3 of operator "counts"' }]
 * cp?.fallback; // { expected: 7, used: 6, skipped: [ … ] }
 * ```
 */
export interface LoadedCheckpoint extends CheckpointMeta {
  readonly operators: readonly OperatorSnapshot[];
  readonly sources: readonly string[];
  readonly sink?: string;
  /**
   * Newer checkpoints that could not be used, newest first, with the reason: `torn: no completion marker (the write
   * never completed)`, `missing manifest`, `checksum mismatch in manifest`, `missing chunk 2 of operator "counts"
   * (truncated write)`, `checksum mismatch in chunk 3 of operator "counts"`, `broken chain: parent checkpoint 4 is
   * missing`, `broken chain: parent checkpoint 4 is unusable (…)`, `vanished: the store recorded it as complete, but
   * none of its entries are left (lost after it was written)`.
   */
  readonly skipped: readonly SkippedCheckpoint[];
  /** Present when `skipped` is not empty: the checkpoint expected, the one used, and `skipped`. */
  readonly fallback?: CheckpointFallback;
}

/**
 * Where checkpoints (and source journals) live: `memoryStore()`, `levelStore(location)` from `tidewater/level`,
 * `indexedDbStore(name)` from `tidewater/indexeddb`, or `openDefaultStore(name)`. One checkpoint is written in one
 * atomic batch with a manifest, per-chunk checksums and a completion marker, so a torn or corrupt checkpoint is
 * detected and never loaded.
 *
 * @example
 * ```ts
 * const job = runJob({ name: 'clicks', source, pipeline, sink,
 *   checkpoint: { intervalMs: 1000, store: memoryStore() } });
 * ```
 */
export interface StateStore {
  /** e.g. `memory`, `level:/var/lib/app/state`, `indexeddb:dashboard`. */
  readonly description: string;
  /**
   * Writes checkpoint `write.id` in one atomic batch; resolves when it is durable. Rejects with a `ConfigurationError`
   * when the id already exists (ids strictly increase) or `parent` is not an earlier id, and with a `TidewaterError`
   * (the backend's error as `cause`) when the write fails — nothing of it is stored then.
   */
  writeCheckpoint(write: CheckpointWrite): Promise<CheckpointMeta>;
  /** Complete, verified-by-marker checkpoints of a job, newest first (contents are verified by `loadCheckpoint`). */
  listCheckpoints(job: string): Promise<CheckpointMeta[]>;
  /**
   * One more than the highest checkpoint id of `job` that left anything in the store (complete, torn or corrupt),
   * that the store recorded as complete (it may have vanished since), or — unless `recordedOnly` — that a prune
   * deleted (ids are never used twice).
   */
  nextCheckpointId(job: string, options?: { readonly recordedOnly?: boolean }): Promise<number>;
  /**
   * Loads the newest usable checkpoint (`'latest'`) or the newest usable one with id ≤ `id`, folding delta chains;
   * torn or corrupt checkpoints are skipped (reported in `skipped` and `fallback`). Every checkpoint write and every
   * prune also records which complete checkpoints the job has, so one that vanished from the store entirely (every
   * entry of it lost) is reported too, as `vanished`. Undefined when none is usable.
   */
  loadCheckpoint(job: string, which: 'latest' | number): Promise<LoadedCheckpoint | undefined>;
  /**
   * Keeps the newest `retain` complete checkpoints (savepoints do not count towards them, as in Flink), every
   * savepoint, and every checkpoint a kept one's delta chain needs; deletes the rest, and torn leftovers older than
   * the newest complete checkpoint. With `abandonAfter`, also deletes every complete checkpoint (not savepoint) with a
   * larger id: a timeline given up by restoring an older checkpoint (`runJob`'s `restore: <id>`), which must never be
   * resumed or fallen back to. Resolves with the complete checkpoints kept, newest first. A failure after the
   * deletions are durable that leaves the store consistent (putting the job's head aside) goes to `onWarning`
   * (default `console.warn`) instead.
   */
  prune(job: string, retain: number, onWarning?: (message: string) => void, options?: { readonly abandonAfter?: number }): Promise<CheckpointMeta[]>;
  /**
   * A portable savepoint file (JSON text, checksummed) of checkpoint `id` (default: newest usable), full state.
   * Rejects with a `CorruptCheckpointError` naming the reason when that checkpoint is missing or unusable.
   */
  exportSavepoint(job: string, id?: number): Promise<string>;
  /**
   * Imports a savepoint file as a complete full checkpoint of `job` (default: the job named in the file), flagged
   * savepoint, under the file's id or, when the job already has checkpoints at or above it, the next free id (so it is
   * what `'latest'` loads). Rejects with a `CorruptCheckpointError` naming the problem for a damaged or foreign file.
   */
  importSavepoint(text: string, options?: { job?: string }): Promise<CheckpointMeta>;
  /** Appends values (encoded) to journal `name` at sequence numbers `from`, `from + 1`, …, atomically; durable on resolve. */
  appendJournal(name: string, from: number, values: readonly string[]): Promise<void>;
  /** Journal values from sequence number `from` on, in order (at most `limit`). */
  readJournal(name: string, from: number, limit?: number): Promise<string[]>;
  /** Deletes journal entries below sequence number `before`. */
  truncateJournal(name: string, before: number): Promise<void>;
  /** The backend this store writes through (tests use it to simulate corruption). */
  readonly kv: KeyValueBackend;
  /**
   * Closes the store (a LevelDB database, an IndexedDB connection). A job never closes its store — several may share
   * one: close it once no job uses it (a LevelDB directory stays locked until then).
   */
  close(): Promise<void>;
}
