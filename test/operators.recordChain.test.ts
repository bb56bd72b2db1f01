// Chains of map / filter / keyBy run by one subscriber (operators/recordChain.ts) against the same operators each run
// alone (the implementations a chain falls back to): the same elements, the same record objects where a filter passes
// its record on, the same errors naming the same stage and record — also when a function pushes records into the
// source, the downstream stops or throws; and headed by `eventTime` (the timestamp assigner in the chain's subscriber)
// against `eventTime` subscribed on its own before the stages.
import fc from 'fast-check';
import { EMPTY, Observable, Subject, Subscriber, Subscription, from, pipe, take, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  boundedOutOfOrderness,
  count,
  countTrigger,
  InvalidKeyError,
  InvalidTimestampError,
  MAX_WATERMARK,
  monotonousTimestamps,
  sessionWindows,
  slidingWindows,
  tumblingWindows,
  UserFunctionError,
  valueState,
  type Key,
  type StreamElement,
} from '../src/index.js';
import { aggregate, eventTime, filter, ingestionTime, keyBy, map, process, window } from '../operators/index.js';
import { assignTimestampsAlone } from './support/assignTimestampsOracle.js';
import { takesPlainValues } from '../src/elements/plumbing.js';
import type { RecordStage } from '../operators/recordChain.js';
import { active, ckpt, harness, idle, rec, wm } from '../testing/index.js';

type El = StreamElement<number, Key>;
type Stage = { kind: 'map'; add: number; throwAt: number } | { kind: 'filter'; mod: number; throwAt: number } | { kind: 'keyBy'; mod: number; bad: number; badKey?: unknown };

const stageArb: fc.Arbitrary<Stage> = fc.oneof(
  fc.record({ kind: fc.constant('map' as const), add: fc.integer({ min: -3, max: 3 }), throwAt: fc.integer({ min: -20, max: 60 }) }),
  fc.record({ kind: fc.constant('filter' as const), mod: fc.integer({ min: 1, max: 4 }), throwAt: fc.integer({ min: -20, max: 60 }) }),
  // the key at `bad` is no key: undefined, NaN (a number: checked on the chain's path for strings and numbers), an
  // object, an array holding NaN
  fc.record({
    kind: fc.constant('keyBy' as const),
    mod: fc.integer({ min: 1, max: 5 }),
    bad: fc.integer({ min: -20, max: 60 }),
    badKey: fc.constantFrom<unknown>(undefined, Number.NaN, { id: 1 }, ['a', Number.NaN]),
  }),
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
  return keyBy((v: number) => (v === s.bad ? (s.badKey as Key) : v % s.mod)) as unknown as (o: Observable<El>) => Observable<El>;
}

/** An `eventTime` head: stamps `v` at `3 v`; throws at `throwAt`, a NaN timestamp at `nanAt`; a watermark per advance. */
interface Head {
  throwAt: number;
  nanAt: number;
}
const headArb: fc.Arbitrary<Head | undefined> = fc.option(fc.record({ throwAt: fc.integer({ min: -20, max: 60 }), nanAt: fc.integer({ min: -20, max: 60 }) }), { nil: undefined });

function headOperator(h: Head): (o: Observable<El>) => Observable<El> {
  return eventTime(timestampOf(h), monotonousTimestamps({ interval: 0 })) as unknown as (o: Observable<El>) => Observable<El>;
}

/** The stamping function of a head. */
function timestampOf(h: Head): (v: number) => number {
  return (v) => {
    if (v === h.throwAt) throw new Error(`eventTime ${v}`);
    return v === h.nanAt ? Number.NaN : 3 * v;
  };
}

/**
 * `eventTime` as it was before it joined chains — an operator of its own (test/support/assignTimestampsOracle.ts) —
 * behind an observable that is not a chain, so the stages after it run alone too.
 */
function headAlone(h: Head): (o: Observable<El>) => Observable<El> {
  return (o) => {
    const stamped = assignTimestampsAlone<number, Key>('eventTime', timestampOf(h), monotonousTimestamps({ interval: 0 }))(o as Observable<number | StreamElement<number, Key>>);
    return new Observable<El>((s) => stamped.subscribe(s));
  };
}

/** A stage's operator alone (the implementation a chain falls back to), from its chain of one. */
function aloneOf(op: (o: Observable<El>) => Observable<El>): (o: Observable<El>) => Observable<El> {
  const chain = op(EMPTY) as unknown as { stages: readonly RecordStage[] };
  expect(chain.stages).toHaveLength(1);
  return (chain.stages[0] as RecordStage).alone() as unknown as (o: Observable<El>) => Observable<El>;
}

/** A keyed operator after the stages: a chain hands it each record as its fields (no record object). */
type End = { kind: 'process'; throwAt: number } | { kind: 'tumbling' | 'sliding' | 'sessions' | 'general' };
const endArb: fc.Arbitrary<End> = fc.oneof(
  fc.record({ kind: fc.constant('process' as const), throwAt: fc.integer({ min: -20, max: 60 }) }),
  // (general: the general window operator, through a trigger of its own, which makes a record of the fields)
  fc.record({ kind: fc.constantFrom('tumbling' as const, 'sliding' as const, 'sessions' as const, 'general' as const) }),
);

/** The keyed operator of an end: a process counting per key with a timer, or a window counting. */
function endOperator(end: End, late: unknown[]): (o: Observable<El>) => Observable<El> {
  if (end.kind === 'process') {
    const state = { n: valueState<number>() };
    return process<number, Key, string, typeof state>({
      name: 'p',
      state,
      onElement(v, ctx) {
        if (v === end.throwAt) throw new Error(`process ${v}`);
        const n = (ctx.state.n.get() ?? 0) + 1;
        ctx.state.n.set(n);
        ctx.timers.registerEventTime(ctx.timestamp + 5);
        ctx.emit(`${v}#${n} k${String(ctx.key)} @${ctx.timestamp}`);
      },
      onTimer(ts, ctx) {
        ctx.emit(`timer ${ts} k${String(ctx.key)} n${String(ctx.state.n.get())}`);
      },
    }) as unknown as (o: Observable<El>) => Observable<El>;
  }
  const assigner = end.kind === 'tumbling' || end.kind === 'general' ? tumblingWindows(10) : end.kind === 'sliding' ? slidingWindows(10, 5) : sessionWindows(4);
  const trigger = end.kind === 'general' ? { trigger: countTrigger(2) } : {};
  return (o) => (o as Observable<StreamElement<number, Key>>).pipe(window(assigner, { name: 'w', ...trigger, lateData: { next: (r: unknown) => void late.push(r), error: () => {}, complete: () => {} } }), aggregate(count())) as unknown as Observable<El>;
}

/** Output elements (as they are: identity compared separately), the error's kind, operator and record, completion. */
function run(source: Observable<El>, stages: readonly Stage[], chained: boolean, head?: Head, end?: End) {
  let s = head === undefined ? source : chained ? headOperator(head)(source) : headAlone(head)(source);
  for (const stage of stages) s = chained ? operatorOf(stage)(s) : aloneOf(operatorOf(stage))(s);
  const late: unknown[] = [];
  if (end !== undefined) s = endOperator(end, late)(s);
  const out: El[] = [];
  let error: unknown;
  let completed = false;
  s.subscribe({ next: (e) => void out.push(e), error: (e: unknown) => void (error = e), complete: () => void (completed = true) });
  const err =
    error instanceof UserFunctionError ? ['user', error.operator, error.value, (error.cause as Error).message]
    : error instanceof InvalidKeyError ? ['key', error.operator, error.message]
    : error instanceof InvalidTimestampError ? ['timestamp', error.operator, error.message]
    : error;
  return { out, err, completed, late };
}

describe('chains of map, filter and keyBy (one subscriber) against the same operators alone', () => {
  it('the same elements in the same order, the same errors (stage and record), the same completion, with or without an eventTime head (property)', () => {
    fc.assert(
      fc.property(fc.array(elementArb, { maxLength: 40 }), fc.array(stageArb, { minLength: 1, maxLength: 6 }), headArb, (elements, stages, head) => {
        const chained = run(from(elements), stages, true, head);
        const alone = run(from(elements), stages, false, head);
        expect(chained).toStrictEqual(alone);
        // a record only filters touched is passed on as the same object
        if (head === undefined && stages.every((s) => s.kind === 'filter')) chained.out.forEach((e, i) => expect(e).toBe(alone.out[i]));
      }),
      { numRuns: 400 },
    );
  });

  it('a chain ending in process or a window hands it each record as its fields: the same output, errors and completion as records one by one (property)', () => {
    // no MAX watermark before records here (a record after the end of input is warned about on the console)
    const elements = fc.array(
      fc.oneof(
        // (an unkeyed record reaching the keyed operator fails the stream, naming it)
        { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 0, max: 40 }), fc.nat(100), fc.constantFrom<Key | undefined>('a', 'b', 1, 1, 'a', undefined)).map(([v, t, k]) => rec(v, t, k as Key)) },
        { weight: 1, arbitrary: fc.constantFrom<El>(wm(10), wm(30), wm(60), idle(), active(), ckpt(3)) },
      ),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(elements, fc.array(stageArb, { minLength: 1, maxLength: 4 }), headArb, endArb, (input, stages, head, end) => {
        const chained = run(from(input), stages, true, head, end);
        const alone = run(from(input), stages, false, head, end);
        expect(chained).toStrictEqual(alone);
      }),
      { numRuns: 400 },
    );
  });

  it('functions that push records into the source, a downstream that stops or throws: the same calls, elements and errors (property)', () => {
    const opArb = fc.record({ kind: fc.constantFrom('map' as const, 'filter' as const, 'keyBy' as const), pushAt: fc.integer({ min: 0, max: 12 }), throwAt: fc.integer({ min: 0, max: 40 }) });
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 12 }),
        fc.array(opArb, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 15 }),
        fc.integer({ min: 0, max: 20 }),
        headArb,
        (values, ops, takeN, throwOnNth, head) => {
          const runOnce = (chained: boolean) => {
            const calls: string[] = [];
            const input = new Subject<El>();
            let pushes = 0;
            let s: Observable<El> = head === undefined ? input : chained ? headOperator(head)(input) : headAlone(head)(input);
            ops.forEach((o, j) => {
              const f = (v: number, ctx: { timestamp: number; key: unknown }): number => {
                calls.push(`${o.kind}${j} ${v} @${ctx.timestamp} k${String(ctx.key)}`);
                // a push into the source from inside the chain (bounded)
                if (v === o.pushAt && pushes++ < 3) input.next(rec(v + 20, 99, 'pushed'));
                if (v === o.throwAt) throw new Error(`${o.kind}${j} ${v}`);
                return v;
              };
              const op =
                o.kind === 'map'
                  ? map((v: number, ctx) => f(v, ctx) + 1)
                  : o.kind === 'filter'
                    ? filter((v: number, ctx) => f(v, ctx) % 3 !== 0)
                    : keyBy((v: number) => f(v, { timestamp: -1, key: 'keyBy' }) % 2);
              s = chained ? (op as (x: Observable<El>) => Observable<El>)(s) : aloneOf(op as (x: Observable<El>) => Observable<El>)(s);
            });
            const out: string[] = [];
            let nth = 0;
            // a downstream whose `next` throws (a Subscriber: RxJS would report a plain observer's throw elsewhere)
            class Downstream extends Subscriber<El> {
              protected override _next(e: El): void {
                out.push(e.kind === 'record' ? `${String(e.value)}@${e.timestamp} k${String(e.key)}` : e.kind);
                if (++nth === throwOnNth) throw new Error('downstream');
              }
              protected override _error(err: unknown): void {
                out.push(err instanceof UserFunctionError ? `error ${err.operator} ${JSON.stringify(err.value)}` : `error ${String(err)}`);
                this.unsubscribe();
              }
              protected override _complete(): void {
                out.push('complete');
                this.unsubscribe();
              }
            }
            s.pipe(take(takeN)).subscribe(new Downstream());
            try {
              values.forEach((v, t) => input.next(rec(v, t, 'src')));
              input.complete();
            } catch (err) {
              // thrown back to the source (only keyBys between it and the throwing downstream, as alone)
              out.push(`thrown ${String(err)}`);
            }
            return { calls, out };
          };
          expect(runOnce(true)).toStrictEqual(runOnce(false));
        },
      ),
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

  it('a downstream that throws behind eventTime and keyBy only: the error names eventTime and the value it was given, as eventTime alone does', () => {
    const head: Head = { throwAt: -99, nanAt: -99 };
    const runOnce = (chained: boolean) => {
      const input = new Subject<El>();
      const stamped = chained ? headOperator(head)(input) : headAlone(head)(input);
      const keyed = chained ? operatorOf({ kind: 'keyBy', mod: 2, bad: -99 })(stamped) : aloneOf(operatorOf({ kind: 'keyBy', mod: 2, bad: -99 }))(stamped);
      const seen: unknown[] = [];
      class Downstream extends Subscriber<El> {
        protected override _next(e: El): void {
          seen.push(e);
          if (e.kind === 'record' && e.value === 5) throw new Error('downstream');
        }
        protected override _error(err: unknown): void {
          seen.push(err instanceof UserFunctionError ? ['error', err.operator, err.value, (err.cause as Error).message] : err);
          this.unsubscribe();
        }
      }
      keyed.subscribe(new Downstream());
      [4, 5, 6].forEach((v) => input.next(rec(v, 0, 'k')));
      return seen;
    };
    expect(runOnce(true)).toStrictEqual([rec(4, 12, 0), wm(11), rec(5, 15, 1), ['error', 'eventTime', rec(5, 0, 'k'), 'downstream']]);
    expect(runOnce(true)).toStrictEqual(runOnce(false));
  });

  it('periodic watermarks on a clock: the record path checks the clock every 256 records, a filter\'s dropped ones counted, for eventTime and ingestionTime, as the operator alone did', () => {
    for (const kind of ['eventTime', 'ingestionTime'] as const) {
      const runOnce = (chained: boolean) => {
        let clock = 0;
        // a clock the test moves (1 ms a value); the periodic timer never fires, so only the record path emits
        const scheduler = { now: () => clock, schedule: () => new Subscription() } as unknown as SchedulerLike;
        const strategy = boundedOutOfOrderness(5, { interval: 10, scheduler });
        const input = new Subject<number>();
        const keep = (v: number) => v % 3 !== 0;
        let stamped: Observable<El>;
        if (chained) {
          const head = kind === 'eventTime' ? eventTime((v: number) => 2 * v, strategy) : ingestionTime<number>(strategy);
          stamped = input.pipe(head, filter(keep)) as unknown as Observable<El>;
        } else {
          const alone = assignTimestampsAlone<number, Key>(kind, kind === 'eventTime' ? (v: number) => 2 * v : undefined, strategy)(input);
          stamped = aloneOf(filter(keep) as unknown as (o: Observable<El>) => Observable<El>)(new Observable<El>((o) => alone.subscribe(o)));
        }
        const out: string[] = [];
        stamped.subscribe({ next: (e) => void out.push(e.kind === 'record' ? `r${String(e.value)}@${e.timestamp}` : e.kind === 'watermark' ? `w${e.timestamp}` : e.kind), complete: () => void out.push('end') });
        for (let v = 0; v < 700; v++) {
          clock++;
          input.next(v);
        }
        input.complete();
        return out;
      };
      const chained = runOnce(true);
      expect(chained).toStrictEqual(runOnce(false));
      // two record-path emits (after records 256 and 512, a third of them dropped), then the end's
      const watermarks = chained.filter((x) => x.startsWith('w'));
      expect(watermarks).toStrictEqual(kind === 'eventTime' ? ['w504', 'w1016', 'w1392', `w${MAX_WATERMARK}`] : ['w250', 'w506', 'w694', `w${MAX_WATERMARK}`]);
      expect(chained.filter((x) => x.startsWith('r'))).toHaveLength(700 - Math.ceil(700 / 3));
    }
  });

  it('the subscriber of a chain headed by eventTime or ingestionTime takes plain values (a job pushes them as they are); others do not', () => {
    const subscriberOf = (op: (o: Observable<unknown>) => Observable<unknown>): object => {
      let captured: object | undefined;
      op(new Observable<unknown>((s) => void (captured = s))).subscribe();
      return captured as object;
    };
    expect(takesPlainValues(subscriberOf(eventTime((v: number) => v) as never))).toBe(true);
    expect(takesPlainValues(subscriberOf((o) => o.pipe(ingestionTime(), filter(() => true), keyBy(() => 1)) as never))).toBe(true);
    expect(takesPlainValues(subscriberOf(filter(() => true) as never))).toBe(false);
    expect(takesPlainValues(subscriberOf(map((v) => v) as never))).toBe(false);
  });
});

describe('a chain into a keyed operator hands it records as fields', () => {
  it('counts the records in, warns about a record after the end of input, emits what records one by one give', () => {
    const h = harness(
      pipe(
        map((v: number) => v + 1),
        keyBy((v: number) => v % 2),
        process<number, number, string>({
          name: 'p',
          onElement(v, ctx) {
            ctx.emit(`${v} k${ctx.key} @${ctx.timestamp}`);
          },
        }),
      ) as unknown as (o: Observable<StreamElement<number, Key>>) => Observable<StreamElement<string, Key>>,
    );
    h.push(rec(1, 10, 'x'), rec(2, 20, 'x'), wm(MAX_WATERMARK), rec(3, 30, 'x'));
    expect(h.records().map((r) => [r.value, r.key])).toStrictEqual([
      ['2 k0 @10', 0],
      ['3 k1 @20', 1],
      ['4 k0 @30', 0],
    ]);
    expect(h.metrics({ operator: 'p' })).toMatchObject({ recordsIn: 3, recordsOut: 3, recordsAfterEndOfInput: 1 });
    expect(h.warnings()).toHaveLength(1);
    expect(h.warnings()[0]).toContain('p: a record arrived after the end of event time');
  });

  it('a record the chain passes on as it came (only filters ran) reaches the operator as that object: in errors and late-data outputs', () => {
    const e = rec(7, 5, 'k');
    let error: unknown;
    from([e])
      .pipe(
        filter(() => true),
        process<number, string>({
          name: 'p',
          onElement() {
            throw new Error('boom');
          },
        }),
      )
      .subscribe({ error: (err: unknown) => void (error = err) });
    expect(error).toBeInstanceOf(UserFunctionError);
    expect((error as UserFunctionError).value).toBe(e);

    for (const assigner of [tumblingWindows(10), slidingWindows(10, 5), sessionWindows(4)]) {
      for (const chained of ['none', 'filter', 'keyBy'] as const) {
        const late = rec(1, 3, 'a');
        const got: unknown[] = [];
        const before = (o: Observable<StreamElement<number, Key>>): Observable<StreamElement<number, Key>> =>
          chained === 'none' ? o : chained === 'filter' ? o.pipe(filter(() => true)) : (o.pipe(keyBy(() => 'a')) as Observable<StreamElement<number, Key>>);
        before(from([rec(5, 50, 'a'), wm(40), late]))
          .pipe(window(assigner, { lateData: { next: (r: unknown) => void got.push(r), error: () => {}, complete: () => {} } }), aggregate(count()))
          .subscribe();
        expect(got).toHaveLength(1);
        // as it came, unless the chain made a record of it (keyBy): then an equal one
        if (chained === 'keyBy') expect(got[0]).toStrictEqual(late);
        else expect(got[0]).toBe(late);
      }
    }
  });
});
