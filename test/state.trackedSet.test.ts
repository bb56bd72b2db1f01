import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeValue, encodeValue, listState, mapState, StateSerializationError, TrackedSet, UnserializableValueError, valueState, type OperatorSnapshot } from '../src/index.js';
import { SET_APPEND_MIN } from '../src/state/setAppends.js';
import type { HarnessCheckpoint } from '../testing/index.js';
import { expectRestoresAtEveryCut, viaJson } from './support/distinctWindow.js';
import { setsChain } from './support/setsChain.js';
import { rigOf, stateRig } from './support/stateRig.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const N = SET_APPEND_MIN;

describe('TrackedSet', () => {
  it('is a Set: items in insertion order, duplicates once, every method', () => {
    const s = new TrackedSet(['b', 'a', 'b']);
    expect(s).toBeInstanceOf(Set);
    expect([...s]).toStrictEqual(['b', 'a']);
    expect(s.add('c')).toBe(s);
    expect(s.has('c')).toBe(true);
    expect(s.delete('a')).toBe(true);
    expect(s.delete('a')).toBe(false);
    expect([...s.entries()]).toStrictEqual([
      ['b', 'b'],
      ['c', 'c'],
    ]);
    s.clear();
    expect(s.size).toBe(0);
    expect([...new TrackedSet()]).toStrictEqual([]);
    expect([...new TrackedSet(null)]).toStrictEqual([]);
    // (no own property: what checkpoints keep in it is private)
    expect(Reflect.ownKeys(new TrackedSet([1]))).toStrictEqual([]);
  });

  it('the codec writes it as {"$t": items} and reads it back as a TrackedSet; a subclass or an own property is refused', () => {
    const v = { ids: new TrackedSet([3, 1, 2]), plain: new Set([1]) };
    expect(encodeValue(v)).toBe('{"ids":{"$t":[3,1,2]},"plain":{"$s":[1]}}');
    const back = decodeValue(encodeValue(v)) as typeof v;
    expect(back.ids).toBeInstanceOf(TrackedSet);
    expect(back.plain).not.toBeInstanceOf(TrackedSet);
    expect([...back.ids]).toStrictEqual([3, 1, 2]);
    expect(encodeValue(new TrackedSet([new Date(0), 1n]))).toBe('{"$t":[{"$d":0},{"$b":"1"}]}');
    class Mine extends TrackedSet<number> {}
    expect(() => encodeValue({ s: new Mine() })).toThrow(new UnserializableValueError('.s', new Mine(), 'an instance of Mine cannot be serialized (only plain objects, arrays, Map, Set, TrackedSet, Date and primitives restore faithfully; store plain data)'));
    const owned = Object.assign(new TrackedSet([1]), { note: 'x' });
    expect(() => encodeValue(owned)).toThrow(UnserializableValueError);
    expect(() => encodeValue(owned)).toThrow(/TrackedSet/);
  });
});

describe('TrackedSet in checkpoints: what it gained, without reading what it held', () => {
  const rows = (r: { h: { snapshot(): HarnessCheckpoint } }, op = 'rig') => (r.h.snapshot().latest.get(op) as OperatorSnapshot).entries.map((e) => e.value);
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('written whole, then as what it gained (its items not read), whole after a delete or a clear; the chain restores TrackedSets in order', () => {
    const r = stateRig({ v: valueState<{ n: number; ids: TrackedSet<number> }>() });
    const ids = new TrackedSet(range(0, N));
    r.run((s) => s.v.set({ n: 0, ids }));
    expect(rows(r)).toStrictEqual([`[0,{"n":0,"ids":{"$t":[${range(0, N).join(',')}]}}]`]);
    ids.add(N).add(N + 1).add(3); // (3: held already)
    r.run((s) => s.v.set({ n: 1, ids }));
    // the writer reads no Set's items: each Set iterated is counted
    const iterated: Set<unknown>[] = [];
    const values = Set.prototype.values;
    vi.spyOn(Set.prototype, Symbol.iterator).mockImplementation(function (this: Set<unknown>) {
      iterated.push(this);
      return values.call(this);
    });
    vi.spyOn(Set.prototype, 'values').mockImplementation(function (this: Set<unknown>) {
      iterated.push(this);
      return values.call(this);
    });
    vi.spyOn(Set.prototype, 'forEach');
    // (what it gained is read by the iterator the last write left after its last item: two steps, for two items —
    // the numbers any Set iterator gave during the snapshot; the test runner's own Sets give objects)
    const setIterator = Object.getPrototypeOf(new Set().values()) as { next(): IteratorResult<unknown> };
    const realNext = setIterator.next;
    const stepped: unknown[] = [];
    vi.spyOn(setIterator, 'next').mockImplementation(function (this: unknown) {
      const step = realNext.call(this);
      if (typeof step.value === 'number') stepped.push(step.value);
      return step;
    });
    expect(rows(r)).toStrictEqual([`[8,{"n":1,"ids":{"$s+":[0,[${N},${N + 1}]]}}]`]);
    expect(iterated.filter((s) => s === ids)).toStrictEqual([]);
    expect(Set.prototype.forEach).not.toHaveBeenCalled();
    expect(stepped).toStrictEqual([N, N + 1]);
    vi.restoreAllMocks();
    // nothing gained: an empty append
    r.run((s) => s.v.set({ n: 2, ids }));
    expect(rows(r)).toStrictEqual([`[8,{"n":2,"ids":{"$s+":[0,[]]}}]`]);
    // a delete: whole (without the item), then appends again
    ids.delete(5);
    r.run((s) => s.v.set({ n: 3, ids }));
    expect(rows(r)[0]?.startsWith('[0,{"n":3,"ids":{"$t":[0,1,2,3,4,6,')).toBe(true);
    ids.add(5);
    r.run((s) => s.v.set({ n: 4, ids }));
    expect(rows(r)).toStrictEqual([`[8,{"n":4,"ids":{"$s+":[0,[5]]}}]`]);
    // an item added around its methods: the size tells, whole
    Set.prototype.add.call(ids, 1_000);
    ids.add(1_001);
    r.run((s) => s.v.set({ n: 4, ids }));
    expect(rows(r)[0]?.startsWith('[0,{"n":4,"ids":{"$t":[')).toBe(true);
    ids.delete(1_000);
    ids.delete(1_001);
    // a clear, then grown back past the threshold: whole
    ids.clear();
    for (const x of range(100, 100 + N)) ids.add(x);
    r.run((s) => s.v.set({ n: 5, ids }));
    expect(rows(r)).toStrictEqual([`[0,{"n":5,"ids":{"$t":[${range(100, 100 + N).join(',')}]}}]`]);
    ids.add('s' as unknown as number);
    r.run((s) => s.v.set({ n: 6, ids }));
    const cp = r.h.snapshot();
    expect(cp.operators.get('rig')?.map((x) => x.entries.map((e) => e.value?.slice(0, 2)))).toStrictEqual([['[0'], ['[8'], ['[8'], ['[0'], ['[8'], ['[0'], ['[0'], ['[8']]);
    for (const restored of [r.h.restore(cp), r.h.restore(viaJson(cp))]) {
      const got = restored.state('k', 'v') as { n: number; ids: TrackedSet<unknown> };
      expect(got.ids).toBeInstanceOf(TrackedSet);
      expect(got.n).toBe(6);
      expect([...got.ids]).toStrictEqual([...range(100, 100 + N), 's']);
    }
  });

  it('what it gained is read from the Set after its last write, however far it grew, never past its last item', () => {
    const r = stateRig({ v: valueState<{ ids: TrackedSet<number> }>() });
    const ids = new TrackedSet(range(0, N));
    r.run((s) => s.v.set({ ids }));
    expect(rows(r)).toStrictEqual([`[0,{"ids":{"$t":[${range(0, N).join(',')}]}}]`]);
    // nothing gained, twice: the reader waits after the last item (one that had said `done` would read nothing more)
    r.run((s) => s.v.set({ ids }));
    expect(rows(r)).toStrictEqual(['[8,{"ids":{"$s+":[0,[]]}}]']);
    r.run((s) => s.v.set({ ids }));
    expect(rows(r)).toStrictEqual(['[8,{"ids":{"$s+":[0,[]]}}]']);
    // grown 600-fold (the Set's table replaced many times over), items already held among the adds
    const grown = range(N, 10_000);
    for (const x of grown) ids.add(x).add(x - 1);
    r.run((s) => s.v.set({ ids }));
    expect(rows(r)).toStrictEqual([`[8,{"ids":{"$s+":[0,[${grown.join(',')}]]}}]`]);
    ids.add(-1);
    r.run((s) => s.v.set({ ids }));
    expect(rows(r)).toStrictEqual(['[8,{"ids":{"$s+":[0,[-1]]}}]']);
    const cp = r.h.snapshot();
    expect([...(r.h.restore(viaJson(cp)).state('k', 'v') as { ids: Set<number> }).ids]).toStrictEqual([...range(0, 10_000), -1]);
  });

  it('written whole with items of every kind (integers, then others from the first other on): the codec\'s text; then what it gained', () => {
    const odd = [0.5, -1.5, 1e12, 'a', true, null, 2 ** 53, 'é"\\', false, NaN, -7];
    const items: unknown[] = [...range(0, N), ...odd, 16];
    const r = stateRig({ v: valueState<{ ids: TrackedSet<unknown> }>() });
    const ids = new TrackedSet<unknown>(items);
    r.run((s) => s.v.set({ ids }));
    expect(rows(r)).toStrictEqual([`[0,${encodeValue({ ids })}]`]);
    ids.add(17).add('b');
    r.run((s) => s.v.set({ ids }));
    expect(rows(r)).toStrictEqual(['[8,{"ids":{"$s+":[0,[17,"b"]]}}]']);
    // gained an item a sets row does not carry (a bigint, tagged): whole, and what it gains next appended to that
    ids.add(1n);
    r.run((s) => s.v.set({ ids }));
    const whole = rows(r);
    expect(whole).toStrictEqual([`[0,${encodeValue({ ids })}]`]);
    expect(whole[0]?.endsWith(',"b",{"$b":"1"}]}}]')).toBe(true);
    ids.add(18);
    r.run((s) => s.v.set({ ids }));
    expect(rows(r)).toStrictEqual(['[8,{"ids":{"$s+":[0,[18]]}}]']);
    const back = r.h.restore(viaJson(r.h.snapshot())).state('k', 'v') as { ids: Set<unknown> };
    expect([...back.ids]).toStrictEqual([...items, 17, 'b', 1n, 18]);
    // any mix, the first other item anywhere: the codec's text
    const item = fc.oneof(fc.integer(), fc.integer(), fc.double(), fc.string({ maxLength: 3 }), fc.constantFrom<unknown>(true, false, null, 1e12, 2n));
    fc.assert(
      fc.property(fc.array(item, { minLength: N, maxLength: 3 * N }), (xs) => {
        const mixed = stateRig({ v: valueState<{ ids: TrackedSet<unknown> }>() });
        const set = new TrackedSet<unknown>(xs);
        mixed.run((s) => s.v.set({ ids: set }));
        expect(rows(mixed)).toStrictEqual([`[0,${encodeValue({ ids: set })}]`]);
      }),
    );
  });

  it('after a restore, a TrackedSet is written whole once, then as what it gained', () => {
    const r = stateRig({ v: valueState<{ ids: TrackedSet<number> }>() });
    r.run((s) => s.v.set({ ids: new TrackedSet(range(0, N)) }));
    const restored = r.h.restore(viaJson(r.h.snapshot()));
    const again = rigOf<{ v: ReturnType<typeof valueState<{ ids: TrackedSet<number> }>> }>(restored);
    again.run((s) => {
      const v = s.v.get() as { ids: TrackedSet<number> };
      v.ids.add(N);
      s.v.set(v);
    });
    expect(rows(again)[0]?.startsWith('[0,{"ids":{"$t":[')).toBe(true);
    again.run((s) => {
      const v = s.v.get() as { ids: TrackedSet<number> };
      v.ids.add(N + 1);
      s.v.set(v);
    });
    expect(rows(again)).toStrictEqual([`[8,{"ids":{"$s+":[0,[${N + 1}]]}}]`]);
  });

  it('one TrackedSet in two keys\' values or twice in one: written whole at the second place, appended to only where no write restarted it since; each chain restores it', () => {
    const r = stateRig({ v: valueState<{ a: TrackedSet<number>; b?: TrackedSet<number> }>() });
    const shared = new TrackedSet(range(0, N));
    r.run((s) => s.v.set({ a: shared }), 'x');
    r.h.snapshot();
    shared.add(N);
    r.run((s) => s.v.set({ a: shared }), 'x');
    r.run((s) => s.v.set({ a: shared }), 'y');
    expect(rows(r).map((v) => v?.slice(0, 2))).toStrictEqual(['[8', '[0']);
    shared.add(N + 1);
    r.run((s) => s.v.set({ a: shared }), 'x');
    expect(rows(r).map((v) => v?.slice(0, 2))).toStrictEqual(['[0']);
    // twice in one value: whole at both places
    const twice = new TrackedSet(range(0, N));
    r.run((s) => s.v.set({ a: twice, b: twice }), 'z');
    r.h.snapshot();
    twice.add(-1);
    r.run((s) => s.v.set({ a: twice, b: twice }), 'z');
    // (remembered at its last place, b's, the second Set: appended to at a's, then whole at b's)
    expect(rows(r)).toStrictEqual([`[8,{"a":{"$s+":[1,[-1]]},"b":{"$t":[${[...range(0, N), -1].join(',')}]}}]`]);
    twice.add(-2);
    r.run((s) => s.v.set({ a: twice, b: twice }), 'z');
    const cp = r.h.snapshot();
    const restored = r.h.restore(viaJson(cp));
    for (const k of ['x', 'y']) expect([...(restored.state(k, 'v') as { a: Set<number> }).a]).toStrictEqual(k === 'x' ? range(0, N + 2) : range(0, N + 1));
    const z = restored.state('z', 'v') as { a: Set<number>; b: Set<number> };
    expect([...z.a]).toStrictEqual([...range(0, N), -1, -2]);
    expect([...z.b]).toStrictEqual([...range(0, N), -1, -2]);
  });

  it('a TrackedSet holding objects is written whole at every checkpoint (its items change in place; they may hold Sets), until cleared', () => {
    const r = stateRig({ v: valueState<Record<string, unknown>>() });
    const o = { n: 1, inner: new Set([1]) };
    const ids = new TrackedSet<unknown>(range(0, N));
    const after = new TrackedSet<number>(range(0, N));
    r.run((s) => s.v.set({ ids, after }));
    r.h.snapshot();
    ids.add(o);
    after.add(-1);
    r.run((s) => s.v.set({ ids, after }));
    // (the Set after it: the third Set of the value before — ids, o.inner, after — is appended to)
    expect(rows(r)[0]).toBe(`[8,{"ids":{"$t":[${range(0, N).join(',')},{"n":1,"inner":{"$s":[1]}}]},"after":{"$s+":[1,[-1]]}}]`);
    o.n = 2;
    o.inner.add(2);
    ids.add(-2);
    after.add(-3);
    r.run((s) => s.v.set({ ids, after }));
    expect(rows(r)[0]).toBe(`[8,{"ids":{"$t":[${range(0, N).join(',')},{"n":2,"inner":{"$s":[1,2]}},-2]},"after":{"$s+":[2,[-3]]}}]`);
    ids.delete(o);
    ids.add(-4);
    r.run((s) => s.v.set({ $k: 1, ids, after }));
    expect(rows(r)[0]?.slice(0, 8)).toBe('[0,{"$o"');
    ids.add(-5);
    after.add(-6);
    r.run((s) => s.v.set({ ids, after }));
    // (an object was added since the Set was last empty: whole still)
    expect(rows(r)[0]).toBe(`[0,{"ids":{"$t":[${range(0, N).join(',')},-2,-4,-5]},"after":{"$t":[${range(0, N).join(',')},-1,-3,-6]}}]`);
    ids.clear();
    for (const x of range(0, N)) ids.add(x);
    r.run((s) => s.v.set({ ids, after }));
    r.h.snapshot();
    ids.add(-7);
    r.run((s) => s.v.set({ ids, after }));
    expect(rows(r)[0]).toBe('[8,{"ids":{"$s+":[0,[-7]]},"after":{"$s+":[1,[]]}}]');
    const got = r.h.restore(viaJson(r.h.snapshot())).state('k', 'v') as { ids: TrackedSet<unknown>; after: TrackedSet<number> };
    expect([...got.ids]).toStrictEqual([...range(0, N), -7]);
    expect([...got.after]).toStrictEqual([...range(0, N), -1, -3, -6]);
  });

  it('a reader another key\'s row started in a snapshot that failed is not appended to: the next row is whole', () => {
    const r = stateRig({ v: valueState<unknown>() });
    const ids = new TrackedSet(range(0, N));
    r.run((s) => s.v.set({ ids }), 'a');
    r.h.snapshot();
    ids.add(N);
    // b's row writes the Set (reading what it gained: a new reader); c's value fails the snapshot
    r.run((s) => s.v.set({ ids }), 'b');
    r.run((s) => s.v.set({ cb: () => 1 }), 'c');
    expect(() => r.h.snapshot()).toThrow(StateSerializationError);
    r.run((s) => s.v.clear(), 'b');
    r.run((s) => s.v.set(1), 'c');
    ids.add(N + 1);
    r.run((s) => s.v.set({ ids }), 'a');
    const cp = r.h.snapshot();
    expect((cp.latest.get('rig') as OperatorSnapshot).entries.filter((e) => e.value?.includes('"ids"')).map((e) => e.value?.slice(0, 2))).toStrictEqual(['[0']);
    expect([...(r.h.restore(viaJson(cp)).state('a', 'v') as { ids: Set<number> }).ids]).toStrictEqual(range(0, N + 2));
  });

  it('in TTL, map and list states, and across a full snapshot after deltas: whole rows, restored as TrackedSets', () => {
    const r = stateRig({ ttl: valueState<{ ids: TrackedSet<number> }>({ ttl: { ms: 60_000 } }), byName: mapState<string, TrackedSet<number>>(), all: listState<TrackedSet<number>>() });
    const ids = new TrackedSet(range(0, N));
    r.run((s) => {
      s.ttl.set({ ids });
      s.byName.set('a', ids);
      s.all.add(ids);
    });
    r.h.snapshot();
    ids.add(N);
    r.run((s) => {
      s.ttl.set({ ids });
      s.byName.set('a', ids);
      s.all.clear();
      s.all.add(ids);
    });
    const cp = r.h.snapshot();
    // (no sets rows: a TTL value, a map's entry and a list's items are written whole)
    expect((cp.latest.get('rig') as OperatorSnapshot).entries.filter((e) => e.value?.startsWith('[8,') === true)).toStrictEqual([]);
    const restored = r.h.restore(viaJson(cp));
    const ttl = restored.state('k', 'ttl') as { ids: TrackedSet<number> };
    const byName = restored.state('k', 'byName') as Map<string, TrackedSet<number>>;
    const all = restored.state('k', 'all') as TrackedSet<number>[];
    for (const x of [ttl.ids, byName.get('a'), all[0]]) expect(x).toBeInstanceOf(TrackedSet);
    expect([[...ttl.ids], [...(byName.get('a') as Set<number>)], [...(all[0] as Set<number>)]]).toStrictEqual([range(0, N + 1), range(0, N + 1), range(0, N + 1)]);
  });

  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), key: fc.nat(2), set: fc.nat(1), item: fc.oneof(fc.integer({ min: -40, max: 40 }), fc.constantFrom('a', 'b', 'c')) }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.nat(2), set: fc.nat(1), item: fc.integer({ min: -5, max: 20 }) }),
    fc.record({ kind: fc.constant('clearSet' as const), key: fc.nat(2), set: fc.nat(1) }),
    fc.record({ kind: fc.constant('replace' as const), key: fc.nat(2), set: fc.nat(1) }),
    fc.record({ kind: fc.constant('swap' as const), key: fc.nat(2) }),
    fc.record({ kind: fc.constant('clear' as const), key: fc.nat(2) }),
    fc.record({ kind: fc.constant('snapshot' as const) }),
  );

  it('at every snapshot, the chain restores every key\'s TrackedSets with their items in order', () => {
    let appended = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        const { get, put, snapshot } = setsChain((items) => new TrackedSet(items));
        for (const o of ops) {
          if (o.kind === 'snapshot') {
            const taken = snapshot();
            appended += taken.appended;
            for (const got of taken.restored) for (const x of got?.sets ?? []) expect(x).toBeInstanceOf(TrackedSet);
            continue;
          }
          if (o.kind === 'clear') {
            put(o.key, undefined);
            continue;
          }
          const v = get(o.key);
          if (o.kind === 'add') v.sets[o.set]?.add(o.item);
          else if (o.kind === 'delete') v.sets[o.set]?.delete(o.item);
          else if (o.kind === 'clearSet') v.sets[o.set]?.clear();
          else if (o.kind === 'replace') v.sets[o.set] = new TrackedSet(v.sets[o.set]);
          else v.sets.reverse();
          put(o.key, v);
        }
      }),
      { numRuns: 100 },
    );
    // (the sequences do make sets rows)
    expect(appended).toBeGreaterThan(0);
  });
});

describe('a windowed distinct count kept in TrackedSets: sets rows, and a restore at every cut equals the uninterrupted run', () => {
  it('the same results, restored at every cut from a chain of sets rows', () => {
    expectRestoresAtEveryCut(() => new TrackedSet<number>());
  });
});
