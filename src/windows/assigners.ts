import { ConfigurationError, describeValue } from '../errors/index.js';
import type { Namespace } from '../state/backend.js';
import { eventTimeTrigger, neverTrigger, processingTimeTrigger, type Trigger } from './triggers.js';
import { notCalled, registerFactories } from '../errors/options.js';
import type { TimeWindow } from './types.js';
import { checkTimestamp, durationProblem, isTimestamp, MAX_OPERATOR_TIMESTAMP, notWholeMs } from '../time/timestamps.js';

/**
 * Assigns elements to windows (Flink's `WindowAssigner`). Made by {@link tumblingWindows}, {@link slidingWindows},
 * {@link sessionWindows} and {@link globalWindows}.
 *
 * @example
 * ```ts
 * const a: WindowAssigner<Click> = tumblingWindows(60_000);
 * a.assign(click, 61_000, 0); // [{ start: 60000, end: 120000 }]
 * ```
 */
export interface WindowAssigner<T> {
  readonly kind: 'tumbling' | 'sliding' | 'session' | 'global';
  /** Event-time assigners decide lateness and clean up on watermarks; processing-time ones on the clock. */
  readonly isEventTime: boolean;
  /** Session windows merge. */
  readonly merging: boolean;
  /** Windows of an element, in the order Flink processes them (sliding: descending start). */
  assign(value: T, timestamp: number, processingTime: number): TimeWindow[];
  /** The trigger used when `window(...)` is given none. */
  defaultTrigger(): Trigger<T>;
  /** @internal the state namespace of a window, and back */
  namespaceOf(w: TimeWindow): Namespace;
  /** @internal */
  windowOf(ns: Namespace): TimeWindow;
  /** Sliding only: size and slide (for the pane optimisation). */
  readonly size?: number;
  readonly slide?: number;
  readonly offset?: number;
  /** Session windows with a fixed gap: the gap (for the session operator). */
  readonly gap?: number;
}

/**
 * Options of the time-window assigners.
 *
 * @example
 * ```ts
 * tumblingWindows(86_400_000, { offset: -8 * 3_600_000 }); // days starting at midnight UTC+8
 * tumblingWindows(1_000, { time: 'processing' });
 * ```
 */
export interface WindowOptions {
  /** Shifts the window grid (|offset| < size, or < slide for sliding windows). */
  readonly offset?: number;
  /** `'processing'`: windows by the scheduler clock at arrival instead of event time. */
  readonly time?: 'event' | 'processing';
}

/**
 * Flink's `TimeWindow.getWindowStartWithOffset`: floors a timestamp to the grid `offset + k·size` (negative
 * timestamps round down too).
 *
 * @example
 * ```ts
 * windowStart(1500, 0, 1000);  // 1000
 * windowStart(-1, 0, 1000);    // -1000
 * windowStart(50, 100, 1000);  // -900
 * ```
 */
export function windowStart(ts: number, offset: number, size: number): number {
  // in the shifted space: `x − r` is an exact multiple of `size`, so a fractional timestamp stays on the grid (taking
  // `r` from `x` and subtracting it from `ts` left it off the grid by the rounding of `ts − offset`)
  const x = ts - offset;
  const r = x % size;
  return (r < 0 ? x - r - size : x - r) + offset;
}

/** What window sizes, slides and gaps are, and what to do about one above MAX_WINDOW_SIZE (docs/SEMANTICS.md §2.8). */
const SIZES = 'window sizes, slides and gaps';
const BEYOND = 'beyond which window ends are no longer exact; use globalWindows() with a trigger for unbounded windows.';

/** A size, slide or fixed gap: a whole number of ms from 1 to MAX_WINDOW_SIZE, or a ConfigurationError naming the assigner. */
function positive(op: string, name: string, v: unknown): number {
  const problem = durationProblem(v, SIZES, BEYOND);
  if (problem !== undefined) throw new ConfigurationError(op, v, `${op}: ${name} ${describeValue(v)} ${problem}`);
  return v as number;
}

function offsetOf(op: string, opts: WindowOptions, limit: number, limitName: string): number {
  const offset = opts.offset ?? 0;
  if (typeof offset !== 'number' || !Number.isFinite(offset) || Math.abs(offset) >= limit) {
    throw new ConfigurationError(op, offset, `${op}: offset ${describeValue(offset)} must satisfy |offset| < ${limitName} (${limit}).`);
  }
  if (!Number.isSafeInteger(offset)) throw new ConfigurationError(op, offset, `${op}: offset ${describeValue(offset)} ${notWholeMs(offset, 'window offsets', Math.trunc(offset) || 0)}`);
  return offset;
}

function timeOf(op: string, opts: WindowOptions): boolean {
  const t = opts.time ?? 'event';
  if (t !== 'event' && t !== 'processing') throw new ConfigurationError(op, t, `${op}: time must be 'event' or 'processing'.`);
  return t === 'event';
}

function checkTs(op: string, ts: number, value: unknown): void {
  // (a window result's timestamp, end - 1, may lie past MAX_TIMESTAMP: windows of windows take the operator bound)
  if (!isTimestamp(ts, MAX_OPERATOR_TIMESTAMP)) {
    checkTimestamp(op, ts, value, 'Window assignment needs finite timestamps: stamp records with eventTime(...) first.', false, MAX_OPERATOR_TIMESTAMP);
  }
}

/**
 * Tumbling windows: fixed-size, non-overlapping `[start, start + size)`, with
 * `start = ts - ((ts - offset) mod size)` (floor, so negative timestamps round down). Default trigger: event time
 * (processing time with `{ time: 'processing' }`).
 *
 * @example
 * ```ts
 * clicks$.pipe(keyBy((c) => c.page), window(tumblingWindows(60_000)), aggregate(count()));
 * ```
 */
export function tumblingWindows<T = unknown>(size: number, opts: WindowOptions = {}): WindowAssigner<T> {
  const op = 'tumblingWindows';
  positive(op, 'size', size);
  const offset = offsetOf(op, opts, size, 'size');
  const eventTime = timeOf(op, opts);
  return {
    kind: 'tumbling',
    isEventTime: eventTime,
    merging: false,
    size,
    slide: size,
    offset,
    assign(value, timestamp, processingTime) {
      const ts = eventTime ? timestamp : processingTime;
      checkTs(op, ts, value);
      const start = windowStart(ts, offset, size);
      return [{ start, end: start + size }];
    },
    defaultTrigger: () => (eventTime ? eventTimeTrigger() : processingTimeTrigger()),
    namespaceOf: (w) => w.start,
    windowOf: (ns) => ({ start: ns as number, end: (ns as number) + size }),
  };
}

/**
 * Sliding windows of `size`, one starting every `slide`: an element belongs to every window `[st, st + size)` with
 * `st` on the slide grid and `st > ts - size`, processed in descending start order. Requires |offset| < slide.
 *
 * @example
 * ```ts
 * // a 1-minute average, updated every 10 seconds
 * readings$.pipe(keyBy((r) => r.sensor), window(slidingWindows(60_000, 10_000)), aggregate(mean((r) => r.value)));
 * ```
 */
export function slidingWindows<T = unknown>(size: number, slide: number, opts: WindowOptions = {}): WindowAssigner<T> {
  const op = 'slidingWindows';
  positive(op, 'size', size);
  positive(op, 'slide', slide);
  if (size / slide > 10_000_000) throw new ConfigurationError(op, size / slide, `${op}: size / slide must be <= 10 000 000.`);
  const offset = offsetOf(op, opts, slide, 'slide');
  const eventTime = timeOf(op, opts);
  return {
    kind: 'sliding',
    isEventTime: eventTime,
    merging: false,
    size,
    slide,
    offset,
    assign(value, timestamp, processingTime) {
      const ts = eventTime ? timestamp : processingTime;
      checkTs(op, ts, value);
      const out: TimeWindow[] = [];
      for (let st = windowStart(ts, offset, slide); st > ts - size; st -= slide) out.push({ start: st, end: st + size });
      return out;
    },
    defaultTrigger: () => (eventTime ? eventTimeTrigger() : processingTimeTrigger()),
    namespaceOf: (w) => w.start,
    windowOf: (ns) => ({ start: ns as number, end: (ns as number) + size }),
  };
}

/**
 * Session windows: each element opens `[ts, ts + gap)` and windows that overlap **or touch** merge (two elements
 * exactly `gap` apart share a session). `gap` may be a function of the element (dynamic gap); fixed or dynamic, a gap is
 * a whole number of ms from 1 to MAX_WINDOW_SIZE (a dynamic one that is not fails the stream with ConfigurationError).
 *
 * @example
 * ```ts
 * clicks$.pipe(keyBy((c) => c.user), window(sessionWindows(30 * 60_000)), aggregate(count()));
 * ```
 */
export function sessionWindows<T = unknown>(gap: number | ((value: T) => number), opts: Pick<WindowOptions, 'time'> = {}): WindowAssigner<T> {
  const op = 'sessionWindows';
  if (typeof gap !== 'function') positive(op, 'gap', gap);
  const eventTime = timeOf(op, opts);
  return {
    kind: 'session',
    isEventTime: eventTime,
    merging: true,
    ...(typeof gap === 'function' ? {} : { gap }),
    assign(value, timestamp, processingTime) {
      const ts = eventTime ? timestamp : processingTime;
      checkTs(op, ts, value);
      if (typeof gap !== 'function') return [{ start: ts, end: ts + gap }];
      // a dynamic gap: the rule of a fixed one, checked per element (docs/SEMANTICS.md §2.8); fails the stream
      const g = gap(value);
      const problem = durationProblem(g, SIZES, BEYOND);
      if (problem !== undefined) throw new ConfigurationError(op, g, `${op}: the dynamic gap ${describeValue(g)} of the element ${describeValue(value)} at ${ts} ${problem}`);
      return [{ start: ts, end: ts + g }];
    },
    defaultTrigger: () => (eventTime ? eventTimeTrigger() : processingTimeTrigger()),
    namespaceOf: (w) => `${w.start},${w.end}`,
    windowOf: (ns) => {
      const [a, b] = String(ns).split(',');
      return { start: Number(a), end: Number(b) };
    },
  };
}

const GLOBAL: TimeWindow = Object.freeze({ start: -Infinity, end: Infinity });

/**
 * One window for everything (per key), max timestamp `MAX_WATERMARK`. Default trigger: `neverTrigger()` — no
 * output at all, not even at end of input; give a trigger (`countTrigger(n)`, `endOfStreamTrigger()`, …).
 * Nothing is ever late and there is no cleanup. The window has no time: `{ time }` is accepted as by the other
 * assigners (and checked), and changes nothing — the trigger decides which clock, if any, fires it.
 *
 * @example
 * ```ts
 * // every 100 elements of a key
 * events$.pipe(keyBy((e) => e.device), window(globalWindows(), { trigger: purging(countTrigger(100)) }), aggregate(count()));
 * ```
 */
export function globalWindows<T = unknown>(opts: Pick<WindowOptions, 'time'> = {}): WindowAssigner<T> {
  timeOf('globalWindows', opts);
  return {
    kind: 'global',
    isEventTime: false,
    merging: false,
    assign: () => [GLOBAL],
    defaultTrigger: () => neverTrigger(),
    namespaceOf: () => 'g',
    windowOf: () => GLOBAL,
  };
}

/**
 * Refuses what is not a window assigner where `op` (`window`, `windowJoin`, `coGroup`) is given one: a factory not
 * called (`tumblingWindows` for `tumblingWindows(60_000)`), anything without `assign` and `defaultTrigger`.
 *
 * @example
 * ```ts
 * checkAssigner('window', tumblingWindows(60_000)); // passes
 * checkAssigner('window', tumblingWindows); // throws: call it, e.g. tumblingWindows(…)
 * ```
 * @internal
 */
export function checkAssigner(op: string, assigner: unknown): void {
  if (typeof assigner === 'function') throw notCalled(op, 'window assigner', assigner, 'tumblingWindows(60_000)');
  const a = assigner as Partial<WindowAssigner<unknown>> | null;
  if (typeof a !== 'object' || a === null || typeof a.assign !== 'function' || typeof a.defaultTrigger !== 'function') {
    throw new ConfigurationError(
      op,
      assigner,
      `${op}: ${describeValue(assigner)} is not a window assigner; give tumblingWindows(size), slidingWindows(size, slide), sessionWindows(gap), globalWindows() or their processing-time forms.`,
    );
  }
}

registerFactories('window assigner', [
  [tumblingWindows, 'tumblingWindows(60_000)'],
  [slidingWindows, 'slidingWindows(60_000, 10_000)'],
  [sessionWindows, 'sessionWindows(30_000)'],
  [globalWindows, 'globalWindows()'],
]);
