import type { NatsConnection } from '@nats-io/nats-core';
import { TidewaterError } from '../errors/index.js';
import { parseSinkState } from '../jobs/sinks.js';
import type { CommittedAhead, Sink, SinkContext, SinkWriter } from '../jobs/types.js';
import { committedBeyond, HEADER_ROOM, newRun, timelineOf, TransactionPublisher, type SubjectBatch, type Timeline } from './publisher.js';
import { partitionsChanged, type ExchangeEntry } from './stages.js';

/** A checkpoint's exchange messages: per downstream task, its messages (JSON arrays of entries). */
interface Transaction {
  readonly id: number;
  readonly run: string;
  readonly parts: readonly (readonly string[])[];
}

const OP = 'exchange';
/** A status entry `active()`, as `write` packs it (the destination cut off). */
const ACTIVE_ENTRY = '[2,0]';
const utf8 = new TextEncoder();
/** Largest message the writer packs (the server's `max_payload` less the headers' room, at most this). */
const MAX_MESSAGE = 256 * 1024;

/**
 * The exchange writer of one task of a cluster job (docs/NATS.md, "Multi-process jobs"): the sink of the task's
 * exchange side output, publishing each downstream task's entries to its own subject `subjectOf(to)` — which this
 * task alone writes — exactly once, with the two-phase commit of `jetStreamSink`: a checkpoint's entries are packed
 * into messages of many entries each at its barrier, held in the checkpoint, and published when it is durable, with
 * ids and headers that let a restarted task publish only what the crash left out. A watermark or status goes to every
 * downstream task; consecutive watermarks to one task collapse into the last.
 *
 * @internal
 */
export function exchangeSink(options: {
  readonly connection: NatsConnection;
  readonly description: string;
  readonly subjectOf: (to: number) => string;
  readonly tasks: number;
}): Sink<ExchangeEntry> {
  const { connection, description, subjectOf, tasks } = options;
  const publisher = new TransactionPublisher(connection, OP, description, 1024);
  const subjects = Array.from({ length: tasks }, (_, k) => subjectOf(k));
  const maxMessage = Math.min(MAX_MESSAGE, (connection.info?.max_payload ?? MAX_MESSAGE) - HEADER_ROOM);
  /** The largest entry a message (of its own) can carry. */
  const maxEntry = (connection.info?.max_payload ?? Infinity) - HEADER_ROOM;
  const readState = (state: string): { readonly pending: Transaction[]; readonly timeline: Timeline | undefined } => {
    const o = parseSinkState(description, OP, state, (o) => Array.isArray(o['pending']));
    const pending = o['pending'] as Transaction[];
    // the downstream tasks the state was made for (checkpoints written before it was kept: those of a transaction)
    const madeFor = typeof o['tasks'] === 'number' ? o['tasks'] : pending[0]?.parts.length;
    if (madeFor !== undefined && madeFor !== tasks) throw partitionsChanged(description, `sends to ${madeFor} tasks of the next stage`, madeFor, tasks);
    return { pending, timeline: timelineOf(o) };
  };
  const batchOf = (t: Transaction, k: number): SubjectBatch => {
    const messages = t.parts[k] ?? [];
    return { subject: subjects[k] as string, checkpoint: t.id, idPrefix: `${t.run}:${k}`, count: messages.length, message: (i) => utf8.encode(messages[i] as string) };
  };
  /** Each subject's last message (its stream is the same for all: the cluster's exchange stream). */
  const lastOfEach = async (stream: string) => Promise.all(subjects.map((s) => publisher.lastCommitted(stream, s)));

  return {
    description,
    async committedAhead(context: SinkContext): Promise<CommittedAhead | undefined> {
      if (!context.transactional) return undefined;
      const stream = await publisher.checkStream(subjects[0] as string, true);
      const timeline = context.restored === undefined ? undefined : readState(context.restored).timeline;
      const beyond = (await lastOfEach(stream)).map((l) => committedBeyond(l, context.job, timeline, context.restoredCheckpoint) ?? -1);
      const newest = Math.max(-1, ...beyond);
      if (newest < 0) return undefined;
      return { checkpoint: newest, what: `exchange messages up to checkpoint ${newest}`, loss: 'send those records to the next stage again' };
    },
    async open(context: SinkContext): Promise<SinkWriter<ExchangeEntry>> {
      const stream = await publisher.checkStream(subjects[0] as string, true);
      const job = context.job;
      let timeline: Timeline | undefined = publisher.newTimeline();
      if (context.restored !== undefined) {
        const restored = readState(context.restored);
        timeline = restored.timeline;
        if (restored.pending.length > 0) {
          const last = await lastOfEach(stream);
          for (const t of restored.pending) await Promise.all(subjects.map((_, k) => publisher.resume(job, timeline, batchOf(t, k), t.run, last[k])));
        }
      }
      const run = newRun();
      /** Per downstream task: the current transaction's entries (JSON) and whether its last one is a watermark. */
      // (restarted, this task's sources and operators are active again, and the downstream tasks — which did not
      // restart, or restored this task idle — must hear it: its first entry to each says so, before any record or
      // watermark; docs/NATS.md, "Idleness across a restart")
      let entries: string[][] = subjects.map(() => (context.restored !== undefined ? [ACTIVE_ENTRY] : []));
      const lastIsWatermark = new Uint8Array(tasks);
      let pending: Transaction[] = [];
      const pack = (list: readonly string[]): string[] => {
        const messages: string[] = [];
        let start = 0;
        let bytes = 2;
        for (let i = 0; i < list.length; i++) {
          const size = (list[i] as string).length * 3 + 1; // (UTF-8 bytes at most, and a comma)
          if (i > start && bytes + size > maxMessage) {
            messages.push(`[${list.slice(start, i).join(',')}]`);
            start = i;
            bytes = 2;
          }
          bytes += size;
        }
        if (start < list.length) messages.push(`[${list.slice(start).join(',')}]`);
        return messages;
      };
      return {
        write(entry) {
          const to = entry[0];
          // (the entry without its destination: `[to,` cut off its JSON, no copy of the entry per record)
          const json = JSON.stringify(entry);
          const text = `[${json.slice(json.indexOf(',') + 1)}`;
          // (refused when written, not by the server in the middle of a commit, which every restart would repeat)
          if (text.length * 3 + 2 > maxEntry && utf8.encode(text).length + 2 > maxEntry) {
            throw new TidewaterError(
              OP,
              entry[3],
              `${description}: a record's exchange entry is ${utf8.encode(text).length} B, more than the ${maxEntry} B a message may carry on this server (max_payload less ${HEADER_ROOM} B for the headers). Make the records smaller, or raise max_payload in the server's configuration.`,
            );
          }
          if (to >= 0) {
            (entries[to] as string[]).push(text);
            lastIsWatermark[to] = 0;
            return;
          }
          const isWatermark = entry[1] === 1;
          for (let k = 0; k < tasks; k++) {
            const list = entries[k] as string[];
            if (isWatermark && lastIsWatermark[k] === 1) list[list.length - 1] = text;
            else list.push(text);
            lastIsWatermark[k] = isWatermark ? 1 : 0;
          }
        },
        preCommit(checkpointId) {
          pending.push({ id: checkpointId, run, parts: entries.map(pack) });
          entries = subjects.map(() => []);
          lastIsWatermark.fill(0);
          return JSON.stringify({ sink: OP, pending, timeline, tasks });
        },
        async commit(checkpointId) {
          while (pending.length > 0 && (pending[0] as Transaction).id <= checkpointId) {
            const t = pending[0] as Transaction;
            await Promise.all(subjects.map((_, k) => publisher.publish(job, timeline, batchOf(t, k), 0)));
            pending = pending.slice(1);
          }
        },
        close() {
          entries = [];
          pending = [];
        },
      };
    },
  };
}
