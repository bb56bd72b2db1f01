// The README's marble example, verbatim, so the README stays true.
import { describe, expect, it, vi } from 'vitest';
import { configure } from 'rxjs-marbles';
import { from, lastValueFrom, merge, pipe, toArray as collect } from 'rxjs';
import {
  boundedOutOfOrderness,
  ConfigurationError,
  count,
  fromArray,
  keyGroupOf,
  MAX_WATERMARK,
  memoryStore,
  mergeStreams,
  partitionStream,
  record,
  runJob,
  sideOutput,
  toArray,
  tumblingWindows,
  watermark,
  type WindowResult,
} from '../src/index.js';
import { aggregate, coGroup, eventTime, intervalJoin, keyBy, parallel, values, window, windowJoin } from '../operators/index.js';
import { rec, wm } from '../testing/index.js';
import perUser, { type Click } from './fixtures/readme/perUser.js';

const { marbles } = configure({
  assert: (v, m) => expect(v, m).toBeTruthy(),
  assertDeepEqual: (a, e) => expect(a).toStrictEqual(e),
  frameworkMatcher: true,
});

it('emits a watermark at each periodic emit', marbles((m) => {
  // events at 50 ms and 250 ms of virtual time; periodic emits every 200 ms
  const input = m.cold('50ms a 199ms b 99ms |', { a: { at: 1000 }, b: { at: 1500 } });
  m.expect(input.pipe(eventTime((v) => v.at, boundedOutOfOrderness(100)))).toBeObservable(
    '50ms a 149ms w 49ms b 99ms (xM|)',
    { a: rec({ at: 1000 }, 1000), w: wm(899), b: rec({ at: 1500 }, 1500), x: wm(1399), M: wm(MAX_WATERMARK) },
  );
}));

it('counts views per page and second', marbles((m) => {
  const input = m.cold('a 99ms b 99ms c 199ms d 99ms |', {
    a: { page: '/', at: 1_000 }, b: { page: '/cart', at: 1_500 }, c: { page: '/', at: 2_100 }, d: { page: '/', at: 4_000 },
  });
  const out = input.pipe(
    eventTime((c) => c.at, boundedOutOfOrderness(0, { interval: 0 })),
    keyBy((c) => c.page),
    window(tumblingWindows(1_000)),
    aggregate(count()),
  );
  const r = (key: string, start: number, value: number) =>
    rec({ key, window: { start, end: start + 1_000 }, value }, start + 999, key);
  m.expect(out).toBeObservable('w 99ms x 99ms (ghy) 195ms (iz) 96ms (jM|)', {
    w: wm(999), x: wm(1_499), g: r('/', 1_000, 1), h: r('/cart', 1_000, 1), y: wm(2_099),
    i: r('/', 2_000, 1), z: wm(3_999), j: r('/', 4_000, 1), M: wm(MAX_WATERMARK),
  });
}));

it('runs the checkpointed job of the README', async () => {
  const store = memoryStore(); // levelStore('state') from 'tidewater/level' in Node, indexedDbStore('app') in browsers
  const out = toArray<WindowResult<string, number>>();
  const job = runJob({
    name: 'views-per-page',
    source: fromArray([{ page: '/', at: 1_000 }, { page: '/cart', at: 1_200 }, { page: '/', at: 2_500 }]),
    pipeline: pipe(
      eventTime((v: { page: string; at: number }) => v.at),
      keyBy((v) => v.page),
      window(tumblingWindows(1_000), { name: 'views' }), // names identify state in checkpoints
      aggregate(count()),
    ),
    sink: out,
    checkpoint: { intervalMs: 1_000, store },
  });
  const summary = await job.done;
  expect(summary).toMatchObject({ state: 'finished', recordsIn: 3, recordsOut: 3, lastCheckpoint: 1 });
  expect(out.values).toStrictEqual([
    { key: '/', window: { start: 1000, end: 2000 }, value: 1 },
    { key: '/cart', window: { start: 1000, end: 2000 }, value: 1 },
    { key: '/', window: { start: 2000, end: 3000 }, value: 1 },
  ]);
});

it('runs the job with named sources of the README', async () => {
  const counts = toArray<WindowResult<string, number>>();
  await runJob({
    name: 'activity',
    sources: {
      clicks: fromArray([{ user: 'ann', ts: 1_000 }, { user: 'ann', ts: 2_500 }, { user: 'ann', ts: 3_200 }]),
      views: fromArray([{ user: 'ann', at: 1_200 }, { user: 'ann', at: 2_100 }]),
    },
    pipeline: ({ clicks, views }) =>
      mergeStreams(clicks.pipe(eventTime((c) => c.ts)), views.pipe(eventTime((v) => v.at))).pipe(
        keyBy((e) => e.user),
        window(tumblingWindows(1_000), { name: 'activity' }),
        aggregate(count()),
      ),
    sink: counts,
  }).done;
  expect(counts.values.map((r) => [r.window.start, r.value])).toStrictEqual([[1000, 2], [2000, 2], [3000, 1]]);
});

it('merges a slow and a fast stream without late records (README, "Merging streams")', () => {
  const logged: unknown[][] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logged.push(args));
  try {
    const stamp = eventTime((c: { page: string; at: number }) => c.at, boundedOutOfOrderness(0, { interval: 0 }));
    const fast$ = from([{ page: '/', at: 1_000 }, { page: '/', at: 2_500 }, { page: '/', at: 3_200 }]).pipe(stamp);
    const slow$ = from([{ page: '/', at: 1_200 }, { page: '/', at: 2_100 }]).pipe(stamp);

    mergeStreams(fast$, slow$)
      .pipe(keyBy((c) => c.page), window(tumblingWindows(1_000)), aggregate(count()), values())
      .subscribe((r) => console.log(r.window.start, r.value)); // 1000 2, 2000 2, 3000 1 (RxJS merge: 1000 1, 2000 1, 3000 1)
    expect(logged).toStrictEqual([[1000, 2], [2000, 2], [3000, 1]]);

    logged.length = 0;
    merge(fast$, slow$)
      .pipe(keyBy((c) => c.page), window(tumblingWindows(1_000), { lateData: { next: () => {}, error: () => {}, complete: () => {} } }), aggregate(count()), values())
      .subscribe((r) => console.log(r.window.start, r.value));
    expect(logged).toStrictEqual([[1000, 1], [2000, 1], [3000, 1]]);
  } finally {
    log.mockRestore();
  }
});

it('splits a stream by key group, by range and by a function (README, "Partitioning")', () => {
  const orders = from([
    record({ user: 'ann', amount: 30 }, 1_000, 'ann'),
    record({ user: 'cy', amount: 120 }, 1_100, 'cy'),
    record({ user: 'ann', amount: 5 }, 1_200, 'ann'),
    watermark(MAX_WATERMARK),
  ]);
  const [byKey0, byKey1] = partitionStream(orders, 2); // 'hash': cy's key group is 4 → 0, ann's is 100 → 1
  const [small, large] = partitionStream(orders, 2, { range: { by: (o) => o.amount, boundaries: [100] } });
  const seen: string[] = [];
  byKey0.subscribe((e) => e.kind === 'record' && seen.push(`0: ${e.value.user}`));
  byKey1.subscribe((e) => e.kind === 'record' && seen.push(`1: ${e.value.user}`)); // both subscribed: the source runs
  small.subscribe((e) => e.kind === 'record' && seen.push(`≤ 100: ${e.value.amount}`));
  large.subscribe((e) => e.kind === 'record' && seen.push(`> 100: ${e.value.amount}`));
  const [even, odd] = partitionStream(orders, 2, (r, n) => r.value.amount % n); // a function partitioner
  even.subscribe((e) => e.kind === 'record' && seen.push(`even: ${e.value.amount}`));
  odd.subscribe((e) => e.kind === 'record' && seen.push(`odd: ${e.value.amount}`));
  expect(seen).toStrictEqual(['1: ann', '0: cy', '1: ann', '≤ 100: 30', '> 100: 120', '≤ 100: 5', 'even: 30', 'even: 120', 'odd: 5']);
  expect([keyGroupOf('cy'), keyGroupOf('ann')]).toStrictEqual([4, 100]);
});

describe('the README\'s "Parallel subtasks" and "Jobs at a parallelism"', () => {
  const clicks: Click[] = [
    { user: 'ann', at: 1_000 }, { user: 'cy', at: 1_100 }, { user: 'bob', at: 1_500 },
    { user: 'ann', at: 1_700 }, { user: 'cy', at: 2_200 }, { user: 'ann', at: 2_400 },
  ];
  const keyed$ = from(clicks).pipe(eventTime((c) => c.at), keyBy((c) => c.user));
  const expected = ['cy 1000: 1', 'ann 1000: 2', 'bob 1000: 1', 'cy 2000: 1', 'ann 2000: 1'];

  it('runs 2 subtasks in-process: per subtask, by input element (without parallel: the same results, ann first)', async () => {
    expect(await lastValueFrom(keyed$.pipe(parallel(2, perUser), values(), collect()))).toStrictEqual(expected);
    expect(await lastValueFrom(keyed$.pipe(perUser, values(), collect()))).toStrictEqual(['ann 1000: 2', 'cy 1000: 1', 'bob 1000: 1', 'cy 2000: 1', 'ann 2000: 1']);
  });

  it('runs 2 subtasks in worker threads: the same output, in the same order', async () => {
    const worker = new URL('./fixtures/readme/perUser.ts', import.meta.url);
    expect(await lastValueFrom(keyed$.pipe(parallel(2, perUser, { worker }), values(), collect()))).toStrictEqual(expected);
  });

  it('runs the job at parallelism 2, with per-subtask metrics in job.metrics$', async () => {
    const logged: unknown[][] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logged.push(args));
    try {
      const out = toArray<string>();
      const job = runJob({
        name: 'views',
        source: fromArray(clicks), // the clicks above
        pipeline: pipe(eventTime((c: Click) => c.at), keyBy((c) => c.user), perUser),
        sink: out,
        parallelism: 2,
        maxParallelism: 128, // the default
      });
      job.metrics$.subscribe((m) => console.log(m.subtasks?.['views']?.map((s) => `subtask ${s.subtask}: ${s.recordsIn} in, ${s.recordsOut} out`)));
      await job.done;
      expect(logged).toStrictEqual([[['subtask 0: 2 in, 2 out', 'subtask 1: 4 in, 3 out']]]);
      expect(out.values).toStrictEqual(expected);
    } finally {
      log.mockRestore();
    }
  });

  it('refuses n < 1 and a parallelism above maxParallelism with the messages it quotes', () => {
    const bad = () => parallel(0, perUser);
    expect(bad).toThrow(ConfigurationError);
    expect(bad).toThrow(/^parallel: n 0 is not a number of subtasks\. Pass an integer ≥ 1\.$/);
    const job = () => runJob({ name: 'views', source: fromArray(clicks), pipeline: pipe(eventTime((c: Click) => c.at), keyBy((c) => c.user), perUser), sink: toArray<string>(), parallelism: 200 });
    expect(job).toThrow(ConfigurationError);
    expect(job).toThrow(/^runJob\(views\): parallelism 200 exceeds maxParallelism 128: each subtask needs a key group at least\. /);
  });
});

it('joins orders and payments as the README shows ("Joining streams")', async () => {
  type Order = { id: string; at: number };
  type Payment = { order: string; at: number };
  const orders = [{ id: 'o1', at: 1_000 }, { id: 'o2', at: 2_000 }];
  const payments = [{ order: 'o2', at: 2_500 }, { order: 'o1', at: 700_000 }];
  const orders$ = () => from(orders).pipe(eventTime((o: Order) => o.at), keyBy((o) => o.id));
  const payments$ = () => from(payments).pipe(eventTime((p: Payment) => p.at), keyBy((p) => p.order));

  expect(await lastValueFrom(orders$().pipe(
    intervalJoin(payments$(), { lower: 0, upper: 600_000 }, (o, p) => `${o.id} paid after ${p.at - o.at} ms`),
    values(),
    collect(),
  ))).toStrictEqual(['o2 paid after 500 ms']);

  expect(await lastValueFrom(orders$().pipe(
    windowJoin(payments$(), tumblingWindows(60_000), (o, p, { window }) => `${o.id} paid at ${p.at}, minute [${window.start}, ${window.end})`),
    values(),
    collect(),
  ))).toStrictEqual(['o2 paid at 2500, minute [0, 60000)']);
});

it('splits unpaid orders to a side output with its own sink, as the README shows ("Side outputs")', async () => {
  type Order = { id: string; at: number };
  type Payment = { order: string; at: number; amount: number };
  const unpaid = sideOutput<string>('unpaid');
  const paid = toArray<string>();
  const reminders = toArray<string>();

  await runJob({
    name: 'billing',
    sources: {
      orders: fromArray<Order>([{ id: 'o1', at: 1_000 }, { id: 'o2', at: 2_000 }]),
      payments: fromArray<Payment>([{ order: 'o2', at: 2_500, amount: 30 }]),
    },
    pipeline: ({ orders, payments }) =>
      orders.pipe(
        eventTime((o: Order) => o.at),
        keyBy((o) => o.id),
        coGroup(payments.pipe(eventTime((p: Payment) => p.at), keyBy((p) => p.order)), tumblingWindows(60_000), (os, ps, ctx) => {
          if (ps.length === 0) ctx.output(unpaid, `remind ${ctx.key}`); // an order without payment in its minute
          return os.length > 0 && ps.length > 0 ? `${ctx.key} paid ${ps[0]?.amount}` : undefined;
        }),
      ),
    sinks: { main: paid, [unpaid.name]: reminders },
  }).done;
  expect(paid.values).toStrictEqual(['o2 paid 30']);
  expect(reminders.values).toStrictEqual(['remind o1']);
});
