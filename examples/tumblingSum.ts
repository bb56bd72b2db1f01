/**
 * A 3-second tumbling event-time window summing 1–5: value v happens at (v − 1) seconds, so the window [0 s, 3 s)
 * holds 1, 2 and 3, and [3 s, 6 s) holds 4 and 5. Each window fires when the watermark passes its end (here: at the
 * end of input, which brings the MAX watermark) and emits its sum (docs/SEMANTICS.md §1.2, §3.5).
 *
 * Flink equivalent:
 * `env.fromElements(1, 2, 3, 4, 5).assignTimestampsAndWatermarks(…).keyBy(v -> "all")
 *   .window(TumblingEventTimeWindows.of(Duration.ofSeconds(3))).sum(0)`.
 *
 * Run: `npx tsx examples/tumblingSum.ts`.
 */
import { fileURLToPath } from 'node:url';
import { fromArray, runJob, sum, toArray, tumblingWindows, type WindowResult } from '../src/index.js';
import { aggregate, eventTime, keyBy, window } from '../operators/index.js';

/**
 * Runs the job; prints each window's sum. Returns the printed lines.
 *
 * @example
 * ```ts
 * await main(); // ['window [0 s, 3 s) of all: 1 + 2 + 3 = 6', 'window [3 s, 6 s) of all: 4 + 5 = 9']
 * ```
 */
export async function main(print: (line: string) => void = console.log): Promise<string[]> {
  const sums = toArray<WindowResult<string, number>>();
  await runJob({
    name: 'tumbling-sum',
    source: fromArray([1, 2, 3, 4, 5]),
    pipeline: (input) =>
      input.pipe(
        eventTime((v: number) => (v - 1) * 1_000),
        keyBy(() => 'all'),
        window(tumblingWindows(3_000)),
        aggregate(sum()),
      ),
    sink: sums,
  }).done;
  const lines: string[] = [];
  for (const { key, window: w, value } of sums.values) {
    const addends = [1, 2, 3, 4, 5].filter((v) => (v - 1) * 1_000 >= w.start && (v - 1) * 1_000 < w.end);
    const line = `window [${w.start / 1_000} s, ${w.end / 1_000} s) of ${key}: ${addends.join(' + ')} = ${value}`;
    lines.push(line);
    print(line);
  }
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
