import { throwError, type Observable, type OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { ConfigurationError } from '../src/errors/index.js';
import { checkFunction } from '../src/errors/options.js';
import { checkAggregator } from '../src/state/descriptors.js';
import { keyedOperator } from '../src/core/keyedOperator.js';
import type { WindowResult } from '../src/windows/types.js';
import type { WindowFunction } from '../src/windows/windowOperatorBase.js';
import { windowOperatorOf, type WindowOperatorChoice } from '../src/windows/windowOperatorChoice.js';
import { WindowedObservable, type Windowed } from './window.js';

export type { WindowOperatorChoice } from '../src/windows/windowOperatorChoice.js';

/**
 * Builds the window operator from `window(...)`'s spec and a window function (`choice`: see
 * {@link WindowOperatorChoice}).
 *
 * @example
 * ```ts
 * export const reduce = (f) => windowFunction({ kind: 'reduce', reduce: f, name: 'reduce' });
 * ```
 *
 * @internal
 */
export function windowFunction<T, K, R>(
  fn: WindowFunction<T, K, R>,
  choice: WindowOperatorChoice = 'auto',
): OperatorFunction<Windowed<T, K>, StreamElement<WindowResult<K, R>, K>> {
  checkWindowFunction(fn);
  return (source: Observable<Windowed<T, K>>) => {
    if (!(source instanceof WindowedObservable)) {
      return throwError(
        () => new ConfigurationError(fn.name, undefined, `${fn.name}(...) must directly follow window(...): keyBy(...), window(assigner), ${fn.name}(...).`),
      );
    }
    const { upstream, assigner, options } = source as WindowedObservable<T, K>;
    return keyedOperator<T, K, WindowResult<K, R>>('window', options.name, (args) => windowOperatorOf<T, K, R>(args, assigner, options, fn, choice))(upstream);
  };
}

/** Refuses a window function given what it cannot run, where the pipeline is made (not at the first firing). */
function checkWindowFunction<T, K, R>(fn: WindowFunction<T, K, R>): void {
  if (fn.kind === 'reduce') checkFunction('reduce', fn.reduce, 'reduce((acc, value) => acc)');
  else if (fn.kind === 'aggregate') checkAggregator('aggregate', fn.aggregator);
  else {
    checkFunction('processWindow', fn.fn, 'processWindow((elements, ctx) => result)');
    if (fn.aggregator !== undefined) checkAggregator('processWindow', fn.aggregator);
  }
}
