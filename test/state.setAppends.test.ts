import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StateRestoreError, StateSerializationError, TrackedSet, valueState, type OperatorSnapshot } from '../src/index.js';
import { mergeSnapshots } from '../src/checkpoints/snapshot.js';
import { SET_APPEND_MIN } from '../src/state/setAppends.js';
import { expectRestoresAtEveryCut, viaJson } from './support/distinctWindow.js';
import { setsChain } from './support/setsChain.js';
import { stateRig } from './support/stateRig.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const N = SET_APPEND_MIN;

interface Acc {
  n: number;
  ids: Set<number>;
  small: Set<string>;
  names?: Set<string>;
}

describe('sets rows: a value whose large Sets only grew is written as what they gained', () => {
  const rig = () => stateRig({ v: valueState<Acc>() });
  const rows = (r: ReturnType<typeof rig>) => (r.h.snapshot().latest.get('rig') as OperatorSnapshot).entries.map((e) => e.value);

  it('writes the gained items of a Set it wrote whole before, whole rows otherwise; the chain restores the values', () => {
    const r = rig();
    const acc: Acc = { n: 0, ids: new Set(range(0, N)), small: new Set(['a']) };
    r.run((s) => s.v.set(acc));
    expect(rows(r)).toStrictEqual([`[0,{"n":0,"ids":{"$s":[${range(0, N).join(',')}]},"small":{"$s":["a"]}}]`]);
    // grown: the gained items (its place among the value's Sets before: 0); the small Set whole
    r.run((s) => {
      const a = s.v.get() as Acc;
      a.n = 1;
      a.ids.add(N).add(N + 1);
      a.small.add('b');
      s.v.set(a);
    });
    expect(rows(r)).toStrictEqual([`[8,{"n":1,"ids":{"$s+":[0,[${N},${N + 1}]]},"small":{"$s":["a","b"]}}]`]);
    // an item deleted: whole; then grown again: gained items once more
    r.run((s) => {
      const a = s.v.get() as Acc;
      a.ids.delete(5);
      s.v.set(a);
    });
    expect(rows(r)[0]?.startsWith('[0,{"n":1,"ids":{"$s":[0,1,2,3,4,6,')).toBe(true);
    // a new large Set before it (the grown one is now the second Set of the value; it was the first)
    const names = new Set(range(0, N).map((i) => `n${i}`));
    r.run((s) => {
      const a = s.v.get() as Acc;
      s.v.set({ names, ...a });
      a.ids.add(-1);
    });
    expect(rows(r)[0]).toBe(`[8,{"names":{"$s":[${[...names].map((x) => JSON.stringify(x)).join(',')}]},"n":1,"ids":{"$s+":[0,[-1]]},"small":{"$s":["a","b"]}}]`);
    r.run((s) => {
      const a = s.v.get() as Acc;
      (a.names as Set<string>).add('x\n"y');
      a.ids.add(2.5);
      s.v.set(a);
    });
    expect(rows(r)[0]).toBe('[8,{"names":{"$s+":[0,["x\\n\\"y"]]},"n":1,"ids":{"$s+":[1,[2.5]]},"small":{"$s":["a","b"]}}]');
    const model = r.run((s) => s.v.get()) as Acc;
    const cp = r.h.snapshot();
    expect(cp.operators.get('rig')?.map((x) => x.entries.map((e) => e.value?.slice(0, 2)))).toStrictEqual([['[0'], ['[8'], ['[0'], ['[8'], ['[8'], []]);
    for (const restored of [r.h.restore(cp), r.h.restore(viaJson(cp))]) {
      const got = restored.state('k', 'v') as Acc;
      expect(got).toStrictEqual(model);
      expect([...got.ids]).toStrictEqual([...model.ids]);
      expect([...(got.names as Set<string>)]).toStrictEqual([...(model.names as Set<string>)]);
    }
  });

  it('a Set replaced, reordered, moved to another key, holding objects, or in an entry new since: written whole', () => {
    const r = rig();
    const ids = new Set(range(0, N));
    r.run((s) => s.v.set({ n: 0, ids, small: new Set() }), 'a');
    rows(r);
    // an equal Set, but another one
    r.run((s) => s.v.set({ n: 0, ids: new Set([...ids, N]), small: new Set() }), 'a');
    expect(rows(r)[0]?.slice(0, 2)).toBe('[0');
    // reordered: deleted and added again (same size, same items)
    r.run((s) => {
      const a = s.v.get() as Acc;
      a.ids.delete(0);
      a.ids.add(0);
      s.v.set(a);
    }, 'a');
    expect(rows(r)[0]?.slice(0, 2)).toBe('[0');
    // moved to key b (written whole there: b's rows never had it), a keeps growing its own
    const moved = (r.run((s) => s.v.get(), 'a') as Acc).ids;
    r.run((s) => s.v.set({ n: 0, ids: moved, small: new Set() }), 'b');
    r.run((s) => s.v.set({ n: 1, ids: new Set(range(0, N)), small: new Set() }), 'a');
    expect(rows(r).map((v) => v?.slice(0, 2))).toStrictEqual(['[0', '[0']);
    r.run((s) => {
      const a = s.v.get() as Acc;
      a.ids.add(-7);
      s.v.set(a);
    }, 'b');
    expect(rows(r)).toStrictEqual([expect.stringMatching(/^\[8,\{"n":0,"ids":\{"\$s\+":\[0,\[-7\]\]\}/)]);
    // a Set holding an object is never remembered: whole each time
    const objects = new Set<unknown>(range(0, N));
    const objectRig = stateRig({ v: valueState<Set<unknown>>() });
    objectRig.run((s) => s.v.set(objects.add({ x: 1 })));
    objectRig.h.snapshot();
    objectRig.run((s) => s.v.set(objects.add(N)));
    expect((objectRig.h.snapshot().latest.get('rig') as OperatorSnapshot).entries.map((e) => e.value?.slice(0, 2))).toStrictEqual(['[0']);
    // an entry deleted and set again since with the Set it had: whole (the chain has no value before it)
    const c = new Set(range(0, N));
    r.run((s) => s.v.set({ n: 0, ids: c, small: new Set() }), 'c');
    rows(r);
    r.run((s) => s.v.clear(), 'c');
    rows(r);
    r.run((s) => s.v.set({ n: 0, ids: c.add(N), small: new Set() }), 'c');
    expect(rows(r)[0]?.slice(0, 2)).toBe('[0');
    const cp = r.h.snapshot();
    const restored = r.h.restore(viaJson(cp));
    for (const k of ['a', 'b', 'c']) expect([...(restored.state(k, 'v') as Acc).ids]).toStrictEqual([...(r.run((s) => s.v.get(), k) as Acc).ids]);
  });

  it('a Set met twice in one value: appended to at its first place, whole at the other; one below the threshold whole; the chain restores them', () => {
    const r = stateRig({ v: valueState<Set<number>[]>() });
    const shared = new Set(range(0, N));
    r.run((s) => s.v.set([shared, new Set(range(0, N - 1)), shared]));
    r.h.snapshot();
    r.run((s) => {
      const v = s.v.get() as Set<number>[];
      v[0]?.add(N);
      v[1]?.add(N);
      s.v.set(v);
    });
    const delta = (r.h.snapshot().latest.get('rig') as OperatorSnapshot).entries[0]?.value as string;
    // the first place appended to, the Set below the threshold and the second place whole
    // (the mark names the Set's last place in the row before: the same items as its first)
    expect(delta.slice(0, 60)).toBe(`[8,[{"$s+":[2,[${N}]]},{"$s":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,${N}]},`.slice(0, 60));
    expect(delta.endsWith(`,${N - 1},${N}]}]]`)).toBe(true);
    const got = r.h.restore(viaJson(r.h.snapshot())).state('k', 'v') as Set<number>[];
    expect(got.map((x) => [...x])).toStrictEqual([range(0, N + 1), [...range(0, N - 1), N], range(0, N + 1)]);
  });

  it.each([
    ['Set', (items: number[]): Set<number> => new Set(items)],
    ['TrackedSet', (items: number[]): Set<number> => new TrackedSet(items)],
  ])('a snapshot that fails leaves no mark: the next one writes whole what the failed one had written (%s)', (_, makeSet) => {
    const r = stateRig({ v: valueState<unknown>() }, 'ops');
    const ids = makeSet(range(0, N));
    r.run((s) => s.v.set({ ids }), 'a');
    r.h.snapshot();
    r.run((s) => s.v.set({ ids: ids.add(N) }), 'a');
    r.run((s) => s.v.set({ cb: () => 1 }), 'b');
    expect(() => r.h.snapshot()).toThrow(StateSerializationError);
    r.run((s) => s.v.set({ ids: ids.add(N + 1) }), 'a');
    r.run((s) => s.v.set(1), 'b');
    const cp = r.h.snapshot();
    expect((cp.latest.get('ops') as OperatorSnapshot).entries.map((e) => e.value?.slice(0, 2))).toStrictEqual(['[0', '[0']);
    r.run((s) => s.v.set({ ids: ids.add(N + 2) }), 'a');
    const next = r.h.snapshot();
    expect((next.latest.get('ops') as OperatorSnapshot).entries.map((e) => e.value)).toStrictEqual([`[8,{"ids":{"$s+":[0,[${N + 2}]]}}]`]);
    expect([...((r.h.restore(viaJson(next)).state('a', 'v') as { ids: Set<number> }).ids)]).toStrictEqual(range(0, N + 3));
  });

  it('a value taking the codec\'s path (a $-key in it) is written whole and forgets its Sets\' marks', () => {
    const r = stateRig({ v: valueState<unknown>() });
    const ids = new Set(range(0, N));
    r.run((s) => s.v.set({ ids }));
    r.h.snapshot();
    r.run((s) => s.v.set({ ids: ids.add(N), at: Object.assign(new Date(0), {}), u: undefined, m: new Map([[1, { $x: 1 }]]) }));
    expect((r.h.snapshot().latest.get('rig') as OperatorSnapshot).entries.map((e) => e.value?.slice(0, 2))).toStrictEqual(['[0']);
    r.run((s) => s.v.set({ ids: ids.add(N + 1) }));
    expect((r.h.snapshot().latest.get('rig') as OperatorSnapshot).entries.map((e) => e.value?.slice(0, 2))).toStrictEqual(['[0']);
    r.run((s) => s.v.set({ ids: ids.add(N + 2) }));
    expect((r.h.snapshot().latest.get('rig') as OperatorSnapshot).entries.map((e) => e.value?.slice(0, 2))).toStrictEqual(['[8']);
    expect([...((r.h.restore(viaJson(r.h.snapshot())).state('k', 'v') as { ids: Set<number> }).ids)]).toStrictEqual(range(0, N + 3));
  });

  it.each([
    ['Set', 'a number', 7, '[0,7]'],
    ['TrackedSet', 'a number', 7, '[0,7]'],
    ['Set', 'null', null, '[0,null]'],
    ['TrackedSet', 'a string', 'seven', '[0,"seven"]'],
  ] as const)('a value holding a grown %s, then %s, then the same value grown again: whole after it; the chain restores it', (kind, _, other, otherRow) => {
    const makeSet = (xs: number[]): Set<number> => (kind === 'Set' ? new Set(xs) : new TrackedSet(xs));
    const r = stateRig({ v: valueState<unknown>() });
    const value = { ids: makeSet(range(0, N)) };
    const row = (): string | undefined => (r.h.snapshot().latest.get('rig') as OperatorSnapshot).entries[0]?.value;
    r.run((s) => s.v.set(value));
    expect(row()?.slice(0, 2)).toBe('[0');
    value.ids.add(N);
    r.run((s) => s.v.set(value));
    expect(row()).toBe(`[8,{"ids":{"$s+":[0,[${N}]]}}]`);
    // a value with no Sets (written without their bookkeeping): what the entry's last row held is forgotten
    r.run((s) => s.v.set(other));
    expect(row()).toBe(otherRow);
    value.ids.add(N + 1);
    r.run((s) => s.v.set(value));
    const cp = r.h.snapshot();
    expect((cp.latest.get('rig') as OperatorSnapshot).entries.map((e) => e.value?.slice(0, 2))).toStrictEqual(['[0']);
    expect([...((r.h.restore(viaJson(cp)).state('k', 'v') as { ids: Set<number> }).ids)]).toStrictEqual(range(0, N + 2));
  });
});

describe('sets rows: the writer and the fold count a value\'s Sets alike', () => {
  it('Sets under integer-like and __proto__ keys, in arrays, as Map keys and values, inside Sets: grown, appended to; restored in order', () => {
    const big = (tag: string): Set<unknown> => new Set(range(0, N).map((i) => `${tag}${i}`));
    const inner = big('i');
    const value: Record<string, unknown> = { z: [big('a'), new Map<unknown, unknown>([[big('k'), big('v')]])], 10: big('ten'), 2: big('two'), outer: new Set<unknown>([inner, 1]) };
    Object.defineProperty(value, '__proto__', { value: big('p'), enumerable: true, writable: true, configurable: true });
    const r = stateRig({ v: valueState<Record<string, unknown>>() });
    r.run((s) => s.v.set(value));
    r.h.snapshot();
    const sets = (v: unknown, out: Set<unknown>[] = []): Set<unknown>[] => {
      if (v instanceof Set) {
        out.push(v);
        for (const x of v) sets(x, out);
      } else if (v instanceof Map) for (const [k, x] of v) (sets(k, out), sets(x, out));
      else if (Array.isArray(v)) for (const x of v) sets(x, out);
      else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) sets((v as Record<string, unknown>)[k], out);
      return out;
    };
    sets(value).forEach((x, k) => x.add(`new${k}`));
    r.run((s) => s.v.set(value));
    const row = (r.h.snapshot().latest.get('rig') as OperatorSnapshot).entries[0]?.value as string;
    // every large Set of primitives appended to, at its own place (the outer Set holds a Set: whole)
    expect(row.slice(0, 2)).toBe('[8');
    expect(row.match(/\{"\$s\+":\[\d+,\["new\d+"\]\]\}/g)).toHaveLength(7);
    const got = r.h.restore(viaJson(r.h.snapshot())).state('k', 'v');
    expect(sets(got).map((x) => [...x].map((y) => (y instanceof Set ? 'set' : y)))).toStrictEqual(sets(value).map((x) => [...x].map((y) => (y instanceof Set ? 'set' : y))));
    expect(Object.keys(got as object)).toStrictEqual(['2', '10', 'z', 'outer', '__proto__']);
  });

  it('one Set in two keys\' values, both written in one snapshot: each key\'s chain restores it', () => {
    const r = stateRig({ v: valueState<{ ids: Set<number> }>() });
    const shared = new Set(range(0, N));
    r.run((s) => s.v.set({ ids: shared }), 'a');
    r.h.snapshot();
    // b gets it (whole), a grows it (appended): in either order of their rows
    shared.add(N);
    r.run((s) => s.v.set({ ids: shared }), 'b');
    r.run((s) => s.v.set({ ids: shared }), 'a');
    const rows = (r.h.snapshot().latest.get('rig') as OperatorSnapshot).entries.map((e) => e.value?.slice(0, 2));
    expect(rows.sort()).toStrictEqual(['[0', '[8']);
    shared.add(N + 1);
    r.run((s) => s.v.set({ ids: shared }), 'a');
    r.run((s) => s.v.set({ ids: shared }), 'b');
    const cp = r.h.snapshot();
    const restored = r.h.restore(viaJson(cp));
    for (const k of ['a', 'b']) expect([...(restored.state(k, 'v') as { ids: Set<number> }).ids]).toStrictEqual(range(0, N + 2));
  });
});

describe('sets rows and the tracking\'s saturation', () => {
  it('every key\'s Set grown between two snapshots: a delta of sets rows, where values changed otherwise take a full snapshot', () => {
    const keys = 5_000;
    const r = stateRig({ v: valueState<{ n: number; ids: Set<number> }>() });
    for (let k = 0; k < keys; k++) r.run((s) => s.v.set({ n: 0, ids: new Set(range(0, N)) }), `k${k}`);
    r.h.snapshot();
    const grow = (by: number): OperatorSnapshot => {
      for (let k = 0; k < keys; k++) {
        r.run((s) => {
          const v = s.v.get() as { n: number; ids: Set<number> };
          v.n++;
          v.ids.add(by);
          s.v.set(v);
        }, `k${k}`);
      }
      return r.h.snapshot().latest.get('rig') as OperatorSnapshot;
    };
    for (const by of [N, N + 1]) {
      const delta = grow(by);
      expect([delta.full, delta.entries.length, delta.entries.filter((e) => e.value === `[8,{"n":${by - N + 1},"ids":{"$s+":[0,[${by}]]}}]`).length]).toStrictEqual([false, keys, keys]);
    }
    // the same changes to values without a large Set saturate the tracking: the next snapshot is full
    const plain = stateRig({ v: valueState<{ n: number; ids: number[] }>() });
    for (let k = 0; k < keys; k++) plain.run((s) => s.v.set({ n: 0, ids: range(0, N) }), `k${k}`);
    plain.h.snapshot();
    for (let k = 0; k < keys; k++) plain.run((s) => s.v.set({ n: 1, ids: range(0, N + 1) }), `k${k}`);
    expect((plain.h.snapshot().latest.get('rig') as OperatorSnapshot).full).toBe(true);
    const restored = r.h.restore(viaJson(r.h.snapshot()));
    expect([...(restored.state('k4999', 'v') as { ids: Set<number> }).ids]).toStrictEqual(range(0, N + 2));
  });

  it('values whose Sets are replaced rather than grown saturate the tracking again after two such rows', () => {
    const keys = 5_000;
    const r = stateRig({ v: valueState<{ ids: Set<number> }>() });
    const replace = (n: number): OperatorSnapshot => {
      for (let k = 0; k < keys; k++) r.run((s) => s.v.set({ ids: new Set(range(0, n)) }), `k${k}`);
      return r.h.snapshot().latest.get('rig') as OperatorSnapshot;
    };
    // full; then two deltas of whole rows (each entry missed once, twice); then saturated: full
    expect([N, N + 1, N + 2, N + 3].map((n) => replace(n).full)).toStrictEqual([true, false, false, true]);
  });
});

describe('sets rows folded by mergeSnapshots', () => {
  const path = '["s","v","value","","\\"a\\""]';
  const snap = (full: boolean, ...values: (string | undefined)[]): OperatorSnapshot => ({ operator: 'op', full, maxParallelism: 128, entries: values.map((value) => ({ keyGroup: 3, path, value })) });
  const merged = (...snaps: OperatorSnapshot[]) => mergeSnapshots(snaps).entries.map((e) => JSON.stringify(e.value === undefined ? undefined : JSON.parse(e.value)));

  it('each {"$s+": [k, items]} is the k-th Set of the value before (Sets in order, nested ones after their Set), grown by the items', () => {
    const before = '[0,{"a":{"$s":[1,2]},"b":[{"$s":[{"$s":[3]},4]},{"$m":[[5,{"$s":[6]}]]}],"c":{"$s":[7]}}]';
    // Sets of `before`, in order: 0 [1,2], 1 [{$s:[3]},4], 2 [3], 3 [6], 4 [7]
    expect(merged(snap(true, before), snap(false, '[8,{"c":{"$s+":[4,[8]]},"a":{"$s+":[0,[]]},"x":[{"$s+":[2,["y"]]},{"$s+":[3,[]]}],"__proto__":{"$s+":[1,[9]]}}]'))).toStrictEqual([
      '[0,{"c":{"$s":[7,8]},"a":{"$s":[1,2]},"x":[{"$s":[3,"y"]},{"$s":[6]}],"__proto__":{"$s":[{"$s":[3]},4,9]}}]',
    ]);
    // a chain: each row folds into the value the one before made
    expect(merged(snap(true, '[0,{"$s":[1]}]'), snap(false, '[8,{"$s+":[0,[2]]}]'), snap(false, '[8,[{"$s+":[0,[3]]},{"$s+":[0,[]]}]]'), snap(false, '[8,[{"$s":[0]},{"$s+":[1,[4]]}]]'))).toStrictEqual([
      '[0,[{"$s":[0]},{"$s":[1,2,4]}]]',
    ]);
    // a whole value or a deletion after: replaces it
    expect(merged(snap(true, '[0,{"$s":[1]}]'), snap(false, '[8,{"$s+":[0,[2]]}]'), snap(false, '[0,5]'))).toStrictEqual(['[0,5]']);
    expect(merged(snap(true, '[0,{"$s":[1]}]'), snap(false, '[8,{"$s+":[0,[2]]}]'), snap(false, undefined))).toStrictEqual([]);
    // the snapshots read are unchanged: a second merge gives the same
    const chain = [snap(true, '[0,{"$s":[1]}]'), snap(false, '[8,{"$s+":[0,[2]]}]')];
    expect(merged(...chain)).toStrictEqual(merged(...chain));
  });

  it('a sets row with no value before it, after a value with TTL, or naming no Set before it is refused; a restore refuses one left unfolded', () => {
    expect(() => mergeSnapshots([snap(true), snap(false, '[8,{"$s+":[0,[2]]}]')])).toThrow(`mergeSnapshots: operator op: the sets row of ${path} has no value before it in the chain (a checkpoint of the chain is missing)`);
    expect(() => mergeSnapshots([snap(true, '[1,{"$s":[1]},100]'), snap(false, '[8,{"$s+":[0,[2]]}]')])).toThrow(`mergeSnapshots: operator op: the sets row of ${path} follows an entry that is not a value without TTL`);
    for (const [tag, shown] of [['[1,[2]]', '[1,[2]]'], ['[0,2]', '[0,2]'], ['"x"', '"x"'], ['[-1,[]]', '[-1,[]]'], ['[0.5,[]]', '[0.5,[]]']] as const) {
      expect(() => mergeSnapshots([snap(true, '[0,{"$s":[1]}]'), snap(false, `[8,{"$s+":${tag}}]`)])).toThrow(
        `mergeSnapshots: operator op: the sets row of ${path} has ${shown}, not the index of one of the 1 Sets of the value before it and the items to append`,
      );
    }
    const r = stateRig({ v: valueState<unknown>() }, 'op');
    const wrong = { operator: 'op', full: true, maxParallelism: 128, entries: [{ keyGroup: 3, path, value: '[8,{"$s+":[0,[2]]}]' }] };
    expect(r.h.restore({ operators: new Map([['op', [wrong]]]), latest: new Map() }).error).toStrictEqual(
      new StateRestoreError('op', path, `op: the snapshot's entry ${path} changes a value that the snapshots given do not have; give the full snapshot and every delta after it, in order.`),
    );
  });
});

describe('property: values with Sets changed at random, snapshotted at random, restore from the chain as they are', () => {
  type Op =
    | { kind: 'add'; key: number; set: number; item: number | string }
    | { kind: 'delete'; key: number; set: number; item: number }
    | { kind: 'replace'; key: number; set: number }
    | { kind: 'swap'; key: number }
    | { kind: 'move'; from: number; to: number }
    | { kind: 'clear'; key: number }
    | { kind: 'snapshot' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('add' as const), key: fc.nat(2), set: fc.nat(1), item: fc.oneof(fc.integer({ min: -5, max: 3 * N }), fc.constantFrom('s', 't\n')) }), weight: 8 },
    { arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat(2), set: fc.nat(1), item: fc.integer({ min: 0, max: N + 10 }) }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('replace' as const), key: fc.nat(2), set: fc.nat(1) }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('swap' as const), key: fc.nat(2) }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('move' as const), from: fc.nat(2), to: fc.nat(2) }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('clear' as const), key: fc.nat(2) }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('snapshot' as const) }), weight: 4 },
  );

  it('at every snapshot, the chain restores every key\'s Sets with their items in order', () => {
    let sets = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        const { get, put, snapshot } = setsChain((items) => new Set(items));
        let appended = 0;
        for (const o of ops) {
          if (o.kind === 'snapshot') {
            appended += snapshot().appended;
            continue;
          }
          if (o.kind === 'clear') {
            put(o.key, undefined);
            continue;
          }
          if (o.kind === 'move') {
            // (the value leaves its key: one object in two keys' state would change both, and only one is set)
            const v = get(o.from);
            if (o.from !== o.to) put(o.from, undefined);
            put(o.to, v);
            continue;
          }
          const v = get(o.key);
          if (o.kind === 'add') v.sets[o.set]?.add(o.item);
          else if (o.kind === 'delete') v.sets[o.set]?.delete(o.item);
          else if (o.kind === 'replace') v.sets[o.set] = new Set(v.sets[o.set]);
          else v.sets.reverse();
          put(o.key, v);
        }
        sets += appended;
      }),
      { numRuns: 100 },
    );
    // (the sequences do make sets rows)
    expect(sets).toBeGreaterThan(0);
  });

  it('the sequences do make sets rows', () => {
    const r = stateRig({ v: valueState<{ sets: Set<number>[] }>() });
    const v = { sets: [new Set(range(0, N)), new Set(range(0, N))] };
    r.run((s) => s.v.set(v));
    r.h.snapshot();
    v.sets[1]?.add(-1);
    r.run((s) => s.v.set(v));
    expect((r.h.snapshot().latest.get('rig') as OperatorSnapshot).entries.map((e) => e.value?.slice(0, 2))).toStrictEqual(['[8']);
  });
});

describe('a windowed distinct count (Nexmark q16\'s accumulators): sets rows, and a restore at every cut equals the uninterrupted run', () => {
  it('the same results, restored at every cut from a chain of sets rows', () => {
    expectRestoresAtEveryCut(() => new Set<number>());
  });
});
