/**
 * `npm run bench -- nats`: what `tidewater/nats` costs over the NATS client itself, on a nats-server of its own
 * (loopback, file storage; skipped when nats-server is not installed). Same run, same data (200 000 clicks as JSON,
 * 4 subjects):
 *
 * - **read**: a plain ordered consumer (`consume`, `JSON.parse` per message) against `jetStreamSource` read through its
 *   reader (bounded), and in a job (`runJob`, no checkpoints, into `toArray`), with per-partition event time;
 * - **write**: plain `js.publish` of every message with at most 1 024 awaiting acknowledgement (no ids) against
 *   `jetStreamSink` in a job without checkpoints (published as written) and with a checkpoint every 1 s (held until
 *   the checkpoint, then published with ids and headers: exactly once);
 * - **cluster**: the job source → keyed 1-hour windows → sink (test/nats/clusterJob.ts, one `keyBy`: two stages) run by
 *   `runJob` in this process, and by `runClusterJob` in 1 and 2 member processes (4 source tasks, 4 window tasks,
 *   LevelDB checkpoints every 1 s, the exchange through JetStream), against the plain consumer reading the stream. A
 *   member run's time includes starting its processes (≈ 0.2 s).
 */
import { jetstream, jetstreamManager, StorageType, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { asyncScheduler, type Observable } from 'rxjs';
import { boundedOutOfOrderness, fromArray, memoryStore, runJob, toArray, type StreamElement } from '../src/index.js';
import { jetStreamSink, jetStreamSource } from '../src/nats/index.js';
import { generateClicks, type Click } from '../demo/clicks.js';
import { natsServerPath, startNatsServer } from '../test/support/natsServer.js';
import { bundleChild } from '../test/nats/driver.js';
import { clickSources, userWindows } from '../test/nats/clusterJob.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureAsync, table, ratio, fmtRate } from './harness.js';

const N = 200_000;

/** The job's pipeline: the records as they come. */
const identity = (s: Observable<StreamElement<Click, unknown>>): Observable<StreamElement<Click, unknown>> => s;
const utf8 = new TextEncoder();

async function readPlain(nc: NatsConnection, stream: string): Promise<number> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream);
  const messages = await consumer.consume({ max_messages: 1024 });
  let n = 0;
  let sum = 0;
  for await (const m of messages) {
    sum += (JSON.parse(new TextDecoder().decode(m.data)) as Click).at;
    if (++n === N) break;
  }
  await messages.close();
  return sum;
}

async function readSource(nc: NatsConnection, stream: string): Promise<number> {
  const reader = await jetStreamSource<Click>({ connection: nc, stream, bounded: true, eventTime: { timestamp: (c) => c.at, watermarks: boundedOutOfOrderness(1_000, { interval: 0 }) } }).open(undefined, {
    job: 'bench',
    index: 0,
    scheduler: asyncScheduler,
  });
  let n = 0;
  for (;;) {
    const r = await reader.read(1024);
    n += r.values.length;
    if (r.done) break;
  }
  await reader.close();
  return n;
}

async function readJob(nc: NatsConnection, stream: string): Promise<number> {
  const out = toArray<Click>();
  await runJob({
    name: 'bench-read',
    source: jetStreamSource<Click>({ connection: nc, stream, bounded: true, eventTime: { timestamp: (c) => c.at, watermarks: boundedOutOfOrderness(1_000, { interval: 0 }) } }),
    pipeline: identity,
    sink: out,
  }).done;
  return out.values.length;
}

async function writePlain(nc: NatsConnection, subject: string, clicks: readonly Click[]): Promise<number> {
  const js = jetstream(nc);
  let inFlight: Promise<PubAck>[] = [];
  for (const c of clicks) {
    inFlight.push(js.publish(subject, utf8.encode(JSON.stringify(c))));
    if (inFlight.length >= 1024) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  return clicks.length;
}

async function writeJob(nc: NatsConnection, subject: string, clicks: readonly Click[], checkpointed: boolean): Promise<number> {
  const s = await runJob({
    name: `bench-write-${checkpointed ? 'ckpt' : 'plain'}`,
    source: fromArray(clicks),
    pipeline: identity,
    sink: jetStreamSink<Click>({ connection: nc, subject }),
    ...(checkpointed ? { checkpoint: { intervalMs: 1_000, store: memoryStore() }, restore: false as const } : {}),
  }).done;
  return s.recordsIn;
}

/** The windows job in this process: the 4 subjects' sources unioned, 1-hour windows, into one `jetStreamSink`, checkpoint every 1 s. */
async function windowsJob(nc: NatsConnection): Promise<number> {
  const s = await runJob({
    name: 'bench-windows',
    source: clickSources(nc, 4),
    pipeline: userWindows(3_600_000),
    sink: jetStreamSink({ connection: nc, subject: 'out.single' }),
    checkpoint: { intervalMs: 1_000, store: memoryStore() },
    batchSize: 1024,
  }).done;
  return s.recordsIn;
}

/** The windows job run by `members` member processes (test/nats/clusterJob.ts); the clicks they read. */
async function windowsCluster(script: string, url: string, members: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tidewater-bench-cluster-'));
  try {
    const env = { ...process.env, CLUSTER_PACE: '0', CLUSTER_BATCH: '1024', CRASH_INTERVAL_MS: '1000', CLUSTER_PIPELINE: 'windows' };
    const runs = Array.from(
      { length: members },
      (_, member) =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, [script, url, String(members), String(member), dir, 'out.cluster', '4'], { stdio: ['ignore', 'pipe', 'pipe'], env });
          let stdout = '';
          let stderr = '';
          child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
          child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
          child.on('exit', (code) => {
            if (code !== 0) reject(new Error(`member ${member} failed (${code}): ${stderr}`));
            else resolve((JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { recordsIn: number }).recordsIn);
          });
        }),
    );
    return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function purge(jsm: JetStreamManager, stream: string): Promise<void> {
  await jsm.streams.purge(stream);
}

export async function natsBench(): Promise<{ report: string }> {
  if (natsServerPath() === undefined) return { report: '### nats\n\nskipped: no nats-server (apt-get install nats-server)' };
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'CLICKS', subjects: ['clicks.*'], storage: StorageType.File });
    await jsm.streams.add({ name: 'OUT', subjects: ['out.>'], storage: StorageType.File, duplicate_window: 10_000_000_000 });
    // (1 000 users, so that the keyed part spreads over tasks and members)
    const clicks = generateClicks(N, { seed: 1 }).map((c, i) => ({ ...c, user: `u${(i * 7919) % 1000}` }));
    const js = jetstream(nc);
    for (let i = 0; i < N; i += 1024) await Promise.all(clicks.slice(i, i + 1024).map((c, k) => js.publish(`clicks.${(i + k) % 4}`, utf8.encode(JSON.stringify(c)))));

    const PLAIN_READ = 'ordered consumer + JSON.parse (nats.js)';
    const only = process.env['NATS_BENCH']; // (`cluster`: that part alone)
    const read = only === 'cluster' ? [] : await measureAsync(N, [
      { name: PLAIN_READ, run: () => readPlain(nc, 'CLICKS') },
      { name: 'jetStreamSource reader (event time per subject)', run: () => readSource(nc, 'CLICKS') },
      { name: 'runJob(jetStreamSource → toArray)', run: () => readJob(nc, 'CLICKS') },
    ], 5, 1);

    const PLAIN_WRITE = 'js.publish, 1 024 in flight (nats.js, no ids)';
    const write = only === 'cluster' ? [] : await measureAsync(N, [
      { name: PLAIN_WRITE, run: () => writePlain(nc, 'out.plain', clicks), after: () => purge(jsm, 'OUT') },
      { name: 'runJob(fromArray → jetStreamSink), no checkpoints', run: () => writeJob(nc, 'out.job', clicks, false), after: () => purge(jsm, 'OUT') },
      { name: 'runJob(fromArray → jetStreamSink), checkpoint every 1 s (exactly once)', run: () => writeJob(nc, 'out.ckpt', clicks, true), after: () => purge(jsm, 'OUT') },
    ], 5, 1);

    const bundle = await bundleChild('test/nats/clusterJob.ts');
    const reset = async (): Promise<void> => {
      await purge(jsm, 'OUT');
      await jsm.streams.delete('TIDEWATER_clicks').catch(() => false);
    };
    let cluster;
    try {
      cluster = await measureAsync(N, [
        { name: PLAIN_READ, run: () => readPlain(nc, 'CLICKS') },
        { name: 'runJob, one process (4 sources → keyBy → 1 h windows → jetStreamSink)', run: () => windowsJob(nc), after: reset },
        { name: 'runClusterJob, 1 member process', run: () => windowsCluster(bundle.script, server.url, 1), after: reset },
        { name: 'runClusterJob, 2 member processes', run: () => windowsCluster(bundle.script, server.url, 2), after: reset },
      ], 3, 1);
    } finally {
      rmSync(bundle.dir, { recursive: true, force: true });
    }

    return {
      report: [
        table(`nats read: ${N.toLocaleString('en')} messages of a JetStream stream (file storage, loopback, median of 5)`, read, PLAIN_READ),
        '',
        table(`nats write: ${N.toLocaleString('en')} messages to a JetStream subject (file storage, loopback, median of 5)`, write, PLAIN_WRITE),
        '',
        `jetStreamSource reader / plain consumer: ${ratio(read, 'jetStreamSource reader (event time per subject)', PLAIN_READ).toFixed(2)}× (${fmtRate(read[1]?.eventsPerSec ?? NaN)}); ` +
          `exactly-once sink in a job / plain publish: ${ratio(write, 'runJob(fromArray → jetStreamSink), checkpoint every 1 s (exactly once)', PLAIN_WRITE).toFixed(2)}×`,
        '',
        table(`nats cluster: ${N.toLocaleString('en')} clicks (4 subjects) → keyBy(user) → 1 h windows → JetStream, exactly once, checkpoint every 1 s (median of 3)`, cluster, PLAIN_READ),
        '',
        `cluster, 2 members / 1 member: ${ratio(cluster, 'runClusterJob, 2 member processes', 'runClusterJob, 1 member process').toFixed(2)}×`,
      ].join('\n'),
    };
  } finally {
    await nc.close();
    await server.stop();
  }
}
