import type { Observable, OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { windowJoinOperator, type WindowJoinOptions } from '../src/joins/windowJoin.js';
import type { WindowAssigner } from '../src/windows/assigners.js';
import type { WindowContext } from '../src/windows/types.js';

/**
 * Groups the piped (left) stream and `right$` per key and window (Flink's `coGroup`): at each firing of a key's
 * window, `fn(lefts, rights, ctx)` gets both sides' elements, each in arrival order; either list may be empty, never
 * both. One returned value emits one record, an array one record per item, `undefined` nothing; records are stamped
 * `window.end - 1`. Everything else is `windowJoin`'s (docs/SEMANTICS.md §10.3, §10.4): outer joins and anti-joins
 * are written with it.
 *
 * @example
 * ```ts
 * import { coGroup, keyBy } from 'tidewater/operators';
 * import { tumblingWindows } from 'tidewater';
 *
 * // per user and hour: orders without a payment
 * const unpaid$ = orders$.pipe(
 *   keyBy((o) => o.user),
 *   coGroup(payments$.pipe(keyBy((p) => p.user)), tumblingWindows(3_600_000), (orders, payments) =>
 *     orders.filter((o) => !payments.some((p) => p.order === o.id)),
 *   ),
 * );
 * ```
 */
export function coGroup<L, R, K, OUT>(
  right$: Observable<StreamElement<R, K>>,
  assigner: WindowAssigner<NoInfer<L | R>>,
  fn: (lefts: readonly L[], rights: readonly R[], ctx: WindowContext<K>) => OUT | readonly OUT[] | undefined,
  options: WindowJoinOptions<L, R, K> = {},
): OperatorFunction<StreamElement<L, K>, StreamElement<OUT, K>> {
  return windowJoinOperator<L, R, K, OUT>('coGroup', right$, assigner, options, { group: fn });
}
