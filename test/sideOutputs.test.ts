// Side outputs as first-class outputs (docs/SEMANTICS.md §14): ctx.output(tag, value) in process-like operators and
// window functions, late data to a tag, side records travelling in order with the main output through every operator,
// merge and partition, sideOutputOf(tag), and runJob's named sinks (exactly-once with checkpoints).
import { connect, from, lastValueFrom, of, pipe, share, Subject, toArray as collect, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  count,
  fromArray,
  MAX_WATERMARK,
  mapState,
  memoryStore,
  mergeStreams,
  NotAStreamElementError,
  runJob,
  sideOutput,
  toArray,
  tumblingWindows,
  boundedOutOfOrderness,
  type StreamElement,
  type Stream,
} from '../src/index.js';
import { aggregate, broadcastProcess, coProcess, eventTime, filter, intervalJoin, keyBy, map, windowJoin, parallel, process, processWindow, sideOutputOf, values, window } from '../operators/index.js';
import { ckpt, harness, rec, twoInputHarness, wm } from '../testing/index.js';
import { fmt } from './support/windows.js';
import { gated } from './support/gated.js';
import { odd, sideSplit } from './fixtures/parallel/sideSplit.js';
import type { Event } from './fixtures/parallel/windowCount.js';

const run = <T>(obs: Observable<T>): Promise<T[]> => lastValueFrom(obs.pipe(collect()));
const text = (els: readonly StreamElement<unknown, unknown>[]): string[] => els.map(fmt);

const rejected = sideOutput<number>('rejected');

/** Even numbers to the main output, odd ones to `rejected`. */
const split = () =>
  process<number, string, number>({
    name: 'split',
    onElement(v, ctx) {
      if (v % 2 === 1) ctx.output(rejected, v * 10);
      else ctx.emit(v);
    },
  });

describe('side outputs: ctx.output(tag, value)', () => {
  it('process: a side record stamped with the current timestamp, in its place among the main output', () => {
    const h = harness(split());
    h.push(rec(1, 10, 'a'), rec(2, 20, 'a'), wm(15), ckpt(1), rec(3, 30, 'b'), wm(MAX_WATERMARK));
    expect(text(h.output())).toStrictEqual(['side rejected 10 @10', '2 @20', 'W 15', 'barrier 1', 'side rejected 30 @30', 'W MAX']);
    expect(h.sideOutput(rejected)).toStrictEqual([10, 30]);
    expect(h.records().map((r) => r.value)).toStrictEqual([2]);
  });

  it('sideOutputOf(tag): the tag’s records (unkeyed) with the main output’s watermarks, status and barriers; values() skips side records', async () => {
    const input = [rec(1, 10, 'a'), rec(2, 20, 'a'), wm(15), ckpt(1), rec(3, 30, 'b'), wm(MAX_WATERMARK)];
    const other = sideOutput<number>('other');
    expect(await run(from(input).pipe(split(), sideOutputOf(rejected)))).toStrictEqual([rec(10, 10), wm(15), ckpt(1), rec(30, 30), wm(MAX_WATERMARK)]);
    expect(await run(from(input).pipe(split(), sideOutputOf(other)))).toStrictEqual([wm(15), ckpt(1), wm(MAX_WATERMARK)]);
    expect(await run(from(input).pipe(split(), values()))).toStrictEqual([2]);
    // one subscription, split in two
    const out$ = from(input).pipe(split(), share());
    const [main, side] = await Promise.all([run(out$.pipe(values())), run(out$.pipe(sideOutputOf(rejected), values()))]);
    expect({ main, side }).toStrictEqual({ main: [2], side: [10, 30] });
  });

  it('side records pass unchanged through stateless and stateful operators downstream, in order', async () => {
    const input = [rec(1, 1, 'a'), rec(2, 2, 'a'), rec(3, 12, 'a'), rec(4, 13, 'b'), wm(20), rec(5, 25, 'a'), wm(MAX_WATERMARK)];
    const out = await run(
      from(input).pipe(
        split(),
        map((v) => v + 100),
        filter(() => true),
        keyBy((v) => `k${v % 3}`),
        window(tumblingWindows(10)),
        aggregate(count()),
        map((r) => `${String(r.key)}[${r.window.start}]=${r.value}`),
      ),
    );
    expect(text(out)).toStrictEqual([
      'side rejected 10 @1',
      'side rejected 30 @12',
      '"k0[0]=1" @9', // 102
      '"k2[10]=1" @19', // 104
      'W 20',
      'side rejected 50 @25',
      'W MAX',
    ]);
  });

  it('a stream split (RxJS connect) and merged again carries each side record once, through mergeStreams and through a two-input operator', async () => {
    const input = [rec(1, 1, 'a'), rec(2, 2, 'a'), rec(3, 12, 'b'), rec(4, 13, 'b'), wm(20), rec(5, 25, 'a'), wm(MAX_WATERMARK)];
    const small = (v: number) => v < 3;
    const merged = await run(from(input).pipe(split(), connect((s) => mergeStreams(s.pipe(filter(small)), s.pipe(filter((v: number) => !small(v)))))));
    expect(text(merged)).toStrictEqual(['side rejected 10 @1', '2 @2', 'side rejected 30 @12', '4 @13', 'W 20', 'side rejected 50 @25', 'W MAX']);
    const joined = await run(
      from(input).pipe(
        split(),
        connect((s) =>
          s.pipe(
            filter(small),
            coProcess(s.pipe(filter((v: number) => !small(v))), { onElement1: (v: number, ctx) => ctx.emit(v), onElement2: (v: number, ctx) => ctx.emit(-v) }),
          ),
        ),
      ),
    );
    expect(text(joined)).toStrictEqual(['side rejected 10 @1', '2 @2', 'side rejected 30 @12', '-4 @13', 'W 20', 'side rejected 50 @25', 'W MAX']);
    // side records made outside tidewater (no memory of their own) too: a merge passes the one object once
    const side = { kind: 'side', tag: 'rejected', value: 7, timestamp: 3 } as const;
    const twice = await run(mergeStreams(from([side, rec(1, 1), side]), from([side])));
    expect(text(twice)).toStrictEqual(['side rejected 7 @3', '1 @1', 'W MAX']);
  });

  it('a side record made behind a merge and fed back round a loop passes the merge once, then is dropped there (the loop ends)', () => {
    // (docs/SEMANTICS.md §12: a consumer of the output pushing into an input; the loop's filter and map pass side
    // records on, as every operator does)
    const feedback = new Subject<StreamElement<number, undefined>>();
    const out: string[] = [];
    const tee = process<number, string, number>({
      name: 'tee',
      onElement(v, ctx) {
        if (v % 2 === 1) ctx.output(rejected, v * 10);
        ctx.emit(v);
      },
    });
    const looped = mergeStreams(feedback, from([rec(1, 1)])).pipe(
      keyBy(() => 'k'),
      tee,
    );
    looped.subscribe((e) => {
      out.push(fmt(e));
      of(e)
        .pipe(
          filter((v: number) => v < 4),
          map((v: number) => v + 1),
        )
        .subscribe((x) => feedback.next(x as StreamElement<number, undefined>));
    });
    feedback.complete();
    // 1 … 4, the odd ones to the side output too. A side record made behind the merge reaches it first through the
    // loop (the loop's filter and map pass it on): it passes once, comes out again, and the next time round is dropped
    expect(out).toStrictEqual(['side rejected 10 @1', '1 @1', 'side rejected 10 @1', '2 @1', 'side rejected 30 @1', '3 @1', 'side rejected 30 @1', '4 @1', 'W MAX']);
  });

  it('a side output read downstream feeds windows like any stream', async () => {
    const input = [rec(1, 1, 'a'), rec(3, 4, 'b'), rec(5, 12, 'a'), rec(2, 13, 'a'), wm(MAX_WATERMARK)];
    const counts = await run(from(input).pipe(split(), sideOutputOf(rejected), keyBy(() => 'all'), window(tumblingWindows(10)), aggregate(count()), values()));
    expect(counts.map((r) => [r.window.start, r.value])).toStrictEqual([
      [0, 2],
      [10, 1],
    ]);
  });

  it('window function: ctx.output(tag, v) stamped end - 1 like the results, after the results emitted before it', () => {
    const small = sideOutput<string>('small');
    const h = harness((source: Stream<number, string>) =>
      source.pipe(
        window<number, string>(tumblingWindows(10)),
        processWindow((vs, ctx) => {
          if (vs.length < 2) ctx.output(small, `${ctx.key}:${vs.length}`);
          return vs.length;
        }),
      ),
    );
    h.push(rec(1, 1, 'a'), rec(2, 2, 'a'), rec(3, 3, 'b'), wm(9));
    expect(text(h.output())).toStrictEqual(['a [0,10) 2 @9', 'side small "b:1" @9', 'b [0,10) 1 @9', 'W 9']);
    expect(h.sideOutput(small)).toStrictEqual(['b:1']);
  });

  it('late data to a tag: each late value with its timestamp (window, intervalJoin); an observer still gets the record', () => {
    const late = sideOutput<number>('late');
    const w = harness((s: Stream<number, string>) => s.pipe(window<number, string>(tumblingWindows(10), { lateData: late }), aggregate(count())));
    w.push(rec(1, 5, 'a'), wm(20), rec(2, 3, 'a'), rec(3, 25, 'a'));
    expect(text(w.output())).toStrictEqual(['a [0,10) 1 @9', 'W 20', 'side late 2 @3']);
    expect(w.operators[0]?.metrics?.()['lateRecordsDropped']).toBe(0);

    const lateLeft = sideOutput<string>('late-left');
    const j = twoInputHarness((right$: Observable<StreamElement<number, string>>) =>
      intervalJoin<string, number, string, string>(right$, { lower: 0, upper: 5 }, (l, r) => `${l}${r}`, { leftLateData: lateLeft }),
    );
    j.record('x', 10, 'k').watermark(20).watermark2(20).record('y', 12, 'k');
    expect(text(j.output())).toStrictEqual(['W 20', 'side late-left "y" @12']);
    expect(j.sideOutput(lateLeft)).toStrictEqual(['y']);

    const lateEither = sideOutput<string | number>('late-either');
    const wj = twoInputHarness((right$: Observable<StreamElement<number, string>>) =>
      windowJoin<string, number, string, string>(right$, tumblingWindows(10), (l, r) => `${l}${r}`, { lateData: lateEither }),
    );
    wj.record('x', 1, 'k').record2(7, 2, 'k').watermark(20).watermark2(20).record2(8, 3, 'k').record('z', 25, 'k');
    expect(text(wj.output())).toStrictEqual(['"x7" @9', 'W 20', 'side late-either 8 @3']);
  });

  it('coProcess and broadcastProcess: ctx.output(tag, v) from either input and from the broadcast side', () => {
    const seen = sideOutput<string>('seen');
    const co = twoInputHarness((right$: Observable<StreamElement<number, string>>) =>
      coProcess<string, number, string, string>(right$, {
        name: 'co',
        onElement1(v, ctx) {
          ctx.output(seen, `left ${v}`);
        },
        onElement2(v, ctx) {
          ctx.output(seen, `right ${v}`);
          ctx.emit(`${ctx.key}`);
        },
      }),
    );
    co.record('a', 1, 'k').record2(7, 2, 'k');
    expect(text(co.output())).toStrictEqual(['side seen "left a" @1', 'side seen "right 7" @2', '"k" @2']);

    const rules = { rules: mapState<string, number>() };
    const b = twoInputHarness((rules$: Observable<StreamElement<number, unknown>>) =>
      broadcastProcess<string, number, string, string, Record<never, never>, typeof rules>(rules$, {
        name: 'b',
        broadcastState: rules,
        onElement(v, ctx) {
          if (!ctx.broadcast.rules.has(v)) ctx.output(seen, `unknown ${v}`);
          else ctx.emit(v);
        },
        onBroadcastElement(n, ctx) {
          ctx.broadcast.rules.set(`r${n}`, n);
          ctx.output(seen, `rule ${n}`);
        },
      }),
    );
    b.push2(rec(1, 1, undefined as unknown as string)).record('r1', 2, 'k').record('r2', 3, 'k');
    expect(text(b.output())).toStrictEqual(['side seen "rule 1" @1', '"r1" @2', 'side seen "unknown r2" @3']);
  });
});

describe('side outputs through merges and partitions', () => {
  const events: Event[] = Array.from({ length: 40 }, (_, i) => ({ user: `u${i % 5}`, n: i }));
  const input = () => from([...events.map((e, i) => rec(e, i * 2)), wm(MAX_WATERMARK)]).pipe(keyBy((e: Event) => e.user));

  it('parallel(n): every side record once, with the main output, whatever n', async () => {
    const plain = await run(input().pipe(sideSplit));
    const sideOf = (els: readonly StreamElement<unknown, unknown>[]) => els.flatMap((e) => (e.kind === 'side' ? [`${(e.value as Event).n}@${e.timestamp}`] : []));
    const mainOf = (els: readonly StreamElement<unknown, unknown>[]) => els.flatMap((e) => (e.kind === 'record' ? [e.value as string] : []));
    expect(sideOf(plain)).toHaveLength(20);
    for (const n of [1, 2, 3]) {
      const out = await run(input().pipe(parallel(n, sideSplit)));
      expect(sideOf(out).sort(), `n = ${n}`).toStrictEqual(sideOf(plain).sort());
      expect(mainOf(out).sort(), `n = ${n}`).toStrictEqual(mainOf(plain).sort());
      // a side record passing into a parallel operator goes to one subtask only
      const twice = await run(input().pipe(sideSplit, parallel(n, map((s: string) => s)), sideOutputOf(odd), values()));
      expect(twice.map((e) => e.n).sort((a, b) => a - b), `n = ${n}`).toStrictEqual(events.filter((e) => e.n % 2 === 1).map((e) => e.n));
    }
  });

  it('mergeStreams keeps each input’s side records in order with its records and holds them back while aligning a barrier', async () => {
    const a = from([rec(1, 1, 'a'), ckpt(1), rec(3, 3, 'a'), wm(MAX_WATERMARK)]).pipe(split());
    const b = from([rec(5, 2, 'b'), rec(6, 4, 'b'), ckpt(1), wm(MAX_WATERMARK)]).pipe(split());
    // input a delivers barrier 1 first: its side record 30 waits until b delivered it too
    expect(text(await run(mergeStreams(a, b)))).toStrictEqual(['side rejected 10 @1', 'side rejected 50 @2', '6 @4', 'barrier 1', 'side rejected 30 @3', 'W MAX']);
  });
});

describe('side outputs in jobs: sinks { main, [name] }', () => {
  interface Reading {
    readonly sensor: string;
    readonly at: number;
    readonly value: number;
  }
  const invalid = sideOutput<Reading>('invalid');
  const late = sideOutput<Reading>('late');
  const readings: Reading[] = Array.from({ length: 60 }, (_, i) => ({ sensor: `s${i % 3}`, at: i * 100 - (i % 7 === 3 ? 900 : 0), value: i % 11 === 5 ? -1 : i }));
  const pipeline = (s: Stream<Reading, undefined>) =>
    s.pipe(
      eventTime((r: Reading) => r.at, boundedOutOfOrderness(200, { interval: 0 })),
      keyBy((r) => r.sensor),
      process<Reading, string, Reading>({
        name: 'validate',
        onElement(r, ctx) {
          if (r.value < 0) ctx.output(invalid, r);
          else ctx.emit(r);
        },
      }),
      window<Reading, string>(tumblingWindows(1_000), { lateData: late, name: 'w' }),
      aggregate(count()),
      map((c) => `${c.key}[${c.window.start}]=${c.value}`),
    );

  it('every sink gets its output; a savepoint at every cut, restored, gives each sink the uninterrupted output exactly once', async () => {
    const ref = { main: toArray<string>(), invalid: toArray<Reading>(), late: toArray<Reading>() };
    await runJob({ name: 'ref', source: fromArray(readings), pipeline, sinks: ref }).done;
    const expected = { main: [...ref.main.values], invalid: [...ref.invalid.values], late: [...ref.late.values] };
    expect(expected.invalid.map((r) => r.value)).toStrictEqual(readings.filter((r) => r.value < 0).map((r) => r.value));
    expect(expected.invalid.length).toBeGreaterThan(3);
    expect(expected.late.length).toBeGreaterThan(3);
    for (let cut = 0; cut <= readings.length; cut += 7) {
      const sinks = { main: toArray<string>(), invalid: toArray<Reading>(), late: toArray<Reading>() };
      const checkpoint = { intervalMs: 1e9, store: memoryStore() };
      const g = gated(readings, cut);
      const job1 = runJob({ name: 'cut', source: g.source, pipeline, sinks, checkpoint });
      await g.reached;
      await job1.stop({ savepoint: true });
      const summary = await runJob({ name: 'cut', source: g.source, pipeline, sinks, checkpoint }).done;
      expect(summary.restoredFrom, `cut ${cut}`).toBe(1);
      expect({ main: sinks.main.values, invalid: sinks.invalid.values, late: sinks.late.values }, `cut ${cut}`).toStrictEqual(expected);
    }
  });

  it('a side output without a sink is dropped and said once; bad sinks are refused naming the remedy', async () => {
    const warnings: string[] = [];
    const main = toArray<string>();
    await runJob({ name: 'w', source: fromArray(readings), pipeline, sinks: { main }, onWarning: (m) => warnings.push(m) }).done;
    expect(warnings).toStrictEqual([
      "runJob(w): side output 'late' has no sink (sinks: main), so its records are dropped. Give it one: sinks: { main: …, 'late': toNdjsonFile(…) }.",
      "runJob(w): side output 'invalid' has no sink (sinks: main), so its records are dropped. Give it one: sinks: { main: …, 'invalid': toNdjsonFile(…) }.",
    ]);
    expect(main.values.length).toBeGreaterThan(10);
    // a misspelt sink name: the warning names it
    warnings.length = 0;
    const lte = toArray<unknown>();
    await runJob({ name: 'w', source: fromArray(readings), pipeline, sinks: { main: toArray<string>(), lte, invalid: toArray<unknown>() }, onWarning: (m) => warnings.push(m) }).done;
    expect(warnings).toStrictEqual([
      "runJob(w): side output 'late' has no sink (sinks: main, lte, invalid), so its records are dropped. Give it one: sinks: { main: …, 'late': toNdjsonFile(…) } (sinks['lte'], which no record has reached yet, may be meant for it).",
    ]);
    expect(lte.values).toStrictEqual([]);
    // a sink records reached (another tag's) is not named, nor one near a short tag, nor main
    const error = sideOutput<number>('error');
    const errors = sideOutput<number>('errors');
    const short = sideOutput<number>('x');
    const mains = sideOutput<number>('mains');
    const tags = [error, error, errors, short, mains] as const;
    const tagged = pipe(
      keyBy((v: number) => v % 2),
      process<number, number, number>({ name: 'tag', onElement: (v, ctx) => ctx.output(tags[v] as typeof error, v) }),
    );
    warnings.length = 0;
    const errorSink = toArray<number>();
    await runJob({ name: 't', source: fromArray([0, 1, 2, 3, 4]), pipeline: tagged, sinks: { main: toArray<number>(), error: errorSink, db: toArray<number>() }, onWarning: (m) => warnings.push(m) }).done;
    expect(errorSink.values).toStrictEqual([0, 1]);
    expect(warnings).toStrictEqual([
      "runJob(t): side output 'errors' has no sink (sinks: main, error, db), so its records are dropped. Give it one: sinks: { main: …, 'errors': toNdjsonFile(…) }.",
      "runJob(t): side output 'x' has no sink (sinks: main, error, db), so its records are dropped. Give it one: sinks: { main: …, 'x': toNdjsonFile(…) }.",
      "runJob(t): side output 'mains' has no sink (sinks: main, error, db), so its records are dropped. Give it one: sinks: { main: …, 'mains': toNdjsonFile(…) }.",
    ]);
    expect(() => runJob({ name: 'x', source: fromArray([1]), pipeline: (s) => s, sink: toArray(), sinks: { main: toArray() } })).toThrow(
      'runJob(x): give either sink (the main output) or sinks ({ main, [sideOutput]: sink }), not both.',
    );
    expect(() => runJob({ name: 'x', source: fromArray([1]), pipeline: (s) => s, sinks: { main: toArray(), late: 'late.ndjson' as never } })).toThrow(
      'runJob(x): sinks.late "late.ndjson" is not a sink; use toArray(), toNdjsonFile(path) or callbackSink({ write }).',
    );
  });

  it('errors: a tag needs a name other than main; sideOutputOf needs a tag; a malformed element fails sideOutputOf', async () => {
    expect(() => sideOutput('')).toThrow(`sideOutput(""): a side output needs a non-empty name other than 'main' (reserved for the main output), e.g. sideOutput<T>('rejected').`);
    expect(() => sideOutput('main')).toThrow(ConfigurationError);
    expect(() => sideOutputOf('late' as never)).toThrow('sideOutputOf("late"): pass a tag made with sideOutput<T>(name).');
    await expect(run(from([42 as never]).pipe(sideOutputOf(late)))).rejects.toBeInstanceOf(NotAStreamElementError);
    // a late-data option that is neither a tag nor an observer fails the stream, naming the operator and the option
    await expect(run(from([rec(1, 1, 'a')]).pipe(window<number, string>(tumblingWindows(10), { lateData: 'late' as never, name: 'w' }), aggregate(count())))).rejects.toThrow(
      'w: lateData "late" must be a side output (sideOutput<T>(name)) or an observer (e.g. a Subject).',
    );
  });
});
