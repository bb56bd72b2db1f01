/**
 * Exactly-once in a real browser: a page runs a checkpointed job on IndexedDB (test/reload/page.ts), is reloaded
 * mid-stream (the job dies with the page), resumes from its newest checkpoint on the next load, and ends with
 * exactly the output of an uninterrupted run of the same pipeline in Node.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromArray, runJob, toArray } from '../src/index.js';
import { generateClicks } from '../demo/clicks.js';
import { crashPipeline } from './crash/pipeline.js';
import { startServer, type PlaygroundServer } from '../playground/serve.js';
import { chromiumArgs, chromiumPath } from './support/chromium.js';

const hasChromium = existsSync(chromiumPath);
const requireBrowser = process.env.TIDEWATER_REQUIRE_BROWSER === '1';
const missing = `chromium not found at ${chromiumPath}: install it with \`apt-get update && apt-get install -y chromium\` (or set CHROMIUM_PATH).`;
const CLICKS = 3000;

describe('browser reload (chromium, IndexedDB)', () => {
  if (!hasChromium) {
    if (requireBrowser) it('needs chromium (TIDEWATER_REQUIRE_BROWSER=1)', () => expect.fail(missing));
    else it.skip(`resumes after a reload (skipped: ${missing})`, () => {});
    return;
  }
  let dir: string;
  let server: PlaygroundServer;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidewater-reload-'));
    const here = resolve(import.meta.dirname, 'reload');
    await build({ entryPoints: [join(here, 'page.ts')], outfile: join(dir, 'page.js'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'warning' });
    await copyFile(join(here, 'index.html'), join(dir, 'index.html'));
    server = await startServer(0, { outdir: dir, build: false }); // serves what is in dir
    url = `${server.url}?clicks=${CLICKS}`;
  }, 30_000);

  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reloaded mid-stream three times, the job resumes from its checkpoints and commits every result exactly once', { timeout: 60_000 }, async () => {
    const out = toArray<unknown>();
    await runJob({ name: 'reference', source: fromArray(generateClicks(CLICKS, { seed: 7 })), pipeline: crashPipeline, sink: out }).done;
    const expected = out.values;
    expect(expected.length).toBeGreaterThan(1000);

    const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      const checkpoints: number[] = [];
      for (let reload = 0; reload < 3; reload++) {
        // wait until the job has completed a checkpoint past the previous one, then kill it mid-stream
        const after = checkpoints.at(-1) ?? 0;
        await page.waitForFunction(
          (n) => Number(document.getElementById('status')?.dataset['checkpoint'] ?? '0') > n + 2,
          after,
          { timeout: 20_000, polling: 5 },
        );
        const state = await page.evaluate(() => ({ ...document.getElementById('status')?.dataset }));
        expect(state['state']).toBe('running');
        checkpoints.push(Number(state['checkpoint']));
        await page.reload();
      }
      await page.waitForSelector('#status[data-state=done]', { timeout: 30_000, state: 'attached' });
      const result = await page.evaluate(() => ({
        status: { ...document.getElementById('status')?.dataset },
        out: JSON.parse(localStorage.getItem('out') ?? '[]') as unknown[],
        pending: Object.keys(localStorage).filter((k) => k.startsWith('pending/')),
      }));
      expect(errors).toStrictEqual([]);
      expect(result.status['loads']).toBe('4');
      expect(Number(result.status['restoredFrom'])).toBeGreaterThanOrEqual(checkpoints[2] as number);
      expect(result.pending).toStrictEqual([]);
      expect(result.out).toHaveLength(expected.length);
      expect(result.out).toStrictEqual(expected);
    } finally {
      await browser.close();
    }
  });
});
