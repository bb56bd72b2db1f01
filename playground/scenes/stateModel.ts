/**
 * The "keyed state and timers" scene's model, without the DOM (the page draws it; its end-to-end test runs it in
 * Node too): the scenes' clicks, keyed by user, through a `process` function that counts each user's clicks in keyed
 * state and keeps an event-time timer `timeout` ms after their latest click (moving it on each click); when the
 * watermark passes it, the timer fires, the user's count is emitted and their state cleared — a session by hand.
 * The harness's view of the keyed state and timers is read after every step.
 */
import { pipe } from 'rxjs';
import { boundedOutOfOrderness, valueState, type StreamElement } from '../../src/index.js';
import { eventTime, keyBy, process as processFn } from '../../operators/index.js';
import { harness } from '../../testing/index.js';
import { ClickRun, numbersFromQuery, settingsToQuery, USERS, type Click } from './eventTimeModel.js';

export interface StateParams {
  /** The timer's distance after a user's latest click, ms. */
  readonly timeout: number;
  readonly bound: number;
  readonly disorder: number;
  readonly speed: number;
  readonly seed: number;
}

export const STATE_DEFAULTS: StateParams = { timeout: 1_500, bound: 300, disorder: 600, speed: 1, seed: 7 };
export const STATE_LIMITS = { timeout: [250, 5_000, 250], bound: [0, 1_500, 50], disorder: [0, 2_000, 50], speed: [0.25, 32, 0.25], seed: [1, 999, 1] } as const;
export const stateParamsFromQuery = (query: string): StateParams => numbersFromQuery(query, STATE_DEFAULTS, STATE_LIMITS);
export const stateParamsToQuery = (p: StateParams): string => settingsToQuery(p);

/** One user's row: what the operator holds for them now. */
export interface StateRow {
  readonly user: string;
  readonly count: number | undefined;
  readonly deadline: number | undefined;
  /** Pending event-time timers. */
  readonly timers: readonly number[];
}

/** A session the timer closed: whose, how many clicks, the timer's time, when (processing time) it fired. */
export interface Closed {
  readonly user: string;
  readonly count: number;
  readonly timer: number;
  readonly at: number;
}

export interface StateFrame {
  readonly now: number;
  readonly watermark: number;
  readonly rows: readonly StateRow[];
  readonly closed: readonly Closed[];
  readonly done: boolean;
}

const state = { count: valueState<number>(), deadline: valueState<number>() };

/** The scene's pipeline: sessions by hand with keyed state and an event-time timer. */
export function sessionsByHand(p: Pick<StateParams, 'timeout' | 'bound'>) {
  return pipe(
    eventTime((c: Click) => c.at, boundedOutOfOrderness(p.bound, { interval: 0 })),
    keyBy((c: Click) => c.user),
    processFn<Click, string, { user: string; count: number }, typeof state>({
      name: 'sessions',
      state,
      onElement(_click, ctx) {
        ctx.state.count.set((ctx.state.count.get() ?? 0) + 1);
        const old = ctx.state.deadline.get();
        if (old !== undefined) ctx.timers.deleteEventTime(old);
        ctx.state.deadline.set(ctx.timestamp + p.timeout);
        ctx.timers.registerEventTime(ctx.timestamp + p.timeout);
      },
      onTimer(_ts, ctx) {
        ctx.emit({ user: ctx.key, count: ctx.state.count.get() ?? 0 });
        ctx.state.count.clear();
        ctx.state.deadline.clear();
      },
    }),
  );
}

export class StateRun extends ClickRun<StateFrame> {
  private watermark = -Infinity;
  private readonly closed: Closed[] = [];

  constructor(readonly params: StateParams) {
    super(params, harness(sessionsByHand(params) as never));
  }

  protected collect(output: readonly StreamElement<unknown, unknown>[], at: number): void {
    for (const e of output) {
      if (e.kind === 'watermark') this.watermark = e.timestamp;
      else if (e.kind === 'record') {
        const v = e.value as { user: string; count: number };
        this.closed.push({ user: v.user, count: v.count, timer: e.timestamp, at });
      }
    }
  }

  frame(): StateFrame {
    const h = this.h as unknown as { state(k: string, n: string): unknown; timers(k: string): [string, number, unknown][] };
    const rows = USERS.map((user) => ({
      user,
      count: h.state(user, 'count') as number | undefined,
      deadline: h.state(user, 'deadline') as number | undefined,
      timers: h.timers(user).map(([, ts]) => ts),
    }));
    return { now: this.now, watermark: this.watermark, rows, closed: this.closed, done: this.done };
  }
}
