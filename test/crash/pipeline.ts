/**
 * The pipeline of the crash and reload tests: event time → per-user running count in keyed state (`process`) →
 * per-user tumbling 1 s windows summarising clicks, pages and the running count. Deterministic: watermarks on every
 * advance (`interval: 0`), no processing time.
 */
import { pipe } from 'rxjs';
import { boundedOutOfOrderness, tumblingWindows, valueState, type Aggregator } from '../../src/index.js';
import { aggregate, eventTime, keyBy, process as processFn, window } from '../../operators/index.js';
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

export const crashPipeline = pipe(
  eventTime((c: Click) => c.at, boundedOutOfOrderness(300, { interval: 0 })),
  keyBy((c: Click) => c.user),
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

