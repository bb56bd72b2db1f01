/**
 * The second part of `npm start`: the clickstream's keyed, windowed part (`demo/viewsPerSecond.ts`) in a job on two
 * worker threads, `parallel(2, viewsPerSecond, { worker })`. Records are routed to the thread owning their key group
 * (the partition part one prints), cross threads in msgpackr-encoded batches, and the threads' outputs are merged
 * with the watermark rule (docs/SEMANTICS.md §7.1). Prints each subtask's keys and figures from `job.metrics$`
 * (`metrics.subtasks`) and checks the output against the single-threaded run and the in-process `parallel(2)`.
 *
 * Run alone: `npx tsx demo/parallel.ts`.
 */
import { fileURLToPath } from 'node:url';
import { pipe } from 'rxjs';
import {
  boundedOutOfOrderness,
  fromArray,
  keyGroupOf,
  keyGroupRange,
  MAX_WATERMARK,
  partitionOfKeyGroup,
  runJob,
  toArray,
  type JobMetrics,
  type WindowResult,
} from '../src/index.js';
import { eventTime, filter, keyBy, parallel } from '../operators/index.js';
import { generateClicks, type Click } from './clicks.js';
import { viewsPerSecond } from './viewsPerSecond.js';

const THREADS = 2;
// 256 key groups: at 128 the six users' groups (81–120) all fall in subtask 1's range (64–127), and one thread would
// get every record — hashing spreads many keys evenly, a handful not necessarily
const MAX_PARALLELISM = 256;
const worker = new URL('./viewsPerSecond.ts', import.meta.url);

/** Runs the job with `keyedPart` after keyBy; returns its output and its last metrics. */
async function run(clicks: readonly Click[], keyedPart: typeof viewsPerSecond): Promise<{ out: readonly WindowResult<string, number>[]; metrics?: JobMetrics }> {
  const out = toArray<WindowResult<string, number>>();
  const job = runJob({
    name: 'views',
    source: fromArray(clicks),
    pipeline: pipe(
      eventTime((c: Click) => c.at, boundedOutOfOrderness(250, { interval: 0 })),
      keyBy((c) => c.user),
      filter((c) => c.page !== '/health'),
      keyedPart,
    ),
    sink: out,
    maxParallelism: MAX_PARALLELISM,
  });
  let metrics: JobMetrics | undefined;
  job.metrics$.subscribe((m) => (metrics = m)); // at every checkpoint and at the end
  await job.done;
  return { out: out.values, ...(metrics !== undefined ? { metrics } : {}) };
}

/**
 * Runs the two-thread demo on `clicks` and prints what happens; true when the threads' output is the
 * single-threaded run's.
 *
 * @example
 * ```ts
 * await parallelDemo(generateClicks(40, { seed: 7 })); // prints the subtasks and the comparison
 * ```
 */
export async function parallelDemo(clicks: readonly Click[]): Promise<boolean> {
  console.log(
    `\ntwo threads: the window part in a job, as parallel(${THREADS}, viewsPerSecond, { worker: demo/viewsPerSecond.ts }), maxParallelism ${MAX_PARALLELISM}`,
  );
  const single = await run(clicks, viewsPerSecond);
  const inProcess = await run(clicks, parallel(THREADS, viewsPerSecond));
  const threads = await run(clicks, parallel(THREADS, viewsPerSecond, { worker }));
  const users = [...new Set(clicks.map((c) => c.user))].sort();
  const subtasks = threads.metrics?.subtasks?.['views-per-second'];
  for (const s of subtasks ?? []) {
    const range = keyGroupRange(s.subtask, THREADS, MAX_PARALLELISM);
    const keys = users.filter((u) => partitionOfKeyGroup(keyGroupOf(u, MAX_PARALLELISM), THREADS, MAX_PARALLELISM) === s.subtask);
    console.log(
      `  subtask ${s.subtask} (thread ${s.subtask + 1}): key groups ${`${range.first}–${range.last},`.padEnd(8)} users ${keys.join(', ').padEnd(20)} ` +
        `${String(s.recordsIn).padStart(2)} records in, ` +
        `${String(s.recordsOut).padStart(2)} window results, watermark ${s.watermark === MAX_WATERMARK ? 'MAX' : s.watermark}`,
    );
  }
  const text = (rs: readonly WindowResult<string, number>[]): string => JSON.stringify(rs);
  const sorted = (rs: readonly WindowResult<string, number>[]): string => JSON.stringify(rs.map((r) => JSON.stringify(r)).sort());
  const sameAsSingle = sorted(threads.out) === sorted(single.out);
  const sameOrder = text(threads.out) === text(inProcess.out);
  const views = threads.out.reduce((n, r) => n + r.value, 0);
  console.log(
    `  ${threads.out.length} window results counting ${views} views: ${sameAsSingle ? 'the same as' : 'DIFFERENT from'} the single-threaded run, ` +
      `${sameOrder ? 'in the same order as' : 'in ANOTHER order than'} parallel(${THREADS}) in-process`,
  );
  if (subtasks?.length !== THREADS) console.log(`  job.metrics$ had no figures of the ${THREADS} subtasks`);
  return sameAsSingle && sameOrder && subtasks?.length === THREADS;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = (await parallelDemo(generateClicks(40, { seed: 7, stepMs: 100, maxDelayMs: 250 }))) ? 0 : 1;
}
