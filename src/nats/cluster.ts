import { jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { asyncScheduler, map, Subject, type Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { StreamElement } from '../elements/index.js';
import { ConfigurationError, describeValue, JobError } from '../errors/index.js';
import { isMaxParallelism } from '../keys/keyGroups.js';
import { runJobWith } from '../jobs/runJob.js';
import type { CheckpointInfo, Job, JobConfig, JobMetrics, JobSummary, Sink, Source } from '../jobs/types.js';
import type { StateStore } from '../stores/types.js';
import { exchangeSource } from './exchangeReader.js';
import { exchangeSink } from './exchangeWriter.js';
import { JetStreamError } from './source.js';
import { MemberWatch, type ClusterMemberStatus } from './members.js';
import { exchangeTag, planStages, StageExchange, stageInput, type StagePlan } from './stages.js';

type Element = StreamElement<unknown, unknown>;

/**
 * Where a cluster job keeps the records its stages exchange: a JetStream stream (created when missing) whose subjects
 * are `<prefix>.<edge>.<downstream task>.<upstream task>`.
 *
 * @example
 * ```ts
 * const exchange: ClusterExchangeOptions = { stream: 'CLICKS_EXCHANGE', storage: 'memory' };
 * ```
 */
export interface ClusterExchangeOptions {
  /** The stream's name (default `TIDEWATER_<job name>`). */
  readonly stream?: string;
  /** The subjects' prefix (default `tidewater.<job name>`). */
  readonly subjectPrefix?: string;
  /** Where the server keeps it when it creates it (default `file`). */
  readonly storage?: 'file' | 'memory';
  /** Replicas when it creates it (default 1; 3 on a cluster of NATS servers that must survive the loss of one). */
  readonly replicas?: number;
}

/**
 * The description of a job run by {@link runClusterJob}: the same job is started in `members` processes (or
 * machines), each with its own `member` index.
 *
 * @example
 * ```ts
 * const config: ClusterJobConfig<Click, WindowResult<string, number>> = {
 *   name: 'clicks', connection: nc, members: 3, member: 0,
 *   sources: ['clicks.0', 'clicks.1', 'clicks.2'].map((filter) => jetStreamSource<Click>({ connection: nc, stream: 'CLICKS', filter })),
 *   pipeline: pipe(eventTime((c) => c.at), keyBy((c) => c.user), window(tumblingWindows(60_000)), aggregate(count())),
 *   sink: (task) => jetStreamSink({ connection: nc, subject: `counts.${task}` }),
 *   checkpoint: { intervalMs: 1_000, store: (task) => levelStore(`./state/${task}`) },
 * };
 * ```
 */
export interface ClusterJobConfig<T, R> {
  /** Names the job: its tasks' checkpoints (`<name>.<stage>.<task>`) and its exchange subjects; letters, digits, `-` and `_`. */
  readonly name: string;
  readonly connection: NatsConnection;
  /** How many processes run the job (each runs the tasks `t` with `t % members === member`). */
  readonly members: number;
  /** This process's index, `0 … members − 1`. */
  readonly member: number;
  /**
   * The job's input, one source per partition (e.g. one `jetStreamSource` per subject filter): each is read by one
   * task of the first stage, with its own watermarks (stamp event time in the source or with `eventTime` first in the
   * pipeline).
   */
  readonly sources: readonly Source<T>[];
  /**
   * As `runJob`'s: its `keyBy`s cut it into stages (one after another; each stage's tasks receive the records of their
   * key groups from every task of the stage before, through the exchange stream).
   */
  readonly pipeline: OperatorFunction<StreamElement<T, undefined>, StreamElement<R>>;
  /** The sink of each task of the last stage (`task`: `0 … partitions − 1`); e.g. `jetStreamSink` on a subject of its own. */
  readonly sink: (task: number) => Sink<R>;
  /**
   * Tasks of each stage after the first (default 4): the most processes those stages spread over. Fixed for the life
   * of the job's state (a job restarts with any `members`, not with other partitions).
   */
  readonly partitions?: number;
  /** Checkpointing of each task: a store per task (one any member can open: a shared directory, a networked store). */
  readonly checkpoint: {
    readonly intervalMs: number;
    readonly store: (task: string) => StateStore;
    readonly retain?: number;
  };
  readonly restore?: 'latest' | false;
  readonly discardCommitted?: boolean;
  readonly maxParallelism?: number;
  readonly scheduler?: SchedulerLike;
  readonly batchSize?: number;
  readonly exchange?: ClusterExchangeOptions;
  /**
   * The members' heartbeats (core NATS, `<prefix>-members.<member>`, outside the exchange stream): one every `intervalMs` (default 1 000); a
   * member not heard for `timeoutMs` (default 5 × `intervalMs`) is reported down (`members$`, `onWarning`).
   */
  readonly heartbeat?: { readonly intervalMs?: number; readonly timeoutMs?: number };
  /** Where the job says what it skipped, and which members are down or back (default `console.warn`). */
  readonly onWarning?: (message: string) => void;
}

/**
 * One task of a cluster job, run by this member: a tidewater job of its own (`<name>.<stage>.<index>`).
 *
 * @example
 * ```ts
 * for (const t of job.tasks) console.log(t.name, t.stage, t.index);
 * ```
 */
export interface ClusterTask {
  readonly name: string;
  readonly stage: number;
  readonly index: number;
  readonly job: Job<unknown>;
}

/**
 * A completed checkpoint of one of the member's tasks.
 *
 * @example
 * ```ts
 * job.checkpoints$.subscribe((c) => console.log(`${c.task}: checkpoint ${c.id}`));
 * ```
 */
export interface ClusterCheckpointInfo extends CheckpointInfo {
  readonly task: string;
}

/**
 * This member's part of a cluster job: its tasks, run together (`output$`, `checkpoints$`, `metrics$` merge
 * theirs; `done` settles when all finished or one failed; `stop` stops them all).
 *
 * @example
 * ```ts
 * const job = runClusterJob(config);
 * await job.done;
 * ```
 */
export interface ClusterJob<R> extends Job<R> {
  readonly checkpoints$: Observable<ClusterCheckpointInfo>;
  /** The tasks this member runs (filled once the exchange stream is there: see {@link assigned} for their names at once). */
  readonly tasks: readonly ClusterTask[];
  /** The names of the tasks this member runs (`<name>.<stage>.<index>`), known at once. */
  readonly assigned: readonly string[];
  /** The stages the pipeline's `keyBy`s cut it into. */
  readonly stages: number;
  /** Every member's state as this one knows it from their heartbeats, on every change: a dead member shows as `down`. */
  readonly members$: Observable<readonly ClusterMemberStatus[]>;
}

const OP = 'runClusterJob';
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** The exchange stream: found, or created (by whichever member comes first). */
async function ensureExchange(jsm: JetStreamManager, stream: string, prefix: string, options: ClusterExchangeOptions): Promise<void> {
  const subjects = [`${prefix}.>`];
  try {
    await jsm.streams.info(stream);
    return;
  } catch {
    // (not there: create it)
  }
  try {
    await jsm.streams.add({
      name: stream,
      subjects,
      retention: RetentionPolicy.Limits,
      storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
      num_replicas: options.replicas ?? 1,
    });
  } catch (e) {
    // another member created it meanwhile
    try {
      await jsm.streams.info(stream);
    } catch {
      throw e;
    }
  }
}

/**
 * Runs this member's part of a job spread over several processes or machines through NATS JetStream, the way Kafka
 * Streams spreads a topology over instances (docs/NATS.md, "Multi-process jobs"). The pipeline's `keyBy`s cut it into
 * stages; each stage runs as tasks — the first stage one per source, every later one `partitions` tasks, each owning
 * a range of key groups — and the tasks of one stage send each record to the task of the next that owns its key
 * group, through subjects of a JetStream exchange stream, exactly once (two-phase commit, message de-duplication),
 * with their watermarks (each downstream task combines its upstream tasks' watermarks). Each task is a tidewater job
 * of its own (`<name>.<stage>.<index>`) with its own checkpoints in `checkpoint.store(task)`; member `i` runs the
 * tasks `t` with `t % members === i`. A member that dies holds back the tasks after it (event time stops advancing
 * there); restarted — with the same or another `members` — its tasks resume from their last checkpoints, wherever
 * their stores are readable.
 *
 * @example
 * ```ts
 * import { connect } from '@nats-io/transport-node';
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * const job = runClusterJob({
 *   name: 'clicks',
 *   connection: nc,
 *   members: 3,
 *   member: Number(process.env.MEMBER),
 *   sources: ['clicks.0', 'clicks.1', 'clicks.2'].map((filter) =>
 *     jetStreamSource<Click>({ connection: nc, stream: 'CLICKS', filter, eventTime: { timestamp: (c) => c.at, watermarks: boundedOutOfOrderness(5_000) } })),
 *   pipeline: pipe(keyBy((c) => c.user), window(tumblingWindows(60_000)), aggregate(count())),
 *   sink: (task) => jetStreamSink({ connection: nc, subject: `counts.${task}` }),
 *   checkpoint: { intervalMs: 1_000, store: (task) => levelStore(`/shared/state/${task}`) },
 * });
 * await job.done;
 * ```
 */
export function runClusterJob<T, R>(config: ClusterJobConfig<T, R>): ClusterJob<R> {
  const { name, connection, members, member, sources } = config;
  const owner = `${OP}(${String(name)})`;
  if (typeof name !== 'string' || !TOKEN.test(name)) throw new ConfigurationError(OP, name, `${OP}: name ${describeValue(name)} must be letters, digits, '-' or '_' (it names the job's subjects).`);
  if (!Number.isInteger(members) || members < 1) throw new ConfigurationError(OP, members, `${owner}: members ${describeValue(members)} must be an integer ≥ 1.`);
  if (!Number.isInteger(member) || member < 0 || member >= members) throw new ConfigurationError(OP, member, `${owner}: member ${describeValue(member)} must be an integer in 0 … ${members - 1}.`);
  if (!Array.isArray(sources) || sources.length === 0) throw new ConfigurationError(OP, sources, `${owner}: sources must list at least one source (one per input partition).`);
  const maxParallelism = config.maxParallelism ?? 128;
  if (!isMaxParallelism(maxParallelism)) throw new ConfigurationError(OP, maxParallelism, `${owner}: maxParallelism ${describeValue(maxParallelism)} must be an integer in [1, 32768].`);
  const partitions = config.partitions ?? 4;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > maxParallelism) {
    throw new ConfigurationError(OP, partitions, `${owner}: partitions ${describeValue(partitions)} must be an integer in 1 … maxParallelism (${maxParallelism}).`);
  }
  if (config.checkpoint === undefined || typeof config.checkpoint.store !== 'function') {
    throw new ConfigurationError(OP, config.checkpoint, `${owner}: a cluster job needs checkpoint: { intervalMs, store: (task) => StateStore } — its exchange is exactly-once through checkpoints.`);
  }
  const pipeline = config.pipeline as OperatorFunction<StreamElement<unknown, undefined>, Element>;
  const plan: StagePlan = planStages(owner, pipeline);
  const streamName = config.exchange?.stream ?? `TIDEWATER_${name}`;
  const prefix = config.exchange?.subjectPrefix ?? `tidewater.${name}`;
  const tasksOf = (stage: number): number => (stage === 0 ? sources.length : partitions);
  const all: { stage: number; index: number }[] = [];
  for (let stage = 0; stage < plan.stages; stage++) for (let index = 0; index < tasksOf(stage); index++) all.push({ stage, index });
  const mine = all.filter((_, t) => t % members === member);
  const taskName = ({ stage, index }: { stage: number; index: number }): string => `${name}.${stage}.${index}`;
  const warn = config.onWarning ?? ((m: string) => console.warn(m));
  const scheduler = config.scheduler ?? asyncScheduler;
  const beatMs = config.heartbeat?.intervalMs ?? 1_000;
  const watch = new MemberWatch(
    connection,
    prefix,
    member,
    members,
    (m) => all.filter((_, t) => t % members === m).map(taskName),
    scheduler,
    beatMs,
    config.heartbeat?.timeoutMs ?? 5 * beatMs,
    warn,
    owner,
  );

  const output$ = new Subject<R>();
  const checkpoints$ = new Subject<ClusterCheckpointInfo>();
  const metrics$ = new Subject<JobMetrics>();
  const tasks: ClusterTask[] = [];
  /** Each task's store, closed (released for whichever member runs the task next) once the task ended. */
  const stores = new Map<ClusterTask, StateStore>();
  let resolveStarted!: () => void;
  let rejectStarted!: (e: unknown) => void;
  const started = new Promise<void>((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  // (a failed start is reported by `done`; those who wait for the start see it too, and nobody need)
  started.catch(() => undefined);
  const latest = new Map<string, JobMetrics>();
  const summed = (): JobMetrics => {
    let recordsIn = 0;
    let recordsOut = 0;
    let checkpointsCompleted = 0;
    const operators: Record<string, JobMetrics['operators'][string]> = {};
    for (const t of tasks) {
      const m = latest.get(t.name);
      if (m === undefined) continue;
      if (t.stage === 0) recordsIn += m.recordsIn;
      if (t.stage === plan.stages - 1) recordsOut += m.recordsOut;
      checkpointsCompleted += m.checkpointsCompleted;
      for (const [op, v] of Object.entries(m.operators)) operators[`${t.name}/${op}`] = v;
    }
    return { recordsIn, recordsOut, checkpointsCompleted, operators };
  };

  /** The member's streams end (a start that failed: `done` says why). */
  const endStreams = (): void => {
    output$.complete();
    checkpoints$.complete();
    metrics$.complete();
  };

  const startTask = (stage: number, index: number): ClusterTask => {
    const store = config.checkpoint.store(taskName({ stage, index }));
    try {
      return startTaskWith(stage, index, store);
    } catch (e) {
      // (not started: its store is released here, as a started task's is when it ends)
      void Promise.resolve()
        .then(() => store.close())
        .catch(() => undefined);
      throw e;
    }
  };

  const startTaskWith = (stage: number, index: number, store: StateStore): ClusterTask => {
    const task = taskName({ stage, index });
    const last = stage === plan.stages - 1;
    const input = stage === 0 ? undefined : new Subject<Element>();
    const exchange = new StageExchange(plan, stage, input, last ? 0 : partitions, maxParallelism, owner);
    const source: Source<unknown> =
      stage === 0
        ? (sources[index] as Source<unknown>)
        : exchangeSource({ connection, stream: streamName, filter: `${prefix}.${stage - 1}.${index}.*`, upstreamTasks: tasksOf(stage - 1), upstreamPer: stage === 1 ? 'sources' : 'partitions', tasks: partitions, description: `exchange(${task})` });
    const sinks: Record<string, Sink<unknown>> = {};
    if (last) sinks['main'] = config.sink(index) as Sink<unknown>;
    else {
      sinks[exchangeTag(stage)] = exchangeSink({ connection, description: `exchange(${task})`, subjectOf: (to) => `${prefix}.${stage}.${to}.${index}`, tasks: partitions }) as Sink<unknown>;
    }
    const jobConfig: JobConfig<unknown, unknown> = {
      name: task,
      source,
      pipeline: (input === undefined ? pipeline : stageInput(pipeline, input)) as JobConfig<unknown, unknown>['pipeline'],
      sinks,
      checkpoint: { intervalMs: config.checkpoint.intervalMs, store, ...(config.checkpoint.retain !== undefined ? { retain: config.checkpoint.retain } : {}) },
      maxParallelism,
      scheduler,
      ...(config.restore !== undefined ? { restore: config.restore } : {}),
      ...(config.discardCommitted !== undefined ? { discardCommitted: config.discardCommitted } : {}),
      ...(config.batchSize !== undefined ? { batchSize: config.batchSize } : {}),
      onWarning: warn,
    };
    const job = runJobWith(jobConfig, { exchange });
    const entry: ClusterTask = { name: task, stage, index, job };
    stores.set(entry, store);
    // (a task's failure reaches the member through its done)
    const ignore = (): void => undefined;
    job.output$.subscribe({ next: (v) => output$.next(v as R), error: ignore });
    job.checkpoints$.pipe(map((c): ClusterCheckpointInfo => ({ ...c, task }))).subscribe({ next: (c) => checkpoints$.next(c), error: ignore });
    job.metrics$.subscribe({
      next: (m) => {
        latest.set(task, m);
        metrics$.next(summed());
      },
      error: ignore,
    });
    return entry;
  };

  const stopAll = async (options?: { savepoint?: boolean; drain?: boolean }): Promise<void> => {
    if (options?.drain === true) {
      // a drained task would send its end downstream while its source has more: the next stages would end for good
      throw new ConfigurationError(
        OP,
        options,
        `${owner}: a cluster job cannot be stopped with drain: each task would tell the next stage its input ended while its sources have more. Stop it (with a savepoint, to rescale) and start it again; a bounded job ends by itself when its sources do.`,
      );
    }
    await started.catch(() => undefined);
    await Promise.all(tasks.map((t) => t.job.stop(options).catch(() => undefined)));
  };

  const done = (async (): Promise<JobSummary> => {
    try {
      const jsm = await jetstreamManager(connection);
      await ensureExchange(jsm, streamName, prefix, config.exchange ?? {});
    } catch (e) {
      const error = new JetStreamError(OP, streamName, `${owner}: cannot open or create the exchange stream '${streamName}': ${(e as Error)?.message ?? String(e)}`, e);
      rejectStarted(error);
      endStreams();
      await watch.stop('stopped');
      throw error;
    }
    try {
      for (const { stage, index } of mine) tasks.push(startTask(stage, index));
    } catch (e) {
      // a task that cannot be made (its store, its sink): the member fails, the tasks already started stop with it
      const error = e instanceof JobError || e instanceof JetStreamError || e instanceof ConfigurationError ? e : new JobError(OP, name, `${owner}: a task could not start: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      rejectStarted(error);
      await Promise.all(tasks.map((t) => t.job.stop().catch(() => undefined)));
      await Promise.all(tasks.map((t) => t.job.done.catch(() => undefined).finally(() => stores.get(t)?.close())));
      endStreams();
      await watch.stop('stopped');
      throw error;
    }
    resolveStarted();
    watch.start();
    let failure: unknown;
    const summaries = await Promise.all(
      tasks.map((t) =>
        t.job.done.finally(() => stores.get(t)?.close()).catch(async (e: unknown) => {
          if (failure === undefined) {
            failure = e instanceof JobError || e instanceof JetStreamError ? e : new JobError(OP, t.name, `${owner}: task ${t.name} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
            // one task failing stops the member: the others stop where they are (their last checkpoints stand)
            await Promise.all(tasks.filter((o) => o !== t).map((o) => o.job.stop().catch(() => undefined)));
          }
          return undefined;
        }),
      ),
    );
    output$.complete();
    checkpoints$.complete();
    metrics$.complete();
    const finished = failure === undefined && summaries.every((s) => s?.state === 'finished');
    await watch.stop(finished ? 'finished' : 'stopped');
    if (failure !== undefined) throw failure;
    const m = summed();
    return { ...m, name, state: finished ? 'finished' : 'stopped', skipped: summaries.flatMap((s) => s?.skipped ?? []) };
  })();

  return {
    output$: output$.asObservable(),
    checkpoints$: checkpoints$.asObservable(),
    metrics$: metrics$.asObservable(),
    done,
    tasks,
    assigned: mine.map(taskName),
    members$: watch.members$,
    stages: plan.stages,
    metrics: () => {
      for (const t of tasks) latest.set(t.name, t.job.metrics());
      return summed();
    },
    async triggerCheckpoint() {
      await started;
      const infos = await Promise.all(tasks.map((t) => t.job.triggerCheckpoint()));
      return infos[0] as CheckpointInfo;
    },
    stop: stopAll,
  };
}

