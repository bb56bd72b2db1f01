// runJob({ parallelism, maxParallelism }): the pipeline built per subtask, records dealt in turn, keyBy exchanges to
// the key-group owner, outputs merged; checkpoints restore at another parallelism (docs/SEMANTICS.md §7.1).
import { pipe, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  boundedOutOfOrderness,
  ConfigurationError,
  count,
  fromArray,
  fromAsyncIterable,
  JobError,
  mapState,
  memoryStore,
  runJob,
  sessionWindows,
  toArray,
  tumblingWindows,
  type JobConfig,
  type Source,
  type StateStore,
  type StreamElement,
  valueState,
  type WindowResult,
} from '../src/index.js';
import { aggregate, broadcastProcess, eventTime, keyBy, map, parallel, process, window } from '../operators/index.js';
import { keyGroupOf } from '../src/keys/keyGroups.js';
import { gatedAt, wideNarrow, type UserClick } from './support/gated.js';

const clicks: UserClick[] = Array.from({ length: 300 }, (_, i) => ({ user: `u${(i * 7919) % 23}`, ts: i * 10 }));

/** Per user and 200 ms: the number of clicks (unnamed window: named by position, window#0 / window#1). */
const windowed = pipe(
  eventTime((c: UserClick) => c.ts, boundedOutOfOrderness(0, { interval: 0 })),
  keyBy((c: UserClick) => c.user),
  window(tumblingWindows(200)),
  aggregate(count()),
);
type Out = WindowResult<string, number>;
const byText = (a: Out, b: Out) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);

/**
 * A replayable async source whose k-th opening pauses before index `stops[k]` until the job is stopped (later
 * openings run through); `reached[k]` resolves at that pause.
 */
function stopping<T>(values: readonly T[], stops: readonly number[]): { source: Source<T>; reached: Promise<void>[] } {
  const marks = stops.map(() => {
    let hit!: () => void;
    return { promise: new Promise<void>((r) => (hit = r)), hit: () => hit() };
  });
  let opening = 0;
  const source = fromAsyncIterable(async function* () {
    const run = opening++;
    for (let i = 0; i < values.length; i++) {
      if (i === stops[run]) {
        marks[run]?.hit();
        await new Promise(() => undefined); // until stopped
      }
      yield values[i] as T;
    }
  });
  return { source, reached: marks.map((m) => m.promise) };
}

/**
 * Runs a windowed job on `values` until index `cut`, stops it with a savepoint, resumes with `then`'s pipeline and
 * parallelism: the whole output, sorted (subtasks interleave).
 */
async function stopAndResume(
  values: readonly UserClick[],
  cut: number,
  first: Pick<JobConfig<UserClick, Out>, 'pipeline' | 'parallelism'>,
  then: Pick<JobConfig<UserClick, Out>, 'pipeline' | 'parallelism'>,
): Promise<Out[]> {
  const store = memoryStore();
  const out = toArray<Out>();
  const { source, reached } = stopping(values, [cut]);
  const job = runJob({ name: 'cut', source, sink: out, checkpoint: { intervalMs: 1e9, store }, ...first });
  if (cut < values.length) {
    await reached[0];
    await job.stop({ savepoint: true });
  } else await job.done;
  await runJob({ name: 'cut', source, sink: out, checkpoint: { intervalMs: 1e9, store }, ...then }).done;
  return [...out.values].sort(byText);
}

describe('runJob({ parallelism })', () => {
  it('a keyed pipeline that re-keys (two keyBy) emits exactly what parallelism 1 emits, in the same order, at 2, 3 and 4', async () => {
    const reference = toArray<number>();
    await runJob({ name: 'p1', source: fromArray(clicks), pipeline: wideNarrow(), sink: reference }).done;
    expect(reference.values).toHaveLength(300);
    for (const parallelism of [2, 3, 4]) {
      const out = toArray<number>();
      const summary = await runJob({ name: `p${parallelism}`, source: fromArray(clicks), pipeline: wideNarrow(), sink: out, parallelism }).done;
      expect(out.values, `parallelism ${parallelism}`).toStrictEqual(reference.values);
      // every subtask's share of the 'wide' operator, and the sum is every record
      const wide = summary.subtasks?.wide ?? [];
      expect(wide.map((s) => s.subtask)).toStrictEqual(Array.from({ length: parallelism }, (_, i) => i));
      expect(wide.reduce((n, s) => n + s.recordsIn, 0)).toBe(300);
      expect(summary.operators.wide?.recordsIn).toBe(300);
    }
  });

  it('a windowed job gives the output of parallelism 1 at parallelism 1 to 4', async () => {
    const reference = toArray<Out>();
    await runJob({ name: 'w1', source: fromArray(clicks), pipeline: windowed, sink: reference }).done;
    const expected = [...reference.values].sort(byText);
    expect(expected.length).toBeGreaterThan(100);
    for (const parallelism of [1, 2, 3, 4]) {
      const out = toArray<Out>();
      await runJob({ name: `w${parallelism}`, source: fromArray(clicks), pipeline: windowed, sink: out, parallelism }).done;
      expect([...out.values].sort(byText), `parallelism ${parallelism}`).toStrictEqual(expected);
    }
  });

  it('rescales: parallelism 2, savepoint, resume at 3, savepoint, resume at 1 — the output of an uninterrupted single-threaded run', async () => {
    const reference = toArray<Out>();
    await runJob({ name: 'ref', source: fromArray(clicks), pipeline: windowed, sink: reference }).done;
    const refSums = toArray<number>();
    await runJob({ name: 'refsum', source: fromArray(clicks), pipeline: wideNarrow(), sink: refSums }).done;
    for (const [a, b] of [
      [40, 170],
      [1, 299],
      [150, 151],
    ] as const) {
      // windows (output compared as a multiset) and running totals (compared in order)
      const cases = [
        { pipeline: windowed, expected: [...reference.values].sort(byText), sorted: true },
        { pipeline: wideNarrow(), expected: refSums.values, sorted: false },
      ] as const;
      for (const c of cases) {
        const store: StateStore = memoryStore();
        const checkpoint = { intervalMs: 1e9, store };
        const out = toArray<unknown>();
        const { source, reached } = stopping(clicks, [a, b]);
        const run = (parallelism: number) => runJob({ name: 'rescale', source, pipeline: c.pipeline as typeof windowed, sink: out as never, checkpoint, parallelism });
        const first = run(2);
        await reached[0];
        await first.stop({ savepoint: true });
        const second = run(3);
        await reached[1];
        await second.stop({ savepoint: true });
        const last = await run(1).done;
        expect(last.restoredFrom, `cut ${a}/${b}`).toBe(2);
        const got = c.sorted ? [...(out.values as Out[])].sort(byText) : out.values;
        expect(got, `cut ${a}/${b}`).toStrictEqual(c.expected);
      }
    }
  });

  it('a broadcastProcess gets every broadcast element in every subtask (the broadcast source is dealt among them like any other): the output of parallelism 1 at 2 and 3, and rescaled 2 → 3', async () => {
    type Rule = { readonly page: string; readonly alert: string };
    type Visit = { readonly user: string; readonly page: string; readonly at: number };
    const rules: Rule[] = [
      { page: '/a', alert: 'A' },
      { page: '/b', alert: 'B' },
      { page: '/c', alert: 'C' },
    ];
    const visits: Visit[] = Array.from({ length: 90 }, (_, i) => ({ user: `u${(i * 7) % 13}`, page: ['/a', '/b', '/c', '/d'][i % 4] as string, at: i }));
    const rulesState = { rules: mapState<string, string>() };
    const pipeline = (s: { rules: Observable<StreamElement<Rule, undefined>>; visits: Observable<StreamElement<Visit, undefined>> }) =>
      s.visits.pipe(
        eventTime((v: Visit) => v.at),
        keyBy((v: Visit) => v.user),
        broadcastProcess(s.rules.pipe(eventTime(() => 0)), {
          name: 'alerts',
          broadcastState: rulesState,
          onElement(v: Visit, ctx) {
            ctx.emit(`${v.user} ${v.page} ${ctx.broadcast.rules.get(v.page) ?? '-'} @${v.at}`);
          },
          onBroadcastElement(r: Rule, ctx) {
            ctx.broadcast.rules.set(r.page, r.alert);
          },
        }),
      );
    const run = async (parallelism: number): Promise<string[]> => {
      const out = toArray<string>();
      await runJob({ name: 'bc', sources: { rules: fromArray(rules), visits: fromArray(visits) }, pipeline, sink: out, parallelism }).done;
      return [...out.values].sort();
    };
    const reference = await run(1);
    expect(reference).toHaveLength(90);
    expect(reference.filter((l) => l.includes(' - ')).length).toBe(22); // the /d visits only
    expect(await run(2)).toStrictEqual(reference);
    expect(await run(3)).toStrictEqual(reference);
    // stopped at parallelism 2 with a savepoint (the broadcast state the same in every subtask), resumed at 3
    const store = memoryStore();
    const out = toArray<string>();
    const { source, reached } = stopping(visits, [40]);
    const job = (parallelism: number) =>
      runJob({ name: 'bc-rescale', sources: { rules: fromArray(rules), visits: source }, pipeline, sink: out, parallelism, checkpoint: { intervalMs: 1e9, store } });
    const first = job(2);
    await reached[0];
    await first.stop({ savepoint: true });
    expect((await job(3).done).restoredFrom).toBe(1);
    expect([...out.values].sort()).toStrictEqual(reference);
  });

  it('the parallel operator at n = 1 in a savepoint: resumed at n = 2 and back at 1, the output of an uninterrupted run', async () => {
    const reference = toArray<Out>();
    await runJob({ name: 'ref', source: fromArray(clicks), pipeline: windowed, sink: reference }).done;
    const expected = [...reference.values].sort(byText);
    const counted = pipe(window<UserClick, string>(tumblingWindows(200)), aggregate(count()));
    const withParallel = (n: number) =>
      pipe(eventTime((c: UserClick) => c.ts, boundedOutOfOrderness(0, { interval: 0 })), keyBy((c: UserClick) => c.user), parallel(n, counted));
    for (const [first, then] of [[1, 2], [2, 1], [1, 1]] as const) {
      // a cut inside a window: its counts so far must come back from the savepoint
      const got = await stopAndResume(clicks, 150, { pipeline: withParallel(first) }, { pipeline: withParallel(then) });
      expect(got, `parallel(${first}) → parallel(${then})`).toStrictEqual(expected);
    }
  });

  it('several unnamed sources: one copy per source (or per subtask, if more), the same output at parallelism 1 to 3, rescaled 3 → 1', async () => {
    const a = clicks.filter((_, i) => i % 3 !== 0);
    const b = clicks.filter((_, i) => i % 3 === 0).map((c) => ({ ...c, ts: c.ts + 5 }));
    const reference = toArray<Out>();
    await runJob({ name: 'ab', source: fromArray([...a, ...b].sort((x, y) => x.ts - y.ts)), pipeline: windowed, sink: reference }).done;
    const expected = [...reference.values].sort(byText);
    for (const parallelism of [1, 2, 3]) {
      const out = toArray<Out>();
      const summary = await runJob({ name: `ab${parallelism}`, source: [fromArray(a), fromArray(b)], pipeline: windowed, sink: out, parallelism }).done;
      expect([...out.values].sort(byText), `parallelism ${parallelism}`).toStrictEqual(expected);
      expect(summary.operators['window#0']?.lateRecordsDropped).toBe(0);
      expect(summary.subtasks?.['window#0']).toHaveLength(Math.max(2, parallelism));
    }
    const store = memoryStore();
    const out = toArray<Out>();
    const first = stopping(a, [120]);
    const second = stopping(b, [50]);
    const job = runJob({ name: 'abr', source: [first.source, second.source], pipeline: windowed, sink: out, checkpoint: { intervalMs: 1e9, store }, parallelism: 3 });
    await Promise.all([first.reached[0], second.reached[0]]);
    await job.stop({ savepoint: true });
    const last = await runJob({ name: 'abr', source: [first.source, second.source], pipeline: windowed, sink: out, checkpoint: { intervalMs: 1e9, store } }).done;
    expect(last.restoredFrom).toBe(1);
    expect([...out.values].sort(byText)).toStrictEqual(expected);
  });

  it('restored at every cut (every 15 records), from parallelism 2 into 3 and from parallel(2) into parallel(3): the uninterrupted output', async () => {
    const reference = toArray<Out>();
    await runJob({ name: 'ref', source: fromArray(clicks), pipeline: windowed, sink: reference }).done;
    const expected = [...reference.values].sort(byText);
    const refSums = toArray<number>();
    await runJob({ name: 'refsum', source: fromArray(clicks), pipeline: wideNarrow(), sink: refSums }).done;
    const inOperator = (n: number) =>
      pipe(eventTime((c: UserClick) => c.ts, boundedOutOfOrderness(0, { interval: 0 })), keyBy((c: UserClick) => c.user), parallel(n, pipe(window<UserClick, string>(tumblingWindows(200)), aggregate(count()))));
    for (let cut = 0; cut <= clicks.length; cut += 15) {
      for (const [first, then] of [
        [{ pipeline: windowed, parallelism: 2 }, { pipeline: windowed, parallelism: 3 }],
        [{ pipeline: inOperator(2) }, { pipeline: inOperator(3) }],
      ] as const) {
        expect(await stopAndResume(clicks, cut, first, then), `cut ${cut}`).toStrictEqual(expected);
      }
      // running totals (two keyBy, order-sensitive) in order
      const store = memoryStore();
      const out = toArray<number>();
      const { source, reached } = stopping(clicks, [cut]);
      const job = runJob({ name: 'sums', source, pipeline: wideNarrow(), sink: out, checkpoint: { intervalMs: 1e9, store }, parallelism: 2 });
      if (cut < clicks.length) {
        await reached[0];
        await job.stop({ savepoint: true });
      } else await job.done;
      await runJob({ name: 'sums', source, pipeline: wideNarrow(), sink: out, checkpoint: { intervalMs: 1e9, store }, parallelism: 3 }).done;
      expect(out.values, `cut ${cut}`).toStrictEqual(refSums.values);
    }
  });

  it('session windows (the session operator) restored at every cut, from parallelism 2 into 3 and from parallel(2) into parallel(3): the uninterrupted output', async () => {
    // users at irregular intervals, so sessions (gap 45 ms) open, grow, merge and fire all along
    const visits: UserClick[] = Array.from({ length: 240 }, (_, i) => ({ user: `u${(i * i + 3 * i) % 13}`, ts: i * 10 }));
    const sessions = (n?: number) => {
      const count$ = pipe(window<UserClick, string>(sessionWindows(45)), aggregate(count()));
      const keyed = pipe(eventTime((c: UserClick) => c.ts, boundedOutOfOrderness(0, { interval: 0 })), keyBy((c: UserClick) => c.user));
      return n === undefined ? pipe(keyed, count$) : pipe(keyed, parallel(n, count$));
    };
    const reference = toArray<Out>();
    await runJob({ name: 'ref', source: fromArray(visits), pipeline: sessions(), sink: reference }).done;
    const expected = [...reference.values].sort(byText);
    expect(expected.length).toBeGreaterThan(60);
    for (let cut = 0; cut <= visits.length; cut += 15) {
      for (const [first, then] of [
        [{ pipeline: sessions(), parallelism: 2 }, { pipeline: sessions(), parallelism: 3 }],
        [{ pipeline: sessions(2) }, { pipeline: sessions(3) }],
      ] as const) {
        expect(await stopAndResume(visits, cut, first, then), `cut ${cut}`).toStrictEqual(expected);
      }
    }
  });

  it('refuses a bad parallelism or maxParallelism, and a checkpoint of another maxParallelism', async () => {
    const job = (extra: object) => () => runJob({ name: 'bad', source: fromArray(clicks), pipeline: windowed, ...extra });
    expect(job({ parallelism: 0 })).toThrow(ConfigurationError);
    expect(job({ parallelism: 0 })).toThrow('runJob(bad): parallelism 0 must be an integer ≥ 1.');
    expect(job({ parallelism: 1.5 })).toThrow('runJob(bad): parallelism 1.5 must be an integer ≥ 1.');
    expect(job({ maxParallelism: 0 })).toThrow('runJob(bad): maxParallelism 0 must be an integer in [1, 32768] (default 128).');
    expect(job({ parallelism: 129 })).toThrow(
      "runJob(bad): parallelism 129 exceeds maxParallelism 128: each subtask needs a key group at least. Lower parallelism, or raise maxParallelism (it is fixed for the life of the job's state).",
    );
    expect(job({ parallelism: 4, maxParallelism: 3 })).toThrow('runJob(bad): parallelism 4 exceeds maxParallelism 3');

    const store = memoryStore();
    const { source, reached } = stopping(clicks, [100]);
    const first = runJob({ name: 'mp', source, pipeline: windowed, sink: toArray<Out>(), checkpoint: { intervalMs: 1e9, store }, parallelism: 2, maxParallelism: 256 });
    await reached[0];
    await first.stop({ savepoint: true });
    const second = runJob({ name: 'mp', source, pipeline: windowed, sink: toArray<Out>(), checkpoint: { intervalMs: 1e9, store }, parallelism: 2 });
    await expect(second.done).rejects.toThrow(JobError);
    await expect(second.done).rejects.toThrow(
      "runJob(mp): checkpoint 1 was taken with maxParallelism 256 (operator 'window#0'), the job has 128. Key groups cannot be re-split: run with maxParallelism: 256, or restore: false to start over.",
    );
  });

  it('parallel(3) inside parallelism 2: an inner subtask that snapshots in full within a delta clears only the key groups its outer subtask owns', async () => {
    // inner subtask 1 of 3 has key groups 43..85; outer subtask 0 of 2 owns 0..63: its 64..85 are the other's
    const low: string[] = [];
    const high: string[] = [];
    for (let i = 0; low.length < 5_000 || high.length < 20; i++) {
      const k = `k${i}`;
      const g = keyGroupOf(k, 128);
      if (g >= 43 && g <= 63 && low.length < 5_000) low.push(k);
      else if (g >= 64 && g <= 85 && high.length < 20) high.push(k);
    }
    const counter = process<{ user: string }, string, string, { n: ReturnType<typeof valueState<number>> }>({
      name: 'counter',
      state: { n: valueState<number>() },
      onElement(c, ctx) {
        const n = (ctx.state.n.get() ?? 0) + 1;
        ctx.state.n.set(n);
        ctx.emit(`${c.user}=${n}`);
      },
    });
    const pipeline = pipe(keyBy((c: { user: string }) => c.user), parallel(3, counter));
    const first = [...low, ...high].map((user) => ({ user }));
    // the second round changes every low key: that inner subtask's tracking saturates, its snapshot is full
    const input = [...first, ...low.map((user) => ({ user }))];
    const { source, gates } = gatedAt(input, [first.length, input.length]);
    const store = memoryStore();
    const job = runJob({ name: 'nested', source, pipeline, sink: toArray<string>(), parallelism: 2, checkpoint: { intervalMs: 1e9, store, retain: 10 } });
    const taken: boolean[] = [];
    for (const g of gates) {
      await g.reached;
      taken.push((await job.triggerCheckpoint()).full);
      if (g.at < input.length) g.open();
    }
    await job.stop();
    expect(taken).toStrictEqual([true, false]);
    // restored from the delta: the untouched keys of 64..85 are still counted
    const out = toArray<string>();
    await runJob({ name: 'nested', source: fromArray([...input, { user: high[0] as string }, { user: low[0] as string }]), pipeline, sink: out, parallelism: 2, checkpoint: { intervalMs: 1e9, store } }).done;
    expect(out.values).toStrictEqual([`${high[0] as string}=2`, `${low[0] as string}=3`]);
  });

  it('a checkpoint while a range partitioner is still sampling completes: the barrier closes the sample', async () => {
    const g = gatedAt(Array.from({ length: 10 }, (_, i) => i), [5]);
    const out = toArray<number>();
    const job = runJob({
      name: 'range-cp',
      source: g.source,
      pipeline: parallel(2, map((v: number) => v * 10), { by: { range: { by: (v: number) => v } } }),
      sink: out,
      checkpoint: { intervalMs: 1e9, store: memoryStore() },
    });
    await (g.gates[0] as { reached: Promise<void> }).reached;
    const checkpoint = job.triggerCheckpoint();
    (g.gates[0] as { open(): void }).open();
    expect((await checkpoint).id).toBe(1);
    await job.done;
    expect([...out.values].sort((a, b) => a - b)).toStrictEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });
});
