import { from, of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  boundedOutOfOrderness,
  ConfigurationError,
  InvalidTimestampError,
  MAX_WATERMARK,
  monotonousTimestamps,
  noWatermarks,
  punctuated,
  sum,
  tumblingWindows,
  UserFunctionError,
  type StreamElement,
} from '../src/index.js';
import { aggregate, eventTime, ingestionTime, keyBy, values, window } from '../operators/index.js';
import { active, ckpt, idle, rec, wm } from '../testing/index.js';
import { marbles } from './support/marbles.js';
import { expectRefused } from './support/refused.js';

interface Ev {
  readonly at: number;
}
const at = (v: Ev): number => v.at;


describe('eventTime: bounded out-of-orderness (periodic, default interval 200 ms)', () => {
  it(
    'emits max - bound - 1 at each periodic emit, only when it increased; late-looking records pass unchanged',
    marbles((m) => {
      const a = { at: 1000 };
      const b = { at: 850 }; // behind the watermark 899 when it arrives: passes through unchanged
      const c = { at: 1500 };
      const input = m.cold('50ms a 199ms b 199ms c 199ms |', { a, b, c });
      const out = input.pipe(eventTime(at, boundedOutOfOrderness(100)));
      m.expect(out).toBeObservable('50ms a 149ms w 49ms b 199ms c 149ms x 49ms (M|)', {
        a: rec(a, 1000),
        w: wm(899),
        b: rec(b, 850),
        c: rec(c, 1500),
        x: wm(1399),
        M: wm(MAX_WATERMARK),
      });
    }),
  );

  it(
    'interval 0 emits on every advance, right after the record that advanced it',
    marbles((m) => {
      const input = m.cold('a 9ms b 9ms c 9ms |', { a: { at: 10 }, b: { at: 5 }, c: { at: 20 } });
      const out = input.pipe(eventTime(at, boundedOutOfOrderness(3, { interval: 0 })));
      m.expect(out).toBeObservable('(aw) 6ms b 9ms (cx) 6ms (M|)', {
        a: rec({ at: 10 }, 10),
        w: wm(6),
        b: rec({ at: 5 }, 5),
        c: rec({ at: 20 }, 20),
        x: wm(16),
        M: wm(MAX_WATERMARK),
      });
    }),
  );

  it(
    'the default strategy is boundedOutOfOrderness(0) with a 200 ms interval',
    marbles((m) => {
      const input = m.cold('a 299ms |', { a: { at: 7 } });
      m.expect(input.pipe(eventTime(at))).toBeObservable('a 199ms w 99ms (M|)', {
        a: rec({ at: 7 }, 7),
        w: wm(6),
        M: wm(MAX_WATERMARK),
      });
    }),
  );

  it(
    'an empty stream emits only MAX then completes; a stream with events gets a last periodic emit before MAX',
    marbles((m) => {
      m.expect(m.cold('|').pipe(eventTime(at))).toBeObservable('(M|)', { M: wm(MAX_WATERMARK) });
      const input = m.cold('a 9ms |', { a: { at: 40 } });
      m.expect(input.pipe(eventTime(at, boundedOutOfOrderness(10)))).toBeObservable('a 9ms (wM|)', {
        a: rec({ at: 40 }, 40),
        w: wm(29),
        M: wm(MAX_WATERMARK),
      });
    }),
  );
});

describe('eventTime: monotonous timestamps', () => {
  it(
    'watermark = max seen - 1, periodic',
    marbles((m) => {
      const input = m.cold('a 99ms b 199ms c 199ms |', { a: { at: 100 }, b: { at: 200 }, c: { at: 300 } });
      // a@0, b@100, periodic@200 → 199, c@300, periodic@400 → 299, complete@500 → last emit (no change), MAX
      m.expect(input.pipe(eventTime(at, monotonousTimestamps()))).toBeObservable('a 99ms b 99ms w 99ms c 99ms x 99ms (M|)', {
        a: rec({ at: 100 }, 100),
        b: rec({ at: 200 }, 200),
        w: wm(199),
        c: rec({ at: 300 }, 300),
        x: wm(299),
        M: wm(MAX_WATERMARK),
      });
    }),
  );
});

describe('eventTime: idleness (timeout 1000 ms, interval 200 ms, virtual time)', () => {
  it(
    'goes idle at the first periodic check more than 1000 ms after inactivity started; active() precedes the next watermark',
    marbles((m) => {
      // a@100. checks: 200 (activity → wm 999), 400 (inactivity starts), 600…1400 (≤ 1000 elapsed), 1600 (1200 > 1000 → idle).
      // b@2050 (stays idle: no watermark yet), 2200 (activity → active, wm 1999), complete@2300 → last emit, MAX.
      const a = { at: 1000 };
      const b = { at: 2000 };
      const input = m.cold('100ms a 1949ms b 249ms |', { a, b });
      const out = input.pipe(eventTime(at, boundedOutOfOrderness(0, { idleTimeout: 1000, interval: 200 })));
      m.expect(out).toBeObservable('100ms a 99ms w 1399ms i 449ms b 149ms (rx) 96ms (M|)', {
        a: rec(a, 1000),
        w: wm(999),
        i: idle(),
        b: rec(b, 2000),
        r: active(),
        x: wm(1999),
        M: wm(MAX_WATERMARK),
      });
    }),
  );

  it(
    'a record and a periodic tick at the same virtual time: the record first, at the first tick as at every later one',
    marbles((m) => {
      const [a, b, c] = [{ at: 100 }, { at: 300 }, { at: 500 }];
      const input = m.cold('200ms a 199ms b 199ms c 199ms |', { a, b, c });
      const out = input.pipe(eventTime(at, boundedOutOfOrderness(0, { interval: 200 })));
      m.expect(out).toBeObservable('200ms (aw) 196ms (bx) 196ms (cy) 196ms (M|)', {
        a: rec(a, 100),
        w: wm(99),
        b: rec(b, 300),
        x: wm(299),
        c: rec(c, 500),
        y: wm(499),
        M: wm(MAX_WATERMARK),
      });
    }),
  );

  it(
    'emits idle() once, and a stream that ends while idle flips to active() before MAX',
    marbles((m) => {
      const input = m.cold('a 3000ms |', { a: { at: 5 } });
      const out = input.pipe(eventTime(at, boundedOutOfOrderness(0, { idleTimeout: 1000, interval: 200 })));
      // a@0; 200 wm 4; 400 start; 1600: 1200 > 1000 → idle; complete@3001 → last emit (idle, nothing), active, MAX
      m.expect(out).toBeObservable('a 199ms w 1399ms i 1400ms (rM|)', {
        a: rec({ at: 5 }, 5),
        w: wm(4),
        i: idle(),
        r: active(),
        M: wm(MAX_WATERMARK),
      });
    }),
  );

  it(
    'a stream that never sees an event goes idle too',
    marbles((m) => {
      const input = m.cold('1700ms |');
      const out = input.pipe(eventTime(at, boundedOutOfOrderness(0, { idleTimeout: 1000, interval: 200 })));
      // checks 200 (start), 400..1200 (≤1000), 1400: 1200 > 1000 → idle
      m.expect(out).toBeObservable('1400ms i 299ms (rM|)', { i: idle(), r: active(), M: wm(MAX_WATERMARK) });
    }),
  );
});

describe('eventTime: upstream elements', () => {
  it(
    'ignores upstream watermarks except MAX, ignores upstream status, passes barriers in order, keeps keys',
    marbles((m) => {
      const input = m.cold<StreamElement<Ev, string>>('a 9ms w 9ms s 9ms c 9ms b 9ms M 9ms d 9ms |', {
        a: rec({ at: 5 }, 999, 'k1'),
        w: wm(1000),
        s: idle(),
        c: ckpt(1),
        b: rec({ at: 3 }, 0, 'k2'),
        M: wm(MAX_WATERMARK),
        d: rec({ at: 1 }, 1, 'k3'),
      });
      const out = input.pipe(eventTime<Ev, string>(at, boundedOutOfOrderness(0, { interval: 0 })));
      m.expect(out).toBeObservable('(ax) 26ms c 9ms b 9ms M 9ms d 9ms |', {
        a: rec({ at: 5 }, 5, 'k1'),
        x: wm(4),
        c: ckpt(1),
        b: rec({ at: 3 }, 3, 'k2'),
        M: wm(MAX_WATERMARK),
        d: rec({ at: 1 }, 1, 'k3'),
      });
    }),
  );
});

describe('eventTime: other strategies', () => {
  it(
    'punctuated: the watermark decided on an event follows that event (Flink order); non-increasing ones are dropped',
    marbles((m) => {
      const input = m.cold('a 9ms b 9ms c 9ms |', { a: { at: 10, end: true }, b: { at: 12, end: false }, c: { at: 9, end: true } });
      const out = input.pipe(eventTime((v: { at: number; end: boolean }) => v.at, punctuated((v, ts) => (v.end ? ts : undefined))));
      m.expect(out).toBeObservable('(aw) 6ms b 9ms c 9ms (M|)', {
        w: wm(10),
        a: rec({ at: 10, end: true }, 10),
        b: rec({ at: 12, end: false }, 12),
        c: rec({ at: 9, end: true }, 9),
        M: wm(MAX_WATERMARK),
      });
    }),
  );

  it('punctuated: a marker at its batch bound counts in the batch window (its watermark follows it: not late)', () => {
    const evs = [
      { at: 1, n: 1 },
      { at: 5, n: 10 },
      { at: 9, n: 100, end: true },
      { at: 12, n: 1000, end: true },
    ];
    const sums: string[] = [];
    from(evs)
      .pipe(
        eventTime((e: (typeof evs)[number]) => e.at, punctuated((e: (typeof evs)[number], ts) => (e.end === true ? ts : undefined))),
        keyBy(() => 'k'),
        window(tumblingWindows(10)),
        aggregate(sum((e: (typeof evs)[number]) => e.n)),
        values(),
      )
      .subscribe((r) => sums.push(`[${r.window.start},${r.window.end}) ${r.value}`));
    expect(sums).toStrictEqual(['[0,10) 111', '[10,20) 1000']);
  });

  it(
    'noWatermarks: only MAX at the end',
    marbles((m) => {
      const input = m.cold('a 500ms b|', { a: { at: 1 }, b: { at: 2 } });
      m.expect(input.pipe(eventTime(at, noWatermarks()))).toBeObservable('a 500ms b(M|)', {
        a: rec({ at: 1 }, 1),
        b: rec({ at: 2 }, 2),
        M: wm(MAX_WATERMARK),
      });
    }),
  );

  it(
    'ingestionTime: timestamp = scheduler clock at arrival, monotonous watermarks by default',
    marbles((m) => {
      const input = m.cold('10ms a 289ms b |', { a: 'x', b: 'y' });
      m.expect(input.pipe(ingestionTime())).toBeObservable('10ms a 189ms w 99ms b (zM|)', {
        a: rec('x', 10),
        w: wm(9),
        b: rec('y', 300),
        z: wm(299),
        M: wm(MAX_WATERMARK),
      });
    }),
  );
});

describe('eventTime: errors', () => {
  const cases: [string, unknown][] = [
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a string', '17'],
    ['undefined', undefined],
  ];
  for (const [name, bad] of cases) {
    it(`a timestamp that is ${name} fails with InvalidTimestampError naming eventTime and the value`, () => {
      const got: unknown[] = [];
      let error: unknown;
      of({ at: 1 }, { at: bad as number }, { at: 3 })
        .pipe(eventTime(at, boundedOutOfOrderness(0, { interval: 0 })))
        .subscribe({ next: (e) => got.push(e), error: (e: unknown) => (error = e) });
      expect(got).toStrictEqual([rec({ at: 1 }, 1), wm(0)]);
      expect(error).toBeInstanceOf(InvalidTimestampError);
      const err = error as InvalidTimestampError;
      expect(err.operator).toBe('eventTime');
      expect(err.value).toBe(bad);
      const shown = typeof bad === 'string' ? `"${bad}"` : String(bad);
      expect(err.message).toBe(
        `eventTime: timestamp ${shown} of {"at":${typeof bad === 'string' ? '"17"' : String(bad)}} is not a finite number of milliseconds. ` +
          'Return a finite number of ms (e.g. `Date.parse(v.at)`, checked with Number.isFinite); drop or repair bad values before eventTime.',
      );
    });
  }

  it(
    'marble: the error ends the stream at the bad record',
    marbles((m) => {
      const input = m.cold('a-b-c|', { a: { at: 1 }, b: { at: NaN }, c: { at: 3 } });
      const out = input.pipe(eventTime(at, noWatermarks()));
      m.expect(out).toBeObservable(
        'a-#',
        { a: rec({ at: 1 }, 1) },
        new InvalidTimestampError('eventTime', NaN, { at: NaN }, 'Return a finite number of ms (e.g. `Date.parse(v.at)`, checked with Number.isFinite); drop or repair bad values before eventTime.'),
      );
    }),
  );

  it('a throwing timestamp extractor fails with UserFunctionError naming the operator and the value', () => {
    let error: unknown;
    of({ at: 1 })
      .pipe(
        eventTime<Ev>(() => {
          throw new Error('no clock');
        }),
      )
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).toBeInstanceOf(UserFunctionError);
    expect((error as Error).message).toBe('eventTime: user function threw on value {"at":1}: no clock');
    expect((error as Error).cause).toStrictEqual(new Error('no clock'));
  });

  it('punctuated returning NaN fails with InvalidTimestampError', () => {
    let error: unknown;
    of({ at: 1 })
      .pipe(eventTime(at, punctuated(() => NaN)))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).toBeInstanceOf(InvalidTimestampError);
    expect((error as Error).message).toBe(
      'eventTime(punctuated): timestamp NaN of {"at":1} is not a finite number of milliseconds. The punctuated watermark function must return a number (ms) or undefined.',
    );
    // under ingestionTime, its errors name ingestionTime
    of({ at: 1 })
      .pipe(ingestionTime(punctuated(() => NaN)))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect((error as Error).message).toMatch(/^ingestionTime\(punctuated\): timestamp NaN of \{"at":1\} is not a finite number of milliseconds\./);
  });

  it('rejects bad strategy options with ConfigurationError', () => {
    expect(() => boundedOutOfOrderness(-1)).toThrow(new ConfigurationError('boundedOutOfOrderness', -1, 'boundedOutOfOrderness: bound -1 must be a finite number of ms >= 0.'));
    expect(() => boundedOutOfOrderness(0, { interval: -5 })).toThrow(
      'boundedOutOfOrderness: interval -5 must be a number of ms from 0 (emit on every advance) to 2147483647 (the longest timer a host takes, ≈ 24.8 days).',
    );
    expect(() => boundedOutOfOrderness(0, { interval: 2 ** 31 })).toThrow(
      'boundedOutOfOrderness: interval 2147483648 must be a number of ms from 0 (emit on every advance) to 2147483647 (the longest timer a host takes, ≈ 24.8 days).',
    );
    expect(() => monotonousTimestamps({ idleTimeout: 0 })).toThrow('monotonousTimestamps: idleTimeout 0 must be a finite number of ms > 0.');
    expect(() => boundedOutOfOrderness(0, { interval: 0, idleTimeout: 100 })).toThrow(
      'boundedOutOfOrderness: idleTimeout needs periodic emits (idleness is checked at each one, as in Flink); set interval > 0, e.g. { interval: 200 }.',
    );
  });

  it('stops the periodic timer when unsubscribed', () => {
    const src = new Subject<Ev>();
    const sub = src.pipe(eventTime(at)).subscribe();
    sub.unsubscribe();
    expect(src.observed).toBe(false);
  });
});

describe('eventTime / ingestionTime: what is not a timestamp function or a strategy, refused where given', () => {
  it('a timestampOf that is no function (left out, it would stamp with the clock), a strategy not called or not a strategy, bad options and schedulers', () => {
    expectRefused(() => eventTime(undefined as unknown as typeof at), 'eventTime: timestampOf undefined is not a function; give eventTime((v) => v.timestamp, strategy), or ingestionTime() to stamp records with the clock.');
    expectRefused(() => eventTime(at, boundedOutOfOrderness as never), 'eventTime: the watermark strategy is the function boundedOutOfOrderness, not a watermark strategy; call it, e.g. boundedOutOfOrderness(5_000).');
    expectRefused(() => ingestionTime(monotonousTimestamps as never), 'ingestionTime: the watermark strategy is the function monotonousTimestamps, not a watermark strategy; call it, e.g. monotonousTimestamps().');
    expectRefused(
      () => eventTime(at, {} as never),
      'eventTime: {} is not a watermark strategy (it has no createGenerator); give boundedOutOfOrderness(ms), monotonousTimestamps(), punctuated(fn) or noWatermarks(), or leave it out.',
    );
    expectRefused(() => eventTime(at, { ...monotonousTimestamps(), interval: -1 }), "eventTime: the strategy's interval -1 must be a number of ms from 0 to 2147483647.");
    expectRefused(
      () => boundedOutOfOrderness(0, { intervall: 0 } as never),
      'boundedOutOfOrderness: no option "intervall" in the options — did you mean "interval"? The options: idleTimeout, interval, scheduler.',
    );
    expectRefused(
      () => monotonousTimestamps({ IdleTimeOut: 5 } as never),
      'monotonousTimestamps: no option "IdleTimeOut" in the options — did you mean "idleTimeout"? The options: idleTimeout, interval, scheduler.',
    );
    expectRefused(() => monotonousWith('x'), 'monotonousTimestamps: the options "x" must be an object: { idleTimeout, interval, scheduler }.');
    expectRefused(
      () => boundedOutOfOrderness(0, { scheduler: {} as never }),
      'boundedOutOfOrderness: scheduler {} is not an RxJS scheduler (with now() and schedule()); give one, e.g. asyncScheduler, a TestScheduler, or leave it out.',
    );
    expectRefused(() => punctuated(5 as never), 'punctuated: watermarkOf 5 is not a function; give punctuated((value, timestamp) => watermark or undefined).');
  });
});

const monotonousWith = (options: unknown) => monotonousTimestamps(options as never);
