// The session window operator (docs/ARCHITECTURE.md, "One record, end to end"): event-time session windows with a fixed
// gap, on the built-in event-time trigger, no allowed lateness, with a mergeable, order-insensitive aggregator. Per key
// its open sessions in one array; an element that falls into or extends a session costs one lookup and a few
// comparisons; the sessions due are kept in one queue ordered as the general operator's timers would fire
// (`sessionDueQueue.ts`). The general operator (`windowOperator.ts`) takes every other merging window;
// `operators/windowFunction.ts` chooses.
import type { Key, StreamRecord } from '../elements/index.js';
import type { CoreArgs } from '../core/keyedOperator.js';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';
import { engineArrays } from '../state/backend.js';
import { valueState, type Aggregator, type StateDescriptor } from '../state/descriptors.js';
import { UNDEFINED } from '../state/handles.js';
import { keyIdOf, keyOfId, type KeyId } from '../keys/keyId.js';
import { isKey } from '../keys/validate.js';
import type { Timer } from '../timers/queue.js';
import { isTimestamp, MAX_OPERATOR_TIMESTAMP } from '../time/timestamps.js';
import type { WindowAssigner } from './assigners.js';
import { isEventTimeTrigger, type Trigger } from './triggers.js';
import { ORDER_SENSITIVE, type TimeWindow, type WindowResult } from './types.js';
import { DueQueue } from './sessionDueQueue.js';
import {
  firstTimerSequences,
  windowTimerKey,
  boxAccumulator,
  CONTENTS,
  contentsDescriptor,
  foldOf,
  mergeOf,
  NONE,
  unboxAccumulator,
  WindowOperatorBase,
  type WindowFunction,
  type WindowOperatorOptions,
} from './windowOperatorBase.js';

/** The state index of `sessions` (see {@link KeySessions}). */
const SESSIONS_STATE = 1;
/** The general operator's merging-window set, read from its checkpoints on restore (then converted). */
const MERGING_SET_STATE = 2;

/**
 * A key's open sessions, one flat array (one memory access away): `[head, session…]`, from index `head` on the live
 * sessions ascending by start and never touching (touching sessions merge; so ends ascend too, and a key's sessions
 * fire front to back: a fired session only moves `head`, the array is compacted now and then). Per session
 * {@link SESSION_FIELDS} entries `start, end, sequence, id, accumulator`. `sequence`:
 * when the session's window last changed (the registration order of the timer the general operator would have for
 * it: the firing order at one timestamp); `id`: the session's identity while it lives (its due entries name it);
 * the accumulator boxed when null or undefined. Plain data: it snapshots with the state codec as it is.
 */
export type KeySessions = unknown[];
const SESSION_FIELDS = 5;
/** {@link KeySessions}: the index of the first live session */
const HEAD = 0;
const START = 0;
const END = 1;
const SEQUENCE = 2;
const ID = 3;
const ACC = 4;

/**
 * The position (0 = the first live session) of a key's first live session ending at or after `t`, or the number of
 * live sessions when none does: a binary search, as sessions never overlap and their ends ascend.
 *
 * @example
 * ```ts
 * firstSessionEndingFrom([1, 0, 10, 0, 0, 1, 20, 30, 1, 1, 1], 15); // 1: [20, 30) is the first to end at or after 15
 * ```
 */
function firstSessionEndingFrom(sessions: KeySessions, t: number): number {
  const head = sessions[HEAD] as number;
  let lo = 0;
  let hi = (sessions.length - head) / SESSION_FIELDS;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sessions[head + mid * SESSION_FIELDS + END] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The live sessions of a key's {@link KeySessions} as the session operator's checkpoint holds them: each window, the
 * sequence of its last change (its timer's place among the operator's timers), and its accumulator — for the general
 * operator, which converts them on restore into contents, a merging-window set and timers.
 *
 * @example
 * ```ts
 * liveSessions([1, 0, 30, 4, 0, 2]); // [{ window: { start: 0, end: 30 }, sequence: 4, accumulator: 2 }]
 * ```
 *
 * @internal
 */
export function liveSessions(sessions: KeySessions): { readonly window: TimeWindow; readonly sequence: number; readonly accumulator: unknown }[] {
  const out: { window: TimeWindow; sequence: number; accumulator: unknown }[] = [];
  for (let i = sessions[HEAD] as number; i < sessions.length; i += SESSION_FIELDS) {
    out.push({ window: { start: sessions[i + START] as number, end: sessions[i + END] as number }, sequence: sessions[i + SEQUENCE] as number, accumulator: unboxAccumulator(sessions[i + ACC]) });
  }
  return out;
}

/**
 * Whether the session operator takes a window: event-time session windows with a fixed gap, on the built-in
 * event-time trigger, with no allowed lateness and a mergeable, order-insensitive aggregator (`aggregate`, or
 * `processWindow` with one). Everything else goes to the general operator.
 *
 * @example
 * ```ts
 * takesSessions(sessionWindows(30_000), eventTimeTrigger(), 0, { kind: 'aggregate', aggregator: count(), name: 'aggregate' }); // true
 * ```
 *
 * @internal
 */
export function takesSessions<T, K, R>(a: WindowAssigner<T>, trigger: Trigger<T>, lateness: number, fn: WindowFunction<T, K, R>): boolean {
  if (a.kind !== 'session' || !a.isEventTime || a.gap === undefined || lateness !== 0) return false;
  if (!isEventTimeTrigger(trigger as Trigger<unknown>) || fn.kind === 'reduce') return false;
  const agg = fn.aggregator;
  return agg?.merge !== undefined && (agg as { [ORDER_SENSITIVE]?: boolean })[ORDER_SENSITIVE] !== true;
}

/**
 * The session window operator: Flink's merging-window semantics (docs/SEMANTICS.md §1.4, §3.3–3.5) for the sessions
 * {@link takesSessions} accepts, with per key one array of open sessions ({@link KeySessions}) instead of a merging
 * window set, contents per state window and timers. An element's window `[ts, ts + gap)` merges with the sessions it
 * overlaps or touches exactly as the general operator merges them (the same accumulators merged in the same order),
 * so results are the same; a session fires and goes when the watermark reaches its max timestamp, sessions of one
 * timestamp in the order their windows last changed (the general operator's timer order).
 *
 * State in checkpoints: `sessions` (per key, {@link KeySessions}). Checkpoints of the general operator for the same
 * window (its `contents`, `merging-window-set` and timers) are converted on restore.
 *
 * @example
 * ```ts
 * if (takesSessions(assigner, trigger, 0, fn)) keyedOperator('window', name, (args) => new SessionWindowOperatorCore(args, assigner, {}, fn));
 * ```
 *
 * @internal
 */
export class SessionWindowOperatorCore<T, K, R> extends WindowOperatorBase<T, K, R> {
  private readonly gap: number;
  private readonly fold: (acc: unknown, value: T) => unknown;
  private readonly merge: (a: unknown, b: unknown) => unknown;
  /** keyId → {@link KeySessions} (the `sessions` column) */
  private readonly sessionsColumn: Map<KeyId, KeySessions>;
  private readonly due = new DueQueue();
  /** the sequence number of the next window change, and the id of the next session */
  private nextSequence = 0;
  private nextSessionId = 0;

  /** Declares the state (`contents` and `merging-window-set` only to read the general operator's checkpoints). */
  constructor(args: CoreArgs<WindowResult<K, R>>, assigner: WindowAssigner<T>, options: WindowOperatorOptions<T, K>, fn: WindowFunction<T, K, R>) {
    const state: Record<string, StateDescriptor> = {
      contents: contentsDescriptor(fn),
      sessions: engineArrays(valueState<KeySessions>()),
      'merging-window-set': valueState<[number, number, number, number][]>(),
    };
    super(args, state, undefined, assigner, options, fn);
    this.gap = assigner.gap as number;
    this.fold = foldOf(fn);
    this.merge = mergeOf(fn) as (a: unknown, b: unknown) => unknown;
    this.sessionsColumn = this.backend.column(SESSIONS_STATE) as Map<KeyId, KeySessions>;
  }

  /** No keyed timers: sessions fire from {@link onWatermark}. */
  protected onTimer(t: Timer): void {
    void t;
  }

  // ---- records (docs/SEMANTICS.md §1.4, §3.3) ----------------------------------------------------------------------

  protected onRecord(rec: StreamRecord<T, Key>): void {
    this.add(rec.value, rec.timestamp, rec.key, rec);
  }

  protected override onFields(value: T, timestamp: number, key: Key): void {
    this.add(value, timestamp, key, undefined);
  }

  /**
   * A record (`rec`: itself, when it came as one — a late record goes to the late-data output as it came — else made
   * of its fields on the general path): its window `[ts, ts + gap)` into the key's sessions (the common case — into or
   * extending one session — inline).
   */
  private add(value: T, ts: number, key: Key, rec: StreamRecord<T, Key> | undefined): void {
    const b = this.backend;
    const sessions = this.sessionsColumn.get(b.currentKeyId());
    if (sessions !== undefined) {
      const last = sessions.length - SESSION_FIELDS;
      const head = sessions[HEAD] as number;
      const start = sessions[last + START] as number;
      const end = sessions[last + END] as number;
      const windowEnd = ts + this.gap;
      // the key's last session takes the element alone: the window overlaps or touches it, not the one before
      if (start <= windowEnd && end >= ts && (last === head || (sessions[last - SESSION_FIELDS + END] as number) < ts) && isTimestamp(ts, MAX_OPERATOR_TIMESTAMP)) {
        if (b.isTracking()) b.touch(SESSIONS_STATE);
        if (ts < start || windowEnd > end) {
          // the window grows: the general operator's merge, a new timer (the session's due entry is pushed again when
          // it comes up)
          if (ts < start) sessions[last + START] = ts;
          if (windowEnd > end) sessions[last + END] = windowEnd;
          sessions[last + SEQUENCE] = this.nextSequence++;
        }
        sessions[last + ACC] = boxAccumulator(this.fold(unboxAccumulator(sessions[last + ACC]), value));
        return;
      }
    }
    this.addSlow(rec ?? { kind: 'record', value, timestamp: ts, key }, sessions);
  }

  /** The general case: a new session, or one merging several, or a late element. */
  private addSlow(rec: StreamRecord<T, Key>, sessions: KeySessions | undefined): void {
    const ts = rec.timestamp;
    if (!isTimestamp(ts, MAX_OPERATOR_TIMESTAMP)) this.assigner.assign(rec.value, ts, 0); // throws the assigner's error
    const b = this.backend;
    const windowEnd = ts + this.gap;
    // the sessions the window overlaps or touches: a run [lo, hi) (ascending, never touching)
    let lo = 0;
    let hi = 0;
    const head = sessions === undefined ? 1 : (sessions[HEAD] as number);
    const n = sessions === undefined ? 0 : (sessions.length - head) / SESSION_FIELDS;
    if (sessions !== undefined) {
      lo = firstSessionEndingFrom(sessions, ts);
      hi = lo;
      while (hi < n && (sessions[head + hi * SESSION_FIELDS + START] as number) <= windowEnd) hi++;
    }
    if (lo === hi) {
      // a window of its own: late when its cleanup time (max timestamp, no lateness) has passed
      if (windowEnd - 1 <= this.watermark) {
        this.late(rec);
        return;
      }
      const id = this.nextSessionId++;
      const seq = this.nextSequence++;
      const acc = boxAccumulator(this.fold(NONE, rec.value));
      let array = sessions;
      if (array === undefined) b.put(SESSIONS_STATE, (array = [1, ts, windowEnd, seq, id, acc]));
      else {
        if (b.isTracking()) b.touch(SESSIONS_STATE);
        if (lo === n) array.push(ts, windowEnd, seq, id, acc);
        else array.splice(head + lo * SESSION_FIELDS, 0, ts, windowEnd, seq, id, acc);
      }
      this.due.push(windowEnd - 1, seq, id, b.currentKeyId(), b.currentKey() as Key, array);
      return;
    }
    const s = sessions as KeySessions;
    if (b.isTracking()) b.touch(SESSIONS_STATE);
    const first = head + lo * SESSION_FIELDS;
    const start = Math.min(ts, s[first + START] as number);
    const end = Math.max(windowEnd, s[head + (hi - 1) * SESSION_FIELDS + END] as number);
    let acc = unboxAccumulator(s[first + ACC]);
    if (hi - lo > 1) {
      // the general operator's merge (Flink's mergeNamespaces): the first session's contents (its state window)
      // merged with the merge of the others, in start order
      let others = unboxAccumulator(s[first + SESSION_FIELDS + ACC]);
      for (let i = lo + 2; i < hi; i++) others = this.mergeContents(others, unboxAccumulator(s[head + i * SESSION_FIELDS + ACC]));
      acc = this.mergeContents(acc, others);
    }
    if (hi - lo > 1 || start !== s[first + START] || end !== s[first + END]) s[first + SEQUENCE] = this.nextSequence++;
    s[first + START] = start;
    s[first + END] = end;
    s[first + ACC] = boxAccumulator(this.fold(acc, rec.value));
    if (hi - lo > 1) s.splice(first + SESSION_FIELDS, (hi - lo - 1) * SESSION_FIELDS);
  }

  // ---- firing -----------------------------------------------------------------------------------------------------

  /** On a watermark: every session whose max timestamp it reached fires and goes, in (time, sequence) order. */
  protected override onWatermark(wm: number): void {
    const due = this.due;
    const b = this.backend;
    while (!this.out.closed && due.take(wm)) {
      const time = due.time;
      const seq = due.sequence;
      const sessionId = due.sessionId;
      const id = due.keyId;
      const key = due.key;
      const sessions = due.sessions;
      // the session, if still there: its end was time + 1 when the entry was pushed and only grows, its start was below
      // that and only falls, and sessions never overlap — so it is among those ending after time − 1 and starting
      // before time + 2 (margins for the rounding of time = end − 1): a binary search, then those few
      let at = -1;
      for (let i = (sessions[HEAD] as number) + firstSessionEndingFrom(sessions, time - 1) * SESSION_FIELDS; i < sessions.length && (sessions[i + START] as number) < time + 2; i += SESSION_FIELDS) {
        if (sessions[i + ID] === sessionId) {
          at = i;
          break;
        }
      }
      if (at < 0) continue; // merged into another session
      const end = sessions[at + END] as number;
      const current = sessions[at + SEQUENCE] as number;
      if (end - 1 !== time || current !== seq) {
        // the session grew since this entry: due later
        due.push(end - 1, current, sessionId, id, key, sessions);
        continue;
      }
      b.setCurrent(key, id);
      try {
        // (a session without contents — restored from a purging trigger's checkpoint — fires nothing, as in Flink)
        const acc = unboxAccumulator(sessions[at + ACC]);
        if (acc !== NONE) this.emitSession(sessions[at + START] as number, end, acc);
      } catch (err) {
        this.failUser(err, { kind: 'timer', timestamp: time, domain: 'event', key });
        return;
      }
      this.removeSession(sessions, at);
    }
  }

  /** Removes the current key's session at index `at` (the first live one, as sessions fire front to back: `head` moves). */
  private removeSession(sessions: KeySessions, at: number): void {
    const b = this.backend;
    const head = sessions[HEAD] as number;
    if (sessions.length - head === SESSION_FIELDS) {
      // the array holds no live session any more (due entries naming it find none), and leaves the state
      sessions[HEAD] = sessions.length;
      b.remove(SESSIONS_STATE);
      return;
    }
    if (b.isTracking()) b.touch(SESSIONS_STATE);
    if (at !== head) {
      sessions.splice(at, SESSION_FIELDS);
      return;
    }
    const next = head + SESSION_FIELDS;
    if (next > 16 * SESSION_FIELDS && 2 * next > sessions.length) {
      // compact: the fired sessions before head go
      sessions.splice(1, next - 1);
      sessions[HEAD] = 1;
    } else sessions[HEAD] = next;
  }

  /**
   * Merges the contents of two sessions (`merge`, as the aggregator's); one without contents ({@link NONE}: purged by
   * the trigger of a restored checkpoint) is left out, as Flink merges only the state windows that hold state.
   */
  private mergeContents(a: unknown, b: unknown): unknown {
    return a === NONE ? b : b === NONE ? a : this.merge(a, b);
  }

  /** Emits the current key's session result. */
  private emitSession(start: number, end: number, acc: unknown): void {
    const fn = this.fn;
    // (+ 0: a session started by an element at −0 starts at 0, as the general operator's window parsed from its namespace)
    const w: TimeWindow = { start: start + 0, end };
    if (fn.kind === 'aggregate') this.emitOne(this.backend.currentKey() as unknown as K, w, fn.aggregator.result(acc), end - 1);
    else this.emitWindow(w, ((fn as { aggregator: Aggregator<T, unknown, unknown> }).aggregator).result(acc), true);
  }

  // ---- restore, inspection ----------------------------------------------------------------------------------------

  /**
   * Restores state, then the due queue from it. A checkpoint of the general operator (contents per state window, a
   * merging-window set per key, a timer per window) is converted: each window becomes a session with its state
   * window's contents, its sequence the registration number of its timer.
   */
  override restore(snapshots: readonly OperatorSnapshot[]): void {
    super.restore(snapshots);
    const b = this.backend;
    const general = b.column(MERGING_SET_STATE) as Map<KeyId, [number, number, number, number][]>;
    if (general.size > 0) this.convertGeneral(general);
    for (const [id, sessions] of this.sessionsColumn) {
      const key = keyOfId(id);
      for (let i = sessions[HEAD] as number; i < sessions.length; i += SESSION_FIELDS) {
        const seq = sessions[i + SEQUENCE] as number;
        const sessionId = sessions[i + ID] as number;
        this.due.push((sessions[i + END] as number) - 1, seq, sessionId, id, key, sessions);
        if (seq >= this.nextSequence) this.nextSequence = seq + 1;
        if (sessionId >= this.nextSessionId) this.nextSessionId = sessionId + 1;
      }
    }
  }

  private convertGeneral(general: Map<KeyId, [number, number, number, number][]>): void {
    const b = this.backend;
    const a = this.assigner;
    // each window's timer (the earliest registered, if its cleanup timer is separate) and the next registration number
    const { first: timers, next } = firstTimerSequences(b.allTimers('event'));
    let nextSeq = next;
    const converted: [KeyId, KeySessions][] = [];
    for (const [id, mapping] of general) {
      const sessions: [number, number, number, unknown][] = [];
      for (const [ws, we, ss, se] of mapping) {
        const raw = b.getAt(CONTENTS, id, a.namespaceOf({ start: ss, end: se }));
        // a window the general operator kept past its end for allowed lateness has fired: it is done
        if (we - 1 <= this.watermark) continue;
        const ns = a.namespaceOf({ start: ws, end: we });
        // (a window without a timer — kept with another trigger that registers none — fires after the others)
        const seq = timers.get(windowTimerKey(id, ns)) ?? nextSeq++;
        // (no contents: a purging trigger cleared them; the window stays to be merged with, as in the merging set)
        sessions.push([ws, we, seq, raw === undefined ? NONE : raw === UNDEFINED ? undefined : raw]);
      }
      sessions.sort((x, y) => x[0] - y[0]);
      const flat: KeySessions = [1];
      for (const [start, end, seq, acc] of sessions) flat.push(start, end, seq, this.nextSessionId++, boxAccumulator(acc));
      converted.push([id, flat]);
    }
    // the general operator's state goes (tracked: the next snapshot deletes it)
    for (const [id, mapping] of general) {
      for (const [, , ss, se] of mapping) b.removeAt(CONTENTS, id, a.namespaceOf({ start: ss, end: se }));
      b.removeAt(MERGING_SET_STATE, id, '');
    }
    b.deleteAllTimers('event');
    for (const [id, flat] of converted) {
      if (flat.length === 1) continue;
      b.setCurrent(keyOfId(id), id);
      b.put(SESSIONS_STATE, flat);
    }
    this.nextSequence = Math.max(this.nextSequence, nextSeq);
  }

  /** The present value of a state; `contents` (namespace: the session window `start,end`) from the key's sessions. */
  override peekState(key: unknown, name: string, namespace: string | number = ''): unknown {
    if (name === 'contents' && typeof namespace === 'string' && isKey(key)) {
      const sessions = this.sessionsColumn.get(keyIdOf(key));
      const w = this.assigner.windowOf(namespace);
      if (sessions === undefined) return undefined;
      for (let i = sessions[HEAD] as number; i < sessions.length; i += SESSION_FIELDS) {
        if (sessions[i + START] === w.start && sessions[i + END] === w.end) {
          const acc = unboxAccumulator(sessions[i + ACC]);
          return acc === NONE ? undefined : (this.fn as { aggregator: Aggregator<T, unknown, unknown> }).aggregator.result(acc);
        }
      }
      return undefined;
    }
    return super.peekState(key, name, namespace);
  }

  /** Pending timers of a key: the ones the general operator has (per session, its max timestamp). */
  override timersOf(key: unknown): [domain: 'event' | 'processing', timestamp: number, namespace: string | number][] {
    const timers = super.timersOf(key);
    const sessions = isKey(key) ? this.sessionsColumn.get(keyIdOf(key)) : undefined;
    if (sessions === undefined) return timers;
    const out: [domain: 'event' | 'processing', timestamp: number, namespace: string | number][] = [];
    for (let i = sessions[HEAD] as number; i < sessions.length; i += SESSION_FIELDS) {
      const w = { start: sessions[i + START] as number, end: sessions[i + END] as number };
      out.push(['event', w.end - 1, this.assigner.namespaceOf(w)]);
    }
    return [...timers, ...out.sort((x, y) => x[1] - y[1])];
  }
}
