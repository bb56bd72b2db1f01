import { existsSync } from 'node:fs';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

import { chromiumArgs, chromiumPath as chromium } from './test/support/chromium.js';

// The longest tests (property tests, restores from every point) take 1–4 s alone; on a 2-core CI machine running
// both projects they can take several times that. The timeout is there to catch hangs, not to time them.
const testTimeout = 30_000;

const node: TestProjectInlineConfiguration = {
  test: {
    name: 'node',
    testTimeout,
    environment: 'node',
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.browser.test.ts'],
    // IndexedDB for Node tests only: in the browser project it would replace the real one
    setupFiles: ['fake-indexeddb/auto'],
  },
};

const browser: TestProjectInlineConfiguration = {
  // Every dependency a browser test imports, pre-bundled up front. Without the list, Vite finds one that its cache
  // (node_modules/.vite) lacks only when a test imports it, re-bundles and reloads the page mid-run: modules are then
  // loaded twice (e.g. two copies of RxJS's providers, so TestScheduler patches the other one) and tests flake.
  optimizeDeps: { include: ['rxjs', 'rxjs/testing', 'rxjs-marbles', 'fast-check', 'idb-keyval', 'level', 'msgpackr', '@nats-io/nats-core', '@nats-io/jetstream'] },
  test: {
    name: 'browser',
    // a nats-server with a WebSocket listener for test/nats.browser.test.ts (its URL provided as natsWsUrl)
    globalSetup: ['test/support/natsGlobalSetup.ts'],
    testTimeout,
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.node.test.ts'],
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      instances: [{ browser: 'chromium' }],
      provider: playwright({ launchOptions: { executablePath: chromium, args: chromiumArgs } }),
    },
  },
};

export default defineConfig({
  test: {
    projects: existsSync(chromium) && process.env.TIDEWATER_NO_BROWSER !== '1' ? [node, browser] : [node],
  },
});
