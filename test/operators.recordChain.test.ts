// Chains of map / filter / keyBy run by one subscriber (operators/recordChain.ts) against the same operators each run
// alone (an RxJS operator between two stages ends a chain): the same elements, the same record objects where a
// filter passes its record on, the same errors naming the same stage and record.
import fc from 'fast-check';
import { Observable, Subject, from, map as rxMap } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InvalidKeyError, MAX_WATERMARK, UserFunctionError, type Key, type StreamElement } from '../src/index.js';
import { filter, keyBy, map } from '../operators/index.js';
import { active, ckpt, idle, rec, wm } from '../testing/index.js';

type El = StreamElement<number, Key>;
type Stage = { kind: 'map'; add: number; throwAt: number } | { kind: 'filter'; mod: number; throwAt: number } | { kind: 'keyBy'; mod: number; bad: number };

const stageArb: fc.Arbitrary<Stage> = fc.oneof(
  fc.record({ kind: fc.constant('map' as const), add: fc.integer({ min: -3, max: 3 }), throwAt: fc.integer({ min: -20, max: 60 }) }),
  fc.record({ kind: fc.constant('filter' as const), mod: fc.integer({ min: 1, max: 4 }), throwAt: fc.integer({ min: -20, max: 60 }) }),
  fc.record({ kind: fc.constant('keyBy' as const), mod: fc.integer({ min: 1, max: 5 }), bad: fc.integer({ min: -20, max: 60 }) }),
);
const elementArb: fc.Arbitrary<El> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 0, max: 40 }), fc.nat(100), fc.constantFrom<Key>('a', 'b', 1)).map(([v, t, k]) => rec(v, t, k)) },
  { weight: 1, arbitrary: fc.constantFrom<El>(wm(10), idle(), active(), ckpt(3), wm(MAX_WATERMARK)) },
);

/** The tidewater operator of a stage (the throwing and bad-key cases included). */
function operatorOf(s: Stage): (o: Observable<El>) => Observable<El> {
  if (s.kind === 'map') {
    return map((v: number, ctx) => {
      if (v === s.throwAt) throw new Error(`map ${v}`);
      // the context: the key of an earlier keyBy, the record's timestamp
      return v + s.add + (typeof ctx.key === 'number' ? ctx.key : 0) + (ctx.timestamp % 2);
    }) as (o: Observable<El>) => Observable<El>;
  }
  if (s.kind === 'filter') {
    return filter((v: number) => {
      if (v === s.throwAt) throw new Error(`filter ${v}`);
      return v % s.mod !== 0;
    }) as (o: Observable<El>) => Observable<El>;
  }
  return keyBy((v: number) => (v === s.bad ? (undefined as unknown as Key) : v % s.mod)) as unknown as (o: Observable<El>) => Observable<El>;
}

/** Output elements (as they are: identity compared separately), the error's kind, operator and record, completion. */
function run(source: Observable<El>, stages: readonly Stage[], chained: boolean) {
  let s = source;
  for (const stage of stages) {
    s = operatorOf(stage)(s);
    // an RxJS operator in between: the next stage starts a chain of its own
    if (!chained) s = s.pipe(rxMap((e) => e));
  }
  const out: El[] = [];
  let error: unknown;
  let completed = false;
  s.subscribe({ next: (e) => void out.push(e), error: (e: unknown) => void (error = e), complete: () => void (completed = true) });
  const err =
    error instanceof UserFunctionError ? ['user', error.operator, error.value, (error.cause as Error).message]
    : error instanceof InvalidKeyError ? ['key', error.operator, error.message]
    : error;
  return { out, err, completed };
}

describe('chains of map, filter and keyBy (one subscriber) against the same operators alone', () => {
  it('the same elements in the same order, the same errors (stage and record), the same completion (property)', () => {
    fc.assert(
      fc.property(fc.array(elementArb, { maxLength: 40 }), fc.array(stageArb, { minLength: 1, maxLength: 6 }), (elements, stages) => {
        const chained = run(from(elements), stages, true);
        const alone = run(from(elements), stages, false);
        expect(chained).toStrictEqual(alone);
        // a record only filters touched is passed on as the same object
        if (stages.every((s) => s.kind === 'filter')) chained.out.forEach((e, i) => expect(e).toBe(alone.out[i]));
      }),
      { numRuns: 400 },
    );
  });

  it('a chain is one subscription upstream; the shorter chain it grew from still works on its own', () => {
    const input = new Subject<El>();
    let subscriptions = 0;
    const source = new Observable<El>((o) => {
      subscriptions++;
      const sub = input.subscribe(o);
      return () => sub.unsubscribe();
    });
    const short = source.pipe(filter((v: number) => v > 1));
    const long = short.pipe(keyBy((v: number) => v % 2), map((v: number, ctx) => `${v}/${String(ctx.key)}`));
    const outShort: unknown[] = [];
    const outLong: unknown[] = [];
    long.subscribe((e) => void outLong.push(e));
    expect(subscriptions).toBe(1);
    short.subscribe((e) => void outShort.push(e));
    expect(subscriptions).toBe(2);
    input.next(rec(1, 1, 'x'));
    input.next(rec(2, 2, 'x'));
    input.next(wm(5));
    input.next(rec(3, 6, 'x'));
    expect(outLong).toStrictEqual([rec('2/0', 2, 0), wm(5), rec('3/1', 6, 1)]);
    expect(outShort).toStrictEqual([rec(2, 2, 'x'), wm(5), rec(3, 6, 'x')]);
  });

  it('an error in a middle stage names that stage and the record it was given', () => {
    const { err } = run(
      from([rec(4, 7, 'k')]),
      [
        { kind: 'map', add: 1, throwAt: -99 },
        { kind: 'keyBy', mod: 3, bad: -99 },
        { kind: 'map', add: 0, throwAt: 6 },
      ],
      true,
    );
    expect(err).toStrictEqual(['user', 'map', rec(6, 7, 0), 'map 6']);
  });
});
