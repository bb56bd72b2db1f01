import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { failUserFunction, operator, subscribeElements } from '../src/elements/plumbing.js';
import { newContext, type RecordContext } from './context.js';

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
  return operator<StreamElement<T, K>, StreamElement<R, K>>((source, out) => {
    const ctx = newContext<K>();
    return subscribeElements(source, out, (e) => {
      if (e.kind !== 'record') {
        out.next(e);
        return;
      }
      ctx.timestamp = e.timestamp;
      ctx.key = e.key;
      const { timestamp, key } = e;
      try {
        const values = fn(e.value, ctx);
        if (Array.isArray(values)) {
          for (let i = 0; i < values.length && !out.closed; i++) {
            out.next({ kind: 'record', value: values[i] as R, timestamp, key });
          }
        } else {
          for (const value of values) {
            if (out.closed) break;
            out.next({ kind: 'record', value, timestamp, key });
          }
        }
      } catch (err) {
        failUserFunction(out, 'flatMap', e, err);
      }
    });
  });
}
