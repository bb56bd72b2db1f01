/**
 * A NATS server with JetStream for one test file: the Debian `nats-server` (NATS_SERVER_PATH, else on PATH), on free
 * loopback ports with a temporary store, started by `startNatsServer()` and stopped (store removed) by `stop()`.
 * `.ci/run` installs the package; without it the NATS tests are skipped with a banner, or fail when
 * TIDEWATER_REQUIRE_NATS=1 (set by `.ci/run`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The `nats-server` binary, or undefined when none is installed. */
export function natsServerPath(): string | undefined {
  const given = process.env.NATS_SERVER_PATH;
  if (given !== undefined) return given;
  for (const candidate of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  const r = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'nats-server' : undefined;
}

/** Whether the NATS tests run here (a banner says why not). */
export function natsAvailable(): boolean {
  if (natsServerPath() !== undefined) return true;
  const message = 'NO nats-server FOUND: the NATS JetStream tests are SKIPPED. Install it: sudo apt-get install -y nats-server (or set NATS_SERVER_PATH).';
  if (process.env.TIDEWATER_REQUIRE_NATS === '1') throw new Error(`${message} TIDEWATER_REQUIRE_NATS=1: failing.`);
  console.warn(`\n${'!'.repeat(78)}\n!! ${message}\n${'!'.repeat(78)}\n`);
  return false;
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A running server: its client URL, and how to stop it. */
export interface NatsServer {
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** `ws://127.0.0.1:PORT` when started with `{ websocket: true }` (what a browser connects to). */
  readonly wsUrl: string | undefined;
  /** Stops the server and removes its store. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), keeping its store, and starts it again on the same ports. */
  restart(): Promise<void>;
}

async function waitHealthy(monitor: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode} while starting:\n${log()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`nats-server did not become healthy within 20 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a JetStream server on free loopback ports with a temporary store; ready when it reports healthy. With
 * `websocket`, also a WebSocket listener (no TLS, loopback) for browsers.
 */
export async function startNatsServer(options: { websocket?: boolean } = {}): Promise<NatsServer> {
  const binary = natsServerPath();
  if (binary === undefined) throw new Error('nats-server is not installed (sudo apt-get install -y nats-server)');
  const dir = mkdtempSync(join(tmpdir(), 'tidewater-nats-'));
  const port = await freePort();
  const monitor = await freePort();
  const ws = options.websocket === true ? await freePort() : undefined;
  const args = ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)];
  if (ws !== undefined) {
    // (the WebSocket listener is set in a configuration file only)
    const conf = join(dir, 'nats.conf');
    writeFileSync(conf, `websocket {\n  host: "127.0.0.1"\n  port: ${ws}\n  no_tls: true\n}\n`);
    args.push('-c', conf);
  }
  let child: ChildProcess;
  let output = '';
  const launch = async (): Promise<void> => {
    output = '';
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitHealthy(monitor, child, () => output);
  };
  const kill = (signal: NodeJS.Signals): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    wsUrl: ws === undefined ? undefined : `ws://127.0.0.1:${ws}`,
    async stop() {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill('SIGKILL');
      await launch();
    },
  };
}
