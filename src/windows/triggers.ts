import { MAX_WATERMARK } from '../elements/index.js';
import { ConfigurationError, describeValue } from '../errors/index.js';
import { notCalled, registerFactories } from '../errors/options.js';
import { durationProblem } from '../time/timestamps.js';
import { reducingState, type ReducingState, type ReducingStateDescriptor } from '../state/descriptors.js';
import { maxTimestamp, type TimeWindow } from './types.js';

/**
 * What a trigger decides (Flink's `TriggerResult`): `fire` evaluates the window and keeps its contents, `purge` drops
 * the contents without evaluating, `fire-and-purge` does both.
 *
 * @example
 * ```ts
 * const r: TriggerResult = 'fire';
 * ```
 */
export type TriggerResult = 'continue' | 'fire' | 'purge' | 'fire-and-purge';

/**
 * What a trigger can do for the window it is called for: read time, set and delete timers (scoped to the key and
 * window), and use its own per-window state (declared in `Trigger.state`).
 *
 * @example
 * ```ts
 * onElement(v, ts, w, ctx) { ctx.registerEventTimeTimer(w.end - 1); return 'continue'; }
 * ```
 */
export interface TriggerContext {
  readonly currentWatermark: number;
  readonly currentProcessingTime: number;
  registerEventTimeTimer(timestamp: number): void;
  registerProcessingTimeTimer(timestamp: number): void;
  deleteEventTimeTimer(timestamp: number): void;
  deleteProcessingTimeTimer(timestamp: number): void;
  /** The trigger's per-window state `name` (declared in `Trigger.state`). */
  state<V>(name: string): ReducingState<V>;
}

/**
 * The context of `onMerge`: also merges the trigger's per-window state of the merged windows into the new one.
 *
 * @example
 * ```ts
 * onMerge(w, ctx) { ctx.mergeState('count'); }
 * ```
 */
export interface OnMergeContext extends TriggerContext {
  mergeState(name: string): void;
}

/**
 * Decides when a window fires (Flink's `Trigger`). The built-ins cover Flink's; implement this for your own.
 *
 * @example
 * ```ts
 * // fire every element (and at the window end)
 * const eager: Trigger<unknown> = {
 *   canMerge: false,
 *   onElement: () => 'fire',
 *   onEventTime: (t, w) => (t === w.end - 1 ? 'fire' : 'continue'),
 *   onProcessingTime: () => 'continue',
 *   clear: () => {},
 * };
 * ```
 */
export interface Trigger<T> {
  /**
   * Names the built-ins (informational: the window operator recognises the built-in event-time trigger by identity,
   * so a trigger of your own is always called, whatever its `kind`).
   */
  readonly kind?: string;
  /** Per-window trigger state, by name: reducing states (e.g. a count, a next fire time). */
  readonly state?: Readonly<Record<string, ReducingStateDescriptor<number>>>;
  onElement(value: T, timestamp: number, window: TimeWindow, ctx: TriggerContext): TriggerResult;
  onEventTime(time: number, window: TimeWindow, ctx: TriggerContext): TriggerResult;
  onProcessingTime(time: number, window: TimeWindow, ctx: TriggerContext): TriggerResult;
  /** Whether the trigger supports merging (session) windows. */
  readonly canMerge: boolean;
  /**
   * Sets the trigger up for `window`, made by merging windows (register its timers again, merge their state into it
   * with `ctx.mergeState(name)`). Needed on merging (session) windows, as Flink's `Trigger.onMerge` is: a trigger
   * without it is refused there.
   */
  onMerge?(window: TimeWindow, ctx: OnMergeContext): void;
  /** Called when the window is cleaned up or merged away: delete timers and state. */
  clear(window: TimeWindow, ctx: TriggerContext): void;
}

/**
 * Fires when the watermark passes the window's max timestamp (the default for event-time windows). An element that
 * arrives for a window already at or below the watermark (allowed lateness) fires it again at once.
 *
 * @example
 * ```ts
 * window(tumblingWindows(1_000), { trigger: eventTimeTrigger(), allowedLateness: 5_000 });
 * ```
 */
export function eventTimeTrigger<T = unknown>(): Trigger<T> {
  return EVENT_TIME_TRIGGER as Trigger<T>;
}

/** The one built-in event-time trigger (stateless, so shared): the window operator recognises it by identity. */
const EVENT_TIME_TRIGGER: Trigger<unknown> = Object.freeze({
  kind: 'event-time',
  canMerge: true,
  onElement(_v: unknown, _ts: number, w: TimeWindow, ctx: TriggerContext): TriggerResult {
    const max = maxTimestamp(w);
    if (max <= ctx.currentWatermark) return 'fire';
    ctx.registerEventTimeTimer(max);
    return 'continue';
  },
  onEventTime: (t: number, w: TimeWindow): TriggerResult => (t === maxTimestamp(w) ? 'fire' : 'continue'),
  onProcessingTime: (): TriggerResult => 'continue',
  onMerge(w: TimeWindow, ctx: OnMergeContext): void {
    const max = maxTimestamp(w);
    if (max > ctx.currentWatermark) ctx.registerEventTimeTimer(max);
  },
  clear(w: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(maxTimestamp(w));
  },
});

/**
 * Whether `trigger` is the built-in {@link eventTimeTrigger} itself (whose rules the window operator may apply
 * without calling it), not any trigger whose `kind` says `'event-time'`.
 *
 * @internal
 */
export function isEventTimeTrigger(trigger: Trigger<unknown>): boolean {
  return trigger === EVENT_TIME_TRIGGER;
}

/**
 * Fires when the scheduler clock reaches the window's max timestamp (the default for processing-time windows).
 *
 * @example
 * ```ts
 * window(tumblingWindows(1_000, { time: 'processing' }), { trigger: processingTimeTrigger() });
 * ```
 */
export function processingTimeTrigger<T = unknown>(): Trigger<T> {
  return PROCESSING_TIME_TRIGGER as Trigger<T>;
}

/** The one built-in processing-time trigger (stateless, so shared): the window operator recognises it by identity. */
const PROCESSING_TIME_TRIGGER: Trigger<unknown> = Object.freeze({
  kind: 'processing-time',
  canMerge: true,
  onElement(_v: unknown, _ts: number, w: TimeWindow, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(maxTimestamp(w));
    return 'continue';
  },
  onEventTime: (): TriggerResult => 'continue',
  onProcessingTime: (): TriggerResult => 'fire',
  onMerge(w: TimeWindow, ctx: OnMergeContext): void {
    const max = maxTimestamp(w);
    if (max > ctx.currentProcessingTime) ctx.registerProcessingTimeTimer(max);
  },
  clear(w: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(maxTimestamp(w));
  },
});

/**
 * Whether `trigger` is the built-in {@link processingTimeTrigger} itself, not any trigger whose `kind` says
 * `'processing-time'`.
 *
 * @internal
 */
export function isProcessingTimeTrigger(trigger: Trigger<unknown>): boolean {
  return trigger === PROCESSING_TIME_TRIGGER;
}

const sumState = (): ReducingStateDescriptor<number> => reducingState((a: number, b: number) => a + b);
const minState = (): ReducingStateDescriptor<number> => reducingState((a: number, b: number) => Math.min(a, b));

/**
 * Fires every `n` elements of a window (FIRE, not purge: contents accumulate; wrap in `purging` for tumbling counts).
 * It replaces the time trigger, so the window no longer fires at its end; its cleanup still runs and drops an unfired
 * remainder. Counts of merged session windows add up.
 *
 * @example
 * ```ts
 * window(globalWindows(), { trigger: purging(countTrigger(100)) });
 * ```
 */
export function countTrigger<T = unknown>(n: number): Trigger<T> {
  if (!Number.isInteger(n) || n < 1) throw new ConfigurationError('countTrigger', n, `countTrigger: n ${describeValue(n)} must be an integer >= 1.`);
  return {
    kind: 'count',
    state: { count: sumState() },
    canMerge: true,
    onElement(_v, _ts, _w, ctx) {
      const count = ctx.state<number>('count');
      count.add(1);
      if ((count.get() ?? 0) >= n) {
        count.clear();
        return 'fire';
      }
      return 'continue';
    },
    onEventTime: () => 'continue',
    onProcessingTime: () => 'continue',
    onMerge(_w, ctx) {
      ctx.mergeState('count');
    },
    clear(_w, ctx) {
      ctx.state<number>('count').clear();
    },
  };
}

/**
 * Fires every `interval` ms of event time while the window is open, and at its end (Flink's
 * `ContinuousEventTimeTrigger`, with the next firing clamped to the window's max timestamp). Every firing is
 * cumulative and stamped with the window's max timestamp. At the end of input (`MAX_WATERMARK`) a window fires at each
 * firing time left up to its end, as in Flink — but the global window, which has no end, fires once there (Flink would
 * schedule firings towards Long.MAX). On a bounded input that ends early in a long window this is many equal results:
 * a 1-day window, interval 1 s, input ending 5 s in gives 86 395 per key. `interval` is a whole number of ms from 1 to
 * `MAX_WINDOW_SIZE`; anything else throws `ConfigurationError`.
 *
 * @example
 * ```ts
 * // an hourly count, updated every minute
 * window(tumblingWindows(3_600_000), { trigger: continuousEventTimeTrigger(60_000) });
 * ```
 */
export function continuousEventTimeTrigger<T = unknown>(interval: number): Trigger<T> {
  // whole milliseconds up to MAX_WINDOW_SIZE, as window sizes (docs/SEMANTICS.md §2.8): near the ends of the range of
  // timestamps a fraction would not advance `t + interval`, re-firing at the same time forever
  const problem = durationProblem(
    interval,
    'trigger intervals',
    "beyond which firing times are no longer exact; use endOfStreamTrigger() or the window's own trigger for a firing at its end.",
  );
  if (problem !== undefined) throw new ConfigurationError('continuousEventTimeTrigger', interval, `continuousEventTimeTrigger: interval ${describeValue(interval)} ${problem}`);
  return {
    kind: 'continuous-event-time',
    state: { 'fire-time': minState() },
    canMerge: true,
    onElement(_v, ts, w, ctx) {
      const max = maxTimestamp(w);
      if (max <= ctx.currentWatermark) return 'fire';
      ctx.registerEventTimeTimer(max);
      const fireTime = ctx.state<number>('fire-time');
      if (fireTime.get() === undefined) {
        const start = ts - (ts % interval);
        const next = Math.min(start + interval, max);
        fireTime.add(next);
        ctx.registerEventTimeTimer(next);
      }
      return 'continue';
    },
    onEventTime(t, w, ctx) {
      const max = maxTimestamp(w);
      if (t === max) return 'fire';
      const fireTime = ctx.state<number>('fire-time');
      if (fireTime.get() !== t) return 'continue';
      fireTime.clear();
      // end of input in a window without end (the global window): its timer at MAX fires it once; Flink would go on
      // scheduling firings towards Long.MAX_VALUE (a window with an end fires at each time up to it, as in Flink)
      if (ctx.currentWatermark === MAX_WATERMARK && max === MAX_WATERMARK) return 'continue';
      const next = Math.min(t + interval, max);
      fireTime.add(next);
      ctx.registerEventTimeTimer(next);
      return 'fire';
    },
    onProcessingTime: () => 'continue',
    onMerge(w, ctx) {
      ctx.mergeState('fire-time');
      const next = ctx.state<number>('fire-time').get();
      if (next !== undefined) ctx.registerEventTimeTimer(next);
      const max = maxTimestamp(w);
      if (max > ctx.currentWatermark) ctx.registerEventTimeTimer(max);
    },
    clear(_w, ctx) {
      const fireTime = ctx.state<number>('fire-time');
      const t = fireTime.get();
      if (t !== undefined) ctx.deleteEventTimeTimer(t);
      fireTime.clear();
    },
  };
}

/**
 * Turns every firing of `trigger` into fire-and-purge: each firing emits only what arrived since the previous one.
 *
 * @example
 * ```ts
 * window(globalWindows(), { trigger: purging(countTrigger(10)) }); // non-overlapping batches of 10
 * ```
 */
export function purging<T>(trigger: Trigger<T>): Trigger<T> {
  const purge = (r: TriggerResult): TriggerResult => (r === 'fire' ? 'fire-and-purge' : r);
  const onMerge = trigger.onMerge;
  return {
    kind: `purging(${trigger.kind ?? 'custom'})`,
    canMerge: trigger.canMerge,
    ...(trigger.state !== undefined ? { state: trigger.state } : {}),
    onElement: (v, ts, w, ctx) => purge(trigger.onElement(v, ts, w, ctx)),
    onEventTime: (time, w, ctx) => purge(trigger.onEventTime(time, w, ctx)),
    onProcessingTime: (time, w, ctx) => purge(trigger.onProcessingTime(time, w, ctx)),
    ...(onMerge !== undefined ? { onMerge: (w: TimeWindow, ctx: OnMergeContext) => onMerge.call(trigger, w, ctx) } : {}),
    clear: (w, ctx) => trigger.clear(w, ctx),
  };
}

/**
 * Never fires (the default of `globalWindows()`): no output, not even at end of input.
 *
 * @example
 * ```ts
 * window(globalWindows(), { trigger: neverTrigger() });
 * ```
 */
export function neverTrigger<T = unknown>(): Trigger<T> {
  return {
    kind: 'never',
    canMerge: true,
    onElement: () => 'continue',
    onEventTime: () => 'continue',
    onProcessingTime: () => 'continue',
    onMerge() {},
    clear() {},
  };
}

/**
 * Fires once, on the end-of-input watermark `MAX_WATERMARK` (Flink's `GlobalWindows.createWithEndOfStreamTrigger`).
 *
 * @example
 * ```ts
 * window(globalWindows(), { trigger: endOfStreamTrigger() }); // one result per key when the input ends
 * ```
 */
export function endOfStreamTrigger<T = unknown>(): Trigger<T> {
  return {
    kind: 'end-of-stream',
    canMerge: true,
    onElement(_v, _ts, _w, ctx) {
      ctx.registerEventTimeTimer(MAX_WATERMARK);
      return 'continue';
    },
    onEventTime: (t) => (t === MAX_WATERMARK ? 'fire' : 'continue'),
    onProcessingTime: () => 'continue',
    onMerge(_w, ctx) {
      ctx.registerEventTimeTimer(MAX_WATERMARK);
    },
    clear(_w, ctx) {
      ctx.deleteEventTimeTimer(MAX_WATERMARK);
    },
  };
}

/**
 * Refuses what is not a trigger where `op` (`window`, `windowJoin`, `coGroup`) is given one: a factory not called, an
 * object without `onElement`, `onEventTime`, `onProcessingTime` and `clear`.
 *
 * @example
 * ```ts
 * checkTrigger('window', countTrigger(3)); // passes
 * checkTrigger('window', countTrigger); // throws: call it, e.g. countTrigger(…)
 * ```
 * @internal
 */
export function checkTrigger(op: string, trigger: unknown): void {
  if (typeof trigger === 'function') throw notCalled(op, 'trigger', trigger, 'countTrigger(100)');
  const t = trigger as Partial<Trigger<unknown>> | null;
  const missing = typeof t !== 'object' || t === null ? undefined : (['onElement', 'onEventTime', 'onProcessingTime', 'clear'] as const).filter((m) => typeof t[m] !== 'function');
  if (missing === undefined || missing.length > 0) {
    throw new ConfigurationError(
      op,
      trigger,
      `${op}: the trigger ${describeValue(trigger)} is not a trigger${missing === undefined ? '' : ` (it has no ${missing.join(', ')})`}; give eventTimeTrigger(), countTrigger(n), purging(trigger), … or an object with onElement, onEventTime, onProcessingTime and clear.`,
    );
  }
}

registerFactories('trigger', [
  [eventTimeTrigger, 'eventTimeTrigger()'],
  [processingTimeTrigger, 'processingTimeTrigger()'],
  [countTrigger, 'countTrigger(100)'],
  [continuousEventTimeTrigger, 'continuousEventTimeTrigger(1_000)'],
  [purging, 'purging(countTrigger(100))'],
  [neverTrigger, 'neverTrigger()'],
  [endOfStreamTrigger, 'endOfStreamTrigger()'],
]);
