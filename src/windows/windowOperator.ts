import type { Observer } from 'rxjs';
import { MAX_WATERMARK, type Key, type StreamRecord } from '../elements/index.js';
import { ConfigurationError, TidewaterError } from '../errors/index.js';
import { KeyedOperatorCore, type CoreArgs } from '../core/keyedOperator.js';
import type { Namespace } from '../state/backend.js';
import {
  aggregatingState,
  listState,
  reducingState,
  valueState,
  type Aggregator,
  type ReducingState,
  type StateDescriptor,
} from '../state/descriptors.js';
import { UNDEFINED } from '../state/handles.js';
import type { Timer } from '../timers/queue.js';
import { windowStart, type WindowAssigner } from './assigners.js';
import { MergingWindowSet } from './mergingWindowSet.js';
import type { OnMergeContext, Trigger, TriggerResult } from './triggers.js';
import { maxTimestamp, ORDER_SENSITIVE, type TimeWindow, type WindowContext, type WindowResult } from './types.js';

/** How a window keeps its contents and turns them into results. @internal */
export type WindowFunction<T, K, R> =
  | { readonly kind: 'reduce'; readonly reduce: (a: T, b: T) => T; readonly name: string }
  | { readonly kind: 'aggregate'; readonly aggregator: Aggregator<T, unknown, R>; readonly name: string }
  | {
      readonly kind: 'process';
      readonly aggregator: Aggregator<T, unknown, unknown> | undefined;
      readonly fn: (elements: readonly unknown[], ctx: WindowContext<K>) => R | readonly R[] | undefined;
      readonly name: string;
    };

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
  /** Keep windows this many ms of event time after their end, re-firing on late elements (default 0). */
  readonly allowedLateness?: number;
  /** Where records too late for every window go; without it they are dropped, counted and warned about once. */
  readonly lateData?: Observer<StreamRecord<T, K>>;
  /** Stable id of this operator's state in checkpoints; defaults to its position (`window#N`). */
  readonly name?: string;
}


function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

const CONTENTS = 0;
/** an empty pane accumulator */
const NONE: unique symbol = Symbol('none');
const MERGING_SET = 1;

/**
 * A key's panes: the newest inline (nearly every element of in-order data goes there: no second lookup), the older
 * ones in an array from index `b` (`null` = no pane; an accumulator that is itself null or undefined is boxed), so
 * folding a sliding window reads contiguous memory. A plain object: it snapshots with the state codec as it is.
 */
interface Panes {
  /** index of the inline pane, NaN when none */
  j: number;
  a: unknown;
  /** pane index of r[0] */
  b: number;
  r: unknown[];
}

const NIL = '\u0000tidewater:nil';
function box(v: unknown): unknown {
  return v === null || v === undefined ? { [NIL]: v === null ? 0 : 1 } : v;
}
function unbox(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && NIL in v) return (v as Record<string, number>)[NIL] === 0 ? null : undefined;
  return v;
}

function paneGet(p: Panes, j: number): unknown {
  if (p.j === j) return p.a;
  const i = j - p.b;
  const v = i >= 0 && i < p.r.length ? p.r[i] : null;
  return v === null || v === undefined ? NONE : unbox(v);
}

function paneSetOld(p: Panes, j: number, acc: unknown): void {
  const r = p.r;
  if (r.length === 0) {
    p.b = j;
    r.push(box(acc));
    return;
  }
  let i = j - p.b;
  if (i < 0) {
    r.unshift(...(new Array<unknown>(-i).fill(null) as unknown[]));
    p.b = j;
    i = 0;
  }
  while (r.length <= i) r.push(null);
  r[i] = box(acc);
}

function paneSet(p: Panes, j: number, acc: unknown): void {
  if (p.j === j) p.a = acc;
  else if (Number.isNaN(p.j)) {
    p.j = j;
    p.a = acc;
  } else if (j > p.j) {
    paneSetOld(p, p.j, p.a);
    p.j = j;
    p.a = acc;
  } else paneSetOld(p, j, acc);
}

function paneDelete(p: Panes, j: number): void {
  if (p.j === j) {
    p.j = NaN;
    p.a = undefined;
    return;
  }
  const r = p.r;
  const i = j - p.b;
  if (i < 0 || i >= r.length) return;
  r[i] = null;
  let lead = 0;
  while (lead < r.length && r[lead] === null) lead++;
  if (lead > 0) {
    r.splice(0, lead);
    p.b += lead;
  }
  while (r.length > 0 && r[r.length - 1] === null) r.pop();
}

function paneIndexes(p: Panes): number[] {
  const out: number[] = [];
  for (let i = 0; i < p.r.length; i++) if (p.r[i] !== null) out.push(p.b + i);
  if (!Number.isNaN(p.j)) out.push(p.j);
  return out;
}

function panesEmpty(p: Panes): boolean {
  return Number.isNaN(p.j) && p.r.length === 0;
}

class WindowCtx<K> implements WindowContext<K> {
  key!: K;
  window!: TimeWindow;
  constructor(private readonly core: WindowOperatorCore<unknown, K, unknown>) {}
  get currentWatermark(): number {
    return this.core.watermark;
  }
  get currentProcessingTime(): number {
    return this.core.now();
  }
}

/**
 * Flink's `WindowOperator` on the shared keyed core: window contents, trigger state and the merging-window set are
 * keyed state (namespaced by window), triggers and cleanup are keyed timers, so snapshot/restore covers everything.
 * Processing order is SEMANTICS §3.3/§3.4/§3.12 exactly.
 *
 * @internal
 */
export class WindowOperatorCore<T, K, R> extends KeyedOperatorCore<T, WindowResult<K, R>> {
  private readonly assigner: WindowAssigner<T>;
  private readonly trigger: Trigger<T>;
  private readonly lateness: number;
  private readonly lateData: Observer<StreamRecord<T, K>> | undefined;
  private readonly fn: WindowFunction<T, K, R>;
  /** the default event-time trigger on a non-merging assigner: re-registering its timers for a window that already
   * has contents is a no-op, so it is skipped */
  private readonly fastEventTrigger: boolean;
  /**
   * The pane ring (sliding windows with a mergeable aggregator, on the default event-time trigger): per key one
   * state value `Map<pane index, accumulator>` with panes of gcd(size, slide) ms, windows folded from their panes at
   * firing, and a chain of one timer per key at the next window end that has contents. `undefined` = general path.
   */
  private readonly ring: { readonly p: number; readonly s: number; readonly m: number; readonly offset: number } | undefined;
  private readonly triggerStateIndex = new Map<string, number>();
  private readonly tctx: TriggerCtx<T, K, R>;
  private readonly wctx: WindowCtx<K>;
  private lateDropped = 0;
  private warned = false;

  constructor(args: CoreArgs<WindowResult<K, R>>, assigner: WindowAssigner<T>, options: WindowOperatorOptions<T, K>, fn: WindowFunction<T, K, R>) {
    const trigger = options.trigger ?? assigner.defaultTrigger();
    const ring = WindowOperatorCore.ringOf(assigner, trigger, fn);
    const state: Record<string, StateDescriptor> = {
      contents: ring !== undefined ? (valueState<Panes>() as StateDescriptor) : WindowOperatorCore.contentsDescriptor(fn),
    };
    if (assigner.merging) state['merging-window-set'] = valueState<[number, number, number, number][]>();
    for (const [name, d] of Object.entries(trigger.state ?? {})) state[`trigger:${name}`] = d;
    // non-merging windows: contents namespace-major (window → key → accumulator), so an element costs one lookup in
    // the map of one of the few open windows
    super(args, state, assigner.merging || ring !== undefined ? undefined : { namespaceMajor: ['contents'] });
    const op = args.name;
    const lateness = options.allowedLateness ?? 0;
    if (typeof lateness !== 'number' || Number.isNaN(lateness) || lateness < 0) {
      throw new ConfigurationError(op, lateness, `${op}: allowedLateness ${String(lateness)} must be a number of ms >= 0.`);
    }
    if (assigner.merging && !trigger.canMerge) {
      throw new ConfigurationError(op, trigger.kind, `${op}: the trigger cannot merge windows, so it cannot be used with session windows.`);
    }
    if (assigner.merging && fn.kind !== 'reduce' && fn.aggregator !== undefined && fn.aggregator.merge === undefined) {
      throw new ConfigurationError(op, fn.name, `${op}: session windows merge, so the aggregator needs merge(a, b).`);
    }
    this.assigner = assigner;
    this.trigger = trigger;
    this.lateness = assigner.isEventTime ? lateness : 0;
    this.lateData = options.lateData;
    this.fn = fn;
    this.fastEventTrigger = !assigner.merging && trigger.kind === 'event-time';
    this.ring = ring;
    this.backend.names.forEach((n, i) => {
      if (n.startsWith('trigger:')) this.triggerStateIndex.set(n.slice(8), i);
    });
    this.tctx = new TriggerCtx<T, K, R>(this);
    this.wctx = new WindowCtx<K>(this as unknown as WindowOperatorCore<unknown, K, unknown>);
  }

  /** Whether the pane ring applies: see {@link WindowOperatorCore.ring}. */
  private static ringOf<T, K, R>(
    a: WindowAssigner<T>,
    trigger: Trigger<T>,
    fn: WindowFunction<T, K, R>,
  ): { p: number; s: number; m: number; offset: number } | undefined {
    if ((a.kind !== 'tumbling' && a.kind !== 'sliding') || !a.isEventTime || trigger.kind !== 'event-time') return undefined;
    const size = a.size as number;
    const slide = a.slide as number;
    if (!Number.isInteger(size) || !Number.isInteger(slide) || !Number.isInteger(a.offset ?? 0)) return undefined;
    // tumbling windows take the general path (namespace-major contents); sliding ones need a mergeable aggregator
    if (slide >= size) return undefined;
    const agg = fn.kind === 'reduce' ? undefined : fn.aggregator;
    if (agg?.merge === undefined || (agg as { [ORDER_SENSITIVE]?: boolean })[ORDER_SENSITIVE] === true) return undefined;
    const p = gcd(size, slide);
    return { p, s: slide / p, m: size / p, offset: a.offset ?? 0 };
  }

  private static contentsDescriptor<T, K, R>(fn: WindowFunction<T, K, R>): StateDescriptor {
    if (fn.kind === 'reduce') return reducingState(fn.reduce) as StateDescriptor;
    if (fn.aggregator !== undefined) return aggregatingState(fn.aggregator) as StateDescriptor;
    return listState<T>() as StateDescriptor;
  }

  now(): number {
    return this.scheduler.now();
  }

  override metrics(): Record<string, number> {
    return { ...super.metrics(), lateRecordsDropped: this.lateDropped };
  }

  // ---- time rules (SEMANTICS §3.2) -----------------------------------------------------------------------------------

  private cleanupTime(w: TimeWindow): number {
    return this.assigner.isEventTime ? maxTimestamp(w) + this.lateness : maxTimestamp(w);
  }

  private isWindowLate(w: TimeWindow): boolean {
    return this.assigner.isEventTime && this.cleanupTime(w) <= this.watermark;
  }

  private registerCleanupTimer(w: TimeWindow): void {
    const t = this.cleanupTime(w);
    if (t === MAX_WATERMARK) return;
    this.backend.registerTimer(this.assigner.isEventTime ? 'event' : 'processing', t, this.assigner.namespaceOf(w));
  }

  private deleteCleanupTimer(w: TimeWindow): void {
    const t = this.cleanupTime(w);
    if (t === MAX_WATERMARK) return;
    this.backend.deleteTimer(this.assigner.isEventTime ? 'event' : 'processing', t, this.assigner.namespaceOf(w));
  }

  // ---- contents ---------------------------------------------------------------------------------------------------

  private contentsHandle(): { get(): unknown; add(v: T): void; clear(): void } {
    return this.backend.handles.contents as { get(): unknown; add(v: T): void; clear(): void };
  }

  /** The stored contents after adding `value` (the representation the state handles use: UNDEFINED for undefined). */
  private addRaw(raw: unknown, value: T): unknown {
    const fn = this.fn;
    const cur = raw === UNDEFINED ? undefined : raw;
    let next: unknown;
    if (fn.kind === 'reduce') next = raw === undefined ? value : fn.reduce(cur as T, value);
    else if (fn.aggregator !== undefined) next = fn.aggregator.add(raw === undefined ? fn.aggregator.create() : cur, value);
    else {
      const list = raw === undefined ? [] : (raw as unknown[]);
      list.push(value);
      next = list;
    }
    return next === undefined ? UNDEFINED : next;
  }

  /** Stored contents of a namespace in the form the window function takes (reduced value / aggregate / list). */
  private readContents(ns: Namespace): unknown {
    this.backend.ns = ns;
    return this.contentsHandle().get();
  }

  private hasContents(ns: Namespace): boolean {
    this.backend.ns = ns;
    return this.backend.get(CONTENTS) !== undefined;
  }

  private clearContents(ns: Namespace): void {
    this.backend.ns = ns;
    this.backend.remove(CONTENTS);
  }

  /** Flink's mergeNamespaces: target = merge(target, merge(sources…)), sources removed. */
  private mergeContents(target: Namespace, sources: readonly Namespace[]): void {
    const b = this.backend;
    const combine = (a: unknown, c: unknown): unknown => {
      if (this.fn.kind === 'reduce') return this.fn.reduce(a as T, c as T);
      if (this.fn.aggregator !== undefined) return (this.fn.aggregator.merge as (x: unknown, y: unknown) => unknown)(a, c);
      return [...(a as unknown[]), ...(c as unknown[])];
    };
    const raw = (v: unknown): unknown => (v === UNDEFINED ? undefined : v);
    let merged: unknown;
    let have = false;
    for (const ns of sources) {
      b.ns = ns;
      const v = b.get(CONTENTS);
      if (v === undefined) continue;
      b.remove(CONTENTS);
      merged = have ? combine(merged, raw(v)) : raw(v);
      have = true;
    }
    if (!have) return;
    b.ns = target;
    const t = b.get(CONTENTS);
    const next = t === undefined ? merged : combine(raw(t), merged);
    b.put(CONTENTS, next === undefined ? UNDEFINED : next);
  }

  // ---- emitting ----------------------------------------------------------------------------------------------------

  /** Evaluates the window function on contents (already in result form) and emits, stamped `maxTimestamp(w)`. */
  private emitWindow(w: TimeWindow, contents: unknown): void {
    const key = this.backend.key as unknown as K;
    const fn = this.fn;
    const window = { start: w.start, end: w.end };
    const ts = maxTimestamp(w);
    if (fn.kind !== 'process') {
      this.emitOne(key, window, contents as R, ts);
      return;
    }
    const ctx = this.wctx;
    ctx.key = key;
    ctx.window = window;
    const elements = fn.aggregator === undefined ? (contents as unknown[]) : [contents];
    const out = fn.fn(elements, ctx);
    if (out === undefined) return;
    if (Array.isArray(out)) for (const r of out as readonly R[]) this.emitOne(key, window, r, ts);
    else this.emitOne(key, window, out as R, ts);
  }

  private emitOne(key: K, window: TimeWindow, value: R, ts: number): void {
    this.out.next({ kind: 'record', value: { key, window, value }, timestamp: ts, key: key as unknown as Key });
  }

  private fireIfContents(w: TimeWindow, stateNs: Namespace): void {
    if (!this.hasContents(stateNs)) return;
    this.emitWindow(w, this.readContents(stateNs));
  }

  private late(r: StreamRecord<T, Key>): void {
    if (this.lateData !== undefined) {
      this.sideOutput(this.lateData, r as unknown as StreamRecord<T, K>);
      return;
    }
    this.lateDropped++;
    if (!this.warned) {
      this.warned = true;
      this.warn(
        `${this.name}: a record arrived after its windows were cleaned up (timestamp ${r.timestamp} + allowedLateness ${this.lateness} <= watermark ${this.watermark}) and was dropped. ` +
          'Dropped records are counted in the lateRecordsDropped metric; pass { lateData: subject } to window(...) to receive them, or raise allowedLateness.',
      );
    }
  }

  // ---- records (SEMANTICS §3.3) -------------------------------------------------------------------------------------

  protected onRecord(r: StreamRecord<T, Key>): void {
    if (this.ring !== undefined) {
      this.ringRecord(r, this.ring);
      return;
    }
    const a = this.assigner;
    if (a.kind === 'tumbling') {
      this.tumblingRecord(r);
      return;
    }
    const windows = a.assign(r.value, r.timestamp, a.isEventTime ? 0 : this.scheduler.now());
    let skipped = true;
    if (a.merging) {
      const b = this.backend;
      b.ns = '';
      const set = new MergingWindowSet(b.get(MERGING_SET) as [number, number, number, number][] | undefined);
      for (const w of windows) {
        const actual = set.add(w, (result, merged, stateWindow, mergedStateWindows) => this.onMerge(result, merged, stateWindow, mergedStateWindows));
        if (this.isWindowLate(actual)) {
          set.retire(actual);
          continue;
        }
        skipped = false;
        const stateWindow = set.stateWindowOf(actual) as TimeWindow;
        this.addAndTrigger(r, actual, a.namespaceOf(stateWindow), false);
      }
      this.persistSet(set);
    } else {
      for (const w of windows) {
        if (this.isWindowLate(w)) continue;
        skipped = false;
        this.addAndTrigger(r, w, a.namespaceOf(w), this.fastEventTrigger);
      }
    }
    if (skipped && a.isEventTime && r.timestamp + this.lateness <= this.watermark) this.late(r);
  }

  /** Adds the element to the window's contents, calls the trigger (skipped for the default event-time trigger when
   * the window already had contents and has not ended: it would only re-register its timers), applies the result. */
  private addAndTrigger(r: StreamRecord<T, Key>, w: TimeWindow, stateNs: Namespace, fast: boolean): void {
    const b = this.backend;
    b.ns = stateNs;
    const raw = b.get(CONTENTS);
    const existed = fast && raw !== undefined;
    b.put(CONTENTS, this.addRaw(raw, r.value));
    let result: TriggerResult;
    if (existed && maxTimestamp(w) > this.watermark) result = 'continue';
    else result = this.callTrigger(w, () => this.trigger.onElement(r.value, r.timestamp, w, this.tctx));
    this.apply(result, w, stateNs);
    if (!existed) {
      this.backend.ns = this.assigner.namespaceOf(w);
      this.registerCleanupTimer(w);
    }
  }

  private apply(result: TriggerResult, w: TimeWindow, stateNs: Namespace): void {
    if (result === 'fire' || result === 'fire-and-purge') this.fireIfContents(w, stateNs);
    if (result === 'purge' || result === 'fire-and-purge') this.clearContents(stateNs);
  }

  private callTrigger(w: TimeWindow, call: () => TriggerResult): TriggerResult {
    this.backend.ns = this.assigner.namespaceOf(w);
    this.tctx.window = w;
    return call();
  }

  // ---- the pane ring -----------------------------------------------------------------------------------------------
  //
  // Window k covers panes [k·s, k·s + m); pane j holds the elements with floor((ts − offset) / p) = j. Every rule is
  // the general path's (SEMANTICS §3.3–3.5): a window is late when its cleanup time (max timestamp + lateness) is at
  // or below the watermark; an element accepted by no window and late itself goes to the late output; a window at
  // or below the watermark fires at once when an element joins it (windows in descending start order), the others
  // when the watermark reaches their end. What differs is bookkeeping: one state value and about one timer per key.

  private ringStart(k: number, r: { p: number; s: number; offset: number }): number {
    return r.offset + k * r.s * r.p;
  }

  private ringMax(k: number, r: { p: number; s: number; m: number; offset: number }): number {
    return this.ringStart(k, r) + r.m * r.p - 1;
  }

  /** Whether window k's cleanup time has come by `time` (the watermark, or the timer being fired). */
  private ringLate(k: number, r: { p: number; s: number; m: number; offset: number }, time = this.watermark): boolean {
    return this.ringMax(k, r) + this.lateness <= time;
  }

  private ringPanes(): Panes | undefined {
    this.backend.ns = '';
    return this.backend.get(CONTENTS) as Panes | undefined;
  }

  private ringRecord(rec: StreamRecord<T, Key>, r: { p: number; s: number; m: number; offset: number }): void {
    const ts = rec.timestamp;
    if (!Number.isFinite(ts)) this.assigner.assign(rec.value, ts, 0); // throws the assigner's error
    const j = Math.floor((ts - r.offset) / r.p);
    const kmax = Math.floor(j / r.s);
    if (this.ringLate(kmax, r)) {
      // every window of the element is late (the one with the largest start ends last)
      if (ts + this.lateness <= this.watermark) this.late(rec);
      return;
    }
    const b = this.backend;
    let panes = this.ringPanes();
    if (panes === undefined) {
      panes = { j: NaN, a: undefined, b: 0, r: [] };
      b.put(CONTENTS, panes);
    } else b.touch(CONTENTS);
    const acc = paneGet(panes, j);
    const isNew = acc === NONE;
    const next = this.addRaw(acc === NONE ? undefined : acc === undefined ? UNDEFINED : acc, rec.value);
    paneSet(panes, j, next === UNDEFINED ? undefined : next);
    const kmin = Math.floor((j - r.m) / r.s) + 1;
    // windows of the element that already ended (maxTs <= watermark) fire now, in descending start order; the first
    // one still open gets the key's next timer (when the pane is new: otherwise the chain already covers it)
    const wm = this.watermark;
    const kOpen = Math.max(kmin, wm === -Infinity ? kmin : Math.floor((wm + 1 - r.offset - r.m * r.p) / (r.s * r.p)) + 1);
    for (let k = Math.min(kmax, kOpen - 1); k >= kmin; k--) {
      if (this.ringLate(k, r)) break; // smaller k end earlier: late too
      this.ringFire(k, panes, r);
    }
    if (isNew) {
      if (kOpen <= kmax) b.registerTimer('event', this.ringMax(kOpen, r));
      // the pane is dropped at the cleanup of its last window; without lateness that is a window end the chain
      // reaches anyway
      if (this.lateness > 0) {
        const cleanup = this.ringMax(kmax, r) + this.lateness;
        if (cleanup !== MAX_WATERMARK) b.registerTimer('event', cleanup);
      }
    }
  }

  /**
   * Tumbling windows, without allocating a window per element: one window, by arithmetic; the element goes into its
   * contents (one lookup in the open window's map); the trigger is called when the general path would do more than
   * re-register timers. Same rules as the general path.
   */
  private tumblingRecord(rec: StreamRecord<T, Key>): void {
    const a = this.assigner;
    const size = a.size as number;
    const ts = a.isEventTime ? rec.timestamp : this.scheduler.now();
    if (!Number.isFinite(ts)) a.assign(rec.value, ts, ts); // throws the assigner's error
    const start = windowStart(ts, a.offset ?? 0, size);
    const max = start + size - 1;
    const wm = this.watermark;
    if (a.isEventTime && max + this.lateness <= wm) {
      if (rec.timestamp + this.lateness <= wm) this.late(rec);
      return;
    }
    const b = this.backend;
    b.ns = start;
    const raw = b.get(CONTENTS);
    b.put(CONTENTS, this.addRaw(raw, rec.value));
    const existed = raw !== undefined;
    if (this.fastEventTrigger && existed && max > wm) return;
    const w: TimeWindow = { start, end: start + size };
    const result = this.callTrigger(w, () => this.trigger.onElement(rec.value, rec.timestamp, w, this.tctx));
    this.apply(result, w, start);
    if (!existed || !this.fastEventTrigger) {
      b.ns = start;
      this.registerCleanupTimer(w);
    }
  }

  /** Folds window k from its panes and emits it (nothing when it has no pane). */
  private ringFire(k: number, panes: Panes, r: { p: number; s: number; m: number; offset: number }): void {
    let acc: unknown = NONE;
    const merge = this.fn.kind === 'reduce' ? undefined : this.fn.aggregator?.merge;
    for (let j = k * r.s, end = k * r.s + r.m; j < end; j++) {
      const v = paneGet(panes, j);
      if (v === NONE) continue;
      acc = acc === NONE ? v : (merge as (a: unknown, b: unknown) => unknown)(acc, v);
    }
    if (acc === NONE) return;
    const fn = this.fn;
    let contents: unknown = acc;
    if (fn.kind !== 'reduce' && fn.aggregator !== undefined) contents = fn.aggregator.result(acc);
    else if (fn.kind === 'process') contents = [...(acc as unknown[])];
    const start = this.ringStart(k, r);
    this.emitWindow({ start, end: start + r.m * r.p }, contents);
  }

  private ringTimer(T: number, r: { p: number; s: number; m: number; offset: number }): void {
    const panes = this.ringPanes();
    if (panes === undefined) return;
    // a window end: fire it, then chain to the next window that has a pane
    const kf = ((T + 1 - r.offset) / r.p - r.m) / r.s;
    if (Number.isInteger(kf)) {
      this.ringFire(kf, panes, r);
      let next = Infinity;
      for (const j of paneIndexes(panes)) {
        const lo = Math.max(kf + 1, Math.floor((j - r.m) / r.s) + 1);
        if (lo <= Math.floor(j / r.s) && lo < next) next = lo;
      }
      if (next !== Infinity) this.backend.registerTimer('event', this.ringMax(next, r));
    }
    // drop the panes whose last window's cleanup time is this timer's (later timers of the same watermark still
    // need theirs: cleanup happens in timer order, as in the general path)
    let dropped = false;
    for (const j of paneIndexes(panes)) {
      if (this.ringLate(Math.floor(j / r.s), r, T)) {
        if (!dropped) this.backend.touch(CONTENTS);
        paneDelete(panes, j);
        dropped = true;
      }
    }
    if (panesEmpty(panes)) this.backend.remove(CONTENTS);
  }

  // ---- merging (SEMANTICS §1.4) ---------------------------------------------------------------------------------------

  private persistSet(set: MergingWindowSet): void {
    if (!set.dirty) return;
    const b = this.backend;
    b.ns = '';
    if (set.size === 0) b.remove(MERGING_SET);
    else b.put(MERGING_SET, set.persisted());
  }

  private onMerge(result: TimeWindow, merged: readonly TimeWindow[], stateWindow: TimeWindow, mergedStateWindows: readonly TimeWindow[]): void {
    const a = this.assigner;
    if (a.isEventTime && this.cleanupTime(result) <= this.watermark) {
      throw new TidewaterError(this.name, result, `${this.name}: merging produced window [${result.start}, ${result.end}) that is already late (watermark ${this.watermark}); this assigner cannot be used with this lateness.`);
    }
    if (!a.isEventTime && maxTimestamp(result) <= this.scheduler.now()) {
      throw new TidewaterError(this.name, result, `${this.name}: merging produced processing-time window [${result.start}, ${result.end}) that has already ended.`);
    }
    this.tctx.mergedWindows = merged;
    this.callTrigger(result, () => {
      this.trigger.onMerge?.(result, this.tctx);
      return 'continue';
    });
    this.tctx.mergedWindows = [];
    for (const m of merged) {
      this.callTrigger(m, () => {
        this.trigger.clear(m, this.tctx);
        return 'continue';
      });
      this.deleteCleanupTimer(m);
    }
    this.mergeContents(a.namespaceOf(stateWindow), mergedStateWindows.map((w) => a.namespaceOf(w)));
  }

  // ---- timers (SEMANTICS §3.4) -----------------------------------------------------------------------------------------

  protected onTimer(t: Timer): void {
    const a = this.assigner;
    const b = this.backend;
    if (this.ring !== undefined) {
      this.ringTimer(t.timestamp, this.ring);
      return;
    }
    const w = a.windowOf(t.ns);
    let stateNs: Namespace = t.ns;
    let set: MergingWindowSet | undefined;
    if (a.merging) {
      b.ns = '';
      set = new MergingWindowSet(b.get(MERGING_SET) as [number, number, number, number][] | undefined);
      const sw = set.stateWindowOf(w);
      if (sw === undefined) return; // a stale timer of a merged-away window
      stateNs = a.namespaceOf(sw);
    }
    const result = this.callTrigger(w, () =>
      t.domain === 'event' ? this.trigger.onEventTime(t.timestamp, w, this.tctx) : this.trigger.onProcessingTime(t.timestamp, w, this.tctx),
    );
    this.apply(result, w, stateNs);
    const cleanupDomain = a.isEventTime ? 'event' : 'processing';
    if (t.domain === cleanupDomain && t.timestamp === this.cleanupTime(w)) {
      this.clearContents(stateNs);
      this.callTrigger(w, () => {
        this.trigger.clear(w, this.tctx);
        return 'continue';
      });
      if (set !== undefined) {
        set.retire(w);
        this.persistSet(set);
      }
    }
  }

  // ---- trigger context hooks -------------------------------------------------------------------------------------

  triggerState(name: string): ReducingState<number> {
    const i = this.triggerStateIndex.get(name);
    if (i === undefined) {
      throw new ConfigurationError(this.name, name, `${this.name}: the trigger uses state '${name}' it did not declare in its \`state\`.`);
    }
    return this.backend.handles[`trigger:${name}`] as ReducingState<number>;
  }

  mergeTriggerState(name: string, into: TimeWindow, from: readonly TimeWindow[]): void {
    const h = this.triggerState(name);
    const b = this.backend;
    const a = this.assigner;
    for (const m of from) {
      b.ns = a.namespaceOf(m);
      const v = h.get();
      h.clear();
      if (v === undefined) continue;
      b.ns = a.namespaceOf(into);
      h.add(v);
    }
    b.ns = a.namespaceOf(into);
  }

  registerTimer(domain: 'event' | 'processing', ts: number): void {
    this.backend.registerTimer(domain, this.checkTimestamp(domain === 'event' ? 'registerEventTimeTimer' : 'registerProcessingTimeTimer', ts));
  }

  deleteTimer(domain: 'event' | 'processing', ts: number): void {
    this.backend.deleteTimer(domain, ts);
  }
}

class TriggerCtx<T, K, R> implements OnMergeContext {
  window: TimeWindow = { start: 0, end: 0 };
  mergedWindows: readonly TimeWindow[] = [];
  constructor(private readonly core: WindowOperatorCore<T, K, R>) {}
  get currentWatermark(): number {
    return this.core.watermark;
  }
  get currentProcessingTime(): number {
    return this.core.now();
  }
  registerEventTimeTimer(ts: number): void {
    this.core.registerTimer('event', ts);
  }
  registerProcessingTimeTimer(ts: number): void {
    this.core.registerTimer('processing', ts);
  }
  deleteEventTimeTimer(ts: number): void {
    this.core.deleteTimer('event', ts);
  }
  deleteProcessingTimeTimer(ts: number): void {
    this.core.deleteTimer('processing', ts);
  }
  state<V>(name: string): ReducingState<V> {
    return this.core.triggerState(name) as unknown as ReducingState<V>;
  }
  mergeState(name: string): void {
    this.core.mergeTriggerState(name, this.window, this.mergedWindows);
  }
}
