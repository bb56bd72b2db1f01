import { Subject, type Observable, type Observer, type OperatorFunction } from 'rxjs';
import type { OperatorSnapshot } from '../src/checkpoints/snapshot.js';
import { lackedOperatorsText, PipelineRuntime, sharedOperatorName, type StatefulOperatorInstance } from '../src/core/runtime.js';
import { barrier, isOutputTag, record, watermark, type OutputTag, type StreamElement, type StreamRecord } from '../src/elements/index.js';
import { ConfigurationError, describeValue } from '../src/errors/index.js';
import { ManualScheduler } from './manualScheduler.js';
import { isKey } from '../src/keys/validate.js';
import { mergeSnapshotKind } from '../src/partitioning/mergeState.js';

/**
 * A checkpoint taken by a harness: per stateful operator, the chain of snapshots to restore from (the last full one
 * and the deltas after it) and the snapshot just taken (a delta after the first).
 *
 * @example
 * ```ts
 * const cp = h.snapshot();
 * cp.latest.get('counter')?.entries.length; // what changed since the previous snapshot
 * const h2 = h.restore(cp);
 * ```
 */
export interface HarnessCheckpoint {
  readonly operators: ReadonlyMap<string, readonly OperatorSnapshot[]>;
  readonly latest: ReadonlyMap<string, OperatorSnapshot>;
}

/**
 * Options of {@link harness}.
 *
 * @example
 * ```ts
 * harness(op, { processingTime: 1_000 });
 * ```
 */
export interface HarnessOptions {
  /** Initial processing time of the harness clock (default 0). */
  readonly processingTime?: number;
  /**
   * Restore the operator's state from this checkpoint before anything is pushed. A checkpoint holding state of an
   * operator the pipeline lacks is refused, as `runJob` refuses it (a renamed operator), unless
   * {@link allowNonRestoredState}.
   */
  readonly restore?: HarnessCheckpoint;
  /** With {@link restore}: drop the state of operators the pipeline lacks instead of refusing it (as `runJob`'s option). */
  readonly allowNonRestoredState?: boolean;
}

/**
 * Drives an operator (or a whole `pipe(...)` of them) by hand. See {@link harness}.
 *
 * @example
 * ```ts
 * h.record('a', 10, 'k').watermark(10).setProcessingTime(500);
 * h.output();
 * ```
 */
export interface Harness<T, K, R> {
  /** Pushes elements as they are. */
  push(...elements: StreamElement<T, K>[]): this;
  /** Pushes a record. */
  record(value: T, timestamp: number, key: K): this;
  /** Pushes a watermark. */
  watermark(timestamp: number): this;
  /** Pushes a checkpoint barrier. */
  barrier(checkpointId: number): this;
  /** Moves processing time forward to `time`, firing processing-time timers and periodic actions due by then. */
  setProcessingTime(time: number): this;
  /** Current processing time of the harness clock. */
  readonly processingTime: number;
  /** Completes the input. */
  complete(): this;
  /** Everything emitted so far. */
  output(): StreamElement<R, K>[];
  /** The records emitted so far. */
  records(): StreamRecord<R, K>[];
  /** Everything emitted since the last call to `takeOutput` (and forgets it). */
  takeOutput(): StreamElement<R, K>[];
  /**
   * Values sent to a side output so far: to a tag (they are in `output()` too, as side records in their places), or
   * to an observer.
   */
  sideOutput<X>(side: OutputTag<X> | Observer<X>): X[];
  /**
   * Physically present keyed state of a key (no TTL side effects). `operator` picks one of several stateful
   * operators by name; without it, the first of {@link operators} (subscription order: the one nearest the output,
   * e.g. the window of `pipe(process(…), window(…))`), and so for {@link keys}, {@link timers} and {@link metrics}.
   */
  state(key: K, name: string, options?: { operator?: string; namespace?: string | number }): unknown;
  /** Keys with state or timers. */
  keys(options?: { operator?: string }): K[];
  /** Pending timers of a key: `[domain, timestamp, namespace]` in firing order. */
  timers(key: K, options?: { operator?: string }): [domain: 'event' | 'processing', timestamp: number, namespace: string | number][];
  /** The stateful operator instances inside, in subscription order. */
  readonly operators: readonly StatefulOperatorInstance[];
  /** Takes a checkpoint of every stateful operator inside (incremental after the first). */
  snapshot(options?: { full?: boolean }): HarnessCheckpoint;
  /** A fresh harness of the same operator, restored from `checkpoint`, at this harness's processing time. */
  restore(checkpoint: HarnessCheckpoint): Harness<T, K, R>;
  /** Warnings the operators gave (e.g. late records dropped), in order. */
  warnings(): string[];
  /** Counters of a stateful operator inside (e.g. `lateRecordsDropped`). */
  metrics(options?: { operator?: string }): Record<string, number>;
  /** Whether the output completed, and the error it failed with, if any. */
  readonly completed: boolean;
  /** The error the operator failed with, if any; once set, pushing more input throws (a `ConfigurationError`). */
  readonly error: unknown;
}

/**
 * Drives one operator by hand: push records and watermarks, move processing time, take a checkpoint and restore it
 * into a fresh operator, read the output, the side outputs and the keyed state. Processing time runs on a
 * {@link ManualScheduler} (starting at 0), never the wall clock.
 *
 * @example
 * ```ts
 * import { valueState } from 'tidewater';
 * import { process } from 'tidewater/operators';
 * import { harness } from 'tidewater/testing';
 *
 * const h = harness(process<string, string, number, { n: ValueStateDescriptor<number> }>({
 *   name: 'count',
 *   state: { n: valueState<number>() },
 *   onElement(v, ctx) { const n = (ctx.state.n.get() ?? 0) + 1; ctx.state.n.set(n); ctx.emit(n); },
 * }));
 * h.record('x', 1, 'a').record('y', 2, 'a');
 * h.records().map((r) => r.value); // [1, 2]
 * const h2 = h.restore(h.snapshot());
 * h2.record('z', 3, 'a').records().map((r) => r.value); // [3]
 * ```
 */
export function harness<T, K, R>(operator: OperatorFunction<StreamElement<T, K>, StreamElement<R, K>>, options: HarnessOptions = {}): Harness<T, K, R> {
  checkOperator('harness', operator, 'harness(process({ … }))');
  return harnessWith(operator, options, undefined).h;
}

/** Refuses an operator that is no function (`harness(5)`, an operator's factory's result forgotten). */
function checkOperator(who: string, operator: unknown, example: string): void {
  if (typeof operator !== 'function') {
    throw new ConfigurationError(who, operator, `${who}: ${describeValue(operator)} is not an operator (a function of a stream); give ${example}, or a pipe(…) of operators.`);
  }
}

/** A key given to `state` or `timers`, refused naming the harness call when it is none. */
function checkedKey<K>(call: 'state' | 'timers', key: K): K {
  if (isKey(key)) return key;
  throw new ConfigurationError(
    'harness',
    key,
    `harness.${call}(${describeValue(key)}, …): not a key; a key is a string, a number (not NaN), a boolean, a bigint, or an array of them — the key the records were given.`,
  );
}

/**
 * What `runJob` checks of a pipeline's stateful operators (`JobRunner.checkOperators`), for the harness: their names
 * unique (a checkpoint keeps one snapshot per name), and a restored checkpoint holding no state of an operator the
 * pipeline lacks (unless `allowNonRestoredState`; merges' snapshots aside, which a job drops with a warning).
 */
function checkOperators(instances: readonly StatefulOperatorInstance[], options: HarnessOptions): void {
  const shared = sharedOperatorName(instances);
  if (shared !== undefined) throw new ConfigurationError('harness', shared.name, `harness: ${shared.text}`);
  const names = new Set(instances.map((i) => i.name));
  if (options.restore === undefined || options.allowNonRestoredState === true) return;
  const unknown: string[] = [];
  for (const [name, chain] of options.restore.operators) {
    const last = chain[chain.length - 1];
    if (!names.has(name) && (last === undefined || mergeSnapshotKind(last) === undefined)) unknown.push(name);
  }
  if (unknown.length > 0) {
    throw new ConfigurationError(
      'harness',
      unknown,
      `harness: the checkpoint ${lackedOperatorsText(unknown, names)}`,
    );
  }
}

/** {@link harness}, and the runtime its pushes run in (for a second input). */
function harnessWith<T, K, R>(
  operator: OperatorFunction<StreamElement<T, K>, StreamElement<R, K>>,
  options: HarnessOptions,
  onRestore: ((checkpoint: HarnessCheckpoint, processingTime: number) => Harness<T, K, R>) | undefined,
): { h: Harness<T, K, R>; run: (f: () => void) => void; stillRunning: (call: string) => void } {
  const start = options.processingTime ?? 0;
  if (!Number.isFinite(start)) {
    throw new ConfigurationError('harness', start, `harness({ processingTime: ${describeValue(start)} }): the start time must be a finite number of ms (default 0).`);
  }
  const clock = new ManualScheduler(start);
  const input = new Subject<StreamElement<T, K>>();
  const out: StreamElement<R, K>[] = [];
  let taken = 0;
  const sides = new Map<Observer<unknown>, unknown[]>();
  let completed = false;
  let error: unknown;
  const chains = new Map<string, OperatorSnapshot[]>();
  const warnings: string[] = [];
  if (options.restore !== undefined) for (const [name, chain] of options.restore.operators) chains.set(name, [...chain]);

  const runtime = new PipelineRuntime({
    owner: 'harness',
    scheduler: clock,
    checkpointed: true,
    ...(options.restore !== undefined ? { restore: options.restore.operators } : {}),
    sideOutput: <X>(_op: string, observer: Observer<X>, value: X) => {
      const list = sides.get(observer as Observer<unknown>) ?? [];
      list.push(value);
      sides.set(observer as Observer<unknown>, list);
      observer.next(value);
    },
    warn: (_op, message) => {
      warnings.push(message);
    },
  });
  runtime.subscribe(operator(input), {
    next: (e) => out.push(e),
    error: (e: unknown) => (error = e),
    complete: () => (completed = true),
  });
  checkOperators(runtime.instances, options);
  // (what was dropped — state of operators the pipeline lacks — is in none of this harness's checkpoints, as in a job's)
  for (const name of [...chains.keys()]) if (!runtime.instances.some((i) => i.name === name)) chains.delete(name);

  const pick = (name: string | undefined): StatefulOperatorInstance => {
    // (by default the first with keyed state: a merge's valve has none)
    const inst = name === undefined ? runtime.instances.find((i) => i.isMerge !== true) : runtime.instances.find((i) => i.name === name);
    if (inst === undefined) {
      throw new ConfigurationError(
        'harness',
        name,
        name === undefined
          ? 'harness: the operator has no keyed state (no stateful operator inside)'
          : `harness: no stateful operator named '${name}' (have: ${runtime.instances.map((i) => i.name).join(', ')})`,
      );
    }
    return inst;
  };

  // (input after the operator failed went nowhere, silently: a test that missed `h.error` went on)
  const stillRunning = (call: string): void => {
    if (error === undefined) return;
    throw new ConfigurationError(
      'harness',
      error,
      `harness.${call}: the operator failed already and takes no more input; its error (h.error): ${error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error)}`,
    );
  };
  const h: Harness<T, K, R> = {
    push(...elements) {
      stillRunning('push(…)');
      runtime.run(() => {
        for (const e of elements) input.next(e);
      });
      return h;
    },
    record(value, timestamp, key) {
      stillRunning('record(…)');
      runtime.run(() => input.next(record(value, timestamp, key)));
      return h;
    },
    watermark(timestamp) {
      stillRunning('watermark(…)');
      runtime.run(() => input.next(watermark(timestamp)));
      return h;
    },
    barrier(id) {
      stillRunning('barrier(…)');
      runtime.run(() => input.next(barrier(id)));
      return h;
    },
    setProcessingTime(time) {
      if (!Number.isFinite(time) || time < clock.now()) {
        throw new ConfigurationError('harness', time, `harness: setProcessingTime(${describeValue(time)}): the processing time must be a finite number of ms, at or after the clock's ${clock.now()}.`);
      }
      clock.advanceTo(time);
      return h;
    },
    get processingTime() {
      return clock.now();
    },
    complete() {
      stillRunning('complete(…)');
      runtime.run(() => input.complete());
      return h;
    },
    output: () => [...out],
    records: () => out.filter((e): e is StreamRecord<R, K> => e.kind === 'record'),
    takeOutput() {
      const fresh = out.slice(taken);
      taken = out.length;
      return fresh;
    },
    sideOutput: <X>(side: OutputTag<X> | Observer<X>): X[] =>
      isOutputTag(side)
        ? out.flatMap((e) => (e.kind === 'side' && e.tag === side.name ? [e.value as X] : []))
        : [...((sides.get(side as Observer<unknown>) ?? []) as X[])],
    state: (key, name, opts) => pick(opts?.operator).peekState(checkedKey('state', key), name, opts?.namespace),
    keys: (opts) => pick(opts?.operator).keys() as K[],
    timers: (key, opts) => pick(opts?.operator).timersOf(checkedKey('timers', key)),
    get operators() {
      return runtime.instances;
    },
    snapshot(opts) {
      const latest = new Map<string, OperatorSnapshot>();
      for (const inst of runtime.instances) {
        const snap = inst.snapshot(opts);
        latest.set(inst.name, snap);
        chains.set(inst.name, snap.full ? [snap] : [...(chains.get(inst.name) ?? []), snap]);
      }
      return { operators: new Map([...chains].map(([k, v]) => [k, [...v]])), latest };
    },
    restore(checkpoint) {
      return onRestore !== undefined ? onRestore(checkpoint, clock.now()) : harness(operator, { processingTime: clock.now(), restore: checkpoint });
    },
    warnings: () => [...warnings],
    metrics: (opts) => pick(opts?.operator).metrics(),
    get completed() {
      return completed;
    },
    get error() {
      return error;
    },
  };
  return { h, run: (f) => runtime.run(f), stillRunning };
}

/**
 * A {@link Harness} of a two-input operator (Flink's `KeyedTwoInputStreamOperatorTestHarness`): the methods of
 * `Harness` push into the first input, those ending in `2` into the second.
 *
 * @example
 * ```ts
 * const h = twoInputHarness((payments$) => coProcess(payments$, spec));
 * h.record(order, 10, 'o-1').record2(payment, 12, 'o-1').watermark(20).watermark2(20);
 * ```
 */
export interface TwoInputHarness<T1, T2, K, R> extends Harness<T1, K, R> {
  push2(...elements: StreamElement<T2, K>[]): this;
  record2(value: T2, timestamp: number, key: K): this;
  watermark2(timestamp: number): this;
  barrier2(checkpointId: number): this;
  /** Completes the second input. */
  complete2(): this;
  /** A fresh harness of the same operator (both inputs new), restored from `checkpoint`. */
  restore(checkpoint: HarnessCheckpoint): TwoInputHarness<T1, T2, K, R>;
}

/**
 * Drives a two-input operator by hand: `operator` gets the second input and returns the operator to pipe the first
 * into (`(right$) => coProcess(right$, spec)`). Otherwise as {@link harness}.
 *
 * @example
 * ```ts
 * import type { Observable } from 'rxjs';
 * import type { StreamElement } from 'tidewater';
 * import { coProcess } from 'tidewater/operators';
 * import { twoInputHarness } from 'tidewater/testing';
 *
 * const h = twoInputHarness((right$: Observable<StreamElement<number, string>>) =>
 *   coProcess<string, number, string, string>(right$, {
 *     onElement1(v, ctx) { ctx.emit(`left ${v}`); },
 *     onElement2(v, ctx) { ctx.emit(`right ${v}`); },
 *   }),
 * );
 * h.record('a', 1, 'k').record2(7, 2, 'k');
 * h.records().map((r) => r.value); // ['left a', 'right 7']
 * ```
 */
export function twoInputHarness<T1, T2, K, R>(
  operator: (second: Observable<StreamElement<T2, K>>) => OperatorFunction<StreamElement<T1, K>, StreamElement<R, K>>,
  options: HarnessOptions = {},
): TwoInputHarness<T1, T2, K, R> {
  checkOperator('twoInputHarness', operator, 'twoInputHarness((second$) => coProcess(second$, { … }))');
  const second = new Subject<StreamElement<T2, K>>();
  const { h, run, stillRunning } = harnessWith(operator(second), options, (checkpoint, processingTime) => twoInputHarness(operator, { processingTime, restore: checkpoint }));
  const h2 = Object.assign(h, {
    push2(...elements: StreamElement<T2, K>[]) {
      stillRunning('push2(…)');
      run(() => {
        for (const e of elements) second.next(e);
      });
      return h2;
    },
    record2(value: T2, timestamp: number, key: K) {
      stillRunning('record2(…)');
      run(() => second.next(record(value, timestamp, key)));
      return h2;
    },
    watermark2(timestamp: number) {
      stillRunning('watermark2(…)');
      run(() => second.next(watermark(timestamp)));
      return h2;
    },
    barrier2(id: number) {
      stillRunning('barrier2(…)');
      run(() => second.next(barrier(id)));
      return h2;
    },
    complete2() {
      stillRunning('complete2(…)');
      run(() => second.complete());
      return h2;
    },
  }) as unknown as TwoInputHarness<T1, T2, K, R>;
  return h2;
}
