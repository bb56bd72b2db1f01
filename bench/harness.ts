/**
 * Tiny benchmark harness: runs each case `rounds` times after a warm-up, reports the median rate.
 * Baselines are measured in the same run, so ratios are what to compare across machines.
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
}

export function measure(events: number, cases: readonly Case[], rounds = 7): Result[] {
  const times = new Map<string, number[]>();
  const sums = new Map<string, number>();
  for (const c of cases) {
    c.run();
    c.run(); // warm-up
  }
  for (let r = 0; r < rounds; r++) {
    // interleave cases so drift (GC, thermal, the other core) hits all of them alike
    for (const c of cases) {
      const t0 = performance.now();
      const sum = c.run();
      const dt = performance.now() - t0;
      const prev = sums.get(c.name);
      if (prev !== undefined && prev !== sum) throw new Error(`${c.name}: checksum changed between rounds`);
      sums.set(c.name, sum);
      (times.get(c.name) ?? times.set(c.name, []).get(c.name)!).push(dt);
    }
  }
  return cases.map((c) => {
    const ts = [...(times.get(c.name) ?? [])].sort((a, b) => a - b);
    const median = ts[Math.floor(ts.length / 2)] ?? NaN;
    return { name: c.name, eventsPerSec: (events / median) * 1000, checksum: sums.get(c.name) ?? NaN };
  });
}

export function fmtRate(r: number): string {
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${(r / 1e3).toFixed(1)} K/s`;
}

export function table(title: string, results: readonly Result[], baseline: string): string {
  const base = results.find((r) => r.name === baseline);
  const lines = [`### ${title}`, '', '| case | events/s | × ' + baseline + ' |', '| --- | ---: | ---: |'];
  for (const r of results) {
    lines.push(`| ${r.name} | ${fmtRate(r.eventsPerSec)} | ${base ? (r.eventsPerSec / base.eventsPerSec).toFixed(2) : '-'} |`);
  }
  return lines.join('\n');
}
