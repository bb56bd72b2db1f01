/**
 * The browser project's global setup (runs in Node): a nats-server with a WebSocket listener for the browser tests of
 * tidewater/nats, its URL provided as `natsWsUrl` ('' when nats-server is not installed: the tests are skipped, or fail
 * under TIDEWATER_REQUIRE_NATS=1), stopped when the run ends.
 */
import type { TestProject } from 'vitest/node';
import { natsAvailable, startNatsServer } from './natsServer.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `ws://127.0.0.1:PORT` of the test nats-server, or '' when there is none. */
    natsWsUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!natsAvailable()) {
    project.provide('natsWsUrl', '');
    return async () => {};
  }
  const server = await startNatsServer({ websocket: true });
  project.provide('natsWsUrl', server.wsUrl ?? '');
  return () => server.stop();
}
