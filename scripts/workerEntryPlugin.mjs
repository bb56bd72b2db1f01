// An esbuild plugin for bundles of tidewater's sources: the threads' worker entry is `./workerEntry.ts` next to
// src/parallel/threads/platform.ts in the sources, `./worker.js` in a bundle (build that entry as `worker`, in the
// same directory). Used by scripts/build.mjs and the crash test's bundle (test/crash/driver.ts).
import { readFile } from 'node:fs/promises';

/** @type {import('esbuild').Plugin} */
export const workerEntryPlugin = {
  name: 'worker-entry',
  setup(b) {
    b.onLoad({ filter: /src[\\/]parallel[\\/]threads[\\/]platform\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes("'./workerEntry.ts'")) throw new Error('build: platform.ts no longer names ./workerEntry.ts');
      return { contents: text.replaceAll("'./workerEntry.ts'", "'./worker.js'"), loader: 'ts' };
    });
  },
};
