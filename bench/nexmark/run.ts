/**
 * `npm run nexmark -- --check [--events 100000,1000000] [--rates 10000,1000] [--queries q5,q11]`: every query's
 * result against DuckDB on the same generated events (bench/nexmark/README.md, "Checks"); exits 1 on any difference.
 *
 * `npm run nexmark -- --ndjson FILE [--events N] [--rate R]`: writes the events as NDJSON (one event per line, its
 * `type` field saying which kind).
 */
import { createWriteStream } from 'node:fs';
import { compareLines, oracle, tidewaterLines } from './check.js';
import { generateNexmark, nexmarkEvents, toNdjson } from './generator.js';
import { QUERIES, type QueryName } from './queries.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const numbers = (s: string): number[] => s.split(',').map((x) => Number(x.replace(/_/g, '')));

async function check(): Promise<boolean> {
  const sizes = numbers(option('events') ?? '100000,1000000');
  const rates = numbers(option('rates') ?? '10000,1000');
  const names = (option('queries')?.split(',') ?? Object.keys(QUERIES)) as QueryName[];
  for (const n of names) if (!(n in QUERIES)) throw new Error(`nexmark: no query '${n}'; have ${Object.keys(QUERIES).join(', ')}`);
  let allOk = true;
  for (const events of sizes) {
    for (const rate of rates) {
      const t0 = performance.now();
      const data = generateNexmark({ events, rate });
      const db = await oracle(data);
      console.log(`\n${events.toLocaleString('en')} events at ${rate.toLocaleString('en')} events/s (generated and loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      for (const name of names) {
        const t1 = performance.now();
        const outcome = compareLines(name, await tidewaterLines(name, data), await db.lines(name));
        allOk &&= outcome.ok;
        const seconds = ((performance.now() - t1) / 1000).toFixed(1);
        console.log(`  ${name.padEnd(4)} ${outcome.ok ? 'ok  ' : 'DIFF'} ${outcome.rows.toLocaleString('en').padStart(10)} rows (${seconds} s)`);
        for (const l of outcome.onlyTidewater) console.log(`       only tidewater: ${l.slice(0, 200)}`);
        for (const l of outcome.onlyOracle) console.log(`       only DuckDB:    ${l.slice(0, 200)}`);
      }
      db.close();
    }
  }
  console.log(allOk ? '\nall checks passed' : '\nSOME CHECKS FAILED');
  return allOk;
}

async function writeNdjson(file: string): Promise<void> {
  const out = createWriteStream(file);
  const events = Number(option('events') ?? 1_000_000);
  const rate = Number(option('rate') ?? 10_000);
  for (const e of nexmarkEvents({ events, rate })) if (!out.write(toNdjson(e) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

const ndjson = option('ndjson');
if (ndjson !== undefined) await writeNdjson(ndjson);
else if (process.argv.includes('--check')) process.exitCode = (await check()) ? 0 : 1;
else {
  console.error('usage: npm run nexmark -- --check [--events 100000,1000000] [--rates 10000,1000] [--queries q5,q11] | --ndjson FILE [--events N] [--rate R]');
  process.exitCode = 2;
}
