// Failures of sources and sinks (Node and Chromium): the job fails with a JobError naming the source or sink, the
// phase (open, read, write, pre-commit, commit), the checkpoint and how a restart goes on, with the error as cause.
import { ReplaySubject, Subject, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { callbackSink, fromArray, fromObservable, JobError, mapState, memoryStore, mergeStreams, runJob, TidewaterError, UnserializableValueError, type JobPhase, type Source, type StateStore, type StreamElement } from '../src/index.js';
import { runningSum } from './support/gated.js';
import { broadcastProcess, eventTime, keyBy } from '../operators/index.js';

/** A source whose `read` (or `open`) throws `error`. */
function exploding(error: Error, where: 'open' | 'read'): Source<number> {
  return {
    description: 'exploding',
    open() {
      if (where === 'open') throw error;
      return {
        read() {
          throw error;
        },
        offset: () => '0',
        close() {},
      };
    },
  };
}

/** The job's failure, checked to be a JobError with `phase`, `checkpoint` and `cause`. */
async function failure(done: Promise<unknown>, phase: JobPhase, checkpoint: number | undefined, cause: Error): Promise<string> {
  const e = await done.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(JobError);
  expect(e).toBeInstanceOf(TidewaterError);
  expect([(e as JobError).phase, (e as JobError).checkpoint, (e as JobError).cause]).toStrictEqual([phase, checkpoint, cause]);
  return (e as JobError).message;
}

const manual = () => ({ intervalMs: 1e9, store: memoryStore() });

describe('source failures', () => {
  it('a source whose read throws: phase read, no checkpoint without a store', async () => {
    const boom = new Error('source exploded');
    const job = runJob({ name: 'j', source: exploding(boom, 'read'), pipeline: runningSum() });
    expect(await failure(job.done, 'read', undefined, boom)).toBe('runJob(j): source exploding failed to read: source exploded. The job stopped; fix the cause and run it again.');
  });

  it("a failed job: output$ errors with the failure, checkpoints$ and metrics$ complete (a handled failure is no uncaught exception for their subscribers)", async () => {
    const boom = new Error('source exploded');
    const job = runJob({ name: 'j', source: exploding(boom, 'read'), pipeline: runningSum(), checkpoint: manual() });
    const ends: string[] = [];
    job.output$.subscribe({ error: (e: unknown) => void ends.push(`output$ error: ${(e as Error).message.slice(0, 16)}`), complete: () => void ends.push('output$ complete') });
    job.checkpoints$.subscribe({ complete: () => void ends.push('checkpoints$ complete') });
    job.metrics$.subscribe({ complete: () => void ends.push('metrics$ complete') });
    await expect(job.done).rejects.toThrow('source exploded');
    expect(ends).toStrictEqual(['output$ error: runJob(j): sourc', 'checkpoints$ complete', 'metrics$ complete']);
  });

  it('a source that cannot be opened: phase open; a checkpointed job starts from the beginning again', async () => {
    const boom = new Error('no such topic');
    const job = runJob({ name: 'j', source: exploding(boom, 'open'), pipeline: runningSum(), checkpoint: manual() });
    expect(await failure(job.done, 'open', undefined, boom)).toBe('runJob(j): source exploding failed to open: no such topic. The job stopped; fix the cause and run it again: it starts from the beginning.');
  });

  it('an observable that errors after a checkpoint: phase read, the last checkpoint named', async () => {
    const boom = new Error('source exploded');
    const live = new ReplaySubject<number>();
    const store = memoryStore();
    const job = runJob({ name: 'j', source: fromObservable(live), pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store } });
    live.next(1);
    await job.triggerCheckpoint();
    live.error(boom);
    expect(await failure(job.done, 'read', 1, boom)).toBe(
      'runJob(j): source fromObservable failed to read (last checkpoint 1): source exploded. The job stopped; fix the cause and run it again: it resumes from checkpoint 1.',
    );
  });

  it('a checkpoint whose write lands after the source failed: the error names it as the one a restart resumes from', async () => {
    const boom = new Error('source exploded');
    const live = new ReplaySubject<number>();
    const inner = memoryStore();
    let writing!: () => void;
    const started = new Promise<void>((r) => (writing = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // checkpoint 2's write waits until the source has failed
    const store = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'writeCheckpoint') {
          return async (w: Parameters<StateStore['writeCheckpoint']>[0]) => {
            if (w.id === 2) {
              writing();
              await gate;
            }
            return target.writeCheckpoint(w);
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const job = runJob({ name: 'j', source: fromObservable(live), pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store } });
    live.next(1);
    await job.triggerCheckpoint();
    live.next(2);
    const second = job.triggerCheckpoint().catch((e: unknown) => e);
    await started;
    live.error(boom);
    release();
    expect(await failure(job.done, 'read', 2, boom)).toBe(
      'runJob(j): source fromObservable failed to read (last checkpoint 2): source exploded. The job stopped; fix the cause and run it again: it resumes from checkpoint 2.',
    );
    await second;
    expect((await inner.listCheckpoints('j')).map((m) => m.id)).toStrictEqual([2, 1]); // (newest first)
  });

  it('a value the journal cannot hold: phase read, the codec error as cause (not an uncaught throw)', async () => {
    const live = new ReplaySubject<number>();
    const store = memoryStore();
    const job = runJob({ name: 'j', source: fromObservable(live, { journal: store }), pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store } });
    live.next({ at: 1, callback: () => 1 } as unknown as number);
    const e = await job.done.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(JobError);
    expect((e as JobError).phase).toBe('read');
    expect((e as JobError).cause).toBeInstanceOf(UnserializableValueError);
    expect((e as JobError).message).toBe(
      'runJob(j): source fromObservable failed to read: a function cannot be serialized at .callback. The job stopped; fix the cause and run it again: it starts from the beginning.',
    );
  });

  it('errors tidewater raised itself pass unchanged (they name their cause already)', async () => {
    const job = runJob({ name: 'j', source: fromObservable(throwError(() => new JobError('x', 1, 'already clear'))), pipeline: runningSum() });
    await expect(job.done).rejects.toThrow(/^already clear$/);
  });
});

describe('sink failures', () => {
  it('a sink that fails while the job starts from a checkpoint: phase open, the restart resumes from it', async () => {
    const boom = new Error('cannot reach the database');
    const store = memoryStore();
    await runJob({ name: 'j', source: fromArray([1]), pipeline: runningSum(), checkpoint: { intervalMs: 1e9, store } }).done;
    const sink = callbackSink<number>({ write() {}, lastCommitted: () => { throw boom; } });
    const job = runJob({ name: 'j', source: fromArray([2]), pipeline: runningSum(), sink, checkpoint: { intervalMs: 1e9, store } });
    expect(await failure(job.done, 'open', 1, boom)).toBe(
      'runJob(j): sink callbackSink failed to open (last checkpoint 1): cannot reach the database. The job stopped; fix the cause and run it again: it resumes from checkpoint 1.',
    );
  });

  it('a sink whose close throws: the job fails with it, and every other sink and source is closed all the same', async () => {
    const boom = new Error('close failed');
    const closed: string[] = [];
    const source = (name: string): Source<number> => ({
      description: name,
      open: () => {
        let given = false;
        return {
          read: () => {
            const values = given ? [] : [1];
            given = true;
            return { values, done: true };
          },
          offset: () => '0',
          close: () => void closed.push(name),
        };
      },
    });
    const failing = { description: 'failing', open: () => ({ write() {}, preCommit: () => '', commit() {}, close() { throw boom; } }) };
    const other = { description: 'other', open: () => ({ write() {}, preCommit: () => '', commit() {}, close: () => void closed.push('other sink') }) };
    const job = runJob({ name: 'j', sources: { a: source('a'), b: source('b') }, pipeline: ({ a, b }) => mergeStreams(a, b), sinks: { main: failing, other }, checkpoint: manual() });
    expect(await failure(job.done, 'close', 1, boom)).toContain('runJob(j): sink failing failed to close');
    expect(closed).toStrictEqual(['other sink', 'a', 'b']);
  });

  it('a callbackSink whose write throws: phase write', async () => {
    const boom = new Error('disk on fire');
    const job = runJob({ name: 'j', source: fromArray([1, 2]), pipeline: runningSum(), sink: callbackSink<number>({ write: () => { throw boom; } }) });
    expect(await failure(job.done, 'write', undefined, boom)).toBe('runJob(j): sink callbackSink failed to write: disk on fire. The job stopped; fix the cause and run it again.');
  });

  it('a callbackSink whose preCommit throws: phase pre-commit of that checkpoint; a restart resumes from the one before', async () => {
    const boom = new Error('cannot stage 2');
    const live = new ReplaySubject<number>();
    const sink = callbackSink<number>({ write() {}, preCommit: (id) => { if (id === 2) throw boom; } });
    const job = runJob({ name: 'j', source: fromObservable(live), pipeline: runningSum(), sink, checkpoint: manual() });
    live.next(1);
    await job.triggerCheckpoint();
    void job.triggerCheckpoint().catch(() => undefined);
    expect(await failure(job.done, 'pre-commit', 2, boom)).toBe(
      'runJob(j): sink callbackSink failed to pre-commit checkpoint 2: cannot stage 2. The job stopped; fix the cause and run it again: it resumes from checkpoint 1.',
    );
  });

  it('a callbackSink whose commit throws: phase commit of that checkpoint, which a restart resumes from (and commits again)', async () => {
    const live = new ReplaySubject<number>();
    const sink = callbackSink<number>({ write() {}, commit: (id) => { if (id === 4) throw new Error(`commit failed for ${id}`); } });
    const job = runJob({ name: 'j', source: fromObservable(live), pipeline: runningSum(), sink, checkpoint: manual() });
    for (let i = 0; i < 3; i++) await job.triggerCheckpoint();
    void job.triggerCheckpoint().catch(() => undefined);
    const e = await job.done.catch((err: unknown) => err);
    expect(e).toMatchObject({ name: 'JobError', phase: 'commit', checkpoint: 4, operator: 'callbackSink', cause: new Error('commit failed for 4') });
    expect((e as Error).message).toBe('runJob(j): sink callbackSink failed to commit checkpoint 4: commit failed for 4. The job stopped; fix the cause and run it again: it resumes from checkpoint 4.');
  });
});

describe('runJob: store failures carry the job, the step and their cause', () => {
  it('a store that fails to read while the job starts: a JobError naming the step, the cause kept', async () => {
    const store = memoryStore();
    store.loadCheckpoint = () => Promise.reject(new Error('ETIMEDOUT reading range'));
    const e = await runJob({ name: 'j', source: fromArray([1]), pipeline: runningSum(), sink: callbackSink({ write: () => undefined }), checkpoint: { intervalMs: 1e9, store } }).done.catch((err: unknown) => err);
    expect(e).toMatchObject({ name: 'JobError', cause: new Error('ETIMEDOUT reading range') });
    expect((e as Error).message).toBe('runJob(j): reading its checkpoints in memory failed: ETIMEDOUT reading range. The job did not start; fix the cause and run it again.');
  });

  it('a store that never answers a checkpoint\'s write: the checkpoint times out (checkpoint.timeoutMs), the job fails saying where it stood', async () => {
    const store = memoryStore();
    store.writeCheckpoint = () => new Promise(() => undefined);
    const e = await runJob({ name: 'j', source: fromArray([1, 2, 3]), pipeline: runningSum(), sink: callbackSink({ write: () => undefined }), checkpoint: { intervalMs: 1e9, store, timeoutMs: 50 } }).done.catch((err: unknown) => err);
    expect(e).toMatchObject({ name: 'JobError', checkpoint: 1 });
    expect((e as Error).message).toBe(
      "runJob(j): checkpoint 1 did not complete within 50 ms (checkpoint.timeoutMs): writing it has not settled (the sinks' pre-commit, the write to memory, the sinks' commit or the prune of older checkpoints): a store or sink that does not answer. The job stops; it restarts from the last complete checkpoint.",
    );
    expect(() => runJob({ name: 'j', source: fromArray([1]), pipeline: runningSum(), checkpoint: { intervalMs: 10, store, timeoutMs: 0 } })).toThrow(
      'runJob(j): checkpoint.timeoutMs 0 must be a number of ms > 0 and at most 2147483647 (default 600 000).',
    );
  });

  it('a prune that fails after a checkpoint was committed: a JobError saying the checkpoint is complete and where a restart resumes', async () => {
    const store = memoryStore();
    const prune = store.prune.bind(store);
    let prunes = 0;
    store.prune = (...args: Parameters<StateStore['prune']>) => (++prunes === 1 ? Promise.reject(new Error('prune failed')) : prune(...args));
    const out: number[] = [];
    const e = await runJob({ name: 'j', source: fromArray([1, 2, 3]), pipeline: runningSum(), sink: callbackSink({ write: (v: number) => out.push(v) }), checkpoint: { intervalMs: 1e9, store } }).done.catch((err: unknown) => err);
    expect(e).toMatchObject({ name: 'JobError', checkpoint: 1, cause: new Error('prune failed') });
    expect((e as Error).message).toBe('runJob(j): deleting the checkpoints before checkpoint 1 from memory failed: prune failed. Checkpoint 1 is complete and its output committed; the job stops; it restarts from checkpoint 1.');
    expect(out).toStrictEqual([1, 3, 6]);
    expect((await store.listCheckpoints('j')).map((c) => c.id)).toStrictEqual([1]);
  });

  it('a second stop that asks for more than the first (a savepoint, a drain) is refused, not passed over; one that asks for no more is the first\'s', async () => {
    const store = memoryStore();
    const job = runJob({ name: 'j', source: fromObservable(new ReplaySubject<number>()), pipeline: runningSum(), sink: callbackSink({ write: () => undefined }), checkpoint: { intervalMs: 1e9, store } });
    await new Promise((r) => setTimeout(r, 5));
    const first = job.stop();
    const again = job.stop();
    const savepoint = job.stop({ savepoint: true }).catch((e: unknown) => e);
    const drain = job.stop({ drain: true, savepoint: true }).catch((e: unknown) => e);
    await first;
    await again;
    expect(((await savepoint) as Error).message).toBe('runJob(j): stop({ savepoint: true }) came while stop() was under way: it is not taken, the job stops as the first stop asked. Call stop once, with every option it needs.');
    expect(((await drain) as Error).message).toBe('runJob(j): stop({ savepoint: true, drain: true }) came while stop() was under way: it is not taken, the job stops as the first stop asked. Call stop once, with every option it needs.');
    expect((await job.done).state).toBe('stopped');
  });

  it('fromObservable: the values sent before the observable\'s error are processed, then the job fails with the error as it was sent', async () => {
    const live = new ReplaySubject<number>();
    const out: number[] = [];
    const job = runJob({ name: 'j', source: fromObservable(live), pipeline: runningSum(), sink: callbackSink({ write: (v: number) => out.push(v) }) });
    await new Promise((r) => setTimeout(r, 5)); // a read is waiting
    live.next(1);
    live.next(2);
    live.next(3);
    const reason = { code: 'ECONNRESET' };
    live.error(reason);
    const e = await job.done.catch((err: unknown) => err);
    expect(out).toStrictEqual([1, 3, 6]);
    expect(e).toBeInstanceOf(JobError);
    expect((e as JobError).cause).toBe(reason);
    expect((e as Error).message).toBe('runJob(j): source fromObservable failed to read: {"code":"ECONNRESET"}. The job stopped; fix the cause and run it again.');
  });
});

describe('checkpoint barriers', () => {
  it('a barrier held by a two-input operator whose other input carries none (a stream from outside the job\'s sources) fails the job saying so, and what to do', async () => {
    const rules$ = new Subject<StreamElement<string, undefined>>();
    const broadcastState = { rules: mapState<string, string>() };
    const job = runJob({
      name: 'rules',
      source: fromArray(Array.from({ length: 2_000 }, (_, i) => ({ user: `u${i % 5}`, at: i }))),
      pipeline: (s) =>
        s.pipe(
          eventTime((v) => v.at),
          keyBy((v) => v.user),
          broadcastProcess<{ user: string; at: number }, string, string, string, Record<string, never>, typeof broadcastState>(rules$, {
            name: 'b',
            broadcastState,
            onElement(v, ctx) {
              ctx.emit(`${v.user} ${ctx.broadcast.rules.get('r') ?? '-'}`);
            },
            onBroadcastElement(r, ctx) {
              ctx.broadcast.rules.set('r', r);
            },
          }),
        ),
      checkpoint: { intervalMs: 1, store: memoryStore() },
    });
    const e = await job.done.then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(JobError);
    expect((e as JobError).message).toBe(
      "runJob(rules): checkpoint barrier 1 did not reach the sink while it was pushed. Either a merge or a two-input operator (mergeStreams, union, a join, coProcess, broadcastProcess) holds it while it waits for the barrier on another input, which carries none — a stream the pipeline takes from outside the job's sources (a Subject, from(rules)): read such a stream through the job's sources (docs/SEMANTICS.md §7.1, §10.1) — or an operator of the pipeline drops or delays control elements: use tidewater operators, or forward non-record elements unchanged and synchronously.",
    );
  });
});
