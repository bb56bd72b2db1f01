/**
 * `npm run bench`: every benchmark, each with its baselines measured in the same run. Prints markdown tables and
 * ratios (copy them into BENCHMARKS.md). Optional argument: a benchmark name to run only that one.
 */
import { cpus } from 'node:os';
import { keyedCountBench } from './keyedCount.js';
import { mapFilterBench } from './mapFilter.js';
import { windowsBench } from './windows.js';

const benches: Record<string, () => { report: string }> = {
  'map-filter': () => mapFilterBench(),
  'keyed-count': () => keyedCountBench(),
  windows: () => windowsBench(),
};

const only = process.argv[2];
console.log(`# tidewater benchmarks — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`);
for (const [name, run] of Object.entries(benches)) {
  if (only && only !== name) continue;
  console.log(run().report + '\n');
}
