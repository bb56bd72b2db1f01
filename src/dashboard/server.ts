import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isObservable, type Subscription } from 'rxjs';
import { ConfigurationError, describeFailure, describeValue } from '../errors/index.js';
import { checkOptionKeys } from '../errors/options.js';
import type { Job } from '../jobs/types.js';
import { dashboardJson, type DashboardCheckpoint, type DashboardJobState, type DashboardMessage, type DashboardSample } from './protocol.js';

/**
 * Options of {@link serveDashboard}.
 *
 * @example
 * ```ts
 * const options: DashboardOptions = { port: 8081, name: 'clicks' };
 * ```
 */
export interface DashboardOptions {
  /** The port (default 0: a free one; the URL says which). */
  readonly port?: number;
  /**
   * The address to listen on (default `127.0.0.1`: this machine only). Listening on this machine only, it answers
   * only requests whose Host header names it (`localhost`, `127.0.0.1`, `[::1]`): a page of another site that a DNS
   * name points here reads nothing (DNS rebinding).
   */
  readonly host?: string;
  /**
   * More Host names it answers for while listening on this machine only: those a reverse proxy on this machine passes
   * on (e.g. `['dashboard.example.com']`).
   */
  readonly allowedHosts?: readonly string[];
  /** The job's name on the page (default `job`). */
  readonly name?: string;
  /** How often the job's figures are read (default 1 000 ms; at most 2³¹ − 1). */
  readonly intervalMs?: number;
  /** Readings kept for the charts, a positive integer (default 600). */
  readonly keep?: number;
}

/**
 * A running dashboard: its URL and how to stop it.
 *
 * @example
 * ```ts
 * const dashboard = await serveDashboard(job);
 * console.log(`dashboard: ${dashboard.url}`);
 * await dashboard.close();
 * ```
 */
export interface Dashboard {
  readonly url: string;
  close(): Promise<void>;
}

/** The page's script and style: built next to this module (`dist/`), or bundled from the sources when run from them. */
async function pageAssets(): Promise<{ js: string; css: string }> {
  const built = new URL('./dashboard-page.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) {
    return { js: readFileSync(built, 'utf8'), css: readFileSync(new URL('./dashboard-page.css', import.meta.url), 'utf8') };
  }
  // (from the sources, with the repository's esbuild: a development dependency)
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: 'out',
    logLevel: 'warning',
  });
  const text = (ext: string): string => out.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { js: text('.js'), css: text('.css') };
}

/** Refuses what is not a job (what `runJob` returns), before anything listens. */
function checkJob(job: unknown): void {
  const j = job as Partial<Job<unknown>> | null;
  if (typeof j !== 'object' || j === null || typeof j.metrics !== 'function' || !isObservable(j.checkpoints$) || typeof (j.done as { then?: unknown } | undefined)?.then !== 'function') {
    throw new ConfigurationError('serveDashboard', job, `serveDashboard: ${describeValue(job)} is not a job; give what runJob returned: serveDashboard(runJob({ … })).`);
  }
}

/**
 * Whether a request's Host header names this machine (localhost, 127.x.y.z, ::1, in any form a URL parser reads as
 * them; any case, a trailing dot, a port),
 * or is one of the `allowed` names (lower case, without a trailing dot).
 * No Host header (an HTTP/1.0 tool on this machine) passes: a browser always sends one.
 */
function isLoopbackHost(host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (host === undefined) return true;
  // a name, or an IPv6 address in brackets, then perhaps a port: anything else (`[::1]evil.example`) names no one here
  const parts = /^(\[[^\]]*\]|[^[\]:]*)(?::\d*)?$/.exec(host.toLowerCase());
  if (parts === null) return false;
  const name = (parts[1] as string).replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost') || allowed.has(name)) return true;
  // an address as a URL's parser reads it (`127.1`, `[0::1]`: what curl sends as typed), else no address here
  let address: string;
  try {
    address = new URL(`http://${name}/`).hostname;
  } catch {
    return false;
  }
  return isLoopbackAddress(address.replace(/^\[|\]$/g, ''));
}

/** Whether an address (as a listening server reports it, or a Host header names it) is this machine's loopback. */
function isLoopbackAddress(address: string): boolean {
  // (IPv4-mapped 127.x.y.z: as written, or in hex as URLs write it, `::ffff:7f00:1`)
  return /^127(\.\d{1,3}){3}$/.test(address) || address === '::1' || address === '0:0:0:0:0:0:0:1' || /^::ffff:(127(\.\d{1,3}){3}|7f[0-9a-f]{2}:[0-9a-f]{1,4})$/.test(address);
}

/** The longest `intervalMs`: a Node timer's longest delay (2³¹ − 1 ms); longer ones fire after 1 ms. */
const MAX_INTERVAL_MS = 2 ** 31 - 1;

/** Bytes a page may leave unread before it is disconnected (see `send`). */
const CLIENT_BACKLOG_BYTES = 4 * 1024 * 1024;

const HTML = (name: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name.replace(/[<&"]/g, '')} · tidewater</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="page.css">
</head>
<body>
<main id="app" data-state="connecting"></main>
<script type="module" src="page.js"></script>
</body>
</html>
`;

/**
 * Serves a live page for a running job (Flink's web UI for one job, on the job's own process): its stateful
 * operators in pipeline order with records in and out, watermark, state entries and late records (and, for parallel
 * operators, each subtask); charts of throughput, watermarks and checkpoints (uPlot); the checkpoint history
 * (duration, size, full or incremental, savepoints, the checkpoint it restored from). The page gets its data over
 * Server-Sent Events: the server reads `job.metrics()` every `intervalMs` and follows `job.checkpoints$`. Node only
 * (`tidewater/dashboard`).
 *
 * @example
 * ```ts
 * import { serveDashboard } from 'tidewater/dashboard';
 * const job = runJob({ name: 'clicks', source, pipeline, checkpoint: { intervalMs: 1_000, store } });
 * const dashboard = await serveDashboard(job, { name: 'clicks' });
 * console.log(`dashboard: ${dashboard.url}`);
 * await job.done;
 * await dashboard.close();
 * ```
 */
export async function serveDashboard(job: Job<unknown>, options: DashboardOptions = {}): Promise<Dashboard> {
  checkJob(job);
  checkOptionKeys('serveDashboard', 'the options', options, ['port', 'host', 'allowedHosts', 'name', 'intervalMs', 'keep']);
  const allowedHosts = options.allowedHosts ?? [];
  if (!Array.isArray(allowedHosts) || !allowedHosts.every((h) => typeof h === 'string' && h !== '')) {
    throw new ConfigurationError('serveDashboard', allowedHosts, `serveDashboard: allowedHosts ${describeValue(allowedHosts)} must be an array of host names, e.g. ['dashboard.example.com'].`);
  }
  const allowed = new Set(allowedHosts.map((h) => h.toLowerCase().replace(/\.$/, '')));
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigurationError('serveDashboard', port, `serveDashboard: port ${describeValue(port)} must be an integer from 0 (a free one) to 65535; a port read from the environment is a string: Number(process.env.PORT).`);
  }
  const listenHost = options.host ?? '127.0.0.1';
  if (typeof listenHost !== 'string' || listenHost === '') {
    throw new ConfigurationError('serveDashboard', listenHost, `serveDashboard: host ${describeValue(listenHost)} must be an address to listen on, e.g. '127.0.0.1' (this machine only, the default) or '0.0.0.0'.`);
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw new ConfigurationError('serveDashboard', options.name, `serveDashboard: name ${describeValue(options.name)} must be a string (the job's name on the page).`);
  }
  const intervalMs = options.intervalMs ?? 1_000;
  if (!(intervalMs > 0 && intervalMs <= MAX_INTERVAL_MS)) {
    throw new ConfigurationError('serveDashboard', intervalMs, `serveDashboard: intervalMs ${describeValue(intervalMs)} must be a positive number of ms, at most ${MAX_INTERVAL_MS} (a timer's longest delay).`);
  }
  const keep = options.keep ?? 600;
  if (!Number.isInteger(keep) || keep < 1) {
    throw new ConfigurationError('serveDashboard', keep, `serveDashboard: keep ${describeValue(keep)} must be a positive integer (the readings a page gets when it connects).`);
  }
  const name = options.name ?? 'job';
  const assets = await pageAssets();
  const samples: DashboardSample[] = [];
  const checkpoints: DashboardCheckpoint[] = [];
  let state: DashboardJobState = { state: 'running' };
  /** The pages connected, each with the size of its hello still allowed in its backlog (0 once it drained). */
  const clients = new Map<ServerResponse, number>();
  /** A message as one Server-Sent Event. */
  const eventOf = (m: DashboardMessage): string => `data: ${JSON.stringify(m, dashboardJson)}\n\n`;
  const send = (line: string): void => {
    for (const [c, hello] of clients) {
      // a page that stops reading (a frozen tab, a stuck proxy) is dropped once its backlog passes the limit, rather
      // than buffered without bound: its EventSource reconnects and starts again from a fresh hello. The hello itself
      // (the history, which may pass the limit) is allowed on top until it drained: else a slow link never got past it
      if (!c.write(line) && c.writableLength > CLIENT_BACKLOG_BYTES + hello) {
        clients.delete(c);
        c.destroy();
      } else if (hello > 0 && c.writableLength <= CLIENT_BACKLOG_BYTES) clients.set(c, 0);
    }
  };
  let sampleFailed = false;
  const sample = (): void => {
    // (on a timer: a failure here would be thrown into the job's process)
    try {
      const s: DashboardSample = { at: Date.now(), metrics: job.metrics() };
      // (made first: what cannot be sent is not kept either)
      const line = eventOf({ type: 'sample', sample: s });
      samples.push(s);
      if (samples.length > keep) samples.splice(0, samples.length - keep);
      send(line);
    } catch (err) {
      if (!sampleFailed) console.warn(`serveDashboard(${name}): reading the job's figures failed, and readings that fail are left out: ${describeFailure(err)}`);
      sampleFailed = true;
    }
  };

  /** Whether the server listens on this machine's loopback only (the address it bound, however `host` wrote it). */
  let loopbackOnly = true;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' });
      res.end('method not allowed\n');
      return;
    }
    // a page of another site that a DNS name made point here (DNS rebinding) names that site as the host: refused
    // while the dashboard listens on this machine only
    if (loopbackOnly && !isLoopbackHost(req.headers.host, allowed)) {
      res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('this dashboard answers for localhost only\n');
      return;
    }
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      // a request target the URL parser refuses (`http://[`): answered, not thrown into the job's process
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('bad request\n');
      return;
    }
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      const text = eventOf({ type: 'hello', job: name, samples, checkpoints, job_state: state, keep });
      res.write(text);
      clients.set(res, Buffer.byteLength(text));
      req.on('close', () => clients.delete(res));
      return;
    }
    const files: Record<string, [string, string]> = {
      '/': ['text/html; charset=utf-8', HTML(name)],
      '/page.js': ['text/javascript; charset=utf-8', assets.js],
      '/page.css': ['text/css; charset=utf-8', assets.css],
    };
    const file = files[path];
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' });
    res.end(file[1]);
  };
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, listenHost, () => resolve());
  });
  loopbackOnly = isLoopbackAddress((server.address() as AddressInfo).address);
  // (reading the job starts once the server listens: a server that fails to start leaves nothing running)
  const subs: Subscription[] = [];
  subs.push(
    job.checkpoints$.subscribe({
      next: (c) => {
        const cp: DashboardCheckpoint = { ...c, at: Date.now() };
        checkpoints.push(cp);
        if (checkpoints.length > 200) checkpoints.shift();
        send(eventOf({ type: 'checkpoint', checkpoint: cp }));
      },
      error: () => undefined,
    }),
  );
  const timer = setInterval(sample, intervalMs);
  timer.unref?.();
  sample();
  job.done.then(
    (s) => {
      clearInterval(timer);
      sample();
      state = { state: s.state };
      send(eventOf({ type: 'state', job_state: state }));
    },
    (e: unknown) => {
      clearInterval(timer);
      state = { state: 'failed', error: e instanceof Error ? e.message : String(e) };
      send(eventOf({ type: 'state', job_state: state }));
    },
  );
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    close: async () => {
      clearInterval(timer);
      for (const s of subs) s.unsubscribe();
      for (const c of clients.keys()) c.end();
      clients.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // (a connection that sent no whole request would keep close() waiting: the server no longer times it out)
      server.closeAllConnections();
      await closed;
    },
  };
}
