// `npm run screenshots`: the dashboard of a running job and the playground's pages, at 1280 px and 375 px wide, in Debian's
// chromium (playwright-core), written to docs/screenshots/ (shown in the README).
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Page } from 'playwright-core';
import { serveDashboard } from '../src/dashboard/index.js';
import { liveClicks } from '../demo/dashboard.js';
import { startServer } from '../playground/serve.js';
import { chromiumArgs, chromiumPath } from '../test/support/chromium.js';

const out = join(import.meta.dirname, '../docs/screenshots');
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
const widths = [1280, 375] as const;

// the dashboard: the demo's live job (demo/dashboard.ts), after 6 s
const { job, stop } = liveClicks();
const dashboard = await serveDashboard(job, { name: 'live-clicks', intervalMs: 250 });
await sleep(6_000);
for (const width of widths) {
  const page = await browser.newPage({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(dashboard.url);
  await page.waitForSelector('#checkpoints tbody tr:nth-child(3)');
  await sleep(600);
  await page.screenshot({ path: join(out, `dashboard-${width}.png`), fullPage: true });
  await page.close();
  console.log(`docs/screenshots/dashboard-${width}.png`);
}
stop();
await job.done;
await dashboard.close();

// the playground
const dir = await mkdtemp(join(tmpdir(), 'tidewater-shots-'));
const playground = await startServer(0, { outdir: dir });
// each page of the playground, when its run is done
const crashAndRestore = async (page: Page): Promise<void> => {
  await page.waitForFunction(() => Number((document.getElementById('progress') as HTMLElement).dataset['checkpoints']) >= 2);
  await page.click('#crash');
  await sleep(300);
  await page.click('#restore');
};
const pages: { name: string; path: string; done: string; act?: (page: Page) => Promise<void> }[] = [
  { name: 'playground', path: '', done: '#status[data-state=done]' },
  { name: 'playground-event-time', path: 'event-time.html?idle=1000&speed=32', done: '#scene[data-state=done]' },
  { name: 'playground-windows', path: 'windows.html?lateness=1000&speed=32', done: '#scene[data-state=done]' },
  { name: 'playground-state', path: 'state.html?speed=1', done: '#scene[data-state=playing]', act: async () => sleep(5_000) },
  { name: 'playground-partitions', path: 'partitions.html?speed=32', done: '#scene[data-state=done]' },
  { name: 'playground-checkpoints', path: 'checkpoints.html?interval=300&delay=10', done: '#scene[data-state=done]', act: crashAndRestore },
];
for (const { name, path, done, act } of pages) {
  for (const width of widths) {
    const page = await browser.newPage({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(new URL(path, playground.url).href);
    await act?.(page);
    await page.waitForSelector(done, { timeout: 30_000 });
    await page.screenshot({ path: join(out, `${name}-${width}.png`), fullPage: true });
    await page.close();
    console.log(`docs/screenshots/${name}-${width}.png`);
  }
}
await playground.close();
await rm(dir, { recursive: true, force: true });
await browser.close();
