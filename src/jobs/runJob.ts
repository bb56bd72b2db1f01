import { asyncScheduler, isObservable, Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { addRows, noRows, PackedSnapshot, rowSizeClass, takeLargestRows, type OperatorSnapshot } from '../checkpoints/snapshot.js';
import { decodeValue, encodeValue } from '../state/codec.js';
import { lackedOperatorsText, PipelineRuntime, sharedOperatorName, type StatefulOperatorInstance } from '../core/runtime.js';
import { isMaxParallelism } from '../keys/keyGroups.js';
import { ParallelGroup, ParallelOperatorInstance, type SubtaskMetrics } from '../parallel/group.js';
import { parallelOutputs } from '../parallel/parallel.js';
import { madeByParallelism, mergeSnapshotKind } from '../partitioning/mergeState.js';
import type { KeyExchange } from '../parallel/exchange.js';
import { barrier, isStreamElement, MAX_WATERMARK, record, type CheckpointBarrier, type SideRecord, type StreamElement, type StreamRecord } from '../elements/index.js';
import { takesPlainValues } from '../elements/plumbing.js';
import { isTimestamp, MAX_SCHEDULE_DELAY } from '../time/timestamps.js';
import { ConfigurationError, describeFailure, describeValue, JobError, StoreBehindError, TidewaterError, type JobPhase } from '../errors/index.js';
import { checkFunction, checkOptionKeys, nearestName } from '../errors/options.js';
import { describeFallback } from '../stores/checkpointStore.js';
import type { CheckpointFallback, CheckpointMeta, LoadedCheckpoint, SkippedCheckpoint, StateStore } from '../stores/types.js';
import type {
  CheckpointConfig,
  CheckpointInfo,
  CommittedAhead,
  Job,
  JobConfig,
  JobOptions,
  JobMetrics,
  JobSummary,
  NamedSources,
  Sink,
  SinkContext,
  SinkWriter,
  Source,
  SourceContext,
  SourceHold,
  SourceRead,
  SourceReader,
  SourcesJobConfig,
  SourceStreams,
} from './types.js';

export { JobError, StoreBehindError };

/** A checkpoint's time to complete when `checkpoint.timeoutMs` is not given: ten minutes (Flink's default). */
const DEFAULT_CHECKPOINT_TIMEOUT_MS = 600_000;
/** The pump yields to the event loop after this much scheduler time (or this many values). */
const SLICE_MS = 5;
const SLICE_VALUES = 1 << 20;
/**
 * The pump's slice while a checkpoint is in flight (its barrier crossing worker threads included). Its write is a
 * chain of store requests (a LevelDB checkpoint: the job's head and the new checkpoint's keys read, checked again, the
 * batch, the head's copy aside in a file, the prune — about ten one after another), and each waits for the pump to
 * yield before its callback runs: with slices of {@link SLICE_MS} a checkpoint of a busy job took that many slices to
 * complete (Nexmark q5, 1 M events: one taken 10 ms into the run completed at 100 ms, at 31 ms with slices of 1 ms).
 * (On the default scheduler, whose clock counts whole milliseconds, a slice ends at the clock's next millisecond.)
 */
const CHECKPOINTING_SLICE_MS = 1;

/**
 * Runs `fn` in a new macrotask without the clamping of `setTimeout(0)` (≥ 1 ms in Node, ≥ 4 ms nested in browsers):
 * `setImmediate` in Node (after pending I/O callbacks), a `MessageChannel` message in browsers.
 */
function yieldToEventLoop(fn: () => void): void {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    g.setImmediate(fn);
    return;
  }
  const ch = new MessageChannel();
  ch.port1.onmessage = () => {
    ch.port1.close();
    fn();
  };
  ch.port2.postMessage(undefined);
}

interface PendingCheckpoint {
  readonly id: number;
  readonly startedAt: number;
  readonly offsets: readonly string[];
  /** The copy the next dealt record goes to, at the barrier (see {@link DEALING}). */
  readonly dealing: number;
  readonly full: boolean;
  readonly savepoint: boolean;
  readonly snapshots: OperatorSnapshot[];
  reachedSink: boolean;
}

/** How many rows of a snapshot are of each size (when not known: one row of its whole size). */
function rowSizesOf(s: OperatorSnapshot): number[] {
  const sizes = noRows();
  if (s instanceof PackedSnapshot && s.rowSizes !== undefined) addRows(sizes, s.rowSizes);
  else (sizes[rowSizeClass(Math.max(1, snapshotChars(s)))] as number)++;
  return sizes;
}

/** Characters of a snapshot's entries as a store writes them (its chunks when packed). */
function snapshotChars(s: OperatorSnapshot): number {
  if (s instanceof PackedSnapshot) return s.chunks.reduce((n, c) => n + c.length, 0);
  return s.entries.reduce((n, e) => n + e.path.length + (e.value?.length ?? 0) + 12, 0);
}

/**
 * Runs a pipeline as a job: reads its sources in batches, pushes them through `pipeline` (with the operators'
 * clock, registration and restore), writes the results to the sink, and — with `checkpoint` — takes Flink-style
 * aligned checkpoints: every `intervalMs` of scheduler time barrier n is injected at the sources' current offsets,
 * each stateful operator snapshots (incrementally) as the barrier passes, the sink pre-commits its transaction at the
 * barrier, and once the checkpoint is durable in the store (one atomic write) the sink commits. At most one
 * checkpoint is in flight. With a store the job starts from its newest usable checkpoint (state, timers, windows,
 * source offsets, sink transactions), skipping torn or corrupt ones.
 *
 * A job never discards committed output on its own: when its start point (that checkpoint, none, `restore: <id>`, or
 * `restore: false`) lies before what its sink or a journal committed — typically a store that lost checkpoints — `done`
 * rejects with a `StoreBehindError` naming both checkpoints and the remedy, before anything is changed;
 * `discardCommitted: true` starts anyway. A source or sink that fails fails the job with a `JobError` naming it, the
 * phase (`open`, `read`, `write`, `pre-commit`, `commit`, `close`) and the checkpoint, with the error as `cause`.
 *
 * Watermarks: sources restart their watermark generators at MIN on restore, as in Flink; each keyed operator,
 * however, restores its own last watermark from the checkpoint (a deviation from Flink), so records are judged late
 * after a restore exactly as in an uninterrupted run.
 *
 * Checkpoints are incremental (only changed state); the next one is full once what a restore of the chain would read
 * in vain (rows superseded by rewrites and deletions) adds up to the state the chain builds, so that restoring reads
 * at most about twice the state plus one interval's changes — and a state that only grows keeps writing deltas, until
 * what the store's prunes read of the chain's manifests (all of them, at each checkpoint) adds up to the state too.
 *
 * With named `sources` ({@link SourcesJobConfig}) each source feeds its own input stream and the pipeline combines
 * them, usually with `mergeStreams` (docs/SEMANTICS.md §2.4): the watermark follows the slowest source, so none of its
 * records turns late. Barrier n goes into every input at the same point and `mergeStreams` aligns it (§8); an
 * exhausted source's input completes.
 *
 * @example
 * ```ts
 * const job = runJob({
 *   name: 'clicks-per-user',
 *   source: fromNdjsonFile('clicks.ndjson'),
 *   pipeline: pipe(eventTime((c: Click) => c.ts), keyBy((c) => c.user), window(tumblingWindows(60_000)), aggregate(count())),
 *   sink: toNdjsonFile('counts.ndjson'),
 *   checkpoint: { intervalMs: 1000, store: levelStore('state') },
 * });
 * job.checkpoints$.subscribe((c) => console.log(`checkpoint ${c.id}: ${c.entries} entries`));
 * await job.done;
 * ```
 */
export function runJob<T, R>(config: JobConfig<T, R>): Job<R>;
/**
 * {@link runJob} with named sources: `pipeline` gets one stream per source (typed by its values) and combines them.
 *
 * @example
 * ```ts
 * const job = runJob({
 *   name: 'activity',
 *   sources: { clicks: fromArray(clicks), views: fromNdjsonFile('views.ndjson') },
 *   pipeline: ({ clicks, views }) =>
 *     mergeStreams(clicks.pipe(eventTime((c) => c.ts)), views.pipe(eventTime((v) => v.at))).pipe(keyBy((e) => e.user), window(tumblingWindows(60_000)), aggregate(count())),
 *   sink: toArray(),
 * });
 * ```
 */
export function runJob<S extends NamedSources, R, K>(config: SourcesJobConfig<S, R, K>): Job<R>;
export function runJob<R>(config: JobConfig<unknown, R> | SourcesJobConfig<NamedSources, R>): Job<R> {
  return new JobRunner<unknown, R>(config, {}).job;
}

/** What runs a job inside something larger (a task of a cluster job, `tidewater/nats`) gives it besides its config. @internal */
export interface JobInternals {
  /** Where the pipeline's `keyBy`s send their records (a cluster task's stage exchange). */
  readonly exchange?: KeyExchange;
}

/** {@link runJob} with {@link JobInternals}. @internal */
export function runJobWith<T, R>(config: JobConfig<T, R>, internals: JobInternals): Job<R> {
  return new JobRunner<T, R>(config, internals).job;
}

/** The keys of a job's config (an unknown one is refused: `checkOptionKeys`). */
const JOB_KEYS = [
  'name',
  'source',
  'sources',
  'pipeline',
  'sink',
  'sinks',
  'checkpoint',
  'restore',
  'discardCommitted',
  'allowNonRestoredState',
  'parallelism',
  'maxParallelism',
  'scheduler',
  'batchSize',
  'onWarning',
] as const satisfies readonly (keyof JobConfig<unknown, unknown> | keyof SourcesJobConfig<NamedSources, unknown>)[];
const CHECKPOINT_KEYS = ['intervalMs', 'minPauseMs', 'timeoutMs', 'store', 'retain', 'mode'] as const satisfies readonly (keyof CheckpointConfig)[];
// (every key listed: a new option fails to compile here until it is)
type Unlisted = Exclude<keyof JobConfig<unknown, unknown> | keyof SourcesJobConfig<NamedSources, unknown>, (typeof JOB_KEYS)[number]> | Exclude<keyof CheckpointConfig, (typeof CHECKPOINT_KEYS)[number]>;
const everyKeyListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyKeyListed;

/** A pipeline's output, checked to be an Observable (else a ConfigurationError naming the job). */
function checkedOutput<R>(job: string, output: unknown): Observable<StreamElement<R>> {
  if (isObservable(output)) return output as Observable<StreamElement<R>>;
  throw new ConfigurationError('runJob', output, `runJob(${job}): the pipeline returned ${describeValue(output)}, not an Observable; return the stream it makes, e.g. pipeline: (input) => input.pipe(eventTime((v) => v.at), …).`);
}

/**
 * A source's value as the element the pipeline gets: a stream element as it is, else an unkeyed record stamped `now`
 * (`clockOk`: `now` already checked, for the batch; else `record()` checks it and throws).
 */
function elementOf<T>(v: T, now: number, clockOk: boolean): StreamElement<T, undefined> {
  if (isStreamElement(v)) return v as StreamElement<T, undefined>;
  return clockOk ? { kind: 'record', value: v, timestamp: now, key: undefined } : record(v, now);
}

class JobRunner<T, R> {
  readonly job: Job<R>;
  private readonly scheduler: SchedulerLike;
  private readonly sources: readonly Source<T>[];
  /** The names of the sources with named `sources` (each feeds its own input), else undefined (all feed one input). */
  private readonly sourceNames: readonly string[] | undefined;
  private readonly store: StateStore | undefined;
  private readonly retain: number;
  /** Where the job's warnings go: `onWarning`, else the console. */
  private readonly warn: (message: string) => void;
  private readonly batchSize: number;
  private readonly parallelism: number;
  private readonly maxParallelism: number;
  /**
   * Copies of the pipeline: `parallelism`, or one per source when `source` lists more sources than that (each source
   * then has its own copy — its own watermarks — and only the first `parallelism` copies own key groups,
   * docs/SEMANTICS.md §7.1).
   */
  private copies = 1;
  /** Whether each of several unnamed sources feeds its own copy (else records are dealt to the copies in turn). */
  private perSource = false;
  /** The copy the next dealt record goes to (it goes on across barriers; in checkpoints: see {@link DEALING}). */
  private nextSubtask = 0;
  /** Each source's position to resume from (undefined: its beginning), by {@link offsetsToRestore}. */
  private restoredOffsets: readonly (string | undefined)[] = [];
  /** The dealing position a restored checkpoint holds (applied once the number of copies is known). */
  private dealtFrom = 0;
  private readonly output$ = new Subject<R>();
  private readonly checkpoints$ = new Subject<CheckpointInfo>();
  private readonly metrics$ = new Subject<JobMetrics>();
  private resolveDone!: (s: JobSummary) => void;
  private rejectDone!: (e: unknown) => void;

  private phase: 'starting' | 'running' | 'ending' | 'ended' = 'starting';
  private readers: SourceReader<T>[] = [];
  /** Per source: exhausted; a read in flight (async sources); the offset after the last value pushed. */
  private readerDone: boolean[] = [];
  private readerBusy: boolean[] = [];
  private offsets: string[] = [];
  private nextReader = 0;
  /** The job's sinks by output: `main`, then one per side output (see {@link JobOptions.sinks}). */
  private readonly sinks: readonly NamedSink[];
  /** The open writers, in the order of {@link sinks}; the main output's, if any; side outputs' indices by name. */
  private writers: SinkWriter<unknown>[] = [];
  private writer: SinkWriter<R> | undefined;
  private sideWriters = new Map<string, number>();
  /** by writer index: whether a side-output record has reached it (a sink named for no tag gets none) */
  private readonly sideWritten: boolean[] = [];
  /** Side outputs that reached the end of the job without a sink (warned about once each). */
  private readonly unsunk = new Set<string>();
  /** The pipeline's inputs as it subscribed them: one, or one per named source. */
  private inputs: (JobInput<StreamElement<T, undefined>> | undefined)[] = [];
  private pipelineSub: Subscription | undefined;
  private instances: readonly StatefulOperatorInstance[] = [];
  /** The figures the job ended with, once it settled (see {@link letGo}). */
  private finalMetrics: JobMetrics | undefined;
  /** The pipeline's runtime (once started): input is delivered with it active. */
  private runtime: PipelineRuntime | undefined;
  /** True while a batch is being pushed: checkpoints and stops asked for meanwhile wait for the batch's end. */
  private pushing = false;
  private pumpScheduled = false;
  private ticker: Subscription | undefined;

  private recordsIn = 0;
  private recordsOut = 0;
  private checkpointsCompleted = 0;
  private restoredFrom: number | undefined;
  /** A roll-back: the newest savepoint above the restored checkpoint (a restart with restore: 'latest' resumes from it). */
  private newerSavepoint: number | undefined;
  private skipped: readonly SkippedCheckpoint[] = [];
  private fallback: CheckpointFallback | undefined;
  private lastCheckpoint: number | undefined;
  /**
   * The newest checkpoint the store holds complete: {@link lastCheckpoint}, or one whose write landed after the job
   * failed (it commits nothing, but a restart resumes from it).
   */
  private lastWritten: number | undefined;
  /** Errors {@link componentError} made, and how to make them again naming the checkpoint a restart resumes from. */
  private readonly remakeErrors = new WeakMap<object, () => unknown>();
  private lastWasSavepoint = false;
  /** The job failed: a checkpoint still being written commits nothing more. */
  private failed = false;

  // checkpointing
  private nextId = 1;
  private nextDueAt = Infinity;
  private current: PendingCheckpoint | undefined;
  private inFlight: Promise<void> | undefined;
  /** A checkpoint whose barrier is on its way through worker threads, and the settling of its {@link inFlight}. */
  private barrierWaiter: { readonly cp: PendingCheckpoint; resolve(): void; reject(e: unknown): void } | undefined;
  private requested: { savepoint: boolean } | undefined;
  private waiters: { atLeast: number; resolve: (c: CheckpointInfo) => void; reject: (e: unknown) => void }[] = [];
  /** The checkpoint the operators' next delta snapshots build on. */
  private snapshotBase: number | undefined;
  private forceFull = false;
  /**
   * The checkpoint chain since the last full checkpoint, per operator (see `persist`): the bytes of its rows a restore
   * reads that are still the state (`live`, at least) and those read in vain (`dead`, at most), and the sizes of its
   * rows not yet charged as superseded; and the bytes of the chain's manifests (offsets, sink state) but the full
   * one's, and what the prunes after its checkpoints read of them (`prunesRead`: each prune reads and checks every
   * manifest the store keeps, the chain's among them).
   */
  private chain = new Map<string, { live: number; dead: number; sizes: number[] }>();
  private chainOverhead = 0;
  private prunesRead = 0;
  private stopRequest: { savepoint: boolean; drain: boolean; resolve: () => void; reject: (e: unknown) => void } | undefined;
  /** What each source's `hold` returned (see `Source.hold`): given to its `open`, released once the job closed its sources. */
  private holds: readonly (SourceHold | undefined)[];

  constructor(
    private readonly config: JobConfig<T, R> | SourcesJobConfig<NamedSources, R>,
    private readonly internals: JobInternals,
  ) {
    this.scheduler = config.scheduler ?? asyncScheduler;
    this.warn = config.onWarning ?? ((m: string) => console.warn(m));
    const named = config.sources;
    const jobName = config.name;
    if (named !== undefined && config.source !== undefined) {
      throw new ConfigurationError('runJob', jobName, `runJob(${jobName}): give either source (one input stream) or sources (one named input stream each), not both.`);
    }
    if (named !== undefined && (typeof named !== 'object' || named === null || Array.isArray(named))) {
      throw new ConfigurationError('runJob', named, `runJob(${jobName}): sources ${describeValue(named)} must be an object of named sources, e.g. { clicks: fromArray(clicks), views: fromNdjsonFile(path) }.`);
    }
    this.sourceNames = named === undefined ? undefined : Object.keys(named);
    this.sources =
      named !== undefined ? Object.values(named as Readonly<Record<string, Source<T>>>) : Array.isArray(config.source) ? (config.source as readonly Source<T>[]) : [config.source as Source<T>];
    this.sinks = namedSinks(config);
    this.store = config.checkpoint?.store;
    this.retain = config.checkpoint?.retain ?? 3;
    this.batchSize = config.batchSize ?? 1024;
    const name = config.name;
    if (typeof name !== 'string' || name === '') throw new ConfigurationError('runJob', name, `runJob: name ${describeValue(name)} must be a non-empty string (it names the job's checkpoints).`);
    checkOptionKeys(`runJob(${name})`, 'the config', config, JOB_KEYS, 'runJob');
    checkOptionKeys(`runJob(${name})`, 'checkpoint', config.checkpoint, CHECKPOINT_KEYS, 'runJob');
    if (named === undefined && config.source === undefined) throw new ConfigurationError('runJob', undefined, `runJob(${name}): give source (one input stream) or sources (one named input stream each).`);
    if (this.sources.length === 0) throw new ConfigurationError('runJob', config.source ?? named, `runJob(${name}): give at least one source${named === undefined ? '' : ' in sources: { name: source }'}.`);
    for (const [i, s] of this.sources.entries()) {
      if (typeof s === 'object' && s !== null && typeof (s as Partial<Source<T>>).open === 'function') continue;
      const listed = Array.isArray(config.source);
      const where = this.sourceNames !== undefined ? `sources.${this.sourceNames[i] as string}` : listed ? `source item ${i}` : 'source';
      const remedy = 'give one, e.g. fromArray(values), fromIterable(() => values), fromAsyncIterable(() => it), fromObservable(obs$) or fromNdjsonFile(path)';
      let text: string;
      if (isObservable(s)) text = `${where} is an Observable, not a source; give fromObservable(obs$) (with a journal, fromObservable(obs$, { journal: store }), it is exactly-once).`;
      else if (listed) text = `source is an array, taken as a list of sources, and its item ${i} ${describeValue(s)} is not one; for an array of values give fromArray(values), else ${remedy}.`;
      else text = `${where} ${describeValue(s)} is not a source; ${remedy}.`;
      throw new ConfigurationError('runJob', s, `runJob(${name}): ${text}`);
    }
    checkFunction(`runJob(${name})`, config.pipeline, "the operators from the source's records to the sink's, e.g. pipeline: pipe(eventTime((v) => v.at), keyBy((v) => v.user), …)", {
      what: 'pipeline',
      operator: 'runJob',
    });
    const cp = config.checkpoint;
    if (cp !== undefined) {
      const store: unknown = cp.store;
      if (typeof store !== 'object' || store === null || typeof (store as Partial<StateStore>).writeCheckpoint !== 'function') {
        throw new ConfigurationError(
          'runJob',
          store,
          `runJob(${name}): checkpoint.store ${describeValue(store)} is not a state store; give one, e.g. memoryStore(), levelStore(dir) from 'tidewater/level' (Node) or indexedDbStore(name) from 'tidewater/indexeddb' (browser).`,
        );
      }
      if (!(cp.intervalMs > 0)) throw new ConfigurationError('runJob', cp.intervalMs, `runJob(${name}): checkpoint.intervalMs ${describeValue(cp.intervalMs)} must be a positive number of ms.`);
      if (cp.minPauseMs !== undefined && !(typeof cp.minPauseMs === 'number' && cp.minPauseMs >= 0 && Number.isFinite(cp.minPauseMs))) {
        throw new ConfigurationError('runJob', cp.minPauseMs, `runJob(${name}): checkpoint.minPauseMs ${describeValue(cp.minPauseMs)} must be a finite number of ms ≥ 0 (default 0).`);
      }
      if (cp.timeoutMs !== undefined && !(typeof cp.timeoutMs === 'number' && cp.timeoutMs > 0 && cp.timeoutMs <= MAX_SCHEDULE_DELAY)) {
        throw new ConfigurationError('runJob', cp.timeoutMs, `runJob(${name}): checkpoint.timeoutMs ${describeValue(cp.timeoutMs)} must be a number of ms > 0 and at most ${MAX_SCHEDULE_DELAY} (default 600 000).`);
      }
      if (!Number.isSafeInteger(this.retain) || this.retain < 1) throw new ConfigurationError('runJob', cp.retain, `runJob(${name}): checkpoint.retain ${describeValue(cp.retain)} must be an integer ≥ 1.`);
      if (cp.mode !== undefined && cp.mode !== 'exactly-once' && cp.mode !== 'at-least-once') {
        throw new ConfigurationError('runJob', cp.mode, `runJob(${name}): checkpoint.mode ${describeValue(cp.mode)} must be 'exactly-once' or 'at-least-once'.`);
      }
    }
    const maxP = config.maxParallelism ?? 128;
    if (!isMaxParallelism(maxP)) {
      throw new ConfigurationError('runJob', config.maxParallelism, `runJob(${name}): maxParallelism ${describeValue(config.maxParallelism)} must be an integer in [1, 32768] (default 128).`);
    }
    const p = config.parallelism ?? 1;
    if (!Number.isInteger(p) || p < 1) throw new ConfigurationError('runJob', config.parallelism, `runJob(${name}): parallelism ${describeValue(config.parallelism)} must be an integer ≥ 1.`);
    if (p > maxP) {
      throw new ConfigurationError('runJob', p, `runJob(${name}): parallelism ${p} exceeds maxParallelism ${maxP}: each subtask needs a key group at least. Lower parallelism, or raise maxParallelism (it is fixed for the life of the job's state).`);
    }
    this.parallelism = p;
    this.maxParallelism = maxP;
    if (!Number.isSafeInteger(this.batchSize) || this.batchSize < 1) throw new ConfigurationError('runJob', config.batchSize, `runJob(${name}): batchSize ${describeValue(config.batchSize)} must be an integer ≥ 1.`);
    const restore: unknown = config.restore;
    if (restore !== undefined && restore !== false && restore !== 'latest' && !(Number.isSafeInteger(restore) && (restore as number) >= 1)) {
      throw new ConfigurationError(
        'runJob',
        restore,
        `runJob(${name}): restore ${describeValue(restore)} must be 'latest' (the default: the newest usable checkpoint), a checkpoint id (an integer ≥ 1) or false (start empty).`,
      );
    }
    const done = new Promise<JobSummary>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.job = {
      output$: this.output$.asObservable(),
      checkpoints$: this.checkpoints$.asObservable(),
      metrics$: this.metrics$.asObservable(),
      done,
      triggerCheckpoint: () => this.triggerCheckpoint(),
      metrics: () => this.metrics(),
      stop: (options) => this.stop(options?.savepoint === true, options?.drain === true),
    };
    // sources of live values start taking them now: what comes before the job opens them is held (`Source.hold`)
    let startFailure: { readonly error: unknown } | undefined;
    this.holds = this.sources.map((s, index) => {
      if (startFailure !== undefined || s.hold === undefined) return undefined;
      try {
        const hold: unknown = s.hold({ job: name, index });
        if (typeof (hold as Partial<SourceHold> | null)?.release === 'function') return hold as SourceHold;
        throw new TypeError(`its hold() returned ${describeValue(hold)}, not a SourceHold ({ release() })`);
      } catch (error) {
        startFailure = { error: this.componentError('source', this.sourceName(index), 'start', error) };
        return undefined;
      }
    });
    // Start on the scheduler, so that subscribers of output$ / checkpoints$ attached right after runJob see everything.
    this.scheduler.schedule(() => {
      (startFailure === undefined ? this.start() : Promise.reject(startFailure.error)).catch((e: unknown) => this.fail(e));
    });
  }

  // ---- start -------------------------------------------------------------------------------------------------------

  /**
   * A call to the store while the job starts (`what` it does): a failure that is not tidewater's own (the store's
   * I/O) becomes a {@link JobError} naming the job, the store and the step, with the failure as its cause.
   */
  private async atStart<R>(what: string, call: () => Promise<R>): Promise<R> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof TidewaterError) throw e;
      const store = this.store as StateStore;
      throw new JobError('runJob', undefined, `runJob(${this.config.name}): ${what} in ${store.description} failed: ${describeFailure(e)}. The job did not start; fix the cause and run it again.`, { cause: e });
    }
  }

  private async start(): Promise<void> {
    const { config, store } = this;
    const name = config.name;
    const which = config.restore ?? 'latest';
    let loaded: LoadedCheckpoint | undefined;
    if (store !== undefined) {
      if (which !== false) {
        loaded = await this.atStart('reading its checkpoints', () => store.loadCheckpoint(name, which));
        if (loaded === undefined) {
          const existing = (await this.atStart('listing its checkpoints', () => store.listCheckpoints(name))).filter((c) => typeof which !== 'number' || c.id <= which);
          if (typeof which === 'number' || existing.length > 0) {
            throw new JobError('runJob', which, `runJob(${name}): ${existing.length === 0 ? `no checkpoint ≤ ${String(which)}` : `none of the ${existing.length} checkpoint(s) ${existing.map((c) => c.id).join(', ')} is usable (torn or corrupt)`} in ${store.description}; restore another one, or pass restore: false to start over.`);
          }
        }
      }
    } else if (config.restore !== undefined && config.restore !== false) {
      throw new ConfigurationError('runJob', config.restore, `runJob(${name}): restore needs checkpoint.store.`);
    }
    this.restoredOffsets = this.offsetsToRestore(loaded);
    this.restoredFrom = loaded?.id;
    const restoredSinks = decodeSinkStates(name, loaded, this.sinks, config.allowNonRestoredState === true);
    const sinkContexts = this.sinks.map(
      (s): SinkContext => ({
        job: name,
        transactional: config.checkpoint !== undefined,
        restored: restoredSinks.get(s.output),
        ...(loaded !== undefined ? { restoredCheckpoint: loaded.id } : {}),
      }),
    );
    const ctx = { job: name, scheduler: this.scheduler, startOver: config.restore === false, warn: this.warn, ...(store !== undefined ? { store } : {}) };
    // before anything is changed (checkpoints pruned, output cut back, journals emptied)
    await this.checkCommitted(loaded, sinkContexts, ctx);
    // the newest id the store used for this job (also those a prune deleted), and — where a restore needs it — the newest
    // checkpoint it recorded (its head, or leftovers); asked before anything is pruned
    const used = store !== undefined ? (await this.atStart('reading its checkpoint ids', () => store.nextCheckpointId(name))) - 1 : 0;
    const recorded = store !== undefined && (loaded === undefined ? which === 'latest' : typeof which === 'number') ? (await this.atStart('reading its checkpoint ids', () => store.nextCheckpointId(name, { recordedOnly: true }))) - 1 : 0;
    if (store !== undefined && loaded === undefined && which === 'latest') {
      // checkpoints were recorded, yet none is usable: never start over silently
      if (recorded > 0) {
        throw new JobError(
          'runJob',
          recorded,
          `runJob(${name}): ${store.description} recorded checkpoints of this job up to checkpoint ${recorded}, but none of them is usable (torn, corrupt or vanished after it was written); restore the store (e.g. from a backup), or pass restore: false to start over.`,
        );
      }
    }
    if (store !== undefined) {
      // starting over: the job's checkpoints (not its savepoints) belong to a timeline that must not be resumed; so do,
      // restoring an older checkpoint, those after it — a restart must not resume them, nor fall back to them
      if (which === false) this.noteKeptSavepoint(await this.atStart('deleting its old checkpoints (restore: false)', () => store.prune(name, 0, (m) => this.warnStore(m))), undefined);
      else if (typeof which === 'number' && loaded !== undefined && recorded > loaded.id) {
        this.noteKeptSavepoint(await this.atStart(`deleting its checkpoints after checkpoint ${loaded.id}`, () => store.prune(name, Number.MAX_SAFE_INTEGER, (m) => this.warnStore(m), { abandonAfter: loaded.id })), loaded.id);
      }
      // ids strictly increase, past torn or corrupt leftovers and abandoned checkpoints too (never an id used before)
      this.nextId = Math.max(loaded === undefined ? 1 : loaded.id + 1, used + 1);
    }
    if (loaded !== undefined) {
      this.skipped = loaded.skipped;
      this.fallback = loaded.fallback;
      if (loaded.fallback !== undefined) this.warn(describeFallback(name, loaded.fallback, (store as StateStore).description));
      this.snapshotBase = loaded.id;
      // a restored chain is not extended (its row sizes are not known): the first checkpoint after a restore is full
      this.forceFull = true;
    }
    for (const [i, { output, sink }] of this.sinks.entries()) {
      const writer = await this.guarded('sink', sink.description, 'open', () => sink.open(sinkContexts[i] as SinkContext));
      if (output === 'main') this.writer = writer as SinkWriter<R>;
      else this.sideWriters.set(output, this.writers.length);
      this.writers.push(writer);
    }
    const opened = await Promise.allSettled(this.sources.map((s, index) => this.guarded('source', s.description, 'open', () => s.open(this.restoredOffsets[index], { ...ctx, index, ...(this.holds[index] !== undefined ? { hold: this.holds[index] } : {}) }))));
    this.readers = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    this.readerDone = this.readers.map(() => false);
    this.readerBusy = this.readers.map(() => false);
    this.offsets = this.readers.map((r) => r.offset());
    if (this.phase === 'ended') return;

    const restore = new Map<string, readonly OperatorSnapshot[]>();
    for (const s of loaded?.operators ?? []) {
      if (s.operator === SOURCE_NAMES) continue;
      if (s.operator === DEALING) {
        const at = s.watermark === undefined ? 0 : Number(decodeValue(s.watermark));
        this.dealtFrom = Number.isSafeInteger(at) && at >= 0 ? at : 0;
        continue;
      }
      // (a merge's valve has no key groups: it restores at any maxParallelism)
      if (s.maxParallelism !== this.maxParallelism && mergeSnapshotKind(s) === undefined) {
        throw new JobError(
          s.operator,
          s.maxParallelism,
          `runJob(${name}): checkpoint ${String(loaded?.id)} was taken with maxParallelism ${s.maxParallelism} (operator '${s.operator}'), the job has ${this.maxParallelism}. ` +
            `Key groups cannot be re-split: run with maxParallelism: ${s.maxParallelism}, or restore: false to start over.`,
        );
      }
      restore.set(s.operator, [s]);
    }
    const runtime = new PipelineRuntime({
      owner: `job ${JSON.stringify(name)}`,
      scheduler: this.scheduler,
      restore,
      checkpointed: config.checkpoint !== undefined,
      warn: (_operator, message) => this.warn(`runJob(${name}): ${message}`),
      onBarrier: (i, id) => this.onBarrier(i, id),
      maxParallelism: this.maxParallelism,
      fullSnapshot: (id) => this.current?.id !== id || this.current.full,
      ...(this.internals.exchange !== undefined ? { exchange: this.internals.exchange } : {}),
    });
    this.runtime = runtime;
    this.instances = runtime.instances;
    const names = this.sourceNames;
    const inputCount = names === undefined ? 1 : names.length;
    this.perSource = names === undefined && this.sources.length > 1;
    this.copies = this.perSource ? Math.max(this.sources.length, this.parallelism) : this.parallelism;
    // (restored at the parallelism it was taken with, the dealing goes on where it was; at another, from its place modulo the copies)
    this.nextSubtask = this.dealtFrom % this.copies;
    const build = (copy: number): Observable<StreamElement<R>> => {
      const input = (k: number) =>
        new Observable<StreamElement<T, undefined>>((s) => {
          // (a pipeline may use its input stream more than once: each subscriber gets every element)
          const at = copy * inputCount + k;
          const first = this.inputs[at];
          if (first === undefined) this.inputs[at] = s;
          else if (first instanceof InputFanout) first.add(s);
          else this.inputs[at] = new InputFanout([first as Subscriber<StreamElement<T, undefined>>, s]);
        });
      return names === undefined
        ? (config as JobConfig<T, R>).pipeline(input(0))
        : (config as SourcesJobConfig<NamedSources, R>).pipeline(Object.fromEntries(names.map((n, k) => [n, input(k)])) as SourceStreams<NamedSources>);
    };
    let output$: Observable<StreamElement<R>>;
    if (this.copies === 1) {
      output$ = checkedOutput(name, build(0));
    } else {
      // docs/ARCHITECTURE.md, "Parallel subtasks": one pipeline per copy, keyBy exchanges, outputs merged
      const group = new ParallelGroup(runtime, { n: this.copies, owners: this.parallelism, maxParallelism: this.maxParallelism, byKeyGroup: true, partitioner: "'hash'", dealtInputs: true, name: 'runJob' });
      const runtimes = group.runtimes();
      output$ = parallelOutputs(
        group,
        runtimes.map((_, i) => checkedOutput(name, build(i))),
        runtimes,
      ) as Observable<StreamElement<R>>;
    }
    this.phase = 'running';
    this.pipelineSub = runtime.subscribe(output$, {
      next: (e) => {
        try {
          this.atSink(e);
        } catch (err) {
          this.fail(err);
        }
      },
      error: (e: unknown) => this.fail(e),
      complete: () => {
        this.onPipelineComplete().catch((e: unknown) => this.fail(e));
      },
    });
    if (this.phase !== 'running') return;
    this.checkInputs();
    this.checkOperators(loaded);
    // copies beyond the sources (parallelism > sources) read nothing: their inputs end now, they own key groups
    if (this.perSource) for (let c = this.sources.length; c < this.copies; c++) this.deliver(() => this.inputOf(0, c).complete());
    if (config.checkpoint !== undefined) {
      this.nextDueAt = this.scheduler.now() + config.checkpoint.intervalMs;
      this.scheduleTick();
    }
    this.pump();
  }

  /**
   * Refuses to start (StoreBehindError) when a sink or a journal committed more than the point the job starts from —
   * typically a store that lost checkpoints — unless `discardCommitted`: a job never discards committed output or
   * journaled records on its own.
   */
  private async checkCommitted(loaded: LoadedCheckpoint | undefined, sinkContexts: readonly SinkContext[], ctx: Omit<SourceContext, 'index'>): Promise<void> {
    const ahead: (CommittedAhead & { readonly component: string })[] = [];
    const note = (description: string, a: CommittedAhead | undefined): void => {
      if (a !== undefined) ahead.push({ ...a, component: a.component ?? description });
    };
    for (const [i, { sink }] of this.sinks.entries()) {
      if (sink.committedAhead !== undefined) note(sink.description, await this.guarded('sink', sink.description, 'open', () => sink.committedAhead?.(sinkContexts[i] as SinkContext)));
    }
    for (const [index, s] of this.sources.entries()) {
      if (s.committedAhead !== undefined) note(s.description, await this.guarded('source', s.description, 'open', () => s.committedAhead?.(this.restoredOffsets[index], { ...ctx, index })));
    }
    if (ahead.length === 0 || this.config.discardCommitted === true) return;
    const { name, restore } = this.config;
    const desc = this.store?.description;
    const newest = Math.max(...ahead.map((a) => a.checkpoint));
    const from = loaded === undefined ? 'from scratch' : `from checkpoint ${loaded.id}`;
    let start: string;
    let remedy: string;
    if (desc === undefined) {
      start = 'the job has no checkpoint store';
      remedy = 'Give the job the checkpoint store it ran with (checkpoint: { intervalMs, store }), or pass discardCommitted: true to discard it.';
    } else if (restore === false) {
      start = 'restore: false starts empty';
      remedy = `Resume with restore: 'latest' (from a store that holds checkpoint ${newest} or later), or pass discardCommitted: true to discard it.`;
    } else if (typeof restore === 'number') {
      start = `restore: ${restore} starts from checkpoint ${loaded?.id ?? '?'}`;
      remedy = `Restore checkpoint ${newest} or later, or pass discardCommitted: true to roll the output back to checkpoint ${loaded?.id ?? '?'}.`;
    } else {
      start = loaded === undefined ? `store ${desc} has no usable checkpoint of this job` : `the newest usable checkpoint in store ${desc} is ${loaded.id}`;
      remedy =
        `The store lost checkpoints (a deleted or damaged directory, lost completion markers): restore it (e.g. from a backup) so that it holds checkpoint ${newest} or later, ` +
        'or start over explicitly with restore: false, discardCommitted: true.';
    }
    const what = ahead.map((a) => `${a.component} already committed checkpoint ${a.checkpoint} (${a.what}): starting ${from} would ${a.loss}`).join('; and ');
    throw new StoreBehindError(
      name,
      loaded?.id,
      ahead.map((a) => ({ component: a.component, checkpoint: a.checkpoint })),
      `runJob(${name}): ${start}, but ${what}. ${remedy}`,
    );
  }

  /**
   * After a start that abandoned checkpoints — `restore: false` (`from` undefined), or a roll-back to checkpoint `from`
   * — the newest savepoint the prune kept (`kept`, newest first) above `from`: savepoints stay (as in Flink, they are
   * the user's), so a restart with restore: 'latest' resumes from it until this run's first checkpoint. Noted for the
   * job's errors ({@link resumePoint}) and warned about.
   */
  private noteKeptSavepoint(kept: readonly CheckpointMeta[], from: number | undefined): void {
    const savepoint = kept.find((c) => c.savepoint && (from === undefined || c.id > from));
    if (savepoint === undefined) return;
    const id = savepoint.id;
    this.newerSavepoint = id;
    const what = from === undefined ? 'started over (restore: false); the checkpoints are deleted' : `restored checkpoint ${from}; the checkpoints after it are deleted`;
    this.warn(
      `runJob(${this.config.name}): ${what}, but savepoint ${id} stays: until this run's first checkpoint, ` +
        `a restart with restore: 'latest' resumes from savepoint ${id} — restart with restore: ${from ?? false} to ${from === undefined ? 'start over' : 'roll back'} again.`,
    );
  }

  /** Source `i` in errors: its description, and with several sources, its name (or index) too. */
  private sourceName(i: number): string {
    const description = (this.sources[i] as Source<T>).description;
    const name = this.sourceNames?.[i];
    if (name !== undefined) return `${description} '${name}'`;
    return this.sources.length > 1 ? `${description} (source ${i})` : description;
  }

  private sinkName(i = 0): string {
    return this.sinks[i]?.sink.description ?? 'sink';
  }

  /** The checkpoint a restart resumes from, as things stand: the last one completed, or the one restored. */
  private resumePoint(): number | undefined {
    return this.lastWritten ?? this.lastCheckpoint ?? this.newerSavepoint ?? this.restoredFrom;
  }

  /**
   * An error of a source or sink as a {@link JobError} naming it, the phase, the checkpoint and how the job goes on,
   * with the error as `cause`. Errors tidewater raised (they name their cause already) are passed on as they are.
   */
  private componentError(kind: 'source' | 'sink', description: string, phase: JobPhase, e: unknown, checkpoint?: number): unknown {
    if (e instanceof TidewaterError) return e;
    const error = this.makeComponentError(kind, description, phase, e, checkpoint, this.resumePoint());
    this.remakeErrors.set(error, () => this.makeComponentError(kind, description, phase, e, checkpoint, this.resumePoint()));
    return error;
  }

  /** {@link componentError}, the checkpoint a restart resumes from as given (`resumable`: as things stand). */
  private makeComponentError(kind: 'source' | 'sink', description: string, phase: JobPhase, e: unknown, checkpoint: number | undefined, resumable: number | undefined): JobError {
    const name = this.config.name;
    const cp = checkpoint ?? resumable;
    const doing = checkpoint !== undefined ? `${phase} checkpoint ${checkpoint}` : `${phase}${cp === undefined ? '' : ` (last checkpoint ${cp})`}`;
    // a committed checkpoint is durable: a restart resumes from it (and commits it again)
    const resume = phase === 'commit' ? checkpoint : resumable;
    const restart =
      this.store === undefined ? 'run it again' : resume === undefined ? 'run it again: it starts from the beginning' : `run it again: it resumes from checkpoint ${resume}`;
    return new JobError(
      description,
      cp,
      `runJob(${name}): ${kind} ${description} failed to ${doing}: ${describeFailure(e)}. The job stopped; fix the cause and ${restart}.`,
      { cause: e, phase, ...(cp !== undefined ? { checkpoint: cp } : {}) },
    );
  }

  /** Runs a source's or sink's `fn`; what it throws or rejects with becomes a {@link componentError}. */
  private async guarded<X>(kind: 'source' | 'sink', description: string, phase: JobPhase, fn: () => X | Promise<X>, checkpoint?: number): Promise<X> {
    try {
      return await fn();
    } catch (e) {
      throw this.componentError(kind, description, phase, e, checkpoint);
    }
  }

  /** A timer at the next due time, so that checkpoints are taken while sources are idle too. */
  private scheduleTick(): void {
    const interval = this.config.checkpoint?.intervalMs ?? 1;
    const until = this.nextDueAt - this.scheduler.now();
    // while a checkpoint is in flight the due time may have passed: its completion takes the next one
    // (at most the host's longest timer: a tick further away comes early, finds nothing due and asks again)
    const delay = Math.min(until > 0 && Number.isFinite(until) ? until : interval, MAX_SCHEDULE_DELAY);
    this.ticker = this.scheduler.schedule(() => {
      if (this.phase !== 'running') return;
      this.safely(() => this.maybeCheckpoint());
      if (this.phase === 'running') this.scheduleTick();
    }, delay);
  }

  /** The pipeline subscribed every input when it was subscribed (else a source would be read into nothing). */
  private checkInputs(): void {
    const names = this.sourceNames;
    const count = (names ?? ['source']).length;
    const subscribed = (k: number) => Array.from({ length: this.copies }, (_, s) => this.inputs[s * count + k]).every((input) => input !== undefined);
    const missing = (names ?? ['source']).filter((_, k) => !subscribed(k));
    if (missing.length === 0) return;
    const what = names === undefined ? 'its input stream' : `the stream(s) of source(s) ${missing.map((n) => `'${n}'`).join(', ')}`;
    throw new ConfigurationError(
      'runJob',
      missing,
      `runJob(${this.config.name}): the pipeline did not subscribe ${what} when the job started; use every source's stream (e.g. mergeStreams(${(names ?? ['input']).join(', ')})) and subscribe it synchronously.`,
    );
  }

  /**
   * The position each source resumes from: named sources by name (a checkpoint of named sources holds their names,
   * {@link SOURCE_NAMES}: listed in another order they still find their own), others by place. A named source the
   * checkpoint has no position of starts from its beginning, with a warning; a position of a source the job lacks is
   * refused, as an operator's state is, unless allowNonRestoredState.
   */
  private offsetsToRestore(loaded: LoadedCheckpoint | undefined): readonly (string | undefined)[] {
    const name = this.config.name;
    if (loaded === undefined) return this.sources.map(() => undefined);
    const saved = loaded.operators.find((s) => s.operator === SOURCE_NAMES)?.watermark;
    const savedNames = saved === undefined ? undefined : (decodeValue(saved) as string[]);
    const names = this.sourceNames;
    if (savedNames !== undefined && names !== undefined && savedNames.length === loaded.sources.length) {
      const lacking = savedNames.filter((n) => !names.includes(n));
      if (lacking.length > 0 && this.config.allowNonRestoredState !== true) {
        throw new JobError(
          'runJob',
          lacking,
          `runJob(${name}): checkpoint ${loaded.id} holds the position of source(s) ${lacking.map((n) => `'${n}'`).join(', ')} that the job lacks (it has: ${names.map((n) => `'${n}'`).join(', ')}). Name the sources as before, or pass allowNonRestoredState: true to drop those positions.`,
        );
      }
      return names.map((n) => {
        const at = savedNames.indexOf(n);
        if (at < 0) this.warn(`runJob(${name}): checkpoint ${loaded.id} has no position of source '${n}' (not in the job when it was taken): it reads from its beginning.`);
        return at < 0 ? undefined : loaded.sources[at];
      });
    }
    if (names !== undefined && savedNames === undefined && loaded.sources.length === this.sources.length && names.length > 1) {
      // (a checkpoint written before the names were kept: its positions are in the order the sources were listed)
      this.warn(
        `runJob(${name}): checkpoint ${loaded.id} holds its sources' positions by place, not by name (written before names were kept): they go to ${names.map((n) => `'${n}'`).join(', ')} in that order. ` +
          'List the sources in the order of the run that took it; the next checkpoint keeps them by name.',
      );
    }
    if (loaded.sources.length !== this.sources.length) {
      const listed = names === undefined ? '' : ` (${names.map((n) => `'${n}'`).join(', ')})`;
      throw new JobError('runJob', loaded.sources.length, `runJob(${name}): checkpoint ${loaded.id} has ${loaded.sources.length} source offsets but the job has ${this.sources.length} sources${listed}; restore with the sources it was taken with, or restore: false.`);
    }
    return loaded.sources;
  }

  /** Every operator named in the checkpoint must be in the pipeline (unless allowNonRestoredState); names unique. */
  private checkOperators(loaded: LoadedCheckpoint | undefined): void {
    const shared = sharedOperatorName(this.instances);
    if (shared !== undefined) throw new JobError(shared.name, shared.name, `runJob(${this.config.name}): ${shared.text}`);
    const names = new Set(this.instances.map((i) => i.name));
    if (loaded === undefined || this.config.allowNonRestoredState === true) return;
    // the merges parallelism makes (of the job's copies, of a parallel pipeline's subtasks) come and go with it: a
    // checkpoint's that this run lacks are dropped (docs/SEMANTICS.md §2.6); the pipeline's own merges are said, not
    // refused (a merge gone, or a job resumed at another parallelism: its merges inside or outside the copies)
    const merges: string[] = [];
    const unknown: string[] = [];
    for (const s of loaded.operators) {
      if (names.has(s.operator) || s.operator === DEALING || s.operator === SOURCE_NAMES) continue;
      const merge = mergeSnapshotKind(s);
      if (merge === 'pipeline') merges.push(s.operator);
      else if (merge === undefined) unknown.push(s.operator);
    }
    // a merge the pipeline writes that the checkpoint holds nothing of (taken before merges were in checkpoints — by
    // cluster tasks until 2026-12-06 — or before the merge was added): said, as it starts from MIN
    const saved = new Set(loaded.operators.map((s) => s.operator));
    const fresh = this.instances.filter((i) => i.isMerge === true && !madeByParallelism(i.name) && !saved.has(i.name)).map((i) => i.name);
    if (fresh.length > 0 && merges.length === 0) {
      this.warn(
        `runJob(${this.config.name}): checkpoint ${loaded.id} holds nothing of merge(s) ${fresh.map((n) => `'${n}'`).join(', ')} (taken before merges were in checkpoints, or before the merge was in the pipeline): ` +
          'they start with every input at MIN_WATERMARK (lateness right after the restore may differ from an uninterrupted run).',
      );
    }
    if (merges.length > 0) {
      let why = 'the pipeline has no merge at that place';
      if (this.copies > 1) why = "its merges run inside the job's parallel copies, named after them";
      else if (merges.some((n) => n.includes('/'))) why = "the merges were inside the job's parallel copies";
      this.warn(
        `runJob(${this.config.name}): checkpoint ${loaded.id} holds what merge(s) ${merges.map((n) => `'${n}'`).join(', ')} knew of their inputs, which this run does not restore ` +
          `(${why}): they start with every input at MIN_WATERMARK (lateness right after the restore may differ from an uninterrupted run).`,
      );
    }
    if (unknown.length > 0) {
      throw new JobError(
        unknown[0] as string,
        unknown,
        `runJob(${this.config.name}): checkpoint ${loaded.id} ${lackedOperatorsText(unknown, names)}`,
      );
    }
  }

  /** Runs `fn`; a throw fails the job. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  // ---- the pump: sources → pipeline ---------------------------------------------------------------------------------

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    const run = (): void => {
      this.pumpScheduled = false;
      this.pump();
    };
    this.inTaskOfItsOwn(run);
  }

  /**
   * Runs `fn` in a task of its own: on the default (real-time) scheduler a macrotask without timer clamping, so that
   * store and file I/O between slices is served promptly; on a virtual scheduler (TestScheduler) a scheduled action.
   */
  private inTaskOfItsOwn(fn: () => void): void {
    if (this.scheduler === asyncScheduler) yieldToEventLoop(fn);
    else this.scheduler.schedule(fn);
  }

  /**
   * Reads the sources round-robin, a batch at a time, and pushes what they give into the pipeline; between batches it
   * takes due checkpoints and handles stops. Synchronous sources are read in slices of ~5 ms (~1 ms while a checkpoint
   * is in flight, so that its store requests are served sooner); an asynchronous source has at most one read in
   * flight, and the others go on meanwhile.
   */
  private pump(): void {
    let sliceStart = this.scheduler.now();
    let pushed = 0;
    try {
      while (this.phase === 'running') {
        if (this.stopRequest !== undefined) {
          this.handleStop();
          return;
        }
        const checkpoints = this.nextId;
        this.maybeCheckpoint();
        // (a slice's time is the records': a checkpoint started here does not take it from them)
        if (this.nextId !== checkpoints) sliceStart = this.scheduler.now();
        // worker threads behind on their input: read on once they caught up (bounded memory, Flink's credits)
        if (this.runtime?.backpressured === true) {
          this.runtime.whenRelieved(() => this.schedulePump());
          return;
        }
        const i = this.pickReader();
        if (i === -1) {
          this.endInput();
          return;
        }
        if (i === -2) return; // every unfinished source has a read in flight: they resume the pump
        const r = this.read(i);
        if (r instanceof Promise) {
          this.readerBusy[i] = true;
          r.then(
            (res) => {
              this.readerBusy[i] = false;
              // values read after the job stopped are not pushed; its checkpoints never counted them
              if (this.phase !== 'running') return;
              this.safely(() => this.push(i, res));
              this.pump();
            },
            (e: unknown) => {
              this.readerBusy[i] = false;
              // (a read that fails once the job stopped reading — drained, stopped, failed — would not have been pushed
              // either: the job ends as it was ending, its last checkpoint included)
              if (this.phase !== 'running') return;
              this.fail(this.componentError('source', this.sourceName(i), 'read', e));
            },
          );
          continue;
        }
        this.push(i, r);
        pushed += r.values.length;
        if (pushed >= SLICE_VALUES || this.scheduler.now() - sliceStart >= (this.inFlight === undefined ? SLICE_MS : CHECKPOINTING_SLICE_MS)) {
          this.schedulePump();
          return;
        }
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** Reads a batch from source `i`; a throw becomes a {@link componentError}. */
  private read(i: number): SourceRead<T> | Promise<SourceRead<T>> {
    try {
      return (this.readers[i] as SourceReader<T>).read(this.batchSize);
    } catch (e) {
      throw this.componentError('source', this.sourceName(i), 'read', e);
    }
  }

  /** The next source to read: its index, -1 when all are exhausted, -2 when the others all have reads in flight. */
  private pickReader(): number {
    const n = this.readers.length;
    let busy = false;
    for (let k = 0; k < n; k++) {
      const i = (this.nextReader + k) % n;
      if (this.readerDone[i]) continue;
      if (this.readerBusy[i]) {
        busy = true;
        continue;
      }
      this.nextReader = (i + 1) % n;
      return i;
    }
    return busy ? -2 : -1;
  }

  /** The input of copy `copy` that source `i` feeds: its own with named sources, else the copy's one input. */
  private inputOf(i: number, copy: number): JobInput<StreamElement<T, undefined>> {
    const names = this.sourceNames;
    return this.inputs[names === undefined ? copy : copy * names.length + i] as JobInput<StreamElement<T, undefined>>;
  }

  /**
   * Pushes a batch of source `i`. Several copies of the pipeline: each of several unnamed sources feeds its own copy;
   * otherwise records are dealt to the copies in turn, on across barriers (a checkpoint holds where: a restored run
   * deals them as the uninterrupted one did), and control elements in the data go to every copy.
   */
  private push(i: number, r: SourceRead<T>): void {
    if (r.done) this.readerDone[i] = true;
    const now = this.scheduler.now();
    // the clock checked once per batch; each value then becomes a record without the check `record()` makes (a bad
    // clock: `record()` per value, which fails at the first plain value as before)
    const clockOk = isTimestamp(now);
    const vs = r.values;
    this.recordsIn += vs.length;
    this.pushing = true;
    try {
      this.deliver(() => {
        const copies = this.copies;
        if (copies === 1 || this.perSource) {
          const input = this.inputOf(i, this.perSource ? i : 0);
          if (clockOk && takesPlainValues(input)) {
            // a pipeline starting with eventTime / ingestionTime: values as they are (its head stamps them anew)
            for (let k = 0; k < vs.length && !input.closed; k++) input.next(vs[k] as StreamElement<T, undefined>);
            return;
          }
          for (let k = 0; k < vs.length && !input.closed; k++) {
            const v = vs[k] as T;
            input.next(elementOf(v, now, clockOk));
          }
          return;
        }
        for (let k = 0; k < vs.length && this.phase !== 'ended'; k++) {
          const v = vs[k] as T;
          const e = elementOf(v, now, clockOk);
          if (e.kind === 'record' || e.kind === 'side') {
            const input = this.inputOf(i, this.nextSubtask);
            this.nextSubtask = (this.nextSubtask + 1) % copies;
            if (!input.closed) input.next(e);
          } else {
            for (let c = 0; c < copies; c++) {
              const input = this.inputOf(i, c);
              if (!input.closed) input.next(e);
            }
          }
        }
      });
    } finally {
      this.pushing = false;
    }
    // a checkpoint's offsets are the positions after whole batches pushed (never a batch half through the pipeline)
    this.offsets[i] = (this.readers[i] as SourceReader<T>).offset();
    // a source with inputs of its own ends them with it (mergeStreams then counts them at MAX_WATERMARK,
    // docs/SEMANTICS.md §2.4)
    if (r.done && (this.sourceNames !== undefined || this.perSource)) this.endInputsOf(i);
  }

  /** Completes the inputs source `i` feeds alone (named sources: in every copy; several unnamed ones: its copy). */
  private endInputsOf(i: number): void {
    this.pushing = true;
    try {
      this.deliver(() => {
        const copies = this.perSource ? [i] : Array.from({ length: this.copies }, (_, c) => c);
        for (const c of copies) {
          const input = this.inputOf(i, c);
          if (!input.closed) input.complete();
        }
      });
    } finally {
      this.pushing = false;
    }
  }

  /** Delivers `fn(input)` to every input still open (barriers at the same point of every input, the end of input). */
  private toEveryInput(fn: (input: JobInput<StreamElement<T, undefined>>) => void): void {
    this.deliver(() => {
      for (const input of this.inputs) if (input !== undefined && !input.closed) fn(input);
    });
  }

  /** Pushes input into the pipeline with its runtime active (docs/ARCHITECTURE.md, "The operator runtime"). */
  private deliver(push: () => void): void {
    if (this.runtime !== undefined) this.runtime.run(push);
    else push();
  }

  private endInput(): void {
    this.phase = 'ending';
    this.toEveryInput((input) => input.complete());
  }

  // ---- the sink -----------------------------------------------------------------------------------------------------

  private atSink(e: StreamElement<R>): void {
    // (one read of the kind; null and plain values too, whose kind is none of the five)
    const kind = (e as { readonly kind?: unknown } | null | undefined)?.kind;
    if (kind === 'record') {
      const value = (e as StreamRecord<R>).value;
      this.recordsOut++;
      const w = this.writer;
      if (w !== undefined) {
        try {
          w.write(value);
        } catch (err) {
          throw this.componentError('sink', this.sinkName(), 'write', err);
        }
      }
      // (a Subject's `next` costs a closure per call even when nobody listens)
      if (this.output$.observed) this.output$.next(value);
    } else if (kind === 'side') {
      this.atSideSink(e as SideRecord);
    } else if (kind === 'barrier') {
      const cp = this.current;
      if (cp !== undefined && cp.id === (e as CheckpointBarrier).checkpointId) {
        cp.reachedSink = true;
        // (a barrier through worker threads arrives after it was pushed)
        if (this.barrierWaiter?.cp === cp) {
          this.current = undefined;
          this.barrierAtSink(cp);
        }
      }
    } else if (kind !== 'watermark' && kind !== 'status') {
      throw new ConfigurationError(
        'runJob',
        e,
        `runJob(${this.config.name}): the pipeline emitted ${describeValue(e)}, which is not a stream element: a job's pipeline ends in records, and the sink gets their values (values() is for a plain subscriber: leave it out; a plain RxJS operator such as map from 'rxjs' sees elements, not values: use tidewater's map).`,
      );
    }
  }

  /** A side-output record at the end of the pipeline: to the sink of its name, else dropped (warned about once). */
  private atSideSink(e: SideRecord): void {
    const i = this.sideWriters.get(e.tag);
    if (i === undefined) {
      if (!this.unsunk.has(e.tag)) {
        this.unsunk.add(e.tag);
        const outputs = this.sinks.map((s) => s.output);
        // (a side output's sink no record has reached, named near the tag — not a short one, near any short name —
        // is perhaps misspelt: named, beside the remedy)
        const unreached = outputs.filter((o) => o !== 'main' && this.sideWritten[this.sideWriters.get(o) as number] !== true);
        const near = e.tag.length >= 4 ? nearestName(e.tag, unreached) : undefined;
        this.warn(
          `runJob(${this.config.name}): side output '${e.tag}' has no sink (sinks: ${outputs.join(', ') || 'none'}), so its records are dropped. ` +
            `Give it one: sinks: { main: …, '${e.tag}': toNdjsonFile(…) }` +
            (near === undefined ? '.' : ` (sinks['${near}'], which no record has reached yet, may be meant for it).`),
        );
      }
      return;
    }
    this.sideWritten[i] = true;
    try {
      (this.writers[i] as SinkWriter<unknown>).write(e.value);
    } catch (err) {
      throw this.componentError('sink', this.sinkName(i), 'write', err);
    }
  }

  // ---- checkpoints -------------------------------------------------------------------------------------------------

  private maybeCheckpoint(): void {
    if (this.config.checkpoint === undefined || this.inFlight !== undefined || this.phase !== 'running' || this.pushing) return;
    const due = this.scheduler.now() >= this.nextDueAt;
    if (!due && this.requested === undefined) return;
    const savepoint = this.requested?.savepoint === true;
    this.requested = undefined;
    this.injectBarrier(savepoint);
  }

  /** A new checkpoint at the positions of what was pushed so far. */
  private newCheckpoint(savepoint: boolean): PendingCheckpoint {
    return {
      id: this.nextId++,
      startedAt: this.scheduler.now(),
      offsets: [...this.offsets],
      dealing: this.nextSubtask,
      full: savepoint || this.forceFull,
      savepoint,
      snapshots: [],
      reachedSink: false,
    };
  }

  private injectBarrier(savepoint: boolean): void {
    const cp = this.newCheckpoint(savepoint);
    this.current = cp;
    this.pushing = true;
    try {
      this.toEveryInput((input) => input.next(barrier(cp.id)));
    } finally {
      this.pushing = false;
    }
    if (this.phase !== 'running') {
      this.current = undefined;
      return;
    }
    if (cp.reachedSink) {
      this.current = undefined;
      this.barrierAtSink(cp);
      return;
    }
    if (this.runtime?.crossesThreads !== true) {
      this.current = undefined;
      throw new JobError(
        'runJob',
        cp.id,
        `runJob(${this.config.name}): checkpoint barrier ${cp.id} did not reach the sink while it was pushed. Either a merge or a two-input operator (mergeStreams, union, a join, coProcess, broadcastProcess) holds it while it waits for the barrier on another input, which carries none — a stream the pipeline takes from outside the job's sources (a Subject, from(rules)): read such a stream through the job's sources (docs/SEMANTICS.md §7.1, §10.1) — or an operator of the pipeline drops or delays control elements: use tidewater operators, or forward non-record elements unchanged and synchronously.`,
      );
    }
    // a pipeline with worker threads: the barrier reaches the sink once every subtask passed it on (atSink)
    this.track(
      new Promise<void>((resolve, reject) => {
        this.barrierWaiter = { cp, resolve, reject };
      }),
      cp,
    );
  }

  /**
   * `work` is the checkpoint in flight; when it settles, the next one may start (or the job fails). One asked for
   * (`triggerCheckpoint`, a savepoint) starts at once; one due by the clock in a macrotask of its own, after the pump's
   * pending slice: started in the settling promise's chain, a checkpoint that took as long as the interval (the next
   * one due at once) with a store and sinks that settle in microtasks started the next one there too, and so on, and
   * the sources were never read again (the event loop starved: no timer, no stop).
   */
  private track(work: Promise<void>, cp: PendingCheckpoint): void {
    this.inFlight = this.withTimeout(work, cp).then(
      () => {
        this.inFlight = undefined;
        const next = (): void => {
          if (this.phase === 'running' && this.stopRequest === undefined) this.safely(() => this.maybeCheckpoint());
        };
        if (this.requested !== undefined) next();
        else this.inTaskOfItsOwn(next);
      },
      (e: unknown) => {
        this.inFlight = undefined;
        this.fail(e);
      },
    );
  }

  /**
   * `work`, checkpoint `cp`'s, failed with a {@link JobError} saying where it stands if it has not settled within
   * `checkpoint.timeoutMs` of real time (docs/SEMANTICS.md §8, "Checkpoint timeout"). The timer goes when the
   * work settles (a job that ended meanwhile keeps it until then, at most the timeout: a failing job waits for the
   * checkpoint in flight, and so for this).
   */
  private withTimeout(work: Promise<void>, cp: PendingCheckpoint): Promise<void> {
    const ms = this.config.checkpoint?.timeoutMs ?? DEFAULT_CHECKPOINT_TIMEOUT_MS;
    return new Promise<void>((resolve, reject) => {
      // (a watchdog on I/O, in the host's real time, not the job's scheduler time: a virtual clock moved hours ahead
      // in one step — a test firing its timers — must not fail a checkpoint whose write settles in a microtask)
      const timer = setTimeout(() => {
        const where =
          this.barrierWaiter?.cp === cp
            ? `its barrier has not come out of the pipeline: a worker thread holds it, or a merge or two-input operator waits for it on an input that carries none — a stream the pipeline takes from outside the job's sources: read such a stream through the job's sources (docs/SEMANTICS.md §7.1)`
            : `writing it has not settled (the sinks' pre-commit, the write to ${(this.store as StateStore).description}, the sinks' commit or the prune of older checkpoints): a store or sink that does not answer`;
        reject(new JobError('runJob', cp.id, `runJob(${this.config.name}): checkpoint ${cp.id} did not complete within ${ms} ms (checkpoint.timeoutMs): ${where}. The job stops; it restarts from the last complete checkpoint.`, { checkpoint: cp.id }));
      }, ms);
      work.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /** Barrier `cp` reached the sink: the checkpoint is taken; persist it. */
  private barrierAtSink(cp: PendingCheckpoint): void {
    this.nextDueAt = cp.startedAt + (this.config.checkpoint?.intervalMs ?? 0);
    const persisted = this.persist(cp);
    const waiter = this.barrierWaiter;
    if (waiter !== undefined && waiter.cp === cp) {
      this.barrierWaiter = undefined;
      persisted.then(waiter.resolve, waiter.reject);
      return;
    }
    this.track(persisted, cp);
  }

  private onBarrier(instance: StatefulOperatorInstance, id: number): void {
    const cp = this.current;
    if (cp === undefined || cp.id !== id) return; // a barrier the job did not inject (e.g. in the source data)
    cp.snapshots.push(instance.snapshot({ full: cp.full }));
  }

  /**
   * Operators that no barrier of checkpoint `cp` reached are in it all the same, never left out: one whose input ended
   * (a source of its branch was exhausted while others run; it is at `MAX_WATERMARK`) as a finished operator — its
   * clock and inputs, no keyed state (docs/SEMANTICS.md §8, "End of input") — so a restore starts it at the end of
   * event time rather than at MIN; one torn down before the barrier (a `take` or `takeUntil` after it) with its whole
   * state as it was left, which nothing can change any more.
   */
  private addUnreached(cp: PendingCheckpoint): void {
    if (cp.snapshots.length >= this.instances.length) return;
    const taken = new Set(cp.snapshots.map((s) => s.operator));
    for (const i of this.instances) {
      if (taken.has(i.name)) continue;
      cp.snapshots.push(i.watermark === MAX_WATERMARK ? i.snapshot({ full: true, finished: true }) : i.snapshot({ full: true }));
    }
  }

  /** A store's warning about a checkpoint that is complete nonetheless (e.g. its head could not be put aside). */
  private warnStore(message: string): void {
    this.warn(`runJob(${this.config.name}): ${message}`);
  }

  /** Pre-commits the sink, writes the checkpoint, then (unless the job failed meanwhile) commits, prunes, releases. */
  private async persist(cp: PendingCheckpoint): Promise<void> {
    // (synchronous up to the first await: the next checkpoint's deltas build on this one)
    this.addUnreached(cp);
    if (this.copies > 1 && !this.perSource) {
      cp.snapshots.push({ operator: DEALING, full: true, maxParallelism: this.maxParallelism, watermark: encodeValue(cp.dealing), entries: [] });
    }
    if (this.sourceNames !== undefined) {
      cp.snapshots.push({ operator: SOURCE_NAMES, full: true, maxParallelism: this.maxParallelism, watermark: encodeValue(this.sourceNames), entries: [] });
    }
    const allFull = cp.snapshots.every((s) => s.full);
    const parent = allFull ? undefined : this.snapshotBase;
    this.snapshotBase = cp.id;
    const store = this.store as StateStore;
    // every sink's pre-commit starts here, at the barrier: a sink's transaction must close before the pump pushes
    // the next batch (which would write into it), so none may wait for another's
    const preCommits = await Promise.allSettled(this.writers.map((writer, i) => this.guarded('sink', this.sinkName(i), 'pre-commit', () => writer.preCommit(cp.id), cp.id)));
    const failedPreCommit = preCommits.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (failedPreCommit !== undefined) throw failedPreCommit.reason;
    const states = new Map<string, string>();
    for (const [i, p] of preCommits.entries()) states.set((this.sinks[i] as NamedSink).output, (p as PromiseFulfilledResult<string>).value);
    const sink = encodeSinkStates(states);
    if (this.failed) return;
    let meta;
    try {
      meta = await store.writeCheckpoint({
        job: this.config.name,
        id: cp.id,
        ...(parent !== undefined ? { parent } : {}),
        timestamp: cp.startedAt,
        savepoint: cp.savepoint,
        operators: cp.snapshots,
        sources: cp.offsets,
        ...(sink !== undefined ? { sink } : {}),
        onWarning: (m) => this.warnStore(m),
      });
    } catch (e) {
      throw new JobError('runJob', cp.id, `runJob(${this.config.name}): writing checkpoint ${cp.id} to ${store.description} failed: ${describeFailure(e)}. The job stops; it restarts from the last complete checkpoint.`, { cause: e });
    }
    this.lastWritten = cp.id;
    // a failed job commits nothing more: a restart restores this checkpoint and commits it then
    if (this.failed) return;
    for (const [i, writer] of this.writers.entries()) {
      await this.guarded('sink', this.sinkName(i), 'commit', () => writer.commit(cp.id), cp.id);
      if (this.failed) return;
    }
    let pruned;
    try {
      pruned = await store.prune(this.config.name, this.retain, (m) => this.warnStore(m));
    } catch (e) {
      throw new JobError(
        'runJob',
        cp.id,
        `runJob(${this.config.name}): deleting the checkpoints before checkpoint ${cp.id} from ${store.description} failed: ${describeFailure(e)}. Checkpoint ${cp.id} is complete and its output committed; the job stops; it restarts from checkpoint ${cp.id}.`,
        { cause: e, checkpoint: cp.id },
      );
    }
    await this.releaseSources(pruned, cp.id);
    if (allFull) {
      this.chain = new Map(cp.snapshots.map((s) => [s.operator, { live: snapshotChars(s), dead: 0, sizes: rowSizesOf(s) }]));
      this.chainOverhead = this.prunesRead = 0;
      this.forceFull = false;
    } else {
      // What a restore reads besides the last full checkpoint: every checkpoint of the chain, each snapshot and the
      // manifest around them (read in vain: the manifest, offsets and sink state of every checkpoint but the full
      // one). Per operator: rows that add an entry are state; a row that rewrites or deletes an entry supersedes the
      // chain's earlier row of it, which is read in vain from then on, and so is a deletion row. The k rows a delta
      // supersedes are charged as the k largest rows of the chain not charged yet (by size class, each at its class's
      // upper end): over the chain, that adds up to at least what the superseded rows hold, whichever they were. An
      // operator's full snapshot (saturated), or one whose churn is not known, supersedes all its earlier rows: the
      // checkpoints before it stay in the other operators' chains until a full checkpoint. The estimates err one
      // way: `live` at most the true state, `dead` at least what is read in vain.
      let rowChars = 0;
      for (const s of cp.snapshots) {
        const chars = snapshotChars(s);
        rowChars += chars;
        let c = this.chain.get(s.operator);
        if (c === undefined) this.chain.set(s.operator, (c = { live: 0, dead: 0, sizes: noRows() }));
        const churn = !s.full && s instanceof PackedSnapshot ? s.churn : undefined;
        if (churn === undefined) {
          c.dead += c.live;
          c.live = chars;
          c.sizes = rowSizesOf(s);
          continue;
        }
        const superseded = Math.min(c.live, takeLargestRows(c.sizes, churn.rewriteRows + churn.deleteRows));
        // (what the delta's churn says is dead cannot be more than the chain holds: estimates of dead weight in append
        // and patch rows are never allowed to make the live bytes negative)
        const deleted = Math.min(churn.deleteBytes, Math.max(0, c.live + chars - superseded));
        c.dead += superseded + deleted;
        c.live += chars - deleted - superseded;
        addRows(c.sizes, rowSizesOf(s));
      }
      this.chainOverhead += Math.max(0, meta.bytes - rowChars);
      this.prunesRead += this.chainOverhead;
      // the next checkpoint is full once what the chain holds in vain reaches the state it builds: a restore reads at
      // most about twice the state (plus one interval's changes), and a state that only grows keeps writing deltas —
      // until what the prunes read of the chain's manifests, which grows with the square of its length, reaches the
      // state too (a chain of a state that grows slowly would otherwise grow without end, each prune reading all of
      // it: a full checkpoint every √(2 · state / manifest) checkpoints keeps both costs about the state's)
      let live = 0;
      let dead = this.chainOverhead + this.prunesRead;
      for (const c of this.chain.values()) {
        live += c.live;
        dead += c.dead;
      }
      this.forceFull = dead >= Math.max(live, 1 << 16);
    }
    this.checkpointsCompleted++;
    this.lastCheckpoint = cp.id;
    const minPause = this.config.checkpoint?.minPauseMs ?? 0;
    if (minPause > 0 && this.phase === 'running') {
      // the next checkpoint due by the clock starts `minPause` after this one ended at the earliest (its tick moved
      // there: one pending for the old due time would find nothing due and wait a whole interval more)
      this.nextDueAt = Math.max(this.nextDueAt, this.scheduler.now() + minPause);
      this.ticker?.unsubscribe();
      this.scheduleTick();
    }
    this.lastWasSavepoint = cp.savepoint;
    const info: CheckpointInfo = {
      id: cp.id,
      durationMs: this.scheduler.now() - cp.startedAt,
      bytes: meta.bytes,
      entries: meta.entries,
      sourceOffsets: cp.offsets.map(decodeOffset),
      full: allFull,
      savepoint: cp.savepoint,
    };
    this.checkpoints$.next(info);
    this.metrics$.next(this.metrics());
    this.waiters = this.waiters.filter((w) => {
      if (cp.id < w.atLeast) return true;
      w.resolve(info);
      return false;
    });
  }

  /**
   * Sources that keep data for replay (journals) may drop what every checkpoint left in the store (`kept`) has read:
   * each is told the offset of the oldest kept checkpoint that has one (by id: an offset is the source's own text, not
   * ranked here; numeric offsets, the lowest of them).
   */
  private async releaseSources(kept: readonly CheckpointMeta[], completed: number): Promise<void> {
    for (let i = 0; i < this.readers.length; i++) {
      const reader = this.readers[i] as SourceReader<T>;
      if (reader.release === undefined) continue;
      let oldest: string | undefined;
      let oldestId = Infinity;
      let lowest: string | undefined;
      let lowestN = Infinity;
      let numeric = true;
      for (const c of kept) {
        const o = c.sources[i];
        if (o === undefined) continue;
        const n = o.trim() === '' ? NaN : Number(o); // (Number('') is 0: an empty offset is not a number)
        if (!Number.isFinite(n)) numeric = false;
        else if (n < lowestN) {
          lowestN = n;
          lowest = o;
        }
        if (c.id < oldestId) {
          oldestId = c.id;
          oldest = o;
        }
      }
      if (numeric && lowest !== undefined) oldest = lowest;
      if (oldest !== undefined) {
        const o = oldest;
        await this.guarded('source', this.sourceName(i), 'commit', () => reader.release?.(o, completed), completed);
      }
    }
  }

  /**
   * Runs `work` (a checkpoint or a stop the user asked for) now — or, asked from inside a delivery into the pipeline
   * that is not the pump's batch (a timer's output going out), in a task after it: a barrier injected into it would
   * wait behind the operator that is firing.
   */
  private outsideDelivery(work: () => void): void {
    if (this.runtime?.delivering === true && !this.pushing) this.scheduler.schedule(work);
    else work();
  }

  private triggerCheckpoint(): Promise<CheckpointInfo> {
    if (this.config.checkpoint === undefined) {
      return Promise.reject(new ConfigurationError('runJob', undefined, `runJob(${this.config.name}): triggerCheckpoint needs checkpoint: { intervalMs, store }.`));
    }
    if (this.phase === 'ended') return Promise.reject(new JobError('runJob', undefined, `runJob(${this.config.name}): the job has ended.`));
    return new Promise<CheckpointInfo>((resolve, reject) => {
      this.waiters.push({ atLeast: this.nextId, resolve, reject });
      this.requested = { savepoint: this.requested?.savepoint === true };
      // from inside the pipeline (pushing) the pump takes it after the batch; else now, or when the one in flight is done
      this.outsideDelivery(() => this.safely(() => this.maybeCheckpoint()));
    });
  }

  // ---- end, stop, failure ------------------------------------------------------------------------------------------

  /** The pipeline completed (sources exhausted, or drained): last checkpoint, commit, close. */
  private async onPipelineComplete(): Promise<void> {
    if (this.phase === 'ended') return;
    this.phase = 'ending';
    await this.inFlight;
    if (this.config.checkpoint !== undefined && this.phase === 'ending') {
      // the input has ended: no barrier can flow, so the operators are snapshotted directly — as finished operators,
      // their clocks and inputs without keyed state and timers (docs/SEMANTICS.md §8, "End of input")
      const final = async (savepoint: boolean): Promise<void> => {
        const cp = { ...this.newCheckpoint(savepoint), full: true };
        for (const i of this.instances) cp.snapshots.push(i.snapshot({ full: true, finished: true }));
        // (in flight as any other: a failure meanwhile settles the job once it is written, naming it as the restart point)
        const written = this.withTimeout(this.persist(cp), cp);
        this.inFlight = written;
        try {
          await written;
        } finally {
          if (this.inFlight === written) this.inFlight = undefined;
        }
      };
      await final(this.stopRequest?.savepoint === true);
      // a stop({ savepoint }) that came while the last checkpoint was being written still gets its savepoint
      if (this.stopRequest?.savepoint === true && !this.lastWasSavepoint && this.phase === 'ending') await final(true);
    }
    await this.finish(this.stopRequest === undefined ? 'finished' : 'stopped', true);
  }

  private stop(savepoint: boolean, drain: boolean): Promise<void> {
    if (savepoint && this.config.checkpoint === undefined) {
      return Promise.reject(new ConfigurationError('runJob', undefined, `runJob(${this.config.name}): a savepoint needs checkpoint: { intervalMs, store }.`));
    }
    if (this.phase === 'ended') {
      // (a stop of a job that ended is done; a savepoint, though, can no longer be taken: said, not passed over)
      if (!savepoint) return Promise.resolve();
      const last = this.lastCheckpoint === undefined ? 'it took no checkpoint' : `its last checkpoint is ${this.lastCheckpoint}`;
      return Promise.reject(
        new JobError(
          'runJob',
          undefined,
          `runJob(${this.config.name}): stop({ savepoint: true }) came after the job ${this.failed ? 'failed' : 'ended'}: no savepoint can be taken (${last}). To carry state on, take the savepoint while the input runs.`,
        ),
      );
    }
    const pending = this.stopRequest;
    if (pending !== undefined) {
      // (a second stop is the first's: one that asks for more — a savepoint, a drain — is refused, not passed over)
      if ((!savepoint || pending.savepoint) && (!drain || pending.drain)) return this.job.done.then(() => undefined);
      const options = (sp: boolean, dr: boolean): string => (sp || dr ? `{ ${[sp ? 'savepoint: true' : '', dr ? 'drain: true' : ''].filter((x) => x !== '').join(', ')} }` : '');
      return Promise.reject(
        new JobError(
          'runJob',
          undefined,
          `runJob(${this.config.name}): stop(${options(savepoint, drain)}) came while stop(${options(pending.savepoint, pending.drain)}) was under way: it is not taken, the job stops as the first stop asked. Call stop once, with every option it needs.`,
        ),
      );
    }
    if (savepoint && !drain && this.phase === 'ending') {
      // the input ended before the stop: the savepoint is the last checkpoint, of finished operators
      this.warn(
        `runJob(${this.config.name}): stop({ savepoint: true }) came after the input had ended, so the operators have finished and the savepoint ` +
          'holds no keyed state (docs/SEMANTICS.md §8). To carry state on, take the savepoint while the input runs.',
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.stopRequest = { savepoint, drain, resolve, reject };
      // from inside the pipeline (pushing) the pump handles it after the batch; otherwise now
      if (!this.pushing) this.outsideDelivery(() => this.handleStop());
    });
  }

  private handleStop(): void {
    const req = this.stopRequest;
    if (req === undefined || this.phase !== 'running') return;
    if (req.drain) {
      this.endInput(); // completes the pipeline: MAX watermark, last checkpoint (a savepoint if asked), commit
      return;
    }
    this.phase = 'ending';
    (async () => {
      await this.inFlight;
      if (req.savepoint && this.phase === 'ending') {
        this.phase = 'running';
        const taken = new Promise<CheckpointInfo>((resolve, reject) => this.waiters.push({ atLeast: this.nextId, resolve, reject }));
        taken.catch(() => undefined); // a failure is reported by done and stop()
        this.injectBarrier(true);
        this.phase = 'ending';
        await this.inFlight;
        await taken;
      }
      await this.finish('stopped', false);
    })().catch((e: unknown) => this.fail(e));
  }

  /** Stops everything that runs (pump, checkpoint timer, pipeline); the job takes no more input. */
  private end(): void {
    this.phase = 'ended';
    // a barrier on its way through worker threads will not arrive: its checkpoint is not taken
    this.barrierWaiter?.resolve();
    this.barrierWaiter = undefined;
    this.ticker?.unsubscribe();
    this.pipelineSub?.unsubscribe();
  }

  /** Closes the sinks, then the sources — each one, whichever failed before it; the first failure is thrown. */
  private async closeAll(completed: boolean): Promise<void> {
    // without checkpoints, closing a sink flushes what was written to it
    const phase = this.config.checkpoint === undefined ? 'write' : 'close';
    let first: { readonly error: unknown } | undefined;
    const close = async (run: () => Promise<unknown>): Promise<void> => {
      try {
        await run();
      } catch (error) {
        first ??= { error };
      }
    };
    for (const [i, writer] of this.writers.entries()) await close(() => this.guarded('sink', this.sinkName(i), phase, () => writer.close(completed)));
    for (const [i, r] of this.readers.entries()) await close(() => this.guarded('source', this.sourceName(i), 'close', () => r.close()));
    // (what a source held for a reader never opened goes; a no-op for those a reader took)
    for (const [i, hold] of this.holds.entries()) if (hold !== undefined) await close(async () => this.guarded('source', this.sourceName(i), 'close', () => hold.release()));
    if (first !== undefined) throw first.error;
  }

  private async finish(state: 'finished' | 'stopped', completed: boolean): Promise<void> {
    if (this.phase === 'ended') return;
    this.end();
    try {
      await this.closeAll(completed);
    } catch (e) {
      this.settleFailed(e);
      return;
    }
    const metrics = this.metrics();
    this.metrics$.next(metrics);
    const summary: JobSummary = {
      ...metrics,
      name: this.config.name,
      state,
      skipped: this.skipped,
      ...(this.fallback !== undefined ? { fallback: this.fallback } : {}),
      ...(this.restoredFrom !== undefined ? { restoredFrom: this.restoredFrom } : {}),
      ...(this.lastCheckpoint !== undefined ? { lastCheckpoint: this.lastCheckpoint } : {}),
    };
    this.output$.complete();
    this.checkpoints$.complete();
    this.metrics$.complete();
    for (const w of this.waiters) w.reject(new JobError('runJob', undefined, `runJob(${this.config.name}): the job ended before the checkpoint was taken.`));
    this.waiters = [];
    this.stopRequest?.resolve();
    this.resolveDone(summary);
    this.letGo(metrics);
  }

  /** Fails the job: stops at once; `done` rejects once the checkpoint in flight has settled and everything is closed. */
  private fail(e: unknown): void {
    if (this.phase === 'ended') return;
    this.failed = true;
    this.end();
    (async () => {
      await this.inFlight?.catch(() => undefined);
      // the job failed already; the first error is the one reported
      await this.closeAll(false).catch(() => undefined);
    })().then(() => {
      // a checkpoint whose write landed meanwhile is where a restart resumes: the error says so
      const remade = this.lastWritten !== this.lastCheckpoint ? this.remakeErrors.get(e as object)?.() : undefined;
      this.settleFailed(remade ?? e);
    });
  }

  private settleFailed(e: unknown): void {
    this.output$.error(e);
    // (the job's figures end, as on success: the failure is `done`'s to report — an error here reached every
    // subscriber without an error handler as an uncaught exception, although the caller handled `done`)
    this.checkpoints$.complete();
    this.metrics$.complete();
    for (const w of this.waiters) w.reject(e);
    this.waiters = [];
    this.stopRequest?.reject(e);
    this.rejectDone(e);
    this.letGo(this.metrics(), e);
  }

  /**
   * Once the job settled, its handle keeps its final figures only: the operators (their keyed state), the pipeline's
   * runtime and inputs, the readers and writers are let go, so that a service keeping handles of ended jobs does not
   * keep their state.
   */
  private letGo(finalMetrics: JobMetrics, failure?: unknown): void {
    // (an error's stack is kept as call sites with their receivers — the operator that threw, and its state — until it
    // is read: read now, it is text; the cause's too, thrown in a user function called by an operator)
    for (let e = failure, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) void e.stack;
    // (its own copy: `done`'s summary and the last `metrics$` value are the caller's)
    this.finalMetrics = structuredClone(finalMetrics);
    this.instances = [];
    this.runtime = undefined;
    this.inputs = [];
    this.readers = [];
    this.writers = [];
    this.writer = undefined;
    this.pipelineSub = undefined;
    this.chain = new Map();
    // (a hold handed on keeps its reader's observer, and with it what the reader had not taken)
    this.holds = [];
    this.current = undefined;
  }

  private metrics(): JobMetrics {
    // (a copy each time, as before the end: a caller may change what it was given)
    if (this.finalMetrics !== undefined) return structuredClone(this.finalMetrics);
    const operators: Record<string, { watermark: number } & Record<string, number>> = {};
    const subtasks: Record<string, readonly SubtaskMetrics[]> = {};
    for (const i of this.instances) {
      // (defined, not assigned: an operator named `__proto__` is an entry like any other)
      ownEntry(operators, i.name, { ...i.metrics(), watermark: i.watermark });
      if (i instanceof ParallelOperatorInstance) ownEntry(subtasks, i.name, i.subtasks());
    }
    const metrics = {
      recordsIn: this.recordsIn,
      recordsOut: this.recordsOut,
      checkpointsCompleted: this.checkpointsCompleted,
      operators,
      ...(this.restoredFrom !== undefined ? { restoredFrom: this.restoredFrom } : {}),
    };
    return Object.keys(subtasks).length === 0 ? metrics : { ...metrics, subtasks };
  }
}

function decodeOffset(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

/** A sink of a job and the output it takes: `main` or a side output's name. */
interface NamedSink {
  readonly output: string;
  readonly sink: Sink<unknown>;
}

/** The job's sinks (`sink`, or `sinks` by output name), checked. */
function namedSinks(config: JobOptions<unknown>): NamedSink[] {
  const name = config.name;
  const { sink, sinks } = config;
  if (sink !== undefined && sinks !== undefined) {
    throw new ConfigurationError('runJob', sinks, `runJob(${name}): give either sink (the main output) or sinks ({ main, [sideOutput]: sink }), not both.`);
  }
  const isSink = (s: unknown): s is Sink<unknown> => typeof s === 'object' && s !== null && typeof (s as { open?: unknown }).open === 'function';
  if (sinks === undefined) {
    if (sink === undefined) return [];
    if (!isSink(sink)) throw new ConfigurationError('runJob', sink, `runJob(${name}): sink ${describeValue(sink)} is not a sink; use toArray(), toNdjsonFile(path) or callbackSink({ write }).`);
    return [{ output: 'main', sink }];
  }
  if (typeof sinks !== 'object' || sinks === null || Array.isArray(sinks)) {
    throw new ConfigurationError('runJob', sinks, `runJob(${name}): sinks ${describeValue(sinks)} must be an object of sinks by output, e.g. { main: toNdjsonFile('out.ndjson'), late: toNdjsonFile('late.ndjson') }.`);
  }
  const out: NamedSink[] = [];
  // main first, then the side outputs in the object's order (the order they pre-commit and commit in)
  for (const output of ['main', ...Object.keys(sinks).filter((k) => k !== 'main')]) {
    const s = sinks[output];
    if (s === undefined) continue;
    if (!isSink(s)) {
      throw new ConfigurationError('runJob', s, `runJob(${name}): sinks.${output} ${describeValue(s)} is not a sink; use toArray(), toNdjsonFile(path) or callbackSink({ write }).`);
    }
    out.push({ output, sink: s });
  }
  return out;
}

/** Marks a checkpoint's sink state that holds several sinks' states (a job with `sinks`). */
const SINKS_PREFIX = 'tidewater-sinks:';

/**
 * The sink state a checkpoint stores: the main sink's own state when it is the job's only sink (as before side
 * outputs), else every sink's by output name.
 */
function encodeSinkStates(states: ReadonlyMap<string, string>): string | undefined {
  if (states.size === 0) return undefined;
  if (states.size === 1 && states.has('main')) return states.get('main');
  return SINKS_PREFIX + JSON.stringify(Object.fromEntries(states));
}

/** Each sink's state in a checkpoint's sink state (see {@link encodeSinkStates}); a single state is the main sink's. */
function decodeSinkStates(job: string, loaded: LoadedCheckpoint | undefined, sinks: readonly NamedSink[], allowNonRestoredState: boolean): Map<string, string> {
  const states = new Map<string, string>();
  const stored = loaded?.sink;
  if (stored === undefined) return states;
  if (!stored.startsWith(SINKS_PREFIX)) {
    // (one sink's state, written before side outputs had sinks: the main one's)
    if (sinks.some((s) => s.output === 'main') || allowNonRestoredState) states.set('main', stored);
    else throw lackingSinks(job, loaded, ['main']);
    return states;
  }
  let parsed: Record<string, string>;
  try {
    parsed = JSON.parse(stored.slice(SINKS_PREFIX.length)) as Record<string, string>;
  } catch (e) {
    throw new JobError('runJob', loaded?.id, `runJob(${job}): the sink states of checkpoint ${loaded?.id ?? '?'} are damaged (${describeValue(stored, 120)}); restore another checkpoint, or restore: false.`, { cause: e });
  }
  for (const { output } of sinks) if (typeof parsed[output] === 'string') states.set(output, parsed[output]);
  // a sink's state holds its pending transactions (docs/SEMANTICS.md §8): one the job lacks would drop them unsaid
  const lacking = Object.keys(parsed).filter((output) => !states.has(output));
  if (lacking.length > 0 && !allowNonRestoredState) throw lackingSinks(job, loaded, lacking);
  return states;
}

/** The refusal of a checkpoint holding the state of sinks the job lacks (docs/SEMANTICS.md §8). */
function lackingSinks(job: string, loaded: LoadedCheckpoint | undefined, lacking: readonly string[]): JobError {
  return new JobError(
    'runJob',
    lacking,
    `runJob(${job}): checkpoint ${loaded?.id ?? '?'} holds the state of the sink(s) of output(s) ${lacking.map((o) => `'${o}'`).join(', ')}, which the job lacks: ` +
      `their output pending in it would never be committed. Give the job those sinks again (sinks: { ${lacking.map((o) => `${JSON.stringify(o)}: …`).join(', ')} }), or pass allowNonRestoredState: true to drop it.`,
  );
}

/** Sets `record[name]` as an own enumerable property, whatever the name (`__proto__` included). */
function ownEntry<V>(record: Record<string, V>, name: string, value: V): void {
  Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
}

/** Where the job pushes one input's elements: the pipeline's subscriber of that input stream, or several. */
interface JobInput<E> {
  readonly closed: boolean;
  next(e: E): void;
  complete(): void;
}

/**
 * The subscribers of one input stream that the pipeline subscribed more than once (split into branches, say): each
 * gets every element, in subscription order, as from an RxJS `Subject` (the values are made into elements first:
 * no subscriber takes plain values from it).
 */
class InputFanout<E> implements JobInput<E> {
  constructor(private readonly subscribers: Subscriber<E>[]) {}
  add(s: Subscriber<E>): void {
    this.subscribers.push(s);
  }
  get closed(): boolean {
    for (const s of this.subscribers) if (!s.closed) return false;
    return true;
  }
  next(e: E): void {
    for (const s of this.subscribers) if (!s.closed) s.next(e);
  }
  complete(): void {
    for (const s of this.subscribers) if (!s.closed) s.complete();
  }
}

/**
 * The pseudo-operator under which a checkpoint of `runJob({ parallelism })` keeps its dealing position: the copy the
 * next source record goes to. Dealing goes on across barriers (restarting it at each barrier made the output depend on
 * where checkpoints fell: which copy's `eventTime` stamps a record moves the merged watermark), and a restore takes it
 * up where the checkpoint left it. No stateful operator has this name (`@` and `#` mark the generated names).
 */
const DEALING = 'runJob@dealing';
/**
 * The pseudo-operator under which a checkpoint of a job with named sources keeps their names, in the order of its
 * source positions: a restore finds each source's position by its name, not its place in `sources: { … }`.
 */
const SOURCE_NAMES = 'runJob@sources';
