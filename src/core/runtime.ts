import { Observable, Subscriber, type Observer, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';
import { ConfigurationError } from '../errors/index.js';
import type { KeyExchange } from '../parallel/exchange.js';

/**
 * How {@link StatefulOperatorInstance.snapshot} snapshots: `full` (every entry, not a delta), `finished` (the operator
 * finished: its clock and inputs, no keyed state or timers; implies `full`).
 *
 * @example
 * ```ts
 * const last = core.snapshot({ full: true, finished: true }); // after the end of input
 * ```
 */
export interface SnapshotOptions {
  readonly full?: boolean;
  readonly finished?: boolean;
}

/**
 * What a stateful operator instance exposes to whoever runs it (the test harness, `runJob`): its name, its state
 * snapshot and inspection.
 *
 * @example
 * ```ts
 * const snap = core.snapshot(); // incremental after the first
 * ```
 */
export interface StatefulOperatorInstance {
  /** Stable name of the operator's state in checkpoints. */
  readonly name: string;
  /** True for a merge's valve (src/partitioning/mergeState.ts): no keyed state, its snapshot its inputs' watermarks. */
  readonly isMerge?: boolean | undefined;
  /**
   * Snapshot of keyed state and timers: all of it the first time (or with `full`), else only what changed. With
   * `finished` (the job's last checkpoint after the end of input, docs/SEMANTICS.md §8 "End of input"): a full snapshot
   * of the operator's own clock and inputs only, without keyed state and timers — the operator finished.
   */
  snapshot(options?: SnapshotOptions): OperatorSnapshot;
  /** Physically present value of state `name` for `key` (no TTL side effects), or undefined. */
  peekState(key: unknown, name: string, namespace?: string | number): unknown;
  /** Keys that have state or timers. */
  keys(): unknown[];
  /** Pending timers of a key, in firing order. */
  timersOf(key: unknown): [domain: 'event' | 'processing', timestamp: number, namespace: string | number][];
  /** The operator's current event time (its last watermark). */
  readonly watermark: number;
  /** Number of state entries held. */
  readonly stateEntries: number;
  /** Counters: `recordsIn`, `recordsOut`, `stateEntries`, and per operator kind e.g. `lateRecordsDropped` for windows. */
  metrics(): Record<string, number>;
}

/**
 * What {@link OperatorRuntime.placeName} names: merges (`union@<k>`) and `parallel` groups (`parallel@<k>`).
 *
 * @example
 * ```ts
 * const kind: PlaceKind = 'union';
 * const name = runtime.placeName?.(kind) ?? `${kind}@0`;
 * ```
 *
 * @internal
 */
export type PlaceKind = 'union' | 'parallel';

/**
 * Names for the merges and groups one parallel subtask subscribes (see {@link OperatorRuntime.placeName}):
 * `<group>/<kind>@<k>`, `k` counted per kind by the function returned (one per subtask).
 *
 * @example
 * ```ts
 * const name = placesIn('parallel@0');
 * name('union'); // 'parallel@0/union@0'
 * name('union'); // 'parallel@0/union@1'
 * ```
 *
 * @internal
 */
export function placesIn(group: string): (kind: PlaceKind) => string {
  const places = new Map<PlaceKind, number>();
  return (kind) => {
    const local = places.get(kind) ?? 0;
    places.set(kind, local + 1);
    return `${group}/${kind}@${local}`;
  };
}

/**
 * The runtime a stateful operator runs in: the clock, where to register for checkpoints, what to restore, where side
 * outputs and warnings go. Whoever runs a pipeline (`runJob`, the test harness, a parallel subtask) subscribes it with
 * a subscriber that carries its runtime ({@link PipelineRuntime.subscribe}); each operator finds it, when it is
 * subscribed, by following the chain of subscribers downstream ({@link runtimeOf}) — so operators inside
 * higher-order operators (`mergeMap`, `switchMap` …) find it too. See docs/ARCHITECTURE.md, "The operator runtime".
 * Without a runtime (a pipeline subscribed by hand) operators use `asyncScheduler` and keep their state to
 * themselves.
 *
 * A parallel subtask's runtime takes some of its parent's function members over as values (`onBarrier`,
 * `crossThreads`, `pressure`, `fullSnapshot`, `sideOutput`, `ownsKeyGroup`): an implementation binds those
 * (arrow-function properties, not prototype methods).
 *
 * @internal
 */
export interface OperatorRuntime {
  readonly scheduler?: SchedulerLike | undefined;
  /**
   * Called with each stateful operator instance when it is subscribed (in subscription order). Throws a
   * `TidewaterError` when the instance cannot be taken (e.g. subscribed after a checkpointed job started): the
   * operator then fails its stream with it.
   */
  readonly register?: ((instance: StatefulOperatorInstance) => void) | undefined;
  /** Snapshots (full, then deltas) to restore an operator from, by name; undefined = start empty. */
  readonly restoreFor?: ((name: string) => readonly OperatorSnapshot[] | undefined) | undefined;
  /** Side outputs: default `observer.next(value)`. */
  readonly sideOutput?: (<X>(operator: string, observer: Observer<X>, value: X) => void) | undefined;
  /** Warnings (e.g. late records dropped without a lateData observer): default `console.warn`. */
  readonly warn?: ((operator: string, message: string) => void) | undefined;
  /**
   * A checkpoint barrier reached `instance`: the job snapshots it now (every effect of the elements before the barrier,
   * none after). Called before the barrier is forwarded downstream.
   */
  readonly onBarrier?: ((instance: StatefulOperatorInstance, checkpointId: number) => void) | undefined;
  /** The next stateful operator's position (0, 1, …): unnamed operators are named `${kind}#${position}`. */
  readonly nextPosition?: (() => number) | undefined;
  /**
   * The checkpoint name of the next merge (`'union'`) or `parallel` group (`'parallel'`) subscribed in this runtime:
   * in a parallel subtask `<group>/union@<k>`, `k` counted in the subtask (every subtask subscribes its pipeline in
   * the same order, so each names its merges alike). Undefined: `union@<k>`, counted per runtime
   * (src/partitioning/mergeState.ts).
   */
  readonly placeName?: ((kind: PlaceKind) => string) | undefined;
  /** Number of key groups of keyed state (default 128): fixed for the life of a job's state (docs/SEMANTICS.md §7). */
  readonly maxParallelism?: number | undefined;
  /**
   * The key groups this pipeline instance owns (a parallel subtask's range): restored state of other key groups is
   * left out. Undefined = all.
   */
  readonly ownsKeyGroup?: ((group: number) => boolean) | undefined;
  /** Whether checkpoint `checkpointId` takes full snapshots (else deltas after the operator's previous one). */
  readonly fullSnapshot?: ((checkpointId: number) => boolean) | undefined;
  /** Whether the owner takes checkpoints (see {@link PipelineRuntimeOptions.checkpointed}). */
  readonly checkpointed?: boolean | undefined;
  /**
   * In a parallel subtask: where `keyBy` sends re-keyed records (to the subtask owning the key group). Undefined
   * outside parallel subtasks: `keyBy` keys records in place.
   */
  readonly exchange?: KeyExchange | undefined;
  /** A part of the pipeline runs in worker threads: barriers reach the end of the pipeline later than they are pushed. */
  readonly crossThreads?: (() => void) | undefined;
  /**
   * A part of the pipeline (worker threads) has too much input in flight (`true`) or caught up again (`false`):
   * whoever feeds the pipeline pauses meanwhile. Each caller reports its own state.
   */
  readonly pressure?: ((source: object, on: boolean) => void) | undefined;
}

/**
 * The property a runtime-carrying subscriber keeps its runtime under (one symbol for every copy of tidewater); a
 * subscriber may declare it undefined (then {@link runtimeOf} looks further down). @internal
 */
export const RUNTIME: unique symbol = Symbol.for('tidewater.operatorRuntime') as never;

/** How far down a chain of subscribers {@link runtimeOf} looks (a guard against cycles, far above real pipelines). */
const MAX_CHAIN = 100_000;

/**
 * The runtime whose pipeline is running right now, synchronously: set while a {@link PipelineRuntime} subscribes its
 * pipeline, delivers input into it ({@link PipelineRuntime.run}) or runs one of its operators' scheduled actions (its
 * scheduler sets it). The fallback for operators whose chain to the runtime's subscriber is cut by a `Subject`
 * (`share()`, `shareReplay`, `connect`, `groupBy`'s groups), which subscribes upstream with a subscriber of its own.
 */
let active: OperatorRuntime | undefined;

/**
 * The runtime of the pipeline `subscriber` belongs to: the one carried by the first subscriber down its chain of
 * destinations (RxJS operators, tidewater operators and the inner subscribers of `mergeMap` & co. all chain to their
 * downstream subscriber), else the runtime whose pipeline is running right now (behind a `Subject`), else undefined.
 *
 * @example
 * ```ts
 * new Observable<number>((subscriber) => {
 *   const scheduler = runtimeOf(subscriber)?.scheduler ?? asyncScheduler;
 *   // …
 * });
 * ```
 *
 * @internal
 */
export function runtimeOf(subscriber: Subscriber<unknown>): OperatorRuntime | undefined {
  let s: unknown = subscriber;
  for (let depth = 0; typeof s === 'object' && s !== null && depth < MAX_CHAIN; depth++) {
    const runtime = (s as { [RUNTIME]?: OperatorRuntime })[RUNTIME];
    if (runtime !== undefined) return runtime;
    s = (s as { destination?: unknown }).destination;
  }
  return active;
}

/** Where a {@link RuntimeSubscriber} delivers: every method present. */
interface Sink<T> {
  next(value: T): void;
  error(err: unknown): void;
  complete(): void;
}

/** The subscriber a pipeline's consumer is wrapped in: carries the runtime, delivers straight to the sink. */
class RuntimeSubscriber<T> extends Subscriber<T> {
  readonly [RUNTIME]: OperatorRuntime;
  constructor(
    runtime: OperatorRuntime,
    private readonly sink: Sink<T>,
  ) {
    super();
    this[RUNTIME] = runtime;
  }
  override next(value: T): void {
    if (this.isStopped) super.next(value);
    else this.sink.next(value);
  }
  protected override _next(value: T): void {
    this.sink.next(value);
  }
  protected override _error(err: unknown): void {
    try {
      this.sink.error(err);
    } finally {
      this.unsubscribe();
    }
  }
  protected override _complete(): void {
    try {
      this.sink.complete();
    } finally {
      this.unsubscribe();
    }
  }
}

/** What a {@link PipelineRuntime} is made of. @internal */
export interface PipelineRuntimeOptions {
  /** Who runs the pipeline, for messages: e.g. `runJob(clicks)`, `harness`. */
  readonly owner: string;
  readonly scheduler?: SchedulerLike | undefined;
  /** Snapshot chains (full, then deltas) by operator name. */
  readonly restore?: ReadonlyMap<string, readonly OperatorSnapshot[]>;
  /**
   * Whether the owner takes checkpoints. If so, a stateful operator subscribed after the pipeline started (inside
   * `mergeMap` & co.) is refused: its state could be in no consistent checkpoint. If not, it runs with this runtime's
   * clock and warnings, unregistered.
   */
  readonly checkpointed: boolean;
  readonly sideOutput?: <X>(operator: string, observer: Observer<X>, value: X) => void;
  readonly warn?: (operator: string, message: string) => void;
  readonly onBarrier?: (instance: StatefulOperatorInstance, checkpointId: number) => void;
  readonly maxParallelism?: number;
  readonly fullSnapshot?: (checkpointId: number) => boolean;
  /** The key groups this pipeline owns (a parallel subtask in a worker thread); undefined = all. */
  readonly ownsKeyGroup?: (group: number) => boolean;
  /**
   * Positions for unnamed operators, in subscription order (a worker subtask takes the ones taken outside it);
   * `null`: none (unnamed operators are named by their kind alone, as without a runtime).
   */
  readonly positions?: readonly number[] | null;
  /** Where `keyBy` sends re-keyed records (a subtask in a worker thread: nowhere, it is refused). */
  readonly exchange?: KeyExchange;
  /**
   * What names the pipeline's merges and groups ({@link OperatorRuntime.placeName}, e.g. {@link placesIn}): a subtask
   * in a worker thread names them after its group. Undefined: `<kind>@<k>`, counted per runtime.
   */
  readonly placeName?: (kind: PlaceKind) => string;
}

/**
 * The runtime of one pipeline run by `runJob` or the harness: names unnamed operators by position (`process#0`,
 * `window#1`, …), collects the stateful instances subscribed when the pipeline starts, restores them by name, and
 * subscribes the pipeline so that every operator in it finds this runtime.
 *
 * @example
 * ```ts
 * const runtime = new PipelineRuntime({ owner: 'harness', scheduler, checkpointed: true });
 * const sub = runtime.subscribe(pipeline(input$), { next: …, error: …, complete: … });
 * runtime.instances; // the stateful operators, in subscription order
 * ```
 *
 * @internal
 */
export class PipelineRuntime implements OperatorRuntime {
  readonly instances: StatefulOperatorInstance[] = [];
  /** The owner's scheduler, wrapped so that actions scheduled through it run with this runtime active. */
  readonly scheduler: SchedulerLike | undefined;
  readonly sideOutput: (<X>(operator: string, observer: Observer<X>, value: X) => void) | undefined;
  readonly warn: ((operator: string, message: string) => void) | undefined;
  readonly onBarrier: ((instance: StatefulOperatorInstance, checkpointId: number) => void) | undefined;
  readonly maxParallelism: number | undefined;
  readonly fullSnapshot: ((checkpointId: number) => boolean) | undefined;
  readonly checkpointed: boolean;
  readonly ownsKeyGroup: ((group: number) => boolean) | undefined;
  readonly exchange: KeyExchange | undefined;
  readonly placeName: ((kind: PlaceKind) => string) | undefined;
  /** Whether part of the pipeline runs in worker threads (see {@link OperatorRuntime.crossThreads}). */
  crossesThreads = false;
  private position = 0;
  started = false;

  constructor(private readonly options: PipelineRuntimeOptions) {
    this.scheduler = options.scheduler === undefined ? undefined : new ActivatingScheduler(options.scheduler, this);
    this.sideOutput = options.sideOutput;
    this.warn = options.warn;
    this.onBarrier = options.onBarrier;
    this.maxParallelism = options.maxParallelism;
    this.fullSnapshot = options.fullSnapshot;
    this.checkpointed = options.checkpointed;
    this.ownsKeyGroup = options.ownsKeyGroup;
    this.exchange = options.exchange;
    this.placeName = options.placeName;
    const positions = options.positions;
    this.nextPosition =
      positions === null
        ? undefined
        : () => {
            const local = this.position++;
            return positions?.[local] ?? local;
          };
  }

  register(instance: StatefulOperatorInstance): void {
    if (!this.started) {
      this.instances.push(instance);
      return;
    }
    if (!this.options.checkpointed) return;
    throw lateOperatorError(instance.name, this.options.owner);
  }

  restoreFor(name: string): readonly OperatorSnapshot[] | undefined {
    return this.options.restore?.get(name);
  }

  // (function members are bound: a parallel subtask's runtime takes them over from its parent as they are)
  readonly crossThreads = (): void => {
    this.crossesThreads = true;
  };

  private readonly pressing = new Set<object>();
  private relieved: (() => void)[] = [];

  readonly pressure = (source: object, on: boolean): void => {
    if (on) {
      this.pressing.add(source);
      return;
    }
    if (!this.pressing.delete(source) || this.pressing.size > 0) return;
    const waiting = this.relieved;
    this.relieved = [];
    for (const fn of waiting) fn();
  };

  /** Whether a part of the pipeline asked its feeder to pause (see {@link OperatorRuntime.pressure}). */
  get backpressured(): boolean {
    return this.pressing.size > 0;
  }

  /** Calls `fn` once no part of the pipeline asks to pause any more. */
  whenRelieved(fn: () => void): void {
    if (this.pressing.size === 0) fn();
    else this.relieved.push(fn);
  }

  readonly nextPosition: (() => number) | undefined;

  /**
   * Subscribes `pipeline$` with a subscriber that carries this runtime and delivers to `sink`. Every stateful operator
   * subscribed during this call registers; later ones are refused or unregistered (see
   * {@link PipelineRuntimeOptions.checkpointed}).
   */
  subscribe<T>(pipeline$: Observable<T>, sink: Sink<T>): Subscription {
    try {
      return this.run(() => pipeline$.subscribe(new RuntimeSubscriber<T>(this, sink)));
    } finally {
      this.started = true;
    }
  }

  /**
   * Runs `deliver` (which pushes input into the pipeline: a batch of records, a barrier, the end) with this runtime
   * active, so that an operator subscribed meanwhile behind a `Subject` still finds it.
   */
  run<R>(deliver: () => R): R {
    const outer = active;
    active = this;
    this.deliveries++;
    try {
      return deliver();
    } finally {
      this.deliveries--;
      active = outer;
    }
  }

  /** Runs of {@link run} under way (nested ones too). */
  private deliveries = 0;

  /**
   * Whether something is being delivered into the pipeline now — a batch, a barrier, or work of the runtime's scheduler
   * (a timer firing): a job asked for a checkpoint from inside it injects the barrier after it, not into it.
   */
  get delivering(): boolean {
    return this.deliveries > 0;
  }
}

/**
 * What a job and the harness check of the stateful operators a pipeline subscribed: the first name two of them share
 * (their state would mix in a checkpoint, one snapshot per name), as the sentence their errors say. @internal
 *
 * @example
 * ```ts
 * sharedOperatorName(runtime.instances); // "two stateful operators are named 'c'; give each a unique name (…)"
 * ```
 */
export function sharedOperatorName(instances: readonly StatefulOperatorInstance[]): { readonly name: string; readonly text: string } | undefined {
  const names = new Set<string>();
  for (const i of instances) {
    if (names.has(i.name)) return { name: i.name, text: `two stateful operators are named '${i.name}'; give each a unique name (their state would mix in checkpoints).` };
    names.add(i.name);
  }
  return undefined;
}

/**
 * The sentence of a restore refused because the checkpoint holds state of operators the pipeline lacks (a job's and
 * the harness's errors). @internal
 *
 * @example
 * ```ts
 * lackedOperatorsText(['before'], ['after']); // "holds state of operator(s) 'before' that the pipeline lacks (…)"
 * ```
 */
export function lackedOperatorsText(unknown: readonly string[], names: Iterable<string>): string {
  return `holds state of operator(s) ${unknown.map((n) => `'${n}'`).join(', ')} that the pipeline lacks (it has: ${[...names].sort().map((n) => `'${n}'`).join(', ') || 'none'}). Name the operators as before (name: '…'), or pass allowNonRestoredState: true to drop that state.`;
}

/**
 * The error for a stateful operator subscribed after a checkpointed pipeline started (see
 * {@link PipelineRuntimeOptions.checkpointed}). @internal
 */
export function lateOperatorError(name: string, owner: string): ConfigurationError {
  return new ConfigurationError(
    name,
    name,
    `${name}: a stateful operator was subscribed after ${owner} started — inside a higher-order ` +
      'operator (mergeMap, switchMap, concatMap, exhaustMap …) or by a later (re)subscription (concat, repeat, retry). Its keyed state and timers ' +
      'could be in no consistent checkpoint, so it is refused. Subscribe stateful operators with the pipeline: move ' +
      'it out of the higher-order operator (keyBy(...) then process(...) keeps state per key), or run without ' +
      'checkpoints.',
  );
}

/**
 * `source$` subscribed with a subscriber that carries `runtime` (and with `runtime` active meanwhile): the operators
 * in `source$` find `runtime` ({@link runtimeOf}), not the one of whoever subscribes the result. How a parallel
 * subtask's pipeline gets the subtask's runtime. @internal
 */
export function withRuntime<T>(source$: Observable<T>, runtime: OperatorRuntime | undefined): Observable<T> {
  return new Observable<T>((subscriber) => {
    const outer = active;
    active = runtime;
    try {
      // without a runtime: none is active meanwhile either (an upstream subscribed from inside a subtask is not in it)
      return source$.subscribe(runtime === undefined ? subscriber : new RuntimeSubscriber<T>(runtime, subscriber));
    } finally {
      active = outer;
    }
  });
}

/**
 * `source$` subscribed to `subscriber` with `runtime` active meanwhile, no subscriber added in the records' path: for
 * a `subscriber` of `runtime`'s pipeline whose chain may end at a `Subject` (RxJS `connect`, `share`), where
 * {@link runtimeOf} would otherwise find whichever runtime happens to be subscribing. @internal
 */
export function subscribeInRuntime<T>(source$: Observable<T>, subscriber: Subscriber<T>, runtime: OperatorRuntime): Subscription {
  const outer = active;
  active = runtime;
  try {
    return source$.subscribe(subscriber);
  } finally {
    active = outer;
  }
}

/**
 * `source$` subscribed with `consumer` — a subscriber that carries `runtime` itself (its {@link RUNTIME} property) —
 * with `runtime` active meanwhile: {@link withRuntime} without a subscriber of its own in every record's path, for a
 * consumer that is a tidewater subscriber already (a parallel operator's barrier tap over its one subtask). @internal
 */
export function subscribeWithRuntime<T>(source$: Observable<T>, consumer: Subscriber<T> & { readonly [RUNTIME]: OperatorRuntime | undefined }, runtime: OperatorRuntime): void {
  if (consumer[RUNTIME] !== runtime) throw new Error('subscribeWithRuntime: the consumer must carry the runtime');
  const outer = active;
  active = runtime;
  try {
    source$.subscribe(consumer);
  } finally {
    active = outer;
  }
}

/** A scheduler whose actions run with a runtime active ({@link PipelineRuntime.run}); time is the inner one's. */
class ActivatingScheduler implements SchedulerLike {
  constructor(
    private readonly inner: SchedulerLike,
    private readonly runtime: PipelineRuntime,
  ) {}
  now(): number {
    return this.inner.now();
  }
  schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
    const runtime = this.runtime;
    return this.inner.schedule<S>(
      function (this: SchedulerAction<S>, s?: S) {
        runtime.run(() => work.call(this, s));
      },
      delay,
      state,
    );
  }
}
