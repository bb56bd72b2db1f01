/**
 * The pipeable tidewater operators, one per file.
 *
 * @example
 * ```ts
 * import { eventTime, keyBy, map, filter, values } from 'tidewater/operators';
 * ```
 *
 * @packageDocumentation
 */
export { aggregate } from './aggregate.js';
export type { RecordContext } from './context.js';
export { eventTime } from './eventTime.js';
export { filter } from './filter.js';
export { flatMap } from './flatMap.js';
export { ingestionTime } from './ingestionTime.js';
export { keyBy } from './keyBy.js';
export { map } from './map.js';
export { processWindow } from './processWindow.js';
export { reduce } from './reduce.js';
export { window, type Windowed } from './window.js';
export { process, type ProcessContext, type ProcessSpec, type TimerContext, type TimerService } from './process.js';
export { coProcess, type CoProcessSpec } from './coProcess.js';
export { intervalJoin, type IntervalJoinBounds, type IntervalJoinContext, type IntervalJoinOptions } from './intervalJoin.js';
export { windowJoin, type WindowJoinOptions } from './windowJoin.js';
export { coGroup } from './coGroup.js';
export {
  broadcastProcess,
  type BroadcastProcessSpec,
  type BroadcastSideContext,
  type BroadcastState,
  type BroadcastStateDescriptors,
  type KeyedBroadcastContext,
  type ReadOnlyBroadcastState,
} from './broadcastProcess.js';
export { values } from './values.js';
export { sideOutputOf } from './sideOutputOf.js';
export { unionWith } from './unionWith.js';
export { parallel, type ParallelOptions } from './parallel.js';
