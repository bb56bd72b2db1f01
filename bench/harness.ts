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

/** Per-case round times and checksums, turned into results. */
class Rounds {
  private readonly times = new Map<string, number[]>();
  private readonly sums = new Map<string, number>();
  record(name: string, sum: number, dt: number): void {
    const prev = this.sums.get(name);
    if (prev !== undefined && prev !== sum) throw new Error(`${name}: checksum changed between rounds`);
    this.sums.set(name, sum);
    const ts = this.times.get(name);
    if (ts === undefined) this.times.set(name, [dt]);
    else ts.push(dt);
  }
  results(events: number, names: readonly string[]): Result[] {
    return names.map((name) => {
      const ts = this.times.get(name) ?? [];
      return { name, eventsPerSec: (events / median(ts)) * 1000, checksum: this.sums.get(name) ?? NaN, times: ts };
    });
  }
}

export function measure(events: number, cases: readonly Case[], rounds = 7): Result[] {
  const r = new Rounds();
  // Warm-up, round-robin like the measured rounds (not case by case): the cases share RxJS's code (`from`'s loop,
  // `Subscriber.prototype.next`, the `subscribe(fn)` observer), so a case warmed up alone is compiled against call
  // feedback the next case changes, and is then deoptimised and recompiled in the middle of the measured rounds.
  for (let w = 0; w < 4; w++) for (const c of cases) c.run();
  for (let i = 0; i < rounds; i++) {
    for (const c of cases) {
      const t0 = performance.now();
      const sum = c.run();
      r.record(c.name, sum, performance.now() - t0);
    }
  }
  return r.results(
    events,
    cases.map((c) => c.name),
  );
}

/** An asynchronous workload (I/O); `after` runs untimed after each run (e.g. to delete what it wrote). */
export interface AsyncCase {
  readonly name: string;
  readonly run: () => Promise<number>;
  readonly after?: () => Promise<void>;
}

/** {@link measure} for asynchronous workloads (fewer warm-up runs: they are long). */
export async function measureAsync(events: number, cases: readonly AsyncCase[], rounds = 5, warmUp = 2): Promise<Result[]> {
  const r = new Rounds();
  for (let i = -warmUp; i < rounds; i++) {
    for (const c of cases) {
      const t0 = performance.now();
      const sum = await c.run();
      const dt = performance.now() - t0;
      if (i >= 0) r.record(c.name, sum, dt);
      await c.after?.();
    }
  }
  return r.results(
    events,
    cases.map((c) => c.name),
  );
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
