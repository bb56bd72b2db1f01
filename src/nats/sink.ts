import { jetstream, type PubAck } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConfigurationError, describeValue, TidewaterError } from '../errors/index.js';
import { parseSinkState } from '../jobs/sinks.js';
import type { CommittedAhead, Sink, SinkContext, SinkWriter } from '../jobs/types.js';
import type { JetStreamError } from './source.js';
import { committedBeyond, newRun, timelineOf, TransactionPublisher, type SubjectBatch, type Timeline } from './publisher.js';

/**
 * Options of {@link jetStreamSink}.
 *
 * @example
 * ```ts
 * const options: JetStreamSinkOptions<Count> = { connection: nc, subject: 'counts.per-minute' };
 * ```
 */
export interface JetStreamSinkOptions<R> {
  /** An open connection (see `jetStreamSource`). */
  readonly connection: NatsConnection;
  /**
   * The subject the sink publishes to: one subject (no wildcard) of a stream, which this sink alone writes — its last
   * message tells a restarted job how far a commit got.
   */
  readonly subject: string;
  /** A value's message data (default: its JSON as UTF-8). */
  readonly encode?: (value: R) => Uint8Array | string;
  /** Publishes awaiting the server's acknowledgement at a time while a transaction is published (default 1 024). */
  readonly maxInFlight?: number;
}

/** A transaction published at commit: its checkpoint, the message-id prefix of its run, its messages (base64). */
interface Transaction {
  readonly id: number;
  readonly run: string;
  readonly messages: readonly string[];
}

const OP = 'jetStreamSink';
const utf8 = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * An exactly-once sink publishing to a NATS JetStream subject with Flink's two-phase commit: a checkpoint's values
 * are held in its transaction (stored with the checkpoint) and published when the checkpoint is durable, each
 * message with the id `<run>:<checkpoint>:<index>` (`Nats-Msg-Id`) and headers naming the job, the checkpoint and the
 * index. A job restored after a crash publishes its restored transactions again: the subject's last message tells
 * how far the crashed commit got, so only the rest goes out, and the server's de-duplication (within the stream's
 * `duplicate_window`) drops any message sent twice while a publish was retried. Exactly once therefore needs the
 * subject to be written by this sink alone, in a stream that keeps its last message (`limits` retention; not a work
 * queue or interest stream, whose messages go once consumed): the sink checks the stream when it opens and refuses
 * other configurations. Without checkpointing, values are published as they come (at most `maxInFlight` awaiting
 * acknowledgement).
 *
 * @example
 * ```ts
 * runJob({
 *   name: 'counts',
 *   source: jetStreamSource<Click>({ connection: nc, stream: 'CLICKS' }),
 *   pipeline: pipe(keyBy((c) => c.user), window(tumblingWindows(60_000)), aggregate(count())),
 *   sink: jetStreamSink({ connection: nc, subject: 'counts.per-minute' }),
 *   checkpoint: { intervalMs: 1_000, store: levelStore('./state') },
 * });
 * ```
 */
export function jetStreamSink<R>(options: JetStreamSinkOptions<R>): Sink<R> {
  const { connection, subject } = options;
  if (typeof subject !== 'string' || subject.length === 0 || /[*>\s]/.test(subject)) {
    throw new ConfigurationError(OP, subject, `${OP}: subject ${describeValue(subject)} must be one subject, without wildcards or spaces.`);
  }
  const maxInFlight = options.maxInFlight ?? 1024;
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
    throw new ConfigurationError(OP, maxInFlight, `${OP}: maxInFlight ${describeValue(maxInFlight)} must be a whole number ≥ 1.`);
  }
  const description = `${OP}(${subject})`;
  const encode = (value: R): Uint8Array => {
    const data = options.encode !== undefined ? options.encode(value) : JSON.stringify(value);
    const bytes = typeof data === 'string' ? utf8.encode(data) : data;
    if (!(bytes instanceof Uint8Array)) throw new ConfigurationError(OP, data, `${description}: encode returned ${describeValue(data)}; return a string or a Uint8Array.`);
    // (refused here, when written, rather than by the server or the stream in the middle of a commit — where a later
    // message stored after a refused one would hide the gap from a restore; room left for the headers)
    const { max, why, remedy } = publisher.payloadLimit();
    if (bytes.length > max) {
      throw new TidewaterError(
        OP,
        value,
        `${description}: a value's message is ${bytes.length} B, more than the ${max} B a message may carry ${why}. Make the values smaller, or ${remedy}.`,
      );
    }
    return bytes;
  };
  const publisher = new TransactionPublisher(connection, OP, description, maxInFlight);
  const failed = (what: string, e: unknown): JetStreamError => publisher.failed(what, e);
  const readState = (state: string): { readonly pending: Transaction[]; readonly timeline: Timeline | undefined } => {
    const o = parseSinkState(description, OP, state, (o) => Array.isArray(o['pending']));
    return { pending: o['pending'] as Transaction[], timeline: timelineOf(o) };
  };
  const batchOf = (t: Transaction): SubjectBatch => ({ subject, checkpoint: t.id, idPrefix: t.run, count: t.messages.length, message: (i) => fromBase64(t.messages[i] as string) });

  return {
    description,
    async committedAhead(context: SinkContext): Promise<CommittedAhead | undefined> {
      if (!context.transactional) return undefined;
      const stream = await publisher.checkStream(subject, true);
      const last = await publisher.lastCommitted(stream, subject);
      const timeline = context.restored === undefined ? undefined : readState(context.restored).timeline;
      const beyond = committedBeyond(last, context.job, timeline, context.restoredCheckpoint);
      if (last === undefined || beyond === undefined) return undefined;
      return {
        checkpoint: beyond,
        what: `messages on '${subject}' up to checkpoint ${beyond} (stream sequence ${last.seq}${timeline !== undefined && last.timeline !== timeline.id ? ', of a run not restored from these checkpoints' : ''})`,
        loss: 'publish that output again after them (a JetStream subject cannot be cut back)',
      };
    },
    async open(context: SinkContext): Promise<SinkWriter<R>> {
      const stream = await publisher.checkStream(subject, context.transactional);
      const js = jetstream(connection);
      const run = newRun();
      const job = context.job;
      if (!context.transactional) {
        // not checkpointed: published as written, acknowledged by close
        const inFlight: Promise<PubAck>[] = [];
        let failure: unknown;
        const settle = async (): Promise<void> => {
          const all = inFlight.splice(0);
          try {
            await Promise.all(all);
          } catch (e) {
            failure ??= e;
          }
        };
        return {
          write(value) {
            if (failure !== undefined) throw failed('publishing failed', failure);
            const published = js.publish(subject, encode(value));
            // (a failure is kept at once: left for the next settle, it was an unhandled rejection that ended the process)
            published.catch((e: unknown) => {
              failure ??= e;
            });
            inFlight.push(published);
            if (inFlight.length >= maxInFlight) void settle();
          },
          preCommit: () => '',
          commit() {},
          async close() {
            await settle();
            if (failure !== undefined) throw failed('publishing failed', failure);
          },
        };
      }
      // restored transactions first: only what the crashed commit did not publish
      let timeline: Timeline | undefined = publisher.newTimeline();
      if (context.restored !== undefined) {
        const restored = readState(context.restored);
        timeline = restored.timeline;
        if (restored.pending.length > 0) {
          const last = await publisher.lastCommitted(stream, subject);
          for (const t of restored.pending) await publisher.resume(job, timeline, batchOf(t), t.run, last);
        }
      }
      let current: string[] = [];
      let pending: Transaction[] = [];
      return {
        write(value) {
          current.push(toBase64(encode(value)));
        },
        preCommit(checkpointId) {
          pending.push({ id: checkpointId, run, messages: current });
          current = [];
          return JSON.stringify({ sink: OP, pending, timeline });
        },
        async commit(checkpointId) {
          while (pending.length > 0 && (pending[0] as Transaction).id <= checkpointId) {
            await publisher.publish(job, timeline, batchOf(pending[0] as Transaction), 0);
            pending = pending.slice(1);
          }
        },
        close() {
          current = [];
          pending = [];
        },
      };
    },
  };
}

