/**
 * A job spread over several processes (or machines) through NATS JetStream, with `runClusterJob` (docs/NATS.md,
 * "Multi-process jobs"): clicks published to 3 subjects of a stream; per-user clicks per second of event time; the
 * results on subjects `counts.<task>`, exactly once. Start a server, publish, start members, kill one, start it again:
 *
 * ```sh
 * nats-server -js -sd /tmp/nats -a 127.0.0.1 -p 4222 &
 * npx tsx examples/cluster.ts publish 30000        # streams CLICKS (clicks.0-2) and COUNTS, 30 000 clicks
 * npx tsx examples/cluster.ts member 0 3 &         # three members of one job (state in ./cluster-state)
 * npx tsx examples/cluster.ts member 1 3 &
 * npx tsx examples/cluster.ts member 2 3 &
 * kill -9 %3; npx tsx examples/cluster.ts member 1 3 &   # member 1 dies; started again, its tasks resume
 * npx tsx examples/cluster.ts results              # the results so far: no duplicates
 * ```
 *
 * Members read on as clicks arrive (publish more at any time); `member <i> <members> --bounded` stops at the clicks
 * published when the job first started. Members on other machines need `./cluster-state` on a shared directory (each
 * task's checkpoints are read by whichever member runs it). `NATS_URL` names another server.
 *
 * Flink equivalent: a job with parallelism over several TaskManagers, a keyBy shuffle between its stages, and
 * exactly-once checkpoints; here each stage's tasks exchange records through JetStream subjects (Kafka Streams'
 * repartition topics) and checkpoint on their own.
 */
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { pipe } from 'rxjs';
import { boundedOutOfOrderness, count, tumblingWindows, type WindowResult } from '../src/index.js';
import { aggregate, keyBy, window } from '../operators/index.js';
import { levelStore } from '../src/stores/level.js';
import { jetStreamSink, jetStreamSource, runClusterJob } from '../src/nats/index.js';
import { generateClicks, type Click } from '../demo/clicks.js';

const PARTITIONS = 3;

/** Creates the input and output streams (when missing) and publishes `n` clicks, dealt over the 3 subjects. */
export async function publish(nc: NatsConnection, n: number, log: (line: string) => void): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, 'CLICKS', 'clicks.*');
  await ensureStream(jsm, 'COUNTS', 'counts.*');
  const js = jetstream(nc);
  const encoder = new TextEncoder();
  const clicks = generateClicks(n, { seed: 7 });
  for (let i = 0; i < clicks.length; i += 1000) {
    await Promise.all(clicks.slice(i, i + 1000).map((c, k) => js.publish(`clicks.${(i + k) % PARTITIONS}`, encoder.encode(JSON.stringify(c)))));
  }
  log(`published ${n} clicks to clicks.0 … clicks.${PARTITIONS - 1}`);
}

async function ensureStream(jsm: JetStreamManager, name: string, subject: string): Promise<void> {
  await jsm.streams.info(name).catch(() => jsm.streams.add({ name, subjects: [subject], storage: StorageType.File }));
}

/** Runs member `member` of `members` until its tasks finish (`bounded`) or forever; prints what it does. */
export async function member(nc: NatsConnection, opts: { member: number; members: number; dir: string; bounded: boolean }, log: (line: string) => void): Promise<void> {
  const job = runClusterJob({
    name: 'counts',
    connection: nc,
    members: opts.members,
    member: opts.member,
    // one source per subject: each is a task of the first stage, with its own watermarks
    sources: Array.from({ length: PARTITIONS }, (_, i) =>
      jetStreamSource<Click>({
        connection: nc,
        stream: 'CLICKS',
        filter: `clicks.${i}`,
        bounded: opts.bounded,
        eventTime: { timestamp: (c) => c.at, watermarks: boundedOutOfOrderness(300, { interval: 0 }) },
      }),
    ),
    // keyBy cuts the job in two stages: 4 window tasks own a quarter of the users' key groups each
    pipeline: pipe(keyBy((c: Click) => c.user), window(tumblingWindows(1_000)), aggregate(count())),
    sink: (task) => jetStreamSink<WindowResult<string, number>>({ connection: nc, subject: `counts.${task}` }),
    partitions: 4,
    checkpoint: { intervalMs: 500, store: (task) => levelStore(`${opts.dir}/${task}`) },
  });
  log(`member ${opts.member} of ${opts.members}: tasks ${job.assigned.join(', ')}`);
  let checkpoints = 0;
  job.checkpoints$.subscribe(() => checkpoints++);
  const timer = setInterval(() => log(`member ${opts.member}: ${checkpoints} checkpoints so far`), 2_000);
  try {
    const s = await job.done;
    log(`member ${opts.member}: ${s.state}`);
  } finally {
    clearInterval(timer);
  }
}

/** The results on `counts.*`: how many, distinct message ids, and the busiest user's clicks in one second. */
export async function results(nc: NatsConnection, log: (line: string) => void): Promise<{ results: number; distinctIds: number }> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info('COUNTS', { subjects_filter: 'counts.*' });
  const total = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  const ids = new Set<string>();
  const windows = new Set<string>();
  let most = 0;
  if (total > 0) {
    const consumer = await jetstream(nc).consumers.get('COUNTS');
    for await (const m of await consumer.fetch({ max_messages: total, expires: 10_000 })) {
      const r = JSON.parse(new TextDecoder().decode(m.data)) as WindowResult<string, number>;
      ids.add(m.headers?.get('Nats-Msg-Id') ?? '');
      windows.add(`${r.key}@${r.window.start}`);
      most = Math.max(most, r.value);
      if (m.info.pending === 0) break;
    }
  }
  log(`${total} results on counts.*, ${ids.size} distinct message ids, ${windows.size} distinct (user, second) windows; busiest: ${most} clicks in a second`);
  return { results: total, distinctIds: ids.size };
}

const [command, a, b] = process.argv.slice(2);
if (command !== undefined && process.argv[1]?.endsWith('cluster.ts') === true) {
  const nc = await connect({ servers: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222' });
  const log = (line: string): void => console.log(line);
  try {
    if (command === 'publish') await publish(nc, Number(a ?? 30_000), log);
    else if (command === 'member') await member(nc, { member: Number(a), members: Number(b), dir: './cluster-state', bounded: process.argv.includes('--bounded') }, log);
    else if (command === 'results') await results(nc, log);
    else console.error('usage: npx tsx examples/cluster.ts publish [n] | member <i> <members> [--bounded] | results');
  } finally {
    await nc.drain();
  }
}
