/**
 * The cluster tests' job (test/nats.cluster.node.test.ts, the 3-process kill test of test/nats/clusterDriver.ts): clicks
 * from a JetStream stream, one source per subject (`clicks.0` … `clicks.<n−1>`, bounded) → event time → per-user 1 s
 * windows (clicks, distinct pages) → re-keyed by window → per-window totals (users, clicks) → a `jetStreamSink` per
 * task of the last stage (`<out>.<task>`). Three stages, two exchanges; deterministic: watermarks on every advance,
 * no processing time, no record late within its own partition (the clicks are out of order by less than the bound),
 * so every run — one process or several, interrupted or not — produces the same results.
 *
 * As a child process: `node clusterJob.js <natsUrl> <members> <member> <stateDir> <out> <inputPartitions>` prints
 * `ready`, then `cp <task> <id>` per checkpoint, then its summary (JSON) when its tasks finished. Environment:
 * `CLUSTER_PACE=0` reads unpaced, `CLUSTER_BATCH` the job's batch size, `CRASH_INTERVAL_MS` the checkpoint interval,
 * `CLUSTER_PIPELINE=windows` the one-keyBy job (1-hour windows), `CLUSTER_STORE=nats` checkpoints in `jetStreamStore` (else LevelDB).
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { pipe } from 'rxjs';
import { boundedOutOfOrderness, tumblingWindows, type Aggregator, type Source, type WindowResult } from '../../src/index.js';
import { aggregate, eventTime, keyBy, window } from '../../operators/index.js';
import { levelStore } from '../../src/stores/level.js';
import { jetStreamSink, jetStreamSource, jetStreamStore, runClusterJob, type ClusterJob } from '../../src/nats/index.js';
import type { Click } from '../../demo/clicks.js';
import { paced } from '../crash/paced.js';
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Per user and window: clicks and distinct pages. */
const perUser: Aggregator<Click, { clicks: number; pages: string[] }, { clicks: number; pages: string[] }> = {
  create: () => ({ clicks: 0, pages: [] }),
  add: (a, c) => ({ clicks: a.clicks + 1, pages: a.pages.includes(c.page) ? a.pages : [...a.pages, c.page].sort() }),
  result: (a) => a,
};

type UserWindow = WindowResult<string, { clicks: number; pages: string[] }>;

/** Per window: users, clicks, the busiest user's clicks. */
const perWindow: Aggregator<UserWindow, { users: number; clicks: number; most: number }, { users: number; clicks: number; most: number }> = {
  create: () => ({ users: 0, clicks: 0, most: 0 }),
  add: (a, r) => ({ users: a.users + 1, clicks: a.clicks + r.value.clicks, most: Math.max(a.most, r.value.clicks) }),
  result: (a) => a,
};

export const clusterPipeline = pipe(
  eventTime((c: Click) => c.at, boundedOutOfOrderness(300, { interval: 0 })),
  keyBy((c: Click) => c.user),
  window(tumblingWindows(1000)),
  aggregate(perUser),
  keyBy((r: UserWindow) => r.window.end),
  window(tumblingWindows(1000)),
  aggregate(perWindow),
);

/** A one-keyBy job (two stages): per-user windows of `sizeMs`, as the NATS benchmark runs it (1 hour). */
export function userWindows(sizeMs: number) {
  return pipe(
    eventTime((c: Click) => c.at, boundedOutOfOrderness(300, { interval: 0 })),
    keyBy((c: Click) => c.user),
    window(tumblingWindows(sizeMs)),
    aggregate(perUser),
  );
}

/** The input: one bounded source per subject `clicks.<i>` of stream CLICKS. */
export function clickSources(nc: NatsConnection, partitions: number, pace = false): Source<Click>[] {
  return Array.from({ length: partitions }, (_, i) => {
    const s = jetStreamSource<Click>({ connection: nc, stream: 'CLICKS', filter: `clicks.${i}`, bounded: true, batch: 128 });
    return pace ? paced(s) : s;
  });
}

/** One member of the cluster job. */
export function clusterMember(nc: NatsConnection, opts: { name?: string; members: number; member: number; dir: string; out: string; inputPartitions: number; pace?: boolean; intervalMs?: number; batchSize?: number; pipeline?: 'two-stage' | 'windows'; store?: 'level' | 'nats'; partitions?: number }): ClusterJob<unknown> {
  return runClusterJob({
    name: opts.name ?? 'clicks',
    connection: nc,
    members: opts.members,
    member: opts.member,
    sources: clickSources(nc, opts.inputPartitions, opts.pace === true),
    pipeline: (opts.pipeline === 'windows' ? userWindows(3_600_000) : clusterPipeline) as typeof clusterPipeline,
    sink: (task) => jetStreamSink({ connection: nc, subject: `${opts.out}.${task}` }),
    partitions: opts.partitions ?? 4,
    checkpoint: {
      intervalMs: opts.intervalMs ?? 20,
      // LevelDB in a directory the members share, or the JetStream store (members on machines that share nothing)
      store: (task) => (opts.store === 'nats' ? jetStreamStore({ connection: nc, name: `${opts.dir.replace(/[^A-Za-z0-9_-]/g, '_')}.${task}` }) : levelStore(`${opts.dir}/${task}`)),
      retain: 2,
    },
    batchSize: opts.batchSize ?? 100,
  }) as ClusterJob<unknown>;
}

// run as a member process only when this module is the program (bundled by test/nats/driver.ts's bundleChild, or
// run by tsx), not when a test or a benchmark imports its exports with arguments of their own
const isProgram = ((script) => script !== undefined && existsSync(script) && realpathSync(fileURLToPath(import.meta.url)) === realpathSync(script))(globalThis.process.argv[1]);
const [url, members, member, dir, out, inputPartitions] = isProgram ? globalThis.process.argv.slice(2) : [];
if (url !== undefined && members !== undefined && member !== undefined && dir !== undefined && out !== undefined && inputPartitions !== undefined) {
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: url });
  const env = globalThis.process.env;
  const job = clusterMember(nc, {
    members: Number(members),
    member: Number(member),
    dir,
    out,
    inputPartitions: Number(inputPartitions),
    pace: env['CLUSTER_PACE'] !== '0',
    intervalMs: Number(env['CRASH_INTERVAL_MS'] ?? '10'),
    batchSize: Number(env['CLUSTER_BATCH'] ?? '100'),
    pipeline: env['CLUSTER_PIPELINE'] === 'windows' ? 'windows' : 'two-stage',
    store: env['CLUSTER_STORE'] === 'nats' ? 'nats' : 'level',
  });
  globalThis.process.stdout.write('ready\n');
  job.checkpoints$.subscribe((c) => globalThis.process.stdout.write(`cp ${c.task} ${c.id}\n`));
  const s = await job.done;
  await nc.drain();
  globalThis.process.stdout.write(`${JSON.stringify({ state: s.state, recordsIn: s.recordsIn, recordsOut: s.recordsOut })}\n`);
}
