/**
 * A stateful source: a keyed process function that, once started, emits `event-0` … `event-4`, one per timer,
 * registering a processing-time timer 1 000 ms ahead each time (docs/SEMANTICS.md §5). Its position (the number of
 * the next event) lives in keyed state, so a checkpoint would carry it. Time is the job's scheduler (its clock, never
 * `Date.now()`), so the example runs in real time from the command line and on a hand-driven clock in the test. The
 * events go to a printing sink; the job runs at parallelism 1 and, like a streaming source, until it is stopped
 * (stopping drains it: the end of input flows through, docs/SEMANTICS.md §2.6).
 *
 * Flink equivalent: a `KeyedProcessFunction` with a `ValueState<Integer>` counter that calls
 * `ctx.timerService().registerProcessingTimeTimer(now + 1000)`, `env.setParallelism(1)`, and `.print()`.
 *
 * Run: `npx tsx examples/statefulSource.ts` (about 4 seconds).
 */
import { argv } from 'node:process';
import { fileURLToPath } from 'node:url';
import { asyncScheduler, concat, NEVER, of, pipe, type SchedulerLike } from 'rxjs';
import { callbackSink, fromObservable, runJob, valueState } from '../src/index.js';
import { keyBy, process, type ProcessContext } from '../operators/index.js';

const EVENTS = 5;
const EVERY_MS = 1_000;

/** One emitted event, with its time since the start and the timer registered after it (if any). */
interface Emitted {
  readonly event: string;
  readonly afterMs: number;
  readonly nextTimerMs: number | undefined;
}

const state = { next: valueState<number>(), startedAt: valueState<number>() };

/** The source: on the start signal, emit event-0 and register a timer; on each timer, the next event. */
const statefulSource = pipe(
  keyBy((_start: string) => 'source'),
  process<string, string, Emitted, typeof state>({
    name: 'stateful-source',
    state,
    onElement(_start, ctx) {
      ctx.state.startedAt.set(ctx.currentProcessingTime);
      ctx.state.next.set(0);
      emitNext(ctx.currentProcessingTime, ctx);
    },
    onTimer(timestamp, ctx) {
      emitNext(timestamp, ctx);
    },
  }),
);

/** Emits the next event at `now` and, unless it was the last, registers the timer for the one after. */
function emitNext(now: number, ctx: ProcessContext<string, typeof state, Emitted>): void {
  const n = ctx.state.next.get() ?? 0;
  const startedAt = ctx.state.startedAt.get() ?? now;
  const more = n + 1 < EVENTS;
  if (more) ctx.timers.registerProcessingTime(now + EVERY_MS);
  ctx.state.next.set(n + 1);
  ctx.emit({ event: `event-${n}`, afterMs: now - startedAt, nextTimerMs: more ? now + EVERY_MS - startedAt : undefined }, now);
}

/**
 * Runs the job on `scheduler` (default: real time) until the fifth event reached the sink, then stops it. Returns the
 * printed lines.
 *
 * @example
 * ```ts
 * await main(); // ['+0 ms     event-0   timer registered for +1000 ms', …, '+4000 ms  event-4   no more timers', 'stopped after 5 events']
 * ```
 */
export async function main(print: (line: string) => void = console.log, scheduler: SchedulerLike = asyncScheduler): Promise<string[]> {
  const lines: string[] = [];
  const say = (line: string): void => {
    lines.push(line);
    print(line);
  };
  let allOut: () => void = () => {};
  const fifth = new Promise<void>((resolve) => (allOut = resolve));
  let seen = 0;
  const job = runJob({
    name: 'stateful-source',
    // one start signal, then the input stays open: the job runs until stopped
    source: fromObservable(concat(of('start'), NEVER)),
    pipeline: statefulSource,
    sink: callbackSink<Emitted>({
      write({ event, afterMs, nextTimerMs }) {
        const timer = nextTimerMs === undefined ? 'no more timers' : `timer registered for +${nextTimerMs} ms`;
        say(`${`+${afterMs} ms`.padEnd(9)} ${event.padEnd(9)} ${timer}`);
        if (++seen === EVENTS) allOut();
      },
    }),
    parallelism: 1,
    scheduler,
  });
  await Promise.race([fifth, job.done]);
  await job.stop({ drain: true });
  const summary = await job.done;
  say(`stopped after ${summary.recordsOut} events`);
  return lines;
}

if (argv[1] === fileURLToPath(import.meta.url)) await main();
