import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { failUserFunction, operator, subscribeElements } from '../src/elements/plumbing.js';
import { newContext, type RecordContext } from './context.js';

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
  return operator<StreamElement<T, K>, StreamElement<T, K>>((source, out) => {
    const ctx = newContext<K>();
    return subscribeElements(source, out, (e) => {
      if (e.kind !== 'record') {
        out.next(e);
        return;
      }
      ctx.timestamp = e.timestamp;
      ctx.key = e.key;
      let keep: boolean;
      try {
        keep = predicate(e.value, ctx);
      } catch (err) {
        failUserFunction(out, 'filter', e, err);
        return;
      }
      if (keep) out.next(e);
    });
  });
}
