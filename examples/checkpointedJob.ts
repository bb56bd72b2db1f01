/**
 * A job with checkpointing every 1 000 ms, killed and resumed, with exactly-once output. The job reads the numbers
 * 1–30 from a paced source (one every 100 ms; number n happens at n × 100 ms of event time), sums odd and even numbers
 * per 1-second tumbling window, and writes the sums to an NDJSON file through the two-phase-commit sink, checkpointing
 * into LevelDB. The example runs the job in a child process, kills it with SIGKILL 300 ms after its first checkpoint
 * (mid-interval: numbers were read and sums pending after that checkpoint), starts it again — it restores the
 * checkpoint (window contents, source offset, the sink's pending transaction) and reads on from there — and checks
 * that the file holds exactly the output of an uninterrupted run (docs/SEMANTICS.md §8).
 *
 * Flink equivalent: `env.enableCheckpointing(1000)` (exactly-once) with a state backend on disk, a
 * `TwoPhaseCommitSinkFunction` / transactional `FileSink`, the TaskManager killed, and the job restarted from its latest
 * checkpoint.
 *
 * Run: `npx tsx examples/checkpointedJob.ts` (about 5 seconds); `… --child <dir>` is the job itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pipe } from 'rxjs';
import { fromArray, fromAsyncIterable, runJob, sum, toArray, toNdjsonFile, tumblingWindows, type WindowResult } from '../src/index.js';
import { levelStore } from '../src/stores/level.js';
import { aggregate, eventTime, keyBy, window } from '../operators/index.js';

const NUMBERS = Array.from({ length: 30 }, (_, i) => i + 1);

/** Sums of odd and even numbers per second of event time. */
const sums = pipe(
  eventTime((n: number) => n * 100),
  keyBy((n: number) => (n % 2 === 1 ? 'odd' : 'even')),
  window(tumblingWindows(1_000), { name: 'sums' }),
  aggregate(sum()),
);

type Sum = WindowResult<string, number>;

/** The job, in the child process: prints each completed checkpoint, and at the end how it started. */
async function child(dir: string): Promise<void> {
  const store = levelStore(join(dir, 'state'));
  const job = runJob({
    name: 'sums',
    source: fromAsyncIterable(async function* () {
      for (const n of NUMBERS) {
        await sleep(100);
        yield n;
      }
    }),
    pipeline: sums,
    sink: toNdjsonFile(join(dir, 'sums.ndjson')),
    checkpoint: { intervalMs: 1_000, store },
  });
  job.checkpoints$.subscribe((c) => console.log(`checkpoint ${c.id}`));
  const summary = await job.done;
  await store.close();
  console.log(`restored from ${summary.restoredFrom ?? 'none'}`);
}

/** Runs the child; when `kill`, SIGKILLs it 300 ms after its first checkpoint. Resolves with its output lines. */
function runChild(dir: string, kill: boolean): Promise<{ lines: string[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    createInterface({ input: p.stdout }).on('line', (line) => {
      lines.push(line);
      if (kill && line === 'checkpoint 1') setTimeout(() => p.kill('SIGKILL'), 300);
    });
    p.on('error', reject);
    // 'close': the process exited and its output was read to the end
    p.on('close', (code, signal) =>
      signal === 'SIGKILL' || code === 0 ? resolve({ lines, killed: signal === 'SIGKILL' }) : reject(new Error(`the job's process exited with ${code ?? signal}`)),
    );
  });
}

/** The checkpoint ids a child reported. */
const checkpointsOf = (lines: readonly string[]): number[] => lines.filter((l) => l.startsWith('checkpoint ')).map((l) => Number(l.slice('checkpoint '.length)));

/**
 * Runs the job, kills it, resumes it, and compares its output with an uninterrupted run. Returns the printed lines.
 *
 * @example
 * ```ts
 * await main(); // […, 'exactly once: the output is identical to an uninterrupted run', …]
 * ```
 */
export async function main(print: (line: string) => void = console.log): Promise<string[]> {
  const lines: string[] = [];
  const say = (line: string): void => {
    lines.push(line);
    print(line);
  };
  const dir = mkdtempSync(join(tmpdir(), 'tidewater-example-'));
  try {
    say('numbers 1–30, odd and even sums per second of event time, checkpoints every 1000 ms into LevelDB');
    const first = await runChild(dir, true);
    const completed = checkpointsOf(first.lines);
    say(first.killed ? 'run 1: killed with SIGKILL 300 ms after its first checkpoint' : 'run 1: finished before it could be killed');
    const second = await runChild(dir, false);
    const restoredFrom = second.lines.at(-1)?.slice('restored from '.length);
    say(
      restoredFrom === String(completed.at(-1))
        ? 'run 2: restored from the last checkpoint run 1 completed, read on from its source offset, finished'
        : `run 2: restored from ${restoredFrom ?? '?'}, but run 1's last checkpoint was ${completed.at(-1) ?? 'none'}`,
    );
    const written = readFileSync(join(dir, 'sums.ndjson'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Sum);
    for (const { key, window: w, value } of written) say(`  [${w.start}, ${w.end}) ms ${key.padEnd(4)} ${value}`);
    const reference = toArray<Sum>();
    await runJob({ name: 'reference', source: fromArray(NUMBERS), pipeline: sums, sink: reference }).done;
    const total = written.reduce((t, s) => t + s.value, 0);
    const expected = NUMBERS.reduce((t, n) => t + n, 0);
    say(total === expected ? `total ${total} = 1 + 2 + … + 30: each number counted once` : `total ${total}, not ${expected} = 1 + 2 + … + 30`);
    say(
      JSON.stringify(written) === JSON.stringify(reference.values)
        ? 'exactly once: the output is identical to an uninterrupted run'
        : 'NOT exactly once: the output differs from an uninterrupted run',
    );
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child' && args[1] !== undefined) await child(args[1]);
else if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
