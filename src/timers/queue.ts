import type { Key } from '../elements/index.js';
import type { KeyId } from '../keys/keyId.js';

/** A state/timer namespace: '' for none (process functions), a number or string for windows. @internal */
export type Namespace = string | number;

/**
 * A timer of the keyed timer service. One per (key, namespace, timestamp) per domain: registering it again is a
 * no-op. Ties between timers with the same timestamp fire in registration order (`seq`): Flink leaves that order
 * unspecified; tidewater fixes it.
 *
 * @internal
 */
export interface Timer {
  readonly timestamp: number;
  readonly seq: number;
  readonly key: Key;
  readonly id: KeyId;
  /** Namespace ('' for a process function; the window for windows). */
  readonly ns: Namespace;
  readonly domain: 'event' | 'processing';
  live: boolean;
}

/**
 * The timers of one timestamp, in registration order. Its namespace → key index (for dedup and lookups) is made when
 * a second timer comes: a timestamp of its own per key — a timeout per key, reset per record — is common, and then
 * each bucket holds one timer, found by a look at it.
 */
class Bucket {
  timers: Timer[];
  cursor = 0;
  live = 1;
  index: Map<Namespace, Map<KeyId, Timer>> | undefined = undefined;
  constructor(
    readonly ts: number,
    first: Timer,
  ) {
    this.timers = [first];
  }
}

/**
 * The timers of one time domain. Timers are grouped by timestamp — windows of every key end at the same few
 * timestamps, so this keeps a small min-heap of distinct timestamps and, per timestamp, a bucket of timers in
 * registration order with a namespace → key index for dedup (no string keys, no per-timer heap work). A bucket of
 * one timer has no index (a timeout per key, reset per record, makes a bucket per timer: three `Map`s each made that
 * 2–3× slower), and the heap's stale timestamps (of buckets emptied before their time) are dropped when they surface
 * or, once they are most of it, by making it again from the buckets' timestamps.
 * Pops are in (timestamp, registration) order; a timer registered while firing at an earlier timestamp is popped
 * next, as from a heap of timers.
 *
 * @internal
 */
export class TimerService {
  private readonly buckets = new Map<number, Bucket>();
  private heap: number[] = [];
  private count = 0;
  /**
   * What {@link timersOf} looks a key up in: a bucket's (namespace) maps, or a bucket of one timer without them.
   */
  private indexMaps = 0;

  constructor(readonly domain: 'event' | 'processing') {}

  /** Number of pending timers. */
  get size(): number {
    return this.count;
  }

  /** Adds a timer unless one exists for (key, ns, ts); returns the timer added, or `undefined` when there was one. */
  register(key: Key, id: KeyId, ns: Namespace, timestamp: number, seq: number): Timer | undefined {
    const b = this.buckets.get(timestamp);
    if (b === undefined) {
      const t: Timer = { timestamp, seq, key, id, ns, domain: this.domain, live: true };
      this.buckets.set(timestamp, new Bucket(timestamp, t));
      this.heapPush(timestamp);
      this.indexMaps++;
      this.count++;
      return t;
    }
    if (this.find(b, id, ns) !== undefined) return undefined;
    const index = b.index ?? this.indexBucket(b);
    let byKey = index.get(ns);
    if (byKey === undefined) {
      byKey = new Map();
      index.set(ns, byKey);
      this.indexMaps++;
    }
    const t: Timer = { timestamp, seq, key, id, ns, domain: this.domain, live: true };
    byKey.set(id, t);
    b.timers.push(t);
    b.live++;
    this.count++;
    return t;
  }

  /** The live timer of (key, ns) in bucket `b`, if any. */
  private find(b: Bucket, id: KeyId, ns: Namespace): Timer | undefined {
    if (b.index !== undefined) {
      const t = b.index.get(ns)?.get(id);
      return t !== undefined && t.live ? t : undefined;
    }
    // (no index: the bucket has had one timer; namespaces compared as a Map compares them, NaN equal to NaN)
    const t = b.timers[0] as Timer;
    return t.live && t.id === id && (t.ns === ns || (t.ns !== t.ns && ns !== ns)) ? t : undefined;
  }

  /** Makes the index of a bucket that has had one timer (a second one comes). */
  private indexBucket(b: Bucket): Map<Namespace, Map<KeyId, Timer>> {
    const index = new Map<Namespace, Map<KeyId, Timer>>();
    this.indexMaps--; // its lookups are now its index's maps
    for (let i = b.cursor; i < b.timers.length; i++) {
      const t = b.timers[i] as Timer;
      if (!t.live) continue;
      index.set(t.ns, new Map([[t.id, t]]));
      this.indexMaps++;
    }
    b.index = index;
    return index;
  }

  /** Deletes the timer for (key, ns, ts) if there is one; returns it. */
  delete(id: KeyId, ns: Namespace, timestamp: number): Timer | undefined {
    const b = this.buckets.get(timestamp);
    if (b === undefined) return undefined;
    const t = this.find(b, id, ns);
    if (t === undefined) return undefined;
    t.live = false;
    if (b.index !== undefined) {
      const byKey = b.index.get(ns) as Map<KeyId, Timer>;
      byKey.delete(id);
      if (byKey.size === 0) {
        b.index.delete(ns);
        this.indexMaps--;
      }
    }
    b.live--;
    this.count--;
    if (b.live === 0) this.dropBucket(b); // its heap entry is skipped when it surfaces
    else if (b.timers.length > 64 && b.live * 2 < b.timers.length - b.cursor) {
      b.timers = b.timers.slice(b.cursor).filter((x) => x.live);
      b.cursor = 0;
    }
    return t;
  }

  /** Removes and returns the next timer with timestamp <= limit. */
  pop(limit: number): Timer | undefined {
    for (;;) {
      const ts = this.heap[0];
      if (ts === undefined || ts > limit) return undefined;
      const b = this.buckets.get(ts);
      if (b !== undefined) {
        while (b.cursor < b.timers.length) {
          const t = b.timers[b.cursor++] as Timer;
          if (!t.live) continue;
          // popped timers stay in the index, dead (no Map shrinking while a bucket drains); the whole bucket goes
          // when it is exhausted
          t.live = false;
          b.live--;
          this.count--;
          if (b.live === 0) this.dropBucket(b);
          return t;
        }
        this.dropBucket(b);
      }
      this.heapPop();
    }
  }

  /** The earliest pending timestamp. */
  peek(): number | undefined {
    for (;;) {
      const ts = this.heap[0];
      if (ts === undefined || this.buckets.has(ts)) return ts;
      this.heapPop();
    }
  }

  /** The maps {@link timersOf} looks a key up in, one per pending (timestamp, namespace): its cost per key. */
  get lookupsPerKey(): number {
    return this.indexMaps;
  }

  /** Removes a bucket (drained or emptied) with its index. */
  private dropBucket(b: Bucket): void {
    if (this.buckets.get(b.ts) !== b) return;
    this.buckets.delete(b.ts);
    this.indexMaps -= b.index === undefined ? 1 : b.index.size;
  }

  /**
   * Appends a key's pending timers to `out`, in the order {@link all} gives them (by timestamp bucket, then
   * registration): a lookup per timestamp and namespace, for a few keys among many timers.
   */
  timersOf(id: KeyId, out: Timer[]): void {
    for (const b of this.buckets.values()) {
      if (b.index === undefined) {
        const t = b.timers[0] as Timer;
        if (t.live && t.id === id) out.push(t);
        continue;
      }
      const from = out.length;
      for (const byKey of b.index.values()) {
        const t = byKey.get(id);
        if (t !== undefined && t.live) out.push(t);
      }
      if (out.length - from > 1) {
        const mine = out.splice(from).sort((x, y) => x.seq - y.seq);
        for (const t of mine) out.push(t);
      }
    }
  }

  /** Every pending timer (in no particular order). */
  *all(): IterableIterator<Timer> {
    for (const b of this.buckets.values()) for (let i = b.cursor; i < b.timers.length; i++) if ((b.timers[i] as Timer).live) yield b.timers[i] as Timer;
  }

  private heapPush(x: number): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as number;
      if (parent <= x) break;
      h[i] = parent;
      i = p;
    }
    h[i] = x;
    // stale timestamps (buckets deleted while their time had not come) are dropped when they surface; once they
    // make up most of the heap, it is made again from the live ones (the buckets' timestamps, each once) in O(n)
    if (h.length > 1024 && h.length > 2 * this.buckets.size) {
      const live = [...this.buckets.keys()];
      for (let j = (live.length >> 1) - 1; j >= 0; j--) siftDown(live, j, live[j] as number);
      this.heap = live;
    }
  }

  private heapPop(): void {
    const h = this.heap;
    const last = h.pop() as number;
    if (h.length > 0) siftDown(h, 0, last);
  }
}

/** Puts `x` at position `i` of the min-heap `h` (whose subtrees below `i` are heaps), moving it down to its place. */
function siftDown(h: number[], i: number, x: number): void {
  const n = h.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && (h[r] as number) < (h[l] as number) ? r : l;
    if ((h[c] as number) >= x) break;
    h[i] = h[c] as number;
    i = c;
  }
  h[i] = x;
}
