import { InvalidTimestampError } from '../errors/index.js';

/**
 * The largest timestamp tidewater accepts: 8.64e15 ms after the epoch (year 275760), the end of the range of
 * `Date`. Inside ±MAX_TIMESTAMP every timestamp with whole milliseconds is exact, and so is window arithmetic on it
 * (window starts, ends, `end - 1`, panes): window sizes, slides and gaps are at most {@link MAX_WINDOW_SIZE}, so
 * every window end stays below 2^53 (docs/SEMANTICS.md §2.8). A finite timestamp beyond it — typically nanoseconds or
 * microseconds taken for milliseconds — is rejected with `InvalidTimestampError` where it enters (`eventTime`,
 * `ingestionTime`, `record`, a window assigner, `ctx.emit`, timers). `MAX_WATERMARK` (Infinity) is no timestamp of
 * this range: it stays the end of event time.
 *
 * @example
 * ```ts
 * eventTime((e: { ns: number }) => Math.floor(e.ns / 1e6)); // nanoseconds → ms, inside ±MAX_TIMESTAMP
 * MAX_TIMESTAMP === new Date(8.64e15).getTime();             // true
 * ```
 */
export const MAX_TIMESTAMP = 8.64e15;

/**
 * The smallest timestamp tidewater accepts: -8.64e15 ms (the start of the range of `Date`). See {@link MAX_TIMESTAMP}.
 *
 * @example
 * ```ts
 * record('first', MIN_TIMESTAMP); // accepted
 * ```
 */
export const MIN_TIMESTAMP = -8.64e15;

/**
 * The largest window size, slide, session gap or trigger interval: 1e14 ms (about 3 170 years). With timestamps inside
 * ±{@link MAX_TIMESTAMP}, window ends then stay below 2^53, where whole milliseconds are exact. Sizes, slides, gaps,
 * offsets and intervals are whole milliseconds too (docs/SEMANTICS.md §2.8).
 *
 * @example
 * ```ts
 * tumblingWindows(MAX_WINDOW_SIZE); // accepted; tumblingWindows(2e14) and tumblingWindows(0.5) throw ConfigurationError
 * ```
 */
export const MAX_WINDOW_SIZE = 1e14;

/**
 * Why `v` is no duration of a window or trigger — a size, slide, session gap or trigger interval, which must be a whole
 * number of milliseconds from 1 to {@link MAX_WINDOW_SIZE} (docs/SEMANTICS.md §2.8) — or `undefined` when it is one.
 * The reason reads after "<name> <value>": the range, or the whole number to use instead (near the ends of the range
 * of timestamps one millisecond is the smallest step of a double, so a fraction of one rounds away: a window loop that
 * does not advance, an empty window). `noun` names what the value is ("window sizes, slides and gaps"), `beyond` says
 * what goes wrong above MAX_WINDOW_SIZE and what to do.
 *
 * @example
 * ```ts
 * durationProblem(0.5, 'window sizes', '…'); // 'is not a whole number of milliseconds: … use 1 instead of 0.5.'
 * durationProblem(1_000, 'window sizes', '…'); // undefined
 * ```
 * @internal
 */
export function durationProblem(v: unknown, noun: string, beyond: string): string | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return 'must be a finite number of ms > 0.';
  if (v > MAX_WINDOW_SIZE) return `is above MAX_WINDOW_SIZE (${MAX_WINDOW_SIZE} ms, about 3 170 years), ${beyond}`;
  return Number.isSafeInteger(v) ? undefined : notWholeMs(v, noun, Math.max(1, Math.round(v)));
}

/**
 * The reason a duration or offset with a fraction of a millisecond is refused (see {@link durationProblem}), naming
 * `instead`, the whole number to use.
 *
 * @example
 * ```ts
 * notWholeMs(0.5, 'window offsets', 0); // 'is not a whole number of milliseconds: window offsets are … use 0 instead of 0.5.'
 * ```
 * @internal
 */
export function notWholeMs(v: number, noun: string, instead: number): string {
  return (
    `is not a whole number of milliseconds: ${noun} are whole milliseconds, as timestamps are (near the ends of their range ` +
    `a fraction of a millisecond rounds away): use ${String(instead)} instead of ${String(v)}.`
  );
}

/**
 * The longest delay a host timer takes (`setTimeout`, and so RxJS's `asyncScheduler`): 2³¹ − 1 ms, ≈ 24.8 days. A
 * longer one fires at once (Node warns), so a wake-up further away is asked for in steps of at most this: it comes
 * early, finds nothing due and asks again.
 *
 * @example
 * ```ts
 * scheduler.schedule(wake, Math.min(at - scheduler.now(), MAX_SCHEDULE_DELAY));
 * ```
 *
 * @internal
 */
export const MAX_SCHEDULE_DELAY = 2_147_483_647;

/**
 * The bound of timestamps inside operators (window assigners, `ctx.emit`, timers): {@link MAX_TIMESTAMP} plus room for
 * what operators derive from it — a window result is stamped `end - 1`, one window size past its element — such
 * that windows of such timestamps (sizes up to {@link MAX_WINDOW_SIZE}) still end below 2^53. Equal to
 * `Number.MAX_SAFE_INTEGER - MAX_WINDOW_SIZE`.
 *
 * @example
 * ```ts
 * isTimestamp(MAX_TIMESTAMP + 86_399_999, MAX_OPERATOR_TIMESTAMP); // true: the result of the last day's window
 * ```
 * @internal
 */
export const MAX_OPERATOR_TIMESTAMP = Number.MAX_SAFE_INTEGER - MAX_WINDOW_SIZE;

/**
 * Whether `ts` is a timestamp tidewater computes exactly with: a number within ±`bound` (default
 * {@link MAX_TIMESTAMP}).
 *
 * @example
 * ```ts
 * isTimestamp(1_700_000_000_000);         // true (ms)
 * isTimestamp(1_700_000_000_000_000_000); // false (ns)
 * isTimestamp(NaN);                       // false
 * ```
 */
export function isTimestamp(ts: unknown, bound: number = MAX_TIMESTAMP): ts is number {
  return typeof ts === 'number' && ts >= -bound && ts <= bound;
}

/** What a finite timestamp beyond the range probably is, and how to turn it into milliseconds. */
function unitHint(ts: number): string {
  const a = Math.abs(ts);
  if (a >= 1e17 && a <= MAX_TIMESTAMP * 1e6) return 'Nanoseconds? Divide by 1e6 (a nanosecond epoch of today is about 1.7e18). ';
  if (a < 1e17) return 'Microseconds? Divide by 1e3 (nanoseconds: by 1e6). ';
  return '';
}

/**
 * Checks a timestamp where it enters tidewater: a number within ±`bound` ({@link MAX_TIMESTAMP} where values enter a
 * stream; {@link MAX_OPERATOR_TIMESTAMP} in operators), and ±Infinity (`MAX_WATERMARK`/`MIN_WATERMARK`) when
 * `infinite` allows them. Throws {@link InvalidTimestampError} naming the operator, the value and the remedy:
 * `remedy` for a value that is not a finite number, the range and a unit hint (nanoseconds? microseconds?) for one
 * beyond it.
 *
 * @example
 * ```ts
 * checkTimestamp('eventTime', 1.7e18, { ns: 1.7e18 }, 'Return a finite number of ms.');
 * // throws: "eventTime: timestamp 1700000000000000000 of {"ns":1700000000000000000} is outside the range of
 * // timestamps (±8.64e15 ms, the range of Date). Nanoseconds? Divide by 1e6 …"
 * ```
 * @internal
 */
export function checkTimestamp(operator: string, ts: unknown, element: unknown, remedy: string, infinite = false, bound = MAX_TIMESTAMP, origin?: string): number {
  if (isTimestamp(ts, bound)) return ts;
  if (typeof ts !== 'number' || Number.isNaN(ts) || (!Number.isFinite(ts) && !infinite)) {
    throw new InvalidTimestampError(operator, ts, element, remedy, undefined, origin);
  }
  if (!Number.isFinite(ts)) return ts;
  const within = bound === MAX_TIMESTAMP ? `±${MAX_TIMESTAMP} (${MIN_TIMESTAMP} … ${MAX_TIMESTAMP})` : `±${bound} (±MAX_TIMESTAMP and room for window ends)`;
  throw new InvalidTimestampError(
    operator,
    ts,
    element,
    `${unitHint(ts)}Timestamps are milliseconds since the epoch within ${within}; convert or drop such values before they enter the stream.`,
    bound === MAX_TIMESTAMP ? 'is outside the range of timestamps (±8.64e15 ms, the range of Date)' : 'is outside the range in which tidewater computes exactly',
    origin,
  );
}
