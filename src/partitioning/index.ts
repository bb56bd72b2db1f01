export { StatusWatermarkValve } from './valve.js';
export { mergeStreams, union, type MergedStream, type MergeOptions } from './merge.js';
