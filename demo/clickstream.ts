/**
 * `npm start`: a generated clickstream through tidewater. Clicks arrive out of order (paced on the real clock);
 * event time with bounded out-of-orderness produces watermarks; keyBy user (each key's key group and the partition
 * of 4 that owns it, as Flink's hash partitioning assigns them); filter out health checks; a keyed process function
 * counts each user's page views in keyed state; and a tumbling event-time window counts each user's page views per
 * second, emitting when the watermark passes the end of the second.
 * Prints every element that flows, in order: records with their key and timestamp, watermarks, the end-of-input MAX,
 * and the window results. Then part two (`demo/parallel.ts`): the window part in a job on two worker threads, with
 * each subtask's figures and the check that its output is the single-threaded run's. Then part three
 * (`demo/checkpoints.ts`): a job checkpointing to LevelDB is killed with SIGKILL, resumed from its checkpoint, and
 * shown to commit exactly the output of an uninterrupted run. Part four (`demo/dashboard.ts`): a live job runs for 20 s
 * with its dashboard, whose URL is printed.
 */
import { map as rxMap, share, take, timer } from 'rxjs';
import { boundedOutOfOrderness, keyGroupOf, MAX_WATERMARK, partitionOfKeyGroup, valueState, type StreamElement, type WindowResult } from '../src/index.js';
import { eventTime, filter, keyBy, process } from '../operators/index.js';
import { checkpointDemo } from './checkpoints.js';
import { dashboardDemo } from './dashboard.js';
import { generateClicks, type Click } from './clicks.js';
import { parallelDemo } from './parallel.js';
import { viewsPerSecond } from './viewsPerSecond.js';

const clicks = generateClicks(40, { seed: 7, stepMs: 100, maxDelayMs: 250 });
const t0 = clicks.reduce((min, c) => Math.min(min, c.at), Infinity);
const rel = (ts: number): string => (ts === MAX_WATERMARK ? 'MAX' : `+${ts - t0}ms`);

// keyed state of the process function below: one count per user
const state = { views: valueState<number>() };

const pageViews = timer(0, 10).pipe(
  take(clicks.length),
  rxMap((i) => clicks[i]!),
  eventTime((c) => c.at, boundedOutOfOrderness(250, { interval: 50 })),
  keyBy((c) => c.user),
  filter((c) => c.page !== '/health'),
  share(),
);

// page views per user and second of event time (part two runs the same in two worker threads)
const perSecond = pageViews.pipe(viewsPerSecond);

const pipeline = pageViews.pipe(
  process<Click, string, string, typeof state>({
    name: 'views-per-user',
    state,
    onElement(c, ctx) {
      const views = (ctx.state.views.get() ?? 0) + 1;
      ctx.state.views.set(views);
      ctx.emit(`${c.page.padEnd(10)} view #${views}`);
    },
  }),
);

const PARTITIONS = 4;
const where = (user: string): string => {
  const group = keyGroupOf(user);
  return `kg ${String(group).padStart(3)} → p${partitionOfKeyGroup(group, PARTITIONS)}/${PARTITIONS}`;
};

let records = 0;
let watermarks = 0;
let lastWatermark = -Infinity;
let late = 0;
const show = (e: StreamElement<string, string>): void => {
  switch (e.kind) {
    case 'record': {
      records++;
      const behind = e.timestamp <= lastWatermark;
      if (behind) late++;
      console.log(`  record     ${e.key.padEnd(4)} (${where(e.key)})  ${e.value}  t=${rel(e.timestamp)}${behind ? '   (behind the watermark: a window would call it late)' : ''}`);
      break;
    }
    case 'watermark':
      watermarks++;
      lastWatermark = e.timestamp;
      console.log(`  watermark  ${rel(e.timestamp)}`);
      break;
    case 'status':
      console.log(`  status     ${e.idle ? 'idle' : 'active'}`);
      break;
    case 'barrier':
      console.log(`  barrier    ${e.checkpointId}`);
      break;
  }
};

let windowResults = 0;
let windowed = 0;
const showWindow = (e: StreamElement<WindowResult<string, number>, string>): void => {
  if (e.kind !== 'record') return;
  windowResults++;
  windowed += e.value.value;
  const { key, window: w, value } = e.value;
  const clock = (ts: number): string => new Date(ts).toISOString().slice(11, 19);
  console.log(`  window     ${key.padEnd(4)} ${clock(w.start)}–${clock(w.end)} UTC: ${value} view(s)`);
};

console.log(`tidewater demo: ${clicks.length} clicks, out of order by up to 250 ms, watermarks = max seen − 250 − 1 every 50 ms\n`);
perSecond.subscribe({ next: showWindow, error: (err: unknown) => console.error(err) });
pipeline.subscribe({
  next: show,
  error: (err: unknown) => {
    console.error(err);
    globalThis.process.exitCode = 1; // (`process` here is tidewater's operator)
  },
  complete: () => {
    console.log(
      `\ndone: ${records} records (${clicks.length - records} /health filtered out), ${watermarks} watermarks, ${late} records behind the watermark, ` +
        `${windowResults} window results counting ${windowed} views`,
    );
    // part two: the window part on two worker threads; part three: a checkpointed job, killed and resumed, with
    // exactly-once output
    (async () => {
      const threads = await parallelDemo(clicks);
      const exactlyOnce = await checkpointDemo();
      // part four: a live job and its dashboard
      await dashboardDemo(Number(globalThis.process.env['TIDEWATER_DEMO_DASHBOARD_MS'] ?? 20_000));
      return exactlyOnce && threads;
    })().then(
      (ok) => {
        if (!ok) globalThis.process.exitCode = 1;
      },
      (err: unknown) => {
        console.error(err);
        globalThis.process.exitCode = 1;
      },
    );
  },
});
