// parallel(n, pipeline, { worker }) in Node worker threads (docs/ARCHITECTURE.md, "Parallel subtasks"): the same output
// as in-process, in the same order; checkpoints through threads; failures of a worker fail the stream with its error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { connect, from, lastValueFrom, pipe, tap, toArray, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { boundedOutOfOrderness, MAX_WATERMARK, fromArray, fromAsyncIterable, memoryStore, mergeStreams, record, runJob, SubtaskError, toArray as toArraySink, watermark, type Key, type Source, type StreamElement, type StreamRecord } from '../src/index.js';
import { eventTime, filter, keyBy, map, parallel, process, sideOutputOf, values } from '../operators/index.js';
import { odd, sideSplit } from './fixtures/parallel/sideSplit.js';
import { selfJoin, type Trade } from './fixtures/parallel/selfJoin.js';
import failing from './fixtures/parallel/failing.js';
import exiting from './fixtures/parallel/exiting.js';
import { pipeline as rekeying } from './fixtures/parallel/rekeying.js';
import { runningTotal, windowCount, type Event } from './fixtures/parallel/windowCount.js';
import { sessionCount } from './fixtures/parallel/sessionCount.js';
import { distinctCount } from './fixtures/parallel/distinctCount.js';
import { mergedStamps, type Stamped } from './fixtures/parallel/mergedStamps.js';
import closureState from './fixtures/parallel/closureState.js';
import passThrough from './fixtures/parallel/passThrough.js';
import sameNames from './fixtures/parallel/sameNames.js';
import unsendable from './fixtures/parallel/unsendable.js';
import { gated, gatedAt } from './support/gated.js';
import { ASYNC_FAILURES } from './fixtures/parallel/asyncFailing.js';

const fixture = (name: string) => new URL(`./fixtures/parallel/${name}.ts`, import.meta.url);
const windowModule = fixture('windowCount');

/** A replayable source whose first opening pauses before index `cut` until the job is stopped; `reached` resolves there. */
function pausedAt<T = Event>(events: readonly T[], cut: number): { source: Source<T>; reached: Promise<void> } {
  let stopAt!: () => void;
  const reached = new Promise<void>((r) => (stopAt = r));
  let opening = 0;
  const source: Source<T> = fromAsyncIterable(async function* () {
    const first = opening++ === 0;
    for (let i = 0; i < events.length; i++) {
      if (first && i === cut) {
        stopAt();
        await new Promise(() => undefined);
      }
      yield events[i] as T;
    }
  });
  return { source, reached };
}

/**
 * The output of a checkpointed job over `events` stopped with a savepoint before index `cut` and resumed from it (the
 * resume restores from the savepoint); `saved` is shown the savepoint's operator names.
 */
async function resumedAt<T>(events: readonly T[], cut: number, pipeline: OperatorFunction<StreamElement<T, undefined>, StreamElement<string>>, saved?: (operators: string[]) => void): Promise<string[]> {
  const { source, reached } = pausedAt(events, cut);
  const store = memoryStore();
  const out = toArraySink<string>();
  const job1 = runJob({ name: 'cut', source, pipeline, sink: out, checkpoint: { intervalMs: 1e9, store } });
  await reached;
  await job1.stop({ savepoint: true });
  saved?.((await store.loadCheckpoint('cut', 'latest'))?.operators.map((o) => o.operator) ?? []);
  const resumed = await runJob({ name: 'cut', source, pipeline, sink: out, checkpoint: { intervalMs: 1e9, store } }).done;
  expect(resumed.restoredFrom, `cut ${cut}`).toBe(1);
  return [...out.values];
}

const keyed = (events: readonly (readonly [Event, number])[]) =>
  from([...events.map(([e, ts]) => record(e, ts)), watermark(10_000)]).pipe(keyBy((e: Event) => e.user));

describe('parallel in worker threads', () => {
  it('emits exactly what the in-process run emits, in the same order, for n = 1..4 (property over random streams)', async () => {
    const event = fc.record({ user: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), n: fc.nat(9) });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(event, fc.nat(200)), { maxLength: 80 }), fc.integer({ min: 1, max: 4 }), async (events, n) => {
        const inProcess = await lastValueFrom(keyed(events).pipe(parallel(n, windowCount), toArray()));
        const threads = await lastValueFrom(keyed(events).pipe(parallel(n, windowCount, { worker: windowModule }), toArray()));
        expect(threads).toStrictEqual(inProcess);
        const plain = await lastValueFrom(keyed(events).pipe(windowCount, values(), toArray()));
        expect([...threads.flatMap((e) => (e.kind === 'record' ? [e.value] : []))].sort()).toStrictEqual([...plain].sort());
      }),
      { numRuns: 5 },
    );
  });

  it('many distinct string keys (past the key dictionary) and composite keys: the in-process output; keys come back as the input key objects', async () => {
    const events = Array.from({ length: 60_000 }, (_, i) => ({ user: `user-${(i * 7919) % 40_000}`, n: i % 7 }));
    // the running total per key, whatever the key's type (the fixture is typed for string keys)
    const total = runningTotal as unknown as OperatorFunction<StreamElement<Event, Key>, StreamElement<string, Key>>;
    for (const keyOf of [(e: Event): Key => e.user, (e: Event): Key => [e.user.length, e.n % 2]]) {
      const input = () => from(events.map((e, i) => record(e, i))).pipe(keyBy(keyOf));
      const inProcess = await lastValueFrom(input().pipe(parallel(2, total), toArray()));
      const inputKeys = new Set<unknown>();
      const threads = await lastValueFrom(
        input().pipe(
          tap((e) => e.kind === 'record' && inputKeys.add(e.key)),
          parallel(2, total, { worker: fixture('runningTotal') }),
          toArray(),
        ),
      );
      expect(threads).toStrictEqual(inProcess);
      expect(threads.filter((e) => e.kind === 'record').length).toBe(60_000);
      expect(threads.every((e) => e.kind !== 'record' || inputKeys.has(e.key))).toBe(true);
    }
  });

  it('many distinct keys with watermarks between the records (routed in runs once the dictionary is dropped): the in-process output, in order; an unkeyed record among them fails as in-process', async () => {
    const events = Array.from({ length: 50_000 }, (_, i) => ({ user: `u-${(i * 7919) % 45_000}`, n: i % 5 }));
    const elements = (): StreamElement<Event, string>[] => {
      const out: StreamElement<Event, string>[] = [];
      events.forEach((e, i) => {
        out.push(record(e, i, e.user));
        if (i % 997 === 996) out.push(watermark(i));
      });
      return out;
    };
    const inProcess = await lastValueFrom(from(elements()).pipe(parallel(2, runningTotal), toArray()));
    const threads = await lastValueFrom(from(elements()).pipe(parallel(2, runningTotal, { worker: fixture('runningTotal') }), toArray()));
    expect(threads.length).toBe(50_000 + 50 + 1);
    expect(threads).toStrictEqual(inProcess);
    const broken = elements();
    broken.splice(40_000, 0, record({ user: 'none', n: 0 }, 40_000) as StreamElement<Event, string>);
    const failure = (worker: boolean) =>
      lastValueFrom(from(broken).pipe(parallel(2, runningTotal, worker ? { worker: fixture('runningTotal') } : {}), toArray())).then(
        () => 'completed',
        (err: Error) => `${err.name}: ${err.message}`,
      );
    const expected = await failure(false);
    expect(expected).toMatch(/^InvalidKeyError: partitionStream: key undefined/);
    expect(await failure(true)).toBe(expected);
  });

  it('a plain pipe through threads takes no snapshot at the end: state no checkpoint could hold is fine; a checkpointed job refuses it at a checkpoint', async () => {
    const input = () => from([1, 2, 3, 4].map((v, i) => record(v, i))).pipe(keyBy((v: number) => (v % 2 === 0 ? 'even' : 'odd')));
    const out = await lastValueFrom(input().pipe(parallel(2, closureState as unknown as OperatorFunction<StreamElement<number, Key>, StreamElement<number, Key>>, { worker: fixture('closureState') }), toArray()));
    expect(out.filter((e) => e.kind === 'record').map((e) => (e as StreamRecord<number, Key>).value).sort()).toStrictEqual([0, 0, 1, 2]);
    // (a checkpoint while the job runs: the last one, after the end of input, takes no keyed state)
    const g = gated([1, 2, 3, 4], 4);
    const job = runJob({
      name: 'closures-checkpointed',
      source: g.source,
      pipeline: pipe(keyBy((v: number) => (v % 2 === 0 ? 'even' : 'odd')), parallel(2, closureState, { worker: fixture('closureState') })),
      sink: toArraySink<number>(),
      checkpoint: { intervalMs: 60_000, store: memoryStore() },
    });
    await g.reached;
    await expect(job.triggerCheckpoint()).rejects.toThrow("closures: state 'last' of key");
    await expect(job.done).rejects.toThrow("closures: state 'last' of key");
  });

  it('a checkpointed job through threads: savepoint midway, resume — the uninterrupted output, exactly once', { timeout: 120_000 }, async () => {
    const events = Array.from({ length: 400 }, (_, i) => ({ user: `u${(i * 31) % 17}`, n: i }));
    // a watermark per advance (not every 200 ms of wall time): where windows fire in the stream does not depend on timing
    const pipeline = pipe(eventTime((e: Event) => e.n, boundedOutOfOrderness(0, { interval: 0 })), keyBy((e: Event) => e.user), parallel(2, windowCount, { worker: windowModule }));
    const reference = toArraySink<string>();
    const ref = await runJob({ name: 'ref', source: fromArray(events), pipeline, sink: reference, checkpoint: { intervalMs: 5, store: memoryStore() } }).done;
    expect(ref.checkpointsCompleted).toBeGreaterThan(0);
    expect(Object.keys(ref.subtasks ?? {})).toStrictEqual(['window#0']);
    expect((ref.subtasks?.['window#0'] ?? []).reduce((n, s) => n + s.recordsIn, 0)).toBe(400);

    const { source, reached } = pausedAt(events, 230);
    const store = memoryStore();
    const out = toArraySink<string>();
    const job1 = runJob({ name: 'cut', source, pipeline, sink: out, checkpoint: { intervalMs: 1e9, store } });
    await reached;
    await job1.stop({ savepoint: true });
    const s2 = await runJob({ name: 'cut', source, pipeline, sink: out, checkpoint: { intervalMs: 1e9, store } }).done;
    expect(s2.restoredFrom).toBe(1);
    expect(out.values).toStrictEqual(reference.values);
  });

  // seven jobs, each starting two worker threads that load their module through tsx (1.5 s or more each): 18–30 s on
  // a loaded 2-core machine, so a timeout of its own (it is there to catch a hang)
  it('session windows (the session operator) in worker threads: savepoints at three cuts, resumed — the uninterrupted output, exactly once', { timeout: 120_000 }, async () => {
    // users at irregular times (n is the timestamp), so sessions open, grow, merge and fire all along
    const events = Array.from({ length: 300 }, (_, i) => ({ user: `u${(i * i + 3 * i) % 13}`, n: i * 10 }));
    const pipeline = pipe(eventTime((e: Event) => e.n, boundedOutOfOrderness(0, { interval: 0 })), keyBy((e: Event) => e.user), parallel(2, sessionCount, { worker: fixture('sessionCount') }));
    const reference = toArraySink<string>();
    await runJob({ name: 'ref', source: fromArray(events), pipeline, sink: reference }).done;
    expect(reference.values.length).toBeGreaterThan(60);
    for (const cut of [40, 150, 260]) expect(await resumedAt(events, cut, pipeline), `cut ${cut}`).toStrictEqual(reference.values);
  });

  it('distinct counts in TrackedSets through threads: checkpoints appending what the Sets gained, a crash, a restore from the chain — the uninterrupted output, TrackedSets again', { timeout: 120_000 }, async () => {
    // four users, n = 0, 3, …, 1 797 (two 1 000 ms windows each, the first firing at the event 334); from the first
    // gate on every user's set of n holds more than the 16 items from which a Set that only grew is written as what it
    // gained (src/state/setAppends.ts), so the crash before the first window fires restores it from sets rows
    const events = Array.from({ length: 600 }, (_, i) => ({ user: `u${i % 4}`, n: i * 3 }));
    const pipeline = pipe(eventTime((e: Event) => e.n, boundedOutOfOrderness(0, { interval: 0 })), keyBy((e: Event) => e.user), parallel(2, distinctCount, { worker: fixture('distinctCount') }));
    // the batch oracle: per user and window, the distinct n, and the distinct n mod 50 of even and of odd n
    const groups = new Map<string, { all: Set<number>; even: Set<number>; odd: Set<number> }>();
    for (const e of events) {
      const at = `${e.user}@${e.n - (e.n % 1_000)}`;
      const g = groups.get(at) ?? { all: new Set<number>(), even: new Set<number>(), odd: new Set<number>() };
      groups.set(at, g);
      g.all.add(e.n);
      (e.n % 2 === 0 ? g.even : g.odd).add(e.n % 50);
    }
    const expected = [...groups].map(([at, g]) => `${at}:${g.all.size}/${g.even.size}/${g.odd.size} TrackedSet`);
    const reference = toArraySink<string>();
    await runJob({ name: 'ref', source: fromArray(events), pipeline, sink: reference }).done;
    expect([...reference.values].sort()).toStrictEqual(expected.sort());

    const { source, gates } = gatedAt(events, [100, 200, 300, 330]);
    const store = memoryStore();
    const out = toArraySink<string>();
    const checkpoint = { intervalMs: 1e9, store };
    const job1 = runJob({ name: 'distinct', source, pipeline, sink: out, checkpoint });
    for (const g of gates.slice(0, -1)) {
      await g.reached;
      await job1.triggerCheckpoint();
      g.open();
    }
    await gates[3]?.reached;
    // a crash: the records after checkpoint 3 are processed again from it (a full checkpoint and two deltas)
    await job1.stop();
    const stored = (await store.kv.range('', '\uffff')).map(([, v]) => v).join('');
    expect(stored).toContain('{"$s+":[');
    const resumed = await runJob({ name: 'distinct', source, pipeline, sink: out, checkpoint }).done;
    expect(resumed.restoredFrom).toBe(3);
    expect(out.values).toStrictEqual(reference.values);
  });

  it("merges inside the workers' pipelines and each subtask's clock are in checkpoints: savepoints at every cut, resumed — the uninterrupted output", { timeout: 120_000 }, async () => {
    // each subtask stamps its records itself, in two halves merged again (test/fixtures/parallel/mergedStamps.ts); one
    // key, so subtask 1 stays idle at MIN: without its own clock and merge back, b2 (1200) is on time after a resume
    const events: Stamped[] = [
      { id: 'a0', ts: 2000 },
      { id: 'b0', ts: 1000 },
      { id: 'b1', ts: 1500 },
      { id: 'b2', ts: 1200 },
      { id: 'a1', ts: 2500 },
    ];
    const pipeline = pipe(keyBy((_: Stamped) => 'k'), parallel(2, mergedStamps, { worker: fixture('mergedStamps') }));
    const reference = toArraySink<string>();
    await runJob({ name: 'ref', source: fromArray(events), pipeline, sink: reference }).done;
    expect(reference.values).toStrictEqual(['[1000] n=1', '[1500] n=1', '[2000] n=1', '[2500] n=1']);
    for (let cut = 1; cut <= 4; cut++) {
      const out = await resumedAt(events, cut, pipeline, (saved) => expect(saved.sort()).toStrictEqual(['parallel@0/outputs', 'parallel@0/union@0', 'w']));
      expect(out, `cut ${cut}`).toStrictEqual(reference.values);
    }
  });

  it('side outputs cross the threads: the in-process output, side records in their places; one passing into the workers reaches one subtask', async () => {
    const events: Event[] = Array.from({ length: 300 }, (_, i) => ({ user: `u${i % 17}`, n: i % 13 }));
    const input = () => from([...events.map((e, i) => record(e, i)), watermark(MAX_WATERMARK)]).pipe(keyBy((e: Event) => e.user));
    for (const n of [1, 2, 3]) {
      const inProcess = await lastValueFrom(input().pipe(parallel(n, sideSplit), toArray()));
      const threads = await lastValueFrom(input().pipe(parallel(n, sideSplit, { worker: fixture('sideSplit') }), toArray()));
      expect(threads, `n = ${n}`).toStrictEqual(inProcess);
      expect(threads.filter((e) => e.kind === 'side')).toHaveLength(events.filter((e) => e.n % 2 === 1).length);
    }
    // side records made before the workers go into subtask 0 only, and come out once
    const tee = process<Event, string, Event>({
      name: 'tee',
      onElement(e, ctx) {
        if (e.n % 2 === 1) ctx.output(odd, e);
        ctx.emit(e);
      },
    });
    const upstream = await lastValueFrom(input().pipe(tee, parallel(2, windowCount, { worker: windowModule }), sideOutputOf(odd), toArray()));
    expect(upstream.filter((e) => e.kind === 'record')).toHaveLength(events.filter((e) => e.n % 2 === 1).length);
    // split around the workers and merged again: what comes back is the side record that went in, so the merge
    // passes it once (docs/SEMANTICS.md §14)
    const around = await lastValueFrom(
      input().pipe(
        tee,
        connect((s) => mergeStreams(s.pipe(parallel(2, windowCount, { worker: windowModule })), s.pipe(filter(() => false)))),
        sideOutputOf(odd),
        toArray(),
      ),
    );
    expect(around.filter((e) => e.kind === 'record')).toHaveLength(events.filter((e) => e.n % 2 === 1).length);
  });

  it('a two-input operator (intervalJoin of one input split with connect) in worker threads: the in-process output, and the join of a plain run', async () => {
    const trades: Trade[] = Array.from({ length: 400 }, (_, i) => ({ side: i % 3 === 0 ? 'buy' : 'sell', user: `u${Math.floor(i / 4) % 11}`, n: i }));
    const input = () => from([...trades.map((t, i) => record(t, i * 2 + (i % 4))), watermark(MAX_WATERMARK)]).pipe(keyBy((t: Trade) => t.user));
    const plain = await lastValueFrom(input().pipe(selfJoin, values(), toArray()));
    expect(plain.length).toBeGreaterThan(100);
    for (const n of [1, 2, 3]) {
      const inProcess = await lastValueFrom(input().pipe(parallel(n, selfJoin), toArray()));
      const threads = await lastValueFrom(input().pipe(parallel(n, selfJoin, { worker: fixture('selfJoin') }), toArray()));
      expect(threads, `n = ${n}`).toStrictEqual(inProcess);
      expect(threads.flatMap((e) => (e.kind === 'record' ? [e.value] : [])).sort(), `n = ${n}`).toStrictEqual([...plain].sort());
    }
  });

  it('a pipeline that throws in a worker fails the stream with SubtaskError carrying the error', async () => {
    const run = lastValueFrom(from([1, 13, 2].map((v) => record(v, v, v))).pipe(parallel(2, failing, { worker: fixture('failing') }), toArray()));
    await expect(run).rejects.toThrow(SubtaskError);
    await expect(run).rejects.toThrow(/^parallel: subtask [01] \(worker module file:.*failing\.ts\) failed: UserFunctionError: map: user function threw on record value 13 @ 13 key 13: unlucky 13$/);
  });

  it('a rejection nobody handled, or a throw in a timer, in the last batch before the input ends still fails the stream with SubtaskError', async () => {
    for (const [mode, message] of ASYNC_FAILURES) {
      const module = new URL(`${fixture('asyncFailing').href}?mode=${mode}`);
      // (the input ends in the batch that holds 7: the subtask completes right after it)
      const err: unknown = await lastValueFrom(from([1, 7].map((v) => record(v, v, v))).pipe(parallel(2, map((v: number) => v), { worker: module }), toArray())).catch((e: unknown) => e);
      expect(err, mode).toBeInstanceOf(SubtaskError);
      expect((err as Error).message, mode).toMatch(new RegExp(`^parallel: subtask [01] \\(worker module .*asyncFailing\\.ts\\?mode=${mode}\\) failed: RangeError: ${message}$`));
    }
  });

  it('a thread that exits, a module without a pipeline, and a keyBy inside a worker each fail the stream', async () => {
    const input = () => from([1, 7, 2].map((v) => record(v, v, v)));
    await expect(lastValueFrom(input().pipe(parallel(2, exiting, { worker: fixture('exiting') })))).rejects.toThrow(/parallel: subtask [01] .*failed: Error: the worker thread exited with code 3 before its input ended/);
    await expect(lastValueFrom(input().pipe(parallel(2, failing, { worker: fixture('empty') })))).rejects.toThrow(
      /failed: TypeError: parallel: worker module file:.*empty\.ts exports no pipeline: export it as default \(export default pipe\(\.\.\.\)\) or as 'pipeline'\./,
    );
    await expect(lastValueFrom(input().pipe(parallel(2, rekeying, { worker: fixture('rekeying') })))).rejects.toThrow(
      // found on this thread, when the pipeline is probed for its operators, before any thread starts
      /^keyBy: a pipeline run in worker threads by parallel\(…, \{ worker \}\) cannot re-key its stream: the new keys would live in subtasks that do not own their key groups\./,
    );
  });

  it('a range partitioner that samples: the in-process output, in its order (the held sample keeps its order)', async () => {
    const by = { range: { by: (v: number) => v } } as const;
    for (const vals of [[5, 1, 6, 2, 8, 3], Array.from({ length: 1200 }, (_, i) => (i * 7919) % 1200)]) {
      const input = () => from([...vals.map((v, i) => record(v, i)), watermark(5_000)]);
      const inProcess = await lastValueFrom(input().pipe(parallel(2, passThrough, { by }), toArray()));
      const threads = await lastValueFrom(input().pipe(parallel(2, passThrough, { by, worker: fixture('passThrough') }), toArray()));
      expect(threads).toStrictEqual(inProcess);
    }
  });

  it('one record object pushed twice, to a lower subtask the second time: two elements, in input order', async () => {
    const total = runningTotal as unknown as OperatorFunction<StreamElement<Event, Key>, StreamElement<string, Key>>;
    const twice = record({ user: 'k', n: 10 }, 2, 'k');
    const input = () => from([record({ user: 'k', n: 1 }, 1, 'k'), twice, twice, watermark(10)]);
    const by = () => {
      const route = [1, 1, 0];
      let i = 0;
      return () => route[i++ % 3] as number;
    };
    const inProcess = await lastValueFrom(input().pipe(parallel(2, total, { by: by() }), toArray()));
    const threads = await lastValueFrom(input().pipe(parallel(2, total, { by: by(), worker: fixture('runningTotal') }), toArray()));
    expect(inProcess.filter((e) => e.kind === 'record').map((e) => (e as StreamRecord<string, Key>).value)).toStrictEqual(['k=1', 'k=11', 'k=10']);
    expect(threads).toStrictEqual(inProcess);
  });

  it('a value that cannot cross to a worker (a symbol, a cycle) fails the stream with SubtaskError naming the fix', async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    for (const [v, cause] of [[{ tag: Symbol('t') }, 'Error: Unknown type: symbol'], [cyclic, 'RangeError: Maximum call stack size exceeded']] as const) {
      const run = lastValueFrom(from([record(v, 1), record(2, 2)]).pipe(parallel(1, passThrough, { by: 'round-robin', worker: fixture('passThrough') }), toArray()));
      await expect(run).rejects.toThrow(SubtaskError);
      await expect(run).rejects.toThrow(
        `parallel: a record for subtask 0 cannot cross to its worker thread (${cause}). Values and keys crossing threads must be plain data (no symbols, functions or cycles): map them to plain data before parallel(...), or run it in-process (no worker option).`,
      );
    }
  });

  it('an output value that cannot cross back (a symbol, a cycle) fails the stream with SubtaskError naming the fix', async () => {
    for (const [v, cause] of [['symbol', 'Error: Unknown type: symbol'], ['cycle', 'RangeError: Maximum call stack size exceeded']] as const) {
      const input = from<StreamElement<unknown, undefined>[]>([record(v, 1), record(2, 2)]);
      const run = lastValueFrom(input.pipe(parallel(1, unsendable, { by: 'round-robin', worker: fixture('unsendable') }), toArray()));
      await expect(run).rejects.toThrow(SubtaskError);
      await expect(run).rejects.toThrow(
        `failed: Error: an output record cannot cross back from the worker thread (${cause}). Values and keys crossing threads must be plain data (no symbols, functions or cycles): map them to plain data at the end of the parallel pipeline, or run it in-process (no worker option).`,
      );
    }
  });

  it('a worker module given as a path whose names hold #, ? and % (taken as characters, not URL syntax), absolute or relative', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidewater-module #?%41 '));
    try {
      const file = join(dir, 'pass #1 %41.mjs');
      writeFileSync(file, `export { default } from ${JSON.stringify(fixture('passThrough').href)};\n`);
      const input = () => from<StreamElement<number, string>[]>([record(1, 1, 'a'), record(2, 2, 'b')]);
      for (const worker of [file, relative(globalThis.process.cwd(), file)]) {
        const out = await lastValueFrom(input().pipe(parallel(2, passThrough as never, { worker }), toArray()));
        expect(out.filter((e) => e.kind === 'record').map((e) => (e as StreamRecord<number, string>).value).sort()).toStrictEqual([1, 2]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two stateful operators with one name are refused in threads as in-process (their state would mix in checkpoints)', async () => {
    const message = "parallel: two stateful operators in the parallel pipeline are named 'same'; give each a unique name.";
    for (const options of [{}, { worker: fixture('sameNames') }]) {
      const run = lastValueFrom(from([record(1, 1, 'a'), record(2, 2, 'b')]).pipe(parallel(2, sameNames, options), toArray()));
      await expect(run).rejects.toThrow(message);
    }
  });

  it('an unkeyed record or a plain value fails the stream with the error an in-process run gives', async () => {
    const run = (input: readonly unknown[], worker: boolean) =>
      lastValueFrom(from(input as StreamElement<Event, string>[]).pipe(parallel(2, windowCount, worker ? { worker: windowModule } : {}), toArray())).then(
        () => 'completed',
        (err: Error) => `${err.name}: ${err.message}`,
      );
    const unkeyed = [record({ user: 'a', n: 1 }, 1, 'a'), record({ user: 'b', n: 2 }, 2)];
    const plain = [record({ user: 'a', n: 1 }, 1, 'a'), 42];
    for (const input of [unkeyed, plain]) {
      const inProcess = await run(input, false);
      expect(inProcess).toMatch(/^(InvalidKeyError|NotAStreamElementError): partitionStream/);
      expect(await run(input, true)).toBe(inProcess);
    }
    // and at n = 1, where nothing is routed: the keys are still checked, in-process as in threads
    const one = (input: readonly unknown[], worker: boolean) =>
      lastValueFrom(from(input as StreamElement<number, string>[]).pipe(parallel(1, passThrough as never, worker ? { worker: fixture('passThrough') } : {}), toArray())).then(
        () => 'completed',
        (err: Error) => `${err.name}: ${err.message}`,
      );
    for (const input of [unkeyed, plain, [record(1, 1, { id: 1 })]]) {
      const inProcess = await one(input, false);
      expect(inProcess).toMatch(/^(InvalidKeyError|NotAStreamElementError): partitionStream/);
      expect(await one(input, true)).toBe(inProcess);
    }
  });

  it('refuses a worker module whose pipeline has other stateful operators than the one given', async () => {
    const run = lastValueFrom(keyed([[{ user: 'a', n: 1 }, 1]]).pipe(parallel(2, pipe(values(), (s) => s as never), { worker: windowModule })));
    await expect(run).rejects.toThrow(
      /builds a pipeline with stateful operators \[window\], the pipeline given to parallel has \[\]\. Pass the pipeline the module exports \(import it from the module\)\./,
    );
  });

  it('threads inside a parallel job (each outer copy starts its own threads): a checkpoint while one branch ended, then the end', async () => {
    const a: Event[] = [{ user: 'u1', n: 1 }, { user: 'u2', n: 2 }, { user: 'u1', n: 3 }, { user: 'u3', n: 4 }];
    const b = gated(['x', 'y', 'z'], 2);
    const out = toArraySink<string>();
    const job = runJob({
      name: 'nested',
      sources: { a: fromArray(a), b: b.source },
      pipeline: (s) =>
        mergeStreams(
          s.a.pipe(keyBy((e: Event) => e.user), parallel(2, runningTotal, { worker: fixture('runningTotal') })),
          s.b.pipe(map((x: string) => `b:${x}`)),
        ),
      sink: out,
      parallelism: 2,
      checkpoint: { intervalMs: 1e9, store: memoryStore() },
    });
    await b.reached;
    expect((await job.triggerCheckpoint()).id).toBe(1);
    b.open();
    expect((await job.done).state).toBe('finished');
    expect([...out.values].sort()).toStrictEqual(['b:x', 'b:y', 'b:z', 'u1=1', 'u1=4', 'u2=2', 'u3=4']);
  });
  for (const threads of [false, true]) {
    it(`a parallel inside a parallel job (${threads ? 'threads' : 'in-process'}): a checkpoint's barrier passes through it`, async () => {
      const source = gated<Event>([{ user: 'u1', n: 1 }, { user: 'u2', n: 2 }, { user: 'u1', n: 3 }], 2);
      const store = memoryStore();
      const out = toArraySink<string>();
      const job = runJob({
        name: 'nested-barrier',
        source: source.source,
        pipeline: (s) => s.pipe(keyBy((e: Event) => e.user), parallel(2, runningTotal, threads ? { worker: fixture('runningTotal') } : {})),
        sink: out,
        parallelism: 2,
        checkpoint: { intervalMs: 1e9, store },
      });
      await source.reached;
      expect((await job.triggerCheckpoint()).id).toBe(1);
      const cp = await store.loadCheckpoint('nested-barrier', 1);
      // (the merges of the job's copies and of the inner subtasks are there too, by name: no keyed state)
      expect(cp?.operators.map((o) => [o.operator, o.entries.length])).toStrictEqual([
        ['runJob/outputs', 0],
        ...(threads ? [['total', 2], ['runJob/parallel@0/outputs', 0]] : [['runJob/parallel@0/outputs', 0], ['total', 2]]),
        ['runJob/keyBy@0', 0],
        ['runJob@dealing', 0],
      ]);
      source.open();
      expect((await job.done).state).toBe('finished');
      expect([...out.values].sort()).toStrictEqual(['u1=1', 'u1=4', 'u2=2']);
    });
  }
});
