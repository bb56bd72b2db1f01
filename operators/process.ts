import type { OperatorFunction } from 'rxjs';
import type { Key, StreamElement, StreamRecord } from '../src/elements/index.js';
import { keyedOperator, type CoreArgs } from '../src/core/keyedOperator.js';
import { checkSpec, ProcessCoreBase, type ProcessContext, type TimerContext } from '../src/core/processContext.js';
import type { StateDescriptor } from '../src/state/descriptors.js';

export type { ProcessContext, TimerContext, TimerService } from '../src/core/processContext.js';

/**
 * The definition of a keyed process function.
 *
 * @example
 * ```ts
 * const spec: ProcessSpec<Click, string, number, { count: ValueStateDescriptor<number> }> = {
 *   name: 'count-clicks',
 *   state: { count: valueState<number>() },
 *   onElement(c, ctx) { ctx.state.count.set((ctx.state.count.get() ?? 0) + 1); },
 * };
 * ```
 */
export interface ProcessSpec<T, K, R, S extends Record<string, StateDescriptor>> {
  /** Stable id of this operator's state in checkpoints; defaults to its position (`process#0`, …). */
  readonly name?: string;
  /** Keyed state declarations: `{ count: valueState<number>(), … }`. */
  readonly state?: S;
  onElement(value: T, ctx: ProcessContext<K, S, R>): void;
  onTimer?(timestamp: number, ctx: TimerContext<K, S, R>): void;
}

class ProcessCore<T, K, R, S extends Record<string, StateDescriptor>> extends ProcessCoreBase<T, K, R, S> {
  constructor(
    args: CoreArgs<R>,
    private readonly spec: ProcessSpec<T, K, R, S>,
  ) {
    super(args, spec.state, spec);
  }

  protected onRecord(r: StreamRecord<T, Key>): void {
    this.onFields(r.value, r.timestamp, r.key);
  }

  protected override onFields(value: T, timestamp: number, key: Key): void {
    const ctx = this.ctx;
    ctx.key = key as K;
    ctx.timestamp = timestamp;
    this.spec.onElement(value, ctx);
  }
}

/**
 * The keyed process function: per-key state and timers, the building block of custom stateful logic (Flink's
 * `KeyedProcessFunction`). Needs a keyed stream (`keyBy` first). State lives in one `Map`-based store inside the
 * operator (never a Subject per key) and is part of checkpoints under `name`.
 *
 * Outputs: `ctx.emit(value, ts?)` emits a record with the current key; its timestamp defaults to the input record's,
 * in `onTimer` to the timer's. (Flink erases the timestamp of processing-time timer output; tidewater records always
 * carry one, so they get the timer's processing-time timestamp unless `emit` is given one.)
 *
 * Type parameters `<T, K, R, S>`: T and K are inferred from the stream; to type `emit`, give all four, e.g.
 * `process<Click, string, number, typeof state>({ state, … })`.
 *
 * @example
 * ```ts
 * import { valueState } from 'tidewater';
 * import { keyBy, process } from 'tidewater/operators';
 *
 * // emit a user's click count once they have been quiet for 30 s of event time
 * const state = { count: valueState<number>(), deadline: valueState<number>() };
 * clicks$.pipe(
 *   keyBy((c) => c.user),
 *   process<Click, string, number, typeof state>({
 *     name: 'sessions',
 *     state,
 *     onElement(c, ctx) {
 *       ctx.state.count.set((ctx.state.count.get() ?? 0) + 1);
 *       const old = ctx.state.deadline.get();
 *       if (old !== undefined) ctx.timers.deleteEventTime(old);
 *       ctx.state.deadline.set(ctx.timestamp + 30_000);
 *       ctx.timers.registerEventTime(ctx.timestamp + 30_000);
 *     },
 *     onTimer(ts, ctx) {
 *       ctx.emit(ctx.state.count.get() ?? 0);
 *       ctx.state.count.clear();
 *       ctx.state.deadline.clear();
 *     },
 *   }),
 * );
 * ```
 */
export function process<T, K, R = unknown, S extends Record<string, StateDescriptor> = Record<never, never>>(
  spec: ProcessSpec<T, K, R, S>,
): OperatorFunction<StreamElement<T, K>, StreamElement<R, K>> {
  checkSpec('process', spec, ['onElement'], ['onTimer']);
  return keyedOperator<T, K, R>('process', spec.name, (args) => new ProcessCore<T, K, R, S>(args, spec));
}
