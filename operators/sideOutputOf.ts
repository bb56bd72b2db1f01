import type { OperatorFunction } from 'rxjs';
import { isOutputTag, type OutputTag, type StreamElement } from '../src/elements/index.js';
import { isControlElement, operator, subscribeElements } from '../src/elements/plumbing.js';
import { ConfigurationError, describeValue, NotAStreamElementError } from '../src/errors/index.js';

/**
 * The stream of side output `tag` (Flink's `getSideOutput(tag)`), taken from a stream its records travel in: each
 * side record of `tag` becomes an unkeyed record (its value and timestamp), and the main output's watermarks, status
 * and barriers come along in their places (docs/SEMANTICS.md §14), so the side stream can be piped on — windows,
 * joins, a checkpointed job. Main records and other side outputs are left out. Subscribe the main and the side
 * streams through one shared subscription (`share()`), as with any RxJS stream split in two; in a job, name the sink
 * instead: `runJob({ sinks: { main, [tag.name]: sink } })`.
 *
 * @example
 * ```ts
 * import { share } from 'rxjs';
 * import { sideOutput } from 'tidewater';
 * import { keyBy, process, sideOutputOf, values } from 'tidewater/operators';
 *
 * const rejected = sideOutput<Order>('rejected');
 * const checked$ = orders$.pipe(
 *   keyBy((o) => o.user),
 *   process({ name: 'check', onElement(o, ctx) { if (o.total < 0) ctx.output(rejected, o); else ctx.emit(o); } }),
 *   share(),
 * );
 * checked$.pipe(values()).subscribe(store);                          // the main output
 * checked$.pipe(sideOutputOf(rejected), values()).subscribe(alert); // the rejected orders
 * ```
 */
export function sideOutputOf<T, I = unknown, K = unknown>(tag: OutputTag<T>): OperatorFunction<StreamElement<I, K>, StreamElement<T, undefined>> {
  if (!isOutputTag(tag)) {
    throw new ConfigurationError('sideOutputOf', tag, `sideOutputOf(${describeValue(tag)}): pass a tag made with sideOutput<T>(name).`);
  }
  const name = tag.name;
  return operator<StreamElement<I, K>, StreamElement<T, undefined>>((source, out) =>
    subscribeElements(source, out, (e) => {
      if (e?.kind === 'record') return; // the main output's
      if (e?.kind === 'side') {
        if (e.tag === name) out.next({ kind: 'record', value: e.value as T, timestamp: e.timestamp, key: undefined });
      } else if (isControlElement(e)) out.next(e);
      else out.error(new NotAStreamElementError('sideOutputOf', e));
    }),
  );
}
