// A key's pending timers looked up per timestamp (src/timers/queue.ts `timersOf`, which incremental snapshots use for
// the few keys that changed among many timers) equal those a scan of every timer gives, in the same order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerService, type Timer } from '../src/timers/queue.js';

type Op = readonly ['register', string, string | number, number] | readonly ['delete', string, string | number, number] | readonly ['pop', number];

const show = (ts: readonly Timer[]): string[] => ts.map((t) => `${t.id}/${String(t.ns)}@${t.timestamp}#${t.seq}`);

describe('TimerService.timersOf', () => {
  it("gives a key's timers as a scan of all() does: by timestamp bucket, then registration (property: registers, deletes, pops)", () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const ns = fc.constantFrom<string | number>('', 1, 2);
    const ts = fc.integer({ min: 0, max: 6 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(fc.constant('register' as const), key, ns, ts) },
      { weight: 2, arbitrary: fc.tuple(fc.constant('delete' as const), key, ns, ts) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('pop' as const), ts) },
    );
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
