export {
  boundedOutOfOrderness,
  monotonousTimestamps,
  noWatermarks,
  punctuated,
  type WatermarkGenerator,
  type WatermarkOutput,
  type WatermarkStrategy,
  type WatermarkStrategyOptions,
} from './strategies.js';
export { isTimestamp, MAX_TIMESTAMP, MAX_WINDOW_SIZE, MIN_TIMESTAMP } from './timestamps.js';
