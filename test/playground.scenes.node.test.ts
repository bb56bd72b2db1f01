/**
 * End to end: the playground's scenes (playground/scenes/) built with esbuild, served by `playground/serve.ts`, in
 * Debian's chromium (playwright-core). The event-time scene draws what its model (the real `eventTime` operator in a
 * harness, run here in Node too) yields for the settings in its URL; its controls change the drawing and the URL;
 * pause and step move processing time by hand; it fits a phone's width. No page errors.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type PlaygroundServer } from '../playground/serve.js';
import { DEFAULTS, EventTimeRun, type EventTimeParams } from '../playground/scenes/eventTimeModel.js';
import { WINDOW_DEFAULTS, WindowsRun, type WindowsParams } from '../playground/scenes/windowsModel.js';
import { checkpointsPipeline, sceneClicks } from '../playground/scenes/checkpointsModel.js';
import { STATE_DEFAULTS, StateRun } from '../playground/scenes/stateModel.js';
import { PARTITION_DEFAULTS, PartitionRun } from '../playground/scenes/partitionsModel.js';
import { fromArray, runJob, toArray } from '../src/index.js';
import { chromiumArgs, chromiumPath } from './support/chromium.js';

const hasChromium = existsSync(chromiumPath);
const requireBrowser = process.env.TIDEWATER_REQUIRE_BROWSER === '1';

/** What the model yields at the end for `params`. */
function expected(params: Partial<EventTimeParams>): { records: string; late: string; watermarks: string; idleSpells: string } {
  const f = new EventTimeRun({ ...DEFAULTS, ...params }).advanceTo(Infinity);
  return {
    records: String(f.records.length),
    late: String(f.records.filter((r) => r.late).length),
    watermarks: String(f.watermarks.length),
    idleSpells: String(f.statuses.filter(([, idle]) => idle).length),
  };
}

/** What the windows model yields at the end for `params`: firings, re-firings, late clicks, distinct windows fired. */
function expectedWindows(params: Partial<WindowsParams>): { fired: string; lateFirings: string; late: string; arrived: string; windows: number } {
  const f = new WindowsRun({ ...WINDOW_DEFAULTS, ...params }).advanceTo(Infinity);
  return {
    fired: String(f.firings.length),
    lateFirings: String(f.firings.filter((x) => x.late).length),
    late: String(f.arrived.filter((a) => a.late).length),
    arrived: String(f.arrived.length),
    windows: new Set(f.firings.map((x) => `${x.key}@${x.start}-${x.end}`)).size,
  };
}

describe.runIf(hasChromium || requireBrowser)('playground scenes (chromium, end to end)', () => {
  let server: PlaygroundServer;
  let browser: Browser;
  let outdir: string;
  const errors: string[] = [];

  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'tidewater-scenes-'));
    server = await startServer(0, { outdir });
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
  });

  const open = async (path: string, width = 1280): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${path}: ${m.text()}`);
    });
    await page.goto(new URL(path, server.url).href);
    return page;
  };
  const drawn = (page: Page) =>
    page.locator('#plot').evaluate((e) => {
      const d = (e as unknown as HTMLElement).dataset;
      return { records: d['records'], late: d['late'], watermarks: d['watermarks'], idleSpells: d['idleSpells'] };
    });

  it('event time: plots what the eventTime operator yields for the settings in the URL', async () => {
    const page = await open('event-time.html?speed=32');
    await page.waitForSelector('#scene[data-state=done]', { timeout: 15_000 });
    const defaults = expected({});
    expect(await drawn(page)).toStrictEqual(defaults);
    expect(Number(defaults.late)).toBeGreaterThan(0);
    expect(await page.locator('circle.rec').count()).toBe(Number(defaults.records));
    expect(await page.locator('circle.rec[data-late=true]').count()).toBe(Number(defaults.late));
    expect(await page.locator('path#watermark').getAttribute('d')).toMatch(/^M [\d.]+ [\d.]+ H/);
    await page.close();
    expect(errors).toStrictEqual([]);
  });

  it('event time: a control changes the URL and what is drawn (a wider bound: nothing late; an idle timeout: an idle spell)', async () => {
    const page = await open('event-time.html?speed=32');
    await page.locator('#bound').evaluate((input) => {
      (input as HTMLInputElement).value = '2000';
      input.dispatchEvent(new Event('change'));
    });
    expect(new URL(page.url()).searchParams.get('bound')).toBe('2000');
    await page.waitForSelector('#scene[data-state=done]', { timeout: 15_000 });
    expect(await drawn(page)).toStrictEqual(expected({ bound: 2000 }));
    expect(expected({ bound: 2000 }).late).toBe('0');
    await page.locator('#idle').evaluate((input) => {
      (input as HTMLInputElement).value = '1000';
      input.dispatchEvent(new Event('change'));
    });
    expect(new URL(page.url()).search).toBe('?bound=2000&interval=200&idle=1000&disorder=600&speed=32&seed=7');
    await page.waitForSelector('#scene[data-state=done]', { timeout: 15_000 });
    const idle = expected({ bound: 2000, idle: 1000 });
    expect(await drawn(page)).toStrictEqual(idle);
    expect(idle.idleSpells).toBe('1');
    expect(await page.locator('rect.idle').count()).toBe(1);
    await page.close();
    expect(errors).toStrictEqual([]);
  });

  it('event time: the strategy edited as code sets the scene (parsed, never evaluated); a bad one is refused with why', async () => {
    const page = await open('event-time.html?speed=32');
    expect(await page.locator('#strategy').inputValue()).toBe('boundedOutOfOrderness(300, { interval: 200 })');
    await page.locator('#strategy').fill('boundedOutOfOrderness(-5)');
    await page.locator('#strategy').press('Enter');
    expect(await page.locator('#strategy-error').textContent()).toBe('The bound -5 is outside 0–2000 ms here.');
    await page.locator('#strategy').fill('alert(1)');
    await page.locator('#strategy').press('Enter');
    expect(await page.locator('#strategy-error').textContent()).toBe('Write boundedOutOfOrderness(ms, { interval: ms, idleTimeout: ms }) or monotonousTimestamps({ interval: ms }).');
    // (what the library refuses, the page says in the library's words)
    await page.locator('#strategy').fill('monotonousTimestamps({ interval: 0, idleTimeout: 1000 })');
    await page.locator('#strategy').press('Enter');
    expect(await page.locator('#strategy-error').textContent()).toBe(
      'boundedOutOfOrderness: idleTimeout needs periodic emits (idleness is checked at each one, as in Flink); set interval > 0, e.g. { interval: 200 }.',
    );
    await page.locator('#strategy').fill('monotonousTimestamps({ interval: 100, idleTimeout: 1000 })');
    await Promise.all([page.waitForURL(/bound=0/), page.locator('#strategy').press('Enter')]);
    expect(new URL(page.url()).search).toBe('?bound=0&interval=100&idle=1000&disorder=600&speed=32&seed=7');
    await page.waitForSelector('#scene[data-state=done]', { timeout: 15_000 });
    expect(await drawn(page)).toStrictEqual(expected({ bound: 0, interval: 100, idle: 1000 }));
    expect(await page.locator('#strategy').inputValue()).toBe('boundedOutOfOrderness(0, { interval: 100, idleTimeout: 1000 })');
    await page.close();
    expect(errors).toStrictEqual([]);
  });

  it('event time: pause holds processing time, step delivers the next click', async () => {
    const page = await open('event-time.html?speed=0.25');
    await page.waitForFunction(() => Number((document.getElementById('plot') as unknown as HTMLElement).dataset['records']) > 0, undefined, { timeout: 15_000 });
    await page.locator('#play').click();
    expect(await page.locator('#scene').getAttribute('data-state')).toBe('paused');
    const before = await drawn(page);
    const now = await page.locator('#plot').getAttribute('data-now');
    await page.waitForTimeout(300);
    expect(await page.locator('#plot').getAttribute('data-now')).toBe(now);
    await page.locator('#step').click();
    const after = await drawn(page);
    expect(Number(after.records)).toBeGreaterThan(Number(before.records));
    await page.close();
    expect(errors).toStrictEqual([]);
  });

  it('event time: fits a phone (375 px wide) without scrolling sideways', async () => {
    const page = await open('event-time.html?speed=32', 375);
    await page.waitForSelector('#scene[data-state=done]', { timeout: 15_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.close();
    expect(errors).toStrictEqual([]);
  });

  const windowsDrawn = (page: Page) =>
    page.locator('#windows-plot').evaluate((e) => {
      const d = (e as unknown as HTMLElement).dataset;
      return { fired: d['fired'], lateFirings: d['lateFirings'], late: d['late'], arrived: d['arrived'] };
    });

  it('windows: draws the window operator\'s firings and late data for the settings in the URL', async () => {
    const page = await open('windows.html?speed=32');
    await page.waitForSelector('#scene[data-state=done]', { timeout: 15_000 });
    const { windows, ...want } = expectedWindows({});
    expect(await windowsDrawn(page)).toStrictEqual(want);
    expect(Number(want.late)).toBeGreaterThan(0);
    expect(await page.locator('rect.fired').count()).toBe(windows);
    expect(await page.locator('rect.pane').count()).toBe(0);
    expect(await page.locator('#late li').count()).toBe(Number(want.late));
    // (every fired window's count is on its box)
    const counts = await page.locator('rect.fired').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-count'))));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(Number(want.arrived) - Number(want.late));
    await page.close();
    expect(errors).toStrictEqual([]);
  });

  it('windows: allowed lateness turns the late click into a late firing; session windows from the menu', async () => {
    const page = await open('windows.html?speed=32');
    await page.locator('#lateness').evaluate((input) => {
      (input as HTMLInputElement).value = '1000';
      input.dispatchEvent(new Event('change'));
    });
    await page.waitForSelector('#scene[data-state=done]', { timeout: 15_000 });
    const lateness = expectedWindows({ lateness: 1000 });
    expect(await windowsDrawn(page)).toStrictEqual({ fired: lateness.fired, lateFirings: lateness.lateFirings, late: lateness.late, arrived: lateness.arrived });
    expect([lateness.late, Number(lateness.lateFirings) > 0]).toStrictEqual(['0', true]);
    expect(await page.locator('rect.fired.late-firing').count()).toBe(Number(lateness.lateFirings));
    await page.locator('#assigner').selectOption('session');
    expect(new URL(page.url()).searchParams.get('assigner')).toBe('session');
    expect(await page.locator('label[data-for=session]').isVisible()).toBe(true);
    expect(await page.locator('label[data-for=sliding]').isVisible()).toBe(false);
    await page.waitForSelector('#scene[data-state=done]', { timeout: 15_000 });
    const session = expectedWindows({ lateness: 1000, assigner: 'session' });
    expect(await windowsDrawn(page)).toStrictEqual({ fired: session.fired, lateFirings: session.lateFirings, late: session.late, arrived: session.arrived });
    expect(await page.locator('#code').textContent()).toContain('window(sessionWindows(1000), { allowedLateness: 1000, lateData: late })');
    await page.close();
    expect(errors).toStrictEqual([]);
  });

  it('windows: fits a phone (375 px wide) without scrolling sideways', async () => {
    const page = await open('windows.html?speed=32&assigner=sliding', 375);
    await page.waitForSelector('#scene[data-state=done]', { timeout: 15_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.close();
    expect(errors).toStrictEqual([]);
  });

  it('checkpoints: the crash button kills the job in its Web Worker, restore resumes it from IndexedDB, and the output is exactly the uninterrupted run\'s', async () => {
    const reference = toArray<unknown>();
    await runJob({ name: 'reference', source: fromArray(sceneClicks()), pipeline: checkpointsPipeline, sink: reference }).done;
    const page = await open('checkpoints.html?interval=200&delay=10');
    const progress = () => page.locator('#progress').evaluate((e) => ({ ...(e as HTMLElement).dataset }));
    await page.waitForFunction(() => Number((document.getElementById('progress') as HTMLElement).dataset['checkpoints']) >= 2, undefined, { timeout: 20_000 });
    await page.locator('#crash').click();
    expect(await page.locator('#scene').getAttribute('data-state')).toBe('crashed');
    const crashedAt = await progress();
    expect(crashedAt.crashes).toBe('1');
    // nothing moves while the worker is gone
    await page.waitForTimeout(300);
    expect((await progress()).offset).toBe(crashedAt.offset);
    await page.locator('#restore').click();
    await page.waitForSelector('#scene[data-state=done]', { timeout: 30_000 });
    const r = await page.locator('#result').evaluate((e) => ({ ...(e as HTMLElement).dataset }));
    expect(r.identical).toBe('true');
    expect(Number(r.restoredFrom)).toBeGreaterThanOrEqual(2);
    expect([r.results, r.expected]).toStrictEqual([String(reference.values.length), String(reference.values.length)]);
    expect(await page.locator('#output li').count()).toBe(reference.values.length);
    expect(await page.locator('#log li.restore').allTextContents()).toStrictEqual([`restored checkpoint ${r.restoredFrom}: reading on from its offset`, 'started from the beginning']);
    await page.close();
    expect(errors).toStrictEqual([]);
  }, 60_000);

  it('keyed state: the table shows each user\'s state and timers as the harness reads them; sessions close as timers fire', async () => {
    const page = await open('state.html?timeout=1000&speed=0.5');
    // paused, stepped through 20 clicks: the state the model holds at the same processing time
    await page.locator('#play').click();
    for (let i = 0; i < 20; i++) await page.locator('#step').click();
    const now = Number(await page.locator('#state-table').getAttribute('data-now'));
    const mid = new StateRun({ ...STATE_DEFAULTS, timeout: 1000 }).advanceTo(now);
    const rows = await page.locator('#state-table tbody tr').evaluateAll((trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })));
    expect(rows).toStrictEqual(mid.rows.map((r) => ({ user: r.user, count: r.count === undefined ? '' : String(r.count), timers: r.timers.join(',') })));
    expect(rows.some((r) => r.count !== '')).toBe(true);
    // to the end: every session closed, no state left
    await page.locator('#play').click();
    await page.locator('#speed').evaluate((input) => {
      (input as HTMLInputElement).value = '32';
      input.dispatchEvent(new Event('change'));
    });
    await page.waitForSelector('#scene[data-state=done]', { timeout: 20_000 });
    const end = new StateRun({ ...STATE_DEFAULTS, timeout: 1000 }).advanceTo(Infinity);
    expect(await page.locator('#closed li').count()).toBe(end.closed.length);
    expect(await page.locator('#state-table tbody tr[data-count=""]').count()).toBe(4);
    expect(new URL(page.url()).searchParams.get('timeout')).toBe('1000');
    await page.close();
    expect(errors).toStrictEqual([]);
  }, 60_000);

  it('partitioning: each record reaches the subtask owning its key group (round robin: in turn); key groups follow maxParallelism', async () => {
    const page = await open('partitions.html?speed=32');
    await page.waitForSelector('#scene[data-state=done]', { timeout: 20_000 });
    const model = new PartitionRun(PARTITION_DEFAULTS);
    const end = model.advanceTo(Infinity);
    const counts = () => page.locator('.subtask').evaluateAll((cols) => cols.map((c) => Number((c as HTMLElement).dataset['records'])));
    expect(await counts()).toStrictEqual(end.subtasks.map((r) => r.length));
    const chips = await page.locator('.chip').evaluateAll((cs) => cs.map((c) => [(c as HTMLElement).dataset['key'] as string, Number((c as HTMLElement).dataset['partition'])] as const));
    expect(chips.length).toBeGreaterThan(0);
    for (const [key, partition] of chips) expect([key, partition]).toStrictEqual([key, model.ownerOf(key)]);
    expect(await page.locator('.group').count()).toBe(16);
    await page.locator('#partitioner').selectOption('round-robin');
    await page.waitForSelector('#scene[data-state=done]', { timeout: 20_000 });
    expect(new URL(page.url()).searchParams.get('roundRobin')).toBe('1');
    expect(await counts()).toStrictEqual([40, 40, 40]);
    await page.locator('#maxParallelism').selectOption('32');
    await page.waitForSelector('#scene[data-state=done]', { timeout: 20_000 });
    expect(await page.locator('.group').count()).toBe(32);
    expect(await page.locator('.subtask').evaluateAll((cols) => cols.map((c) => `${(c as HTMLElement).dataset['first']}–${(c as HTMLElement).dataset['last']}`))).toStrictEqual(['0–10', '11–21', '22–31']);
    await page.close();
    expect(errors).toStrictEqual([]);
  }, 60_000);

  it('every page fits a phone (375 px wide) without scrolling sideways', async () => {
    for (const path of ['index.html', 'state.html?speed=32', 'checkpoints.html?delay=5', 'partitions.html?speed=32']) {
      const page = await open(path, 375);
      await page.waitForTimeout(500);
      expect([path, await page.evaluate(() => document.documentElement.scrollWidth <= 375)]).toStrictEqual([path, true]);
      await page.close();
    }
    expect(errors).toStrictEqual([]);
  });
});
