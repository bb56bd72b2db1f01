import { throwError, type Observable, type OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { ConfigurationError } from '../src/errors/index.js';
import { keyedOperator } from '../src/core/keyedOperator.js';
import { WindowOperatorCore, type WindowFunction } from '../src/windows/windowOperator.js';
import type { WindowResult } from '../src/windows/types.js';
import { WindowedObservable, type Windowed } from './window.js';

/** @internal builds the window operator from `window(...)`'s spec and a window function. */
export function windowFunction<T, K, R>(fn: WindowFunction<T, K, R>): OperatorFunction<Windowed<T, K>, StreamElement<WindowResult<K, R>, K>> {
  return (source: Observable<Windowed<T, K>>) => {
    if (!(source instanceof WindowedObservable)) {
      return throwError(
        () => new ConfigurationError(fn.name, undefined, `${fn.name}(...) must directly follow window(...): keyBy(...), window(assigner), ${fn.name}(...).`),
      );
    }
    const { upstream, assigner, options } = source as WindowedObservable<T, K>;
    return keyedOperator<T, K, WindowResult<K, R>>('window', options.name, (args) => new WindowOperatorCore<T, K, R>(args, assigner, options, fn))(upstream);
  };
}
