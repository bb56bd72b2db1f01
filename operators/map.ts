import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { recordOperator, type RecordContext } from './context.js';
import { chainedRecordOperator } from './recordChain.js';

/**
 * Maps each record's value with `fn(value, ctx)`; timestamp and key are kept; control elements pass in order.
 * A throwing `fn` fails the stream with a `UserFunctionError` naming `map` and the record.
 *
 * @example
 * ```ts
 * import { map } from 'tidewater/operators';
 *
 * clicks$.pipe(map((c, { timestamp }) => ({ page: c.page, second: Math.floor(timestamp / 1000) })));
 * ```
 */
export function map<T, R, K = unknown>(fn: (value: T, ctx: RecordContext<K>) => R): OperatorFunction<StreamElement<T, K>, StreamElement<R, K>> {
  // chained with the map, filter and keyBy operators around it (operators/recordChain.ts)
  return chainedRecordOperator<T, R, K, K>({
    kind: 'map',
    name: 'map',
    fn: fn as (value: unknown, ctx: RecordContext<unknown>) => unknown,
    alone: () => mapAlone(fn) as never,
  });
}

/** `map` as an operator of its own. */
function mapAlone<T, R, K>(fn: (value: T, ctx: RecordContext<K>) => R): OperatorFunction<StreamElement<T, K>, StreamElement<R, K>> {
  return recordOperator<T, R, K>('map', (e, ctx, out) => {
    const value = fn(e.value, ctx);
    out.next({ kind: 'record', value, timestamp: e.timestamp, key: e.key });
  });
}
