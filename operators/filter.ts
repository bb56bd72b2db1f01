import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { recordOperator, type RecordContext } from './context.js';
import { chainedRecordOperator } from './recordChain.js';

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
  // chained with the map, filter and keyBy operators around it (operators/recordChain.ts)
  return chainedRecordOperator<T, T, K, K>({
    kind: 'filter',
    name: 'filter',
    fn: predicate as (value: unknown, ctx: RecordContext<unknown>) => boolean,
    alone: () => filterAlone(predicate) as never,
  });
}

/** `filter` as an operator of its own. */
function filterAlone<T, K>(predicate: (value: T, ctx: RecordContext<K>) => boolean): OperatorFunction<StreamElement<T, K>, StreamElement<T, K>> {
  return recordOperator<T, T, K>('filter', (e, ctx, out) => {
    if (predicate(e.value, ctx)) out.next(e);
  });
}
