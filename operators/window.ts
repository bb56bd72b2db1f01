import { Observable, type OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { ConfigurationError } from '../src/errors/index.js';
import { checkOptionKeys } from '../src/errors/options.js';
import { checkTrigger } from '../src/windows/triggers.js';
import { checkAssigner, type WindowAssigner } from '../src/windows/assigners.js';
import type { WindowOperatorOptions } from '../src/windows/windowOperatorBase.js';

declare const WINDOWED: unique symbol;

/**
 * The element type of a windowed stream: only a window function (`reduce`, `aggregate`, `processWindow`) can follow
 * `window(...)`; the compiler rejects anything else there.
 *
 * @example
 * ```ts
 * const w: OperatorFunction<StreamElement<Click, string>, Windowed<Click, string>> = window(tumblingWindows(1_000));
 * ```
 */
export interface Windowed<T, K> {
  readonly [WINDOWED]: { readonly value: T; readonly key: K };
}

/** @internal what `window(...)` hands to the window function that follows it. */
export class WindowedObservable<T, K> extends Observable<Windowed<T, K>> {
  constructor(
    readonly upstream: Observable<StreamElement<T, K>>,
    readonly assigner: WindowAssigner<T>,
    readonly options: WindowOperatorOptions<T, K>,
  ) {
    super((subscriber) => {
      subscriber.error(
        new ConfigurationError('window', undefined, 'window(...) must be followed directly by reduce(...), aggregate(...) or processWindow(...).'),
      );
    });
  }
}

/**
 * Groups a keyed stream into windows; a window function (`reduce`, `aggregate`, `processWindow`) must follow.
 * Windows follow Flink's rules exactly: `[start, end)` with max timestamp `end - 1`, firing by trigger (default:
 * when the watermark passes the max timestamp), allowed lateness with late firings, cleanup at
 * `end - 1 + allowedLateness`. Records too late for every window go to `lateData` when given; otherwise they are
 * dropped, counted in the `lateRecordsDropped` metric and warned about once — never silently.
 *
 * @example
 * ```ts
 * import { Subject } from 'rxjs';
 * import { count, tumblingWindows, type StreamRecord } from 'tidewater';
 * import { aggregate, keyBy, window } from 'tidewater/operators';
 *
 * const late = new Subject<StreamRecord<Click, string>>();
 * clicks$.pipe(
 *   keyBy((c) => c.page),
 *   window(tumblingWindows(60_000), { allowedLateness: 10_000, lateData: late }),
 *   aggregate(count()),
 * ); // { key: '/cart', window: { start: 0, end: 60000 }, value: 12 } at 59 999, …
 * ```
 */
export function window<T, K>(
  assigner: WindowAssigner<NoInfer<T>>,
  options: WindowOperatorOptions<NoInfer<T>, NoInfer<K>> = {},
): OperatorFunction<StreamElement<T, K>, Windowed<T, K>> {
  checkAssigner('window', assigner);
  checkOptionKeys('window', 'the options', options, WINDOW_OPTIONS);
  if (options.trigger !== undefined) checkTrigger('window', options.trigger);
  return (source) => new WindowedObservable<T, K>(source, assigner, options);
}

const WINDOW_OPTIONS = ['trigger', 'allowedLateness', 'lateData', 'name'] as const satisfies readonly (keyof WindowOperatorOptions<unknown, unknown>)[];
