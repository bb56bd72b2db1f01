import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import type { Aggregator } from '../src/state/descriptors.js';
import type { WindowContext, WindowResult } from '../src/windows/types.js';
import type { Windowed } from './window.js';
import { windowFunction } from './windowFunction.js';
import { checkOptionKeys } from '../src/errors/options.js';

/**
 * Window function that sees all of a window's elements (Flink's `ProcessWindowFunction`): `fn(elements, ctx)` runs
 * at each firing; return one result, an array (one result per item), or `undefined` (nothing). Every result is
 * `{ key, window, value }` stamped `end - 1`. With `{ aggregate: aggregator }` the window keeps only the accumulator
 * and `fn` gets the single aggregated result (Flink's incremental aggregation + process function).
 * Only valid right after `window(...)`.
 *
 * @example
 * ```ts
 * clicks$.pipe(
 *   keyBy((c) => c.user),
 *   window(sessionWindows(30 * 60_000)),
 *   processWindow((clicks, { window }) => ({ pages: clicks.length, minutes: (window.end - window.start) / 60_000 })),
 * );
 * // incremental: the window holds a count, fn sees [count]
 * clicks$.pipe(keyBy((c) => c.user), window(tumblingWindows(60_000)), processWindow(([n]) => ((n ?? 0) > 100 ? 'busy' : undefined), { aggregate: count() }));
 * ```
 */
export function processWindow<T, K, R>(
  fn: (elements: readonly T[], ctx: WindowContext<K>) => R | readonly R[] | undefined,
): OperatorFunction<Windowed<T, K>, StreamElement<WindowResult<K, R>, K>>;
export function processWindow<T, K, A, I, R>(
  fn: (elements: readonly I[], ctx: WindowContext<K>) => R | readonly R[] | undefined,
  options: { readonly aggregate: Aggregator<T, A, I> },
): OperatorFunction<Windowed<T, K>, StreamElement<WindowResult<K, R>, K>>;
export function processWindow<T, K, R>(
  fn: (elements: readonly unknown[], ctx: WindowContext<K>) => R | readonly R[] | undefined,
  options?: { readonly aggregate: Aggregator<T, unknown, unknown> },
): OperatorFunction<Windowed<T, K>, StreamElement<WindowResult<K, R>, K>> {
  checkOptionKeys('processWindow', 'the options', options, ['aggregate']);
  return windowFunction<T, K, R>({ kind: 'process', aggregator: options?.aggregate, fn, name: 'processWindow' });
}
