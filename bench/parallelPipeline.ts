/**
 * The pipelines of `bench/parallel.ts`, in a module of their own so that worker threads can load them
 * (`parallel(n, pipeline, { worker })` imports the module that exports the pipeline as `default`). One module, several
 * pipelines: the module URL's query picks one (`?work=ITERATIONS&kind=count|sum|map|drop`); each distinct URL is a module of
 * its own, in the threads as here.
 */
import { pipe, type OperatorFunction } from 'rxjs';
import { valueState, type StreamElement } from '../src/index.js';
import { filter, map, process } from '../operators/index.js';

/** A deterministic busy loop of `iterations` steps over `v` (the user work per record), result in [0, 65 535]. */
export function spin(v: number, iterations: number): number {
  let x = v | 0;
  for (let j = 0; j < iterations; j++) x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + j) | 0;
  return x & 0xffff;
}

type Pipeline = OperatorFunction<StreamElement<number, string>, StreamElement<number, string>>;

/**
 * A keyed running count in `process` + `valueState` that also does `iterations` steps of {@link spin} per record and
 * emits `spin + (count > 0 ? 1 : 0)` (with `iterations` 0: the cheap keyed pipeline).
 */
export function keyedWork(iterations: number): Pipeline {
  return pipe(
    process<number, string, number, { n: ReturnType<typeof valueState<number>> }>({
      name: 'keyed-work',
      state: { n: valueState<number>() },
      onElement(v, ctx) {
        const c = (ctx.state.n.get() ?? 0) + 1;
        ctx.state.n.set(c);
        // state read and written per record; the value the same every round (the state lives across rounds)
        ctx.emit(spin(v, iterations) + (c > 0 ? 1 : 0));
      },
    }),
  );
}

/**
 * A keyed aggregation with the same user work: per record `iterations` steps of {@link spin} added to the key's sum
 * in `valueState`, and a timer at the next watermark; each key emits its sum once per watermark (one output per key
 * and round, not per record).
 */
export function keyedSum(iterations: number): Pipeline {
  return pipe(
    process<number, string, number, { sum: ReturnType<typeof valueState<number>> }>({
      name: 'keyed-sum',
      state: { sum: valueState<number>() },
      onElement(v, ctx) {
        ctx.state.sum.set(((ctx.state.sum.get() ?? 0) + spin(v, iterations)) | 0);
        ctx.timers.registerEventTime(ctx.currentWatermark + 1);
      },
      onTimer(_ts, ctx) {
        ctx.emit(ctx.state.sum.get() ?? 0);
      },
    }),
  );
}

/** A stateless identity `map`: what the cross-thread shuffle costs with no work at all. */
export const identity: Pipeline = pipe(map((v: number) => v));

/**
 * A `filter` that keeps no record (watermarks pass): the one-way shuffle — records routed into the threads and taken
 * there, nothing sent back but the watermarks that end a round.
 */
export const drop: Pipeline = pipe(filter((v: number) => v < 0));

const query = new URL(import.meta.url).searchParams;

/** The pipeline this module's URL names (default: the keyed pipeline without work). */
const work = Number(query.get('work') ?? 0);
const kind = query.get('kind');
const pipeline: Pipeline = kind === 'map' ? identity : kind === 'drop' ? drop : kind === 'sum' ? keyedSum(work) : keyedWork(work);

export default pipeline;
