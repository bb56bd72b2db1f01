/**
 * Drives the crash test: runs test/crash/job.ts once uninterrupted (the reference), then again in a fresh directory,
 * SIGKILLing the child process at `kills` random points (seeded) and restarting it each time until it finishes;
 * the committed output of the crashed run must equal the reference byte for byte. With `threads` the job's keyed
 * part runs in that many worker threads (the reference too), which die with the process.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { workerEntryPlugin } from '../../scripts/workerEntryPlugin.mjs';
import { generateClicks, prng } from '../../demo/clicks.js';
import { generateOrders, large, latePayments } from './joinPipeline.js';

const root = resolve(import.meta.dirname, '../..');

/**
 * Bundles the child once (plain `node` starts it in ~0.1 s, tsx would take ~0.5 s per restart), as ES modules, into
 * a directory of its own under node_modules/.cache (where the job's packages resolve), removed by the caller. For
 * the thread mode also the worker entry, as `worker.js` beside the library code (where the library looks for it),
 * and the pipeline module the workers load: one build with shared chunks, so the job and its workers run one copy of
 * the library. Returns the job script and, in thread mode, the pipeline module's URL.
 */
async function bundleChild(threads: boolean): Promise<{ dir: string; script: string; worker?: string }> {
  const cache = join(root, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, `tidewater-crash-${threads ? 'threads' : 'single'}-`));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  const entryPoints: Record<string, string> = { job: join(root, 'test/crash/job.ts') };
  if (threads) {
    entryPoints['worker'] = join(root, 'src/parallel/threads/workerEntry.ts');
    entryPoints['pipeline'] = join(root, 'test/crash/pipeline.ts');
  }
  await build({ entryPoints, outdir: dir, bundle: true, splitting: true, platform: 'node', format: 'esm', packages: 'external', target: 'node20', logLevel: 'warning', plugins: [workerEntryPlugin] });
  const script = join(dir, 'job.js');
  return threads ? { dir, script, worker: pathToFileURL(join(dir, 'pipeline.js')).href } : { dir, script };
}

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** ms from the child's "ready" line to its exit (or kill) */
  readonly ranMs: number;
}

/**
 * When to kill a run: `delayMs` after it reports a checkpoint at source offset ≥ `atOffset` (byte position in the
 * input), or — without `atOffset` — `delayMs` after it starts (while it restores and starts up).
 */
interface KillPoint {
  readonly atOffset?: number;
  readonly delayMs: number;
}

/** Source offsets of the checkpoints a run reported (`cp <id> <offset> …` lines). */
function reportedOffsets(stdout: string): number[] {
  // (an NDJSON offset is `<byte position>:<length>:<fingerprint>`: the position is what counts here)
  return [...stdout.matchAll(/^cp \d+ (\d+)\S* /gm)].map((m) => Number(m[1]));
}

function runChild(script: string, dir: string, kill: KillPoint | undefined, env: Record<string, string>): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    let readyAt: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (readyAt === undefined && stdout.includes('ready\n')) readyAt = performance.now();
      const due = kill !== undefined && readyAt !== undefined && (kill.atOffset === undefined || reportedOffsets(stdout).some((o) => o >= (kill.atOffset as number)));
      if (due && timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      done({ code, signal, stdout, stderr, ranMs: readyAt === undefined ? 0 : performance.now() - readyAt });
    });
  });
}

/** What a crash test saw. */
export interface CrashReport {
  readonly seed: number;
  readonly kills: number;
  /** kills of runs that had completed a checkpoint of their own (so the job moved forward) */
  readonly killsAfterProgress: number;
  /** the checkpoint the last (unkilled) run restored from */
  readonly restoredAtEnd: number | null;
  readonly runs: number;
  readonly referenceMs: number;
  readonly referenceBytes: number;
  readonly outputBytes: number;
  readonly identical: boolean;
  /** thread mode: whether the uninterrupted run's output equals the single-threaded job's byte for byte */
  readonly sameAsSingleThreaded?: boolean;
  /** restores that skipped a checkpoint (should stay empty: every checkpoint is one atomic batch) */
  readonly skipped: string[];
  readonly reference: string;
  readonly output: string;
}

/**
 * Runs the crash test.
 *
 * @example
 * ```ts
 * const r = await crashTest({ kills: 20, clicks: 20_000, seed: 1 });
 * r.identical; // true
 * ```
 */
export async function crashTest(opts: {
  kills: number;
  clicks: number;
  seed: number;
  intervalMs?: number;
  /** run the job's keyed part in this many worker threads (`parallel(threads, keyedPipeline, { worker })`) */
  threads?: number;
  /**
   * run the join job instead (test/crash/joinPipeline.ts: `clicks` orders and their payments from two files, joined,
   * with two side outputs, into three files — all compared)
   */
  join?: boolean;
  log?: (line: string) => void;
}): Promise<CrashReport> {
  const threads = opts.threads !== undefined;
  const bundles = await Promise.all(threads ? [bundleChild(true), bundleChild(false)] : [bundleChild(false)]);
  try {
    return await crashRuns(opts, bundles[0] as Bundle, bundles[1]);
  } finally {
    for (const b of bundles) rmSync(b.dir, { recursive: true, force: true });
  }
}

type Bundle = Awaited<ReturnType<typeof bundleChild>>;

/** The runs of {@link crashTest}: the reference (and in thread mode the single-threaded job), then the crashed run. */
async function crashRuns(opts: Parameters<typeof crashTest>[0], bundle: Bundle, single: Bundle | undefined): Promise<CrashReport> {
  const { script, worker } = bundle;
  const env: Record<string, string> = { CRASH_INTERVAL_MS: String(opts.intervalMs ?? 5) };
  if (worker !== undefined) Object.assign(env, { CRASH_WORKER: worker, CRASH_PARALLELISM: String(opts.threads) });
  if (opts.join === true) env['CRASH_MODE'] = 'join';
  const ndjson = (values: readonly unknown[]): string => values.map((v) => JSON.stringify(v)).join('\n') + '\n';
  // the input files, the first one the file whose offset the kill points follow
  const inputs: Record<string, string> = {};
  if (opts.join === true) {
    const { orders, payments } = generateOrders(opts.clicks, opts.seed);
    inputs['orders.ndjson'] = ndjson(orders);
    inputs['payments.ndjson'] = ndjson(payments);
  } else inputs['input.ndjson'] = ndjson(generateClicks(opts.clicks, { seed: opts.seed }));
  const input = Object.values(inputs)[0] as string;
  const outputs = opts.join === true ? ['output.ndjson', `${latePayments.name}.ndjson`, `${large.name}.ndjson`] : ['output.ndjson'];
  const readOutputs = (dir: string): string => outputs.map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8')}`).join('');
  const base = mkdtempSync(join(tmpdir(), 'tidewater-crash-'));
  const refDir = join(base, 'reference');
  const crashDir = join(base, 'crashed');
  const singleDir = join(base, 'single-threaded');
  for (const d of single !== undefined ? [refDir, crashDir, singleDir] : [refDir, crashDir]) {
    mkdirSync(d);
    for (const [file, text] of Object.entries(inputs)) writeFileSync(join(d, file), text);
  }
  const ref = await runChild(script, refDir, undefined, env);
  if (ref.code !== 0) throw new Error(`reference run failed (${ref.code}): ${ref.stderr}`);
  const reference = readOutputs(refDir);
  let sameAsSingleThreaded: boolean | undefined;
  if (single !== undefined) {
    const s = await runChild(single.script, singleDir, undefined, { CRASH_INTERVAL_MS: env.CRASH_INTERVAL_MS as string });
    if (s.code !== 0) throw new Error(`single-threaded reference run failed (${s.code}): ${s.stderr}`);
    sameAsSingleThreaded = readOutputs(singleDir) === reference;
  }
  const rnd = prng(opts.seed);
  // A run is killed a few ms (0–10) after it reports a checkpoint past a random point up to 1/(1.5 × kills) of the
  // input beyond where the job stands — or, one run in five, 0–30 ms after it starts (while it restores). So kills
  // land in every phase — reading, processing, pre-commit, the checkpoint write, the sink's commit, pruning,
  // restoring — and the job is still far from its end at the last kill, whatever the speed of the machine.
  const budget = Buffer.byteLength(input) / (1.5 * opts.kills);
  let reached = 0;
  let kills = 0;
  let runs = 0;
  let progressed = 0;
  let restoredAtEnd: number | null = null;
  const skipped: string[] = [];
  for (;;) {
    const kill: KillPoint | undefined =
      kills >= opts.kills ? undefined : rnd() < 0.2 ? { delayMs: rnd() * 30 } : { atOffset: reached + 1 + rnd() * budget, delayMs: rnd() * 10 };
    const r = await runChild(script, crashDir, kill, env);
    runs++;
    const offsets = reportedOffsets(r.stdout);
    if (r.signal === 'SIGKILL') {
      kills++;
      if (offsets.length > 0) progressed++;
      reached = Math.max(reached, ...offsets);
      opts.log?.(`run ${runs}: killed ${kill?.delayMs.toFixed(1)} ms after ${kill?.atOffset === undefined ? 'it started' : `a checkpoint past byte ${Math.round(kill.atOffset)}`} (${offsets.length} checkpoints, up to byte ${reached})`);
      continue;
    }
    if (r.code !== 0) throw new Error(`run ${runs} failed (${r.code}): ${r.stderr}`);
    const last = r.stdout.trim().split('\n').at(-1) ?? '{}';
    const s = JSON.parse(last) as { restoredFrom: number | null; skipped: { id: number; reason: string }[] };
    restoredAtEnd = s.restoredFrom;
    for (const k of s.skipped) skipped.push(`run ${runs}: checkpoint ${k.id}: ${k.reason}`);
    opts.log?.(`run ${runs}: finished: ${last}`);
    break; // finished (the caller checks that it took the kills it asked for)
  }
  const output = readOutputs(crashDir);
  // kept when the output differs, to look into (the log names it)
  if (output === reference) rmSync(base, { recursive: true, force: true });
  else opts.log?.(`output differs: runs in ${base}`);
  return {
    seed: opts.seed,
    kills,
    killsAfterProgress: progressed,
    restoredAtEnd,
    runs,
    referenceMs: ref.ranMs,
    referenceBytes: reference.length,
    outputBytes: output.length,
    identical: output === reference,
    ...(sameAsSingleThreaded !== undefined ? { sameAsSingleThreaded } : {}),
    skipped,
    reference,
    output,
  };
}
