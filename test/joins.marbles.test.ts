// Marble tests of the joins: two inputs interleaving in virtual time (docs/SEMANTICS.md §10.1–10.3).
import { describe, it } from 'vitest';
import { MAX_WATERMARK, tumblingWindows, type StreamElement } from '../src/index.js';
import { intervalJoin, windowJoin } from '../operators/index.js';
import { rec, wm } from '../testing/index.js';
import { marbles } from './support/marbles.js';

type E = StreamElement<string, string>;

describe('joins, marbles', () => {
  it(
    'intervalJoin: a pair goes out when its second record arrives; the watermark is the slower input\'s',
    marbles((m) => {
      const left = m.cold<E>('a 9ms w 9ms b 9ms |', { a: rec('l1', 10, 'k'), w: wm(100), b: rec('l2', 30, 'k') });
      const right = m.cold<E>('5ms x 9ms v 9ms |', { x: rec('r1', 12, 'k'), v: wm(20) });
      const out = left.pipe(intervalJoin(right, { lower: -5, upper: 5 }, (l, r) => `${l}+${r}`));
      // 0 a (buffered) · 5 x joins a · 10 w (input 2 at MIN: nothing) · 15 v → W = 20 · 20 b: not late, no partner
      // 25 right completes (MAX on it) → W = 100 · 30 left completes → MAX
      m.expect(out).toBeObservable('5ms p 9ms v 9ms y 4ms (M|)', { p: rec('l1+r1', 12, 'k'), v: wm(20), y: wm(100), M: wm(MAX_WATERMARK) });
    }),
  );

  it(
    'windowJoin: pairs at the firing of the window, stamped end − 1, once both inputs passed its end',
    marbles((m) => {
      const left = m.cold<E>('a 9ms b 9ms w 9ms |', { a: rec('l1', 1, 'k'), b: rec('l2', 15, 'k'), w: wm(30) });
      const right = m.cold<E>('3ms x 9ms w |', { x: rec('r1', 4, 'k'), w: wm(9) });
      const out = left.pipe(windowJoin(right, tumblingWindows(10), (l, r, { window }) => `${l}+${r} [${window.start}]`));
      // 13 ms: input 2 at 9, input 1 at MIN → nothing; 14 ms: input 2 completes (MAX on it), input 1 still at MIN;
      // 20 ms: input 1 at 30 → W = 30: [0, 10) fires, [10, 20) has no right element; 30 ms: MAX
      m.expect(out).toBeObservable('20ms (pw) 6ms (M|)', { p: rec('l1+r1 [0]', 9, 'k'), w: wm(30), M: wm(MAX_WATERMARK) });
    }),
  );
});
