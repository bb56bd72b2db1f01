import { pipe, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  boundedOutOfOrderness,
  callbackSink,
  ConfigurationError,
  memoryStore,
  mergeStreams,
  count,
  fromArray,
  fromAsyncIterable,
  fromIterable,
  fromObservable,
  runJob,
  toArray,
  tumblingWindows,
  UserFunctionError,
  valueState,
  type JobConfig,
  type StateStore,
  type StreamElement,
  type WindowResult,
} from '../src/index.js';
import { aggregate, eventTime, filter, keyBy, map, process, values, window } from '../operators/index.js';

interface Click {
  readonly user: string;
  readonly ts: number;
}

const clicks: Click[] = [
  { user: 'a', ts: 100 },
  { user: 'b', ts: 200 },
  { user: 'a', ts: 900 },
  { user: 'a', ts: 1100 },
  { user: 'b', ts: 1500 },
  { user: 'a', ts: 2100 },
];

const perSecond = pipe(
  eventTime((c: Click) => c.ts, boundedOutOfOrderness(0, { interval: 0 })),
  keyBy((c: Click) => c.user),
  window(tumblingWindows(1000)),
  aggregate(count()),
);

const expectedCounts: WindowResult<string, number>[] = [
  { key: 'a', window: { start: 0, end: 1000 }, value: 2 },
  { key: 'b', window: { start: 0, end: 1000 }, value: 1 },
  { key: 'a', window: { start: 1000, end: 2000 }, value: 1 },
  { key: 'b', window: { start: 1000, end: 2000 }, value: 1 },
  { key: 'a', window: { start: 2000, end: 3000 }, value: 1 },
];

describe('runJob without checkpoints', () => {
  it('runs a windowed pipeline from an array into toArray, in order, and summarises', async () => {
    const out = toArray<WindowResult<string, number>>();
    const job = runJob({ name: 'counts', source: fromArray(clicks), pipeline: perSecond, sink: out });
    const seen: WindowResult<string, number>[] = [];
    job.output$.subscribe((v) => seen.push(v));
    const summary = await job.done;
    expect(out.values).toStrictEqual(expectedCounts);
    expect(seen).toStrictEqual(expectedCounts);
    expect(summary).toStrictEqual({
      name: 'counts',
      state: 'finished',
      recordsIn: 6,
      recordsOut: 5,
      checkpointsCompleted: 0,
      skipped: [],
      operators: { 'window#0': { recordsIn: 6, recordsOut: 5, stateEntries: 0, lateRecordsDropped: 0, recordsAfterEndOfInput: 0, watermark: Infinity } },
    });
  });

  it('reads iterables, async iterables and observables, in batches', async () => {
    const double = pipe(map((x: number) => x * 2));
    const a = toArray<number>();
    await runJob({ name: 'it', source: fromIterable(() => [1, 2, 3]), pipeline: double, sink: a, batchSize: 2 }).done;
    expect(a.values).toStrictEqual([2, 4, 6]);
    const b = toArray<number>();
    async function* gen(): AsyncGenerator<number> {
      for (let i = 1; i <= 4; i++) yield i;
    }
    await runJob({ name: 'ait', source: fromAsyncIterable(gen), pipeline: double, sink: b }).done;
    expect(b.values).toStrictEqual([2, 4, 6, 8]);
    const subject = new Subject<number>();
    const c = toArray<number>();
    const job = runJob({ name: 'obs', source: fromObservable(subject), pipeline: double, sink: c });
    await new Promise((r) => setTimeout(r, 5));
    subject.next(5);
    subject.next(6);
    subject.complete();
    await job.done;
    expect(c.values).toStrictEqual([10, 12]);
  });

  it('fromIterable over an array reads it as its iterator would: by batch, from an offset, and an array with an iterator of its own through it', () => {
    const readAll = (values: Iterable<number>, offset?: string) => {
      const reader = fromIterable(() => values).open(offset, { index: 0 } as never) as unknown as { read(max: number): { values: number[]; done: boolean }; offset(): string };
      const batches: number[][] = [];
      for (;;) {
        const r = reader.read(2);
        if (r.values.length > 0) batches.push(r.values);
        if (r.done) return { batches, offset: reader.offset() };
      }
    };
    expect(readAll([1, 2, 3, 4, 5])).toStrictEqual({ batches: [[1, 2], [3, 4], [5]], offset: '5' });
    expect(readAll([1, 2, 3, 4, 5], '3')).toStrictEqual({ batches: [[4, 5]], offset: '5' });
    // eslint-disable-next-line no-sparse-arrays
    expect(readAll([1, , 3] as number[]).batches.flatMap((b) => [...b])).toStrictEqual([1, undefined, 3]); // a hole: undefined, as iterated
    class Reversed extends Array<number> {
      override *[Symbol.iterator](): ArrayIterator<number> {
        for (let i = this.length - 1; i >= 0; i--) yield this[i] as number;
      }
    }
    const reversed = Reversed.from([1, 2, 3]) as Reversed;
    expect(readAll(reversed).batches.flat()).toStrictEqual([3, 2, 1]);
    const own = [1, 2, 3];
    Object.defineProperty(own, Symbol.iterator, { value: function* () { yield 9; } });
    expect(readAll(own).batches.flat()).toStrictEqual([9]);
    // an offset past the end: nothing, the offset kept (as the iterator skipping that far)
    expect(readAll([1, 2], '5')).toStrictEqual({ batches: [], offset: '5' });
    // a read that exactly fills its batch is not the end: values appended before the next read are read; a shrunk
    // array ends the input where it is
    const growing = [1, 2];
    const reader = fromIterable(() => growing).open(undefined, { index: 0 } as never) as unknown as { read(max: number): { values: number[]; done: boolean }; offset(): string };
    expect(reader.read(2)).toStrictEqual({ values: [1, 2], done: false });
    growing.push(3, 4, 5);
    expect(reader.read(2)).toStrictEqual({ values: [3, 4], done: false });
    growing.length = 3;
    expect(reader.read(2)).toStrictEqual({ values: [], done: true });
    expect(reader.offset()).toBe('4');
    // a value appended during a read (by an index getter) is read in it, as the iterator reads it
    const live: number[] = [1, 2];
    Object.defineProperty(live, 1, { get: () => (live.push(3), 2), enumerable: true });
    const liveReader = fromIterable(() => live).open(undefined, { index: 0 } as never) as unknown as { read(max: number): { values: number[]; done: boolean } };
    expect(liveReader.read(5)).toStrictEqual({ values: [1, 2, 3], done: true });
    // a subclass of Array (its own species) is iterated, never sliced through its constructor
    let constructed = 0;
    class Counted extends Array<number> {
      constructor(...args: number[]) {
        super(...args);
        constructed++;
      }
    }
    const counted = new Counted();
    counted.push(1, 2, 3);
    constructed = 0;
    expect(readAll(counted).batches.flat()).toStrictEqual([1, 2, 3]);
    expect(constructed).toBe(0);
  });

  it('a pipeline that starts with eventTime gets the values as they are: the same results as through a record each; its errors name the value, as eventTime over the values does', async () => {
    // the values (one of them shaped as a stream element: a watermark, taken as one either way), then eventTime first
    // (the job pushes the values themselves) or after an identity map (the job pushes a record per value)
    const values: (Click | StreamElement<Click>)[] = [...clicks.slice(0, 3), { kind: 'watermark', timestamp: 5 }, ...clicks.slice(3)];
    const first = toArray<WindowResult<string, number>>();
    await runJob({ name: 'plain', source: fromArray(values as Click[]), pipeline: perSecond, sink: first }).done;
    const second = toArray<WindowResult<string, number>>();
    await runJob({ name: 'records', source: fromArray(values as Click[]), pipeline: pipe(map((c: Click) => c), perSecond), sink: second }).done;
    expect(first.values).toStrictEqual(expectedCounts);
    expect(second.values).toStrictEqual(expectedCounts);
    // a timestamp function that throws: the error names eventTime and the value it was given, as in a pipe over the values
    const failing = runJob({
      name: 'throws',
      source: fromArray(clicks),
      pipeline: pipe(eventTime((c: Click) => {
        if (c.ts === 900) throw new Error('no time');
        return c.ts;
      })),
      sink: toArray(),
    });
    const err = await failing.done.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserFunctionError);
    expect((err as UserFunctionError).operator).toBe('eventTime');
    expect((err as UserFunctionError).value).toStrictEqual({ user: 'a', ts: 900 });
  });

  it('merges several sources round-robin by batch', async () => {
    const out = toArray<string>();
    await runJob({
      name: 'two',
      source: [fromArray(['a1', 'a2', 'a3']), fromArray(['b1'])],
      pipeline: pipe(map((s: string) => s)),
      sink: out,
      batchSize: 2,
    }).done;
    expect(out.values).toStrictEqual(['a1', 'a2', 'b1', 'a3']);
  });

  it('passes stream elements from a source through as they are', async () => {
    const out = toArray<number>();
    const els: StreamElement<number>[] = [
      { kind: 'record', value: 1, timestamp: 5, key: 'k' },
      { kind: 'watermark', timestamp: 10 },
    ];
    await runJob({
      name: 'els',
      source: fromArray(els as unknown as number[]), // elements pass through as they are
      pipeline: pipe(
        keyBy(() => 'k'),
        process<number, string, number, { n: ReturnType<typeof valueState<number>> }>({
          state: { n: valueState<number>() },
          onElement(v, ctx) {
            ctx.emit(v + ctx.timestamp);
          },
        }),
      ),
      sink: out,
    }).done;
    expect(out.values).toStrictEqual([6]);
  });

  it('calls a callback sink per value', async () => {
    const written: number[] = [];
    await runJob({ name: 'cb', source: fromArray([1, 2]), pipeline: pipe(map((x: number) => x)), sink: callbackSink<number>({ write: (v) => written.push(v) }) }).done;
    expect(written).toStrictEqual([1, 2]);
  });

  it('fails with the operator and the record when a user function throws', async () => {
    const job = runJob({
      name: 'boom',
      source: fromArray([1, 2, 3]),
      pipeline: pipe(
        map((x: number) => {
          if (x === 2) throw new Error('no twos');
          return x;
        }),
      ),
    });
    await expect(job.done).rejects.toThrow(UserFunctionError);
    await expect(job.done).rejects.toThrow('map: user function threw on record value 2');
  });

  it('rejects bad configuration with a clear error', async () => {
    expect(() => runJob({ name: '', source: fromArray([1]), pipeline: pipe(map((x: number) => x)) })).toThrow(ConfigurationError);
    expect(() => runJob({ name: 'j', source: [], pipeline: pipe(map((x: number) => x)) })).toThrow('runJob(j): give at least one source.');
    expect(() =>
      runJob({ name: 'j', source: fromArray([1]), pipeline: pipe(map((x: number) => x)), checkpoint: { intervalMs: 10, store: memoryStore(), mode: 'exactly-twice' as 'exactly-once' } }),
    ).toThrow(`runJob(j): checkpoint.mode "exactly-twice" must be 'exactly-once' or 'at-least-once'.`);
    for (const [pause, shown] of [[-1, '-1'], [Infinity, 'Infinity'], [NaN, 'NaN'], ['5', '"5"']] as const) {
      expect(() => runJob({ name: 'j', source: fromArray([1]), pipeline: pipe(map((x: number) => x)), checkpoint: { intervalMs: 10, minPauseMs: pause as number, store: memoryStore() } })).toThrow(
        `runJob(j): checkpoint.minPauseMs ${shown} must be a finite number of ms ≥ 0 (default 0).`,
      );
    }
    // (a checkpoint without a store, as plain JavaScript may pass it: it failed with a TypeError)
    for (const [store, shown] of [[undefined, 'undefined'], [null, 'null'], ['dir', '"dir"'], [{}, '{}']] as const) {
      expect(() => runJob({ name: 'j', source: fromArray([1]), pipeline: pipe(map((x: number) => x)), checkpoint: { intervalMs: 10, store: store as unknown as StateStore } })).toThrow(
        `runJob(j): checkpoint.store ${shown} is not a state store; give one, e.g. memoryStore(), levelStore(dir) from 'tidewater/level' (Node) or indexedDbStore(name) from 'tidewater/indexeddb' (browser).`,
      );
    }
    for (const [restore, shown] of [[1.5, '1.5'], [0, '0'], ['newest', '"newest"'], [true, 'Boolean true']] as const) {
      expect(() => runJob({ name: 'j', source: fromArray([1]), pipeline: pipe(map((x: number) => x)), checkpoint: { intervalMs: 10, store: memoryStore() }, restore: restore as 'latest' })).toThrow(
        `runJob(j): restore ${shown} must be 'latest' (the default: the newest usable checkpoint), a checkpoint id (an integer ≥ 1) or false (start empty).`,
      );
    }
    const job = runJob({ name: 'j', source: fromArray([1]), pipeline: pipe(map((x: number) => x)) });
    await expect(job.triggerCheckpoint()).rejects.toThrow('runJob(j): triggerCheckpoint needs checkpoint: { intervalMs, store }.');
    await job.done;
  });

  it('refuses what is no source or no pipeline where it is given, and fails a job whose pipeline emits plain values (not silently finishing with nothing)', async () => {
    const remedy = 'give one, e.g. fromArray(values), fromIterable(() => values), fromAsyncIterable(() => it), fromObservable(obs$) or fromNdjsonFile(path).';
    const as = (config: unknown) => config as JobConfig<number, number>;
    expect(() => runJob(as({ name: 'j', source: [1, 2], pipeline: pipe(map((x: number) => x)) }))).toThrow(
      `runJob(j): source is an array, taken as a list of sources, and its item 0 1 is not one; for an array of values give fromArray(values), else ${remedy}`,
    );
    expect(() => runJob(as({ name: 'j', source: new Subject<number>(), pipeline: pipe(map((x: number) => x)) }))).toThrow(
      'runJob(j): source is an Observable, not a source; give fromObservable(obs$) (with a journal, fromObservable(obs$, { journal: store }), it is exactly-once).',
    );
    expect(() => runJob(as({ name: 'j', sources: { clicks: 'clicks.ndjson' }, pipeline: () => new Subject() }))).toThrow(`runJob(j): sources.clicks "clicks.ndjson" is not a source; ${remedy}`);
    for (const [pipeline, shown] of [[undefined, 'undefined'], [5, '5']] as const) {
      expect(() => runJob(as({ name: 'j', source: fromArray([1]), pipeline }))).toThrow(ConfigurationError);
      expect(() => runJob(as({ name: 'j', source: fromArray([1]), pipeline }))).toThrow(
        `runJob(j): pipeline ${shown} is not a function; give the operators from the source's records to the sink's, e.g. pipeline: pipe(eventTime((v) => v.at), keyBy((v) => v.user), …).`,
      );
    }
    await expect(runJob(as({ name: 'j', source: fromArray([1]), pipeline: () => [1] })).done).rejects.toThrow(
      "runJob(j): the pipeline returned [1], not an Observable; return the stream it makes, e.g. pipeline: (input) => input.pipe(eventTime((v) => v.at), …).",
    );
    expect(() => runJob(as({ name: 'j', source: fromArray([1]), pipeline: pipe(map((x: number) => x)), paralelism: 2 }))).toThrow(
      'runJob(j): no option "paralelism" in the config — did you mean "parallelism"? The options: name, source, sources, pipeline, sink, sinks, checkpoint, restore, discardCommitted, allowNonRestoredState, parallelism, maxParallelism, scheduler, batchSize, onWarning.',
    );
    expect(() => runJob(as({ name: 'j', source: fromArray([1]), pipeline: pipe(map((x: number) => x)), checkpoint: { interval: 10, store: memoryStore() } }))).toThrow(
      'runJob(j): no option "interval" in checkpoint — did you mean "intervalMs"? The options: intervalMs, minPauseMs, timeoutMs, store, retain, mode.',
    );
    expect(() => runJob(as({ name: 'j', source: fromArray([1]), pipeline: pipe(map((x: number) => x)), checkpoint: { intervalMs: 10, store: memoryStore(), keep: 2 } }))).toThrow(
      'runJob(j): no option "keep" in checkpoint. The options: intervalMs, minPauseMs, timeoutMs, store, retain, mode.',
    );
    const sink = toArray<number>();
    const plain = runJob({ name: 'plain', source: fromArray([1, 2]), pipeline: pipe(map((x: number) => x), values()) as unknown as JobConfig<number, number>['pipeline'], sink });
    await expect(plain.done).rejects.toThrow(ConfigurationError);
    await expect(plain.done).rejects.toThrow(
      "runJob(plain): the pipeline emitted 1, which is not a stream element: a job's pipeline ends in records, and the sink gets their values (values() is for a plain subscriber: leave it out; a plain RxJS operator such as map from 'rxjs' sees elements, not values: use tidewater's map).",
    );
    expect(sink.values).toStrictEqual([]);
  });

  it('a pipeline that uses its input stream twice (two branches merged): each branch gets every element, and the job ends', async () => {
    const out = toArray<string>();
    const job = runJob({
      name: 'branches',
      source: fromArray([1, 2, 3, 4]),
      pipeline: (in$) => {
        const s$ = in$.pipe(eventTime((v: number) => v));
        return mergeStreams(
          s$.pipe(filter((v: number) => v % 2 === 0), map((v: number) => `even ${v}`)),
          s$.pipe(filter((v: number) => v % 2 === 1), map((v: number) => `odd ${v}`)),
        );
      },
      sink: out,
    });
    expect((await job.done).state).toBe('finished');
    expect(out.values).toStrictEqual(['odd 1', 'even 2', 'odd 3', 'even 4']);
    // named sources too, one of them subscribed twice
    const named = toArray<number>();
    const job2 = runJob({
      name: 'named-twice',
      sources: { a: fromArray([1, 2, 3]), b: fromArray([100]) },
      pipeline: (s) => mergeStreams(s.a.pipe(map((v: number) => v * 10)), s.a, s.b),
      sink: named,
    });
    expect((await job2.done).state).toBe('finished');
    expect([...named.values].sort((x, y) => x - y)).toStrictEqual([1, 2, 3, 10, 20, 30, 100]);
  });

  it('stops a job waiting on a live source', async () => {
    const subject = new Subject<number>();
    const out = toArray<number>();
    const job = runJob({ name: 'live', source: fromObservable(subject), pipeline: pipe(map((x: number) => x)), sink: out });
    await new Promise((r) => setTimeout(r, 5));
    subject.next(1);
    await new Promise((r) => setTimeout(r, 5));
    await job.stop();
    const summary = await job.done;
    expect(summary.state).toBe('stopped');
    expect(out.values).toStrictEqual([1]);
  });
});
