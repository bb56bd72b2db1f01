import { expect } from 'vitest';
import { valueState } from '../../src/index.js';
import { SET_APPEND_MIN } from '../../src/state/setAppends.js';
import { viaJson } from './distinctWindow.js';
import { stateRig } from './stateRig.js';

/** A value of the sets property tests: two Sets (plain or TrackedSets). */
export interface SetsValue {
  sets: Set<unknown>[];
}

/**
 * Three keys (`k0`–`k2`) of a value state holding two Sets each, for property tests of sets rows: `get` a key's value
 * (two Sets of 0…15 made by `makeSet` when it has none), `put` it back (undefined: clear), and `snapshot`, which takes
 * a snapshot, restores from its chain (through JSON) and asserts that every key's Sets restore with their items in
 * order; it returns the number of sets rows in the snapshot and the restored values.
 *
 * @example
 * ```ts
 * const chain = setsChain((items) => new TrackedSet(items));
 * const v = chain.get(0); v.sets[0]?.add(99); chain.put(0, v);
 * chain.snapshot();
 * ```
 */
export function setsChain(makeSet: (items: number[]) => Set<unknown>): {
  get(key: number): SetsValue;
  put(key: number, v: SetsValue | undefined): void;
  snapshot(): { appended: number; restored: (SetsValue | undefined)[] };
} {
  const r = stateRig({ v: valueState<SetsValue>() });
  const first = Array.from({ length: SET_APPEND_MIN }, (_, i) => i);
  const live = (key: number): SetsValue | undefined => r.run((s) => s.v.get(), `k${key}`);
  return {
    get: (key) => live(key) ?? { sets: [makeSet(first), makeSet(first)] },
    put: (key, v) => void r.run((s) => (v === undefined ? s.v.clear() : s.v.set(v)), `k${key}`),
    snapshot() {
      const cp = r.h.snapshot();
      const appended = (cp.latest.get('rig')?.entries ?? []).filter((e) => e.value?.startsWith('[8,') === true).length;
      const restored = r.h.restore(viaJson(cp));
      const values: (SetsValue | undefined)[] = [];
      for (let k = 0; k < 3; k++) {
        const got = restored.state(`k${k}`, 'v') as SetsValue | undefined;
        expect(got?.sets.map((x) => [...x])).toStrictEqual(live(k)?.sets.map((x) => [...x]));
        values.push(got);
      }
      return { appended, restored: values };
    },
  };
}
