// Recovery corner cases (memoryStore; Node and Chromium): checkpoints and stops asked for from inside the pipeline,
// stops while a read is in flight, journals with savepoints, failures during a checkpoint write, idle sources next to
// busy ones, bounded delta chains across restarts, unusable checkpoints.
import { pipe, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { fromArray, fromObservable, JobError, memoryStore, runJob, toArray, valueState, type Source, type StateStore } from '../src/index.js';
import { keyBy, map, process } from '../operators/index.js';
import { gated, gatedAt, runningSum } from './support/gated.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const sums = (n: number): number[] => Array.from({ length: n }, (_, i) => ((i + 1) * (i + 2)) / 2);
const values = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
/** A source whose every read throws 'crash' (a run that fails before its first checkpoint). */
const crashingSource = (): Source<number> => ({
  description: 'failing',
  open: () => ({
    read: () => {
      throw new Error('crash');
    },
    offset: () => '0',
    close: () => undefined,
  }),
});

/** A store whose checkpoint writes take `ms` (journal appends stay fast). */
function slowStore(ms: number): StateStore {
  const store = memoryStore();
  const kv = store.kv as unknown as { batch: (ops: readonly { key: string }[]) => Promise<void> };
  const batch = kv.batch.bind(kv);
  kv.batch = async (ops) => {
    if (ops.some((o) => o.key.startsWith('cp/'))) await sleep(ms);
    return batch(ops);
  };
  return store;
}

describe('recovery corner cases', () => {
  it('a checkpoint asked for from inside the pipeline is taken after the batch, at consistent offsets', async () => {
    const store = memoryStore();
    const out = toArray<number>();
    const job = runJob({ name: 'j', source: fromArray(values(20)), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store }, batchSize: 4 });
    let asked: Promise<unknown> | undefined;
    job.output$.subscribe((s) => {
      if (s === 6) asked ??= job.triggerCheckpoint(); // in the middle of the first batch of 4
    });
    expect(await job.done).toMatchObject({ lastCheckpoint: 2 });
    expect(await asked).toMatchObject({ id: 1, sourceOffsets: [4] });
    expect((await store.loadCheckpoint('j', 1))?.operators[0]?.entries.map((e) => e.value)).toStrictEqual(['[0,10]']);
    // going back to checkpoint 1 (rolling the committed output back to it: said so) gives the same output again
    await expect(runJob({ name: 'j', source: fromArray(values(20)), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store }, restore: 1 }).done).rejects.toThrow(
      'runJob(j): restore: 1 starts from checkpoint 1, but toArray already committed checkpoint 2 (20 values): starting from checkpoint 1 would discard the last 16. Restore checkpoint 2 or later, or pass discardCommitted: true to roll the output back to checkpoint 1.',
    );
    expect(out.values).toStrictEqual(sums(20));
    await runJob({ name: 'j', source: fromArray(values(20)), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store }, restore: 1, discardCommitted: true }).done;
    expect(out.values).toStrictEqual(sums(20));
  });

  it('toArray: a fresh start of a checkpointed job after values were committed is refused (they would be kept and committed again); with discardCommitted the array starts empty', async () => {
    const store = memoryStore();
    const out = toArray<number>();
    const run = (options: { readonly restore?: false; readonly discardCommitted?: boolean }) =>
      runJob({ name: 'fresh', source: fromArray(values(3)), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store }, ...options }).done;
    await run({});
    expect(out.values).toStrictEqual([1, 3, 6]);
    await expect(run({ restore: false })).rejects.toThrow(
      'runJob(fresh): restore: false starts empty, but toArray already committed checkpoint 1 (3 values): starting from scratch would discard them.',
    );
    expect(out.values).toStrictEqual([1, 3, 6]);
    await run({ restore: false, discardCommitted: true });
    expect(out.values).toStrictEqual([1, 3, 6]);
  });

  it('a stop from inside the pipeline waits for the batch; its savepoint covers exactly what was pushed', async () => {
    const store = memoryStore();
    const out = toArray<number>();
    const job = runJob({ name: 'j', source: fromArray(values(10)), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store }, batchSize: 4 });
    job.output$.subscribe((s) => {
      if (s === 3) void job.stop({ savepoint: true });
    });
    await job.done;
    const sp = await store.loadCheckpoint('j', 'latest');
    expect([sp?.savepoint, sp?.sources]).toStrictEqual([true, ['4']]);
    expect(out.values).toStrictEqual(sums(4));
    await runJob({ name: 'j', source: fromArray(values(10)), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store } }).done;
    expect(out.values).toStrictEqual(sums(10));
  });

  it('stop({ savepoint }) while a read is in flight: a value that arrives meanwhile is replayed, not lost', async () => {
    const store = slowStore(30);
    const journal = memoryStore();
    const out = toArray<number>();
    const live = new Subject<number>();
    const job = runJob({ name: 'j', source: fromObservable(live, { journal }), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store } });
    await sleep(10);
    live.next(1);
    await sleep(10);
    const first = job.triggerCheckpoint(); // being written for 30 ms
    await sleep(5);
    const stopped = job.stop({ savepoint: true }); // waits for it, then takes the savepoint
    live.next(2); // journaled and read meanwhile, but never pushed
    await first;
    await stopped;
    expect((await store.loadCheckpoint('j', 'latest'))?.sources).toStrictEqual(['1']);
    const live2 = new Subject<number>();
    const job2 = runJob({ name: 'j', source: fromObservable(live2, { journal }), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store } });
    await sleep(10);
    live2.next(3);
    live2.complete();
    await job2.done;
    expect(out.values).toStrictEqual(sums(3));
  });

  it('a checkpoint or a stop asked for from output$ while a timer\'s output goes out is taken after it (not injected into it)', async () => {
    // per key: the values' sum, emitted 5 ms (processing time) after the first
    const flushing = () =>
      pipe(
        map((v: number) => v),
        process<number, string, string, { sum: ReturnType<typeof valueState<number>> }>({
          name: 'flushEvery5ms',
          state: { sum: valueState<number>() },
          onElement(v, ctx) {
            const s = ctx.state.sum.get();
            if (s === undefined) ctx.timers.registerProcessingTime(ctx.currentProcessingTime + 5);
            ctx.state.sum.set((s ?? 0) + v);
          },
          onTimer(_ts, ctx) {
            ctx.emit(`flush ${ctx.state.sum.get()}`);
            ctx.state.sum.clear();
          },
        }),
      );
    for (const ask of ['checkpoint', 'stop'] as const) {
      const out = toArray<string>();
      const live = new Subject<number>();
      const job = runJob({ name: 'j', source: fromObservable(live), pipeline: pipe(keyBy(() => 'k'), flushing()), sink: out, checkpoint: { intervalMs: 1e9, store: memoryStore() } });
      const asked: Promise<unknown>[] = [];
      job.output$.subscribe(() => void asked.push(ask === 'checkpoint' ? job.triggerCheckpoint().then((c) => c.id) : job.stop({ savepoint: true })));
      await sleep(5);
      live.next(1);
      live.next(2);
      await sleep(30); // the timer fires: "flush 3"
      live.complete();
      const summary = await job.done;
      expect([ask, await Promise.all(asked), out.values, summary.state]).toStrictEqual([ask, [ask === 'checkpoint' ? 1 : undefined], ['flush 3'], ask === 'checkpoint' ? 'finished' : 'stopped']);
    }
  });

  it('stop() waits for the journal: values accepted while an append was in flight are journaled before the stop resolves', async () => {
    const store = memoryStore();
    // a journal whose appends take 20 ms (a slow disk)
    const journal = memoryStore();
    const kv = journal.kv as unknown as { batch: (ops: readonly { key: string }[]) => Promise<void> };
    const batch = kv.batch.bind(kv);
    kv.batch = async (ops) => {
      if (ops.some((o) => o.key.startsWith('jr/'))) await sleep(20);
      return batch(ops);
    };
    const out = toArray<number>();
    const live = new Subject<number>();
    const job = runJob({ name: 'j', source: fromObservable(live, { journal }), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store } });
    await sleep(5);
    for (const v of [1, 2, 3]) live.next(v); // 1 is being appended; 2 and 3 wait for it
    await sleep(5);
    await job.stop({ savepoint: true });
    expect(await journal.readJournal('j/source-0', 0)).toStrictEqual(['1', '2', '3']);
    // restarted at once on the same journal: the accepted values come first, then the new ones
    const live2 = new Subject<number>();
    const job2 = runJob({ name: 'j', source: fromObservable(live2, { journal }), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store } });
    await sleep(60);
    for (const v of [4, 5]) live2.next(v);
    await sleep(60);
    live2.complete();
    await job2.done;
    expect(out.values).toStrictEqual(sums(5));
  });

  it('the journal keeps what savepoints need: restoring an old savepoint replays the right values', async () => {
    const store = memoryStore();
    const cfg = { intervalMs: 1e9, store, retain: 1 };
    const run = async (restore: 'latest' | number, feed: (s: Subject<number>, job: ReturnType<typeof runJob<number, number>>) => Promise<void>) => {
      const live = new Subject<number>();
      const out = toArray<number>();
      const job = runJob({ name: 'j', source: fromObservable(live, { journal: store }), pipeline: runningSum(), sink: out, checkpoint: cfg, restore });
      await sleep(5);
      await feed(live, job);
      return out.values;
    };
    await run('latest', async (s, job) => {
      s.next(1);
      s.next(2);
      await sleep(5);
      await job.stop({ savepoint: true }); // savepoint 1 at offset 2
    });
    await run('latest', async (s, job) => {
      s.next(3);
      s.next(4);
      await sleep(5);
      await job.triggerCheckpoint(); // checkpoint 2 at offset 4 (retain 1)
      s.next(5);
      await sleep(5);
      await job.stop();
    });
    const back = await run(1, async (s, job) => {
      s.next(6);
      await sleep(5);
      await job.stop({ drain: true });
    });
    // from savepoint 1 (sum 3): the journal replays 3, 4, 5, then 6 arrives
    expect(back).toStrictEqual([6, 10, 15, 21]);
  });

  it('a read failing after stop({ drain: true }) is of no consequence: the job drains, its last checkpoint written and committed, and a restart publishes nothing twice', async () => {
    // the drain's last checkpoint is being written (a slow store) when the read that was in flight fails
    const store = slowStore(40);
    const out = toArray<number>();
    let job: ReturnType<typeof runJob<number, number>> | undefined;
    let stopped: Promise<void> | undefined;
    const source: Source<number> = {
      description: 'net',
      open(offset) {
        let i = offset === undefined ? 0 : Number(offset);
        return {
          async read() {
            if (i >= 12) {
              stopped ??= (job as ReturnType<typeof runJob<number, number>>).stop({ drain: true });
              await sleep(15);
              throw new Error('connection reset');
            }
            await sleep(1);
            const batch = values(12).slice(i, i + 3);
            i += batch.length;
            return { values: batch, done: false };
          },
          offset: () => String(i),
          close: () => undefined,
        };
      },
    };
    job = runJob({ name: 'j', source, pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store } });
    const summary = await job.done;
    await stopped;
    expect([summary.state, summary.lastCheckpoint]).toStrictEqual(['stopped', 1]);
    expect(out.values).toStrictEqual(sums(12));
    // (restored after the end of input: the values published stay as they are)
    const again = await runJob({ name: 'j', source: fromArray<number>([]), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store } }).done;
    expect(again.restoredFrom).toBe(1);
    expect(out.values).toStrictEqual(sums(12));
  });

  it('a job failing while a checkpoint is written settles after it and commits nothing more; a restart is exactly once', async () => {
    const store = slowStore(50);
    const out = toArray<number>();
    let poisoned = true;
    const pipeline = () =>
      pipe(
        map((v: number) => {
          if (v === 15 && poisoned) {
            poisoned = false;
            throw new Error('transient failure at 15');
          }
          return v;
        }),
        runningSum(),
      );
    const g = gated(values(20), 10);
    const job1 = runJob({ name: 'j', source: g.source, pipeline: pipeline(), sink: out, checkpoint: { intervalMs: 1e9, store } });
    job1.checkpoints$.subscribe({ error: () => undefined });
    await g.reached;
    void job1.triggerCheckpoint().catch(() => undefined);
    g.open();
    await expect(job1.done).rejects.toThrow('transient failure at 15');
    expect(out.values).toStrictEqual([]); // checkpoint 1 is durable, but a failed job does not commit
    const s2 = await runJob({ name: 'j', source: fromArray(values(20)), pipeline: pipeline(), sink: out, checkpoint: { intervalMs: 1e9, store } }).done;
    expect(s2.restoredFrom).toBe(1);
    expect(out.values).toStrictEqual(sums(20));
  });

  it('an idle asynchronous source does not hold back the others', async () => {
    const idle = new Subject<number>();
    const out = toArray<number>();
    const job = runJob({ name: 'j', source: [fromObservable(idle), fromArray([1, 2, 3])], pipeline: pipe(map((x: number) => x)), sink: out });
    await sleep(20);
    expect(out.values).toStrictEqual([1, 2, 3]);
    idle.next(99);
    idle.complete();
    await job.done;
    expect(out.values).toStrictEqual([1, 2, 3, 99]);
  });

  it('a job restarted again and again keeps its delta chains short (a full checkpoint after each restore from a delta)', async () => {
    const store = memoryStore();
    const live = () => new Subject<number>();
    for (let run = 0; run < 8; run++) {
      const s = live();
      const job = runJob({ name: 'j', source: fromObservable(s), pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store, retain: 2 } });
      await sleep(2);
      for (let i = 0; i < 2; i++) {
        s.next(1);
        await sleep(1);
        await job.triggerCheckpoint();
      }
      await job.stop();
    }
    const list = await store.listCheckpoints('j');
    expect(list.map((c) => [c.id, c.parent ?? null])).toStrictEqual([
      [16, 15],
      [15, null],
    ]);
  });

  it('refuses to start from scratch when checkpoints exist but none is usable, and restore: false starts over', async () => {
    const store = memoryStore();
    // a checkpoint while the job runs (the last one, after the end of input, holds no keyed state), then a crash
    const g = gated(values(3), 3);
    const first = runJob({ name: 'j', source: g.source, pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store } });
    await g.reached;
    await first.triggerCheckpoint();
    await first.stop();
    const [key, value] = (await store.kv.range('cp/j/c/', 'cp/j/c0'))[0] ?? ['', ''];
    expect(key).not.toBe('');
    await store.kv.batch([{ type: 'put', key, value: value.replace('[', '[ ') }]);
    const job = runJob({ name: 'j', source: fromArray(values(3)), pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store } });
    await expect(job.done).rejects.toThrow(JobError);
    await expect(job.done).rejects.toThrow(`runJob(j): none of the 1 checkpoint(s) 1 is usable (torn or corrupt) in ${store.description}; restore another one, or pass restore: false to start over.`);
    const out = toArray<number>();
    const s = await runJob({ name: 'j', source: fromArray(values(3)), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store }, restore: false }).done;
    expect([s.restoredFrom, s.lastCheckpoint, out.values]).toStrictEqual([undefined, 2, sums(3)]); // ids never repeat
    expect((await store.listCheckpoints('j')).map((c) => c.id)).toStrictEqual([2]); // the old timeline is gone
  });

  it('restore: <id> rolls back: the checkpoints after it (not savepoints) go, so a restart before the new timeline\'s first checkpoint resumes from it; ids go on', async () => {
    const store = memoryStore();
    const g = gatedAt(values(8), [2, 4, 6, 8]);
    const first = runJob({ name: 'rb', source: g.source, pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store, retain: 10 } });
    for (const gate of g.gates) {
      await gate.reached;
      await first.triggerCheckpoint();
      if (gate.at < 8) gate.open();
    }
    await first.stop({ savepoint: true });
    expect((await store.listCheckpoints('rb')).map((c) => [c.id, c.savepoint])).toStrictEqual([[5, true], [4, false], [3, false], [2, false], [1, false]]);
    // roll back to 2; the run fails before its first checkpoint
    const failing = crashingSource();
    const warnings: string[] = [];
    const rolledBack = runJob({ name: 'rb', source: failing, pipeline: runningSum(), restore: 2, checkpoint: { intervalMs: 1e9, store, retain: 10 }, onWarning: (m) => void warnings.push(m) });
    // savepoint 5 stays: a default restart would resume from it, and the error and a warning say so
    await expect(rolledBack.done).rejects.toThrow('it resumes from checkpoint 5');
    expect(warnings).toStrictEqual([
      "runJob(rb): restored checkpoint 2; the checkpoints after it are deleted, but savepoint 5 stays: until this run's first checkpoint, a restart with restore: 'latest' resumes from savepoint 5 — restart with restore: 2 to roll back again.",
    ]);
    expect((await store.listCheckpoints('rb')).map((c) => c.id)).toStrictEqual([5, 2, 1]);
    // restore: 4 (the newest usable one ≤ 4) is now 2 (after 4 values), not 4 of the abandoned timeline (after all 8)
    const out = toArray<number>();
    const again = await runJob({ name: 'rb', source: fromArray(values(8)), pipeline: runningSum(), sink: out, restore: 4, checkpoint: { intervalMs: 1e9, store, retain: 10 } }).done;
    expect([again.restoredFrom, out.values, again.lastCheckpoint]).toStrictEqual([2, sums(8).slice(4), 6]);
  });

  it('restore: false, then a crash before its first checkpoint: a restart starts empty (nothing recorded is unusable); ids go on', async () => {
    const store = memoryStore();
    expect((await runJob({ name: 'so', source: fromArray(values(3)), pipeline: runningSum(), sink: toArray<number>(), checkpoint: { intervalMs: 1e9, store } }).done).lastCheckpoint).toBe(1);
    const failing = crashingSource();
    await expect(runJob({ name: 'so', source: failing, pipeline: runningSum(), restore: false, checkpoint: { intervalMs: 1e9, store } }).done).rejects.toThrow('crash');
    const out = toArray<number>();
    const again = await runJob({ name: 'so', source: fromArray(values(3)), pipeline: runningSum(), sink: out, checkpoint: { intervalMs: 1e9, store } }).done;
    expect([again.restoredFrom, out.values, again.lastCheckpoint]).toStrictEqual([undefined, sums(3), 2]);
  });

  it('restore: false with a savepoint kept: the warning and the error of a run that fails before its first checkpoint say a restart resumes the savepoint', async () => {
    const store = memoryStore();
    const g = gatedAt(values(3), [3]);
    const first = runJob({ name: 'sp', source: g.source, pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store } });
    await g.gates[0]?.reached;
    await first.stop({ savepoint: true });
    const warnings: string[] = [];
    const over = runJob({ name: 'sp', source: crashingSource(), pipeline: runningSum(), restore: false, checkpoint: { intervalMs: 1e9, store }, onWarning: (m) => void warnings.push(m) });
    await expect(over.done).rejects.toThrow('it resumes from checkpoint 1');
    expect(warnings).toStrictEqual([
      "runJob(sp): started over (restore: false); the checkpoints are deleted, but savepoint 1 stays: until this run's first checkpoint, a restart with restore: 'latest' resumes from savepoint 1 — restart with restore: false to start over again.",
    ]);
  });

  it('a source is released up to the oldest retained checkpoint\'s offset, whatever its offsets look like (JSON text)', async () => {
    const g = gatedAt(values(6), [1, 2, 3, 4, 5]);
    const released: string[] = [];
    // the gated source's numeric offsets as JSON objects: not ranked as text
    const json: Source<number> = {
      description: 'json offsets',
      open: async (offset, context) => {
        const inner = await g.source.open(offset === undefined ? undefined : String((JSON.parse(offset) as { at: number }).at), context);
        return {
          read: (max) => inner.read(max),
          offset: () => JSON.stringify({ at: Number(inner.offset()) }),
          close: () => inner.close(),
          release: (oldest, completed) => void released.push(`${completed}: ${oldest}`),
        };
      },
    };
    const store = memoryStore();
    const job = runJob({ name: 'rel', source: json, pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store, retain: 3 } });
    for (const gate of g.gates) {
      await gate.reached;
      await job.triggerCheckpoint();
      gate.open();
    }
    await job.done;
    // every checkpoint a delta on the one before: all are kept (a chain), the oldest is 1 (before, the newest was told)
    expect((await store.listCheckpoints('rel')).map((c) => [c.id, c.sources[0]])).toStrictEqual([6, 5, 4, 3, 2, 1].map((id) => [id, `{"at":${Math.min(id, 6)}}`]));
    expect(released).toStrictEqual([1, 2, 3, 4, 5, 6].map((id) => `${id}: {"at":1}`));
  });
});
