import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { mergeWithValve, streamsAndOptions, type AnyStream, type KeyOf, type MergeOptions, type ValueOf } from '../src/partitioning/merge.js';

/**
 * The operator form of `mergeStreams` (as RxJS has `merge` and `mergeWith`): merges the source with `others`, with
 * Flink's watermark, idleness and barrier rules (docs/SEMANTICS.md §2.4, §8). Options go last: `{ mode:
 * 'at-least-once' }` lets records pass while a barrier is aligned; the default holds them back (exactly-once).
 *
 * @example
 * ```ts
 * import { eventTime, unionWith } from 'tidewater/operators';
 *
 * const all$ = slow$.pipe(eventTime((v) => v.at), unionWith(fast$.pipe(eventTime((v) => v.at))));
 * ```
 */
export function unionWith<T, K, S extends readonly AnyStream[]>(
  ...others: S
): OperatorFunction<StreamElement<T, K>, StreamElement<T | ValueOf<S[number]>, K | KeyOf<S[number]>>>;
export function unionWith<T, K, S extends readonly AnyStream[]>(
  ...args: [...others: S, options: MergeOptions]
): OperatorFunction<StreamElement<T, K>, StreamElement<T | ValueOf<S[number]>, K | KeyOf<S[number]>>>;
export function unionWith(...args: unknown[]): OperatorFunction<StreamElement<unknown, unknown>, StreamElement<unknown, unknown>> {
  const { streams, aligned } = streamsAndOptions(args, 'unionWith');
  return (source) => mergeWithValve([source, ...streams], aligned, true);
}
