import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidKeyError, MAX_WATERMARK, TidewaterError, UserFunctionError, type Key, type StreamElement } from '../src/index.js';
import { filter, flatMap, keyBy, map, values } from '../operators/index.js';
import { active, ckpt, idle, rec, wm } from '../testing/index.js';
import { marbles } from './support/marbles.js';

function run<T>(obs: import('rxjs').Observable<T>): { out: T[]; error: unknown; completed: boolean } {
  const out: T[] = [];
  let error: unknown;
  let completed = false;
  obs.subscribe({ next: (v) => out.push(v), error: (e: unknown) => (error = e), complete: () => (completed = true) });
  return { out, error, completed };
}

const controls = { w: wm(10), s: idle(), r: active(), c: ckpt(3), M: wm(MAX_WATERMARK) };

describe('map', () => {
  it(
    'maps values, keeps timestamp and key, forwards control elements in order',
    marbles((m) => {
      const input = m.cold<StreamElement<number, string>>('a-w-s-b-r-c-M|', { ...controls, a: rec(1, 5, 'x'), b: rec(2, 12, 'y') });
      m.expect(input.pipe(map((v: number) => v * 10))).toBeObservable('a-w-s-b-r-c-M|', {
        ...controls,
        a: rec(10, 5, 'x'),
        b: rec(20, 12, 'y'),
      });
    }),
  );

  it('passes timestamp and key in the context', () => {
    const { out } = run(of(rec('a', 5, 'k1'), rec('b', 7, 'k2')).pipe(map((v: string, ctx) => `${v}:${ctx.key as string}@${ctx.timestamp}`)));
    expect(out).toStrictEqual([rec('a:k1@5', 5, 'k1'), rec('b:k2@7', 7, 'k2')]);
  });

  it('a throwing function fails with UserFunctionError naming map and the record; nothing after it runs', () => {
    const seen: number[] = [];
    const { out, error } = run(
      of(rec(1, 1, 'a'), rec(2, 2, 'b'), rec(3, 3, 'c')).pipe(
        map((v: number) => {
          seen.push(v);
          if (v === 2) throw new Error('bad value');
          return v;
        }),
      ),
    );
    expect(out).toStrictEqual([rec(1, 1, 'a')]);
    expect(seen).toStrictEqual([1, 2]);
    expect(error).toBeInstanceOf(UserFunctionError);
    expect((error as UserFunctionError).operator).toBe('map');
    expect((error as UserFunctionError).value).toStrictEqual(rec(2, 2, 'b'));
    expect((error as Error).message).toBe('map: user function threw on record value 2 @ 2 key "b": bad value');
  });
});

describe('filter', () => {
  it(
    'keeps passing records, forwards every control element',
    marbles((m) => {
      const input = m.cold<StreamElement<number>>('a-w-b-c-s-d-M|', { ...controls, a: rec(1, 1), b: rec(2, 2), d: rec(4, 4) });
      m.expect(input.pipe(filter((v: number) => v % 2 === 0))).toBeObservable('--w-b-c-s-d-M|', {
        ...controls,
        b: rec(2, 2),
        d: rec(4, 4),
      });
    }),
  );

  it('sees the context and narrows with a type guard', () => {
    const { out } = run(
      of(rec<string | number, string>(1, 1, 'k'), rec<string | number, string>('x', 2, 'k')).pipe(
        filter((v: string | number, ctx): v is string => typeof v === 'string' && ctx.timestamp === 2),
        map((s: string) => s.toUpperCase()),
      ),
    );
    expect(out).toStrictEqual([rec('X', 2, 'k')]);
  });

  it('a throwing predicate fails with UserFunctionError', () => {
    const { error } = run(
      of(rec({ a: 1 }, 9)).pipe(
        filter(() => {
          throw new TypeError('nope');
        }),
      ),
    );
    expect((error as Error).message).toBe('filter: user function threw on record value {"a":1} @ 9: nope');
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });
});

describe('flatMap', () => {
  it(
    'emits every produced value with the input timestamp and key, forwards controls',
    marbles((m) => {
      const input = m.cold<StreamElement<string, number>>('a 9ms w 9ms b 9ms c|', { ...controls, a: rec('x y', 3, 1), b: rec('', 4, 2) });
      m.expect(input.pipe(flatMap((s: string) => s.split(' ').filter(Boolean)))).toBeObservable('(xy) 6ms w 19ms c|', {
        ...controls,
        x: rec('x', 3, 1),
        y: rec('y', 3, 1),
      });
    }),
  );

  it('accepts any iterable (generators, sets) and passes the context', () => {
    function* repeat(v: string, n: number): Generator<string> {
      for (let i = 0; i < n; i++) yield v;
    }
    const { out } = run(of(rec('a', 2, 'k'), rec('b', 1, 'k')).pipe(flatMap((v: string, ctx) => repeat(v, ctx.timestamp))));
    expect(out).toStrictEqual([rec('a', 2, 'k'), rec('a', 2, 'k'), rec('b', 1, 'k')]);
    const { out: out2 } = run(of(rec([1, 1, 2], 0)).pipe(flatMap((v: number[]) => new Set(v))));
    expect(out2).toStrictEqual([rec(1, 0), rec(2, 0)]);
  });

  it('a throwing iterable fails with UserFunctionError after what it yielded', () => {
    function* boom(): Generator<number> {
      yield 1;
      throw new Error('mid-way');
    }
    const { out, error } = run(of(rec(0, 0)).pipe(flatMap(() => boom())));
    expect(out).toStrictEqual([rec(1, 0)]);
    expect((error as Error).message).toBe('flatMap: user function threw on record value 0 @ 0: mid-way');
  });

  it('a function that is none is refused where given; one returning no iterable fails naming what it returned (it did not throw)', () => {
    expect(() => flatMap(5 as never)).toThrow(ConfigurationError);
    expect(() => flatMap(5 as never)).toThrow('flatMap: 5 is not a function; give flatMap(fn), fn a function of the value returning an iterable of results (an array: [] for none).');
    for (const [returned, shown] of [[undefined, 'undefined'], [5, '5']] as const) {
      const { out, error } = run(of(rec(1, 0), rec(2, 1)).pipe(flatMap((v: number) => (v === 2 ? returned : [v]) as number[])));
      expect(out).toStrictEqual([rec(1, 0)]);
      expect(error).toBeInstanceOf(TidewaterError);
      expect(error).not.toBeInstanceOf(UserFunctionError);
      expect((error as Error).message).toBe(`flatMap: the function returned ${shown} for record 2 @ 1, not an iterable; return an array of results ([] for none), a Set or a generator.`);
    }
  });
});

describe('keyBy', () => {
  it(
    'sets the key, keeps value and timestamp, forwards controls',
    marbles((m) => {
      const input = m.cold('a-w-b-c|', { ...controls, a: rec({ u: 'ann' }, 1), b: rec({ u: 'bob' }, 2) });
      m.expect(input.pipe(keyBy((v: { u: string }) => v.u))).toBeObservable('a-w-b-c|', {
        ...controls,
        a: rec({ u: 'ann' }, 1, 'ann'),
        b: rec({ u: 'bob' }, 2, 'bob'),
      });
    }),
  );

  it('accepts every Key form', () => {
    const keys: Key[] = ['s', '', 0, -0, 1.5, Infinity, true, false, 10n, [], ['a', 1, true, 2n]];
    const { out, error } = run(of(...keys.map((k, i) => rec(k, i))).pipe(keyBy((v: Key) => v)));
    expect(error).toBeUndefined();
    expect(out).toStrictEqual(keys.map((k, i) => rec(k, i, k)));
  });

  const bad: [string, unknown, string][] = [
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['NaN', NaN, 'NaN'],
    ['an object', { id: 1 }, '{"id":1}'],
    ['a nested array', ['a', ['b']], '["a",["b"]]'],
    ['an array holding NaN', ['a', NaN], '["a",NaN]'],
    ['a symbol', Symbol('s'), 'Symbol(s)'],
    ['a function', function f() {}, '[function f]'],
    ['a Date', new Date(0), 'Date(1970-01-01T00:00:00.000Z)'],
  ];
  for (const [name, key, shown] of bad) {
    it(`rejects ${name} with InvalidKeyError naming keyBy, the key and the remedy`, () => {
      const { out, error } = run(of(rec('first', 1), rec('second', 2)).pipe(keyBy((v: string) => (v === 'first' ? 'ok' : (key as Key)))));
      expect(out).toStrictEqual([rec('first', 1, 'ok')]);
      expect(error).toBeInstanceOf(InvalidKeyError);
      expect((error as InvalidKeyError).operator).toBe('keyBy');
      expect((error as InvalidKeyError).value).toBe(key);
      expect((error as Error).message).toBe(
        `keyBy: key ${shown} of "second" is not a valid key. A key must be a string, a number other than NaN, a boolean, a bigint, ` +
          'or an array of those; derive one from the value (e.g. `v => v.user.id` or `v => [v.region, v.shop]`).',
      );
    });
  }

  it('a throwing key selector fails with UserFunctionError', () => {
    const { error } = run(
      of(rec(null, 4)).pipe(
        keyBy((v: { id: string } | null) => (v as { id: string }).id),
      ),
    );
    expect(error).toBeInstanceOf(UserFunctionError);
    expect((error as Error).message).toMatch(/^keyBy: user function threw on record value null @ 4: /);
  });
});

describe('values', () => {
  it(
    'emits record values and drops control elements',
    marbles((m) => {
      const input = m.cold<StreamElement<number>>('a-w-b-s-c-M|', { ...controls, a: rec(1, 1), b: rec(2, 2, 'k') });
      m.expect(input.pipe(values())).toBeObservable('a---b------|', { a: 1, b: 2 });
    }),
  );

  it('propagates errors from upstream', () => {
    const { error, completed } = run(
      of(rec(1, 1)).pipe(
        map(() => {
          throw new Error('x');
        }),
        values(),
      ),
    );
    expect(error).toBeInstanceOf(UserFunctionError);
    expect(completed).toBe(false);
  });
});
