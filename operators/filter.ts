import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { recordOperator, type RecordContext } from './context.js';

/**
 * Keeps the records whose value passes `predicate(value, ctx)`; control elements always pass, in order.
 * A type-guard predicate narrows the value type.
 *
 * @example
 * ```ts
 * import { filter } from 'tidewater/operators';
 *
 * clicks$.pipe(filter((c) => c.page !== '/health'));
 * ```
 */
export function filter<T, S extends T, K = unknown>(
  predicate: (value: T, ctx: RecordContext<K>) => value is S,
): OperatorFunction<StreamElement<T, K>, StreamElement<S, K>>;
export function filter<T, K = unknown>(predicate: (value: T, ctx: RecordContext<K>) => boolean): OperatorFunction<StreamElement<T, K>, StreamElement<T, K>>;
export function filter<T, K = unknown>(predicate: (value: T, ctx: RecordContext<K>) => boolean): OperatorFunction<StreamElement<T, K>, StreamElement<T, K>> {
  return recordOperator<T, T, K>('filter', (e, ctx, out) => {
    if (predicate(e.value, ctx)) out.next(e);
  });
}
