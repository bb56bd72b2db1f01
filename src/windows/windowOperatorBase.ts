// What both window operators share (docs/ARCHITECTURE.md, "One record, end to end"): the window function and the
// options of `window(...)`, how an element is folded into a window's contents, how a window's result is emitted, and
// where late records go. The general operator (`windowOperator.ts`) and the slicing one (`slicingWindowOperator.ts`)
// extend {@link WindowOperatorBase}; `operators/windowFunction.ts` chooses between them.
import type { Observer, Subscriber } from 'rxjs';
import type { Key, OutputTag, StreamElement, StreamRecord } from '../elements/index.js';
import { ConfigurationError, describeValue } from '../errors/index.js';
import { KeyedOperatorCore, type CoreArgs } from '../core/keyedOperator.js';
import type { KeyId } from '../keys/keyId.js';
import type { Namespace } from '../state/backend.js';
import type { Timer } from '../timers/queue.js';
import { aggregatingState, listState, reducingState, type Aggregator, type StateDescriptor } from '../state/descriptors.js';
import { notWholeMs } from '../time/timestamps.js';
import type { WindowAssigner } from './assigners.js';
import type { Trigger } from './triggers.js';
import { addMerge, maxTimestamp, type TimeWindow, type WindowContext, type WindowResult } from './types.js';

/**
 * How a window keeps its contents and turns them into results.
 *
 * @example
 * ```ts
 * const fn: WindowFunction<Click, string, number> = { kind: 'aggregate', aggregator: count(), name: 'aggregate' };
 * ```
 *
 * @internal
 */
export type WindowFunction<T, K, R> =
  | { readonly kind: 'reduce'; readonly reduce: (a: T, b: T) => T; readonly name: string }
  | { readonly kind: 'aggregate'; readonly aggregator: Aggregator<T, unknown, R>; readonly name: string }
  | {
      readonly kind: 'process';
      readonly aggregator: Aggregator<T, unknown, unknown> | undefined;
      readonly fn: (elements: readonly unknown[], ctx: WindowContext<K>) => R | readonly R[] | undefined;
      readonly name: string;
      /**
       * Emit each result as the record's value itself, not as `{ key, window, value }` (window joins and `coGroup`,
       * docs/SEMANTICS.md §10.3); and, when a record is late, send `lateValue(value)` to `lateData` in its place.
       */
      readonly plain?: PlainResults;
    };

/**
 * Results as plain values (window joins and `coGroup`): the window function's values are the records' values, and a
 * late record goes to `lateData` as `lateValue(value)`. With `each`, a firing calls `each(elements, ctx, emit)`, which
 * emits its results one by one instead of returning them (no array per firing). @internal
 */
export interface PlainResults {
  readonly lateValue: (value: unknown) => unknown;
  readonly each?: (elements: readonly unknown[], ctx: WindowContext<unknown>, emit: (value: unknown) => void) => void;
}

/**
 * Options of `window(...)`.
 *
 * @example
 * ```ts
 * const late = new Subject<StreamRecord<Click, string>>();
 * window(tumblingWindows(60_000), { allowedLateness: 10_000, lateData: late });
 * ```
 */
export interface WindowOperatorOptions<T, K> {
  /** Replaces the assigner's default trigger. */
  readonly trigger?: Trigger<T>;
  /** Keep windows this many whole ms of event time after their end, re-firing on late elements (default 0). */
  readonly allowedLateness?: number;
  /**
   * Where records too late for every window go: a side output (its stream gets each late value with its timestamp,
   * docs/SEMANTICS.md §14) or an observer (gets the late record); without it they are dropped, counted and warned
   * about once.
   */
  readonly lateData?: Observer<StreamRecord<T, K>> | OutputTag<T>;
  /** Stable id of this operator's state in checkpoints; defaults to its position (`window#N`). */
  readonly name?: string;
}

/** The state index of a window operator's `contents` (its first state). @internal */
export const CONTENTS = 0;

/**
 * An empty accumulator, for {@link foldOf}: the window (or slice) has no element yet.
 *
 * @example
 * ```ts
 * const acc = foldOf(fn)(NONE, firstElement);
 * ```
 *
 * @internal
 */
export const NONE: unique symbol = Symbol('none');

/**
 * How an element is folded into a window's accumulator, by the state handles' rules: reduce keeps the existing value
 * first, an aggregator creates its accumulator on the first element ({@link NONE}: none yet), a list appends.
 *
 * @example
 * ```ts
 * const fold = foldOf({ kind: 'reduce', reduce: (a: number, b: number) => a + b, name: 'reduce' });
 * fold(fold(NONE, 1), 2); // 3
 * ```
 *
 * @internal
 */
export function foldOf<T, K, R>(fn: WindowFunction<T, K, R>): (acc: unknown, value: T) => unknown {
  // one closure per window function, shared by every operator instance built from it (a pipeline subscribed again,
  // a restarted job): the per-record call site then keeps one target
  let fold = folds.get(fn) as ((acc: unknown, value: T) => unknown) | undefined;
  if (fold === undefined) folds.set(fn, (fold = makeFold(fn)));
  return fold;
}

const folds = new WeakMap<object, (acc: unknown, value: never) => unknown>();

function makeFold<T, K, R>(fn: WindowFunction<T, K, R>): (acc: unknown, value: T) => unknown {
  if (fn.kind === 'reduce') {
    const reduce = fn.reduce;
    return (acc, v) => (acc === NONE ? v : reduce(acc as T, v));
  }
  const agg = fn.aggregator;
  if (agg !== undefined) return (acc, v) => agg.add(acc === NONE ? agg.create() : acc, v);
  return (acc, v) => {
    const list = acc === NONE ? [] : (acc as unknown[]);
    list.push(v);
    return list;
  };
}

/** How a null or undefined accumulator is boxed inside the engine's arrays of window state (see {@link boxAccumulator}). */
const NIL = '\u0000tidewater:nil';

/**
 * An accumulator as stored inside an array of window state: null and undefined boxed (as `{ [NIL]: 0 | 1 }`), and
 * {@link NONE} — a session window whose contents a purging trigger cleared, still there to be merged with — as
 * `{ [NIL]: 2 }`, so that the array is plain data for the state codec; {@link unboxAccumulator} reverses it.
 *
 * @example
 * ```ts
 * unboxAccumulator(boxAccumulator(undefined)); // undefined
 * ```
 *
 * @internal
 */
export function boxAccumulator(v: unknown): unknown {
  return v === null || v === undefined || v === NONE ? { [NIL]: v === null ? 0 : v === NONE ? 2 : 1 } : v;
}

/**
 * The accumulator stored by {@link boxAccumulator}.
 *
 * @example
 * ```ts
 * unboxAccumulator(boxAccumulator(null)); // null
 * ```
 *
 * @internal
 */
export function unboxAccumulator(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && NIL in v) {
    const box = (v as Record<string, number>)[NIL];
    return box === 0 ? null : box === 2 ? NONE : undefined;
  }
  return v;
}

/**
 * How two accumulators of a window function's aggregator merge (its `merge`, called as its method), one closure per
 * window function (see {@link foldOf}); `undefined` without an aggregator or a merge.
 *
 * @example
 * ```ts
 * mergeOf({ kind: 'aggregate', aggregator: count(), name: 'aggregate' })?.(2, 3); // 5
 * ```
 *
 * @internal
 */
export function mergeOf<T, K, R>(fn: WindowFunction<T, K, R>): ((a: unknown, b: unknown) => unknown) | undefined {
  const agg = fn.kind === 'reduce' ? undefined : fn.aggregator;
  const merge = agg?.merge;
  if (agg === undefined || merge === undefined) return undefined;
  let m = merges.get(fn);
  if (m === undefined) merges.set(fn, (m = merge === addMerge ? (addMerge as (a: unknown, b: unknown) => unknown) : (a: unknown, b: unknown) => merge.call(agg, a, b)));
  return m;
}

const merges = new WeakMap<object, (a: unknown, b: unknown) => unknown>();

/**
 * The descriptor of a window operator's `contents` state for a window function: reducing, aggregating or a list.
 *
 * @example
 * ```ts
 * const state = { contents: contentsDescriptor(fn) };
 * ```
 *
 * @internal
 */
export function contentsDescriptor<T, K, R>(fn: WindowFunction<T, K, R>): StateDescriptor {
  if (fn.kind === 'reduce') return reducingState(fn.reduce) as StateDescriptor;
  if (fn.aggregator !== undefined) return aggregatingState(fn.aggregator) as StateDescriptor;
  return listState<T>() as StateDescriptor;
}

/** The context a `processWindow` function gets: the key and window of the results it computes. */
class WindowCtx<K> implements WindowContext<K> {
  key!: K;
  window!: TimeWindow;
  constructor(private readonly core: WindowOperatorBase<unknown, K, unknown>) {}
  get currentWatermark(): number {
    return this.core.watermark;
  }
  get currentProcessingTime(): number {
    return this.core.now();
  }
  /** Own arrow property: `const { output } = ctx` works too. Stamped like the window's results (`end - 1`). */
  readonly output = <X>(side: OutputTag<X> | Observer<X>, value: X): void => {
    this.core.outputTo(side, value, maxTimestamp(this.window));
  };
}

/**
 * The part both window operators share, on the keyed core: the validated options (allowed lateness, late-data
 * output), the window function, emitting a window's result (stamped with its max timestamp) and the late-data rule
 * (docs/SEMANTICS.md §3.3). A subclass declares its state and implements how elements reach windows and when they
 * fire.
 *
 * @example
 * ```ts
 * class MyWindowOperator<T, K, R> extends WindowOperatorBase<T, K, R> { … }
 * ```
 *
 * @internal
 */
/**
 * The general operator's timers in a checkpoint another window operator converts (docs/SEMANTICS.md §3.12): per
 * window of a key (`windowTimerKey`), the registration number of its earliest timer — the order it fires in — and the
 * next registration number after all of them.
 *
 * @example
 * ```ts
 * const { first, next } = firstTimerSequences(backend.allTimers('event'));
 * first.get(windowTimerKey(id, ns)); // e.g. 3
 * ```
 *
 * @internal
 */
export function firstTimerSequences(timers: readonly Timer[]): { readonly first: Map<string, number>; readonly next: number } {
  const first = new Map<string, number>();
  let next = 0;
  for (const t of timers) {
    const k = windowTimerKey(t.id, t.ns);
    const seq = first.get(k);
    if (seq === undefined || t.seq < seq) first.set(k, t.seq);
    next = Math.max(next, t.seq + 1);
  }
  return { first, next };
}

/**
 * The key of a key's window in {@link firstTimerSequences}.
 *
 * @example
 * ```ts
 * windowTimerKey('user-7', 60000); // 'user-7\u000060000'
 * ```
 *
 * @internal
 */
export function windowTimerKey(id: KeyId, ns: Namespace): string {
  return `${String(id)}\u0000${String(ns)}`;
}

/**
 * What a slicing operator's checkpoint of sliding windows says it cleaned up before it was taken (windows ending at or
 * before it; docs/SEMANTICS.md §3.4), from its operator-level state; undefined: nothing said.
 *
 * @example
 * ```ts
 * cleanedThroughOf({ cleanedThrough: 4 }); // 4
 * ```
 *
 * @internal
 */
export function cleanedThroughOf(state: unknown): number | undefined {
  const through = (state as { cleanedThrough?: unknown } | null)?.cleanedThrough;
  return typeof through === 'number' ? through : undefined;
}

export abstract class WindowOperatorBase<T, K, R> extends KeyedOperatorCore<T, WindowResult<K, R>> {
  protected readonly assigner: WindowAssigner<T>;
  /** allowed lateness in ms (0 for processing-time windows) */
  protected readonly lateness: number;
  protected readonly lateData: Observer<StreamRecord<T, K>> | OutputTag<T> | undefined;
  /** results as plain values (joins; see {@link PlainResults}) */
  private readonly plain: PlainResults | undefined;
  protected readonly fn: WindowFunction<T, K, R>;
  private readonly wctx: WindowCtx<K>;
  private lateDropped = 0;
  private warned = false;

  /**
   * Declares `state` on the keyed core (with its layout), then checks the options (a bad allowed lateness throws a
   * {@link ConfigurationError} naming the operator).
   */
  constructor(
    args: CoreArgs<WindowResult<K, R>>,
    state: Readonly<Record<string, StateDescriptor>>,
    layout: { namespaceMajor?: readonly string[] } | undefined,
    assigner: WindowAssigner<T>,
    options: WindowOperatorOptions<T, K>,
    fn: WindowFunction<T, K, R>,
  ) {
    super(args, state, layout);
    const op = args.name;
    const lateness = options.allowedLateness ?? 0;
    if (typeof lateness !== 'number' || Number.isNaN(lateness) || lateness < 0) {
      throw new ConfigurationError(op, lateness, `${op}: allowedLateness ${describeValue(lateness)} must be a number of ms >= 0.`);
    }
    if (!Number.isInteger(lateness) && lateness !== Infinity) {
      // a fraction rounds away near the ends of the range of timestamps (docs/SEMANTICS.md §2.8)
      throw new ConfigurationError(op, lateness, `${op}: allowedLateness ${describeValue(lateness)} ${notWholeMs(lateness, 'allowedLateness values', Math.round(lateness))}`);
    }
    this.assigner = assigner;
    this.lateness = assigner.isEventTime ? lateness : 0;
    this.checkLateOutput('lateData', options.lateData);
    this.lateData = options.lateData;
    this.fn = fn;
    this.plain = fn.kind === 'process' ? fn.plain : undefined;
    this.wctx = new WindowCtx<K>(this as unknown as WindowOperatorBase<unknown, K, unknown>);
  }

  /** The scheduler's clock (processing time). */
  now(): number {
    return this.scheduler.now();
  }

  /** The keyed core's metrics, with the state entries held and the late records dropped. */
  override metrics(): Record<string, number> {
    return { ...super.metrics(), stateEntries: this.stateEntries, lateRecordsDropped: this.lateDropped };
  }

  // ---- emitting ----------------------------------------------------------------------------------------------------

  /**
   * Evaluates the window function on contents (already in result form) and emits, stamped `maxTimestamp(w)`. The
   * results carry a copy of `w`, or `w` itself when `shared` (a frozen window the caller gives every key's result).
   */
  protected emitWindow(w: TimeWindow, contents: unknown, shared = false): void {
    const key = this.backend.currentKey() as unknown as K;
    const fn = this.fn;
    const window = shared ? w : { start: w.start, end: w.end };
    const ts = maxTimestamp(w);
    if (fn.kind !== 'process') {
      this.emitOne(key, window, contents as R, ts);
      return;
    }
    const ctx = this.wctx;
    ctx.key = key;
    ctx.window = window;
    const elements = fn.aggregator === undefined ? (contents as unknown[]) : [contents];
    const each = this.plain?.each;
    if (each !== undefined) {
      this.firingKey = key as unknown as Key;
      this.firingTs = ts;
      each(elements, ctx as WindowContext<unknown>, this.emitPlain);
      return;
    }
    const out = fn.fn(elements, ctx);
    if (out === undefined) return;
    if (Array.isArray(out)) for (const r of out as readonly R[]) this.emitOne(key, window, r, ts);
    else this.emitOne(key, window, out as R, ts);
  }

  /** The key and timestamp of the firing whose results {@link emitPlain} emits. */
  private firingKey: Key = '';
  private firingTs = 0;
  /** Emits one plain result of the current firing (see {@link PlainResults}). */
  private readonly emitPlain = (value: unknown): void => {
    this.recordsOut++;
    (this.out as unknown as Subscriber<StreamElement<unknown, Key>>).next({ kind: 'record', value, timestamp: this.firingTs, key: this.firingKey });
  };

  protected override valueInErrors(value: unknown): unknown {
    return this.plain === undefined ? value : this.plain.lateValue(value);
  }

  /** Emits one result of a window, stamped `ts`. */
  protected emitOne(key: K, window: TimeWindow, value: R, ts: number): void {
    this.recordsOut++;
    if (this.plain === undefined) this.out.next({ kind: 'record', value: { key, window, value }, timestamp: ts, key: key as unknown as Key });
    else (this.out as unknown as Subscriber<StreamElement<R, Key>>).next({ kind: 'record', value, timestamp: ts, key: key as unknown as Key });
  }

  /**
   * A checkpoint taken with another trigger (or by another window operator): that trigger's state goes, the trigger
   * here starts afresh, as in Flink (docs/SEMANTICS.md §3.4). States of the trigger here are declared: restored.
   */
  protected override dropsOnRestore(name: string): boolean {
    return name.startsWith('trigger:');
  }

  // ---- late data (docs/SEMANTICS.md §3.3) ---------------------------------------------------------------------------

  /** A record too late for every window: to the late-data output, else dropped, counted and warned about once. */
  protected late(r: StreamRecord<T, Key>, why?: string): void {
    if (this.lateData !== undefined) {
      const late = this.plain === undefined ? r : { kind: 'record' as const, value: this.plain.lateValue(r.value), timestamp: r.timestamp, key: r.key };
      this.lateOutput(this.lateData as Observer<StreamRecord<unknown, Key>>, late as StreamRecord<unknown, Key>);
      return;
    }
    this.lateDropped++;
    if (!this.warned) {
      this.warned = true;
      this.warn(
        `${this.name}: a record arrived after its windows were cleaned up (${
          why !== undefined
            ? why
            : r.timestamp + this.lateness <= this.watermark
            ? `timestamp ${r.timestamp} + allowedLateness ${this.lateness} <= watermark ${this.watermark}`
            : `timestamp ${r.timestamp}, after the last millisecond of each of its windows, end − 1 + allowedLateness ${this.lateness} <= watermark ${this.watermark}: stamp records in whole milliseconds`
        }) and was dropped. ` +
          `Dropped records are counted in the lateRecordsDropped metric; pass { lateData: subject } to ${this.plain === undefined ? 'window' : this.fn.name}(...) to receive them, or raise allowedLateness.`,
      );
    }
  }
}
