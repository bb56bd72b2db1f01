import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { ConfigurationError, describeValue, StoreError } from '../errors/index.js';
import { checkBatch, checkpointStore, conflictError } from '../stores/checkpointStore.js';
import { MemoryBackend } from '../stores/memory.js';
import type { BatchOp, KeyValueBackend, StateStore } from '../stores/types.js';
import { openOrderedConsumer } from './consumer.js';
import { HEADER_ROOM, newRun } from './publisher.js';

/**
 * Options of {@link jetStreamStore}.
 *
 * @example
 * ```ts
 * const options: JetStreamStoreOptions = { connection: nc, name: 'clicks.1.2' };
 * ```
 */
export interface JetStreamStoreOptions {
  /** An open connection (see `jetStreamSource`). */
  readonly connection: NatsConnection;
  /** The store's name: one subject of the stream holds it (letters, digits, `.`, `-`, `_`). */
  readonly name: string;
  /** The stream that holds stores (default `TIDEWATER_STATE`, subjects `tidewater.state.>`; created when missing). */
  readonly stream?: string;
  /** The subjects' prefix (default `tidewater.state`). */
  readonly subjectPrefix?: string;
  /** Replicas when it creates the stream (default 1). */
  readonly replicas?: number;
}

const BATCH = 'Tidewater-Batch';
const PART = 'Tidewater-Part';
const RESET = 'Tidewater-Reset';
const NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
/** Largest message a batch part takes (less than the server's `max_payload`). */
const MAX_PART = 512 * 1024;
/** A compaction rewrites the store once its log holds this many times its live bytes (and at least 4 MB). */
const COMPACT_FACTOR = 4;
const COMPACT_MIN = 4 * 1024 * 1024;

/** Ops as one batch's JSON: `[["p", key, value] | ["d", key], …]`. */
function encodeOps(ops: readonly BatchOp[]): string {
  return JSON.stringify(ops.map((op) => (op.type === 'put' ? ['p', op.key, op.value] : ['d', op.key])));
}

function decodeOps(text: string): BatchOp[] {
  return (JSON.parse(text) as [string, string, string?][]).map(([t, key, value]) => (t === 'p' ? { type: 'put', key, value: value as string } : { type: 'del', key }));
}

/** The text of a batch's parts (UTF-8 bytes, split anywhere). */
function joinParts(parts: readonly Uint8Array[]): string {
  if (parts.length === 1) return new TextDecoder().decode(parts[0]);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * The key-value backend of {@link jetStreamStore}: the store's data as a log of batches on one subject, mirrored in
 * memory. Opening replays the log (complete batches only); a batch is published as one or more messages (parts of its
 * JSON) with the subject's expected last sequence, and applied to the mirror once every part is stored — so a batch
 * is all or nothing (a crash between parts leaves an incomplete batch that replays skip), and a second writer is
 * refused. When the log outgrows the live data, the store writes all of it again as one batch marked `reset` and
 * purges the log before it.
 */
class JetStreamBackend implements KeyValueBackend {
  private mirror = new MemoryBackend();
  /** Characters of each live key and value (for compaction). */
  private readonly sizes = new Map<string, number>();
  private liveBytes = 0;
  /** Bytes of the log since its last reset. */
  private logBytes = 0;
  /** The subject's last stream sequence as this writer knows it (0: empty). */
  private lastSeq = 0;
  private opened: Promise<void> | undefined;
  private closed = false;
  private readonly run = newRun();
  private batches = 0;
  private jsm: JetStreamManager | undefined;
  private js: JetStreamClient | undefined;
  private readonly maxPart: number;

  constructor(
    private readonly connection: NatsConnection,
    private readonly stream: string,
    private readonly prefix: string,
    private readonly subject: string,
    private readonly replicas: number,
    readonly description: string,
  ) {
    this.maxPart = Math.min(MAX_PART, (connection.info?.max_payload ?? MAX_PART) - HEADER_ROOM);
  }

  private open(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError(this.description, 'read', new Error('the store is closed'), 'Open a new store.'));
    return (this.opened ??= this.replay().catch((cause: unknown) => {
      this.opened = undefined;
      throw cause instanceof StoreError ? cause : new StoreError(this.description, 'open', cause, 'Check that the NATS server runs with JetStream and the connection is open.');
    }));
  }

  /** Creates the stream when missing, then applies every complete batch of the subject's log to the mirror. */
  private async replay(): Promise<void> {
    // (a replay after an unsure write starts over: the mirror becomes the log again, whatever the write left in it)
    this.clear();
    this.lastSeq = 0;
    const jsm = (this.jsm = await jetstreamManager(this.connection));
    this.js = jetstream(this.connection);
    try {
      await jsm.streams.info(this.stream);
    } catch {
      try {
        await jsm.streams.add({ name: this.stream, subjects: [`${this.prefix}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File, num_replicas: this.replicas });
      } catch (e) {
        await jsm.streams.info(this.stream).catch(() => {
          throw e;
        });
      }
    }
    const last = await jsm.streams.getMessage(this.stream, { last_by_subj: this.subject });
    if (last === null || last === undefined) return;
    const end = last.seq;
    const queue = await openOrderedConsumer(this.connection, this.stream, this.subject, 0, 256);
    try {
      let batch = '';
      let parts: Uint8Array[] = [];
      let reset = false;
      for (;;) {
        if (queue.size === 0) {
          if (queue.failure !== undefined) throw queue.failure.error;
          await queue.waitForMessage();
          continue;
        }
        const m = queue.take();
        queue.taken();
        if (m === undefined) continue;
        const id = m.headers?.get(BATCH) ?? '';
        const [index, count] = (m.headers?.get(PART) ?? '0/1').split('/').map(Number) as [number, number];
        if (index === 0 || id !== batch) {
          // a new batch (an incomplete one before it is dropped: its writer died between parts)
          batch = id;
          parts = [];
          reset = m.headers?.get(RESET) === '1';
        }
        if (index === parts.length) parts.push(m.data);
        this.logBytes += m.data.length;
        if (parts.length === count) {
          if (reset) this.clear();
          this.apply(decodeOps(joinParts(parts)));
          parts = [];
          batch = '';
        }
        if (m.seq >= end) break;
      }
    } finally {
      await queue.close();
    }
    this.lastSeq = end;
  }

  private clear(): void {
    this.mirror = new MemoryBackend();
    this.sizes.clear();
    this.liveBytes = 0;
    this.logBytes = 0;
  }

  /** Applies ops to the mirror (synchronously: the memory backend's batch has no await before it applies). */
  private apply(ops: readonly BatchOp[]): void {
    void this.mirror.batch(ops);
    for (const op of ops) {
      this.liveBytes -= this.sizes.get(op.key) ?? 0;
      if (op.type === 'put') {
        const size = op.key.length + op.value.length;
        this.sizes.set(op.key, size);
        this.liveBytes += size;
      } else this.sizes.delete(op.key);
    }
  }

  /** Publishes `text` as the parts of one batch, each expecting the subject's last sequence; returns the first part's sequence. */
  private async publish(text: string, reset: boolean): Promise<number> {
    const js = this.js as JetStreamClient;
    const id = `${this.run}:${++this.batches}`;
    const bytes = new TextEncoder().encode(text);
    const count = Math.max(1, Math.ceil(bytes.length / this.maxPart));
    let first = 0;
    for (let i = 0; i < count; i++) {
      const h = natsHeaders();
      h.set(BATCH, id);
      h.set(PART, `${i}/${count}`);
      if (reset) h.set(RESET, '1');
      // (parts split the UTF-8 bytes anywhere: a replay joins them before decoding)
      const data = bytes.subarray(i * this.maxPart, (i + 1) * this.maxPart);
      let ack;
      try {
        ack = await js.publish(this.subject, data, { headers: h, expect: { lastSubjectSequence: this.lastSeq } });
      } catch (e) {
        const wrong = /wrong last sequence/i.test(String((e as Error)?.message));
        // Any other failure leaves it unknown whether the server stored the part (its acknowledgement may be what got
        // lost, or the part may still land): the next use of the store replays the log again, so that the mirror and
        // the expected last sequence are the log's, whatever happened to this part (docs/NATS.md, "Stores").
        if (!wrong) this.opened = undefined;
        throw new StoreError(
          this.description,
          'write',
          e,
          wrong
            ? `Another process wrote to this store since it was opened: a store belongs to one job (task) at a time. Stop the other process (two members running the same task?), then reopen the store.`
            : `The batch may or may not have been stored (the server's acknowledgement did not come); the store reads its log again before its next read or write. Check that the NATS server runs and the connection is open.`,
        );
      }
      this.lastSeq = ack.seq;
      this.logBytes += data.length;
      if (i === 0) first = ack.seq;
    }
    return first;
  }

  async get(key: string): Promise<string | undefined> {
    await this.open();
    return this.mirror.get(key);
  }

  /** The batches of this writer, one after another (each expects the subject's sequence the one before left). */
  private writing: Promise<void> = Promise.resolve();

  async batch(ops: readonly BatchOp[], expect?: ReadonlyMap<string, string | undefined>): Promise<void> {
    checkBatch(ops);
    const run = async (): Promise<void> => {
      await this.open();
      // (the mirror is the log as this writer knows it; another process's write shows as a wrong last sequence)
      for (const [key, value] of expect ?? []) if ((await this.mirror.get(key)) !== value) throw conflictError(this.description, key);
      if (ops.length === 0) return;
      await this.publish(encodeOps(ops), false);
      this.apply(ops);
      if (this.logBytes > COMPACT_MIN && this.logBytes > COMPACT_FACTOR * this.liveBytes) await this.compact();
    };
    const done = this.writing.then(run, run);
    this.writing = done.catch(() => undefined);
    return done;
  }

  /** Writes the live data as one `reset` batch and purges the log before it. */
  private async compact(): Promise<void> {
    const live = await this.mirror.range('', '\uffff');
    this.logBytes = 0;
    const first = await this.publish(encodeOps(live.map(([key, value]) => ({ type: 'put', key, value }))), true);
    try {
      await (this.jsm as JetStreamManager).streams.purge(this.stream, { filter: this.subject, seq: first });
    } catch {
      // (a failed purge leaves the old log: replays read it, then the reset batch; the next compaction purges it)
    }
  }

  async range(gte: string, lt: string, limit?: number): Promise<[key: string, value: string][]> {
    await this.open();
    return this.mirror.range(gte, lt, limit);
  }

  async keys(gte: string, lt: string): Promise<string[]> {
    await this.open();
    return this.mirror.keys(gte, lt);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * A {@link StateStore} on NATS JetStream, for cluster jobs whose members run on machines that share no directory
 * (docs/NATS.md, "Stores"): the store is a log of atomic batches on the subject `<prefix>.<name>` of a stream,
 * mirrored in memory by whoever opens it (the whole store is read when it is opened, so it suits state that fits in
 * memory; the log is compacted as it grows). One process writes a store at a time: a write after another process's
 * is refused with a `StoreError`. Durability is the server's: a file-storage stream with `num_replicas` on a cluster
 * of NATS servers keeps a write once acknowledged.
 *
 * @example
 * ```ts
 * runClusterJob({ …, checkpoint: { intervalMs: 1_000, store: (task) => jetStreamStore({ connection: nc, name: task }) } });
 * ```
 */
export function jetStreamStore(options: JetStreamStoreOptions): StateStore {
  const { connection, name } = options;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ConfigurationError('jetStreamStore', name, `jetStreamStore: name ${describeValue(name)} must be letters, digits, '-' or '_', in parts joined by '.'.`);
  }
  const stream = options.stream ?? 'TIDEWATER_STATE';
  const prefix = options.subjectPrefix ?? 'tidewater.state';
  const subject = `${prefix}.${name}`;
  return checkpointStore(new JetStreamBackend(connection, stream, prefix, subject, options.replicas ?? 1, `jetstream:${stream}/${name}`), `jetstream:${stream}/${name}`);
}
