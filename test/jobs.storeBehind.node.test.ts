// A store that lost checkpoints (deleted directory, missing completion markers) must never make a job start over on
// its own: sinks and journals know the checkpoint they committed last, and a job whose store is behind them refuses
// to start (StoreBehindError) until the store is restored or the user starts over explicitly (discardCommitted).
import { existsSync, promises as fsPromises, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, pipe, ReplaySubject, Subject } from 'rxjs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { callbackSink, fromArray, fromObservable, JobError, memoryStore, runJob, sideOutput, StoreBehindError, TidewaterError, toArray, toNdjsonFile, type Sink, type Source, type StateStore } from '../src/index.js';
import { keyBy, process } from '../operators/index.js';
import { levelStore } from '../src/stores/level.js';
import { runningSum } from './support/gated.js';

const root = mkdtempSync(join(tmpdir(), 'tidewater-behind-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = (): string => join(root, `d${n++}`);

const cfg = (store: StateStore, retain = 3) => ({ intervalMs: 1e9, store, retain });

/** Deletes every completion marker of job `job` (what a store that lost them looks like). */
async function dropMarkers(store: StateStore, job: string): Promise<void> {
  const keys = await store.kv.keys(`cp/${job}/d/`, `cp/${job}/d0`);
  expect(keys.length).toBeGreaterThan(0);
  await store.kv.batch(keys.map((key) => ({ type: 'del', key })));
}

/** Runs job `name` over 1, 2, 3 with two checkpoints (after 2 and at the end) into `sink`; resolves with its `done`. */
async function feedRun(store: StateStore, sink: Sink<number>, name = 'j'): Promise<{ done: Promise<unknown> }> {
  const live = new ReplaySubject<number>();
  const job = runJob({ name, source: fromObservable(live), pipeline: runningSum(), sink, checkpoint: cfg(store) });
  const reached = firstValueFrom(job.output$.pipe(filter((s) => s === 3)));
  live.next(1);
  live.next(2);
  await reached;
  await job.triggerCheckpoint();
  live.next(3);
  live.complete();
  return { done: job.done };
}

/** {@link feedRun}, expected to complete with checkpoint 2. */
async function firstRun(store: StateStore, sink: Sink<number>, name = 'j'): Promise<void> {
  expect(await (await feedRun(store, sink, name)).done).toMatchObject({ lastCheckpoint: 2 });
}

/** A live source that says when it was opened (the job started: its checks passed, its sink opened). */
function opening(): { source: Source<number>; live: Subject<number>; opened: Promise<'running'> } {
  const live = new Subject<number>();
  const inner = fromObservable(live);
  let opened!: () => void;
  const p = new Promise<'running'>((r) => (opened = () => r('running')));
  const source: Source<number> = {
    description: inner.description,
    async open(offset, context) {
      const reader = await inner.open(offset, context);
      opened();
      return reader;
    },
  };
  return { source, live, opened: p };
}

/** A second run whose live source stays open until the job fails or runs, so a truncation would show. */
async function secondRun(store: StateStore, sink: Sink<number>, options: { restore?: 'latest' | number | false; discardCommitted?: boolean } = {}) {
  const { source, live, opened } = opening();
  const job = runJob({ name: 'j', source, pipeline: runningSum(), sink, checkpoint: cfg(store), ...options });
  const settled = await Promise.race([job.done.then(() => 'finished' as const, (e: unknown) => e), opened]);
  live.complete();
  await job.done.catch(() => undefined);
  return settled;
}

describe('a sink left out of a run and added back', () => {
  // run 1 with the sink (stopped with a savepoint after 1, 2), run 2 without it (after 3, 4), run 3 with it again
  async function threeRuns(store: StateStore, sink: () => Sink<number>): Promise<unknown> {
    const input = [1, 2, 3, 4, 5, 6];
    const cp = { intervalMs: 1e9, store };
    const first = runJob({ name: 'back', source: fromArray(input), pipeline: runningSum(), sink: sink(), batchSize: 2, checkpoint: cp });
    first.output$.subscribe((v) => void (v === 1 && first.stop({ savepoint: true })));
    await first.done;
    // (without the sink, whose state the savepoint holds: dropped on purpose)
    const second = runJob({ name: 'back', source: fromArray(input), pipeline: runningSum(), batchSize: 2, checkpoint: cp, allowNonRestoredState: true });
    second.output$.subscribe((v) => void (v === 6 && second.stop({ savepoint: true })));
    await second.done;
    return runJob({ name: 'back', source: fromArray(input), pipeline: runningSum(), sink: sink(), checkpoint: cp }).done;
  }

  it('toNdjsonFile keeps what it committed before the checkpoint restored (which has no state of it), then appends', async () => {
    const file = join(dir(), 'out.ndjson');
    expect(await threeRuns(memoryStore(), () => toNdjsonFile<number>(file))).toMatchObject({ restoredFrom: 2 });
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n15\n21\n');
  });

  it('callbackSink is told abort(k) for the checkpoint k restored, not abort(undefined) (discard everything)', async () => {
    const calls: string[] = [];
    let published: number | undefined;
    const sink = () =>
      callbackSink<number>({
        write: () => {},
        commit: (id) => {
          calls.push(`commit(${id})`);
          published = id;
        },
        abort: (after) => void calls.push(`abort(${after})`),
        lastCommitted: () => published,
      });
    await threeRuns(memoryStore(), sink);
    // run 1: abort(undefined) at its fresh start, commit(1) at its savepoint; run 3: abort(2), then its own commits
    expect(calls.slice(0, 3)).toStrictEqual(['abort(undefined)', 'commit(1)', 'abort(2)']);
  });
});

describe('a sink whose state is in the checkpoint, left out of the restored job', () => {
  it('is refused, naming the output (its pending output would never be committed), unless allowNonRestoredState', async () => {
    const store = memoryStore();
    const odd = sideOutput<number>('odd');
    const pipeline = pipe(
      keyBy((x: number) => x % 2),
      process<number, number, number>({
        name: 'split',
        onElement(v, ctx) {
          if (v % 2 === 1) ctx.output(odd, v);
          else ctx.emit(v);
        },
      }),
    );
    // checkpoint 1 holds the odd sink's transaction [1, 3]: its commit failed
    const failing = callbackSink<number>({
      write: () => {},
      commit: (id) => {
        throw new Error(`broker down at commit ${id}`);
      },
    });
    const cp = { intervalMs: 1e9, store };
    await expect(runJob({ name: 'split', source: fromArray([1, 2, 3, 4]), pipeline, sinks: { main: toArray<number>(), odd: failing }, checkpoint: cp }).done).rejects.toThrow('broker down at commit 1');
    await expect(runJob({ name: 'split', source: fromArray([1, 2, 3, 4]), pipeline, sinks: { main: toArray<number>() }, checkpoint: cp }).done).rejects.toThrow(
      'runJob(split): checkpoint 1 holds the state of the sink(s) of output(s) \'odd\', which the job lacks: their output pending in it would never be committed. Give the job those sinks again (sinks: { "odd": … }), or pass allowNonRestoredState: true to drop it.',
    );
    // dropped on purpose
    const s = await runJob({ name: 'split', source: fromArray([1, 2, 3, 4]), pipeline, sinks: { main: toArray<number>() }, checkpoint: cp, allowNonRestoredState: true }).done;
    expect(s.restoredFrom).toBe(1);
  });

  it('so is the state of a job\'s one sink, restored into a job without it', async () => {
    const store = memoryStore();
    const cp = { intervalMs: 1e9, store };
    const failing = callbackSink<number>({
      write: () => {},
      commit: (id) => {
        throw new Error(`broker down at commit ${id}`);
      },
    });
    await expect(runJob({ name: 'one', source: fromArray([1, 2]), pipeline: runningSum(), sink: failing, checkpoint: cp }).done).rejects.toThrow('broker down at commit 1');
    const late = sideOutput<number>('late');
    await expect(runJob({ name: 'one', source: fromArray([1, 2]), pipeline: runningSum(), sinks: { [late.name]: toArray<number>() }, checkpoint: cp }).done).rejects.toThrow(
      "runJob(one): checkpoint 1 holds the state of the sink(s) of output(s) 'main', which the job lacks",
    );
  });
});

describe('a store behind its sink: toNdjsonFile', () => {
  it('memoryStore without completion markers: refuses to start, names both checkpoints and the remedy, keeps the output', async () => {
    const store = memoryStore();
    const file = join(dir(), 'out.ndjson');
    await firstRun(store, toNdjsonFile<number>(file));
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n');
    await dropMarkers(store, 'j');
    const e = await secondRun(store, toNdjsonFile<number>(file));
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n'); // without the check it was cut back (to '' or '1\n3\n')
    expect(e).toBeInstanceOf(StoreBehindError);
    expect(e).toBeInstanceOf(JobError);
    expect(e).toBeInstanceOf(TidewaterError);
    expect((e as Error).message).toBe(
      `runJob(j): store memory has no usable checkpoint of this job, but toNdjsonFile(${file}) already committed checkpoint 2 (6 B of output): starting from scratch would discard it. ` +
        `The store lost checkpoints (a deleted or damaged directory, lost completion markers): restore it (e.g. from a backup) so that it holds checkpoint 2 or later, ` +
        `or start over explicitly with restore: false, discardCommitted: true.`,
    );
    expect(e).toMatchObject({ restoring: undefined, committed: [{ component: `toNdjsonFile(${file})`, checkpoint: 2 }] });
  });

  it('levelStore whose directory was deleted: refuses to start; restore: false with discardCommitted starts over', async () => {
    const d = dir();
    const file = join(d, 'out.ndjson');
    const s1 = levelStore(join(d, 'state'));
    await firstRun(s1, toNdjsonFile<number>(file));
    await s1.close();
    rmSync(join(d, 'state'), { recursive: true });
    const s2 = levelStore(join(d, 'state'));
    const e = await secondRun(s2, toNdjsonFile<number>(file));
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n'); // without the check it was cut back (to '' or '1\n3\n')
    expect(e).toBeInstanceOf(StoreBehindError);
    expect((e as Error).message).toContain(`store level:${join(d, 'state')} has no usable checkpoint of this job, but toNdjsonFile(${file}) already committed checkpoint 2 (6 B of output)`);
    // restore: false alone is not enough to discard committed output
    const e2 = await secondRun(s2, toNdjsonFile<number>(file), { restore: false });
    expect((e2 as Error).message).toBe(
      `runJob(j): restore: false starts empty, but toNdjsonFile(${file}) already committed checkpoint 2 (6 B of output): starting from scratch would discard it. ` +
        `Resume with restore: 'latest' (from a store that holds checkpoint 2 or later), or pass discardCommitted: true to discard it.`,
    );
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n');
    const s = await runJob({ name: 'j', source: fromArray([5, 5]), pipeline: runningSum(), sink: toNdjsonFile<number>(file), checkpoint: cfg(s2), restore: false, discardCommitted: true }).done;
    expect([s.restoredFrom, s.lastCheckpoint]).toStrictEqual([undefined, 1]);
    expect(readFileSync(file, 'utf8')).toBe('5\n10\n');
    await s2.close();
  });

  it("levelStore that lost LevelDB's CURRENT file (it opens empty): refuses to start and keeps the output", async () => {
    const d = dir();
    const file = join(d, 'out.ndjson');
    const s1 = levelStore(join(d, 'state'));
    await firstRun(s1, toNdjsonFile<number>(file));
    await s1.close();
    // opened once more, LevelDB moves its log into a table that only the manifest named by CURRENT points to
    const again = levelStore(join(d, 'state'));
    expect((await again.listCheckpoints('j')).map((c) => c.id)).toStrictEqual([2, 1]);
    await again.close();
    rmSync(join(d, 'state', 'CURRENT'));
    const s2 = levelStore(join(d, 'state'));
    const e = await secondRun(s2, toNdjsonFile<number>(file));
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n'); // without the check it was cut back (to '' or '1\n3\n')
    expect(e).toBeInstanceOf(StoreBehindError);
    expect((e as Error).message).toContain(`store level:${join(d, 'state')} has no usable checkpoint of this job, but toNdjsonFile(${file}) already committed checkpoint 2 (6 B of output)`);
    await s2.close();
  });

  it('levelStore that lost its completion markers: refuses to start and keeps the output', async () => {
    const d = dir();
    const file = join(d, 'out.ndjson');
    const store = levelStore(join(d, 'state'));
    await firstRun(store, toNdjsonFile<number>(file));
    await dropMarkers(store, 'j');
    const e = await secondRun(store, toNdjsonFile<number>(file));
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n'); // without the check it was cut back (to '' or '1\n3\n')
    expect(e).toBeInstanceOf(StoreBehindError);
    await store.close();
  });

  it('a fallback past an unusable newest checkpoint that the sink committed is refused too; an explicit older restore needs discardCommitted', async () => {
    const store = memoryStore();
    const file = join(dir(), 'out.ndjson');
    await firstRun(store, toNdjsonFile<number>(file));
    // checkpoint 2 loses its completion marker: the newest usable one is 1
    await store.kv.batch([{ type: 'del', key: 'cp/j/d/0000000000000002' }]);
    const e = await secondRun(store, toNdjsonFile<number>(file));
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n'); // without the check it was cut back (to '' or '1\n3\n')
    expect((e as Error).message).toBe(
      `runJob(j): the newest usable checkpoint in store memory is 1, but toNdjsonFile(${file}) already committed checkpoint 2 (6 B of output): starting from checkpoint 1 would discard 2 B of it. ` +
        `The store lost checkpoints (a deleted or damaged directory, lost completion markers): restore it (e.g. from a backup) so that it holds checkpoint 2 or later, ` +
        `or start over explicitly with restore: false, discardCommitted: true.`,
    );
    expect(e).toMatchObject({ restoring: 1, committed: [{ checkpoint: 2 }] });
    const e2 = await secondRun(store, toNdjsonFile<number>(file), { restore: 1 });
    expect((e2 as Error).message).toBe(
      `runJob(j): restore: 1 starts from checkpoint 1, but toNdjsonFile(${file}) already committed checkpoint 2 (6 B of output): starting from checkpoint 1 would discard 2 B of it. ` +
        `Restore checkpoint 2 or later, or pass discardCommitted: true to roll the output back to checkpoint 1.`,
    );
    // rolled back on request: checkpoint 1 covered 1 and 2 (output '1\n3\n'); the live source then ends
    expect(await secondRun(store, toNdjsonFile<number>(file), { restore: 1, discardCommitted: true })).toBe('running');
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n');
  });

  it('a crash between an append and its commit record, then a store that lost that checkpoint: refuses to start and keeps the output', async () => {
    const store = memoryStore();
    const file = join(dir(), 'out.ndjson');
    await firstRun(store, toNdjsonFile<number>(file));
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n');
    // what a crash after checkpoint 2's append but before its record was updated leaves: the record of checkpoint 1
    writeFileSync(`${file}.committed`, JSON.stringify({ format: 'tidewater-ndjson-commit/1', checkpoint: 1, bytes: 4 }));
    // the store then loses checkpoint 2 entirely, with the head that recorded it
    const gone = (await store.kv.keys('cp/j/', 'cp/j0')).filter((key) => key.includes('/0000000000000002') || key === 'cp/j/h');
    expect(gone.length).toBeGreaterThan(2);
    await store.kv.batch(gone.map((key) => ({ type: 'del', key })));
    expect((await store.listCheckpoints('j')).map((c) => c.id)).toStrictEqual([1]);
    const e = await secondRun(store, toNdjsonFile<number>(file));
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n'); // without the check it was cut back to '1\n3\n'
    expect(e).toBeInstanceOf(StoreBehindError);
    expect((e as Error).message).toBe(
      `runJob(j): the newest usable checkpoint in store memory is 1, but toNdjsonFile(${file}) already committed checkpoint 2 ` +
        `(6 B of output, the last 2 B by checkpoint 2 or later; its commit record ${file}.committed names only checkpoint 1 at 4 B: a crash cut its update short): ` +
        `starting from checkpoint 1 would discard 2 B of it. ` +
        `The store lost checkpoints (a deleted or damaged directory, lost completion markers): restore it (e.g. from a backup) so that it holds checkpoint 2 or later, ` +
        `or start over explicitly with restore: false, discardCommitted: true.`,
    );
    expect(e).toMatchObject({ restoring: 1, committed: [{ component: `toNdjsonFile(${file})`, checkpoint: 2 }] });
    // on request, the output is rolled back to checkpoint 1
    expect(await secondRun(store, toNdjsonFile<number>(file), { discardCommitted: true })).toBe('running');
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n');
  });

  it('the commit record is written before the append: a commit stopped before its append still protects its checkpoint', async () => {
    const store = memoryStore();
    const file = join(dir(), 'out.ndjson');
    // the process stops right before checkpoint 2's append (the second open of the output file for it)
    const realOpen = fsPromises.open.bind(fsPromises);
    let appends = 0;
    const spy = vi.spyOn(fsPromises, 'open').mockImplementation(((path: string, flags?: string) => {
      if (path === file && flags === 'r+' && ++appends === 2) return Promise.reject(new Error('stopped before the append'));
      return realOpen(path, flags);
    }) as typeof fsPromises.open);
    try {
      await expect((await feedRun(store, toNdjsonFile<number>(file))).done).rejects.toThrow('stopped before the append');
    } finally {
      spy.mockRestore();
    }
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n');
    expect(JSON.parse(readFileSync(`${file}.committed`, 'utf8'))).toStrictEqual({ format: 'tidewater-ndjson-commit/1', checkpoint: 2, bytes: 6 });
    // the store then loses checkpoint 2 with its head: the job refuses to drop checkpoint 2's lines (still pending)
    const gone = (await store.kv.keys('cp/j/', 'cp/j0')).filter((key) => key.includes('/0000000000000002') || key === 'cp/j/h');
    await store.kv.batch(gone.map((key) => ({ type: 'del', key })));
    const e = await secondRun(store, toNdjsonFile<number>(file));
    expect(e).toBeInstanceOf(StoreBehindError);
    expect((e as Error).message).toContain(`the newest usable checkpoint in store memory is 1, but toNdjsonFile(${file}) already committed checkpoint 2 (6 B of output): starting from checkpoint 1 would discard 2 B of it.`);
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n');
    expect(existsSync(`${file}.pending-2`)).toBe(true);
  });

  it('a store that is intact (or ahead) restores as before, and the output goes on', async () => {
    const store = memoryStore();
    const file = join(dir(), 'out.ndjson');
    await firstRun(store, toNdjsonFile<number>(file));
    const s = await runJob({ name: 'j', source: fromArray<number>([]), pipeline: runningSum(), sink: toNdjsonFile<number>(file), checkpoint: cfg(store) }).done;
    expect(s.restoredFrom).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n');
    expect(existsSync(`${file}.committed`)).toBe(true);
  });

  it('a job without checkpoints does not overwrite the output of a checkpointed run', async () => {
    const store = memoryStore();
    const file = join(dir(), 'out.ndjson');
    await firstRun(store, toNdjsonFile<number>(file));
    const job = runJob({ name: 'j', source: fromArray([7]), pipeline: runningSum(), sink: toNdjsonFile<number>(file) });
    await expect(job.done).rejects.toThrow(`runJob(j): the job has no checkpoint store, but toNdjsonFile(${file}) already committed checkpoint 2 (6 B of output): starting from scratch would discard it.`);
    expect(readFileSync(file, 'utf8')).toBe('1\n3\n6\n');
    await runJob({ name: 'j', source: fromArray([7]), pipeline: runningSum(), sink: toNdjsonFile<number>(file), discardCommitted: true }).done;
    expect(readFileSync(file, 'utf8')).toBe('7\n');
    expect(existsSync(`${file}.committed`)).toBe(false);
  });
});

describe('a store behind its sink: callbackSink with lastCommitted', () => {
  it('refuses to start when the callbacks say a newer checkpoint was committed', async () => {
    let published = -1;
    const sink = () => callbackSink<number>({ write() {}, commit: (id) => void (published = id), lastCommitted: () => (published < 0 ? undefined : published) });
    await firstRun(memoryStore(), sink());
    expect(published).toBe(2);
    const e = await secondRun(memoryStore(), sink());
    expect((e as Error).message).toBe(
      `runJob(j): store memory has no usable checkpoint of this job, but callbackSink already committed checkpoint 2 (its lastCommitted()): starting from scratch would discard it. ` +
        `The store lost checkpoints (a deleted or damaged directory, lost completion markers): restore it (e.g. from a backup) so that it holds checkpoint 2 or later, ` +
        `or start over explicitly with restore: false, discardCommitted: true.`,
    );
  });
});

describe('a store behind its journal: fromObservable', () => {
  /** Feeds 1..4 with checkpoints at 2 and 4 (retain 1, but 2 is a delta on 1: the journal drops 1 and 2), then 5 and 6 journaled but not checkpointed. */
  async function journaledRun(store: StateStore, journal: StateStore): Promise<number[]> {
    const live = new ReplaySubject<number>();
    const out = toArray<number>();
    const job = runJob({ name: 'j', source: fromObservable(live, { journal }), pipeline: runningSum(), sink: out, checkpoint: cfg(store, 1) });
    for (const v of [1, 2, 3, 4, 5, 6]) {
      const reached = firstValueFrom(job.output$);
      live.next(v);
      await reached;
      if (v % 2 === 0 && v <= 4) await job.triggerCheckpoint();
    }
    await job.stop();
    return [...out.values];
  }

  it('memoryStore without completion markers (journal in the same store): refuses to start instead of losing records 0–1', async () => {
    const store = memoryStore();
    expect(await journaledRun(store, store)).toStrictEqual([1, 3, 6, 10]);
    expect(await store.readJournal('j/source-0', 0)).toStrictEqual(['3', '4', '5', '6']);
    await dropMarkers(store, 'j');
    const out = toArray<number>();
    const live = new ReplaySubject<number>();
    live.complete();
    const job = runJob({ name: 'j', source: fromObservable(live, { journal: store }), pipeline: runningSum(), sink: out, checkpoint: cfg(store, 1) });
    const settled = await job.done.catch((e: unknown) => e);
    expect(out.values).toStrictEqual([]); // without the check: [3, 7, 12, 18], as if 1 and 2 never happened
    expect(settled).toBeInstanceOf(StoreBehindError);
    expect((settled as Error).message).toBe(
      `runJob(j): store memory has no usable checkpoint of this job, but fromObservable (journal "j/source-0" in memory) already committed checkpoint 1 (it deleted records 0–1 once checkpoint 1 covered them): starting from scratch would lose those records. ` +
        `The store lost checkpoints (a deleted or damaged directory, lost completion markers): restore it (e.g. from a backup) so that it holds checkpoint 1 or later, ` +
        `or start over explicitly with restore: false, discardCommitted: true.`,
    );
    expect(await store.readJournal('j/source-0', 0)).toStrictEqual(['3', '4', '5', '6']);
  });

  it('levelStore lost, journal in another store: refuses; restore: false with discardCommitted empties the journal and starts over', async () => {
    const d = dir();
    const journal = memoryStore();
    const s1 = levelStore(join(d, 'state'));
    await journaledRun(s1, journal);
    await s1.close();
    rmSync(join(d, 'state'), { recursive: true });
    const s2 = levelStore(join(d, 'state'));
    const source = (): Source<number> => fromObservable(new Subject<number>(), { journal });
    const job = runJob({ name: 'j', source: source(), pipeline: runningSum(), checkpoint: cfg(s2) });
    await expect(job.done).rejects.toThrow(StoreBehindError);
    await expect(job.done).rejects.toThrow('already committed checkpoint 1 (it deleted records 0–1 once checkpoint 1 covered them)');
    expect(await journal.readJournal('j/source-0', 0)).toStrictEqual(['3', '4', '5', '6']);
    const live = new ReplaySubject<number>();
    const out = toArray<number>();
    live.next(9);
    live.complete();
    const s = await runJob({ name: 'j', source: fromObservable(live, { journal }), pipeline: runningSum(), sink: out, checkpoint: cfg(s2), restore: false, discardCommitted: true }).done;
    expect([s.restoredFrom, s.lastCheckpoint, out.values]).toStrictEqual([undefined, 1, [9]]);
    // the old records and their mark are gone; the new run's checkpoint 1 covered record 0
    expect(await journal.readJournal('j/source-0', 0)).toStrictEqual([]);
    expect(await journal.readJournal('j/source-0#committed', 0)).toStrictEqual(['{"checkpoint":1,"before":1}']);
    await s2.close();
  });

  it('an intact store restores as before: the journal replays what came after checkpoint 2', async () => {
    const store = memoryStore();
    const journal = memoryStore();
    await journaledRun(store, journal);
    const out = toArray<number>();
    const live = new ReplaySubject<number>();
    live.complete();
    const job = runJob({ name: 'j', source: fromObservable(live, { journal }), pipeline: runningSum(), sink: out, checkpoint: cfg(store, 1) });
    expect(await job.done).toMatchObject({ restoredFrom: 2 });
    expect(out.values).toStrictEqual([15, 21]);
  });
});
