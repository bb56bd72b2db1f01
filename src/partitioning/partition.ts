import { Subscriber, type Observable } from 'rxjs';
import type { ControlElement, Key, Stream, StreamElement, StreamRecord } from '../elements/index.js';
import { failUserFunction, isControlElement, OperatorObservable } from '../elements/plumbing.js';
import { ConfigurationError, describeValue, InvalidKeyError, InvalidPartitionError, NotAStreamElementError } from '../errors/index.js';
import { isMaxParallelism, keyGroupUnchecked } from '../keys/keyGroups.js';
import { isKey } from '../keys/validate.js';

const OP = 'partitionStream';

/**
 * A range partitioner: records are routed by a numeric or string sort key against `n − 1` ascending boundaries.
 * Partition `p` receives the records whose sort key `v` has exactly `p` boundaries `< v`: a boundary is the inclusive
 * upper end of the lower range, as in Flink's `CommonRangeBoundaries`. Without `boundaries`, they are sampled from a
 * prefix of the stream (see {@link partitionStream}).
 *
 * @example
 * ```ts
 * const byAmount: RangePartitioner<{ amount: number }> = { range: { by: (o) => o.amount, boundaries: [10, 100] } };
 * // amount ≤ 10 → partition 0; 10 < amount ≤ 100 → 1; amount > 100 → 2 (a boundary ends its range, as in Flink)
 * ```
 */
export interface RangePartitioner<T> {
  readonly range: {
    /** The sort key of a record's value: a string, or a number other than NaN (one type for all records). */
    readonly by: (value: T) => number | string;
    /** `n − 1` strictly ascending boundaries of one type; sampled from a prefix of the stream when omitted. */
    readonly boundaries?: readonly (number | string)[];
  };
}

/**
 * How {@link partitionStream} routes records (docs/SEMANTICS.md §9):
 * - `'hash'` (default): by key group, `partitionOfKeyGroup(keyGroupOf(record.key, maxParallelism), n, maxParallelism)`
 *   — the instance a keyed operator at parallelism `n` would own the key in (records must be keyed);
 * - `{ range: { by, boundaries? } }`: by a sort key against ordered boundaries ({@link RangePartitioner});
 * - `'round-robin'` (Flink's `rebalance`): partitions 0, 1, …, n − 1, 0, … (deterministic start at 0);
 * - `'rescale'`: with one upstream instance, the same round robin over all `n` partitions;
 * - `'broadcast'`: every record to every partition;
 * - `'global'`: every record to partition 0;
 * - `'forward'`: one-to-one, so only valid with `n = 1`;
 * - a function `(record, n) => index`, which must return an integer in `[0, n)`.
 *
 * @example
 * ```ts
 * const byShard: Partitioner<{ shard: number }> = (r, n) => r.value.shard % n;
 * const p: Partitioner<string> = 'round-robin';
 * ```
 */
export type Partitioner<T, K = unknown> =
  | 'hash'
  | RangePartitioner<T>
  | 'round-robin'
  | 'rescale'
  | 'broadcast'
  | 'global'
  | 'forward'
  | ((record: StreamRecord<T, K>, n: number) => number);

/**
 * Options of {@link partitionStream}.
 *
 * @example
 * ```ts
 * const options: PartitionOptions = { maxParallelism: 256, sampleSize: 500 };
 * ```
 */
export interface PartitionOptions {
  /** Number of key groups for `'hash'` (default 128, at most 32768); `n` must not exceed it. */
  readonly maxParallelism?: number;
  /** Range partitioning without boundaries: how many records the sampled prefix holds at most (default 1000). */
  readonly sampleSize?: number;
}

/**
 * What {@link partitionStream} returns: for a literal `n` up to 64 a tuple of `n` streams (so that
 * `const [a, b] = partitionStream(s, 2)` needs no `undefined` check), otherwise an array.
 *
 * @example
 * ```ts
 * type Two = Partitions<Stream<number>, 2>; // [Stream<number>, Stream<number>]
 * type Some = Partitions<Stream<number>, number>; // Stream<number>[]
 * ```
 */
export type Partitions<S, N extends number, Acc extends S[] = []> = number extends N
  ? S[]
  : Acc['length'] extends N
    ? Acc
    : Acc['length'] extends 64
      ? S[]
      : Partitions<S, N, [...Acc, S]>;

/** What {@link Router.route} returns besides a partition index. */
const BROADCAST = -1;
const HELD = -2;
const RELEASE = -3;

/**
 * A partitioner at work: `route` gives a record's partition, {@link BROADCAST}, {@link HELD} (kept back, a range
 * sample) or {@link RELEASE} (kept back, and the held records are to be released now); it throws on a bad record.
 * `release` hands over the held records with their partitions (nothing when none are held).
 */
interface Router<T, K> {
  route(record: StreamRecord<T, K>): number;
  /** Keeps a control element back in its place among held records (true), or lets it go now (false). */
  hold?(element: ControlElement): boolean;
  /** Delivers what is held, in its order: records to their partitions, control elements to every partition. */
  release?(deliver: (partition: number, element: StreamElement<T, K>) => void): void;
}

/** One partition's subscribers, copied on write so that delivery loops over a stable array. */
interface Partition<T, K> {
  observers: readonly Subscriber<StreamElement<T, K>>[];
  /** Eager fan-out: what came for the partition before its first subscriber (then undefined). */
  pending: StreamElement<T, K>[] | undefined;
}

/**
 * Where the fan-out is: waiting for every partition's first subscriber, running, ended (the source completed or
 * failed, or a partitioner failed), or released (every partition unsubscribed, so the source was unsubscribed).
 */
type Phase = 'waiting' | 'running' | 'ended' | 'released';

/**
 * The fan-out behind {@link partitionStream}: `n` hot partitions (multicast, like subjects), the one subscription to
 * the source, the partitioner. Per element it calls the partitioner and delivers to the chosen partition's
 * subscribers; no allocation per element.
 */
class Fanout<T, K> extends Subscriber<StreamElement<T, K>> {
  private readonly partitions: Partition<T, K>[] = [];
  /** Partitions with at least one subscriber. */
  private covered = 0;
  private phase: Phase = 'waiting';
  /** How the source ended, replayed to subscribers that come later: `undefined` = completed. */
  private ended: { readonly error: unknown } | undefined;
  private readonly deliverTo = (p: number, e: StreamElement<T, K>): void => this.deliver(p, e);

  constructor(
    private readonly source: Stream<T, K>,
    n: number,
    private readonly router: Router<T, K>,
    /** Subscribe the source at once, keeping each partition's elements until its first subscriber (see {@link eagerPartitions}). */
    eager = false,
  ) {
    super();
    for (let i = 0; i < n; i++) this.partitions.push({ observers: [], pending: eager ? [] : undefined });
    if (eager) {
      this.phase = 'running';
      this.source.subscribe(this);
    }
  }

  /** The observable of partition `index`. */
  output(index: number): Stream<T, K> {
    return new OperatorObservable<StreamElement<T, K>>((subscriber) => this.attach(index, subscriber));
  }

  private attach(index: number, subscriber: Subscriber<StreamElement<T, K>>): void {
    const partition = this.partitions[index] as Partition<T, K>;
    // (eager: what the partition was sent meanwhile goes first, in order; what comes during it waits its turn)
    while (partition.pending !== undefined && partition.pending.length > 0 && !subscriber.closed) {
      const held = partition.pending;
      partition.pending = [];
      for (const e of held) subscriber.next(e);
    }
    partition.pending = undefined;
    if (this.phase === 'ended') {
      if (this.ended === undefined) subscriber.complete();
      else subscriber.error(this.ended.error);
      return;
    }
    if (this.phase === 'released') {
      subscriber.error(
        new ConfigurationError(
          OP,
          index,
          `${OP}: partition ${index} was subscribed after every partition had unsubscribed and the source subscription had ended. ` +
            'The source is subscribed once: call partitionStream again for a new run.',
        ),
      );
      return;
    }
    partition.observers = [...partition.observers, subscriber];
    if (partition.observers.length === 1) this.covered++;
    // registered before the source runs: a subscriber that leaves during a synchronous run is let go at once
    subscriber.add(() => this.detach(partition, subscriber));
    if (this.covered === this.partitions.length && this.phase === 'waiting') {
      this.phase = 'running';
      this.source.subscribe(this);
    }
  }

  private detach(partition: Partition<T, K>, subscriber: Subscriber<StreamElement<T, K>>): void {
    const at = partition.observers.indexOf(subscriber);
    if (at < 0) return;
    partition.observers = partition.observers.filter((_, i) => i !== at);
    if (partition.observers.length > 0) return;
    this.covered--;
    if (this.covered === 0 && this.phase === 'running') {
      this.phase = 'released';
      this.unsubscribe();
    }
  }

  /** The hot path, overridden as `ElementSubscriber.next` is (`src/elements/plumbing.ts`). */
  override next(e: StreamElement<T, K>): void {
    if (this.isStopped) super.next(e);
    else this._next(e);
  }

  protected override _next(e: StreamElement<T, K>): void {
    if (e?.kind === 'record') {
      let p: number;
      try {
        p = this.router.route(e);
      } catch (err) {
        failUserFunction(this, OP, e, err); // → _error: what is held back goes first, then the error
        return;
      }
      if (p >= 0) this.deliver(p, e);
      else if (p === BROADCAST) this.broadcast(e);
      else if (p === RELEASE) this.router.release?.(this.deliverTo);
      return;
    }
    if (!isControlElement(e)) {
      this.error(new NotAStreamElementError(OP, e));
      return;
    }
    // docs/SEMANTICS.md §9: watermarks, status and barriers go to every partition, after the records before them
    // (while a range sample is held, they are held with it, in their place); a side-output record passing through goes
    // to partition 0 only (§14: it is one record of the output it belongs to)
    if (this.router.hold?.(e) === true) {
      // a checkpoint barrier closes a range sample: the checkpoint must not wait for it (docs/SEMANTICS.md §9)
      if (e.kind === 'barrier') this.router.release?.(this.deliverTo);
      return;
    }
    if (e.kind === 'side') this.deliver(0, e);
    else this.broadcast(e);
  }

  protected override _error(err: unknown): void {
    this.router.release?.(this.deliverTo);
    this.end({ error: err });
  }

  protected override _complete(): void {
    this.router.release?.(this.deliverTo);
    this.end(undefined);
  }

  private deliver(p: number, e: StreamElement<T, K>): void {
    const partition = this.partitions[p] as Partition<T, K>;
    if (partition.pending !== undefined) {
      partition.pending.push(e);
      return;
    }
    const observers = partition.observers;
    for (let i = 0; i < observers.length; i++) (observers[i] as Subscriber<StreamElement<T, K>>).next(e);
  }

  private broadcast(e: StreamElement<T, K>): void {
    for (let p = 0; p < this.partitions.length; p++) this.deliver(p, e);
  }

  private end(how: { readonly error: unknown } | undefined): void {
    this.phase = 'ended';
    this.ended = how;
    this.unsubscribe();
    for (const partition of this.partitions) {
      const observers = partition.observers;
      partition.observers = [];
      for (const o of observers) {
        if (how === undefined) o.complete();
        else o.error(how.error);
      }
    }
  }
}

function checkN(n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new ConfigurationError(OP, n, `${OP}: n ${describeValue(n)} is not a number of partitions. Pass an integer ≥ 1.`);
  }
}

function checkOptions(options: PartitionOptions): { maxParallelism: number; sampleSize: number } {
  const { maxParallelism = 128, sampleSize = 1000 } = options;
  if (!isMaxParallelism(maxParallelism)) {
    throw new ConfigurationError(OP, maxParallelism, `${OP}: maxParallelism ${describeValue(maxParallelism)} is not valid. Pass an integer in [1, 32768] (default 128).`);
  }
  if (!Number.isInteger(sampleSize) || sampleSize < 1) {
    throw new ConfigurationError(OP, sampleSize, `${OP}: sampleSize ${describeValue(sampleSize)} is not valid. Pass an integer ≥ 1 (default 1000).`);
  }
  return { maxParallelism, sampleSize };
}

/** A valid range sort key: a string or a number other than NaN. */
function sortKeyType(v: unknown): 'number' | 'string' | undefined {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number' && !Number.isNaN(v)) return 'number';
  return undefined;
}

/** The partition of sort key `v`: how many boundaries are `< v` (binary search; equal goes lower, as in Flink). */
function rangeIndex(boundaries: readonly (number | string)[], v: number | string): number {
  let low = 0;
  let high = boundaries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((boundaries[mid] as number | string) < v) low = mid + 1;
    else high = mid;
  }
  return low;
}

function checkBoundaries(boundaries: unknown, n: number): readonly (number | string)[] {
  const remedy = `Pass n − 1 = ${n - 1} strictly ascending boundaries, all numbers (not NaN) or all strings, or omit them to sample.`;
  if (!Array.isArray(boundaries) || boundaries.length !== n - 1) {
    const what = Array.isArray(boundaries) ? `${boundaries.length} boundaries` : `boundaries ${describeValue(boundaries)}`;
    throw new ConfigurationError(OP, boundaries, `${OP}: range partitioner: ${what} for n = ${n} partitions. ${remedy}`);
  }
  const type = sortKeyType(boundaries[0]);
  for (let i = 0; i < boundaries.length; i++) {
    const b: unknown = boundaries[i];
    if (type === undefined || sortKeyType(b) !== type) {
      throw new ConfigurationError(OP, b, `${OP}: range partitioner: boundary ${describeValue(b)} (index ${i}) of ${describeValue(boundaries)} is not valid. ${remedy}`);
    }
    if (i > 0 && !((boundaries[i - 1] as number | string) < (b as number | string))) {
      throw new ConfigurationError(OP, b, `${OP}: range partitioner: boundaries ${describeValue(boundaries)} are not strictly ascending at index ${i}. ${remedy}`);
    }
  }
  return (boundaries as readonly (number | string)[]).slice(); // a copy: the caller may reuse the array
}

/** The range router (docs/SEMANTICS.md §9, tidewater): given boundaries, or boundaries sampled from a prefix. */
function rangeRouter<T, K>(spec: RangePartitioner<T>['range'] | undefined, n: number, sampleSize: number): Router<T, K> {
  const by: unknown = spec?.by;
  if (typeof by !== 'function') {
    throw new ConfigurationError(OP, by, `${OP}: range partitioner: by ${describeValue(by)} is not a function. Pass { range: { by: (v) => sortKey } }.`);
  }
  const sortKey = by as (value: T) => unknown;
  let boundaries = spec?.boundaries !== undefined ? checkBoundaries(spec.boundaries, n) : n === 1 ? [] : undefined;
  let type = boundaries?.length ? sortKeyType(boundaries[0]) : undefined;
  const keyOf = (r: StreamRecord<T, K>): number | string => {
    const v = sortKey(r.value);
    const t = sortKeyType(v);
    if (t === undefined || (type !== undefined && t !== type)) {
      const kind = type === undefined ? '' : ` (here: ${type}s${boundaries === undefined ? ', as the first record\'s' : ', as the boundaries'})`;
      throw new InvalidPartitionError(OP, v, r, 'range partitioner: sort key', `A sort key must be a string or a number other than NaN, of one type for every record${kind}.`);
    }
    type = t;
    return v as number | string;
  };
  if (boundaries !== undefined) {
    const fixed = boundaries;
    return { route: (r) => rangeIndex(fixed, keyOf(r)) };
  }
  // the sample: the first `sampleSize` records (fewer when an error, the end or a barrier comes first); control elements that
  // arrive meanwhile are held in their places, so that frequent watermarks do not cut the sample short
  let held: StreamElement<T, K>[] = [];
  let heldKeys: (number | string)[] = [];
  return {
    route(r) {
      if (boundaries !== undefined) return rangeIndex(boundaries, keyOf(r));
      heldKeys.push(keyOf(r));
      held.push(r);
      return heldKeys.length < sampleSize ? HELD : RELEASE;
    },
    hold(e) {
      if (boundaries !== undefined || heldKeys.length === 0) return false;
      held.push(e);
      return true;
    },
    release(deliver) {
      if (boundaries !== undefined || heldKeys.length === 0) return;
      // boundary i − 1 = the sorted sample's element floor(i · m / n) (equal-count quantiles)
      const sorted = heldKeys.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const m = sorted.length;
      const decided = Array.from({ length: n - 1 }, (_, i) => sorted[Math.floor(((i + 1) * m) / n)] as number | string);
      boundaries = decided;
      const [elements, keys] = [held, heldKeys];
      held = [];
      heldKeys = [];
      let k = 0;
      for (const e of elements) {
        if (e.kind === 'record') deliver(rangeIndex(decided, keys[k++] as number | string), e);
        else if (e.kind === 'side') deliver(0, e);
        else for (let p = 0; p < n; p++) deliver(p, e);
      }
    },
  };
}

/**
 * The partition of a record under `'hash'` (docs/SEMANTICS.md §9): `partitionOfKeyGroup(keyGroupOf(key))` without
 * their argument checks (`n` and `maxParallelism` are checked once by the caller); an unkeyed record throws the
 * `InvalidKeyError` of {@link partitionStream}.
 *
 * @internal shared with the routing of threaded `parallel` (src/parallel/threads/host.ts)
 */
export function hashPartitionOf(r: StreamRecord<unknown, unknown>, n: number, maxParallelism: number): number {
  const key: unknown = r.key;
  // (strings and numbers other than NaN tested inline: the rest through isKey)
  if (typeof key === 'string' || (typeof key === 'number' && key === key) || isKey(key)) return Math.floor((keyGroupUnchecked(key as Key, maxParallelism) * n) / maxParallelism);
  throw unkeyedError(r);
}

/** What `'hash'` partitioning fails a record with whose key is not a key. */
function unkeyedError(r: StreamRecord<unknown, unknown>): InvalidKeyError {
  return new InvalidKeyError(OP, r.key, r.value, "'hash' partitioning routes records by key: key the stream first (keyBy(...)), or pick another partitioner.");
}

/**
 * The one partition of `'hash'` at n = 1: the input as it is, each record's key checked as routing it would check it
 * and anything that is not a stream element refused as {@link partitionStream} refuses it — so that `parallel(1)`
 * refuses what `parallel(n)` refuses, in-process as in threads.
 *
 * @example
 * ```ts
 * const [only] = [hashCheckedStream(keyed$)]; // fails with partitionStream's InvalidKeyError on an unkeyed record
 * ```
 *
 * @internal
 */
export function hashCheckedStream<T, K>(source: Observable<StreamElement<T, K>>): Observable<StreamElement<T, K>> {
  return new OperatorObservable<StreamElement<T, K>>((out) => source.subscribe(new KeyCheckSubscriber(out as Subscriber<StreamElement<unknown, unknown>>)));
}

/**
 * The subscriber of {@link hashCheckedStream}: a class of its own, so that its per-record path is one small method
 * (the key's usual types tested inline) rather than a closure called through a shared subscriber class.
 */
class KeyCheckSubscriber extends Subscriber<StreamElement<unknown, unknown>> {
  override next(e: StreamElement<unknown, unknown>): void {
    if (this.isStopped) super.next(e);
    else this._next(e);
  }
  protected override _next(e: StreamElement<unknown, unknown>): void {
    if (e?.kind === 'record') {
      const key = e.key;
      if (typeof key === 'string' || (typeof key === 'number' && key === key) || isKey(key)) this.destination.next(e);
      else this.error(unkeyedError(e));
    } else if (isControlElement(e)) this.destination.next(e);
    else this.error(new NotAStreamElementError(OP, e));
  }
}

/** The router of a partitioner, its arguments checked. */
function routerOf<T, K>(by: Partitioner<T, K>, n: number, maxParallelism: number, sampleSize: number): Router<T, K> {
  if (typeof by === 'function') {
    return {
      route(r) {
        const p = by(r, n);
        if (!Number.isInteger(p) || p < 0 || p >= n) {
          throw new InvalidPartitionError(OP, p, r, 'the function partitioner returned', `Return an integer in [0, ${n}) (n = ${n}).`);
        }
        return p;
      },
    };
  }
  if (typeof by === 'object' && by !== null && 'range' in by) return rangeRouter<T, K>(by.range, n, sampleSize);
  switch (by) {
    case 'hash':
      if (n > maxParallelism) {
        throw new ConfigurationError(OP, n, `${OP}: n ${n} exceeds maxParallelism ${maxParallelism}: 'hash' needs a key group per partition at least. Pass n ≤ ${maxParallelism}, or a larger { maxParallelism }.`);
      }
      return { route: (r) => hashPartitionOf(r, n, maxParallelism) };
    case 'round-robin':
    case 'rescale': {
      // docs/SEMANTICS.md §9, tidewater: the first record goes to partition 0 (Flink's rebalance starts at random)
      let next = n - 1;
      return {
        route() {
          next = next + 1 === n ? 0 : next + 1;
          return next;
        },
      };
    }
    case 'broadcast':
      return { route: () => BROADCAST };
    case 'global':
      return { route: () => 0 };
    case 'forward':
      if (n !== 1) {
        throw new ConfigurationError(OP, n, `${OP}: 'forward' connects one upstream instance to one downstream instance, so it needs n = 1, not ${n}. Use 'rescale' or 'round-robin' to spread records over ${n} partitions.`);
      }
      return { route: () => 0 };
    default:
      throw new ConfigurationError(
        OP,
        by,
        `${OP}: ${describeValue(by)} is not a partitioner. Pass 'hash', 'round-robin', 'rescale', 'broadcast', 'global', 'forward', { range: { by, boundaries? } } or a function (record, n) => index.`,
      );
  }
}

/**
 * The partitions of `source` as {@link partitionStream} makes them, the source subscribed now rather than once every
 * partition has a subscriber; what a partition is sent before its first subscriber is kept for it, in order (and its
 * end, if the source ended meanwhile). A parallel pipeline's `keyBy` exchange subscribes each subtask's upstream this
 * way as the subtask subscribes its `keyBy`, so that every subtask subscribes its pipeline in the order the pipeline
 * alone does (src/parallel/exchange.ts). Returns the partitions and the fan-out's subscription to the source.
 *
 * @example
 * ```ts
 * const { partitions, subscription } = eagerPartitions(keyed$, 2, 'hash', 128);
 * ```
 *
 * @internal
 */
export function eagerPartitions<T, K>(source: Stream<T, K>, n: number, by: Partitioner<T, K>, maxParallelism: number): { partitions: Stream<T, K>[]; subscription: Subscriber<StreamElement<T, K>> } {
  const fanout = new Fanout<T, K>(source, n, routerOf(by, n, maxParallelism, 1000), true);
  return { partitions: Array.from({ length: n }, (_, i) => fanout.output(i)), subscription: fanout };
}

/**
 * Splits `source` into `n` streams by `by` (default `'hash'`; docs/SEMANTICS.md §9). The partitions are hot, backed
 * by subjects: the source is subscribed once, when every partition has a subscriber, so a synchronous source loses
 * nothing; when every partition has unsubscribed, the source subscription ends. Records are routed by the
 * partitioner; watermarks, status and barriers go to every partition, in order with the records; an error or the
 * completion goes to every partition.
 *
 * Range partitioning without boundaries samples a prefix, as Flink's `partitionByRange` samples its input: the first
 * `sampleSize` records (default 1000), fewer if an error or the end comes first, are held back, with the control
 * elements that arrive meanwhile in their places; boundary
 * `i − 1` is the element `floor(i · m / n)` of the `m` sorted sample keys; then the sample is routed and the stream
 * goes on. A record equal to a boundary goes to the lower partition (as in Flink).
 *
 * Bad arguments (`n` not an integer ≥ 1, `n > maxParallelism` for `'hash'`, `'forward'` with `n ≠ 1`, bad boundaries)
 * throw a `ConfigurationError` here. Bad records fail every partition: an unkeyed record under `'hash'` with an
 * `InvalidKeyError`, a function partitioner's index outside `[0, n)` or a bad sort key with an
 * `InvalidPartitionError`, a throwing user function with a `UserFunctionError`, a value that is not a stream element
 * with a `NotAStreamElementError`.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { partitionStream, record, watermark } from 'tidewater';
 *
 * const [evens, odds] = partitionStream(from([record(1, 0), record(2, 0), watermark(0)]), 2, (r) => r.value % 2);
 * evens.subscribe((e) => console.log('even', e)); // nothing yet: odds has no subscriber
 * odds.subscribe((e) => console.log('odd', e));   // now the source runs: odd 1, even 2, then the watermark to both
 * ```
 */
export function partitionStream<T, K = unknown, N extends number = number>(
  source: Stream<T, K>,
  n: N,
  by: Partitioner<T, K> = 'hash',
  options: PartitionOptions = {},
): Partitions<Stream<T, K>, N> {
  checkN(n);
  const { maxParallelism, sampleSize } = checkOptions(options);
  const fanout = new Fanout<T, K>(source, n, routerOf(by, n, maxParallelism, sampleSize));
  return Array.from({ length: n }, (_, i) => fanout.output(i)) as Partitions<Stream<T, K>, N>;
}
