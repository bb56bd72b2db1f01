import { asyncScheduler, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import {
  active,
  idle,
  isStreamElement,
  MAX_WATERMARK,
  MIN_WATERMARK,
  type StreamElement,
  type StreamRecord,
  watermark,
} from '../elements/index.js';
import { failUserFunction } from '../elements/plumbing.js';
import { runtimeOf } from '../core/runtime.js';
import { checkTimestamp, isTimestamp } from './timestamps.js';
import type { WatermarkGenerator, WatermarkOutput, WatermarkStrategy } from './strategies.js';

/**
 * The record path reads the scheduler clock once per this many records to see whether a periodic emit is due
 * (docs/SEMANTICS.md §2.2): a synchronous source never lets the timer run, and one clock read per record would cost.
 *
 * @internal exported for tests.
 */
export const CLOCK_CHECK_EVERY = 256;

/**
 * What `eventTime` / `ingestionTime` are: a name, how a value's timestamp is found (undefined: the scheduler clock)
 * and the watermark strategy. The head of a record chain (operators/recordChain.ts), which opens one
 * {@link TimestampAssigner} per subscription.
 *
 * @example
 * ```ts
 * const head: TimestampHead<Click> = { name: 'eventTime', timestampOf: (c) => c.at, strategy: boundedOutOfOrderness(5_000) };
 * ```
 *
 * @internal
 */
export interface TimestampHead<T> {
  readonly name: string;
  readonly timestampOf: ((value: T) => number) | undefined;
  readonly strategy: WatermarkStrategy<T>;
}

/**
 * Flink's `TimestampsAndWatermarksOperator`, one subscription of it: stamps each value (or record) with a timestamp,
 * runs the strategy's generator, emits only strictly increasing watermarks, and switches idle → active before a
 * watermark. Upstream watermarks are ignored except MAX; upstream status is ignored; barriers pass in order.
 * On complete: one last periodic emit, MAX, complete.
 *
 * Periodic emits (`interval > 0`, docs/SEMANTICS.md §2.2): the timer emits every `interval` ms. The record path,
 * every {@link CLOCK_CHECK_EVERY} records (after the record), reads the clock and emits too when `interval` ms passed
 * since the last periodic emit (or since subscription), so that a synchronous source that never yields still gets
 * watermarks during its burst. A timer that fires after such a record-path emit re-arms for the rest of the interval
 * counted from that emit instead of emitting; so emits are always at least `interval` apart.
 *
 * The record chain that runs it (operators/recordChain.ts) calls {@link take} per upstream element — for a record
 * it leaves {@link value}, {@link key} and {@link timestamp} set — then, once the record went downstream (or a filter
 * of the chain dropped it), {@link recordDone}; {@link start} once the upstream is subscribed, {@link complete} at the end and
 * {@link stop} on teardown.
 *
 * @example
 * ```ts
 * const stamp = new TimestampAssigner(head, out);
 * upstream.subscribe((v) => {
 *   if (stamp.take(v)) out.next({ kind: 'record', value: stamp.value, timestamp: stamp.timestamp, key: stamp.key });
 *   stamp.recordDone(v, stamp.value, stamp.timestamp);
 * });
 * stamp.start(); // the periodic emitter, once the upstream is subscribed
 * ```
 *
 * @internal
 */
export class TimestampAssigner<T, K> implements WatermarkOutput {
  /** The record {@link take} stamped: its value, key and timestamp. */
  value: T = undefined as T;
  key: K = undefined as K;
  timestamp = 0;
  private readonly name: string;
  private readonly timestampOf: ((value: T) => number) | undefined;
  private readonly scheduler: SchedulerLike;
  private readonly generator: WatermarkGenerator<T>;
  private readonly interval: number;
  private current = MIN_WATERMARK;
  private isIdle = false;
  private lastPeriodicAt: number;
  /** Records until {@link afterRecords}: every record for `interval` 0, else every {@link CLOCK_CHECK_EVERY}. */
  private recordsUntilClockCheck: number;
  private recordPathEmitted = false;
  private timer: Subscription | undefined;

  constructor(
    head: TimestampHead<T>,
    private readonly out: Subscriber<StreamElement<T, K>>,
  ) {
    this.name = head.name;
    this.timestampOf = head.timestampOf;
    const scheduler = head.strategy.scheduler ?? runtimeOf(out)?.scheduler ?? asyncScheduler;
    this.scheduler = scheduler;
    this.generator = head.strategy.createGenerator({ scheduler, operator: head.name });
    const interval = head.strategy.interval;
    this.interval = interval;
    this.recordsUntilClockCheck = interval === 0 ? 1 : CLOCK_CHECK_EVERY;
    this.lastPeriodicAt = interval > 0 ? scheduler.now() : 0;
  }

  /**
   * Starts the periodic emitter, once the upstream is subscribed: on a virtual clock the first tick then sorts after
   * the source's own work at the same time, as every later tick does (the tick re-armed at a time is scheduled after
   * what the source scheduled for it). Nothing once the stream stopped (a synchronous source ended meanwhile).
   */
  start(): void {
    const { interval, scheduler, out } = this;
    if (interval > 0 && !this.stopped) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const self = this;
      this.timer = scheduler.schedule(function periodic() {
        const now = scheduler.now();
        if (self.recordPathEmitted) {
          self.recordPathEmitted = false;
          const rest = self.lastPeriodicAt + interval - now;
          if (rest > 0) {
            this.schedule(undefined, rest);
            return;
          }
        }
        if (self.periodicEmit(now) && !out.closed) this.schedule(undefined, interval);
      }, interval);
    }
  }

  // ---- WatermarkOutput (the generator's) -----------------------------------------------------------------------------

  emitWatermark(ts: number): void {
    if (!(ts > this.current)) return;
    this.current = ts;
    if (this.isIdle) {
      this.isIdle = false;
      this.out.next(active());
    }
    this.out.next(watermark(ts));
  }

  markIdle(): void {
    if (!this.isIdle) {
      this.isIdle = true;
      this.out.next(idle());
    }
  }

  markActive(): void {
    if (this.isIdle) {
      this.isIdle = false;
      this.out.next(active());
    }
  }

  // ---- elements --------------------------------------------------------------------------------------------------

  /**
   * An upstream element `v`: a value or a record is stamped (true: {@link value}, {@link key}, {@link timestamp}
   * set, the generator told); a control element is handled (a MAX watermark emitted, a barrier passed on, the rest
   * dropped), and a bad timestamp fails the stream (false both).
   *
   * The common case (a plain value without a `kind`) is the short path; an object with a `kind` (perhaps a stream
   * element) takes {@link takeElement}.
   */
  take(v: T | StreamElement<T, K>): boolean {
    if (typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind !== undefined) return this.takeElement(v);
    return this.stamp(v as T, undefined as K, v);
  }

  /** {@link take} for an object with a `kind`: a stream element, or else a value like any other. */
  private takeElement(v: T | StreamElement<T, K>): boolean {
    if (!isStreamElement(v)) return this.stamp(v as T, undefined as K, v);
    if (v.kind !== 'record') {
      this.control(v);
      return false;
    }
    return this.stamp((v as StreamRecord<T, K>).value, (v as StreamRecord<T, K>).key, v);
  }

  /** Stamps `value` (upstream element `v`) with its timestamp and tells the generator; false if that failed the stream. */
  private stamp(value: T, key: K, v: T | StreamElement<T, K>): boolean {
    let ts: number;
    const timestampOf = this.timestampOf;
    // (ingestionTime: the clock is read outside the try, as at the other clock reads — a throwing clock is not a user
    // function's error)
    if (timestampOf === undefined) ts = this.scheduler.now();
    else {
      try {
        ts = timestampOf(value);
      } catch (err) {
        return this.failed(v, err);
      }
    }
    if (!isTimestamp(ts)) {
      this.badTimestamp(ts, value);
      return false;
    }
    this.value = value;
    this.key = key;
    this.timestamp = ts;
    return true;
  }

  /** A control element from upstream: only a MAX watermark counts (emitted), status is dropped, the rest passes. */
  private control(v: Exclude<StreamElement<T, K>, StreamRecord<T, K>>): void {
    if (v.kind === 'watermark') {
      if (v.timestamp === MAX_WATERMARK) this.emitWatermark(MAX_WATERMARK);
    } else if (v.kind !== 'status') this.out.next(v);
  }

  private badTimestamp(ts: unknown, value: T): void {
    try {
      checkTimestamp(
        this.name,
        ts,
        value,
        this.timestampOf === undefined
          ? 'The scheduler clock must return finite milliseconds.'
          : 'Return a finite number of ms (e.g. `Date.parse(v.at)`, checked with Number.isFinite); drop or repair bad values before eventTime.',
      );
    } catch (err) {
      this.out.error(err);
    }
  }

  /**
   * After the record {@link take} stamped from `v` (its value `value`, at `timestamp`) went downstream, or was dropped
   * by the chain: the generator's `onEvent` — after the record, as Flink's `TimestampsAndWatermarksOperator` calls it
   * (docs/SEMANTICS.md §2.2: a watermark decided on a record follows it, so the record is not late for it) —, then the
   * periodic emit of `interval` 0, or the record path's clock check every {@link CLOCK_CHECK_EVERY} records. (Value
   * and timestamp are passed, not read from {@link value} and {@link timestamp}: a stage that pushed into the source
   * meanwhile re-entered {@link take}.) A generator that throws fails the stream.
   */
  recordDone(v: T | StreamElement<T, K>, value: T, timestamp: number): void {
    // (small, as the record chain inlines it: the rest in calls of their own — see docs/ARCHITECTURE.md, "One record,
    // end to end")
    try {
      this.generator.onEvent(value, timestamp, this);
    } catch (err) {
      this.failed(v, err);
      return;
    }
    if (--this.recordsUntilClockCheck === 0) this.afterRecords(v, timestamp);
  }

  /** A user function (the timestamp assigner, the generator) threw on upstream element `v`: the stream fails. */
  private failed(v: unknown, err: unknown): false {
    failUserFunction(this.out, this.name, v, err);
    return false;
  }

  /** {@link recordDone}'s periodic part: the emit of `interval` 0 after each record, else the clock check. */
  private afterRecords(v: T | StreamElement<T, K>, timestamp: number): void {
    if (this.interval === 0) {
      this.recordsUntilClockCheck = 1;
      this.askGenerator(v);
    } else this.checkClock(timestamp);
  }

  /**
   * The record path's clock check: a periodic emit once more than `interval` ms passed since the last one — more,
   * not as many: at exactly the due time the timer is due too, and on a virtual clock it runs after the burst at that
   * frame (as after a burst at the frame before), not in its middle (docs/SEMANTICS.md §2.2).
   */
  private checkClock(timestamp: number): void {
    this.recordsUntilClockCheck = CLOCK_CHECK_EVERY;
    // ingestionTime already read the clock for this record's timestamp
    const now = this.timestampOf === undefined ? timestamp : this.scheduler.now();
    if (now - this.lastPeriodicAt <= this.interval) return;
    this.recordPathEmitted = true;
    this.periodicEmit(now);
  }

  /** Runs a periodic emit at scheduler time `now`; false if the generator threw (the stream has failed). */
  private periodicEmit(now: number): boolean {
    this.lastPeriodicAt = now;
    return this.askGenerator(undefined);
  }

  /**
   * Asks the generator for a periodic watermark (`onPeriodicEmit`); false if it threw — the stream then fails with a
   * `UserFunctionError` naming the operator and `element` (the record's upstream element, or undefined).
   */
  private askGenerator(element: unknown): boolean {
    try {
      this.generator.onPeriodicEmit(this);
      return true;
    } catch (err) {
      return this.failed(element, err);
    }
  }

  /** The end of input: one last periodic emit, MAX, complete. */
  complete(): void {
    this.stop();
    if (!this.askGenerator(undefined)) return;
    this.emitWatermark(MAX_WATERMARK);
    this.out.complete();
  }

  /** Stops the periodic timer (complete, unsubscribe), for good. */
  stop(): void {
    this.stopped = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  private stopped = false;
}
