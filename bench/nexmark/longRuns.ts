import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { median, medianOrNull, runChild, runJobCase } from './bench.js';
import { generateNexmark, type NexmarkEvent } from './generator.js';
import { QUERIES, type Query, type QueryName } from './queries.js';
import { STATE_LOOPS, type StateLoop } from './stateLoops.js';

/**
 * `npm run bench -- nexmark-long [--events 10000000] [--rounds 3] [--queries q18,q19]`: what checkpoints every 1 s
 * cost over runs long enough to take several, for the queries whose state keeps a bid for (almost) every bid read
 * (q18, q19), next to what the same checkpoints cost a hand-written program (bench/nexmark/README.md, "Long runs").
 * 10 M events by default: the hand-written program reads them in 1.5–2 s here, so it too takes checkpoints before
 * the end (at 3 M events it takes none but the last).
 *
 * Each query runs in its own Node process; the events are generated first (not measured) and kept in an array. Four
 * cases, each warmed up once on a tenth of the events, then run once per round, rounds interleaving them:
 * - `job`: the query in `runJob` (source `fromIterable`, a counting sink), no checkpoints;
 * - `job + ckpt`: the same with a checkpoint every 1 s of wall time to LevelDB (`levelStore`, a fresh directory per
 *   run; the job's last checkpoint at the end of input included, as `done` waits for it);
 * - `loop`: the hand-written loop of bench/nexmark/stateLoops.ts over the same array, yielding to the event loop every
 *   1 024 events as a job's source does;
 * - `loop + ckpt`: the loop with its own checkpoint every 1 s of wall time (one in flight at a time, as a job's): the
 *   entries changed since the last one, each as `JSON.stringify([key, value])`, joined into texts of up to 256 K
 *   characters, written with a completion marker in one LevelDB batch with `{ sync: true }` (the checkpoint before
 *   the last deleted in it: two kept), and at the end of input a last one that holds no state, as a job's last
 *   holds its finished operators' clocks only.
 * "+ ckpt" is each one's time without checkpoints over its time with them (the median of per-round ratios); "MB" the
 * characters the checkpoints wrote (of the last round). Every case must give the same number of results.
 */

const MARK = '@@nexmark-long ';
const RUN_TS = fileURLToPath(new URL('../run.ts', import.meta.url));
const INTERVAL_MS = 1_000;
/** The loop yields to the event loop (and may start a checkpoint) every this many events. */
const SLICE = 1_024;
const CHUNK_CHARS = 256 * 1024;

interface Options {
  events: number;
  rounds: number;
  queries: QueryName[];
  child?: QueryName;
}

interface Run {
  ms: number;
  results: number;
  checkpoints: number;
  /** characters written by the checkpoints */
  written: number;
}

interface LongResult {
  query: QueryName;
  events: number;
  /** median ms per case */
  ms: Record<string, number>;
  /** median of per-round ratios: job / job + ckpt, loop / loop + ckpt */
  jobKept: number;
  loopKept: number;
  /**
   * median of per-round (with − without checkpoints) ms per MB (10⁶ characters) the checkpoints wrote, over rounds
   * whose run took a periodic checkpoint; null: none did
   */
  jobMsPerMb: number | null;
  loopMsPerMb: number | null;
  /** the checkpointed runs of the last round */
  job: Run;
  loop: Run;
}

function parseArgs(args: readonly string[]): Options {
  const o: Options = { events: 10_000_000, rounds: 3, queries: Object.keys(STATE_LOOPS) as QueryName[] };
  for (let i = 0; i < args.length; i += 2) {
    const a = args[i];
    const v = args[i + 1] ?? '';
    if (a === '--events') o.events = Number(v);
    else if (a === '--rounds') o.rounds = Number(v);
    else if (a === '--queries') o.queries = v.split(',') as QueryName[];
    else if (a === '--child') o.child = v as QueryName;
    else throw new Error(`nexmark-long bench: unknown option '${a}'`);
  }
  for (const q of [...o.queries, ...(o.child !== undefined ? [o.child] : [])]) {
    if (STATE_LOOPS[q] === undefined) throw new Error(`nexmark-long bench: no state loop for '${q}' (have ${Object.keys(STATE_LOOPS).join(', ')})`);
  }
  return o;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const pad = (n: number): string => String(n).padStart(8, '0');

/** A hand-written checkpoint of a {@link StateLoop}: see the module's comment. */
class LoopCheckpoints {
  private id = 0;
  /** keys of the checkpoints written, by id (the one before the last is deleted with the next) */
  private readonly keys = new Map<number, string[]>();
  written = 0;
  count = 0;

  constructor(private readonly db: Level<string, string>) {}

  /**
   * The checkpoint at the end of input: as a job's, it holds no state (a finished program restores nothing), only
   * that the input was read to its end.
   */
  finish(): Promise<void> {
    return this.commit([]);
  }

  write(loop: StateLoop): Promise<void> {
    const texts: string[] = [];
    let text = '';
    loop.changedRows((row) => {
      text = text === '' ? `[${row}` : `${text},${row}`;
      if (text.length >= CHUNK_CHARS) {
        texts.push(`${text}]`);
        text = '';
      }
    });
    if (text !== '') texts.push(`${text}]`);
    return this.commit(texts);
  }

  private commit(texts: readonly string[]): Promise<void> {
    const id = ++this.id;
    const ops: ({ type: 'put'; key: string; value: string } | { type: 'del'; key: string })[] = [];
    const keys: string[] = [];
    texts.forEach((value, j) => {
      const key = `ckpt/${pad(id)}/${pad(j)}`;
      keys.push(key);
      ops.push({ type: 'put', key, value });
      this.written += key.length + value.length;
    });
    const marker = `ckpt/${pad(id)}/done`;
    keys.push(marker);
    ops.push({ type: 'put', key: marker, value: String(texts.length) });
    for (const key of this.keys.get(id - 2) ?? []) ops.push({ type: 'del', key });
    this.keys.delete(id - 2);
    this.keys.set(id, keys);
    this.count++;
    return this.db.batch(ops, { sync: true });
  }
}

let loopRun = 0;
async function runLoopCase(name: QueryName, events: readonly NexmarkEvent[], dir: string | undefined): Promise<Run> {
  let results = 0;
  const loop = (STATE_LOOPS[name] as (emit: (row: unknown) => void) => StateLoop)(() => void results++);
  const db = dir === undefined ? undefined : new Level<string, string>(join(dir, `loop-${loopRun++}`));
  const t0 = performance.now();
  await db?.open();
  const checkpoints = db === undefined ? undefined : new LoopCheckpoints(db);
  let lastStart = t0;
  let inFlight: Promise<void> | undefined;
  for (let i = 0; i < events.length; i++) {
    loop.next(events[i] as NexmarkEvent);
    if (i % SLICE === SLICE - 1) {
      await yieldToEventLoop();
      if (checkpoints !== undefined && inFlight === undefined && performance.now() - lastStart >= INTERVAL_MS) {
        lastStart = performance.now();
        inFlight = checkpoints.write(loop).then(() => {
          inFlight = undefined;
        });
      }
    }
  }
  if (checkpoints !== undefined) {
    await inFlight;
    await checkpoints.finish();
  }
  const ms = performance.now() - t0;
  await db?.close();
  return { ms, results, checkpoints: checkpoints?.count ?? 0, written: checkpoints?.written ?? 0 };
}

async function runQuery(name: QueryName, o: Options): Promise<LongResult> {
  const q = QUERIES[name] as Query;
  const events = generateNexmark({ events: o.events, rate: 10_000 });
  const dir = mkdtempSync(join(tmpdir(), 'tidewater-nexmark-long-'));
  let results = -1;
  const same = (what: string, n: number): void => {
    if (results >= 0 && n !== results) throw new Error(`nexmark-long bench ${name}: ${what} gave ${n} results, the job ${results}`);
    results = n;
  };
  const warm = events.slice(0, Math.floor(events.length / 10));
  await runJobCase(q, warm, undefined);
  await runJobCase(q, warm, dir);
  await runLoopCase(name, warm, undefined);
  await runLoopCase(name, warm, dir);
  const times: Record<string, number[]> = { job: [], 'job + ckpt': [], loop: [], 'loop + ckpt': [] };
  const jobKept: number[] = [];
  const loopKept: number[] = [];
  const jobMsPerMb: number[] = [];
  const loopMsPerMb: number[] = [];
  let job: Run | undefined;
  let loop: Run | undefined;
  for (let round = 0; round < o.rounds; round++) {
    const j = await runJobCase(q, events, undefined);
    same('job', j.results);
    job = await runJobCase(q, events, dir);
    same('job + ckpt', job.results);
    const l = await runLoopCase(name, events, undefined);
    same('loop', l.results);
    loop = await runLoopCase(name, events, dir);
    same('loop + ckpt', loop.results);
    times.job?.push(j.ms);
    times['job + ckpt']?.push(job.ms);
    times.loop?.push(l.ms);
    times['loop + ckpt']?.push(loop.ms);
    jobKept.push(j.ms / job.ms);
    loopKept.push(l.ms / loop.ms);
    // (only for runs that took a periodic checkpoint: the last one, at the end of input, holds no state — a job's writes
    // its manifest and clocks, a few hundred characters, which would give a figure of noise over nothing)
    if (job.checkpoints > 1) jobMsPerMb.push((job.ms - j.ms) / (job.written / 1e6));
    if (loop.checkpoints > 1) loopMsPerMb.push((loop.ms - l.ms) / (loop.written / 1e6));
    console.error(`${name} round ${round + 1}: job ${j.ms.toFixed(0)} ms, + ckpt ${job.ms.toFixed(0)} (${job.checkpoints}, ${(job.written / 1e6).toFixed(0)} MB); loop ${l.ms.toFixed(0)} ms, + ckpt ${loop.ms.toFixed(0)} (${loop.checkpoints}, ${(loop.written / 1e6).toFixed(0)} MB)`);
  }
  rmSync(dir, { recursive: true, force: true });
  const ms: Record<string, number> = {};
  for (const [k, ts] of Object.entries(times)) ms[k] = median(ts);
  return { query: name, events: o.events, ms, jobKept: median(jobKept), loopKept: median(loopKept), jobMsPerMb: medianOrNull(jobMsPerMb), loopMsPerMb: medianOrNull(loopMsPerMb), job: job as Run, loop: loop as Run };
}

const mb = (chars: number): string => (chars / 1e6).toFixed(0);
const perMb = (x: number | null): string => (x === null ? '–' : x.toFixed(1));

function report(results: readonly LongResult[], o: Options, command: string): string {
  const lines = [
    `\`${command}\` — ${o.events.toLocaleString('en')} events at 10,000 events/s of event time, one core; node ${globalThis.process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; ${o.rounds} rounds, the four cases interleaved in each; each query in its own process. "+ ckpt": the time without checkpoints over the time with a checkpoint every 1 s (LevelDB, synced; the median of per-round ratios); "ckpts · MB": the last round's checkpoints and the characters they wrote (millions); "ms / MB": what checkpointing cost (with − without, ms) per million characters written (the median of per-round figures); "job + ckpt × loop + ckpt": the hand-written program's checkpointed time over tidewater's (bench/nexmark/longRuns.ts).`,
    '',
    '| query | job ms | job + ckpt ms | + ckpt (× job) | ckpts · MB | ms / MB | loop ms | loop + ckpt ms | + ckpt (× loop) | ckpts · MB | ms / MB | job + ckpt × loop + ckpt |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    const t = (k: string): string => (r.ms[k] ?? NaN).toFixed(0);
    lines.push(
      `| ${r.query} | ${t('job')} | ${t('job + ckpt')} | ${r.jobKept.toFixed(2)} | ${r.job.checkpoints} · ${mb(r.job.written)} | ${perMb(r.jobMsPerMb)} | ${t('loop')} | ${t('loop + ckpt')} | ${r.loopKept.toFixed(2)} | ${r.loop.checkpoints} · ${mb(r.loop.written)} | ${perMb(r.loopMsPerMb)} | ${((r.ms['loop + ckpt'] ?? NaN) / (r.ms['job + ckpt'] ?? NaN)).toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

/** The benchmark: one child process per query, then the table. */
export async function nexmarkLongBench(args: readonly string[]): Promise<{ report: string }> {
  const o = parseArgs(args);
  if (o.child !== undefined) return { report: MARK + JSON.stringify(await runQuery(o.child, o)) };
  const results: LongResult[] = [];
  for (const q of o.queries) {
    results.push(runChild<LongResult>('nexmark-long', MARK, ['--import', 'tsx', RUN_TS, 'nexmark-long', '--child', q, '--events', String(o.events), '--rounds', String(o.rounds)]));
  }
  const command = `npm run bench -- nexmark-long${args.map((a) => ` ${a}`).join('')}`;
  return { report: `## Nexmark over long runs: checkpoints of a state that keeps every bid (issue 16)\n\n${report(results, o, command)}` };
}
