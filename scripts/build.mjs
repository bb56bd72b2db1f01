#!/usr/bin/env node
// Library build: ESM bundles in dist/ (shared code split into chunks so every entry point shares one copy),
// then declarations with tsc into dist/types.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import { workerEntryPlugin } from './workerEntryPlugin.mjs';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: {
    index: 'src/index.ts',
    operators: 'operators/index.ts',
    testing: 'testing/index.ts',
    level: 'src/stores/level.ts',
    indexeddb: 'src/stores/indexedDb.ts',
    nats: 'src/nats/index.ts',
    dashboard: 'src/dashboard/index.ts',
    // the program of parallel's worker threads / Web Workers (src/parallel/threads/platform.ts loads ./worker.js)
    worker: 'src/parallel/threads/workerEntry.ts',
  },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  // the threads' worker entry: ./workerEntry.ts in the sources, ./worker.js in dist/
  plugins: [workerEntryPlugin],
});
// the dashboard's page (tidewater/dashboard serves dist/dashboard-page.js and .css): one browser bundle, uPlot inside
await build({
  entryPoints: { 'dashboard-page': 'src/dashboard/page.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  logLevel: 'warning',
});
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
console.log('built dist/ (index.js, operators.js, testing.js, level.js, indexeddb.js, nats.js, dashboard.js + its page, worker.js + types)');
