/**
 * Part four of `npm start`: a live job with its dashboard (`serveDashboard`, tidewater/dashboard). A clickstream
 * paced on the real clock (a click every 2 ms) → event time → keyBy user → a running count per user in keyed state →
 * page views per user and second in two subtasks, checkpointing every 500 ms; the demo prints the dashboard's URL and keeps the job
 * running for a while (`TIDEWATER_DEMO_DASHBOARD_MS`, default 20 000 ms) so that the page can be watched: operators,
 * throughput, watermarks, checkpoints.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pipe } from 'rxjs';
import { boundedOutOfOrderness, fromAsyncIterable, memoryStore, runJob, toArray, valueState, type Job } from '../src/index.js';
import { eventTime, keyBy, parallel, process as processFn } from '../operators/index.js';
import { serveDashboard } from '../src/dashboard/index.js';
import { generateClicks, type Click } from './clicks.js';
import { viewsPerSecond } from './viewsPerSecond.js';

/**
 * The live job: clicks paced on the real clock until `stop()`, a running count per user in keyed state, page views
 * per user and second in 2 subtasks (in-process), checkpoints every 500 ms in memory.
 *
 * @example
 * ```ts
 * const { job, stop } = liveClicks();
 * setTimeout(stop, 10_000);
 * await job.done;
 * ```
 */
export function liveClicks(): { job: Job<unknown>; stop: () => void } {
  const clicks = generateClicks(100_000, { seed: 11, stepMs: 20, maxDelayMs: 250 });
  let stopped = false;
  const job = runJob({
    name: 'live-clicks',
    source: fromAsyncIterable(async function* () {
      for (const c of clicks) {
        if (stopped) return;
        await sleep(2);
        yield c;
      }
    }),
    pipeline: pipe(
      eventTime((c: Click) => c.at, boundedOutOfOrderness(250)),
      keyBy((c: Click) => c.user),
      processFn<Click, string, Click, { n: ReturnType<typeof valueState<number>> }>({
        name: 'views-per-user',
        state: { n: valueState<number>() },
        onElement(c, ctx) {
          ctx.state.n.set((ctx.state.n.get() ?? 0) + 1);
          ctx.emit(c);
        },
      }),
      parallel(2, viewsPerSecond),
    ),
    sink: toArray(),
    checkpoint: { intervalMs: 500, store: memoryStore() },
    // (256 key groups: at 128 the six users all fall in one subtask's range, see demo/parallel.ts)
    maxParallelism: 256,
  });
  return { job, stop: () => void (stopped = true) };
}

/**
 * Runs the live job for `ms` with its dashboard, printing the URL; resolves with how many clicks it read.
 *
 * @example
 * ```ts
 * await dashboardDemo(20_000); // prints "a live job with its dashboard: http://127.0.0.1:…/"
 * ```
 */
export async function dashboardDemo(ms: number): Promise<number> {
  const { job, stop } = liveClicks();
  const dashboard = await serveDashboard(job, { name: 'live-clicks', intervalMs: 500 });
  console.log(`\na live job with its dashboard: ${dashboard.url} (open it now; the job runs ${Math.round(ms / 1000)} s)`);
  await sleep(ms);
  stop();
  const summary = await job.done;
  await dashboard.close();
  console.log(`  ${summary.recordsIn} clicks read, ${summary.checkpointsCompleted} checkpoints; the dashboard closed`);
  return summary.recordsIn;
}
