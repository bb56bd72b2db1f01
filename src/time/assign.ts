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
} from '../elements/index.js';
import { failUserFunction, operator, subscribeElements } from '../elements/plumbing.js';
import { runtimeOf } from '../core/runtime.js';
import { checkTimestamp, isTimestamp } from './timestamps.js';
import type { WatermarkOutput, WatermarkStrategy } from './strategies.js';

/**
 * Flink's `TimestampsAndWatermarksOperator`: stamps each value (or record) with a timestamp, runs the strategy's
 * generator, emits only strictly increasing watermarks, and switches idle → active before a watermark.
 * Upstream watermarks are ignored except MAX; upstream status is ignored; barriers pass in order.
 * On complete: one last periodic emit, MAX, complete.
 *
 * @internal shared by `eventTime` and `ingestionTime`.
 */
export function assignTimestamps<T, K>(
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

    let timer: Subscription | undefined;
    if (interval > 0) {
      timer = scheduler.schedule(function periodic() {
        try {
          generator.onPeriodicEmit(output);
        } catch (err) {
          failUserFunction(out, name, undefined, err);
          return;
        }
        if (!out.closed) this.schedule(undefined, interval);
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
