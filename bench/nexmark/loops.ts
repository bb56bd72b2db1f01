import type { Bid, NexmarkEvent } from './generator.js';
import type { Q11Row, Q5Row, Q7Row } from './queries.js';

/**
 * Hand-written loops computing q5, q7 and q11 over an array of in-order events, the baselines of
 * `npm run bench -- nexmark` (bench/nexmark/README.md, "Throughput"). Each emits one result object per result row
 * into `emit`, with the same rows as the query (the benchmark checks the counts), and fires windows as the watermark
 * `max timestamp − 4 001` passes them, as the queries do.
 */

const BOUND = 4000;

/** q5: per sliding window (10 s every 2 s) the auctions with the most bids. */
export function q5Loop(events: readonly NexmarkEvent[], emit: (row: Q5Row) => void): void {
  // window start → auction → count; windows are created in ascending start order, so a Map keeps them sorted
  const windows = new Map<number, Map<number, number>>();
  let watermark = -Infinity;
  const fire = (start: number, counts: Map<number, number>): void => {
    let most = 0;
    for (const n of counts.values()) if (n > most) most = n;
    for (const [auction, n] of counts) if (n === most) emit({ auction, num: n, windowStart: start });
  };
  for (const e of events) {
    if (e.type !== 'bid') continue;
    const t = e.dateTime;
    const last = t - (t % 2000);
    for (let start = last - 8000; start <= last; start += 2000) {
      let counts = windows.get(start);
      if (counts === undefined) windows.set(start, (counts = new Map()));
      counts.set(e.auction, (counts.get(e.auction) ?? 0) + 1);
    }
    if (t - BOUND - 1 > watermark) {
      watermark = t - BOUND - 1;
      for (const [start, counts] of windows) {
        if (start + 9999 > watermark) break;
        fire(start, counts);
        windows.delete(start);
      }
    }
  }
  for (const [start, counts] of windows) fire(start, counts);
}

interface MaxWindow {
  max: number;
  /** the window's bids at its maximum */
  atMax: Bid[];
  /** bids at exactly the window's start: they also match the previous window's maximum */
  atStart: Bid[];
}

/** q7: each 10-second window's highest bids, including bids at exactly the window's end. */
export function q7Loop(events: readonly NexmarkEvent[], emit: (row: Q7Row) => void): void {
  const windows = new Map<number, MaxWindow>();
  let watermark = -Infinity;
  const row = (b: Bid): Q7Row => ({ auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, extra: b.extra });
  const fire = (start: number, w: MaxWindow): void => {
    for (const b of w.atMax) emit(row(b));
    const next = windows.get(start + 10_000);
    if (next === undefined) return;
    for (const b of next.atStart) if (b.price === w.max) emit(row(b));
    next.atStart = [];
  };
  for (const e of events) {
    if (e.type !== 'bid') continue;
    const t = e.dateTime;
    const start = t - (t % 10_000);
    let w = windows.get(start);
    if (w === undefined) windows.set(start, (w = { max: -Infinity, atMax: [], atStart: [] }));
    if (e.price > w.max) {
      w.max = e.price;
      w.atMax = [e];
    } else if (e.price === w.max) w.atMax.push(e);
    if (t === start) w.atStart.push(e);
    if (t - BOUND - 1 > watermark) {
      watermark = t - BOUND - 1;
      // a window closes once every bid up to its end (inclusive) has come
      for (const [s, win] of windows) {
        if (s + 10_000 > watermark) break;
        fire(s, win);
        windows.delete(s);
      }
    }
  }
  for (const [s, win] of windows) fire(s, win);
}

interface Session {
  readonly bidder: number;
  readonly start: number;
  /** last bid + gap */
  end: number;
  count: number;
  open: boolean;
}

/**
 * q11: bids per bidder and session (gap 10 s, touching sessions merge), fired as the watermark passes a session's
 * end (the state stays bounded, as the query's): per bidder its open session, and a queue of (end, session) in end
 * order — in-order data, so ends never decrease — whose stale entries (the session grew since) are skipped.
 */
export function q11Loop(events: readonly NexmarkEvent[], emit: (row: Q11Row) => void): void {
  const GAP = 10_000;
  const sessions = new Map<number, Session>();
  let dueEnds: number[] = [];
  let dueSessions: Session[] = [];
  let head = 0;
  let watermark = -Infinity;
  const fire = (s: Session): void => {
    s.open = false;
    if (sessions.get(s.bidder) === s) sessions.delete(s.bidder);
    emit({ bidder: s.bidder, bidCount: s.count, starttime: s.start, endtime: s.end });
  };
  for (const e of events) {
    if (e.type !== 'bid') continue;
    const t = e.dateTime;
    const end = t + GAP;
    const s = sessions.get(e.bidder);
    if (s !== undefined && t <= s.end) {
      s.count++;
      if (end > s.end) {
        s.end = end;
        dueEnds.push(end);
        dueSessions.push(s);
      }
    } else {
      const fresh: Session = { bidder: e.bidder, start: t, end, count: 1, open: true };
      sessions.set(e.bidder, fresh);
      dueEnds.push(end);
      dueSessions.push(fresh);
    }
    if (t - BOUND - 1 > watermark) {
      watermark = t - BOUND - 1;
      for (; head < dueEnds.length && (dueEnds[head] as number) - 1 <= watermark; head++) {
        const due = dueSessions[head] as Session;
        if (due.open && due.end === dueEnds[head]) fire(due);
      }
      if (head >= 4096 && head * 2 >= dueEnds.length) {
        dueEnds = dueEnds.slice(head);
        dueSessions = dueSessions.slice(head);
        head = 0;
      }
    }
  }
  for (; head < dueEnds.length; head++) {
    const due = dueSessions[head] as Session;
    if (due.open && due.end === dueEnds[head]) fire(due);
  }
}

/** The loops by query name. */
export const LOOPS: Partial<Record<string, (events: readonly NexmarkEvent[], emit: (row: unknown) => void) => void>> = {
  q5: q5Loop as (events: readonly NexmarkEvent[], emit: (row: unknown) => void) => void,
  q7: q7Loop as (events: readonly NexmarkEvent[], emit: (row: unknown) => void) => void,
  q11: q11Loop as (events: readonly NexmarkEvent[], emit: (row: unknown) => void) => void,
};
