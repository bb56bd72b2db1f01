// A key's pending timers looked up per timestamp (src/timers/queue.ts `timersOf`, which incremental snapshots use for
// the few keys that changed among many timers) equal those a scan of every timer gives, in the same order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerService, type Timer } from '../src/timers/queue.js';

type Op = readonly ['register', string, string | number, number] | readonly ['delete', string, string | number, number] | readonly ['pop', number];

/** Registers, deletes and pops of keys a, b, c in namespaces `ns` at timestamps `ts`, weighted as given. */
function opOf(ns: fc.Arbitrary<string | number>, ts: fc.Arbitrary<number>, [register, del, pop]: readonly [number, number, number]): fc.Arbitrary<Op> {
  const key = fc.constantFrom('a', 'b', 'c');
  return fc.oneof(
    { weight: register, arbitrary: fc.tuple(fc.constant('register' as const), key, ns, ts) },
    { weight: del, arbitrary: fc.tuple(fc.constant('delete' as const), key, ns, ts) },
    { weight: pop, arbitrary: fc.tuple(fc.constant('pop' as const), ts) },
  );
}

const show = (ts: readonly Timer[]): string[] => ts.map((t) => `${t.id}/${String(t.ns)}@${t.timestamp}#${t.seq}`);

describe('TimerService.timersOf', () => {
  it("gives a key's timers as a scan of all() does: by timestamp bucket, then registration (property: registers, deletes, pops)", () => {
    const op = opOf(fc.constantFrom<string | number>('', 1, 2), fc.integer({ min: 0, max: 6 }), [5, 2, 1]);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const service = new TimerService('event');
        let seq = 0;
        for (const o of ops) {
          if (o[0] === 'register') service.register(o[1], o[1], o[2], o[3], seq++);
          else if (o[0] === 'delete') service.delete(o[1], o[2], o[3]);
          else service.pop(o[1]);
        }
        for (const id of ['a', 'b', 'c']) {
          const looked: Timer[] = [];
          service.timersOf(id, looked);
          expect(show(looked), id).toStrictEqual(show([...service.all()].filter((t) => t.id === id)));
        }
        // the lookups a key costs: at least one per pending (timestamp, namespace), none once every timer fired
        expect(service.lookupsPerKey).toBeGreaterThanOrEqual(new Set([...service.all()].map((t) => `${t.timestamp}|${String(t.ns)}`)).size);
        while (service.pop(Infinity) !== undefined);
        expect(service.lookupsPerKey).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('TimerService against a list of timers', () => {
  // Buckets of one timer have no index until a second comes (a timestamp of its own per key is common): registers
  // (deduplicated per key, namespace and timestamp), deletes and pops give what a plain list of the live timers says.
  type ModelTimer = { id: string; ns: string | number; ts: number; seq: number };
  const first = (live: ModelTimer[], limit: number): ModelTimer | undefined =>
    live.filter((t) => t.ts <= limit).sort((x, y) => x.ts - y.ts || x.seq - y.seq)[0];
  const shown = (t: { id: unknown; ns: unknown; seq: number } | undefined, ts?: number): string | undefined =>
    t === undefined ? undefined : `${String(t.id)}/${String(t.ns)}@${ts}#${t.seq}`;

  it('property: registers, deletes and pops, over shared and distinct timestamps', () => {
    const op = opOf(fc.constantFrom<string | number>('', 1), fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 60 })), [5, 3, 2]);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const service = new TimerService('event');
        let live: ModelTimer[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o[0] === 'register') {
            const [, id, n, at] = o;
            const had = live.some((t) => t.id === id && t.ns === n && t.ts === at);
            const t = service.register(id, id, n, at, seq);
            expect(t === undefined).toBe(had);
            if (!had) live.push({ id, ns: n, ts: at, seq });
            seq++;
          } else if (o[0] === 'delete') {
            const [, id, n, at] = o;
            const m = live.find((t) => t.id === id && t.ns === n && t.ts === at);
            expect(shown(service.delete(id, n, at), at)).toBe(shown(m, at));
            live = live.filter((t) => t !== m);
          } else {
            const m = first(live, o[1]);
            const t = service.pop(o[1]);
            expect(shown(t, t?.timestamp)).toBe(shown(m, m?.ts));
            live = live.filter((x) => x !== m);
          }
          expect(service.size).toBe(live.length);
        }
        const rest: string[] = [];
        for (let t = service.pop(Infinity); t !== undefined; t = service.pop(Infinity)) rest.push(shown(t, t.timestamp) as string);
        expect(rest).toStrictEqual(live.sort((x, y) => x.ts - y.ts || x.seq - y.seq).map((t) => shown(t, t.ts)));
        expect(service.lookupsPerKey).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('a timestamp with 300 000 timers, most deleted: its bucket is compacted, and the rest pop in registration order', () => {
    // (windows of many keys end at one timestamp; a compaction that passed the live timers as arguments overflowed)
    const service = new TimerService('event');
    for (let i = 0; i < 300_000; i++) service.register(`k${i}`, `k${i}`, '', 1000, i);
    for (let i = 0; i < 250_000; i++) service.delete(`k${i}`, '', 1000);
    const seqs: number[] = [];
    for (let t = service.pop(Infinity); t !== undefined; t = service.pop(Infinity)) seqs.push(t.seq);
    expect(seqs).toStrictEqual(Array.from({ length: 50_000 }, (_, i) => 250_000 + i));
  });

  it('a namespace NaN (a custom assigner\'s window) is one namespace, as in a Map: deduplicated and deleted', () => {
    const service = new TimerService('event');
    expect(service.register('k', 'k', NaN, 5, 0)?.seq).toBe(0);
    expect(service.register('k', 'k', NaN, 5, 1)).toBeUndefined();
    expect(service.delete('k', NaN, 5)?.seq).toBe(0);
    expect(service.size).toBe(0);
  });

  it('a timeout per key reset per record (the heap made again from its live timestamps) pops in order', () => {
    const service = new TimerService('event');
    const pending = new Map<string, number>();
    let seq = 0;
    for (let i = 0; i < 20_000; i++) {
      const id = `k${(i * 7919) % 500}`;
      const old = pending.get(id);
      if (old !== undefined) expect(service.delete(id, '', old)?.timestamp).toBe(old);
      const at = 1_000_000 + ((i * 104_729) % 50_000) * 2 + (i % 2); // distinct per record, out of order
      expect(service.register(id, id, '', at, seq++)?.timestamp).toBe(at);
      pending.set(id, at);
    }
    expect(service.size).toBe(pending.size);
    const popped: number[] = [];
    for (let t = service.pop(Infinity); t !== undefined; t = service.pop(Infinity)) popped.push(t.timestamp);
    expect(popped).toStrictEqual([...pending.values()].sort((a, b) => a - b));
  });
});
