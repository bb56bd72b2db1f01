// A value state's handle keeps the value of the key it read last (src/state/handles.ts, `ValueHandle`): records of one
// key in a run look the column up once. Every other way a value changes must show through it: the handle's own set
// and clear, a set while changes are tracked (after a snapshot), a timer's callback for the key, a restore, another
// key, another state. Checked against a map per state, over random runs of operations on three number keys (the
// cache's) and a string key.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asyncScheduler } from 'rxjs';
import { valueState, type ValueState } from '../src/index.js';
import { KeyedStateBackend } from '../src/state/backend.js';
import { process } from '../operators/index.js';
import { harness, type Harness } from '../testing/index.js';

/** the test's keys: numbers (a value handle caches their values) and a string (it does not) */
type Id = number | string;

type Op =
  | { readonly kind: 'get'; readonly state: 'a' | 'b' }
  | { readonly kind: 'set'; readonly state: 'a' | 'b'; readonly value: number | undefined }
  | { readonly kind: 'clear'; readonly state: 'a' | 'b' }
  /** a timer at the record's time + 1 whose callback sets state `a` of the key to `value` (undefined: clears it) */
  | { readonly kind: 'timer'; readonly value: number | undefined };

/** What the test does between records: one operation for a key, a watermark, a snapshot, or a restore of the last snapshot. */
type Step =
  | { readonly step: 'op'; readonly key: Id; readonly op: Op }
  | { readonly step: 'watermark' }
  | { readonly step: 'snapshot' }
  | { readonly step: 'restore' };

const state = { a: valueState<number>(), b: valueState<number>() };
const operator = () =>
  process<Op, Id, number | 'none', typeof state>({
    name: 'cache',
    state,
    onElement(op, ctx) {
      const s = ctx.state[op.kind === 'timer' ? 'a' : op.state];
      if (op.kind === 'get') ctx.emit(s.get() ?? 'none');
      else if (op.kind === 'set') s.set(op.value as number);
      else if (op.kind === 'clear') s.clear();
      else ctx.timers.registerEventTime(ctx.timestamp + 1);
    },
    onTimer(t, ctx) {
      const value = pendingTimer.get(`${ctx.key}@${t}`);
      if (value === undefined) ctx.state.a.clear();
      else ctx.state.a.set(value);
    },
  });
/** timer (key@time) → the value its callback sets (undefined: clears) — the test's bookkeeping, outside the state */
const pendingTimer = new Map<string, number | undefined>();

const keyArb = fc.constantFrom<Id>(1, 2, 3, 'x');
const stateArb = fc.constantFrom<'a' | 'b'>('a', 'b');
const valueArb = fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: stateArb.map((s): Op => ({ kind: 'get', state: s })) },
  { weight: 3, arbitrary: fc.tuple(stateArb, valueArb).map(([s, value]): Op => ({ kind: 'set', state: s, value })) },
  { weight: 1, arbitrary: stateArb.map((s): Op => ({ kind: 'clear', state: s })) },
  { weight: 1, arbitrary: valueArb.map((value): Op => ({ kind: 'timer', value })) },
);
const groupArb: fc.Arbitrary<Step[]> = fc.oneof(
  // runs of one key: the cache's case
  { weight: 12, arbitrary: fc.tuple(keyArb, fc.array(opArb, { minLength: 1, maxLength: 4 })).map(([key, ops]) => ops.map((op): Step => ({ step: 'op', key, op }))) },
  { weight: 1, arbitrary: fc.constant<Step[]>([{ step: 'watermark' }]) },
  { weight: 1, arbitrary: fc.constant<Step[]>([{ step: 'snapshot' }]) },
  { weight: 1, arbitrary: fc.constant<Step[]>([{ step: 'restore' }]) },
);

describe("a value state's read cache", () => {
  it('every read gives what a map per state holds, whatever wrote last (random runs of operations on four keys)', () => {
    fc.assert(
      fc.property(fc.array(groupArb, { minLength: 1, maxLength: 60 }), (groups) => {
        const steps = groups.flat();
        pendingTimer.clear();
        let h: Harness<Op, Id, number | 'none'> = harness(operator());
        // the oracle: state → key → value; timers not yet fired: [time, key, value]
        let oracle = { a: new Map<Id, number>(), b: new Map<Id, number>() };
        let timers: [number, Id, number | undefined][] = [];
        let saved: { checkpoint: ReturnType<typeof h.snapshot>; oracle: typeof oracle; timers: typeof timers } | undefined;
        const expected: (number | 'none')[] = [];
        const got: (number | 'none')[] = [];
        const collect = () => {
          if (h.error !== undefined) throw h.error;
          for (const r of h.records()) got.push(r.value);
        };
        let time = 0;
        let watermark = -1;
        const fire = (upTo: number) => {
          // (in time order, then registration order: as the harness fires them)
          const due = timers.filter(([t]) => t <= upTo).sort((p, q) => p[0] - q[0]);
          timers = timers.filter(([t]) => t > upTo);
          for (const [, key, value] of due) {
            if (value === undefined) oracle.a.delete(key);
            else oracle.a.set(key, value);
          }
        };
        for (const s of steps) {
          if (s.step === 'op') {
            time++;
            const { key, op } = s;
            if (op.kind === 'get') expected.push(oracle[op.state].get(key) ?? 'none');
            else if (op.kind === 'set') {
              if (op.value === undefined) oracle[op.state].delete(key);
              else oracle[op.state].set(key, op.value);
            } else if (op.kind === 'clear') oracle[op.state].delete(key);
            else if (!timers.some(([t, k]) => t === time + 1 && k === key)) {
              timers.push([time + 1, key, op.value]);
              pendingTimer.set(`${key}@${time + 1}`, op.value);
            }
            h.record(op, time, key);
          } else if (s.step === 'watermark') {
            watermark = time;
            fire(watermark);
            h.watermark(watermark);
          } else if (s.step === 'snapshot') {
            saved = { checkpoint: h.snapshot(), oracle: { a: new Map(oracle.a), b: new Map(oracle.b) }, timers: [...timers] };
          } else if (saved !== undefined) {
            // a restore: the state and timers of the snapshot, time goes on from here
            collect();
            h = harness(operator(), { restore: saved.checkpoint });
            oracle = { a: new Map(saved.oracle.a), b: new Map(saved.oracle.b) };
            timers = [...saved.timers];
            if (watermark >= 0) {
              fire(watermark);
              h.watermark(watermark);
            }
          }
          if (h.error !== undefined) throw h.error;
        }
        collect();
        expect(got).toStrictEqual(expected);
      }),
      { numRuns: 1_000 },
    );
  });

  it("a value written by the backend's own methods, not the handle (a restore writes so), is what the handle reads next", () => {
    const b = new KeyedStateBackend({ operator: 'cache', scheduler: asyncScheduler, state: { v: valueState<number>() } });
    const v = b.handles['v'] as ValueState<number>;
    b.setCurrentKey(7);
    v.set(1);
    expect(v.get()).toBe(1);
    b.put(0, 2);
    expect(v.get()).toBe(2);
    b.putAt(0, 7, '', 3);
    expect(v.get()).toBe(3);
    b.removeAt(0, 7, '');
    expect(v.get()).toBe(undefined);
    b.put(0, 4);
    expect(v.get()).toBe(4);
    b.remove(0);
    expect(v.get()).toBe(undefined);
    v.set(5);
    expect(v.get()).toBe(5);
    // another key, and back
    b.setCurrentKey(8);
    expect(v.get()).toBe(undefined);
    v.set(9);
    b.setCurrentKey(7);
    expect(v.get()).toBe(5);
    b.putAt(0, 8, '', 10);
    expect(v.get()).toBe(5);
    b.setCurrentKey(8);
    expect(v.get()).toBe(10);
    // a namespace of the same key (a window's): its own value, not the one the handle read last
    b.setNamespace('w');
    expect(v.get()).toBe(undefined);
    v.set(11);
    expect(v.get()).toBe(11);
    b.setNamespace('');
    expect(v.get()).toBe(10);
  });
});
