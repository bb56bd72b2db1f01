import type { KeyId } from '../keys/keyId.js';
import type { Namespace } from '../timers/queue.js';

/**
 * The namespaced (window) columns of a `KeyedStateBackend`, one per declared state, in either of two layouts:
 * key-major (`keyId → namespace → value`, the default) or namespace-major (`namespace → keyId → value`, for window
 * contents, where each element touches one of a few open windows, so the per-window map stays hot). Reads and
 * writes here are on the per-record path of namespaced state: plain `Map` operations, with the namespace-major
 * column's last map cached. Change tracking is not done here (see `ChangeTracker`, `src/state/tracking.ts`).
 *
 * @example
 * ```ts
 * const cols = new NamespacedColumns([false, true]);
 * cols.set(1, 'k', 5, 'v');
 * cols.get(1, 'k', 5); // 'v'
 * cols.cols[1]; // Map { 5 => Map { 'k' => 'v' } }
 * ```
 * @internal
 */
export class NamespacedColumns {
  /**
   * per state: keyId → namespace → value (key-major), or namespace → keyId → value (namespace-major). Read only:
   * writes go through {@link set}, {@link delete} and {@link deleteNamespace}, which keep the counts.
   */
  readonly cols: Map<KeyId, Map<Namespace, unknown>>[];
  /** namespace-major columns: the last namespace used and its map (elements mostly go to the same open window) */
  private readonly lastNs: unknown[] = [];
  private readonly lastMap: (Map<unknown, unknown> | undefined)[] = [];
  /** per state: the values held (kept as they change, so that counting them costs nothing per key) */
  private readonly counts: number[];

  /** `namespaceMajor[i]`: whether state `i` is stored namespace-major. */
  constructor(readonly namespaceMajor: readonly boolean[]) {
    this.cols = namespaceMajor.map(() => new Map<KeyId, Map<Namespace, unknown>>());
    this.counts = namespaceMajor.map(() => 0);
  }

  /** The map of namespace `ns` in a namespace-major column (cached: elements mostly go to the same open window). */
  private nsMap(i: number, ns: Namespace): Map<unknown, unknown> | undefined {
    const cached = this.lastMap[i];
    if (cached !== undefined && this.lastNs[i] === ns) return cached;
    const m = (this.cols[i] as Map<unknown, Map<unknown, unknown>>).get(ns);
    if (m !== undefined) {
      this.lastNs[i] = ns;
      this.lastMap[i] = m;
    }
    return m;
  }

  /** The value of state `i` at (id, ns), undefined when absent. */
  get(i: number, id: KeyId, ns: Namespace): unknown {
    if (this.namespaceMajor[i] === true) return this.nsMap(i, ns)?.get(id);
    return (this.cols[i] as Map<KeyId, Map<Namespace, unknown>>).get(id)?.get(ns);
  }

  /** Whether state `i` has a value at (id, ns). */
  has(i: number, id: KeyId, ns: Namespace): boolean {
    if (this.namespaceMajor[i] === true) return this.nsMap(i, ns)?.has(id) === true;
    return (this.cols[i] as Map<KeyId, Map<Namespace, unknown>>).get(id)?.has(ns) === true;
  }

  /** Stores the value of state `i` at (id, ns). */
  set(i: number, id: KeyId, ns: Namespace, v: unknown): void {
    const col = this.cols[i] as Map<unknown, Map<unknown, unknown>>;
    const major = this.namespaceMajor[i] === true;
    const outer = major ? ns : id;
    const inner = major ? id : ns;
    let m = major ? this.nsMap(i, ns) : col.get(outer);
    if (m === undefined) {
      m = new Map();
      col.set(outer, m);
      if (major) {
        this.lastNs[i] = ns;
        this.lastMap[i] = m;
      }
    }
    const before = m.size;
    m.set(inner, v);
    if (m.size !== before) this.counts[i] = (this.counts[i] as number) + 1;
  }

  /** Deletes the value of state `i` at (id, ns); returns whether there was one. */
  delete(i: number, id: KeyId, ns: Namespace): boolean {
    const col = this.cols[i] as Map<unknown, Map<unknown, unknown>>;
    const major = this.namespaceMajor[i] === true;
    const outer = major ? ns : id;
    const inner = major ? id : ns;
    const m = col.get(outer);
    if (m === undefined || !m.delete(inner)) return false;
    this.counts[i] = (this.counts[i] as number) - 1;
    if (m.size === 0) {
      col.delete(outer);
      if (major && this.lastNs[i] === ns) this.forget(i);
    }
    return true;
  }

  /** Deletes namespace `ns` of a namespace-major column whole (the caller checked the layout). */
  deleteNamespace(i: number, ns: Namespace): void {
    const col = this.cols[i] as Map<unknown, Map<unknown, unknown>>;
    this.counts[i] = (this.counts[i] as number) - (col.get(ns)?.size ?? 0);
    col.delete(ns);
    if (this.lastNs[i] === ns) this.forget(i);
  }

  /** Drops the cached last map of a namespace-major column (its namespace was deleted). */
  private forget(i: number): void {
    this.lastNs[i] = undefined;
    this.lastMap[i] = undefined;
  }

  /** Number of values in the namespaced column of state `i` (kept as they change: O(1)). */
  size(i: number): number {
    return this.counts[i] as number;
  }

  /** A key's values by namespace in a key-major column of state `i` (live; undefined when the key has none). */
  valuesOf(i: number, id: KeyId): ReadonlyMap<Namespace, unknown> | undefined {
    if (this.namespaceMajor[i] === true) throw new Error(`valuesOf: state ${i} is namespace-major`);
    return (this.cols[i] as Map<KeyId, Map<Namespace, unknown>>).get(id);
  }

  /** Namespaces of a key in the namespaced column of state `i`. */
  namespacesOf(i: number, id: KeyId): Namespace[] {
    if (this.namespaceMajor[i] !== true) {
      const m = (this.cols[i] as Map<KeyId, Map<Namespace, unknown>>).get(id);
      return m === undefined ? [] : [...m.keys()];
    }
    const out: Namespace[] = [];
    for (const [ns, m] of this.cols[i] as Map<unknown, Map<unknown, unknown>>) if (m.has(id)) out.push(ns as Namespace);
    return out;
  }

  /** Ids of the keys with a value in the namespaced column of state `i`. */
  ids(i: number): Iterable<KeyId> {
    if (this.namespaceMajor[i] !== true) return (this.cols[i] as Map<KeyId, Map<Namespace, unknown>>).keys();
    const ids = new Set<KeyId>();
    for (const m of (this.cols[i] as Map<unknown, Map<unknown, unknown>>).values()) for (const id of m.keys()) ids.add(id as KeyId);
    return ids;
  }
}
