import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, toArray, type OperatorFunction } from 'rxjs';
import { fromIterable, runJob, toArray as toArraySink, type StreamElement } from '../../src/index.js';
import { values } from '../../operators/index.js';
import type { Auction, Bid, NexmarkEvent, Person } from './generator.js';
import { ReplayClock, replay } from './replayClock.js';
import { CHANGELOG_QUERIES, QUERIES, stamped, type Change, type Query, type QueryName } from './queries.js';

/**
 * Exact checks of the Nexmark queries (bench/nexmark/README.md, "Checks"): each query's final result — the multiset of
 * its rows, or for a changelog the materialised final table — against DuckDB running the query's SQL on the same
 * events. Rows are compared as canonical lines (columns joined by a tab, numbers in decimal), sorted.
 */

/** q15's and q16's twelve measures: bids, distinct bidders, distinct auctions — overall and per price band. */
const BID_STATS_SQL = ['count(*)', 'count(DISTINCT bidder)', 'count(DISTINCT auction)']
  .flatMap((m) => [m, ...['price < 10000', 'price >= 10000 AND price < 1000000', 'price >= 1000000'].map((band) => `${m} FILTER (WHERE ${band})`)])
  .join(', ');

/** Each query's SQL over the tables `person`, `auction`, `bid` (timestamps as epoch-ms BIGINT), and its columns. */
export const CHECKS: Record<QueryName, { readonly sql: string; readonly columns: (row: never) => readonly unknown[] }> = {
  q0: {
    sql: 'SELECT auction, bidder, price, date_time, extra FROM bid',
    columns: (r: { auction: number; bidder: number; price: number; dateTime: number; extra: string }) => [r.auction, r.bidder, r.price, r.dateTime, r.extra],
  },
  q1: {
    sql: 'SELECT auction, bidder, price * 908, date_time, extra FROM bid',
    columns: (r: { auction: number; bidder: number; priceMilli: number; dateTime: number; extra: string }) => [r.auction, r.bidder, r.priceMilli, r.dateTime, r.extra],
  },
  q2: {
    sql: 'SELECT auction, price FROM bid WHERE auction % 123 = 0',
    columns: (r: { auction: number; price: number }) => [r.auction, r.price],
  },
  q3: {
    sql: `SELECT p.name, p.city, p.state, a.id FROM auction a JOIN person p ON a.seller = p.id
          WHERE a.category = 10 AND p.state IN ('OR', 'ID', 'CA')`,
    columns: (r: { name: string; city: string; state: string; id: number }) => [r.name, r.city, r.state, r.id],
  },
  q4: {
    sql: `SELECT category, sum(final) // count(*) FROM (
            SELECT a.id, a.category, max(b.price) AS final FROM auction a JOIN bid b
              ON a.id = b.auction AND b.date_time BETWEEN a.date_time AND a.expires GROUP BY a.id, a.category)
          GROUP BY category`,
    columns: (r: { category: number; avgPrice: number }) => [r.category, r.avgPrice],
  },
  q5: {
    sql: `WITH w AS (SELECT b.auction, (b.date_time - b.date_time % 2000) - k * 2000 AS ws FROM bid b, range(0, 5) r(k)),
               c AS (SELECT auction, ws, count(*) AS num FROM w GROUP BY auction, ws),
               m AS (SELECT ws, max(num) AS maxn FROM c GROUP BY ws)
          SELECT c.auction, c.num, c.ws FROM c JOIN m USING (ws) WHERE c.num >= m.maxn`,
    columns: (r: { auction: number; num: number; windowStart: number }) => [r.auction, r.num, r.windowStart],
  },
  q7: {
    sql: `WITH w AS (SELECT date_time - date_time % 10000 + 10000 AS we, max(price) AS maxprice FROM bid GROUP BY 1)
          SELECT b.auction, b.price, b.bidder, b.date_time, b.extra FROM bid b JOIN w ON b.price = w.maxprice
          WHERE b.date_time BETWEEN w.we - 10000 AND w.we`,
    columns: (r: { auction: number; price: number; bidder: number; dateTime: number; extra: string }) => [r.auction, r.price, r.bidder, r.dateTime, r.extra],
  },
  q8: {
    sql: `WITH p AS (SELECT DISTINCT id, name, date_time - date_time % 10000 AS ws FROM person),
               a AS (SELECT DISTINCT seller, date_time - date_time % 10000 AS ws FROM auction)
          SELECT p.id, p.name, p.ws FROM p JOIN a ON p.id = a.seller AND p.ws = a.ws`,
    columns: (r: { id: number; name: string; starttime: number }) => [r.id, r.name, r.starttime],
  },
  q9: {
    sql: `SELECT id, item_name, description, initial_bid, reserve, a_time, expires, seller, category, a_extra, auction, bidder, price, date_time, extra FROM (
            SELECT a.id, a.item_name, a.description, a.initial_bid, a.reserve, a.date_time AS a_time, a.expires, a.seller, a.category, a.extra AS a_extra,
                   b.auction, b.bidder, b.price, b.date_time, b.extra,
                   row_number() OVER (PARTITION BY a.id ORDER BY b.price DESC, b.date_time, b.event_id) AS rn
            FROM auction a JOIN bid b ON a.id = b.auction AND b.date_time BETWEEN a.date_time AND a.expires)
          WHERE rn = 1`,
    columns: (r: {
      id: number; itemName: string; description: string; initialBid: number; reserve: number; dateTime: number; expires: number; seller: number;
      category: number; extra: string; auction: number; bidder: number; price: number; bidDateTime: number; bidExtra: string;
    }) => [r.id, r.itemName, r.description, r.initialBid, r.reserve, r.dateTime, r.expires, r.seller, r.category, r.extra, r.auction, r.bidder, r.price, r.bidDateTime, r.bidExtra],
  },
  q11: {
    sql: `WITH o AS (SELECT bidder, date_time, event_id,
                       CASE WHEN date_time - lag(date_time) OVER (PARTITION BY bidder ORDER BY date_time, event_id) <= 10000 THEN 0 ELSE 1 END AS brk
                     FROM bid),
               s AS (SELECT bidder, date_time,
                       sum(brk) OVER (PARTITION BY bidder ORDER BY date_time, event_id ROWS UNBOUNDED PRECEDING) AS sid FROM o)
          SELECT bidder, count(*), min(date_time), max(date_time) + 10000 FROM s GROUP BY bidder, sid`,
    columns: (r: { bidder: number; bidCount: number; starttime: number; endtime: number }) => [r.bidder, r.bidCount, r.starttime, r.endtime],
  },
  // processing time replayed at the events' own pace (replayClock.ts): the windows of processing time are those of the
  // events' times
  q12: {
    sql: `SELECT bidder, count(*), date_time - date_time % 10000, date_time - date_time % 10000 + 10000 FROM bid GROUP BY bidder, 3`,
    columns: (r: { bidder: number; bidCount: number; starttime: number; endtime: number }) => [r.bidder, r.bidCount, r.starttime, r.endtime],
  },
  q14: {
    sql: `SELECT auction, bidder, price * 908,
                 CASE WHEN hr BETWEEN 8 AND 18 THEN 'dayTime' WHEN hr <= 6 OR hr >= 20 THEN 'nightTime' ELSE 'otherTime' END,
                 date_time, extra, length(extra) - length(replace(extra, 'c', ''))
          FROM (SELECT *, (date_time % 86400000) // 3600000 AS hr FROM bid)
          WHERE price * 908 > 1000000000 AND price * 908 < 50000000000`,
    columns: (r: { auction: number; bidder: number; priceMilli: number; bidTimeType: string; dateTime: number; extra: string; cCounts: number }) => [
      r.auction, r.bidder, r.priceMilli, r.bidTimeType, r.dateTime, r.extra, r.cCounts,
    ],
  },
  q15: {
    sql: `SELECT strftime(epoch_ms(date_time), '%Y-%m-%d') AS day,
                 ${BID_STATS_SQL}
          FROM bid GROUP BY day`,
    columns: (r: StatsRow & { day: string }) => [r.day, ...statsColumns(r)],
  },
  q16: {
    sql: `SELECT channel, strftime(epoch_ms(date_time), '%Y-%m-%d') AS day, max(strftime(epoch_ms(date_time), '%H:%M')),
                 ${BID_STATS_SQL}
          FROM bid GROUP BY channel, day`,
    columns: (r: StatsRow & { channel: string; day: string; minute: string }) => [r.channel, r.day, r.minute, ...statsColumns(r)],
  },
  q17: {
    sql: `SELECT auction, strftime(epoch_ms(date_time), '%Y-%m-%d') AS day,
                 count(*), count(*) FILTER (WHERE price < 10000), count(*) FILTER (WHERE price >= 10000 AND price < 1000000), count(*) FILTER (WHERE price >= 1000000),
                 min(price), max(price), sum(price) // count(*), sum(price)
          FROM bid GROUP BY auction, day`,
    columns: (r: {
      auction: number; day: string; totalBids: number; rank1Bids: number; rank2Bids: number; rank3Bids: number; minPrice: number; maxPrice: number; avgPrice: number; sumPrice: number;
    }) => [r.auction, r.day, r.totalBids, r.rank1Bids, r.rank2Bids, r.rank3Bids, r.minPrice, r.maxPrice, r.avgPrice, r.sumPrice],
  },
  q18: {
    sql: `SELECT event_id, auction, bidder, price, channel, date_time FROM (
            SELECT *, row_number() OVER (PARTITION BY bidder, auction ORDER BY date_time DESC, event_id DESC) AS rn FROM bid)
          WHERE rn = 1`,
    columns: (r: Bid) => [r.eventId, r.auction, r.bidder, r.price, r.channel, r.dateTime],
  },
  q19: {
    sql: `SELECT event_id, auction, bidder, price, date_time, rank_number FROM (
            SELECT *, row_number() OVER (PARTITION BY auction ORDER BY price DESC, event_id) AS rank_number FROM bid)
          WHERE rank_number <= 10`,
    columns: (r: Bid & { rankNumber: number }) => [r.eventId, r.auction, r.bidder, r.price, r.dateTime, r.rankNumber],
  },
  q20: {
    sql: `SELECT b.auction, b.bidder, b.price, b.channel, b.url, b.date_time, b.extra,
                 a.item_name, a.description, a.initial_bid, a.reserve, a.date_time, a.expires, a.seller, a.category, a.extra
          FROM bid b JOIN auction a ON b.auction = a.id WHERE a.category = 10`,
    columns: (r: {
      auction: number; bidder: number; price: number; channel: string; url: string; bidDateTime: number; bidExtra: string; itemName: string; description: string;
      initialBid: number; reserve: number; dateTime: number; expires: number; seller: number; category: number; extra: string;
    }) => [r.auction, r.bidder, r.price, r.channel, r.url, r.bidDateTime, r.bidExtra, r.itemName, r.description, r.initialBid, r.reserve, r.dateTime, r.expires, r.seller, r.category, r.extra],
  },
  q21: {
    sql: `SELECT auction, bidder, price, channel, channel_id FROM (
            SELECT *, CASE lower(channel) WHEN 'apple' THEN '0' WHEN 'google' THEN '1' WHEN 'facebook' THEN '2' WHEN 'baidu' THEN '3'
                        ELSE nullif(regexp_extract(url, '(&|^)channel_id=([^&]*)', 2), '') END AS channel_id FROM bid)
          WHERE channel_id IS NOT NULL`,
    columns: (r: { auction: number; bidder: number; price: number; channel: string; channelId: string }) => [r.auction, r.bidder, r.price, r.channel, r.channelId],
  },
  q22: {
    sql: `SELECT auction, bidder, price, channel, split_part(url, '/', 4), split_part(url, '/', 5), split_part(url, '/', 6) FROM bid`,
    columns: (r: { auction: number; bidder: number; price: number; channel: string; dir1: string | null; dir2: string | null; dir3: string | null }) => [
      r.auction, r.bidder, r.price, r.channel, r.dir1, r.dir2, r.dir3,
    ],
  },
};

interface StatsRow {
  totalBids: number; rank1Bids: number; rank2Bids: number; rank3Bids: number;
  totalBidders: number; rank1Bidders: number; rank2Bidders: number; rank3Bidders: number;
  totalAuctions: number; rank1Auctions: number; rank2Auctions: number; rank3Auctions: number;
}

function statsColumns(r: StatsRow): number[] {
  return [
    r.totalBids, r.rank1Bids, r.rank2Bids, r.rank3Bids, r.totalBidders, r.rank1Bidders, r.rank2Bidders, r.rank3Bidders,
    r.totalAuctions, r.rank1Auctions, r.rank2Auctions, r.rank3Auctions,
  ];
}

/** A value as it appears in a canonical line: integers in decimal (numbers and bigints alike), strings as they are. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isInteger(v) ? v.toFixed(0) : String(v);
  return String(v);
}

const line = (cols: readonly unknown[]): string => cols.map(cell).join('\t');

/** The final table of a changelog: `+I`/`+U` add a row, `-U`/`-D` take one away (an absent row is an error). */
export function materialise<R>(changes: readonly Change<R>[], key: (row: R) => string): string[] {
  const table = new Map<string, number>();
  for (const c of changes) {
    const k = key(c.row);
    const n = table.get(k) ?? 0;
    if (c.kind === '+I' || c.kind === '+U') table.set(k, n + 1);
    else if (n === 0) throw new Error(`changelog retracts a row that is not in the table: ${k}`);
    else if (n === 1) table.delete(k);
    else table.set(k, n - 1);
  }
  const rows: string[] = [];
  for (const [k, n] of table) for (let i = 0; i < n; i++) rows.push(k);
  return rows;
}

/** The canonical lines of a query's result when run by tidewater on `events`. */
export async function tidewaterLines(name: QueryName, events: readonly NexmarkEvent[]): Promise<string[]> {
  const query = QUERIES[name] as Query;
  const columns = CHECKS[name].columns as (row: unknown) => readonly unknown[];
  const pipeline = stamped(query);
  const rows = name === 'q12' ? await replayed(pipeline, events) : await lastValueFrom(from(events).pipe(pipeline, values(), toArray()));
  if (CHANGELOG_QUERIES.has(name)) return materialise(rows as Change<unknown>[], (row) => line(columns(row)));
  return rows.map((r) => line(columns(r)));
}

/**
 * The results of `pipeline` in a job whose processing time is the events' own time (a {@link ReplayClock}), moved
 * 20 s past the last event at the end so the last processing-time windows close. One value per read (`batchSize: 1`):
 * the job reads a batch before pushing it, and every record must meet the clock at its own time.
 */
async function replayed(pipeline: OperatorFunction<StreamElement<NexmarkEvent, undefined>, StreamElement<unknown, unknown>>, events: readonly NexmarkEvent[]): Promise<unknown[]> {
  const clock = new ReplayClock(events[0]?.dateTime ?? 0);
  const sink = toArraySink<unknown>();
  await runJob({ name: 'nexmark-replay', scheduler: clock, batchSize: 1, source: fromIterable(() => replay(events, (e) => e.dateTime, clock, 20_000)), pipeline, sink }).done;
  return [...sink.values];
}

/** The events as three NDJSON files in a temporary directory, for DuckDB's `read_json`. */
function writeTables(events: readonly NexmarkEvent[]): { dir: string; person: string; auction: string; bid: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nexmark-'));
  const lines: Record<NexmarkEvent['type'], string[]> = { person: [], auction: [], bid: [] };
  for (const e of events) {
    if (e.type === 'person') {
      const p: Person = e;
      lines.person.push(JSON.stringify([p.eventId, p.id, p.name, p.emailAddress, p.creditCard, p.city, p.state, p.dateTime, p.extra]));
    } else if (e.type === 'auction') {
      const a: Auction = e;
      lines.auction.push(JSON.stringify([a.eventId, a.id, a.itemName, a.description, a.initialBid, a.reserve, a.dateTime, a.expires, a.seller, a.category, a.extra]));
    } else {
      const b: Bid = e;
      lines.bid.push(JSON.stringify([b.eventId, b.auction, b.bidder, b.price, b.channel, b.url, b.dateTime, b.extra]));
    }
  }
  const files = { dir, person: join(dir, 'person.ndjson'), auction: join(dir, 'auction.ndjson'), bid: join(dir, 'bid.ndjson') };
  for (const t of ['person', 'auction', 'bid'] as const) writeFileSync(files[t], lines[t].join('\n') + '\n');
  return files;
}

const TABLES = {
  person: ['event_id BIGINT', 'id BIGINT', 'name VARCHAR', 'email VARCHAR', 'credit_card VARCHAR', 'city VARCHAR', 'state VARCHAR', 'date_time BIGINT', 'extra VARCHAR'],
  auction: ['event_id BIGINT', 'id BIGINT', 'item_name VARCHAR', 'description VARCHAR', 'initial_bid BIGINT', 'reserve BIGINT', 'date_time BIGINT', 'expires BIGINT', 'seller BIGINT', 'category BIGINT', 'extra VARCHAR'],
  bid: ['event_id BIGINT', 'auction BIGINT', 'bidder BIGINT', 'price BIGINT', 'channel VARCHAR', 'url VARCHAR', 'date_time BIGINT', 'extra VARCHAR'],
} as const;

/** DuckDB with the three tables loaded from `events`; `lines(name)` runs a query's SQL. */
export async function oracle(events: readonly NexmarkEvent[]): Promise<{ lines(name: QueryName): Promise<string[]>; close(): void }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const files = writeTables(events);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  for (const [table, columns] of Object.entries(TABLES)) {
    const path = files[table as keyof typeof TABLES];
    // each line is a JSON array: read it as one JSON value and take its items by position
    const select = columns.map((c, i) => {
      const [col, type] = c.split(' ') as [string, string];
      return type === 'VARCHAR' ? `CAST(j->>${i} AS VARCHAR) AS ${col}` : `CAST(j->>${i} AS ${type}) AS ${col}`;
    });
    await connection.run(`CREATE TABLE ${table} AS SELECT ${select.join(', ')} FROM read_json('${path}', format = 'newline_delimited', records = false, columns = {j: 'JSON'})`);
  }
  rmSync(files.dir, { recursive: true, force: true });
  return {
    async lines(name) {
      const reader = await connection.runAndReadAll(CHECKS[name].sql);
      return reader.getRows().map((row) => line(row as unknown[]));
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** The outcome of one query's check. */
export interface CheckOutcome {
  readonly query: QueryName;
  readonly rows: number;
  readonly ok: boolean;
  /** up to 5 lines only tidewater produced, and up to 5 only DuckDB did */
  readonly onlyTidewater: readonly string[];
  readonly onlyOracle: readonly string[];
}

/** Compares two multisets of lines. */
export function compareLines(query: QueryName, mine: string[], theirs: string[]): CheckOutcome {
  mine.sort();
  theirs.sort();
  const onlyTidewater: string[] = [];
  const onlyOracle: string[] = [];
  let i = 0;
  let j = 0;
  while (i < mine.length || j < theirs.length) {
    const a = mine[i];
    const b = theirs[j];
    if (a !== undefined && b !== undefined && a === b) {
      i++;
      j++;
    } else if (b === undefined || (a !== undefined && a < b)) {
      if (onlyTidewater.length < 5) onlyTidewater.push(a as string);
      i++;
      if (onlyTidewater.length >= 5 && onlyOracle.length >= 5) break;
    } else {
      if (onlyOracle.length < 5) onlyOracle.push(b);
      j++;
      if (onlyTidewater.length >= 5 && onlyOracle.length >= 5) break;
    }
  }
  return { query, rows: theirs.length, ok: onlyTidewater.length === 0 && onlyOracle.length === 0, onlyTidewater, onlyOracle };
}
