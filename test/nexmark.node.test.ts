import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareLines, materialise, oracle, tidewaterLines } from '../bench/nexmark/check.js';
import { generateNexmark, interEventDelayUs, nexmarkEvent, nexmarkEvents, nexmarkSource, type NexmarkEvent } from '../bench/nexmark/generator.js';
import { JavaRandom } from '../bench/nexmark/javaRandom.js';
import { QUERIES, type QueryName } from '../bench/nexmark/queries.js';
import { lastValueFrom, toArray } from 'rxjs';

/** A line of the reference files: comma-separated, strings in double quotes with `\` escapes. */
function parseLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let s = '';
      i++;
      while (line[i] !== '"') {
        if (line[i] === '\\') {
          s += line[i + 1];
          i += 2;
        } else s += line[i++];
      }
      i++;
      out.push(s);
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      out.push(line.slice(i, end));
      i = end;
    }
    i++;
  }
  return out;
}

function referenceFields(e: NexmarkEvent): string[] {
  const fields =
    e.type === 'person'
      ? ['P', e.eventId, e.id, e.name, e.emailAddress, e.creditCard, e.city, e.state, e.dateTime, e.extra]
      : e.type === 'auction'
        ? ['A', e.eventId, e.id, e.itemName, e.description, e.initialBid, e.reserve, e.dateTime, e.expires, e.seller, e.category, e.extra]
        : ['B', e.eventId, e.auction, e.bidder, e.price, e.dateTime, e.extra];
  return fields.map(String);
}

describe('Nexmark generator (Beam-exact)', () => {
  it('java.util.Random: the JDK test vectors', () => {
    const r0 = new JavaRandom(0);
    expect([r0.nextInt(), r0.nextInt(10), r0.nextInt(2), r0.nextDouble()]).toEqual([-1155484576, 8, 0, 0.6063452159973596]);
    const r42 = new JavaRandom(42);
    expect([r42.nextInt(11), r42.nextInt(9), r42.nextInt(13), r42.nextInt(26), r42.nextDouble()]).toEqual([7, 3, 9, 12, 0.30871945533265976]);
    expect(() => new JavaRandom(-1)).toThrow(/seed -1 must be an integer in \[0, 2\^48\)/);
  });

  for (const rate of [1000, 10000]) {
    it(`reproduces the 2 000 reference events at ${rate} events/s field by field`, () => {
      const lines = readFileSync(new URL(`./fixtures/nexmark/first-2000-r${rate}.csv`, import.meta.url), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(2000);
      const events = generateNexmark({ events: 2000, rate });
      const mismatches = lines.flatMap((l, n) => {
        const expected = parseLine(l);
        const got = referenceFields(events[n] as NexmarkEvent);
        return got.length === expected.length && got.every((g, k) => g === expected[k]) ? [] : [{ n, expected, got }];
      });
      expect(mismatches).toEqual([]);
    });
  }

  it('event 999 999 at 10 000 events/s: the spec vector', () => {
    const e = nexmarkEvent(999_999, interEventDelayUs(10_000));
    expect(e.type === 'bid' && [e.auction, e.bidder, e.price, e.dateTime, e.extra.length]).toEqual([60955, 20901, 11004, 1436918499999, 65]);
  });

  it('the iterable, the array and the Observable give the same events; bad options are refused', async () => {
    const options = { events: 300, rate: 1000 };
    const array = generateNexmark(options);
    expect([...nexmarkEvents(options)]).toEqual(array);
    expect(await lastValueFrom(nexmarkSource(options).pipe(toArray()))).toEqual(array);
    expect(() => generateNexmark({ events: 1.5 })).toThrow(/events 1.5 must be a non-negative integer/);
    expect(() => generateNexmark({ events: 1, rate: 0 })).toThrow(/rate 0 must be a positive integer/);
  });

  it('bids carry Flink channels and URLs: a hot channel half the time, else channel-n with its URL', () => {
    const bids = generateNexmark({ events: 5000 }).filter((e) => e.type === 'bid');
    const hot = bids.filter((b) => ['Google', 'Facebook', 'Baidu', 'Apple'].includes(b.channel));
    expect(hot.length / bids.length).toBeGreaterThan(0.45);
    expect(hot.length / bids.length).toBeLessThan(0.55);
    for (const b of bids) {
      expect(b.url).toMatch(/^https:\/\/www\.nexmark\.com\/[a-z_]{3,4}\/[a-z_]{3,4}\/[a-z_]{3,4}\/item\.htm\?query=1(&channel_id=-?\d+)?$/);
      if (!hot.includes(b)) expect(b.channel).toMatch(/^channel-\d{1,4}$/);
    }
  });
});

describe('Nexmark changelog materialisation', () => {
  it('inserts and updates add rows, retractions take them away; retracting an absent row throws', () => {
    const key = (r: string) => r;
    expect(materialise([{ kind: '+I', row: 'a' }, { kind: '+I', row: 'a' }, { kind: '-U', row: 'a' }, { kind: '+U', row: 'b' }], key).sort()).toEqual(['a', 'b']);
    expect(() => materialise([{ kind: '-D', row: 'x' }], key)).toThrow(/retracts a row that is not in the table: x/);
  });

  it('compareLines reports what only one side has', () => {
    const outcome = compareLines('q1', ['a', 'b', 'b'], ['b', 'a', 'c']);
    expect(outcome).toMatchObject({ ok: false, onlyTidewater: ['b'], onlyOracle: ['c'] });
    expect(compareLines('q1', ['x', 'y'], ['y', 'x']).ok).toBe(true);
  });
});

// The small-data check of every query (bench/nexmark/README.md, "Checks"): 50 000 events at 1 000 events/s (50 s of
// event time, so 10-second sessions merge and windows close), each query's result equal to DuckDB's.
describe('Nexmark queries against DuckDB, 50 000 events at 1 000 events/s', () => {
  const data = generateNexmark({ events: 50_000, rate: 1000 });
  let db: Awaited<ReturnType<typeof oracle>> | undefined;
  beforeAll(async () => {
    db = await oracle(data);
  });
  afterAll(() => db?.close());
  for (const name of Object.keys(QUERIES) as QueryName[]) {
    it(`${name} equals the SQL result`, async () => {
      if (db === undefined) throw new Error('DuckDB did not load');
      const theirs = await db.lines(name);
      const outcome = compareLines(name, await tidewaterLines(name, data), theirs);
      expect({ onlyTidewater: outcome.onlyTidewater, onlyOracle: outcome.onlyOracle }).toEqual({ onlyTidewater: [], onlyOracle: [] });
      expect(outcome.rows).toBeGreaterThan(0);
    });
  }
});
