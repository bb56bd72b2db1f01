import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/**
 * A processing-time clock for replays (bench/nexmark/README.md, "Checks"): the source moves it to each event's own
 * time as it reads the event, so processing time passes as it did when the events were recorded, and a check can
 * know which processing-time window every event fell in.
 *
 * Actions scheduled with a delay (timers: periodic watermarks, processing-time windows) are due at `now() + delay`
 * and run, in due order (ties: scheduling order), when `advanceTo(t)` moves the clock past them (`due < t`: an event
 * at exactly a window's last millisecond still joins it). Actions without a delay (the job's run loop) are not timers:
 * they run on the event loop, at the current time, as `asyncScheduler` would run them.
 *
 * @example
 * ```ts
 * const clock = new ReplayClock(start);
 * runJob({ ..., scheduler: clock, source: fromIterable(() => replay(events, clock)) });
 * ```
 */
export class ReplayClock implements SchedulerLike {
  private time: number;
  private seq = 0;
  private readonly timers: ReplayAction<unknown>[] = [];

  constructor(start: number) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    const action = new ReplayAction<T>(this, work);
    action.schedule(state, delay);
    return action;
  }

  /** Runs every timer due before `t`, then sets the clock to `t` (never back). */
  advanceTo(t: number): void {
    for (;;) {
      let next: ReplayAction<unknown> | undefined;
      for (const a of this.timers) if (a.due < t && (next === undefined || a.due < next.due || (a.due === next.due && a.seq < next.seq))) next = a;
      if (next === undefined) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      if (next.due > this.time) this.time = next.due;
      next.run();
    }
    if (t > this.time) this.time = t;
  }

  /** @internal */
  enqueue(a: ReplayAction<unknown>, delay: number): void {
    if (delay > 0) {
      a.due = this.time + delay;
      a.seq = this.seq++;
      this.timers.push(a);
    } else {
      a.immediate = setImmediate(() => {
        a.immediate = undefined;
        a.run();
      });
    }
  }

  /** @internal */
  remove(a: ReplayAction<unknown>): void {
    const i = this.timers.indexOf(a);
    if (i >= 0) this.timers.splice(i, 1);
    if (a.immediate !== undefined) clearImmediate(a.immediate);
    a.immediate = undefined;
  }
}

class ReplayAction<T> extends Subscription implements SchedulerAction<T> {
  due = 0;
  seq = 0;
  immediate: ReturnType<typeof setImmediate> | undefined;
  private state: T | undefined;

  constructor(
    private readonly clock: ReplayClock,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super(() => clock.remove(this as ReplayAction<unknown>));
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.clock.remove(this as ReplayAction<unknown>);
    this.state = state;
    this.clock.enqueue(this as ReplayAction<unknown>, delay);
    return this;
  }

  run(): void {
    if (!this.closed) this.work.call(this, this.state);
  }
}

/** The events, moving `clock` to each one's `time` just before it is read, and past the last by `tail` ms at the end. */
export function* replay<E>(events: readonly E[], timeOf: (e: E) => number, clock: ReplayClock, tail: number): Generator<E> {
  let last = clock.now();
  for (const e of events) {
    last = timeOf(e);
    clock.advanceTo(last);
    yield e;
  }
  clock.advanceTo(last + tail);
}
