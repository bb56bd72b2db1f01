import type { Key } from '../elements/index.js';
import type { KeyId } from '../keys/keyId.js';

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
  readonly ns: string | number;
  readonly domain: 'event' | 'processing';
  live: boolean;
}

/**
 * A binary min-heap of timers by (timestamp, seq), with lazy deletion: deleted timers are marked dead and skipped
 * when they reach the top; the heap is rebuilt when the dead outnumber the live.
 *
 * @internal
 */
export class TimerQueue {
  private heap: Timer[] = [];
  private dead = 0;

  get size(): number {
    return this.heap.length - this.dead;
  }

  push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Timer;
      if (!less(t, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = t;
  }

  /** Marks a timer deleted (it stays in the heap until it surfaces or the heap is compacted). */
  kill(t: Timer): void {
    if (!t.live) return;
    t.live = false;
    this.dead++;
    if (this.dead > 1024 && this.dead * 2 > this.heap.length) this.compact();
  }

  /** The live timer with the smallest (timestamp, seq), or undefined. */
  peek(): Timer | undefined {
    this.dropDead();
    return this.heap[0];
  }

  /** Removes and returns the head if its timestamp is <= `limit`. */
  popUpTo(limit: number): Timer | undefined {
    this.dropDead();
    const top = this.heap[0];
    if (top === undefined || top.timestamp > limit) return undefined;
    this.removeTop();
    return top;
  }

  private dropDead(): void {
    while (this.heap.length > 0 && !(this.heap[0] as Timer).live) {
      this.removeTop();
      this.dead--;
    }
  }

  private removeTop(): void {
    const h = this.heap;
    const last = h.pop() as Timer;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(h[r] as Timer, h[l] as Timer) ? r : l;
      const child = h[c] as Timer;
      if (!less(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
  }

  private compact(): void {
    const live = this.heap.filter((t) => t.live);
    live.sort((a, b) => (less(a, b) ? -1 : 1));
    this.heap = live; // a sorted array is a valid heap
    this.dead = 0;
  }
}

function less(a: Timer, b: Timer): boolean {
  return a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.seq < b.seq);
}
