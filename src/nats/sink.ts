import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { ConfigurationError, describeValue, TidewaterError } from '../errors/index.js';
import { parseSinkState } from '../jobs/sinks.js';
import type { CommittedAhead, Sink, SinkContext, SinkWriter } from '../jobs/types.js';
import { JetStreamError } from './source.js';

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
/** The headers a committed message carries besides `Nats-Msg-Id`: the job's name, the transaction and its index. */
const JOB = 'Tidewater-Job';
const TXN = 'Tidewater-Checkpoint';
const INDEX = 'Tidewater-Index';
/** Bytes of a message's size kept for its headers (the message id and the three above). */
const HEADER_ROOM = 512;

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

/** A run's id: unique per opening, so that a job started over never reuses a message id of an earlier run. */
function newRun(): string {
  return globalThis.crypto.randomUUID().slice(0, 8);
}

/** Where the previous runs' commits got on the subject: the last message's job, transaction and index. */
interface LastCommitted {
  readonly job: string;
  readonly run: string;
  readonly checkpoint: number;
  readonly index: number;
  readonly seq: number;
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
    // (refused here, when written, rather than by the server in the middle of a commit; room left for the headers)
    const max = (connection.info?.max_payload ?? Infinity) - HEADER_ROOM;
    if (bytes.length > max) {
      throw new TidewaterError(
        OP,
        value,
        `${description}: a value's message is ${bytes.length} B, more than the ${max} B a message may carry on this server (max_payload ${connection.info?.max_payload} B, less ${HEADER_ROOM} B for the headers). Make the values smaller, or raise max_payload in the server's configuration.`,
      );
    }
    return bytes;
  };
  const failed = (what: string, e: unknown): JetStreamError =>
    e instanceof JetStreamError ? e : new JetStreamError(OP, subject, `${description}: ${what}: ${(e as Error)?.message ?? String(e)}`, e);

  // (one JetStream manager for the sink: making one asks the server for its API first)
  let jsmOnce: Promise<JetStreamManager> | undefined;
  const manager = (): Promise<JetStreamManager> => (jsmOnce ??= jetstreamManager(connection));

  /** The stream that captures the subject, checked for what exactly-once needs. */
  const checkStream = async (transactional: boolean): Promise<string> => {
    let name: string;
    let info;
    try {
      const jsm = await manager();
      name = await jsm.streams.find(subject);
      info = await jsm.streams.info(name);
    } catch (e) {
      throw failed(`no JetStream stream takes subject '${subject}' (create one whose subjects include it)`, e);
    }
    if (transactional && info.config.retention !== 'limits') {
      throw new ConfigurationError(
        OP,
        info.config.retention,
        `${description}: stream '${name}' has ${info.config.retention} retention, which removes messages once consumed: a restarted job could not see how far its commit got, so exactly-once cannot hold. Publish to a stream with limits retention.`,
      );
    }
    if (transactional && info.config.max_msgs_per_subject !== undefined && info.config.max_msgs_per_subject > 0 && info.config.max_msgs_per_subject < maxInFlight) {
      throw new ConfigurationError(
        OP,
        info.config.max_msgs_per_subject,
        `${description}: stream '${name}' keeps ${info.config.max_msgs_per_subject} messages per subject, fewer than the ${maxInFlight} a commit may have in flight: messages could be dropped before they are read. Raise max_msgs_per_subject (or lower maxInFlight).`,
      );
    }
    return name;
  };

  /** The last message on the subject, as the sink wrote it (undefined: none, or not the sink's). */
  const lastCommitted = async (stream: string): Promise<LastCommitted | undefined> => {
    let m;
    try {
      const jsm = await manager();
      m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    } catch (e) {
      throw failed(`reading the last message of '${subject}' failed`, e);
    }
    if (m === null || m === undefined) return undefined;
    const id = m.header?.get('Nats-Msg-Id') ?? '';
    const job = m.header?.get(JOB) ?? '';
    const checkpoint = Number(m.header?.get(TXN));
    const index = Number(m.header?.get(INDEX));
    const run = id.split(':')[0] ?? '';
    if (job === '' || !Number.isSafeInteger(checkpoint) || !Number.isSafeInteger(index)) return undefined;
    return { job, run, checkpoint, index, seq: m.seq };
  };

  const readState = (state: string): Transaction[] =>
    parseSinkState(description, OP, state, (o) => Array.isArray(o['pending']))['pending'] as Transaction[];

  /** Publishes transaction `t` from message `from` on, `maxInFlight` at a time; in order (one connection). */
  const publish = async (js: JetStreamClient, job: string, t: Transaction, from: number): Promise<void> => {
    const inFlight: Promise<PubAck>[] = [];
    for (let i = from; i < t.messages.length; i++) {
      const h = natsHeaders();
      h.set(JOB, job);
      h.set(TXN, String(t.id));
      h.set(INDEX, String(i));
      inFlight.push(js.publish(subject, fromBase64(t.messages[i] as string), { msgID: `${t.run}:${t.id}:${i}`, headers: h }));
      if (inFlight.length >= maxInFlight) {
        try {
          await Promise.all(inFlight);
        } catch (e) {
          throw failed(`publishing checkpoint ${t.id}'s output failed`, e);
        }
        inFlight.length = 0;
      }
    }
    try {
      await Promise.all(inFlight);
    } catch (e) {
      throw failed(`publishing checkpoint ${t.id}'s output failed`, e);
    }
  };

  return {
    description,
    async committedAhead(context: SinkContext): Promise<CommittedAhead | undefined> {
      if (!context.transactional) return undefined;
      const stream = await checkStream(true);
      const last = await lastCommitted(stream);
      if (last === undefined || last.job !== context.job) return undefined;
      const at = context.restoredCheckpoint;
      if (at !== undefined && last.checkpoint <= at) return undefined;
      return {
        checkpoint: last.checkpoint,
        what: `messages on '${subject}' up to checkpoint ${last.checkpoint} (stream sequence ${last.seq})`,
        loss: 'publish that output again after them (a JetStream subject cannot be cut back)',
      };
    },
    async open(context: SinkContext): Promise<SinkWriter<R>> {
      const stream = await checkStream(context.transactional);
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
            inFlight.push(js.publish(subject, encode(value)));
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
      if (context.restored !== undefined) {
        const restored = readState(context.restored);
        if (restored.length > 0) {
          const last = await lastCommitted(stream);
          for (const t of restored) {
            let from = 0;
            if (last !== undefined && last.job === job) {
              if (last.checkpoint > t.id) continue;
              if (last.checkpoint === t.id && last.run === t.run) from = last.index + 1;
            }
            await publish(js, job, t, from);
          }
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
          return JSON.stringify({ sink: OP, pending });
        },
        async commit(checkpointId) {
          while (pending.length > 0 && (pending[0] as Transaction).id <= checkpointId) {
            await publish(js, job, pending[0] as Transaction, 0);
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

