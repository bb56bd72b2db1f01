import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import type { Aggregator } from '../src/state/descriptors.js';
import type { WindowResult } from '../src/windows/types.js';
import type { Windowed } from './window.js';
import { windowFunction } from './windowFunction.js';

/**
 * Window function: aggregates each window incrementally (`create`, `add` per element, `result` at each firing;
 * `merge` when session windows merge, and for sliding windows, where accumulators are kept per pane and merged at
 * firing). Emits `{ key, window, value: result }` stamped `end - 1`. Only valid right after `window(...)`.
 * With sliding windows, an aggregator's `merge` must give the same result whatever the order of the elements.
 *
 * @example
 * ```ts
 * readings$.pipe(keyBy((r) => r.sensor), window(slidingWindows(60_000, 10_000)), aggregate(mean((r) => r.celsius)));
 * ```
 */
export function aggregate<T, A, R, K>(aggregator: Aggregator<T, A, R>): OperatorFunction<Windowed<T, K>, StreamElement<WindowResult<K, R>, K>> {
  return windowFunction<T, K, R>({ kind: 'aggregate', aggregator: aggregator as Aggregator<T, unknown, R>, name: 'aggregate' });
}
