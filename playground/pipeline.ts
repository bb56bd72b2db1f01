/**
 * The playground's data and pipeline, shared by the browser page (`main.ts`) and its end-to-end test, which runs the
 * same pipeline in Node to know exactly which records the page must render.
 *
 * Nothing here touches the DOM or `Math.random`: the clickstream comes from a seeded PRNG, so every run generates the
 * same events, and the pipeline's records (values, timestamps, keys) are the same in Node and in the browser. Only
 * watermarks and idleness depend on (wall-clock) scheduler time.
 */
import { asyncScheduler, concatMap, from, map as rxMap, timer, type Observable, type SchedulerLike } from 'rxjs';
import { boundedOutOfOrderness, type Stream } from '../src/index.js';
import { eventTime, filter, keyBy, map } from '../operators/index.js';
import { prng } from '../demo/clicks.js';

/** One generated click: who, where, when (event time, ms) and how long after the previous click it is emitted. */
export interface Click {
  /** Sequence number in generation (= arrival) order, from 1. */
  readonly id: number;
  readonly user: string;
  readonly page: string;
  /** Event timestamp in ms since the epoch; slightly out of order, with a few stragglers. */
  readonly at: number;
  /** Processing-time delay before this click is emitted, in ms after the previous one. */
  readonly delay: number;
}

/** What the pipeline's `map` makes of a click: the timestamp and key travel on the record, not in the value. */
export interface PageView {
  readonly id: number;
  readonly page: string;
}

/** Options for {@link generateClicks}. */
export interface ClickOptions {
  /** PRNG seed (default 7). */
  readonly seed?: number;
  /** Number of clicks (default 60). */
  readonly count?: number;
  /** Delay between clicks in ms (default 20). */
  readonly tickMs?: number;
  /** Insert a pause of this many ms before the click at index `count / 2`, so idleness shows (default 800; 0 = none). */
  readonly pauseMs?: number;
}

/** The users that click, in a fixed order (the page colours keys by this index). */
export const USERS: readonly string[] = ['ann', 'bob', 'cho', 'dev'];

/** The pages they visit; `/health` is a monitoring ping the pipeline filters out. */
export const PAGES: readonly string[] = ['/', '/docs', '/pricing', '/cart', '/checkout', '/health'];

/** Event time of the first click: 2024-05-01T12:00:00Z. */
export const START_TIME = Date.UTC(2024, 4, 1, 12, 0, 0);

/** The watermark strategy's parameters, shown on the page. */
export const STRATEGY = { boundMs: 300, intervalMs: 100, idleTimeoutMs: 250 } as const;

/**
 * Generates a deterministic clickstream: event time advances 50–250 ms per click, most clicks are jittered by up to
 * ±250 ms (inside the 300 ms out-of-orderness bound) and about one in twelve is a straggler 1.2–1.6 s late.
 *
 * @example
 * ```ts
 * const clicks = generateClicks();             // 60 clicks, seed 7
 * const few = generateClicks({ count: 5, seed: 1, pauseMs: 0 });
 * few.map((c) => c.id); // [1, 2, 3, 4, 5], the same users, pages and timestamps on every run
 * ```
 */
export function generateClicks(options: ClickOptions = {}): Click[] {
  const { seed = 7, count = 60, tickMs = 20, pauseMs = 800 } = options;
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const clicks: Click[] = [];
  let clock = START_TIME;
  for (let i = 0; i < count; i++) {
    clock += 50 + Math.floor(rand() * 200);
    const straggler = rand() < 1 / 12;
    const skew = straggler ? -(1200 + Math.floor(rand() * 400)) : Math.floor(rand() * 501) - 250;
    clicks.push({
      id: i + 1,
      user: pick(USERS),
      page: pick(PAGES),
      at: clock + skew,
      delay: tickMs + (pauseMs > 0 && i === Math.floor(count / 2) ? pauseMs : 0),
    });
  }
  return clicks;
}

/**
 * True for the clicks the pipeline keeps: everything but `/health` pings.
 *
 * @example
 * ```ts
 * generateClicks().filter(isPageView).length; // how many records the page renders
 * ```
 */
export function isPageView(click: Click): boolean {
  return click.page !== '/health';
}

/**
 * Emits the clicks in order, each `click.delay` ms of `scheduler` time after the previous one, then completes.
 *
 * @example
 * ```ts
 * clickSource(generateClicks()).subscribe((c) => console.log(c.id)); // 1, 2, … every 20 ms
 * ```
 */
export function clickSource(clicks: readonly Click[], scheduler: SchedulerLike = asyncScheduler): Observable<Click> {
  return from(clicks).pipe(concatMap((click) => timer(click.delay, scheduler).pipe(rxMap(() => click))));
}

/**
 * The playground pipeline: event time from `click.at` with bounded out-of-orderness (300 ms, periodic every 100 ms,
 * idle after 250 ms without clicks), keyed by user, `/health` pings dropped, values mapped to {@link PageView}.
 *
 * @example
 * ```ts
 * import { from, toArray } from 'rxjs';
 * import { values } from '../operators/index.js';
 *
 * clickPipeline(clickSource(generateClicks())).subscribe((e) => console.log(e)); // timed, as in the browser
 * clickPipeline(from(generateClicks())).pipe(values(), toArray());              // all at once
 * ```
 */
export function clickPipeline(clicks$: Observable<Click>, scheduler?: SchedulerLike): Stream<PageView, string> {
  const strategy = boundedOutOfOrderness(STRATEGY.boundMs, {
    interval: STRATEGY.intervalMs,
    idleTimeout: STRATEGY.idleTimeoutMs,
    ...(scheduler === undefined ? {} : { scheduler }),
  });
  return clicks$.pipe(
    eventTime((c: Click) => c.at, strategy),
    keyBy((c) => c.user),
    filter((c) => isPageView(c)),
    map((c): PageView => ({ id: c.id, page: c.page })),
  );
}
