import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { timestampChain } from './recordChain.js';
import { checkStrategy, monotonousTimestamps, type WatermarkStrategy } from '../src/time/strategies.js';

/**
 * Stamps each value (or record) with the scheduler clock at arrival (`strategy.scheduler`, default `asyncScheduler`)
 * and generates watermarks with `strategy` (default `monotonousTimestamps()`, as Flink's ingestion time).
 *
 * @example
 * ```ts
 * import { fromEvent } from 'rxjs';
 * import { ingestionTime, map } from 'tidewater/operators';
 *
 * fromEvent<MouseEvent>(document, 'click').pipe(
 *   ingestionTime(),
 *   map((e) => ({ x: e.clientX, y: e.clientY })),
 * );
 * ```
 */
export function ingestionTime<T, K = undefined>(
  strategy: WatermarkStrategy<NoInfer<T>> = monotonousTimestamps(),
): OperatorFunction<T | StreamElement<T, K>, StreamElement<T, K>> {
  checkStrategy('ingestionTime', strategy);
  return timestampChain<T, K>({ name: 'ingestionTime', timestampOf: undefined, strategy });
}
