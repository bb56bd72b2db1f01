// partitionStream: the partitioners of docs/SEMANTICS.md §9 (key groups: §7), control elements to every partition,
// subscription once every partition has a subscriber, errors.
import fc from 'fast-check';
import { concat, defer, finalize, from, Observable, Subject, take, throwError } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  active,
  barrier,
  ConfigurationError,
  idle,
  InvalidKeyError,
  InvalidPartitionError,
  keyGroupOf,
  NotAStreamElementError,
  partitionOfKeyGroup,
  partitionStream,
  record,
  UserFunctionError,
  watermark,
  type Key,
  type Partitioner,
  type PartitionOptions,
  type Stream,
  type StreamElement,
} from '../src/index.js';
import { ckpt, rec, wm } from '../testing/index.js';
import { marbles } from './support/marbles.js';

type Seen<T, K> = { elements: StreamElement<T, K>[]; error?: unknown; completed: boolean };

/** Subscribes every partition (in order) and records what each receives. */
function collect<T, K>(partitions: Stream<T, K>[]): Seen<T, K>[] {
  const seen = partitions.map((): Seen<T, K> => ({ elements: [], completed: false }));
  partitions.forEach((p, i) => {
    const s = seen[i] as Seen<T, K>;
    p.subscribe({ next: (e) => s.elements.push(e), error: (err: unknown) => (s.error = err), complete: () => (s.completed = true) });
  });
  return seen;
}

/** The record values of each partition. */
function valuesOf<T, K>(seen: Seen<T, K>[]): T[][] {
  return seen.map((s) => s.elements.flatMap((e) => (e.kind === 'record' ? [e.value] : [])));
}

function run<T, K = unknown>(input: StreamElement<T, K>[], n: number, by?: Partitioner<T, K>, options?: PartitionOptions): Seen<T, K>[] {
  return collect(partitionStream(from(input), n, by, options));
}

describe("partitionStream: 'hash' (key groups, docs/SEMANTICS.md §7)", () => {
  // key groups of 128 as the JVM computes them (test/keyGroups.test.ts): key1 41, key2 27, 42 29, -1 80, 'a' 81,
  // 0 94, true 77, false 3, 'user-42' 20, 2147483647 62, -2147483648 108; partition = floor(group · 4 / 128)
  const keys: Key[] = ['key1', 'key2', 42, -1, 'a', 0, true, false, 'user-42', 2147483647, -2147483648];

  it('routes each key to floor(keyGroup · n / maxParallelism), as Flink does', () => {
    const seen = run(keys.map((k, i) => record(k, i, k)), 4);
    expect(valuesOf(seen)).toStrictEqual([['key2', 42, false, 'user-42'], ['key1', 2147483647], [-1, 'a', 0, true], [-2147483648]]);
  });

  it('agrees with keyGroupOf / partitionOfKeyGroup for other n and maxParallelism', () => {
    for (const [n, maxParallelism] of [[3, 128], [7, 128], [5, 32768], [1, 1], [2, 2]] as const) {
      const seen = run(keys.map((k, i) => record(k, i, k)), n, 'hash', { maxParallelism });
      const expected = Array.from({ length: n }, (_, p) => keys.filter((k) => partitionOfKeyGroup(keyGroupOf(k, maxParallelism), n, maxParallelism) === p));
      expect(valuesOf(seen)).toStrictEqual(expected);
    }
  });

  it('is the default partitioner', () => {
    expect(valuesOf(run(keys.map((k, i) => record(k, i, k)), 4))).toStrictEqual(valuesOf(run(keys.map((k, i) => record(k, i, k)), 4, 'hash')));
  });

  it('fails every partition with an InvalidKeyError on an unkeyed record', () => {
    const seen = run<string, unknown>([record('x', 1, 'k'), record('y', 2)], 2);
    for (const s of seen) {
      expect(s.error).toBeInstanceOf(InvalidKeyError);
      expect((s.error as Error).message).toBe(
        'partitionStream: key undefined of "y" is not a valid key. \'hash\' partitioning routes records by key: key the stream first (keyBy(...)), or pick another partitioner.',
      );
    }
    expect(partitionOfKeyGroup(keyGroupOf('k'), 2)).toBe(0);
    expect(valuesOf(seen)).toStrictEqual([['x'], []]);
  });
});

describe('partitionStream: round-robin, rescale, broadcast, global, forward, function', () => {
  const input = [0, 1, 2, 3, 4, 5, 6].map((v) => record(v, v));

  it("'round-robin' starts at partition 0 and cycles (docs/SEMANTICS.md §9, tidewater)", () => {
    expect(valuesOf(run(input, 3, 'round-robin'))).toStrictEqual([[0, 3, 6], [1, 4], [2, 5]]);
  });

  it("'rescale' with its one upstream instance round-robins over all n", () => {
    expect(valuesOf(run(input, 3, 'rescale'))).toStrictEqual([[0, 3, 6], [1, 4], [2, 5]]);
    expect(valuesOf(run(input, 1, 'rescale'))).toStrictEqual([[0, 1, 2, 3, 4, 5, 6]]);
  });

  it("'broadcast' sends every record to every partition", () => {
    expect(valuesOf(run(input, 3, 'broadcast'))).toStrictEqual([0, 1, 2].map(() => [0, 1, 2, 3, 4, 5, 6]));
  });

  it("'global' sends every record to partition 0", () => {
    expect(valuesOf(run(input, 3, 'global'))).toStrictEqual([[0, 1, 2, 3, 4, 5, 6], [], []]);
  });

  it("'forward' is one-to-one: n = 1 only", () => {
    expect(valuesOf(run(input, 1, 'forward'))).toStrictEqual([[0, 1, 2, 3, 4, 5, 6]]);
    expect(() => partitionStream(from(input), 2, 'forward')).toThrow(ConfigurationError);
    expect(() => partitionStream(from(input), 2, 'forward')).toThrow(
      "partitionStream: 'forward' connects one upstream instance to one downstream instance, so it needs n = 1, not 2. Use 'rescale' or 'round-robin' to spread records over 2 partitions.",
    );
  });

  it('a function partitioner picks the index, given the record and n', () => {
    const calls: [number, number][] = [];
    const seen = run(input, 3, (r, n) => {
      calls.push([r.value, n]);
      return (r.value * 2) % n;
    });
    expect(valuesOf(seen)).toStrictEqual([[0, 3, 6], [2, 5], [1, 4]]);
    expect(calls).toStrictEqual(input.map((r) => [r.value, 3]));
  });

  it('returns n streams: a tuple for a literal n, an array otherwise', () => {
    const src = from([record(1, 0)]);
    const three = partitionStream(src, 3, 'global');
    const some = partitionStream(src, Number('2'), 'global');
    expectTypeOf(three).toEqualTypeOf<[Stream<number, undefined>, Stream<number, undefined>, Stream<number, undefined>]>();
    expectTypeOf(some).toEqualTypeOf<Stream<number, undefined>[]>();
    expect([three.length, some.length]).toStrictEqual([3, 2]);
  });

  it('the same record object goes out (no copy)', () => {
    const r = record('x', 1);
    const seen = run([r], 2, 'broadcast');
    expect(seen.map((s) => s.elements[0] === r)).toStrictEqual([true, true]);
  });
});

describe('partitionStream: range', () => {
  const byV = (v: number): number => v;

  it('routes by n − 1 boundaries; a record equal to a boundary goes to the lower partition (Flink)', () => {
    const seen = run([5, 10, 15, 20, 25, -Infinity, 9.5, Infinity].map((v) => record(v, 0)), 3, { range: { by: byV, boundaries: [10, 20] } });
    expect(valuesOf(seen)).toStrictEqual([[5, 10, -Infinity, 9.5], [15, 20], [25, Infinity]]);
  });

  it('string sort keys compare by UTF-16 code units', () => {
    const words = ['apple', 'g', 'grape', 'Zebra', 'pear', 'p', 'zoo'];
    const seen = run(words.map((w) => record(w, 0)), 3, { range: { by: (w: string) => w, boundaries: ['g', 'p'] } });
    expect(valuesOf(seen)).toStrictEqual([['apple', 'g', 'Zebra'], ['grape', 'p'], ['pear', 'zoo']]);
  });

  it('samples the boundaries from the first sampleSize records: boundary i − 1 = sorted sample [floor(i · m / n)]', () => {
    // sample 7, 3, 9, 1 → sorted 1 3 7 9, m = 4, n = 2: boundary sorted[2] = 7
    const seen = run([7, 3, 9, 1, 5, 8, 7].map((v) => record(v, 0)), 2, { range: { by: byV } }, { sampleSize: 4 });
    expect(valuesOf(seen)).toStrictEqual([[7, 3, 1, 5, 7], [9, 8]]);
  });

  it('control elements met while sampling are held in their places: frequent watermarks do not cut the sample short', () => {
    // sample 4 2 6 5 1 7 (the end releases it) → sorted 1 2 4 5 6 7, n = 3: boundaries sorted[2] = 4, sorted[4] = 6
    const input = [record(4, 0), record(2, 0), record(6, 0), watermark(0), record(5, 1), record(1, 1), record(7, 1)];
    const seen = run(input, 3, { range: { by: byV } });
    expect(seen.map((s) => s.elements)).toStrictEqual([
      [record(4, 0), record(2, 0), watermark(0), record(1, 1)],
      [record(6, 0), watermark(0), record(5, 1)],
      [watermark(0), record(7, 1)],
    ]);
    // a watermark after every record: the sample still holds sampleSize records, so the ranges are even
    const every = Array.from({ length: 40 }, (_, i) => [record(i, i), watermark(i)]).flat();
    const counts = valuesOf(run(every, 4, { range: { by: byV } }, { sampleSize: 40 })).map((v) => v.length);
    expect(counts).toStrictEqual([11, 10, 10, 9]);
  });

  it('a control element before any record does not end the (empty) sample', () => {
    const input = [watermark(0), record(8, 0), record(2, 0), watermark(1), record(3, 0)];
    const seen = run(input, 2, { range: { by: byV } });
    // sample 8 2 3 (the watermark is held in its place) → sorted 2 3 8, n = 2: boundary sorted[1] = 3
    expect(seen.map((s) => s.elements)).toStrictEqual([
      [watermark(0), record(2, 0), watermark(1), record(3, 0)],
      [watermark(0), record(8, 0), watermark(1)],
    ]);
  });

  it('a checkpoint barrier ends the sample: the records before it decide the boundaries, the barrier goes out in its place', () => {
    const input = [record(8, 0), record(2, 0), record(9, 0), barrier(1), record(3, 0), record(10, 0)];
    const seen = run(input, 2, { range: { by: byV } });
    // sample 8 2 9 → sorted 2 8 9, n = 2: boundary sorted[1] = 8
    expect(seen.map((s) => s.elements)).toStrictEqual([
      [record(8, 0), record(2, 0), barrier(1), record(3, 0)],
      [record(9, 0), barrier(1), record(10, 0)],
    ]);
  });

  it('the end of the stream ends the sample: the held records, then completion', () => {
    const seen = run(['m', 'c', 'x', 'a', 'q'].map((v) => record(v, 0)), 3, { range: { by: (v: string) => v } });
    // sorted a c m q x, m = 5, n = 3: boundaries sorted[1] = c, sorted[3] = q
    expect(valuesOf(seen)).toStrictEqual([['c', 'a'], ['m', 'q'], ['x']]);
    expect(seen.map((s) => s.completed)).toStrictEqual([true, true, true]);
  });

  it('an error ends the sample too: the held records, then the error', () => {
    const boom = new Error('source down');
    const seen = collect(partitionStream(concat(from([record(2, 0), record(1, 0)]), throwError(() => boom)), 2, { range: { by: byV } }));
    expect(valuesOf(seen)).toStrictEqual([[2, 1], []]); // boundary sorted[1] = 2: the sample's top key ends the lower range
    expect(seen.map((s) => s.error)).toStrictEqual([boom, boom]);
  });

  it('n = 1 needs no boundaries and holds nothing back', () => {
    const seen = run([record(3, 0), watermark(0)], 1, { range: { by: byV } });
    expect(seen.map((s) => s.elements)).toStrictEqual([[record(3, 0), watermark(0)]]);
    expect(valuesOf(run([record(3, 0)], 1, { range: { by: byV, boundaries: [] } }))).toStrictEqual([[3]]);
  });

  it('keeps its own copy of the boundaries', () => {
    const boundaries = [10];
    const parts = partitionStream(from([record(5, 0), record(15, 0)]), 2, { range: { by: byV, boundaries } });
    boundaries[0] = 0;
    expect(valuesOf(collect(parts))).toStrictEqual([[5], [15]]);
  });

  it('a sort key that is NaN, not a string or number, or of another type fails every partition', () => {
    const cases: [unknown[], readonly (number | string)[] | undefined, string][] = [
      [[1, NaN], [5], 'partitionStream: range partitioner: sort key NaN for record value NaN @ 0. A sort key must be a string or a number other than NaN, of one type for every record (here: numbers, as the boundaries).'],
      [[1, 'b'], [5], 'partitionStream: range partitioner: sort key "b" for record value "b" @ 0. A sort key must be a string or a number other than NaN, of one type for every record (here: numbers, as the boundaries).'],
      [['a', 2], undefined, 'partitionStream: range partitioner: sort key 2 for record value 2 @ 0. A sort key must be a string or a number other than NaN, of one type for every record (here: strings, as the first record\'s).'],
      [[{ x: 1 }], undefined, 'partitionStream: range partitioner: sort key {"x":1} for record value {"x":1} @ 0. A sort key must be a string or a number other than NaN, of one type for every record.'],
    ];
    for (const [values, boundaries, message] of cases) {
      const seen = run(values.map((v) => record(v, 0)), 2, { range: { by: (v: unknown) => v as number, ...(boundaries ? { boundaries } : {}) } });
      for (const s of seen) {
        expect(s.error).toBeInstanceOf(InvalidPartitionError);
        expect((s.error as Error).message).toBe(message);
      }
    }
  });

  it('a throwing sort-key function fails every partition with a UserFunctionError', () => {
    const boom = new Error('no amount');
    const seen = run([record(1, 0)], 2, { range: { by: () => { throw boom; }, boundaries: [0] } });
    for (const s of seen) {
      expect(s.error).toBeInstanceOf(UserFunctionError);
      expect((s.error as Error).message).toBe('partitionStream: user function threw on record value 1 @ 0: no amount');
      expect((s.error as Error).cause).toBe(boom);
    }
  });
});

describe('partitionStream: control elements, subscription, end', () => {
  it('watermarks, status and barriers go to every partition, in order with the records', () => {
    const input: StreamElement<string>[] = [record('a', 1), watermark(1), record('b', 2), idle(), barrier(1), active(), record('c', 3), watermark(Infinity)];
    const seen = run(input, 2, 'round-robin');
    expect(seen.map((s) => s.elements)).toStrictEqual([
      [record('a', 1), watermark(1), idle(), barrier(1), active(), record('c', 3), watermark(Infinity)],
      [watermark(1), record('b', 2), idle(), barrier(1), active(), watermark(Infinity)],
    ]);
    expect(seen.map((s) => s.completed)).toStrictEqual([true, true]);
  });

  it('subscribes the source once, when every partition has a subscriber: a synchronous source loses nothing', () => {
    let subscriptions = 0;
    const source = defer(() => {
      subscriptions++;
      return from([record(0, 0), record(1, 0), record(2, 0)]);
    });
    const parts = partitionStream(source, 3, 'round-robin');
    const got: number[][] = [[], [], []];
    const sub = (i: number) => parts[i]?.subscribe((e) => e.kind === 'record' && got[i]?.push(e.value));
    sub(0);
    sub(0); // a second subscriber of partition 0 shares it
    sub(2);
    expect(subscriptions).toBe(0);
    sub(1);
    expect(subscriptions).toBe(1);
    expect(got).toStrictEqual([[0, 0], [1], [2]]);
    sub(1); // after completion: completes at once, no resubscription
    expect(subscriptions).toBe(1);
  });

  it('a partition that unsubscribes before the start does not count', () => {
    let subscriptions = 0;
    const parts = partitionStream(defer(() => (subscriptions++, from([record(0, 0)]))), 2, 'global');
    parts[0]?.subscribe().unsubscribe();
    parts[1]?.subscribe();
    expect(subscriptions).toBe(0);
  });

  it('ends the source subscription when every partition has unsubscribed; later subscribers get a ConfigurationError', () => {
    const input = new Subject<StreamElement<number>>();
    let ended = 0;
    const parts = partitionStream(input.pipe(finalize(() => ended++)), 2, 'round-robin');
    const a = parts[0]?.subscribe();
    const b = parts[1]?.subscribe();
    input.next(record(1, 0));
    a?.unsubscribe();
    expect([ended, input.observed]).toStrictEqual([0, true]);
    b?.unsubscribe();
    expect([ended, input.observed]).toStrictEqual([1, false]);
    let error: unknown;
    parts[0]?.subscribe({ error: (e: unknown) => (error = e) });
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe(
      'partitionStream: partition 0 was subscribed after every partition had unsubscribed and the source subscription had ended. The source is subscribed once: call partitionStream again for a new run.',
    );
  });

  it('stops a synchronous source when every partition unsubscribes during delivery', () => {
    let emitted = 0;
    const source = new Observable<StreamElement<number>>((s) => {
      for (let i = 0; i < 100 && !s.closed; i++) {
        emitted++;
        s.next(record(i, 0));
      }
      s.complete();
    });
    const got = partitionStream(source, 2, 'broadcast').map((p) => {
      const values: number[] = [];
      p.pipe(take(3)).subscribe((e) => e.kind === 'record' && values.push(e.value));
      return values;
    });
    expect([emitted, got]).toStrictEqual([3, [[0, 1, 2], [0, 1, 2]]]);
  });

  it('errors and completion go to every partition, after their records; late subscribers see them too', () => {
    const boom = new Error('source down');
    const parts = partitionStream(concat(from([record(1, 0), record(2, 0)]), throwError(() => boom)), 2, 'round-robin');
    const seen = collect(parts);
    expect(valuesOf(seen)).toStrictEqual([[1], [2]]);
    expect(seen.map((s) => s.error)).toStrictEqual([boom, boom]);
    let late: unknown;
    parts[1]?.subscribe({ error: (e: unknown) => (late = e) });
    expect(late).toBe(boom);
    let completed = false;
    const done = partitionStream(from([record(1, 0)]), 1, 'global');
    done[0]?.subscribe();
    done[0]?.subscribe({ complete: () => (completed = true) });
    expect(completed).toBe(true);
  });

  it('a value that is not a stream element fails every partition with NotAStreamElementError', () => {
    const seen = run([record(1, 0), 42 as unknown as StreamElement<number>], 2, 'round-robin');
    for (const s of seen) {
      expect(s.error).toBeInstanceOf(NotAStreamElementError);
      expect((s.error as Error).message).toMatch(/^partitionStream: received 42, which is not a stream element/);
    }
  });
});

describe('partitionStream: function partitioner errors', () => {
  it('an index that is not an integer in [0, n) fails every partition, naming the value and the record', () => {
    for (const [index, shown] of [[2, '2'], [-1, '-1'], [0.5, '0.5'], [NaN, 'NaN'], ['1', '"1"'], [undefined, 'undefined']] as const) {
      const seen = run([record('ok', 0), record('bad', 7, 'k')], 2, (r) => (r.value === 'ok' ? 1 : (index as number)));
      expect(valuesOf(seen)).toStrictEqual([[], ['ok']]);
      for (const s of seen) {
        expect(s.error).toBeInstanceOf(InvalidPartitionError);
        expect((s.error as Error).message).toBe(`partitionStream: the function partitioner returned ${shown} for record value "bad" @ 7 key "k". Return an integer in [0, 2) (n = 2).`);
      }
    }
  });

  it('a throwing partitioner fails every partition with a UserFunctionError carrying the cause', () => {
    const boom = new Error('no shard');
    const seen = run([record('x', 3)], 2, () => {
      throw boom;
    });
    for (const s of seen) {
      expect(s.error).toBeInstanceOf(UserFunctionError);
      expect((s.error as Error).message).toBe('partitionStream: user function threw on record value "x" @ 3: no shard');
      expect((s.error as Error).cause).toBe(boom);
    }
  });
});

describe('partitionStream: bad arguments are ConfigurationErrors at call time', () => {
  const src = from([record(1, 0)]);
  const cases: [string, () => unknown, string][] = [
    ['n = 0', () => partitionStream(src, 0), 'partitionStream: n 0 is not a number of partitions. Pass an integer ≥ 1.'],
    ['n = 1.5', () => partitionStream(src, 1.5), 'partitionStream: n 1.5 is not a number of partitions. Pass an integer ≥ 1.'],
    ['n = NaN', () => partitionStream(src, NaN), 'partitionStream: n NaN is not a number of partitions. Pass an integer ≥ 1.'],
    ['n = "2"', () => partitionStream(src, '2' as unknown as number), 'partitionStream: n "2" is not a number of partitions. Pass an integer ≥ 1.'],
    ['hash: n > maxParallelism', () => partitionStream(src, 129), "partitionStream: n 129 exceeds maxParallelism 128: 'hash' needs a key group per partition at least. Pass n ≤ 128, or a larger { maxParallelism }."],
    ['hash: n > a given maxParallelism', () => partitionStream(src, 5, 'hash', { maxParallelism: 4 }), "partitionStream: n 5 exceeds maxParallelism 4: 'hash' needs a key group per partition at least. Pass n ≤ 4, or a larger { maxParallelism }."],
    ['maxParallelism 0', () => partitionStream(src, 1, 'hash', { maxParallelism: 0 }), 'partitionStream: maxParallelism 0 is not valid. Pass an integer in [1, 32768] (default 128).'],
    ['maxParallelism 40000', () => partitionStream(src, 1, 'hash', { maxParallelism: 40_000 }), 'partitionStream: maxParallelism 40000 is not valid. Pass an integer in [1, 32768] (default 128).'],
    ['sampleSize 0', () => partitionStream(src, 2, { range: { by: (v: number) => v } }, { sampleSize: 0 }), 'partitionStream: sampleSize 0 is not valid. Pass an integer ≥ 1 (default 1000).'],
    ['unknown partitioner', () => partitionStream(src, 2, 'shuffle' as Partitioner<number>), "partitionStream: \"shuffle\" is not a partitioner. Pass 'hash', 'round-robin', 'rescale', 'broadcast', 'global', 'forward', { range: { by, boundaries? } } or a function (record, n) => index."],
    ['range without by', () => partitionStream(src, 2, { range: {} } as unknown as Partitioner<number>), 'partitionStream: range partitioner: by undefined is not a function. Pass { range: { by: (v) => sortKey } }.'],
    ['boundaries for n = 1', () => partitionStream(src, 1, { range: { by: (v: number) => v, boundaries: [5] } }), 'partitionStream: range partitioner: 1 boundaries for n = 1 partitions. Pass n − 1 = 0 strictly ascending boundaries, all numbers (not NaN) or all strings, or omit them to sample.'],
    ['too few boundaries', () => partitionStream(src, 3, { range: { by: (v: number) => v, boundaries: [1] } }), 'partitionStream: range partitioner: 1 boundaries for n = 3 partitions. Pass n − 1 = 2 strictly ascending boundaries, all numbers (not NaN) or all strings, or omit them to sample.'],
    ['boundaries not an array', () => partitionStream(src, 2, { range: { by: (v: number) => v, boundaries: 5 as unknown as number[] } }), 'partitionStream: range partitioner: boundaries 5 for n = 2 partitions. Pass n − 1 = 1 strictly ascending boundaries, all numbers (not NaN) or all strings, or omit them to sample.'],
    ['descending boundaries', () => partitionStream(src, 3, { range: { by: (v: number) => v, boundaries: [5, 5] } }), 'partitionStream: range partitioner: boundaries [5,5] are not strictly ascending at index 1. Pass n − 1 = 2 strictly ascending boundaries, all numbers (not NaN) or all strings, or omit them to sample.'],
    ['mixed boundaries', () => partitionStream(src, 3, { range: { by: (v: number) => v, boundaries: [1, 'b'] } }), 'partitionStream: range partitioner: boundary "b" (index 1) of [1,"b"] is not valid. Pass n − 1 = 2 strictly ascending boundaries, all numbers (not NaN) or all strings, or omit them to sample.'],
    ['NaN boundary', () => partitionStream(src, 2, { range: { by: (v: number) => v, boundaries: [NaN] } }), 'partitionStream: range partitioner: boundary NaN (index 0) of [NaN] is not valid. Pass n − 1 = 1 strictly ascending boundaries, all numbers (not NaN) or all strings, or omit them to sample.'],
  ];
  for (const [name, call, message] of cases) {
    it(name, () => {
      expect(call).toThrow(ConfigurationError);
      expect(call).toThrow(expect.objectContaining({ message }));
    });
  }
});

describe('partitionStream: marbles', () => {
  it(
    'round-robin over two partitions, control elements to both, on the test scheduler',
    marbles((m) => {
      const values = { a: rec('a', 1), b: rec('b', 2), c: rec('c', 3), d: rec('d', 4), w: wm(2), k: ckpt(1) };
      const input = m.cold('a-b-w-c-k-d|', values);
      const [p0, p1] = partitionStream(input, 2, 'round-robin');
      m.expect(p0).toBeObservable('a---w-c-k--|', values);
      m.expect(p1).toBeObservable('--b-w---k-d|', values);
      m.expect(input).toHaveSubscriptions('^----------!');
    }),
  );
});

// ---- property: nothing lost, nothing duplicated (but by broadcast), input order kept -------------------------------

type Spec = { readonly name: string; readonly by: Partitioner<number, string>; readonly sampleSize?: number };

const specs = (n: number): fc.Arbitrary<Spec> =>
  fc.oneof(
    fc.constant<Spec>({ name: 'hash', by: 'hash' }),
    fc.constant<Spec>({ name: 'round-robin', by: 'round-robin' }),
    fc.constant<Spec>({ name: 'rescale', by: 'rescale' }),
    fc.constant<Spec>({ name: 'broadcast', by: 'broadcast' }),
    fc.constant<Spec>({ name: 'global', by: 'global' }),
    fc.constant<Spec>(n === 1 ? { name: 'forward', by: 'forward' } : { name: 'global', by: 'global' }),
    fc.constant<Spec>({ name: 'function', by: (r, k) => Math.abs(r.value) % k }),
    fc
      .uniqueArray(fc.integer({ min: -50, max: 50 }), { minLength: n - 1, maxLength: n - 1 })
      .map((bs): Spec => ({ name: 'range', by: { range: { by: (v: number) => v, boundaries: bs.sort((a, b) => a - b) } } })),
    fc.integer({ min: 1, max: 8 }).map((sampleSize): Spec => ({ name: 'range sampled', by: { range: { by: (v: number) => v } }, sampleSize })),
  );

const element: fc.Arbitrary<StreamElement<number, string>> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.integer({ min: -60, max: 60 }), fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g')).map(([v, k]) => record(v, 0, k)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 100 }).map((t) => watermark(t)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 9 }).map((id) => barrier(id)) },
  { weight: 1, arbitrary: fc.boolean().map((b) => (b ? idle() : active())) },
);

describe('partitionStream: property', () => {
  it('the partitions hold every record once (broadcast: n times), each in input order, every control element in order; hash keeps a key in one partition', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(fc.constant(n), specs(n), fc.array(element, { maxLength: 40 }))),
        ([n, spec, generated]) => {
          const input = generated.map((e) => ({ ...e })); // distinct objects, to find each element's input position
          const index = new Map<StreamElement<number, string>, number>(input.map((e, i) => [e, i]));
          const seen = run(input, n, spec.by, spec.sampleSize === undefined ? {} : { sampleSize: spec.sampleSize });
          const positions = seen.map((s) => s.elements.map((e) => index.get(e) as number));
          // each partition: strictly increasing input positions (input order, records and control elements together)
          for (const ps of positions) expect(ps).toStrictEqual([...ps].sort((a, b) => a - b).filter((p, i, a) => i === 0 || a[i - 1] !== p));
          // every control element reaches every partition
          const controls = input.flatMap((e, i) => (e.kind === 'record' ? [] : [i]));
          for (const ps of positions) expect(ps.filter((p) => input[p]?.kind !== 'record')).toStrictEqual(controls);
          // the union of the records is the input, n times for broadcast
          const records = input.flatMap((e, i) => (e.kind === 'record' ? [i] : []));
          const union = positions.flatMap((ps) => ps.filter((p) => input[p]?.kind === 'record')).sort((a, b) => a - b);
          expect(union).toStrictEqual(spec.name === 'broadcast' ? records.flatMap((i) => Array<number>(n).fill(i)) : records);
          if (spec.name === 'hash') {
            const owner = new Map<string, number>();
            seen.forEach((s, p) => {
              for (const e of s.elements) {
                if (e.kind !== 'record') continue;
                expect(owner.get(e.key) ?? p).toBe(p);
                owner.set(e.key, p);
              }
            });
          }
          expect(seen.map((s) => [s.completed, s.error])).toStrictEqual(seen.map(() => [true, undefined]));
        },
      ),
      { numRuns: 400 },
    );
  });
});
