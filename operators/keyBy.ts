import type { OperatorFunction, Subscriber } from 'rxjs';
import { runtimeOf } from '../src/core/runtime.js';
import type { Key, Stream, StreamElement } from '../src/elements/index.js';
import { failUserFunction, forwardControl, operator, subscribeElements } from '../src/elements/plumbing.js';
import { InvalidKeyError } from '../src/errors/index.js';
import { isKey } from '../src/keys/validate.js';
import { chainedRecordOperator } from './recordChain.js';

/**
 * Sets each record's key to `keyOf(value)`. A key must be a {@link Key}: a string, a number other than NaN, a
 * boolean, a bigint, or an array of those; anything else (an object, `undefined`, `null`, NaN …) fails the stream
 * with an `InvalidKeyError` naming the value. Control elements pass in order.
 *
 * @example
 * ```ts
 * import { keyBy } from 'tidewater/operators';
 *
 * clicks$.pipe(keyBy((c) => c.user));               // string key
 * orders$.pipe(keyBy((o) => [o.region, o.shopId])); // composite key
 * ```
 */
export function keyBy<T, K extends Key>(keyOf: (value: T) => K): OperatorFunction<StreamElement<T, unknown>, StreamElement<T, K>> {
  // chained with the map, filter and keyBy operators around it (operators/recordChain.ts); alone where an exchange
  // takes its records
  return chainedRecordOperator<T, T, unknown, K>({
    kind: 'keyBy',
    name: 'keyBy',
    fn: keyOf as (value: unknown) => unknown,
    alone: () => keyByAlone(keyOf) as never,
  });
}

/** `keyBy` as an operator of its own: in place, or through the runtime's exchange (parallel subtasks, cluster stages). */
function keyByAlone<T, K extends Key>(keyOf: (value: T) => K): OperatorFunction<StreamElement<T, unknown>, StreamElement<T, K>> {
  const keyed = keyInPlace(keyOf);
  // inside parallel subtasks, re-keyed records go to the subtask that owns their key group (docs/ARCHITECTURE.md)
  return operator<StreamElement<T, unknown>, StreamElement<T, K>>((source, out) => {
    const exchange = runtimeOf(out)?.exchange;
    if (exchange === undefined) return keyed(source).subscribe(out);
    return exchange.join(keyed(source) as Stream<unknown, unknown>, out as Subscriber<StreamElement<unknown, unknown>>);
  });
}

/** keyBy on one thread of records: sets each record's key. */
function keyInPlace<T, K extends Key>(keyOf: (value: T) => K): OperatorFunction<StreamElement<T, unknown>, StreamElement<T, K>> {
  return operator<StreamElement<T, unknown>, StreamElement<T, K>>((source, out) => {
    return subscribeElements(source, out, (e) => {
      if (e?.kind !== 'record') {
        forwardControl('keyBy', e, out);
        return;
      }
      let key: K;
      try {
        key = keyOf(e.value);
      } catch (err) {
        failUserFunction(out, 'keyBy', e, err);
        return;
      }
      if (!isKey(key)) {
        out.error(new InvalidKeyError('keyBy', key, e.value));
        return;
      }
      out.next({ kind: 'record', value: e.value, timestamp: e.timestamp, key });
    });
  });
}
