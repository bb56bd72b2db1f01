import { Observable } from 'rxjs';
import { JavaRandom } from './javaRandom.js';

/**
 * The Nexmark generator, "Beam-exact" (bench/nexmark/README.md, "Generator"): event `n` is made from
 * `new java.util.Random(n)` with Beam's draw order, so the same `(events, rate)` give the same events, field by field,
 * as Beam's `Generator` with one event generator. The first 2 000 events at 1 000 and 10 000 events/s are checked
 * against reference files in `test/nexmark.test.ts`.
 *
 * Bids also carry Flink's `channel` and `url` (used by q16, q21, q22), drawn after every Beam field from the same
 * random numbers so the Beam fields stay identical.
 */

/** A person registering. */
export interface Person {
  readonly type: 'person';
  readonly eventId: number;
  readonly id: number;
  readonly name: string;
  readonly emailAddress: string;
  readonly creditCard: string;
  readonly city: string;
  readonly state: string;
  readonly dateTime: number;
  readonly extra: string;
}

/** An auction opening. */
export interface Auction {
  readonly type: 'auction';
  readonly eventId: number;
  readonly id: number;
  readonly itemName: string;
  readonly description: string;
  readonly initialBid: number;
  readonly reserve: number;
  readonly dateTime: number;
  readonly expires: number;
  readonly seller: number;
  readonly category: number;
  readonly extra: string;
}

/** A bid on an auction. */
export interface Bid {
  readonly type: 'bid';
  readonly eventId: number;
  readonly auction: number;
  readonly bidder: number;
  readonly price: number;
  readonly channel: string;
  readonly url: string;
  readonly dateTime: number;
  readonly extra: string;
}

/** One Nexmark event. */
export type NexmarkEvent = Person | Auction | Bid;

/** What to generate. */
export interface GeneratorOptions {
  /** number of events */
  readonly events: number;
  /** events per second of event time (default 10 000) */
  readonly rate?: number;
  /** id of the first event (default 0); event `i` is made from `new Random(firstEventId + i)` */
  readonly firstEventId?: number;
}

/** 2015-07-15T00:00:00Z, Beam's base time */
export const BASE_TIME = 1436918400000;

const PERSON_PROPORTION = 1;
const AUCTION_PROPORTION = 3;
const TOTAL_PROPORTION = 50;
const NUM_ACTIVE_PEOPLE = 1000;
const PERSON_ID_LEAD = 10;
const NUM_IN_FLIGHT_AUCTIONS = 100;
const AUCTION_ID_LEAD = 10;
const HOT_AUCTION_RATIO = 2;
const HOT_SELLERS_RATIO = 4;
const HOT_BIDDERS_RATIO = 4;
const HOT_BATCH = 100;
const FIRST_PERSON_ID = 1000;
const FIRST_AUCTION_ID = 1000;
const FIRST_CATEGORY_ID = 10;
const NUM_CATEGORIES = 5;
const AVG_PERSON_BYTES = 200;
const AVG_AUCTION_BYTES = 500;
const AVG_BID_BYTES = 100;
/** events of event time an auction stays open on average: the time to generate `NUM_IN_FLIGHT_AUCTIONS` more auctions */
const AUCTION_HORIZON_EVENTS = Math.floor((NUM_IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION) / AUCTION_PROPORTION);

const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const CHANNELS = 10_000;
/** seed of the fixed channel URLs (Flink draws them from an unseeded generator; ours are reproducible) */
const URL_SEED = 20150715;

/** Microseconds between events at `rate` events/s, rounded as Beam does (integer arithmetic). */
export function interEventDelayUs(rate: number): number {
  return Math.floor((1_000_000 + Math.floor(rate / 2)) / rate);
}

function lastBase0PersonId(eventId: number): number {
  const epoch = Math.floor(eventId / TOTAL_PROPORTION);
  const offset = eventId % TOTAL_PROPORTION;
  return epoch * PERSON_PROPORTION + (offset < PERSON_PROPORTION ? offset : PERSON_PROPORTION - 1);
}

function lastBase0AuctionId(eventId: number): number {
  const epoch = Math.floor(eventId / TOTAL_PROPORTION);
  const offset = eventId % TOTAL_PROPORTION;
  if (offset < PERSON_PROPORTION) return (epoch - 1) * AUCTION_PROPORTION + AUCTION_PROPORTION - 1;
  if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) return epoch * AUCTION_PROPORTION + AUCTION_PROPORTION - 1;
  return epoch * AUCTION_PROPORTION + offset - PERSON_PROPORTION;
}

function nextBase0PersonId(eventId: number, rnd: JavaRandom): number {
  const numPeople = lastBase0PersonId(eventId) + 1;
  const active = Math.min(numPeople, NUM_ACTIVE_PEOPLE);
  return numPeople - active + rnd.nextLong(active + PERSON_ID_LEAD);
}

function nextBase0AuctionId(eventId: number, rnd: JavaRandom): number {
  const max = lastBase0AuctionId(eventId);
  const min = Math.max(max - NUM_IN_FLIGHT_AUCTIONS, 0);
  return min + rnd.nextLong(max - min + 1 + AUCTION_ID_LEAD);
}

const A = 97;

/** Beam's `nextString`: 3..maxLength−1 characters, each `special` with probability 1/13, else a–z; then Java `trim()` (spaces). */
/** Characters of the string being made (every generated character is ASCII). */
const chars = Buffer.alloc(1 << 16);
/** `chars[start, end)` as a string: Node's `latin1Slice`, what `toString('latin1', …)` calls after its checks (half the time here) */
const latin1 = (chars as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice.bind(chars);

function nextString(rnd: JavaRandom, maxLength: number, special = ' '): string {
  const length = 3 + rnd.nextInt(maxLength - 3);
  const specialCode = special.charCodeAt(0);
  for (let i = 0; i < length; i++) chars[i] = rnd.nextInt(13) === 0 ? specialCode : A + rnd.nextInt(26);
  return trimSpaces(latin1(0, length));
}

function trimSpaces(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) === 32) start++;
  while (end > start && s.charCodeAt(end - 1) === 32) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** Beam's `nextExactString`: one `nextInt()` per 6 characters, `'a' + r % 26` (Java's truncating `%` and `/`). */
function nextExactString(rnd: JavaRandom, length: number): string {
  let r = 0;
  for (let i = 0; i < length; i++) {
    if (i % 6 === 0) r = rnd.nextInt();
    chars[i] = A + (r % 26);
    r = Math.trunc(r / 26);
  }
  return latin1(0, length);
}

function nextExtra(rnd: JavaRandom, currentSize: number, desiredAverageSize: number): string {
  if (currentSize > desiredAverageSize) return '';
  const d = desiredAverageSize - currentSize;
  const delta = Math.round(d * 0.2);
  const min = d - delta;
  const size = min + (delta === 0 ? 0 : rnd.nextInt(2 * delta));
  return nextExactString(rnd, size);
}

/** log-uniform on [100, 10^8) cents */
function nextPrice(rnd: JavaRandom): number {
  return Math.round(Math.pow(10, rnd.nextDouble() * 6) * 100);
}

function pad4(n: number): string {
  return String(n).padStart(4, '0');
}

/** Java's `Integer.reverse` then `Math.abs` (which leaves `Integer.MIN_VALUE` negative). */
function absReversed(i: number): number {
  let x = i >>> 0;
  let r = 0;
  for (let b = 0; b < 32; b++) {
    r = (r << 1) | (x & 1);
    x >>>= 1;
  }
  r |= 0;
  return r === -2147483648 ? r : Math.abs(r);
}

/**
 * The string in one piece: V8 keeps a concatenation as a tree of parts until something reads it, and the tables are
 * read per bid; strings parsed from a file or a message arrive in one piece too.
 */
function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

function baseUrl(rnd: JavaRandom): string {
  return `https://www.nexmark.com/${nextString(rnd, 5, '_')}/${nextString(rnd, 5, '_')}/${nextString(rnd, 5, '_')}/item.htm?query=1`;
}

/** Flink's URL tables, from a fixed seed: 4 hot URLs, then one per channel (9 in 10 with `&channel_id=`). */
const { HOT_URLS, CHANNEL_URLS } = (() => {
  const rnd = new JavaRandom(URL_SEED);
  const hot = HOT_CHANNELS.map(() => flat(baseUrl(rnd)));
  const channels: string[] = [];
  for (let i = 0; i < CHANNELS; i++) {
    const url = baseUrl(rnd);
    channels.push(flat(rnd.nextInt(10) > 0 ? `${url}&channel_id=${absReversed(i)}` : url));
  }
  return { HOT_URLS: hot, CHANNEL_URLS: channels };
})();

/**
 * Generates event `eventNumber` (0-based) of a run at `delayUs` µs between events.
 *
 * @example
 * ```ts
 * const first = nexmarkEvent(0, interEventDelayUs(10_000)); // Person 1000, "Peter Jones"
 * ```
 */
export function nexmarkEvent(eventNumber: number, delayUs: number, firstEventId = 0): NexmarkEvent {
  const eventId = firstEventId + eventNumber;
  const dateTime = BASE_TIME + Math.floor((eventNumber * delayUs) / 1000);
  const rnd = new JavaRandom(eventId);
  const rem = eventId % TOTAL_PROPORTION;
  if (rem < PERSON_PROPORTION) {
    const id = lastBase0PersonId(eventId) + FIRST_PERSON_ID;
    const name = `${FIRST_NAMES[rnd.nextInt(FIRST_NAMES.length)]} ${LAST_NAMES[rnd.nextInt(LAST_NAMES.length)]}`;
    const emailAddress = `${nextString(rnd, 7)}@${nextString(rnd, 5)}.com`;
    const creditCard = `${pad4(rnd.nextInt(10000))} ${pad4(rnd.nextInt(10000))} ${pad4(rnd.nextInt(10000))} ${pad4(rnd.nextInt(10000))}`;
    const city = CITIES[rnd.nextInt(CITIES.length)] as string;
    const state = STATES[rnd.nextInt(STATES.length)] as string;
    const size = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
    const extra = nextExtra(rnd, size, AVG_PERSON_BYTES);
    return { type: 'person', eventId, id, name, emailAddress, creditCard, city, state, dateTime, extra };
  }
  if (rem < PERSON_PROPORTION + AUCTION_PROPORTION) {
    const id = lastBase0AuctionId(eventId) + FIRST_AUCTION_ID;
    const seller =
      (rnd.nextInt(HOT_SELLERS_RATIO) > 0 ? Math.floor(lastBase0PersonId(eventId) / HOT_BATCH) * HOT_BATCH : nextBase0PersonId(eventId, rnd)) +
      FIRST_PERSON_ID;
    const category = FIRST_CATEGORY_ID + rnd.nextInt(NUM_CATEGORIES);
    const initialBid = nextPrice(rnd);
    const horizonMs = BASE_TIME + Math.floor(((eventNumber + AUCTION_HORIZON_EVENTS) * delayUs) / 1000) - dateTime;
    const expires = dateTime + 1 + rnd.nextLong(Math.max(2 * horizonMs, 1));
    const itemName = nextString(rnd, 20);
    const description = nextString(rnd, 100);
    const reserve = initialBid + nextPrice(rnd);
    const extra = nextExtra(rnd, 8 + itemName.length + description.length + 40, AVG_AUCTION_BYTES);
    return { type: 'auction', eventId, id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra };
  }
  const auction =
    (rnd.nextInt(HOT_AUCTION_RATIO) > 0 ? Math.floor(lastBase0AuctionId(eventId) / HOT_BATCH) * HOT_BATCH : nextBase0AuctionId(eventId, rnd)) +
    FIRST_AUCTION_ID;
  const bidder =
    (rnd.nextInt(HOT_BIDDERS_RATIO) > 0 ? Math.floor(lastBase0PersonId(eventId) / HOT_BATCH) * HOT_BATCH + 1 : nextBase0PersonId(eventId, rnd)) +
    FIRST_PERSON_ID;
  const price = nextPrice(rnd);
  const extra = nextExtra(rnd, 32, AVG_BID_BYTES);
  // Flink's channel and url, drawn after Beam's fields
  let channel: string;
  let url: string;
  if (rnd.nextInt(2) > 0) {
    const i = rnd.nextInt(HOT_CHANNELS.length);
    channel = HOT_CHANNELS[i] as string;
    url = HOT_URLS[i] as string;
  } else {
    const n = rnd.nextInt(CHANNELS);
    channel = `channel-${n}`;
    url = CHANNEL_URLS[n] as string;
  }
  return { type: 'bid', eventId, auction, bidder, price, channel, url, dateTime, extra };
}

function checkOptions(o: GeneratorOptions): { events: number; delayUs: number; firstEventId: number } {
  const rate = o.rate ?? 10_000;
  const firstEventId = o.firstEventId ?? 0;
  if (!Number.isSafeInteger(o.events) || o.events < 0) throw new RangeError(`nexmark: events ${o.events} must be a non-negative integer`);
  if (!Number.isSafeInteger(rate) || rate <= 0) throw new RangeError(`nexmark: rate ${rate} must be a positive integer (events per second)`);
  if (!Number.isSafeInteger(firstEventId) || firstEventId < 0) throw new RangeError(`nexmark: firstEventId ${firstEventId} must be a non-negative integer`);
  return { events: o.events, delayUs: interEventDelayUs(rate), firstEventId };
}

/**
 * The events of a run, made as they are iterated (replayable: each iteration starts again at the first event).
 *
 * @example
 * ```ts
 * for (const e of nexmarkEvents({ events: 1000, rate: 1000 })) if (e.type === 'bid') console.log(e.price);
 * ```
 */
export function nexmarkEvents(options: GeneratorOptions): Iterable<NexmarkEvent> {
  const { events, delayUs, firstEventId } = checkOptions(options);
  return {
    *[Symbol.iterator]() {
      for (let n = 0; n < events; n++) yield nexmarkEvent(n, delayUs, firstEventId);
    },
  };
}

/** All events of a run in an array (benchmarks generate ahead, so generation is not measured). */
export function generateNexmark(options: GeneratorOptions): NexmarkEvent[] {
  const { events, delayUs, firstEventId } = checkOptions(options);
  const out = new Array<NexmarkEvent>(events);
  for (let n = 0; n < events; n++) out[n] = nexmarkEvent(n, delayUs, firstEventId);
  return out;
}

/**
 * A cold Observable of a run's events: each subscriber gets the whole run, made as it flows, synchronously
 * (unsubscribing stops generation).
 *
 * @example
 * ```ts
 * nexmarkSource({ events: 1_000_000, rate: 10_000 }).pipe(eventTime((e) => e.dateTime, boundedOutOfOrderness(4000)));
 * ```
 */
export function nexmarkSource(options: GeneratorOptions): Observable<NexmarkEvent> {
  const { events, delayUs, firstEventId } = checkOptions(options);
  return new Observable<NexmarkEvent>((subscriber) => {
    for (let n = 0; n < events && !subscriber.closed; n++) subscriber.next(nexmarkEvent(n, delayUs, firstEventId));
    subscriber.complete();
  });
}

/** One event as a line of NDJSON (its `type` field says which kind). */
export function toNdjson(e: NexmarkEvent): string {
  return JSON.stringify(e);
}
