/**
 * End-to-end: the playground page, built with esbuild and served by `playground/serve.ts`, runs the event-time
 * pipeline in Debian's chromium (playwright-core, nothing downloaded) and renders exactly the records the same
 * pipeline yields in Node.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { firstValueFrom, from, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WATERMARK, type StreamRecord } from '../src/index.js';
import { clickPipeline, generateClicks, isPageView, type PageView } from '../playground/pipeline.js';
import { startServer, type PlaygroundServer } from '../playground/serve.js';
import { chromiumArgs, chromiumPath } from './support/chromium.js';

// (path and flags shared with vitest.config.ts)
const hasChromium = existsSync(chromiumPath);
const requireBrowser = process.env.TIDEWATER_REQUIRE_BROWSER === '1';
const missing =
  `chromium not found at ${chromiumPath}: install it with \`apt-get update && apt-get install -y chromium\` ` +
  '(or set CHROMIUM_PATH); never `npx playwright install`.';

interface RenderedRecord {
  readonly id: string;
  readonly ts: string;
  readonly key: string;
  readonly value: string;
  readonly text: string;
}
interface RenderedControl {
  readonly kind: string;
  readonly ts: string | undefined;
  readonly idle: string | undefined;
  readonly text: string;
}
interface Rendered {
  readonly status: Readonly<Record<string, string>>;
  readonly statusText: string;
  readonly records: readonly RenderedRecord[];
  readonly controls: readonly RenderedControl[];
  readonly pageErrors: readonly string[];
}

/** Loads the page in chromium and reads what it rendered once `#status[data-state=done]`. */
async function renderInChromium(url: string, browser: Browser): Promise<Rendered> {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
  await page.goto(url);
  await page.waitForSelector('#status[data-state=done]', { timeout: 8_000 });
  const result = await page.evaluate(() => {
    const status = document.getElementById('status') as HTMLElement;
    const records = [...document.querySelectorAll<HTMLElement>('#records li')].map((li) => ({
      id: li.dataset['id'] ?? '',
      ts: li.dataset['ts'] ?? '',
      key: li.dataset['key'] ?? '',
      value: li.dataset['value'] ?? '',
      text: li.textContent ?? '',
    }));
    const controls = [...document.querySelectorAll<HTMLElement>('#watermarks li')].map((li) => ({
      kind: li.dataset['kind'] ?? '',
      ts: li.dataset['ts'],
      idle: li.dataset['idle'],
      text: li.textContent ?? '',
    }));
    return { status: { ...status.dataset } as Record<string, string>, statusText: status.textContent ?? '', records, controls };
  });
  await page.close();
  return { ...result, pageErrors };
}

if (!hasChromium && !requireBrowser) {
  console.warn(`\n!!! test/playground.node.test.ts SKIPPED: ${missing}\n!!! Set TIDEWATER_REQUIRE_BROWSER=1 to make this a failure.\n`);
}

describe('playground (chromium, end to end)', () => {
  if (!hasChromium) {
    if (requireBrowser) {
      it('needs chromium (TIDEWATER_REQUIRE_BROWSER=1)', () => {
        expect.fail(missing);
      });
    } else {
      it.skip(`renders the pipeline (skipped: ${missing})`, () => {});
    }
    return;
  }

  const clicks = generateClicks();
  let outdir: string | undefined;
  let server: PlaygroundServer | undefined;
  let browser: Browser | undefined;
  let rendered: Rendered;
  let expected: StreamRecord<PageView, string>[];

  beforeAll(async () => {
    // Expected records from the same pipeline in Node; only watermarks/idleness depend on scheduler time.
    const elements = await firstValueFrom(clickPipeline(from(clicks)).pipe(toArray()));
    expected = elements.filter((e): e is StreamRecord<PageView, string> => e.kind === 'record');

    outdir = await mkdtemp(join(tmpdir(), 'tidewater-playground-'));
    server = await startServer(0, { outdir });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
    });
    rendered = await renderInChromium(server.url, browser);
  }, 20_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
  });

  it('completes without page errors and reports the counts', () => {
    expect(rendered.pageErrors).toEqual([]);
    const controlsOf = (kind: string) => rendered.controls.filter((c) => c.kind === kind).length;
    expect(rendered.status).toMatchObject({
      state: 'done',
      events: String(clicks.length),
      records: String(clicks.filter(isPageView).length),
      watermarks: String(controlsOf('watermark')),
      statuses: String(controlsOf('status')),
      lastWatermark: 'MAX',
    });
    expect(rendered.statusText).toMatch(/^done in [\d.]+ s: 60 events → 46 records/);
  });

  it('renders exactly the records the pipeline yields in Node, in order', () => {
    expect(expected).toHaveLength(clicks.filter(isPageView).length);
    expect(rendered.records).toHaveLength(expected.length);
    const asRendered = rendered.records.map((r) => ({ value: JSON.parse(r.value) as unknown, timestamp: Number(r.ts), key: r.key }));
    expect(asRendered).toEqual(expected.map((r) => ({ value: r.value, timestamp: r.timestamp, key: r.key })));
    // the visible text of the first rows, too
    expect(rendered.records.slice(0, 3).map((r) => r.text.replace(/(behind watermark|out of order)$/, ''))).toEqual(
      expected.slice(0, 3).map((r) => `#${r.value.id}${new Date(r.timestamp).toISOString().slice(11, 23)}${r.key}${JSON.stringify(r.value)}`),
    );
  });

  it('renders strictly increasing watermarks ending with MAX', () => {
    const wms = rendered.controls.filter((c) => c.kind === 'watermark');
    expect(wms.length).toBeGreaterThan(2);
    const ts = wms.map((w) => Number(w.ts));
    for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeGreaterThan(ts[i - 1] as number);
    expect(ts.at(-1)).toBe(MAX_WATERMARK);
    expect(wms.at(-1)?.text).toBe('MAX ∞');
    // every finite watermark lags the records seen so far (bounded out-of-orderness never overtakes max − bound − 1)
    const maxTs = Math.max(...expected.map((r) => r.timestamp), ...clicks.map((c) => c.at));
    for (const t of ts.slice(0, -1)) expect(t).toBeLessThan(maxTs);
  });

  it('renders idle/active status changes as alternating pairs (idle first)', () => {
    const statuses = rendered.controls.filter((c) => c.kind === 'status').map((c) => c.idle);
    statuses.forEach((idle, i) => expect(idle).toBe(i % 2 === 0 ? 'true' : 'false'));
  });
});
