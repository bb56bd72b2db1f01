// Joins in checkpointed jobs: two named sources joined by intervalJoin / windowJoin / coGroup, stopped with a
// savepoint at every cut (each pair of source positions), restored (also at another parallelism), give the output of
// an uninterrupted run (docs/SEMANTICS.md §8, §10.1).
import { describe, expect, it } from 'vitest';
import { boundedOutOfOrderness, fromArray, memoryStore, runJob, toArray, tumblingWindows, type Stream } from '../src/index.js';
import { coGroup, eventTime, intervalJoin, keyBy, windowJoin } from '../operators/index.js';
import { gated } from './support/gated.js';

interface Order {
  readonly id: string;
  readonly at: number;
}
interface Payment {
  readonly order: string;
  readonly at: number;
  readonly amount: number;
}
type Sources = { readonly orders: Stream<Order, undefined>; readonly payments: Stream<Payment, undefined> };

const stamp = <T>(of: (v: T) => number) => eventTime(of, boundedOutOfOrderness(300, { interval: 0 }));
const orders$ = (s: Stream<Order, undefined>) => s.pipe(stamp((o: Order) => o.at), keyBy((o) => o.id));
const payments$ = (s: Stream<Payment, undefined>) => s.pipe(stamp((p: Payment) => p.at), keyBy((p) => p.order));

const pipelines = {
  intervalJoin: ({ orders, payments }: Sources) =>
    orders$(orders).pipe(intervalJoin(payments$(payments), { lower: -200, upper: 400 }, (o, p) => `${o.id}@${o.at} ${p.amount}@${p.at}`, { name: 'j' })),
  windowJoin: ({ orders, payments }: Sources) =>
    orders$(orders).pipe(windowJoin(payments$(payments), tumblingWindows(1_000), (o, p, { window }) => `${o.id}@${o.at} ${p.amount}@${p.at} [${window.start}]`, { name: 'j' })),
  coGroup: ({ orders, payments }: Sources) =>
    orders$(orders).pipe(
      coGroup(payments$(payments), tumblingWindows(1_000), (os, ps, { key, window }) => `${key} [${window.start}] ${os.length} orders ${ps.map((p) => p.amount).join('+')}`, { name: 'j' }),
    ),
};

// out of order within 300 ms; ids repeat so that keys meet across windows
const orders: Order[] = Array.from({ length: 18 }, (_, i) => ({ id: `o${i % 5}`, at: i * 170 + ((i * 7) % 3) * 90 }));
const payments: Payment[] = Array.from({ length: 15 }, (_, i) => ({ order: `o${(i * 2) % 5}`, at: i * 200 + ((i * 5) % 4) * 70, amount: i + 1 }));

describe('joins in checkpointed jobs', () => {
  for (const [kind, pipeline] of Object.entries(pipelines)) {
    it(`${kind}: a savepoint at every cut, restored (parallelism 1 → 1 and 2 → 3), gives the uninterrupted output`, async () => {
      const reference = toArray<string>();
      await runJob({ name: 'ref', sources: { orders: fromArray(orders), payments: fromArray(payments) }, pipeline, sink: reference }).done;
      const expected = [...reference.values].sort();
      expect(expected.length).toBeGreaterThan(5);
      for (let a = 0; a <= orders.length; a += 3) {
        for (let b = 0; b <= payments.length; b += 5) {
          const checkpoint = { intervalMs: 1e9, store: memoryStore() };
          const out = toArray<string>();
          const o = gated(orders, a);
          const p = gated(payments, b);
          const [before, after] = (a + b) % 2 === 0 ? [1, 1] : [2, 3];
          const job1 = runJob({ name: 'cut', sources: { orders: o.source, payments: p.source }, pipeline, sink: out, checkpoint, parallelism: before });
          await Promise.all([o.reached, p.reached]);
          await job1.stop({ savepoint: true });
          const s2 = await runJob({ name: 'cut', sources: { orders: o.source, payments: p.source }, pipeline, sink: out, checkpoint, parallelism: after }).done;
          expect(s2.restoredFrom, `cut ${a}/${b}`).toBe(1);
          expect([...out.values].sort(), `cut ${a}/${b} (parallelism ${before} → ${after})`).toStrictEqual(expected);
        }
      }
    });
  }
});

