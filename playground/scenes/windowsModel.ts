/**
 * The "windows" scene's model, without the DOM (the page draws it; its end-to-end test runs it in Node too): the
 * event-time scene's clicks (playground/scenes/eventTimeModel.ts), keyed by user, through the real window operator —
 * tumbling, sliding or session windows, with allowed lateness and late data to a side output — in a `harness` whose
 * processing time the scene moves. Firings are noted with the processing time they happened at.
 */
import { pipe } from 'rxjs';
import { boundedOutOfOrderness, count, MIN_WATERMARK, sessionWindows, sideOutput, slidingWindows, tumblingWindows, type StreamElement, type WindowResult } from '../../src/index.js';
import { aggregate, eventTime, keyBy, window } from '../../operators/index.js';
import { harness } from '../../testing/index.js';
import { ClickRun, numbersFromQuery, settingsToQuery, type Click } from './eventTimeModel.js';

export type AssignerKind = 'tumbling' | 'sliding' | 'session';

/** The scene's settings (kept in the page's URL). */
export interface WindowsParams {
  readonly assigner: AssignerKind;
  /** Tumbling and sliding windows' size, ms. */
  readonly size: number;
  /** Sliding windows' slide, ms. */
  readonly slide: number;
  /** Session windows' gap, ms. */
  readonly gap: number;
  /** Allowed lateness, ms. */
  readonly lateness: number;
  /** The watermark strategy's bound of out-of-orderness, ms. */
  readonly bound: number;
  readonly disorder: number;
  readonly speed: number;
  readonly seed: number;
}

export const WINDOW_DEFAULTS: WindowsParams = { assigner: 'tumbling', size: 2_000, slide: 1_000, gap: 1_000, lateness: 0, bound: 200, disorder: 800, speed: 1, seed: 7 };

export const WINDOW_LIMITS: { readonly [K in Exclude<keyof WindowsParams, 'assigner'>]: readonly [min: number, max: number, step: number] } = {
  size: [500, 6_000, 500],
  slide: [250, 3_000, 250],
  gap: [250, 3_000, 250],
  lateness: [0, 3_000, 250],
  bound: [0, 1_500, 50],
  disorder: [0, 2_000, 50],
  speed: [0.25, 32, 0.25],
  seed: [1, 999, 1],
};

/** The windows scene's settings in a URL's query (the slide at most the size). */
export function windowParamsFromQuery(query: string): WindowsParams {
  const a = new URLSearchParams(query).get('assigner');
  const assigner: AssignerKind = a === 'sliding' || a === 'session' ? a : 'tumbling';
  const p = numbersFromQuery<WindowsParams>(query, { ...WINDOW_DEFAULTS, assigner }, WINDOW_LIMITS);
  return p.slide > p.size ? { ...p, slide: p.size } : p;
}

export const windowParamsToQuery = (p: WindowsParams): string => settingsToQuery(p);

/** A window's result as it fired: which key and window, the count, when (processing time), and whether it re-fired for late data. */
export interface Firing {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly at: number;
  readonly late: boolean;
}

export interface WindowsFrame {
  readonly now: number;
  /** The clicks that arrived so far, with whether they went to the late side output. */
  readonly arrived: readonly { readonly click: Click; readonly late: boolean }[];
  readonly firings: readonly Firing[];
  /** The operator's watermark (event time). */
  readonly watermark: number;
  readonly done: boolean;
}

const LATE = sideOutput<Click>('late');

/** The window assigner of the settings. */
function assignerOf(p: WindowsParams) {
  return p.assigner === 'sliding' ? slidingWindows(p.size, p.slide) : p.assigner === 'session' ? sessionWindows(p.gap) : tumblingWindows(p.size);
}

/** The windows scene's run: the clicks through event time, `keyBy` and the window operator. */
export class WindowsRun extends ClickRun<WindowsFrame> {
  private watermark = MIN_WATERMARK;
  private readonly seen: { click: Click; late: boolean }[] = [];
  private readonly firings: Firing[] = [];
  private readonly lateIds = new Set<number>();
  private readonly fired = new Set<string>();

  constructor(readonly params: WindowsParams) {
    const pipeline = pipe(
      eventTime((c: Click) => c.at, boundedOutOfOrderness(params.bound, { interval: 0 })),
      keyBy((c: Click) => c.user),
      window(assignerOf(params), { allowedLateness: params.lateness, lateData: LATE, name: 'clicks-per-window' }),
      aggregate(count()),
    );
    super(params, harness(pipeline as never));
  }

  protected collect(output: readonly StreamElement<unknown, unknown>[], at: number): void {
    for (const e of output) {
      if (e.kind === 'record') {
        const { key, window: w, value } = e.value as WindowResult<string, number>;
        const id = `${key}@${w.start}-${w.end}`;
        this.firings.push({ key, start: w.start, end: w.end, count: value, at, late: this.fired.has(id) });
        this.fired.add(id);
      } else if (e.kind === 'watermark') this.watermark = e.timestamp;
      else if (e.kind === 'side' && e.tag === LATE.name) this.lateIds.add((e.value as Click).id);
    }
  }

  protected override arrived(click: Click): void {
    this.seen.push({ click, late: this.lateIds.has(click.id) });
  }

  frame(): WindowsFrame {
    return { now: this.now, arrived: this.seen, firings: this.firings, watermark: this.watermark, done: this.done };
  }
}

/**
 * The windows `clicks` of one key fall into under the settings' assigner (the panes the page draws as filling):
 * tumbling and sliding windows by their arithmetic, sessions by merging `[at, at + gap)` that overlap — as the window
 * operator assigns and merges them (docs/SEMANTICS.md §4).
 */
export function assignerWindows(p: WindowsParams, clicks: readonly Click[]): { start: number; end: number }[] {
  const out = new Map<string, { start: number; end: number }>();
  if (p.assigner === 'session') {
    const sorted = [...clicks].sort((a, b) => a.at - b.at);
    let cur: { start: number; end: number } | undefined;
    for (const c of sorted) {
      if (cur !== undefined && c.at < cur.end) cur.end = Math.max(cur.end, c.at + p.gap);
      else {
        if (cur !== undefined) out.set(`${cur.start}`, cur);
        cur = { start: c.at, end: c.at + p.gap };
      }
    }
    if (cur !== undefined) out.set(`${cur.start}`, cur);
    return [...out.values()];
  }
  const slide = p.assigner === 'sliding' ? p.slide : p.size;
  for (const c of clicks) {
    for (let start = Math.floor(c.at / slide) * slide; start > c.at - p.size; start -= slide) out.set(`${start}`, { start, end: start + p.size });
  }
  return [...out.values()].sort((a, b) => a.start - b.start);
}
