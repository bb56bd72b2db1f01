// File sources and sinks that fail (a full disk, a path that cannot be a file, a missing input), and what Node prints
// when nobody catches `job.done`: a JobError naming the file, the phase and the checkpoint, with the error as cause.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, ReplaySubject } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { fromArray, fromNdjsonFile, fromObservable, JobError, memoryStore, runJob, toNdjsonFile } from '../src/index.js';
import { runningSum } from './support/gated.js';

const root = mkdtempSync(join(tmpdir(), 'tidewater-errors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The job's failure, checked to be a JobError with `phase`, `checkpoint` and a `cause` with `code`. */
async function failure(done: Promise<unknown>, phase: string, checkpoint: number | undefined, code: string): Promise<string> {
  const e = await done.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(JobError);
  expect([(e as JobError).phase, (e as JobError).checkpoint, ((e as JobError).cause as { code?: unknown } | undefined)?.code]).toStrictEqual([phase, checkpoint, code]);
  return (e as JobError).message;
}

describe('file failures', () => {
  it.runIf(process.platform === 'linux')('toNdjsonFile on a full disk (/dev/full): ENOSPC, phase write (also when it fills while the job runs)', async () => {
    const job = runJob({ name: 'j', source: fromArray([1, 2]), pipeline: runningSum(), sink: toNdjsonFile<number>('/dev/full') });
    expect(await failure(job.done, 'write', undefined, 'ENOSPC')).toBe(
      'runJob(j): sink toNdjsonFile(/dev/full) failed to write: ENOSPC: no space left on device, write. The job stopped; fix the cause and run it again.',
    );
    // more lines than one flush, then a pause: the failed append surfaces at the next write or at the end, never as
    // an unhandled rejection meanwhile
    const live = new ReplaySubject<number>();
    const job2 = runJob({ name: 'j', source: fromObservable(live), pipeline: runningSum(), sink: toNdjsonFile<number>('/dev/full') });
    for (let i = 0; i < 5_000; i++) live.next(1);
    await firstValueFrom(job2.output$.pipe(filter((s) => s === 5_000)));
    await new Promise((r) => setTimeout(r, 50));
    live.next(1);
    live.complete();
    expect(await failure(job2.done, 'write', undefined, 'ENOSPC')).toBe(
      'runJob(j): sink toNdjsonFile(/dev/full) failed to write: ENOSPC: no space left on device, write. The job stopped; fix the cause and run it again.',
    );
  });

  it('toNdjsonFile whose directory cannot be made (a file is in the way): phase open', async () => {
    writeFileSync(join(root, 'plain'), '');
    const file = join(root, 'plain', 'out.ndjson');
    const job = runJob({ name: 'j', source: fromArray([1]), pipeline: runningSum(), sink: toNdjsonFile<number>(file), checkpoint: { intervalMs: 1e9, store: memoryStore() } });
    expect(await failure(job.done, 'open', undefined, 'ENOTDIR')).toBe(
      `runJob(j): sink toNdjsonFile(${file}) failed to open: ENOTDIR: not a directory, open '${file}.committed'. The job stopped; fix the cause and run it again: it starts from the beginning.`,
    );
  });

  it('toNdjsonFile that cannot write its pending file at a barrier: phase pre-commit of that checkpoint', async () => {
    const dir = join(root, 'pre');
    const file = join(dir, 'out.ndjson');
    const live = new ReplaySubject<number>();
    const job = runJob({ name: 'j', source: fromObservable(live), pipeline: runningSum(), sink: toNdjsonFile<number>(file), checkpoint: { intervalMs: 1e9, store: memoryStore() } });
    live.next(1);
    await job.triggerCheckpoint();
    live.next(2);
    mkdirSync(`${file}.pending-2`); // a directory where checkpoint 2's transaction file goes
    void job.triggerCheckpoint().catch(() => undefined);
    expect(await failure(job.done, 'pre-commit', 2, 'EISDIR')).toBe(
      `runJob(j): sink toNdjsonFile(${file}) failed to pre-commit checkpoint 2: EISDIR: illegal operation on a directory, open '${file}.pending-2'. The job stopped; fix the cause and run it again: it resumes from checkpoint 1.`,
    );
  });

  it('fromNdjsonFile of a missing file: phase open', async () => {
    const file = join(root, 'missing.ndjson');
    const job = runJob({ name: 'j', source: fromNdjsonFile<number>(file), pipeline: runningSum() });
    expect(await failure(job.done, 'open', undefined, 'ENOENT')).toBe(
      `runJob(j): source fromNdjsonFile(${file}) failed to open: ENOENT: no such file or directory, open '${file}'. The job stopped; fix the cause and run it again.`,
    );
  });
});

describe('an uncaught failed job', () => {
  it("Node's report of the unhandled rejection shows the JobError and its cause", { timeout: 60_000 }, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/uncaughtJob.ts'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('JobError: runJob(j): source exploding failed to read: source exploded. The job stopped; fix the cause and run it again.\n');
    expect(r.stderr).toContain("  phase: 'read',\n");
    expect(r.stderr).toContain('  [cause]: Error: source exploded\n');
  });
});
