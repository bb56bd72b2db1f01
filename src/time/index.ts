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
