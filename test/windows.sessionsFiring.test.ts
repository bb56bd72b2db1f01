// The session operator when many sessions fire at one watermark (src/windows/sessionWindowOperator.ts, `onWatermark`:
// the blocks of the due entries ahead are read ahead): its output is the general operator's, with restores at cuts and
// with a downstream that stops in the middle of a firing — keys with one block, keys with blocks (more than 256
// sessions), emptied blocks, entries in the run and in the heap.
import { Subject, pipe, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { sessionWindows, sum } from '../src/index.js';
import { window } from '../operators/index.js';
import { windowFunction, type WindowOperatorChoice } from '../operators/windowFunction.js';
import type { WindowFunction } from '../src/windows/windowOperatorBase.js';
import { harness } from '../testing/index.js';
import { feed, fmt, runWithRestore, type E, type LateSide, type Step } from './support/windows.js';
import { seededRandom } from './support/seeded.js';

const sumOfValues = (): WindowFunction<E, string, unknown> => ({ kind: 'aggregate', aggregator: sum((e: E) => e[1]), name: 'aggregate' });
const op = (choice: WindowOperatorChoice, late: LateSide) => pipe(window<E, string>(sessionWindows(12), { lateData: late }), windowFunction<E, string, unknown>(sumOfValues(), choice));

/**
 * Many keys (2 000), a few of them with > 256 open sessions (blocks), in-order records (the due run) then growths
 * (entries pushed again / appended under new ids), keys whose sessions all go before others' entries come up (emptied
 * blocks), bridges merging across blocks, and watermarks that fire thousands of sessions at once.
 */
function steps(seed: number): Step[] {
  const rnd = seededRandom(seed);
  const out: Step[] = [];
  const keys = 2_000;
  // phase 1: in order, key at random, a session every 20 ms per key-slot
  for (let t = 0; t < 6_000; t += 2) {
    for (let j = 0; j < 3; j++) out.push([`k${rnd(keys)}`, 1 + rnd(5), t]);
    // heavy keys: a new session every 20 ms (600 sessions over the phase: blocks)
    if (t % 20 === 0) for (const h of ['h0', 'h1', 'h2']) out.push([h, 1, t]);
    // growths of recent sessions (same key shortly after): entries pushed again or appended
    if (t % 6 === 0) {
      const k = `k${rnd(keys)}`;
      out.push([k, 1, t], [k, 2, t + 5]);
    }
    // bridges of heavy keys' recent sessions
    if (t % 300 === 0 && t > 500) out.push(['h1', 7, t - 20 * (1 + rnd(10)) + 10]);
  }
  // first big firing: about a third
  out.push(2_000);
  // out of order: heavy keys' and random keys' sessions far behind the newest (to the heap), some late
  for (let i = 0; i < 3_000; i++) out.push([rnd(2) === 0 ? `h${rnd(3)}` : `k${rnd(keys)}`, 1, 1_900 + rnd(4_000)]);
  out.push(4_000);
  for (let i = 0; i < 500; i++) out.push(['h2', 3, 20 * rnd(300) + 4_000 + 10]);
  out.push(5_500);
  return out;
}

describe('session windows: many sessions firing at one watermark', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: the session operator's output is the general operator's; restores at cuts change nothing`, () => {
      const s = steps(seed);
      const late: LateSide = new Subject();
      const general = runWithRestore(() => op('general', late), late, s, []);
      expect(general.out.length).toBeGreaterThan(5_000);
      const sessions = runWithRestore(() => op('sessions', late), late, s, []);
      expect(sessions).toStrictEqual(general);
      const w1 = s.indexOf(2_000);
      const w2 = s.indexOf(4_000);
      expect(runWithRestore(() => op('sessions', late), late, s, [w1 - 7, w2 + 1])).toStrictEqual(general);
      expect(runWithRestore(() => op('sessions', late), late, s, [w1 + 1])).toStrictEqual(general);
    });
  }

  it('a downstream that stops (take) in the middle of a firing: the same output as the general operator', () => {
    const s = steps(4);
    for (const n of [1, 7, 8, 9, 15, 16, 17, 1_000, 3_333]) {
      const late: LateSide = new Subject();
      const g = feed(harness(pipe(op('general', late), take(n))), s);
      const x = feed(harness(pipe(op('sessions', late), take(n))), s);
      expect(x.output().map(fmt)).toStrictEqual(g.output().map(fmt));
    }
  });
});
