import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { timestampChain } from './recordChain.js';
import { boundedOutOfOrderness, checkStrategy, type WatermarkStrategy } from '../src/time/strategies.js';
import { checkFunction } from '../src/errors/options.js';

/**
 * Stamps plain values (or re-stamps records) with `timestampOf(value)` and generates watermarks with `strategy`
 * (default `boundedOutOfOrderness(0)`), as Flink's `assignTimestampsAndWatermarks`.
 *
 * - Watermarks are emitted only when strictly increasing; `idle()` / `active()` follow the strategy's idleness.
 * - Upstream watermarks are ignored except `MAX_WATERMARK`; upstream status elements are ignored; barriers pass in order.
 * - Records that look late pass through unchanged (lateness is decided by windows downstream).
 * - On complete: one last periodic emit, then `MAX_WATERMARK`, then complete.
 * - A value that is itself shaped like a stream element (`{ kind: 'record', value, timestamp }`, …) is treated as one.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { boundedOutOfOrderness } from 'tidewater';
 * import { eventTime, keyBy } from 'tidewater/operators';
 *
 * from(clicks).pipe(
 *   eventTime((c) => c.at, boundedOutOfOrderness(5_000)),
 *   keyBy((c) => c.user),
 * );
 * ```
 */
export function eventTime<T, K = undefined>(
  timestampOf: (value: T) => number,
  strategy: WatermarkStrategy<NoInfer<T>> = boundedOutOfOrderness(0),
): OperatorFunction<T | StreamElement<T, K>, StreamElement<T, K>> {
  // (refused when the pipeline is made: left out, the stream would be stamped with the clock — that is ingestionTime)
  checkFunction('eventTime', timestampOf, 'eventTime((v) => v.timestamp, strategy), or ingestionTime() to stamp records with the clock', { what: 'timestampOf' });
  checkStrategy('eventTime', strategy);
  return timestampChain<T, K>({ name: 'eventTime', timestampOf, strategy });
}
