/**
 * Drives the cluster kill test: a nats-server of its own; checkpoints in LevelDB directories the members share, or
 * (`store: 'nats'`) in `jetStreamStore`; the clicks published into a stream (3 subjects); the job of
 * test/nats/clusterJob.ts run once by `runJob` in this process (the reference), then by 3 member processes at once,
 * of which a random one is SIGKILLed `kills` times (seeded: a random number of its checkpoints after it started,
 * or while it starts and restores) and restarted at once. The output subjects must hold exactly the reference's
 * results — none missing, none twice, no message id twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { prng } from '../../demo/clicks.js';
import { runJob, toArray, type Sink } from '../../src/index.js';
import { startNatsServer } from '../support/natsServer.js';
import { clickSources, clusterPipeline } from './clusterJob.js';
import { bundleChild, publishClicks } from './driver.js';

const MEMBERS = 3;
const INPUT_PARTITIONS = 3;

/** What the cluster kill test saw. */
export interface ClusterCrashReport {
  readonly kills: number;
  /** kills of members that had completed a checkpoint since they (re)started */
  readonly killsAfterProgress: number;
  readonly starts: number;
  readonly referenceResults: number;
  readonly outputResults: number;
  readonly duplicateIds: number;
  /** the output holds exactly the reference's results (as multisets: the members' subjects interleave freely) */
  readonly identical: boolean;
}

/** A running member process: its checkpoints so far, and its exit. */
class Member {
  readonly child: ChildProcess;
  checkpoints = 0;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private onCheckpoint: (() => void) | undefined;

  constructor(script: string, args: readonly string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      const n = (d.match(/^cp /gm) ?? []).length;
      if (n > 0) {
        this.checkpoints += n;
        this.onCheckpoint?.();
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves once the member completed `n` checkpoints since it started (or exited). */
  async afterCheckpoints(n: number): Promise<void> {
    let exited = false;
    void this.exited.then(() => {
      exited = true;
      this.onCheckpoint?.();
    });
    while (this.checkpoints < n && !exited) await new Promise<void>((resolve) => (this.onCheckpoint = resolve));
    this.onCheckpoint = undefined;
  }
}

/**
 * Runs the cluster kill test.
 *
 * @example
 * ```ts
 * const r = await clusterCrashTest({ kills: 20, clicks: 20_000, seed: 1 });
 * r.identical; // true
 * ```
 */
export async function clusterCrashTest(opts: { kills: number; clicks: number; seed: number; store?: 'level' | 'nats'; log?: (line: string) => void }): Promise<ClusterCrashReport> {
  const server = await startNatsServer();
  const bundle = await bundleChild('test/nats/clusterJob.ts');
  const base = mkdtempSync(join(tmpdir(), 'tidewater-cluster-crash-'));
  const nc = await connect({ servers: server.url });
  const members: Member[] = [];
  try {
    await publishClicks(nc, opts.clicks, opts.seed, INPUT_PARTITIONS);
    const out = toArray<unknown>();
    await runJob({ name: 'reference', source: clickSources(nc, INPUT_PARTITIONS), pipeline: clusterPipeline, sink: out as Sink<unknown> }).done;
    const reference = out.values.map((v) => JSON.stringify(v));

    const start = (i: number): Member =>
      new Member(bundle.script, [server.url, String(MEMBERS), String(i), join(base, 'state'), 'out.crashed', String(INPUT_PARTITIONS)], { CLUSTER_BATCH: '10', CLUSTER_STORE: opts.store ?? 'level' });
    for (let i = 0; i < MEMBERS; i++) members.push(start(i));
    const rnd = prng(opts.seed);
    let kills = 0;
    let progressed = 0;
    let starts = MEMBERS;
    const finished = new Set<number>();
    const watchExit = (i: number, m: Member): void => {
      void m.exited.then(({ code, signal }) => {
        if (signal === null && code === 0 && members[i] === m) finished.add(i);
      });
    };
    members.forEach((m, i) => watchExit(i, m));
    while (kills < opts.kills && finished.size < MEMBERS) {
      const running = members.map((_, i) => i).filter((i) => !finished.has(i));
      const i = running[Math.floor(rnd() * running.length)] as number;
      const victim = members[i] as Member;
      // after 0–3 of its checkpoints (0: while it starts and restores), a few ms more
      const wait = Math.floor(rnd() * 4);
      await victim.afterCheckpoints(wait);
      await new Promise((resolve) => setTimeout(resolve, rnd() * 15));
      if (finished.has(i)) continue;
      const before = victim.checkpoints;
      victim.child.kill('SIGKILL');
      const exit = await victim.exited;
      if (exit.signal !== 'SIGKILL') {
        if (exit.code !== 0) throw new Error(`member ${i} failed (${exit.code}): ${victim.stderr}`);
        finished.add(i);
        continue;
      }
      kills++;
      if (before > 0) progressed++;
      opts.log?.(`kill ${kills}: member ${i} after ${before} checkpoints of its own`);
      const restarted = start(i);
      members[i] = restarted;
      watchExit(i, restarted);
      starts++;
    }
    for (const [i, m] of members.entries()) {
      const exit = await m.exited;
      if (exit.code !== 0) throw new Error(`member ${i} failed (${exit.code} ${exit.signal}): ${m.stderr}`);
    }
    const { data, ids } = await readSubjects(nc, 'OUT', 'out.crashed.*');
    const sort = (xs: readonly string[]): string[] => [...xs].sort();
    const a = sort(data);
    const b = sort(reference);
    return {
      kills,
      killsAfterProgress: progressed,
      starts,
      referenceResults: reference.length,
      outputResults: data.length,
      duplicateIds: ids.length - new Set(ids).size,
      identical: a.length === b.length && a.every((d, k) => d === b[k]),
    };
  } finally {
    for (const m of members) m.child.kill('SIGKILL');
    await nc.close();
    await server.stop();
    rmSync(bundle.dir, { recursive: true, force: true });
    rmSync(base, { recursive: true, force: true });
  }
}

/** Every message of `filter` in `stream`: its data (text) and message id. */
export async function readSubjects(nc: Awaited<ReturnType<typeof connect>>, stream: string, filter: string): Promise<{ data: string[]; ids: string[] }> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  const total = Object.values(info.state.subjects ?? {}).reduce((x, y) => x + y, 0);
  const data: string[] = [];
  const ids: string[] = [];
  if (total === 0) return { data, ids };
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: filter });
  for await (const m of await consumer.fetch({ max_messages: total, expires: 10_000 })) {
    data.push(new TextDecoder().decode(m.data));
    ids.push(m.headers?.get('Nats-Msg-Id') ?? '');
    if (data.length === total) break;
  }
  return { data, ids };
}
