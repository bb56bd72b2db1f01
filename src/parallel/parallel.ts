import { NEVER, Observable, Subscriber, Subscription, type OperatorFunction } from 'rxjs';
import { RUNTIME, runtimeOf, subscribeWithRuntime, withRuntime, type OperatorRuntime, type StatefulOperatorInstance } from '../core/runtime.js';
import type { StreamElement } from '../elements/index.js';
import { OperatorObservable } from '../elements/plumbing.js';
import { ConfigurationError, describeValue } from '../errors/index.js';
import { isMaxParallelism } from '../keys/keyGroups.js';
import { mergeWithValve } from '../partitioning/merge.js';
import { hashCheckedStream, partitionStream, type Partitioner } from '../partitioning/partition.js';
import { NO_EXCHANGE } from './exchange.js';
import { duplicateNameError, ParallelGroup } from './group.js';
import { ThreadedSubtasks } from './threads/host.js';

/**
 * Options of {@link parallel}.
 *
 * @example
 * ```ts
 * const options: ParallelOptions<Click, string> = { maxParallelism: 256, worker: new URL('./sessions.js', import.meta.url) };
 * ```
 */
export interface ParallelOptions<T, K> {
  /** How records are routed to the subtasks: `'hash'` (default: by key group, the one that keeps keyed state) or another partitioner. */
  readonly by?: Partitioner<T, K>;
  /** Number of key groups (default: the job's, else 128). Fixed for the life of the state; `n` must not exceed it. */
  readonly maxParallelism?: number;
  /**
   * Run each subtask in a worker thread (Node) or Web Worker (browser): the URL (or path) of a module that exports
   * the same pipeline, as `default` or as `pipeline`. A string that is not a URL is, in Node, a file path relative to
   * the working directory (its `#`, `?` and `%` are characters of the name); in a browser, a URL relative to the page.
   * Without it the subtasks run in-process, on this thread.
   */
  readonly worker?: URL | string;
}

const OP = 'parallel';

/**
 * Forwards the merge's output; a barrier first hands the subtasks' snapshots to the runtime outside. Over one
 * in-process subtask it consumes the subtask's output itself and carries the subtask's runtime (one subscriber fewer
 * in every record's path); else it carries none.
 */
class BarrierTap extends Subscriber<StreamElement<unknown, unknown>> {
  readonly [RUNTIME]: OperatorRuntime | undefined;
  constructor(
    destination: Subscriber<StreamElement<unknown, unknown>>,
    private readonly group: ParallelGroup,
    subtaskRuntime?: OperatorRuntime,
  ) {
    super(destination);
    this[RUNTIME] = subtaskRuntime;
  }
  protected override _next(e: StreamElement<unknown, unknown>): void {
    if (e.kind === 'barrier') this.group.barrierPassed(e.checkpointId);
    (this.destination as Subscriber<StreamElement<unknown, unknown>>).next(e);
  }
}

function checkArguments(n: unknown, pipeline: unknown, options: ParallelOptions<unknown, unknown>): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new ConfigurationError(OP, n, `${OP}: n ${describeValue(n)} is not a number of subtasks. Pass an integer ≥ 1.`);
  }
  if (typeof pipeline !== 'function') {
    throw new ConfigurationError(OP, pipeline, `${OP}: the pipeline ${describeValue(pipeline)} is not a function. Pass an operator function, e.g. pipe(window(...), aggregate(...)).`);
  }
  const maxP = options.maxParallelism;
  if (maxP !== undefined && !isMaxParallelism(maxP)) {
    throw new ConfigurationError(OP, maxP, `${OP}: maxParallelism ${describeValue(maxP)} is not valid. Pass an integer in [1, 32768] (default 128).`);
  }
  const w = options.worker;
  if (w !== undefined && typeof w !== 'string' && !(w instanceof URL)) {
    throw new ConfigurationError(OP, w, `${OP}: worker ${describeValue(w)} must be a URL or a path of a module that exports the pipeline.`);
  }
}

/** The job's key-group count unless the options give one; they must agree. */
function maxParallelismOf(options: ParallelOptions<unknown, unknown>, parent: OperatorRuntime | undefined, n: number, byKeyGroup: boolean): number {
  const own = options.maxParallelism;
  const job = parent?.maxParallelism;
  if (own !== undefined && job !== undefined && own !== job) {
    throw new ConfigurationError(OP, own, `${OP}: maxParallelism ${own} differs from the job's ${job}; key groups must be the same throughout a job. Leave it out (the job's is used) or pass ${job}.`);
  }
  const maxP = own ?? job ?? 128;
  if (byKeyGroup && n > maxP) {
    throw new ConfigurationError(OP, n, `${OP}: n ${n} exceeds maxParallelism ${maxP}: each subtask needs a key group at least. Pass n ≤ ${maxP}, or a larger maxParallelism.`);
  }
  return maxP;
}

/** How a partitioner is named in messages. */
function partitionerName(by: unknown): string {
  return typeof by === 'string' ? `'${by}'` : typeof by === 'function' ? 'function' : 'range';
}

/**
 * A module reference as an absolute URL: a URL as it is; in Node a path, relative to the working directory, its
 * characters taken as they are (`#`, `?` and `%` in a file name are not URL syntax; `C:\\…` is a Windows path, not a
 * URL of scheme `c:`); in a browser, relative to the page.
 */
function moduleUrl(worker: URL | string): string {
  if (worker instanceof URL) return worker.href;
  const cwd = (globalThis as { process?: { cwd?(): string } }).process?.cwd?.();
  if (cwd === undefined) return new URL(worker, (globalThis as { location?: { href: string } }).location?.href).href;
  if (!WINDOWS_DRIVE.test(worker)) {
    try {
      return new URL(worker).href;
    } catch {
      // not a URL: a path
    }
  }
  return new URL(pathInUrl(worker), `file://${pathInUrl(cwd.endsWith('/') || cwd.endsWith('\\') ? cwd : `${cwd}/`)}`).href;
}

const WINDOWS_DRIVE = /^[A-Za-z]:[\\/]/;

/** A file path written as a URL's path: `%`, `#` and `?` escaped, `\\` as `/`, a drive letter after a `/`. */
function pathInUrl(path: string): string {
  const escaped = path.replace(/%/g, '%25').replace(/#/g, '%23').replace(/\?/g, '%3F').replace(/\\/g, '/');
  return WINDOWS_DRIVE.test(path) ? `/${escaped}` : escaped;
}

/**
 * `source` whose subscriptions wait until `release()` (in order), then go straight through.
 *
 * @example
 * ```ts
 * const input = heldUntilReleased(source$);
 * input.stream.subscribe(a); // waits
 * input.release(); // a subscribed now
 * ```
 */
function heldUntilReleased<T>(source: Observable<T>): { readonly stream: Observable<T>; release(): void } {
  let waiting: Subscriber<T>[] | undefined = [];
  return {
    stream: new Observable<T>((subscriber) => {
      if (waiting === undefined) return source.subscribe(subscriber);
      waiting.push(subscriber);
      return undefined;
    }),
    release() {
      const subscribers = waiting ?? [];
      waiting = undefined;
      for (const s of subscribers) if (!s.closed) s.add(source.subscribe(s));
    },
  };
}

/** A value codec loader for the threads (loaded once, on first use). */
let codecModule: Promise<typeof import('./threads/msgpack.js')> | undefined;

/**
 * Runs `pipeline` as `n` parallel subtasks: partitions the input (by key group by default), runs one instance of
 * `pipeline` per partition, merges their outputs with the watermark rule and aligned barriers of
 * {@link mergeStreams} (docs/SEMANTICS.md §2.4, §7, §8). Each subtask owns a range of key groups; its stateful
 * operators are named as they would be without `parallel`, and each of them checkpoints as one operator whose state
 * is found by key group — so a checkpoint taken with one `n` restores with another (same `maxParallelism`).
 *
 * In-process (default) the subtasks run on this thread (tests, marbles, the harness). With `options.worker` each
 * runs in a worker thread (Node) or Web Worker (browser), which loads the module that exports the same pipeline;
 * records cross in batches. Either way the output is the same, in the same order. A subtask that fails, or a thread
 * that dies, fails the stream with a `SubtaskError` carrying its error.
 *
 * A stream the pipeline takes from outside (the second input of a two-input operator: `pipe(coProcess(other$, …))`)
 * is read whole by every subtask. That is what a `broadcastProcess` wants; a keyed second input would be processed
 * once per subtask: derive both inputs from the pipeline's input instead (split it with RxJS `connect`, say), connect
 * the streams before `parallel`, or run a job with named sources and `runJob({ parallelism })`, which routes each by
 * key (docs/SEMANTICS.md §7.1).
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs';
 * import { aggregate, eventTime, keyBy, parallel, window } from 'tidewater/operators';
 * import { count, tumblingWindows } from 'tidewater';
 *
 * const perUser = pipe(window(tumblingWindows(60_000)), aggregate(count()));
 * clicks$.pipe(eventTime((c) => c.at), keyBy((c) => c.user), parallel(4, perUser));
 * // in 2 worker threads: the module exports `perUser` (export default perUser)
 * clicks$.pipe(eventTime((c) => c.at), keyBy((c) => c.user), parallel(2, perUser, { worker: new URL('./perUser.js', import.meta.url) }));
 * ```
 */
export function parallel<T, K, R, K2 = K>(
  n: number,
  pipeline: OperatorFunction<StreamElement<T, K>, StreamElement<R, K2>>,
  options: ParallelOptions<T, K> = {},
): OperatorFunction<StreamElement<T, K>, StreamElement<R, K2>> {
  checkArguments(n, pipeline, options as ParallelOptions<unknown, unknown>);
  const by: Partitioner<T, K> = options.by ?? 'hash';
  const byKeyGroup = by === 'hash';
  const module = options.worker === undefined ? undefined : moduleUrl(options.worker);
  return (source) =>
    new OperatorObservable<StreamElement<R, K2>>((out) => {
      const parent = runtimeOf(out);
      const maxParallelism = maxParallelismOf(options as ParallelOptions<unknown, unknown>, parent, n, byKeyGroup);
      const group = new ParallelGroup(parent, { n, maxParallelism, byKeyGroup, partitioner: partitionerName(by) });
      const out$ = out as Subscriber<StreamElement<unknown, unknown>>;
      if (module !== undefined) return subscribeThreaded(source, out$, group, pipeline, by, module);
      // the input is subscribed (by the last subtask) in the runtime outside, not in that subtask's; one subtask
      // under 'hash': nothing to route, only keys to check (its runtime still names and checkpoints it as a subtask); any other
      // partitioner still runs at n = 1, so that what it refuses at n = 1 is what it refuses at any n
      const input = heldUntilReleased(withRuntime(source, parent));
      const parts = n === 1 && byKeyGroup ? [hashCheckedStream(input.stream)] : partitionStream(input.stream, n, by, { maxParallelism });
      const subscription = parallelOutputs(
        group,
        parts.map((p) => pipeline(p)),
        group.runtimes(),
      ).subscribe(out$);
      // (the input starts once every subtask's pipeline is subscribed: a synchronous source started by the last
      // partition's first reader ran before a subtask reading its input twice had subscribed its second reader)
      input.release();
      return subscription;
    });
}

/**
 * The merge of subtask outputs (watermark = minimum, aligned barriers; one output as it is); a barrier leaving it
 * hands the subtasks' snapshots to the runtime outside. `runtimes`: the subtasks' own (in-process), each output
 * subscribed in its runtime — one output straight into the tap, which carries that runtime (no subscriber of
 * `withRuntime` in every record's path). Subscribing it subscribes every subtask: the group is started after. How
 * `parallel` and `runJob({ parallelism })` join their subtasks. @internal
 */
export function parallelOutputs(
  group: ParallelGroup,
  outputs: readonly Observable<StreamElement<unknown, unknown>>[],
  runtimes?: readonly OperatorRuntime[],
): Observable<StreamElement<unknown, unknown>> {
  return new OperatorObservable<StreamElement<unknown, unknown>>((out) => {
    const only = outputs.length === 1 ? (outputs[0] as Observable<StreamElement<unknown, unknown>>) : undefined;
    const runtime = only === undefined ? undefined : runtimes?.[0];
    const tap = new BarrierTap(out, group, runtime);
    if (runtime !== undefined) subscribeWithRuntime(only as Observable<StreamElement<unknown, unknown>>, tap, runtime);
    else if (only !== undefined) only.subscribe(tap);
    else mergeWithValve(runtimes === undefined ? outputs : outputs.map((o, i) => withRuntime(o, runtimes[i])), true, `${group.name}/outputs`).subscribe(tap);
    group.started = true;
    return tap;
  });
}

/**
 * The stateful operators `pipeline` holds, found by subscribing it once to nothing (names and positions taken) in a
 * runtime like the workers': `checkpointed` as they are told, and then with their merges (named as a subtask names
 * them, as the workers do).
 */
function probe<T, K, R, K2>(pipeline: OperatorFunction<StreamElement<T, K>, StreamElement<R, K2>>, group: ParallelGroup, checkpointed: boolean): string[] {
  const names: string[] = [];
  const parent = group.parent;
  let local = 0;
  let failure: { error: unknown } | undefined;
  const runtime: OperatorRuntime = {
    scheduler: parent?.scheduler,
    maxParallelism: group.maxParallelism,
    checkpointed,
    register: (instance: StatefulOperatorInstance) => {
      // (as in-process: the workers' checkpoints would hold one of them under the name)
      if (names.includes(instance.name)) throw duplicateNameError(instance.name);
      names.push(instance.name);
      group.operator(instance.name, instance.isMerge === true);
    },
    nextPosition: parent?.nextPosition === undefined ? undefined : () => group.position(local++) as number,
    placeName: checkpointed ? group.placeNamer() : undefined,
    restoreFor: () => undefined,
    exchange: NO_EXCHANGE,
  };
  withRuntime(pipeline(NEVER), runtime)
    .subscribe({ error: (error: unknown) => (failure = { error }) })
    .unsubscribe();
  if (failure !== undefined) throw failure.error;
  return names;
}

/**
 * The threaded path of {@link parallel}: probe the pipeline for its stateful operators, merge the worker outputs,
 * route the input, start the threads. Returns the subscription's teardown.
 */
function subscribeThreaded<T, K, R, K2>(
  source: Observable<StreamElement<T, K>>,
  out: Subscriber<StreamElement<unknown, unknown>>,
  group: ParallelGroup,
  pipeline: OperatorFunction<StreamElement<T, K>, StreamElement<R, K2>>,
  by: Partitioner<T, K>,
  module: string,
): Subscription | undefined {
  // the workers take snapshots (and keep their merges) when the runtime outside takes them at barriers
  const parent = group.parent;
  const checkpointed = parent?.checkpointed === true && parent.onBarrier !== undefined;
  let names: string[];
  try {
    names = probe(pipeline, group, checkpointed);
  } catch (err) {
    out.error(err);
    return undefined;
  }
  parent?.crossThreads?.();
  const host = new ThreadedSubtasks(group, module, names, checkpointed, (err) => out.error(err));
  const subscription = new Subscription(() => host.close());
  host.holdUntilReady();
  subscription.add(parallelOutputs(group, Array.from({ length: group.n }, (_, i) => host.output(i))).subscribe(out));
  const input = withRuntime(source, group.parent) as Observable<StreamElement<unknown, unknown>>;
  if (by === 'hash') subscription.add(input.subscribe(host.hashInput()));
  else {
    const parts = partitionStream(input, group.n, by as Partitioner<unknown, unknown>, { maxParallelism: group.maxParallelism });
    parts.forEach((p, i) => subscription.add(p.subscribe(host.input(i))));
  }
  // the codec (msgpackr) loads with the first threaded operator; the input waits in the host meanwhile
  codecModule ??= import('./threads/msgpack.js');
  codecModule.then(
    (m) => {
      // (a failure to start — no way to run TypeScript in workers, a worker that cannot be made — fails the stream)
      try {
        if (!subscription.closed) host.start(m.createValueCodec());
      } catch (err) {
        out.error(err);
      }
    },
    (err: unknown) => out.error(err),
  );
  return subscription;
}
