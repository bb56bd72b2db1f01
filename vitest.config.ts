import { existsSync } from 'node:fs';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/** Chromium for the browser project: CHROMIUM_PATH, else Debian's /usr/bin/chromium (see scripts/test.mjs). */
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const node: TestProjectInlineConfiguration = {
  test: {
    name: 'node',
    environment: 'node',
    include: ['test/**/*.test.ts'],
  },
};

const browser: TestProjectInlineConfiguration = {
  test: {
    name: 'browser',
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
