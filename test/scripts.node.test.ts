// `npm start` (the demo) and the package build: run as a user would, in child processes.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('npm start', () => {
  it('runs the demo to the end and exits 0', { timeout: 60_000 }, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'demo/clickstream.ts'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TIDEWATER_DEMO_DASHBOARD_MS: '1500' } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^tidewater demo: 40 clicks/);
    expect(r.stdout).toContain('  watermark  MAX\n');
    // the source is paced on the real clock, so how many periodic watermarks fall between records varies
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.find((l) => l.startsWith('done: '))).toMatch(
      /^done: 33 records \(7 \/health filtered out\), \d+ watermarks, 0 records behind the watermark, 20 window results counting 33 views$/,
    );
    expect(r.stdout).toContain('  window     eli  22:13:21–22:13:22 UTC: 1 view(s)\n');
    // part two: the window part in a job on two worker threads, per-subtask figures from job.metrics$
    expect(r.stdout).toContain(
      '\ntwo threads: the window part in a job, as parallel(2, viewsPerSecond, { worker: demo/viewsPerSecond.ts }), maxParallelism 256\n' +
        '  subtask 0 (thread 1): key groups 0–127,   users ann, bob, cyd, fay   20 records in, 13 window results, watermark MAX\n' +
        '  subtask 1 (thread 2): key groups 128–255, users dee, eli             13 records in,  7 window results, watermark MAX\n' +
        '  20 window results counting 33 views: the same as the single-threaded run, in the same order as parallel(2) in-process\n',
    );
    // part three: checkpoint, SIGKILL, restore, exactly-once output
    expect(r.stdout).toContain('  run 1  -- killed with SIGKILL 50 ms after checkpoint 3 --\n');
    expect(r.stdout).toMatch(/\n {2}run 2 {2}finished: \d+ clicks read in this run, restored from checkpoint \d+\n/);
    expect(r.stdout).toMatch(/\nexactly once: \d+ window results counting \d+ views, identical to an uninterrupted run\n/);
    // part four: a live job, the dashboard's URL printed while it runs
    expect(lines.at(-2)).toMatch(/^a live job with its dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(open it now; the job runs 2 s\)$/);
    expect(lines.at(-1)).toMatch(/^ {2}\d+ clicks read, \d+ checkpoints; the dashboard closed$/);
  });
});

describe('package build', () => {
  it('builds dist/ and every export path resolves by package name', { timeout: 120_000 }, () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'pipe' });
    const probe = `
      const root = await import('tidewater');
      const ops = await import('tidewater/operators');
      const testing = await import('tidewater/testing');
      const level = await import('tidewater/level');
      const idb = await import('tidewater/indexeddb');
      const nats = await import('tidewater/nats');
      const { of, lastValueFrom, toArray } = await import('rxjs');
      const out = await lastValueFrom(of({ at: 5 }).pipe(ops.eventTime((v) => v.at), ops.values(), toArray()));
      const module = new URL('./test/fixtures/parallel/distPipeline.mjs', 'file://' + process.cwd() + '/');
      const threaded = (await import(module.href)).default;
      const par = await lastValueFrom(of(1, 2, 3).pipe(ops.eventTime(() => 0), ops.keyBy((v) => v), ops.parallel(2, threaded, { worker: module }), ops.values(), toArray()));
      const { mkdtempSync, rmSync } = await import('node:fs');
      const dir = mkdtempSync((await import('node:os')).tmpdir() + '/tidewater-probe-');
      const store = level.levelStore(dir);
      await store.writeCheckpoint({ job: 'j', id: 1, timestamp: 0, savepoint: false, operators: [], sources: ['7'] });
      const cp = await store.loadCheckpoint('j', 'latest');
      await store.close();
      rmSync(dir, { recursive: true });
      const stores = [typeof root.memoryStore, typeof root.openDefaultStore, typeof idb.indexedDbStore, cp.sources, typeof nats.jetStreamSource, typeof nats.jetStreamSink];
      console.log(JSON.stringify({ root: typeof root.boundedOutOfOrderness, ops: Object.keys(ops).sort(), rec: testing.rec(1, 2), out, stores, par: par.sort() }));
    `;
    // the core bundle does not pull in level, idb-keyval or the NATS client: only their own entry points import them
    const importers = (pkg: string) => readdirSync('dist').filter((f) => f.endsWith('.js') && readFileSync(`dist/${f}`, 'utf8').includes(`from "${pkg}"`));
    expect([importers('level'), importers('idb-keyval'), importers('@nats-io/jetstream'), importers('@nats-io/nats-core')]).toStrictEqual([['level.js'], ['indexeddb.js'], ['nats.js'], ['nats.js']]);
    // msgpackr (threaded parallel) is loaded by the worker and by a chunk the operators import on demand only
    const staticImports = (file: string, seen = new Set<string>()): Set<string> => {
      for (const m of readFileSync(`dist/${file}`, 'utf8').matchAll(/^import[^;]*?from "\.\/([^"]+)";/gm)) {
        const dep = m[1] as string;
        if (!seen.has(dep)) staticImports(dep, seen.add(dep));
      }
      return seen;
    };
    const loadsMsgpackr = (entry: string) => [entry, ...staticImports(entry)].some((f) => importers('msgpackr').includes(f));
    expect(['index.js', 'operators.js', 'testing.js', 'worker.js'].map(loadsMsgpackr)).toStrictEqual([false, false, false, true]);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toStrictEqual({
      root: 'function',
      ops: ['aggregate', 'broadcastProcess', 'coGroup', 'coProcess', 'eventTime', 'filter', 'flatMap', 'ingestionTime', 'intervalJoin', 'keyBy', 'map', 'parallel', 'process', 'processWindow', 'reduce', 'sideOutputOf', 'unionWith', 'values', 'window', 'windowJoin'],
      rec: { kind: 'record', value: 1, timestamp: 2 },
      out: [{ at: 5 }],
      stores: ['function', 'function', 'function', ['7'], 'function', 'function'],
      par: [10, 20, 30],
    });
  });
});
