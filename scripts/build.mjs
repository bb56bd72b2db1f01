#!/usr/bin/env node
// Library build: ESM bundles in dist/ (shared code split into chunks so every entry point shares one copy),
// then declarations with tsc into dist/types.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: {
    index: 'src/index.ts',
    operators: 'operators/index.ts',
    testing: 'testing/index.ts',
    level: 'src/stores/level.ts',
    indexeddb: 'src/stores/indexedDb.ts',
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
  plugins: [
    {
      // the threads' worker entry is `./workerEntry.ts` in the sources, `./worker.js` in dist/ (platform.ts)
      name: 'worker-entry',
      setup(b) {
        b.onLoad({ filter: /src[\\/]parallel[\\/]threads[\\/]platform\.ts$/ }, async (args) => {
          const text = await readFile(args.path, 'utf8');
          if (!text.includes("'./workerEntry.ts'")) throw new Error('build: platform.ts no longer names ./workerEntry.ts');
          return { contents: text.replaceAll("'./workerEntry.ts'", "'./worker.js'"), loader: 'ts' };
        });
      },
    },
  ],
});
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
console.log('built dist/ (index.js, operators.js, testing.js, level.js, indexeddb.js, worker.js + types)');
