/**
 * `serveDashboard`'s server without a browser: its options checked, a request it cannot parse answered (not thrown
 * into the job's process), nothing left running when it cannot listen, and a page that stops reading dropped instead
 * of buffered without bound.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Subject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
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

/** `n` operators' figures under long names (≈ 100 bytes each as JSON): large readings. */
function manyOperators(n: number): Record<string, unknown> {
  const operators: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) operators[`operator-${'x'.repeat(60)}-${i}`] = { watermark: i, recordsIn: i, recordsOut: i };
  return operators;
}

/**
 * Sends `request` raw on a socket and reads what comes back until the server closes the connection (`closed`), or
 * `timeoutMs` passed. `stallMs`: after the first chunk, reads nothing for that long, then reads on.
 */
function rawRequest(port: number, request: string, { timeoutMs = 2_000, stallMs, host = '127.0.0.1' }: { timeoutMs?: number; stallMs?: number; host?: string } = {}): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = net.connect(port, host, () => socket.write(request));
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
      const { reply: bad } = await rawRequest(port, 'GET http://[ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
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
      const { reply } = await rawRequest(port, 'GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n', { timeoutMs: 300 });
      const hello = JSON.parse(/data: (.*)/.exec(reply)?.[1] ?? 'null') as { type: string; keep: number; samples: unknown[] };
      expect([hello.type, hello.keep, hello.samples.length]).toStrictEqual(['hello', 3, 3]);
    } finally {
      await dashboard.close();
    }
  });

  it('refuses a port, host, name or option it cannot use, and what is not a job, before it listens', async () => {
    const { job, calls } = fakeJob();
    const refused = async (f: () => Promise<unknown>, message: string): Promise<void> => {
      const e = await f().catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ConfigurationError);
      expect((e as Error).message).toBe(message);
    };
    await refused(() => serveDashboard(job, { port: '8081' as never }), 'serveDashboard: port "8081" must be an integer from 0 (a free one) to 65535; a port read from the environment is a string: Number(process.env.PORT).');
    await refused(() => serveDashboard(job, { port: 70_000 }), 'serveDashboard: port 70000 must be an integer from 0 (a free one) to 65535; a port read from the environment is a string: Number(process.env.PORT).');
    await refused(() => serveDashboard(job, { host: '' }), "serveDashboard: host \"\" must be an address to listen on, e.g. '127.0.0.1' (this machine only, the default) or '0.0.0.0'.");
    await refused(() => serveDashboard(job, { name: 42 as never }), "serveDashboard: name 42 must be a string (the job's name on the page).");
    await refused(() => serveDashboard(job, { intervalMS: 10 } as never), 'serveDashboard: no option "intervalMS" in the options — did you mean "intervalMs"? The options: port, host, allowedHosts, name, intervalMs, keep.');
    await refused(() => serveDashboard(job, { allowedHosts: 'dash.example' as never }), "serveDashboard: allowedHosts \"dash.example\" must be an array of host names, e.g. ['dashboard.example.com'].");
    await refused(() => serveDashboard(Promise.resolve(job) as never), 'serveDashboard: Promise {} is not a job; give what runJob returned: serveDashboard(runJob({ … })).');
    expect(calls()).toBe(0);
  });

  it('answers GET and HEAD only, and on this machine only for a host that names it (not a page of another site a DNS name points here)', async () => {
    const { job } = fakeJob();
    const dashboard = await serveDashboard(job, { intervalMs: 60_000 });
    try {
      const port = Number(new URL(dashboard.url).port);
      const status = async (request: string) => (await rawRequest(port, request)).reply.split('\r\n')[0];
      expect(await status('POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')).toBe('HTTP/1.1 405 Method Not Allowed');
      expect(await status('OPTIONS /events HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 405 Method Not Allowed');
      expect(await status('GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 421 Misdirected Request');
      expect(await status('GET /events HTTP/1.1\r\nHost: evil.example:' + port + '\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 421 Misdirected Request');
      // a loopback address in brackets followed by anything but a port names another host
      for (const host of [`[::1]evil.example`, `[::1].evil.example:${port}`, `[::1]:${port}x`, `localhost:${port}:${port}`, `[::1`, `::1]`, '127.0.0.999', '[::2]', '128.0.0.1']) {
        expect(await status(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`), host).toBe('HTTP/1.1 421 Misdirected Request');
      }
      // (an address in any form a URL may write it: `127.1`, `[0::1]`, as curl sends them)
      for (const host of [`127.0.0.1:${port}`, 'localhost', `[::1]:${port}`, `LOCALHOST:${port}`, 'localhost.', '[::ffff:7f00:1]', '[::ffff:127.0.0.1]', `127.1:${port}`, '[0::1]', `[0:0::1]:${port}`]) {
        expect(await status(`HEAD / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`), host).toBe('HTTP/1.1 200 OK');
      }
      // (an HTTP/1.0 tool on this machine sends no Host; a browser always does)
      expect(await status('GET / HTTP/1.0\r\n\r\n')).toBe('HTTP/1.1 200 OK');
      // a name a reverse proxy on this machine passes on, when allowed
      const proxied = await serveDashboard(job, { intervalMs: 60_000, allowedHosts: ['Dash.Example.'] });
      try {
        const proxiedPort = Number(new URL(proxied.url).port);
        expect((await rawRequest(proxiedPort, 'GET / HTTP/1.1\r\nHost: dash.example:443\r\nConnection: close\r\n\r\n')).reply.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
        expect((await rawRequest(proxiedPort, 'GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n')).reply.split('\r\n')[0]).toBe('HTTP/1.1 421 Misdirected Request');
      } finally {
        await proxied.close();
      }
      // bound to the loopback however written, the check holds
      const other = await serveDashboard(job, { intervalMs: 60_000, host: '0:0:0:0:0:0:0:1' });
      try {
        const otherPort = Number(new URL(other.url).port);
        expect((await rawRequest(otherPort, 'GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n', { host: '::1' })).reply.split('\r\n')[0]).toBe('HTTP/1.1 421 Misdirected Request');
      } finally {
        await other.close();
      }
    } finally {
      await dashboard.close();
    }
  });

  it("figures it cannot send (a bigint) are left out with one warning, not thrown from its timer into the job's process", async () => {
    const { job } = fakeJob({ odd: { watermark: 0, bytes: 10n } });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const dashboard = await serveDashboard(job, { intervalMs: 5, keep: 3 });
    try {
      await sleep(50);
      const port = Number(new URL(dashboard.url).port);
      const { reply } = await rawRequest(port, 'GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n', { timeoutMs: 200 });
      const hello = JSON.parse(/data: (.*)/.exec(reply)?.[1] ?? 'null') as { type: string; samples: unknown[] };
      expect([hello.type, hello.samples.length]).toStrictEqual(['hello', 0]);
      expect(warn.mock.calls.map((c) => String(c[0]))).toStrictEqual([
        "serveDashboard(job): reading the job's figures failed, and readings that fail are left out: Do not know how to serialize a BigInt",
      ]);
    } finally {
      warn.mockRestore();
      await dashboard.close();
    }
  });

  it('closes while a connection that sent no whole request is open (close() waited for it for ever)', async () => {
    const { job } = fakeJob();
    const dashboard = await serveDashboard(job, { intervalMs: 60_000 });
    const port = Number(new URL(dashboard.url).port);
    const bare = net.connect(port, '127.0.0.1');
    const half = net.connect(port, '127.0.0.1', () => half.write('GET /eve'));
    await sleep(50);
    const closed = await Promise.race([dashboard.close().then(() => 'closed'), sleep(2_000).then(() => 'still waiting')]);
    bare.destroy();
    half.destroy();
    expect(closed).toBe('closed');
  });

  it('a page on a slow link gets its hello when the history passes the backlog limit (it was dropped and reconnected for ever)', async () => {
    // ≈ 110 KB a reading, 60 kept: a hello of ≈ 6.6 MB, above the 4 MB a page may leave unread
    const { job } = fakeJob(manyOperators(1_100));
    const dashboard = await serveDashboard(job, { intervalMs: 10, keep: 60 });
    try {
      await sleep(800);
      const port = Number(new URL(dashboard.url).port);
      // reads the first chunk, then nothing for 200 ms (readings were sent meanwhile), then reads on
      const { reply, closed } = await rawRequest(port, 'GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n', { stallMs: 200, timeoutMs: 3_000 });
      const types = [...reply.matchAll(/data: \{"type":"(\w+)"/g)].map((m) => m[1]);
      expect(closed).toBe(false);
      expect(types[0]).toBe('hello');
      expect(types.slice(1).length).toBeGreaterThan(0);
    } finally {
      await dashboard.close();
    }
  });

  it('drops a page that stops reading once its backlog passes the limit, and goes on serving the others', async () => {
    // ≈ 400 KB a reading, one every 5 ms: a client that reads nothing falls megabytes behind within a second
    const { job } = fakeJob(manyOperators(4_000));
    const dashboard = await serveDashboard(job, { intervalMs: 5, keep: 1 });
    try {
      const port = Number(new URL(dashboard.url).port);
      // reads the first chunk, then nothing for a second; then reads on: the server has dropped it by then, so what
      // it had sent drains and the connection ends (a stream it still fed would stay open)
      const { closed } = await rawRequest(port, 'GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n', { stallMs: 1_000, timeoutMs: 8_000 });
      expect(closed).toBe(true);
      expect((await fetch(dashboard.url)).status).toBe(200);
    } finally {
      await dashboard.close();
    }
  });
});
