import { checkBatch, checkpointStore, conflictError } from './checkpointStore.js';
import type { BatchOp, KeyValueBackend, StateStore } from './types.js';

/** A sorted in-memory {@link KeyValueBackend}: a `Map` plus a sorted key array (binary search). @internal */
export class MemoryBackend implements KeyValueBackend {
  private readonly map = new Map<string, string>();
  private readonly sorted: string[] = [];
  private closed = false;

  /** Index of the first key ≥ `key`. */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.sorted[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private check(): void {
    if (this.closed) throw new Error('memoryStore: the store is closed');
  }

  async get(key: string): Promise<string | undefined> {
    this.check();
    return this.map.get(key);
  }

  async batch(ops: readonly BatchOp[], expect?: ReadonlyMap<string, string | undefined>): Promise<void> {
    this.check();
    checkBatch(ops);
    for (const [key, value] of expect ?? []) if (this.map.get(key) !== value) throw conflictError('memory', key);
    // synchronous, so no reader sees a part of it
    for (const op of ops) {
      if (op.type === 'put') {
        if (!this.map.has(op.key)) this.sorted.splice(this.lowerBound(op.key), 0, op.key);
        this.map.set(op.key, op.value);
      } else if (this.map.delete(op.key)) {
        this.sorted.splice(this.lowerBound(op.key), 1);
      }
    }
  }

  private slice(gte: string, lt: string, limit?: number): string[] {
    const from = this.lowerBound(gte);
    const to = Math.max(from, this.lowerBound(lt));
    return this.sorted.slice(from, limit === undefined ? to : Math.min(to, from + limit));
  }

  async range(gte: string, lt: string, limit?: number): Promise<[key: string, value: string][]> {
    this.check();
    return this.slice(gte, lt, limit).map((k) => [k, this.map.get(k) as string]);
  }

  async keys(gte: string, lt: string): Promise<string[]> {
    this.check();
    return this.slice(gte, lt);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * A {@link StateStore} in memory: for tests, and for jobs that only need checkpoints to survive an operator failure
 * inside one process. Behaves like the durable stores (atomic batches, ordered ranges, the same checks).
 *
 * @example
 * ```ts
 * const store = memoryStore();
 * const job = runJob({ name: 'clicks', source, pipeline, checkpoint: { intervalMs: 1000, store } });
 * ```
 */
export function memoryStore(): StateStore {
  return checkpointStore(new MemoryBackend(), 'memory');
}
