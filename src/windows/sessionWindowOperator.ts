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
import { type TimeWindow, type WindowResult } from './types.js';
import { DueQueue } from './sessionDueQueue.js';
import { entriesOf, type PersistedMergingSet } from './mergingWindowSet.js';
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
 * A block of a key's open sessions, one flat array: `[head, session…]`, from index `head` on live sessions ascending
 * by start and never touching (touching sessions merge; so ends ascend too, and sessions fire front to back: a fired
 * session only moves `head`, the array is compacted now and then). Per session {@link SESSION_FIELDS} entries
 * `start, end, sequence, id, accumulator`. `sequence`: when the session's window last changed (the registration order
 * of the timer the general operator would have for it: the firing order at one timestamp); `id`: the session's
 * identity while it lives, as its due entries name it (a new one when a growth appends a new entry: the entries naming
 * an earlier id are skipped); the accumulator boxed when null or undefined. A block whose
 * `head` is its length holds none: its key's sessions all went, or moved into blocks.
 */
type SessionBlock = unknown[];

/**
 * A key's open sessions as stored: one {@link SessionBlock} while they are at most {@link MAX_BLOCK} (the common case,
 * one memory access away), else their blocks in order, each holding at least one live session and at most
 * {@link MAX_BLOCK}, so that a session made or merged away in the middle of many (out-of-order elements while the
 * watermark lags) moves at most a block, not all of the key's sessions. A key that once needed blocks keeps them
 * until its sessions are gone (a restore makes blocks that came down to one a single block again). Plain data: it snapshots with the state codec as it is (a block's first item is a
 * number, the blocks' an array).
 */
export type KeySessions = SessionBlock | SessionBlock[];
const SESSION_FIELDS = 5;
/** {@link SessionBlock}: the index of the first live session */
const HEAD = 0;
const START = 0;
const END = 1;
const SEQUENCE = 2;
const ID = 3;
const ACC = 4;
/** The most live sessions one block holds: a block with more is split in two. */
const MAX_BLOCK = 256;
/**
 * Sessions firing at one watermark: every {@link WARM_AHEAD} taken, the blocks of the run's due entries
 * {@link WARM_AHEAD} to 2 × {@link WARM_AHEAD} − 1 places after its front are read ahead (see `onWatermark`).
 */
const WARM_AHEAD = 8;

/** Whether a key's stored sessions are one block (else its blocks). */
function isBlock(stored: KeySessions): boolean {
  return typeof stored[HEAD] === 'number';
}

/** The number of live sessions of a block. */
function liveCount(block: SessionBlock): number {
  return (block.length - (block[HEAD] as number)) / SESSION_FIELDS;
}

/**
 * The position (0 = the first live session) of a block's first live session ending at or after `t`, or the number of
 * live sessions when none does: a binary search, as sessions never overlap and their ends ascend.
 *
 * @example
 * ```ts
 * firstSessionEndingFrom([1, 0, 10, 0, 0, 1, 20, 30, 1, 1, 1], 15); // 1: [20, 30) is the first to end at or after 15
 * ```
 */
function firstSessionEndingFrom(block: SessionBlock, t: number): number {
  const head = block[HEAD] as number;
  let lo = 0;
  let hi = (block.length - head) / SESSION_FIELDS;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((block[head + mid * SESSION_FIELDS + END] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The end of a block's last session. */
function lastEnd(block: SessionBlock): number {
  return block[block.length - SESSION_FIELDS + END] as number;
}

/** The index of a key's first block whose last session ends at or after `t`, or the number of blocks when none does. */
function firstBlockEndingFrom(blocks: SessionBlock[], t: number): number {
  let lo = 0;
  let hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lastEnd(blocks[mid] as SessionBlock) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The index in a block of the session `sessionId` that a due entry at `time` names, or −1. The session's end was
 * time + 1 when the entry was pushed and only grows, its start was below that and only falls, and sessions never
 * overlap — so it is among those ending after time − 1 and starting before time + 2 (margins for the rounding of
 * time = end − 1): a binary search, then those few.
 */
function dueSessionIn(block: SessionBlock, time: number, sessionId: number): number {
  // sessions mostly fire front to back: the first live one, without the search
  const head = block[HEAD] as number;
  if (head < block.length && block[head + ID] === sessionId) return head;
  // (one live session, not this one: an entry the session's growth replaced — the common case of in-order data)
  if (head + SESSION_FIELDS === block.length) return -1;
  for (let i = head + firstSessionEndingFrom(block, time - 1) * SESSION_FIELDS; i < block.length && (block[i + START] as number) < time + 2; i += SESSION_FIELDS) {
    if (block[i + ID] === sessionId) return i;
  }
  return -1;
}

/** A new block of the sessions at indices `from` … `to` of `block`. */
function sessionsBlock(block: SessionBlock, from: number, to: number): SessionBlock {
  const out: SessionBlock = [1];
  for (let i = from; i < to; i++) out.push(block[i]);
  return out;
}

/**
 * A key's sessions as blocks: its blocks, or its one block split into blocks of at most {@link MAX_BLOCK} sessions
 * (the block itself when it fits).
 *
 * @example
 * ```ts
 * blocksOf([1, 0, 30, 4, 0, 2]); // [[1, 0, 30, 4, 0, 2]]
 * ```
 */
function blocksOf(stored: KeySessions): SessionBlock[] {
  if (!isBlock(stored)) return stored as SessionBlock[];
  if (liveCount(stored) <= MAX_BLOCK) return [stored];
  const blocks: SessionBlock[] = [];
  for (let i = stored[HEAD] as number; i < stored.length; i += MAX_BLOCK * SESSION_FIELDS) blocks.push(sessionsBlock(stored, i, Math.min(stored.length, i + MAX_BLOCK * SESSION_FIELDS)));
  return blocks;
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
  for (const block of blocksOf(sessions)) {
    for (let i = block[HEAD] as number; i < block.length; i += SESSION_FIELDS) {
      out.push({ window: { start: block[i + START] as number, end: block[i + END] as number }, sequence: block[i + SEQUENCE] as number, accumulator: unboxAccumulator(block[i + ACC]) });
    }
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
  return agg?.merge !== undefined && agg.orderSensitive !== true;
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
  private readonly sessionsColumn: ReadonlyMap<KeyId, KeySessions>;
  private readonly due = new DueQueue();
  /** the sequence number of the next window change, and the id of the next session */
  private nextSequence = 0;
  private nextSessionId = 0;
  /** What {@link readAhead} read last: kept (and public), so that the compiler keeps the reads. @internal */
  readAheadSum = 0;

  /** Declares the state (`contents` and `merging-window-set` only to read the general operator's checkpoints). */
  constructor(args: CoreArgs<WindowResult<K, R>>, assigner: WindowAssigner<T>, options: WindowOperatorOptions<T, K>, fn: WindowFunction<T, K, R>) {
    const state: Record<string, StateDescriptor> = {
      contents: contentsDescriptor(fn),
      sessions: engineArrays(valueState<KeySessions>()),
      'merging-window-set': valueState<PersistedMergingSet>(),
    };
    super(args, state, undefined, assigner, options, fn);
    this.gap = assigner.gap as number;
    this.fold = foldOf(fn);
    this.merge = mergeOf(fn) as (a: unknown, b: unknown) => unknown;
    this.sessionsColumn = this.backend.column(SESSIONS_STATE) as ReadonlyMap<KeyId, KeySessions>;
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
    const stored = this.sessionsColumn.get(b.currentKeyId());
    if (stored !== undefined) {
      // the key's last session, and whether the window stays clear of the session before it. One block is told from
      // blocks by its end (a number, its last session's start; blocks hold arrays), and its head is not read: it lies
      // a cache line or more before the last session when a key holds many (the watermark lags). The session slot
      // before the last one then holds the session before it, or one that already fired (its end at most the
      // watermark + 1: an element reaching it takes the general path); a last session in the block's first slot has
      // none before it.
      let sessions = stored as SessionBlock;
      let last = stored.length - SESSION_FIELDS;
      let start = stored[last + START];
      let clearOfPrevious: boolean;
      if (typeof start === 'number') clearOfPrevious = last === 1 || !((stored[last - SESSION_FIELDS + END] as number) >= ts);
      else {
        sessions = stored[stored.length - 1] as SessionBlock;
        last = sessions.length - SESSION_FIELDS;
        start = sessions[last + START];
        clearOfPrevious =
          last === (sessions[HEAD] as number) ? stored.length === 1 || lastEnd(stored[stored.length - 2] as SessionBlock) < ts : (sessions[last - SESSION_FIELDS + END] as number) < ts;
      }
      const first = start as number;
      const end = sessions[last + END] as number;
      const windowEnd = ts + this.gap;
      // the key's last session takes the element alone: the window overlaps or touches it, not the one before
      if (first <= windowEnd && end >= ts && clearOfPrevious && isTimestamp(ts, MAX_OPERATOR_TIMESTAMP)) {
        if (b.isTracking()) this.changing(stored, sessions);
        if (ts < first || windowEnd > end) {
          // the window grows: the general operator's merge, a new timer. In-order data growing the end by a quarter of
          // the gap or more, the watermark near (else the entries pile up until it comes): a new due entry at the
          // run's end, under a new session id (the session's earlier entry names the old id: skipped when it comes
          // up). Else the earlier entry is pushed again when it comes up: a session growing in smaller steps (a busy
          // key) grows many times before its entry comes up, and one push then is cheaper than an entry per growth.
          if (ts < first) sessions[last + START] = ts;
          const newEnd = windowEnd > end ? (sessions[last + END] = windowEnd) : end;
          const seq = (sessions[last + SEQUENCE] = this.nextSequence++);
          if (4 * (windowEnd - end) >= this.gap && newEnd - this.watermark <= 4 * this.gap && this.due.appendsInOrder(newEnd - 1, seq, this.sessionsColumn.size)) {
            const sessionId = (sessions[last + ID] = this.nextSessionId++);
            this.due.append(newEnd - 1, seq, sessionId, b.currentKeyId(), b.currentKey() as Key, stored);
          }
        }
        sessions[last + ACC] = boxAccumulator(this.fold(unboxAccumulator(sessions[last + ACC]), value));
        return;
      }
    }
    this.addSlow(rec ?? { kind: 'record', value, timestamp: ts, key }, stored);
  }

  /** The general case: a new session, or one merging several, or a late element. */
  private addSlow(rec: StreamRecord<T, Key>, stored: KeySessions | undefined): void {
    const ts = rec.timestamp;
    if (!isTimestamp(ts, MAX_OPERATOR_TIMESTAMP)) this.assigner.assign(rec.value, ts, 0); // throws the assigner's error
    const b = this.backend;
    const windowEnd = ts + this.gap;
    // the sessions the window overlaps or touches: a run [lo, hi) of block s (the k-th when the key has blocks),
    // ascending, never touching
    let s: SessionBlock | undefined;
    let k = -1;
    let lo = 0;
    let hi = 0;
    if (stored !== undefined) {
      if (isBlock(stored)) s = stored;
      else {
        const blocks = stored as SessionBlock[];
        // the first block with a session ending at or after ts holds the run's start (the blocks before end before
        // ts), else the last block takes a new last session
        k = Math.min(firstBlockEndingFrom(blocks, ts), blocks.length - 1);
        s = blocks[k] as SessionBlock;
        // (before the blocks change: a block taken into this one goes)
        if (b.isTracking()) b.changeBlocks(SESSIONS_STATE, blocks, s);
      }
      // (after the last session — in-order data: the common case — without the search)
      lo = hi = lastEnd(s) < ts ? liveCount(s) : firstSessionEndingFrom(s, ts);
      for (;;) {
        const head = s[HEAD] as number;
        const n = (s.length - head) / SESSION_FIELDS;
        while (hi < n && (s[head + hi * SESSION_FIELDS + START] as number) <= windowEnd) hi++;
        // a run that goes on into the next block takes that block into this one
        const next = k < 0 ? undefined : (stored as SessionBlock[])[k + 1];
        if (hi < n || next === undefined || (next[(next[HEAD] as number) + START] as number) > windowEnd) break;
        for (let i = next[HEAD] as number; i < next.length; i++) s.push(next[i]);
        (stored as SessionBlock[]).splice(k + 1, 1);
      }
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
      if (stored === undefined) b.put(SESSIONS_STATE, (stored = [1, ts, windowEnd, seq, id, acc]));
      else {
        if (b.isTracking()) this.changing(stored, s as SessionBlock);
        const block = s as SessionBlock;
        const at = (block[HEAD] as number) + lo * SESSION_FIELDS;
        if (at === block.length) block.push(ts, windowEnd, seq, id, acc);
        else block.splice(at, 0, ts, windowEnd, seq, id, acc);
        if (liveCount(block) > MAX_BLOCK) stored = this.split(stored, k);
      }
      this.due.push(windowEnd - 1, seq, id, b.currentKeyId(), b.currentKey() as Key, stored);
      return;
    }
    const block = s as SessionBlock;
    const head = block[HEAD] as number;
    if (b.isTracking()) this.changing(stored as KeySessions, block);
    const first = head + lo * SESSION_FIELDS;
    const start = Math.min(ts, block[first + START] as number);
    const end = Math.max(windowEnd, block[head + (hi - 1) * SESSION_FIELDS + END] as number);
    let acc = unboxAccumulator(block[first + ACC]);
    if (hi - lo > 1) {
      // the general operator's merge (Flink's mergeNamespaces): the first session's contents (its state window)
      // merged with the merge of the others, in start order
      let others = unboxAccumulator(block[first + SESSION_FIELDS + ACC]);
      for (let i = lo + 2; i < hi; i++) others = this.mergeContents(others, unboxAccumulator(block[head + i * SESSION_FIELDS + ACC]));
      acc = this.mergeContents(acc, others);
    }
    if (hi - lo > 1 || start !== block[first + START] || end !== block[first + END]) block[first + SEQUENCE] = this.nextSequence++;
    block[first + START] = start;
    block[first + END] = end;
    block[first + ACC] = boxAccumulator(this.fold(acc, rec.value));
    if (hi - lo > 1) block.splice(first + SESSION_FIELDS, (hi - lo - 1) * SESSION_FIELDS);
    // (a block that took the next one in may be over the limit)
    if (liveCount(block) > MAX_BLOCK) this.split(stored as KeySessions, k);
  }

  /**
   * Records that the current key's block `block` of `stored` is about to change (tracking is on): a key with one block
   * is written whole by the next delta, one with blocks only its blocks that changed (docs/SEMANTICS.md §6.3).
   */
  private changing(stored: KeySessions, block: SessionBlock): void {
    if (isBlock(stored)) this.backend.touch(SESSIONS_STATE);
    else this.backend.changeBlocks(SESSIONS_STATE, stored as SessionBlock[], block);
  }

  /**
   * Splits the current key's block `k` (its one block: −1), which holds more than {@link MAX_BLOCK} sessions, in two
   * halves; a key with one block gets blocks (its block is emptied: due entries naming it look the key up). Returns
   * what the key stores now.
   */
  private split(stored: KeySessions, k: number): KeySessions {
    const block = (k < 0 ? stored : (stored as SessionBlock[])[k]) as SessionBlock;
    const head = block[HEAD] as number;
    const middle = head + (liveCount(block) >>> 1) * SESSION_FIELDS;
    const second = sessionsBlock(block, middle, block.length);
    if (k >= 0) {
      block.length = middle;
      (stored as SessionBlock[]).splice(k + 1, 0, second);
      return stored;
    }
    const blocks = [sessionsBlock(block, head, middle), second];
    block[HEAD] = block.length;
    this.backend.put(SESSIONS_STATE, blocks);
    return blocks;
  }

  // ---- firing -----------------------------------------------------------------------------------------------------

  /**
   * On a watermark: every session whose max timestamp it reached fires and goes, in (time, sequence) order.
   *
   * When many fire (a lagging watermark: its sessions are of keys at random, their blocks far apart in memory), the
   * blocks of the due entries of the in-order run a little ahead of its front are read every {@link WARM_AHEAD}
   * entries, in a loop of independent reads whose cache misses the CPU overlaps — instead of one miss after another
   * as each entry comes up (sessions 1 s · end only · 100 000 keys: the firing a third faster). Entries in the heap
   * (out-of-order data, sessions due again) and the blocks of keys with several are not read ahead.
   */
  protected override onWatermark(wm: number): void {
    const due = this.due;
    const b = this.backend;
    let taken = 0;
    while (!this.out.closed && due.take(wm)) {
      if (++taken % WARM_AHEAD === 0) this.readAhead(wm);
      const time = due.time;
      const seq = due.sequence;
      const sessionId = due.sessionId;
      const id = due.keyId;
      const key = due.key;
      let stored = due.sessions as KeySessions;
      if (isBlock(stored) && stored[HEAD] === stored.length) {
        // an emptied block: the key's sessions all went, or moved into blocks
        const now = this.sessionsColumn.get(id);
        if (now === undefined) continue;
        stored = now;
      }
      // the session, if still there (in the key's block, or in the first block that can hold it — and for a gap under
      // 2 ms, perhaps the next)
      let sessions: SessionBlock | undefined;
      let k = -1;
      let at: number;
      if (isBlock(stored)) at = dueSessionIn((sessions = stored), time, sessionId);
      else {
        const blocks = stored as SessionBlock[];
        at = -1;
        for (k = firstBlockEndingFrom(blocks, time - 1); k < blocks.length; k++) {
          at = dueSessionIn((sessions = blocks[k] as SessionBlock), time, sessionId);
          if (at >= 0 || (sessions[sessions.length - SESSION_FIELDS + START] as number) >= time + 2) break;
        }
      }
      if (at < 0 || sessions === undefined) continue; // merged into another session
      const end = sessions[at + END] as number;
      const current = sessions[at + SEQUENCE] as number;
      if (end - 1 !== time || current !== seq) {
        // the session grew since this entry: due later
        due.push(end - 1, current, sessionId, id, key, stored);
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
      this.removeSession(stored, k, at);
    }
  }

  /**
   * Reads the first slot of the blocks of the run's due entries {@link WARM_AHEAD} to 2 × {@link WARM_AHEAD} − 1
   * places after its front.
   */
  private readAhead(limit: number): void {
    let sum = 0;
    for (let ahead = WARM_AHEAD; ahead < 2 * WARM_AHEAD; ahead++) {
      const stored = this.due.sessionsAhead(ahead, limit);
      if (stored === undefined) break;
      // (a block's head; a key with blocks: its first block, not read)
      const head = stored[HEAD];
      if (typeof head === 'number') sum += head;
    }
    this.readAheadSum = sum;
  }

  /**
   * Removes the current key's session at index `at` of its block `k` (its one block: −1) — as sessions fire front to
   * back, mostly the block's first live one: `head` moves. A block left without sessions goes; a key left without any
   * leaves the state (its block or blocks emptied: due entries naming them find none).
   */
  private removeSession(stored: KeySessions, k: number, at: number): void {
    const b = this.backend;
    const sessions = (k < 0 ? stored : (stored as SessionBlock[])[k]) as SessionBlock;
    const head = sessions[HEAD] as number;
    if (sessions.length - head === SESSION_FIELDS) {
      if (k < 0 || stored.length === 1) {
        if (k < 0) sessions[HEAD] = sessions.length;
        else stored.length = 0;
        b.remove(SESSIONS_STATE);
        return;
      }
      if (b.isTracking()) b.changeBlocks(SESSIONS_STATE, stored);
      (stored as SessionBlock[]).splice(k, 1);
      return;
    }
    if (b.isTracking()) this.changing(stored, sessions);
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
    const general = b.column(MERGING_SET_STATE) as ReadonlyMap<KeyId, PersistedMergingSet>;
    if (general.size > 0) this.convertGeneral(general);
    const column = this.sessionsColumn;
    for (const [id, restored] of column) {
      const key = keyOfId(id);
      // (one block of more than MAX_BLOCK sessions — a checkpoint written before blocks — becomes blocks)
      const blocks = blocksOf(restored);
      const stored = blocks.length === 1 ? (blocks[0] as SessionBlock) : blocks;
      if (blocks.length === 0 || liveCount(blocks[0] as SessionBlock) === 0) {
        // (no live session: not written by this operator, which removes such a key's state)
        b.removeAt(SESSIONS_STATE, id, '');
        continue;
      }
      // (a value restored into another layout is written whole by the next delta: the chain has the restored one)
      if (stored !== restored) b.putAt(SESSIONS_STATE, id, '', stored);
      for (const block of blocks) {
        for (let i = block[HEAD] as number; i < block.length; i += SESSION_FIELDS) {
          const seq = block[i + SEQUENCE] as number;
          const sessionId = block[i + ID] as number;
          this.due.push((block[i + END] as number) - 1, seq, sessionId, id, key, stored);
          if (seq >= this.nextSequence) this.nextSequence = seq + 1;
          if (sessionId >= this.nextSessionId) this.nextSessionId = sessionId + 1;
        }
      }
    }
  }

  private convertGeneral(general: ReadonlyMap<KeyId, PersistedMergingSet>): void {
    const b = this.backend;
    const a = this.assigner;
    // each window's timer (the earliest registered, if its cleanup timer is separate) and the next registration number
    const { first: timers, next } = firstTimerSequences(b.allTimers('event'));
    let nextSeq = next;
    const converted: [KeyId, SessionBlock][] = [];
    for (const [id, mapping] of general) {
      const sessions: [number, number, number, unknown][] = [];
      for (const [ws, we, ss, se] of entriesOf(mapping)) {
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
      const flat: SessionBlock = [1];
      for (const [start, end, seq, acc] of sessions) flat.push(start, end, seq, this.nextSessionId++, boxAccumulator(acc));
      converted.push([id, flat]);
    }
    // the general operator's state goes (tracked: the next snapshot deletes it)
    for (const [id, mapping] of general) {
      for (const [, , ss, se] of entriesOf(mapping)) b.removeAt(CONTENTS, id, a.namespaceOf({ start: ss, end: se }));
      b.removeAt(MERGING_SET_STATE, id, '');
    }
    b.deleteAllTimers('event');
    for (const [id, flat] of converted) {
      if (flat.length === 1) continue;
      b.setCurrent(keyOfId(id), id);
      const blocks = blocksOf(flat);
      b.put(SESSIONS_STATE, blocks.length === 1 ? flat : blocks);
    }
    this.nextSequence = Math.max(this.nextSequence, nextSeq);
  }

  /** The present value of a state; `contents` (namespace: the session window `start,end`) from the key's sessions. */
  override peekState(key: unknown, name: string, namespace: string | number = ''): unknown {
    if (name === 'contents' && typeof namespace === 'string' && isKey(key)) {
      const sessions = this.sessionsColumn.get(keyIdOf(key));
      const w = this.assigner.windowOf(namespace);
      if (sessions === undefined) return undefined;
      for (const s of liveSessions(sessions)) {
        if (s.window.start === w.start && s.window.end === w.end) {
          return s.accumulator === NONE ? undefined : (this.fn as { aggregator: Aggregator<T, unknown, unknown> }).aggregator.result(s.accumulator);
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
    for (const { window: w } of liveSessions(sessions)) out.push(['event', w.end - 1, this.assigner.namespaceOf(w)]);
    return [...timers, ...out.sort((x, y) => x[1] - y[1])];
  }
}
