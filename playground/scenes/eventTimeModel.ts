/**
 * The "event time vs processing time" scene's model, without the DOM (the page draws it; its end-to-end test runs it
 * in Node to know what the page must show). A seeded clickstream where each click happens at its event time and
 * arrives later by a network delay of up to `disorder` ms, with a quiet spell in the middle (the source sends nothing
 * for a while); the real `eventTime` operator with `boundedOutOfOrderness(bound, { interval, idleTimeout })` runs in
 * a `harness` whose processing time the scene moves (play, pause, step, speed). Everything it emits is noted with the
 * processing time it came out at, so the page can plot records and the watermark against both times.
 */
import { boundedOutOfOrderness, MIN_WATERMARK, type StreamElement } from '../../src/index.js';
import { eventTime } from '../../operators/index.js';
import { harness, type Harness } from '../../testing/index.js';
import { prng } from '../../demo/clicks.js';

/** The scene's settings (kept in the page's URL). */
export interface EventTimeParams {
  /** The watermark strategy's bound of out-of-orderness, ms. */
  readonly bound: number;
  /** Periodic watermark interval, ms (0: a watermark after every record that advances it). */
  readonly interval: number;
  /** Idle timeout, ms (0: none). */
  readonly idle: number;
  /** The data's largest network delay, ms. */
  readonly disorder: number;
  /** Playback speed (× real time). */
  readonly speed: number;
  readonly seed: number;
}

export const DEFAULTS: EventTimeParams = { bound: 300, interval: 200, idle: 0, disorder: 600, speed: 1, seed: 7 };

/** Bounds of each setting, for the controls and for parsing a URL. */
export const LIMITS: { readonly [K in keyof EventTimeParams]: readonly [min: number, max: number, step: number] } = {
  bound: [0, 2000, 50],
  interval: [0, 1000, 50],
  idle: [0, 3000, 250],
  disorder: [0, 2000, 50],
  speed: [0.25, 32, 0.25],
  seed: [1, 999, 1],
};

/**
 * A scene's numeric settings read from a URL's query, over `defaults`: a setting missing or outside its `limits` keeps
 * its default (the scenes' settings live in their URLs, to be shared).
 */
export function numbersFromQuery<P extends object>(query: string, defaults: P, limits: Readonly<Record<string, readonly [number, number, number]>>): P {
  const q = new URLSearchParams(query);
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, [min, max]] of Object.entries(limits)) {
    const v = Number(q.get(k));
    if (q.has(k) && Number.isFinite(v) && v >= min && v <= max) out[k] = v;
  }
  return out as P;
}

/** A scene's settings as a URL query. */
export function settingsToQuery(p: object): string {
  return new URLSearchParams(Object.entries(p).map(([k, v]) => [k, String(v)])).toString();
}

/** Why the settings' watermark strategy cannot be made (the library's own error message), or undefined. */
export function strategyProblem(p: Pick<EventTimeParams, 'bound' | 'interval' | 'idle'>): string | undefined {
  try {
    boundedOutOfOrderness(p.bound, { interval: p.interval, ...(p.idle > 0 ? { idleTimeout: p.idle } : {}) });
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** The event-time scene's settings in a URL's query (an idle timeout the interval cannot serve is dropped). */
export const paramsFromQuery = (query: string): EventTimeParams => {
  const p = numbersFromQuery(query, DEFAULTS, LIMITS);
  return strategyProblem(p) === undefined ? p : { ...p, idle: 0 };
};
export const paramsToQuery = (p: EventTimeParams): string => settingsToQuery(p);

export interface Click {
  readonly id: number;
  readonly user: string;
  /** Event time, ms from the scene's start. */
  readonly at: number;
  /** Processing time it arrives at, ms from the scene's start. */
  readonly arrival: number;
}

/** The users of the scenes' clicks, in their colour order (`u0`… / `k0`… classes in the pages). */
export const USERS = ['ann', 'bob', 'cyd', 'dee'];
/** Clicks happen every 150 ms of event time for 12 s, except during the quiet spell (5 s – 7.5 s). */
const SPAN = 12_000;
const QUIET: readonly [number, number] = [5_000, 7_500];

/** The clicks, in arrival order. */
export function clicksOf(p: Pick<EventTimeParams, 'disorder' | 'seed'>): Click[] {
  const rnd = prng(p.seed);
  const made: Click[] = [];
  for (let at = 0, id = 1; at < SPAN; at += 150) {
    const user = USERS[Math.floor(rnd() * USERS.length)] as string;
    const jitter = Math.floor(rnd() * 100);
    const delay = Math.floor(rnd() * rnd() * p.disorder); // (mostly short, now and then long)
    const t = at + jitter;
    if (t >= QUIET[0] && t < QUIET[1]) continue;
    made.push({ id: id++, user, at: t, arrival: t + delay });
  }
  return made.sort((a, b) => a.arrival - b.arrival || a.id - b.id);
}

/** A record as it came out: its click, the processing time, and whether it was behind the watermark then. */
export interface SeenRecord {
  readonly click: Click;
  readonly at: number;
  readonly late: boolean;
}

/** What came out up to the scene's processing time. */
export interface Frame {
  readonly now: number;
  readonly records: readonly SeenRecord[];
  /** Watermarks as `[processing time, watermark]` (`MAX_WATERMARK` at the end). */
  readonly watermarks: readonly (readonly [number, number])[];
  /** Idleness changes as `[processing time, idle]`. */
  readonly statuses: readonly (readonly [number, boolean])[];
  readonly done: boolean;
}

/**
 * A scene's run (what the scenes share): the clicks fed, in arrival order, to a pipeline in a `harness` as processing
 * time moves. `advanceTo(t)` delivers every click that arrived by `t` — each at its arrival time, so periodic
 * watermarks and timers due before it fire first — and, at the end, the end of the stream; what comes out is handed to
 * `collect` with the processing time it came out at. Subclasses say what they keep and show (`frame`).
 */
export abstract class ClickRun<F> {
  readonly clicks: readonly Click[];
  /** Processing time of the last arrival, plus a little: where the run ends. */
  readonly endsAt: number;
  protected now = 0;
  protected done = false;
  private next = 0;

  constructor(
    params: Pick<EventTimeParams, 'disorder' | 'seed'>,
    protected readonly h: Harness<Click, undefined, unknown>,
  ) {
    this.clicks = clicksOf(params);
    this.endsAt = (this.clicks.at(-1)?.arrival ?? 0) + 1_000;
  }

  /** What the pipeline emitted since the last call, at processing time `at`. */
  protected abstract collect(output: readonly StreamElement<unknown, unknown>[], at: number): void;
  /** A click was pushed (after what it caused was collected). */
  protected arrived(_click: Click): void {}
  abstract frame(): F;

  private take(at: number): void {
    this.collect(this.h.takeOutput() as StreamElement<unknown, unknown>[], at);
  }

  /** Moves processing time to `t` (never back). */
  advanceTo(t: number): F {
    const target = Math.min(Math.max(t, this.now), this.endsAt);
    while (this.next < this.clicks.length && (this.clicks[this.next] as Click).arrival <= target) {
      const c = this.clicks[this.next++] as Click;
      this.h.setProcessingTime(c.arrival);
      this.take(c.arrival);
      this.h.push({ kind: 'record', value: c, timestamp: c.arrival, key: undefined });
      this.take(c.arrival);
      this.arrived(c);
    }
    this.h.setProcessingTime(target);
    this.take(target);
    this.now = target;
    if (target >= this.endsAt && !this.done) {
      this.done = true;
      this.h.complete();
      this.take(target);
    }
    return this.frame();
  }

  /** The processing time of the next arrival (for "step"), or the end. */
  nextArrival(): number {
    return this.clicks[this.next]?.arrival ?? this.endsAt;
  }
}

/** The event-time scene's run: the clicks through `eventTime` alone. */
export class EventTimeRun extends ClickRun<Frame> {
  private watermark = MIN_WATERMARK;
  private readonly records: SeenRecord[] = [];
  private readonly watermarks: [number, number][] = [];
  private readonly statuses: [number, boolean][] = [];

  constructor(readonly params: EventTimeParams) {
    const strategy = boundedOutOfOrderness(params.bound, { interval: params.interval, ...(params.idle > 0 ? { idleTimeout: params.idle } : {}) });
    super(params, harness(eventTime((c: Click) => c.at, strategy) as never));
  }

  protected collect(output: readonly StreamElement<unknown, unknown>[], at: number): void {
    for (const e of output) {
      if (e.kind === 'record') this.records.push({ click: e.value as Click, at, late: e.timestamp <= this.watermark });
      else if (e.kind === 'watermark') {
        this.watermark = e.timestamp;
        this.watermarks.push([at, e.timestamp]);
      } else if (e.kind === 'status') this.statuses.push([at, e.idle]);
    }
  }

  frame(): Frame {
    return { now: this.now, records: this.records, watermarks: this.watermarks, statuses: this.statuses, done: this.done };
  }
}


/**
 * The watermark strategy as a user types it in the event-time scene — `boundedOutOfOrderness(bound, { interval,
 * idleTimeout })` or `monotonousTimestamps({ interval, idleTimeout })` (bound 0), numbers in ms — read into the
 * scene's settings (parsed, never evaluated: the text comes from a URL anyone can share). Anything else: why not.
 */
export function parseStrategy(text: string, current: EventTimeParams): EventTimeParams | { readonly error: string } {
  const m = /^\s*(boundedOutOfOrderness|monotonousTimestamps)\s*\(\s*([^,{}()]*?)\s*(?:,?\s*\{([^{}]*)\})?\s*\)\s*;?\s*$/.exec(text);
  if (m === null) return { error: 'Write boundedOutOfOrderness(ms, { interval: ms, idleTimeout: ms }) or monotonousTimestamps({ interval: ms }).' };
  const [, fn, first = '', options = ''] = m;
  const number = (what: string, v: string, limits: readonly [number, number, number]): number | string => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) return `${what} must be a number of ms, not '${v}'.`;
    if (n < limits[0] || n > limits[1]) return `${what} ${n} is outside ${limits[0]}–${limits[1]} ms here.`;
    return n;
  };
  let bound: number | string = 0;
  if (fn === 'boundedOutOfOrderness') bound = number('The bound', first, LIMITS.bound);
  else if (first !== '') return { error: 'monotonousTimestamps takes only the options: monotonousTimestamps({ interval: ms }).' };
  if (typeof bound === 'string') return { error: bound };
  let interval: number | string = DEFAULTS.interval;
  let idle: number | string = 0;
  for (const part of options.split(',').filter((p) => p.trim() !== '')) {
    const kv = /^\s*(\w+)\s*:\s*(.*?)\s*$/.exec(part);
    if (kv?.[1] === 'interval') interval = number('The interval', kv[2] ?? '', LIMITS.interval);
    else if (kv?.[1] === 'idleTimeout') idle = number('The idleTimeout', kv[2] ?? '', LIMITS.idle);
    else return { error: `Unknown option '${part.trim()}': the options are interval and idleTimeout.` };
    if (typeof interval === 'string') return { error: interval };
    if (typeof idle === 'string') return { error: idle };
  }
  const next = { ...current, bound, interval: interval as number, idle: idle as number };
  const problem = strategyProblem(next);
  return problem === undefined ? next : { error: problem };
}

/** The strategy of the settings, as code (what {@link parseStrategy} reads back). */
export function strategyCode(p: EventTimeParams): string {
  const opts = [`interval: ${p.interval}`, ...(p.idle > 0 ? [`idleTimeout: ${p.idle}`] : [])].join(', ');
  return `boundedOutOfOrderness(${p.bound}, { ${opts} })`;
}
