export { isKey } from './validate.js';
export { defaultMaxParallelism, javaHashCode, keyGroupOf, keyGroupRange, murmurHash, partitionOfKeyGroup } from './keyGroups.js';
