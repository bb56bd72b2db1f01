import type { Observer, SchedulerLike } from 'rxjs';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';

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
  /** Snapshot of keyed state and timers: all of it the first time (or with `full`), else only what changed. */
  snapshot(options?: { full?: boolean }): OperatorSnapshot;
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
 * The environment stateful operators find when they are subscribed: the clock, where to register, what to restore,
 * where side outputs go. `runJob` and the test harness provide one; without it operators use `asyncScheduler`.
 *
 * @internal
 */
export interface OperatorEnvironment {
  readonly scheduler?: SchedulerLike;
  /** Called with each stateful operator instance when it is subscribed (in subscription order). */
  register?(instance: StatefulOperatorInstance): void;
  /** Snapshots (full, then deltas) to restore an operator from, by name; undefined = start empty. */
  restoreFor?(name: string): readonly OperatorSnapshot[] | undefined;
  /** Side outputs: default `observer.next(value)`. */
  sideOutput?<X>(operator: string, observer: Observer<X>, value: X): void;
  /** Warnings (e.g. late records dropped without a lateData observer): default `console.warn`. */
  warn?(operator: string, message: string): void;
  /**
   * A checkpoint barrier reached `instance`: the job snapshots it now (every effect of the elements before the barrier,
   * none after). Called before the barrier is forwarded downstream.
   */
  onBarrier?(instance: StatefulOperatorInstance, checkpointId: number): void;
  /** The next stateful operator's position (0, 1, …): unnamed operators are named `${kind}#${position}`. */
  nextPosition?(): number;
}

let ambient: OperatorEnvironment | undefined;

/**
 * Runs `fn` (which subscribes a pipeline) with `env` as the environment of every stateful operator subscribed
 * synchronously inside it.
 *
 * @internal
 */
export function withEnvironment<R>(env: OperatorEnvironment, fn: () => R): R {
  const prev = ambient;
  ambient = env;
  try {
    return fn();
  } finally {
    ambient = prev;
  }
}

/** @internal */
export function currentEnvironment(): OperatorEnvironment | undefined {
  return ambient;
}

/**
 * An environment that names unnamed operators by position (`process#0`, `window#1`, …), collects instances and
 * restores by name.
 *
 * @internal
 */
export function positionalEnvironment(opts: {
  scheduler?: SchedulerLike;
  restore?: ReadonlyMap<string, readonly OperatorSnapshot[]>;
  sideOutput?: <X>(operator: string, observer: Observer<X>, value: X) => void;
  warn?: (operator: string, message: string) => void;
}): OperatorEnvironment & { readonly instances: StatefulOperatorInstance[] } {
  const instances: StatefulOperatorInstance[] = [];
  let position = 0;
  const env: OperatorEnvironment & { instances: StatefulOperatorInstance[] } = {
    instances,
    register: (i) => {
      instances.push(i);
    },
    restoreFor: (name) => opts.restore?.get(name),
    nextPosition: () => position++,
  };
  if (opts.scheduler !== undefined) (env as { scheduler?: SchedulerLike }).scheduler = opts.scheduler;
  if (opts.sideOutput !== undefined) env.sideOutput = opts.sideOutput;
  if (opts.warn !== undefined) env.warn = opts.warn;
  return env;
}
