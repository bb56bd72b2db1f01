import { ConfigurationError, TidewaterError, describeValue } from '../errors/index.js';
import { registerFactories } from '../errors/options.js';
import type { Aggregator } from '../state/descriptors.js';
import { addMerge } from './types.js';

function numberOf<T>(op: string, of: ((v: T) => number) | undefined, v: T): number {
  const x = of === undefined ? v : of(v);
  if (typeof x !== 'number' || Number.isNaN(x)) {
    throw new TidewaterError(
      op,
      v,
      `${op}: ${of === undefined ? 'value' : 'extracted value'} ${describeValue(x)} of ${describeValue(v)} is not a number. ` +
        `Pass an extractor returning a number, e.g. ${op}((v) => v.amount).`,
    );
  }
  return x;
}

function orderSensitive<T, A, R>(a: Aggregator<T, A, R>): Aggregator<T, A, R> {
  return { ...a, orderSensitive: true };
}

/**
 * Counts elements.
 *
 * @example
 * ```ts
 * clicks$.pipe(keyBy((c) => c.page), window(tumblingWindows(60_000)), aggregate(count()));
 * ```
 */
export function count(): Aggregator<unknown, number, number> {
  return { create: () => 0, add: (a) => a + 1, result: (a) => a, merge: addMerge };
}

/**
 * Sums numbers (the values, or `of(value)`). A non-number fails with an error naming the value.
 *
 * @example
 * ```ts
 * orders$.pipe(keyBy((o) => o.shop), window(tumblingWindows(3_600_000)), aggregate(sum((o) => o.amount)));
 * ```
 */
export function sum<T = number>(of?: (value: T) => number): Aggregator<T, number, number> {
  return { create: () => 0, add: (a, v) => a + numberOf('sum', of, v), result: (a) => a, merge: addMerge };
}

/**
 * The smallest number (of the values, or `of(value)`).
 *
 * @example
 * ```ts
 * readings$.pipe(keyBy((r) => r.sensor), window(tumblingWindows(60_000)), aggregate(min((r) => r.celsius)));
 * ```
 */
export function min<T = number>(of?: (value: T) => number): Aggregator<T, number, number> {
  return { create: () => Infinity, add: (a, v) => Math.min(a, numberOf('min', of, v)), result: (a) => a, merge: (a, b) => Math.min(a, b) };
}

/**
 * The largest number (of the values, or `of(value)`).
 *
 * @example
 * ```ts
 * readings$.pipe(keyBy((r) => r.sensor), window(tumblingWindows(60_000)), aggregate(max((r) => r.celsius)));
 * ```
 */
export function max<T = number>(of?: (value: T) => number): Aggregator<T, number, number> {
  return { create: () => -Infinity, add: (a, v) => Math.max(a, numberOf('max', of, v)), result: (a) => a, merge: (a, b) => Math.max(a, b) };
}

/**
 * The arithmetic mean (of the values, or `of(value)`).
 *
 * @example
 * ```ts
 * ticks$.pipe(keyBy((t) => t.symbol), window(slidingWindows(60_000, 5_000)), aggregate(mean((t) => t.price)));
 * ```
 */
export function mean<T = number>(of?: (value: T) => number): Aggregator<T, { sum: number; count: number }, number> {
  return {
    create: () => ({ sum: 0, count: 0 }),
    add: (a, v) => ({ sum: a.sum + numberOf('mean', of, v), count: a.count + 1 }),
    result: (a) => a.sum / a.count,
    merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
  };
}

/**
 * Collects the elements, in arrival order (merged sessions: the earlier window's first).
 *
 * @example
 * ```ts
 * clicks$.pipe(keyBy((c) => c.user), window(sessionWindows(1_800_000)), aggregate(collect()));
 * ```
 */
export function collect<T>(): Aggregator<T, T[], T[]> {
  return orderSensitive<T, T[], T[]>({
    create: () => [],
    add: collectAdd as (a: T[], v: T) => T[],
    result: (a) => [...a],
    merge: collectMerge as (a: T[], b: T[]) => T[],
  });
}

/** `collect()`'s add: pushes the element onto the array and returns it (see {@link contentsAppend}). */
function collectAdd(a: unknown[], v: unknown): unknown[] {
  a.push(v);
  return a;
}

/** `collect()`'s merge: the elements of `a`, then those of `b` (see {@link contentsMergeAppends}). */
function collectMerge(a: unknown[], b: unknown[]): unknown[] {
  return [...a, ...b];
}

/**
 * Whether a window's contents are the array of its elements, grown in place: a window function without reduce or
 * aggregator (`processWindow`), or whose aggregator adds with `collect()`'s own add (known by identity: an aggregator
 * made from `collect()` with an add of its own is not one that appends). The window operators then record an add as
 * an append, so that a delta writes only the elements added since the last snapshot (docs/SEMANTICS.md §6.3).
 *
 * @example
 * ```ts
 * const appends = contentsAppend(fn); // true for processWindow(…) and aggregate(collect())
 * ```
 * @internal
 */
export function contentsAppend(fn: { readonly kind: string; readonly aggregator?: { readonly add: unknown } | undefined }): boolean {
  if (fn.kind === 'reduce') return false;
  return fn.aggregator === undefined || fn.aggregator.add === collectAdd;
}

/**
 * Whether merging two windows' contents (sessions) is appending the second's elements to the first's array: a window
 * function without reduce or aggregator, or `collect()`'s own add and merge (known by identity). The general window
 * operator then merges in place, into the state window's array — a session that grows by merges costs what it
 * merges, not its size each time — and records it as an append (docs/SEMANTICS.md §6.3).
 *
 * @example
 * ```ts
 * const inPlace = contentsMergeAppends(fn); // true for processWindow(…) and aggregate(collect())
 * ```
 * @internal
 */
export function contentsMergeAppends(fn: { readonly kind: string; readonly aggregator?: { readonly add: unknown; readonly merge?: unknown } | undefined }): boolean {
  return contentsAppend(fn) && (fn.aggregator === undefined || fn.aggregator.merge === collectMerge);
}

/**
 * The `n` elements with the largest `by(value)`, largest first (ties: earlier first).
 *
 * @example
 * ```ts
 * // the 3 biggest orders per shop and hour
 * orders$.pipe(keyBy((o) => o.shop), window(tumblingWindows(3_600_000)), aggregate(topN(3, (o) => o.amount)));
 * ```
 */
export function topN<T>(n: number, by: (value: T) => number): Aggregator<T, { v: T; s: number }[], T[]> {
  if (!Number.isInteger(n) || n < 1) throw new ConfigurationError('topN', n, `topN: n ${describeValue(n)} must be an integer >= 1.`);
  if (typeof by !== 'function') throw new ConfigurationError('topN', by, 'topN: `by` must be a function (value) => number.');
  const insert = (acc: { v: T; s: number }[], item: { v: T; s: number }): { v: T; s: number }[] => {
    let i = acc.length;
    while (i > 0 && (acc[i - 1] as { s: number }).s < item.s) i--;
    if (i >= n) return acc;
    acc.splice(i, 0, item);
    if (acc.length > n) acc.pop();
    return acc;
  };
  return orderSensitive<T, { v: T; s: number }[], T[]>({
    create: () => [],
    add: (a, v) => insert(a, { v, s: numberOf('topN', by, v) }),
    result: (a) => a.map((x) => x.v),
    merge: (a, b) => b.reduce(insert, [...a]),
  });
}

registerFactories('aggregator', [
  [count, 'count()'],
  [sum, 'sum((v) => v.amount)'],
  [min, 'min((v) => v.price)'],
  [max, 'max((v) => v.price)'],
  [mean, 'mean((v) => v.value)'],
  [collect, 'collect()'],
  [topN, 'topN(3, (v) => v.score)'],
]);
