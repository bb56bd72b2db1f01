import type { Observable, OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { windowJoinOperator, type WindowJoinOptions } from '../src/joins/windowJoin.js';
import type { WindowAssigner } from '../src/windows/assigners.js';
import type { WindowContext } from '../src/windows/types.js';

export type { WindowJoinOptions } from '../src/joins/windowJoin.js';

/**
 * Joins the piped (left) stream with `right$` per key and window (Flink's window join): at each firing of a key's
 * window, `fn(l, r, ctx)` runs for each left element (outer loop) and each right element (inner loop), each side in
 * arrival order, and each result is a record stamped `window.end - 1`. A window with elements of only one side emits
 * nothing (inner join). Rules (docs/SEMANTICS.md §10.3):
 *
 * - both sides go into the same per-key window state; every rule of `window(...)` applies (assignment, session
 *   merging across both sides, the event-time trigger, allowed lateness, cleanup);
 * - the inputs are merged as `mergeStreams` merges them (the valve: an input that comes back does not hold event time
 *   back) with aligned barriers;
 * - with allowed lateness, a late element fires its window again with its whole contents: earlier pairs come again;
 * - records too late for every window are dropped, counted and warned about, or sent to `lateData`.
 *
 * @example
 * ```ts
 * import { eventTime, keyBy, windowJoin } from 'tidewater/operators';
 * import { tumblingWindows } from 'tidewater';
 *
 * // clicks and impressions of the same ad in the same minute
 * const matched$ = clicks$.pipe(
 *   eventTime((c) => c.at),
 *   keyBy((c) => c.ad),
 *   windowJoin(impressions$.pipe(eventTime((i) => i.at), keyBy((i) => i.ad)), tumblingWindows(60_000), (click, impression, { window }) => ({
 *     ad: click.ad,
 *     minute: window.start,
 *     delay: click.at - impression.at,
 *   })),
 * );
 * ```
 */
export function windowJoin<L, R, K, OUT>(
  right$: Observable<StreamElement<R, K>>,
  assigner: WindowAssigner<NoInfer<L | R>>,
  fn: (left: L, right: R, ctx: WindowContext<K>) => OUT,
  options: WindowJoinOptions<L, R, K> = {},
): OperatorFunction<StreamElement<L, K>, StreamElement<OUT, K>> {
  return windowJoinOperator<L, R, K, OUT>('windowJoin', right$, assigner, options, { pair: fn });
}
