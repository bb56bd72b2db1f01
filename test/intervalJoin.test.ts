// intervalJoin: the vectors of docs/SEMANTICS.md §10.2 and a property test against a batch oracle, restores included.
import fc from 'fast-check';
import { Subject, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, idle, InvalidTimestampError, MAX_WATERMARK, type StreamElement, type StreamRecord } from '../src/index.js';
import { intervalJoin, type IntervalJoinBounds } from '../operators/index.js';
import { rec, twoInputHarness, wm } from '../testing/index.js';
import { prng } from '../demo/clicks.js';
import { runTwoInput, type Step } from './support/twoInputs.js';
import { seededRandom, shuffledRange } from './support/seeded.js';

type H = ReturnType<typeof twoInputHarness<string, string, string, string>>;

const join = (bounds: IntervalJoinBounds, options: Parameters<typeof intervalJoin<string, string, string, string>>[3] = {}) =>
  (right$: Observable<StreamElement<string, string>>) =>
    intervalJoin<string, string, string, string>(right$, bounds, (l, r, ctx) => `${l}+${r} ${ctx.leftTimestamp}/${ctx.rightTimestamp}`, { name: 'j', ...options });

/** The values of the records of a harness's output. */
const values = (h: H): string[] => h.records().map((r) => r.value);

describe('intervalJoin: configuration (docs/SEMANTICS.md §10.2 rule 1)', () => {
  it('lower > upper, non-integer and missing bounds are refused at build time, naming the operator and the remedy', () => {
    const right$ = new Subject<StreamElement<string, string>>();
    expect(() => intervalJoin(right$, { lower: 5, upper: 1 }, () => 0)).toThrow(ConfigurationError);
    expect(() => intervalJoin(right$, { lower: 5, upper: 1 }, () => 0)).toThrow('intervalJoin: lower bound 5 is above upper bound 1. Pass integer ms with lower ≤ upper');
    expect(() => intervalJoin(right$, { lower: 0.5, upper: 1 }, () => 0, { name: 'x' })).toThrow('x: lower bound must be an integer number of ms, got 0.5.');
    expect(() => intervalJoin(right$, { upper: 1 } as unknown as IntervalJoinBounds, () => 0)).toThrow('intervalJoin: lower bound must be an integer number of ms, got undefined.');
    expect(() => intervalJoin(right$, { lower: 0, upper: 1, lowerInclusive: 'no' as unknown as boolean }, () => 0)).toThrow('intervalJoin: lowerInclusive must be true or false');
  });

  it('a record without a finite timestamp fails the stream naming the join, the value and the fix (Flink: Long.MIN_VALUE)', () => {
    for (const ts of [NaN, Infinity, -Infinity]) {
      const h = twoInputHarness(join({ lower: -5, upper: 5 }));
      h.record('l', 1, 'k').push2({ kind: 'record', value: 'bad', timestamp: ts, key: 'k' });
      expect(h.error).toBeInstanceOf(InvalidTimestampError);
      expect((h.error as Error).message).toMatch(/^j: timestamp (NaN|Infinity|-Infinity) of "bad" is not a finite number of milliseconds\. An interval join needs finite timestamps: stamp records with eventTime\(\.\.\.\) first\./);
      expect(values(h)).toStrictEqual([]);
    }
  });

  it('(0, 0) with both bounds exclusive is valid and joins nothing', () => {
    const h = twoInputHarness(join({ lower: 0, upper: 0, lowerInclusive: false, upperInclusive: false }));
    h.record('l', 10, 'k').record2('r', 10, 'k');
    expect(values(h)).toStrictEqual([]);
  });
});

describe('intervalJoin: membership, order and output (rules 2, 4, 5)', () => {
  it('inclusive bounds: l.ts + lower ≤ r.ts ≤ l.ts + upper', () => {
    const h = twoInputHarness(join({ lower: -2, upper: 2 }));
    h.record('l', 10, 'k');
    for (const t of [7, 8, 10, 12, 13]) h.record2(`r${t}`, t, 'k');
    expect(values(h)).toStrictEqual(['l+r8 10/8', 'l+r10 10/10', 'l+r12 10/12']);
  });

  it('exclusive bounds drop the ends', () => {
    const h = twoInputHarness(join({ lower: -2, upper: 2, lowerInclusive: false, upperInclusive: false }));
    h.record('l', 10, 'k');
    for (const t of [8, 9, 11, 12]) h.record2(`r${t}`, t, 'k');
    expect(values(h)).toStrictEqual(['l+r9 10/9', 'l+r11 10/11']);
  });

  it('negative bounds: the right element before the left one', () => {
    const h = twoInputHarness(join({ lower: -5, upper: -1 }));
    for (const t of [4, 5, 9, 10]) h.record2(`r${t}`, t, 'k');
    h.record('l', 10, 'k');
    expect(values(h)).toStrictEqual(['l+r5 10/5', 'l+r9 10/9']);
  });

  it('the other side is scanned in ascending timestamp, then arrival order; only the same key joins; no self-join', () => {
    const h = twoInputHarness(join({ lower: -10, upper: 10 }));
    h.record2('a', 12, 'k').record2('b', 8, 'k').record2('c', 8, 'k').record2('x', 9, 'other').record('l0', 0, 'k').record('l', 10, 'k');
    expect(values(h)).toStrictEqual(['l0+b 0/8', 'l0+c 0/8', 'l+b 10/8', 'l+c 10/8', 'l+a 10/12']);
  });

  it('one record per pair, stamped max(l.ts, r.ts), keyed by the join key', () => {
    const h = twoInputHarness(join({ lower: -5, upper: 5 }));
    h.record('l', 10, 'k').record2('r', 7, 'k').record2('s', 14, 'k');
    expect(h.records()).toStrictEqual([rec('l+r 10/7', 10, 'k'), rec('l+s 10/14', 14, 'k')]);
  });
});

describe('intervalJoin: one element at a time (§10.1 rule 1)', () => {
  it('a record fed into an input while a record\'s pairs go out waits its turn: the record is buffered under its own key', () => {
    const left$ = new Subject<StreamElement<string, string>>();
    const right$ = new Subject<StreamElement<string, string>>();
    const log: string[] = [];
    let fed = false;
    left$.pipe(join({ lower: -10, upper: 10 })(right$)).subscribe((e) => {
      if (e.kind !== 'record') return;
      log.push(`${e.value} ${e.key as string}`);
      if (!fed) {
        fed = true;
        right$.next({ kind: 'record', value: 'fb', timestamp: 5, key: 'other' });
      }
    });
    right$.next({ kind: 'record', value: 'r1', timestamp: 1, key: 'k' });
    right$.next({ kind: 'record', value: 'r2', timestamp: 2, key: 'k' });
    left$.next({ kind: 'record', value: 'L', timestamp: 3, key: 'k' });
    right$.next({ kind: 'record', value: 'probeK', timestamp: 3, key: 'k' });
    right$.next({ kind: 'record', value: 'probeOther', timestamp: 3, key: 'other' });
    // before the fix, `fb` ran inside L's turn and L was buffered under `other`: L joined probeOther, not probeK
    expect(log).toStrictEqual(['L+r1 3/1 k', 'L+r2 3/2 k', 'L+probeK 3/3 k']);
  });
});

describe('intervalJoin: watermark, lateness and cleanup (rules 3, 6, 7; §10.1)', () => {
  it('the watermark is the minimum of both inputs: records of the slower input are not late', () => {
    const h = twoInputHarness(join({ lower: 0, upper: 100 }));
    h.watermark(1000).record2('r', 50, 'k').record('l', 20, 'k');
    expect(values(h)).toStrictEqual(['l+r 20/50']);
    expect(h.metrics()).toMatchObject({ lateRecordsDropped: 0 });
  });

  it('late is strictly below the watermark: dropped, counted, warned once; ts == W is not late', () => {
    const h = twoInputHarness(join({ lower: 0, upper: 100 }));
    h.watermark(10).watermark2(10);
    h.record('late1', 9, 'k').record2('late2', 5, 'k').record('l', 10, 'k').record2('r', 10, 'k');
    expect(values(h)).toStrictEqual(['l+r 10/10']);
    expect(h.metrics()).toMatchObject({ lateRecordsDropped: 2 });
    expect(h.warnings()).toStrictEqual([
      'j: a left record arrived late (timestamp 9 < watermark 10) and was dropped. Dropped records are counted in the lateRecordsDropped metric; pass { leftLateData: subject } to intervalJoin(...) to receive them, or allow more out-of-orderness in the watermarks of that input.',
    ]);
  });

  it('late records go to leftLateData / rightLateData when given, unchanged and not counted', () => {
    const leftLate = new Subject<StreamRecord<string, string>>();
    const rightLate = new Subject<StreamRecord<string, string>>();
    const h = twoInputHarness(join({ lower: 0, upper: 1 }, { leftLateData: leftLate, rightLateData: rightLate }));
    h.watermark(10).watermark2(10).record('a', 3, 'k').record2('b', 4, 'k');
    expect(h.sideOutput(leftLate)).toStrictEqual([rec('a', 3, 'k')]);
    expect(h.sideOutput(rightLate)).toStrictEqual([rec('b', 4, 'k')]);
    expect(h.metrics()).toMatchObject({ lateRecordsDropped: 0 });
    expect(h.warnings()).toStrictEqual([]);
  });

  it('a bucket is removed when the watermark reaches ts + max(upper, 0) (left) / ts − min(lower, 0) (right): state does not grow', () => {
    const h = twoInputHarness(join({ lower: -3, upper: 5 }));
    h.record('l', 10, 'k').record2('r', 20, 'k');
    h.watermark(14).watermark2(14);
    expect(h.state('k', 'left')).toStrictEqual([10, ['l']]); // due at 10 + 5
    h.watermark(15).watermark2(15);
    expect(h.state('k', 'left')).toBeUndefined();
    expect(h.state('k', 'right')).toStrictEqual([20, ['r']]); // [timestamp, its values, …]
    // r at l.ts + upper = 15 == W is not late, but l is gone: no pair (arrival order decides at the boundary)
    h.record2('r15', 15, 'k');
    expect(values(h)).toStrictEqual([]);
    h.watermark(30).watermark2(30);
    expect(h.keys()).toStrictEqual([]);
  });

  it('an out-of-order element becomes the oldest bucket: it is dropped at its own cleanup time, not the later one', () => {
    const h = twoInputHarness(join({ lower: -5, upper: 5 }));
    h.record('l20', 20, 'k').record('l10', 10, 'k'); // l10 is the oldest bucket now: gone once W reaches 15
    h.watermark(15).watermark2(15);
    h.record2('r15', 15, 'k'); // not late (15 == W); l10 is gone, l20 (15 ≥ 20 − 5) joins
    expect(values(h)).toStrictEqual(['l20+r15 20/15']);
  });

  it('cleanup empties the buckets it drops until they are half the buffer (a watermark costs what it drops); they join nothing, and their timestamp arriving again makes a new bucket', () => {
    // left buckets are kept 0 ms (upper 0), right ones 5 ms (lower −5)
    const h = twoInputHarness(join({ lower: -5, upper: 0 }));
    h.record('l10', 10, 'k').record('l20', 20, 'k').record('l30', 30, 'k');
    h.watermark(10).watermark2(10);
    expect(h.state('k', 'left')).toStrictEqual([10, [], 20, ['l20'], 30, ['l30']]); // 1 of 3 buckets dropped: emptied
    h.record2('r10', 10, 'k'); // not late; l10 is gone: no pair
    h.record('l10b', 10, 'k'); // not late; a new bucket 10 (the dropped one goes first), which r10 joins
    expect(h.state('k', 'left')).toStrictEqual([10, ['l10b'], 20, ['l20'], 30, ['l30']]);
    h.record2('r10b', 10, 'k');
    h.watermark(11).watermark2(11); // l10b due at 10: dropped
    h.record2('r15', 15, 'k');
    expect(h.state('k', 'left')).toStrictEqual([10, [], 20, ['l20'], 30, ['l30']]);
    h.watermark(20).watermark2(20); // l20 due too: 2 of 3 dropped, the prefix goes
    expect(h.state('k', 'left')).toStrictEqual([30, ['l30']]);
    expect(h.state('k', 'right')).toBeUndefined();
    expect(values(h)).toStrictEqual(['l10b+r10 10/10', 'l10b+r10b 10/10', 'l20+r15 20/15']);
  });

  it('an idle input is left out of the watermark; cleanup follows the other input', () => {
    const h = twoInputHarness(join({ lower: 0, upper: 5 }));
    h.record('l', 10, 'k').push2(idle()).watermark(100);
    expect(h.output()).toStrictEqual([wm(100)]);
    expect(h.keys()).toStrictEqual([]);
  });

  it('end of input: MAX fires every cleanup timer, unmatched records vanish, MAX goes out once, then complete', () => {
    const h = twoInputHarness(join({ lower: 0, upper: 5 }));
    h.record('l', 10, 'k').record2('r', 100, 'k').complete();
    expect(h.completed).toBe(false);
    h.complete2();
    expect(h.output()).toStrictEqual([wm(MAX_WATERMARK)]);
    expect(h.completed).toBe(true);
    expect(h.keys()).toStrictEqual([]);
  });
});

// ---- property: against a batch oracle ----------------------------------------------------------------------------


/**
 * The oracle (docs/SEMANTICS.md §10.1–10.2, written from the rules, not the operator): W is the min of the two
 * inputs' max watermarks; an element is late iff ts < W at its arrival; a pair (first, second) joins iff both are not
 * late, same key, in range, and first's bucket was not cleaned up before second arrived (W at second's arrival <
 * first.ts + keep(first)). Outputs come at the second's arrival, the first ones in ascending timestamp then arrival.
 */
function oracle(steps: readonly Step[], lo: number, hi: number): string[] {
  const inputWm = [-Infinity, -Infinity];
  let w = -Infinity;
  const keep = [Math.max(hi, 0), Math.max(-lo, 0)];
  const seen: { side: 0 | 1; key: string; ts: number; name: string; gone: boolean }[] = [];
  const out: string[] = [];
  steps.forEach((s, n) => {
    if (s[0] === 'wm') {
      inputWm[s[1]] = Math.max(inputWm[s[1]] as number, s[2]);
      const next = Math.max(w, Math.min(inputWm[0] as number, inputWm[1] as number));
      // cleanup runs when the watermark advances: what is due by then goes (an element buffered at ts = W with
      // nothing kept after it stays until the next advance, as under Flink's cleanup timers)
      if (next > w) for (const e of seen) if (e.ts + (keep[e.side] as number) <= next) e.gone = true;
      w = next;
      return;
    }
    const [, side, key, ts] = s;
    if (ts < w) return;
    const name = `${side === 0 ? 'l' : 'r'}${n}`;
    const partners = seen
      .filter((e) => e.side !== side && e.key === key && !e.gone)
      .filter((e) => (side === 0 ? e.ts >= ts + lo && e.ts <= ts + hi : ts >= e.ts + lo && ts <= e.ts + hi))
      .sort((a, b) => a.ts - b.ts); // stable: arrival order within a timestamp
    for (const p of partners) {
      const [l, r] = side === 0 ? [{ name, ts }, p] : [p, { name, ts }];
      out.push(`${key}: ${l.name}+${r.name} ${l.ts}/${r.ts} @${Math.max(l.ts, r.ts)}`);
    }
    seen.push({ side, key, ts, name, gone: false });
  });
  return out;
}

/** Runs the steps through the operator, restoring from a snapshot before each index in `cuts`. */
function runOperator(steps: readonly Step[], bounds: IntervalJoinBounds, cuts: ReadonlySet<number>): string[] {
  return runTwoInput(
    steps,
    (right$) => intervalJoin<string, string, string, string>(right$, bounds, (l, r, ctx) => `${ctx.key}: ${l}+${r} ${ctx.leftTimestamp}/${ctx.rightTimestamp}`, { name: 'p' }),
    cuts,
  );
}

describe('intervalJoin: property against a batch oracle', () => {
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constant('rec' as const), fc.constantFrom(0 as const, 1 as const), fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 60 })) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('wm' as const), fc.constantFrom(0 as const, 1 as const), fc.integer({ min: 0, max: 60 })) },
  );
  const bounds = fc
    .record({ lower: fc.integer({ min: -15, max: 10 }), width: fc.integer({ min: 0, max: 20 }), lowerInclusive: fc.boolean(), upperInclusive: fc.boolean() })
    .map(({ lower, width, lowerInclusive, upperInclusive }): IntervalJoinBounds => ({ lower, upper: lower + width, lowerInclusive, upperInclusive }));

  it('random out-of-order two-input streams: exactly the oracle\'s pairs, in its order, with restores at random cuts', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), bounds, fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 4 }), (steps, b, cuts) => {
        const lo = b.lowerInclusive === false ? b.lower + 1 : b.lower;
        const hi = b.upperInclusive === false ? b.upper - 1 : b.upper;
        const expected = oracle(steps, lo, hi);
        expect(runOperator(steps, b, new Set())).toStrictEqual(expected);
        expect(runOperator(steps, b, new Set(cuts))).toStrictEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('dense timestamps and a side kept 0 ms (elements at the watermark, buckets dropped and made again): exactly the oracle\'s pairs, with restores', () => {
    // time moves on with the steps (buffers of several buckets, some dropped at a watermark and some kept), records
    // a little ahead of it and watermarks a little behind, often equal
    const dense = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom(0 as const, 1 as const), fc.constantFrom('a', 'a', 'b'), fc.integer({ min: 0, max: 3 })), { maxLength: 100 })
      .map((draws) =>
        draws.flatMap(([kind, side, key, d], i): Step[] => {
          const now = Math.floor(i / 4);
          // (a watermark on both inputs, or on one: the other holds the join's back)
          if (kind === 0) return d === 3 ? [['wm', side, now]] : [['wm', 0, now - (d & 1)], ['wm', 1, now - (d & 1)]];
          return [['rec', side, key, now + 2 * d]];
        }),
      );
    const keptZero = fc.record({ lower: fc.integer({ min: -4, max: 0 }), upper: fc.integer({ min: 0, max: 4 }), zero: fc.constantFrom('upper', 'lower') }).map(({ lower, upper, zero }): IntervalJoinBounds => (zero === 'upper' ? { lower, upper: 0 } : { lower: 0, upper }));
    fc.assert(
      fc.property(dense, keptZero, fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 4 }), (steps, b, cuts) => {
        const expected = oracle(steps, b.lower, b.upper);
        expect(runOperator(steps, b, new Set())).toStrictEqual(expected);
        expect(runOperator(steps, b, new Set(cuts))).toStrictEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('one key with 1 500 buckets a side (the watermark far behind), made in random and reverse order, dropped in steps: exactly the oracle\'s pairs, with restores', () => {
    // a key's buffer is kept in blocks of at most 256 buckets (src/joins/intervalJoinOperator.ts): buckets made
    // before, between and after others, joins that span blocks, whole blocks dropped and a block dropped in part
    const rnd = seededRandom(7);
    const n = 1_500;
    const order = shuffledRange(n, rnd);
    const steps: Step[] = [];
    for (const i of order) steps.push(['rec', 0, 'a', 3 * i]);
    for (let i = n - 1; i >= 0; i--) steps.push(['rec', 1, 'a', 3 * i + 1]);
    // key b in order (a full last block opens the next one), then a few out of order among them
    for (let i = 0; i < n; i++) steps.push(['rec', (i % 3 === 0 ? 1 : 0) as 0 | 1, 'b', 2 * i]);
    for (let k = 0; k < 100; k++) steps.push(['rec', (k % 2) as 0 | 1, 'b', rnd(2 * n)]);
    for (let k = 0; k < 300; k++) steps.push(['rec', k % 2 === 0 ? 0 : 1, 'a', rnd(3 * n)]);
    steps.push(['wm', 0, 1_000], ['wm', 1, 1_200]);
    for (let k = 0; k < 300; k++) steps.push(['rec', k % 2 === 0 ? 0 : 1, 'a', 900 + rnd(3 * n - 900)]);
    steps.push(['wm', 0, 2_500], ['wm', 1, 2_600]);
    for (let k = 0; k < 200; k++) steps.push(['rec', k % 2 === 0 ? 0 : 1, 'a', 3 * n - rnd(1_500)]);
    const b: IntervalJoinBounds = { lower: -40, upper: 25 };
    const expected = oracle(steps, b.lower, b.upper);
    expect(expected.length).toBeGreaterThan(20_000);
    expect(runOperator(steps, b, new Set())).toStrictEqual(expected);
    expect(runOperator(steps, b, new Set([n, 2 * n + 150, 3 * n + 50, 3 * n + 402, steps.length - 100]))).toStrictEqual(expected);
  });

  it('a restore at every cut of one run equals the uninterrupted run', () => {
    const steps: Step[] = [
      ['rec', 0, 'a', 10], ['rec', 1, 'a', 12], ['wm', 0, 5], ['rec', 1, 'b', 3], ['wm', 1, 8], ['rec', 0, 'b', 6],
      ['rec', 0, 'a', 14], ['wm', 0, 20], ['wm', 1, 14], ['rec', 1, 'a', 15], ['rec', 1, 'a', 13], ['wm', 1, 40], ['wm', 0, 40],
    ];
    const b: IntervalJoinBounds = { lower: -2, upper: 3 };
    const expected = runOperator(steps, b, new Set());
    expect(expected).toStrictEqual(oracle(steps, -2, 3));
    expect(expected.length).toBeGreaterThan(2);
    for (let cut = 0; cut <= steps.length; cut++) expect(runOperator(steps, b, new Set([cut])), `cut ${cut}`).toStrictEqual(expected);
  });
});

describe('intervalJoin: state stays bounded (rule 6)', () => {
  it('1 M events over 100 000 keys, in order with lagging watermarks: state entries and buffered values stay below a fixed bound', () => {
    const h = twoInputHarness(join({ lower: -50, upper: 50 }));
    const rnd = prng(7);
    const batch: [StreamElement<string, string>[], StreamElement<string, string>[]] = [[], []];
    const counts = [0, 0];
    const keys = new Set<string>();
    let maxEntries = 0;
    let maxValues = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const side = rnd() < 0.5 ? 0 : 1;
      const t = Math.floor(i / 10);
      const key = `k${Math.floor(rnd() * 100_000)}`;
      keys.add(key);
      batch[side].push({ kind: 'record', value: 'v', timestamp: t, key });
      if (++counts[side]! % 1000 === 0) batch[side].push({ kind: 'watermark', timestamp: t - 1 });
      if (i % 10_000 === 9_999) {
        h.push(...batch[0]).push2(...batch[1]);
        batch[0] = [];
        batch[1] = [];
        maxEntries = Math.max(maxEntries, h.metrics().stateEntries ?? 0);
        if (i % 100_000 === 99_999) maxValues = Math.max(maxValues, bufferedValues(h));
      }
    }
    expect(keys.size).toBeGreaterThan(99_000);
    // buffered: ≈ the events of the last 50 ms plus the watermarks' lag (1 000 records per input ≈ 200 ms): ≈ 2 500
    expect(maxValues).toBeGreaterThan(1_000);
    expect(maxValues).toBeLessThan(10_000);
    expect(maxEntries).toBeLessThan(10_000);
    expect(h.records().length).toBeGreaterThan(0);
  });
});

describe('intervalJoin: checkpoints of a key that buffers much (docs/SEMANTICS.md §6.3, blocks rows)', () => {
  // one key, a timestamp per record, the watermark 4 000 ms behind: each side buffers ≈ 2 000 timestamps (8 blocks)
  const steps: Step[] = [];
  for (let i = 0; i < 8_000; i++) {
    steps.push(['rec', (i % 2) as 0 | 1, 'k', i]);
    if (i % 100 === 99) steps.push(['wm', 0, i - 4_000], ['wm', 1, i - 4_000]);
  }
  const bounds: IntervalJoinBounds = { lower: -2, upper: 2 };

  /** A side's buffered buckets as `[timestamp, values]`, without the ones cleanup dropped (blocks flattened). */
  const buckets = (h: H, side: string): unknown[][] => {
    const stored = h.state('k', side) as unknown[] | undefined;
    if (stored === undefined) return [];
    const blocks = (typeof stored[0] === 'number' ? [stored] : stored) as unknown[][];
    const out: unknown[][] = [];
    for (const b of blocks) for (let j = 0; j < b.length; j += 2) if ((b[j + 1] as unknown[]).length > 0) out.push([b[j], b[j + 1]]);
    return out;
  };

  it('a snapshot every 300 steps: each delta writes the key\'s changed blocks and the others as runs of indices, not its buffer; each restores the buffer', () => {
    const h = twoInputHarness(join(bounds));
    const deltaRows: string[] = [];
    let largestBuffer = 0;
    steps.forEach((s, n) => {
      if (s[0] === 'wm') {
        if (s[1] === 0) h.watermark(s[2]);
        else h.watermark2(s[2]);
      } else if (s[1] === 0) h.record(`l${n}`, s[3], s[2]);
      else h.record2(`r${n}`, s[3], s[2]);
      if (n % 300 !== 299) return;
      const cp = h.snapshot();
      const rows = (cp.latest.get('j')?.entries ?? []).filter((e) => e.path.includes('"left"')).map((e) => e.value ?? '');
      if ((cp.operators.get('j')?.length ?? 0) > 1) deltaRows.push(...rows);
      largestBuffer = Math.max(largestBuffer, JSON.stringify(h.state('k', 'left')).length);
      const restored = h.restore(cp);
      for (const side of ['left', 'right']) expect(buckets(restored, side), `${side}, step ${n}`).toStrictEqual(buckets(h, side));
    });
    expect(deltaRows.length).toBeGreaterThan(20);
    // once the buffer is in blocks: blocks rows, each a block or two and the indices of the others
    const blocksRows = deltaRows.filter((r) => r.startsWith('[7,'));
    expect(blocksRows.length).toBeGreaterThan(15);
    // (the unchanged blocks as runs: an index and −m, the m after it — no other number here is negative)
    expect(blocksRows.filter((r) => /\d,-\d/.test(r)).length).toBeGreaterThan(15);
    expect(largestBuffer).toBeGreaterThan(20_000);
    for (const r of blocksRows) expect(r.length).toBeLessThan(largestBuffer / 3);
  });

  it('restored at each of its snapshots (a chain of deltas), it gives exactly the oracle\'s pairs', () => {
    const expected = oracle(steps, bounds.lower, bounds.upper);
    expect(expected.length).toBeGreaterThan(7_000);
    const cuts = new Set<number>();
    for (let n = 300; n < steps.length; n += 300) cuts.add(n);
    expect(runOperator(steps, bounds, cuts)).toStrictEqual(expected);
  });
});

/** The values buffered on both sides, over every key with state. */
function bufferedValues(h: H): number {
  let n = 0;
  for (const k of h.keys()) {
    for (const side of ['left', 'right']) {
      const buffer = h.state(k, side) as unknown[] | undefined;
      if (buffer !== undefined) for (let j = 1; j < buffer.length; j += 2) n += (buffer[j] as unknown[]).length;
    }
  }
  return n;
}
