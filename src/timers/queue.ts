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

/** Whether two namespaces are one, as a `Map` tells them apart (NaN is NaN, 0 is -0). */
const sameNamespace = (a: Namespace, b: Namespace): boolean => a === b || (a !== a && b !== b);

/**
 * The timers of one timestamp when it has had two or more, in registration order, indexed namespace → key for dedup
 * and lookups. (A timestamp with one timer holds the timer itself: a timestamp of its own per key — a timeout per key,
 * reset per record — is common.)
 */
class Bucket {
  timers: Timer[];
  cursor = 0;
  live = 1;
  readonly index = new Map<Namespace, Map<KeyId, Timer>>();
  constructor(
    readonly ts: number,
    first: Timer,
  ) {
    this.timers = [first];
    this.index.set(first.ns, new Map([[first.id, first]]));
  }
}

/**
 * The timers of one time domain. Timers are grouped by timestamp — windows of every key end at the same few
 * timestamps, so this keeps a small min-heap of distinct timestamps and, per timestamp, a bucket of timers in
 * registration order with a namespace → key index for dedup (no string keys, no per-timer heap work). A timestamp
 * with one timer holds the timer itself (a timeout per key, reset per record, makes a timestamp per timer: a bucket
 * with its `Map`s for each made that 4–7× slower), and the heap's stale timestamps (of timers deleted before their
 * time) are dropped when they surface or, once they are most of it, by making it again from the live timestamps.
 * Pops are in (timestamp, registration) order; a timer registered while firing at an earlier timestamp is popped
 * next, as from a heap of timers.
 *
 * @internal
 */
export class TimerService {
  /** per pending timestamp: its one timer (live), or its bucket */
  private readonly buckets = new Map<number, Bucket | Timer>();
  private heap: number[] = [];
  private count = 0;
  /**
   * What {@link timersOf} looks a key up in: a bucket's (namespace) maps, or a timestamp's one timer.
   */
  private indexMaps = 0;

  constructor(readonly domain: 'event' | 'processing') {}

  /** Number of pending timers. */
  get size(): number {
    return this.count;
  }

  /** Adds a timer unless one exists for (key, ns, ts); returns the timer added, or `undefined` when there was one. */
  register(key: Key, id: KeyId, ns: Namespace, timestamp: number, seq: number): Timer | undefined {
    let b = this.buckets.get(timestamp);
    if (b === undefined) {
      const t: Timer = { timestamp, seq, key, id, ns, domain: this.domain, live: true };
      this.buckets.set(timestamp, t);
      this.heapPush(timestamp);
      this.indexMaps++;
      this.count++;
      return t;
    }
    if (!(b instanceof Bucket)) {
      if (b.id === id && sameNamespace(b.ns, ns)) return undefined;
      // a second timer at this timestamp: the first one's bucket (its lookup is now its bucket's namespace map)
      b = new Bucket(timestamp, b);
      this.buckets.set(timestamp, b);
    } else if (this.find(b, id, ns) !== undefined) return undefined;
    const index = b.index;
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
    const t = b.index.get(ns)?.get(id);
    return t !== undefined && t.live ? t : undefined;
  }

  /** Deletes the timer for (key, ns, ts) if there is one; returns it. */
  delete(id: KeyId, ns: Namespace, timestamp: number): Timer | undefined {
    const b = this.buckets.get(timestamp);
    if (b === undefined) return undefined;
    if (!(b instanceof Bucket)) {
      if (b.id !== id || !sameNamespace(b.ns, ns)) return undefined;
      b.live = false;
      this.buckets.delete(timestamp); // its heap entry is skipped when it surfaces
      this.indexMaps--;
      this.count--;
      return b;
    }
    const t = this.find(b, id, ns);
    if (t === undefined) return undefined;
    t.live = false;
    const byKey = b.index.get(ns) as Map<KeyId, Timer>;
    byKey.delete(id);
    if (byKey.size === 0) {
      b.index.delete(ns);
      this.indexMaps--;
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
      if (b !== undefined && !(b instanceof Bucket)) {
        b.live = false;
        this.buckets.delete(ts);
        this.indexMaps--;
        this.count--;
        this.heapPop();
        return b;
      }
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
    this.indexMaps -= b.index.size;
  }

  /**
   * Appends a key's pending timers to `out`, in the order {@link all} gives them (by timestamp bucket, then
   * registration): a lookup per timestamp and namespace, for a few keys among many timers.
   */
  timersOf(id: KeyId, out: Timer[]): void {
    for (const b of this.buckets.values()) {
      if (!(b instanceof Bucket)) {
        if (b.id === id) out.push(b);
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
    for (const b of this.buckets.values()) {
      if (!(b instanceof Bucket)) yield b;
      else for (let i = b.cursor; i < b.timers.length; i++) if ((b.timers[i] as Timer).live) yield b.timers[i] as Timer;
    }
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
