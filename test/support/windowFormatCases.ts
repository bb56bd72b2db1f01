// The window operators whose checkpoints test/windows.format.node.test.ts reads back from a file written by an earlier
// version of the code (test/fixtures/checkpoints/windows-2026-12-02.json, made by scripts/windowFormatFixture.ts):
// one per path and state layout — the pane path (tumbling, sliding; aggregates and element lists), sessions (the
// merging-window set), the general path with a custom trigger and its trigger state, allowed lateness.
import { pipe, Subject } from 'rxjs';
import { count, countTrigger, globalWindows, purging, sessionWindows, slidingWindows, sum, tumblingWindows } from '../../src/index.js';
import { aggregate, processWindow, window } from '../../operators/index.js';
import type { E, LateSide, Step, WindowOp } from './windows.js';

export interface FormatCase {
  readonly name: string;
  readonly op: (late: LateSide) => WindowOp;
}

export const formatCases: readonly FormatCase[] = [
  { name: 'tumbling 20, sum (pane path)', op: () => pipe(window<E, string>(tumblingWindows(20)), aggregate(sum((e: E) => e[1]))) },
  { name: 'tumbling 20, element lists (pane path)', op: () => pipe(window<E, string>(tumblingWindows(20)), processWindow((els: readonly E[]) => els.map((e) => e[1]).join(','))) },
  { name: 'sliding 30 / 10, count, lateness 15 (pane path)', op: (late) => pipe(window<E, string>(slidingWindows(30, 10), { allowedLateness: 15, lateData: late }), aggregate(count())) },
  { name: 'sessions, gap 12, sum', op: () => pipe(window<E, string>(sessionWindows(12)), aggregate(sum((e: E) => e[1]))) },
  { name: 'sessions, gap 12, element lists', op: () => pipe(window<E, string>(sessionWindows(12)), processWindow((els: readonly E[]) => els.map((e) => e[1]).join(','))) },
  { name: 'global windows, purging count trigger 3 (general path, trigger state)', op: () => pipe(window<E, string>(globalWindows(), { trigger: purging(countTrigger(3)) }), aggregate(sum((e: E) => e[1]))) },
];

/** A fixed input over four keys: records [key, value, timestamp] and watermarks (numbers), out of order within bounds. */
export const formatInput: readonly Step[] = (() => {
  const steps: Step[] = [];
  let x = 7;
  // (the high bits of a power-of-two LCG: its low bits repeat with short periods)
  const next = () => Math.floor((x = (x * 1103515245 + 12345) % 2147483648) / 65536);
  let wm = -Infinity;
  for (let i = 0; i < 90; i++) {
    // out of order by up to 4; every 13th record 60 behind (late for some windows, dropped or side-output)
    const t = Math.floor(i * 2.5) + (next() % 9) - 4 - (i % 13 === 12 ? 60 : 0);
    steps.push([['a', 'b', 'c', 'd'][next() % 4] as string, 1 + (next() % 9), t]);
    if (i % 6 === 5) {
      wm = Math.max(wm, t - 1);
      steps.push(wm);
    }
  }
  return steps;
})();

/** Where the fixture's checkpoints were taken (steps before each): a full one, then deltas. */
export const formatCuts: readonly number[] = [20, 47, 71];

export const lateSide = (): LateSide => new Subject();
