/**
 * `npm run playground`: builds the playground, serves it on localhost and prints the URL.
 * The port comes from `PORT` (default 5173; `PORT=0` picks a free one).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildPlayground } from './build.js';

/** The default port, Vite's, so the URL looks familiar. */
const DEFAULT_PORT = 5173;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Options for {@link startServer}. */
export interface ServerOptions {
  /** Directory to build into and serve (default `playground/dist`, resolved against the working directory). */
  readonly outdir?: string;
  /** Build before serving (default true); `false` serves what `outdir` already holds. */
  readonly build?: boolean;
}

/** A running playground server. */
export interface PlaygroundServer {
  /** The page's URL, e.g. `http://127.0.0.1:5173/`. */
  readonly url: string;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

async function serveFile(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, 'method not allowed\n');
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    send(res, 400, 'bad request\n');
    return;
  }
  if (pathname.endsWith('/')) pathname += 'index.html';
  const file = resolve(root, `.${pathname}`);
  if (file !== root && !file.startsWith(root + sep)) {
    send(res, 403, 'forbidden\n');
    return;
  }
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    send(res, 404, `not found: ${pathname}\n`);
    return;
  }
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': info.size,
    'cache-control': 'no-store',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

/**
 * Builds the playground (unless `options.build === false`) and serves it on 127.0.0.1. `port` defaults to
 * {@link portFromEnv} (`PORT`, else 5173); 0 picks a free port. The returned `url` has the real port.
 *
 * @example
 * ```ts
 * import { startServer } from './playground/serve.js';
 *
 * const server = await startServer(0, { outdir: '/tmp/playground' });
 * console.log(server.url); // http://127.0.0.1:40123/
 * await server.close();
 * ```
 */
export async function startServer(port: number = portFromEnv(), options: ServerOptions = {}): Promise<PlaygroundServer> {
  const root = options.build === false ? resolve(options.outdir ?? 'playground/dist') : await buildPlayground(options.outdir);
  const server = createServer((req, res) => {
    serveFile(root, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      ok();
    });
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}/`,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.close((err) => (err === undefined ? ok() : fail(err)));
        server.closeAllConnections();
      }),
  };
}

/**
 * The port to listen on: `PORT` from the environment (an integer 0–65535), else 5173.
 *
 * @example
 * ```ts
 * portFromEnv({ PORT: '8080' }); // 8080
 * portFromEnv({});               // 5173
 * ```
 */
export function portFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['PORT'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`playground: PORT=${JSON.stringify(raw)} is not a port; use an integer 0–65535 (0 = any free port).`);
  }
  return port;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const server = await startServer(portFromEnv());
  console.log(`tidewater playground: ${server.url}`);
  const stop = (): void => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
