/**
 * `tidewater/nats`: NATS JetStream sources and sinks (docs/NATS.md). Depends on `@nats-io/jetstream` and
 * `@nats-io/nats-core` (peer dependencies of this entry point only); the connection is the caller's — `connect` of
 * `@nats-io/transport-node` in Node, `wsconnect` of `@nats-io/nats-core` in browsers.
 *
 * @example
 * ```ts
 * import { jetStreamSink, jetStreamSource } from 'tidewater/nats';
 * ```
 */
export { jetStreamSource, JetStreamError, type JetStreamEventTime, type JetStreamMessage, type JetStreamSourceOptions } from './source.js';
export { jetStreamSink, type JetStreamSinkOptions } from './sink.js';
export { runClusterJob, type ClusterCheckpointInfo, type ClusterExchangeOptions, type ClusterJob, type ClusterJobConfig, type ClusterTask } from './cluster.js';
export type { ClusterMemberStatus } from './members.js';
export { jetStreamStore, type JetStreamStoreOptions } from './store.js';
