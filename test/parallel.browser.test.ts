// parallel() in real Chromium (browser project only): the keyed windowed job of test/fixtures/parallel/windowCount.ts
// in two Web Workers and in-process, with checkpoints in IndexedDB (docs/ARCHITECTURE.md, "Parallel subtasks").
import { concat, from, lastValueFrom, map as rxMap, pipe, timer, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { boundedOutOfOrderness, fromArray, record, keyGroupOf, partitionOfKeyGroup, runJob, SubtaskError, toArray, UserFunctionError, type CheckpointInfo, type JobMetrics, type StreamElement } from '../src/index.js';
import { indexedDbStore } from '../src/stores/indexedDb.js';
import { eventTime, keyBy, map, parallel } from '../operators/index.js';
import { ASYNC_FAILURES } from './fixtures/parallel/asyncFailing.js';
import { FAILING_N, failing } from './fixtures/parallel/failingWindow.js';
import { windowCount, type Event } from './fixtures/parallel/windowCount.js';
import { gated } from './support/gated.js';

const worker = new URL('./fixtures/parallel/windowCount.ts', import.meta.url);
/** Another module next to windowCount.ts (not `new URL(\`…${file}\`, import.meta.url)`: Vite rewrites that form by glob). */
const fixture = (file: string) => new URL(`./${file}`, worker);

/** 400 events of 7 users, timestamps in order (none late), spread unevenly over the users and the 10 ms windows. */
const events: Event[] = (() => {
  let seed = 7;
  return Array.from({ length: 400 }, (_, i) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return { user: `u${seed % 7}`, n: Math.floor(i * 0.7) };
  });
})();

type Keyed = OperatorFunction<StreamElement<Event, string>, StreamElement<string, string>>;

/** The job's pipeline: event time from n, keyed by user, then `keyed` (windowCount, alone or under parallel). */
// a watermark per advance (not every 200 ms of wall time): windows fire as the events go, whatever the timing
const job = (keyed: Keyed) => pipe(eventTime((e: Event) => e.n, boundedOutOfOrderness(0, { interval: 0 })), keyBy((e: Event) => e.user), keyed);

const run = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
let dbs = 0;
const newDb = () => `tidewater-parallel-${run}-${dbs++}`;

/** Runs the job to its end (checkpoints into a fresh IndexedDB store) and returns what it committed and reported. */
async function runToEnd(keyed: Keyed) {
  const store = indexedDbStore(newDb());
  const out = toArray<string>();
  const j = runJob({ name: 'wc', source: fromArray(events), pipeline: job(keyed), sink: out, checkpoint: { intervalMs: 1e9, store } });
  const checkpoints: CheckpointInfo[] = [];
  const metrics: JobMetrics[] = [];
  j.checkpoints$.subscribe((c) => checkpoints.push(c));
  j.metrics$.subscribe((m) => metrics.push(m));
  const summary = await j.done;
  await store.close();
  return { values: out.values, checkpoints, metrics, summary };
}

/** The single-threaded run: windowCount on this thread, no parallel. */
const single = (async () => (await runToEnd(windowCount)).values)();
/**
 * The uninterrupted in-process parallel(2) run. Its order differs from the single-threaded run's (the merge lets out
 * each subtask's windows as the watermark passes them, subtask by subtask) but not its multiset; threaded runs
 * emit exactly this order.
 */
const inProcess = (async () => (await runToEnd(parallel(2, windowCount))).values)();
const sorted = (values: readonly string[]) => [...values].sort();

/** The subtask of parallel(2) that owns a user (hash partitioning by key group, maxParallelism 128). */
const subtaskOf = (user: string) => partitionOfKeyGroup(keyGroupOf(user, 128), 2, 128);
/** Window results ("user@start:count") split by the subtask that emitted them, each in its order. */
const bySubtask = (values: readonly string[]) => [0, 1].map((i) => values.filter((v) => subtaskOf(v.split('@')[0] ?? '') === i));

describe('parallel in Web Workers (Chromium)', () => {
  it('the reference: the single-threaded run windows every event', async () => {
    const values = await single;
    // every event is counted in exactly one window
    expect(values.reduce((s, v) => s + Number(v.split(':')[1]), 0)).toBe(events.length);
    expect([values.length, values.slice(0, 3)]).toStrictEqual([175, ['u5@0:2', 'u6@0:1', 'u3@0:4']]);
  });

  it('parallel(2) in Web Workers emits the single-threaded output, in the in-process order; its checkpoint completes in IndexedDB', async () => {
    const r = await runToEnd(parallel(2, windowCount, { worker }));
    expect(r.values).toStrictEqual(await inProcess);
    expect(sorted(r.values)).toStrictEqual(sorted(await single));
    expect(r.checkpoints.map((c) => c.id)).toStrictEqual([1]);
    expect([r.summary.state, r.summary.lastCheckpoint, r.summary.checkpointsCompleted]).toStrictEqual(['finished', 1, 1]);
  });

  it('per-subtask metrics of the Web Workers appear in job.metrics$', async () => {
    const r = await runToEnd(parallel(2, windowCount, { worker }));
    const last = r.metrics.at(-1);
    const subtasks = Object.entries(last?.subtasks ?? {});
    expect(subtasks.map(([name, s]) => [name, s.map((m) => m.subtask)])).toStrictEqual([[expect.any(String), [0, 1]]]);
    const [name, perSubtask] = subtasks[0] ?? ['', []];
    // every event went into one of the two subtasks, each took part, and their outputs add up to the job's
    expect(perSubtask.map((m) => m.recordsIn)).toStrictEqual([0, 1].map((i) => events.filter((e) => subtaskOf(e.user) === i).length));
    expect(perSubtask.map((m) => m.recordsOut)).toStrictEqual(bySubtask(r.values).map((v) => v.length));
    expect(perSubtask.every((m) => m.recordsIn > 0)).toBe(true);
    expect(last?.operators[name]).toMatchObject({ recordsIn: events.length, recordsOut: r.values.length });
  });

  it('stop with a savepoint into IndexedDB, then a new job restoring from it: the output is exactly once, equal to the uninterrupted run', async () => {
    const db = newDb();
    const gate = gated(events, 200);
    const first = indexedDbStore(db);
    const out1 = toArray<string>();
    const j1 = runJob({ name: 'wc', source: gate.source, pipeline: job(parallel(2, windowCount, { worker })), sink: out1, checkpoint: { intervalMs: 1e9, store: first } });
    const checkpoints: number[] = [];
    j1.checkpoints$.subscribe((c) => checkpoints.push(c.id));
    await gate.reached;
    // the source waits at the gate before event 200: the checkpoint covers exactly the first 200
    expect(await j1.triggerCheckpoint()).toMatchObject({ id: 1, sourceOffsets: [200] });
    await j1.stop({ savepoint: true });
    const s1 = await j1.done;
    expect([s1.state, s1.lastCheckpoint, checkpoints]).toStrictEqual(['stopped', 2, [1, 2]]);
    expect(out1.values.length).toBeGreaterThan(0);
    await first.close();

    // a new store on the same database: what the restore reads comes from IndexedDB
    const second = indexedDbStore(db);
    const saved = await second.loadCheckpoint('wc', 'latest');
    expect([saved?.id, saved?.savepoint]).toStrictEqual([2, true]);
    const out2 = toArray<string>();
    const j2 = runJob({ name: 'wc', source: gate.source, pipeline: job(parallel(2, windowCount, { worker })), sink: out2, checkpoint: { intervalMs: 1e9, store: second } });
    const s2 = await j2.done;
    expect([s2.state, s2.restoredFrom, s2.lastCheckpoint]).toStrictEqual(['finished', 2, 3]);
    // exactly once: the same results as the uninterrupted run, and each subtask's in the same order (the order between
    // subtasks follows where the watermarks fall between source batches, which the stop moves)
    const total = [...out1.values, ...out2.values];
    expect(sorted(total)).toStrictEqual(sorted(await single));
    expect(bySubtask(total)).toStrictEqual(bySubtask(await inProcess));
    await second.close();
  });

  /** Runs the job with `failing` in two Web Workers and returns the error it fails with. */
  async function failingRun() {
    const [bad, ...more] = events.filter((e) => e.n === FAILING_N) as [Event, ...Event[]];
    expect(more).toStrictEqual([]);
    const module = fixture('failingWindow.ts');
    const j = runJob({ name: 'wc', source: fromArray(events), pipeline: job(parallel(2, failing, { worker: module })), sink: toArray() });
    const err: unknown = await j.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubtaskError);
    return { err: err as SubtaskError, bad, module };
  }

  it('a worker pipeline that throws fails the job with SubtaskError: the subtask of the record, the module, the error', async () => {
    const { err, bad, module } = await failingRun();
    const inWorker = `map: user function threw on record value {"user":"${bad.user}","n":${FAILING_N}} @ ${FAILING_N} key "${bad.user}": event ${FAILING_N} of ${bad.user} is not accepted`;
    expect([err.name, err.subtask, err.message]).toStrictEqual([
      'SubtaskError',
      subtaskOf(bad.user),
      `parallel: subtask ${subtaskOf(bad.user)} (worker module ${module.href}) failed: UserFunctionError: ${inWorker}`,
    ]);
    expect(err.cause).toBeInstanceOf(Error);
    expect([(err.cause as Error).name, (err.cause as Error).message]).toStrictEqual(['UserFunctionError', inWorker]);
  });

  it("a worker pipeline's error keeps its own cause across the thread (the user function's RangeError)", async () => {
    const { err, bad } = await failingRun();
    // in-process, UserFunctionError.cause is the RangeError the user function threw; across the thread it should be too
    const cause = (err.cause as Error | undefined)?.cause;
    expect(cause).toBeInstanceOf(Error);
    expect([(cause as Error).name, (cause as Error).message]).toStrictEqual(['RangeError', `event ${FAILING_N} of ${bad.user} is not accepted`]);
  });

  it('in-process, the same pipeline fails the job with the UserFunctionError itself, its cause the RangeError', async () => {
    const bad = events.find((e) => e.n === FAILING_N) as Event;
    const j = runJob({ name: 'wc', source: fromArray(events), pipeline: job(parallel(2, failing)), sink: toArray() });
    const err: unknown = await j.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserFunctionError);
    expect((err as Error).message).toBe(`map: user function threw on record value {"user":"${bad.user}","n":${FAILING_N}} @ ${FAILING_N} key "${bad.user}": event ${FAILING_N} of ${bad.user} is not accepted`);
    expect((err as Error).cause).toBeInstanceOf(RangeError);
  });

  it('a worker module that throws while loading fails the job with SubtaskError naming the module and the error', async () => {
    const module = fixture('throwsOnLoad.ts');
    const j = runJob({ name: 'wc', source: fromArray(events), pipeline: job(parallel(2, windowCount, { worker: module })), sink: toArray() });
    const err: unknown = await j.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubtaskError);
    expect((err as Error).message).toMatch(new RegExp(`^parallel: subtask [01] \\(worker module ${module.href.replace(/[.?]/g, '\\$&')}\\) failed: TypeError: this pipeline module cannot be loaded here`));
  });

  it('a worker pipeline that closes its Web Worker (self.close()) fails the stream with SubtaskError: nothing waits for it', async () => {
    const closing = map((v: number) => v);
    const input = from([1, 7, 2].map((v) => record(v, v, v)));
    await expect(lastValueFrom(input.pipe(parallel(2, closing, { worker: fixture('closing.ts') })))).rejects.toThrow(
      /^parallel: subtask [01] \(worker module .*closing\.ts\) failed: Error: the Web Worker closed itself \(self\.close\(\)\) before its input ended/,
    );
  });

  it('a rejection nobody handled, or a throw in a timer, in a Web Worker fails the stream with SubtaskError carrying the error itself (as on Node)', async () => {
    for (const [mode, message] of ASYNC_FAILURES) {
      const module = new URL(`${fixture('asyncFailing.ts').href}?mode=${mode}`);
      const input = concat(from([1, 7].map((v) => record(v, v, v))), timer(1_500).pipe(rxMap(() => record(2, 2, 2))));
      const err: unknown = await lastValueFrom(input.pipe(parallel(2, map((v: number) => v), { worker: module }))).catch((e: unknown) => e);
      expect(err, mode).toBeInstanceOf(SubtaskError);
      expect((err as Error).message, mode).toMatch(new RegExp(`^parallel: subtask [01] \\(worker module .*asyncFailing\\.ts\\?mode=${mode}\\) failed: RangeError: ${message}$`));
      expect(((err as Error).cause as Error).name, mode).toBe('RangeError');
      // the same in the last batch, the input ending right after it: the subtask's completion waits a macrotask
      const last: unknown = await lastValueFrom(from([1, 7].map((v) => record(v, v, v))).pipe(parallel(2, map((v: number) => v), { worker: module }))).catch((e: unknown) => e);
      expect(last, `${mode}, last batch`).toBeInstanceOf(SubtaskError);
      expect((last as Error).message, `${mode}, last batch`).toMatch(new RegExp(`failed: RangeError: ${message}$`));
    }
  });

  it("tidewater's worker entry that the page cannot load (a bundle without the worker file) fails the stream naming the entry and the remedy", async () => {
    // (as a bundler that leaves `new URL('./worker.js', import.meta.url)` alone and does not copy the file: a 404)
    const RealWorker = globalThis.Worker;
    globalThis.Worker = class extends RealWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(new URL('./no-such-worker-entry.js', url), options);
      }
    };
    try {
      const input = from([1, 2].map((v) => record(v, v, v)));
      const err: unknown = await lastValueFrom(input.pipe(parallel(2, map((v: number) => v), { worker: fixture('passThrough.ts') }))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SubtaskError);
      expect((err as Error).message).toMatch(
        /^parallel: subtask [01] \(worker module .*passThrough\.ts\) failed: Error: the page could not load tidewater's worker entry .*workerEntry\.ts: a bundled app must serve tidewater's worker file beside the code that starts the workers/,
      );
    } finally {
      globalThis.Worker = RealWorker;
    }
  });

  it('a worker module that does not exist fails the job with SubtaskError naming it', async () => {
    const module = fixture('noSuchModule.ts');
    const j = runJob({ name: 'wc', source: fromArray(events), pipeline: job(parallel(2, windowCount, { worker: module })), sink: toArray() });
    const err: unknown = await j.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubtaskError);
    expect((err as Error).message).toContain(`(worker module ${module.href}) failed: TypeError: Failed to fetch dynamically imported module: ${module.href}`);
  });
});

describe('parallel in-process (Chromium)', () => {
  it('parallel(2) on this thread emits the single-threaded output (as a multiset), with per-subtask metrics and an IndexedDB checkpoint', async () => {
    const r = await runToEnd(parallel(2, windowCount));
    expect(r.values).toStrictEqual(await inProcess);
    expect(sorted(r.values)).toStrictEqual(sorted(await single));
    expect([r.summary.state, r.summary.lastCheckpoint]).toStrictEqual(['finished', 1]);
    const subtasks = Object.values(r.metrics.at(-1)?.subtasks ?? {});
    expect(subtasks.map((s) => s.map((m) => m.subtask))).toStrictEqual([[0, 1]]);
    expect(subtasks[0]?.reduce((n, m) => n + m.recordsIn, 0)).toBe(events.length);
  });

  it('stop with a savepoint in-process, restore in Web Workers from IndexedDB: the output is exactly once', async () => {
    const db = newDb();
    const gate = gated(events, 150);
    const out = toArray<string>();
    const j1 = runJob({ name: 'wc', source: gate.source, pipeline: job(parallel(2, windowCount)), sink: out, checkpoint: { intervalMs: 1e9, store: indexedDbStore(db) } });
    await gate.reached;
    await j1.stop({ savepoint: true });
    expect(await j1.done).toMatchObject({ state: 'stopped', lastCheckpoint: 1 });
    const j2 = runJob({ name: 'wc', source: gate.source, pipeline: job(parallel(2, windowCount, { worker })), sink: out, checkpoint: { intervalMs: 1e9, store: indexedDbStore(db) } });
    expect(await j2.done).toMatchObject({ state: 'finished', restoredFrom: 1 });
    expect(sorted(out.values)).toStrictEqual(sorted(await single));
    expect(bySubtask(out.values)).toStrictEqual(bySubtask(await inProcess));
  });
});
