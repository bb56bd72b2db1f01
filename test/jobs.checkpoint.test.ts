// Checkpointed jobs in one process (memoryStore; runs in Node and in Chromium): barriers, incremental checkpoints,
// restore of state + offsets + sink transactions, fallback past corrupt checkpoints, savepoints, journals, retention.
import { pipe, Subject, Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { settler } from './support/settle.js';
import {
  boundedOutOfOrderness,
  callbackSink,
  count,
  fromArray,
  fromObservable,
  JobError,
  memoryStore,
  runJob,
  toArray,
  tumblingWindows,
  valueState,
  type CheckpointInfo,
  type StateStore,
  type WindowResult,
} from '../src/index.js';
import { aggregate, eventTime, keyBy, map, process, window } from '../operators/index.js';
import { ManualScheduler } from '../testing/index.js';
import { gated as gatedSource, gatedAt, wideNarrow } from './support/gated.js';

interface Click {
  readonly user: string;
  readonly ts: number;
}

const clicks: Click[] = Array.from({ length: 40 }, (_, i) => ({ user: ['a', 'b', 'c'][i % 3] as string, ts: i * 100 }));

/** running count per user (process state): each click with its user's count so far */
function runningCount(name = 'running') {
  return pipe(
    eventTime((c: Click) => c.ts, boundedOutOfOrderness(0, { interval: 0 })),
    keyBy((c: Click) => c.user),
    process<Click, string, Click & { n: number }, { n: ReturnType<typeof valueState<number>> }>({
      name,
      state: { n: valueState<number>() },
      onElement(c, ctx) {
        const n = (ctx.state.n.get() ?? 0) + 1;
        ctx.state.n.set(n);
        ctx.emit({ ...c, n });
      },
    }),
  );
}

/** running count per user (process state) → clicks per user and second (window state) */
function pipeline(names: { process?: string; window?: string } = {}) {
  return pipe(runningCount(names.process), window(tumblingWindows(1000), { name: names.window ?? 'per-second' }), aggregate(count()));
}

type Out = WindowResult<string, number>;

async function uninterrupted(n = clicks.length): Promise<Out[]> {
  const out = toArray<Out>();
  await runJob({ name: 'reference', source: fromArray(clicks.slice(0, n)), pipeline: pipeline(), sink: out }).done;
  return [...out.values];
}

const gated = (gateAt: number) => gatedSource(clicks, gateAt);

const manual = (store: StateStore, retain = 3) => ({ intervalMs: 1e9, store, retain });

describe('checkpointed jobs', () => {
  it('a job stopped after a checkpoint resumes from it: state, windows, offsets and sink transactions, exactly once', async () => {
    const expected = await uninterrupted();
    const store = memoryStore();
    const out = toArray<Out>();
    const g = gated(25);
    const job1 = runJob({ name: 'clicks', source: g.source, pipeline: pipeline(), sink: out, checkpoint: manual(store) });
    const infos: CheckpointInfo[] = [];
    job1.checkpoints$.subscribe((c) => infos.push(c));
    await g.reached;
    const info = await job1.triggerCheckpoint();
    expect(info).toMatchObject({ id: 1, full: true, savepoint: false, sourceOffsets: [25] });
    expect(info.entries).toBe(3 + 3 + 3); // per user: the running count, the open window's count and its order (sequence number)
    expect(infos).toStrictEqual([info]);
    // committed: the windows [0, 1000) and [1000, 2000) of every user
    expect(out.values).toStrictEqual(expected.slice(0, 6));
    // "crash": stop without a checkpoint; records after checkpoint 1 were never committed
    await job1.stop();
    expect((await job1.done).state).toBe('stopped');

    const job2 = runJob({ name: 'clicks', source: g.source, pipeline: pipeline(), sink: out, checkpoint: manual(store) });
    const s2 = await job2.done;
    expect(s2).toMatchObject({ state: 'finished', restoredFrom: 1, lastCheckpoint: 2, recordsIn: 15, skipped: [] });
    expect(out.values).toStrictEqual(expected);
  });

  it('the last checkpoint, after the end of input, holds the operators as finished: their clocks, no keyed state (as in Flink)', async () => {
    const store = memoryStore();
    const first = runJob({ name: 'fin', source: fromArray(clicks), pipeline: pipeline(), sink: toArray<Out>(), checkpoint: manual(store) });
    const infos: CheckpointInfo[] = [];
    first.checkpoints$.subscribe((c) => infos.push(c));
    expect(await first.done).toMatchObject({ state: 'finished', lastCheckpoint: 1 });
    expect(infos.map((c) => [c.id, c.full, c.entries, c.sourceOffsets])).toStrictEqual([[1, true, 0, [40]]]);
    const loaded = await store.loadCheckpoint('fin', 'latest');
    expect(loaded?.operators.map((o) => [o.operator, o.full, o.entries.length, o.watermark])).toStrictEqual([
      ['per-second', true, 0, '{"$n":"Infinity"}'],
      ['running', true, 0, '{"$n":"Infinity"}'],
    ]);
    // resumed with more input: the records come after the end of event time, into operators that kept no state
    const warnings: string[] = [];
    const out = toArray<Click & { n: number }>();
    const more: Click[] = [...clicks, { user: 'a', ts: 9_000 }];
    const resumed = await runJob({
      name: 'fin',
      source: fromArray(more),
      pipeline: runningCount(),
      sink: out,
      checkpoint: manual(store),
      allowNonRestoredState: true,
      onWarning: (m) => warnings.push(m),
    }).done;
    expect(resumed).toMatchObject({ state: 'finished', restoredFrom: 1, recordsIn: 1 });
    expect(out.values).toStrictEqual([{ user: 'a', ts: 9_000, n: 1 }]);
    expect(warnings).toStrictEqual([
      'runJob(fin): running: a record arrived after the end of event time (watermark MAX_WATERMARK); it is processed, but event-time timers it registers never fire, and a window it belongs to has already fired. The operator was restored from a checkpoint taken after the end of input: it had finished, and its keyed state was not kept (docs/SEMANTICS.md §8). To go on with more input, resume from a savepoint taken before the input ended, job.stop({ savepoint: true }) (metric recordsAfterEndOfInput counts them).',
    ]);
  });

  it('the last checkpoint of a parallel job holds the finished operators at MAX_WATERMARK too (its subtasks combined)', async () => {
    const store = memoryStore();
    await runJob({ name: 'fin2', source: fromArray(clicks), pipeline: pipeline(), parallelism: 2, checkpoint: manual(store) }).done;
    const loaded = await store.loadCheckpoint('fin2', 'latest');
    const ended = '{"watermark":{"$n":"Infinity"},"inputs":[{"$n":"Infinity"},0,{"$n":"Infinity"},{"$n":"Infinity"},0,0,1,1],"merge":1}';
    expect(loaded?.operators.map((o) => [o.operator, o.full, o.entries.length, o.watermark])).toStrictEqual([
      // (the merge of the copies' outputs, and the keyBy exchange's merge in each copy: every input ended)
      ['runJob/outputs', true, 0, ended],
      ['per-second', true, 0, '{"$n":"Infinity"}'],
      ['running', true, 0, '{"$n":"Infinity"}'],
      ['runJob/keyBy@0', true, 0, `{"watermark":{"$n":"Infinity"},"subtasks":[${ended},${ended}]}`],
      // (where the job's dealing of records to its copies goes on: the copy the next record would go to)
      ['runJob@dealing', true, 0, expect.stringMatching(/^[01]$/)],
    ]);
  });

  it('stop({ savepoint: true }) after the input ended warns that the savepoint holds finished operators', async () => {
    const store = memoryStore();
    let stopped: Promise<void> | undefined;
    // the stop comes while the last checkpoint is being written
    const writing: StateStore = Object.create(store) as StateStore;
    writing.writeCheckpoint = (w) => {
      stopped ??= job.stop({ savepoint: true });
      return store.writeCheckpoint(w);
    };
    const warnings: string[] = [];
    const job = runJob({ name: 'late-sp', source: fromArray(clicks), pipeline: pipeline(), checkpoint: manual(writing), onWarning: (m) => warnings.push(m) });
    expect((await job.done).state).toBe('stopped');
    await stopped;
    expect(warnings).toStrictEqual([
      'runJob(late-sp): stop({ savepoint: true }) came after the input had ended, so the operators have finished and the savepoint holds no keyed state (docs/SEMANTICS.md §8). To carry state on, take the savepoint while the input runs.',
    ]);
    expect((await store.listCheckpoints('late-sp')).map((c) => [c.id, c.savepoint, c.entries])).toStrictEqual([
      [2, true, 0],
      [1, false, 0],
    ]);
  });

  it('stop({ savepoint: true }) after the job ended is refused saying so (no savepoint can be taken); a plain stop() resolves', async () => {
    const store = memoryStore();
    const job = runJob({ name: 'ended-sp', source: fromArray(clicks), pipeline: pipeline(), checkpoint: manual(store) });
    await job.done;
    await expect(job.stop({ savepoint: true })).rejects.toThrow(
      'runJob(ended-sp): stop({ savepoint: true }) came after the job ended: no savepoint can be taken (its last checkpoint is 1). To carry state on, take the savepoint while the input runs.',
    );
    await expect(job.stop()).resolves.toBeUndefined();
  });

  it('checkpoints are incremental: only state that changed since the previous one', async () => {
    const store = memoryStore();
    const input = new Subject<Click>();
    const job = runJob({ name: 'inc', source: fromObservable(input), pipeline: pipeline(), checkpoint: manual(store) });
    await new Promise((r) => setTimeout(r, 0));
    input.next({ user: 'a', ts: 0 });
    input.next({ user: 'b', ts: 10 });
    await new Promise((r) => setTimeout(r, 0)); // the job reads what arrived
    const first = await job.triggerCheckpoint();
    input.next({ user: 'a', ts: 20 });
    await new Promise((r) => setTimeout(r, 0));
    const second = await job.triggerCheckpoint();
    const third = await job.triggerCheckpoint();
    expect([first.full, second.full, third.full]).toStrictEqual([true, false, false]);
    // first: a's and b's running count, window count and order in the window; then only a's running count and window count
    expect([first.entries, second.entries, third.entries]).toStrictEqual([6, 2, 0]);
    const loaded = await store.loadCheckpoint('inc', 'latest');
    expect(loaded?.parent).toBe(2);
    // restored, the chain 1 ← 2 ← 3 folds into full snapshots
    expect(loaded?.operators.map((o) => [o.operator, o.full, o.entries.map((e) => e.path)])).toStrictEqual([
      ['running', true, ['["s","n","value","","\\"a\\""]', '["s","n","value","","\\"b\\""]']],
      ['per-second', true, ['["s","contents","aggregating",0,"\\"a\\""]', '["s","contents","aggregating",0,"\\"b\\""]', '["s","order","value",0,"\\"a\\""]', '["s","order","value",0,"\\"b\\""]']],
    ]);
    await job.stop();
  });

  it('an operator most of whose state changed writes a full snapshot inside an incremental checkpoint; the mixed chain restores exactly', async () => {
    // 'wide' keeps a count per user (10 000 users), 'narrow' one total: after 6 000 of the users changed, wide's
    // snapshot is full (tracking stopped at half its state) while narrow's is a delta
    const input: Click[] = [
      ...Array.from({ length: 10_000 }, (_, i) => ({ user: `u${i}`, ts: i })),
      ...Array.from({ length: 6_000 }, (_, i) => ({ user: `u${i}`, ts: 10_000 + i })),
      ...Array.from({ length: 100 }, (_, i) => ({ user: `u${i * 7}`, ts: 16_000 + i })),
    ];
    const reference = toArray<number>();
    await runJob({ name: 'ref', source: fromArray(input), pipeline: wideNarrow(), sink: reference }).done;

    // a source that pauses before indexes 10 000 and 16 000 on its first run
    const { source, gates } = gatedAt(input, [10_000, 16_000]);
    const store = memoryStore();
    const out = toArray<number>();
    const job1 = runJob({ name: 'mixed', source, pipeline: wideNarrow(), sink: out, checkpoint: manual(store) });
    const taken: CheckpointInfo[] = [];
    for (const g of gates) {
      await g.reached;
      taken.push(await job1.triggerCheckpoint());
      if (g.at !== 16_000) g.open();
    }
    await job1.stop();
    // 1: both full; 2: wide whole (10 000) + narrow's delta (1). (A third would be a full checkpoint: the chain would
    // then hold the state three times over.)
    expect(taken.map((c) => [c.id, c.full, c.entries])).toStrictEqual([
      [1, true, 10_001],
      [2, false, 10_001],
    ]);
    const job2 = await runJob({ name: 'mixed', source, pipeline: wideNarrow(), sink: out, checkpoint: manual(store) }).done;
    expect(job2.restoredFrom).toBe(2);
    expect(out.values).toStrictEqual(reference.values);
  });

  it('refuses a checkpoint with state of an operator the pipeline lacks, unless allowNonRestoredState', async () => {
    const store = memoryStore();
    await runJob({ name: 'j', source: fromArray(clicks.slice(0, 5)), pipeline: pipeline(), checkpoint: manual(store) }).done;
    const renamed = runJob({ name: 'j', source: fromArray(clicks.slice(0, 5)), pipeline: pipeline({ process: 'counting' }), checkpoint: manual(store) });
    await expect(renamed.done).rejects.toThrow(JobError);
    await expect(renamed.done).rejects.toThrow(
      "runJob(j): checkpoint 1 holds state of operator(s) 'running' that the pipeline lacks (it has: 'counting', 'per-second'). Name the operators as before (name: '…'), or pass allowNonRestoredState: true to drop that state.",
    );
    const allowed = await runJob({
      name: 'j',
      source: fromArray(clicks.slice(0, 5)),
      pipeline: pipeline({ process: 'counting' }),
      checkpoint: manual(store),
      allowNonRestoredState: true,
    }).done;
    expect(allowed).toMatchObject({ state: 'finished', restoredFrom: 1, lastCheckpoint: 2 });
  });

  it('skips a corrupt newest checkpoint, says why, and restores the previous one', async () => {
    const expected = await uninterrupted();
    const store = memoryStore();
    const out = toArray<Out>();
    const g = gated(30);
    const job1 = runJob({ name: 'c', source: g.source, pipeline: pipeline(), sink: out, checkpoint: manual(store) });
    await g.reached;
    await job1.triggerCheckpoint();
    await job1.triggerCheckpoint();
    await job1.stop();
    // flip a character in checkpoint 2's manifest
    const [key, value] = (await store.kv.range('', '\uffff')).find(([k, v]) => k.includes('2') && v.includes('"id":2')) ?? ['', ''];
    expect(key).not.toBe('');
    await store.kv.batch([{ type: 'put', key, value: value.replace('"id":2', '"id":3') }]);
    const warnings: string[] = [];
    const s2 = await runJob({ name: 'c', source: g.source, pipeline: pipeline(), sink: out, checkpoint: manual(store), onWarning: (m) => warnings.push(m) }).done;
    expect(warnings).toStrictEqual(['runJob(c): restoring checkpoint 1 instead of checkpoint 2, the newest in memory; skipped checkpoint 2 (checksum mismatch in manifest).']);
    expect(s2.restoredFrom).toBe(1);
    expect(s2.skipped).toStrictEqual([{ id: 2, kind: 'checksum-mismatch', reason: 'checksum mismatch in manifest' }]);
    expect(s2.lastCheckpoint).toBe(3); // ids never reused
    expect(out.values).toStrictEqual(expected);
  });

  it('stop({ savepoint }) takes a full savepoint that survives retention and restores in another store', async () => {
    const expected = await uninterrupted();
    const store = memoryStore();
    const out = toArray<Out>();
    const g = gated(20);
    const job1 = runJob({ name: 'sp', source: g.source, pipeline: pipeline(), sink: out, checkpoint: manual(store, 1) });
    await g.reached;
    await job1.triggerCheckpoint();
    await job1.stop({ savepoint: true });
    expect((await store.listCheckpoints('sp')).map((c) => [c.id, c.savepoint])).toStrictEqual([
      [2, true],
      [1, false],
    ]);
    const file = await store.exportSavepoint('sp', 2);
    const other = memoryStore();
    await other.importSavepoint(file);
    const s2 = await runJob({ name: 'sp', source: g.source, pipeline: pipeline(), sink: out, checkpoint: manual(other) }).done;
    expect(s2.restoredFrom).toBe(2);
    expect(out.values).toStrictEqual(expected);
  });

  it('stop({ drain }) ends the input: every window fires and the last transaction commits', async () => {
    const expected = await uninterrupted(35);
    const store = memoryStore();
    const out = toArray<Out>();
    const g = gated(35);
    const job = runJob({ name: 'drain', source: g.source, pipeline: pipeline(), sink: out, checkpoint: manual(store) });
    await g.reached;
    await job.stop({ drain: true });
    expect(await job.done).toMatchObject({ state: 'stopped', lastCheckpoint: 1 });
    expect(out.values).toStrictEqual(expected);
  });

  it('journals a live source: values after the checkpoint are replayed on restore, exactly once', async () => {
    const store = memoryStore();
    const journal = memoryStore();
    const out = toArray<number>();
    const double = pipe(map((x: number) => x * 2));
    const live1 = new Subject<number>();
    const job1 = runJob({ name: 'live', source: fromObservable(live1, { journal }), pipeline: double, sink: out, checkpoint: manual(store) });
    await new Promise((r) => setTimeout(r, 0));
    live1.next(1);
    live1.next(2);
    await new Promise((r) => setTimeout(r, 5));
    expect((await job1.triggerCheckpoint()).sourceOffsets).toStrictEqual([2]);
    live1.next(3);
    live1.next(4);
    await new Promise((r) => setTimeout(r, 5));
    await job1.stop(); // crash: 3 and 4 were processed but never committed
    expect(out.values).toStrictEqual([2, 4]);
    // what checkpoint 1 covers is no longer needed
    expect(await journal.readJournal('live/source-0', 0)).toStrictEqual(['3', '4']);

    const live2 = new Subject<number>();
    const job2 = runJob({ name: 'live', source: fromObservable(live2, { journal }), pipeline: double, sink: out, checkpoint: manual(store) });
    await new Promise((r) => setTimeout(r, 5));
    live2.next(5);
    live2.complete();
    expect(await job2.done).toMatchObject({ restoredFrom: 1, recordsIn: 3 });
    expect(out.values).toStrictEqual([2, 4, 6, 8, 10]);
    // entries before the oldest retained checkpoint's offset stay gone
    expect(await journal.readJournal('live/source-0', 0)).toStrictEqual(['3', '4', '5']);
  });

  it('keeps the newest `retain` checkpoints', async () => {
    const store = memoryStore();
    const input = new Subject<Click>();
    const job = runJob({ name: 'r', source: fromObservable(input), pipeline: pipeline(), checkpoint: manual(store, 2) });
    for (let i = 0; i < 5; i++) {
      input.next(clicks[i] as Click);
      await job.triggerCheckpoint();
    }
    // 5 is a delta on 4; 4 on 3 … back to the full 1: the chain keeps them all until a full one is taken
    const ids = (await store.listCheckpoints('r')).map((c) => c.id);
    expect(ids.slice(0, 2)).toStrictEqual([5, 4]);
    await job.stop();
  });

  it('reads its source on when every checkpoint takes longer than the interval (a store and sink that settle in microtasks)', async () => {
    // (from a review of linear costs: the next checkpoint, due at once, started in the settling promise's chain, and
    // so on — the source was never read again and no timer ran: the job never ended)
    const n = 20_000;
    let written = 0;
    const slowPreCommit = (): void => {
      const until = performance.now() + 2; // each checkpoint takes 2 ms, twice the interval
      while (performance.now() < until);
    };
    const job = runJob({
      name: 'slow-checkpoints',
      source: fromArray(Array.from({ length: n }, (_, i) => i)),
      pipeline: pipe(map((x: number) => x)),
      sink: callbackSink<number>({ write: () => void written++, preCommit: slowPreCommit }),
      checkpoint: { intervalMs: 1, store: memoryStore() },
      batchSize: 16,
    });
    let checkpoints = 0;
    job.checkpoints$.subscribe(() => checkpoints++);
    await job.done;
    expect(written).toBe(n);
    expect(checkpoints).toBeGreaterThan(1);
  }, 30_000);

  it('takes periodic checkpoints on the scheduler while the source is idle', async () => {
    const store = memoryStore();
    const input = new Subject<Click>();
    const job = runJob({ name: 'p', source: fromObservable(input), pipeline: pipeline(), checkpoint: { intervalMs: 5, store } });
    const ids: number[] = [];
    // (waits for them rather than a fixed wall-clock time: a loaded CI machine may start the job late)
    await new Promise<void>((resolve) =>
      job.checkpoints$.subscribe((c) => {
        ids.push(c.id);
        if (ids.length === 3) resolve();
      }),
    );
    await job.stop();
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(ids.slice(0, 3)).toStrictEqual([1, 2, 3]);
  });
});

describe('jobs on a virtual clock', () => {
  it('the pump yields every 5 ms of scheduler time, every 1 ms while a checkpoint is being written (its store requests wait for the yields)', async () => {
    // A clock that moves 1 ms per record (the pipeline moves it) and a queue of the tasks the job schedules, run one at
    // a time by the test: each task the pump runs is one slice, and the records it pushed are counted.
    let now = 0;
    const tasks: { due: number; run: () => void }[] = [];
    const clock: SchedulerLike = {
      now: () => now,
      schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
        const sub = new Subscription();
        const action = Object.assign(sub, { schedule: (_s?: T, d = 0) => (clock.schedule(work, d, _s), action) }) as unknown as SchedulerAction<T>;
        tasks.push({ due: now + delay, run: () => void (sub.closed || work.call(action, state)) });
        return sub;
      },
    };
    const store = memoryStore();
    const writes: (() => void)[] = [];
    const gated: StateStore = Object.create(store) as StateStore;
    // a checkpoint's write completes only when the test lets it
    gated.writeCheckpoint = (w) => new Promise<void>((resolve) => writes.push(resolve)).then(() => store.writeCheckpoint(w));
    let pushed = 0;
    const job = runJob({
      name: 'slices',
      source: fromArray(Array.from({ length: 200 }, (_, i) => i)),
      pipeline: pipe(map((v: number) => ((now += 1), pushed++, v))),
      sink: callbackSink<number>({ write: () => undefined }),
      checkpoint: { intervalMs: 12, store: gated },
      batchSize: 1,
      scheduler: clock,
    });
    const slices: string[] = [];
    for (let step = 0; step < 40 && (tasks.length > 0 || writes.length > 0); step++) {
      // once a checkpoint has been written for four slices, it completes
      if (writes.length > 0 && slices.filter((x) => x.endsWith('writing')).length % 4 === 0 && slices.at(-1)?.endsWith('writing') === true) {
        (writes.shift() as () => void)();
        await new Promise((r) => setTimeout(r, 0));
      }
      const i = tasks.findIndex((t) => t.due <= now);
      if (i < 0) {
        await new Promise((r) => setTimeout(r, 0));
        continue;
      }
      const [task] = tasks.splice(i, 1);
      const writing = writes.length > 0;
      const before = pushed;
      task?.run();
      await new Promise((r) => setTimeout(r, 0));
      if (pushed > before) slices.push(`${pushed - before}${writing ? ' writing' : ''}`);
    }
    // the stop (and the last checkpoint's write) go on the same queue
    let done = false;
    const stopped = job.stop().then(() => void (done = true));
    for (let i = 0; i < 200 && !done; i++) {
      for (const w of writes.splice(0)) w();
      for (const t of tasks.splice(0)) t.run();
      await new Promise((r) => setTimeout(r, 0));
    }
    await stopped;
    // 5 records (5 ms) a slice; the checkpoint due at 12 ms starts within the third slice, which then ends after 1 ms
    // more: 1 record a slice while it is written, 5 again once it completed (at 17 ms), until the next one starts (at
    // 24 ms, within a slice that then ends 1 ms later)
    expect(slices.slice(0, 12)).toStrictEqual(['5', '5', '3', '1 writing', '1 writing', '1 writing', '1 writing', '5', '3', '1 writing', '1 writing', '1 writing']);
  });

  it('checkpoints asked for while one is settling are taken when it has, without the clock moving', async () => {
    const clock = new ManualScheduler(0);
    const input = new Subject<string>();
    const job = runJob({ name: 'asked', source: fromObservable(input), pipeline: pipe(map((s: string) => s)), sink: toArray<string>(), checkpoint: { intervalMs: 1_000_000, store: memoryStore() }, scheduler: clock });
    clock.advanceBy(0);
    expect((await job.triggerCheckpoint()).id).toBe(1);
    // asked for while checkpoint 1 is still settling: taken when it has, not when the clock next moves (it never does
    // here: before, this waited for the clock, and the test timed out)
    const [first, second] = await Promise.all([job.triggerCheckpoint(), job.triggerCheckpoint()]);
    expect(first.id).toBeGreaterThanOrEqual(2);
    expect(second.id).toBeGreaterThanOrEqual(first.id);
    const stopped = job.stop();
    clock.advanceBy(0);
    await stopped;
  });

  it('a virtual clock moved an hour ahead in one step fails no checkpoint: the timeout is a watchdog in real time', async () => {
    const clock = new ManualScheduler(0);
    const input = new Subject<string>();
    const out = toArray<string>();
    const job = runJob({ name: 'jump', source: fromObservable(input), pipeline: pipe(map((s: string) => s.toUpperCase())), sink: out, checkpoint: { intervalMs: 1_000, store: memoryStore() }, scheduler: clock });
    const settle = settler(clock);
    await settle();
    input.next('a');
    await settle();
    clock.advanceBy(3_600_000); // (checkpoint 1 starts at 1 000, within the step; its write settles after it)
    await settle();
    input.next('b');
    await settle();
    clock.advanceBy(1_000);
    await settle();
    const stopped = job.stop();
    await settle();
    await stopped;
    const summary = await job.done;
    expect([summary.state, summary.checkpointsCompleted >= 2, out.values]).toStrictEqual(['stopped', true, ['A', 'B']]);
  });

  it('checkpoints every intervalMs of scheduler time, and processing-time state follows the same clock', async () => {
    const clock = new ManualScheduler(0);
    const settle = settler(clock);
    const store = memoryStore();
    const input = new Subject<string>();
    const out = toArray<string>();
    const job = runJob({
      name: 'virtual',
      source: fromObservable(input),
      pipeline: pipe(
        keyBy((s: string) => s),
        process<string, string, string, Record<string, never>>({
          onElement(_s, ctx) {
            ctx.timers.registerProcessingTime(ctx.currentProcessingTime + 1_500);
          },
          onTimer(ts, ctx) {
            ctx.emit(`${ctx.key} @ ${ts}`);
          },
        }),
      ),
      sink: out,
      checkpoint: { intervalMs: 1_000, store },
      scheduler: clock,
    });
    const seen: [number, number][] = [];
    job.checkpoints$.subscribe((c) => seen.push([c.id, clock.now()]));
    await settle();
    input.next('a');
    await settle();
    clock.advanceBy(999);
    await settle();
    expect(seen).toStrictEqual([]);
    clock.advanceBy(1);
    await settle();
    expect(seen).toStrictEqual([[1, 1_000]]);
    clock.advanceBy(500); // the timer fires at 1 500 …
    await settle();
    expect(out.values).toStrictEqual([]); // … but its output commits only with checkpoint 2
    clock.advanceBy(500);
    await settle();
    expect(seen).toStrictEqual([
      [1, 1_000],
      [2, 2_000],
    ]);
    expect(out.values).toStrictEqual(['a @ 1500']);
    await job.stop();
  });
  /**
   * A job whose checkpoint 1 takes 800 ms of scheduler time (its sink's pre-commit waits until the test lets it go at
   * 1 800): the times at which the sink's pre-commits start, checkpoint 2 asked for by the clock.
   */
  const slowFirstCheckpoint = async (minPauseMs: number | undefined): Promise<number[]> => {
    const clock = new ManualScheduler(0);
    const settle = settler(clock);
    let release: (() => void) | undefined;
    const started: number[] = [];
    const job = runJob({
      name: 'paused',
      source: fromObservable(new Subject<string>()),
      pipeline: pipe(map((s: string) => s)),
      sink: callbackSink<string>({
        write: () => undefined,
        preCommit: (id) => {
          started.push(clock.now());
          if (id === 1) return new Promise<void>((r) => (release = r));
        },
      }),
      checkpoint: { intervalMs: 1_000, store: memoryStore(), ...(minPauseMs === undefined ? {} : { minPauseMs }) },
      scheduler: clock,
    });
    await settle();
    for (const t of [1_000, 1_800, 2_000, 2_199, 2_200]) {
      clock.advanceBy(t - clock.now());
      await settle();
      if (t === 1_800) release?.();
      await settle();
    }
    await job.stop();
    return started;
  };

  it('waits minPauseMs after a checkpoint ended before the next one due by the clock starts', async () => {
    // checkpoint 1 runs 1 000 → 1 800: without a pause checkpoint 2 starts when due (2 000), with a pause of 400 at
    // 1 800 + 400 = 2 200 (Flink's minPauseBetweenCheckpoints)
    expect(await slowFirstCheckpoint(undefined)).toStrictEqual([1_000, 2_000]);
    expect(await slowFirstCheckpoint(400)).toStrictEqual([1_000, 2_200]);
    // a pause shorter than what is left of the interval changes nothing
    expect(await slowFirstCheckpoint(100)).toStrictEqual([1_000, 2_000]);
  });

  it('takes a checkpoint asked for during the pause at once', async () => {
    const clock = new ManualScheduler(0);
    const job = runJob({ name: 'asked-in-pause', source: fromObservable(new Subject<string>()), pipeline: pipe(map((s: string) => s)), sink: toArray<string>(), checkpoint: { intervalMs: 1_000, minPauseMs: 1_000_000, store: memoryStore() }, scheduler: clock });
    clock.advanceBy(0);
    expect((await job.triggerCheckpoint()).id).toBe(1);
    expect((await job.triggerCheckpoint()).id).toBe(2);
    const stopped = job.stop();
    clock.advanceBy(0);
    await stopped;
  });
});
