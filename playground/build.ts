/**
 * Bundles the playground for the browser: `playground/main.ts` (with tidewater's sources and RxJS) into one ESM file
 * plus source map, next to a copy of `playground/index.html`.
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
 * Builds the playground into `outdir` (resolved against the working directory): `main.js`, `main.js.map` and
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
    entryPoints: [resolve(here, 'main.ts')],
    outfile: resolve(out, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
  });
  await copyFile(resolve(here, 'index.html'), resolve(out, 'index.html'));
  return out;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const out = await buildPlayground(process.argv[2]);
  console.log(`playground built in ${out}`);
}
