// A Set that tells checkpoints what it gained (docs/SEMANTICS.md §6.3): the state-owned set for distinct counts.

// (set by the class's static block: the only code that reaches its private journal)
let journalOf: (set: TrackedSet<unknown>) => unknown[] | undefined;
let restartJournal: (set: TrackedSet<unknown>) => unknown[] | undefined;
let markOf: (set: TrackedSet<unknown>) => object | undefined;
let setMark: (set: TrackedSet<unknown>, mark: object) => void;

/**
 * The items added to `set` since the snapshot writer last started its journal ({@link trackedSetRestart}), in the order
 * added; undefined when it is not journaling (never written by a snapshot, an item deleted since, or an object added
 * since the Set was last empty).
 *
 * @example
 * ```ts
 * const added = trackedSetJournal(set); // [41, 42]
 * ```
 * @internal
 */
export function trackedSetJournal(set: TrackedSet<unknown>): readonly unknown[] | undefined {
  return journalOf(set);
}

/**
 * Starts `set`'s journal afresh: the items added from now on. Returns the new journal (undefined, none, while the Set
 * holds objects: it is written whole).
 *
 * @example
 * ```ts
 * const journal = trackedSetRestart(set); // []
 * ```
 * @internal
 */
export function trackedSetRestart(set: TrackedSet<unknown>): readonly unknown[] | undefined {
  return restartJournal(set);
}

/**
 * What the snapshot writer remembers of `set` (its mark, `src/state/setAppends.ts`), kept in the Set itself: read and
 * written at every checkpoint for every large TrackedSet, without a map lookup.
 *
 * @example
 * ```ts
 * const mark = trackedSetMark(set) as TrackedMark | undefined;
 * ```
 * @internal
 */
export function trackedSetMark(set: TrackedSet<unknown>): object | undefined {
  return markOf(set);
}

/**
 * Keeps the snapshot writer's `mark` in `set` (see {@link trackedSetMark}).
 *
 * @example
 * ```ts
 * setTrackedSetMark(set, mark); // read back by trackedSetMark(set)
 * ```
 * @internal
 */
export function setTrackedSetMark(set: TrackedSet<unknown>, mark: object): void {
  setMark(set, mark);
}

/**
 * A `Set` whose checkpoints cost what it gained, not what it holds: the set to keep in state for distinct counts
 * (unique visitors, distinct bidders), as Flink's SQL planner keeps `COUNT(DISTINCT …)` in a `MapView`.
 *
 * It is a `Set` (every method, iteration in insertion order, `instanceof Set`); in a checkpointed value (a value,
 * reducing or aggregating state, a window's accumulator) it restores as a `TrackedSet`. Once a checkpoint has written
 * it, the Set notes the items added after; the next checkpoint writes only those (a sets row, docs/SEMANTICS.md §6.3)
 * without reading the items it held — a plain `Set` is compared item by item with a copy of what the last checkpoint
 * wrote, which costs as much as the Set's size at every checkpoint. A `delete` or `clear` makes the next checkpoint
 * write the Set whole (and the noting start again from there). The items noted are kept until a checkpoint writes
 * the Set again: at most as many as it holds. A TrackedSet that holds an object (added since it was last empty) is
 * written whole at every checkpoint, as a plain Set holding objects is: its items may change in place. Only its own
 * methods note items: an item added around them (`Set.prototype.add.call(set, x)`) changes the size the writer
 * expects, which then writes the Set whole. Sent to another thread (structured clone, msgpackr) it arrives as a plain
 * `Set`.
 *
 * Use it where a Set grows large and changes by additions between checkpoints; a small Set (under 16 items) is
 * written whole either way.
 *
 * @example
 * ```ts
 * const distinctBidders: Aggregator<Bid, TrackedSet<number>, number> = {
 *   create: () => new TrackedSet<number>(),
 *   add: (s, b) => s.add(b.bidder),
 *   result: (s) => s.size,
 * };
 * events$.pipe(keyBy((b) => b.auction), window(tumblingWindows(60_000)), aggregate(distinctBidders));
 * ```
 */
export class TrackedSet<T> extends Set<T> {
  /** Items added since the snapshot writer started the journal; undefined: not journaling (never written, or changed otherwise since). */
  #added: T[] | undefined = undefined;
  /**
   * Whether an object (or function) was added since the Set was last empty: its parts may change in place, and may hold
   * Sets of their own, so the Set is written whole at every checkpoint (no journal).
   */
  #holdsObjects = false;
  /** The snapshot writer's memory of this Set (src/state/setAppends.ts). */
  #mark: object | undefined = undefined;

  static {
    journalOf = (set) => set.#added;
    restartJournal = (set) => (set.#added = set.#holdsObjects ? undefined : []);
    markOf = (set) => set.#mark;
    setMark = (set, mark) => void (set.#mark = mark);
  }

  /**
   * A TrackedSet of `items` (in their order, duplicates once), like `new Set(items)`.
   *
   * @example
   * ```ts
   * const seen = new TrackedSet(['a', 'b']);
   * ```
   */
  constructor(items?: Iterable<T> | null) {
    // (the items are added after `super()`: Set's constructor calls `add`, which reads the journal, not yet there)
    super();
    if (items !== undefined && items !== null) for (const x of items) this.add(x);
  }

  /**
   * Adds `value` (noted for the next checkpoint when it is new).
   *
   * @example
   * ```ts
   * seen.add('c');
   * ```
   */
  override add(value: T): this {
    const before = this.size;
    super.add(value);
    if (this.size !== before) {
      if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
        this.#holdsObjects = true;
        this.#added = undefined;
      } else this.#added?.push(value);
    }
    return this;
  }

  /**
   * Deletes `value`; the next checkpoint then writes the Set whole.
   *
   * @example
   * ```ts
   * seen.delete('a'); // true
   * ```
   */
  override delete(value: T): boolean {
    const had = super.delete(value);
    if (had) this.#added = undefined;
    return had;
  }

  /**
   * Removes every item; the next checkpoint then writes the Set whole.
   *
   * @example
   * ```ts
   * seen.clear();
   * ```
   */
  override clear(): void {
    if (this.size > 0) this.#added = undefined;
    this.#holdsObjects = false;
    super.clear();
  }
}
