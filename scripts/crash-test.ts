// The long crash test (outside `npm test`): `npm run crash-test -- [kills=200] [seed] [--threads[=n]] [--join] [--nats]`.
// `--threads` runs the job's keyed part in worker threads (parallel(n, keyedPipeline, { worker }), n = 2 by default);
// `--join` runs the join job (two NDJSON inputs, an interval join, two side outputs, three output files);
// `--nats` runs the NATS JetStream job (test/nats/job.ts: a JetStream stream into a JetStream subject; needs nats-server);
// `--cluster` runs the 3-process cluster job (test/nats/clusterJob.ts, runClusterJob), killing a random member each time;
// with `--store=nats` its tasks checkpoint into jetStreamStore instead of LevelDB.
import { crashTest } from '../test/crash/driver.js';
import { natsCrashTest } from '../test/nats/driver.js';
import { clusterCrashTest } from '../test/nats/clusterDriver.js';

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const [killsArg, seedArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const threadsFlag = flags.find((f) => f === '--threads' || f.startsWith('--threads='));
const join = flags.includes('--join');
const nats = flags.includes('--nats');
const cluster = flags.includes('--cluster');
const natsStore = flags.includes('--store=nats');
const unknown = flags.filter((f) => f !== threadsFlag && f !== '--join' && f !== '--nats' && f !== '--cluster' && f !== '--store=nats');
if (unknown.length > 0) {
  console.error(`crash-test: unknown option ${unknown.join(' ')}. Usage: npm run crash-test -- [kills=200] [seed] [--threads[=n]] [--join] [--nats] [--cluster [--store=nats]]`);
  process.exit(2);
}
const threads = threadsFlag === undefined ? undefined : threadsFlag === '--threads' ? 2 : Number(threadsFlag.slice('--threads='.length));
const kills = Number(killsArg ?? 200);
const seed = Number(seedArg ?? Date.now() % 1_000_000);
const started = performance.now();
if (cluster) {
  const c = await clusterCrashTest({ kills, clicks: Math.max(20_000, kills * 1_000), seed, store: natsStore ? 'nats' : 'level', log: (l) => console.log(l) });
  console.log(
    `cluster crash test (${natsStore ? 'jetStreamStore' : 'LevelDB'}): seed ${seed}, 3 members, ${c.kills} kills (${c.killsAfterProgress} after progress), ${c.starts} member starts; ` +
      `reference ${c.referenceResults} results, output ${c.outputResults} results, ${c.duplicateIds} duplicate ids, ${c.identical ? 'identical' : 'DIFFERENT'}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  process.exit(c.identical && c.duplicateIds === 0 && c.kills >= kills ? 0 : 1);
}
if (nats) {
  const n = await natsCrashTest({ kills, clicks: Math.max(60_000, kills * 3_000), seed, log: (l) => console.log(l) });
  console.log(
    `NATS crash test: seed ${seed}, ${n.kills} kills (${n.killsAfterProgress} after progress) over ${n.runs} runs, last restore from checkpoint ${n.restoredAtEnd}; ` +
      `reference ${n.referenceMessages} messages, output ${n.outputMessages} messages, ${n.duplicateIds} duplicate ids, ${n.identical ? 'identical' : 'DIFFERENT'}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  process.exit(n.identical && n.duplicateIds === 0 && n.kills >= kills ? 0 : 1);
}
const r = await crashTest({ kills, clicks: Math.max(100_000, kills * 2_500), seed, ...(threads !== undefined ? { threads } : {}), join, log: (l) => console.log(l) });
console.log(
  `crash test${join ? ' (join job)' : ''}${threads !== undefined ? ` (${threads} threads)` : ''}: seed ${r.seed}, ${r.kills} kills (${r.killsAfterProgress} after progress) over ${r.runs} runs, last restore from checkpoint ${r.restoredAtEnd}, reference ${r.referenceBytes} B in ${r.referenceMs.toFixed(0)} ms; ` +
    `output ${r.identical ? 'identical' : 'DIFFERENT'} (${r.outputBytes} B)${r.sameAsSingleThreaded === undefined ? '' : `, reference ${r.sameAsSingleThreaded ? 'identical to' : 'DIFFERENT from'} the single-threaded job's`}; ${r.skipped.length} skipped checkpoints; ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
if (!r.identical || r.sameAsSingleThreaded === false || r.kills < kills || r.skipped.length > 0) process.exit(1);
