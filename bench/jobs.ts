import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipe } from 'rxjs';
import { callbackSink, count, fromIterable, memoryStore, runJob, tumblingWindows, valueState, type StateStore } from '../src/index.js';
import { levelStore } from '../src/stores/level.js';
import { aggregate, keyBy, process, window } from '../operators/index.js';
import { prng } from '../demo/clicks.js';
import { fmtRate } from './harness.js';

interface Event {
  readonly key: number;
  readonly t: number;
}

/**
 * Job throughput with a checkpoint every second vs none, at 10 K and at 100 K keys. At these rates every key's state
 * changes between two checkpoints (the worst case for incremental checkpoints: each one writes the whole state). The job: N events of K keys drawn at random (10 000 events
 * per second of event time, watermark records inline), a keyed running count in `process` state that passes every
 * event on, and a 10 s tumbling window count per key, into a counting sink. Checkpoints go to LevelDB (`levelStore`,
 * fsync per checkpoint) or to `memoryStore`; every case runs once per round, rounds interleaved, the ratio is the
 * median of per-round ratios against the run without checkpoints (wall time: throughput; also the process's CPU time,
 * all threads, which a shared machine's stolen time does not inflate).
 */
export async function jobsBench(n = 4_000_000, rounds = 5, keyCounts: readonly number[] = [10_000, 100_000]): Promise<{ report: string }> {
  const parts: string[] = [];
  for (const k of keyCounts) parts.push(await jobsBenchWith(n, k, rounds));
  return { report: parts.join('\n\n') + '\n\nTarget: checkpointing every 1 s costs ≤ 20 % throughput (ratio ≥ 0.80).' };
}

async function jobsBenchWith(n: number, k: number, rounds: number): Promise<string> {
  const rnd = prng(11);
  const keys = Int32Array.from({ length: n }, () => Math.floor(rnd() * k));
  const events = (): Iterable<Event> => ({
    *[Symbol.iterator]() {
      for (let i = 0; i < n; i++) yield { key: keys[i] as number, t: Math.floor(i / 10) };
    },
  });
  const pipeline = pipe(
    keyBy((e: Event) => e.key),
    process<Event, number, Event, { n: ReturnType<typeof valueState<number>> }>({
      name: 'running',
      state: { n: valueState<number>() },
      onElement(e, ctx) {
        ctx.state.n.set((ctx.state.n.get() ?? 0) + 1);
        ctx.emit(e, e.t);
      },
    }),
    window(tumblingWindows(10_000), { name: 'per-10s' }),
    aggregate(count()),
  );
  // event time without a generator: records carry their own timestamps (fromIterable stamps arrival time, so the
  // source yields stream elements: a record per event, a watermark every 10 000 events)
  const elements = (): Iterable<never> => ({
    *[Symbol.iterator]() {
      let i = 0;
      for (const e of events()) {
        yield { kind: 'record', value: e, timestamp: e.t, key: undefined } as never;
        if (++i % 10_000 === 0) yield { kind: 'watermark', timestamp: e.t - 1 } as never;
      }
    },
  });

  const dir = mkdtempSync(join(tmpdir(), 'tidewater-bench-jobs-'));
  let run = 0;
  const once = async (store: StateStore | undefined): Promise<{ ms: number; cpuMs: number; sum: number; checkpoints: number; bytes: number }> => {
    let sum = 0;
    const t0 = performance.now();
    const c0 = globalThis.process.cpuUsage();
    const job = runJob({
      name: `bench-${run++}`,
      source: fromIterable(elements),
      pipeline,
      sink: callbackSink<{ value: number }>({ write: (r) => (sum += r.value) }),
      ...(store !== undefined ? { checkpoint: { intervalMs: 1_000, store, retain: 2 } } : {}),
    });
    let checkpoints = 0;
    let bytes = 0;
    job.checkpoints$.subscribe((c) => {
      checkpoints++;
      bytes += c.bytes;
    });
    await job.done;
    const c1 = globalThis.process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpuMs: (c1.user + c1.system) / 1000, sum, checkpoints, bytes };
  };

  const cases: { name: string; store: () => StateStore | undefined }[] = [
    { name: 'no checkpoints', store: () => undefined },
    { name: 'checkpoint every 1 s, levelStore', store: () => levelStore(join(dir, `level-${run}`)) },
    { name: 'checkpoint every 1 s, memoryStore', store: () => memoryStore() },
  ];
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const cpu = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const info = new Map<string, { checkpoints: number; bytes: number }>();
  let checksum: number | undefined;
  await once(undefined); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const store = c.store();
      const res = await once(store);
      await store?.close();
      if (checksum !== undefined && res.sum !== checksum) throw new Error(`${c.name}: checksum ${res.sum} ≠ ${checksum}`);
      checksum = res.sum;
      times.get(c.name)?.push(res.ms);
      cpu.get(c.name)?.push(res.cpuMs);
      info.set(c.name, { checkpoints: res.checkpoints, bytes: res.bytes });
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const base = times.get('no checkpoints') as number[];
  const lines = [
    `### ${k / 1000} K keys (${(n / 1e6).toFixed(0)} M events; median of ${rounds} interleaved rounds)`,
    '',
    '| case | events/s | checkpoints per run | bytes per checkpoint | × no checkpoints | rounds min – max | CPU time: × no checkpoints |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const c of cases) {
    const ts = times.get(c.name) as number[];
    const ratios = ts.map((t, i) => (base[i] as number) / t);
    const ratio = median(ratios);
    const cpuBase = cpu.get('no checkpoints') as number[];
    const cpuRatio = median((cpu.get(c.name) as number[]).map((t, i) => (cpuBase[i] as number) / t));
    const inf = info.get(c.name) ?? { checkpoints: 0, bytes: 0 };
    lines.push(
      `| ${c.name} | ${fmtRate((n / median(ts)) * 1000)} | ${inf.checkpoints} | ${inf.checkpoints === 0 ? '–' : Math.round(inf.bytes / inf.checkpoints).toLocaleString('en')} | ${ratio.toFixed(2)} | ${Math.min(...ratios).toFixed(2)} – ${Math.max(...ratios).toFixed(2)} | ${cpuRatio.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}
