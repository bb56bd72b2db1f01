// runJob({ parallelism }) restored from a savepoint at a random cut emits what the uninterrupted run emits — the
// window results and the records found late — when each copy stamps its own watermarks (docs/SEMANTICS.md §2.6: the
// merges of the keyBy exchange restore what each copy's valve knew of the others).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Observable } from 'rxjs';
import { boundedOutOfOrderness, count, memoryStore, runJob, sideOutput, toArray, tumblingWindows, type StreamElement, type WindowResult } from '../src/index.js';
import { aggregate, eventTime, keyBy, map, window } from '../operators/index.js';
import { gated } from './support/gated.js';

type E = { readonly id: number; readonly user: string; readonly ts: number };
const late = sideOutput<E>('late');

const pipeline = (src: Observable<StreamElement<E, undefined>>) =>
  src.pipe(
    // (each copy stamps the records dealt to it: its own watermarks, which the exchange's merges combine)
    eventTime((e: E) => e.ts, boundedOutOfOrderness(20, { interval: 0 })),
    keyBy((e: E) => e.user),
    window(tumblingWindows(50), { lateData: late, name: 'w' }),
    aggregate(count()),
    map((r: WindowResult<string, number>) => `${r.key}[${r.window.start}]=${r.value}`),
  );

/** The job at `parallelism` over `events`; with `cut`, stopped with a savepoint before event `cut` and resumed. */
async function run(events: readonly E[], parallelism: number, cut?: number): Promise<{ main: string[]; late: number[] }> {
  const sinks = { main: toArray<string>(), late: toArray<E>() };
  const store = memoryStore();
  const checkpoint = { intervalMs: 1e9, store };
  if (cut === undefined) {
    await runJob({ name: 'p', source: gated(events, events.length + 1).source, pipeline, sinks, parallelism }).done;
  } else {
    const g = gated(events, cut);
    const job = runJob({ name: 'p', source: g.source, pipeline, sinks, parallelism, checkpoint });
    await g.reached;
    await job.stop({ savepoint: true });
    await runJob({ name: 'p', source: g.source, pipeline, sinks, parallelism, checkpoint }).done;
  }
  return { main: [...sinks.main.values].sort(), late: sinks.late.values.map((e) => e.id).sort((a, b) => a - b) };
}

describe('runJob({ parallelism }) restored at a random cut', () => {
  it('emits the uninterrupted output, late records included', async () => {
    const event = fc.record({ user: fc.constantFrom('a', 'b', 'c', 'd'), ts: fc.integer({ min: 0, max: 400 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 24 }), fc.constantFrom(2, 3), fc.nat(), async (raw, parallelism, c) => {
        const events = raw.map((e, id) => ({ id, ...e }));
        const cut = c % (events.length + 1);
        const uninterrupted = await run(events, parallelism);
        expect(await run(events, parallelism, cut)).toStrictEqual(uninterrupted);
      }),
      { numRuns: 40 },
    );
  });
});
