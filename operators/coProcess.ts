import type { Observable, OperatorFunction } from 'rxjs';
import type { Key, StreamElement, StreamRecord } from '../src/elements/index.js';
import type { CoreArgs } from '../src/core/keyedOperator.js';
import { checkSpec, ProcessCoreBase, type ProcessContext, type TimerContext } from '../src/core/processContext.js';
import { twoInputOperator } from '../src/core/twoInputOperator.js';
import type { StateDescriptor } from '../src/state/descriptors.js';

/**
 * The definition of a keyed co-process function: one handler per input, one keyed state and one timer service
 * shared by both (Flink's `KeyedCoProcessFunction`).
 *
 * @example
 * ```ts
 * const spec: CoProcessSpec<Order, Payment, string, Matched, { order: ValueStateDescriptor<Order> }> = {
 *   name: 'match',
 *   state: { order: valueState<Order>() },
 *   onElement1(o, ctx) { ctx.state.order.set(o); },
 *   onElement2(p, ctx) { const o = ctx.state.order.get(); if (o !== undefined) ctx.emit({ o, p }); },
 * };
 * ```
 */
export interface CoProcessSpec<T1, T2, K, R, S extends Record<string, StateDescriptor>> {
  /** Stable id of this operator's state in checkpoints; defaults to its position (`coProcess#0`, …). */
  readonly name?: string;
  /** Keyed state declarations, shared by both inputs: `{ pending: valueState<Order>(), … }`. */
  readonly state?: S;
  /** A record of the first input (the piped stream). */
  onElement1(value: T1, ctx: ProcessContext<K, S, R>): void;
  /** A record of the second input (`right$`). */
  onElement2(value: T2, ctx: ProcessContext<K, S, R>): void;
  onTimer?(timestamp: number, ctx: TimerContext<K, S, R>): void;
}

class CoProcessCore<T1, T2, K, R, S extends Record<string, StateDescriptor>> extends ProcessCoreBase<T1 | T2, K, R, S> {
  constructor(
    args: CoreArgs<R>,
    private readonly spec: CoProcessSpec<T1, T2, K, R, S>,
  ) {
    super(args, spec.state, spec);
  }

  protected onRecord(r: StreamRecord<T1 | T2, Key>): void {
    if (this.currentInput === 0) this.spec.onElement1(r.value as T1, this.contextOf(r));
    else this.spec.onElement2(r.value as T2, this.contextOf(r));
  }

  protected override kindLabel(): string {
    return 'coProcess (on both inputs)';
  }
}

/**
 * Processes two keyed streams of the same key type together (Flink's `KeyedCoProcessFunction`): `onElement1` takes
 * the piped stream's records, `onElement2` those of `right$`; both see the key's state and share one timer service.
 * Elements are handled one at a time in arrival order. Rules (docs/SEMANTICS.md §10.1, §10.5):
 *
 * - the watermark is the minimum over the inputs that are not idle (an input that comes back holds it where it is,
 *   never lowers it); timers fire on it as in `process`;
 * - no lateness: every record is processed, whatever the watermark;
 * - outputs get the record's timestamp (in `onTimer`, the timer's) unless `emit` is given one;
 * - barriers are aligned across both inputs, and the state and timers are in checkpoints under `name`;
 * - the output completes after both inputs completed (an input that completes counts as `MAX_WATERMARK` on it).
 *
 * Type parameters `<T1, T2, K, R, S>`: to type `emit`, give all five, e.g. `coProcess<Order, Payment, string,
 * Matched, typeof state>(payments$, { … })`.
 *
 * @example
 * ```ts
 * import { valueState } from 'tidewater';
 * import { coProcess, keyBy } from 'tidewater/operators';
 *
 * // an order and its payment, whichever comes first; unpaid orders reported after 10 minutes of event time
 * const state = { order: valueState<Order>(), payment: valueState<Payment>() };
 * orders$.pipe(
 *   keyBy((o) => o.id),
 *   coProcess<Order, Payment, string, string, typeof state>(payments$.pipe(keyBy((p) => p.orderId)), {
 *     name: 'match-payments',
 *     state,
 *     onElement1(order, ctx) {
 *       if (ctx.state.payment.get() !== undefined) ctx.emit(`paid ${order.id}`);
 *       else { ctx.state.order.set(order); ctx.timers.registerEventTime(ctx.timestamp + 600_000); }
 *     },
 *     onElement2(payment, ctx) {
 *       const order = ctx.state.order.get();
 *       if (order !== undefined) { ctx.emit(`paid ${order.id}`); ctx.state.order.clear(); }
 *       else ctx.state.payment.set(payment);
 *     },
 *     onTimer(ts, ctx) {
 *       const order = ctx.state.order.get();
 *       if (order !== undefined) ctx.emit(`unpaid ${order.id}`);
 *       ctx.state.order.clear();
 *     },
 *   }),
 * );
 * ```
 */
export function coProcess<T1, T2, K, R = unknown, S extends Record<string, StateDescriptor> = Record<never, never>>(
  right$: Observable<StreamElement<T2, K>>,
  spec: CoProcessSpec<T1, T2, K, R, S>,
): OperatorFunction<StreamElement<T1, K>, StreamElement<R, K>> {
  checkSpec('coProcess', spec, ['onElement1', 'onElement2'], ['onTimer'], 'right$, ');
  return twoInputOperator<T1, T2, K, R>('coProcess', spec.name, right$, 'operator', (args) => new CoProcessCore<T1, T2, K, R, S>(args, spec));
}
