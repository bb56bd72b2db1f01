/**
 * Bundles the playground for the browser: each page's script (`main.ts` for `index.html`, `scenes/eventTime.ts` for
 * `event-time.html`, with tidewater's sources and RxJS) into an ESM file plus source map, next to copies of the pages.
 *
 * Run directly to build: `npx tsx playground/build.ts [outdir]`.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/** The directory holding this file (`playground/`), so the build works from any working directory. */
const here = dirname(fileURLToPath(import.meta.url));

/**
 * Builds the playground into `outdir` (resolved against the working directory): `main.js`, `event-time.js` (and maps) and
 * `index.html`. Returns the absolute path of `outdir`.
 *
 * @example
 * ```ts
 * import { buildPlayground } from './playground/build.js';
 *
 * const dir = await buildPlayground();                 // <cwd>/playground/dist
 * const tmp = await buildPlayground('/tmp/playground'); // anywhere else
 * ```
 */
export async function buildPlayground(outdir = 'playground/dist'): Promise<string> {
  const out = resolve(outdir);
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: { main: resolve(here, 'main.ts'), 'event-time': resolve(here, 'scenes/eventTime.ts'), windows: resolve(here, 'scenes/windows.ts'), checkpoints: resolve(here, 'scenes/checkpoints.ts'), state: resolve(here, 'scenes/state.ts'), partitions: resolve(here, 'scenes/partitions.ts'), 'checkpoint-worker': resolve(here, 'scenes/checkpointWorker.ts') },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const page of ['index.html', 'event-time.html', 'windows.html', 'state.html', 'checkpoints.html', 'partitions.html']) await copyFile(resolve(here, page), resolve(out, page));
  return out;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const out = await buildPlayground(process.argv[2]);
  console.log(`playground built in ${out}`);
}
