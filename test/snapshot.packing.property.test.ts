// Packed snapshot chunks read back to exactly the state that was written: keys, namespaces and values with
// everything JSON escapes or the codec tags, in full snapshots and deltas (deletions included), through JSON and
// through a store; rows around and above the chunk size.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listState, memoryStore, valueState, type OperatorSnapshot } from '../src/index.js';
import { KeyedStateBackend } from '../src/state/backend.js';
import { CHUNK_CHARS } from '../src/checkpoints/snapshot.js';
import { keyIdOf } from '../src/keys/keyId.js';
import { encodeValue } from '../src/state/codec.js';
import { UNDEFINED } from '../src/state/handles.js';

const clock = { now: () => 0, schedule: () => ({ unsubscribe() {} }) } as never;
const text = fc.string({
  unit: fc.oneof(fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udfff', 'é', '😀', '$'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  maxLength: 8,
});
const keyArb = fc.oneof(
  text,
  text.map((s) => '\u0000' + s),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(-0, 0.1, 1e21, 5e-7, Number.MAX_VALUE, Infinity, -Infinity),
  fc.boolean(),
  fc.bigInt(),
  fc.array(fc.oneof(text, fc.integer(), fc.constant(-0), fc.bigInt()), { maxLength: 3 }),
);
const valueArb = fc.oneof(
  fc.jsonValue(),
  text,
  fc.double(),
  fc.constantFrom(-0, NaN, Infinity, -Infinity, 1e21, undefined, null),
  fc.bigInt(),
  fc.dictionary(fc.constantFrom('$a', '__proto__', 'x'), fc.oneof(text, fc.integer())),
  // arrays of numbers and nulls (the snapshot's direct path) and near misses: -0, NaN, ±Infinity, holes, undefined
  fc.array(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null)), { maxLength: 6 }),
  fc.array(fc.oneof(fc.integer(), fc.constantFrom(-0, NaN, Infinity, -Infinity, undefined, null)), { maxLength: 4 }),
  fc.sparseArray(fc.integer(), { maxLength: 4 }),
);
const nsArb = fc.oneof(fc.constant(''), fc.integer(), text.filter((s) => s !== ''));

type Item = [key: unknown, ns: string | number, value: unknown, list: boolean];
const opsArb = fc.array(fc.tuple(keyArb, nsArb, fc.option(valueArb, { nil: Symbol.for('delete') as never }), fc.boolean()), { maxLength: 25 });
const DELETE = Symbol.for('delete');

const state = () => ({ v: valueState<unknown>(), l: listState<unknown>() });

function apply(b: KeyedStateBackend, model: Map<string, [unknown, string | number, number, unknown]>, items: Item[]): void {
  for (const [k, ns, v, list] of items) {
    const i = list ? 1 : 0;
    b.setCurrentKey(k as never);
    b.ns = ns;
    const id = `${i}|${typeof keyIdOf(k as never)}|${String(keyIdOf(k as never))}|${typeof ns}|${String(ns)}`;
    if (v === DELETE) {
      b.remove(i);
      model.delete(id);
    } else {
      const stored = list ? [v, k] : v;
      b.put(i, list ? stored : v === undefined ? UNDEFINED : v);
      // (a key -0 is the key 0, alone or in a composite key: keys are Map keys)
      model.set(id, [Object.is(k, -0) ? 0 : Array.isArray(k) ? k.map((p: unknown) => (Object.is(p, -0) ? 0 : p)) : k, ns, i, stored]);
    }
  }
}

function check(back: KeyedStateBackend, model: Map<string, [unknown, string | number, number, unknown]>): void {
  expect(back.entryCount).toBe(model.size);
  // (compared in the codec's encoding: objects without a prototype read back as plain objects)
  for (const [k, ns, i, v] of model.values()) expect(encodeValue(back.peekState(k as never, i === 1 ? 'l' : 'v', ns))).toBe(encodeValue(v));
  expect(new Set(back.allKeys().map((k) => encodeValue(k)))).toStrictEqual(new Set([...model.values()].map(([k]) => encodeValue(k))));
}

describe('packed snapshots read back exactly', () => {
  it('full snapshot and deltas, via JSON: every key, namespace and value as written', () => {
    fc.assert(
      fc.property(opsArb, opsArb, opsArb, (a, b2, c) => {
        const b = new KeyedStateBackend({ operator: 'op', state: state(), scheduler: clock });
        const model = new Map<string, [unknown, string | number, number, unknown]>();
        const chain: OperatorSnapshot[] = [];
        for (const items of [a, b2, c] as Item[][]) {
          apply(b, model, items);
          chain.push(JSON.parse(JSON.stringify(b.snapshot())) as OperatorSnapshot);
          const back = new KeyedStateBackend({ operator: 'op', state: state(), scheduler: clock });
          back.restore(chain);
          check(back, model);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('through a store: chunk texts as packed, rows at and above the chunk size', async () => {
    const b = new KeyedStateBackend({ operator: 'op', state: state(), scheduler: clock });
    const model = new Map<string, [unknown, string | number, number, unknown]>();
    const big = (n: number, c: string) => c.repeat(n);
    // values whose rows land just under, at and over the chunk boundary, one far above it, and escapes that double
    const items: Item[] = [
      ['a', '', big(CHUNK_CHARS - 40, 'x'), false],
      ['b', '', big(CHUNK_CHARS, '"'), false],
      ['c', 7, big(3, '\u0000'), true],
      ['d', '', big(2 * CHUNK_CHARS, '\\'), false],
      ['e', '', 1, false],
    ];
    apply(b, model, items);
    const s1 = b.snapshot();
    apply(b, model, [['b', '', DELETE, false], ['f', 'ns"\\', big(CHUNK_CHARS - 30, 'y'), false]] as Item[]);
    const s2 = b.snapshot();
    expect(s1.chunks.every((t) => Array.isArray(JSON.parse(t)))).toBe(true);
    const store = memoryStore();
    await store.writeCheckpoint({ job: 'j', id: 1, timestamp: 0, savepoint: false, operators: [s1], sources: [] });
    await store.writeCheckpoint({ job: 'j', id: 2, parent: 1, timestamp: 0, savepoint: false, operators: [s2], sources: [] });
    const loaded = await store.loadCheckpoint('j', 'latest');
    const back = new KeyedStateBackend({ operator: 'op', state: state(), scheduler: clock });
    back.restore(loaded?.operators[0] as OperatorSnapshot);
    check(back, model);
    // a savepoint of it, imported again
    const other = memoryStore();
    await other.importSavepoint(await store.exportSavepoint('j'));
    const again = new KeyedStateBackend({ operator: 'op', state: state(), scheduler: clock });
    again.restore((await other.loadCheckpoint('j', 'latest'))?.operators[0] as OperatorSnapshot);
    check(again, model);
  });
});
