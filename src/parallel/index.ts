export { parallel, type ParallelOptions } from './parallel.js';
export type { SubtaskMetrics } from './group.js';
