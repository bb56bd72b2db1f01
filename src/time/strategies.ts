import type { SchedulerLike } from 'rxjs';
import { ConfigurationError, describeValue } from '../errors/index.js';
import { checkFunction, checkOptionKeys, notCalled, registerFactories } from '../errors/options.js';
import { checkTimestamp, isTimestamp, MAX_SCHEDULE_DELAY } from './timestamps.js';

/**
 * Where a {@link WatermarkGenerator} sends what it decides. The emitter behind it drops watermarks that do not
 * increase, and switches an idle stream back to active before the next watermark.
 *
 * @example
 * ```ts
 * const gen: WatermarkGenerator<unknown> = {
 *   onEvent: () => {},
 *   onPeriodicEmit: (out: WatermarkOutput) => out.emitWatermark(0),
 * };
 * ```
 */
export interface WatermarkOutput {
  /** Emits a watermark; ignored unless it is greater than the last one emitted. */
  emitWatermark(timestamp: number): void;
  /** Marks the stream idle (emits `idle()` once, on the transition). */
  markIdle(): void;
  /** Marks the stream active again (emits `active()` if it was idle). */
  markActive(): void;
}

/**
 * Flink's `WatermarkGenerator`: sees every event and is asked periodically for a watermark.
 *
 * @example
 * ```ts
 * // a generator that never lets event time advance past 1 000
 * const capped: WatermarkGenerator<unknown> = {
 *   onEvent: () => {},
 *   onPeriodicEmit: (out) => out.emitWatermark(1_000),
 * };
 * ```
 */
export interface WatermarkGenerator<T> {
  /** Called for each record, after the record went downstream (as Flink calls it): a watermark emitted here follows it. */
  onEvent(value: T, timestamp: number, output: WatermarkOutput): void;
  /**
   * Called once `interval` ms of scheduler time passed since the last call — by a timer, or from the record path during
   * a synchronous burst (docs/SEMANTICS.md §2.2) —, after each event when `interval` is 0, and once at the end.
   */
  onPeriodicEmit(output: WatermarkOutput): void;
}

/**
 * How `eventTime` / `ingestionTime` generate watermarks: a generator factory plus its emission schedule.
 * Build one with {@link boundedOutOfOrderness}, {@link monotonousTimestamps}, {@link punctuated} or
 * {@link noWatermarks}, or implement it for a custom generator.
 *
 * @example
 * ```ts
 * const strategy: WatermarkStrategy<Click> = boundedOutOfOrderness(5_000, { idleTimeout: 60_000 });
 * clicks$.pipe(eventTime((c) => c.at, strategy));
 * ```
 */
export interface WatermarkStrategy<T = unknown> {
  /** Makes a fresh generator for one subscription; `context.scheduler` is the clock the operator runs on. */
  createGenerator(context: WatermarkGeneratorContext): WatermarkGenerator<T>;
  /**
   * Periodic emit interval in ms of scheduler time, at most one emit per interval (timer, or every 256 records when
   * the clock passed it; docs/SEMANTICS.md §2.2); 0 = a periodic emit after every event (no timer).
   */
  readonly interval: number;
  /** Idleness timeout in ms, if idleness detection is on. */
  readonly idleTimeout: number | undefined;
  /** Scheduler for periodic emits, idleness and ingestion time; `asyncScheduler` when undefined. */
  readonly scheduler: SchedulerLike | undefined;
}

/**
 * What a generator is made with: the clock of the operator it runs in (the strategy's `scheduler`, else the job's or
 * harness's, else `asyncScheduler`).
 *
 * @example
 * ```ts
 * const strategy: WatermarkStrategy = { ...boundedOutOfOrderness(0), createGenerator: ({ scheduler }) => myGenerator(scheduler) };
 * ```
 */
export interface WatermarkGeneratorContext {
  readonly scheduler: SchedulerLike;
  /** The name of the operator the generator runs in (`eventTime`, `ingestionTime`, a source's), for its errors. */
  readonly operator?: string;
}

/**
 * Options shared by the built-in watermark strategies.
 *
 * @example
 * ```ts
 * const opts: WatermarkStrategyOptions = { idleTimeout: 1_000, interval: 200, scheduler: asyncScheduler };
 * ```
 */
export interface WatermarkStrategyOptions {
  /** Mark the stream idle when no event arrived for longer than this many ms (checked at periodic emits). */
  readonly idleTimeout?: number;
  /** Periodic emit interval in ms (default 200); 0 = emit on every advance. */
  readonly interval?: number;
  /** Scheduler for time (default `asyncScheduler`); pass a `TestScheduler` or let marbles virtualise it. */
  readonly scheduler?: SchedulerLike;
}

/** Flink's default `pipeline.auto-watermark-interval`. */
const DEFAULT_INTERVAL = 200;

const STRATEGY_OPTIONS = ['idleTimeout', 'interval', 'scheduler'] as const satisfies readonly (keyof WatermarkStrategyOptions)[];

function checkOptions(op: string, opts: WatermarkStrategyOptions, defaultInterval: number): { interval: number; idleTimeout: number | undefined } {
  checkOptionKeys(op, 'the options', opts, STRATEGY_OPTIONS);
  if (opts.scheduler !== undefined) checkScheduler(op, opts.scheduler);
  const interval = opts.interval ?? defaultInterval;
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0 || interval > MAX_SCHEDULE_DELAY) {
    throw new ConfigurationError(
      op,
      interval,
      `${op}: interval ${String(interval)} must be a number of ms from 0 (emit on every advance) to ${MAX_SCHEDULE_DELAY} (the longest timer a host takes, ≈ 24.8 days).`,
    );
  }
  const idleTimeout = opts.idleTimeout;
  if (idleTimeout !== undefined) {
    if (typeof idleTimeout !== 'number' || !Number.isFinite(idleTimeout) || idleTimeout <= 0) {
      throw new ConfigurationError(op, idleTimeout, `${op}: idleTimeout ${describeValue(idleTimeout)} must be a finite number of ms > 0.`);
    }
    if (interval === 0) {
      throw new ConfigurationError(
        op,
        idleTimeout,
        `${op}: idleTimeout needs periodic emits (idleness is checked at each one, as in Flink); set interval > 0, e.g. { interval: 200 }.`,
      );
    }
  }
  return { interval, idleTimeout };
}

function strategy<T>(
  opts: WatermarkStrategyOptions,
  checked: { interval: number; idleTimeout: number | undefined },
  create: (context: WatermarkGeneratorContext) => WatermarkGenerator<T>,
): WatermarkStrategy<T> {
  const { interval, idleTimeout } = checked;
  return { createGenerator: create, interval, idleTimeout, scheduler: opts.scheduler };
}

class BoundedOutOfOrdernessGenerator implements WatermarkGenerator<unknown> {
  private maxTs: number;
  constructor(private readonly bound: number) {
    // Flink: maxTimestamp = Long.MIN_VALUE + bound + 1, so the first periodic emit is exactly MIN.
    this.maxTs = -Infinity;
  }
  onEvent(_value: unknown, timestamp: number): void {
    if (timestamp > this.maxTs) this.maxTs = timestamp;
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    output.emitWatermark(this.maxTs - this.bound - 1);
  }
}

/**
 * Watermarks for events that arrive at most `maxOutOfOrderness` ms late: watermark = max timestamp seen − bound − 1,
 * emitted every `interval` ms of scheduler time (default 200) when it increased. With `idleTimeout`, the stream is
 * marked idle when no event arrived for longer than the timeout (Flink's `withIdleness`).
 *
 * @example
 * ```ts
 * clicks$.pipe(eventTime((c) => c.at, boundedOutOfOrderness(5_000, { idleTimeout: 60_000 })));
 * ```
 */
export function boundedOutOfOrderness(maxOutOfOrdernessMs: number, opts: WatermarkStrategyOptions = {}): WatermarkStrategy<unknown> {
  const op = 'boundedOutOfOrderness';
  if (typeof maxOutOfOrdernessMs !== 'number' || !Number.isFinite(maxOutOfOrdernessMs) || maxOutOfOrdernessMs < 0) {
    throw new ConfigurationError(op, maxOutOfOrdernessMs, `${op}: bound ${describeValue(maxOutOfOrdernessMs)} must be a finite number of ms >= 0.`);
  }
  const checked = checkOptions(op, opts, DEFAULT_INTERVAL);
  return strategy(opts, checked, ({ scheduler }) => withIdleness(new BoundedOutOfOrdernessGenerator(maxOutOfOrdernessMs), checked.idleTimeout, scheduler));
}

/**
 * Watermarks for timestamps that never decrease: watermark = max timestamp seen − 1 (bounded out-of-orderness 0).
 *
 * @example
 * ```ts
 * ticks$.pipe(eventTime((t) => t.time, monotonousTimestamps()));
 * ```
 */
export function monotonousTimestamps(opts: WatermarkStrategyOptions = {}): WatermarkStrategy<unknown> {
  const checked = checkOptions('monotonousTimestamps', opts, DEFAULT_INTERVAL);
  return strategy(opts, checked, ({ scheduler }) => withIdleness(new BoundedOutOfOrdernessGenerator(0), checked.idleTimeout, scheduler));
}

/**
 * Watermarks carried by the data: `watermarkOf(value, timestamp)` returns a watermark to emit for this event, or
 * `undefined`. As in Flink, a watermark decided on an event is emitted *after* that event's record (which is
 * therefore not late for it: a marker at the batch's bound still counts in the batch's windows).
 * Periodic emits only serve idleness (interval defaults to 0 unless `idleTimeout` is set, then 200).
 *
 * @example
 * ```ts
 * // sensor batches end with a marker that carries the batch's event-time bound
 * readings$.pipe(eventTime((r) => r.at, punctuated((r) => (r.endOfBatch ? r.at : undefined))));
 * ```
 */
export function punctuated<T>(
  watermarkOf: (value: T, timestamp: number) => number | undefined,
  opts: WatermarkStrategyOptions = {},
): WatermarkStrategy<T> {
  const op = 'punctuated';
  checkFunction(op, watermarkOf, 'punctuated((value, timestamp) => watermark or undefined)', { what: 'watermarkOf' });
  const checked = checkOptions(op, opts, opts.idleTimeout !== undefined ? DEFAULT_INTERVAL : 0);
  return strategy(opts, checked, ({ scheduler, operator }) =>
    withIdleness<T>(
      {
        onEvent(value, timestamp, output) {
          const w = watermarkOf(value, timestamp);
          if (w === undefined) return;
          if (!isTimestamp(w)) {
            checkTimestamp(`${operator ?? 'eventTime'}(punctuated)`, w, value, 'The punctuated watermark function must return a number (ms) or undefined.', true);
          }
          output.emitWatermark(w);
        },
        onPeriodicEmit() {},
      },
      checked.idleTimeout,
      scheduler,
    ),
  );
}

/**
 * No watermarks at all (event time only advances with the end-of-input `MAX_WATERMARK`).
 *
 * @example
 * ```ts
 * replay$.pipe(eventTime((e) => e.at, noWatermarks()));
 * ```
 */
export function noWatermarks(): WatermarkStrategy<unknown> {
  return {
    createGenerator: () => ({ onEvent() {}, onPeriodicEmit() {} }),
    interval: 0,
    idleTimeout: undefined,
    scheduler: undefined,
  };
}

/**
 * Flink's `WatermarksWithIdleness` + `IdlenessTimer`: idleness is evaluated only at periodic emits, with a clock
 * relative to the first inactive check, and the stream is idle once `now - startOfInactivity > timeout`.
 */
function withIdleness<T>(inner: WatermarkGenerator<T>, timeout: number | undefined, scheduler: SchedulerLike): WatermarkGenerator<T> {
  if (timeout === undefined) return inner;
  let activity = 0;
  let lastActivity = 0;
  let inactiveSince: number | undefined;
  let idleNow = false;
  return {
    onEvent(value, timestamp, output) {
      inner.onEvent(value, timestamp, output);
      activity++;
      idleNow = false;
    },
    onPeriodicEmit(output) {
      const now = scheduler.now();
      let isIdle: boolean;
      if (activity !== lastActivity) {
        lastActivity = activity;
        inactiveSince = undefined;
        isIdle = false;
      } else if (inactiveSince === undefined) {
        inactiveSince = now;
        isIdle = false;
      } else {
        isIdle = now - inactiveSince > timeout;
      }
      if (isIdle) {
        if (!idleNow) {
          output.markIdle();
          idleNow = true;
        }
      } else {
        inner.onPeriodicEmit(output);
      }
    },
  };
}

/** Refuses a scheduler without `now()` and `schedule()` (as an RxJS `SchedulerLike` has). */
function checkScheduler(op: string, scheduler: unknown): void {
  const s = scheduler as Partial<SchedulerLike> | null;
  if (typeof s !== 'object' || s === null || typeof s.now !== 'function' || typeof s.schedule !== 'function') {
    throw new ConfigurationError(op, scheduler, `${op}: scheduler ${describeValue(scheduler)} is not an RxJS scheduler (with now() and schedule()); give one, e.g. asyncScheduler, a TestScheduler, or leave it out.`);
  }
}

/**
 * Refuses what is not a watermark strategy where `eventTime` / `ingestionTime` take it (`op`): a strategy factory not
 * called (`boundedOutOfOrderness` for `boundedOutOfOrderness(5_000)`), an object without `createGenerator`, a bad
 * `interval`, `idleTimeout` or `scheduler` of a strategy made by hand.
 *
 * @example
 * ```ts
 * checkStrategy('eventTime', boundedOutOfOrderness(5_000)); // passes
 * checkStrategy('eventTime', boundedOutOfOrderness); // throws: call it, e.g. boundedOutOfOrderness(5_000)
 * ```
 * @internal
 */
export function checkStrategy(op: string, strategy: unknown): void {
  if (typeof strategy === 'function') throw notCalled(op, 'watermark strategy', strategy, 'boundedOutOfOrderness(5_000)');
  const s = strategy as Partial<WatermarkStrategy> | null;
  if (typeof s !== 'object' || s === null || typeof s.createGenerator !== 'function') {
    throw new ConfigurationError(
      op,
      strategy,
      `${op}: ${describeValue(strategy)} is not a watermark strategy (it has no createGenerator); give boundedOutOfOrderness(ms), monotonousTimestamps(), punctuated(fn) or noWatermarks(), or leave it out.`,
    );
  }
  const { interval, idleTimeout } = s;
  if (typeof interval !== 'number' || !(interval >= 0 && interval <= MAX_SCHEDULE_DELAY)) {
    throw new ConfigurationError(op, interval, `${op}: the strategy's interval ${describeValue(interval)} must be a number of ms from 0 to ${MAX_SCHEDULE_DELAY}.`);
  }
  if (idleTimeout !== undefined && !(typeof idleTimeout === 'number' && idleTimeout > 0 && Number.isFinite(idleTimeout))) {
    throw new ConfigurationError(op, idleTimeout, `${op}: the strategy's idleTimeout ${describeValue(idleTimeout)} must be a finite number of ms > 0, or undefined.`);
  }
  if (s.scheduler !== undefined) checkScheduler(op, s.scheduler);
}

registerFactories('watermark strategy', [
  [boundedOutOfOrderness, 'boundedOutOfOrderness(5_000)'],
  [monotonousTimestamps, 'monotonousTimestamps()'],
  [punctuated, 'punctuated((value, timestamp) => watermark or undefined)'],
  [noWatermarks, 'noWatermarks()'],
]);
