import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { ConfigurationError } from '../errors/index.js';
import { JetStreamError } from './source.js';

/** The headers a committed message carries besides `Nats-Msg-Id`: the job's name, the transaction and its index. */
const JOB = 'Tidewater-Job';
const TXN = 'Tidewater-Checkpoint';
const INDEX = 'Tidewater-Index';
const TIMELINE = 'Tidewater-Timeline';
/** Bytes of a message's size kept for its headers (the message id and the three above). @internal */
export const HEADER_ROOM = 512;

/**
 * A run's id: unique per opening, so that a job started over never reuses a message id of an earlier run — 64 random
 * bits as 16 hex digits (with 32, two of 10 000 runs share an id with a chance of about 1 %, the birthday bound; had
 * they published within JetStream's duplicate window, the later run's messages would be dropped as duplicates). @internal
 */
export function newRun(): string {
  const words = globalThis.crypto.getRandomValues(new Uint32Array(2));
  return ((words[0] as number).toString(16).padStart(8, '0') + (words[1] as number).toString(16).padStart(8, '0'));
}

/**
 * The line of checkpoints a writer's state belongs to (docs/NATS.md, "Timelines"): an id given when a job starts
 * without a checkpoint, kept through every restore of its checkpoints and sent on each message, and the stream's last
 * sequence when the line began. Checkpoint ids are only comparable within one line: a job started afresh on a new
 * store counts from 1 again, below the ids on the subject from the line before.
 *
 * @example
 * ```ts
 * const line: Timeline = publisher.newTimeline(); // { id: '9f3c…', since: 1204 }
 * ```
 *
 * @internal
 */
export interface Timeline {
  readonly id: string;
  /** The stream's last sequence when the line began: the job's messages up to it are of earlier lines. */
  readonly since: number;
}

/**
 * The timeline a writer's restored state holds (undefined: a state written before timelines, or none).
 *
 * @example
 * ```ts
 * timelineOf({ sink: 'jetStreamSink', pending: [], timeline: { id: '9f3c', since: 12 } }); // { id: '9f3c', since: 12 }
 * ```
 *
 * @internal
 */
export function timelineOf(state: Record<string, unknown>): Timeline | undefined {
  const t = state['timeline'] as Partial<Timeline> | undefined;
  return typeof t?.id === 'string' && Number.isSafeInteger(t.since) ? { id: t.id, since: t.since as number } : undefined;
}

/**
 * Where the previous runs' commits got on a subject: its last message's job, run, timeline (`''`: written before
 * timelines), transaction and index. @internal
 */
export interface LastCommitted {
  readonly job: string;
  readonly run: string;
  readonly timeline: string;
  readonly checkpoint: number;
  readonly index: number;
  readonly seq: number;
}

/** One transaction's messages on one subject, as a commit publishes them (docs/NATS.md, "exactly once"). @internal */
export interface SubjectBatch {
  readonly subject: string;
  /** The checkpoint of the transaction. */
  readonly checkpoint: number;
  /** The message ids' prefix: `<run>` (one subject) or `<run>:<part>` (one of several subjects). */
  readonly idPrefix: string;
  readonly count: number;
  message(index: number): Uint8Array;
}

/**
 * What the exactly-once JetStream writers share (`jetStreamSink`, a cluster job's exchange writer): the stream check,
 * reading how far a subject's commits got, and publishing a transaction's messages in order with their ids and
 * headers, at most `maxInFlight` awaiting acknowledgement.
 *
 * @internal
 */
export class TransactionPublisher {
  private jsmOnce: Promise<JetStreamManager> | undefined;
  private jsOnce: JetStreamClient | undefined;

  constructor(
    private readonly connection: NatsConnection,
    private readonly operator: string,
    private readonly description: string,
    private readonly maxInFlight: number,
  ) {}

  /** The client's error, or a failure, as a {@link JetStreamError} naming what failed. */
  failed(what: string, e: unknown): JetStreamError {
    return e instanceof JetStreamError ? e : new JetStreamError(this.operator, this.description, `${this.description}: ${what}: ${(e as Error)?.message ?? String(e)}`, e);
  }

  /** One JetStream manager per writer: making one asks the server for its API first. */
  manager(): Promise<JetStreamManager> {
    return (this.jsmOnce ??= jetstreamManager(this.connection));
  }

  private client(): JetStreamClient {
    return (this.jsOnce ??= jetstream(this.connection));
  }

  /** The stream's own limit on a message (`max_msg_size`), once {@link checkStream} read it. */
  private streamLimit: { readonly stream: string; readonly bytes: number } | undefined;
  /** {@link payloadLimit}, made once (per record it is only read). */
  private limit: { readonly max: number; readonly why: string; readonly remedy: string } | undefined;

  /**
   * The most bytes a message's payload may have — the server's `max_payload` or, when smaller, the stream's
   * `max_msg_size`, less {@link HEADER_ROOM} for the headers — and what sets it (for the error refusing a value).
   */
  payloadLimit(): { readonly max: number; readonly why: string; readonly remedy: string } {
    return (this.limit ??= this.makeLimit());
  }

  private makeLimit(): { readonly max: number; readonly why: string; readonly remedy: string } {
    const server = this.connection.info?.max_payload ?? Infinity;
    const stream = this.streamLimit;
    if (stream !== undefined && stream.bytes < server) {
      return {
        max: stream.bytes - HEADER_ROOM,
        why: `in stream '${stream.stream}' (max_msg_size ${stream.bytes} B, less ${HEADER_ROOM} B for the headers)`,
        remedy: "raise the stream's max_msg_size",
      };
    }
    return {
      max: server - HEADER_ROOM,
      why: `on this server (max_payload ${server} B, less ${HEADER_ROOM} B for the headers)`,
      remedy: "raise max_payload in the server's configuration",
    };
  }

  /** The stream that captures `subject`, checked for what exactly-once needs (`transactional`). */
  async checkStream(subject: string, transactional: boolean): Promise<string> {
    const { operator, description } = this;
    let name: string;
    let info;
    try {
      const jsm = await this.manager();
      name = await jsm.streams.find(subject);
      info = await jsm.streams.info(name);
    } catch (e) {
      throw this.failed(`no JetStream stream takes subject '${subject}' (create one whose subjects include it)`, e);
    }
    if (transactional && info.config.retention !== 'limits') {
      throw new ConfigurationError(
        operator,
        info.config.retention,
        `${description}: stream '${name}' has ${info.config.retention} retention, which removes messages once consumed: a restarted job could not see how far its commit got, so exactly-once cannot hold. Publish to a stream with limits retention.`,
      );
    }
    this.streamLastSeq = info.state.last_seq;
    const maxMsgSize = info.config.max_msg_size;
    this.streamLimit = maxMsgSize !== undefined && maxMsgSize > 0 ? { stream: name, bytes: maxMsgSize } : undefined;
    this.limit = undefined;
    const perSubject = info.config.max_msgs_per_subject;
    if (transactional && perSubject !== undefined && perSubject > 0 && perSubject < this.maxInFlight) {
      throw new ConfigurationError(
        operator,
        perSubject,
        `${description}: stream '${name}' keeps ${perSubject} messages per subject, fewer than the ${this.maxInFlight} a commit may have in flight: messages could be dropped before they are read. Raise max_msgs_per_subject (or lower maxInFlight).`,
      );
    }
    return name;
  }

  /** The last message on `subject`, as a transactional writer wrote it (undefined: none, or not a writer's). */
  async lastCommitted(stream: string, subject: string): Promise<LastCommitted | undefined> {
    let m;
    try {
      const jsm = await this.manager();
      m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    } catch (e) {
      throw this.failed(`reading the last message of '${subject}' failed`, e);
    }
    if (m === null || m === undefined) return undefined;
    const id = m.header?.get('Nats-Msg-Id') ?? '';
    const job = m.header?.get(JOB) ?? '';
    const checkpoint = Number(m.header?.get(TXN));
    const index = Number(m.header?.get(INDEX));
    const run = id.split(':')[0] ?? '';
    if (job === '' || !Number.isSafeInteger(checkpoint) || !Number.isSafeInteger(index)) return undefined;
    return { job, run, timeline: m.header?.get(TIMELINE) ?? '', checkpoint, index, seq: m.seq };
  }

  /**
   * A new timeline, beginning after the stream's messages so far (read by {@link checkStream}): for a writer that
   * opens without a restored state.
   */
  newTimeline(): Timeline {
    return { id: newRun(), since: this.streamLastSeq };
  }

  /** The stream's last sequence when {@link checkStream} read it. */
  private streamLastSeq = 0;

  /**
   * Publishes `batch` from message `from` on, in order (one connection: the server stores them in the order sent),
   * each with `Nats-Msg-Id: <idPrefix>:<checkpoint>:<index>` and the job, checkpoint, index and timeline headers.
   */
  async publish(job: string, timeline: Timeline | undefined, batch: SubjectBatch, from: number): Promise<void> {
    const js = this.client();
    const inFlight: Promise<PubAck>[] = [];
    const settle = async (): Promise<void> => {
      try {
        await Promise.all(inFlight);
      } catch (e) {
        throw this.failed(`publishing checkpoint ${batch.checkpoint}'s output to '${batch.subject}' failed`, e);
      }
      inFlight.length = 0;
    };
    for (let i = from; i < batch.count; i++) {
      const h = natsHeaders();
      h.set(JOB, job);
      h.set(TXN, String(batch.checkpoint));
      h.set(INDEX, String(i));
      if (timeline !== undefined) h.set(TIMELINE, timeline.id);
      inFlight.push(js.publish(batch.subject, batch.message(i), { msgID: `${batch.idPrefix}:${batch.checkpoint}:${i}`, headers: h }));
      if (inFlight.length >= this.maxInFlight) await settle();
    }
    await settle();
  }

  /**
   * Publishes a restored transaction's batch: only what the subject's last message (`last`) shows was not published
   * yet — nothing when a newer transaction of the job's line went out, the rest when this run of it got part-way, all
   * of it when the last message is of another line (the job's checkpoint ids count again from 1 on a new store:
   * compared across lines, an earlier line's higher id hid this one's output). `timeline` undefined: a state written
   * before timelines, compared by checkpoint as then.
   */
  async resume(job: string, timeline: Timeline | undefined, batch: SubjectBatch, run: string, last: LastCommitted | undefined): Promise<void> {
    let from = 0;
    if (last !== undefined && last.job === job && (timeline === undefined || last.timeline === timeline.id)) {
      if (last.checkpoint > batch.checkpoint) return;
      if (last.checkpoint === batch.checkpoint && last.run === run) from = last.index + 1;
    }
    await this.publish(job, timeline, batch, from);
  }
}

/**
 * The checkpoint of the job's output on a subject that a job starting from `checkpoint` (undefined: afresh) cannot
 * account for, from the subject's last message (`committedAhead`, docs/SEMANTICS.md §8): afresh, any of the job's
 * output; restored, a later checkpoint of its own line, or another line's output published after its line began
 * (a line the job left and came back to). Undefined: none.
 *
 * @example
 * ```ts
 * const ahead = committedBeyond(await publisher.lastCommitted(stream, subject), 'clicks', timeline, 4); // e.g. 6
 * ```
 *
 * @internal
 */
export function committedBeyond(last: LastCommitted | undefined, job: string, timeline: Timeline | undefined, checkpoint: number | undefined): number | undefined {
  if (last === undefined || last.job !== job) return undefined;
  if (checkpoint === undefined) return last.checkpoint;
  if (timeline === undefined || last.timeline === timeline.id) return last.checkpoint > checkpoint ? last.checkpoint : undefined;
  return last.seq > timeline.since ? last.checkpoint : undefined;
}
