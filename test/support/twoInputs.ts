// Shared by the two-input property tests: random steps on two inputs, run through an operator with restores.
import type { Observable, OperatorFunction } from 'rxjs';
import type { StreamElement } from '../../src/index.js';
import { twoInputHarness } from '../../testing/index.js';

/** A record on input 0 / 1 (key, timestamp; its value is `l<step>` / `r<step>`), or a watermark on input 0 / 1. */
export type Step = readonly ['rec', 0 | 1, string, number] | readonly ['wm', 0 | 1, number];

/**
 * Runs `steps` through the two-input operator `op` (string values and keys), restoring it from a snapshot before each
 * step index in `cuts`, then passes a watermark beyond every timestamp on both inputs (and fails if any key still has
 * state or timers), then completes both inputs; returns every output record as `value @timestamp`.
 */
export function runTwoInput(
  steps: readonly Step[],
  op: (right$: Observable<StreamElement<string, string>>) => OperatorFunction<StreamElement<string, string>, StreamElement<string, string>>,
  cuts: ReadonlySet<number>,
): string[] {
  let h = twoInputHarness(op);
  const out: string[] = [];
  const take = (): void => {
    for (const e of h.takeOutput()) if (e.kind === 'record') out.push(`${e.value} @${e.timestamp}`);
  };
  steps.forEach((s, n) => {
    if (cuts.has(n)) {
      take();
      h = h.restore(h.snapshot());
    }
    if (s[0] === 'wm') {
      if (s[1] === 0) h.watermark(s[2]);
      else h.watermark2(s[2]);
    } else if (s[1] === 0) h.record(`l${n}`, s[3], s[2]);
    else h.record2(`r${n}`, s[3], s[2]);
  });
  // far past every timestamp: everything fires, and nothing may stay buffered (also after a restore)
  h.watermark(1e9).watermark2(1e9);
  const left = h.keys();
  if (left.length > 0) throw new Error(`state left after the watermark passed everything, for keys ${left.join(', ')}`);
  h.complete().complete2();
  take();
  return out;
}
