// The namespaced columns of the state backend (src/state/columns.ts): values kept in either layout, and their count
// kept as they change (so that change tracking's count after each snapshot costs nothing per key) — checked against a
// plain model under random writes, deletes and namespace drops.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NamespacedColumns } from '../src/state/columns.js';

type Op = readonly ['set', number, string, number, number] | readonly ['delete', number, string, number] | readonly ['dropNamespace', number, number];

describe('NamespacedColumns', () => {
  it('holds what a plain map of (state, key, namespace) holds, and counts it, in both layouts (property)', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(fc.constant('set' as const), fc.integer({ min: 0, max: 1 }), fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 4 }), fc.integer()) },
      { weight: 3, arbitrary: fc.tuple(fc.constant('delete' as const), fc.integer({ min: 0, max: 1 }), fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 4 })) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('dropNamespace' as const), fc.constant(1), fc.integer({ min: 0, max: 4 })) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        // state 0 key-major, state 1 namespace-major (namespaces are dropped whole only there)
        const cols = new NamespacedColumns([false, true]);
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o[0] === 'set') {
            cols.set(o[1], o[2], o[3], o[4]);
            model.set(`${o[1]}|${o[2]}|${o[3]}`, o[4]);
          } else if (o[0] === 'delete') {
            expect(cols.delete(o[1], o[2], o[3])).toBe(model.delete(`${o[1]}|${o[2]}|${o[3]}`));
          } else {
            cols.deleteNamespace(o[1], o[2]);
            for (const k of [...model.keys()]) if (k.startsWith(`${o[1]}|`) && k.endsWith(`|${o[2]}`)) model.delete(k);
          }
          for (const i of [0, 1]) expect(cols.size(i)).toBe([...model.keys()].filter((k) => k.startsWith(`${i}|`)).length);
        }
        for (const [k, v] of model) {
          const [i, id, ns] = k.split('|') as [string, string, string];
          expect(cols.get(Number(i), id, Number(ns))).toBe(v);
        }
      }),
      { numRuns: 300 },
    );
  });
});
