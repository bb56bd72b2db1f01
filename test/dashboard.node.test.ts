/**
 * End to end: `serveDashboard` (tidewater/dashboard) for a running checkpointed job, its page in Debian's chromium
 * (playwright-core): the operators in pipeline order with their figures, checkpoints appearing in the history as
 * they complete, the window's watermark advancing, the charts drawn, the end of the job shown; no page errors.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, fromAsyncIterable, memoryStore, runJob, toArray, tumblingWindows } from '../src/index.js';
import { aggregate, eventTime, keyBy, window } from '../operators/index.js';
import { serveDashboard } from '../src/dashboard/index.js';
import { chromiumArgs, chromiumPath } from './support/chromium.js';

const hasChromium = existsSync(chromiumPath);
const requireBrowser = process.env.TIDEWATER_REQUIRE_BROWSER === '1';

describe.runIf(hasChromium || requireBrowser)('serveDashboard (chromium, end to end)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows a running job: operators, checkpoints as they complete, the watermark advancing, then its end', async () => {
    let released = false;
    const release = (): void => void (released = true);
    const job = runJob({
      name: 'counts',
      // a live source: a number every 2 ms (number n at n × 100 ms of event time) until released, then 10 more
      source: fromAsyncIterable(async function* () {
        let after = 0;
        for (let n = 0; !released || ++after <= 10; n++) {
          await sleep(2);
          yield n;
        }
      }),
      pipeline: (s) => s.pipe(eventTime((n: number) => n * 100), keyBy((n: number) => n % 3), window(tumblingWindows(1_000), { name: 'per-second' }), aggregate(count())),
      sink: toArray(),
      checkpoint: { intervalMs: 40, store: memoryStore() },
    });
    const dashboard = await serveDashboard(job, { name: 'counts', intervalMs: 40 });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    try {
      expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      await page.goto(dashboard.url);
      await page.waitForSelector('#checkpoints tbody tr:nth-child(3)', { timeout: 10_000 });
      expect(await page.locator('h1').textContent()).toBe('counts');
      expect(await page.locator('#state').textContent()).toBe('running');
      expect(await page.locator('#graph .op h2').allTextContents()).toStrictEqual(['source', 'per-second', 'sink']);
      const watermark = (): Promise<string> => page.locator('[data-operator="per-second"] .watermark').innerText();
      const first = await watermark();
      await page.waitForFunction((w) => document.querySelector('[data-operator="per-second"] .watermark')?.textContent !== w, first, { timeout: 5_000 });
      const second = await watermark();
      expect(Number(second)).toBeGreaterThan(Number(first));
      // checkpoints listed newest first, ids counting down
      const ids = (await page.locator('#checkpoints tbody tr td:first-child').allTextContents()).map(Number);
      expect(ids.length).toBeGreaterThanOrEqual(3);
      expect(ids).toStrictEqual([...ids].sort((a, b) => b - a));
      expect(await page.locator('#checkpoints tbody tr').first().locator('td').nth(5).textContent()).toMatch(/^(full|incremental)$/);
      // three uPlot charts, drawn on canvases
      expect(await page.locator('#charts .uplot canvas').count()).toBe(3);
      release();
      await job.done;
      await page.waitForSelector('#app[data-state=finished]', { timeout: 5_000 });
      expect(await page.locator('#state').textContent()).toBe('finished');
      expect(await page.locator('[data-operator="per-second"] .watermark').innerText()).toBe('MAX (end)');
      const totals = await page.locator('#totals').innerText();
      const m = job.metrics();
      expect(totals).toContain(`· ${m.checkpointsCompleted} checkpoints`);
      expect(errors).toStrictEqual([]);
      const missing = await fetch(new URL('nothing-here', dashboard.url));
      expect(missing.status).toBe(404);
    } finally {
      await page.close();
      await dashboard.close();
    }
  }, 30_000);
});
