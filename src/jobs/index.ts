export { fromArray, fromAsyncIterable, fromIterable, fromObservable, type FromObservableOptions } from './sources.js';
export { callbackSink, toArray, type ArraySink, type SinkCallbacks } from './sinks.js';
export { FileFormatError, fromNdjsonFile, toNdjsonFile } from './files.js';
export { JobError, runJob, StoreBehindError } from './runJob.js';
export type { JobPhase } from '../errors/index.js';
export type {
  CheckpointConfig,
  CheckpointInfo,
  CommittedAhead,
  Job,
  JobConfig,
  JobOptions,
  JobSinks,
  NamedSources,
  SourceStreams,
  SourcesJobConfig,
  JobMetrics,
  JobSummary,
  Sink,
  SinkContext,
  SinkWriter,
  Source,
  SourceContext,
  SourceRead,
  SourceReader,
  SourceHold,
} from './types.js';
