// A merge of event-time streams restored from a savepoint combines its inputs' watermarks as the uninterrupted run
// does (its valve is in the checkpoint, docs/SEMANTICS.md §2.4, §8): lateness and timer firings are the same.
import { describe, expect, it } from 'vitest';
import { boundedOutOfOrderness, count, fromArray, memoryStore, mergeStreams, runJob, sideOutput, toArray, tumblingWindows, valueState, type Job, type Source, type SourceRead, type StreamElement, type StreamRecord, type WindowResult } from '../src/index.js';
import { aggregate, coProcess, eventTime, filter, intervalJoin, keyBy, map, parallel, process, unionWith, window } from '../operators/index.js';
import type { Observable } from 'rxjs';
import { gated } from './support/gated.js';
import { mergedStamps, type Stamped } from './fixtures/parallel/mergedStamps.js';
import { keyGroupOf } from '../src/keys/keyGroups.js';
import { checksum } from '../src/stores/checksum.js';

type E = { readonly id: string; readonly ts: number };
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

/** A replayable source whose reads wait for `step()`: the test decides how the two sources interleave. */
function stepper(values: readonly E[]): { source: Source<E>; step: () => Promise<void> } {
  let waiting: ((r: SourceRead<E>) => void) | undefined;
  let i = 0;
  const source: Source<E> = {
    description: 'stepper',
    open(offset) {
      i = Number(offset ?? 0);
      return { read: () => new Promise<SourceRead<E>>((res) => (waiting = res)), offset: () => String(i), close() {} };
    },
  };
  const step = async (): Promise<void> => {
    await tick();
    const w = waiting as (r: SourceRead<E>) => void;
    waiting = undefined;
    w(i < values.length ? { values: [values[i++] as E], done: false } : { values: [], done: true });
    await tick();
  };
  return { source, step };
}

type In = { a: Observable<StreamElement<E, undefined>>; b: Observable<StreamElement<E, undefined>> };
const stamp = (s: Observable<StreamElement<E, undefined>>) => s.pipe(eventTime((e: E) => e.ts, boundedOutOfOrderness(0, { interval: 0 })));
const late = sideOutput<E>('late');
type Merge = (x: Observable<StreamElement<E, undefined>>, y: Observable<StreamElement<E, undefined>>) => Observable<StreamElement<E, undefined>>;
const MERGES: readonly (readonly [string, Merge])[] = [
  ['mergeStreams', (x, y) => mergeStreams(x, y)],
  ['unionWith', (x, y) => x.pipe(unionWith(y))],
];
const windowedBy = (merge: Merge) => ({ a, b }: In) =>
  merge(stamp(a), stamp(b)).pipe(
    keyBy(() => 'k'),
    window(tumblingWindows(100), { lateData: late, name: 'w' }),
    aggregate(count()),
    map((r: WindowResult<string, number>) => `[${r.window.start}] n=${r.value}`),
  );
const timers = ({ a, b }: In) =>
  mergeStreams(stamp(a), stamp(b)).pipe(
    keyBy(() => 'k'),
    process<E, string, string, { n: ReturnType<typeof valueState<number>> }>({
      name: 'p',
      state: { n: valueState<number>() },
      onElement(e, ctx) {
        ctx.state.n.set((ctx.state.n.get() ?? 0) + 1);
        ctx.timers.registerEventTime(e.ts + 200);
      },
      onTimer(ts, ctx) {
        ctx.emit(`timer@${ts} sees ${ctx.state.n.get() ?? 0} elements`);
      },
    }),
  );

/** Reads a0, b0, b1, b2, a1, then the ends, with a savepoint and a resume before read `cut` (none when undefined). */
async function scenario(pipeline: (s: In) => Observable<StreamElement<string, unknown>>, A: readonly E[], B: readonly E[], cut: number | undefined, parallelism?: number): Promise<{ main: string[]; late: string[] }> {
  const store = memoryStore();
  const sinks = { main: toArray<string>(), late: toArray<E>() };
  const order = ['a', 'b', 'b', 'b', 'a', 'a', 'b'];
  const a = stepper(A);
  const b = stepper(B);
  const start = () => runJob({ name: 'j', sources: { a: a.source, b: b.source }, pipeline, sinks, ...(parallelism !== undefined ? { parallelism } : {}), checkpoint: { intervalMs: 1e9, store } });
  let job = start();
  for (let k = 0; k < order.length; k++) {
    if (k === cut) {
      await job.stop({ savepoint: true });
      await job.done;
      job = start();
    }
    await (order[k] === 'a' ? a : b).step();
  }
  await job.done;
  return { main: [...sinks.main.values], late: sinks.late.values.map((e) => e.id) };
}

/**
 * Runs a job (`start(false)`) over `reads` reads made by `step`, and when `cut` is given stops it with a savepoint
 * before read `cut` and resumes it (`start(true)`) from there; resolves once the job is done.
 */
async function readsResumedAt(start: (resumed: boolean) => Job<unknown> | Promise<Job<unknown>>, step: () => Promise<void>, reads: number, cut?: number): Promise<void> {
  let job = await start(false);
  for (let k = 0; k < reads; k++) {
    if (k === cut) {
      await job.stop({ savepoint: true });
      job = await start(true);
    }
    await step();
  }
  await job.done;
}

/** A savepoint file without operator `name` (as one written before that operator was saved), checksummed again. */
function dropOperator(text: string, name: string): string {
  const file = JSON.parse(text) as { format: string; version: number; content: { operators: { operator: string }[] } };
  file.content.operators = file.content.operators.filter((o) => o.operator !== name);
  const content = JSON.stringify(file.content);
  return `{"format":"${file.format}","version":${file.version},"checksum":"${checksum(content)}","content":${content}}\n`;
}

describe('a merge restored from a savepoint', () => {
  const A = [
    { id: 'a0', ts: 2000 },
    { id: 'a1', ts: 2500 },
  ];
  for (const [name, merge] of MERGES) {
    it(`${name}: finds late what the uninterrupted run finds late (the input ahead still counts)`, async () => {
      const B = [
        { id: 'b0', ts: 1000 },
        { id: 'b1', ts: 1500 },
        { id: 'b2', ts: 1200 },
      ];
      const expected = { main: ['[1000] n=1', '[1500] n=1', '[2000] n=1', '[2500] n=1'], late: ['b2'] };
      const windowed = windowedBy(merge);
      expect(await scenario(windowed, A, B, undefined)).toStrictEqual(expected);
      // restored at every cut (up to the last read of a: a source read to its end before a cut is not read again here)
      for (let cut = 1; cut <= 5; cut++) expect(await scenario(windowed, A, B, cut), `cut ${cut}`).toStrictEqual(expected);
    });
  }

  it('fires event-time timers where the uninterrupted run fires them', async () => {
    const B = [
      { id: 'b0', ts: 1000 },
      { id: 'b1', ts: 1500 },
      { id: 'b2', ts: 1600 },
    ];
    const uninterrupted = await scenario(timers, A, B, undefined);
    expect(uninterrupted.main[0]).toBe('timer@1200 sees 3 elements');
    for (let cut = 1; cut <= 5; cut++) expect(await scenario(timers, A, B, cut), `cut ${cut}`).toStrictEqual(uninterrupted);
  });

  it('a merge the checkpoint holds nothing of (taken before merges were saved, or before the merge was added) starts afresh, with a warning naming it', async () => {
    const a = stepper([{ id: 'a0', ts: 10 }]);
    const b = stepper([{ id: 'b0', ts: 20 }]);
    const store = memoryStore();
    const alone = ({ a: x, b: y }: In) => stamp(x).pipe(map((e: E) => e.id), unionWith(stamp(y).pipe(map((e: E) => e.id), filter(() => false))));
    const first = runJob({ name: 'added', sources: { a: a.source, b: b.source }, pipeline: alone, sink: toArray<string>(), checkpoint: { intervalMs: 1e9, store } });
    await a.step();
    await first.stop({ savepoint: true });
    // (the checkpoint as one written before merges were saved: without the merge)
    const saved = await store.loadCheckpoint('added', 'latest');
    expect(saved?.operators.map((o) => o.operator)).toContain('union@0');
    const old = memoryStore();
    await old.importSavepoint(dropOperator(await store.exportSavepoint('added'), 'union@0'));
    const warnings: string[] = [];
    const out = toArray<string>();
    const second = runJob({ name: 'added', sources: { a: a.source, b: b.source }, pipeline: alone, sink: out, checkpoint: { intervalMs: 1e9, store: old }, onWarning: (m) => warnings.push(m) });
    await a.step();
    await b.step();
    await b.step();
    await second.done;
    expect(warnings).toStrictEqual([
      "runJob(added): checkpoint 1 holds nothing of merge(s) 'union@0' (taken before merges were in checkpoints, or before the merge was in the pipeline): they start with every input at MIN_WATERMARK (lateness right after the restore may differ from an uninterrupted run).",
    ]);
  });

  it('a merge of another number of streams at the same place starts afresh, with a warning naming it', async () => {
    const a = stepper([{ id: 'a0', ts: 10 }]);
    const b = stepper([{ id: 'b0', ts: 20 }]);
    const store = memoryStore();
    const count2 = ({ a: x, b: y }: In) => mergeStreams(stamp(x), stamp(y)).pipe(map((e: E) => e.id));
    const count3 = ({ a: x, b: y }: In) => mergeStreams(stamp(x), stamp(y), stamp(y.pipe(filter(() => false)))).pipe(map((e: E) => e.id));
    const first = runJob({ name: 'm', sources: { a: a.source, b: b.source }, pipeline: count2, sink: toArray<string>(), checkpoint: { intervalMs: 1e9, store } });
    await a.step();
    await first.stop({ savepoint: true });
    const warnings: string[] = [];
    const out = toArray<string>();
    const second = runJob({ name: 'm', sources: { a: a.source, b: b.source }, pipeline: count3, sink: out, checkpoint: { intervalMs: 1e9, store }, onWarning: (m) => warnings.push(m) });
    await a.step();
    await b.step();
    await b.step();
    await second.done;
    expect(out.values).toStrictEqual(['b0']);
    expect(warnings).toStrictEqual([
      'runJob(m): union@0: the checkpoint\'s merge at this place combined another number of streams; this one starts with every input at MIN_WATERMARK (lateness right after the restore may differ from an uninterrupted run). Merge the same streams as before to restore it.',
    ]);
  });
});

describe('runJob({ parallelism }): records dealt to the copies', () => {
  /**
   * Five records at 100 … 400 then 250, parallelism 2, a checkpoint (or a savepoint and a resume, at parallelism
   * `resumeAt`) after `cut` records when asked.
   */
  async function dealt(mode: 'none' | 'checkpoint' | 'resume', cut = 3, resumeAt = 2, nested = false): Promise<{ main: string[]; late: string[] }> {
    const xs = [100, 200, 300, 400, 250].map((ts, i) => ({ id: `r${i}`, ts }));
    const s = stepper(xs);
    const sinks = { main: toArray<string>(), late: toArray<E>() };
    const store = memoryStore();
    const windowed = (w: Observable<StreamElement<E, string>>) => w.pipe(window(tumblingWindows(100), { lateData: late, name: 'w' }), aggregate(count()));
    const pipeline = (src: Observable<StreamElement<E, undefined>>) =>
      stamp(src).pipe(
        keyBy(() => 'k'),
        // (nested: the window in a parallel of its own inside each copy, whose merges are in checkpoints too)
        nested ? parallel(2, windowed) : windowed,
        map((r: WindowResult<string, number>) => `[${r.window.start}] n=${r.value}`),
      );
    const start = (parallelism = 2) => runJob({ name: 'dealt', source: s.source, pipeline, sinks, parallelism, checkpoint: { intervalMs: 1e9, store } });
    let job = start();
    for (let k = 0; k <= xs.length; k++) {
      if (k === cut && mode === 'checkpoint') await job.triggerCheckpoint();
      if (k === cut && mode === 'resume') {
        await job.stop({ savepoint: true });
        job = start(resumeAt);
      }
      await s.step();
    }
    await job.done;
    return { main: [...sinks.main.values], late: sinks.late.values.map((e) => e.id) };
  }

  it('go on across checkpoints: the output does not depend on where checkpoints fall', async () => {
    const uninterrupted = await dealt('none');
    expect(uninterrupted).toStrictEqual({ main: ['[100] n=1', '[200] n=1', '[300] n=1', '[400] n=1'], late: ['r4'] });
    expect(await dealt('checkpoint')).toStrictEqual(uninterrupted);
    // (the keyBy exchange's merges restore each copy's watermark: r4 at 250 stays late after a resume at any cut)
    for (let cut = 0; cut <= 5; cut++) expect(await dealt('resume', cut), `resumed after ${cut} records`).toStrictEqual(uninterrupted);
  });

  it('with a parallel inside each copy: resumed at any cut, the uninterrupted output', async () => {
    const uninterrupted = await dealt('none', 0, 2, true);
    expect(uninterrupted).toStrictEqual({ main: ['[100] n=1', '[200] n=1', '[300] n=1', '[400] n=1'], late: ['r4'] });
    for (let cut = 0; cut <= 5; cut++) expect(await dealt('resume', cut, 2, true), `resumed after ${cut} records`).toStrictEqual(uninterrupted);
  });

  it('resumed at another parallelism, each merge of the copies starts at its lowest watermark: never later than the uninterrupted run', async () => {
    // after r0 … r2 the copies stood at 299 and 199: resumed at 3, every input of the exchange starts at 199, so r3
    // (400) alone does not move the window on and r4 (250) is on time (a new parallelism deals records anew); at 1
    // there is no exchange, and the one copy's own watermark (399 after r3) finds r4 late
    expect(await dealt('resume', 3, 3)).toStrictEqual({ main: ['[100] n=1', '[200] n=2', '[300] n=1', '[400] n=1'], late: [] });
    expect(await dealt('resume', 3, 1)).toStrictEqual({ main: ['[100] n=1', '[200] n=1', '[300] n=1', '[400] n=1'], late: ['r4'] });
    // after r0 … r3 (299 and 399) the window stood at 299: r4 is late at any parallelism
    for (const resumeAt of [3, 1]) {
      expect(await dealt('resume', 4, resumeAt), `resumed at ${resumeAt}`).toStrictEqual({ main: ['[100] n=1', '[200] n=1', '[300] n=1', '[400] n=1'], late: ['r4'] });
    }
  });

  it('a checkpoint holds the copy the next record goes to', async () => {
    const s = stepper([100, 200, 300, 400].map((ts, i) => ({ id: `r${i}`, ts })));
    const store = memoryStore();
    const job = runJob({ name: 'dealing', source: s.source, pipeline: (src: Observable<StreamElement<E, undefined>>) => stamp(src).pipe(keyBy(() => 'k')), parallelism: 2, checkpoint: { intervalMs: 1e9, store } });
    for (let k = 0; k < 3; k++) await s.step();
    const { id } = await job.triggerCheckpoint();
    const cp = await store.loadCheckpoint('dealing', id);
    // three records dealt, to copies 0, 1, 0: the next goes to copy 1
    expect(cp?.operators.find((o) => o.operator === 'runJob@dealing')?.watermark).toBe('1');
    await job.stop();
  });
});

/**
 * A `process` counting each key's records and emitting `<tag>:<value>[:<key>]#<count>`; named `tag`, or unnamed (named
 * by its position).
 */
function counting(tag: string, how: { readonly named: boolean; readonly withKey: boolean }) {
  return process<unknown, string, string, { n: ReturnType<typeof valueState<number>> }>({
    ...(how.named ? { name: tag } : {}),
    state: { n: valueState<number>() },
    onElement(v, ctx) {
      const n = (ctx.state.n.get() ?? 0) + 1;
      ctx.state.n.set(n);
      ctx.emit(`${tag}:${String(v)}${how.withKey ? `:${ctx.key}` : ''}#${n}`);
    },
  });
}

describe('the merges of parallel pipelines: names and restores', () => {
  it("runJob({ parallelism }) pairs each copy's keyBy with the same keyBy of the others, whatever is upstream of it (every copy subscribes in one order)", async () => {
    // a keyBy upstream of another keyBy in one branch, a keyBy in the other: the last copy to subscribe connected the
    // exchange in the middle of its subscription, so its keyBys were numbered in another order and paired with the
    // other copies' other ones — "x" reached the other branch's operator
    const counter = (name: string) => counting(name, { named: true, withKey: true });
    type In2 = { a: Observable<StreamElement<string, undefined>>; b: Observable<StreamElement<number, undefined>> };
    const pipeline = ({ a, b }: In2) =>
      mergeStreams(
        a.pipe(keyBy((x: string) => `k-${x}`), counter('P1'), keyBy((s: string) => `k2-${s.length}`), map((s: string) => `A ${s}`)),
        b.pipe(keyBy((x: number) => `k3-${x}`), counter('P2')),
      );
    const outputs: string[][] = [];
    for (const parallelism of [1, 2, 3]) {
      const out = toArray<string>();
      await runJob({ name: `pairs${parallelism}`, sources: { a: fromArray(['x', 'y', 'z']), b: fromArray([10, 20, 30]) }, pipeline, sink: out, parallelism }).done;
      outputs.push([...out.values].sort());
    }
    expect(outputs[0]).toStrictEqual(['A P1:x:k-x#1', 'A P1:y:k-y#1', 'A P1:z:k-z#1', 'P2:10:k3-10#1', 'P2:20:k3-20#1', 'P2:30:k3-30#1']);
    expect(outputs[1]).toStrictEqual(outputs[0]);
    expect(outputs[2]).toStrictEqual(outputs[0]);
  });

  it('unnamed operators get the names they get without copies (a keyBy in the copies subscribes its upstream in place): a savepoint taken at one parallelism restores at another', async () => {
    // a branch with a keyBy upstream of another keyBy, and a branch with one: the copies subscribed what is upstream
    // of a keyBy later, and numbered the counters of the two branches the other way round at parallelism 1 and 2,
    // so a rescaled restore handed each counter the other's state
    const counter = (tag: string) => counting(tag, { named: false, withKey: false });
    type In2 = { a: Observable<StreamElement<string, undefined>>; b: Observable<StreamElement<string, undefined>> };
    const pipeline = ({ a, b }: In2) =>
      mergeStreams(b.pipe(keyBy((x: string) => x), counter('P2'), keyBy((s: string) => s), counter('P3')), a.pipe(keyBy((x: string) => x), counter('P1')));
    const names: string[][] = [];
    for (const parallelism of [1, 2, 3]) {
      const store = memoryStore();
      await runJob({ name: 'n', sources: { a: fromArray(['x']), b: fromArray(['y']) }, pipeline, sink: toArray<string>(), parallelism, checkpoint: { intervalMs: 1e9, store } }).done;
      names.push(((await store.loadCheckpoint('n', 'latest'))?.operators ?? []).map((o) => o.operator).filter((n) => n.startsWith('process#')));
    }
    expect(names).toStrictEqual([
      ['process#0', 'process#1', 'process#2'],
      ['process#0', 'process#1', 'process#2'],
      ['process#0', 'process#1', 'process#2'],
    ]);
    // each key counted twice, across a savepoint taken at one parallelism and resumed at the other
    for (const [before, after] of [[1, 2], [2, 1]] as const) {
      const store = memoryStore();
      const out = toArray<string>();
      const a = gated(['x', 'x'], 1);
      const b = gated(['y', 'y'], 1);
      const job = runJob({ name: 'swap', sources: { a: a.source, b: b.source }, pipeline, sink: out, parallelism: before, checkpoint: { intervalMs: 1e9, store } });
      await Promise.all([a.reached, b.reached]);
      await job.stop({ savepoint: true });
      await runJob({ name: 'swap', sources: { a: a.source, b: b.source }, pipeline, sink: out, parallelism: after, checkpoint: { intervalMs: 1e9, store }, onWarning: () => undefined }).done;
      expect([...out.values].sort(), `${before} -> ${after}`).toStrictEqual(['P1:x#1', 'P1:x#2', 'P3:P2:y#1#1', 'P3:P2:y#2#1']);
    }
  });

  it('a merge inside parallel subtasks is named after its group: the pipeline\'s own merges keep their names (in-process as in threads, as before)', async () => {
    const store = memoryStore();
    const inner = (s: Observable<StreamElement<E, string>>) => mergeStreams(s.pipe(filter((e: E) => e.ts % 2 === 0)), s.pipe(filter((e: E) => e.ts % 2 === 1)));
    const pipeline = ({ a, b }: In) => mergeStreams(stamp(a), stamp(b)).pipe(keyBy((e: E) => e.id), parallel(2, inner), map((e: E) => e.id));
    const s = { a: stepper([{ id: 'a0', ts: 100 }]), b: stepper([{ id: 'b0', ts: 200 }]) };
    const job = runJob({ name: 'names', sources: { a: s.a.source, b: s.b.source }, pipeline, sink: toArray<string>(), checkpoint: { intervalMs: 1e9, store } });
    await s.a.step();
    await job.stop({ savepoint: true });
    const cp = await store.loadCheckpoint('names', 'latest');
    expect(cp?.operators.map((o) => o.operator)).toStrictEqual(['union@0', 'parallel@0/outputs', 'parallel@0/union@0', 'runJob@sources']);
  });

  it('under a partitioner other than hash, the merges inside the subtasks are in checkpoints too: a resume at any cut is the uninterrupted run', async () => {
    const xs = [100, 200, 300, 400, 250].map((ts, i) => ({ id: `r${i}`, ts }));
    const by = (r: StreamRecord<E, undefined>) => (r.value.id === 'r1' || r.value.id === 'r3' ? 1 : 0);
    async function run(cut?: number): Promise<{ main: string[]; late: string[] }> {
      const s = stepper(xs);
      const store = memoryStore();
      const sinks = { main: toArray<string>(), late: toArray<E>() };
      // (each subtask stamps its own records: the keyBy exchange's merges decide the watermark)
      const inner = (src: Observable<StreamElement<E, undefined>>) => stamp(src).pipe(keyBy((e: E) => e.id), map((e: E) => e));
      const pipeline = (src: Observable<StreamElement<E, undefined>>) =>
        src.pipe(
          parallel(2, inner, { by }),
          keyBy(() => 'k'),
          window(tumblingWindows(100), { lateData: late, name: 'w' }),
          aggregate(count()),
          map((r: WindowResult<string, number>) => `[${r.window.start}] n=${r.value}`),
        );
      await readsResumedAt(() => runJob({ name: 'by', source: s.source, pipeline, sinks, checkpoint: { intervalMs: 1e9, store } }), s.step, xs.length + 1, cut);
      return { main: [...sinks.main.values], late: sinks.late.values.map((e) => e.id) };
    }
    const uninterrupted = await run();
    expect(uninterrupted).toStrictEqual({ main: ['[100] n=1', '[200] n=1', '[300] n=1', '[400] n=1'], late: ['r4'] });
    for (let cut = 0; cut <= 5; cut++) expect(await run(cut), `resumed after ${cut} records`).toStrictEqual(uninterrupted);
  });

  it('rescaled, the merges of the copies start at their lowest watermark without a word; a job whose only state is merges takes another maxParallelism', async () => {
    const s = stepper([100, 200, 300, 400].map((ts, i) => ({ id: `r${i}`, ts })));
    const store = memoryStore();
    const pipeline = (src: Observable<StreamElement<E, undefined>>) => stamp(src).pipe(keyBy((e: E) => e.id), map((e: E) => e.id));
    const job = runJob({ name: 'rescale', source: s.source, pipeline, sink: toArray<string>(), parallelism: 2, checkpoint: { intervalMs: 1e9, store } });
    await s.step();
    await s.step();
    await job.stop({ savepoint: true });
    const warnings: string[] = [];
    const out = toArray<string>();
    const resumed = runJob({ name: 'rescale', source: s.source, pipeline, sink: out, parallelism: 3, maxParallelism: 256, checkpoint: { intervalMs: 1e9, store }, onWarning: (m) => warnings.push(m) });
    for (let k = 0; k < 3; k++) await s.step();
    expect((await resumed.done).restoredFrom).toBe(1);
    expect([...out.values].sort()).toStrictEqual(['r2', 'r3']);
    expect(warnings).toStrictEqual([]);
  });

  it("a stateful operator named like a merge of parallelism ('x/outputs') is refused when the pipeline lacks it, as any other", async () => {
    const store = memoryStore();
    const counting = (name: string) => (src: Observable<StreamElement<E, undefined>>) =>
      src.pipe(
        keyBy((e: E) => e.id),
        process<E, string, string, { n: ReturnType<typeof valueState<number>> }>({ name, state: { n: valueState<number>() }, onElement: (_e, ctx) => ctx.state.n.set(1) }),
      );
    await runJob({ name: 'slash', source: fromArray([{ id: 'a', ts: 1 }]), pipeline: counting('per-user/outputs'), sink: toArray<string>(), checkpoint: { intervalMs: 1e9, store } }).done;
    const job = runJob({ name: 'slash', source: fromArray([{ id: 'a', ts: 1 }]), pipeline: counting('other'), sink: toArray<string>(), checkpoint: { intervalMs: 1e9, store } });
    await expect(job.done).rejects.toThrow("runJob(slash): checkpoint 1 holds state of operator(s) 'per-user/outputs' that the pipeline lacks");
  });
});

describe('keyed operators in parallel subtasks standing at different event times', () => {
  // each subtask stamps its own records (watermarks made inside the subtasks): all records go to subtask 0 (one key),
  // whose window stands at 1499 before b2 (1200) comes; subtask 1 gets none and stands at MIN
  const xs: readonly Stamped[] = [
    { id: 'a0', ts: 2000 },
    { id: 'b0', ts: 1000 },
    { id: 'b1', ts: 1500 },
    { id: 'b2', ts: 1200 },
    { id: 'a1', ts: 2500 },
  ];
  /** The output, resumed at `resumeAt` subtasks after `cut` records when asked. */
  async function run(cut?: number, resumeAt = 2, warnings: string[] = []): Promise<string[]> {
    const s = stepper(xs.map((x) => ({ id: x.id, ts: x.ts })));
    const store = memoryStore();
    const out = toArray<string>();
    const pipeline = (n: number) => (src: Observable<StreamElement<E, undefined>>) => src.pipe(keyBy(() => 'k'), parallel(n, mergedStamps));
    const start = (resumed: boolean) =>
      runJob({ name: 'clocks', source: s.source, pipeline: pipeline(resumed ? resumeAt : 2), sink: out, checkpoint: { intervalMs: 1e9, store }, onWarning: (m) => warnings.push(m) });
    await readsResumedAt(start, s.step, xs.length + 1, cut);
    return [...out.values];
  }

  it('each subtask restores its own clock (and its merge its own valve): resumed at any cut, the uninterrupted output', async () => {
    const warnings: string[] = [];
    const uninterrupted = await run(undefined, 2, warnings);
    expect(uninterrupted).toStrictEqual(['[1000] n=1', '[1500] n=1', '[2000] n=1', '[2500] n=1']);
    expect(warnings).toStrictEqual([
      'runJob(clocks): parallel subtask 0: w: a record arrived after its windows were cleaned up (timestamp 1200 + allowedLateness 0 <= watermark 1499) and was dropped. ' +
        'Dropped records are counted in the lateRecordsDropped metric; pass { lateData: subject } to window(...) to receive them, or raise allowedLateness.',
    ]);
    for (let cut = 0; cut <= xs.length; cut++) expect(await run(cut), `resumed after ${cut} records`).toStrictEqual(uninterrupted);
  });

  it('in the copies of runJob({ parallelism }), behind RxJS connect: each copy\'s exchange merge is its own, resumed at any cut the uninterrupted output', async () => {
    // (the keyBy's receivers feed connect's Subject: each copy's merge once registered in the copy subscribing last,
    // and the job failed at its end, or at a checkpoint, saying a subtask ran in a worker thread)
    const keyed = [
      { id: 'a0:x', ts: 2000 },
      { id: 'b0:y', ts: 1000 },
      { id: 'b1:x', ts: 1500 },
      { id: 'b2:x', ts: 1200 },
      { id: 'a1:y', ts: 2500 },
    ];
    const pipeline = (src: Observable<StreamElement<E, undefined>>) => src.pipe(keyBy((e: E) => e.id.slice(3)), mergedStamps);
    async function copies(cut?: number): Promise<string[]> {
      const s = stepper(keyed);
      const store = memoryStore();
      const out = toArray<string>();
      const start = () => runJob({ name: 'connected', source: s.source, pipeline, sink: out, parallelism: 2, checkpoint: { intervalMs: 1e9, store }, onWarning: () => undefined });
      await readsResumedAt(start, s.step, keyed.length + 1, cut);
      return [...out.values];
    }
    const uninterrupted = await copies();
    // (b2 is late: its half of key x stood at 1499)
    expect(uninterrupted).toStrictEqual(['[1500] n=1', '[2000] n=1', '[1000] n=1', '[2500] n=1']);
    for (let cut = 0; cut <= keyed.length; cut++) expect(await copies(cut), `resumed after ${cut} records`).toStrictEqual(uninterrupted);
  });

  it('resumed with the same number of copies owning other key groups (more sources than parallelism, 2 → 3): the lowest clock', async () => {
    // three sources run three copies at parallelism 2 and 3, but 2 or 3 of them own key groups: key k (copy 0 at 2,
    // copy 1 at 3) must not take the clock copy 1 had at 2 (ahead, from key j at 5000), which found its 1500 late and
    // cleaned its window [1000] up unfired
    const keyIn = (lo: number, hi: number): string => {
      for (let i = 0; ; i++) if (keyGroupOf(`k${i}`, 128) >= lo && keyGroupOf(`k${i}`, 128) <= hi) return `k${i}`;
    };
    const [k, j] = [keyIn(43, 63), keyIn(64, 85)];
    const xs = [
      { id: j, ts: 5000 },
      { id: k, ts: 1000 },
      { id: k, ts: 1500 },
    ];
    const pipeline = (src: Observable<StreamElement<E, undefined>>) =>
      src.pipe(
        keyBy((e: E) => e.id),
        eventTime((e: E) => e.ts, boundedOutOfOrderness(0, { interval: 0 })),
        window(tumblingWindows(100), { name: 'w' }),
        aggregate(count()),
        map((r: WindowResult<string, number>) => `[${r.window.start}] ${r.key} n=${r.value}`),
      );
    async function owners(resumeAt?: number): Promise<string[]> {
      const sources = [stepper(xs), stepper([]), stepper([])];
      const store = memoryStore();
      const out = toArray<string>();
      // (each start: the two empty sources end at once)
      const start = async (resumed: boolean) => {
        const job = runJob({ name: 'owners', source: sources.map((x) => x.source), parallelism: resumed ? (resumeAt ?? 2) : 2, pipeline, sink: out, checkpoint: { intervalMs: 1e9, store } });
        await (sources[1] as (typeof sources)[1]).step();
        await (sources[2] as (typeof sources)[2]).step();
        return job;
      };
      await readsResumedAt(start, (sources[0] as (typeof sources)[0]).step, xs.length + 1, resumeAt === undefined ? undefined : 2);
      return [...out.values];
    }
    const expected = [`[1000] ${k} n=1`, `[1500] ${k} n=1`, `[5000] ${j} n=1`];
    expect(await owners()).toStrictEqual(expected);
    for (const resumeAt of [2, 3]) expect(await owners(resumeAt), `resumed at ${resumeAt}`).toStrictEqual(expected);
  });

  it('resumed at another parallelism, every subtask starts at the lowest clock: never later than the uninterrupted run', async () => {
    // the idle subtask stood at MIN: b2 is on time after a resume at 3 or 1
    for (const resumeAt of [3, 1]) {
      expect(await run(3, resumeAt), `resumed at ${resumeAt}`).toStrictEqual(['[1000] n=1', '[1200] n=1', '[1500] n=1', '[2000] n=1', '[2500] n=1']);
    }
  });
});

describe('two-input operators in the copies of runJob({ parallelism })', () => {
  const B = [
    { id: 'b0', ts: 1000 },
    { id: 'b1', ts: 1500 },
    { id: 'b2', ts: 1200 },
  ];
  const A = [
    { id: 'a0', ts: 2000 },
    { id: 'a1', ts: 2500 },
  ];
  // each source stamped in its own copy; the join's inputs arrive through the keyBy exchanges
  const joined = ({ a, b }: In) =>
    stamp(a)
      .pipe(keyBy(() => 'k'))
      .pipe(intervalJoin(stamp(b).pipe(keyBy(() => 'k')), { lower: -1000, upper: 600 }, (x: E, y: E) => `${x.id}+${y.id}`, { name: 'join' }));
  const counted = ({ a, b }: In) =>
    stamp(a)
      .pipe(keyBy(() => 'k'))
      .pipe(
        coProcess<E, E, string, string>(stamp(b).pipe(keyBy(() => 'k')), {
          name: 'co',
          onElement1: (x: E, ctx) => ctx.timers.registerEventTime(x.ts + 100),
          onElement2: (y: E, ctx) => ctx.timers.registerEventTime(y.ts + 100),
          onTimer: (t, ctx) => ctx.emit(`timer@${t}`),
        }),
      );
  for (const [name, pipeline, expected] of [
    ['intervalJoin', joined, ['a0+b0', 'a0+b1', 'a0+b2', 'a1+b1']],
    ['coProcess', counted, ['timer@1100', 'timer@1300', 'timer@1600', 'timer@2100', 'timer@2600']],
  ] as const) {
    it(`${name}: resumed at any cut, the uninterrupted output`, async () => {
      const run = (cut: number | undefined) => scenario(pipeline, A, B, cut, 2);
      const uninterrupted = await run(undefined);
      expect(uninterrupted).toStrictEqual({ main: expected, late: [] });
      for (let cut = 1; cut <= 5; cut++) expect(await run(cut), `cut ${cut}`).toStrictEqual(uninterrupted);
    });
  }
});
