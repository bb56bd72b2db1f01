import type { Key } from '../elements/index.js';
import { ConfigurationError, describeValue } from '../errors/index.js';
import { checkFunction, notCalled } from '../errors/options.js';

/**
 * An incremental aggregation: `create` an accumulator, `add` values into it, read the `result`; `merge` combines two
 * accumulators (needed when session windows merge, and for sliding windows folded from slices): it may change and
 * return `a`, and must neither change nor return `b`. Used by `aggregatingState` and the `aggregate` window function.
 *
 * Sliding windows fold a window from its slices (one accumulator per key and slice), in time order, and sessions
 * merge in time order: with a `merge`, the result must not depend on the order the elements arrived in — or set
 * `orderSensitive: true` (a first- or last-arrived value, a list in arrival order, as `collect()` and `topN` do), and
 * each window keeps its own accumulator, its elements added as they arrive, as in Flink (docs/SEMANTICS.md §4).
 *
 * @example
 * ```ts
 * const average: Aggregator<number, { sum: number; n: number }, number> = {
 *   create: () => ({ sum: 0, n: 0 }),
 *   add: (acc, v) => ({ sum: acc.sum + v, n: acc.n + 1 }),
 *   result: (acc) => acc.sum / acc.n,
 *   merge: (a, b) => ({ sum: a.sum + b.sum, n: a.n + b.n }),
 * };
 * ```
 */
export interface Aggregator<T, A, R> {
  create(): A;
  add(acc: A, value: T): A;
  result(acc: A): R;
  merge?(a: A, b: A): A;
  /**
   * Whether `result` depends on the order elements were added in (default false). True: sliding and session windows
   * keep an accumulator per window, added to in arrival order, instead of folding per-slice accumulators in time
   * order — Flink's results for such an aggregator.
   */
  readonly orderSensitive?: boolean;
}

/**
 * State time-to-live (Flink's `StateTtlConfig`), on processing time (the operator's scheduler clock).
 * An entry is expired when `lastAccess + ms <= now`.
 *
 * @example
 * ```ts
 * valueState<number>({ ttl: { ms: 60_000, update: 'on-read-and-write', visibility: 'never-return-expired' } });
 * ```
 */
export interface TtlConfig {
  /** Time to live in ms of processing time. */
  readonly ms: number;
  /** When the last-access timestamp is refreshed (default `'on-create-and-write'`). */
  readonly update?: 'on-create-and-write' | 'on-read-and-write';
  /** Whether an expired entry not yet cleaned up may still be returned (default `'never-return-expired'`). */
  readonly visibility?: 'never-return-expired' | 'return-expired-if-not-cleaned-up';
}

/**
 * Options of every state descriptor.
 *
 * @example
 * ```ts
 * const opts: StateOptions = { ttl: { ms: 3_600_000 } };
 * ```
 */
export interface StateOptions {
  readonly ttl?: TtlConfig;
}

/**
 * The kinds of keyed state.
 *
 * @example
 * ```ts
 * const k: StateKind = valueState<number>().kind; // 'value'
 * ```
 */
export type StateKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';

interface DescriptorBase<K extends StateKind> {
  readonly kind: K;
  readonly ttl: Required<TtlConfig> | undefined;
}

/**
 * Describes a value state holding one `T` per key. Made by {@link valueState}.
 *
 * @example
 * ```ts
 * const d: ValueStateDescriptor<number> = valueState<number>();
 * ```
 */
export interface ValueStateDescriptor<T> extends DescriptorBase<'value'> {
  /** @internal type carrier only; never set */
  readonly __value?: T;
}
/**
 * Describes a list state holding a list of `T` per key. Made by {@link listState}.
 *
 * @example
 * ```ts
 * const d: ListStateDescriptor<string> = listState<string>();
 * ```
 */
export interface ListStateDescriptor<T> extends DescriptorBase<'list'> {
  /** @internal type carrier only; never set */
  readonly __value?: T;
}
/**
 * Describes a map state holding a map `MK → MV` per key. Made by {@link mapState}.
 *
 * @example
 * ```ts
 * const d: MapStateDescriptor<string, number> = mapState<string, number>();
 * ```
 */
export interface MapStateDescriptor<MK extends Key, MV> extends DescriptorBase<'map'> {
  /** @internal type carrier only; never set */
  readonly __key?: MK;
  /** @internal type carrier only; never set */
  readonly __value?: MV;
}
/**
 * Describes a reducing state: values added are folded with `reduce(acc, value)`. Made by {@link reducingState}.
 *
 * @example
 * ```ts
 * const d: ReducingStateDescriptor<number> = reducingState((a: number, b: number) => a + b);
 * ```
 */
export interface ReducingStateDescriptor<T> extends DescriptorBase<'reducing'> {
  reduce(acc: T, value: T): T;
}
/**
 * Describes an aggregating state: values added go through an {@link Aggregator}. Made by {@link aggregatingState}.
 *
 * @example
 * ```ts
 * const d: AggregatingStateDescriptor<number, number, number> = aggregatingState(sumAggregator);
 * ```
 */
export interface AggregatingStateDescriptor<T, A, R> extends DescriptorBase<'aggregating'> {
  readonly aggregator: Aggregator<T, A, R>;
}

/**
 * Any state descriptor (the constraint of `process({ state })`).
 *
 * @example
 * ```ts
 * const state: Record<string, StateDescriptor> = { count: valueState<number>(), seen: mapState<string, boolean>() };
 * ```
 */
export type StateDescriptor =
  | ValueStateDescriptor<unknown>
  | ListStateDescriptor<unknown>
  | MapStateDescriptor<Key, unknown>
  | ReducingStateDescriptor<unknown>
  | AggregatingStateDescriptor<unknown, unknown, unknown>;

/**
 * Handle of a value state, scoped to the current key.
 *
 * @example
 * ```ts
 * const n = ctx.state.count.get() ?? 0;
 * ctx.state.count.set(n + 1);
 * ```
 */
export interface ValueState<T> {
  /** The value, or `undefined` when absent (or expired). */
  get(): T | undefined;
  /** Sets the value. State is held by reference: after mutating an object in place, call `set` again. */
  set(value: T): void;
  clear(): void;
}
/**
 * Handle of a list state, scoped to the current key.
 *
 * @example
 * ```ts
 * ctx.state.recent.add(value);
 * if (ctx.state.recent.get().length > 10) ctx.state.recent.set(ctx.state.recent.get().slice(-10));
 * ```
 */
export interface ListState<T> {
  /**
   * The list, as a new array (empty when absent): changing the array changes nothing stored, but its elements are the
   * stored ones, held by reference — after changing one in place, `set` the list again.
   */
  get(): T[];
  add(value: T): void;
  addAll(values: Iterable<T>): void;
  /** Replaces the list. */
  set(values: Iterable<T>): void;
  clear(): void;
}
/**
 * Handle of a map state, scoped to the current key. Map keys are {@link Key}s (compared by value, arrays too).
 *
 * @example
 * ```ts
 * ctx.state.perPage.set(click.page, (ctx.state.perPage.get(click.page) ?? 0) + 1);
 * ```
 */
export interface MapState<MK extends Key, MV> {
  get(key: MK): MV | undefined;
  set(key: MK, value: MV): void;
  has(key: MK): boolean;
  /** Removes an entry; true when it existed. */
  delete(key: MK): boolean;
  entries(): [MK, MV][];
  keys(): MK[];
  values(): MV[];
  /** Number of (unexpired) entries: O(1) without TTL; with TTL, a read of every entry (expired ones dropped, as `entries()`). */
  readonly size: number;
  clear(): void;
}
/**
 * Handle of a reducing state, scoped to the current key.
 *
 * @example
 * ```ts
 * ctx.state.max.add(reading.value);
 * ctx.state.max.get();
 * ```
 */
export interface ReducingState<T> {
  get(): T | undefined;
  add(value: T): void;
  clear(): void;
}
/**
 * Handle of an aggregating state, scoped to the current key.
 *
 * @example
 * ```ts
 * ctx.state.avg.add(reading.value);
 * ctx.state.avg.get(); // the aggregator's result
 * ```
 */
export interface AggregatingState<T, R> {
  get(): R | undefined;
  add(value: T): void;
  clear(): void;
}

/**
 * The handle type a descriptor gives in `ctx.state`.
 *
 * @example
 * ```ts
 * type H = StateHandle<ValueStateDescriptor<number>>; // ValueState<number>
 * ```
 */
export type StateHandle<D> =
  D extends { readonly kind: 'value'; readonly __value?: infer T }
    ? ValueState<T>
    : D extends { readonly kind: 'list'; readonly __value?: infer T }
      ? ListState<T>
      : D extends MapStateDescriptor<infer MK, infer MV>
        ? MapState<MK, MV>
        : D extends ReducingStateDescriptor<infer T>
          ? ReducingState<T>
          : D extends AggregatingStateDescriptor<infer T, infer _A, infer R>
            ? AggregatingState<T, R>
            : never;

/**
 * The typed handles of a state declaration `S`.
 *
 * @example
 * ```ts
 * type H = StateHandles<{ count: ValueStateDescriptor<number> }>; // { count: ValueState<number> }
 * ```
 */
export type StateHandles<S extends Record<string, StateDescriptor>> = { readonly [P in keyof S]: StateHandle<S[P]> };

function ttlOf(op: string, opts: StateOptions | undefined): Required<TtlConfig> | undefined {
  const ttl = opts?.ttl;
  if (ttl === undefined) return undefined;
  if (typeof ttl.ms !== 'number' || !(ttl.ms > 0) || !Number.isFinite(ttl.ms)) {
    throw new ConfigurationError(op, ttl.ms, `${op}: ttl.ms ${describeValue(ttl.ms)} must be a finite number of ms > 0.`);
  }
  const update = ttl.update ?? 'on-create-and-write';
  const visibility = ttl.visibility ?? 'never-return-expired';
  if (update !== 'on-create-and-write' && update !== 'on-read-and-write') {
    throw new ConfigurationError(op, update, `${op}: ttl.update must be 'on-create-and-write' or 'on-read-and-write'.`);
  }
  if (visibility !== 'never-return-expired' && visibility !== 'return-expired-if-not-cleaned-up') {
    throw new ConfigurationError(op, visibility, `${op}: ttl.visibility must be 'never-return-expired' or 'return-expired-if-not-cleaned-up'.`);
  }
  return { ms: ttl.ms, update, visibility };
}

/**
 * Declares a value state: one `T` per key.
 *
 * @example
 * ```ts
 * process({ state: { count: valueState<number>() }, onElement(v, ctx) { ctx.state.count.set((ctx.state.count.get() ?? 0) + 1); } });
 * ```
 */
export function valueState<T>(opts?: StateOptions): ValueStateDescriptor<T> {
  return { kind: 'value', ttl: ttlOf('valueState', opts) };
}

/**
 * Declares a list state: a list of `T` per key; with TTL each element expires on its own.
 *
 * @example
 * ```ts
 * process({ state: { recent: listState<Click>({ ttl: { ms: 60_000 } }) }, onElement(c, ctx) { ctx.state.recent.add(c); } });
 * ```
 */
export function listState<T>(opts?: StateOptions): ListStateDescriptor<T> {
  return { kind: 'list', ttl: ttlOf('listState', opts) };
}

/**
 * Declares a map state: a map `MK → MV` per key; with TTL each entry expires on its own.
 *
 * @example
 * ```ts
 * process({ state: { perPage: mapState<string, number>() }, onElement(c, ctx) { ctx.state.perPage.set(c.page, 1); } });
 * ```
 */
export function mapState<MK extends Key, MV>(opts?: StateOptions): MapStateDescriptor<MK, MV> {
  return { kind: 'map', ttl: ttlOf('mapState', opts) };
}

/**
 * Declares a reducing state: `add(v)` folds `v` into the stored value with `reduce(stored, v)`.
 *
 * @example
 * ```ts
 * process({ state: { max: reducingState((a: number, b: number) => Math.max(a, b)) }, onElement(v, ctx) { ctx.state.max.add(v); } });
 * ```
 */
export function reducingState<T>(reduce: (acc: T, value: T) => T, opts?: StateOptions): ReducingStateDescriptor<T> {
  if (typeof reduce !== 'function') throw new ConfigurationError('reducingState', reduce, 'reducingState: the first argument must be a function (acc, value) => acc.');
  return { kind: 'reducing', ttl: ttlOf('reducingState', opts), reduce };
}

/**
 * Declares an aggregating state: `add(v)` goes through the aggregator, `get()` returns its result.
 *
 * @example
 * ```ts
 * process({ state: { avg: aggregatingState(mean()) }, onElement(v, ctx) { ctx.state.avg.add(v); } });
 * ```
 */
export function aggregatingState<T, A, R>(aggregator: Aggregator<T, A, R>, opts?: StateOptions): AggregatingStateDescriptor<T, A, R> {
  checkAggregator('aggregatingState', aggregator);
  return { kind: 'aggregating', ttl: ttlOf('aggregatingState', opts), aggregator };
}

/**
 * Refuses what is not an {@link Aggregator} where `op` takes one (`aggregate`, `processWindow`'s `aggregate`,
 * `aggregatingState`): a built-in not called (`count` for `count()`), an object without `create`, `add` and `result`
 * functions, a `merge` or `orderSensitive` of the wrong type.
 *
 * @example
 * ```ts
 * checkAggregator('aggregate', count()); // passes
 * checkAggregator('aggregate', count); // throws: call it, count()
 * ```
 * @internal
 */
export function checkAggregator(op: string, aggregator: unknown): void {
  if (typeof aggregator === 'function') throw notCalled(op, 'aggregator', aggregator, 'count()');
  const a = aggregator as Partial<Aggregator<unknown, unknown, unknown>> | null;
  if (typeof a !== 'object' || a === null || typeof a.create !== 'function' || typeof a.add !== 'function' || typeof a.result !== 'function') {
    throw new ConfigurationError(
      op,
      aggregator,
      `${op}: ${describeValue(aggregator)} is not an aggregator: it needs create(), add(acc, value) and result(acc) (and merge(a, b) for session and sliding windows); e.g. count(), sum((v) => v.amount).`,
    );
  }
  if (a.merge !== undefined) checkFunction(op, a.merge, 'merge(a, b) or leave it out', { what: "the aggregator's merge" });
  if (a.orderSensitive !== undefined && typeof a.orderSensitive !== 'boolean') {
    throw new ConfigurationError(op, a.orderSensitive, `${op}: the aggregator's orderSensitive ${describeValue(a.orderSensitive)} must be true, false or left out.`);
  }
}
