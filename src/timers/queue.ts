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

/** The timers of one timestamp, in registration order, indexed namespace → key for dedup. */
class Bucket {
  timers: Timer[] = [];
  cursor = 0;
  live = 0;
  readonly index = new Map<Namespace, Map<KeyId, Timer>>();
  constructor(readonly ts: number) {}
}

/**
 * The timers of one time domain. Timers are grouped by timestamp — windows of every key end at the same few
 * timestamps, so this keeps a small min-heap of distinct timestamps and, per timestamp, a bucket of timers in
 * registration order with a namespace → key index for dedup (no string keys, no per-timer heap work).
 * Pops are in (timestamp, registration) order; a timer registered while firing at an earlier timestamp is popped
 * next, as from a heap of timers.
 *
 * @internal
 */
export class TimerService {
  private readonly buckets = new Map<number, Bucket>();
  private heap: number[] = [];
  private count = 0;
  /** the (timestamp, namespace) maps of the index: what {@link timersOf} looks a key up in */
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
      b = new Bucket(timestamp);
      this.buckets.set(timestamp, b);
      this.heapPush(timestamp);
    }
    let byKey = b.index.get(ns);
    if (byKey === undefined) {
      byKey = new Map();
      b.index.set(ns, byKey);
      this.indexMaps++;
    } else if (byKey.get(id)?.live === true) return undefined;
    const t: Timer = { timestamp, seq, key, id, ns, domain: this.domain, live: true };
    byKey.set(id, t);
    b.timers.push(t);
    b.live++;
    this.count++;
    return t;
  }

  /** Deletes the timer for (key, ns, ts) if there is one; returns it. */
  delete(id: KeyId, ns: Namespace, timestamp: number): Timer | undefined {
    const b = this.buckets.get(timestamp);
    const byKey = b?.index.get(ns);
    const t = byKey?.get(id);
    if (b === undefined || byKey === undefined || t === undefined || !t.live) return undefined;
    t.live = false;
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
    // stale timestamps (buckets deleted while their time had not come) are dropped when they surface; rebuild
    // the heap if they make up most of it
    if (h.length > 1024 && h.length > 2 * this.buckets.size) this.heap = [...new Set(h.filter((ts) => this.buckets.has(ts)))].sort((a, b) => a - b);
  }

  private heapPop(): void {
    const h = this.heap;
    const last = h.pop() as number;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (h[r] as number) < (h[l] as number) ? r : l;
      if ((h[c] as number) >= last) break;
      h[i] = h[c] as number;
      i = c;
    }
    h[i] = last;
  }
}
