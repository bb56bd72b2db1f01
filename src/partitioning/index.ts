export { partitionStream, type PartitionOptions, type Partitioner, type Partitions, type RangePartitioner } from './partition.js';
export { InvalidPartitionError } from '../errors/index.js';
export { StatusWatermarkValve } from './valve.js';
export { mergeStreams, union, type MergedStream, type MergeOptions } from './merge.js';
