// Multi-process jobs on NATS JetStream (runClusterJob, docs/NATS.md "Multi-process jobs"), against a nats-server of
// this file's own: the stage plan, members in one process (equal to one process's runJob), rescaling through
// savepoints, refused configurations, and the 3-process kill test (test/nats/clusterDriver.ts).
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncScheduler, connect as connectStreams, merge, pipe, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClicks } from '../demo/clicks.js';
import { active, boundedOutOfOrderness, ConfigurationError, count, idle, watermark, memoryStore, mergeStreams, runJob, toArray, tumblingWindows, type Sink, type StateStore, type StreamElement, type WindowResult } from '../src/index.js';
import { levelStore } from '../src/stores/level.js';
import { aggregate, eventTime, filter, keyBy, map, window } from '../operators/index.js';
import { jetStreamSink, jetStreamSource, runClusterJob } from '../src/nats/index.js';
import type { Click } from '../demo/clicks.js';
import { planStages } from '../src/nats/stages.js';
import { exchangeSource } from '../src/nats/exchangeReader.js';
import { exchangeSink } from '../src/nats/exchangeWriter.js';
import { clickSources, clusterMember, clusterPipeline } from './nats/clusterJob.js';
import { natsAvailable, startNatsServer, type NatsServer } from './support/natsServer.js';
import { clusterCrashTest } from './nats/clusterDriver.js';
import * as clusterExample from '../examples/cluster.js';
import { generateClicks as clicksOf } from '../demo/clicks.js';

const run = natsAvailable();
const INPUT_PARTITIONS = 3;
const CLICKS = 3_000;

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let base: string;

/** Every message of subjects `<prefix>.*` of stream OUT, as JSON text. */
async function readOut(prefix: string): Promise<{ data: string[]; ids: string[] }> {
  const info = await jsm.streams.info('OUT', { subjects_filter: `${prefix}.*` });
  const total = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  const data: string[] = [];
  const ids: string[] = [];
  if (total === 0) return { data, ids };
  const consumer = await jetstream(nc).consumers.get('OUT', { filter_subjects: `${prefix}.*` });
  for await (const m of await consumer.fetch({ max_messages: total, expires: 10_000 })) {
    data.push(new TextDecoder().decode(m.data));
    ids.push(m.headers?.get('Nats-Msg-Id') ?? '');
    if (data.length === total) break;
  }
  return { data, ids };
}

/** The results of one process running the same job with runJob (its sources unioned: one pipeline copy each). */
async function reference(): Promise<string[]> {
  const out = toArray<unknown>();
  await runJob({ name: 'reference', source: clickSources(nc, INPUT_PARTITIONS), pipeline: clusterPipeline, sink: out as Sink<unknown> }).done;
  return out.values.map((v) => JSON.stringify(v));
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe.runIf(run)('runClusterJob', () => {
  let expected: string[];

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
    base = mkdtempSync(join(tmpdir(), 'tidewater-cluster-'));
    await jsm.streams.add({ name: 'CLICKS', subjects: ['clicks.*'], storage: StorageType.File });
    await jsm.streams.add({ name: 'OUT', subjects: ['out.>'], storage: StorageType.File });
    const js = jetstream(nc);
    const encoder = new TextEncoder();
    const clicks = generateClicks(CLICKS, { seed: 5 });
    await Promise.all(clicks.map((c, i) => js.publish(`clicks.${i % INPUT_PARTITIONS}`, encoder.encode(JSON.stringify(c)))));
    expected = await reference();
  }, 60_000);

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
    if (base !== undefined) rmSync(base, { recursive: true, force: true });
  });

  it('plans stages at the keyBys: three stages for two keyBys, one for none; keyed streams meeting are refused', () => {
    expect(planStages('t', clusterPipeline as never).stages).toBe(3);
    expect(planStages('t', clusterPipeline as never).edgeOfOrdinal.slice().sort()).toStrictEqual([0, 1]);
    expect(planStages('t', pipe(map((x: number) => x + 1)) as never).stages).toBe(1);
    const joined = (s$: Observable<StreamElement<{ a: string; b: string }, undefined>>) => merge(s$.pipe(keyBy((v) => v.a)), s$.pipe(keyBy((v) => v.b)));
    expect(() => planStages('runClusterJob(j)', joined as never)).toThrow(ConfigurationError);
    expect(() => planStages('runClusterJob(j)', joined as never)).toThrow(
      "runClusterJob(j): a cluster job's keyBys must form one chain (the pipeline's stream re-keyed one after another), so that each keyBy starts the next stage; this pipeline has 2 keyBys that start in parallel branches (a join or union of keyed streams). Run such a pipeline with runJob, or key the joined streams in one keyBy.",
    );
  });

  it('an exchange reader closed while a read waits settles the read', async () => {
    const reader = await exchangeSource({ connection: nc, stream: 'OUT', filter: 'out.nothing.*', upstreamTasks: 1, upstreamPer: 'partitions', tasks: 1, description: 'exchange(test)' }).open(undefined, {
      job: 't',
      index: 0,
      scheduler: asyncScheduler,
    });
    const pending = reader.read(10);
    await new Promise((r) => setTimeout(r, 100));
    await reader.close();
    await expect(Promise.race([Promise.resolve(pending), new Promise((r) => setTimeout(() => r('still waiting'), 1_000))])).resolves.toStrictEqual({ values: [], done: false });
  });

  it('an exchange reader restored while its upstream tasks were idle holds them idle (they do not restart with it): event time goes on with the one that comes back', async () => {
    await jsm.streams.add({ name: 'IDLEX', subjects: ['idlex.>'], storage: StorageType.File });
    const js = jetstream(nc);
    const send = async (subject: string, entries: readonly unknown[]): Promise<void> => {
      for (const e of entries) await js.publish(subject, new TextEncoder().encode(JSON.stringify([e])));
    };
    // upstream task 0: watermark 100, idle; task 1: watermark 50, idle — then the checkpoint
    await send('idlex.0.0.0', [[1, 100], [2, 1]]);
    await send('idlex.0.0.1', [[1, 50], [2, 1]]);
    const source = exchangeSource({ connection: nc, stream: 'IDLEX', filter: 'idlex.0.0.*', upstreamTasks: 2, upstreamPer: 'sources', tasks: 1, description: 'exchange(t.1.0)' });
    const context = { job: 't', index: 0, scheduler: asyncScheduler };
    const readTo = async (reader: Awaited<ReturnType<typeof source.open>>, seq: number): Promise<unknown[]> => {
      const out: unknown[] = [];
      while ((JSON.parse(reader.offset()) as { seq: number }).seq < seq) out.push(...(await reader.read(100)).values);
      return out;
    };
    const first = await source.open(undefined, context);
    expect(await readTo(first, 4)).toStrictEqual([watermark(50), watermark(100), idle()]);
    const checkpoint = first.offset();
    await first.close();
    // task 1 comes back; task 0 stays quiet (it said idle once, before the checkpoint)
    await send('idlex.0.0.1', [[2, 0], [1, 200], [1, 300]]);
    const uninterrupted = await source.open(undefined, context);
    expect((await readTo(uninterrupted, 7)).slice(3)).toStrictEqual([active(), watermark(200), watermark(300)]);
    await uninterrupted.close();
    const restored = await source.open(checkpoint, context);
    // (the idle status said again first, to the operators after it, restored active)
    expect(await readTo(restored, 7)).toStrictEqual([idle(), active(), watermark(200), watermark(300)]);
    await restored.close();
  });

  it('an exchange writer restored says active() first to every downstream task (they may hold this task idle from before its restart); a fresh one does not', async () => {
    const sink = exchangeSink({ connection: nc, description: 'exchange(t.0.0)', subjectOf: (to) => `out.xw.${to}.0`, tasks: 2 });
    const firsts = async (restored: string | undefined): Promise<unknown[]> => {
      const writer = await sink.open({ job: 't', transactional: true, restored });
      writer.write([0, 0, 5, 'k', 'v'] as never);
      const state = JSON.parse(await writer.preCommit(1)) as { pending: { parts: string[][] }[] };
      await writer.close(false);
      return (state.pending[0]?.parts ?? []).map((messages) => (JSON.parse(messages[0] ?? '[]') as unknown[])[0]);
    };
    expect(await firsts(JSON.stringify({ sink: 'exchange', pending: [], tasks: 2 }))).toStrictEqual([
      [2, 0],
      [2, 0],
    ]);
    expect(await firsts(undefined)).toStrictEqual([[0, 5, 'k', 'v'], undefined]);
  });

  it('refuses a bad configuration with what to change', () => {
    const config = {
      name: 'ok',
      connection: nc,
      members: 2,
      member: 0,
      sources: clickSources(nc, 1),
      pipeline: clusterPipeline,
      sink: () => toArray<unknown>() as Sink<unknown>,
      checkpoint: { intervalMs: 10, store: () => memoryStore() },
    };
    expect(() => runClusterJob({ ...config, name: 'a.b' })).toThrow('runClusterJob: name "a.b" must be letters, digits, \'-\' or \'_\' (it names the job\'s subjects).');
    expect(() => runClusterJob({ ...config, member: 2 })).toThrow('runClusterJob(ok): member 2 must be an integer in 0 … 1.');
    expect(() => runClusterJob({ ...config, partitions: 0 })).toThrow('runClusterJob(ok): partitions 0 must be an integer in 1 … maxParallelism (128).');
    expect(() => runClusterJob({ ...config, checkpoint: undefined as never })).toThrow(
      'runClusterJob(ok): a cluster job needs checkpoint: { intervalMs, store: (task) => StateStore } — its exchange is exactly-once through checkpoints.',
    );
  });

  /** A one-member cluster job over the click sources, checkpointed to memory every 10 ms. */
  const oneMember = (name: string, pipeline: unknown, sink: (task: number) => Sink<unknown>, store: (task: string) => StateStore = () => memoryStore()) =>
    runClusterJob({ name, connection: nc, members: 1, member: 0, sources: clickSources(nc, INPUT_PARTITIONS), pipeline: pipeline as never, sink, checkpoint: { intervalMs: 10, store } });

  it('a failing task fails its member with the error, and stops the member\'s other tasks', async () => {
    const job = oneMember('failing', pipe(keyBy(() => 1n), window(tumblingWindows(1000)), aggregate(count())), () => toArray<unknown>() as Sink<unknown>);
    await expect(job.done).rejects.toThrow("runClusterJob(failing): key 1n is a bigint, which the exchange between processes (JSON) cannot carry; key by a string or number.");
    const states = await Promise.all(job.tasks.map((t) => t.job.done.then((s) => s.state, () => 'failed')));
    expect(states.filter((s) => s === 'failed').length).toBeGreaterThanOrEqual(1);
    expect(states.every((s) => s === 'failed' || s === 'stopped')).toBe(true);
  });

  it('a task that cannot be made (its sink factory throws) fails the member; the tasks already started stop, stop() returns; every store opened is closed', async () => {
    const stores = { opened: 0, closed: 0 };
    const counted = (): StateStore => {
      stores.opened++;
      const store = memoryStore();
      return Object.assign(Object.create(store) as StateStore, { close: () => (stores.closed++, store.close()) });
    };
    const job = oneMember(
      'unmade',
      clusterPipeline,
      (task) => {
        if (task === 1) throw new Error('no sink for task 1');
        return toArray<unknown>() as Sink<unknown>;
      },
      counted,
    );
    await expect(job.done).rejects.toThrow('runClusterJob(unmade): a task could not start: no sink for task 1');
    // (the unmade task's store too: it was opened before its sink failed)
    await new Promise((r) => setTimeout(r, 50));
    expect(stores.opened).toBeGreaterThan(1);
    expect(stores.closed).toBe(stores.opened);
    await job.stop();
    await expect(job.triggerCheckpoint()).rejects.toThrow('a task could not start');
    const states = await Promise.all(job.tasks.map((t) => t.job.done.then((s) => s.state, () => 'failed')));
    expect(states.every((s) => s === 'stopped' || s === 'failed')).toBe(true);
  });

  it('an exchange stream that cannot be created fails the member naming why, and its streams end', async () => {
    // another stream takes the exchange's subjects
    await jsm.streams.add({ name: 'TAKEN', subjects: ['tidewater.taken.>'], storage: StorageType.Memory });
    const job = oneMember('taken', clusterPipeline, () => toArray<unknown>() as Sink<unknown>);
    const ended = { output: false, checkpoints: false, metrics: false };
    job.output$.subscribe({ complete: () => (ended.output = true) });
    job.checkpoints$.subscribe({ complete: () => (ended.checkpoints = true) });
    job.metrics$.subscribe({ complete: () => (ended.metrics = true) });
    await expect(job.done).rejects.toThrow("runClusterJob(taken): cannot open or create the exchange stream 'TIDEWATER_taken': subjects overlap with an existing stream");
    expect(ended).toStrictEqual({ output: true, checkpoints: true, metrics: true });
    await jsm.streams.delete('TAKEN');
  });

  it('three members in one process produce exactly what one process produces', async () => {
    const members = [0, 1, 2].map((member) => clusterMember(nc, { name: 'three', members: 3, member, dir: join(base, 'three'), out: 'out.three', inputPartitions: INPUT_PARTITIONS }));
    const summaries = await Promise.all(members.map((m) => m.done));
    expect(summaries.map((s) => s.state)).toStrictEqual(['finished', 'finished', 'finished']);
    // 3 + 4 + 4 tasks over 3 members
    expect(members.map((m) => m.tasks.map((t) => t.name))).toStrictEqual([
      ['three.0.0', 'three.1.0', 'three.1.3', 'three.2.2'],
      ['three.0.1', 'three.1.1', 'three.2.0', 'three.2.3'],
      ['three.0.2', 'three.1.2', 'three.2.1'],
    ]);
    const out = await readOut('out.three');
    expect(expected.length).toBeGreaterThan(100);
    expect(sorted(out.data)).toStrictEqual(sorted(expected));
    expect(new Set(out.ids).size).toBe(out.ids.length);
  }, 120_000);

  it('a merge inside a stage is in its tasks\' checkpoints (union@0), and a job stopped with savepoints and resumed produces what one process produces', async () => {
    // per user, the clicks on even and on odd seconds apart, merged again, then windowed
    const halves = (s: Observable<StreamElement<Click, string>>) => {
      const even = (c: Click) => Math.floor(c.at / 1000) % 2 === 0;
      return mergeStreams(s.pipe(filter(even)), s.pipe(filter((c: Click) => !even(c))));
    };
    const pipeline = pipe(
      eventTime((c: Click) => c.at, boundedOutOfOrderness(300, { interval: 0 })),
      keyBy((c: Click) => c.user),
      connectStreams(halves),
      window(tumblingWindows(1000)),
      aggregate(count()),
      map((r: WindowResult<string, number>) => `${r.key}@${r.window.start}:${r.value}`),
    );
    const plain = toArray<string>();
    await runJob({ name: 'merged-reference', source: clickSources(nc, INPUT_PARTITIONS), pipeline, sink: plain }).done;
    const dir = join(base, 'merged');
    const member = () =>
      runClusterJob<Click, string>({
        name: 'merged',
        connection: nc,
        members: 1,
        member: 0,
        sources: clickSources(nc, INPUT_PARTITIONS, true),
        pipeline,
        sink: (task) => jetStreamSink({ connection: nc, subject: `out.merged.${task}` }),
        partitions: 2,
        checkpoint: { intervalMs: 20, store: (task) => levelStore(`${dir}/${task}`), retain: 2 },
        batchSize: 10,
      });
    const first = member();
    first.metrics$.subscribe((m) => {
      if (m.recordsIn >= CLICKS / 2) void first.stop({ savepoint: true });
    });
    expect((await first.done).state).toBe('stopped');
    const store = levelStore(`${dir}/merged.1.0`);
    const saved = await store.loadCheckpoint('merged.1.0', 'latest');
    await store.close();
    expect(saved?.operators.map((o) => o.operator)).toContain('union@0');
    expect((await member().done).state).toBe('finished');
    const out = await readOut('out.merged');
    expect(plain.values.length).toBeGreaterThan(100);
    expect(sorted(out.data)).toStrictEqual(sorted(plain.values.map((v) => JSON.stringify(v))));
  }, 120_000);

  it('a member not heard from is reported down (members$, onWarning), and back once it runs', async () => {
    const warnings: string[] = [];
    const member = (i: number) =>
      runClusterJob({
        name: 'beats',
        connection: nc,
        members: 2,
        member: i,
        sources: [0, 1, 2].map((p) => jetStreamSource<Click>({ connection: nc, stream: 'CLICKS', filter: `clicks.${p}` })),
        pipeline: clusterPipeline,
        sink: (task) => jetStreamSink({ connection: nc, subject: `out.beats.${task}` }),
        checkpoint: { intervalMs: 50, store: () => memoryStore() },
        heartbeat: { intervalMs: 50, timeoutMs: 300 },
        onWarning: (m) => void warnings.push(`${i}: ${m}`),
      });
    const first = member(0);
    const seen: string[] = [];
    first.members$.subscribe((ms) => seen.push(ms.map((m) => m.state).join(',')));
    const until = async (p: () => boolean): Promise<void> => {
      while (!p()) await new Promise((r) => setTimeout(r, 20));
    };
    await until(() => warnings.length > 0);
    expect(warnings).toStrictEqual([
      "0: runClusterJob(beats): member 1 of 2 has not been heard from for more than 300 ms (the heartbeat timeout): its tasks (beats.0.1, beats.1.0, beats.1.2, beats.2.0, beats.2.2) are not running, and the stages after them wait (their event time holds). Start it again (its tasks resume from their checkpoints), or stop the job with a savepoint and restart it with fewer members.",
    ]);
    const second = member(1);
    await until(() => warnings.length > 1);
    expect(warnings[1]).toBe('0: runClusterJob(beats): member 1 is back (tasks beats.0.1, beats.1.0, beats.1.2, beats.2.0, beats.2.2).');
    // a drain would tell the next stages their input ended while the sources have more: refused
    await expect(first.stop({ drain: true })).rejects.toThrow(
      'runClusterJob(beats): a cluster job cannot be stopped with drain: each task would tell the next stage its input ended while its sources have more. Stop it (with a savepoint, to rescale) and start it again; a bounded job ends by itself when its sources do.',
    );
    await Promise.all([first.stop(), second.stop()]);
    await Promise.all([first.done, second.done]);
    // heartbeats are core NATS, outside the exchange stream: none stored there
    const exchange = await jsm.streams.info('TIDEWATER_beats', { subjects_filter: '>' });
    expect(Object.keys(exchange.state.subjects ?? {}).filter((s) => s.includes('members'))).toStrictEqual([]);
    expect(seen.slice(0, 2)).toStrictEqual(['up,unknown', 'up,down']);
    expect(seen).toContain('up,up');
    expect(seen.at(-1)).toMatch(/^stopped,(up|stopped)$/);
  });

  it('rescales: stopped with savepoints at 3 members, resumed at 2, stopped again, resumed at 4 — the same results', async () => {
    const dir = join(base, 'rescale');
    /** Runs `members` members until they read `records` more clicks, then stops them with savepoints (or to the end). */
    const phase = async (members: number, records: number): Promise<string[]> => {
      const jobs = Array.from({ length: members }, (_, member) => clusterMember(nc, { name: 'rescale', members, member, dir, out: 'out.rescale', inputPartitions: INPUT_PARTITIONS, pace: true, batchSize: 10 }));
      const read = new Array<number>(members).fill(0);
      let stopping = false;
      for (const [i, j] of jobs.entries()) {
        j.metrics$.subscribe((m) => {
          read[i] = m.recordsIn;
          if (!stopping && read.reduce((a, b) => a + b, 0) >= records) {
            stopping = true;
            for (const other of jobs) void other.stop({ savepoint: true });
          }
        });
      }
      const summaries = await Promise.all(jobs.map((j) => j.done));
      return summaries.map((s) => s.state);
    };
    // (records read count from each restore: a third of the clicks, then another third, then the rest)
    expect(await phase(3, CLICKS / 3)).toContain('stopped');
    expect(await phase(2, CLICKS / 3)).toContain('stopped');
    expect(await phase(4, Infinity)).toStrictEqual(['finished', 'finished', 'finished', 'finished']);
    const out = await readOut('out.rescale');
    expect(sorted(out.data)).toStrictEqual(sorted(expected));
    expect(new Set(out.ids).size).toBe(out.ids.length);
  }, 120_000);

  it('a job stopped with savepoints at 4 partitions and started at 2 is refused, naming both (a key\'s state stays in the task of its key group)', async () => {
    const dir = join(base, 'repartition');
    const first = clusterMember(nc, { name: 'repartition', members: 1, member: 0, dir, out: 'out.repartition', inputPartitions: INPUT_PARTITIONS, pace: true, batchSize: 10 });
    let stopping = false;
    first.metrics$.subscribe((m) => {
      if (!stopping && m.recordsIn >= CLICKS / 3) {
        stopping = true;
        void first.stop({ savepoint: true });
      }
    });
    expect((await first.done).state).toBe('stopped');
    const second = clusterMember(nc, { name: 'repartition', members: 1, member: 0, dir, out: 'out.repartition', inputPartitions: INPUT_PARTITIONS, partitions: 2, pace: true, batchSize: 10 });
    const failure = await second.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    // (whichever task restores first says it: a stage-0 task's exchange writer, or a stage-1 task's exchange reader)
    expect(String(failure)).toMatch(
      /exchange\(repartition\.[01]\.[0-9]\): its checkpoint (sends to 4 tasks of the next stage|is of a stage of 4 tasks), and this job runs 2 \(partitions 2\): partitions is fixed for the life of the job's state, as a key's state stays in the task of its key group\. Restart the job with partitions: 4, or start it anew without its checkpoints \(docs\/NATS\.md, "Rescaling"\)\./,
    );
  }, 60_000);
});

describe.runIf(run)('runClusterJob: 3 member processes, a random one SIGKILLed 20 times', () => {
  it('the output subjects hold exactly the results of one uninterrupted process: none missing, none twice (checkpoints in jetStreamStore)', async () => {
    const r = await clusterCrashTest({ kills: 20, clicks: 20_000, seed: 11, store: 'nats' });
    expect(r.kills).toBe(20);
    expect(r.killsAfterProgress).toBeGreaterThanOrEqual(10);
    expect(r.referenceResults).toBeGreaterThan(1_000);
    expect({ identical: r.identical, outputResults: r.outputResults, duplicateIds: r.duplicateIds }).toStrictEqual({ identical: true, outputResults: r.referenceResults, duplicateIds: 0 });
  }, 240_000);
});

describe.runIf(run)('examples/cluster.ts (the README\'s "Running on several machines")', () => {
  it('publishes, runs 3 members to the end, and shows every (user, second) window once', async () => {
    const own = await startNatsServer();
    const conn = await connect({ servers: own.url });
    const dir = mkdtempSync(join(tmpdir(), 'tidewater-cluster-example-'));
    try {
      const lines: string[] = [];
      const log = (l: string): void => void lines.push(l);
      await clusterExample.publish(conn, 3_000, log);
      await Promise.all([0, 1, 2].map((member) => clusterExample.member(conn, { member, members: 3, dir, bounded: true }, log)));
      const r = await clusterExample.results(conn, log);
      // what the results must be, straight from the clicks
      const perWindow = new Map<string, number>();
      for (const c of clicksOf(3_000, { seed: 7 })) {
        const w = `${c.user}@${Math.floor(c.at / 1000) * 1000}`;
        perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
      }
      const most = Math.max(...perWindow.values());
      const shown = lines.filter((l) => !l.includes('checkpoints so far'));
      expect(shown.slice(0, 4)).toStrictEqual([
        'published 3000 clicks to clicks.0 … clicks.2',
        'member 0 of 3: tasks counts.0.0, counts.1.0, counts.1.3',
        'member 1 of 3: tasks counts.0.1, counts.1.1',
        'member 2 of 3: tasks counts.0.2, counts.1.2',
      ]);
      expect(shown.slice(4, 7).sort()).toStrictEqual(['member 0: finished', 'member 1: finished', 'member 2: finished']);
      expect(shown.slice(7)).toStrictEqual([
        `${perWindow.size} results on counts.*, ${perWindow.size} distinct message ids, ${perWindow.size} distinct (user, second) windows; busiest: ${most} clicks in a second`,
      ]);
      expect(r).toStrictEqual({ results: perWindow.size, distinctIds: perWindow.size });
    } finally {
      await conn.close();
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
