/**
 * The pipeline of the crash and reload tests: event time → per-user running count in keyed state (`process`) →
 * per-user tumbling 1 s windows summarising clicks, pages and the running count. Deterministic: watermarks on every
 * advance (`interval: 0`), no processing time.
 *
 * The keyed part (process state + windows) is also this module's default export, the pipeline that the crash test's
 * thread mode runs in worker threads (`parallel(2, keyedPipeline, { worker })`, the worker loading this module
 * bundled to JavaScript).
 */
import { pipe } from 'rxjs';
import { boundedOutOfOrderness, tumblingWindows, valueState, type Aggregator } from '../../src/index.js';
import { aggregate, eventTime, keyBy, parallel, process as processFn, window } from '../../operators/index.js';
import type { Click } from '../../demo/clicks.js';

interface Seen extends Click {
  /** the user's running number of clicks (keyed state of the process function) */
  readonly n: number;
}

/** per window: clicks, distinct pages, the highest running count */
const summary: Aggregator<Seen, { clicks: number; pages: string[]; lastN: number }, { clicks: number; pages: string[]; lastN: number }> = {
  create: () => ({ clicks: 0, pages: [], lastN: 0 }),
  add: (a, s) => ({ clicks: a.clicks + 1, pages: a.pages.includes(s.page) ? a.pages : [...a.pages, s.page].sort(), lastN: Math.max(a.lastN, s.n) }),
  result: (a) => a,
};

/** Clicks in event time, keyed by user. */
const byUser = pipe(
  eventTime((c: Click) => c.at, boundedOutOfOrderness(300, { interval: 0 })),
  keyBy((c: Click) => c.user),
);

/** The keyed part: the running count per user (keyed state), then per-user 1 s windows. */
export const keyedPipeline = pipe(
  processFn<Click, string, Seen, { n: ReturnType<typeof valueState<number>> }>({
    name: 'running-count',
    state: { n: valueState<number>() },
    onElement(c, ctx) {
      const n = (ctx.state.n.get() ?? 0) + 1;
      ctx.state.n.set(n);
      ctx.emit({ ...c, n });
    },
  }),
  window(tumblingWindows(1000)),
  aggregate(summary),
);

export const crashPipeline = pipe(byUser, keyedPipeline);

/** The same job with its keyed part in `n` worker threads, each loading `worker` (this module, built). */
export function threadedCrashPipeline(n: number, worker: URL | string) {
  return pipe(byUser, parallel(n, keyedPipeline, { worker }));
}

export default keyedPipeline;
