import type { Observable, OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { twoInputOperator } from '../src/core/twoInputOperator.js';
import { checkFunction, checkOptionKeys } from '../src/errors/options.js';
import { inclusiveBounds, IntervalJoinCore, type IntervalJoinBounds, type IntervalJoinContext, type IntervalJoinOptions } from '../src/joins/intervalJoinOperator.js';

export type { IntervalJoinBounds, IntervalJoinContext, IntervalJoinOptions } from '../src/joins/intervalJoinOperator.js';

/**
 * Joins each record of the piped (left) stream with the records of `right$` of the same key whose timestamps lie in
 * an interval around its own (Flink's interval join): `l` and `r` join when `l.timestamp + lower ≤ r.timestamp ≤
 * l.timestamp + upper`. One output record per pair, `fn(l, r, ctx)`, stamped `max(l.timestamp, r.timestamp)`.
 * Rules (docs/SEMANTICS.md §10.1, §10.2):
 *
 * - the watermark is the minimum over both inputs; a record below it is late: dropped, counted in
 *   `lateRecordsDropped` and warned about once, or sent to `leftLateData` / `rightLateData` when given;
 * - a pair is emitted by whichever of its two records arrives second, others in ascending timestamp, then arrival;
 * - each record is kept only until the watermark passes the last timestamp it can join (`upper` after a left one,
 *   `-lower` after a right one), so state does not grow with time; unmatched records produce nothing;
 * - buffers and timers are in checkpoints under `name`; the output completes after both inputs completed.
 *
 * @example
 * ```ts
 * import { eventTime, intervalJoin, keyBy } from 'tidewater/operators';
 *
 * // each order with the payments made within 10 minutes after it
 * const paid$ = orders$.pipe(
 *   eventTime((o) => o.at),
 *   keyBy((o) => o.id),
 *   intervalJoin(payments$.pipe(eventTime((p) => p.at), keyBy((p) => p.orderId)), { lower: 0, upper: 600_000 }, (order, payment, ctx) => ({
 *     order: order.id,
 *     amount: payment.amount,
 *     after: ctx.rightTimestamp - ctx.leftTimestamp,
 *   })),
 * );
 * ```
 */
export function intervalJoin<L, R, K, OUT>(
  right$: Observable<StreamElement<R, K>>,
  bounds: IntervalJoinBounds,
  fn: (left: L, right: R, ctx: IntervalJoinContext<K>) => OUT,
  options: IntervalJoinOptions<L, R, K> = {},
): OperatorFunction<StreamElement<L, K>, StreamElement<OUT, K>> {
  inclusiveBounds(options.name ?? 'intervalJoin', bounds); // configuration errors at build time, not at subscribe
  checkOptionKeys('intervalJoin', 'the bounds', bounds, ['lower', 'upper', 'lowerInclusive', 'upperInclusive']);
  checkFunction('intervalJoin', fn, 'intervalJoin(right$, { lower, upper }, (left, right, ctx) => result)');
  checkOptionKeys('intervalJoin', 'the options', options, ['name', 'leftLateData', 'rightLateData']);
  return twoInputOperator<L, R, K, OUT>('intervalJoin', options.name, right$, 'operator', (args) => new IntervalJoinCore<L, R, K, OUT>(args, bounds, fn, options));
}
