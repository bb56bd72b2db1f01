/**
 * Helpers for marble-testing tidewater pipelines with `rxjs-marbles` or RxJS `TestScheduler`.
 *
 * @example
 * ```ts
 * import { configure } from 'rxjs-marbles';
 * import { expect, it } from 'vitest';
 * import { boundedOutOfOrderness, MAX_WATERMARK } from 'tidewater';
 * import { eventTime } from 'tidewater/operators';
 * import { rec, wm } from 'tidewater/testing';
 *
 * const { marbles } = configure({
 *   assert: (v, m) => expect(v, m).toBeTruthy(),
 *   assertDeepEqual: (a, e) => expect(a).toStrictEqual(e),
 *   frameworkMatcher: true,
 * });
 *
 * it('emits a watermark after each record (interval 0)', marbles((m) => {
 *   const input = m.cold('a----b-|', { a: { at: 5 }, b: { at: 2 } }); // (a group takes as many frames as its text)
 *   m.expect(input.pipe(eventTime((v: { at: number }) => v.at, boundedOutOfOrderness(0, { interval: 0 })))).toBeObservable(
 *     '(ax)-b-(M|)',
 *     { a: rec({ at: 5 }, 5), x: wm(4), b: rec({ at: 2 }, 2), M: wm(MAX_WATERMARK) },
 *   );
 * }));
 * ```
 *
 * @packageDocumentation
 */
import {
  active,
  barrier,
  idle,
  record,
  watermark,
  type CheckpointBarrier,
  type StreamRecord,
  type StreamStatus,
  type Watermark,
} from '../src/elements/index.js';

/**
 * A record for a marble value map: `rec(value, timestamp, key?)`.
 *
 * @example
 * ```ts
 * m.cold('a-b|', { a: rec('click', 10, 'ann'), b: rec('view', 12, 'bob') });
 * ```
 */
export function rec<T, K = undefined>(value: T, timestamp: number, key?: K): StreamRecord<T, K> {
  return record(value, timestamp, key);
}

/**
 * A watermark for a marble value map.
 *
 * @example
 * ```ts
 * m.cold('a-w|', { a: rec(1, 10), w: wm(10) });
 * ```
 */
export function wm(timestamp: number): Watermark {
  return watermark(timestamp);
}

/**
 * A checkpoint barrier for a marble value map.
 *
 * @example
 * ```ts
 * m.cold('a-c|', { a: rec(1, 10), c: ckpt(1) });
 * ```
 */
export function ckpt(checkpointId: number): CheckpointBarrier {
  return barrier(checkpointId);
}

export { active, idle };
export type { StreamStatus };
export { harness, twoInputHarness, type Harness, type HarnessCheckpoint, type HarnessOptions, type TwoInputHarness } from './harness.js';
export { ManualScheduler } from './manualScheduler.js';
