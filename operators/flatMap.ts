import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { recordOperator, type RecordContext } from './context.js';
import { describeValue, TidewaterError } from '../src/errors/index.js';
import { checkFunction } from '../src/errors/options.js';

/**
 * Maps each record's value to zero or more values (`fn(value, ctx)` returns any iterable, arrays fastest);
 * each output record keeps the input's timestamp and key; control elements pass in order.
 *
 * @example
 * ```ts
 * import { flatMap } from 'tidewater/operators';
 *
 * lines$.pipe(flatMap((line) => line.split(/\s+/).filter(Boolean)));
 * ```
 */
export function flatMap<T, R, K = unknown>(
  fn: (value: T, ctx: RecordContext<K>) => Iterable<R>,
): OperatorFunction<StreamElement<T, K>, StreamElement<R, K>> {
  // (refused when the pipeline is made, not as a user function's TypeError at the first record)
  checkFunction('flatMap', fn, 'flatMap(fn), fn a function of the value returning an iterable of results (an array: [] for none)');
  return recordOperator<T, R, K>('flatMap', (e, ctx, out) => {
    const { timestamp, key } = e;
    const values = fn(e.value, ctx);
    if (Array.isArray(values)) {
      for (let i = 0; i < values.length && !out.closed; i++) out.next({ kind: 'record', value: values[i] as R, timestamp, key });
    } else {
      if (typeof (values as Partial<Iterable<R>> | null | undefined)?.[Symbol.iterator] !== 'function') {
        throw new TidewaterError(
          'flatMap',
          e,
          `flatMap: the function returned ${describeValue(values)} for record ${describeValue(e.value)} @ ${e.timestamp}, not an iterable; return an array of results ([] for none), a Set or a generator.`,
        );
      }
      for (const value of values) {
        if (out.closed) break;
        out.next({ kind: 'record', value, timestamp, key });
      }
    }
  });
}
