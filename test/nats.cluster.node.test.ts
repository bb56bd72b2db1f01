// Multi-process jobs on NATS JetStream (runClusterJob, docs/NATS.md "Multi-process jobs"), against a nats-server of
// this file's own: the stage plan, members in one process (equal to one process's runJob), rescaling through
// savepoints, refused configurations, and the 3-process kill test (test/nats/clusterDriver.ts).
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipe } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClicks } from '../demo/clicks.js';
import { count, memoryStore, runJob, toArray, tumblingWindows, type Sink } from '../src/index.js';
import { aggregate, keyBy, map, window } from '../operators/index.js';
import { runClusterJob } from '../src/nats/index.js';
import { planStages } from '../src/nats/stages.js';
import { clickSources, clusterMember, clusterPipeline } from './nats/clusterJob.js';
import { natsAvailable, startNatsServer, type NatsServer } from './support/natsServer.js';

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
  });

  it('three members in one process produce exactly what one process produces', async () => {
    const members = [0, 1, 2].map((member) => clusterMember(nc, { members: 3, member, dir: join(base, 'three'), out: 'out.three', inputPartitions: INPUT_PARTITIONS }));
    const summaries = await Promise.all(members.map((m) => m.done));
    expect(summaries.map((s) => s.state)).toStrictEqual(['finished', 'finished', 'finished']);
    // 3 + 4 + 4 tasks over 3 members
    expect(members.map((m) => m.tasks.map((t) => t.name))).toStrictEqual([
      ['clicks.0.0', 'clicks.1.0', 'clicks.1.3', 'clicks.2.2'],
      ['clicks.0.1', 'clicks.1.1', 'clicks.2.0', 'clicks.2.3'],
      ['clicks.0.2', 'clicks.1.2', 'clicks.2.1'],
    ]);
    const out = await readOut('out.three');
    expect(expected.length).toBeGreaterThan(100);
    expect(sorted(out.data)).toStrictEqual(sorted(expected));
    expect(new Set(out.ids).size).toBe(out.ids.length);
  }, 120_000);
});
