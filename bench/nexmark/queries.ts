import { pipe, type Observable, type OperatorFunction } from 'rxjs';
import {
  boundedOutOfOrderness,
  count,
  listState,
  max,
  partitionStream,
  sessionWindows,
  slidingWindows,
  tumblingWindows,
  TrackedSet,
  valueState,
  type Aggregator,
  type Key,
  type StreamElement,
} from '../../src/index.js';
import { aggregate, coGroup, coProcess, eventTime, filter, intervalJoin, keyBy, map, process, processWindow, window } from '../../operators/index.js';
import type { Auction, Bid, NexmarkEvent, Person } from './generator.js';

/**
 * The Nexmark queries written with tidewater's public API (bench/nexmark/README.md, "Queries"), each a function from
 * the stamped event stream (`eventTime((e) => e.dateTime, boundedOutOfOrderness(4000))`) to its result records.
 * Queries whose Flink SQL result is a changelog (updating aggregates, top-N, deduplication) emit
 * `{ kind: '+I' | '-U' | '+U' | '-D', row }`; the others emit rows.
 */

/** The stamped event stream every query reads. */
export type Events = Observable<StreamElement<NexmarkEvent, unknown>>;
/** A query: the stamped events in, its result records out. */
export type Query<R = unknown> = (events: Events) => Observable<StreamElement<R, unknown>>;

/** Flink's `RowKind`: insert, update before / after, delete. */
export type RowKind = '+I' | '-U' | '+U' | '-D';
/** One change of a changelog query's result table. */
export interface Change<R> {
  readonly kind: RowKind;
  readonly row: R;
}

/**
 * The keyed part of a bids-only query: its key and what follows its `keyBy`. `parallel(n, stage, { worker })` can run
 * it in worker threads (bench/nexmark/stageWorker.ts).
 */
export interface KeyedStage<V, K extends Key, R> {
  readonly keyOf: (b: Bid) => K;
  /** What of a bid the stage needs (what crosses to a worker thread: a number crosses in a typed-array column) */
  readonly project: (b: Bid) => V;
  readonly stage: OperatorFunction<StreamElement<V, K>, StreamElement<R, K>>;
}

/**
 * A keyed stage over the bids as a query: key, project, then the stage — on this thread, or as `run` runs it (e.g.
 * `(stage) => parallel(2, stage, { worker })`).
 */
export function keyedQuery<V, K extends Key, R>(
  s: KeyedStage<V, K, R>,
  run: (stage: KeyedStage<V, K, R>['stage']) => KeyedStage<V, K, R>['stage'] = (stage) => stage,
): Query<R> {
  return (events) => bidsOf(events).pipe(keyBy(s.keyOf), map(s.project), run(s.stage));
}

/** A query over the events as they come from a source: stamped with Flink's Nexmark watermark first (`dateTime − 4 s`). */
export function stamped<R>(query: Query<R>): OperatorFunction<NexmarkEvent | StreamElement<NexmarkEvent, undefined>, StreamElement<R, unknown>> {
  return (source) => query(source.pipe(eventTime((e: NexmarkEvent) => e.dateTime, boundedOutOfOrderness(4000))));
}

const whole = (b: Bid): Bid => b;

const isBid = (e: NexmarkEvent): e is Bid => e.type === 'bid';
const isAuction = (e: NexmarkEvent): e is Auction => e.type === 'auction';
const isPerson = (e: NexmarkEvent): e is Person => e.type === 'person';

/** The bids of the event stream. */
export const bidsOf = (events: Events): Observable<StreamElement<Bid, unknown>> => events.pipe(filter(isBid));

/**
 * Two streams of one subscription to `events`: the first kind's events and the second's (the third kind dropped).
 * `partitionStream` subscribes the source once both have subscribers, and gives both every watermark.
 */
function split<A extends NexmarkEvent, B extends NexmarkEvent>(
  events: Events,
  first: (e: NexmarkEvent) => e is A,
  second: (e: NexmarkEvent) => e is B,
): [Observable<StreamElement<A, unknown>>, Observable<StreamElement<B, unknown>>] {
  const [a, b] = partitionStream(
    events.pipe(filter((e) => first(e) || second(e))),
    2,
    (r) => (first(r.value) ? 0 : 1),
  );
  // the partitioner already sent each kind to its stream: the casts only tell the types
  return [a as Observable<StreamElement<A, unknown>>, b as Observable<StreamElement<B, unknown>>];
}

const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------------------------
// Stateless

/** q0 pass-through: the bids' columns. */
export const q0: Query<Q0Row> = (events) =>
  bidsOf(events).pipe(map((b) => ({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra })));
export interface Q0Row { auction: number; bidder: number; price: number; dateTime: number; extra: string }

/** q1 currency conversion: the price in euro, kept exact as thousandths (`price × 908`). */
export const q1: Query<Q1Row> = (events) =>
  bidsOf(events).pipe(map((b) => ({ auction: b.auction, bidder: b.bidder, priceMilli: b.price * 908, dateTime: b.dateTime, extra: b.extra })));
export interface Q1Row { auction: number; bidder: number; priceMilli: number; dateTime: number; extra: string }

/** q2 selection: bids on every 123rd auction. */
export const q2: Query<Q2Row> = (events) =>
  bidsOf(events).pipe(
    filter((b) => b.auction % 123 === 0),
    map((b) => ({ auction: b.auction, price: b.price })),
  );
export interface Q2Row { auction: number; price: number }

/** q14 calculation: bids priced in (1e9, 5e10) thousandths of euro, with the time of day and a character count. */
export const q14: Query<Q14Row> = (events) =>
  bidsOf(events).pipe(
    filter((b) => b.price * 908 > 1e9 && b.price * 908 < 5e10),
    map((b) => ({
      auction: b.auction,
      bidder: b.bidder,
      priceMilli: b.price * 908,
      bidTimeType: bidTimeType(b.dateTime),
      dateTime: b.dateTime,
      extra: b.extra,
      cCounts: countChar(b.extra, 99),
    })),
  );
export interface Q14Row { auction: number; bidder: number; priceMilli: number; bidTimeType: string; dateTime: number; extra: string; cCounts: number }

function bidTimeType(ts: number): string {
  const hour = Math.floor((ts % DAY_MS) / 3_600_000);
  return hour >= 8 && hour <= 18 ? 'dayTime' : hour <= 6 || hour >= 20 ? 'nightTime' : 'otherTime';
}

function countChar(s: string, code: number): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === code) n++;
  return n;
}

const CHANNEL_IDS: Readonly<Record<string, string>> = { apple: '0', google: '1', facebook: '2', baidu: '3' };
const CHANNEL_ID_IN_URL = /(&|^)channel_id=([^&]*)/;

/** q21 add channel id: the four hot channels by name, the others from their URL's `channel_id`; bids with neither dropped. */
export const q21: Query<Q21Row> = (events) =>
  bidsOf(events).pipe(
    map((b) => {
      const byName = CHANNEL_IDS[b.channel.toLowerCase()];
      const channelId = byName ?? CHANNEL_ID_IN_URL.exec(b.url)?.[2];
      return { auction: b.auction, bidder: b.bidder, price: b.price, channel: b.channel, channelId };
    }),
    filter((r): r is Q21Row => r.channelId !== undefined),
  );
export interface Q21Row { auction: number; bidder: number; price: number; channel: string; channelId: string }

/** q22 URL directories: the three path segments after the host (Flink's `SPLIT_INDEX(url, '/', 3 | 4 | 5)`). */
export const q22: Query<Q22Row> = (events) =>
  bidsOf(events).pipe(
    map((b) => ({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      channel: b.channel,
      dir1: splitIndex(b.url, '/', 3),
      dir2: splitIndex(b.url, '/', 4),
      dir3: splitIndex(b.url, '/', 5),
    })),
  );

/** Flink's `SPLIT_INDEX(s, separator, index)`: the `index`-th (0-based) part of `s` split at `separator`, or null. */
function splitIndex(s: string, separator: string, index: number): string | null {
  let start = 0;
  for (let i = 0; i < index; i++) {
    const at = s.indexOf(separator, start);
    if (at < 0) return null;
    start = at + separator.length;
  }
  const end = s.indexOf(separator, start);
  return end < 0 ? s.slice(start) : s.slice(start, end);
}
export interface Q22Row { auction: number; bidder: number; price: number; channel: string; dir1: string | null; dir2: string | null; dir3: string | null }

// ---------------------------------------------------------------------------------------------------------------
// Joins

const Q3_STATES = new Set(['OR', 'ID', 'CA']);

/**
 * q3 local item suggestion: category-10 auctions joined with their seller when the seller lives in OR, ID or CA.
 * An auction can come before its seller (ids lead by up to 10): it waits in state until the person arrives.
 */
export const q3: Query<Q3Row> = (events) => {
  const [persons, auctions] = split(events, isPerson, isAuction);
  const state = { seller: valueState<{ name: string; city: string; state: string }>(), waiting: listState<number>() };
  return auctions.pipe(
    filter((a) => a.category === 10),
    keyBy((a) => a.seller),
    coProcess<Auction, Person, number, Q3Row, typeof state>(
      persons.pipe(
        filter((p) => Q3_STATES.has(p.state)),
        keyBy((p) => p.id),
      ),
      {
        name: 'q3',
        state,
        onElement1(a, ctx) {
          const p = ctx.state.seller.get();
          if (p !== undefined) ctx.emit({ name: p.name, city: p.city, state: p.state, id: a.id });
          else ctx.state.waiting.add(a.id);
        },
        onElement2(p, ctx) {
          ctx.state.seller.set({ name: p.name, city: p.city, state: p.state });
          for (const id of ctx.state.waiting.get()) ctx.emit({ name: p.name, city: p.city, state: p.state, id });
          ctx.state.waiting.clear();
        },
      },
    ),
  );
};
export interface Q3Row { name: string; city: string; state: string; id: number }

interface OpenAuction {
  readonly dateTime: number;
  readonly expires: number;
}

/**
 * The bids of each auction within its lifetime (`A.dateTime ≤ B.dateTime ≤ A.expires`), folded by `fold`, the result
 * emitted when the watermark passes `expires` (then the auction's state is gone). Bids that come before their
 * auction wait until the auction arrives, or until the watermark passes them (then no auction can still arrive that
 * they belong to).
 */
function auctionBids<A extends OpenAuction, F, R>(
  name: string,
  events: Events,
  toAuction: (a: Auction) => A,
  fold: (acc: F | undefined, b: Bid) => F,
  result: (a: A, acc: F) => R,
): Observable<StreamElement<R, unknown>> {
  const [auctions, bids] = split(events, isAuction, isBid);
  const state = { auction: valueState<A>(), folded: valueState<F>(), early: listState<Bid>() };
  return auctions.pipe(
    keyBy((a) => a.id),
    coProcess<Auction, Bid, number, R, typeof state>(
      bids.pipe(keyBy((b) => b.auction)),
      {
        name,
        state,
        onElement1(auction, ctx) {
          const a = toAuction(auction);
          ctx.state.auction.set(a);
          ctx.timers.registerEventTime(a.expires);
          const early = ctx.state.early.get();
          if (early.length === 0) return;
          let acc = ctx.state.folded.get();
          for (const b of early) if (b.dateTime >= a.dateTime && b.dateTime <= a.expires) acc = fold(acc, b);
          if (acc !== undefined) ctx.state.folded.set(acc);
          ctx.state.early.clear();
        },
        onElement2(b, ctx) {
          const a = ctx.state.auction.get();
          if (a === undefined) {
            ctx.state.early.add(b);
            ctx.timers.registerEventTime(b.dateTime);
          } else if (b.dateTime >= a.dateTime && b.dateTime <= a.expires) {
            ctx.state.folded.set(fold(ctx.state.folded.get(), b));
          }
        },
        onTimer(ts, ctx) {
          const a = ctx.state.auction.get();
          if (a === undefined) {
            ctx.state.early.clear(); // bids of an auction that never came
            return;
          }
          if (ts !== a.expires) return; // an early bid's timer; the auction came meanwhile
          const acc = ctx.state.folded.get();
          if (acc !== undefined) ctx.emit(result(a, acc));
          ctx.state.auction.clear();
          ctx.state.folded.clear();
        },
      },
    ),
  );
}

/**
 * q4 average price per category: each auction's highest bid within its lifetime, then per category the integer
 * average of those prices, as a changelog (`-U` the old average, `+U` the new).
 */
export const q4: Query<Change<Q4Row>> = (events) => {
  const state = { sum: valueState<number>(), count: valueState<number>() };
  return auctionBids(
    'q4-final',
    events,
    (a) => ({ dateTime: a.dateTime, expires: a.expires, category: a.category }),
    (acc: number | undefined, b) => (acc === undefined || b.price > acc ? b.price : acc),
    (a, final) => ({ category: a.category, final }),
  ).pipe(
    keyBy((f) => f.category),
    process<{ category: number; final: number }, number, Change<Q4Row>, typeof state>({
      name: 'q4-average',
      state,
      onElement(f, ctx) {
        const sum = ctx.state.sum.get() ?? 0;
        const n = ctx.state.count.get() ?? 0;
        if (n > 0) ctx.emit({ kind: '-U', row: { category: f.category, avgPrice: Math.trunc(sum / n) } });
        ctx.state.sum.set(sum + f.final);
        ctx.state.count.set(n + 1);
        ctx.emit({ kind: n > 0 ? '+U' : '+I', row: { category: f.category, avgPrice: Math.trunc((sum + f.final) / (n + 1)) } });
      },
    }),
  );
};
export interface Q4Row { category: number; avgPrice: number }

/**
 * q9 winning bids: each auction with its highest bid within its lifetime (ties: the earlier bid, then the earlier
 * arrival), emitted when the auction expires.
 */
export const q9: Query<Q9Row> = (events) =>
  auctionBids(
    'q9',
    events,
    (a) => a,
    (best: Bid | undefined, b) => (best === undefined || b.price > best.price || (b.price === best.price && b.dateTime < best.dateTime) ? b : best),
    (a, b) => ({
      id: a.id,
      itemName: a.itemName,
      description: a.description,
      initialBid: a.initialBid,
      reserve: a.reserve,
      dateTime: a.dateTime,
      expires: a.expires,
      seller: a.seller,
      category: a.category,
      extra: a.extra,
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      bidDateTime: b.dateTime,
      bidExtra: b.extra,
    }),
  );
export interface Q9Row {
  id: number; itemName: string; description: string; initialBid: number; reserve: number; dateTime: number; expires: number;
  seller: number; category: number; extra: string; auction: number; bidder: number; price: number; bidDateTime: number; bidExtra: string;
}

/**
 * q20 expand bid with auction: bids on category-10 auctions, with the auction's columns. A bid can come before its
 * auction (ids lead by up to 10) and waits for it; an auction of another category is remembered as such, so its
 * bids are dropped without being kept.
 */
export const q20: Query<Q20Row> = (events) => {
  const [auctions, bids] = split(events, isAuction, isBid);
  const state = { auction: valueState<Auction | false>(), waiting: listState<Bid>() };
  const joined = (b: Bid, a: Auction): Q20Row => ({
    auction: b.auction, bidder: b.bidder, price: b.price, channel: b.channel, url: b.url, bidDateTime: b.dateTime, bidExtra: b.extra,
    itemName: a.itemName, description: a.description, initialBid: a.initialBid, reserve: a.reserve, dateTime: a.dateTime,
    expires: a.expires, seller: a.seller, category: a.category, extra: a.extra,
  });
  return bids.pipe(
    keyBy((b) => b.auction),
    coProcess<Bid, Auction, number, Q20Row, typeof state>(
      auctions.pipe(keyBy((a) => a.id)),
      {
        name: 'q20',
        state,
        onElement1(b, ctx) {
          const a = ctx.state.auction.get();
          if (a === undefined) ctx.state.waiting.add(b);
          else if (a !== false) ctx.emit(joined(b, a));
        },
        onElement2(a, ctx) {
          const wanted = a.category === 10;
          ctx.state.auction.set(wanted ? a : false);
          if (wanted) for (const b of ctx.state.waiting.get()) ctx.emit(joined(b, a));
          ctx.state.waiting.clear();
        },
      },
    ),
  );
};
export interface Q20Row {
  auction: number; bidder: number; price: number; channel: string; url: string; bidDateTime: number; bidExtra: string;
  itemName: string; description: string; initialBid: number; reserve: number; dateTime: number; expires: number;
  seller: number; category: number; extra: string;
}

/**
 * q7 highest bid: each 10-second window's highest price, joined back to the bids of that price from the window's
 * start to its end inclusive (`B.dateTime BETWEEN end − 10 s AND end`, so a bid at exactly `end` matches too).
 *
 * Only a bid at or above its window's maximum so far can be at the window's final maximum, and a bid at a window's
 * first millisecond can also match the previous window's: the others are dropped before the join (exact, and the join
 * then buffers a few bids per window instead of all of them).
 */
export const q7: Query<Q7Row> = (events) => {
  const state = { max: valueState<number>() };
  const candidates = bidsOf(events).pipe(
    keyBy((b) => b.dateTime - (b.dateTime % 10_000)),
    process<Bid, number, Bid, typeof state>({
      name: 'q7-candidates',
      state,
      onElement(b, ctx) {
        const max = ctx.state.max.get();
        if (max === undefined) ctx.timers.registerEventTime(ctx.key + 10_000); // the window's state goes at its end
        if (max === undefined || b.price > max) ctx.state.max.set(b.price);
        if (max === undefined || b.price >= max || b.dateTime === ctx.key) ctx.emit(b);
      },
      onTimer(_, ctx) {
        ctx.state.max.clear();
      },
    }),
  );
  const [forMax, forJoin] = partitionStream(candidates, 2, 'broadcast');
  const maxima = forMax.pipe(
    keyBy(() => 0),
    window(tumblingWindows(10_000)),
    aggregate(max((b: Bid) => b.price)),
    map((r) => ({ price: r.value, windowEnd: r.window.end })), // stamped windowEnd − 1
    keyBy((m) => m.price),
  );
  // bid at t joins the maximum stamped e − 1 when e − 10 000 ≤ t ≤ e, i.e. −1 ≤ (e − 1) − t ≤ 9 999
  return forJoin.pipe(
    keyBy((b) => b.price),
    intervalJoin(maxima, { lower: -1, upper: 9_999 }, (b: Bid) => ({ auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, extra: b.extra }), { name: 'q7' }),
  );
};
export interface Q7Row { auction: number; price: number; bidder: number; dateTime: number; extra: string }

/** q8 monitor new users: people who opened an auction in the 10-second window they registered in. */
export const q8: Query<Q8Row> = (events) => {
  const [persons, auctions] = split(events, isPerson, isAuction);
  return persons.pipe(
    keyBy((p) => p.id),
    coGroup(
      auctions.pipe(keyBy((a) => a.seller)),
      tumblingWindows(10_000),
      (people: readonly Person[], sold: readonly Auction[], ctx) =>
        people.length > 0 && sold.length > 0 ? distinctNames(people).map((name) => ({ id: ctx.key, name, starttime: ctx.window.start })) : undefined,
      { name: 'q8' },
    ),
  );
};
export interface Q8Row { id: number; name: string; starttime: number }

function distinctNames(people: readonly Person[]): string[] {
  return people.length === 1 ? [(people[0] as Person).name] : [...new Set(people.map((p) => p.name))];
}

// ---------------------------------------------------------------------------------------------------------------
// Windows

/** q5 hot items: per sliding window (10 s every 2 s) the auctions with the most bids, every tie included. */
export const q5: Query<Q5Row> = (events) =>
  bidsOf(events).pipe(
    keyBy((b) => b.auction),
    window(slidingWindows(10_000, 2_000)),
    aggregate(count()),
    // every count of one window is stamped window.end − 1: one 2-second window downstream holds exactly them
    keyBy((c) => c.window.start),
    window(tumblingWindows(2_000)),
    processWindow((counts) => {
      let most = 0;
      for (const c of counts) if (c.value > most) most = c.value;
      return counts.filter((c) => c.value === most).map((c) => ({ auction: c.key, num: c.value, windowStart: c.window.start }));
    }),
    map((r) => r.value),
  );
export interface Q5Row { auction: number; num: number; windowStart: number }

/** q11 user sessions: bids per bidder and session (gap 10 s), with the session's start and end (last bid + 10 s). */
export const q11Stage: KeyedStage<number, number, Q11Row> = {
  keyOf: (b) => b.bidder,
  project: (b) => b.bidder,
  stage: pipe(
    window<number, number>(sessionWindows(10_000)),
    aggregate(count()),
    map((r) => ({ bidder: r.key, bidCount: r.value, starttime: r.window.start, endtime: r.window.end })),
  ),
};
export const q11: Query<Q11Row> = keyedQuery(q11Stage);
export interface Q11Row { bidder: number; bidCount: number; starttime: number; endtime: number }

/** q12 processing-time windows: bids per bidder per 10 seconds of processing time (the scheduler's clock). */
export const q12Stage: KeyedStage<number, number, Q12Row> = {
  keyOf: (b) => b.bidder,
  project: (b) => b.bidder,
  stage: pipe(
    window<number, number>(tumblingWindows(10_000, { time: 'processing' })),
    aggregate(count()),
    map((r) => ({ bidder: r.key, bidCount: r.value, starttime: r.window.start, endtime: r.window.end })),
  ),
};
export const q12: Query<Q12Row> = keyedQuery(q12Stage);
export interface Q12Row { bidder: number; bidCount: number; starttime: number; endtime: number }

// ---------------------------------------------------------------------------------------------------------------
// Daily statistics (Flink's `GROUP BY …, DATE_FORMAT(dateTime, 'yyyy-MM-dd')`): one row per group and UTC day,
// emitted when the day closes (the final state of Flink's updating result)

/** The three price bands of q15–q17 */
const band = (price: number): 1 | 2 | 3 => (price < 10_000 ? 1 : price < 1_000_000 ? 2 : 3);

/**
 * The distinct bidders and auctions are kept in `TrackedSet`s: a checkpoint then writes what each gained since the last
 * one, without reading what it holds (as Flink keeps `COUNT(DISTINCT …)` in a `MapView`).
 */
interface BidStats {
  bids: number;
  bidsByBand: [number, number, number];
  bidders: TrackedSet<number>;
  biddersByBand: [TrackedSet<number>, TrackedSet<number>, TrackedSet<number>];
  auctions: TrackedSet<number>;
  auctionsByBand: [TrackedSet<number>, TrackedSet<number>, TrackedSet<number>];
  /** q16: the latest `HH:mm` */
  minute: string;
}

/** Counts, distinct bidders and distinct auctions, overall and per price band (q15, q16). */
const bidStats: Aggregator<Bid, BidStats, Q15Stats & { minute: string }> = {
  create: () => ({
    bids: 0,
    bidsByBand: [0, 0, 0],
    bidders: new TrackedSet(),
    biddersByBand: [new TrackedSet(), new TrackedSet(), new TrackedSet()],
    auctions: new TrackedSet(),
    auctionsByBand: [new TrackedSet(), new TrackedSet(), new TrackedSet()],
    minute: '',
  }),
  add(s, b) {
    const i = band(b.price) - 1;
    s.bids++;
    s.bidsByBand[i] = (s.bidsByBand[i] as number) + 1;
    s.bidders.add(b.bidder);
    s.biddersByBand[i]?.add(b.bidder);
    s.auctions.add(b.auction);
    s.auctionsByBand[i]?.add(b.auction);
    const minute = hhmm(b.dateTime);
    if (minute > s.minute) s.minute = minute;
    return s;
  },
  result: (s) => ({
    totalBids: s.bids,
    rank1Bids: s.bidsByBand[0],
    rank2Bids: s.bidsByBand[1],
    rank3Bids: s.bidsByBand[2],
    totalBidders: s.bidders.size,
    rank1Bidders: s.biddersByBand[0].size,
    rank2Bidders: s.biddersByBand[1].size,
    rank3Bidders: s.biddersByBand[2].size,
    totalAuctions: s.auctions.size,
    rank1Auctions: s.auctionsByBand[0].size,
    rank2Auctions: s.auctionsByBand[1].size,
    rank3Auctions: s.auctionsByBand[2].size,
    minute: s.minute,
  }),
};

function hhmm(ts: number): string {
  const m = Math.floor((ts % DAY_MS) / 60_000);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

function day(ts: number): string {
  return new Date(ts - (ts % DAY_MS)).toISOString().slice(0, 10);
}

export interface Q15Stats {
  totalBids: number; rank1Bids: number; rank2Bids: number; rank3Bids: number;
  totalBidders: number; rank1Bidders: number; rank2Bidders: number; rank3Bidders: number;
  totalAuctions: number; rank1Auctions: number; rank2Auctions: number; rank3Auctions: number;
}

/** q15 bidding statistics per day. */
export const q15: Query<Q15Row> = (events) =>
  bidsOf(events).pipe(
    keyBy(() => 0),
    window(tumblingWindows(DAY_MS)),
    aggregate(bidStats),
    map((r) => {
      const { minute: _, ...stats } = r.value;
      return { day: day(r.window.start), ...stats };
    }),
  );
export interface Q15Row extends Q15Stats { day: string }

/** q16 channel statistics per channel and day, with the latest minute. */
export const q16: Query<Q16Row> = (events) =>
  bidsOf(events).pipe(
    keyBy((b) => b.channel),
    window(tumblingWindows(DAY_MS)),
    aggregate(bidStats),
    map((r) => ({ channel: r.key, day: day(r.window.start), ...r.value })),
  );
export interface Q16Row extends Q15Stats { channel: string; day: string; minute: string }

interface AuctionStats {
  bids: number;
  rank1: number;
  rank2: number;
  rank3: number;
  min: number;
  max: number;
  sum: number;
}

/** q17 auction statistics per auction and day: counts per band, min, max, integer average and sum of prices. */
export const q17Stage: KeyedStage<number, number, Q17Row> = {
  keyOf: (b) => b.auction,
  project: (b) => b.price,
  stage: pipe(
    window<number, number>(tumblingWindows(DAY_MS)),
    aggregate<number, AuctionStats, AuctionStats, number>({
      create: () => ({ bids: 0, rank1: 0, rank2: 0, rank3: 0, min: Infinity, max: -Infinity, sum: 0 }),
      add(s, price) {
        s.bids++;
        const i = band(price);
        if (i === 1) s.rank1++;
        else if (i === 2) s.rank2++;
        else s.rank3++;
        if (price < s.min) s.min = price;
        if (price > s.max) s.max = price;
        s.sum += price;
        return s;
      },
      result: (s) => s,
      merge: (a, b) => ({ bids: a.bids + b.bids, rank1: a.rank1 + b.rank1, rank2: a.rank2 + b.rank2, rank3: a.rank3 + b.rank3, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max), sum: a.sum + b.sum }),
    }),
    map((r) => {
      const s = r.value;
      return {
        auction: r.key, day: day(r.window.start), totalBids: s.bids, rank1Bids: s.rank1, rank2Bids: s.rank2, rank3Bids: s.rank3,
        minPrice: s.min, maxPrice: s.max, avgPrice: Math.trunc(s.sum / s.bids), sumPrice: s.sum,
      };
    }),
  ),
};
export const q17: Query<Q17Row> = keyedQuery(q17Stage);
export interface Q17Row {
  auction: number; day: string; totalBids: number; rank1Bids: number; rank2Bids: number; rank3Bids: number;
  minPrice: number; maxPrice: number; avgPrice: number; sumPrice: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Ranking (changelogs)

/** q18 find last bid: per bidder and auction the latest bid (equal times: the later arrival), as a changelog. */
const q18State = { last: valueState<Bid>() };
export const q18Stage: KeyedStage<Bid, readonly number[], Change<Bid>> = {
  keyOf: (b) => [b.bidder, b.auction],
  project: whole,
  stage: process<Bid, readonly number[], Change<Bid>, typeof q18State>({
    name: 'q18',
    state: q18State,
    onElement(b, ctx) {
      const last = ctx.state.last.get();
      if (last === undefined) ctx.emit({ kind: '+I', row: b });
      else if (b.dateTime >= last.dateTime) {
        ctx.emit({ kind: '-U', row: last });
        ctx.emit({ kind: '+U', row: b });
      } else return;
      ctx.state.last.set(b);
    },
  }),
};
export const q18: Query<Change<Bid>> = keyedQuery(q18Stage);

/** q19 auction top-10 price: per auction its ten highest bids with their rank (ties: the earlier arrival ranks higher), as a changelog. */
const q19State = { top: valueState<Bid[]>() };
export const q19Stage: KeyedStage<Bid, number, Change<Q19Row>> = {
  keyOf: (b) => b.auction,
  project: whole,
  stage: process<Bid, number, Change<Q19Row>, typeof q19State>({
      name: 'q19',
      state: q19State,
      onElement(b, ctx) {
        const top = ctx.state.top.get() ?? [];
        // the new bid's rank: after every bid priced at least as high (earlier arrivals win ties)
        let rank = top.length;
        while (rank > 0 && (top[rank - 1] as Bid).price < b.price) rank--;
        if (rank >= 10) return;
        // rows from `rank` on move down one place; the tenth falls out
        for (let i = top.length - 1; i >= rank; i--) {
          const moved = top[i] as Bid;
          ctx.emit({ kind: '-U', row: ranked(moved, i + 1) });
          if (i + 1 < 10) ctx.emit({ kind: '+U', row: ranked(moved, i + 2) });
        }
        ctx.emit({ kind: '+I', row: ranked(b, rank + 1) });
        top.splice(rank, 0, b);
        if (top.length > 10) top.length = 10;
        ctx.state.top.set(top);
      },
    }),
};
export const q19: Query<Change<Q19Row>> = keyedQuery(q19Stage);
export interface Q19Row extends Bid { rankNumber: number }

/**
 * A bid with its rank. Written out field by field: V8 (Node 20) makes `{ ...bid, rankNumber }` — a spread followed by
 * a property — about 40× slower than a spread alone (≈ 3 µs per row), which made q19 run at a quarter of its speed.
 */
export function ranked(b: Bid, rankNumber: number): Q19Row {
  return {
    type: b.type, eventId: b.eventId, auction: b.auction, bidder: b.bidder, price: b.price, channel: b.channel, url: b.url,
    dateTime: b.dateTime, extra: b.extra, rankNumber,
  };
}

/** Every query by name. */
export const QUERIES = { q0, q1, q2, q3, q4, q5, q7, q8, q9, q11, q12, q14, q15, q16, q17, q18, q19, q20, q21, q22 } as const;
/** A query's name. */
export type QueryName = keyof typeof QUERIES;

/** The queries that are one keyed stage over the bids, by name (those `npm run bench -- nexmark` also runs in `parallel(2)`). */
export const KEYED_STAGES: Readonly<Record<string, KeyedStage<unknown, Key, unknown>>> = {
  q11: q11Stage as KeyedStage<unknown, Key, unknown>,
  q12: q12Stage as KeyedStage<unknown, Key, unknown>,
  q17: q17Stage as KeyedStage<unknown, Key, unknown>,
  q18: q18Stage as KeyedStage<unknown, Key, unknown>,
  q19: q19Stage as KeyedStage<unknown, Key, unknown>,
};

/** Names of the queries whose result is a changelog (`Change` records). */
export const CHANGELOG_QUERIES: ReadonlySet<QueryName> = new Set<QueryName>(['q4', 'q18', 'q19']);

