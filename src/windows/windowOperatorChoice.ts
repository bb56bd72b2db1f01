import { ConfigurationError } from '../errors/index.js';
import type { CoreArgs } from '../core/keyedOperator.js';
import type { WindowAssigner } from './assigners.js';
import { SessionWindowOperatorCore, takesSessions } from './sessionWindowOperator.js';
import { sliceGridOf, SlicingWindowOperatorCore } from './slicingWindowOperator.js';
import type { WindowResult } from './types.js';
import { WindowOperatorCore } from './windowOperator.js';
import type { WindowFunction, WindowOperatorBase, WindowOperatorOptions } from './windowOperatorBase.js';

/**
 * Which window operator a window function builds: `'auto'` (the default) the slicing one for the windows it takes
 * (aligned event-time windows on the built-in event-time trigger, processing-time tumbling windows on the built-in
 * processing-time trigger: see `sliceGridOf`), the session one for the sessions it takes (`takesSessions`) and the
 * general one for the rest; `'general'`, `'slicing'` or `'sessions'` force one (for tests comparing them; `'slicing'`
 * and `'sessions'` fail the stream with a {@link ConfigurationError} for windows they cannot take).
 *
 * @example
 * ```ts
 * windowFunction({ kind: 'aggregate', aggregator: count(), name: 'aggregate' }, 'general');
 * ```
 *
 * @internal
 */
export type WindowOperatorChoice = 'auto' | 'general' | 'slicing' | 'sessions';

/**
 * Builds the window operator for `window(...)`'s assigner and options and a window function: the choice between the
 * general and the slicing operator is made here (docs/ARCHITECTURE.md, "One record, end to end").
 *
 * @example
 * ```ts
 * keyedOperator('window', options.name, (args) => windowOperatorOf(args, assigner, options, fn));
 * ```
 *
 * @internal
 */
export function windowOperatorOf<T, K, R>(
  args: CoreArgs<WindowResult<K, R>>,
  assigner: WindowAssigner<T>,
  options: WindowOperatorOptions<T, K>,
  fn: WindowFunction<T, K, R>,
  choice: WindowOperatorChoice = 'auto',
): WindowOperatorBase<T, K, R> {
  const trigger = options.trigger ?? assigner.defaultTrigger();
  const grid = choice === 'general' || choice === 'sessions' ? undefined : sliceGridOf(assigner, trigger, fn);
  if (grid !== undefined) return new SlicingWindowOperatorCore<T, K, R>(args, assigner, options, fn, grid);
  if ((choice === 'auto' || choice === 'sessions') && takesSessions(assigner, trigger, options.allowedLateness ?? 0, fn)) {
    return new SessionWindowOperatorCore<T, K, R>(args, assigner, options, fn);
  }
  if (choice === 'sessions') {
    throw new ConfigurationError(
      args.name,
      assigner.kind,
      `${args.name}: the session window operator takes only event-time session windows with a fixed gap on the event-time trigger, without allowed lateness, with a mergeable, order-insensitive aggregator; use the default operator choice.`,
    );
  }
  if (choice === 'slicing') {
    throw new ConfigurationError(
      args.name,
      assigner.kind,
      `${args.name}: the slicing window operator takes only event-time tumbling and sliding windows on the event-time trigger (sliding: with a mergeable, order-insensitive aggregator) and processing-time tumbling windows on the processing-time trigger; use the default operator choice.`,
    );
  }
  return new WindowOperatorCore<T, K, R>(args, assigner, options, fn);
}

