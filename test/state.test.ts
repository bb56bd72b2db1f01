import { describe, expect, it } from 'vitest';
import {
  aggregatingState,
  ConfigurationError,
  InvalidKeyError,
  listState,
  mapState,
  reducingState,
  StateSerializationError,
  valueState,
  type Aggregator,
  type TtlConfig,
} from '../src/index.js';
import { stateRig } from './support/stateRig.js';

const avg: Aggregator<number, { sum: number; n: number }, number> = {
  create: () => ({ sum: 0, n: 0 }),
  add: (a, v) => ({ sum: a.sum + v, n: a.n + 1 }),
  result: (a) => a.sum / a.n,
};

describe('keyed state kinds (scoped to the current key)', () => {
  it('value: get/set/clear, per key', () => {
    const r = stateRig({ v: valueState<{ n: number }>() });
    expect(r.run((s) => s.v.get())).toBe(undefined);
    r.run((s) => s.v.set({ n: 1 }));
    expect(r.run((s) => s.v.get())).toStrictEqual({ n: 1 });
    expect(r.run((s) => s.v.get(), 'other')).toBe(undefined);
    r.run((s) => s.v.clear());
    expect(r.run((s) => s.v.get())).toBe(undefined);
    expect(r.h.keys()).toStrictEqual([]);
  });

  it('list: get/add/addAll/set/clear; get returns a copy; empty set clears', () => {
    const r = stateRig({ l: listState<string>() });
    expect(r.run((s) => s.l.get())).toStrictEqual([]);
    r.run((s) => {
      s.l.add('a');
      s.l.addAll(['b', 'c']);
    });
    const got = r.run((s) => s.l.get());
    expect(got).toStrictEqual(['a', 'b', 'c']);
    got.push('mutated');
    expect(r.run((s) => s.l.get())).toStrictEqual(['a', 'b', 'c']);
    r.run((s) => s.l.set(new Set(['x'])));
    expect(r.run((s) => s.l.get())).toStrictEqual(['x']);
    r.run((s) => s.l.set([]));
    expect(r.h.state('k', 'l')).toBe(undefined);
    r.run((s) => s.l.addAll([]));
    expect(r.h.keys()).toStrictEqual([]);
  });

  it('map: get/set/has/delete/entries/keys/values/size/clear; keys compared by value (arrays too)', () => {
    const r = stateRig({ m: mapState<string | readonly [string, number], number>() });
    r.run((s) => {
      s.m.set('a', 1);
      s.m.set(['x', 1], 2);
      s.m.set(['x', 1], 3);
    });
    expect(r.run((s) => [s.m.get('a'), s.m.get(['x', 1]), s.m.get('zz'), s.m.has(['x', 1]), s.m.has('b'), s.m.size])).toStrictEqual([
      1,
      3,
      undefined,
      true,
      false,
      2,
    ]);
    expect(r.run((s) => s.m.entries())).toStrictEqual([
      ['a', 1],
      [['x', 1], 3],
    ]);
    expect(r.run((s) => [s.m.keys(), s.m.values()])).toStrictEqual([['a', ['x', 1]], [1, 3]]);
    expect(r.run((s) => [s.m.delete('a'), s.m.delete('a')])).toStrictEqual([true, false]);
    r.run((s) => s.m.delete(['x', 1]));
    expect(r.h.keys()).toStrictEqual([]);
    r.run((s) => s.m.set('q', 9));
    r.run((s) => s.m.clear());
    expect(r.run((s) => s.m.size)).toBe(0);
  });

  it('map: a map key outside Key is an InvalidKeyError naming the state', () => {
    const r = stateRig({ m: mapState<string, number>() });
    expect(() => r.run((s) => s.m.set({} as unknown as string, 1))).toThrow(InvalidKeyError);
    expect(r.h.error).toBeInstanceOf(InvalidKeyError);
    expect((r.h.error as Error).message).toMatch(/^rig \(mapState 'm'\): key \{\} of \{\} is not a valid key\./);
  });

  it('reducing: add folds with reduce(acc, value); get/clear', () => {
    const r = stateRig({ r: reducingState((a: string, b: string) => `${a}+${b}`) });
    r.run((s) => ['x', 'y', 'z'].forEach((v) => s.r.add(v)));
    expect(r.run((s) => s.r.get())).toBe('x+y+z');
    r.run((s) => s.r.clear());
    expect(r.run((s) => s.r.get())).toBe(undefined);
  });

  it('aggregating: add through the aggregator, get = result', () => {
    const r = stateRig({ a: aggregatingState(avg) });
    expect(r.run((s) => s.a.get())).toBe(undefined);
    r.run((s) => [1, 2, 6].forEach((v) => s.a.add(v)));
    expect(r.run((s) => s.a.get())).toBe(3);
    expect(r.h.state('k', 'a')).toBe(3);
  });

  it('bad descriptors are rejected', () => {
    expect(() => valueState({ ttl: { ms: 0 } })).toThrow(new ConfigurationError('valueState', 0, 'valueState: ttl.ms 0 must be a finite number of ms > 0.'));
    expect(() => listState({ ttl: { ms: 5, update: 'sometimes' as 'on-read-and-write' } })).toThrow(
      "listState: ttl.update must be 'on-create-and-write' or 'on-read-and-write'.",
    );
    expect(() => reducingState(42 as unknown as (a: number, b: number) => number)).toThrow('reducingState: the first argument must be a function');
    expect(() => aggregatingState({} as Aggregator<number, number, number>)).toThrow('aggregatingState: {} is not an aggregator: it needs create(), add(acc, value) and result(acc) (and merge(a, b) for session and sliding windows); e.g. count(), sum((v) => v.amount).');
  });
});

const UPDATES: NonNullable<TtlConfig['update']>[] = ['on-create-and-write', 'on-read-and-write'];
const VISIBILITIES: NonNullable<TtlConfig['visibility']>[] = ['never-return-expired', 'return-expired-if-not-cleaned-up'];

describe('map state keys', () => {
  it('an array key is kept and handed out as a copy: a caller changing its array changes no entry, live or restored', () => {
    const r = stateRig({ views: mapState<[string, number], number>() });
    const key: [string, number] = ['page', 1];
    r.run((s) => s.views.set(key, 10));
    key[1] = 2; // the caller reuses its key array
    expect(r.run((s) => s.views.keys())).toStrictEqual([['page', 1]]);
    r.run((s) => s.views.keys()[0]?.reverse()); // and changes a key it was handed
    expect(r.run((s) => [s.views.get(['page', 1]), s.views.get(['page', 2])])).toStrictEqual([10, undefined]);
    const restored = r.h.restore(r.h.snapshot());
    expect(restored.state('k', 'views')).toStrictEqual(new Map([[['page', 1], 10]]));
  });
});

describe('state that cannot be written', () => {
  it('a value nested too deeply for the codec fails the snapshot with a StateSerializationError naming operator, state and key', () => {
    type Cell = { v: number; next: Cell | null };
    let list: Cell | null = null;
    for (let i = 0; i < 20_000; i++) list = { v: i, next: list };
    const r = stateRig({ recent: valueState<Cell | null>() }, 'history');
    r.run((s) => s.recent.set(list), 'user-7');
    expect(() => r.h.snapshot()).toThrow(StateSerializationError);
    expect(() => r.h.snapshot()).toThrow(/^history: state 'recent' of key "user-7" cannot be serialized for a checkpoint: a value nested more than 1000 levels deep cannot be serialized \(nest it less, e.g. an array in place of a linked list\) at (\.next){1000}\./);
  });

  it('the nesting cap is fixed (1 000 levels), not the stack where the snapshot runs: what a snapshot takes, a restore reads back', () => {
    const nested = (depth: number): unknown => {
      let v: unknown = 'leaf';
      for (let i = 0; i < depth; i++) v = i % 3 === 0 ? [v] : i % 3 === 1 ? { x: v } : new Map([[1, v]]);
      return v;
    };
    const r = stateRig({ v: valueState<unknown>() }, 'deep');
    r.run((s) => s.v.set(nested(1000)), 'k');
    expect(r.h.restore(r.h.snapshot()).state('k', 'v')).toStrictEqual(nested(1000));
    r.run((s) => s.v.set(nested(1001)), 'k');
    expect(() => r.h.snapshot()).toThrow(/^deep: state 'v' of key "k" cannot be serialized for a checkpoint: a value nested more than 1000 levels deep/);
  });
});

describe('TTL (processing time; expired ⇔ lastAccess + ttl <= now)', () => {
  it('a long TTL list loses its expired elements, and only them, on read and in a snapshot (200 000 elements)', () => {
    const n = 200_000;
    const many = () => Array.from({ length: n }, (_, i) => i);
    // the snapshot's cleanup
    const r = stateRig({ l: listState<number>({ ttl: { ms: 1_000 } }) });
    r.at(0).run((s) => s.l.add(-1));
    r.at(500).run((s) => s.l.addAll(many()));
    r.at(1_000);
    const cp = r.h.snapshot();
    expect((r.h.state('k', 'l') as unknown[]).length).toBe(n);
    expect((r.h.restore(cp).state('k', 'l') as unknown[]).length).toBe(n);
    // a read's cleanup
    const q = stateRig({ l: listState<number>({ ttl: { ms: 1_000 } }) });
    q.at(0).run((s) => s.l.add(-1));
    q.at(500).run((s) => s.l.addAll(many()));
    expect(q.at(1_000).run((s) => s.l.get().length)).toBe(n);
    expect((q.h.state('k', 'l') as unknown[]).length).toBe(n);
  });

  it('expired state goes as fast as state is written, without checkpoints too: 100 000 keys written once each, at most a few thousand kept', () => {
    for (const kind of ['value', 'list', 'map'] as const) {
      const state = { v: valueState<number>({ ttl: { ms: 100 } }), l: listState<number>({ ttl: { ms: 100 } }), m: mapState<string, number>({ ttl: { ms: 100 } }) };
      const r = stateRig(state);
      let most = 0;
      for (let i = 0; i < 100_000; i++) {
        // (1 ms a key: at most 100 keys alive at any time)
        r.at(i).h.record((s) => (kind === 'value' ? s.v.set(i) : kind === 'list' ? s.l.add(i) : s.m.set('x', i)), 0, `key-${i}`);
        if (i % 1_000 === 999) most = Math.max(most, r.h.operators[0]?.stateEntries ?? Infinity);
      }
      // (a sweep every 1 024 writes checks twice as many keys: the expired ones go at the pace new ones come)
      expect(r.h.error, kind).toBeUndefined();
      expect(most, kind).toBeGreaterThan(100);
      expect(most, kind).toBeLessThan(3_000);
      expect(r.h.snapshot().operators.size, kind).toBe(1);
    }
  });

  it('a TTL value, list or map written again after it expired is a new entry (at the end of its column): the order keys are visited in does not depend on when a cleanup ran', () => {
    const state = { v: valueState<string>({ ttl: { ms: 100 } }), l: listState<string>({ ttl: { ms: 100 } }), m: mapState<string, string>({ ttl: { ms: 100 } }) };
    for (const name of ['v', 'l', 'm'] as const) {
      // (the map gets another map key each time: all its entries expired, it is a new map as a whole)
      const write = (x: string) => (s: Parameters<Parameters<ReturnType<typeof stateRig<typeof state>>['run']>[0]>[0]) => (name === 'v' ? s.v.set(x) : name === 'l' ? s.l.add(x) : s.m.set(x, x));
      const r = stateRig(state);
      r.at(0).run(write('a1'), 'a');
      r.at(50).run(write('b1'), 'b');
      r.at(120).run(write('a2'), 'a'); // a expired at 100, not cleaned up yet
      expect(r.h.keys(), name).toStrictEqual(['b', 'a']);
      const restored = stateRig(state);
      restored.at(0).run(write('a1'), 'a');
      restored.at(50).run(write('b1'), 'b');
      restored.at(110);
      restored.h.snapshot(); // (the full snapshot drops a, expired)
      restored.at(120).run(write('a2'), 'a');
      expect(restored.h.keys(), name).toStrictEqual(['b', 'a']);
    }
  });

  for (const update of UPDATES) {
    for (const visibility of VISIBILITIES) {
      const ttl = { ms: 100, update, visibility } as const;
      const readRefreshes = update === 'on-read-and-write';
      const returnsExpired = visibility === 'return-expired-if-not-cleaned-up';

      it(`value, ${update}, ${visibility}`, () => {
        const r = stateRig({ v: valueState<string>({ ttl }) });
        r.at(0).run((s) => s.v.set('x'));
        expect(r.at(99).run((s) => s.v.get())).toBe('x'); // 0 + 100 > 99
        // on-read-and-write: the read at 99 moved lastAccess to 99, so at 150 it is alive
        expect(r.at(150).run((s) => s.v.get())).toBe(readRefreshes ? 'x' : returnsExpired ? 'x' : undefined);
        // the first expired read cleans the value up: afterwards it is gone whatever the visibility
        const expiredAt = readRefreshes ? 250 : 150;
        if (readRefreshes) expect(r.at(expiredAt).run((s) => s.v.get())).toBe(returnsExpired ? 'x' : undefined);
        expect(r.run((s) => s.v.get())).toBe(undefined);
        expect(r.h.keys()).toStrictEqual([]);
        // a write refreshes
        r.at(300).run((s) => s.v.set('y'));
        expect(r.at(399).run((s) => s.v.get())).toBe('y');
        r.at(450).run((s) => s.v.set('z'));
        expect(r.at(549).run((s) => s.v.get())).toBe('z');
        expect(r.at(readRefreshes ? 649 : 550).run((s) => s.v.get())).toBe(returnsExpired ? 'z' : undefined);
      });

      it(`list elements expire on their own, ${update}, ${visibility}`, () => {
        const r = stateRig({ l: listState<string>({ ttl }) });
        r.at(0).run((s) => s.l.add('a'));
        r.at(50).run((s) => s.l.add('b'));
        // at 100: 'a' expired (0 + 100 <= 100), 'b' alive
        expect(r.at(100).run((s) => s.l.get())).toStrictEqual(returnsExpired ? ['a', 'b'] : ['b']);
        // 'a' was cleaned up by that read
        expect(r.h.state('k', 'l')).toStrictEqual(['b']);
        // b: last access 50, or 100 after the read refresh
        expect(r.at(160).run((s) => s.l.get())).toStrictEqual(readRefreshes ? ['b'] : returnsExpired ? ['b'] : []);
        // expired-but-present is returned once (then cleaned): here only if the 160 read found it alive
        expect(r.at(500).run((s) => s.l.get())).toStrictEqual(returnsExpired && readRefreshes ? ['b'] : []);
        expect(r.h.keys()).toStrictEqual([]);
      });

      it(`map entries expire on their own, ${update}, ${visibility}`, () => {
        const r = stateRig({ m: mapState<string, number>({ ttl }) });
        r.at(0).run((s) => s.m.set('a', 1));
        r.at(50).run((s) => s.m.set('b', 2));
        expect(r.at(99).run((s) => s.m.get('a'))).toBe(1); // refreshes a to 99 with on-read-and-write
        expect(r.at(120).run((s) => [s.m.has('b'), s.m.get('a')])).toStrictEqual(
          readRefreshes ? [true, 1] : [true, returnsExpired ? 1 : undefined],
        );
        const entries = r.at(260).run((s) => s.m.entries());
        // a: last access 0 (or 120), b: 50 (or 120) → at 260 both expired either way
        expect(entries).toStrictEqual(returnsExpired ? (readRefreshes ? [['a', 1], ['b', 2]] : [['b', 2]]) : []);
        expect(r.run((s) => s.m.size)).toBe(0);
        expect(r.h.keys()).toStrictEqual([]);
      });

      it(`reducing and aggregating, ${update}, ${visibility}`, () => {
        const r = stateRig({ r: reducingState((a: number, b: number) => a + b, { ttl }), a: aggregatingState(avg, { ttl }) });
        r.at(0).run((s) => {
          s.r.add(1);
          s.a.add(4);
        });
        expect(r.at(50).run((s) => [s.r.get(), s.a.get()])).toStrictEqual([1, 4]);
        // an add onto an expired value still present folds into it with return-expired visibility (Flink's
        // TtlReduceFunction / TtlAggregateFunction), and starts afresh without
        r.at(readRefreshes ? 150 : 100).run((s) => {
          s.r.add(10);
          s.a.add(8);
        });
        expect(r.run((s) => [s.r.get(), s.a.get()])).toStrictEqual(returnsExpired ? [11, 6] : [10, 8]);
        // the add stamped it anew: alive again for a whole ttl
        expect(r.at(readRefreshes ? 249 : 199).run((s) => [s.r.get(), s.a.get()])).toStrictEqual(returnsExpired ? [11, 6] : [10, 8]);
      });
    }
  }
});
