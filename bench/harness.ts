/**
 * Tiny benchmark harness: runs each case `rounds` times after a warm-up, cases interleaved within each round.
 * Rates are medians over rounds; ratios are medians of the per-round ratios (each against the baseline measured in
 * the same round), which cancels most of the drift of a shared 2-core machine.
 */
export interface Case {
  readonly name: string;
  /** Runs the workload once and returns a checksum (so the work cannot be optimised away). */
  readonly run: () => number;
}

export interface Result {
  readonly name: string;
  readonly eventsPerSec: number;
  readonly checksum: number;
  /** per-round times in ms */
  readonly times: readonly number[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

export function measure(events: number, cases: readonly Case[], rounds = 7): Result[] {
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const sums = new Map<string, number>();
  // Warm-up, round-robin like the measured rounds (not case by case): the cases share RxJS's code (`from`'s loop,
  // `Subscriber.prototype.next`, the `subscribe(fn)` observer), so a case warmed up alone is compiled against call
  // feedback the next case changes, and is then deoptimised and recompiled in the middle of the measured rounds.
  for (let w = 0; w < 4; w++) for (const c of cases) c.run();
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const t0 = performance.now();
      const sum = c.run();
      const dt = performance.now() - t0;
      const prev = sums.get(c.name);
      if (prev !== undefined && prev !== sum) throw new Error(`${c.name}: checksum changed between rounds`);
      sums.set(c.name, sum);
      times.get(c.name)?.push(dt);
    }
  }
  return cases.map((c) => {
    const ts = times.get(c.name) ?? [];
    return { name: c.name, eventsPerSec: (events / median(ts)) * 1000, checksum: sums.get(c.name) ?? NaN, times: ts };
  });
}

/** Median over rounds of (rate of `a`) / (rate of `b`) in the same round. */
export function ratio(results: readonly Result[], a: string, b: string): number {
  const ra = results.find((r) => r.name === a);
  const rb = results.find((r) => r.name === b);
  if (ra === undefined || rb === undefined) return NaN;
  return median(ra.times.map((t, i) => (rb.times[i] ?? NaN) / t));
}

export function fmtRate(r: number): string {
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${(r / 1e3).toFixed(1)} K/s`;
}

export function table(title: string, results: readonly Result[], baseline: string): string {
  const lines = [`### ${title}`, '', '| case | events/s (median) | × ' + baseline + ' (median of per-round ratios) |', '| --- | ---: | ---: |'];
  for (const r of results) lines.push(`| ${r.name} | ${fmtRate(r.eventsPerSec)} | ${ratio(results, r.name, baseline).toFixed(2)} |`);
  return lines.join('\n');
}
