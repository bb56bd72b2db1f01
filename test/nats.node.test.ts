// tidewater/nats against a real nats-server (started here on a free loopback port, temporary store): the JetStream
// source (order, offsets, per-partition watermarks, idleness, bad input) and the exactly-once sink (two-phase commit,
// restored transactions published once, refused configurations).
import { jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { asyncScheduler, pipe } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { active, boundedOutOfOrderness, count, idle, memoryStore, record, runJob, tumblingWindows, watermark, type StreamElement, type WindowResult } from '../src/index.js';
import { aggregate, keyBy, map, window } from '../operators/index.js';
import { jetStreamSink, jetStreamSource, JetStreamError } from '../src/nats/index.js';
import type { Source, SourceReader } from '../src/jobs/types.js';
import { natsAvailable, startNatsServer, type NatsServer } from './support/natsServer.js';

const run = natsAvailable();
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let streams = 0;

/** A fresh stream with `subjects` (names are unique per test). */
async function newStream(subjects: (name: string) => string[], retention: RetentionPolicy = RetentionPolicy.Limits): Promise<{ name: string; subjects: string[] }> {
  const name = `S${++streams}`;
  const list = subjects(name.toLowerCase());
  await jsm.streams.add({ name, subjects: list, storage: StorageType.File, retention });
  return { name, subjects: list };
}

async function publishAll(messages: readonly [subject: string, value: unknown][]): Promise<void> {
  const js = (await import('@nats-io/jetstream')).jetstream(nc);
  for (const [subject, value] of messages) await js.publish(subject, utf8.encode(JSON.stringify(value)));
}

/** Every message on `subject` of `stream`, in order: its data (JSON) and headers. */
async function readSubject(stream: string, subject: string): Promise<{ value: unknown; id: string | undefined; checkpoint: string | undefined }[]> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  const total = info.state.subjects?.[subject] ?? 0;
  const out: { value: unknown; id: string | undefined; checkpoint: string | undefined }[] = [];
  if (total === 0) return out;
  const js = (await import('@nats-io/jetstream')).jetstream(nc);
  const consumer = await js.consumers.get(stream, { filter_subjects: subject });
  const messages = await consumer.fetch({ max_messages: total, expires: 5_000 });
  for await (const m of messages) {
    out.push({ value: JSON.parse(fromUtf8.decode(m.data)), id: m.headers?.get('Nats-Msg-Id'), checkpoint: m.headers?.get('Tidewater-Checkpoint') });
    if (out.length === total) break;
  }
  return out;
}

/** Reads a source to its end (or `limit` values), directly through its reader. */
async function drain<T>(source: Source<T>, offset?: string, limit = Infinity, warn?: (m: string) => void): Promise<{ values: unknown[]; offset: string; reader: SourceReader<T> }> {
  const reader = await source.open(offset, { job: 'test', index: 0, scheduler: asyncScheduler, ...(warn !== undefined ? { warn } : {}) });
  const values: unknown[] = [];
  for (;;) {
    const r = await reader.read(Math.min(64, limit - values.length));
    values.push(...r.values);
    if (r.done || values.length >= limit) break;
  }
  const at = reader.offset();
  await reader.close();
  return { values, offset: at, reader };
}

describe.runIf(run)('tidewater/nats', () => {
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
  }, 30_000);
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  describe('jetStreamSource', () => {
    it('reads a stream in order to its end (bounded), and resumes after the offset a checkpoint took', async () => {
      const { name, subjects } = await newStream((s) => [`${s}.*`]);
      await publishAll(Array.from({ length: 10 }, (_, i) => [`${name.toLowerCase()}.${i % 3}`, { n: i }] as [string, unknown]));
      expect(subjects).toStrictEqual([`${name.toLowerCase()}.*`]);
      const source = jetStreamSource<{ n: number }>({ connection: nc, stream: name, bounded: true });
      const all = await drain(source);
      expect(all.values).toStrictEqual(Array.from({ length: 10 }, (_, i) => ({ n: i })));
      const first = await drain(source, undefined, 4);
      expect(first.values).toStrictEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
      // messages published after the job first started are past a bounded source's end
      await publishAll([[`${name.toLowerCase()}.0`, { n: 10 }]]);
      const rest = await drain(source, first.offset);
      expect(rest.values).toStrictEqual([4, 5, 6, 7, 8, 9].map((n) => ({ n })));
    });

    it('a filter reads one subject; an empty match ends at once', async () => {
      const { name } = await newStream((s) => [`${s}.*`]);
      const s = name.toLowerCase();
      await publishAll(Array.from({ length: 9 }, (_, i) => [`${s}.${i % 3}`, i] as [string, unknown]));
      expect((await drain(jetStreamSource<number>({ connection: nc, stream: name, filter: `${s}.1`, bounded: true }))).values).toStrictEqual([1, 4, 7]);
      expect((await drain(jetStreamSource<number>({ connection: nc, stream: name, filter: `${s}.9`, bounded: true }))).values).toStrictEqual([]);
    });

    it('event time per partition: the watermark is the minimum over the partitions, so a partition behind loses nothing as late', async () => {
      const { name } = await newStream((s) => [`${s}.*`]);
      const s = name.toLowerCase();
      // partition a runs 10 s ahead of partition b
      await publishAll([
        [`${s}.a`, { at: 10_000 }],
        [`${s}.a`, { at: 11_000 }],
        [`${s}.b`, { at: 1_000 }],
        [`${s}.a`, { at: 12_000 }],
        [`${s}.b`, { at: 2_000 }],
      ]);
      const source = jetStreamSource<{ at: number }>({
        connection: nc,
        stream: name,
        bounded: true,
        eventTime: { timestamp: (v) => v.at, watermarks: boundedOutOfOrderness(500, { interval: 0 }) },
      });
      const { values, offset } = await drain(source);
      expect(values).toStrictEqual([
        record({ at: 10_000 }, 10_000),
        record({ at: 11_000 }, 11_000),
        record({ at: 1_000 }, 1_000),
        watermark(499), // b's first record: min(a 10 499, b 499)
        record({ at: 12_000 }, 12_000),
        record({ at: 2_000 }, 2_000),
        watermark(1_499),
      ] satisfies StreamElement<{ at: number }>[]);
      // the partitions and their watermarks are part of the offset: a restore continues from them
      expect(JSON.parse(offset)).toMatchObject({ seq: 5, ended: true, partitions: [`${s}.a`, `${s}.b`] });
    });

    /** A source of partitions `a` and `b` of a new stream holding `messages` (per partition: `{ at }` values), idle after 100 ms. */
    const idlingSource = async (messages: readonly (readonly ['a' | 'b', number])[]) => {
      const { name } = await newStream((x) => [`${x}.*`]);
      const s = name.toLowerCase();
      await publishAll(messages.map(([p, at]) => [`${s}.${p}`, { at }]));
      const source = jetStreamSource<{ at: number }>({
        connection: nc,
        stream: name,
        partitions: [`${s}.a`, `${s}.b`],
        eventTime: { timestamp: (v) => v.at, watermarks: boundedOutOfOrderness(0, { interval: 50, idleTimeout: 100 }) },
      });
      const open = (offset?: string) => source.open(offset, { job: 'test', index: 0, scheduler: asyncScheduler });
      const send = (p: 'a' | 'b', at: number) => publishAll([[`${s}.${p}`, { at }]]);
      return { open, send };
    };
    /** What `reader` gives until `done` says so (or 10 s). */
    const readUntil = async (reader: SourceReader<unknown>, done: (seen: unknown[]) => boolean): Promise<unknown[]> => {
      const seen: unknown[] = [];
      const deadline = Date.now() + 10_000;
      while (!done(seen) && Date.now() < deadline) seen.push(...(await reader.read(64)).values);
      return seen;
    };
    const isWatermark = (e: unknown): boolean => (e as StreamElement<unknown>).kind === 'watermark';

    it('a named partition without messages holds event time back until it turns idle (idleTimeout); a partition coming back turns the output active', async () => {
      const { open, send } = await idlingSource([
        ['a', 5_000],
        ['a', 6_000],
      ]);
      const reader = await open();
      // the records; nothing else while b may still send; then, b idle (100 ms without a message), a's watermark;
      // then a idle too: the output idle
      const first = await readUntil(reader, (seen) => seen.some((e) => (e as StreamElement<unknown>).kind === 'status'));
      expect(first).toStrictEqual([record({ at: 5_000 }, 5_000), record({ at: 6_000 }, 6_000), watermark(5_999), idle()]);
      const idleAt = reader.offset();
      await send('a', 7_000);
      const second = await readUntil(reader, (seen) => seen.some(isWatermark));
      await reader.close();
      expect(second).toStrictEqual([active(), record({ at: 7_000 }, 7_000), watermark(6_999)]);
      // restored from a checkpoint taken while both partitions were idle: idle still (its status said again, to
      // operators restored active), and the next message turns it active, as in the run that went on — downstream
      // tasks of a cluster job, not restarted, hold it idle until they hear so
      const restored = await open(idleAt);
      const again = await readUntil(restored, (seen) => seen.some(isWatermark));
      await restored.close();
      expect(again).toStrictEqual([idle(), active(), record({ at: 7_000 }, 7_000), watermark(6_999)]);
    });

    it('restored with its partitions idle, a source keeps them idle until a message of one comes (its watermarks from the checkpoint on, not from MIN)', async () => {
      const { open, send } = await idlingSource([
        ['a', 10_000],
        ['b', 5_000],
      ]);
      const isIdle = (e: unknown): boolean => (e as StreamElement<unknown>).kind === 'status' && (e as { idle: boolean }).idle;
      const first = await open();
      expect(await readUntil(first, (seen) => seen.some(isIdle))).toStrictEqual([record({ at: 10_000 }, 10_000), record({ at: 5_000 }, 5_000), watermark(4_999), watermark(9_999), idle()]);
      const checkpoint = first.offset();
      await first.close();
      // restored: nothing but the idle status said again until a message comes (before, the first read turned the
      // partitions active, and a, quiet, then held event time back for another idle timeout)
      const restored = await open(checkpoint);
      const quiet = Date.now() + 250; // (more than the idle timeout and a few periodic emits)
      expect(await readUntil(restored, () => Date.now() >= quiet)).toStrictEqual([idle()]);
      await send('b', 20_000);
      const after = await readUntil(restored, (seen) => seen.some(isWatermark));
      await restored.close();
      expect(after).toStrictEqual([active(), record({ at: 20_000 }, 20_000), watermark(19_999)]);
    });

    it('a job slower than the stream holds a bounded backlog: the source stops receiving at 4 batches until it is read', async () => {
      const { name } = await newStream((s) => [`${s}.*`]);
      const s = name.toLowerCase();
      const js = (await import('@nats-io/jetstream')).jetstream(nc);
      await Promise.all(Array.from({ length: 5_000 }, (_, i) => js.publish(`${s}.a`, utf8.encode(String(i)))));
      const reader = await jetStreamSource<number>({ connection: nc, stream: name, bounded: true, batch: 100 }).open(undefined, { job: 'test', index: 0, scheduler: asyncScheduler });
      await new Promise((r) => setTimeout(r, 500));
      // (the reader's queue of received messages, seen from outside)
      const held = (reader as unknown as { messages: { size: number } }).messages.size;
      expect(held).toBe(400);
      const values: unknown[] = [];
      for (;;) {
        const r = await reader.read(1_000);
        values.push(...r.values);
        if (r.done) break;
      }
      await reader.close();
      expect(values).toStrictEqual(Array.from({ length: 5_000 }, (_, i) => i));
    });

    it('a restore after messages were removed (limits, a purge) fails naming them, or with onRemoved: \'skip\' resumes from the first one left', async () => {
      const { name } = await newStream((s) => [`${s}.*`]);
      const s = name.toLowerCase();
      await publishAll(Array.from({ length: 8 }, (_, i) => [`${s}.${i % 2}`, i + 1] as [string, unknown]));
      const source = (more: Partial<Parameters<typeof jetStreamSource<number>>[0]> = {}) => jetStreamSource<number>({ connection: nc, stream: name, bounded: true, ...more });
      const first = await drain(source(), undefined, 2);
      expect(first.values).toStrictEqual([1, 2]);
      // messages 1–3 removed: message 3, after the checkpoint, is gone with them
      await jsm.streams.purge(name, { seq: 4 });
      await expect(drain(source(), first.offset)).rejects.toThrow(
        `jetStreamSource(${name}): the checkpoint resumes after message 2, but stream '${name}' now starts at message 4: message 3 was removed (the stream's limits — max_age, max_msgs, max_bytes — or a purge) before the job read it. Resuming would skip it. Raise the stream's limits so that its messages outlive a restart, or pass onRemoved: 'skip' to resume from message 4.`,
      );
      await jsm.streams.purge(name, { seq: 6 });
      await expect(drain(source(), first.offset)).rejects.toThrow(`stream '${name}' now starts at message 6: messages 3–5 were removed (the stream's limits`);
      const warnings: string[] = [];
      expect((await drain(source({ onRemoved: 'skip' }), first.offset, Infinity, (m) => warnings.push(m))).values).toStrictEqual([6, 7, 8]);
      // skipped as asked, and said so
      expect(warnings).toStrictEqual([
        `jetStreamSource(${name}): the checkpoint resumes after message 2, but stream '${name}' now starts at message 6: messages 3–5 were removed (the stream's limits — max_age, max_msgs, max_bytes — or a purge) before the job read them. Skipped as asked (onRemoved: 'skip'): resuming from message 6.`,
      ]);
      // nothing after the checkpoint removed: no error
      const later = await drain(source(), first.offset.replace('"seq":2', '"seq":5'));
      expect(later.values).toStrictEqual([6, 7, 8]);
      // a filter's position moves only with its messages: other subjects' removed messages are not a loss
      const odd = await drain(source({ filter: `${s}.0` }), undefined, 0);
      expect((await drain(source({ filter: `${s}.0` }), odd.offset)).values).toStrictEqual([7]);
      expect(() => source({ onRemoved: 'ignore' as never })).toThrow(`jetStreamSource: onRemoved "ignore" must be 'fail' or 'skip'.`);
      // a bounded source whose every message up to its end is gone: nothing left to read, done
      await jsm.streams.purge(name, { seq: 9 });
      const endWarnings: string[] = [];
      expect((await drain(source({ onRemoved: 'skip' }), first.offset, Infinity, (m) => void endWarnings.push(m))).values).toStrictEqual([]);
      expect(endWarnings).toStrictEqual([
        `jetStreamSource(${name}): the checkpoint resumes after message 2, but stream '${name}' now starts at message 9: messages 3–8 were removed (the stream's limits — max_age, max_msgs, max_bytes — or a purge) before the job read them. Skipped as asked (onRemoved: 'skip'): nothing up to the source's end (message 8) is left.`,
      ]);
    });

    it('messages removed at the stream\'s head while the job lags behind fail the read naming them, or are skipped with a warning; messages deleted inside the stream are not a loss', async () => {
      const { name } = await newStream((s) => [`${s}.*`]);
      const s = name.toLowerCase();
      const publish = (from: number, to: number) => publishAll(Array.from({ length: to - from + 1 }, (_, i) => [`${s}.${(from + i) % 2}`, from + i] as [string, unknown]));
      const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
      await publish(1, 20);
      // batch 1: a reader holds at most a few received messages, the rest is still in the stream only
      const open = async (stream: string, more: { onRemoved?: 'skip'; bounded?: boolean } = {}, warn?: (m: string) => void) => {
        const reader = await jetStreamSource<number>({ connection: nc, stream, batch: 1, bounded: true, ...more }).open(undefined, {
          job: 'test',
          index: 0,
          scheduler: asyncScheduler,
          ...(warn !== undefined ? { warn } : {}),
        });
        await new Promise((r) => setTimeout(r, 200));
        return reader;
      };
      const readAll = async (reader: SourceReader<number>, until = Infinity): Promise<unknown[]> => {
        const values: unknown[] = [];
        try {
          for (;;) {
            const r = await reader.read(64);
            values.push(...r.values);
            if (r.done || values.length >= until) return values;
          }
        } finally {
          await reader.close();
        }
      };
      const warnings: string[] = [];
      const warn = (m: string) => void warnings.push(m);
      // deleted inside the stream — before the job starts, while it reads, a subject's purge: taken out on purpose
      await jsm.streams.deleteMessage(name, 2);
      const reading = await open(name, {}, warn);
      await jsm.streams.deleteMessage(name, 10);
      expect(await readAll(reading)).toStrictEqual([1, ...range(3, 9), ...range(11, 20)]);
      expect(warnings).toStrictEqual([]);
      // removed at the head while the job lags behind (a purge up to message 35, as the stream's limits do): a loss
      await jsm.streams.purge(name);
      await publish(21, 40);
      const failing = await open(name);
      await jsm.streams.purge(name, { seq: 36 });
      await expect(readAll(failing)).rejects.toThrow(
        new RegExp(
          `^jetStreamSource\\(${name}\\): message 36 of stream '${name}' came after message 2\\d: messages 2\\d–35 were removed at the stream's head before the job read them \\(its limits — max_age, max_msgs, max_bytes — or a purge\\)\\. Going on would skip them\\. Raise the stream's limits so that its messages outlive the job's lag, or pass onRemoved: 'skip' to go on without them\\.$`,
        ),
      );
      await publish(41, 50);
      const skipping = await open(name, { onRemoved: 'skip' }, warn);
      await jsm.streams.purge(name, { seq: 46 });
      const skipped = await readAll(skipping);
      // what it held before the purge (from message 36, the stream's first when it started), then 46 on
      const held = skipped.filter((v) => (v as number) < 46);
      expect([held, skipped.slice(held.length)]).toStrictEqual([range(36, 35 + held.length), range(46, 50)]);
      expect(warnings).toStrictEqual([
        `jetStreamSource(${name}): message 46 of stream '${name}' came after message ${35 + held.length}: messages ${36 + held.length}–45 were removed at the stream's head before the job read them (its limits — max_age, max_msgs, max_bytes — or a purge). Skipped as asked (onRemoved: 'skip').`,
      ]);
      // a bounded source loses what it would have read up to its end, whatever came after it
      const bounded = await open(name);
      await jsm.streams.purge(name, { seq: 51 });
      await publish(51, 51);
      await expect(readAll(bounded)).rejects.toThrow(new RegExp(`message 51 of stream '${name}' came after message 4\\d: message(s 4\\d–| )50 w(as|ere) removed`));
      // a bounded source waiting for messages its stream's head has passed: it looks (every second) and ends
      const { name: other } = await newStream((x) => [`${x}.*`]);
      await publishAll(range(1, 30).map((v) => [`${other.toLowerCase()}.x`, v] as [string, unknown]));
      const waitingWarnings: string[] = [];
      const waiting = await open(other, { onRemoved: 'skip' }, (m) => void waitingWarnings.push(m));
      await jsm.streams.purge(other);
      const got = await readAll(waiting);
      expect(got).toStrictEqual(range(1, got.length));
      expect(waitingWarnings).toStrictEqual([
        `jetStreamSource(${other}): stream '${other}' now starts at message 31, past message ${got.length}, the last read: messages ${got.length + 1}–30 were removed at the stream's head before the job read them (its limits — max_age, max_msgs, max_bytes — or a purge). Skipped as asked (onRemoved: 'skip').`,
      ]);
      // a stream that removes a subject's older messages itself (a per-subject limit, as a KV bucket's): its gaps
      // and its first message moving on are its design, not a loss
      const kv = `${name}KV`;
      await jsm.streams.add({ name: kv, subjects: [`${s}kv.*`], storage: StorageType.File, max_msgs_per_subject: 1 });
      await publishAll([[`${s}kv.a`, 1], [`${s}kv.b`, 2], [`${s}kv.b`, 3], [`${s}kv.c`, 4]]);
      const kvFirst = await drain(jetStreamSource<number>({ connection: nc, stream: kv }), undefined, 1);
      expect(kvFirst.values).toStrictEqual([1]);
      expect((await drain(jetStreamSource<number>({ connection: nc, stream: kv }), kvFirst.offset, 2)).values).toStrictEqual([3, 4]);
      await publishAll([[`${s}kv.a`, 5], [`${s}kv.b`, 6], [`${s}kv.c`, 7]]);
      expect((await drain(jetStreamSource<number>({ connection: nc, stream: kv }), kvFirst.offset, 3)).values).toStrictEqual([5, 6, 7]);
      // a first start reads from the stream's first message, whatever it is by then
      const fresh = await open(name);
      expect((await fresh.read(3)).values).toStrictEqual([51]);
      await fresh.close();
    });

    it('a checkpoint taken before any message was read still sees messages removed before the restore', async () => {
      const { name } = await newStream((s) => [`${s}.*`]);
      const s = name.toLowerCase();
      const reader = await jetStreamSource<number>({ connection: nc, stream: name }).open(undefined, { job: 'test', index: 0, scheduler: asyncScheduler });
      const offset = reader.offset();
      await reader.close();
      await publishAll([1, 2, 3].map((v) => [`${s}.x`, v] as [string, unknown]));
      await jsm.streams.purge(name, { seq: 3 });
      await expect(drain(jetStreamSource<number>({ connection: nc, stream: name }), offset, 1)).rejects.toThrow(
        `jetStreamSource(${name}): the checkpoint resumes after message 0, but stream '${name}' now starts at message 3: messages 1–2 were removed (the stream's limits — max_age, max_msgs, max_bytes — or a purge) before the job read them`,
      );
      // a stream whose first messages were removed before the job started: its position starts after them
      const fresh = await jetStreamSource<number>({ connection: nc, stream: name }).open(undefined, { job: 'test', index: 0, scheduler: asyncScheduler });
      const at = fresh.offset();
      await fresh.close();
      expect((await drain(jetStreamSource<number>({ connection: nc, stream: name }), at, 1)).values).toStrictEqual([3]);
    });

    it('a stream deleted under a reading source fails the read with JetStreamError (it waited forever for the stream to come back)', async () => {
      const input = await newStream((s) => [`${s}.in`]);
      await publishAll([[input.subjects[0] as string, 1]]);
      const reader = await jetStreamSource<number>({ connection: nc, stream: input.name }).open(undefined, { job: 'j', index: 0, scheduler: asyncScheduler });
      expect((await reader.read(10)).values).toStrictEqual([1]);
      await jsm.streams.delete(input.name);
      const failed = (async () => {
        for (;;) if ((await reader.read(10)).done) return 'done';
      })();
      await expect(failed).rejects.toThrow(JetStreamError);
      await expect(failed).rejects.toThrow(`jetStreamSource(${input.name}): reading stream '${input.name}' failed`);
      await reader.close();
    });

    it('bad input: a message that does not decode, a partition not named, a bad option — each named with the remedy', async () => {
      const { name } = await newStream((s) => [`${s}.*`]);
      const s = name.toLowerCase();
      const js = (await import('@nats-io/jetstream')).jetstream(nc);
      await js.publish(`${s}.x`, utf8.encode('not json'));
      await expect(drain(jetStreamSource({ connection: nc, stream: name, bounded: true }))).rejects.toThrow(
        `jetStreamSource(${name}): message 1 on '${s}.x' does not decode as JSON: Unexpected token 'o', "not json" is not valid JSON. Pass a decode option that reads it.`,
      );
      await expect(
        drain(jetStreamSource({ connection: nc, stream: name, bounded: true, decode: () => 1, partitions: [`${s}.a`], eventTime: { timestamp: () => 0, watermarks: boundedOutOfOrderness(0) } })),
      ).rejects.toThrow(`jetStreamSource(${name}): message 1 is of partition "${s}.x", which is not one of the source's partitions [${s}.a]. Name every partition in the partitions option.`);
      expect(() => jetStreamSource({ connection: nc, stream: '' })).toThrow('jetStreamSource: stream "" must be a stream\'s name.');
      await expect(drain(jetStreamSource({ connection: nc, stream: 'NO_SUCH_STREAM' }))).rejects.toBeInstanceOf(JetStreamError);
      const empty = await newStream((x) => [`${x}.*`]);
      await expect(drain(jetStreamSource({ connection: nc, stream: empty.name, eventTime: { timestamp: () => 0, watermarks: boundedOutOfOrderness(0) } }))).rejects.toThrow(
        `jetStreamSource(${empty.name}): stream '${empty.name}' holds no message yet, so the partitions whose watermarks event time combines are unknown. Name them in the partitions option (e.g. the subjects the producers write to).`,
      );
    });
  });

  describe('jetStreamSink', () => {
    it('a checkpointed job publishes each checkpoint\'s output once it is durable, with ids and headers naming it', async () => {
      const input = await newStream((s) => [`${s}.in.*`]);
      const output = await newStream((s) => [`${s}.out`]);
      const s = input.name.toLowerCase();
      await publishAll(Array.from({ length: 60 }, (_, i) => [`${s}.in.${i % 2}`, { user: `u${i % 3}`, at: i * 100 }] as [string, unknown]));
      const job = runJob({
        name: 'counts',
        source: jetStreamSource<{ user: string; at: number }>({ connection: nc, stream: input.name, bounded: true, eventTime: { timestamp: (c) => c.at, watermarks: boundedOutOfOrderness(0, { interval: 0 }) } }),
        pipeline: pipe(
          keyBy((c: { user: string }) => c.user),
          window(tumblingWindows(1_000)),
          aggregate(count()),
          map((r: WindowResult<string, number>) => r.value),
        ),
        sink: jetStreamSink<number>({ connection: nc, subject: output.subjects[0] as string }),
        checkpoint: { intervalMs: 1, store: memoryStore() },
        batchSize: 7,
      });
      await job.done;
      const got = await readSubject(output.name, output.subjects[0] as string);
      // 6 windows of 1 s, 3 users, 10 clicks per window split 4/3/3
      expect(got.map((m) => m.value).sort()).toStrictEqual(Array.from({ length: 6 }, () => [3, 3, 4]).flat().sort());
      expect(new Set(got.map((m) => m.id)).size).toBe(got.length);
      expect(got.every((m) => /^[0-9a-f]{16}:\d+:\d+$/.test(m.id ?? '') && m.id?.split(':')[1] === m.checkpoint)).toBe(true);
    });

    it('a restored transaction is published once: what the crashed commit published is not sent again', async () => {
      const output = await newStream((s) => [`${s}.out`]);
      const subject = output.subjects[0] as string;
      const sink = jetStreamSink<string>({ connection: nc, subject });
      const first = await sink.open({ job: 'j', transactional: true, restored: undefined });
      for (const v of ['a', 'b', 'c']) first.write(v);
      const state = await first.preCommit(1);
      // the crash: checkpoint 1 is durable, and its commit published 'a' and 'b' only
      const saved = JSON.parse(state) as { pending: { run: string }[]; timeline: { id: string } };
      const run = saved.pending[0]?.run as string;
      const js = (await import('@nats-io/jetstream')).jetstream(nc);
      const { headers } = await import('@nats-io/nats-core');
      for (const [i, v] of ['a', 'b'].entries()) {
        const h = headers();
        h.set('Tidewater-Job', 'j');
        h.set('Tidewater-Checkpoint', '1');
        h.set('Tidewater-Index', String(i));
        h.set('Tidewater-Timeline', saved.timeline.id);
        await js.publish(subject, utf8.encode(JSON.stringify(v)), { msgID: `${run}:1:${i}`, headers: h });
      }
      await first.close(false);
      expect(await sink.committedAhead?.({ job: 'j', transactional: true, restored: state, restoredCheckpoint: 1 })).toBeUndefined();
      const second = await sink.open({ job: 'j', transactional: true, restored: state, restoredCheckpoint: 1 });
      second.write('d');
      await second.preCommit(2);
      await second.commit(2);
      await second.close(true);
      expect((await readSubject(output.name, subject)).map((m) => m.value)).toStrictEqual(['a', 'b', 'c', 'd']);
      // restoring checkpoint 1 again now would publish checkpoint 2's output a second time: refused
      expect(await sink.committedAhead?.({ job: 'j', transactional: true, restored: state, restoredCheckpoint: 1 })).toStrictEqual({
        checkpoint: 2,
        what: `messages on '${subject}' up to checkpoint 2 (stream sequence 4)`,
        loss: 'publish that output again after them (a JetStream subject cannot be cut back)',
      });
    });

    it('checkpoint ids are compared within one line of checkpoints: a job started afresh on a new store publishes its restored output, although an earlier line went to higher ids', async () => {
      const output = await newStream((s) => [`${s}.out`]);
      const subject = output.subjects[0] as string;
      const sink = jetStreamSink<string>({ connection: nc, subject });
      const values = async () => (await readSubject(output.name, subject)).map((m) => m.value);
      // line A (its store later lost) publishes checkpoints 1 to 3
      const a = await sink.open({ job: 'j', transactional: true, restored: undefined });
      let stateA = '';
      for (const n of [1, 2, 3]) {
        a.write(`a${n}`);
        stateA = await a.preCommit(n);
        await a.commit(n);
      }
      await a.close(true);
      // line B starts afresh (a new store): the subject is ahead of it, as before; its checkpoint 1 is durable, its
      // commit crashed before publishing
      expect((await sink.committedAhead?.({ job: 'j', transactional: true, restored: undefined }))?.checkpoint).toBe(3);
      const b = await sink.open({ job: 'j', transactional: true, restored: undefined });
      b.write('b1');
      b.write('b2');
      const stateB = await b.preCommit(1);
      await b.close(false);
      // restored from B's checkpoint 1: A's checkpoint 3 is of another line, from before B began — not ahead, and
      // B's transaction goes out whole (compared with A's 3, it was taken as published and lost)
      expect(await sink.committedAhead?.({ job: 'j', transactional: true, restored: stateB, restoredCheckpoint: 1 })).toBeUndefined();
      const b2 = await sink.open({ job: 'j', transactional: true, restored: stateB, restoredCheckpoint: 1 });
      await b2.close(true);
      expect(await values()).toStrictEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
      // restored from it once more: published already, nothing again
      expect(await sink.committedAhead?.({ job: 'j', transactional: true, restored: stateB, restoredCheckpoint: 1 })).toBeUndefined();
      await (await sink.open({ job: 'j', transactional: true, restored: stateB, restoredCheckpoint: 1 })).close(true);
      expect(await values()).toStrictEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
      // back to line A's checkpoint 3: B published after A began, which A's ids cannot place — refused as ahead
      expect(await sink.committedAhead?.({ job: 'j', transactional: true, restored: stateA, restoredCheckpoint: 3 })).toStrictEqual({
        checkpoint: 1,
        what: `messages on '${subject}' up to checkpoint 1 (stream sequence 5, of a run not restored from these checkpoints)`,
        loss: 'publish that output again after them (a JetStream subject cannot be cut back)',
      });
    });

    it('a value larger than a message may be is refused when written, naming its size and the server\'s limit', async () => {
      const output = await newStream((s) => [`${s}.out`]);
      const subject = output.subjects[0] as string;
      const writer = await jetStreamSink<string>({ connection: nc, subject }).open({ job: 'j', transactional: true, restored: undefined });
      const max = (nc.info?.max_payload ?? 0) - 512;
      expect(() => writer.write('x'.repeat(max))).toThrow(
        `jetStreamSink(${subject}): a value's message is ${max + 2} B, more than the ${max} B a message may carry on this server (max_payload ${max + 512} B, less 512 B for the headers). Make the values smaller, or raise max_payload in the server's configuration.`,
      );
      writer.write('x'.repeat(max - 2));
      await writer.close(false);
    });

    it('not checkpointed: a publish that fails (its stream deleted) fails the sink at its next write or its close, never the process', async () => {
      const output = await newStream((s) => [`${s}.out`]);
      const subject = output.subjects[0] as string;
      const writer = await jetStreamSink<number>({ connection: nc, subject }).open({ job: 'j', transactional: false, restored: undefined });
      writer.write(1);
      await jsm.streams.delete(output.name);
      writer.write(2);
      await new Promise((r) => setTimeout(r, 1_500));
      await expect((async () => {
        writer.write(3);
        await writer.close(false);
      })()).rejects.toThrow(`jetStreamSink(${subject}): publishing failed`);
    });

    it("a value larger than the stream's max_msg_size allows is refused when written, naming the stream's limit", async () => {
      const name = `limited${streams++}`;
      await jsm.streams.add({ name, subjects: [`${name}.out`], storage: StorageType.Memory, max_msg_size: 2_000 });
      const subject = `${name}.out`;
      const writer = await jetStreamSink<string>({ connection: nc, subject }).open({ job: 'j', transactional: true, restored: undefined });
      expect(() => writer.write('x'.repeat(1_600))).toThrow(
        `jetStreamSink(${subject}): a value's message is 1602 B, more than the 1488 B a message may carry in stream '${name}' (max_msg_size 2000 B, less 512 B for the headers). Make the values smaller, or raise the stream's max_msg_size.`,
      );
      writer.write('x'.repeat(1_000));
      await writer.close(false);
    });

    it('refuses what cannot be exactly once: a wildcard subject, a subject no stream takes, a work-queue stream', async () => {
      expect(() => jetStreamSink({ connection: nc, subject: 'out.*' })).toThrow('jetStreamSink: subject "out.*" must be one subject, without wildcards or spaces.');
      await expect(jetStreamSink({ connection: nc, subject: 'nobody.takes.this' }).open({ job: 'j', transactional: true, restored: undefined })).rejects.toThrow(
        "jetStreamSink(nobody.takes.this): no JetStream stream takes subject 'nobody.takes.this' (create one whose subjects include it)",
      );
      const wq = await newStream((s) => [`${s}.out`], RetentionPolicy.Workqueue);
      await expect(jetStreamSink({ connection: nc, subject: wq.subjects[0] as string }).open({ job: 'j', transactional: true, restored: undefined })).rejects.toThrow(
        `jetStreamSink(${wq.subjects[0]}): stream '${wq.name}' has workqueue retention, which removes messages once consumed: a restarted job could not see how far its commit got, so exactly-once cannot hold. Publish to a stream with limits retention.`,
      );
    });
  });
});

describe.runIf(run)('tidewater/nats crash test', () => {
  it('a job reading a JetStream stream into a JetStream subject, SIGKILLed at 20 random points and restarted, publishes exactly the uninterrupted output', { timeout: 300_000 }, async () => {
    const { natsCrashTest } = await import('./nats/driver.js');
    const r = await natsCrashTest({ kills: 20, clicks: 60_000, seed: 20261203 });
    expect({
      kills: r.kills,
      killsAfterProgress: r.killsAfterProgress >= 10 ? 'at least 10' : r.killsAfterProgress,
      restoredAtEnd: r.restoredAtEnd === null ? null : 'a checkpoint',
      referenceMessages: r.referenceMessages > 1_000 ? 'over 1 000' : r.referenceMessages,
      missingOrExtra: r.outputMessages - r.referenceMessages,
      duplicateIds: r.duplicateIds,
      identical: r.identical,
    }).toStrictEqual({ kills: 20, killsAfterProgress: 'at least 10', restoredAtEnd: 'a checkpoint', referenceMessages: 'over 1 000', missingOrExtra: 0, duplicateIds: 0, identical: true });
  });
});
