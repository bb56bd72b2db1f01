import type { Observer } from 'rxjs';
import type { OutputTag } from '../elements/index.js';
/**
 * A window: the interval `[start, end)`. Every time rule uses its max timestamp `end - 1`
 * (the global window: `start = -Infinity`, `end = Infinity`, max timestamp `MAX_WATERMARK`).
 *
 * @example
 * ```ts
 * const w: TimeWindow = { start: 0, end: 60_000 }; // max timestamp 59 999
 * ```
 */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/**
 * The value of every window firing: key, window and result. The record carrying it has timestamp `end - 1`
 * (global window: `MAX_WATERMARK`).
 *
 * @example
 * ```ts
 * // { key: 'ann', window: { start: 0, end: 60000 }, value: 3 } at timestamp 59 999
 * clicks$.pipe(keyBy((c) => c.user), window(tumblingWindows(60_000)), aggregate(count()));
 * ```
 */
export interface WindowResult<K, R> {
  readonly key: K;
  readonly window: TimeWindow;
  readonly value: R;
}

/**
 * What `processWindow`'s function sees besides the elements.
 *
 * @example
 * ```ts
 * processWindow((els, ctx: WindowContext<string>) => `${ctx.key} ${ctx.window.start}: ${els.length}`);
 * ```
 */
export interface WindowContext<K> {
  readonly key: K;
  readonly window: TimeWindow;
  /** The watermark being processed when the firing came from a watermark; the current one otherwise. */
  readonly currentWatermark: number;
  readonly currentProcessingTime: number;
  /**
   * Sends a value to a side output (docs/SEMANTICS.md §14): a tag's stream gets it stamped like the window's results
   * (`end - 1`), in order with them; an observer (e.g. a Subject) gets it at once.
   */
  output<X>(side: OutputTag<X> | Observer<X>, value: X): void;
}

/** The max timestamp of a window: `end - 1`, or MAX for the global window. @internal */
export function maxTimestamp(w: TimeWindow): number {
  return w.end === Infinity ? Infinity : w.end - 1;
}

/**
 * The merge of the built-in `count()` and `sum()`: numeric addition. The slicing path folds windows of an aggregator
 * whose `merge` is this very function with `+` instead of a call per slice. @internal
 */
export const addMerge = (a: number, b: number): number => a + b;
