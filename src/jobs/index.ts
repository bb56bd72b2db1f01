export { fromArray, fromAsyncIterable, fromIterable, fromObservable, type FromObservableOptions } from './sources.js';
export { callbackSink, toArray, type ArraySink, type SinkCallbacks } from './sinks.js';
export { FileFormatError, fromNdjsonFile, toNdjsonFile } from './files.js';
export { JobError, runJob } from './runJob.js';
export type {
  CheckpointConfig,
  CheckpointInfo,
  Job,
  JobConfig,
  JobMetrics,
  JobSummary,
  Sink,
  SinkContext,
  SinkWriter,
  Source,
  SourceContext,
  SourceRead,
  SourceReader,
} from './types.js';
