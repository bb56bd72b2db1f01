import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import type { WindowResult } from '../src/windows/types.js';
import type { Windowed } from './window.js';
import { windowFunction } from './windowFunction.js';

/**
 * Window function: folds each window's elements with `fn(acc, value)` as they arrive (the existing value first, as
 * Flink's `ReduceFunction`), emitting `{ key, window, value: acc }` at each firing, stamped `end - 1`.
 * Only valid right after `window(...)`.
 *
 * @example
 * ```ts
 * ticks$.pipe(keyBy((t) => t.symbol), window(tumblingWindows(1_000)), reduce((a, b) => (b.price > a.price ? b : a)));
 * ```
 */
export function reduce<T, K>(fn: (acc: T, value: T) => T): OperatorFunction<Windowed<T, K>, StreamElement<WindowResult<K, T>, K>> {
  return windowFunction<T, K, T>({ kind: 'reduce', reduce: fn, name: 'reduce' });
}
