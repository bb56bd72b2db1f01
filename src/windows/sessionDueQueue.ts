// The sessions due of the session window operator (docs/ARCHITECTURE.md, "One record, end to end"): entries in (time,
// sequence) order, the order the general window operator's timers would fire in.
import type { Key } from '../elements/index.js';
import type { KeyId } from '../keys/keyId.js';

/** A key's sessions array, as the session operator keeps it (the queue only hands it back). */
type SessionsArray = unknown[];

/**
 * Entries appended in (time, sequence) order, in parallel arrays, taken from the front. @internal
 */
class DueRun {
  times: number[] = [];
  sequences: number[] = [];
  sessionIds: number[] = [];
  keyIds: KeyId[] = [];
  keys: Key[] = [];
  /** the key's sessions array when the entry was pushed (one that no longer holds the session is skipped) */
  sessions: SessionsArray[] = [];
  /** the first entry not taken */
  head = 0;

  get isEmpty(): boolean {
    return this.head >= this.times.length;
  }

  /** Whether an entry at (time, sequence) may be appended: it comes after the last one. */
  accepts(time: number, sequence: number): boolean {
    const last = this.times.length - 1;
    return last < this.head || time > (this.times[last] as number) || (time === this.times[last] && sequence > (this.sequences[last] as number));
  }

  append(time: number, sequence: number, sessionId: number, id: KeyId, key: Key, sessions: SessionsArray): void {
    this.times.push(time);
    this.sequences.push(sequence);
    this.sessionIds.push(sessionId);
    this.keyIds.push(id);
    this.keys.push(key);
    this.sessions.push(sessions);
  }

  /**
   * After the front entry was read: it goes (the taken prefix is dropped when the run is empty, and when it is most
   * of a long run — so that taken entries do not keep keys and sessions arrays alive).
   */
  dropFront(): void {
    const head = ++this.head;
    const length = this.times.length;
    if (head === length) {
      this.times.length = this.sequences.length = this.sessionIds.length = 0;
      this.keyIds.length = this.keys.length = this.sessions.length = 0;
      this.head = 0;
    } else if (head >= 1024 && 2 * head >= length) {
      this.times = this.times.slice(head);
      this.sequences = this.sequences.slice(head);
      this.sessionIds = this.sessionIds.slice(head);
      this.keyIds = this.keyIds.slice(head);
      this.keys = this.keys.slice(head);
      this.sessions = this.sessions.slice(head);
      this.head = 0;
    }
  }
}

/**
 * A binary min-heap of entries in (time, sequence) order. The heap itself is three typed arrays — per position the
 * entry's time, sequence and slot — so that a sift moves three numbers a level and compares in place; an entry's
 * other fields stay in its slot (written once when pushed, read once when taken; freed slots are reused). @internal
 */
class DueHeap {
  private times = new Float64Array(64);
  private sequences = new Float64Array(64);
  private slots = new Int32Array(64);
  size = 0;
  // per slot
  private readonly sessionIds: number[] = [];
  private readonly keyIds: (KeyId | undefined)[] = [];
  private readonly keys: (Key | undefined)[] = [];
  private readonly sessions: (SessionsArray | undefined)[] = [];
  private readonly freeSlots: number[] = [];

  /** The earliest entry's time and sequence (only when not empty). */
  get firstTime(): number {
    return this.times[0] as number;
  }
  get firstSequence(): number {
    return this.sequences[0] as number;
  }

  push(time: number, sequence: number, sessionId: number, id: KeyId, key: Key, sessions: SessionsArray): void {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.sessions.length;
      this.sessionIds.push(sessionId);
      this.keyIds.push(id);
      this.keys.push(key);
      this.sessions.push(sessions);
    } else {
      this.sessionIds[slot] = sessionId;
      this.keyIds[slot] = id;
      this.keys[slot] = key;
      this.sessions[slot] = sessions;
    }
    if (this.size === this.slots.length) this.grow();
    // sift up from a hole at the end: parents later than the entry move down into it
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.before(parent, time, sequence)) break;
      this.move(parent, i);
      i = parent;
    }
    this.place(i, time, sequence, slot);
  }

  /** Removes the earliest entry (only when not empty) into `into`'s fields. */
  pop(into: DueQueue): void {
    const times = this.times;
    const sequences = this.sequences;
    const slots = this.slots;
    const slot = slots[0] as number;
    into.time = times[0] as number;
    into.sequence = sequences[0] as number;
    into.sessionId = this.sessionIds[slot] as number;
    into.keyId = this.keyIds[slot] as KeyId;
    into.key = this.keys[slot] as Key;
    into.sessions = this.sessions[slot] as SessionsArray;
    const last = --this.size;
    if (last === 0) {
      // no entry left: every slot is free (the slots let go of their keys and sessions arrays)
      this.sessionIds.length = this.keyIds.length = this.keys.length = this.sessions.length = this.freeSlots.length = 0;
      return;
    }
    // (a free slot keeps no key or sessions array alive)
    this.keyIds[slot] = this.keys[slot] = this.sessions[slot] = undefined;
    this.freeSlots.push(slot);
    // the last entry sifts down from a hole at the root: earlier children move up into it
    const time = times[last] as number;
    const sequence = sequences[last] as number;
    const lastSlot = slots[last] as number;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= last) break;
      const r = c + 1;
      if (r < last && this.before(r, times[c] as number, sequences[c] as number)) c = r;
      if (!this.before(c, time, sequence)) break;
      this.move(c, i);
      i = c;
    }
    this.place(i, time, sequence, lastSlot);
  }

  /** Whether the entry at heap position `i` comes before (time, sequence). */
  private before(i: number, time: number, sequence: number): boolean {
    const t = this.times[i] as number;
    return t < time || (t === time && (this.sequences[i] as number) < sequence);
  }

  /** The entry at heap position `from` into position `to` (a sift moves entries into a hole instead of swapping). */
  private move(from: number, to: number): void {
    this.times[to] = this.times[from] as number;
    this.sequences[to] = this.sequences[from] as number;
    this.slots[to] = this.slots[from] as number;
  }

  private place(i: number, time: number, sequence: number, slot: number): void {
    this.times[i] = time;
    this.sequences[i] = sequence;
    this.slots[i] = slot;
  }

  private grow(): void {
    const cap = this.slots.length * 2;
    const times = new Float64Array(cap);
    times.set(this.times);
    const sequences = new Float64Array(cap);
    sequences.set(this.sequences);
    const slots = new Int32Array(cap);
    slots.set(this.slots);
    this.times = times;
    this.sequences = sequences;
    this.slots = slots;
  }
}

/**
 * The sessions due, in (time, sequence) order — the order the general operator's timers fire in. An entry names a
 * key and a session id at the session's max timestamp and sequence when it was pushed; a session that grew since is
 * pushed again when its entry comes up (the operator checks), one that merged away or fired is skipped. In-order
 * data pushes new sessions in that order already: they go to a run (appended, taken from its front, O(1)); the
 * others — entries pushed again, out-of-order data — go to a binary heap. The earliest entry is the earlier of the
 * two fronts; {@link take} moves it into `time`, `sequence`, `sessionId`, `keyId`, `key` and `sessions`.
 *
 * @example
 * ```ts
 * const due = new DueQueue();
 * const sessions: unknown[] = [1, 0, 10_000, 0, 0, 1]; // alice's session [0, 10 000): head, start, end, sequence, id, count
 * due.push(9_999, 0, 0, 'alice', 'alice', sessions);
 * due.take(9_998); // false: not due yet
 * due.take(9_999); // true: due.key === 'alice', due.sessionId === 0
 * ```
 *
 * @internal
 */
export class DueQueue {
  private readonly run = new DueRun();
  private readonly heap = new DueHeap();
  /** The entry {@link take} took: its time (the session's max timestamp when pushed) and sequence, */
  time = 0;
  sequence = 0;
  /** the session it names, the key's id and the key, */
  sessionId = 0;
  keyId: KeyId = '';
  key: Key = '';
  /** and the key's sessions array when it was pushed. */
  sessions: SessionsArray = [];

  /** Adds an entry: session `sessionId` of key `key` (id `id`, sessions array `sessions`) due at (time, sequence). */
  push(time: number, sequence: number, sessionId: number, id: KeyId, key: Key, sessions: SessionsArray): void {
    if (this.run.accepts(time, sequence)) this.run.append(time, sequence, sessionId, id, key, sessions);
    else this.heap.push(time, sequence, sessionId, id, key, sessions);
  }

  /** Takes the earliest entry if its time is at most `limit` (into the fields); false when there is none. */
  take(limit: number): boolean {
    const run = this.run;
    const heap = this.heap;
    if (!run.isEmpty) {
      const i = run.head;
      const tr = run.times[i] as number;
      if (heap.size === 0 || tr < heap.firstTime || (tr === heap.firstTime && (run.sequences[i] as number) < heap.firstSequence)) {
        if (tr > limit) return false;
        this.time = tr;
        this.sequence = run.sequences[i] as number;
        this.sessionId = run.sessionIds[i] as number;
        this.keyId = run.keyIds[i] as KeyId;
        this.key = run.keys[i] as Key;
        this.sessions = run.sessions[i] as SessionsArray;
        run.dropFront();
        return true;
      }
    }
    if (heap.size === 0 || heap.firstTime > limit) return false;
    heap.pop(this);
    return true;
  }
}
