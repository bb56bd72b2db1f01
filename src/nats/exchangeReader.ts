import type { NatsConnection } from '@nats-io/nats-core';
import { record, type Key, type StreamElement } from '../elements/index.js';
import { ConfigurationError, describeValue, TidewaterError } from '../errors/index.js';
import type { Source, SourceRead, SourceReader } from '../jobs/types.js';
import { StatusWatermarkValve, valveStateFromJson, valveStateToJson } from '../partitioning/valve.js';
import { openOrderedConsumer, type MessageQueue } from './consumer.js';
import { JetStreamError } from './source.js';
import { partitionsChanged } from './stages.js';

/** What a checkpoint stores of the reader (JSON). */
interface Position {
  /** Stream sequence of the last message read (0: none). */
  readonly seq: number;
  /** The valve's state over the upstream tasks (`valveStateToJson`). */
  readonly valve: readonly (number | 'min' | 'max')[] | null;
  /** Per upstream task: whether its stream ended. */
  readonly ended: readonly boolean[];
  /** The tasks of this reader's stage (checkpoints written before it was kept: absent). */
  readonly tasks?: number;
}

const OP = 'exchange';
const utf8 = new TextDecoder();

type Element = StreamElement<unknown, unknown>;

class ExchangeReader implements SourceReader<Element> {
  private seq: number;
  private readonly valve: StatusWatermarkValve;
  private readonly ended: boolean[];
  private endedCount: number;
  /** What the restored valve emits before any message: upstream tasks idle at the checkpoint are idle still. */
  private readonly restoredOut: Element[];

  constructor(
    private readonly description: string,
    private readonly upstreamTasks: number,
    private readonly tasks: number,
    start: Position,
    private readonly messages: MessageQueue | undefined,
  ) {
    this.seq = start.seq;
    this.valve = new StatusWatermarkValve(upstreamTasks);
    // (the upstream tasks did not restart with this one: one idle at the checkpoint sent its idle status once, before
    // it, and sends nothing more until it turns active — restored active, it would hold event time back for good)
    this.restoredOut = start.valve === null ? [] : this.valve.restoreKeepingIdleness(valveStateFromJson(start.valve));
    this.ended = [...start.ended];
    this.endedCount = this.ended.filter(Boolean).length;
  }

  private get done(): boolean {
    return this.endedCount === this.upstreamTasks;
  }

  read(max: number): SourceRead<Element> | Promise<SourceRead<Element>> {
    const queue = this.messages;
    if (this.restoredOut.length > 0) return { values: this.restoredOut.splice(0), done: false };
    if (this.done || queue === undefined) return { values: [], done: true };
    if (queue.failure !== undefined && queue.size === 0) throw this.readFailed(queue.failure.error);
    if (queue.size === 0) return queue.waitForMessage().then(() => this.take(max));
    return this.take(max);
  }

  /** The elements of whole messages, until `max` elements (or more: a message is never split) or the end. */
  private take(max: number): SourceRead<Element> {
    const queue = this.messages as MessageQueue;
    if (queue.failure !== undefined && queue.size === 0) throw this.readFailed(queue.failure.error);
    const values: Element[] = [];
    const push = (out: readonly Element[]): void => {
      for (const e of out) values.push(e);
    };
    while (values.length < max && !this.done) {
      const m = queue.take();
      if (m === undefined) break;
      if (m.seq <= this.seq) continue; // (an ordered consumer re-created after a gap may deliver again)
      this.seq = m.seq;
      const subject = m.subject;
      const from = Number(subject.slice(subject.lastIndexOf('.') + 1));
      if (!Number.isInteger(from) || from < 0 || from >= this.upstreamTasks) {
        throw new ConfigurationError(OP, subject, `${this.description}: message ${m.seq} on '${subject}' comes from task ${describeValue(from)}, but the stage before has ${this.upstreamTasks} tasks: the exchange stream holds another job's messages, or the job was started with other partitions. Give each job its own name.`);
      }
      let entries: unknown[];
      try {
        entries = JSON.parse(utf8.decode(m.data)) as unknown[];
      } catch (e) {
        throw new TidewaterError(OP, subject, `${this.description}: message ${m.seq} on '${subject}' is not an exchange message: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      for (const entry of entries as (readonly unknown[])[]) {
        switch (entry[0]) {
          case 0:
            values.push(record(entry[3], entry[1] as number, entry[2] as Key));
            break;
          case 1:
            push(this.valve.inputWatermark(from, entry[1] === null ? Infinity : entry[1] === 'min' ? -Infinity : (entry[1] as number)));
            break;
          case 2:
            push(this.valve.inputStatus(from, entry[1] === 1));
            break;
          case 3:
            if (this.ended[from] !== true) {
              this.ended[from] = true;
              this.endedCount++;
              push(this.valve.inputEnded(from));
            }
            break;
          default:
            throw new TidewaterError(OP, entry, `${this.description}: message ${m.seq} on '${subject}' holds an unknown exchange entry ${describeValue(entry)}.`);
        }
      }
    }
    queue.taken();
    return { values, done: this.done };
  }

  private readFailed(cause: unknown): JetStreamError {
    return new JetStreamError(OP, this.description, `${this.description}: reading the exchange failed: ${String((cause as Error)?.message ?? cause)}`, cause);
  }

  offset(): string {
    const p: Position = { seq: this.seq, valve: valveStateToJson(this.valve.state()), ended: this.ended, tasks: this.tasks };
    return JSON.stringify(p);
  }

  async close(): Promise<void> {
    await this.messages?.close();
  }
}

/**
 * The exchange reader of one task of a cluster job's stage ≥ 1 (docs/NATS.md, "Multi-process jobs"): the entries the
 * upstream tasks sent it, in the order the exchange stream holds them (subject `<filter prefix>.<upstream task>`),
 * as stream elements — records with their timestamps and keys, and the watermark combined over the upstream tasks
 * by the `StatusWatermarkValve` (docs/SEMANTICS.md §2.4: minimum over the active ones; an ended task no longer holds
 * it back). It ends when every upstream task's stream ended. The checkpoint offset holds the stream sequence and the
 * valve's state, so a restored task reads on right after what its state covers.
 *
 * @internal
 */
export function exchangeSource(options: {
  readonly connection: NatsConnection;
  readonly stream: string;
  /** The subjects of this task, e.g. `tw.clicks.0.3.*`. */
  readonly filter: string;
  readonly upstreamTasks: number;
  /** What the upstream tasks are one per: `'sources'` (stage 1) or `'partitions'`. */
  readonly upstreamPer: 'sources' | 'partitions';
  /** The tasks of this reader's stage (its partitions). */
  readonly tasks: number;
  readonly description: string;
  readonly batch?: number;
}): Source<Element> {
  const { connection, stream, filter, upstreamTasks, upstreamPer, tasks, description } = options;
  const batch = options.batch ?? 256;
  return {
    description,
    async open(offset) {
      let start: Position = { seq: 0, valve: null, ended: Array.from({ length: upstreamTasks }, () => false), tasks };
      if (offset !== undefined) {
        const p = JSON.parse(offset) as Position;
        if (!Number.isSafeInteger(p.seq) || !Array.isArray(p.ended) || p.ended.length !== upstreamTasks) {
          throw new ConfigurationError(OP, offset, `${description}: checkpoint offset ${describeValue(offset)} is not this exchange reader's (of ${upstreamTasks} upstream tasks, one per ${upstreamPer === 'sources' ? 'source' : 'partition'}); restore the job with the ${upstreamPer} it was started with.`);
        }
        if (p.tasks !== undefined && p.tasks !== tasks) throw partitionsChanged(description, `is of a stage of ${p.tasks} tasks`, p.tasks, tasks);
        start = p;
      }
      if (start.ended.every(Boolean)) return new ExchangeReader(description, upstreamTasks, tasks, start, undefined);
      let messages: MessageQueue;
      try {
        messages = await openOrderedConsumer(connection, stream, filter, start.seq, batch);
      } catch (e) {
        throw new JetStreamError(OP, description, `${description}: cannot read the exchange stream '${stream}': ${(e as Error)?.message ?? String(e)}`, e);
      }
      return new ExchangeReader(description, upstreamTasks, tasks, start, messages);
    },
  };
}
