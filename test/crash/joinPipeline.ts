/**
 * The join job of the crash test: orders and payments from two NDJSON files, joined per order by an interval join
 * (a payment within 5 s after its order), with two side outputs — payments too late for the join (`late-payments`,
 * from `rightLateData`) and large payments (`large`, from the window function) — into three NDJSON files.
 *
 * Deterministic whatever the interleaving of the two sources (which differs from run to run): the joined pairs are
 * collected per 1 s of event time under one key and written sorted; every on-time element is above the watermark
 * (orders are out of order by less than the 300 ms bound, on-time payments are in order), so every pair is made and
 * no pair is late for the window; and only payments far behind their own stream (a minute) are late, beyond any skew
 * between the two sources' reads.
 */
import { prng } from '../../demo/clicks.js';
import { boundedOutOfOrderness, sideOutput, tumblingWindows, type Stream } from '../../src/index.js';
import { eventTime, intervalJoin, keyBy, processWindow, window } from '../../operators/index.js';

export interface Order {
  readonly id: string;
  readonly at: number;
  readonly item: string;
}

export interface Payment {
  readonly order: string;
  readonly at: number;
  readonly amount: number;
}

/** Payments that arrived after the join's watermark passed them. */
export const latePayments = sideOutput<Payment>('late-payments');
/** Joined payments above 900. */
export const large = sideOutput<string>('large');

/** `count` orders 10 ms apart (jittered within the 300 ms bound) and about one payment each, in file order. */
export function generateOrders(count: number, seed: number): { orders: Order[]; payments: Payment[] } {
  const rnd = prng(seed);
  const orders: Order[] = [];
  const payments: Payment[] = [];
  for (let i = 0; i < count; i++) {
    const at = 1_000 + i * 10 + Math.floor(rnd() * 200);
    orders.push({ id: `o${i}`, at, item: `i${Math.floor(rnd() * 50)}` });
    const r = rnd();
    // most paid within 0–4 s; some after 5 s (no join); one in 40 (after the first 1 000) a minute behind (late)
    if (r < 0.9 || (r >= 0.975 && i < 1_000)) payments.push({ order: `o${i}`, at: at + Math.floor(rnd() * 4_000), amount: Math.floor(rnd() * 1_000) });
    else if (r < 0.975) payments.push({ order: `o${i}`, at: at + 6_000 + Math.floor(rnd() * 1_000), amount: Math.floor(rnd() * 1_000) });
    else payments.push({ order: `o${i}`, at: at - 60_000, amount: Math.floor(rnd() * 1_000) });
  }
  // payments in the order they happen (ties by position), the late ones where they were made late
  const late = new Set(payments.filter((p, i) => p.at < (orders[i] as Order).at - 30_000));
  const onTime = payments.filter((p) => !late.has(p)).sort((a, b) => a.at - b.at);
  const inFile: Payment[] = [];
  let k = 0;
  for (const p of payments) {
    if (late.has(p)) inFile.push(p);
    else inFile.push(onTime[k++] as Payment);
  }
  return { orders, payments: inFile };
}

const bound = () => boundedOutOfOrderness(300, { interval: 0 });

/** The job's pipeline over its two named sources. */
export function joinPipeline({ orders, payments }: { readonly orders: Stream<Order, undefined>; readonly payments: Stream<Payment, undefined> }) {
  const payments$ = payments.pipe(eventTime((p: Payment) => p.at, bound()), keyBy((p) => p.order));
  return orders.pipe(
    eventTime((o: Order) => o.at, bound()),
    keyBy((o) => o.id),
    intervalJoin(payments$, { lower: 0, upper: 5_000 }, (o, p) => ({ order: o.id, item: o.item, orderedAt: o.at, paidAt: p.at, amount: p.amount }), {
      name: 'paid',
      rightLateData: latePayments,
    }),
    keyBy(() => 'all'),
    window(tumblingWindows(1_000), { name: 'second' }),
    processWindow((pairs, ctx) => {
      const lines = pairs.map((p) => `${p.paidAt} ${p.order} ${p.item} ${p.amount}`).sort();
      const small: string[] = [];
      for (const line of lines) {
        if (Number(line.slice(line.lastIndexOf(' ') + 1)) > 900) ctx.output(large, line);
        else small.push(line);
      }
      return { second: ctx.window.start, paid: small };
    }),
  );
}
