// runJob with named sources: one input stream per source, combined by the pipeline with mergeStreams
// (docs/SEMANTICS.md §2.4): barriers into every input, exhausted sources complete their input, checkpoints per source.
import { Observable, pipe, Subject, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  boundedOutOfOrderness,
  ConfigurationError,
  count,
  fromArray,
  fromAsyncIterable,
  fromIterable,
  fromObservable,
  JobError,
  memoryStore,
  MAX_WATERMARK,
  mergeStreams,
  runJob,
  toArray,
  mapState,
  tumblingWindows,
  valueState,
  type CheckpointInfo,
  type JobConfig,
  type Sink,
  type Source,
  type Stream,
  type WindowResult,
} from '../src/index.js';
import { decodeValue } from '../src/state/codec.js';
import { aggregate, broadcastProcess, eventTime, keyBy, map, parallel, process, values, window } from '../operators/index.js';
import { gated } from './support/gated.js';
import { expectRefused } from './support/refused.js';

interface Click {
  readonly user: string;
  readonly ts: number;
}
interface View {
  readonly user: string;
  readonly at: number;
}

type Out = WindowResult<string, number>;

const stamp = <T>(of: (v: T) => number) => eventTime(of, boundedOutOfOrderness(0, { interval: 0 }));

const stampClicks = (s: Stream<Click, undefined>) => s.pipe(stamp((c: Click) => c.ts));
const stampViews = (s: Stream<View, undefined>) => s.pipe(stamp((v: View) => v.at));

/** Clicks and views merged, counted per user and second. */
const merged = ({ clicks, views }: { readonly clicks: Stream<Click, undefined>; readonly views: Stream<View, undefined> }) =>
  mergeStreams(stampClicks(clicks), stampViews(views)).pipe(keyBy((e) => e.user), window(tumblingWindows(1000), { name: 'w' }), aggregate(count()));

/** Clicks counted per user ('per-user': `user:n`). */
const perUserCount = () =>
  process<Click, string, string, { n: ReturnType<typeof valueState<number>> }>({
    name: 'per-user',
    state: { n: valueState<number>() },
    onElement(c, ctx) {
      const n = (ctx.state.n.get() ?? 0) + 1;
      ctx.state.n.set(n);
      ctx.emit(`${c.user}:${n}`);
    },
  });

const w = (user: string, start: number, value: number): Out => ({ key: user, window: { start, end: start + 1000 }, value });
const byWindow = (a: Out, b: Out) => a.window.start - b.window.start || a.key.localeCompare(b.key);

describe('runJob with named sources', () => {
  it('a failing source is named in the error by its name as well as its description (two of one kind stay apart)', async () => {
    const ok = fromAsyncIterable(async function* () {
      yield 1;
      yield 2;
    });
    const bad = fromAsyncIterable(async function* () {
      yield 1;
      throw new Error('ECONNRESET');
    });
    const named = runJob({ name: 'activity', sources: { clicks: ok, views: bad }, pipeline: ({ clicks, views }) => mergeStreams(clicks, views), sink: toArray() });
    await expect(named.done).rejects.toThrow("runJob(activity): source fromAsyncIterable 'views' failed to read: ECONNRESET.");
    const unnamed = runJob({ name: 'activity', source: [ok, bad], pipeline: (s) => s, sink: toArray() });
    await expect(unnamed.done).rejects.toThrow('runJob(activity): source fromAsyncIterable (source 1) failed to read: ECONNRESET.');
  });

  it('fromAsyncIterable closed while a read is in flight: a cleanup of the iterator failing later is a warning, not an unhandled rejection', async () => {
    const warnings: string[] = [];
    let reading: () => void = () => undefined;
    const slowReads = fromAsyncIterable(async function* () {
      try {
        yield 1;
        await new Promise<void>((r) => {
          reading = r;
        });
        yield 2;
      } finally {
        // eslint-disable-next-line no-unsafe-finally
        throw new Error('closing the connection failed');
      }
    });
    const out = toArray<number>();
    const job = runJob({ name: 'a', source: slowReads, pipeline: (s) => s, sink: out, onWarning: (m) => warnings.push(m) });
    await new Promise((r) => setTimeout(r, 10));
    await job.stop();
    expect((await job.done).state).toBe('stopped');
    reading(); // the read in flight ends; the generator's cleanup then throws
    await new Promise((r) => setTimeout(r, 10));
    expect(out.values).toStrictEqual([1]);
    expect(warnings).toStrictEqual(["fromAsyncIterable: the iterator's return() (its cleanup, asked for at close while a read was in flight) failed: closing the connection failed"]);
  });

  // the fast source runs 2 s ahead of the slow one; the pump reads each in one batch, the fast one first
  const fast: Click[] = [100, 1100, 2100, 3100].map((ts) => ({ user: 'u', ts }));
  const slow: View[] = [200, 1200, 2200].map((at) => ({ user: 'u', at }));

  it('merges sources with different event-time progress: the slower one holds the watermark back, nothing is late', async () => {
    const out = toArray<Out>();
    const summary = await runJob({ name: 'named', sources: { clicks: fromArray(fast), views: fromArray(slow) }, pipeline: merged, sink: out }).done;
    expect(out.values).toStrictEqual([w('u', 0, 2), w('u', 1000, 2), w('u', 2000, 2), w('u', 3000, 1)]);
    expect(summary).toMatchObject({ state: 'finished', recordsIn: 7, recordsOut: 4 });
    expect(summary.operators['w']?.lateRecordsDropped).toBe(0);
  });

  it('with several unnamed sources (source: [a, b]) each source gets its own copy of the pipeline and event time: nothing is late', async () => {
    const out = toArray<Out>();
    const warnings: string[] = [];
    const both: Source<{ user: string; t: number }>[] = [fromArray(fast.map((c) => ({ user: c.user, t: c.ts }))), fromArray(slow.map((v) => ({ user: v.user, t: v.at })))];
    const summary = await runJob({
      name: 'one',
      source: both,
      pipeline: pipe(stamp((e: { user: string; t: number }) => e.t), keyBy((e) => e.user), window(tumblingWindows(1000), { name: 'w' }), aggregate(count())),
      sink: out,
      onWarning: (m) => warnings.push(m),
    }).done;
    // (before, both sources went through one eventTime: the slow one's 3 records were late behind the fast one's watermark)
    expect(out.values).toStrictEqual([w('u', 0, 2), w('u', 1000, 2), w('u', 2000, 2), w('u', 3000, 1)]);
    expect(warnings).toStrictEqual([]);
    expect(summary.operators['w']?.lateRecordsDropped).toBe(0);
    // two copies of the pipeline (one per source); the first owns every key group (parallelism 1)
    expect(summary.subtasks?.['w']?.map((s) => [s.subtask, s.recordsIn])).toStrictEqual([
      [0, 7],
      [1, 0],
    ]);
  });

  /**
   * Clicks and views through `merged`: the uninterrupted output (sorted), and a job `name` stopped with a savepoint
   * after 17 clicks and 6 views, its sources and store ready for a resume.
   */
  async function stoppedMidWay(name: string, parallelism = 1) {
    const clicks: Click[] = Array.from({ length: 30 }, (_, i) => ({ user: ['a', 'b'][i % 2] as string, ts: i * 150 }));
    const views: View[] = Array.from({ length: 20 }, (_, i) => ({ user: ['a', 'c'][i % 2] as string, at: i * 90 }));
    const reference = toArray<Out>();
    await runJob({ name: 'ref', sources: { clicks: fromArray(clicks), views: fromArray(views) }, pipeline: merged, sink: reference }).done;
    const store = memoryStore();
    const out = toArray<Out>();
    const c = gated(clicks, 17);
    const v = gated(views, 6);
    const checkpoint = { intervalMs: 1e9, store };
    const job1 = runJob({ name, sources: { clicks: c.source, views: v.source }, pipeline: merged, sink: out, checkpoint, parallelism });
    const infos: CheckpointInfo[] = [];
    job1.checkpoints$.subscribe((i) => infos.push(i));
    await Promise.all([c.reached, v.reached]);
    await job1.stop({ savepoint: true });
    return { clicks, expected: [...reference.values].sort(byWindow), out, c, v, checkpoint, infos };
  }

  it('a checkpointed job with two named sources, stopped with a savepoint mid-way and restored, gives the output of an uninterrupted run', async () => {
    const { clicks, expected, out, c, v, checkpoint, infos } = await stoppedMidWay('sp');
    expect(expected.reduce((n, r) => n + r.value, 0)).toBe(50);
    expect(infos.map((i) => [i.id, i.savepoint, i.sourceOffsets])).toStrictEqual([[1, true, [17, 6]]]);
    expect(out.values.length).toBeLessThan(expected.length);

    const s2 = await runJob({ name: 'sp', sources: { clicks: c.source, views: v.source }, pipeline: merged, sink: out, checkpoint }).done;
    expect(s2).toMatchObject({ state: 'finished', restoredFrom: 1, recordsIn: 30 - 17 + 20 - 6 });
    expect([...out.values].sort(byWindow)).toStrictEqual(expected);
    expect(s2.operators['w']?.lateRecordsDropped).toBe(0);

    // a checkpoint of two sources does not restore into a job of one: the views' position would be dropped
    const job3 = runJob({ name: 'sp', sources: { clicks: fromArray(clicks) }, pipeline: ({ clicks: s }) => stampClicks(s), checkpoint });
    await expect(job3.done).rejects.toThrow(JobError);
    await expect(job3.done).rejects.toThrow(
      "runJob(sp): checkpoint 2 holds the position of source(s) 'views' that the job lacks (it has: 'clicks'). Name the sources as before, or pass allowNonRestoredState: true to drop those positions.",
    );
  });

  it('a job merging named sources, stopped with a savepoint at parallelism 1, resumes at 2 and the other way (the merges inside and outside the copies are named apart: said): the uninterrupted output', async () => {
    const { expected, out, c, v, checkpoint } = await stoppedMidWay('up');
    const warnings: string[] = [];
    const s2 = await runJob({ name: 'up', sources: { clicks: c.source, views: v.source }, pipeline: merged, sink: out, checkpoint, parallelism: 2, onWarning: (m) => warnings.push(m) }).done;
    expect(s2.restoredFrom).toBe(1);
    expect([...out.values].sort(byWindow)).toStrictEqual(expected);
    expect(warnings).toStrictEqual([
      "runJob(up): checkpoint 1 holds what merge(s) 'union@0' knew of their inputs, which this run does not restore (its merges run inside the job's parallel copies, named after them): they start with every input at MIN_WATERMARK (lateness right after the restore may differ from an uninterrupted run).",
    ]);
    // and at parallelism 1 from a savepoint of the copies
    const { expected: expected2, out: out2, c: c2, v: v2, checkpoint: checkpoint2 } = await stoppedMidWay('down', 2);
    const warnings2: string[] = [];
    const s3 = await runJob({ name: 'down', sources: { clicks: c2.source, views: v2.source }, pipeline: merged, sink: out2, checkpoint: checkpoint2, onWarning: (m) => warnings2.push(m) }).done;
    expect(s3.restoredFrom).toBe(1);
    expect([...out2.values].sort(byWindow)).toStrictEqual(expected2);
    expect(warnings2).toStrictEqual([
      "runJob(down): checkpoint 1 holds what merge(s) 'runJob/union@0' knew of their inputs, which this run does not restore (the merges were inside the job's parallel copies): they start with every input at MIN_WATERMARK (lateness right after the restore may differ from an uninterrupted run).",
    ]);
  });

  it('named sources find their positions by name: listed in another order, each resumes where it was; a new one reads from its beginning, with a warning', async () => {
    const store = memoryStore();
    const checkpoint = { intervalMs: 1e9, store };
    const pipeline = (s: { readonly [name: string]: Stream<string, undefined> }) => mergeStreams(...Object.values(s));
    const c = gated(['c0', 'c1', 'c2', 'c3'], 2);
    const v = gated(['v0', 'v1', 'v2'], 1);
    const first = toArray<string>();
    const job1 = runJob({ name: 'named', sources: { clicks: c.source, views: v.source }, pipeline, sink: first, checkpoint });
    await Promise.all([c.reached, v.reached]);
    await job1.stop({ savepoint: true });
    expect([...first.values].sort()).toStrictEqual(['c0', 'c1', 'v0']);
    const out = toArray<string>();
    const warnings: string[] = [];
    const s2 = await runJob({
      name: 'named',
      sources: { audits: fromArray(['a0']), views: fromArray(['v0', 'v1', 'v2']), clicks: fromArray(['c0', 'c1', 'c2', 'c3']) },
      pipeline,
      sink: out,
      checkpoint,
      onWarning: (m) => warnings.push(m),
    }).done;
    expect(s2.restoredFrom).toBe(1);
    expect([...out.values].sort()).toStrictEqual(['a0', 'c2', 'c3', 'v1', 'v2']);
    expect(warnings).toStrictEqual([
      "runJob(named): checkpoint 1 has no position of source 'audits' (not in the job when it was taken): it reads from its beginning.",
      // (the pipeline now merges three streams)
      "runJob(named): union@0: the checkpoint's merge at this place combined another number of streams; this one starts with every input at MIN_WATERMARK (lateness right after the restore may differ from an uninterrupted run). Merge the same streams as before to restore it.",
    ]);
  });

  it('restored from a savepoint at every cut (each pair of source positions), the merged output equals the uninterrupted run', async () => {
    const clicks: Click[] = Array.from({ length: 18 }, (_, i) => ({ user: ['a', 'b'][i % 2] as string, ts: i * 150 }));
    const views: View[] = Array.from({ length: 12 }, (_, i) => ({ user: ['a', 'c'][i % 2] as string, at: i * 90 }));
    const reference = toArray<Out>();
    await runJob({ name: 'ref', sources: { clicks: fromArray(clicks), views: fromArray(views) }, pipeline: merged, sink: reference }).done;
    const expected = [...reference.values].sort(byWindow);
    for (let a = 0; a <= clicks.length; a += 3) {
      for (let b = 0; b <= views.length; b += 3) {
        const checkpoint = { intervalMs: 1e9, store: memoryStore() };
        const out = toArray<Out>();
        const c = gated(clicks, a);
        const v = gated(views, b);
        // and under parallelism: 2 subtasks before the cut, 3 after (the merged keyed part re-split by key group)
        const [before, after] = (a + b) % 2 === 0 ? [1, 1] : [2, 3];
        const job1 = runJob({ name: 'cut', sources: { clicks: c.source, views: v.source }, pipeline: merged, sink: out, checkpoint, parallelism: before });
        await Promise.all([c.reached, v.reached]);
        await job1.stop({ savepoint: true });
        const s2 = await runJob({ name: 'cut', sources: { clicks: c.source, views: v.source }, pipeline: merged, sink: out, checkpoint, parallelism: after }).done;
        expect(s2.restoredFrom, `cut ${a}/${b}`).toBe(1);
        expect([...out.values].sort(byWindow), `cut ${a}/${b} (parallelism ${before} → ${after})`).toStrictEqual(expected);
      }
    }
  });

  it('a pipeline that leaves a source unsubscribed fails the job with a ConfigurationError naming it', async () => {
    const out = toArray<Click>();
    const job = runJob({ name: 'u', sources: { clicks: fromArray(fast), views: fromArray(slow) }, pipeline: ({ clicks }) => stampClicks(clicks), sink: out });
    await expect(job.done).rejects.toThrow(ConfigurationError);
    await expect(job.done).rejects.toThrow(
      "runJob(u): the pipeline did not subscribe the stream(s) of source(s) 'views' when the job started; use every source's stream (e.g. mergeStreams(clicks, views)) and subscribe it synchronously.",
    );
    expect(out.values).toStrictEqual([]);
  });

  it('refuses source and sources together, neither, and empty sources', () => {
    const config = { name: 'both', source: fromArray([1]), sources: { n: fromArray([2]) }, pipeline: pipe(values()) } as unknown as JobConfig<number, number>;
    expect(() => runJob(config)).toThrow(ConfigurationError);
    expect(() => runJob(config)).toThrow('runJob(both): give either source (one input stream) or sources (one named input stream each), not both.');
    const neither = { name: 'neither', pipeline: pipe(values()) } as unknown as JobConfig<number, number>;
    expect(() => runJob(neither)).toThrow(ConfigurationError);
    expect(() => runJob(neither)).toThrow('runJob(neither): give source (one input stream) or sources (one named input stream each).');
    expect(() => runJob({ name: 'empty', sources: {}, pipeline: () => mergeStreams() })).toThrow('runJob(empty): give at least one source in sources: { name: source }.');
  });
});

describe('sources refuse what they cannot read, where given', () => {
  it('fromArray of no array, fromIterable / fromAsyncIterable of no factory (an iterable given itself could not be read again), fromObservable of no Observable or a misspelt option', () => {
    expectRefused(() => fromArray(5 as never), 'fromArray: 5 is not an array; give fromArray([...values]), or fromIterable(() => iterable) for another iterable.');
    expectRefused(() => fromIterable([1, 2] as never), 'fromIterable: [1,2] is not a function; give a factory that makes the values afresh, e.g. fromIterable(() => values) (a restore reads them again from their start).');
    expectRefused(() => fromAsyncIterable('lines' as never), 'fromAsyncIterable: "lines" is not a function; give a factory that makes the values afresh, e.g. fromAsyncIterable(() => readLines(path)) (a restore reads them again from their start).');
    expectRefused(() => fromObservable([1] as never), 'fromObservable: [1] is not an Observable; give fromObservable(obs$) (for an array of values, fromArray(values)).');
    expectRefused(() => fromObservable(new Subject<number>(), { jounral: memoryStore() } as never), 'fromObservable: no option "jounral" in the options — did you mean "journal"? The options: journal, name.');
  });
});

describe('fromObservable: values pushed as the job starts', () => {
  it('takes the values a hot observable sends right after runJob returned (before the job opened it), with and without a journal, in order', async () => {
    for (const journaled of [false, true]) {
      const live = new Subject<number>();
      const store = memoryStore();
      const sink = toArray<number>();
      const job = runJob({
        name: 'early',
        source: fromObservable(live, journaled ? { journal: store } : {}),
        pipeline: pipe(map((v: number) => v * 10)),
        sink,
        ...(journaled ? { checkpoint: { intervalMs: 20, store } } : {}),
      });
      live.next(1); // synchronously after runJob returned
      await Promise.resolve();
      live.next(2);
      await new Promise((resolve) => setTimeout(resolve, 0));
      live.next(3);
      await new Promise((resolve) => setTimeout(resolve, 30));
      live.next(4);
      live.complete();
      await job.done;
      expect(sink.values, journaled ? 'journaled' : 'live').toStrictEqual([10, 20, 30, 40]);
    }
  });

  it('an observable that ends or fails before the job opened it: its values, then its end or error, reach the job; it is subscribed once', async () => {
    const ended = new Subject<number>();
    const sink = toArray<number>();
    const job = runJob({ name: 'ended', source: fromObservable(ended), pipeline: pipe(map((v: number) => v)), sink });
    ended.next(1);
    ended.next(2);
    ended.complete();
    expect([(await job.done).state, sink.values]).toStrictEqual(['finished', [1, 2]]);
    let subscriptions = 0;
    const cold = new Observable<number>((s) => {
      subscriptions++;
      s.next(7);
      s.complete();
    });
    const once = toArray<number>();
    await runJob({ name: 'cold', source: fromObservable(cold), pipeline: pipe(map((v: number) => v)), sink: once }).done;
    expect([once.values, subscriptions]).toStrictEqual([[7], 1]);
    const failing = new Subject<number>();
    const before = toArray<number>();
    const failed = runJob({ name: 'failing', source: fromObservable(failing), pipeline: pipe(map((v: number) => v)), sink: before });
    failing.next(3);
    failing.error(new Error('socket closed'));
    await expect(failed.done).rejects.toThrow('socket closed');
    expect(before.values).toStrictEqual([3]);
  });

  it('two jobs of one name reading one fromObservable: each reads what it held, and one ending leaves the other reading', async () => {
    const live = new Subject<number>();
    const source = fromObservable(live);
    const a = toArray<number>();
    const b = toArray<number>();
    // (A's sink opens late: B opens its source first)
    const slowA: Sink<number> = { description: 'slow toArray', open: async (context) => (await new Promise((resolve) => setTimeout(resolve, 30)), a.open(context)) };
    const jobA = runJob({ name: 'counts', source, pipeline: pipe(map((v: number) => v)), sink: slowA });
    const jobB = runJob({ name: 'counts', source, pipeline: pipe(map((v: number) => v)), sink: b });
    live.next(1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    live.next(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await jobA.stop();
    live.next(3);
    live.complete();
    await jobB.done;
    expect([a.values, b.values, live.observed]).toStrictEqual([[1, 2], [1, 2, 3], false]);
  });

  it("a source whose hold() returns no SourceHold fails the job as it starts, phase 'start'", async () => {
    const inner = fromArray([1]);
    const odd: Source<number> = { description: 'odd', open: (offset, context) => inner.open(offset, context), hold: () => 5 as never };
    const job = runJob({ name: 'odd', source: odd, pipeline: pipe(map((v: number) => v)) });
    await expect(job.done).rejects.toThrow(JobError);
    await expect(job.done).rejects.toThrow('runJob(odd): source odd failed to start: its hold() returned 5, not a SourceHold ({ release() }). The job stopped; fix the cause and run it again.');
  });

  it('a job that fails before opening it lets the observable go (unsubscribed); one that runs unsubscribes it at its end', async () => {
    const live = new Subject<number>();
    const failing = runJob({ name: 'gone', source: fromObservable(live), pipeline: pipe(map((v: number) => v)), restore: 3, checkpoint: { intervalMs: 1000, store: memoryStore() } });
    expect(live.observed).toBe(true);
    live.next(1);
    await expect(failing.done).rejects.toThrow(JobError);
    expect(live.observed).toBe(false);
    const sink = toArray<number>();
    const running = runJob({ name: 'runs', source: fromObservable(live), pipeline: pipe(map((v: number) => v)), sink });
    live.next(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(live.observed).toBe(true);
    await running.stop();
    expect([sink.values, live.observed]).toStrictEqual([[2], false]);
  });
});

describe('SourceContext.warn', () => {
  it("carries a source's warnings to the job's onWarning", async () => {
    const inner = fromArray([1, 2, 3]);
    const warning: Source<number> = {
      description: 'warning source',
      open(offset, context) {
        context.warn?.(`${this.description}: opened at ${offset ?? 'the start'}`);
        return inner.open(offset, context);
      },
    };
    const warnings: string[] = [];
    const sink = toArray<number>();
    await runJob({ name: 'warns', source: warning, pipeline: (s) => s, sink, onWarning: (m) => warnings.push(m) }).done;
    expect([sink.values, warnings]).toStrictEqual([[1, 2, 3], ['warning source: opened at the start']]);
  });
  it('an operator whose source ended while another runs is in later checkpoints as finished (MAX_WATERMARK, no keyed state)', async () => {
    const store = memoryStore();
    const clicks: Click[] = [100, 1100, 2100, 3100].map((ts) => ({ user: 'u', ts }));
    const views = gated<View>([{ user: 'v', at: 0 }, { user: 'v', at: 10 }], 1);
    // clicks: counted per user in 'per-user' (its branch ends when the clicks do); views: passed on
    const pipeline = ({ clicks, views: v }: { readonly clicks: Stream<Click, undefined>; readonly views: Stream<View, undefined> }) =>
      mergeStreams(
        stampClicks(clicks).pipe(
          keyBy((c) => c.user),
          perUserCount(),
        ),
        stampViews(v).pipe(map((x) => `view ${x.user}`)),
      );
    const out = toArray<string>();
    const job = runJob({ name: 'ended-branch', sources: { clicks: fromArray(clicks), views: views.source }, pipeline, sink: out, checkpoint: { intervalMs: 1e9, store } });
    await views.reached;
    const info = await job.triggerCheckpoint();
    const cp = await store.loadCheckpoint('ended-branch', info.id);
    // (the merge's valve comes first: it knows the clicks' input ended, at MAX_WATERMARK)
    expect(cp?.operators.map((o) => [o.operator, o.full, o.entries.length, o.operator === 'union@0' ? undefined : o.watermark])).toStrictEqual([
      ['union@0', true, 0, undefined],
      ['per-user', true, 0, '{"$n":"Infinity"}'],
      ['runJob@sources', true, 0, '["clicks","views"]'],
    ]);
    const valve = decodeValue(cp?.operators[0]?.watermark as string) as { readonly inputs: readonly number[] };
    expect(valve.inputs[2]).toBe(MAX_WATERMARK);
    await job.stop();
    // restored from it: the clicks' operator at the end of event time, the views read on
    const warnings: string[] = [];
    const resumed = await runJob({ name: 'ended-branch', sources: { clicks: fromArray(clicks), views: views.source }, pipeline, sink: out, checkpoint: { intervalMs: 1e9, store }, onWarning: (m) => warnings.push(m) }).done;
    expect(resumed).toMatchObject({ state: 'finished', restoredFrom: info.id });
    expect(out.values).toStrictEqual(['u:1', 'u:2', 'u:3', 'u:4', 'view v', 'view v']);
    expect(warnings).toStrictEqual([]);
  });
  it('the last checkpoint of a parallel broadcast operator keeps its broadcast state beside its clock', async () => {
    interface Visit { readonly user: string; readonly page: string; readonly at: number }
    interface Rule { readonly page: string; readonly alert: string; readonly at: number }
    const rulesState = { rules: mapState<string, string>() };
    const pipeline = (s: { readonly visits: Stream<Visit, undefined>; readonly rules: Stream<Rule, undefined> }) =>
      s.visits.pipe(
        stamp((v: Visit) => v.at),
        keyBy((v) => v.user),
        broadcastProcess<Visit, Rule, string, string, Record<never, never>, typeof rulesState>(s.rules.pipe(stamp((r: Rule) => r.at)), {
          name: 'alerts',
          broadcastState: rulesState,
          onElement(v, ctx) {
            ctx.emit(`${v.user} ${v.page} ${ctx.broadcast.rules.get(v.page) ?? '-'}`);
          },
          onBroadcastElement(r, ctx) {
            ctx.broadcast.rules.set(r.page, r.alert);
          },
        }),
      );
    const visits: Visit[] = [{ user: 'a', page: '/x', at: 10 }, { user: 'b', page: '/x', at: 20 }];
    const rules: Rule[] = [{ page: '/x', alert: 'ALERT', at: 0 }];
    const store = memoryStore();
    await runJob({ name: 'bc', sources: { visits: fromArray(visits), rules: fromArray(rules) }, pipeline, parallelism: 2, checkpoint: { intervalMs: 1e9, store } }).done;
    const cp = await store.loadCheckpoint('bc', 'latest');
    expect(cp?.operators.map((o) => [o.operator, o.entries.length, o.watermark?.includes('"ALERT"')])).toStrictEqual([
      ['runJob/outputs', 0, false],
      ['alerts', 0, true],
      ['runJob/broadcast@0', 0, false],
      ['runJob/keyBy@0', 0, false],
      ['runJob@dealing', 0, false],
      ['runJob@sources', 0, false],
    ]);
    // resumed with one more visit: the rule is still known (the record comes after the end of event time: warned)
    const out = toArray<string>();
    const warnings: string[] = [];
    await runJob({
      name: 'bc',
      sources: { visits: fromArray([...visits, { user: 'c', page: '/x', at: 30 }]), rules: fromArray(rules) },
      pipeline,
      sink: out,
      parallelism: 2,
      checkpoint: { intervalMs: 1e9, store },
      onWarning: (m) => warnings.push(m),
    }).done;
    expect(out.values).toStrictEqual(['c /x ALERT']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('alerts: a record arrived after the end of event time');
  });

  describe('operators no barrier reaches are in the checkpoint all the same', () => {
    const clicks: Click[] = [100, 1100, 2100, 3100, 4100, 5100].map((ts) => ({ user: 'u', ts }));
    /** The clicks' branch (given its stages after keyBy) beside the views, checkpointed while the views wait. */
    async function midRun(stages: (s: Stream<Click, string>) => Stream<string, string | undefined>) {
      const store = memoryStore();
      const views = gated<View>([{ user: 'v', at: 0 }, { user: 'v', at: 10 }], 1);
      const pipeline = (s: { readonly clicks: Stream<Click, undefined>; readonly views: Stream<View, undefined> }) =>
        mergeStreams(stages(stampClicks(s.clicks).pipe(keyBy((c) => c.user))), stampViews(s.views).pipe(map((x) => `view ${x.user}`)));
      const job = runJob({ name: 'unreached', sources: { clicks: fromArray(clicks), views: views.source }, pipeline, checkpoint: { intervalMs: 1e9, store } });
      await views.reached;
      const info = await job.triggerCheckpoint();
      await job.stop();
      const cp = await store.loadCheckpoint('unreached', info.id);
      return cp?.operators.map((o) => [o.operator, o.full, o.entries.length, o.watermark]);
    }

    it('a parallel operator whose input ended: as finished (its subtasks all at MAX_WATERMARK)', async () => {
      expect(await midRun((s) => s.pipe(parallel(2, perUserCount())))).toStrictEqual([
        ['union@0', true, 0, expect.any(String)],
        // (the merge of the subtasks' outputs: every input ended)
        ['parallel@0/outputs', true, 0, '{"watermark":{"$n":"Infinity"},"inputs":[{"$n":"Infinity"},0,{"$n":"Infinity"},{"$n":"Infinity"},0,0,1,1],"merge":1}'],
        ['per-user', true, 0, '{"$n":"Infinity"}'],
        ['runJob@sources', true, 0, '["clicks","views"]'],
      ]);
    });

    it('an operator torn down before the barrier (a take after it): its whole state as it was left', async () => {
      // take(3) unsubscribes the counter after the third click: it counted 3, and nothing can change that any more
      expect(await midRun((s) => s.pipe(perUserCount(), take(3)))).toStrictEqual([
        ['union@0', true, 0, expect.any(String)],
        ['per-user', true, 1, expect.any(String)],
        ['runJob@sources', true, 0, '["clicks","views"]'],
      ]);
    });
  });
});
