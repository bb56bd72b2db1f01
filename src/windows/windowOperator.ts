// The general window operator (docs/ARCHITECTURE.md, "One record, end to end"): any assigner and trigger, merging
// windows, keyed timers. Aligned event-time windows on the built-in event-time trigger go to the slicing operator
// instead (`slicingWindowOperator.ts`); `operators/windowFunction.ts` chooses.
import { MAX_WATERMARK, type Key, type StreamRecord } from '../elements/index.js';
import { ConfigurationError, describeValue, TidewaterError } from '../errors/index.js';
import type { CoreArgs } from '../core/keyedOperator.js';
import { engineArrays, type Namespace } from '../state/backend.js';
import { keyOfId, type KeyId } from '../keys/keyId.js';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';
import { valueState, type ReducingState, type StateDescriptor } from '../state/descriptors.js';
import { UNDEFINED } from '../state/handles.js';
import type { Timer } from '../timers/queue.js';
import type { WindowAssigner } from './assigners.js';
import { entriesOf, MergingWindowSet, sortPersisted, type MergingSetEntry, type PersistedMergingSet } from './mergingWindowSet.js';
import { liveSessions, type KeySessions } from './sessionWindowOperator.js';
import { sliceGridOf } from './slicingWindowOperator.js';
import { eventTimeTrigger, isEventTimeTrigger, processingTimeTrigger, type OnMergeContext, type Trigger, type TriggerResult } from './triggers.js';
import { maxTimestamp, type TimeWindow, type WindowResult } from './types.js';
import { contentsAppend, contentsMergeAppends } from './aggregators.js';
import {
  CONTENTS,
  contentsDescriptor,
  cleanedThroughOf,
  foldOf,
  mergeOf,
  NONE,
  WindowOperatorBase,
  type WindowFunction,
  type WindowOperatorOptions,
} from './windowOperatorBase.js';

export type { WindowFunction, WindowOperatorOptions } from './windowOperatorBase.js';

/** the state index of the merging-window set (merging assigners) */
const MERGING_SET = 1;

/**
 * Flink's `WindowOperator` on the shared keyed core: window contents, trigger state and the merging-window set are
 * keyed state (namespaced by window), triggers and cleanup are keyed timers, so snapshot/restore covers everything.
 * Processing order is docs/SEMANTICS.md §3.3/§3.4/§3.12 exactly. Takes any assigner and trigger; the slicing operator
 * (`SlicingWindowOperatorCore`) is the faster one for aligned event-time windows on the built-in trigger.
 *
 * @example
 * ```ts
 * keyedOperator('window', name, (args) => new WindowOperatorCore(args, sessionWindows(30_000), {}, fn));
 * ```
 *
 * @internal
 */
export class WindowOperatorCore<T, K, R> extends WindowOperatorBase<T, K, R> {
  private readonly trigger: Trigger<T>;
  /** the default event-time trigger on a non-merging assigner: re-registering its timers for a window that already
   * has contents is a no-op, so it is skipped */
  private readonly fastEventTrigger: boolean;
  /** how an element is added to a window's contents */
  private readonly fold: (acc: unknown, value: T) => unknown;
  /** Whether a window's contents are the array of its elements, grown in place (`processWindow`, `collect()`). */
  private readonly listContents: boolean;
  /** merging windows' contents is appending one array of elements to another (see {@link mergeContents}) */
  private readonly mergeAppends: boolean;
  private readonly triggerStateIndex = new Map<string, number>();
  private readonly tctx: TriggerCtx<T, K, R>;

  /** Declares the state (contents, the merging-window set of a merging assigner, the trigger's), checks the options. */
  constructor(args: CoreArgs<WindowResult<K, R>>, assigner: WindowAssigner<T>, options: WindowOperatorOptions<T, K>, fn: WindowFunction<T, K, R>) {
    const trigger = options.trigger ?? assigner.defaultTrigger();
    const state: Record<string, StateDescriptor> = {
      contents: contentsDescriptor(fn),
    };
    if (assigner.merging) {
      state['merging-window-set'] = valueState<PersistedMergingSet>();
      // only to read the session operator's checkpoints (converted on restore)
      state['sessions'] = engineArrays(valueState<KeySessions>());
    }
    // only to read the slicing operator's checkpoints (converted on restore)
    const slicing = assigner.isEventTime ? assigner.kind === 'tumbling' || assigner.kind === 'sliding' : assigner.kind === 'tumbling';
    if (slicing) state['order'] = valueState<number>();
    for (const [name, d] of Object.entries(trigger.state ?? {})) state[`trigger:${name}`] = d;
    // non-merging windows: contents namespace-major (window → key → accumulator), so an element costs one lookup in
    // the map of one of the few open windows
    super(args, state, assigner.merging ? undefined : { namespaceMajor: slicing ? ['contents', 'order'] : ['contents'] }, assigner, options, fn);
    const op = args.name;
    if (assigner.merging && !trigger.canMerge) {
      throw new ConfigurationError(op, trigger.kind, `${op}: the trigger cannot merge windows, so it cannot be used with session windows.`);
    }
    if (assigner.merging && typeof trigger.onMerge !== 'function') {
      // (Flink's Trigger.onMerge throws unless a trigger that can merge overrides it: merged windows would lose the
      // timers and state the trigger keeps for the windows merged away)
      throw new ConfigurationError(
        op,
        trigger.kind,
        `${op}: the trigger says canMerge but has no onMerge(window, ctx); session windows merge, and a merged window needs the trigger's timers and state set up again there (e.g. register its timer, merge its state with ctx.mergeState(name)). Give it onMerge.`,
      );
    }
    if (assigner.merging && fn.kind !== 'reduce' && fn.aggregator !== undefined && fn.aggregator.merge === undefined) {
      throw new ConfigurationError(op, fn.name, `${op}: session windows merge, so the aggregator needs merge(a, b).`);
    }
    this.trigger = trigger;
    this.fastEventTrigger = !assigner.merging && isEventTimeTrigger(trigger as Trigger<unknown>);
    this.fold = foldOf(fn);
    this.listContents = contentsAppend(fn);
    this.mergeAppends = contentsMergeAppends(fn);
    this.backend.names.forEach((n, i) => {
      if (n.startsWith('trigger:')) this.triggerStateIndex.set(n.slice(8), i);
    });
    this.tctx = new TriggerCtx<T, K, R>(this);
  }

  // ---- time rules (docs/SEMANTICS.md §3.2) -----------------------------------------------------------------------------------

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
    const next = this.fold(raw === undefined ? NONE : raw === UNDEFINED ? undefined : raw, value);
    return next === undefined ? UNDEFINED : next;
  }

  /** Stored contents of a namespace in the form the window function takes (reduced value / aggregate / list). */
  private readContents(ns: Namespace): unknown {
    this.backend.setNamespace(ns);
    return this.contentsHandle().get();
  }

  private hasContents(ns: Namespace): boolean {
    this.backend.setNamespace(ns);
    return this.backend.get(CONTENTS) !== undefined;
  }

  private clearContents(ns: Namespace): void {
    this.backend.setNamespace(ns);
    this.backend.remove(CONTENTS);
  }

  /**
   * Flink's mergeNamespaces: target = merge(target, merge(sources…)), sources removed. Contents that are the elements'
   * array (see `contentsMergeAppends`) are merged in place: the sources' elements appended to the target's array, so
   * that a session growing by merges costs what it merges, and the next delta writes only those elements.
   */
  private mergeContents(target: Namespace, sources: readonly Namespace[]): void {
    const b = this.backend;
    if (this.mergeAppends) {
      this.appendContents(target, sources);
      return;
    }
    const combine = (a: unknown, c: unknown): unknown => {
      if (this.fn.kind === 'reduce') return this.fn.reduce(a as T, c as T);
      if (this.fn.aggregator !== undefined) return (this.fn.aggregator.merge as (x: unknown, y: unknown) => unknown)(a, c);
      return [...(a as unknown[]), ...(c as unknown[])];
    };
    const raw = (v: unknown): unknown => (v === UNDEFINED ? undefined : v);
    let merged: unknown;
    let have = false;
    for (const ns of sources) {
      b.setNamespace(ns);
      const v = b.get(CONTENTS);
      if (v === undefined) continue;
      b.remove(CONTENTS);
      merged = have ? combine(merged, raw(v)) : raw(v);
      have = true;
    }
    if (!have) return;
    b.setNamespace(target);
    const t = b.get(CONTENTS);
    const next = t === undefined ? merged : combine(raw(t), merged);
    b.put(CONTENTS, next === undefined ? UNDEFINED : next);
  }

  /** {@link mergeContents} of arrays of elements: appended in place, in order, onto the target's (or the first source's). */
  private appendContents(target: Namespace, sources: readonly Namespace[]): void {
    const b = this.backend;
    b.setNamespace(target);
    let into = b.get(CONTENTS) as unknown[] | undefined;
    let intoNs = target;
    for (const ns of sources) {
      b.setNamespace(ns);
      const items = b.get(CONTENTS) as unknown[] | undefined;
      if (items === undefined) continue;
      b.remove(CONTENTS);
      if (into === undefined) {
        into = items;
        intoNs = ns;
        continue;
      }
      if (intoNs === target) {
        b.setNamespace(target);
        b.appendTo(CONTENTS, into.length);
      }
      for (let k = 0; k < items.length; k++) into.push(items[k]);
    }
    // (the first source's array, the others appended to it, becomes the target's)
    if (into !== undefined && intoNs !== target) {
      b.setNamespace(target);
      b.put(CONTENTS, into);
    }
  }

  /** Emits the window's result when it has contents (a trigger's fire). */
  private fireIfContents(w: TimeWindow, stateNs: Namespace): void {
    if (!this.hasContents(stateNs)) return;
    this.emitWindow(w, this.readContents(stateNs));
  }

  // ---- records (docs/SEMANTICS.md §3.3) -------------------------------------------------------------------------------------

  /** A record: into each of its windows not late (merging them first for a merging assigner), else to `late`. */
  protected onRecord(r: StreamRecord<T, Key>): void {
    const a = this.assigner;
    const windows = a.assign(r.value, r.timestamp, a.isEventTime ? 0 : this.scheduler.now());
    let skipped = true;
    if (a.merging) {
      const set = this.mergingSet();
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
    // every window of it late: the element is, even when its own timestamp is above the watermark — a fractional
    // timestamp after its window's last millisecond (9.5 in [0, 10) once the watermark passed 9), or a custom
    // assigner's earlier window (docs/SEMANTICS.md §3.3: Flink ignores such an element). An element of no window at
    // all (sliding windows with gaps: slide > size) is not late, and ignored, as in Flink.
    if (skipped && a.isEventTime && (windows.length > 0 || r.timestamp + this.lateness <= this.watermark)) this.late(r);
  }

  /** Adds the element to the window's contents, calls the trigger (skipped for the default event-time trigger when
   * the window already had contents and has not ended: it would only re-register its timers), applies the result. */
  private addAndTrigger(r: StreamRecord<T, Key>, w: TimeWindow, stateNs: Namespace, fast: boolean): void {
    const b = this.backend;
    b.setNamespace(stateNs);
    const raw = b.get(CONTENTS);
    const existed = fast && raw !== undefined;
    if (this.listContents && raw !== undefined) {
      // a list grown in place: the next delta writes only the elements added since the last snapshot
      b.appendTo(CONTENTS, (raw as unknown[]).length);
      (raw as unknown[]).push(r.value);
    } else b.put(CONTENTS, this.addRaw(raw, r.value));
    let result: TriggerResult;
    if (existed && maxTimestamp(w) > this.watermark) result = 'continue';
    else result = this.callTrigger(w, () => this.trigger.onElement(r.value, r.timestamp, w, this.tctx));
    this.apply(result, w, stateNs);
    if (!existed) {
      this.backend.setNamespace(this.assigner.namespaceOf(w));
      this.registerCleanupTimer(w);
    }
  }

  private apply(result: TriggerResult, w: TimeWindow, stateNs: Namespace): void {
    if (result === 'fire' || result === 'fire-and-purge') this.fireIfContents(w, stateNs);
    if (result === 'purge' || result === 'fire-and-purge') this.clearContents(stateNs);
  }

  private callTrigger(w: TimeWindow, call: () => TriggerResult): TriggerResult {
    this.backend.setNamespace(this.assigner.namespaceOf(w));
    this.tctx.window = w;
    const result = call();
    if (result !== 'continue' && result !== 'fire' && result !== 'purge' && result !== 'fire-and-purge') this.badTriggerResult(result);
    return result;
  }

  /** A trigger result that is none of the four (e.g. Flink's `'FIRE'`, or nothing): refused, never taken as continue. */
  private badTriggerResult(result: unknown): never {
    throw new ConfigurationError(
      this.name,
      result,
      `${this.name}: the trigger returned ${describeValue(result)}; a trigger returns 'continue', 'fire', 'purge' or 'fire-and-purge' (lower case).`,
    );
  }

  // ---- merging (docs/SEMANTICS.md §1.4) ---------------------------------------------------------------------------------------

  /**
   * The current key's merging window set (the namespace set to none), told to record the changes of a set stored as
   * blocks block by block (a delta then writes the blocks that changed, docs/SEMANTICS.md §6.3).
   */
  private mergingSet(): MergingWindowSet {
    const b = this.backend;
    b.setNamespace('');
    return new MergingWindowSet(b.get(MERGING_SET) as PersistedMergingSet | undefined, this.setChanging);
  }

  private readonly setChanging = (blocks: readonly MergingSetEntry[][], block?: MergingSetEntry[]): void => {
    // (at (key, no namespace): a merge's callback may have moved the namespace meanwhile)
    const b = this.backend;
    b.changeBlocksAt(MERGING_SET, b.currentKeyId(), '', blocks, block);
  };

  private persistSet(set: MergingWindowSet): void {
    if (!set.dirty) return;
    const b = this.backend;
    b.setNamespace('');
    if (set.isEmpty) b.remove(MERGING_SET);
    // (a key's set in blocks, changed in place: each change was told as it came, see mergingSet)
    else if (!set.blocksChangedInPlace) b.put(MERGING_SET, set.persisted());
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

  // ---- timers (docs/SEMANTICS.md §3.4) -----------------------------------------------------------------------------------------

  /**
   * Restores state and timers (converting a session or slicing operator's checkpoint), then fits every window — those
   * with timers, and those without (kept for a lateness of `Infinity`, or by a trigger that registers none) — to this
   * operator's allowed lateness and trigger (docs/SEMANTICS.md §3.4):
   * - a window whose cleanup time here the restored watermark has passed is cleaned up now, as its cleanup timer would
   *   have done: kept, a late element could merge a session into it (a window late from birth, which fails the stream)
   *   or be dropped without its contents going;
   * - every other window gets its cleanup timer at this operator's cleanup time (with more lateness the old one comes
   *   too early, with less too late), and, with the built-in event-time trigger, the timer at its end its `onElement`
   *   would have registered if it has not ended (a window taken over from another trigger fires there).
   */
  override restore(snapshots: readonly OperatorSnapshot[]): void {
    super.restore(snapshots);
    if (this.assigner.merging) {
      // (checkpoints written before the sets were kept sorted)
      for (const set of (this.backend.column(MERGING_SET) as ReadonlyMap<KeyId, PersistedMergingSet>).values()) sortPersisted(set);
      this.convertSessions();
    } else this.convertSlices();
    if (!this.assigner.isEventTime) return;
    const b = this.backend;
    // per key and window: its timers
    const byWindow = new Map<KeyId, Map<Namespace, Timer[]>>();
    const windowsOf = (id: KeyId): Map<Namespace, Timer[]> => {
      let windows = byWindow.get(id);
      if (windows === undefined) byWindow.set(id, (windows = new Map()));
      return windows;
    };
    for (const t of b.allTimers('event')) {
      const windows = windowsOf(t.id);
      const timers = windows.get(t.ns);
      if (timers === undefined) windows.set(t.ns, [t]);
      else timers.push(t);
    }
    // and the windows without timers (kept for an allowed lateness of Infinity, or a trigger that registers none)
    if (this.assigner.merging) {
      for (const [id, set] of b.column(MERGING_SET) as ReadonlyMap<KeyId, PersistedMergingSet>) {
        const windows = windowsOf(id);
        for (const [start, end] of entriesOf(set)) {
          const ns = this.assigner.namespaceOf({ start, end });
          if (!windows.has(ns)) windows.set(ns, []);
        }
      }
    } else {
      for (const [ns, byKey] of b.namespaceMajorColumn(CONTENTS)) {
        for (const id of byKey.keys()) {
          const windows = windowsOf(id);
          if (!windows.has(ns)) windows.set(ns, []);
        }
      }
    }
    // the built-in event-time trigger of a window taken over from another trigger: the timer its onElement would
    // have registered, so that the window fires at its end (docs/SEMANTICS.md §3.4)
    const endTimer = isEventTimeTrigger(this.trigger as Trigger<unknown>);
    for (const [id, windows] of byWindow) {
      const key = keyOfId(id);
      for (const [ns, timers] of windows) {
        b.setCurrent(key, id);
        const w = this.assigner.windowOf(ns);
        if (this.isWindowLate(w)) {
          this.cleanUpRestored(w, timers);
          continue;
        }
        if (this.assigner.merging && this.stateOfWindow(w) === undefined) continue; // stale timers of a merged-away window
        // its cleanup timer at this operator's cleanup time (one there already stays as it is): with more lateness
        // the old one comes too early, with less too late — a late element could merge a session into the window
        // meanwhile (docs/SEMANTICS.md §3.4)
        this.registerCleanupTimer(w);
        if (endTimer && maxTimestamp(w) > this.watermark) b.registerTimer('event', maxTimestamp(w), ns);
      }
    }
  }

  /**
   * A checkpoint of the session operator (taken without allowed lateness; restored here with some, or another
   * trigger): each key's live sessions become windows of its merging-window set with their contents, and their
   * timers — the trigger's at the window's max timestamp and the cleanup timer — registered in the order the session
   * operator fires them (the sequence of each window's last change), as the general operator would have them.
   */
  private convertSessions(): void {
    const b = this.backend;
    const a = this.assigner;
    const sessionsIndex = b.names.indexOf('sessions');
    const column = b.column(sessionsIndex) as ReadonlyMap<KeyId, KeySessions>;
    if (column.size === 0) return;
    const timers: { readonly key: Key; readonly id: KeyId; readonly window: TimeWindow; readonly sequence: number }[] = [];
    for (const [id, flat] of [...column]) {
      const key = keyOfId(id);
      b.setCurrent(key, id);
      b.setNamespace('');
      b.remove(sessionsIndex);
      const sessions = liveSessions(flat);
      if (sessions.length === 0) continue;
      b.put(MERGING_SET, sessions.map(({ window: w }) => [w.start, w.end, w.start, w.end]));
      for (const { window: w, sequence, accumulator } of sessions) {
        b.setNamespace(a.namespaceOf(w));
        // (a session without contents, NONE: in the merging set only)
        if (accumulator !== NONE) b.put(CONTENTS, accumulator === undefined ? UNDEFINED : accumulator);
        timers.push({ key, id, window: w, sequence });
      }
    }
    timers.sort((x, y) => x.sequence - y.sequence);
    for (const { key, id, window: w } of timers) {
      b.setCurrent(key, id);
      b.registerTimer('event', maxTimestamp(w), a.namespaceOf(w));
      this.registerCleanupTimer(w);
    }
  }

  /**
   * A checkpoint of the slicing operator (tumbling or sliding windows on the built-in event-time trigger; restored here
   * with another trigger): each window not yet cleaned up gets, per key, the fold of the key's slices in it as its
   * contents, and its timers — the trigger's at its max timestamp unless it fired already, and the cleanup timer —
   * registered window by window in ascending order, keys in the order the slicing operator fires them (slice by slice
   * from the oldest, within a slice by first element: docs/SEMANTICS.md §3.12).
   */
  private convertSlices(): void {
    const b = this.backend;
    const a = this.assigner;
    const orderIndex = b.names.indexOf('order');
    if (orderIndex < 0) return;
    const orders = b.namespaceMajorColumn(orderIndex);
    if (orders.size === 0) return;
    const grid = sliceGridOf(a, (a.isEventTime ? eventTimeTrigger() : processingTimeTrigger()) as Trigger<T>, this.fn);
    if (grid === undefined) {
      throw new TidewaterError(this.name, undefined, `${this.name}: the snapshot has window slices that these windows cannot have had; it was not taken by a window operator of these windows.`);
    }
    // the slices, oldest first, each with its entries in firing order
    const slices: { readonly start: number; readonly entries: (readonly [KeyId, unknown])[] }[] = [];
    for (const [ns, byKey] of b.namespaceMajorColumn(CONTENTS)) {
      const seqs = orders.get(ns);
      const list: [number, KeyId, unknown][] = [];
      for (const [id, raw] of byKey) list.push([(seqs?.get(id) as number | undefined) ?? Number.MAX_SAFE_INTEGER, id, raw === UNDEFINED ? undefined : raw]);
      list.sort((x, y) => x[0] - y[0]);
      slices.push({ start: ns as number, entries: list.map(([, id, acc]) => [id, acc] as const) });
    }
    slices.sort((x, y) => x.start - y.start);
    for (const { start } of slices) b.dropNamespace(CONTENTS, start);
    for (const ns of [...orders.keys()]) b.dropNamespace(orderIndex, ns);
    // per window start, each key's fold of its slices in it (a window's own accumulator: merge(create(), first), as
    // the slicing operator folds), keys in order of first appearance
    const slide = grid.slicesPerSlide * grid.sliceSize;
    const size = grid.slicesPerWindow * grid.sliceSize;
    const merge = mergeOf(this.fn);
    const aggregator = this.fn.kind === 'reduce' ? undefined : this.fn.aggregator;
    const windows = new Map<number, Map<KeyId, unknown>>();
    for (const { start, entries } of slices) {
      const s = (start - grid.offset) / grid.sliceSize;
      for (let k = Math.ceil((s - grid.slicesPerWindow + 1) / grid.slicesPerSlide); k * grid.slicesPerSlide <= s; k++) {
        const windowStart = grid.offset + k * slide;
        let byKey = windows.get(windowStart);
        if (byKey === undefined) windows.set(windowStart, (byKey = new Map()));
        for (const [id, acc] of entries) {
          if (!byKey.has(id)) {
            const own = grid.slicesPerWindow > 1 && merge !== undefined && aggregator !== undefined && typeof acc === 'object' && acc !== null ? merge(aggregator.create(), acc) : acc;
            byKey.set(id, own);
          } else byKey.set(id, (merge as (x: unknown, y: unknown) => unknown)(byKey.get(id), acc));
        }
      }
    }
    for (const windowStart of [...windows.keys()].sort((x, y) => x - y)) {
      const w = { start: windowStart, end: windowStart + size };
      // cleaned up already where the slices were (under its lateness, or under the checkpoint's)
      if (this.isWindowLate(w) || maxTimestamp(w) <= this.slicesCleanedThrough) continue;
      const ns = a.namespaceOf(w);
      for (const [id, acc] of windows.get(windowStart) as Map<KeyId, unknown>) {
        b.setCurrent(keyOfId(id), id);
        b.setNamespace(ns);
        b.put(CONTENTS, acc === undefined ? UNDEFINED : acc);
        // (processing time: the clock fires it, at once if it has passed its end)
        if (!a.isEventTime) b.registerTimer('processing', maxTimestamp(w), ns);
        else if (maxTimestamp(w) > this.watermark) b.registerTimer('event', maxTimestamp(w), ns);
        this.registerCleanupTimer(w);
      }
    }
  }

  /** What a slicing operator's checkpoint says it cleaned up (windows ending at or before it are gone). */
  private slicesCleanedThrough = -Infinity;

  protected override restoreOperatorState(state: unknown): void {
    this.slicesCleanedThrough = cleanedThroughOf(state) ?? -Infinity;
  }

  /** A restored window of the current key past its cleanup time here: its contents, trigger state and timers go. */
  private cleanUpRestored(w: TimeWindow, timers: readonly Timer[]): void {
    for (const t of timers) this.backend.deleteTimer('event', t.timestamp, t.ns);
    const found = this.stateOfWindow(w);
    if (found !== undefined) this.cleanUp(w, found.stateNs, found.set);
  }

  /**
   * Where window `w` of the current key keeps its contents: its own namespace, or with a merging assigner its state
   * window's, with the key's merging set; undefined for a window merged away (whose timers are stale).
   */
  private stateOfWindow(w: TimeWindow): { readonly stateNs: Namespace; readonly set: MergingWindowSet | undefined } | undefined {
    const a = this.assigner;
    if (!a.merging) return { stateNs: a.namespaceOf(w), set: undefined };
    const set = this.mergingSet();
    const sw = set.stateWindowOf(w);
    return sw === undefined ? undefined : { stateNs: a.namespaceOf(sw), set };
  }

  /** A window's cleanup (docs/SEMANTICS.md §3.4): its contents, its trigger's state and timers, its place in the set. */
  private cleanUp(w: TimeWindow, stateNs: Namespace, set: MergingWindowSet | undefined): void {
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

  protected onTimer(t: Timer): void {
    const a = this.assigner;
    const w = a.windowOf(t.ns);
    const found = this.stateOfWindow(w);
    if (found === undefined) return; // a stale timer of a merged-away window
    const result = this.callTrigger(w, () =>
      t.domain === 'event' ? this.trigger.onEventTime(t.timestamp, w, this.tctx) : this.trigger.onProcessingTime(t.timestamp, w, this.tctx),
    );
    this.apply(result, w, found.stateNs);
    const cleanupDomain = a.isEventTime ? 'event' : 'processing';
    // (at or past its cleanup time: a window restored with less allowed lateness than its timer was registered with
    // is cleaned up by that timer, instead of staying forever; otherwise the cleanup timer fires at exactly that time)
    if (t.domain === cleanupDomain && t.timestamp >= this.cleanupTime(w)) this.cleanUp(w, found.stateNs, found.set);
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
      b.setNamespace(a.namespaceOf(m));
      const v = h.get();
      h.clear();
      if (v === undefined) continue;
      b.setNamespace(a.namespaceOf(into));
      h.add(v);
    }
    b.setNamespace(a.namespaceOf(into));
  }

  registerTimer(domain: 'event' | 'processing', ts: number): void {
    this.backend.registerTimer(domain, this.checkTimestamp(domain === 'event' ? 'registerEventTimeTimer' : 'registerProcessingTimeTimer', ts));
  }

  deleteTimer(domain: 'event' | 'processing', ts: number): void {
    this.backend.deleteTimer(domain, ts);
  }
}

/** The context a trigger gets: timers, its state and the watermark, on the operator's current key and window. */
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
