import { connect, mergeMap, Observable, of, pipe, ReplaySubject, share, shareReplay, Subject, switchMap } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { settler } from './support/settle.js';
import { ConfigurationError, fromArray, fromObservable, memoryStore, runJob, toArray, valueState, type StreamElement } from '../src/index.js';
import { keyBy, map, process } from '../operators/index.js';
import { harness, ManualScheduler } from '../testing/index.js';

const counting = (name?: string) =>
  process<string, string, string, { n: ReturnType<typeof valueState<number>> }>({
    ...(name !== undefined ? { name } : {}),
    state: { n: valueState<number>() },
    onElement(v, ctx) {
      const n = (ctx.state.n.get() ?? 0) + 1;
      ctx.state.n.set(n);
      ctx.emit(`${v}#${n}@${ctx.currentProcessingTime}`);
    },
  });

const refused =
  'process#0: a stateful operator was subscribed after job "dynamic" started — inside a higher-order operator (mergeMap, ' +
  'switchMap, concatMap, exhaustMap …) or by a later (re)subscription (concat, repeat, retry). Its keyed state and timers could be in no consistent ' +
  'checkpoint, so it is refused. Subscribe stateful operators with the pipeline: move it out of the higher-order ' +
  'operator (keyBy(...) then process(...) keeps state per key), or run without checkpoints.';

describe('the operator runtime is found through the subscriber chain (issue 12, item 6)', () => {
  // the chain straight to the job's subscriber; behind a Subject it is cut, and the runtime active while the job
  // delivers input stands in
  const inners: [string, (e: StreamElement<string, string>) => Observable<StreamElement<string, string>>][] = [
    ['no Subject', (e) => of(e).pipe(counting())],
    ['share', (e) => of(e).pipe(counting(), share())],
    ['shareReplay', (e) => of(e).pipe(counting(), shareReplay(1))],
    ['connect', (e) => of(e).pipe(counting(), connect((s) => s))],
    ['a Subject fed by hand', (e) => {
      const subject = new ReplaySubject<StreamElement<string, string>>();
      of(e).pipe(counting()).subscribe(subject);
      return subject;
    }],
  ];
  for (const [how, inner] of inners) {
    it(`a checkpointed job refuses a stateful operator inside mergeMap (${how}), naming it and the remedy`, async () => {
      const job = runJob({
        name: 'dynamic',
        source: fromArray(['a', 'b']),
        pipeline: pipe(keyBy((s: string) => s), mergeMap(inner)),
        sink: toArray<string>(),
        checkpoint: { intervalMs: 1_000, store: memoryStore() },
      });
      const error = await job.done.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toBe(refused);
    });

    it(`the harness refuses one too (${how})`, () => {
      const h = harness<string, string, string>(mergeMap(inner));
      h.record('a', 1, 'k');
      expect(h.error).toBeInstanceOf(ConfigurationError);
      expect(h.operators).toStrictEqual([]);
    });
  }

  it('an operator subscribed behind a Subject from a scheduled action of an operator (a processing-time timer) finds the runtime too', () => {
    const ticks = process<string, string, string>({
      name: 'ticks',
      onElement(_v, ctx) {
        ctx.timers.registerProcessingTime(10);
      },
      onTimer(_ts, ctx) {
        ctx.emit('tick');
      },
    });
    const h = harness<string, string, string>(pipe(ticks, mergeMap((e: StreamElement<string, string>) => of(e).pipe(counting(), share()))));
    h.record('a', 1, 'k');
    expect(h.error).toBeUndefined();
    h.setProcessingTime(10);
    expect(h.error).toBeInstanceOf(ConfigurationError);
  });

  it('a job without checkpoints runs operators inside higher-order operators on the job clock', async () => {
    const clock = new ManualScheduler(7_000);
    const input = new Subject<string>();
    const out = toArray<string>();
    const job = runJob({
      name: 'dynamic',
      source: fromObservable(input),
      pipeline: pipe(
        keyBy((s: string) => s),
        switchMap((e) => of(e).pipe(counting())),
        mergeMap((e) => of(e).pipe(map((v: string) => v.toUpperCase()), keyBy((v: string) => v), counting(), share())),
      ),
      sink: out,
      scheduler: clock,
    });
    const settle = settler(clock);
    await settle();
    input.next('a');
    input.next('a');
    await settle();
    input.complete();
    await settle();
    await job.done;
    // a fresh instance per inner subscription (so #1 each time), on the job's virtual clock, not the wall clock
    expect(out.values).toStrictEqual(['A#1@7000#1@7000', 'A#1@7000#1@7000']);
  });

  it('the harness refuses a stateful operator subscribed late, too', () => {
    const h = harness<string, string, string>(pipe(mergeMap((e: StreamElement<string, string>) => of(e).pipe(counting()))));
    h.record('a', 1, 'k');
    expect(h.error).toBeInstanceOf(ConfigurationError);
    expect((h.error as Error).message).toBe(refused.replace('job "dynamic"', 'harness'));
    expect(h.operators).toStrictEqual([]);
  });

  it('an operator behind share() (a Subject cuts the chain) is still registered and checkpointed', async () => {
    const store = memoryStore();
    const job = runJob({
      name: 'shared',
      source: fromArray(['a', 'b', 'a']),
      pipeline: (in$) => in$.pipe(keyBy((s: string) => s), counting('counts'), share()),
      sink: toArray<string>(),
      checkpoint: { intervalMs: 1_000, store },
    });
    await job.done;
    const cp = await store.loadCheckpoint('shared', 'latest');
    expect(cp?.operators.map((o) => o.operator)).toStrictEqual(['counts']);
  });

  it('two harnesses built inside each other keep their own operators', () => {
    let inner: ReturnType<typeof harness<string, string, string>> | undefined;
    const outer = harness<string, string, string>(
      pipe(
        counting('outer'),
        (s) =>
          new Observable<StreamElement<string, string>>((subscriber) => {
            inner ??= harness<string, string, string>(counting('inner')); // built while the outer one subscribes
            return s.subscribe(subscriber);
          }),
      ),
    );
    expect(outer.operators.map((o) => o.name)).toStrictEqual(['outer']);
    expect(inner?.operators.map((o) => o.name)).toStrictEqual(['inner']);
  });
});
