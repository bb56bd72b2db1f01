// The package as a user gets it: `npm pack` (which builds dist/ through prepack), installed into a fresh consumer
// project in the OS temp directory next to a different rxjs 7.x than the one tidewater is developed with. rxjs is a
// peer dependency, so the consumer must end up with ONE copy of it; with two, tidewater's operators schedule on their
// own asyncScheduler, which the consumer's TestScheduler does not patch, and the README's periodic-watermark marble
// test loses its watermark at frame 200. The consumer's test is TypeScript, typechecked against the packed .d.ts files
// (two rxjs copies also make their Observable types incompatible) and run on Node.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve('.');
const consumerRxjs = '7.8.1';
// what `npm pack` needs to build and pack: copied, so the build writes its dist/ outside the working tree (other
// tests build dist/ in place) and the pack sees exactly the files a checkout has
const packageFiles = ['package.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json', 'scripts', 'src', 'operators', 'testing'];

// npm passes its own configuration to scripts in npm_* variables (prefix, cache, …); the child npm must not inherit
// them, or it could install into this repository instead of the consumer project
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
const npmFlags = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Every installed copy of `name` under `dir`'s node_modules, as [path relative to dir, version]. */
function copiesOf(dir: string, name: string): [string, string][] {
  const found: [string, string][] = [];
  const walk = (modules: string): void => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      const pkgs = entry.startsWith('@') ? readdirSync(join(modules, entry)).map((e) => join(entry, e)) : [entry];
      for (const p of pkgs) {
        const at = join(modules, p);
        if (p === name) found.push([relative(dir, at), (JSON.parse(readFileSync(join(at, 'package.json'), 'utf8')) as { version: string }).version]);
        walk(join(at, 'node_modules'));
      }
    }
  };
  walk(join(dir, 'node_modules'));
  return found.sort();
}

// README's "emits a watermark at each periodic emit", on the consumer's rxjs TestScheduler. It prints the output
// timeline (frame + element) and whether the README's marble assertion held.
const consumerTest = `
import { TestScheduler } from 'rxjs/testing';
import { boundedOutOfOrderness, ConfigurationError, MAX_WATERMARK, openDefaultStore, type StreamElement } from 'tidewater';
import { eventTime } from 'tidewater/operators';
import { rec, wm } from 'tidewater/testing';

const sameValue = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
};
let marble = 'passed';
const scheduler = new TestScheduler((actual, expected) => {
  if (!sameValue(actual, expected)) marble = 'failed';
});
const timeline: { frame: number; element: StreamElement<{ at: number }, undefined> | 'complete' }[] = [];
scheduler.run(({ cold, expectObservable }) => {
  // events at 50 ms and 250 ms of virtual time; periodic emits every 200 ms
  const input = cold('50ms a 199ms b 99ms |', { a: { at: 1000 }, b: { at: 1500 } });
  const out = input.pipe(eventTime((v) => v.at, boundedOutOfOrderness(100)));
  out.subscribe({ next: (e) => timeline.push({ frame: scheduler.now(), element: e }), complete: () => timeline.push({ frame: scheduler.now(), element: 'complete' }) });
  expectObservable(out).toBe(
    '50ms a 149ms w 49ms b 99ms (xM|)',
    { a: rec({ at: 1000 }, 1000), w: wm(899), b: rec({ at: 1500 }, 1500), x: wm(1399), M: wm(MAX_WATERMARK) },
  );
});
// without the optional peer dependency level, the Node default store says what to install
const store = await openDefaultStore('state').then(
  () => 'opened',
  (e: unknown) => (e instanceof ConfigurationError ? e.message : String(e)),
);
console.log(JSON.stringify({ marble, timeline, store }, (_k, v: unknown) => (v === MAX_WATERMARK ? 'MAX' : v)));
`;

describe('the packed package in a consumer project with another rxjs 7.x', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tidewater-consumer-'));
  const consumer = join(tmp, 'consumer');
  let tarball = '';
  let typecheck = 'not run';

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  beforeAll(() => {
    const pkg = join(tmp, 'package');
    mkdirSync(pkg);
    for (const f of packageFiles) cpSync(f, join(pkg, f), { recursive: true });
    symlinkSync(realpathSync('node_modules'), join(pkg, 'node_modules'));
    run('npm', ['pack', '--pack-destination', tmp, ...npmFlags], pkg);
    tarball = join(tmp, readdirSync(tmp).find((f) => f.endsWith('.tgz')) ?? 'no tarball');
  }, 60_000);

  beforeAll(() => {
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'tidewater-consumer', private: true, type: 'module' }));
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', lib: ['ES2022', 'DOM'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'build' }, files: ['marble.ts'] }),
    );
    writeFileSync(join(consumer, 'marble.ts'), consumerTest);
    run('npm', ['install', ...npmFlags, tarball, `rxjs@${consumerRxjs}`], consumer);
  }, 60_000);

  beforeAll(() => {
    // tsc emits build/marble.js even when the types do not check (reported by the typecheck test)
    const tsc = spawnSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: consumer, env, encoding: 'utf8' });
    typecheck = `${tsc.stdout}${tsc.stderr}`;
  }, 60_000);

  it('installs one copy of rxjs (the consumer\'s), tidewater\'s LICENSE, and no level or NATS client', () => {
    expect(copiesOf(consumer, 'rxjs')).toStrictEqual([[join('node_modules', 'rxjs'), consumerRxjs]]);
    expect(existsSync(join(consumer, 'node_modules', 'tidewater', 'LICENSE'))).toBe(true);
    expect(copiesOf(consumer, 'level')).toStrictEqual([]);
    expect([copiesOf(consumer, '@nats-io/jetstream'), copiesOf(consumer, '@nats-io/nats-core')]).toStrictEqual([[], []]);
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules', 'tidewater', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(installed.peerDependencies).toStrictEqual({ '@nats-io/jetstream': '^3.4.0', '@nats-io/nats-core': '^3.4.0', level: '^10.0.0', rxjs: '^7.8.0' });
  });

  it('serves the dashboard from the package (its page built into dist/, no esbuild needed)', () => {
    writeFileSync(
      join(consumer, 'dashboard.mjs'),
      `import { fromArray, runJob, toArray } from 'tidewater';
import { serveDashboard } from 'tidewater/dashboard';
const job = runJob({ name: 'n', source: fromArray([1, 2, 3]), pipeline: (s) => s, sink: toArray() });
const d = await serveDashboard(job, { name: 'n' });
const got = {};
for (const path of ['', 'page.js', 'page.css', 'nope']) {
  const r = await fetch(new URL(path, d.url));
  got[path || '/'] = [r.status, r.headers.get('content-type'), (await r.text()).length > 1000];
}
await job.done;
await d.close();
console.log(JSON.stringify(got));
`,
    );
    expect(JSON.parse(run(process.execPath, ['dashboard.mjs'], consumer))).toStrictEqual({
      '/': [200, 'text/html; charset=utf-8', false],
      'page.js': [200, 'text/javascript; charset=utf-8', true],
      'page.css': [200, 'text/css; charset=utf-8', true],
      nope: [404, 'text/plain; charset=utf-8', false],
    });
  });

  it('typechecks the consumer\'s test against the packed declarations', () => {
    expect(typecheck).toBe('');
  });

  it('runs the README\'s periodic-watermark marble test on the consumer\'s TestScheduler', () => {
    const out = JSON.parse(run(process.execPath, [join('build', 'marble.js')], consumer)) as unknown;
    expect(out).toStrictEqual({
      marble: 'passed',
      timeline: [
        { frame: 50, element: { kind: 'record', value: { at: 1000 }, timestamp: 1000 } },
        { frame: 200, element: { kind: 'watermark', timestamp: 899 } },
        { frame: 250, element: { kind: 'record', value: { at: 1500 }, timestamp: 1500 } },
        { frame: 350, element: { kind: 'watermark', timestamp: 1399 } },
        { frame: 350, element: { kind: 'watermark', timestamp: 'MAX' } },
        { frame: 350, element: 'complete' },
      ],
      store: 'openDefaultStore("state"): LevelDB in Node needs the `level` package, which tidewater does not install (an optional peer dependency): run `npm install level`, or pass a store explicitly (e.g. memoryStore()).',
    });
  });
});
