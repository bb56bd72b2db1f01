/**
 * `npm run bench`: every benchmark, each in its own Node process (so one benchmark's JIT state — e.g. call sites
 * made megamorphic by another operator — does not colour the next), each with its baselines measured in the same
 * run. Prints markdown tables and ratios (copy them into BENCHMARKS.md). `npm run bench -- NAME` runs one.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { busyKeyBench } from './busyKey.js';
import { checkpointStoreBench } from './checkpointStore.js';
import { jobsBench } from './jobs.js';
import { joinsBench, joinsMemoryBench } from './joins.js';
import { keyedCountBench } from './keyedCount.js';
import { mapFilterBench } from './mapFilter.js';
import { natsBench } from './nats.js';
import { nexmarkBench } from './nexmark/bench.js';
import { nexmarkLongBench } from './nexmark/longRuns.js';
import { parallelBench } from './parallel.js';
import { snapshotsBench } from './snapshots.js';
import { timersBench } from './timers.js';
import { windowsBench } from './windows.js';

const benches: Record<string, () => { report: string } | Promise<{ report: string }>> = {
  'map-filter': () => mapFilterBench(),
  'keyed-count': () => keyedCountBench(),
  // `npm run bench -- windows [tumbling|sliding|sessions] [--sizes …] [--keys …] [--regimes …] [--events N] [--write]`
  windows: () => windowsBench(process.argv.slice(3)),
  'checkpoint-store': () => checkpointStoreBench(),
  // a keyed operator's full snapshot and restore, over Nexmark-shaped state, against a JSON loop
  snapshots: () => snapshotsBench(),
  joins: () => joinsBench(),
  // one key with many open sessions or join buckets (the watermark lagging): time at N and 2 N
  // (`npm run bench -- busy-key snapshot`: the cases whose name has that text)
  'busy-key': () => busyKeyBench(process.argv[3]),
  // a timeout per key reset by every record (own and shared timestamps, 1 000 / 10 000 / 100 000 keys) against a loop
  timers: () => timersBench(),
  // an interval join over 10 M events: the live heap every 1 M (state stays bounded)
  'joins-memory': () => joinsMemoryBench(),
  // `npm run bench -- jobs 100000`: one key count only
  jobs: () => jobsBench(undefined, undefined, process.argv[3] !== undefined ? [Number(process.argv[3])] : undefined),
  // `npm run bench -- parallel speedup|overhead|shuffle [records]`: one part, in this process (`all`: every part)
  // `npm run bench -- nexmark [--events N] [--rate R] [--rounds 3] [--queries q0,q5]`
  nexmark: () => nexmarkBench(process.argv.slice(3)),
  // `npm run bench -- nexmark-long [--events 10000000] [--rounds 3] [--queries q18,q19]`: checkpoints over long runs
  // against a hand-written program's
  'nexmark-long': () => nexmarkLongBench(process.argv.slice(3)),
  parallel: () => parallelBench(process.argv[3], process.argv[4] !== undefined ? Number(process.argv[4]) : undefined),
  nats: () => natsBench(),
};

const only = process.argv[2];
if (only !== undefined) {
  const bench = benches[only];
  if (bench === undefined) {
    console.error(`unknown benchmark '${only}'; have: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log((await bench()).report + '\n');
} else {
  console.log(`# tidewater benchmarks — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`);
  for (const name of Object.keys(benches)) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', name], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
