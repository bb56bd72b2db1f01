// The timestamp operator as it was before `eventTime` became the head of a record chain (src/time/assign.ts at
// b2d91d1, an operator of its own with its own subscriber): the oracle the chain's property tests compare with
// (test/operators.recordChain.test.ts). Kept as it was; not used by the library.
import { asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import {
  active,
  idle,
  isStreamElement,
  MAX_WATERMARK,
  MIN_WATERMARK,
  type StreamElement,
  type StreamRecord,
  watermark,
} from '../../src/elements/index.js';
import { failUserFunction, operator, subscribeElements } from '../../src/elements/plumbing.js';
import { runtimeOf } from '../../src/core/runtime.js';
import { checkTimestamp, isTimestamp } from '../../src/time/timestamps.js';
import type { WatermarkOutput, WatermarkStrategy } from '../../src/time/strategies.js';

const CLOCK_CHECK_EVERY = 256;

/**
 * Flink's `TimestampsAndWatermarksOperator`: stamps each value (or record) with a timestamp, runs the strategy's
 * generator, emits only strictly increasing watermarks, and switches idle → active before a watermark.
 * Upstream watermarks are ignored except MAX; upstream status is ignored; barriers pass in order.
 * On complete: one last periodic emit, MAX, complete.
 *
 * Periodic emits (`interval > 0`, docs/SEMANTICS.md §2.2): the timer emits every `interval` ms as before. The record
 * path, every {@link CLOCK_CHECK_EVERY} records (after the record), reads the clock and emits too when `interval` ms
 * passed since the last periodic emit (or since subscription), so that a synchronous source that never yields still
 * gets watermarks during its burst. A timer that fires after such a record-path emit re-arms for the rest of the
 * interval counted from that emit instead of emitting; so emits are always at least `interval` apart.
 *
 * @internal shared by `eventTime` and `ingestionTime`.
 */
export function assignTimestampsAlone<T, K>(
  name: string,
  timestampOf: ((value: T) => number) | undefined,
  strategy: WatermarkStrategy<T>,
): OperatorFunction<T | StreamElement<T, K>, StreamElement<T, K>> {
  return operator<T | StreamElement<T, K>, StreamElement<T, K>>((source, out) => {
    const scheduler: SchedulerLike = strategy.scheduler ?? runtimeOf(out)?.scheduler ?? asyncScheduler;
    const generator = strategy.createGenerator({ scheduler });
    const interval = strategy.interval;
    let current = MIN_WATERMARK;
    let isIdle = false;
    const output: WatermarkOutput = {
      emitWatermark(ts) {
        if (!(ts > current)) return;
        current = ts;
        if (isIdle) {
          isIdle = false;
          out.next(active());
        }
        out.next(watermark(ts));
      },
      markIdle() {
        if (!isIdle) {
          isIdle = true;
          out.next(idle());
        }
      },
      markActive() {
        if (isIdle) {
          isIdle = false;
          out.next(active());
        }
      },
    };

    // Periodic emits: the rule in the TSDoc above (docs/SEMANTICS.md §2.2).
    let lastPeriodicAt = interval > 0 ? scheduler.now() : 0;
    let recordsUntilClockCheck = CLOCK_CHECK_EVERY;
    let recordPathEmitted = false;
    /** Runs a periodic emit at scheduler time `now`; false if the generator threw (the stream has failed). */
    const periodicEmit = (now: number): boolean => {
      lastPeriodicAt = now;
      try {
        generator.onPeriodicEmit(output);
        return true;
      } catch (err) {
        failUserFunction(out, name, undefined, err);
        return false;
      }
    };

    let timer: Subscription | undefined;
    if (interval > 0) {
      timer = scheduler.schedule(function periodic() {
        const now = scheduler.now();
        if (recordPathEmitted) {
          recordPathEmitted = false;
          const rest = lastPeriodicAt + interval - now;
          if (rest > 0) {
            this.schedule(undefined, rest);
            return;
          }
        }
        if (periodicEmit(now) && !out.closed) this.schedule(undefined, interval);
      }, interval);
    }

    const inner = subscribeElements<T | StreamElement<T, K>, StreamElement<T, K>>(
      source,
      out,
      (v) => {
        let value: T;
        let key: K;
        if (isStreamElement(v)) {
          switch (v.kind) {
            case 'record':
              value = (v as StreamRecord<T, K>).value;
              key = (v as StreamRecord<T, K>).key;
              break;
            case 'watermark':
              if (v.timestamp === MAX_WATERMARK) output.emitWatermark(MAX_WATERMARK);
              return;
            case 'status':
              return;
            default:
              out.next(v);
              return;
          }
        } else {
          value = v;
          key = undefined as K;
        }
        let ts: number;
        if (timestampOf === undefined) {
          ts = scheduler.now();
        } else {
          try {
            ts = timestampOf(value);
          } catch (err) {
            failUserFunction(out, name, v, err);
            return;
          }
        }
        if (!isTimestamp(ts)) {
          try {
            checkTimestamp(
              name,
              ts,
              value,
              timestampOf === undefined
                ? 'The scheduler clock must return finite milliseconds.'
                : 'Return a finite number of ms (e.g. `Date.parse(v.at)`, checked with Number.isFinite); drop or repair bad values before eventTime.',
            );
          } catch (err) {
            out.error(err);
            return;
          }
        }
        try {
          generator.onEvent(value, ts, output);
          out.next({ kind: 'record', value, timestamp: ts, key });
          if (interval === 0) generator.onPeriodicEmit(output);
        } catch (err) {
          failUserFunction(out, name, v, err);
          return;
        }
        if (interval > 0 && --recordsUntilClockCheck === 0) {
          recordsUntilClockCheck = CLOCK_CHECK_EVERY;
          // ingestionTime already read the clock for this record's timestamp
          const now = timestampOf === undefined ? ts : scheduler.now();
          if (now - lastPeriodicAt >= interval) {
            recordPathEmitted = true;
            periodicEmit(now);
          }
        }
      },
      () => {
        timer?.unsubscribe();
        try {
          generator.onPeriodicEmit(output);
        } catch (err) {
          failUserFunction(out, name, undefined, err);
          return;
        }
        output.emitWatermark(MAX_WATERMARK);
        out.complete();
      },
    );
    return () => {
      timer?.unsubscribe();
      inner.unsubscribe();
    };
  });
}
