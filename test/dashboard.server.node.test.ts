/**
 * `serveDashboard`'s server without a browser: its options checked, a request it cannot parse answered (not thrown
 * into the job's process), nothing left running when it cannot listen, and a page that stops reading dropped instead
 * of buffered without bound.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, type Job } from '../src/index.js';
import { serveDashboard } from '../src/dashboard/index.js';

/** A job that runs forever: its `metrics()` counted, its checkpoints a Subject. */
function fakeJob(operators: Record<string, unknown> = {}): { job: Job<unknown>; calls: () => number; checkpoints$: Subject<unknown> } {
  let calls = 0;
  const checkpoints$ = new Subject<unknown>();
  const job = {
    metrics: () => {
      calls++;
      return { recordsIn: 0, recordsOut: 0, checkpointsCompleted: 0, operators };
    },
    checkpoints$,
    done: new Promise(() => undefined),
  } as unknown as Job<unknown>;
  return { job, calls: () => calls, checkpoints$ };
}

/**
 * Sends `request` raw on a socket and reads what comes back until the server closes the connection (`closed`), or
 * `timeoutMs` passed. `stallMs`: after the first chunk, reads nothing for that long, then reads on.
 */
function rawRequest(port: number, request: string, { timeoutMs = 2_000, stallMs }: { timeoutMs?: number; stallMs?: number } = {}): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (b) => (reply += b.toString()));
    if (stallMs !== undefined) {
      socket.once('data', () => {
        socket.pause();
        setTimeout(() => socket.resume(), stallMs);
      });
    }
    socket.on('close', () => resolve({ reply, closed: true }));
    socket.on('error', () => resolve({ reply, closed: true }));
    setTimeout(() => {
      socket.destroy();
      resolve({ reply, closed: false });
    }, timeoutMs);
  });
}

describe('serveDashboard: the server', () => {
  it('refuses an intervalMs that is not a positive number of ms within a timer’s range, and a keep that is not a positive integer', async () => {
    const { job } = fakeJob();
    for (const intervalMs of [0, -5, NaN, Infinity, 2 ** 31]) {
      const e = await serveDashboard(job, { intervalMs }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ConfigurationError);
      expect((e as Error).message).toBe(`serveDashboard: intervalMs ${String(intervalMs)} must be a positive number of ms, at most 2147483647 (a timer's longest delay).`);
    }
    for (const keep of [0, -1, 1.5, NaN]) {
      const e = await serveDashboard(job, { keep }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ConfigurationError);
      expect((e as Error).message).toBe(`serveDashboard: keep ${String(keep)} must be a positive integer (the readings a page gets when it connects).`);
    }
  });

  it('answers a request target it cannot parse with 400, and goes on serving', async () => {
    const { job } = fakeJob();
    const dashboard = await serveDashboard(job, { intervalMs: 60_000 });
    try {
      const port = Number(new URL(dashboard.url).port);
      const { reply: bad } = await rawRequest(port, 'GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(bad.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      const page = await fetch(dashboard.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>job · tidewater</title>');
    } finally {
      await dashboard.close();
    }
  });

  it('leaves nothing running when it cannot listen (the port is taken)', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const { job, calls, checkpoints$ } = fakeJob();
      const e = await serveDashboard(job, { port, intervalMs: 5 }).catch((err: unknown) => err);
      expect((e as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
      const before = calls();
      await sleep(100);
      expect([calls() - before, checkpoints$.observed]).toStrictEqual([0, false]);
    } finally {
      blocker.close();
    }
  });

  it('tells the page in its hello how many readings to keep (the page capped them at 600 whatever keep was)', async () => {
    const { job } = fakeJob();
    const dashboard = await serveDashboard(job, { intervalMs: 5, keep: 3 });
    try {
      await sleep(60); // (more than 3 readings taken by now)
      const port = Number(new URL(dashboard.url).port);
      const { reply } = await rawRequest(port, 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 300 });
      const hello = JSON.parse(/data: (.*)/.exec(reply)?.[1] ?? 'null') as { type: string; keep: number; samples: unknown[] };
      expect([hello.type, hello.keep, hello.samples.length]).toStrictEqual(['hello', 3, 3]);
    } finally {
      await dashboard.close();
    }
  });

  it('drops a page that stops reading once its backlog passes the limit, and goes on serving the others', async () => {
    // ≈ 400 KB a reading, one every 5 ms: a client that reads nothing falls megabytes behind within a second
    const operators: Record<string, unknown> = {};
    for (let i = 0; i < 4_000; i++) operators[`operator-${'x'.repeat(60)}-${i}`] = { watermark: i, recordsIn: i, recordsOut: i };
    const { job } = fakeJob(operators);
    const dashboard = await serveDashboard(job, { intervalMs: 5, keep: 1 });
    try {
      const port = Number(new URL(dashboard.url).port);
      // reads the first chunk, then nothing for a second; then reads on: the server has dropped it by then, so what
      // it had sent drains and the connection ends (a stream it still fed would stay open)
      const { closed } = await rawRequest(port, 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n', { stallMs: 1_000, timeoutMs: 8_000 });
      expect(closed).toBe(true);
      expect((await fetch(dashboard.url)).status).toBe(200);
    } finally {
      await dashboard.close();
    }
  });
});
