/**
 * The second half of `npm start`: exactly-once recovery. A child process runs a checkpointed job — clicks from a
 * paced live feed → per-user running count in keyed state → views per user and second in tumbling windows → an NDJSON
 * file through the two-phase-commit sink — with checkpoints every 100 ms in LevelDB. The demo SIGKILLs the child
 * after its third checkpoint, starts it again (it restores the newest checkpoint: keyed state, window contents,
 * source offset, pending sink transaction) and lets it finish; then it checks the output file against an
 * uninterrupted in-memory run of the same pipeline.
 *
 * Run alone: `npx tsx demo/checkpoints.ts`; `npx tsx demo/checkpoints.ts --child <dir>` is the job itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipe } from 'rxjs';
import { boundedOutOfOrderness, count, fromArray, fromAsyncIterable, runJob, toArray, toNdjsonFile, tumblingWindows, type WindowResult } from '../src/index.js';
import { levelStore } from '../src/stores/level.js';
import { aggregate, eventTime, filter, keyBy, window } from '../operators/index.js';
import { generateClicks, type Click } from './clicks.js';

const CLICKS = 600;
const clicks = generateClicks(CLICKS, { seed: 11, stepMs: 100, maxDelayMs: 250 });

const viewsPerSecond = pipe(
  eventTime((c: Click) => c.at, boundedOutOfOrderness(250, { interval: 0 })),
  filter((c: Click) => c.page !== '/health'),
  keyBy((c: Click) => c.user),
  window(tumblingWindows(1_000), { name: 'views-per-second' }),
  aggregate(count()),
);

/** The job, in the child process: paced so that it runs for about 1.5 s. */
async function child(dir: string): Promise<void> {
  const store = levelStore(join(dir, 'state'));
  const job = runJob({
    name: 'views',
    source: fromAsyncIterable(async function* () {
      for (let i = 0; i < clicks.length; i++) {
        if (i % 4 === 0) await new Promise((r) => setTimeout(r, 10));
        yield clicks[i] as Click;
      }
    }),
    pipeline: viewsPerSecond,
    sink: toNdjsonFile(join(dir, 'views.ndjson')),
    checkpoint: { intervalMs: 100, store },
  });
  job.checkpoints$.subscribe((c) => console.log(`checkpoint ${c.id}: source offset ${String(c.sourceOffsets[0])}, ${c.entries} state entries, ${c.bytes} B`));
  const s = await job.done;
  await store.close();
  console.log(`finished: ${s.recordsIn} clicks read in this run${s.restoredFrom !== undefined ? `, restored from checkpoint ${s.restoredFrom}` : ''}`);
}

/** Runs the child; kills it after `killAfterCheckpoint` checkpoints when given. Returns its output lines. */
function runChild(dir: string, killAfterCheckpoint?: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let buf = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        // kill mid-interval, 50 ms after the checkpoint: what was read since is processed again after the restore
        if (killAfterCheckpoint !== undefined && line.startsWith(`checkpoint ${killAfterCheckpoint}:`)) setTimeout(() => p.kill('SIGKILL'), 50);
      }
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => (signal === 'SIGKILL' || code === 0 ? resolve(lines) : reject(new Error(`the job's process exited with ${code ?? signal}`))));
  });
}

/**
 * Runs the recovery demo and prints what happens.
 *
 * @example
 * ```ts
 * await checkpointDemo(); // prints checkpoints, the kill, the restore, and the exactly-once check
 * ```
 */
export async function checkpointDemo(): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'tidewater-demo-'));
  try {
    console.log(`\ncheckpoints: ${CLICKS} clicks through a job checkpointing to LevelDB every 100 ms (${dir})`);
    for (const line of await runChild(dir, 3)) console.log(`  run 1  ${line}`);
    console.log('  run 1  -- killed with SIGKILL 50 ms after checkpoint 3 --');
    for (const line of await runChild(dir)) console.log(`  run 2  ${line}`);
    const written = readFileSync(join(dir, 'views.ndjson'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as WindowResult<string, number>);
    const reference = toArray<WindowResult<string, number>>();
    await runJob({ name: 'reference', source: fromArray(clicks), pipeline: viewsPerSecond, sink: reference }).done;
    const same = JSON.stringify(written) === JSON.stringify(reference.values);
    const views = written.reduce((n, r) => n + r.value, 0);
    console.log(
      `exactly once: ${written.length} window results counting ${views} views, ` +
        `${same ? 'identical to' : 'DIFFERENT from'} an uninterrupted run`,
    );
    return same;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child' && args[1] !== undefined) await child(args[1]);
else if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = (await checkpointDemo()) ? 0 : 1;
