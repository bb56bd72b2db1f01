import { asyncScheduler, Subject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import {
  ConfigurationError,
  InvalidKeyError,
  InvalidTimestampError,
  boundedOutOfOrderness,
  MAX_WATERMARK,
  UserFunctionError,
  valueState,
  type StreamElement,
} from '../src/index.js';
import { broadcastProcess, coProcess, eventTime, keyBy, map, process } from '../operators/index.js';
import { harness, rec, wm } from '../testing/index.js';
import { marbles } from './support/marbles.js';

type Log = string;

/** A process function whose behaviour is scripted per value: 'reg:<ts>', 'del:<ts>', 'preg:<ts>', 'pdel:<ts>'. */
function scripted(onTimer?: (ts: number, key: string, reg: (ts: number) => void) => void) {
  return process<string, string, Log>({
    name: 'scripted',
    onElement(v, ctx) {
      for (const cmd of v.split(' ')) {
        const [op, arg] = cmd.split(':');
        const ts = Number(arg);
        if (op === 'reg') ctx.timers.registerEventTime(ts);
        else if (op === 'del') ctx.timers.deleteEventTime(ts);
        else if (op === 'preg') ctx.timers.registerProcessingTime(ts);
        else if (op === 'pdel') ctx.timers.deleteProcessingTime(ts);
        else if (op === 'emit') ctx.emit(`${ctx.key}:${v}`);
      }
    },
    onTimer(ts, ctx) {
      ctx.emit(`${ctx.timeDomain}@${ts}:${ctx.key} wm=${ctx.currentWatermark}`);
      onTimer?.(ts, ctx.key, (t) => ctx.timers.registerEventTime(t));
    },
  });
}

describe('process: event-time timers', () => {
  it('fire in ascending timestamp order before the watermark that passes them; ties in registration order', () => {
    const h = harness(scripted());
    h.record('reg:30', 1, 'a').record('reg:10', 2, 'b').record('reg:20', 3, 'a').record('reg:20', 4, 'c').record('reg:10', 5, 'a');
    h.watermark(25);
    expect(h.output()).toStrictEqual([
      rec('event@10:b wm=25', 10, 'b'),
      rec('event@10:a wm=25', 10, 'a'),
      rec('event@20:a wm=25', 20, 'a'),
      rec('event@20:c wm=25', 20, 'c'),
      wm(25),
    ]);
    h.watermark(30);
    expect(h.takeOutput().slice(-2)).toStrictEqual([rec('event@30:a wm=30', 30, 'a'), wm(30)]);
  });

  it('dedup per (key, timestamp): same key twice fires once; same timestamp on two keys fires for each', () => {
    const h = harness(scripted());
    h.record('reg:10 reg:10', 1, 'a').record('reg:10', 2, 'a').record('reg:10', 3, 'b');
    expect(h.timers('a')).toStrictEqual([['event', 10, '']]);
    h.watermark(10);
    expect(h.output()).toStrictEqual([rec('event@10:a wm=10', 10, 'a'), rec('event@10:b wm=10', 10, 'b'), wm(10)]);
  });

  it('a timer registered at or below the current watermark fires at the next watermark, not at once', () => {
    const h = harness(scripted());
    h.watermark(100);
    h.record('reg:50', 101, 'a').record('reg:100', 102, 'a');
    expect(h.output()).toStrictEqual([wm(100)]);
    h.watermark(101);
    expect(h.output()).toStrictEqual([wm(100), rec('event@50:a wm=101', 50, 'a'), rec('event@100:a wm=101', 100, 'a'), wm(101)]);
  });

  it('deletes: an existing timer never fires; deleting a missing one is a no-op; re-registering after delete works', () => {
    const h = harness(scripted());
    h.record('reg:10 reg:20 del:10 del:999', 1, 'a').record('del:5', 2, 'zzz');
    expect(h.timers('a')).toStrictEqual([['event', 20, '']]);
    h.watermark(15);
    expect(h.takeOutput()).toStrictEqual([wm(15)]);
    h.record('del:20 reg:20', 3, 'a').watermark(20);
    expect(h.takeOutput()).toStrictEqual([rec('event@20:a wm=20', 20, 'a'), wm(20)]);
  });

  it('timers registered inside onTimer at or below the watermark fire in the same pass, later ones wait', () => {
    const h = harness(scripted((ts, _key, reg) => {
      if (ts === 10) {
        reg(15); // <= W: same pass, after 12
        reg(5); // in the past: same pass, next in order
        reg(40); // > W: later
      }
    }));
    h.record('reg:10 reg:12', 1, 'a').watermark(20);
    expect(h.takeOutput()).toStrictEqual([
      rec('event@10:a wm=20', 10, 'a'),
      rec('event@5:a wm=20', 5, 'a'),
      rec('event@12:a wm=20', 12, 'a'),
      rec('event@15:a wm=20', 15, 'a'),
      wm(20),
    ]);
    h.watermark(40);
    expect(h.takeOutput()).toStrictEqual([rec('event@40:a wm=40', 40, 'a'), wm(40)]);
  });

  it('non-increasing watermarks are dropped; control elements pass in order', () => {
    const h = harness(scripted());
    h.watermark(10).watermark(10).watermark(5).push({ kind: 'status', idle: true }, { kind: 'barrier', checkpointId: 1 });
    expect(h.output()).toStrictEqual([wm(10), { kind: 'status', idle: true }, { kind: 'barrier', checkpointId: 1 }]);
  });

  it('complete without MAX acts as MAX: fires every event-time timer, emits MAX, completes; processing timers are dropped', () => {
    const h = harness(scripted());
    h.record('reg:1000000 preg:50', 1, 'a').complete();
    expect(h.output()).toStrictEqual([rec(`event@1000000:a wm=${MAX_WATERMARK}`, 1000000, 'a'), wm(MAX_WATERMARK)]);
    expect(h.completed).toBe(true);
    h.setProcessingTime(100);
    expect(h.output()).toHaveLength(2);
  });
});

describe('process: processing-time timers', () => {
  it('a timer further away than the host\'s longest timer (2³¹ − 1 ms) is waited for in steps of at most that, not re-asked every millisecond', () => {
    const delays: number[] = [];
    const schedule = asyncScheduler.schedule.bind(asyncScheduler);
    const spy = vi.spyOn(asyncScheduler, 'schedule').mockImplementation(((work: never, delay?: number, state?: never) => {
      delays.push(delay ?? 0);
      return schedule(work, delay, state);
    }) as typeof asyncScheduler.schedule);
    const input = new Subject<StreamElement<string, string>>();
    const sub = input
      .pipe(process<string, string, string>({ name: 'reminder', onElement: (_v, ctx) => ctx.timers.registerProcessingTime(ctx.currentProcessingTime + 30 * 86_400_000) }))
      .subscribe();
    try {
      input.next(rec('x', 1, 'k'));
      // (a delay over 2³¹ − 1 would fire at once, find nothing due and ask again: a wake-up every millisecond for a month)
      expect(delays).toStrictEqual([2 ** 31 - 1]);
    } finally {
      sub.unsubscribe();
      spy.mockRestore();
    }
  });

  it('fire on the scheduler clock, in order, all due ones at once; deletes honoured', () => {
    const h = harness(scripted());
    h.record('preg:300 preg:100 preg:200 pdel:200', 1, 'a').record('preg:100', 2, 'b');
    h.setProcessingTime(99);
    expect(h.output()).toStrictEqual([]);
    h.setProcessingTime(150);
    expect(h.takeOutput()).toStrictEqual([rec('processing@100:a wm=-Infinity', 100, 'a'), rec('processing@100:b wm=-Infinity', 100, 'b')]);
    h.setProcessingTime(1000);
    expect(h.takeOutput()).toStrictEqual([rec('processing@300:a wm=-Infinity', 300, 'a')]);
  });

  it('a timer registered in the past fires at the next scheduler turn; registered from onTimer too', () => {
    const h = harness(
      process<string, string, string>({
        onElement(_v, ctx) {
          ctx.timers.registerProcessingTime(ctx.currentProcessingTime - 10);
        },
        onTimer(ts, ctx) {
          ctx.emit(`${ts}@${ctx.currentProcessingTime}`);
          if (ts < 100) ctx.timers.registerProcessingTime(ts + 100);
        },
      }),
      { processingTime: 50 },
    );
    h.record('x', 0, 'k');
    expect(h.output()).toStrictEqual([]);
    h.setProcessingTime(50);
    expect(h.takeOutput()).toStrictEqual([rec('40@50', 40, 'k')]);
    h.setProcessingTime(200);
    expect(h.takeOutput()).toStrictEqual([rec('140@140', 140, 'k')]);
  });

  it(
    'marbles: processing-time timers run on the test scheduler',
    marbles((m) => {
      const input = m.cold<StreamElement<string, string>>('a 9ms b 99ms |', { a: rec('x', 1, 'k1'), b: rec('y', 2, 'k2') });
      const out = input.pipe(
        process<string, string, string>({
          onElement(_v, ctx) {
            ctx.timers.registerProcessingTime(ctx.currentProcessingTime + 50);
          },
          onTimer(ts, ctx) {
            ctx.emit(`${ctx.key}@${ts}`);
          },
        }),
      );
      // a@0 → timer 50; b@10 → timer 60; complete@110 → MAX
      m.expect(out).toBeObservable('50ms p 9ms q 49ms (M|)', { p: rec('k1@50', 50, 'k1'), q: rec('k2@60', 60, 'k2'), M: wm(MAX_WATERMARK) });
    }),
  );
});

describe('process: context and outputs', () => {
  it('emit defaults to the record timestamp (timer: the timer timestamp), accepts an explicit one; side outputs', () => {
    const side = new Subject<string>();
    const seen: string[] = [];
    side.subscribe((v) => seen.push(v));
    const h = harness(
      process<number, string, string>({
        onElement(v, ctx) {
          ctx.emit(`a${v}`);
          ctx.emit(`b${v}`, 999);
          ctx.output(side, `side ${ctx.key} ${ctx.timestamp} wm=${ctx.currentWatermark} pt=${ctx.currentProcessingTime}`);
          ctx.timers.registerEventTime(v);
        },
        onTimer(ts, ctx) {
          ctx.emit(`t${ts}`);
          ctx.output(side, `timer ${ctx.timestamp}`);
        },
      }),
      { processingTime: 7 },
    );
    h.record(5, 3, 'k').watermark(5);
    expect(h.output()).toStrictEqual([rec('a5', 3, 'k'), rec('b5', 999, 'k'), rec('t5', 5, 'k'), wm(5)]);
    expect(h.sideOutput(side)).toStrictEqual(['side k 3 wm=-Infinity pt=7', 'timer 5']);
    expect(seen).toStrictEqual(['side k 3 wm=-Infinity pt=7', 'timer 5']);
  });

  it('keys: composite keys work as one key; onTimer sees the timer key', () => {
    const state = { n: valueState<number>() };
    const h = harness(
      process<string, readonly [string, number], number, typeof state>({
        state,
        onElement(_v, ctx) {
          const n = (ctx.state.n.get() ?? 0) + 1;
          ctx.state.n.set(n);
          ctx.timers.registerEventTime(10);
        },
        onTimer(_ts, ctx) {
          ctx.emit(ctx.state.n.get() ?? -1);
        },
      }),
    );
    h.record('x', 1, ['eu', 1]).record('y', 2, ['eu', 1]).record('z', 3, ['eu', 2]).watermark(10);
    expect(h.output()).toStrictEqual([rec(2, 10, ['eu', 1]), rec(1, 10, ['eu', 2]), wm(10)]);
    expect(h.state(['eu', 1], 'n')).toBe(2);
  });
});

describe('process: errors', () => {
  it('an unkeyed stream fails with InvalidKeyError telling to keyBy first', () => {
    const h = harness(process<number, undefined, number>({ onElement() {} }) as never);
    h.push(rec(1, 1) as never);
    expect(h.error).toBeInstanceOf(InvalidKeyError);
    expect((h.error as Error).message).toBe(
      'process#0: key undefined of 1 is not a valid key. The stream is not keyed: put keyBy(...) before process.',
    );
  });

  it('a throwing onElement fails with UserFunctionError naming the operator and the record', () => {
    const h = harness(
      process<number, string, number>({
        name: 'risky',
        onElement(v) {
          if (v > 1) throw new Error('too big');
        },
      }),
    );
    h.record(1, 1, 'a').record(2, 5, 'b');
    expect(h.error).toBeInstanceOf(UserFunctionError);
    expect((h.error as Error).message).toBe('risky: user function threw on record value 2 @ 5 key "b": too big');
    // (the harness takes no more input then: a test that missed h.error hears of it)
    expect(() => h.record(3, 6, 'c')).toThrow(
      'harness.record(…): the operator failed already and takes no more input; its error (h.error): UserFunctionError: risky: user function threw on record value 2 @ 5 key "b": too big',
    );
    expect(() => h.watermark(10)).toThrow(/^harness\.watermark\(…\): the operator failed already/);
  });

  it('a throwing onTimer fails naming the timer and key', () => {
    const h = harness(
      process<number, string, number>({
        onElement(_v, ctx) {
          ctx.timers.registerEventTime(7);
        },
        onTimer() {
          throw new Error('nope');
        },
      }),
    );
    h.record(1, 1, 'a').watermark(10);
    expect((h.error as Error).message).toBe('process#0: user function threw on event-time timer 7 of key "a": nope');
    expect(h.output()).toStrictEqual([]);
  });

  it('a NaN timer timestamp is rejected', () => {
    const h = harness(
      process<number, string, number>({
        onElement(_v, ctx) {
          ctx.timers.registerEventTime(NaN);
        },
      }),
    );
    h.record(1, 1, 'a');
    expect(h.error).toBeInstanceOf(InvalidTimestampError);
    expect((h.error as Error).message).toBe(
      'process#0: timestamp NaN given to registerEventTime(…) is not a finite number of milliseconds. Timestamps are numbers of ms (MAX_WATERMARK allowed for timers).',
    );
  });

  it('a timestamp given to emit that is not a finite number of ms, or beyond the range, names emit', () => {
    const emitting = (ts: number) => {
      const h = harness(
        process<number, string, number>({
          onElement(v, ctx) {
            ctx.emit(v, ts);
          },
        }),
      );
      h.record(1, 1, 'a');
      return (h.error as Error).message;
    };
    expect(emitting(NaN)).toBe('process#0: timestamp NaN given to emit(…) is not a finite number of milliseconds. Timestamps are numbers of ms (MAX_WATERMARK allowed for timers).');
    expect(emitting(1e17)).toMatch(/^process#0: timestamp 100000000000000000 given to emit\(…\) is outside the range in which tidewater computes exactly\. /);
  });
});

describe('process functions given what is not one', () => {
  it('are refused when the operator is made, naming the operator, the field and the remedy (not at the first record)', () => {
    const bad = <T,>(spec: T) => spec as unknown as Parameters<typeof process>[0];
    expect(() => process(bad({}))).toThrow('process: onElement is undefined, not a function; give process({ onElement(…) { … } }).');
    expect(() => process(bad(undefined))).toThrow('process: the spec undefined is not an object; give process({ onElement(…) { … } }).');
    expect(() => process(bad({ name: 'p', onElement() {}, onTimer: 'later' }))).toThrow(
      'process(p): onTimer is "later", not a function; give process({ onElement(…) { … } }) (onTimer may be left out).',
    );
    expect(() => process(bad({}))).toThrow(ConfigurationError);
    const right = new Subject<StreamElement<number, string>>();
    expect(() => coProcess(right, { name: 'c', onElement1() {} } as unknown as Parameters<typeof coProcess>[1])).toThrow(
      'coProcess(c): onElement2 is undefined, not a function; give coProcess(right$, { onElement1(…) { … }, onElement2(…) { … } }).',
    );
    expect(() => broadcastProcess(right, { onElement() {} } as unknown as Parameters<typeof broadcastProcess>[1])).toThrow(
      'broadcastProcess: onBroadcastElement is undefined, not a function; give broadcastProcess(broadcast$, { onElement(…) { … }, onBroadcastElement(…) { … } }).',
    );
    expect(() => map(123 as unknown as (v: number) => number)).toThrow('map: 123 is not a function; give map(fn), fn a function of the value.');
    expect(() => keyBy('user' as unknown as (v: number) => string)).toThrow('keyBy: "user" is not a function; give keyBy(fn), fn a function of the value returning its key.');
  });
});

describe('process: in a pipeline', () => {
  it('an element fed back into the input while one is handled waits for it (docs/SEMANTICS.md §12): its key, state and watermarks stay its own', () => {
    type Ev = { k: string; at: number };
    const src = new Subject<Ev>();
    const state = { count: valueState<number>() };
    const out: string[] = [];
    let fed = false;
    src
      .pipe(
        eventTime((e: Ev) => e.at, boundedOutOfOrderness(0, { interval: 0 })),
        keyBy((e: Ev) => e.k),
        process<Ev, string, string, typeof state>({
          name: 'counter',
          state,
          onElement(e, ctx) {
            ctx.emit(`first ${e.k}`);
            ctx.state.count.set((ctx.state.count.get() ?? 0) + 1);
            ctx.emit(`second ${e.k} count ${ctx.state.count.get()}`);
            ctx.timers.registerEventTime(e.at);
          },
          onTimer(ts, ctx) {
            ctx.emit(`timer ${ts} of ${String(ctx.key)}`);
          },
        }),
      )
      .subscribe((el) => {
        out.push(el.kind === 'record' ? `${el.value} (key ${String(el.key)}, ts ${el.timestamp})` : `${el.kind} ${el.kind === 'watermark' ? el.timestamp : ''}`);
        if (el.kind === 'record' && !fed) {
          fed = true;
          src.next({ k: 'b', at: 50 }); // feedback, while a's record is being handled
        }
      });
    src.next({ k: 'a', at: 1 });
    src.next({ k: 'c', at: 60 });
    expect(out).toStrictEqual([
      'first a (key a, ts 1)',
      'second a count 1 (key a, ts 1)',
      // (b reached eventTime before a's watermark, 0, was decided: eventTime's watermark is b's, 49)
      'first b (key b, ts 50)',
      'second b count 1 (key b, ts 50)',
      'timer 1 of a (key a, ts 1)',
      'watermark 49',
      'first c (key c, ts 60)',
      'second c count 1 (key c, ts 60)',
      'timer 50 of b (key b, ts 50)',
      'watermark 59',
    ]);
  });

  it(
    'keyBy → process: running count per key, exact output with watermarks in order',
    marbles((m) => {
      const state = { n: valueState<number>() };
      const input = m.cold<StreamElement<string>>('a-b-w-c-|', { a: rec('ann', 1), b: rec('bob', 2), w: wm(2), c: rec('ann', 3) });
      const out = input.pipe(
        keyBy((u: string) => u),
        process<string, string, number, typeof state>({
          state,
          onElement(_u, ctx) {
            const n = (ctx.state.n.get() ?? 0) + 1;
            ctx.state.n.set(n);
            ctx.emit(n);
          },
        }),
      );
      m.expect(out).toBeObservable('a-b-w-c-(M|)', { a: rec(1, 1, 'ann'), b: rec(1, 2, 'bob'), w: wm(2), c: rec(2, 3, 'ann'), M: wm(MAX_WATERMARK) });
    }),
  );
});
