// What a handle of an ended job keeps (README, "Jobs"): its final figures, not its operators' keyed state — a service
// keeping handles of ended jobs (a job table, a status page) would otherwise keep every job's state.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pipe, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { fromArray, fromObservable, runJob, toArray, valueState, type Job } from '../src/index.js';
import { keyBy, map, process } from '../operators/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const turn = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('an ended job', () => {
  for (const ending of ['finished', 'failed'] as const) {
    it(`${ending}: its handle (and, failed, its error) keeps its final figures, not its keyed state`, async () => {
      const collected: number[] = [];
      const registry = new FinalizationRegistry((n: number) => collected.push(n));
      const state = { last: valueState<{ readonly n: number }>() };
      const job: Job<number> = runJob({
        name: 'kept',
        source: fromArray([1, 2, 3, 4, 5, 6]),
        pipeline: pipe(
          keyBy((v: number) => v % 3),
          process<number, number, number, typeof state>({
            name: 'last',
            state,
            onElement(v, ctx) {
              const value = { n: v };
              registry.register(value, v);
              ctx.state.last.set(value);
              if (ending === 'failed' && v === 6) throw new Error('late failure');
              ctx.emit(v);
            },
          }),
          map((v: number) => v),
        ),
      });
      let error: unknown;
      await job.done.catch((e: unknown) => (error = e));
      expect(error === undefined).toBe(ending === 'finished');
      await turn();
      gc();
      await turn(10);
      // the values the state held last (4, 5, 6) went with the state; the handle still answers
      expect(collected.sort()).toStrictEqual([1, 2, 3, 4, 5, 6]);
      expect([job.metrics().recordsIn, job.metrics().operators['last']?.['recordsIn']]).toStrictEqual([6, 6]);
    });
  }

  it('stopped with values its fromObservable reader had taken and not read: the kept handle does not keep them', async () => {
    const collected: number[] = [];
    const registry = new FinalizationRegistry((n: number) => collected.push(n));
    const live = new Subject<{ readonly n: number }>();
    const job = runJob({ name: 'unread', source: fromObservable(live), pipeline: pipe(map((v: { readonly n: number }) => v.n)), sink: toArray<number>() });
    await turn(20); // (the job opened its source)
    // (made in a function of their own: none stays in this function's frame)
    const push = (n: number): void => {
      const value = { n };
      registry.register(value, n);
      live.next(value);
    };
    for (let n = 0; n < 100; n++) push(n);
    await job.stop(); // before its pump read them
    await turn();
    gc();
    await turn(10);
    expect(collected.length).toBe(100);
    expect(job.metrics().recordsIn).toBe(0);
  });
});
