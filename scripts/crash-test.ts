// The long crash test (outside `npm test`): `npm run crash-test -- [kills=200] [seed]`.
import { crashTest } from '../test/crash/driver.js';

const kills = Number(process.argv[2] ?? 200);
const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);
const started = performance.now();
const r = await crashTest({ kills, clicks: Math.max(100_000, kills * 2_500), seed, log: (l) => console.log(l) });
console.log(
  `crash test: seed ${r.seed}, ${r.kills} kills (${r.killsAfterProgress} after progress) over ${r.runs} runs, last restore from checkpoint ${r.restoredAtEnd}, reference ${r.referenceBytes} B in ${r.referenceMs.toFixed(0)} ms; ` +
    `output ${r.identical ? 'identical' : 'DIFFERENT'} (${r.outputBytes} B); ${r.skipped.length} skipped checkpoints; ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
if (!r.identical || r.kills < kills || r.skipped.length > 0) process.exit(1);
