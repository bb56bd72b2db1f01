/**
 * Drives the NATS crash test: a nats-server of its own; the clicks published into a stream (4 subjects); the job of
 * test/nats/job.ts run once uninterrupted (the reference, into one output subject), then again into another subject,
 * SIGKILLed at `kills` random points (seeded) and restarted each time until it finishes. The crashed run's subject
 * must hold exactly the reference's messages: the same data in the same order, no duplicate, nothing missing.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { build } from 'esbuild';
import { generateClicks, prng } from '../../demo/clicks.js';
import { startNatsServer } from '../support/natsServer.js';

const root = resolve(import.meta.dirname, '../..');

/**
 * Bundles a child script once (plain `node` starts it in ~0.1 s), under node_modules/.cache where its packages
 * resolve: `entry` relative to the repository, e.g. `test/nats/job.ts`.
 */
export async function bundleChild(entry = 'test/nats/job.ts'): Promise<{ dir: string; script: string }> {
  const cache = join(root, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'tidewater-nats-crash-'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  await build({ entryPoints: { job: join(root, entry) }, outdir: dir, bundle: true, platform: 'node', format: 'esm', packages: 'external', target: 'node20', logLevel: 'warning' });
  return { dir, script: join(dir, 'job.js') };
}

/**
 * Streams CLICKS (subjects `clicks.*`, holding `n` seeded clicks dealt over `partitions` subjects in turn) and OUT
 * (`out.>`) on a fresh server.
 */
export async function publishClicks(nc: NatsConnection, n: number, seed: number, partitions: number): Promise<{ jsm: JetStreamManager; js: JetStreamClient }> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: 'CLICKS', subjects: ['clicks.*'], storage: StorageType.File });
  await jsm.streams.add({ name: 'OUT', subjects: ['out.>'], storage: StorageType.File });
  const clicks = generateClicks(n, { seed });
  const encoder = new TextEncoder();
  for (let i = 0; i < clicks.length; i += 1000) {
    await Promise.all(clicks.slice(i, i + 1000).map((c, k) => js.publish(`clicks.${(i + k) % partitions}`, encoder.encode(JSON.stringify(c)))));
  }
  return { jsm, js };
}

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Stream sequences of the checkpoints a run reported (`cp <id> <seq> …`). */
function reportedSeqs(stdout: string): number[] {
  return [...stdout.matchAll(/^cp \d+ (\d+) /gm)].map((m) => Number(m[1]));
}

/** Kill `delayMs` after a checkpoint at sequence ≥ `atSeq` was reported (or, without it, after the start). */
interface KillPoint {
  readonly atSeq?: number;
  readonly delayMs: number;
}

function runChild(script: string, args: readonly string[], kill: KillPoint | undefined): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let ready = false;
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (!ready && stdout.includes('ready\n')) ready = true;
      const due = kill !== undefined && ready && (kill.atSeq === undefined || reportedSeqs(stdout).some((s) => s >= (kill.atSeq as number)));
      if (due && timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

/** What the NATS crash test saw. */
export interface NatsCrashReport {
  readonly kills: number;
  /** kills of runs that had completed a checkpoint of their own */
  readonly killsAfterProgress: number;
  readonly restoredAtEnd: number | null;
  readonly runs: number;
  /** messages on the reference subject */
  readonly referenceMessages: number;
  readonly outputMessages: number;
  /** message ids seen twice on the crashed run's subject */
  readonly duplicateIds: number;
  readonly identical: boolean;
}

/**
 * Runs the NATS crash test.
 *
 * @example
 * ```ts
 * const r = await natsCrashTest({ kills: 20, clicks: 20_000, seed: 1 });
 * r.identical; // true
 * ```
 */
export async function natsCrashTest(opts: { kills: number; clicks: number; seed: number; log?: (line: string) => void }): Promise<NatsCrashReport> {
  const server = await startNatsServer();
  const bundle = await bundleChild();
  const base = mkdtempSync(join(tmpdir(), 'tidewater-nats-crash-'));
  const nc = await connect({ servers: server.url });
  try {
    const { jsm, js } = await publishClicks(nc, opts.clicks, opts.seed, 4);
    const read = async (subject: string): Promise<{ data: string[]; ids: string[] }> => {
      const info = await jsm.streams.info('OUT', { subjects_filter: subject });
      const total = info.state.subjects?.[subject] ?? 0;
      const data: string[] = [];
      const ids: string[] = [];
      if (total === 0) return { data, ids };
      const consumer = await js.consumers.get('OUT', { filter_subjects: subject });
      for await (const m of await consumer.fetch({ max_messages: total, expires: 10_000 })) {
        data.push(new TextDecoder().decode(m.data));
        ids.push(m.headers?.get('Nats-Msg-Id') ?? '');
        if (data.length === total) break;
      }
      return { data, ids };
    };

    const ref = await runChild(bundle.script, [server.url, 'CLICKS', 'out.reference', join(base, 'reference')], undefined);
    if (ref.code !== 0) throw new Error(`reference run failed (${ref.code}): ${ref.stderr}`);
    const reference = await read('out.reference');

    const rnd = prng(opts.seed);
    // kills a few ms after a checkpoint past a random point beyond where the job stands, or (one in five) while it
    // starts and restores: kills land while reading, processing, writing checkpoints and publishing commits
    const budget = opts.clicks / (1.5 * opts.kills);
    let reached = 0;
    let kills = 0;
    let runs = 0;
    let progressed = 0;
    let restoredAtEnd: number | null = null;
    for (;;) {
      const kill: KillPoint | undefined = kills >= opts.kills ? undefined : rnd() < 0.2 ? { delayMs: rnd() * 30 } : { atSeq: reached + 1 + rnd() * budget, delayMs: rnd() * 10 };
      const r = await runChild(bundle.script, [server.url, 'CLICKS', 'out.crashed', join(base, 'crashed')], kill);
      runs++;
      const seqs = reportedSeqs(r.stdout);
      if (r.signal === 'SIGKILL') {
        kills++;
        if (seqs.length > 0) progressed++;
        reached = Math.max(reached, ...seqs);
        opts.log?.(`run ${runs}: killed ${kill?.delayMs.toFixed(1)} ms after ${kill?.atSeq === undefined ? 'it started' : `a checkpoint past message ${Math.round(kill.atSeq)}`} (${seqs.length} checkpoints, up to message ${reached})`);
        continue;
      }
      if (r.code !== 0) throw new Error(`run ${runs} failed (${r.code}): ${r.stderr}`);
      const last = r.stdout.trim().split('\n').at(-1) ?? '{}';
      restoredAtEnd = (JSON.parse(last) as { restoredFrom: number | null }).restoredFrom;
      opts.log?.(`run ${runs}: finished: ${last}`);
      break;
    }
    const output = await read('out.crashed');
    const identical = output.data.length === reference.data.length && output.data.every((d, i) => d === reference.data[i]);
    return {
      kills,
      killsAfterProgress: progressed,
      restoredAtEnd,
      runs,
      referenceMessages: reference.data.length,
      outputMessages: output.data.length,
      duplicateIds: output.ids.length - new Set(output.ids).size,
      identical,
    };
  } finally {
    await nc.close();
    await server.stop();
    rmSync(bundle.dir, { recursive: true, force: true });
    rmSync(base, { recursive: true, force: true });
  }
}
