// The sessions due of the session window operator (docs/ARCHITECTURE.md, "One record, end to end"): entries in (time,
// sequence) order, the order the general window operator's timers would fire in.
import type { Key } from '../elements/index.js';
import type { KeyId } from '../keys/keyId.js';

/** A key's sessions array, as the session operator keeps it (the queue only hands it back). */
type SessionsArray = unknown[];

/**
 * The entries of a {@link DueRun}'s chunks: the first holds {@link FIRST_CHUNK}, each next one twice as many as the one
 * before, up to {@link CHUNK}; while the run holds {@link MANY} entries or more (the watermark lags), new chunks hold
 * {@link LARGE_CHUNK}: arrays large enough for V8 to allocate them outside the young generation, so that its
 * collections do not copy them (when entries are taken soon, young chunks are cheaper: storing a young object into an
 * old array costs the write barrier's slow path).
 */
const FIRST_CHUNK = 256;
const CHUNK = 2048;
const MANY = 65_536;
const LARGE_CHUNK = 32_768;
/** The entries beyond 4 per key the run may hold before growing sessions stop appending (see `appendsInOrder`). */
const APPEND_SLACK = 65_536;

/** One chunk of a {@link DueRun}: parallel arrays of `capacity` entries, and the chunk after it. @internal */
class DueChunk {
  readonly times: number[];
  readonly sequences: number[];
  readonly sessionIds: number[];
  readonly keyIds: (KeyId | undefined)[];
  readonly keys: (Key | undefined)[];
  /** the key's sessions array when the entry was pushed (one that no longer holds the session is skipped) */
  readonly sessions: (SessionsArray | undefined)[];
  next: DueChunk | undefined = undefined;

  constructor(readonly capacity: number) {
    this.times = new Array<number>(capacity).fill(0);
    this.sequences = new Array<number>(capacity).fill(0);
    this.sessionIds = new Array<number>(capacity).fill(0);
    this.keyIds = new Array<KeyId | undefined>(capacity).fill(undefined);
    this.keys = new Array<Key | undefined>(capacity).fill(undefined);
    this.sessions = new Array<SessionsArray | undefined>(capacity).fill(undefined);
  }
}

/**
 * Entries appended in (time, sequence) order, taken from the front: a list of chunks, each parallel arrays (of
 * {@link FIRST_CHUNK} to {@link LARGE_CHUNK} entries). Nothing is ever copied, and a chunk whose entries were all
 * taken goes (one is kept for reuse): in-order data appends an entry for most growths of a session of a quiet key, so
 * the run is on the hot path, and while the watermark lags it holds an entry per session. @internal
 */
class DueRun {
  /** the chunk of the front entry, and that entry's index in it */
  private head = new DueChunk(FIRST_CHUNK);
  private front = 0;
  /** the chunk appended to, and the index of its next entry */
  private tail = this.head;
  private end = 0;
  /** a chunk emptied and kept for the next one needed */
  private spare: DueChunk | undefined = undefined;
  size = 0;

  /** The front entry's time and sequence (only when not empty). */
  get firstTime(): number {
    return this.head.times[this.front] as number;
  }
  get firstSequence(): number {
    return this.head.sequences[this.front] as number;
  }

  /** Whether an entry at (time, sequence) may be appended: it comes after the last one. */
  accepts(time: number, sequence: number): boolean {
    if (this.size === 0) return true;
    // (with entries, the last one is in the tail chunk, before `end`)
    const chunk = this.tail;
    const last = this.end - 1;
    const t = chunk.times[last] as number;
    return time > t || (time === t && sequence > (chunk.sequences[last] as number));
  }

  append(time: number, sequence: number, sessionId: number, id: KeyId, key: Key, sessions: SessionsArray): void {
    let chunk = this.tail;
    let i = this.end;
    if (i === chunk.capacity) {
      const capacity = this.size >= MANY ? LARGE_CHUNK : Math.min(2 * chunk.capacity, CHUNK);
      const spare = this.spare;
      const next = spare !== undefined && spare.capacity === capacity ? spare : new DueChunk(capacity);
      this.spare = undefined;
      chunk.next = next;
      this.tail = chunk = next;
      i = 0;
    }
    chunk.times[i] = time;
    chunk.sequences[i] = sequence;
    chunk.sessionIds[i] = sessionId;
    chunk.keyIds[i] = id;
    chunk.keys[i] = key;
    chunk.sessions[i] = sessions;
    this.end = i + 1;
    this.size++;
  }

  /**
   * The sessions array of the entry `ahead` places after the front (`ahead` below {@link FIRST_CHUNK}: it is in the
   * front's chunk or the next), if there is one and it is due by `limit`; else undefined.
   */
  sessionsAhead(ahead: number, limit: number): SessionsArray | undefined {
    if (ahead >= this.size) return undefined;
    let chunk = this.head;
    let i = this.front + ahead;
    if (i >= chunk.capacity) {
      i -= chunk.capacity;
      chunk = chunk.next as DueChunk;
    }
    return (chunk.times[i] as number) <= limit ? chunk.sessions[i] : undefined;
  }

  /** Removes the front entry (only when not empty) into `into`'s fields (its slot lets go of the key and the array). */
  shift(into: DueQueue): void {
    const chunk = this.head;
    const i = this.front;
    into.time = chunk.times[i] as number;
    into.sequence = chunk.sequences[i] as number;
    into.sessionId = chunk.sessionIds[i] as number;
    into.keyId = chunk.keyIds[i] as KeyId;
    into.key = chunk.keys[i] as Key;
    into.sessions = chunk.sessions[i] as SessionsArray;
    chunk.keyIds[i] = chunk.keys[i] = chunk.sessions[i] = undefined;
    this.size--;
    if (this.size === 0) {
      // empty: start over at the front of this chunk (the tail too: a run's last entry is in its tail)
      this.front = this.end = 0;
    } else if (i + 1 === chunk.capacity) {
      // the chunk is used up: the next one becomes the head, this one the spare
      this.head = chunk.next as DueChunk;
      chunk.next = undefined;
      this.spare = chunk;
      this.front = 0;
    } else this.front = i + 1;
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
 * The sessions due, in (time, sequence) order — the order the general operator's timers fire in. An entry names a key
 * and a session id at the session's max timestamp and sequence when it was pushed; a session that grew since is pushed
 * again when its entry comes up (the operator checks), one that merged away or fired is skipped. In-order data pushes
 * new sessions in that order already: they go to a run (appended, taken from its front, O(1)), and so do the entries
 * the operator {@link append}s for sessions that grew by a large step (under a new session id: the earlier entry is
 * skipped); the others — entries pushed again, out-of-order data — go to a binary heap. The earliest entry is the
 * earlier of the two fronts; {@link take} moves it into `time`, `sequence`, `sessionId`, `keyId`, `key` and `sessions`.
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

  /**
   * Whether an entry at (time, sequence) goes to the end of the run — it comes after the run's last entry — and the run
   * holds fewer than `4 × liveKeys + APPEND_SLACK` (65 536) entries: the bound on the entries an in-order stream's
   * growing sessions leave behind (each growth appends one and retires the session's earlier one). Then {@link append}
   * it.
   */
  appendsInOrder(time: number, sequence: number, liveKeys: number): boolean {
    const run = this.run;
    return run.size < 4 * liveKeys + APPEND_SLACK && run.accepts(time, sequence);
  }

  /** Appends an entry {@link appendsInOrder} accepted. */
  append(time: number, sequence: number, sessionId: number, id: KeyId, key: Key, sessions: SessionsArray): void {
    this.run.append(time, sequence, sessionId, id, key, sessions);
  }

  /**
   * The sessions array of the run's entry `ahead` places after its front (`ahead` < 256), if it is due by `limit`
   * (for the operator to read its blocks ahead, see its `onWatermark`); else undefined.
   */
  sessionsAhead(ahead: number, limit: number): SessionsArray | undefined {
    return this.run.sessionsAhead(ahead, limit);
  }

  /** Takes the earliest entry if its time is at most `limit` (into the fields); false when there is none. */
  take(limit: number): boolean {
    const run = this.run;
    const heap = this.heap;
    if (run.size > 0) {
      const tr = run.firstTime;
      if (heap.size === 0 || tr < heap.firstTime || (tr === heap.firstTime && run.firstSequence < heap.firstSequence)) {
        if (tr > limit) return false;
        run.shift(this);
        return true;
      }
    }
    if (heap.size === 0 || heap.firstTime > limit) return false;
    heap.pop(this);
    return true;
  }
}
