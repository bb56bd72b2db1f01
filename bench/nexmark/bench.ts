import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { from } from 'rxjs';
import { callbackSink, fromIterable, runJob } from '../../src/index.js';
import { levelStore } from '../../src/stores/level.js';
import { parallel, values } from '../../operators/index.js';
import { generateNexmark, type NexmarkEvent } from './generator.js';
import { LOOPS } from './loops.js';
import { KEYED_STAGES, keyedQuery, QUERIES, stamped, type Query, type QueryName } from './queries.js';

/**
 * `npm run bench -- nexmark [--events 1000000] [--rate 10000] [--rounds 3] [--queries q0,q5] [--no-threads]`: events
 * per second of each Nexmark query on one core (bench/nexmark/README.md, "Throughput"), next to the published per-core
 * figures of Flink, RisingWave and Feldera. `--no-threads` leaves out the third phase (parallel(2)): for long runs
 * that measure the checkpoints of a growing state (`--events 3000000 --queries q18,q19 --no-threads`).
 *
 * Each query runs in its own Node process (JIT state does not leak between queries). The events are generated
 * before any measurement (generation is not measured) and kept in an array. The cases run in three phases — the pipe
 * and the loop; the job without and with checkpoints; parallel(2) — each case warmed up at the start of its phase (the
 * pipe twice and the loop once on all the events, the others once on a tenth), each run once per round, the rounds
 * of a phase interleaving its cases (so the pipe's code is not compiled against the job's call feedback).
 * No full garbage collection is forced between runs: one before each run kept q11's pipe at 2.3 instead of 4.4 M
 * events/s (likely because a full collection discards object maps and the optimised code that depends on them), and a
 * job in a long-running process never sees one between its records. The cases:
 * - `pipe`: `from(events).pipe(eventTime((e) => e.dateTime, boundedOutOfOrderness(4000)), query, values())`;
 * - `job`: the same pipeline in `runJob` (source `fromIterable`, a counting `callbackSink`), no checkpoints;
 * - `job + checkpoints`: with a checkpoint every 1 s of wall time to LevelDB (`levelStore`, a fresh directory per run);
 *   its cost over `job` includes the fixed cost of a checkpointed job (opening the store, looking for a checkpoint to
 *   restore, writing and syncing the checkpoint at the end of input, which `done` waits for), reported on its own as
 *   "fixed ms" (the median of per-round differences): a run shorter than 1 s takes no periodic checkpoint, so for it
 *   the ratio is that fixed cost over the run;
 * - what periodic checkpoints every 1 s would cost, estimated from two more runs for runs too short to take them
 *   (most queries at 1 M events): `job + one checkpoint` takes one checkpoint 10 ms into the run (then none until the
 *   end: `minPauseMs` longer than the run) — from then on the state backend tracks what changes, for the next
 *   checkpoint, as a job does for good once it checkpoints; `job + dense checkpoints` takes one every 1 ms, i.e. each
 *   as soon as the one before completed. Per round (times in ms, of the runs named by their cases), a periodic
 *   checkpoint's cost is `(dense − one) / (dense's checkpoints − one's)` (both run with tracking on and the store's
 *   fixed cost; at least 3 checkpoints more, else the round gives no estimate), the tracking's `(one − (job +
 *   checkpoints) − that) / (job − 10)` (the early checkpoint is full, so what its cost exceeds a dense one's counts as
 *   tracking: an overestimate), and every 1 s ≈ `1 / (1 + tracking + periodic checkpoint / 1000)` of the job's speed.
 *   All three, and "fixed ms", only for runs in which `job + checkpoints` took no checkpoint but the last (a longer run
 *   measures its periodic checkpoints in "+ ckpt" itself). A checkpoint after 1 s holds what changed in that
 *   second, at most the whole live state; the dense ones hold less each, so where the state turns over within a
 *   second the estimate is low by the difference between a full checkpoint and a dense one (the pump's 1 ms slices
 *   while one is in flight, counted in each dense checkpoint, go the other way);
 * - `loop` (q5, q7, q11): the hand-written loop of bench/nexmark/loops.ts over the same array;
 * - `parallel(2)` (the queries that are one keyed stage over the bids, `KEYED_STAGES`): events read, stamped, filtered,
 *   keyed and projected on this thread, the stage in `parallel(2, stage, { worker })` — two worker threads; the time of
 *   the same pipeline over no events (the threads' start-up) is subtracted.
 * A rate is the number of input events (all kinds) over the median time; a ratio is the median of per-round ratios.
 * Phases 1 and 2 run `--rounds` rounds, and more (up to 15) until the phase has taken 3 s: short runs get more rounds.
 * Every case must produce the same number of results, or the run fails (except q12, whose windows are of the
 * machine's clock).
 */

const MARK = '@@nexmark-query ';
const RUN_TS = fileURLToPath(new URL('../run.ts', import.meta.url));

/** Published per-core throughput, events/s (bench/nexmark/README.md, "Published figures"). */
const PUBLISHED: Record<QueryName, { flinkV1: number; flinkV2: number; risingWave?: number; feldera?: number }> = {
  q0: { flinkV1: 155_000, flinkV2: 379_000, risingWave: 170_000, feldera: 436_000 },
  q1: { flinkV1: 157_900, flinkV2: 395_000, risingWave: 168_000, feldera: 412_000 },
  q2: { flinkV1: 175_200, flinkV2: 414_000, risingWave: 172_000, feldera: 422_000 },
  q3: { flinkV1: 152_100, flinkV2: 219_000, risingWave: 136_000, feldera: 413_000 },
  q4: { flinkV1: 34_300, flinkV2: 28_200, risingWave: 25_000, feldera: 265_000 },
  q5: { flinkV1: 22_100, flinkV2: 74_500, risingWave: 11_000, feldera: 412_000 },
  q7: { flinkV1: 12_300, flinkV2: 22_900, risingWave: 37_000, feldera: 196_000 },
  q8: { flinkV1: 146_100, flinkV2: 162_000, risingWave: 84_000, feldera: 415_000 },
  q9: { flinkV1: 14_200, flinkV2: 13_800, risingWave: 21_000, feldera: 57_000 },
  q11: { flinkV1: 39_700, flinkV2: 46_100 },
  q12: { flinkV1: 75_700, flinkV2: 194_000, risingWave: 92_000, feldera: 418_000 },
  q14: { flinkV1: 161_200, flinkV2: 259_000, risingWave: 154_000, feldera: 429_000 },
  q15: { flinkV1: 72_400, flinkV2: 168_000, risingWave: 130_000, feldera: 221_000 },
  q16: { flinkV1: 18_700, flinkV2: 45_200, risingWave: 12_000, feldera: 51_000 },
  q17: { flinkV1: 116_800, flinkV2: 161_000, risingWave: 43_000, feldera: 242_000 },
  q18: { flinkV1: 53_700, flinkV2: 65_400, risingWave: 26_000, feldera: 85_000 },
  q19: { flinkV1: 44_000, flinkV2: 42_700, risingWave: 17_000, feldera: 75_000 },
  q20: { flinkV1: 19_000, flinkV2: 17_800, risingWave: 18_000, feldera: 85_000 },
  q21: { flinkV1: 98_500, flinkV2: 147_000, risingWave: 117_000, feldera: 415_000 },
  q22: { flinkV1: 130_000, flinkV2: 212_000, risingWave: 150_000, feldera: 394_000 },
};

interface Options {
  events: number;
  rate: number;
  rounds: number;
  queries: QueryName[];
  /** run the parallel(2) phase (default true; `--no-threads`) */
  threads: boolean;
  child?: QueryName;
}

interface QueryResult {
  query: QueryName;
  events: number;
  /** median ms per case */
  ms: Record<string, number>;
  /** median per-round ratio to `pipe` */
  vsPipe: Record<string, number>;
  results: number;
  checkpoints: number;
  /** checkpoints of the last `job + dense checkpoints` run */
  denseCheckpoints: number;
  /** median of per-round (job + checkpoints − job) ms: the fixed cost of a checkpointed job (null: runs long enough to take periodic checkpoints) */
  fixedMs: number | null;
  /**
   * medians of per-round estimates: the tracking's cost (a fraction), a periodic checkpoint's ms, and the speed with a
   * checkpoint every 1 s (× job); null where no round gave one (see `runQuery`; null, not NaN: they go through JSON)
   */
  trackingCost: number | null;
  perCheckpointMs: number | null;
  everySecond: number | null;
}

function parseArgs(args: readonly string[]): Options {
  const o: Options = { events: 1_000_000, rate: 10_000, rounds: 3, queries: Object.keys(QUERIES) as QueryName[], threads: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    if (a === '--events') o.events = Number(v);
    else if (a === '--rate') o.rate = Number(v);
    else if (a === '--rounds') o.rounds = Number(v);
    else if (a === '--queries') o.queries = (v ?? '').split(',') as QueryName[];
    else if (a === '--child') o.child = v as QueryName;
    else {
      if (a === '--no-threads') o.threads = false;
      continue;
    }
    i++;
  }
  for (const q of [...o.queries, ...(o.child !== undefined ? [o.child] : [])]) if (!(q in QUERIES)) throw new Error(`nexmark bench: no query '${q}'`);
  return o;
}

/** The median of `xs` (the upper one of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
/** {@link median}, or null for none. */
export const medianOrNull = (xs: readonly number[]): number | null => (xs.length > 0 ? median(xs) : null);
/** `x` with `digits` decimals (× `scale`, then `unit`), or – for none. */
const shown = (x: number | null, digits: number, scale = 1, unit = ''): string => (x === null ? '–' : `${(scale * x).toFixed(digits)}${unit}`);


function runPipe(q: Query, events: readonly NexmarkEvent[]): { ms: number; results: number } {
  let results = 0;
  const t0 = performance.now();
  from(events)
    .pipe(stamped(q), values())
    .subscribe(() => results++);
  return { ms: performance.now() - t0, results };
}

let jobRun = 0;
/**
 * Whether a phase has run enough rounds after `done` of them: at least `rounds`, and more (up to {@link MAX_ROUNDS})
 * until it has run {@link MIN_PHASE_MS} — a query whose runs take a tenth of a second gets a median of about ten
 * rounds rather than three (the host's noise over 0.1–0.2 s is ± 20 %: q0 with checkpoints measured 0.83× one run and
 * 1.00× the next).
 */
function enoughRounds(done: number, rounds: number, phaseStart: number): boolean {
  return done >= rounds && (done >= MAX_ROUNDS || performance.now() - phaseStart >= MIN_PHASE_MS);
}
const MIN_PHASE_MS = 3_000;
const MAX_ROUNDS = 15;
/** `job + dense checkpoints`: a checkpoint due every this many ms, i.e. as soon as the one before has completed. */
const DENSE_INTERVAL_MS = 1;
/** `job + one checkpoint`: one checkpoint this many ms into the run, then none but the last (a pause longer than any run). */
const ONE_CHECKPOINT_AT_MS = 10;
const ONE_CHECKPOINT_PAUSE_MS = 3_600_000;
/** A round's estimate needs the dense run to have taken at least this many checkpoints more than the run with one. */
const MIN_EXTRA_CHECKPOINTS = 3;

/**
 * One run of `q` in `runJob` over `events`: without checkpoints (`dir` undefined), or with a LevelDB checkpoint every
 * `intervalMs` into a fresh store under `dir`; its time, results, checkpoints and the characters they wrote.
 */
export async function runJobCase(
  q: Query,
  events: readonly NexmarkEvent[],
  dir: string | undefined,
  intervalMs = 1_000,
  minPauseMs = 0,
): Promise<{ ms: number; results: number; checkpoints: number; written: number }> {
  let results = 0;
  let checkpoints = 0;
  let written = 0;
  const store = dir === undefined ? undefined : levelStore(join(dir, `run-${jobRun}`));
  const t0 = performance.now();
  const job = runJob({
    name: `nexmark-${jobRun++}`,
    source: fromIterable(() => events),
    pipeline: stamped(q),
    sink: callbackSink<unknown>({ write: () => void results++ }),
    ...(store !== undefined ? { checkpoint: { intervalMs, minPauseMs, store, retain: 2 } } : {}),
  });
  job.checkpoints$.subscribe((c) => {
    checkpoints++;
    written += c.bytes;
  });
  await job.done;
  const ms = performance.now() - t0;
  await store?.close();
  return { ms, results, checkpoints, written };
}

/**
 * A keyed-stage query with its stage in `parallel(2)` worker threads (the events read, stamped, keyed and projected
 * on this thread). The time is that of the run minus that of the same pipeline over no events, measured just before:
 * the threads' start-up (≈ 1.5 s here: tsx loads the module in each thread) is paid once per job, not per event.
 */
async function runParallel(name: QueryName, events: readonly NexmarkEvent[]): Promise<{ ms: number; results: number } | undefined> {
  const stage = KEYED_STAGES[name];
  if (stage === undefined) return undefined;
  const worker = new URL(`./stageWorker.ts?q=${name}`, import.meta.url);
  const query = stamped(keyedQuery(stage, (s) => parallel(2, s, { worker })));
  const once = async (input: readonly NexmarkEvent[]): Promise<{ ms: number; results: number }> => {
    let results = 0;
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) =>
      from(input)
        .pipe(query, values())
        .subscribe({ next: () => void results++, error: reject, complete: resolve }),
    );
    return { ms: performance.now() - t0, results };
  };
  const startup = await once([]);
  const run = await once(events);
  return { ms: Math.max(1, run.ms - startup.ms), results: run.results };
}

function runLoop(name: QueryName, events: readonly NexmarkEvent[]): { ms: number; results: number } | undefined {
  const loop = LOOPS[name];
  if (loop === undefined) return undefined;
  let results = 0;
  let last: unknown;
  const t0 = performance.now();
  loop(events, (row) => {
    results++;
    last = row;
  });
  void last;
  return { ms: performance.now() - t0, results };
}

async function runQuery(name: QueryName, o: Options): Promise<QueryResult> {
  const q = QUERIES[name] as Query;
  const events = generateNexmark({ events: o.events, rate: o.rate });
  const dir = mkdtempSync(join(tmpdir(), 'tidewater-nexmark-'));
  const times: Record<string, number[]> = { pipe: [], job: [], 'job + checkpoints': [], loop: [], 'parallel(2)': [] };
  const ratios: Record<string, number[]> = { job: [], 'job + checkpoints': [], loop: [], 'parallel(2)': [] };
  const fixedMs: number[] = [];
  const trackingCost: number[] = [];
  const perCheckpointMs: number[] = [];
  const everySecond: number[] = [];
  let results = -1;
  let checkpoints = 0;
  let denseCheckpoints = 0;
  const same = (what: string, n: number): void => {
    // q12's windows are of the machine's clock: how many close during a run depends on when it runs
    if (results >= 0 && n !== results && name !== 'q12') throw new Error(`nexmark bench ${name}: ${what} gave ${n} results, the pipe ${results}`);
    results = n;
  };
  // Three phases, each case warmed up first, its rounds interleaved with the cases of its phase only: the pipe and the
  // loop run before any job or thread case, so their code is compiled against their own call feedback (a job's runs
  // in between made the pipe's code polymorphic — the operators see a runtime there — and measured the pipe at
  // 0.5–0.7× the rate it keeps when it runs alone, as a long-running process with one pipeline does).
  // Phase 1: the pipe and the loop (a query's first two runs can take 2–3× its later ones while the JIT settles on the
  // three event shapes).
  runPipe(q, events);
  runPipe(q, events);
  runLoop(name, events);
  const pipeMs: number[] = [];
  let phaseStart = performance.now();
  for (let round = 0; !enoughRounds(round, o.rounds, phaseStart); round++) {
    const p = runPipe(q, events);
    same('pipe', p.results);
    times.pipe?.push(p.ms);
    pipeMs.push(p.ms);
    const l = runLoop(name, events);
    if (l !== undefined) {
      same('loop', l.results);
      times.loop?.push(l.ms);
      ratios.loop?.push(l.ms / p.ms);
    }
  }
  // Phase 2: the job without and with checkpoints every 1 s (the ratio of the two in each round), then with one early
  // checkpoint and with dense checkpoints (the estimate of checkpoints every 1 s, below).
  const warm = events.slice(0, Math.floor(events.length / 10));
  await runJobCase(q, warm, undefined);
  await runJobCase(q, warm, dir);
  await runJobCase(q, warm, dir, ONE_CHECKPOINT_AT_MS, ONE_CHECKPOINT_PAUSE_MS);
  await runJobCase(q, warm, dir, DENSE_INTERVAL_MS);
  phaseStart = performance.now();
  for (let round = 0; !enoughRounds(round, o.rounds, phaseStart); round++) {
    const j = await runJobCase(q, events, undefined);
    same('job', j.results);
    times.job?.push(j.ms);
    // (against the pipe's median: the phases run one after the other and may run different numbers of rounds)
    ratios.job?.push(median(pipeMs) / j.ms);
    const c = await runJobCase(q, events, dir);
    same('job + checkpoints', c.results);
    checkpoints = c.checkpoints;
    times['job + checkpoints']?.push(c.ms);
    ratios['job + checkpoints']?.push(j.ms / c.ms);
    const one = await runJobCase(q, events, dir, ONE_CHECKPOINT_AT_MS, ONE_CHECKPOINT_PAUSE_MS);
    same('job + one checkpoint', one.results);
    const d = await runJobCase(q, events, dir, DENSE_INTERVAL_MS);
    same('job + dense checkpoints', d.results);
    denseCheckpoints = d.checkpoints;
    // Only for a run that took no checkpoint but the last with one every 1 s: a longer run measures its periodic
    // checkpoints in "+ ckpt" itself, and its difference to the job is no fixed cost.
    if (c.checkpoints !== 1) continue;
    fixedMs.push(c.ms - j.ms);
    // A periodic checkpoint's cost: what the dense run's checkpoints beyond the other run's cost, each (while one is in
    // flight the pump yields every 1 ms: that is counted in too). The tracking's: what the run with one early
    // checkpoint costs beyond the one with none but the last, less that checkpoint (taken as costing as much as a
    // dense one: the early one is full, the dense ones mostly not, so what is left of it counts as tracking — an
    // overestimate), over the time tracking was on. A round whose dense run took fewer than
    // {@link MIN_EXTRA_CHECKPOINTS} checkpoints more (each takes some of the pump's slices to complete) gives none.
    if (d.checkpoints - one.checkpoints < MIN_EXTRA_CHECKPOINTS || j.ms <= 2 * ONE_CHECKPOINT_AT_MS) continue;
    const perCheckpoint = Math.max(0, (d.ms - one.ms) / (d.checkpoints - one.checkpoints));
    const tracking = Math.max(0, (one.ms - c.ms - perCheckpoint) / (j.ms - ONE_CHECKPOINT_AT_MS));
    trackingCost.push(tracking);
    perCheckpointMs.push(perCheckpoint);
    everySecond.push(1 / (1 + tracking + perCheckpoint / 1_000));
  }
  // Phase 3: parallel(2) threads (against the pipe's rounds of phase 1).
  if (o.threads && KEYED_STAGES[name] !== undefined) {
    await runParallel(name, warm);
    for (let round = 0; round < o.rounds; round++) {
      const par = await runParallel(name, events);
      if (par === undefined) break;
      same('parallel(2)', par.results);
      times['parallel(2)']?.push(par.ms);
      ratios['parallel(2)']?.push(median(pipeMs) / par.ms);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const ms: Record<string, number> = {};
  const vs: Record<string, number> = {};
  for (const [k, ts] of Object.entries(times)) if (ts.length > 0) ms[k] = median(ts);
  for (const [k, rs] of Object.entries(ratios)) if (rs.length > 0) vs[k] = median(rs);
  return { query: name, events: o.events, ms, vsPipe: vs, results, checkpoints, denseCheckpoints, fixedMs: medianOrNull(fixedMs), trackingCost: medianOrNull(trackingCost), perCheckpointMs: medianOrNull(perCheckpointMs), everySecond: medianOrNull(everySecond) };
}

const rate = (events: number, ms: number | undefined): number => (ms === undefined ? NaN : (events / ms) * 1000);
const k = (r: number): string => (Number.isNaN(r) ? '–' : r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : `${Math.round(r / 1000)} K`);

function report(rs: readonly QueryResult[], o: Options, command: string): string {
  const lines = [
    `\`${command}\` — ${o.events.toLocaleString('en')} events at ${o.rate.toLocaleString('en')} events/s of event time, one core; node ${globalThis.process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; medians of ${o.rounds} rounds or more (the pipe, the loop and the jobs: until each phase has run 3 s, at most 15 rounds; parallel(2): ${o.rounds}), each query in its own process, in three phases (the pipe and the loop, then the jobs, then the threads; rounds interleaved within a phase); the loop's and the checkpointed job's ratios are medians of per-round ratios, parallel(2)'s is over the pipe's median time.`,
    '',
    '"pipe": `from(events).pipe(eventTime(…, boundedOutOfOrderness(4000)), query, values())`; "job": in `runJob`; "+ ckpt": `runJob` with a LevelDB checkpoint every 1 s (× job; the run\'s last checkpoint, at the end of input, included: it holds the finished operators\' clocks, not their keyed state), "checkpoints" those of its last run; "fixed ms": what a checkpointed job costs whatever its length (the store opened, a checkpoint to restore looked for, the last checkpoint written and synced before `done`: the median of per-round differences to "job"; – where the run took periodic checkpoints, as are the estimate\'s columns) — a run shorter than 1 s takes no periodic checkpoint, so its "+ ckpt" is that fixed cost over the run; "every 1 s (est.)": what periodic checkpoints every 1 s would cost, × job, estimated from a run with one checkpoint 10 ms in (from then on the state backend tracks changes: "tracking", its cost over "+ ckpt" less that checkpoint\'s) and a run with a checkpoint as soon as the one before completed ("per ckpt": ms each, over the run with one; its checkpoints in brackets) — 1 / (1 + tracking + per ckpt / 1000 ms) (bench/nexmark/bench.ts); "parallel(2)": the keyed stage in two worker threads (× pipe); "× loop": tidewater\'s speed (pipe) over the hand-written loop\'s, where there is one. Published figures are per core (bench/nexmark/README.md, "Published figures"); "× Flink" is the pipe rate over the higher of Flink\'s V1 and V2 figures.',
    '',
    '| query | pipe events/s | job events/s | + ckpt (× job) | checkpoints | fixed ms | tracking | per ckpt ms | every 1 s (est.) | results | × loop | parallel(2) (× pipe) | Flink V1 / V2 per core | × Flink | RisingWave | Feldera |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rs) {
    const p = PUBLISHED[r.query];
    const pipeRate = rate(r.events, r.ms.pipe);
    const flink = Math.max(p.flinkV1, p.flinkV2);
    const loop = r.vsPipe.loop === undefined ? '–' : `${r.vsPipe.loop.toFixed(2)}×`;
    lines.push(
      `| ${r.query} | ${k(pipeRate)} | ${k(rate(r.events, r.ms.job))} | ${(r.vsPipe['job + checkpoints'] ?? NaN).toFixed(2)} | ${r.checkpoints} | ${shown(r.fixedMs, 1)} | ${shown(r.trackingCost, 1, 100, ' %')} | ${shown(r.perCheckpointMs, 1)} (${r.denseCheckpoints}) | ${shown(r.everySecond, 2)} | ${r.results.toLocaleString('en')} | ${loop} | ${r.ms['parallel(2)'] === undefined ? '–' : `${k(rate(r.events, r.ms['parallel(2)']))} (${(r.vsPipe['parallel(2)'] ?? NaN).toFixed(2)})`} | ${k(p.flinkV1)} / ${k(p.flinkV2)} | ${(pipeRate / flink).toFixed(1)}× | ${p.risingWave === undefined ? '–' : k(p.risingWave)} | ${p.feldera === undefined ? '–' : k(p.feldera)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Runs a benchmark's child process (`node --max-old-space-size=8192 …args`) and returns the JSON it printed on the
 * line starting with `mark`; throws when it fails or prints none.
 */
export function runChild<T>(bench: string, mark: string, args: readonly string[]): T {
  const r = spawnSync(globalThis.process.execPath, ['--max-old-space-size=8192', ...args], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.split('\n').find((l) => l.startsWith(mark));
  if (r.status !== 0 || line === undefined) throw new Error(`${bench} bench: ${args.join(' ')} failed (exit ${r.status}, signal ${r.signal})`);
  return JSON.parse(line.slice(mark.length)) as T;
}

/** The benchmark: one child process per query, then the table. */
export async function nexmarkBench(args: readonly string[]): Promise<{ report: string }> {
  const o = parseArgs(args);
  if (o.child !== undefined) return { report: MARK + JSON.stringify(await runQuery(o.child, o)) };
  const results: QueryResult[] = [];
  for (const q of o.queries) {
    const t0 = performance.now();
    const res = runChild<QueryResult>('nexmark', MARK, ['--expose-gc', '--import', 'tsx', RUN_TS, 'nexmark', '--child', q, '--events', String(o.events), '--rate', String(o.rate), '--rounds', String(o.rounds), ...(o.threads ? [] : ['--no-threads'])]);
    results.push(res);
    console.error(`${q}: pipe ${k(rate(res.events, res.ms.pipe))} events/s, job ${k(rate(res.events, res.ms.job))}, + ckpt ×${(res.vsPipe['job + checkpoints'] ?? NaN).toFixed(2)} (${res.checkpoints}; fixed ${shown(res.fixedMs, 1)} ms), every 1 s (est.) ×${shown(res.everySecond, 2)} (tracking ${shown(res.trackingCost, 1, 100, ' %')}, ${shown(res.perCheckpointMs, 1)} ms a checkpoint, ${res.denseCheckpoints} dense)${res.vsPipe.loop !== undefined ? `, × loop ${res.vsPipe.loop.toFixed(2)}` : ''}${res.vsPipe['parallel(2)'] !== undefined ? `, parallel(2) × ${res.vsPipe['parallel(2)'].toFixed(2)}` : ''} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const command = `npm run bench -- nexmark${args.map((a) => ` ${a}`).join('')}`;
  return { report: `## Nexmark (issue 16)\n\n${report(results, o, command)}` };
}
