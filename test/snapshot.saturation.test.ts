import { describe, expect, it } from 'vitest';
import { valueState, type OperatorSnapshot } from '../src/index.js';
import { KeyedStateBackend, SATURATION_MIN } from '../src/state/backend.js';
import { stateRig } from './support/stateRig.js';

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
