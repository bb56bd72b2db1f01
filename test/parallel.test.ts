// parallel(n, pipeline) in-process (docs/SEMANTICS.md §7.1): output, watermarks of subtasks without keys, state by
// key group (harness snapshot at one n restored at another), keyBy inside subtasks, option errors. Runs in Node and in
// Chromium. Worker threads: test/parallel.threads.node.test.ts.
import fc from 'fast-check';
import { connect, from, lastValueFrom, pipe, toArray, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, fromArray, MAX_WATERMARK, memoryStore, mergeStreams, record, runJob, toArray as toArraySink, valueState, watermark, type StreamElement } from '../src/index.js';
import { eventTime, keyBy, map, parallel, process, values } from '../operators/index.js';
import { harness, rec, wm } from '../testing/index.js';
import { runningTotal, windowCount, type Event } from './fixtures/parallel/windowCount.js';
import { marbles } from './support/marbles.js';

const keyed = (events: readonly (readonly [Event, number])[], end = 10_000) =>
  from([...events.map(([e, ts]) => record(e, ts)), watermark(end)]).pipe(keyBy((e: Event) => e.user));

const sortedValues = async <R>(s: ReturnType<typeof keyed>, op: (s: ReturnType<typeof keyed>) => import('rxjs').Observable<StreamElement<R, unknown>>) =>
  [...(await lastValueFrom(op(s).pipe(values(), toArray())))].sort();

describe('parallel, in-process', () => {
  it("a keyBy re-keying inside a parallel nested in a job's copies fails with a ConfigurationError naming the key (its state would be split over the copies)", async () => {
    type K = { id: string; at: number };
    const xs: K[] = Array.from({ length: 8 }, (_, i) => ({ id: `u${i}`, at: i }));
    const inner = (s: Observable<StreamElement<K, string>>) => s.pipe(keyBy(() => 'all'), map((e: K) => e.id));
    const pipeline = (s: Observable<StreamElement<K, undefined>>) => s.pipe(eventTime((e: K) => e.at), keyBy((e: K) => e.id), parallel(2, inner));
    // at parallelism 1 one copy owns every key: fine
    const out = toArraySink<string>();
    await runJob({ name: 'nk', source: fromArray(xs), pipeline, sink: out }).done;
    expect([...out.values].sort()).toStrictEqual(xs.map((x) => x.id));
    const job = runJob({ name: 'nk', source: fromArray(xs), pipeline, sink: toArraySink<string>(), parallelism: 2 });
    const err: unknown = await job.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toBe(
      'keyBy: key "all" belongs to another subtask of the parallel pipeline around this parallel(…): a keyBy inside a parallel pipeline nested in parallel copies (runJob\'s parallelism, or a worker thread) re-keys within one copy only, so the key\'s state would be split over the copies. ' +
        "Re-key before the outer parallelism (keyBy(...) then parallel(...)), or drop the inner parallel(…): the job's parallelism already runs the pipeline in parallel.",
    );
  });
  it('a subtask that reads its input twice from a synchronous source gets every record in each reader (the input starts once every subtask subscribed)', async () => {
    type S = Observable<StreamElement<number, unknown>>;
    const input = () => from([...[1, 2, 3, 4, 5, 6].map((v) => record(v, v, `k${v}`)), watermark(MAX_WATERMARK)]);
    // two keyBy branches of the input; a keyBy branch beside a plain one; RxJS connect splitting it
    const twoKeyBys = (s: S) => mergeStreams(s.pipe(keyBy((v: number) => `a${v % 3}`), map((v: number) => `A${v}`)), s.pipe(keyBy((v: number) => `b${v % 2}`), map((v: number) => `B${v}`)));
    const keyedAndPlain = (s: S) => mergeStreams(s.pipe(keyBy((v: number) => `a${v % 3}`), map((v: number) => `K${v}`)), s.pipe(map((v: number) => `D${v}`)));
    const connected = (s: S) => s.pipe(connect((c) => mergeStreams(c.pipe(keyBy((v: number) => `a${v % 3}`), map((v: number) => `K${v}`)), c.pipe(map((v: number) => `D${v}`)))));
    const all = (a: string, b: string) => [1, 2, 3, 4, 5, 6].flatMap((v) => [`${a}${v}`, `${b}${v}`]).sort();
    for (const [p, expected] of [[twoKeyBys, all('A', 'B')], [keyedAndPlain, all('D', 'K')], [connected, all('D', 'K')]] as const) {
      for (const n of [1, 2, 3]) {
        const out = await lastValueFrom(input().pipe(parallel(n, p), values(), toArray()));
        expect([...out].sort(), `${p === twoKeyBys ? 'two keyBys' : p === keyedAndPlain ? 'keyed and plain' : 'connect'}, n = ${n}`).toStrictEqual(expected);
      }
    }
  });

  it('a keyed windowed pipeline gives the plain pipeline\'s output for n = 1..4 (property over random streams)', async () => {
    const event = fc.record({ user: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), n: fc.nat(9) });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(event, fc.nat(200)), { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), async (events, n) => {
        const plain = await sortedValues(keyed(events), (s) => s.pipe(windowCount));
        const par = await sortedValues(keyed(events), (s) => s.pipe(parallel(n, windowCount)));
        expect(par).toStrictEqual(plain);
        const totals = await lastValueFrom(keyed(events).pipe(runningTotal, values(), toArray()));
        const parTotals = await lastValueFrom(keyed(events).pipe(parallel(n, runningTotal), values(), toArray()));
        // per key the running totals come in the key's order
        for (const user of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) {
          expect(parTotals.filter((t) => t.startsWith(`${user}=`))).toStrictEqual(totals.filter((t) => t.startsWith(`${user}=`)));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('subtasks that own no key do not hold event time back: every watermark comes out once, records in order', marbles((m) => {
    const values = { a: rec('x', 1, 'k'), b: rec('y', 5, 'k'), w: wm(3), v: wm(8), M: wm(MAX_WATERMARK) };
    const input = m.cold<StreamElement<string, string>>('a-w-b-v-|', values);
    // one key: three of the four subtasks get no record, only the watermarks; the merge of ended subtasks is at the
    // end of event time (docs/SEMANTICS.md §2.4)
    m.expect(input.pipe(parallel(4, map((s: string) => s)))).toBeObservable('a-w-b-v-(M|)', values);
  }));

  it('a harness snapshot taken at n = 2 restores at n = 3 and n = 1: state is found by key group', () => {
    const counter = () =>
      process<string, string, number, { n: ReturnType<typeof valueState<number>> }>({
        name: 'count',
        state: { n: valueState<number>() },
        onElement(_v, ctx) {
          const n = (ctx.state.n.get() ?? 0) + 1;
          ctx.state.n.set(n);
          ctx.emit(n);
        },
      });
    const keys = Array.from({ length: 40 }, (_, i) => `key${i}`);
    const h2 = harness(parallel(2, counter()));
    for (const k of keys) h2.record('v', 1, k).record('v', 2, k);
    expect(h2.operators.map((o) => o.name)).toStrictEqual(['parallel@0/outputs', 'count']);
    expect(h2.state('key7', 'n')).toBe(2);
    const cp = h2.snapshot();
    for (const n of [3, 1]) {
      const h = harness(parallel(n, counter()), { restore: cp });
      for (const k of keys) h.record('v', 3, k);
      expect(h.records().map((r) => r.value), `n = ${n}`).toStrictEqual(keys.map(() => 3));
      expect(h.keys().sort()).toStrictEqual([...keys].sort());
    }
  });

  it('a keyBy inside the subtasks re-keys through the exchange: the state of a new key lives in one subtask', async () => {
    const events = Array.from({ length: 90 }, (_, i) => [{ user: `u${i % 9}`, n: i }, i] as const);
    const regrouped = pipe(
      map((e: Event) => ({ ...e, user: `g${Number(e.user.slice(1)) % 2}` })),
      keyBy((e: Event) => e.user),
      runningTotal,
    );
    const plain = await lastValueFrom(keyed(events).pipe(regrouped, values(), toArray()));
    for (const n of [2, 3]) {
      const par = await lastValueFrom(keyed(events).pipe(parallel(n, regrouped), values(), toArray()));
      expect(par, `n = ${n}`).toStrictEqual(plain);
    }
  });

  it('refuses bad arguments with ConfigurationError naming parallel and the value', () => {
    const p = map((v: number) => v);
    expect(() => parallel(0, p)).toThrow(ConfigurationError);
    expect(() => parallel(0, p)).toThrow('parallel: n 0 is not a number of subtasks. Pass an integer ≥ 1.');
    expect(() => parallel(2.5, p)).toThrow('parallel: n 2.5 is not a number of subtasks. Pass an integer ≥ 1.');
    expect(() => parallel('2' as unknown as number, p)).toThrow('parallel: n "2" is not a number of subtasks. Pass an integer ≥ 1.');
    expect(() => parallel(2, 'x' as never)).toThrow('parallel: the pipeline "x" is not a function.');
    expect(() => parallel(2, p, { maxParallelism: 0 })).toThrow('parallel: maxParallelism 0 is not valid. Pass an integer in [1, 32768] (default 128).');
    expect(() => parallel(2, p, { worker: 5 as never })).toThrow('parallel: worker 5 must be a URL or a path of a module that exports the pipeline.');
  });

  it('fails the stream when n exceeds maxParallelism, or differs from the job\'s maxParallelism', async () => {
    const input = () => from([record(1, 0, 'k')]);
    await expect(lastValueFrom(input().pipe(parallel(5, map((v: number) => v), { maxParallelism: 4 })))).rejects.toThrow(
      'parallel: n 5 exceeds maxParallelism 4: each subtask needs a key group at least. Pass n ≤ 4, or a larger maxParallelism.',
    );
    const job = runJob({
      name: 'mp',
      source: fromArray([1, 2]),
      pipeline: pipe(eventTime((v: number) => v), keyBy((v: number) => v), parallel(2, map((v: number) => v), { maxParallelism: 64 })),
      maxParallelism: 256,
    });
    await expect(job.done).rejects.toThrow("parallel: maxParallelism 64 differs from the job's 256; key groups must be the same throughout a job. Leave it out (the job's is used) or pass 256.");
  });

  it('a function partitioner is checked at n = 1 as at any n: an index out of range fails the stream, naming it', async () => {
    const outOfRange = (n: number) => lastValueFrom(from([record(1, 0, 'k')]).pipe(parallel(n, map((v: number) => v), { by: () => 1 }), toArray()));
    await expect(outOfRange(1)).rejects.toThrow('partitionStream: the function partitioner returned 1 for record value 1 @ 0 key "k". Return an integer in [0, 1) (n = 1).');
    // (index 1 is in range at n = 2 and 4: the record, then the end's watermark)
    for (const n of [2, 4]) await expect(outOfRange(n)).resolves.toHaveLength(2);
    const throws = lastValueFrom(from([record(1, 0, 'k')]).pipe(parallel(1, map((v: number) => v), { by: () => { throw new Error('no route'); } })));
    await expect(throws).rejects.toThrow('no route');
  });

  it('refuses keyed state behind a partitioner other than hash in a checkpointed job', async () => {
    const job = runJob({
      name: 'rr',
      source: fromArray([1, 2, 3]),
      pipeline: pipe(eventTime((v: number) => v), keyBy((v: number) => v % 2), parallel(2, runningTotal as never, { by: 'round-robin' })),
      sink: toArraySink(),
      checkpoint: { intervalMs: 1000, store: memoryStore() },
    });
    await expect(job.done).rejects.toThrow(ConfigurationError);
    await expect(job.done).rejects.toThrow(
      "parallel: stateful operator 'total' runs in subtasks fed by the 'round-robin' partitioner, so a key's state could be split over subtasks and no checkpoint could restore it. Keyed state inside parallel needs by: 'hash' (the default), or run without checkpoints.",
    );
  });

  it('names unnamed operators as the pipeline without parallel does, and checkpoints them in a job', async () => {
    const events = Array.from({ length: 50 }, (_, i) => ({ user: `u${i % 5}`, n: i }));
    const pipeline = pipe(eventTime((e: Event) => e.n), keyBy((e: Event) => e.user), parallel(3, windowCount));
    const store = memoryStore();
    const out = toArraySink<string>();
    const summary = await runJob({ name: 'named', source: fromArray(events), pipeline, sink: out, checkpoint: { intervalMs: 1e9, store } }).done;
    // (with the merge of the subtasks' outputs, named after the group: it does not take a place of the pipeline's own)
    expect(Object.keys(summary.operators)).toStrictEqual(['parallel@0/outputs', 'window#0']);
    expect(summary.subtasks?.['window#0']?.map((s) => s.subtask)).toStrictEqual([0, 1, 2]);
    const cp = await store.loadCheckpoint('named', 'latest');
    expect(cp?.operators.map((o) => o.operator)).toStrictEqual(['parallel@0/outputs', 'window#0']);
  });
});
