// A Set that tells checkpoints what it gained (docs/SEMANTICS.md §6.3): the state-owned set for distinct counts.

// (set by the class's static block: the only code that reaches its private reader)
let gainedOf: (set: TrackedSet<unknown>, epoch: number, size: number) => SetIterator<unknown> | undefined;
let startReader: (set: TrackedSet<unknown>) => SetIterator<unknown>;
let restartReader: (set: TrackedSet<unknown>) => number | undefined;
let markOf: (set: TrackedSet<unknown>) => object | undefined;
let setMark: (set: TrackedSet<unknown>, mark: object) => void;
// (Set's own, as the module found it: a reader is a Set's iterator whatever replaces the method later)
const setValues = Set.prototype.values;

/**
 * The reader of what `set` gained since the reader `epoch` started: the iterator that write left after its last item,
 * which meets the items added since in the order added — `set.size - size` of them, read exactly that many (never
 * past the last item: an iterator that has once said `done` is done for good). Undefined when the reader is not
 * `epoch`, or the Set does not hold `size` (its size when that reader started) plus the items its `add` counted since —
 * an item added or deleted around its methods. Reading moves the reader on: once read, the items are not read again.
 *
 * @example
 * ```ts
 * const reader = trackedSetGained(set, mark.epoch, mark.size);
 * if (reader !== undefined) w.integerReader(reader, set.size - mark.size);
 * ```
 * @internal
 */
export function trackedSetGained(set: TrackedSet<unknown>, epoch: number, size: number): SetIterator<unknown> | undefined {
  return gainedOf(set, epoch, size);
}

/**
 * A new reader of `set`, at its first item, for a whole write to read every item with (then the reader is after the
 * last: see {@link trackedSetRestart}); until then, the reader of no mark (what a write that fails half-way leaves).
 *
 * @example
 * ```ts
 * writeReaderItems(w, trackedSetReader(set), set.size, depth);
 * ```
 * @internal
 */
export function trackedSetReader(set: TrackedSet<unknown>): SetIterator<unknown> {
  return startReader(set);
}

/**
 * Numbers the reader of `set` as the one the write that just read it to its last item (what it gained, see
 * {@link trackedSetGained}, or every item, see {@link trackedSetReader}) leaves, counts what `add` adds from there,
 * and returns that number (undefined: no reader, while the Set holds objects: it is written whole).
 *
 * @example
 * ```ts
 * mark.nextEpoch = trackedSetRestart(set); // 4
 * ```
 * @internal
 */
export function trackedSetRestart(set: TrackedSet<unknown>): number | undefined {
  return restartReader(set);
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
 * it, the Set counts the items added after; the next checkpoint writes only those (a sets row, docs/SEMANTICS.md
 * §6.3), read from the Set itself by an iterator left after the last item written (a Set's iterator meets the items
 * added after it in insertion order), without reading the items it held — a plain `Set` is compared item by item with
 * a copy of what the last checkpoint wrote, which costs as much as the Set's size at every checkpoint. `add` keeps no
 * copy of what it adds: it counts. A `delete` or `clear` makes the next checkpoint write the Set whole (and the
 * counting start again from there). (While a checkpoint's iterator waits, the engine may keep the table a Set grew out
 * of until the next checkpoint reads past it.) A TrackedSet that holds an object (added since it was last empty) is
 * written whole at every checkpoint, as a plain Set holding objects is: its items may change in place. Only its own
 * methods count items: an item added around them (`Set.prototype.add.call(set, x)`) changes the size the writer
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
  /**
   * The snapshot writer's reader: an iterator over this Set left after the last item the writer read (a Set's iterator
   * meets the items added after it in insertion order), so what the Set gained is read from the Set itself and `add`
   * keeps no copy. Undefined: not tracked (never written, or changed otherwise since).
   */
  #reader: SetIterator<T> | undefined = undefined;
  /** the reader's number (a new one at every restart: a mark made with another reader may not append) */
  #epoch = 0;
  /** the items `add` added since the reader started */
  #added = 0;
  /**
   * Whether an object (or function) was added since the Set was last empty: its parts may change in place, and may hold
   * Sets of their own, so the Set is written whole at every checkpoint (no reader).
   */
  #holdsObjects = false;
  /** The snapshot writer's memory of this Set (src/state/setAppends.ts). */
  #mark: object | undefined = undefined;

  static {
    gainedOf = (set, epoch, size) => {
      const reader = set.#reader;
      return reader !== undefined && set.#epoch === epoch && set.size === size + set.#added ? reader : undefined;
    };
    startReader = (set) => {
      const reader = setValues.call(set) as SetIterator<unknown>;
      set.#reader = reader;
      set.#added = 0;
      set.#epoch++;
      return reader;
    };
    restartReader = (set) => {
      if (set.#holdsObjects) {
        set.#reader = undefined;
        return undefined;
      }
      set.#added = 0;
      return set.#reader === undefined ? undefined : ++set.#epoch;
    };
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
    // (the items are added after `super()`: Set's constructor calls `add`, which counts in a field not yet there)
    super();
    if (items !== undefined && items !== null) for (const x of items) this.add(x);
  }

  /**
   * Adds `value` (counted for the next checkpoint when it is new).
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
        this.#reader = undefined;
      } else this.#added++;
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
    if (had) this.#reader = undefined;
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
    if (this.size > 0) this.#reader = undefined;
    this.#holdsObjects = false;
    super.clear();
  }
}
