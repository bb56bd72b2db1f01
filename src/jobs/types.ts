import type { SubtaskMetrics } from '../parallel/group.js';
import type { Observable, OperatorFunction, SchedulerLike } from 'rxjs';
import type { Stream, StreamElement } from '../elements/index.js';
import type { CheckpointFallback, SkippedCheckpoint, StateStore } from '../stores/types.js';

/**
 * What a source reader hands the job per read: the next values (possibly none yet) and whether the source is
 * exhausted.
 *
 * @example
 * ```ts
 * const r: SourceRead<number> = { values: [1, 2, 3], done: false };
 * ```
 */
export interface SourceRead<T> {
  readonly values: readonly T[];
  readonly done: boolean;
}

/**
 * Where a job's source opens: the job, the source's index among the job's sources, the clock and the checkpoint
 * store (journals live there).
 *
 * @example
 * ```ts
 * const reader = await source.open(undefined, { job: 'clicks', index: 0, scheduler: asyncScheduler });
 * ```
 */
export interface SourceContext {
  readonly job: string;
  readonly index: number;
  readonly scheduler: SchedulerLike;
  readonly store?: StateStore;
  /** The job starts over (`restore: false`): data a source kept for replay (a journal) belongs to an old run. */
  readonly startOver?: boolean;
  /**
   * Reports something the job goes on despite (e.g. records a source skips because the user asked it to): `runJob`
   * passes its `onWarning`. Absent when a source is opened by hand: then the source writes to the console.
   */
  readonly warn?: (message: string) => void;
  /** What this source's {@link Source.hold} returned for this job run, if it has one. */
  readonly hold?: SourceHold;
}

/**
 * An open source: reads values in batches and tells its position. A position (`offset()`) is an encoded string the
 * job stores in checkpoints; opening the source at that offset resumes right after the last value read before it.
 *
 * @example
 * ```ts
 * const { values, done } = await reader.read(1024);
 * const resumeAt = reader.offset();
 * ```
 */
export interface SourceReader<T> {
  /**
   * Up to `max` next values. Synchronous sources return at once; asynchronous ones return a promise that resolves
   * as soon as at least one value (or the end) is available.
   */
  read(max: number): SourceRead<T> | Promise<SourceRead<T>>;
  /** The encoded position just after the last value returned by `read`. */
  offset(): string;
  /**
   * Checkpoint `completed` is durable, and checkpoints older than the one at `oldestRetained` are gone: a source that
   * keeps data for replay (a journal) may delete what lies before it (and should note that `completed` covered it:
   * see {@link Source.committedAhead}).
   */
  release?(oldestRetained: string, completed: number): void | Promise<void>;
  /** Releases the source (unsubscribes, closes files). */
  close(): void | Promise<void>;
}

/**
 * What a sink, or a source's journal, committed in an earlier run beyond the point a job is about to start from:
 * starting there would discard committed output or lose journaled records (see `discardCommitted` of
 * {@link JobConfig}).
 *
 * @example
 * ```ts
 * const ahead: CommittedAhead = { checkpoint: 12, what: '3456 B of output', loss: 'discard 120 B of it' };
 * ```
 */
export interface CommittedAhead {
  /** The newest checkpoint it committed. */
  readonly checkpoint: number;
  /** What it committed, for the message, e.g. `3456 B of output`. */
  readonly what: string;
  /** What starting at the job's start point would do, e.g. `discard 120 B of it`, `lose those records`. */
  readonly loss: string;
  /** Names it in the message (default: the source's or sink's description). */
  readonly component?: string;
}

/**
 * A replayable source of a job: `fromArray`, `fromIterable`, `fromAsyncIterable`, `fromNdjsonFile`,
 * `fromObservable`. A restored job reopens each source at the offset of its checkpoint.
 *
 * @example
 * ```ts
 * const source: Source<number> = fromArray([1, 2, 3]);
 * ```
 */
export interface Source<T> {
  /** For messages, e.g. `fromArray(3 values)`. */
  readonly description: string;
  /** Opens a reader at `offset` (from a checkpoint) or, when undefined, at the start. */
  open(offset: string | undefined, context: SourceContext): SourceReader<T> | Promise<SourceReader<T>>;
  /**
   * Called before anything is opened: what opening at `offset` (`context.startOver`: from scratch, dropping what the
   * source kept) would lose of what the source committed durably in an earlier run (a journal's records deleted once a
   * checkpoint covered them), or undefined. A job refuses to start then, unless `discardCommitted`.
   */
  committedAhead?(offset: string | undefined, context: SourceContext): CommittedAhead | undefined | Promise<CommittedAhead | undefined>;
  /**
   * Called by `runJob` as it is called, before anything it awaits: a source of live values that cannot replay begins
   * taking them here and holds them, so that values pushed right after `runJob` returned are not lost
   * (`fromObservable` does). What it returns comes back to this job's `open` as `context.hold`, whose reader takes the
   * values over; the job calls its `release()` once it closed its sources (a no-op once a reader took them).
   */
  hold?(context: Pick<SourceContext, 'job' | 'index'>): SourceHold;
}

/**
 * What {@link Source.hold} returns: the values a source took before its reader opened, for one job run.
 *
 * @example
 * ```ts
 * const hold = source.hold?.({ job: 'taps', index: 0 });
 * const reader = await source.open(undefined, { ...context, hold });
 * hold?.release(); // once the job closed its sources
 * ```
 */
export interface SourceHold {
  /** Lets the held values go (unsubscribes), unless a reader took them over. */
  release(): void;
}

/**
 * Where a job's sink opens: whether output is transactional (the job checkpoints) and, after a restore, the sink
 * state stored in that checkpoint (its pre-committed transactions, to commit now; anything after them is aborted).
 *
 * @example
 * ```ts
 * const writer = await sink.open({ job: 'clicks', transactional: true, restored: undefined });
 * ```
 */
export interface SinkContext {
  readonly job: string;
  /** True when the job checkpoints: output becomes visible only when its checkpoint completes (two-phase commit). */
  readonly transactional: boolean;
  /** The sink state of the checkpoint the job restored from, or undefined on a fresh start. */
  readonly restored: string | undefined;
  /** The id of the checkpoint the job restored from, or undefined on a fresh start. */
  readonly restoredCheckpoint?: number;
}

/**
 * An open sink, driven by the job with Flink's two-phase-commit protocol: `write` puts values into the current
 * transaction; at checkpoint n's barrier `preCommit(n)` flushes it, makes it pending under n and returns the sink
 * state to store with checkpoint n; when checkpoint n is durable, `commit(n)` makes every pending transaction ≤ n
 * visible. Without checkpointing, `write` is visible at once (or at `close`).
 *
 * @example
 * ```ts
 * writer.write(value);
 * const state = await writer.preCommit(7);
 * await writer.commit(7);
 * ```
 */
export interface SinkWriter<R> {
  write(value: R): void;
  preCommit(checkpointId: number): string | Promise<string>;
  commit(checkpointId: number): void | Promise<void>;
  /** The job ended (`completed`: its last checkpoint committed everything) or stopped: release resources. */
  close(completed: boolean): void | Promise<void>;
}

/**
 * Where a job's results go: `toArray`, `toNdjsonFile`, `callbackSink`.
 *
 * @example
 * ```ts
 * const sink: Sink<string> = toArray();
 * ```
 */
export interface Sink<R> {
  readonly description: string;
  open(context: SinkContext): SinkWriter<R> | Promise<SinkWriter<R>>;
  /**
   * Called before anything is opened, with the context `open` will get: when the sink committed output durably up to
   * a checkpoint newer than `context.restoredCheckpoint` (or any, on a fresh start), what opening would discard; else
   * undefined. A job refuses to start then, unless `discardCommitted` (then `open` cuts the output back).
   */
  committedAhead?(context: SinkContext): CommittedAhead | undefined | Promise<CommittedAhead | undefined>;
}

/**
 * The sinks of a job with side outputs: `main` for the main output, one per side output by its name.
 *
 * @example
 * ```ts
 * const late = sideOutput<Click>('late');
 * const sinks: JobSinks<Count> = { main: toNdjsonFile('counts.ndjson'), [late.name]: toNdjsonFile('late.ndjson') };
 * ```
 */
export interface JobSinks<R> {
  readonly main?: Sink<R>;
  readonly [sideOutput: string]: Sink<unknown> | undefined;
}

/**
 * Checkpointing of a job.
 *
 * @example
 * ```ts
 * runJob({ name: 'clicks', source, pipeline, checkpoint: { intervalMs: 1000, store: memoryStore(), retain: 3 } });
 * // a big state on a slow disk: at least 500 ms of processing between two checkpoints
 * runJob({ name: 'big', source, pipeline, checkpoint: { intervalMs: 1000, minPauseMs: 500, store: levelStore('state') } });
 * ```
 */
export interface CheckpointConfig {
  /** A checkpoint every `intervalMs` of scheduler time (at most one in flight). */
  readonly intervalMs: number;
  /**
   * At least this many ms of scheduler time between the end of one checkpoint and the start of the next one due by
   * the clock (default 0; Flink's `minPauseBetweenCheckpoints`): when checkpoints take about as long as
   * `intervalMs` or longer (a large state, a slow store), the records get this time between them instead of none.
   * A checkpoint asked for (`triggerCheckpoint`, a savepoint) does not wait for it.
   */
  readonly minPauseMs?: number;
  /**
   * A checkpoint not complete within this many ms of real time (a watchdog on I/O: not the job's scheduler, which a
   * test may move hours ahead at once) fails the job, saying where it stands (default
   * 600 000, ten minutes: Flink's `checkpointTimeout`; as with Flink's default of no tolerated checkpoint failures,
   * the job stops and restarts from the last complete checkpoint). A store or sink that never answers, or a barrier
   * held for good (a merge waiting for it on an input that carries none), would otherwise stop checkpoints silently.
   */
  readonly timeoutMs?: number;
  readonly store: StateStore;
  /** Newest complete checkpoints kept (default 3); savepoints are never deleted. */
  readonly retain?: number;
  /**
   * `exactly-once` (default) or `at-least-once` (anything else is refused). With one input stream barriers never need
   * alignment; with named `sources` the pipeline's `mergeStreams` aligns them or not by its own `mode` option. The
   * merges the job makes itself — of several unnamed sources, of the subtasks of `parallelism` and their `keyBy`
   * exchanges — always align barriers (exactly-once): there `at-least-once` changes nothing yet (Flink's at-least-once
   * would let records of inputs that delivered a barrier pass before the others deliver it).
   */
  readonly mode?: 'exactly-once' | 'at-least-once';
}

/**
 * What every job description has besides its sources and pipeline (see {@link JobConfig} and
 * {@link SourcesJobConfig}).
 *
 * @example
 * ```ts
 * const options: JobOptions<Count> = { name: 'clicks', sink: toArray(), checkpoint: { intervalMs: 1000, store: memoryStore() } };
 * ```
 */
export interface JobOptions<R> {
  /** Names the job's checkpoints in the store. */
  readonly name: string;
  /** Where the main output goes (`output$` shows it too). Not with `sinks`. */
  readonly sink?: Sink<R>;
  /**
   * Several sinks: `main` gets the main output, every other name the side output of that name (`sideOutput(name)`,
   * docs/SEMANTICS.md §14). With checkpoints each sink pre-commits at every barrier and commits with the checkpoint,
   * so every one is exactly-once. A side output without a sink here is dropped (and said once through `onWarning`).
   * Not with `sink`.
   */
  readonly sinks?: JobSinks<R>;
  readonly checkpoint?: CheckpointConfig;
  /**
   * `'latest'` (default with a store), a checkpoint id (the newest usable one ≤ it: a roll-back — the checkpoints
   * after it, not savepoints, are deleted before the job starts, docs/SEMANTICS.md §8), or false to start empty (the
   * job's checkpoints, not savepoints, deleted). Checkpoint ids go on above every id used before.
   */
  readonly restore?: 'latest' | number | false;
  /**
   * Start even though sinks or journals committed more than the point the job starts from (a newer checkpoint than
   * the one restored, or anything when starting empty): their committed output after it is discarded (`toNdjsonFile`
   * cuts its file back) and journaled records the store no longer covers are dropped. Without it such a start fails
   * with `StoreBehindError` — typically because the store lost checkpoints (a deleted directory, lost completion
   * markers). Use it with `restore: false` to start over on purpose, or with `restore: <id>` to roll back.
   */
  readonly discardCommitted?: boolean;
  /**
   * Restore even if the checkpoint holds state the job lacks — of an operator, of a sink (its pending output) or of a
   * named source (its position): that state is dropped.
   */
  readonly allowNonRestoredState?: boolean;
  /** Clock for checkpoint intervals and every operator inside (default `asyncScheduler`). */
  /**
   * Runs the job's keyed part in this many subtasks (default 1): the pipeline is built once per subtask, source
   * records are dealt to the subtasks in turn, and each `keyBy` sends a record to the subtask that owns its key
   * group (Flink's hash shuffle), whose outputs are merged. In-process, on this thread; for more threads put
   * `parallel(n, pipeline, { worker })` in the pipeline. A checkpoint taken at one parallelism restores at another.
   * A stream the pipeline makes itself (`from(rules)` inside it, not a job source) runs in every copy: its records
   * come once per copy — read such streams through `sources` to have them once.
   */
  readonly parallelism?: number;
  /**
   * Number of key groups of the job's keyed state (default 128, at most 32768): fixed for the life of its state; a
   * checkpoint taken with another is refused. `parallelism` (and every `parallel` operator's `n`) must not exceed it.
   */
  readonly maxParallelism?: number;
  readonly scheduler?: SchedulerLike;
  /** Largest number of source values pushed between two checks of the clock (default 1024). */
  readonly batchSize?: number;
  /**
   * Where the job says what it skipped or dropped (a restore that fell back past unusable checkpoints — see
   * `JobSummary.fallback`): default `console.warn`.
   */
  readonly onWarning?: (message: string) => void;
}

/**
 * The description of a job for {@link runJob} with one input stream: `source`. Several sources (`source: [a, b]`) are
 * Flink's union of sources: the pipeline runs once per source (each with its own `eventTime`, so a slower source holds
 * event time back instead of turning late) and its keyed part is shared through `keyBy` (docs/SEMANTICS.md §7.1). To
 * treat sources differently, name them: {@link SourcesJobConfig}.
 *
 * @example
 * ```ts
 * const config: JobConfig<Click, Count> = { name: 'clicks', source: fromArray(clicks), pipeline: pipe(eventTime(c => c.ts), keyBy(c => c.user), window(tumblingWindows(1000)), aggregate(count())) };
 * ```
 */
export interface JobConfig<T, R> extends JobOptions<R> {
  readonly source: Source<T> | readonly Source<T>[];
  /** Not with `source` (see {@link SourcesJobConfig}). */
  readonly sources?: undefined;
  /**
   * Built with `pipe(...)`: it receives each source value as an unkeyed record stamped with the scheduler's clock
   * (a source value that already is a stream element — a record, a watermark — is passed as it is), plus the job's
   * checkpoint barriers; usually `eventTime(...)` comes first.
   */
  readonly pipeline: OperatorFunction<StreamElement<T, undefined>, StreamElement<R>>;
}

/**
 * The named sources of a job ({@link SourcesJobConfig}): name → source.
 *
 * @example
 * ```ts
 * const sources: NamedSources = { clicks: fromArray(clicks), views: fromNdjsonFile('views.ndjson') };
 * ```
 */
export type NamedSources = { readonly [name: string]: Source<unknown> };

/**
 * The input streams a {@link SourcesJobConfig} pipeline receives: one per named source, of that source's values.
 *
 * @example
 * ```ts
 * type In = SourceStreams<{ clicks: Source<Click>; views: Source<View> }>; // { clicks: Stream<Click, undefined>; views: Stream<View, undefined> }
 * ```
 */
export type SourceStreams<S extends NamedSources> = { readonly [N in keyof S]: S[N] extends Source<infer T> ? Stream<T, undefined> : never };

/**
 * The description of a job for {@link runJob} with named sources: each source gets its own input stream, and the
 * pipeline combines them — with `mergeStreams` (docs/SEMANTICS.md §2.4), so a slower source holds event time back
 * instead of having its records turn late. Barrier n is injected into every input at the same point; an exhausted
 * source's stream completes. The pipeline must subscribe every stream when the job starts (else a
 * `ConfigurationError` naming the sources it left out). Checkpoints hold each source's offset under its name: a restore
 * finds each one's position whatever the order of `sources` (a new name reads from its beginning, with a warning; a
 * position of a name the job lacks is refused unless `allowNonRestoredState`).
 *
 * @example
 * ```ts
 * const config: SourcesJobConfig<{ clicks: Source<Click>; views: Source<View> }, Count, string> = {
 *   name: 'activity',
 *   sources: { clicks: fromArray(clicks), views: fromNdjsonFile('views.ndjson') },
 *   pipeline: ({ clicks, views }) =>
 *     mergeStreams(clicks.pipe(eventTime((c) => c.ts)), views.pipe(eventTime((v) => v.at))).pipe(keyBy((e) => e.user), window(tumblingWindows(1000)), aggregate(count())),
 * };
 * ```
 */
export interface SourcesJobConfig<S extends NamedSources, R, K = unknown> extends JobOptions<R> {
  readonly sources: S;
  /** Not with `sources` (see {@link JobConfig}). */
  readonly source?: undefined;
  /** Gets one unkeyed stream per source (values stamped as with `source`, plus the job's barriers) and returns the job's stream. */
  readonly pipeline: (streams: SourceStreams<S>) => Stream<R, K>;
}

/**
 * A completed checkpoint, as reported by `checkpoints$` and `triggerCheckpoint()`.
 *
 * @example
 * ```ts
 * job.checkpoints$.subscribe(c => console.log(`checkpoint ${c.id}: ${c.entries} entries, ${c.bytes} B in ${c.durationMs} ms`));
 * ```
 */
export interface CheckpointInfo {
  readonly id: number;
  /** Scheduler time from the barrier's injection to the commit of the sink. */
  readonly durationMs: number;
  /** Characters written for this checkpoint. */
  readonly bytes: number;
  /** State entries written (changed entries for an incremental checkpoint). */
  readonly entries: number;
  /** Decoded source offsets, one per source. */
  readonly sourceOffsets: readonly unknown[];
  /** True when every operator snapshot in it is full (not a delta). */
  readonly full: boolean;
  readonly savepoint: boolean;
}

/**
 * Per-operator figures of a running job.
 *
 * @example
 * ```ts
 * job.metrics$.subscribe(m => console.log(m.recordsIn, m.operators['counts']?.stateEntries));
 * ```
 */
export interface JobMetrics {
  /** Values read from the sources. */
  readonly recordsIn: number;
  /** Values that reached the sink. */
  readonly recordsOut: number;
  readonly checkpointsCompleted: number;
  /** The checkpoint the job restored from, if any. */
  readonly restoredFrom?: number;
  /** Per stateful operator (by name): its watermark and its counters (`recordsIn`, `recordsOut`, `stateEntries`, `lateRecordsDropped`, …). */
  readonly operators: Readonly<Record<string, { readonly watermark: number } & Readonly<Record<string, number>>>>;
  /**
   * Operators that run in parallel subtasks (`parallel`, `runJob({ parallelism })`), by name: each subtask's records
   * in/out, state entries and watermark (`operators` holds their sums and the lowest watermark).
   */
  readonly subtasks?: Readonly<Record<string, readonly SubtaskMetrics[]>>;
}

/**
 * How a job ended.
 *
 * @example
 * ```ts
 * const summary = await job.done;
 * summary.restoredFrom; // checkpoint id or undefined
 * ```
 */
export interface JobSummary extends JobMetrics {
  readonly name: string;
  /** `finished` (sources exhausted, everything committed) or `stopped` (by `stop()`). */
  readonly state: 'finished' | 'stopped';
  /** The checkpoint the job restored from, if any. */
  readonly restoredFrom?: number;
  /** Newer checkpoints that were skipped at restore because they are torn, corrupt or gone, with why (`kind`, `reason`). */
  readonly skipped: readonly SkippedCheckpoint[];
  /**
   * Present when the restore fell back: the checkpoint expected (the newest the store knows of), the one restored
   * instead (`restoredFrom`) and `skipped`. It is also reported through `onWarning`.
   */
  readonly fallback?: CheckpointFallback;
  /** The last checkpoint (or savepoint) the job completed, if any. */
  readonly lastCheckpoint?: number;
}

/**
 * A running job (see {@link runJob}).
 *
 * @example
 * ```ts
 * const job = runJob({ name: 'clicks', source, pipeline, sink: toArray() });
 * job.output$.subscribe({ next: console.log, error: () => undefined }); // (a failure: `done` rejects with it too)
 * await job.done;
 * ```
 */
export interface Job<R> {
  /**
   * Values as they reach the sink (before they are committed). Completes when the job ends; errors with the job's
   * failure (give `subscribe` an error handler: RxJS throws an error nobody handles as an uncaught exception).
   */
  readonly output$: Observable<R>;
  /** Each completed checkpoint. Completes when the job ends, failed or not (`done` reports a failure). */
  readonly checkpoints$: Observable<CheckpointInfo>;
  /** Emitted after each checkpoint and once at the end. Completes when the job ends, failed or not. */
  readonly metrics$: Observable<JobMetrics>;
  readonly done: Promise<JobSummary>;
  /** Takes a checkpoint now (waits for one in flight first). Rejects without a checkpoint store. */
  triggerCheckpoint(): Promise<CheckpointInfo>;
  /** The job's figures now (what `metrics$` emits after each checkpoint), e.g. for a dashboard polling them. */
  metrics(): JobMetrics;
  /**
   * Stops the job. `drain`: sources stop, then the end of input flows through (MAX watermark: every window fires) and
   * the last transaction commits. `savepoint`: a full checkpoint flagged as savepoint is taken last (never deleted by
   * retention; export it with `store.exportSavepoint`). Without `drain`, pending windows stay in the state. After the
   * job ended, a stop resolves, but one asking for a savepoint rejects: none can be taken any more.
   */
  stop(options?: { savepoint?: boolean; drain?: boolean }): Promise<void>;
}
