import { asyncScheduler, Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';
import { withEnvironment, type OperatorEnvironment, type StatefulOperatorInstance } from '../core/environment.js';
import { barrier, isStreamElement, record, type StreamElement } from '../elements/index.js';
import { ConfigurationError, describeValue, TidewaterError } from '../errors/index.js';
import type { LoadedCheckpoint, StateStore } from '../stores/types.js';
import type { CheckpointInfo, Job, JobConfig, JobMetrics, JobSummary, SinkWriter, Source, SourceRead, SourceReader } from './types.js';

/**
 * A job failed for a reason of the job itself (not of an operator): a checkpoint that cannot be restored into this
 * pipeline, a barrier that never reached the sink, a store that failed.
 *
 * @example
 * ```ts
 * job.done.catch((e) => { if (e instanceof JobError) console.error(e.message); });
 * ```
 */
export class JobError extends TidewaterError {
  override name = 'JobError';
}

/** The pump yields to the event loop after this much scheduler time (or this many values). */
const SLICE_MS = 5;
const SLICE_VALUES = 1 << 20;

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
  readonly full: boolean;
  readonly savepoint: boolean;
  readonly snapshots: OperatorSnapshot[];
  reachedSink: boolean;
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
 * Watermarks: sources restart their watermark generators at MIN on restore, as in Flink; each keyed operator,
 * however, restores its own last watermark from the checkpoint (a deviation from Flink), so records are judged late
 * after a restore exactly as in an uninterrupted run.
 *
 * Checkpoints are incremental (only changed state), with a full snapshot whenever the deltas written since the last
 * full one outgrow it, so that restoring reads at most about twice the state.
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
export function runJob<T, R>(config: JobConfig<T, R>): Job<R> {
  return new JobRunner(config).job;
}

class JobRunner<T, R> {
  readonly job: Job<R>;
  private readonly scheduler: SchedulerLike;
  private readonly sources: readonly Source<T>[];
  private readonly store: StateStore | undefined;
  private readonly retain: number;
  private readonly batchSize: number;
  private readonly output$ = new Subject<R>();
  private readonly checkpoints$ = new Subject<CheckpointInfo>();
  private readonly metrics$ = new Subject<JobMetrics>();
  private resolveDone!: (s: JobSummary) => void;
  private rejectDone!: (e: unknown) => void;

  private phase: 'starting' | 'running' | 'ending' | 'ended' = 'starting';
  private readers: SourceReader<T>[] = [];
  private readerDone: boolean[] = [];
  private nextReader = 0;
  private writer: SinkWriter<R> | undefined;
  private input: Subscriber<StreamElement<T, undefined>> | undefined;
  private pipelineSub: Subscription | undefined;
  private readonly instances: StatefulOperatorInstance[] = [];
  private waiting = false;
  private pumpScheduled = false;
  private ticker: Subscription | undefined;

  private recordsIn = 0;
  private recordsOut = 0;
  private checkpointsCompleted = 0;
  private restoredFrom: number | undefined;
  private skipped: readonly { id: number; reason: string }[] = [];
  private lastCheckpoint: number | undefined;

  // checkpointing
  private nextId = 1;
  private nextDueAt = Infinity;
  private current: PendingCheckpoint | undefined;
  private inFlight: Promise<void> | undefined;
  private requested: { savepoint: boolean } | undefined;
  private waiters: { atLeast: number; resolve: (c: CheckpointInfo) => void; reject: (e: unknown) => void }[] = [];
  /** The checkpoint the operators' next delta snapshots build on. */
  private snapshotBase: number | undefined;
  private forceFull = false;
  private fullBytes = 0;
  private deltaBytes = 0;
  private readonly retainedOffsets: (readonly string[])[] = [];
  private stopRequest: { savepoint: boolean; drain: boolean; resolve: () => void; reject: (e: unknown) => void } | undefined;

  constructor(private readonly config: JobConfig<T, R>) {
    this.scheduler = config.scheduler ?? asyncScheduler;
    this.sources = Array.isArray(config.source) ? (config.source as readonly Source<T>[]) : [config.source as Source<T>];
    this.store = config.checkpoint?.store;
    this.retain = config.checkpoint?.retain ?? 3;
    this.batchSize = config.batchSize ?? 1024;
    const name = config.name;
    if (typeof name !== 'string' || name === '') throw new ConfigurationError('runJob', name, `runJob: name ${describeValue(name)} must be a non-empty string (it names the job's checkpoints).`);
    if (this.sources.length === 0) throw new ConfigurationError('runJob', config.source, `runJob(${name}): give at least one source.`);
    const cp = config.checkpoint;
    if (cp !== undefined) {
      if (!(cp.intervalMs > 0)) throw new ConfigurationError('runJob', cp.intervalMs, `runJob(${name}): checkpoint.intervalMs ${describeValue(cp.intervalMs)} must be a positive number of ms.`);
      if (!Number.isSafeInteger(this.retain) || this.retain < 1) throw new ConfigurationError('runJob', cp.retain, `runJob(${name}): checkpoint.retain ${describeValue(cp.retain)} must be an integer ≥ 1.`);
    }
    if (!Number.isSafeInteger(this.batchSize) || this.batchSize < 1) throw new ConfigurationError('runJob', config.batchSize, `runJob(${name}): batchSize ${describeValue(config.batchSize)} must be an integer ≥ 1.`);
    const done = new Promise<JobSummary>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.job = {
      output$: this.output$.asObservable(),
      checkpoints$: this.checkpoints$.asObservable(),
      metrics$: this.metrics$.asObservable(),
      done,
      triggerCheckpoint: () => this.triggerCheckpoint(false),
      stop: (options) => this.stop(options?.savepoint === true, options?.drain === true),
    };
    // Start on the scheduler, so that subscribers of output$ / checkpoints$ attached right after runJob see everything.
    this.scheduler.schedule(() => {
      this.start().catch((e: unknown) => this.fail(e));
    });
  }

  // ---- start -------------------------------------------------------------------------------------------------------

  private async start(): Promise<void> {
    const { config, store } = this;
    let loaded: LoadedCheckpoint | undefined;
    if (store !== undefined) {
      const which = config.restore ?? 'latest';
      if (which !== false) {
        loaded = await store.loadCheckpoint(config.name, which);
        if (loaded === undefined && typeof which === 'number') {
          throw new JobError('runJob', which, `runJob(${config.name}): no usable checkpoint ≤ ${which} in ${store.description}; use restore: 'latest' or false.`);
        }
      }
      // ids strictly increase, past torn or corrupt leftovers too (a new checkpoint never reuses an id)
      this.nextId = Math.max(loaded === undefined ? 1 : loaded.id + 1, await store.nextCheckpointId(config.name));
    } else if (config.restore !== undefined && config.restore !== false) {
      throw new ConfigurationError('runJob', config.restore, `runJob(${config.name}): restore needs checkpoint.store.`);
    }
    if (loaded !== undefined) {
      this.restoredFrom = loaded.id;
      this.skipped = loaded.skipped;
      this.snapshotBase = loaded.id;
      if (loaded.sources.length !== this.sources.length) {
        throw new JobError('runJob', loaded.sources.length, `runJob(${config.name}): checkpoint ${loaded.id} has ${loaded.sources.length} source offsets but the job has ${this.sources.length} sources; restore with the sources it was taken with, or restore: false.`);
      }
      this.retainedOffsets.push(loaded.sources);
    }
    if (config.sink !== undefined) {
      this.writer = await config.sink.open({
        job: config.name,
        transactional: config.checkpoint !== undefined,
        restored: loaded?.sink,
        ...(loaded !== undefined ? { restoredCheckpoint: loaded.id } : {}),
      });
    }
    const ctx = { job: config.name, scheduler: this.scheduler, ...(store !== undefined ? { store } : {}) };
    this.readers = await Promise.all(this.sources.map((s, index) => s.open(loaded?.sources[index], { ...ctx, index })));
    this.readerDone = this.readers.map(() => false);
    if (this.phase === 'ended') return;

    const restore = new Map<string, readonly OperatorSnapshot[]>();
    for (const s of loaded?.operators ?? []) restore.set(s.operator, [s]);
    let position = 0;
    const env: OperatorEnvironment = {
      scheduler: this.scheduler,
      register: (i) => {
        this.instances.push(i);
      },
      restoreFor: (name) => restore.get(name),
      nextPosition: () => position++,
      onBarrier: (i, id) => this.onBarrier(i, id),
    };
    const input$ = new Observable<StreamElement<T, undefined>>((s) => {
      this.input = s;
    });
    this.phase = 'running';
    this.pipelineSub = withEnvironment(env, () =>
      config.pipeline(input$).subscribe({
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
      }),
    );
    if (this.phase !== 'running') return;
    this.checkOperators(loaded);
    if (config.checkpoint !== undefined) {
      this.nextDueAt = this.scheduler.now() + config.checkpoint.intervalMs;
      this.scheduleTick();
    }
    this.pump();
  }

  /** A timer at the next due time, so that checkpoints are taken while sources are idle (waiting) too. */
  private scheduleTick(): void {
    const delay = Math.max(1, this.nextDueAt - this.scheduler.now());
    this.ticker = this.scheduler.schedule(() => {
      if (this.phase !== 'running') return;
      try {
        this.maybeCheckpoint();
      } catch (e) {
        this.fail(e);
        return;
      }
      this.scheduleTick();
    }, Number.isFinite(delay) ? delay : (this.config.checkpoint?.intervalMs ?? 1));
  }

  /** Every operator named in the checkpoint must be in the pipeline (unless allowNonRestoredState); names unique. */
  private checkOperators(loaded: LoadedCheckpoint | undefined): void {
    const names = new Set<string>();
    for (const i of this.instances) {
      if (names.has(i.name)) {
        throw new JobError(i.name, i.name, `runJob(${this.config.name}): two stateful operators are named '${i.name}'; give each a unique name (their state would mix in checkpoints).`);
      }
      names.add(i.name);
    }
    if (loaded === undefined || this.config.allowNonRestoredState === true) return;
    const unknown = loaded.operators.map((s) => s.operator).filter((n) => !names.has(n));
    if (unknown.length > 0) {
      throw new JobError(
        unknown[0] as string,
        unknown,
        `runJob(${this.config.name}): checkpoint ${loaded.id} holds state of operator(s) ${unknown.map((n) => `'${n}'`).join(', ')} that the pipeline lacks (it has: ${[...names].sort().map((n) => `'${n}'`).join(', ') || 'none'}). Name the operators as before (name: '…'), or pass allowNonRestoredState: true to drop that state.`,
      );
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
    // On the default (real-time) scheduler, yield without timer clamping so that store and file I/O between slices
    // is served promptly; a virtual scheduler (TestScheduler) gets the slice as a scheduled action.
    if (this.scheduler === asyncScheduler) yieldToEventLoop(run);
    else this.scheduler.schedule(run);
  }

  private pump(): void {
    const sliceStart = this.scheduler.now();
    let pushed = 0;
    try {
      while (this.phase === 'running') {
        if (this.stopRequest !== undefined) {
          this.handleStop();
          return;
        }
        this.maybeCheckpoint();
        const i = this.pickReader();
        if (i < 0) {
          this.endInput();
          return;
        }
        const r = (this.readers[i] as SourceReader<T>).read(this.batchSize);
        if (r instanceof Promise) {
          this.waiting = true;
          r.then(
            (res) => {
              this.waiting = false;
              if (this.phase !== 'running') return;
              try {
                this.push(i, res);
              } catch (e) {
                this.fail(e);
                return;
              }
              this.pump();
            },
            (e: unknown) => this.fail(e),
          );
          return;
        }
        this.push(i, r);
        pushed += r.values.length;
        if (pushed >= SLICE_VALUES || this.scheduler.now() - sliceStart >= SLICE_MS) {
          this.schedulePump();
          return;
        }
      }
    } catch (e) {
      this.fail(e);
    }
  }

  private pickReader(): number {
    const n = this.readers.length;
    for (let k = 0; k < n; k++) {
      const i = (this.nextReader + k) % n;
      if (!this.readerDone[i]) {
        this.nextReader = (i + 1) % n;
        return i;
      }
    }
    return -1;
  }

  private push(i: number, r: SourceRead<T>): void {
    if (r.done) this.readerDone[i] = true;
    const input = this.input as Subscriber<StreamElement<T, undefined>>;
    const now = this.scheduler.now();
    const vs = r.values;
    this.recordsIn += vs.length;
    for (let k = 0; k < vs.length && !input.closed; k++) {
      const v = vs[k] as T;
      input.next(isStreamElement(v) ? (v as StreamElement<T, undefined>) : record(v, now));
    }
  }

  private endInput(): void {
    this.phase = 'ending';
    this.input?.complete();
  }

  // ---- the sink -----------------------------------------------------------------------------------------------------

  private atSink(e: StreamElement<R>): void {
    if (e.kind === 'record') {
      this.recordsOut++;
      this.writer?.write(e.value);
      this.output$.next(e.value);
    } else if (e.kind === 'barrier') {
      const cp = this.current;
      if (cp !== undefined && cp.id === e.checkpointId) cp.reachedSink = true;
    }
  }

  // ---- checkpoints -------------------------------------------------------------------------------------------------

  private maybeCheckpoint(): void {
    if (this.config.checkpoint === undefined || this.inFlight !== undefined || this.phase !== 'running') return;
    const due = this.scheduler.now() >= this.nextDueAt;
    if (!due && this.requested === undefined) return;
    const savepoint = this.requested?.savepoint === true;
    this.requested = undefined;
    this.injectBarrier(savepoint);
  }

  /** A new checkpoint at the sources' current offsets. */
  private newCheckpoint(savepoint: boolean): PendingCheckpoint {
    return {
      id: this.nextId++,
      startedAt: this.scheduler.now(),
      offsets: this.readers.map((r) => r.offset()),
      full: savepoint || this.forceFull,
      savepoint,
      snapshots: [],
      reachedSink: false,
    };
  }

  private injectBarrier(savepoint: boolean): void {
    const cp = this.newCheckpoint(savepoint);
    const id = cp.id;
    this.current = cp;
    (this.input as Subscriber<StreamElement<T, undefined>>).next(barrier(id));
    this.current = undefined;
    if (this.phase !== 'running') return;
    if (!cp.reachedSink) {
      throw new JobError('runJob', id, `runJob(${this.config.name}): checkpoint barrier ${id} did not reach the sink while it was pushed: an operator in the pipeline drops or delays control elements. Use tidewater operators, or forward non-record elements unchanged and synchronously.`);
    }
    this.complete(cp);
  }

  private onBarrier(instance: StatefulOperatorInstance, id: number): void {
    const cp = this.current;
    if (cp === undefined || cp.id !== id) return; // a barrier the job did not inject (e.g. in the source data)
    cp.snapshots.push(instance.snapshot({ full: cp.full }));
  }

  /** The barrier passed every operator: pre-commit the sink, write the checkpoint, commit, prune (asynchronously). */
  private complete(cp: PendingCheckpoint): void {
    this.nextDueAt = cp.startedAt + (this.config.checkpoint?.intervalMs ?? 0);
    const writing = this.persist(cp);
    this.inFlight = writing.then(
      () => {
        this.inFlight = undefined;
        if (this.phase === 'running' && (this.requested !== undefined || this.waiting)) this.maybeCheckpoint();
      },
      (e: unknown) => {
        this.inFlight = undefined;
        this.fail(e);
      },
    );
  }

  private async persist(cp: PendingCheckpoint): Promise<void> {
    // (synchronous up to the first await: the next checkpoint's deltas build on this one)
    const allFull = cp.snapshots.every((s) => s.full);
    const parent = allFull ? undefined : this.snapshotBase;
    this.snapshotBase = cp.id;
    const store = this.store as StateStore;
    const sink = this.writer === undefined ? undefined : await this.writer.preCommit(cp.id);
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
      });
    } catch (e) {
      throw new JobError('runJob', cp.id, `runJob(${this.config.name}): writing checkpoint ${cp.id} to ${store.description} failed: ${e instanceof Error ? e.message : describeValue(e)}. The job stops; it restarts from the last complete checkpoint.`, { cause: e });
    }
    await this.writer?.commit(cp.id);
    await store.prune(this.config.name, this.retain);
    this.retainedOffsets.push(cp.offsets);
    while (this.retainedOffsets.length > this.retain) this.retainedOffsets.shift();
    const oldest = this.retainedOffsets[0] as readonly string[];
    for (let i = 0; i < this.readers.length; i++) await this.readers[i]?.release?.(oldest[i] as string);
    if (allFull) {
      this.fullBytes = meta.bytes;
      this.deltaBytes = 0;
      this.forceFull = false;
    } else {
      this.deltaBytes += meta.bytes;
      this.forceFull = this.deltaBytes >= Math.max(this.fullBytes, 1 << 16);
    }
    this.checkpointsCompleted++;
    this.lastCheckpoint = cp.id;
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

  private triggerCheckpoint(savepoint: boolean): Promise<CheckpointInfo> {
    if (this.config.checkpoint === undefined) {
      return Promise.reject(new ConfigurationError('runJob', undefined, `runJob(${this.config.name}): triggerCheckpoint needs checkpoint: { intervalMs, store }.`));
    }
    if (this.phase === 'ended') return Promise.reject(new JobError('runJob', undefined, `runJob(${this.config.name}): the job has ended.`));
    return new Promise<CheckpointInfo>((resolve, reject) => {
      this.waiters.push({ atLeast: this.nextId, resolve, reject });
      this.requested = { savepoint: savepoint || this.requested?.savepoint === true };
      if (this.phase === 'running' && this.inFlight === undefined && !this.pumpScheduled) {
        try {
          this.maybeCheckpoint();
        } catch (e) {
          this.fail(e);
        }
      }
    });
  }

  // ---- end, stop, failure ------------------------------------------------------------------------------------------

  /** The pipeline completed (sources exhausted, or drained): last checkpoint, commit, close. */
  private async onPipelineComplete(): Promise<void> {
    if (this.phase === 'ended') return;
    this.phase = 'ending';
    await this.inFlight;
    if (this.config.checkpoint !== undefined) {
      // the input has ended: no barrier can flow, so the operators are snapshotted directly
      const cp = this.newCheckpoint(this.stopRequest?.savepoint === true);
      for (const i of this.instances) cp.snapshots.push(i.snapshot({ full: cp.full }));
      await this.persist(cp);
    }
    await this.finish(this.stopRequest === undefined ? 'finished' : 'stopped', true);
  }

  private stop(savepoint: boolean, drain: boolean): Promise<void> {
    if (savepoint && this.config.checkpoint === undefined) {
      return Promise.reject(new ConfigurationError('runJob', undefined, `runJob(${this.config.name}): a savepoint needs checkpoint: { intervalMs, store }.`));
    }
    if (this.phase === 'ended') return Promise.resolve();
    if (this.stopRequest !== undefined) return this.job.done.then(() => undefined);
    return new Promise<void>((resolve, reject) => {
      this.stopRequest = { savepoint, drain, resolve, reject };
      // The pump handles the request at its next step; a pump waiting on an async source is not coming back soon.
      if (this.phase === 'running' && (this.waiting || !this.pumpScheduled)) {
        this.waiting = false;
        this.handleStop();
      }
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
      if (req.savepoint) {
        this.phase = 'running';
        const taken = new Promise<CheckpointInfo>((resolve, reject) => this.waiters.push({ atLeast: this.nextId, resolve, reject }));
        this.injectBarrier(true);
        this.phase = 'ending';
        await this.inFlight;
        await taken;
      }
      await this.finish('stopped', false);
    })().catch((e: unknown) => this.fail(e));
  }

  private async finish(state: 'finished' | 'stopped', completed: boolean): Promise<void> {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.ticker?.unsubscribe();
    this.pipelineSub?.unsubscribe();
    await this.writer?.close(completed);
    for (const r of this.readers) await r.close();
    const metrics = this.metrics();
    this.metrics$.next(metrics);
    const summary: JobSummary = {
      ...metrics,
      name: this.config.name,
      state,
      skipped: this.skipped,
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
  }

  private fail(e: unknown): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.ticker?.unsubscribe();
    this.pipelineSub?.unsubscribe();
    const closeAll = async (): Promise<void> => {
      try {
        await this.writer?.close(false);
        for (const r of this.readers) await r.close();
      } catch {
        // the job failed already; the first error is the one reported
      }
    };
    void closeAll();
    this.output$.error(e);
    this.checkpoints$.error(e);
    this.metrics$.error(e);
    for (const w of this.waiters) w.reject(e);
    this.waiters = [];
    this.stopRequest?.reject(e);
    this.rejectDone(e);
  }

  private metrics(): JobMetrics {
    const operators: Record<string, { watermark: number } & Record<string, number>> = {};
    for (const i of this.instances) operators[i.name] = { ...i.metrics(), watermark: i.watermark };
    return { recordsIn: this.recordsIn, recordsOut: this.recordsOut, checkpointsCompleted: this.checkpointsCompleted, operators };
  }
}

function decodeOffset(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}
