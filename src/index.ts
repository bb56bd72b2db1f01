/**
 * tidewater — Apache Flink's stream-processing model as RxJS operators.
 *
 * The root entry point holds the element model, watermark strategies, keys and errors; the pipeable operators are in
 * `tidewater/operators`, marble helpers in `tidewater/testing`.
 *
 * @packageDocumentation
 */
export {
  active,
  barrier,
  idle,
  isOutputTag,
  isStreamElement,
  MAX_WATERMARK,
  MIN_WATERMARK,
  record,
  sideOutput,
  watermark,
  type CheckpointBarrier,
  type ControlElement,
  type Key,
  type OutputTag,
  type SideRecord,
  type Stream,
  type StreamElement,
  type StreamRecord,
  type StreamStatus,
  type Watermark,
} from './elements/index.js';
export {
  ConfigurationError,
  CorruptCheckpointError,
  describeValue,
  InvalidKeyError,
  InvalidTimestampError,
  NotAStreamElementError,
  StoreError,
  SubtaskError,
  TidewaterError,
  UserFunctionError,
} from './errors/index.js';
export * from './keys/index.js';
export type { ParallelOptions, SubtaskMetrics } from './parallel/index.js';
export * from './time/index.js';
export {
  aggregatingState,
  listState,
  mapState,
  reducingState,
  valueState,
  type Aggregator,
  type AggregatingState,
  type AggregatingStateDescriptor,
  type ListState,
  type ListStateDescriptor,
  type MapState,
  type MapStateDescriptor,
  type ReducingState,
  type ReducingStateDescriptor,
  type StateDescriptor,
  type StateHandle,
  type StateHandles,
  type StateKind,
  type StateOptions,
  type TtlConfig,
  type ValueState,
  type ValueStateDescriptor,
} from './state/descriptors.js';
export { StateRestoreError, StateSerializationError } from './state/backend.js';
export { decodeValue, encodeValue, UnserializableValueError } from './state/codec.js';
export { TrackedSet } from './state/trackedSet.js';
export { mergeSnapshots, type OperatorSnapshot, type SnapshotEntry } from './checkpoints/snapshot.js';
export { checkpointStore } from './stores/checkpointStore.js';
export { memoryStore } from './stores/memory.js';
export { openDefaultStore } from './stores/default.js';
export type { BatchOp, CheckpointFallback, CheckpointMeta, CheckpointWrite, KeyValueBackend, LoadedCheckpoint, SkipKind, SkippedCheckpoint, StateStore } from './stores/types.js';
export type { SnapshotOptions, StatefulOperatorInstance } from './core/runtime.js';
export {
  globalWindows,
  sessionWindows,
  slidingWindows,
  tumblingWindows,
  windowStart,
  type WindowAssigner,
  type WindowOptions,
} from './windows/assigners.js';
export {
  continuousEventTimeTrigger,
  countTrigger,
  endOfStreamTrigger,
  eventTimeTrigger,
  neverTrigger,
  processingTimeTrigger,
  purging,
  type OnMergeContext,
  type Trigger,
  type TriggerContext,
  type TriggerResult,
} from './windows/triggers.js';
export { collect, count, max, mean, min, sum, topN } from './windows/aggregators.js';
export type { TimeWindow, WindowContext, WindowResult } from './windows/types.js';
export type { WindowOperatorOptions } from './windows/windowOperatorBase.js';
export * from './jobs/index.js';
export * from './partitioning/index.js';
