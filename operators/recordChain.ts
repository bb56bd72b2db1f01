// Chains of stateless record operators (`map`, `filter`, `keyBy`) run by one subscriber (docs/ARCHITECTURE.md,
// "One record, end to end"): as Flink chains operators into one task, `source.pipe(filter(f), keyBy(k), map(m))`
// subscribes upstream once and runs f, k and m in a row on each record's value, key and timestamp, making one record
// object at the end instead of one per operator. Each stage keeps its own operator's behaviour: its name in errors,
// the record it was given, control elements in order.
import { Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';
import { runtimeOf } from '../src/core/runtime.js';
import { record, type StreamElement } from '../src/elements/index.js';
import { failUserFunction, forwardControl, OperatorObservable, subscribeElements } from '../src/elements/plumbing.js';
import { InvalidKeyError } from '../src/errors/index.js';
import { isKey } from '../src/keys/validate.js';
import { MutableRecordContext, type RecordContext } from './context.js';

/**
 * One stage of a chain: what its operator does to a record's value (`map`), whether it keeps it (`filter`) or its key
 * (`keyBy`), and the operator alone (run instead of the chain when the chain cannot run as one: a `keyBy` inside
 * `parallel` or a cluster stage, whose records cross an exchange).
 *
 * @example
 * ```ts
 * const double = (v: unknown) => (v as number) * 2;
 * const stage: RecordStage = {
 *   kind: 'map',
 *   name: 'map',
 *   fn: double,
 *   alone: () => recordOperator('map', (e, _ctx, out) => out.next({ kind: 'record', value: double(e.value), timestamp: e.timestamp, key: e.key })),
 * };
 * ```
 *
 * @internal
 */
export type RecordStage =
  | { readonly kind: 'map'; readonly name: string; readonly fn: (value: unknown, ctx: RecordContext<unknown>) => unknown; readonly alone: () => AnyOperator }
  | { readonly kind: 'filter'; readonly name: string; readonly fn: (value: unknown, ctx: RecordContext<unknown>) => boolean; readonly alone: () => AnyOperator }
  | { readonly kind: 'keyBy'; readonly name: string; readonly fn: (value: unknown) => unknown; readonly alone: () => AnyOperator };

type AnyOperator = OperatorFunction<StreamElement<unknown, unknown>, StreamElement<unknown, unknown>>;

/** The observable of a chain: the stages after `upstream`, run by one subscriber. */
class RecordChainObservable extends OperatorObservable<StreamElement<unknown, unknown>> {
  constructor(
    readonly upstream: Observable<StreamElement<unknown, unknown>>,
    readonly stages: readonly RecordStage[],
  ) {
    super((out) => runChain(upstream, stages, out));
  }
}

/**
 * The operator of one stage: applied to a chain's observable, a longer chain over the same upstream (the shorter one
 * stays usable on its own); applied to anything else, a chain of one.
 *
 * @example
 * ```ts
 * export const map = (fn) => chainedRecordOperator({ kind: 'map', name: 'map', fn, alone: () => mapAlone(fn) });
 * ```
 *
 * @internal
 */
export function chainedRecordOperator<T, R, K, L>(stage: RecordStage): OperatorFunction<StreamElement<T, K>, StreamElement<R, L>> {
  return ((source: Observable<StreamElement<unknown, unknown>>) =>
    source instanceof RecordChainObservable
      ? new RecordChainObservable(source.upstream, [...source.stages, stage])
      : new RecordChainObservable(source, [stage])) as unknown as OperatorFunction<StreamElement<T, K>, StreamElement<R, L>>;
}

/** Subscribes a chain: one subscriber running every stage; or, when a `keyBy` must reach an exchange, each operator alone. */
function runChain(upstream: Observable<StreamElement<unknown, unknown>>, stages: readonly RecordStage[], out: Subscriber<StreamElement<unknown, unknown>>): Subscription {
  if (stages.some((s) => s.kind === 'keyBy') && runtimeOf(out)?.exchange !== undefined) {
    let stream = upstream;
    for (const s of stages) stream = s.alone()(stream);
    return stream.subscribe(out);
  }
  const ctx = new MutableRecordContext<unknown>();
  const n = stages.length;
  const first = (stages[0] as RecordStage).name;
  return subscribeElements(upstream, out, (e) => {
    if (e?.kind !== 'record') {
      forwardControl(first, e, out);
      return;
    }
    const timestamp = e.timestamp;
    let value = e.value;
    let key = e.key;
    // `e` itself while only filters ran (a filter passes its record on as it is)
    let same = true;
    // the last map or filter stage and the record it was given: alone, it would have called the downstream's `next`
    // (a keyBy's `next` throws through it), so an error thrown there is its (-1: only keyBys, the error goes up)
    let nextStage = -1;
    let nextValue: unknown;
    let nextKey: unknown;
    let nextSame = true;
    let i = 0;
    try {
      for (; i < n; i++) {
        const s = stages[i] as RecordStage;
        if (s.kind === 'keyBy') {
          const k = s.fn(value);
          if (!isKey(k)) {
            out.error(new InvalidKeyError(s.name, k, value));
            return;
          }
          key = k;
          same = false;
        } else {
          nextStage = i;
          nextValue = value;
          nextKey = key;
          nextSame = same;
          // set before each call, as each operator alone sets its own: a function that pushes a record into the
          // source re-enters this handler, which sets it for that record
          ctx.timestamp = timestamp;
          ctx.key = key;
          if (s.kind === 'filter') {
            if (!s.fn(value, ctx)) return;
          } else {
            value = s.fn(value, ctx);
            same = false;
          }
        }
        // the downstream stopped (or the stream failed) during the call: alone, the later operators would be stopped
        if (out.closed) return;
      }
    } catch (err) {
      failUserFunction(out, (stages[i] as RecordStage).name, same ? e : record(value, timestamp, key), err);
      return;
    }
    try {
      out.next(same ? e : { kind: 'record', value, timestamp, key });
    } catch (err) {
      if (nextStage < 0) throw err;
      failUserFunction(out, (stages[nextStage] as RecordStage).name, nextSame ? e : record(nextValue, timestamp, nextKey), err);
    }
  });
}
