// The README's marble example, verbatim, so the README stays true.
import { expect, it } from 'vitest';
import { configure } from 'rxjs-marbles';
import { boundedOutOfOrderness, MAX_WATERMARK } from '../src/index.js';
import { eventTime } from '../operators/index.js';
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
