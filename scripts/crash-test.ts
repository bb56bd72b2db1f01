// The long crash test (outside `npm test`): `npm run crash-test -- [kills=200] [seed] [--threads[=n]] [--join]`.
// `--threads` runs the job's keyed part in worker threads (parallel(n, keyedPipeline, { worker }), n = 2 by default);
// `--join` runs the join job (two NDJSON inputs, an interval join, two side outputs, three output files).
import { crashTest } from '../test/crash/driver.js';

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const [killsArg, seedArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const threadsFlag = flags.find((f) => f === '--threads' || f.startsWith('--threads='));
const join = flags.includes('--join');
const unknown = flags.filter((f) => f !== threadsFlag && f !== '--join');
if (unknown.length > 0) {
  console.error(`crash-test: unknown option ${unknown.join(' ')}. Usage: npm run crash-test -- [kills=200] [seed] [--threads[=n]] [--join]`);
  process.exit(2);
}
const threads = threadsFlag === undefined ? undefined : threadsFlag === '--threads' ? 2 : Number(threadsFlag.slice('--threads='.length));
const kills = Number(killsArg ?? 200);
const seed = Number(seedArg ?? Date.now() % 1_000_000);
const started = performance.now();
const r = await crashTest({ kills, clicks: Math.max(100_000, kills * 2_500), seed, ...(threads !== undefined ? { threads } : {}), join, log: (l) => console.log(l) });
console.log(
  `crash test${join ? ' (join job)' : ''}${threads !== undefined ? ` (${threads} threads)` : ''}: seed ${r.seed}, ${r.kills} kills (${r.killsAfterProgress} after progress) over ${r.runs} runs, last restore from checkpoint ${r.restoredAtEnd}, reference ${r.referenceBytes} B in ${r.referenceMs.toFixed(0)} ms; ` +
    `output ${r.identical ? 'identical' : 'DIFFERENT'} (${r.outputBytes} B)${r.sameAsSingleThreaded === undefined ? '' : `, reference ${r.sameAsSingleThreaded ? 'identical to' : 'DIFFERENT from'} the single-threaded job's`}; ${r.skipped.length} skipped checkpoints; ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
if (!r.identical || r.sameAsSingleThreaded === false || r.kills < kills || r.skipped.length > 0) process.exit(1);
