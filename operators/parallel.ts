// The operator lives with the parallel machinery it shares with runJob({ parallelism }) (src/parallel/).
export { parallel, type ParallelOptions } from '../src/parallel/parallel.js';
