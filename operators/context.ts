import type { OperatorFunction, Subscriber } from 'rxjs';
import type { StreamElement, StreamRecord } from '../src/elements/index.js';
import { failUserFunction, forwardControl, operator, subscribeElements } from '../src/elements/plumbing.js';

/**
 * What a stateless operator's function sees besides the value: the record's timestamp and key.
 * The object is reused between calls: read it inside the call, do not keep it.
 *
 * @example
 * ```ts
 * stream$.pipe(map((v: number, ctx: RecordContext<string>) => `${ctx.key}@${ctx.timestamp}: ${v}`));
 * ```
 */
export interface RecordContext<K = unknown> {
  readonly timestamp: number;
  readonly key: K;
}

/** The one context object of a stateless operator's subscription, set before each call. @internal */
export class MutableRecordContext<K> implements RecordContext<K> {
  timestamp = 0;
  key: K = undefined as K;
}

/**
 * A stateless per-record operator: control elements pass in order; for each record the context is set and
 * `onRecord` runs; anything it throws fails the stream with a `UserFunctionError` naming `name` and the record.
 *
 * @internal shared by map, filter and flatMap.
 */
export function recordOperator<T, R, K>(
  name: string,
  onRecord: (record: StreamRecord<T, K>, ctx: RecordContext<K>, out: Subscriber<StreamElement<R, K>>) => void,
): OperatorFunction<StreamElement<T, K>, StreamElement<R, K>> {
  return operator<StreamElement<T, K>, StreamElement<R, K>>((source, out) => {
    const ctx = new MutableRecordContext<K>();
    return subscribeElements(source, out, (e) => {
      if (e?.kind !== 'record') {
        forwardControl(name, e, out);
        return;
      }
      ctx.timestamp = e.timestamp;
      ctx.key = e.key;
      try {
        onRecord(e, ctx, out);
      } catch (err) {
        failUserFunction(out, name, e, err);
      }
    });
  });
}
