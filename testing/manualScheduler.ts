import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { ConfigurationError, describeValue } from '../src/errors/index.js';

/**
 * A scheduler whose clock only moves when told: `advanceTo(t)` runs every action due at or before `t`, in due-time
 * order (ties: scheduling order), with `now()` set to each action's due time while it runs.
 * The test harness runs operators on one; use it anywhere a hand-driven clock is handy.
 *
 * @example
 * ```ts
 * const clock = new ManualScheduler(0);
 * clock.schedule(() => console.log('tick', clock.now()), 100);
 * clock.advanceTo(150); // logs "tick 100"; clock.now() === 150
 * ```
 */
export class ManualScheduler implements SchedulerLike {
  private time: number;
  private seq = 0;
  private queue: ManualAction<unknown>[] = [];

  constructor(start = 0) {
    if (!Number.isFinite(start)) throw new ConfigurationError('ManualScheduler', start, `ManualScheduler: the start time ${describeValue(start)} must be a finite number of ms.`);
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    const action = new ManualAction<T>(this, work);
    action.schedule(state, delay);
    return action;
  }

  /**
   * Runs every action due at or before `time` (including ones they schedule), then sets the clock to `time`: a finite
   * number of ms, not before the clock's time (a NaN clock would run every due action at time NaN; an infinite one
   * would never stop running a periodic action).
   */
  advanceTo(time: number): void {
    if (!Number.isFinite(time)) {
      throw new ConfigurationError('ManualScheduler', time, `ManualScheduler: cannot move the clock to ${describeValue(time)}: give a finite number of ms, at or after its time ${this.time}.`);
    }
    if (time < this.time) throw new Error(`ManualScheduler: cannot move the clock back from ${this.time} to ${time}`);
    for (;;) {
      let best: ManualAction<unknown> | undefined;
      for (const a of this.queue) if (a.due <= time && (best === undefined || a.due < best.due || (a.due === best.due && a.seq < best.seq))) best = a;
      if (best === undefined) break;
      this.remove(best);
      if (best.due > this.time) this.time = best.due;
      best.run();
    }
    this.time = time;
  }

  /** Advances the clock by `ms` (a finite number, ≥ 0). */
  advanceBy(ms: number): void {
    if (!Number.isFinite(ms)) throw new ConfigurationError('ManualScheduler', ms, `ManualScheduler: cannot advance the clock by ${describeValue(ms)}: give a finite number of ms, ≥ 0.`);
    this.advanceTo(this.time + ms);
  }

  /** Number of pending actions. */
  get pending(): number {
    return this.queue.length;
  }

  /** @internal */
  enqueue(a: ManualAction<unknown>): void {
    a.seq = this.seq++;
    if (!this.queue.includes(a)) this.queue.push(a);
  }

  /** @internal */
  remove(a: ManualAction<unknown>): void {
    const i = this.queue.indexOf(a);
    if (i >= 0) this.queue.splice(i, 1);
  }
}

class ManualAction<T> extends Subscription implements SchedulerAction<T> {
  due = 0;
  seq = 0;
  private state: T | undefined;
  constructor(
    private readonly scheduler: ManualScheduler,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super(() => scheduler.remove(this as ManualAction<unknown>));
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.due = this.scheduler.now() + delay;
    this.scheduler.enqueue(this as ManualAction<unknown>);
    return this;
  }

  run(): void {
    if (!this.closed) this.work.call(this, this.state);
  }
}
