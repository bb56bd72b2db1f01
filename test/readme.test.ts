// The README's marble example, verbatim, so the README stays true.
import { expect, it } from 'vitest';
import { configure } from 'rxjs-marbles';
import { boundedOutOfOrderness, count, MAX_WATERMARK, tumblingWindows } from '../src/index.js';
import { aggregate, eventTime, keyBy, window } from '../operators/index.js';
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
