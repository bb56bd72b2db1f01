export { partitionStream, type PartitionOptions, type Partitioner, type Partitions, type RangePartitioner } from './partition.js';
export { InvalidPartitionError } from '../errors/index.js';
