#!/usr/bin/env node
// `npm test`: typechecks, then runs vitest's node project and, when a Chromium is found, its browser project
// (real Chromium).
// Prints a final line `N passed, N failed` read from vitest's JSON reporter.
// TIDEWATER_REQUIRE_BROWSER=1 (set by .ci/run) turns a missing Chromium into a failure.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = existsSync(chromium);
const banner = (lines) => {
  const bar = '!'.repeat(78);
  console.error(`\n${bar}\n${lines.map((l) => `!! ${l}`).join('\n')}\n${bar}\n`);
};
if (!haveBrowser) {
  const lines = [
    `NO CHROMIUM FOUND at ${chromium}: the browser test project is SKIPPED.`,
    'Install it:  sudo apt-get update && sudo apt-get install -y chromium',
    'or point CHROMIUM_PATH at a Chromium/Chrome binary.',
  ];
  if (process.env.TIDEWATER_REQUIRE_BROWSER === '1') {
    banner([...lines, 'TIDEWATER_REQUIRE_BROWSER=1: failing.']);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  banner(lines);
}

// strict TypeScript is part of the test: the sources, the tests (expectTypeOf assertions) and the examples
const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit', env: process.env });
if (tsc.status !== 0) {
  console.error('!! typecheck failed (npx tsc -p tsconfig.json)');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const results = '.vitest-results.json';
rmSync(results, { force: true });
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit', env: process.env });

let passed = 0;
let failed = 0;
if (existsSync(results)) {
  const json = JSON.parse(readFileSync(results, 'utf8'));
  passed = json.numPassedTests ?? 0;
  failed = (json.numFailedTests ?? 0) + (json.numFailedTestSuites ?? 0);
} else {
  failed = 1;
}
if (!haveBrowser) console.error('!! browser project skipped: no Chromium (see above)');
const code = run.status === 0 && failed === 0 ? 0 : 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(code);
