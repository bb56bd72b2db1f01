// The README's marble example, verbatim, so the README stays true.
import { expect, it, vi } from 'vitest';
import { configure } from 'rxjs-marbles';
import { from, merge, pipe } from 'rxjs';
import { boundedOutOfOrderness, count, fromArray, MAX_WATERMARK, memoryStore, mergeStreams, runJob, toArray, tumblingWindows, type WindowResult } from '../src/index.js';
import { aggregate, eventTime, keyBy, values, window } from '../operators/index.js';
import { rec, wm } from '../testing/index.js';

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
