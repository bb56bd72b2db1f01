import { jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { MessageQueue, openOrderedConsumer, removedMessages } from './consumer.js';
import type { NatsConnection } from '@nats-io/nats-core';
import { isStreamElement, record } from '../elements/index.js';
import { ConfigurationError, describeValue, TidewaterError } from '../errors/index.js';
import { StatusWatermarkValve, valveStateFromJson, valveStateToJson } from '../partitioning/valve.js';
import { checkTimestamp } from '../time/timestamps.js';
import type { WatermarkGenerator, WatermarkOutput, WatermarkStrategy } from '../time/strategies.js';
import type { Source, SourceContext, SourceRead, SourceReader } from '../jobs/types.js';

/**
 * One message of a JetStream stream as a source sees it: what `decode`, `timestamp` and `partitionOf` get.
 *
 * @example
 * ```ts
 * const decode = (m: JetStreamMessage) => JSON.parse(new TextDecoder().decode(m.data)) as Click;
 * ```
 */
export interface JetStreamMessage {
  /** The subject it was published to. */
  readonly subject: string;
  /** Its sequence number in the stream. */
  readonly seq: number;
  readonly data: Uint8Array;
  /** When the server stored it, in ms since the epoch. */
  readonly storedAt: number;
  /** Its headers (e.g. `Nats-Msg-Id`), if any. */
  readonly headers: ReadonlyMap<string, string> | undefined;
}

/**
 * Event time taken in the source, per partition (Flink's per-split watermarks in a Kafka source): each partition
 * (by default the message's subject) has its own watermark generator, and the source emits the minimum over the
 * partitions that are not idle, combined as the merge combines inputs (docs/SEMANTICS.md §2.4) — so a partition that
 * is behind holds event time back rather than seeing its records dropped as late, and an idle one (with the
 * strategy's `idleTimeout`) does not stall it.
 *
 * @example
 * ```ts
 * const eventTime: JetStreamEventTime<Click> = { timestamp: (c) => c.at, watermarks: boundedOutOfOrderness(5_000) };
 * ```
 */
export interface JetStreamEventTime<T> {
  /** The event time of a value, in ms. */
  readonly timestamp: (value: T, message: JetStreamMessage) => number;
  /**
   * The watermark strategy of each partition, e.g. `boundedOutOfOrderness(5_000, { idleTimeout: 60_000 })`. Its
   * watermark is taken after every message (so the output does not depend on how messages were batched); its
   * `idleTimeout`, if any, is checked on the job's clock while the partition receives nothing.
   */
  readonly watermarks: WatermarkStrategy<unknown>;
}

/**
 * Options of {@link jetStreamSource}.
 *
 * @example
 * ```ts
 * const options: JetStreamSourceOptions<Click> = { connection: nc, stream: 'CLICKS', bounded: true };
 * ```
 */
export interface JetStreamSourceOptions<T> {
  /** An open connection (`connect` of `@nats-io/transport-node` in Node, `wsconnect` of `@nats-io/nats-core` in browsers). */
  readonly connection: NatsConnection;
  /** The stream to read. */
  readonly stream: string;
  /** One subject filter (wildcards allowed: NATS 2.9 takes one per consumer); default: every subject of the stream. */
  readonly filter?: string;
  /** The value of a message (default: its data as UTF-8 JSON). */
  readonly decode?: (message: JetStreamMessage) => T;
  /** Timestamps and per-partition watermarks taken in the source (else the job stamps values with its clock). */
  readonly eventTime?: JetStreamEventTime<T>;
  /**
   * The partitions whose watermarks are combined (with `eventTime`): by default each subject the stream holds when
   * the job first starts is one. Name them to count partitions that have no message yet (they hold event time back
   * until they have one, or turn idle with the strategy's `idleTimeout`).
   */
  readonly partitions?: readonly string[];
  /** The partition of a message (default: its subject); must be one of {@link partitions}. */
  readonly partitionOf?: (message: JetStreamMessage) => string;
  /**
   * Read up to the stream's last message when the job first starts, then end (a backfill, a test); default false: read
   * on as messages arrive, never ending.
   */
  readonly bounded?: boolean;
  /** Messages asked from the server at a time (default 1 024). */
  readonly batch?: number;
  /**
   * What the source does when messages it has not read are removed at the stream's head — its limits (`max_age`,
   * `max_msgs`, `max_bytes`) or a purge took them while the job was down (a restore finds the stream starting past
   * its checkpoint's position) or while it lagged behind (a gap in what it reads, with the stream's first message now
   * past it): `'fail'` (default) fails the job with an error naming the messages that are gone; `'skip'` goes on from
   * the next message there is, without them, and warns (`SourceContext.warn`). Messages deleted inside the stream
   * (a deleted message, a subject's purge) were taken out on purpose and are not a loss. A loss while running is
   * seen when a later message arrives (a bounded source also looks while it waits). Checked for a source of every
   * subject only — a filter's position moves only with the messages it takes, so a removed message of another subject
   * could not be told from a lost one — and not on a stream that removes a subject's older messages itself (a
   * per-subject limit, rollup headers: a KV bucket's), whose head moves on by design (docs/NATS.md).
   */
  readonly onRemoved?: 'fail' | 'skip';
}

/** What a checkpoint stores of the source (JSON): the position and the partitions' watermark state. */
interface Position {
  /** Stream sequence of the last message read (0: none). */
  readonly seq: number;
  /** The bounded end: the stream's last sequence when the job first started (−1: unbounded). */
  readonly end: number;
  /** Bounded: every message up to the end was read. */
  readonly ended: boolean;
  /** The partitions, in valve order (with `eventTime`). */
  readonly partitions: readonly string[];
  /** The valve's state (`StatusWatermarkValve.state()`), with `eventTime`. */
  readonly valve: readonly (number | 'min' | 'max')[] | null;
}

const OP = 'jetStreamSource';

/** Messages `after + 1` … `last` in words: `message 3 was` / `messages 3–5 were`, and the pronoun for them. */
function removedRange(after: number, last: number): { text: string; them: string } {
  return last > after + 1 ? { text: `messages ${after + 1}–${last} were`, them: 'them' } : { text: `message ${after + 1} was`, them: 'it' };
}

/** The job's warning channel, else the console (a source opened by hand). */
const warnOf = (context: SourceContext): ((message: string) => void) => context.warn ?? ((m: string) => console.warn(m));

/** How long a bounded source waits for a message before it asks the stream whether its head passed the rest. */
const BOUNDED_CHECK_MS = 1_000;
const utf8 = new TextDecoder();

/** A `JsMsg` as the user's functions see it: its time and headers read only when asked for (a BigInt division, a Map). */
class Message implements JetStreamMessage {
  constructor(private readonly m: JsMsg) {}
  get subject(): string {
    return this.m.subject;
  }
  get seq(): number {
    return this.m.seq;
  }
  get data(): Uint8Array {
    return this.m.data;
  }
  get storedAt(): number {
    return Number(this.m.timestampNanos / 1_000_000n);
  }
  get headers(): ReadonlyMap<string, string> | undefined {
    const h = this.m.headers;
    if (h === undefined) return undefined;
    const out = new Map<string, string>();
    for (const [k, v] of h) out.set(k, v.join(','));
    return out;
  }
}

function parsePosition(description: string, offset: string): Position {
  let p: unknown;
  try {
    p = JSON.parse(offset);
  } catch {
    p = undefined;
  }
  const ok =
    typeof p === 'object' &&
    p !== null &&
    Number.isSafeInteger((p as Position).seq) &&
    Number.isSafeInteger((p as Position).end) &&
    typeof (p as Position).ended === 'boolean' &&
    Array.isArray((p as Position).partitions) &&
    ((p as Position).valve === null || Array.isArray((p as Position).valve));
  if (!ok) throw new ConfigurationError(description, offset, `${description}: checkpoint offset ${describeValue(offset)} is not a position of this source; restore from a checkpoint of this job.`);
  return p as Position;
}

/**
 * Raised when the server or the connection fails under a JetStream source or sink; the client's error is its cause.
 *
 * @example
 * ```ts
 * job.done.catch((e) => { if (e instanceof JetStreamError) console.error(e.message, e.cause); });
 * ```
 */
export class JetStreamError extends TidewaterError {
  override name = 'JetStreamError';
  constructor(operator: string, value: unknown, message: string, cause: unknown) {
    super(operator, value, message, { cause });
  }
}

/**
 * One partition's watermark generator, feeding the source's valve as one of its inputs: a watermark of an idle
 * partition, or a record of it, turns it active first (as a Flink split's output does).
 */
class PartitionClock implements WatermarkOutput {
  /** The partition is idle (its generator said so, and nothing came since). */
  idle = false;
  /**
   * Restored idle, and no message of it since: its generator, made anew, knows nothing of that and proposes from
   * MIN at its periodic emits — ignored until the partition's next message (`markActive`), as the generator of the
   * run that went on would have stayed silent.
   */
  restoredIdle = false;
  constructor(
    private readonly reader: JetStreamReader<unknown>,
    readonly index: number,
    readonly generator: WatermarkGenerator<unknown>,
  ) {}
  emitWatermark(timestamp: number): void {
    if (this.restoredIdle) return;
    if (this.idle) this.markActive();
    this.reader.valveOutput(this.reader.valve?.inputWatermark(this.index, timestamp));
  }
  markIdle(): void {
    if (this.restoredIdle) return;
    if (this.idle) return;
    this.idle = true;
    this.reader.valveOutput(this.reader.valve?.inputStatus(this.index, true));
  }
  markActive(): void {
    this.restoredIdle = false;
    if (!this.idle) return;
    this.idle = false;
    this.reader.valveOutput(this.reader.valve?.inputStatus(this.index, false));
  }
}

class JetStreamReader<T> implements SourceReader<unknown> {
  private seq: number;
  readonly valve: StatusWatermarkValve | undefined;
  private readonly clocks: PartitionClock[] = [];
  private readonly partitionIndex = new Map<string, number>();
  /** Elements made by the valve while a message is processed (a watermark, a status). */
  private readonly pending: unknown[] = [];
  /** The bounded end's stream sequence (−1: unbounded). */
  private readonly endSeq: number;
  /** Bounded: every message up to {@link endSeq} was read. */
  private ended: boolean;
  /** A message taken after a gap, held until {@link checkGap} has looked at it. */
  private held: JsMsg | undefined;
  /** When a waiting bounded source last asked where the stream's head is ({@link checkHead}). */
  private lastHeadCheck = -Infinity;
  /**
   * The stream's first sequence as {@link checkGap} found it during the current `read` (undefined between reads):
   * the later gaps of the same read are judged by it, one request per read.
   */
  private firstSeen: number | undefined;
  /** The stream's manager (for its info), made on the first gap. */
  private manager: ReturnType<typeof jetstreamManager> | undefined;
  /**
   * Whether {@link seq} is a position the job holds: restored, or a message was read. A job's first start reads from
   * the stream's first message, whatever it is by the time the consumer starts (the stream's limits may remove
   * messages meanwhile).
   */
  private anchored: boolean;

  constructor(
    private readonly options: JetStreamSourceOptions<T>,
    private readonly description: string,
    private readonly context: SourceContext,
    start: Position,
    private readonly messages: MessageQueue | undefined,
    restored: boolean,
    /**
     * Whether a message after the last one read must be the next in the stream: a source of every subject of a
     * stream that does not remove older messages per subject (see `removedMessages`).
     */
    private readonly contiguous: boolean,
  ) {
    this.anchored = restored;
    this.seq = start.seq;
    this.endSeq = start.end;
    this.ended = start.ended;
    const eventTime = options.eventTime;
    if (eventTime !== undefined) {
      const n = Math.max(1, start.partitions.length);
      this.valve = new StatusWatermarkValve(n);
      // (a partition idle at the checkpoint is idle still: its next message turns it active, as it would have; its
      // idle status goes downstream again, to operators restored active)
      if (start.valve !== null) this.valveOutput(this.valve.restoreKeepingIdleness(valveStateFromJson(start.valve)));
      start.partitions.forEach((p, i) => {
        this.partitionIndex.set(p, i);
        const clock = new PartitionClock(this as JetStreamReader<unknown>, i, eventTime.watermarks.createGenerator({ scheduler: context.scheduler, operator: OP }));
        clock.idle = clock.restoredIdle = this.valve?.isInputIdle(i) === true; // (restored: a partition idle at the checkpoint is still)
        this.clocks.push(clock);
      });
    }
  }

  private position(): Position {
    return { seq: this.seq, end: this.endSeq, ended: this.ended, partitions: [...this.partitionIndex.keys()], valve: this.valve === undefined ? null : valveStateToJson(this.valve.state()) };
  }

  valveOutput(out: readonly unknown[] | undefined): void {
    if (out !== undefined) for (const e of out) this.pending.push(e);
  }

  read(max: number): SourceRead<unknown> | Promise<SourceRead<unknown>> {
    const failure = this.messages?.failure;
    if (failure !== undefined && this.messages?.size === 0) throw this.readFailed(failure.error);
    if (this.ended) return { values: [], done: true };
    this.firstSeen = undefined;
    if (this.held !== undefined) return this.checkGap(this.held.seq).then(() => this.readChecked(max));
    if (this.messages !== undefined && this.messages.size === 0) {
      // nothing yet: wait for a message, or (partitions that may turn idle) for the next idleness check; a bounded
      // source of every subject also looks, at most every second, whether the stream's head passed what it has not
      // read (then no message up to its end may come)
      const bounded = this.contiguous && this.anchored && this.endSeq >= 0;
      const idle = this.options.eventTime?.watermarks.idleTimeout;
      const wait = bounded ? Math.min(idle ?? BOUNDED_CHECK_MS, BOUNDED_CHECK_MS) : idle;
      return this.messages.waitForMessage(wait).then(() => {
        if (!bounded || this.messages?.size !== 0 || this.clock() - this.lastHeadCheck < BOUNDED_CHECK_MS) return this.take(max);
        this.lastHeadCheck = this.clock();
        return this.checkHead().then(() => this.readChecked(max));
      });
    }
    return this.take(max);
  }

  /** Wall-clock ms for spacing the head checks of a waiting bounded source (a wait, not event time). */
  private clock(): number {
    return this.context.scheduler.now();
  }

  /**
   * A bounded source waiting for messages: those up to its end it has not read are gone when the stream's head passed
   * them. A failed request is no news (a server away a moment: the consumer reconnects), and a message that arrived
   * meanwhile is judged by {@link take} instead.
   */
  private async checkHead(): Promise<void> {
    let first: number;
    try {
      first = await this.streamFirst();
    } catch {
      return;
    }
    if (this.messages !== undefined && this.messages.size > 0) return;
    if (first > this.seq + 1) {
      const last = Math.min(first - 1, this.endSeq);
      this.removedWhileRunning(first, last, false);
      this.seq = last;
      if (last >= this.endSeq) this.ended = true;
    }
  }

  /** The stream's first sequence now (its manager made once; made again after a failed request). */
  private async streamFirst(): Promise<number> {
    try {
      this.manager ??= jetstreamManager(this.options.connection);
      return (await (await this.manager).streams.info(this.options.stream)).state.first_seq;
    } catch (e) {
      this.manager = undefined;
      throw e;
    }
  }

  /** {@link take} after {@link checkGap}: the gaps it meets are judged by the first sequence found. */
  private readChecked(max: number): SourceRead<unknown> {
    try {
      return this.ended ? { values: [], done: true } : this.take(max);
    } finally {
      this.firstSeen = undefined;
    }
  }

  /** Up to `max` values from what was received (with the watermarks and statuses they cause). */
  private take(max: number): SourceRead<unknown> {
    const queue = this.messages;
    if (queue?.failure !== undefined && queue.size === 0) throw this.readFailed(queue.failure.error);
    const values: unknown[] = [];
    const { decode, eventTime, partitionOf } = this.options;
    const bounded = this.endSeq >= 0;
    while (queue !== undefined && values.length < max && !this.ended) {
      let m = this.held;
      if (m !== undefined) this.held = undefined; // (its gap was looked at)
      else {
        m = queue.take();
        if (m === undefined) break;
        const seq = m.seq;
        if (seq <= this.seq) continue; // (an ordered consumer re-created after a gap may deliver again)
        if (this.contiguous && this.anchored && seq > this.seq + 1 && (!bounded || this.seq < this.endSeq)) {
          if (this.firstSeen === undefined) {
            // messages missing before it: held until `read` has asked the stream whether they went at its head
            this.held = m;
            break;
          }
          // (asked during this read already: the stream's first message then)
          this.judgeGap(seq, this.firstSeen);
        }
      }
      const seq = m.seq;
      if (bounded && seq > this.endSeq) {
        // published after the job first started: past the end
        this.ended = true;
        break;
      }
      this.seq = seq;
      this.anchored = true;
      // the last message up to the end: the end itself, or the last one the filter takes (none pending after it)
      if (bounded && (seq === this.endSeq || m.info.pending === 0)) this.ended = true;
      const message = new Message(m);
      let value: T;
      try {
        value = decode !== undefined ? decode(message) : (JSON.parse(utf8.decode(m.data)) as T);
      } catch (e) {
        throw new TidewaterError(OP, message, `${this.description}: message ${seq} on '${m.subject}' does not decode${decode === undefined ? ' as JSON' : ''}: ${(e as Error)?.message ?? String(e)}. Pass a decode option that reads it.`, { cause: e });
      }
      if (eventTime === undefined) {
        values.push(isStreamElement(value) ? record(value, this.context.scheduler.now()) : value);
        continue;
      }
      const partition = partitionOf !== undefined ? partitionOf(message) : m.subject;
      const i = this.partitionIndex.get(partition);
      if (i === undefined) {
        throw new ConfigurationError(
          OP,
          partition,
          `${this.description}: message ${seq} is of partition ${describeValue(partition)}, which is not one of the source's partitions [${[...this.partitionIndex.keys()].join(', ')}]. Name every partition in the partitions option.`,
        );
      }
      const ts = checkTimestamp(OP, eventTime.timestamp(value, message), value, 'Return a finite number of ms from eventTime.timestamp.');
      const clock = this.clocks[i] as PartitionClock;
      // a partition coming back from idleness turns the output active before its record; its watermark follows it
      clock.restoredIdle = false;
      clock.generator.onEvent(value, ts, clock);
      clock.markActive();
      this.flushPending(values);
      values.push(record(value, ts));
      clock.generator.onPeriodicEmit(clock);
      this.flushPending(values);
    }
    queue?.taken();
    // idleness: every partition's generator looks at the clock when nothing of it came
    if (eventTime !== undefined && eventTime.watermarks.idleTimeout !== undefined) {
      for (const clock of this.clocks) clock.generator.onPeriodicEmit(clock);
      this.flushPending(values);
    }
    return { values, done: this.ended };
  }

  /**
   * Message `seq` came right after the last one read, {@link seq}: the ones between are gone. Removed at the stream's
   * head — its limits (`max_age`, `max_msgs`, `max_bytes`) or a purge overtook the job — they are a loss: fails, or
   * with `onRemoved: 'skip'` warns. Removed inside the stream — a deleted message, a purge of one subject, a mirror of
   * a stream that had them deleted — they were taken out on purpose, as if never published (docs/NATS.md, "Resuming
   * after removed messages").
   */
  private async checkGap(seq: number): Promise<void> {
    let first: number;
    try {
      first = await this.streamFirst();
    } catch (e) {
      throw this.readFailed(e);
    }
    this.firstSeen = first;
    this.judgeGap(seq, first);
  }

  /** Message `seq` came after a gap; the stream's first message is `first`: a loss when the head passed the gap. */
  private judgeGap(seq: number, first: number): void {
    // (a bounded source loses only what it would have read: up to its end)
    if (first > this.seq + 1) this.removedWhileRunning(seq, this.endSeq >= 0 ? Math.min(seq - 1, this.endSeq) : seq - 1);
  }

  /**
   * Messages after {@link seq} up to `last` were removed at the stream's head before the job read them; `seq` came
   * next (`arrived`), or is where the stream starts now (see {@link checkGap}).
   */
  private removedWhileRunning(seq: number, last: number, arrived = true): void {
    const after = this.seq;
    const stream = this.options.stream;
    const range = removedRange(after, last);
    const removed =
      `${this.description}: ${arrived ? `message ${seq} of stream '${stream}' came after message ${after}` : `stream '${stream}' now starts at message ${seq}, past message ${after}, the last read`}: ` +
      `${range.text} removed at the stream's head before the job read ${range.them} (its limits — max_age, max_msgs, max_bytes — or a purge).`;
    if (this.options.onRemoved !== 'skip') {
      throw new TidewaterError(
        OP,
        after,
        `${removed} Going on would skip ${range.them}. Raise the stream's limits so that its messages outlive the job's lag, or pass onRemoved: 'skip' to go on without ${range.them}.`,
      );
    }
    warnOf(this.context)(`${removed} Skipped as asked (onRemoved: 'skip').`);
  }

  /** The error of a failed read: the consumer's failure as its cause. */
  private readFailed(cause: unknown): JetStreamError {
    return new JetStreamError(OP, this.options.stream, `${this.description}: reading stream '${this.options.stream}' failed: ${String((cause as Error)?.message ?? cause)}`, cause);
  }

  /** Moves what the valve emitted into `values`. */
  private flushPending(values: unknown[]): void {
    if (this.pending.length === 0) return;
    for (const e of this.pending) values.push(e);
    this.pending.length = 0;
  }

  offset(): string {
    return JSON.stringify(this.position());
  }

  async close(): Promise<void> {
    await this.messages?.close();
  }
}

/**
 * A replayable source reading a NATS JetStream stream (Flink's Kafka source, on JetStream): an ordered consumer from
 * the stream's start, or — restored — right after the last message its checkpoint covered (the stream sequence is
 * the checkpoint's offset, so a restored job reads every message exactly once into its state). Messages come in
 * stream order, the same on every run. With `eventTime` the source stamps records and emits watermarks per partition
 * (see {@link JetStreamEventTime}); else values are stamped with the job's clock like any source's.
 * Connection and server failures fail the job with {@link JetStreamError} (the client's error as its cause).
 *
 * @example
 * ```ts
 * import { connect } from '@nats-io/transport-node';
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * runJob({
 *   name: 'clicks',
 *   source: jetStreamSource<Click>({ connection: nc, stream: 'CLICKS', eventTime: { timestamp: (c) => c.at, watermarks: boundedOutOfOrderness(5_000) } }),
 *   pipeline: pipe(keyBy((c) => c.user), window(tumblingWindows(60_000)), aggregate(count())),
 *   sink: jetStreamSink({ connection: nc, subject: 'clicks.per-minute' }),
 *   checkpoint: { intervalMs: 1_000, store: levelStore('./state') },
 * });
 * ```
 */
export function jetStreamSource<T>(options: JetStreamSourceOptions<T>): Source<T> {
  const { connection, stream } = options;
  if (typeof stream !== 'string' || stream.length === 0) throw new ConfigurationError(OP, stream, `${OP}: stream ${describeValue(stream)} must be a stream's name.`);
  const batch = options.batch ?? 1024;
  if (!Number.isSafeInteger(batch) || batch < 1) throw new ConfigurationError(OP, batch, `${OP}: batch ${describeValue(batch)} must be a whole number of messages ≥ 1.`);
  if (options.onRemoved !== undefined && options.onRemoved !== 'fail' && options.onRemoved !== 'skip') {
    throw new ConfigurationError(OP, options.onRemoved, `${OP}: onRemoved ${describeValue(options.onRemoved)} must be 'fail' or 'skip'.`);
  }
  if (options.eventTime !== undefined && typeof options.eventTime.timestamp !== 'function') {
    throw new ConfigurationError(OP, options.eventTime, `${OP}: eventTime.timestamp must be a function (value, message) => ms.`);
  }
  const description = `${OP}(${stream}${options.filter !== undefined ? `, ${options.filter}` : ''})`;
  return {
    description,
    async open(offset, context) {
      let start: Position;
      const restored = offset !== undefined;
      try {
        if (offset !== undefined) start = parsePosition(description, offset);
        else {
          const jsm = await jetstreamManager(connection);
          const info = await jsm.streams.info(stream, options.partitions === undefined && options.eventTime !== undefined ? { subjects_filter: options.filter ?? '>' } : undefined);
          const partitions = options.eventTime === undefined ? [] : options.partitions !== undefined ? [...options.partitions] : Object.keys(info.state.subjects ?? {}).sort();
          let end = -1;
          let ended = false;
          if (options.bounded === true) {
            end = info.state.last_seq;
            // nothing to read: an empty stream, or no message the filter takes
            if (info.state.messages === 0) ended = true;
            else if (options.filter !== undefined) {
              const matching = await jsm.streams.info(stream, { subjects_filter: options.filter });
              ended = Object.values(matching.state.subjects ?? {}).every((count) => count === 0);
            }
          }
          if (options.eventTime !== undefined && partitions.length === 0 && !ended) {
            throw new ConfigurationError(
              OP,
              stream,
              `${description}: stream '${stream}' holds no message yet, so the partitions whose watermarks event time combines are unknown. Name them in the partitions option (e.g. the subjects the producers write to).`,
            );
          }
          // the position before the stream's first message (reading starts there anyway): a checkpoint taken before any
          // message was read then still tells what a restore finds removed (a filter's position stays 0: see below)
          const before = options.filter === undefined ? Math.max(0, info.state.first_seq - 1) : 0;
          start = { seq: before, end, ended, partitions, valve: null };
        }
      } catch (e) {
        if (e instanceof TidewaterError) throw e;
        throw new JetStreamError(OP, stream, `${description}: cannot open stream '${stream}': ${(e as Error)?.message ?? String(e)}`, e);
      }
      if (start.ended) return new JetStreamReader<T>(options, description, context, start, undefined, restored, false);
      let messages: MessageQueue;
      let first: number | undefined;
      let contiguous = false;
      try {
        // (with a filter the position moves only with the messages it takes: a removed message of another subject
        // would look the same as a lost one, so only a source of every subject checks; docs/NATS.md)
        if (options.filter === undefined) ({ first, contiguous } = await removedMessages(connection, stream, restored ? start.seq : undefined));
      } catch (e) {
        throw new JetStreamError(OP, stream, `${description}: cannot open stream '${stream}': ${(e as Error)?.message ?? String(e)}`, e);
      }
      if (first !== undefined && (start.end < 0 || start.seq < start.end)) {
        // (a bounded source loses only what it would have read: up to its end, after which nothing is left)
        const last = start.end >= 0 ? Math.min(first - 1, start.end) : first - 1;
        const past = start.end >= 0 && first - 1 >= start.end;
        const range = removedRange(start.seq, last);
        const removed =
          `${description}: the checkpoint resumes after message ${start.seq}, but stream '${stream}' now starts at message ${first}: ` +
          `${range.text} removed (the stream's limits — max_age, max_msgs, max_bytes — or a purge) before the job read ${range.them}.`;
        const next = past ? `end the source: nothing up to its end (message ${start.end}) is left` : `resume from message ${first}`;
        if (options.onRemoved !== 'skip') {
          throw new TidewaterError(
            OP,
            start.seq,
            `${removed} Resuming would skip ${range.them}. Raise the stream's limits so that its messages outlive a restart, or pass onRemoved: 'skip' to ${next}.`,
          );
        }
        // skipped as asked, never silently; the position moves past the messages skipped
        warnOf(context)(`${removed} Skipped as asked (onRemoved: 'skip'): ${past ? `nothing up to the source's end (message ${start.end}) is left` : `resuming from message ${first}`}.`);
        start = { ...start, seq: last, ended: past };
        if (start.ended) return new JetStreamReader<T>(options, description, context, start, undefined, restored, false);
      }
      try {
        messages = await openOrderedConsumer(connection, stream, options.filter, start.seq, batch);
      } catch (e) {
        throw new JetStreamError(OP, stream, `${description}: cannot read stream '${stream}': ${(e as Error)?.message ?? String(e)}`, e);
      }
      return new JetStreamReader<T>(options, description, context, start, messages, restored, contiguous);
    },
  } as Source<T>;
}
