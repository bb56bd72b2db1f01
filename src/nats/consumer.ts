import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';

/**
 * The messages of one ordered consumer, held for a reader that takes them synchronously: a JetStream source's reader
 * and a cluster job's exchange reader (docs/NATS.md). At most `capacity` received messages wait here (then the
 * receiving waits, and the client pulls no more than its one batch ahead): a job slower than the stream holds a
 * bounded backlog, not the stream.
 *
 * @internal
 */
export class MessageQueue {
  private readonly queue: JsMsg[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private room: (() => void) | undefined;
  /** Why the receiving stopped (a failure, or the connection closed), once it did. */
  failure: { readonly error: unknown } | undefined;
  private closed = false;

  constructor(
    private readonly messages: ConsumerMessages,
    private readonly capacity: number,
    /** The connection's end (its error, if it failed): the cause when the messages stop because it closed. */
    private readonly connectionClosed?: () => Promise<void | Error>,
  ) {
    void this.receive();
  }

  /** Messages received and not yet taken. */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** The next received message, or undefined when none is waiting. */
  take(): JsMsg | undefined {
    if (this.head >= this.queue.length) return undefined;
    return this.queue[this.head++];
  }

  /** Call after a round of {@link take}s: compacts the queue and lets the receiving go on once half of it is free. */
  taken(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.room !== undefined && this.size < this.capacity / 2) {
      const r = this.room;
      this.room = undefined;
      r();
    }
  }

  /** Resolves when a message arrives, the receiving stops, the queue is closed, or after `timeoutMs` (when given). */
  waitForMessage(timeoutMs?: number): Promise<void> {
    if (this.size > 0 || this.failure !== undefined || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.wake = undefined;
          resolve();
        }, timeoutMs);
      }
    });
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async receive(): Promise<void> {
    try {
      for await (const m of this.messages) {
        this.queue.push(m);
        this.signal();
        if (this.size >= this.capacity && !this.closed) await new Promise<void>((resolve) => (this.room = resolve));
      }
    } catch (e) {
      this.failure = { error: e };
    }
    // (the messages end only when closed here, or when the connection closed under them: then its error is the cause)
    if (!this.closed && this.failure === undefined) {
      const cause = await this.connectionClosed?.().catch((e: unknown) => e);
      this.failure = { error: cause instanceof Error ? cause : new Error('the consumer stopped: the connection closed') };
    }
    this.signal();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // (a read waiting for a message settles now: with what was received, none)
    this.signal();
    const r = this.room;
    this.room = undefined;
    r?.();
    await this.messages.close();
  }
}

/**
 * An ordered consumer of `stream` (one subject filter, or every subject) from the message after sequence `after`
 * (0: from the start), its messages held in a {@link MessageQueue} of `4 × batch`.
 *
 * @internal
 */
export async function openOrderedConsumer(connection: NatsConnection, stream: string, filter: string | undefined, after: number, batch: number): Promise<MessageQueue> {
  const js = jetstream(connection);
  const consumer = await js.consumers.get(stream, {
    ...(filter !== undefined ? { filter_subjects: filter } : {}),
    ...(after > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 } : { deliver_policy: DeliverPolicy.All }),
  });
  // (a stream deleted under it ends the messages with an error, instead of waiting forever for it to come back)
  return new MessageQueue(await consumer.consume({ max_messages: batch, abort_on_missing_resource: true }), 4 * batch, () => connection.closed());
}

/**
 * What a source of every subject of `stream` can tell of messages removed before it read them (docs/NATS.md,
 * "Resuming after removed messages"): `first`, the first message the stream still holds when messages after sequence
 * `after` (a checkpoint's position) are gone — removed by the stream's limits (`max_age`, `max_msgs`, `max_bytes`) or
 * a purge while the job was down — else undefined (also without `after`: a first start); and `contiguous`, whether a
 * gap in the sequence numbers it reads means a loss — not when the stream removes a subject's older messages as newer
 * ones come (a per-subject limit, rollup headers: a KV bucket's stream), which is its design (neither check is made
 * then).
 *
 * @internal
 */
export async function removedMessages(connection: NatsConnection, stream: string, after: number | undefined): Promise<{ first: number | undefined; contiguous: boolean }> {
  const info = await (await jetstreamManager(connection)).streams.info(stream);
  // (an empty stream's first sequence is its last + 1: nothing removed when `after` is its last)
  const first = info.state.first_seq;
  const perSubject = (info.config.max_msgs_per_subject ?? -1) > 0 || info.config.allow_rollup_hdrs === true;
  // (such a stream's first message moves on by its design too: no loss is told from it either)
  return { first: after !== undefined && !perSubject && first > after + 1 ? first : undefined, contiguous: !perSubject };
}
