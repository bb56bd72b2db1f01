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
  isStreamElement,
  MAX_WATERMARK,
  MIN_WATERMARK,
  record,
  watermark,
  type CheckpointBarrier,
  type ControlElement,
  type Key,
  type Stream,
  type StreamElement,
  type StreamRecord,
  type StreamStatus,
  type Watermark,
} from './elements/index.js';
export {
  ConfigurationError,
  describeValue,
  InvalidKeyError,
  InvalidTimestampError,
  TidewaterError,
  UserFunctionError,
} from './errors/index.js';
export * from './keys/index.js';
export * from './time/index.js';
