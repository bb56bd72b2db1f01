import { describe, expect, it } from 'vitest';
import { valueState, type OperatorSnapshot } from '../src/index.js';
import { KeyedStateBackend, SATURATION_MIN } from '../src/state/backend.js';
import { stateRig } from './support/stateRig.js';
import { keyIdOf } from '../src/keys/keyId.js';

const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `k${from + i}`);

describe('saturation inside a snapshot', () => {
  it('TTL cleanup of an incremental snapshot that reaches saturation still writes every change (or a full snapshot)', () => {
    // 5 000 keys at t=0 (ttl 100): saturation at 4 096 changes
    const state = { v: valueState<string>({ ttl: { ms: 100 } }) };
    const r = stateRig(state);
    r.at(0);
    for (const k of many(5_000)) r.run((s) => s.v.set('old'), k);
    const full = r.h.snapshot().latest.get('rig') as OperatorSnapshot;
    expect(full.full).toBe(true);
    // 4 000 changes (below saturation), refreshing their TTL
    r.at(50);
    for (const k of many(4_000, 1_000)) r.run((s) => s.v.set('new'), k);
    // at 120 k0…k999 expired: the snapshot's TTL cleanup deletes them, passing 4 096 changes on the way
    r.at(120);
    const delta = r.h.snapshot().latest.get('rig') as OperatorSnapshot;
    expect(delta.full || delta.entries.length >= 4_000).toBe(true);
    const back = new KeyedStateBackend({ operator: 'rig', state, scheduler: { now: () => 120 } as never });
    back.restore([full, delta]);
    expect([back.peekState('k0', 'v'), back.peekState('k1000', 'v'), back.peekState('k4999', 'v'), back.allKeys().length]).toStrictEqual([
      undefined,
      'new',
      'new',
      4_000,
    ]);
    expect(SATURATION_MIN).toBe(4096);
  });
});

describe('saturation weighs new entries half', () => {
  it('a growing state keeps exact deltas until it doubles in an interval; rewritten entries saturate at half the state', () => {
    const state = { v: valueState<number>() };
    const b = new KeyedStateBackend({ operator: 'grow', state, scheduler: { now: () => 0 } as never });
    const put = (keys: string[], value: number): void => {
      for (const k of keys) {
        b.setCurrent(k, keyIdOf(k));
        b.put(0, value);
      }
    };
    const shapes: [boolean, number][] = [];
    const snapshots: OperatorSnapshot[] = [];
    const take = (): void => {
      const s = b.snapshot();
      snapshots.push(s);
      shapes.push([s.full, s.entries.length]);
    };
    put(many(10_000), 1);
    take(); // first: full
    put(many(9_000, 10_000), 2);
    take(); // 9 000 new entries, fewer than the 10 000 there were: an exact delta (a full would write 19 000)
    put(many(19_000, 19_000), 3);
    take(); // 19 000 new, as many as there were: the state doubled, full
    put(many(500, 0), 4);
    take(); // the interval after a saturated one goes untracked: full
    put(many(18_999, 0), 5);
    take(); // 18 999 of 38 000 rewritten (2 · 18 999 < 38 000): delta
    put(many(19_000, 0), 6);
    take(); // 19 000 rewritten: half the state, full
    expect(shapes).toStrictEqual([
      [true, 10_000],
      [false, 9_000],
      [true, 38_000],
      [true, 38_000],
      [false, 18_999],
      [true, 38_000],
    ]);
    // each point of the chain restores to the state then: every value as last written
    const expected = [
      (i: number) => (i < 10_000 ? 1 : undefined),
      (i: number) => (i < 10_000 ? 1 : i < 19_000 ? 2 : undefined),
      (i: number) => (i < 10_000 ? 1 : i < 19_000 ? 2 : 3),
      (i: number) => (i < 500 ? 4 : i < 10_000 ? 1 : i < 19_000 ? 2 : 3),
      (i: number) => (i < 18_999 ? 5 : i < 19_000 ? 2 : 3),
      (i: number) => (i < 19_000 ? 6 : 3),
    ];
    const probes = [0, 499, 500, 9_999, 10_000, 18_998, 18_999, 19_000, 37_999];
    snapshots.forEach((_, at) => {
      let lastFull = at;
      while (!(snapshots[lastFull] as OperatorSnapshot).full) lastFull--;
      const back = new KeyedStateBackend({ operator: 'grow', state, scheduler: { now: () => 0 } as never });
      back.restore(snapshots.slice(lastFull, at + 1));
      expect([at, probes.map((i) => back.peekState(`k${i}`, 'v'))]).toStrictEqual([at, probes.map((i) => (expected[at] as (i: number) => number | undefined)(i))]);
    });
  });
});
