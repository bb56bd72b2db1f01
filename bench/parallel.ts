import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { map as rxMap, Observable, Subject, type OperatorFunction, type Subscriber } from 'rxjs';
import { record, watermark, type StreamElement, type StreamRecord } from '../src/index.js';
import { parallel } from '../operators/index.js';
import { BatchDecoder, BatchEncoder, transferables } from '../src/parallel/threads/codec.js';
import { createValueCodec } from '../src/parallel/threads/msgpack.js';
import { prng } from '../demo/clicks.js';
import { fmtRate, measure, measureAsync, ratio, table, type AsyncCase, type Result } from './harness.js';
import { keyedSum, keyedWork, spin } from './parallelPipeline.js';

/**
 * `npm run bench -- parallel`: what `parallel(n, pipeline)` costs and gains, each part in its own Node process
 * (`npm run bench -- parallel speedup|overhead|shuffle [records]` runs one; `parallel all [records]`: all at that size).
 *
 * - **speedup**: a keyed pipeline (`process` + `valueState` running count) with ≈ 2 µs of user work per record (a
 *   deterministic busy loop calibrated at start), at 100 and 100 000 keys: the plain pipeline vs `parallel(1|2)`
 *   in-process and in worker threads, with a hand-written loop and plain RxJS doing the same work; and the machine's
 *   own ceiling for that work (the busy loop alone in two worker threads against one thread).
 * - **overhead**: the same cases without the work (a cheap keyed count): the cost of `parallel` over the plain
 *   pipeline.
 * - **shuffle**: records per second through `parallel(1|2, identity map, { worker })` and back at 100 and 100 000
 *   keys, one way (into a filter that keeps nothing; into a keyed sum), and the batch codec's round trip on one thread (`src/parallel/threads/codec.ts` +
 *   `msgpack.ts`: encode, copy as `postMessage` does, decode) against structured clone of arrays of records (what
 *   `postMessage` of plain arrays costs).
 *
 * Every case is a long-lived subscription (a job's steady state: threads started and their code optimised by the
 * warm-up rounds; thread start-up is measured on its own), fed directly (a `Feed`, as `runJob` feeds a pipeline of
 * one input subscriber) in chunks with a macrotask between them (as a job's source pump yields), and a run ends when
 * the last output arrived. The keyed state persists across rounds, so the emitted value is
 * `spin(v) + (count > 0 ? 1 : 0)`: state read and written per record, same checksum every round.
 */

type Pipeline = OperatorFunction<StreamElement<number, string>, StreamElement<number, string>>;

const MODULE = new URL('./parallelPipeline.ts', import.meta.url);

/** The module URL of the threads' pipeline (the query picks it, see `parallelPipeline.ts`). */
function workerModule(query: string): URL {
  return new URL(`${MODULE.href}?${query}`);
}

/** Records pushed into a session between two macrotasks. */
const CHUNK = 16_384;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A session's input: its one subscriber fed directly, as `runJob` feeds a pipeline (it pushes each element into the
 * pipeline's subscriber of the input; a pipeline that subscribes an input twice gets each element from a loop over
 * the subscribers, which a `Feed` refuses). Not an RxJS `Subject`: the build of RxJS that Node loads (ES5) makes an
 * iterator per `next` (40 against 12 ns a value on this machine, and garbage), no part of what is measured — fed
 * from a `Subject`, the shuffle round trip at 100 000 keys ran at 3.6 M records/s, fed so at 4.7 M (alternating runs,
 * session 47).
 */
class Feed<T> extends Observable<T> {
  private subscriber: Subscriber<T> | undefined;
  constructor() {
    super((subscriber) => {
      if (this.subscriber !== undefined) throw new Error('bench: a feed takes one subscriber');
      this.subscriber = subscriber;
      return () => {
        this.subscriber = undefined;
      };
    });
  }
  next(value: T): void {
    this.subscriber?.next(value);
  }
}

/**
 * A subscription kept open over every round: `run()` pushes `records` into it and resolves with the checksum once
 * `records.length` outputs came out.
 */
function session<O>(
  name: string,
  records: readonly StreamRecord<number, string>[],
  op: OperatorFunction<StreamElement<number, string>, O>,
  valueOf: (o: O) => number | undefined,
  /** Aggregating pipelines: each run ends with a watermark (one higher per run) and is done when it comes out. */
  rounds?: { readonly watermarkOf: (o: O) => number | undefined },
): AsyncCase & { close(): void } {
  const input = new Feed<StreamElement<number, string>>();
  let sum = 0;
  let seen = 0;
  let round = 0;
  let done: ((sum: number) => void) | undefined;
  let failed: ((err: unknown) => void) | undefined;
  let failure: { error: unknown } | undefined;
  const subscription = input.pipe(op).subscribe({
    next: (o) => {
      if (rounds !== undefined) {
        const w = rounds.watermarkOf(o);
        // (the checksum of an aggregating run: the number of sums it emitted, one per key, the same every run)
        if (w !== undefined && w >= round) done?.(seen);
      }
      const v = valueOf(o);
      if (v === undefined) return;
      sum = (sum + v) | 0;
      if (++seen === records.length && rounds === undefined) done?.(sum);
    },
    error: (error: unknown) => {
      failure = { error };
      failed?.(error);
    },
  });
  return {
    name,
    async run() {
      if (failure !== undefined) throw failure.error;
      sum = 0;
      seen = 0;
      const result = new Promise<number>((resolve, reject) => {
        done = resolve;
        failed = reject;
      });
      for (let i = 0; i < records.length; i += CHUNK) {
        const end = Math.min(records.length, i + CHUNK);
        for (let j = i; j < end; j++) input.next(records[j] as StreamRecord<number, string>);
        await yieldToLoop();
      }
      if (rounds !== undefined) input.next(watermark(++round));
      return result;
    },
    close: () => subscription.unsubscribe(),
  };
}

/** Per case, the process's CPU time (every thread) of each run, in µs per record. */
type CpuTimes = Map<string, number[]>;

/** {@link measureAsync}, also recording each run's CPU time over all threads (stolen time does not inflate it). */
async function measureWithCpu(n: number, cases: readonly AsyncCase[], rounds: number, warmUp: number): Promise<{ results: Result[]; cpu: CpuTimes }> {
  const cpu: CpuTimes = new Map(cases.map((c) => [c.name, []]));
  const timed = cases.map((c) => ({
    name: c.name,
    run: async () => {
      const c0 = process.cpuUsage();
      const sum = await c.run();
      const c1 = process.cpuUsage(c0);
      cpu.get(c.name)?.push((c1.user + c1.system) / n);
      return sum;
    },
  }));
  const results = await measureAsync(n, timed, rounds, warmUp);
  for (const [name, xs] of cpu) cpu.set(name, xs.slice(warmUp));
  return { results, cpu };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** The harness's table with a column of CPU time per record (all threads). */
function tableWithCpu(title: string, results: readonly Result[], cpu: CpuTimes, baseline: string): string {
  const lines = [
    `### ${title}`,
    '',
    `| case | records/s (median) | × ${baseline} (median of per-round ratios) | CPU µs per record, all threads (median) |`,
    '| --- | ---: | ---: | ---: |',
  ];
  for (const r of results) lines.push(`| ${r.name} | ${fmtRate(r.eventsPerSec)} | ${ratio(results, r.name, baseline).toFixed(2)} | ${median(cpu.get(r.name) ?? []).toFixed(2)} |`);
  return lines.join('\n');
}

const recordValue = (e: StreamElement<number, string>): number | undefined => (e.kind === 'record' ? e.value : undefined);

/** N records of K keys drawn at random (`user-<i>`), value = index, timestamp = index. */
function makeRecords(n: number, k: number): { records: StreamRecord<number, string>[]; keys: string[]; values: number[] } {
  const rnd = prng(k);
  const names = Array.from({ length: k }, (_, i) => `user-${i}`);
  const records: StreamRecord<number, string>[] = [];
  const keys: string[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = names[Math.floor(rnd() * k)] as string;
    keys.push(key);
    values.push(i);
    records.push(record(i, i, key));
  }
  return { records, keys, values };
}

/**
 * Busy-loop steps that take ≈ `micros` µs of CPU here: the fastest of several trials, timed in CPU time (only this
 * thread works meanwhile), so a loaded machine's stolen time does not shrink the work.
 */
function calibrate(micros: number): { iterations: number; micros: number } {
  const probe = 2_000;
  const calls = 20_000;
  let best = Infinity;
  let sink = 0;
  for (let t = 0; t < 15; t++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) sink ^= spin(i, probe);
    const c1 = process.cpuUsage(c0);
    best = Math.min(best, (c1.user + c1.system) / calls);
  }
  if (sink === 0.5) console.log(sink);
  // best: µs per call of `probe` steps
  const iterations = Math.max(1, Math.round((probe * micros) / best));
  return { iterations, micros: (best / probe) * iterations };
}

const PLAIN = 'tidewater pipeline (plain)';
const P1 = 'parallel(1) in-process';
const P2 = 'parallel(2) in-process';
const T1 = 'parallel(1) threads';
const T2 = 'parallel(2) threads';
const LOOP = 'hand-written loop (Map)';
const RX = 'plain RxJS (map + Map)';

/** The case matrix at one key count and one amount of work per record. */
async function matrix(n: number, k: number, iterations: number, rounds: number): Promise<{ results: Result[]; cpu: CpuTimes }> {
  const { records, keys, values } = makeRecords(n, k);
  const query = `work=${iterations}`;
  const loopState = new Map<string, number>();
  const rxState = new Map<string, number>();
  const sessions = [
    session(PLAIN, records, keyedWork(iterations), recordValue),
    session(
      RX,
      records,
      rxMap((r: StreamElement<number, string>) => {
        const rec = r as StreamRecord<number, string>;
        const c = (rxState.get(rec.key) ?? 0) + 1;
        rxState.set(rec.key, c);
        return spin(rec.value, iterations) + (c > 0 ? 1 : 0);
      }),
      (v: number) => v,
    ),
    session(P1, records, parallel(1, keyedWork(iterations)) as Pipeline, recordValue),
    session(P2, records, parallel(2, keyedWork(iterations)) as Pipeline, recordValue),
    session(T1, records, parallel(1, keyedWork(iterations), { worker: workerModule(query) }) as Pipeline, recordValue),
    session(T2, records, parallel(2, keyedWork(iterations), { worker: workerModule(query) }) as Pipeline, recordValue),
  ];
  const loop: AsyncCase = {
    name: LOOP,
    run: () => {
      let sum = 0;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        const c = (loopState.get(key) ?? 0) + 1;
        loopState.set(key, c);
        sum = (sum + spin(values[i] as number, iterations) + (c > 0 ? 1 : 0)) | 0;
      }
      return Promise.resolve(sum);
    },
  };
  try {
    return await measureWithCpu(n, [loop, ...sessions], rounds, 2);
  } finally {
    for (const s of sessions) s.close();
  }
}

/**
 * The aggregating matrix: the same user work per record, but each key emits its sum once per round (at the round's
 * watermark), so records cross to the threads and only sums come back.
 */
async function aggregateMatrix(n: number, k: number, iterations: number, rounds: number): Promise<{ results: Result[]; cpu: CpuTimes }> {
  const { records, keys, values } = makeRecords(n, k);
  const query = `work=${iterations}&kind=sum`;
  const watermarkOf = (e: StreamElement<number, string>) => (e.kind === 'watermark' ? e.timestamp : undefined);
  const sessions = [
    session(PLAIN, records, keyedSum(iterations), recordValue, { watermarkOf }),
    session(P2, records, parallel(2, keyedSum(iterations)) as Pipeline, recordValue, { watermarkOf }),
    session(T1, records, parallel(1, keyedSum(iterations), { worker: workerModule(query) }) as Pipeline, recordValue, { watermarkOf }),
    session(T2, records, parallel(2, keyedSum(iterations), { worker: workerModule(query) }) as Pipeline, recordValue, { watermarkOf }),
  ];
  const sums = new Map<string, number>();
  const loop: AsyncCase = {
    name: LOOP,
    run: () => {
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        sums.set(key, ((sums.get(key) ?? 0) + spin(values[i] as number, iterations)) | 0);
      }
      return Promise.resolve(sums.size);
    },
  };
  try {
    return await measureWithCpu(n, [loop, ...sessions], rounds, 2);
  } finally {
    for (const s of sessions) s.close();
  }
}

/** Thread start-up: `parallel(2)` in threads over an empty input, subscribed afresh each time (tsx loads TypeScript). */
async function startUp(times: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const input = new Subject<StreamElement<number, string>>();
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      input.pipe(parallel(2, keyedWork(0), { worker: workerModule('work=0') }) as Pipeline).subscribe({ complete: resolve, error: reject });
      input.complete();
    });
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)] as number;
}

function ratioLines(results: readonly Result[], target: { name: string; min: number; label: string } | undefined): string {
  const lines = [
    `parallel(2) threads / plain: ${ratio(results, T2, PLAIN).toFixed(2)}×; parallel(1) threads / plain: ${ratio(results, T1, PLAIN).toFixed(2)}×`,
    `parallel(1) in-process / plain: ${ratio(results, P1, PLAIN).toFixed(2)}× (cost ${((1 / ratio(results, P1, PLAIN) - 1) * 100).toFixed(1)} %); parallel(2) in-process / plain: ${ratio(results, P2, PLAIN).toFixed(2)}× (cost ${((1 / ratio(results, P2, PLAIN) - 1) * 100).toFixed(1)} %)`,
    `plain / hand-written loop: ${ratio(results, PLAIN, LOOP).toFixed(2)}×; plain / plain RxJS: ${ratio(results, PLAIN, RX).toFixed(2)}×`,
  ];
  if (target !== undefined) {
    const r = ratio(results, target.name, PLAIN);
    lines.push(`${target.label}: ${r.toFixed(2)}× (target ≥ ${target.min.toFixed(2)}: ${r >= target.min ? 'met' : 'NOT met'})`);
  }
  return lines.join('\n');
}

/**
 * What two threads gain on this machine for the user work alone: the busy loop over `n` values in two worker threads
 * (half each; started beforehand) against the same loop on one thread — the ceiling of any speed-up of
 * `parallel(2)` here, whatever the engine costs (two vCPUs of a virtual machine may share a physical core, its caches
 * or the host's time). The median of `rounds` per-round ratios.
 */
async function machineCeiling(n: number, iterations: number, rounds = 5): Promise<number> {
  const code =
    `const { parentPort } = require('node:worker_threads');\n${spin.toString()}\n` +
    `parentPort.on('message', ({ from, to, iterations }) => { let s = 0; for (let v = from; v < to; v++) s = (s + spin(v, iterations)) | 0; parentPort.postMessage(s); });`;
  const workers = [new Worker(code, { eval: true }), new Worker(code, { eval: true })];
  const run = (w: Worker, from: number, to: number): Promise<number> =>
    new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.postMessage({ from, to, iterations });
    });
  try {
    // warm both up (and the loop on this thread)
    await Promise.all(workers.map((w) => run(w, 0, 20_000)));
    const ratios: number[] = [];
    let sink = 0;
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      for (let v = 0; v < n; v++) sink = (sink + spin(v, iterations)) | 0;
      const one = performance.now() - t;
      t = performance.now();
      await Promise.all([run(workers[0] as Worker, 0, n / 2), run(workers[1] as Worker, n / 2, n)]);
      ratios.push(one / (performance.now() - t));
    }
    if (sink === 0.5) console.log(sink);
    return median(ratios);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function speedupPart(n: number): Promise<string> {
  const { iterations, micros } = calibrate(2);
  const ceiling = await machineCeiling(n, iterations);
  const parts = [
    `calibrated user work: ${iterations} busy-loop steps ≈ ${micros.toFixed(2)} µs of CPU per record (fastest of 15 trials)`,
    `machine ceiling: the busy loop alone over ${n.toLocaleString('en')} values in two worker threads runs ${ceiling.toFixed(2)}× as fast as on one thread (median of 5 rounds) — no parallel(2) can exceed it here`,
  ];
  for (const k of [100, 100_000]) {
    const { results, cpu } = await matrix(n, k, iterations, 3);
    parts.push(
      tableWithCpu(`speed-up: keyed count + ≈ 2 µs work per record, ${n.toLocaleString('en')} records, ${k.toLocaleString('en')} keys (median of 3 rounds)`, results, cpu, PLAIN) +
        '\n\n' +
        ratioLines(results, { name: T2, min: 1.6, label: 'speed-up, parallel(2) threads / plain' }) +
        `\nof the machine ceiling (${ceiling.toFixed(2)}×): ${((100 * ratio(results, T2, PLAIN)) / ceiling).toFixed(0)} %`,
    );
  }
  for (const k of [100, 100_000]) {
    const { results, cpu } = await aggregateMatrix(n, k, iterations, 3);
    const r = ratio(results, T2, PLAIN);
    parts.push(
      tableWithCpu(`speed-up: keyed sum + ≈ 2 µs work per record, one output per key and round, ${n.toLocaleString('en')} records, ${k.toLocaleString('en')} keys (median of 3 rounds)`, results, cpu, PLAIN) +
        `\n\nparallel(2) threads / plain: ${r.toFixed(2)}× (target ≥ 1.60: ${r >= 1.6 ? 'met' : 'NOT met'}; ${((100 * r) / ceiling).toFixed(0)} % of the machine ceiling, ${ceiling.toFixed(2)}×); parallel(2) in-process / plain: ${ratio(results, P2, PLAIN).toFixed(2)}×; plain / hand-written loop: ${ratio(results, PLAIN, LOOP).toFixed(2)}×`,
    );
  }
  return parts.join('\n\n');
}

async function overheadPart(n: number): Promise<string> {
  const parts: string[] = [];
  for (const k of [100, 100_000]) {
    const { results, cpu } = await matrix(n, k, 0, 7);
    const p1 = ratio(results, P1, PLAIN);
    parts.push(
      tableWithCpu(`overhead: keyed count, no work, ${n.toLocaleString('en')} records, ${k.toLocaleString('en')} keys (median of 7 rounds)`, results, cpu, PLAIN) +
        '\n\n' +
        ratioLines(results, undefined) +
        `\nin-process cost, parallel(1) over plain: ${((1 / p1 - 1) * 100).toFixed(1)} % (target ≤ 10 %: ${1 / p1 - 1 <= 0.1 ? 'met' : 'NOT met'})`,
    );
  }
  return parts.join('\n\n');
}

/** The round-trip shuffle at one key count: identity map, plain and through `parallel(1|2)` threads. */
async function shuffleRoundTrip(n: number, k: number): Promise<{ results: Result[]; cpu: CpuTimes; t2: number }> {
  const { records } = makeRecords(n, k);
  const mapQuery = 'kind=map';
  const identity = (await import('./parallelPipeline.js')).identity;
  const sessions = [
    session('identity map (plain, one thread)', records, identity, recordValue),
    session('parallel(1, identity map) threads', records, parallel(1, identity, { worker: workerModule(mapQuery) }) as Pipeline, recordValue),
    session('parallel(2, identity map) threads', records, parallel(2, identity, { worker: workerModule(mapQuery) }) as Pipeline, recordValue),
  ];
  try {
    const { results, cpu } = await measureWithCpu(n, sessions, 5, 2);
    return { results, cpu, t2: results.find((r) => r.name === 'parallel(2, identity map) threads')?.eventsPerSec ?? NaN };
  } finally {
    for (const s of sessions) s.close();
  }
}

async function shufflePart(n: number): Promise<string> {
  const k = 100_000;
  const shuffleFew = await shuffleRoundTrip(n, 100);
  const shuffleMany = await shuffleRoundTrip(n, k);
  // one way: records shuffled by key into the threads and taken there (a filter that keeps none: only the round's
  // watermark comes back), at 100 and 100 000 keys; then into a keyed sum (a timer per record: the threads' work
  // bounds that one)
  const watermarkOf = (e: StreamElement<number, string>) => (e.kind === 'watermark' ? e.timestamp : undefined);
  const dropModule = (await import('./parallelPipeline.js')).drop;
  const oneWayAt = async (keys: number, cases: (records: readonly StreamRecord<number, string>[]) => (AsyncCase & { close(): void })[]): Promise<{ results: Result[]; cpu: CpuTimes }> => {
    const { records } = makeRecords(n, keys);
    const sessions = cases(records);
    try {
      return await measureWithCpu(n, sessions, 5, 2);
    } finally {
      for (const s of sessions) s.close();
    }
  };
  const DROP2 = 'parallel(2, drop) threads';
  const dropCases = (records: readonly StreamRecord<number, string>[]) => [
    session('drop (plain, one thread)', records, dropModule, recordValue, { watermarkOf }),
    session(DROP2, records, parallel(2, dropModule, { worker: workerModule('kind=drop') }) as Pipeline, recordValue, { watermarkOf }),
  ];
  const dropFew = await oneWayAt(100, dropCases);
  const dropMany = await oneWayAt(k, dropCases);
  const { results: oneWayResults, cpu: oneWayCpu } = await oneWayAt(k, (records) => [
    session('keyed sum (plain, one thread)', records, keyedSum(0), recordValue, { watermarkOf }),
    session('parallel(2, keyed sum) threads', records, parallel(2, keyedSum(0), { worker: workerModule('work=0&kind=sum') }) as Pipeline, recordValue, { watermarkOf }),
  ]);
  const { records } = makeRecords(n, k);
  const t2OneWay = oneWayResults.find((r) => r.name === 'parallel(2, keyed sum) threads')?.eventsPerSec ?? NaN;

  // the codec alone, on this thread, as a long-lived channel (one encoder and one decoder kept across runs): batches
  // of 8 192 records (the host's input batch), each encoded, copied as postMessage copies it (structuredClone, the
  // buffers transferred) and decoded; against
  // structured clone of arrays of 1 000 records (what postMessage of plain arrays does: serialise here, deserialise
  // there)
  const codec = createValueCodec();
  const batch = 8192;
  const cn = Math.min(n, 400_000);
  const sample = records.slice(0, cn);
  const fewKeys = makeRecords(cn, 100).records;
  const roundTrip = (input: readonly StreamRecord<number, string>[]): (() => number) => {
    const encoder = new BatchEncoder();
    const decoder = new BatchDecoder(codec);
    return () => {
      let sum = 0;
      for (let i = 0; i < cn; i += batch) {
        const end = Math.min(cn, i + batch);
        for (let j = i; j < end; j++) encoder.add(j, input[j] as StreamRecord<number, string>);
        const encoded = encoder.take(codec);
        const copied = structuredClone(encoded, { transfer: transferables(encoded) });
        decoder.decode(copied, (_s, e) => void (sum = (sum + (e.kind === 'record' ? (e.value as number) + (e.key as string).length : 0)) | 0));
      }
      return sum;
    };
  };
  const arrays: StreamRecord<number, string>[][] = [];
  for (let i = 0; i < cn; i += 1000) arrays.push(sample.slice(i, i + 1000));
  const cloned = arrays.map((a) => structuredClone(a));
  const CODEC_FEW = 'codec round trip, 100 keys (encode, copy as postMessage does, decode)';
  const CODEC_MANY = `codec round trip, ${k.toLocaleString('en')} keys (encode, copy as postMessage does, decode)`;
  const codecResults = measure(cn, [
    { name: CODEC_FEW, run: roundTrip(fewKeys) },
    { name: CODEC_MANY, run: roundTrip(sample) },
    {
      name: 'structured clone, serialise + deserialise (1 000-record arrays)',
      run: () => {
        let sum = 0;
        for (const a of arrays) sum = (sum + (structuredClone(a)[0] as StreamRecord<number, string>).value) | 0;
        return sum;
      },
    },
    {
      name: 'structured clone, walk of the clones (reference)',
      run: () => {
        let sum = 0;
        for (const a of cloned) for (const r of a) sum = (sum + r.value + r.key.length) | 0;
        return sum;
      },
    },
  ], 7);
  const few = codecResults[0]?.eventsPerSec ?? NaN;
  const many = codecResults[1]?.eventsPerSec ?? NaN;
  const sc = codecResults[2]?.eventsPerSec ?? NaN;
  const startMs = await startUp(3);
  return (
    [shuffleFew, shuffleMany]
      .map(
        (x, i) =>
          tableWithCpu(`cross-thread shuffle: identity map, ${n.toLocaleString('en')} records, ${(i === 0 ? 100 : k).toLocaleString('en')} keys (median of 5 rounds)`, x.results, x.cpu, 'identity map (plain, one thread)') +
          `\n\nshuffle through parallel(2) threads and back, ${(i === 0 ? 100 : k).toLocaleString('en')} keys: ${fmtRate(x.t2)} (target ≥ 3 M/s: ${x.t2 >= 3e6 ? 'met' : 'NOT met'})`,
      )
      .join('\n\n') +
    '\n\n' +
    [dropFew, dropMany]
      .map((x, i) => {
        const t2 = x.results.find((r) => r.name === DROP2)?.eventsPerSec ?? NaN;
        const keys = (i === 0 ? 100 : k).toLocaleString('en');
        return (
          tableWithCpu(`one-way shuffle: a filter keeping no record, ${n.toLocaleString('en')} records, ${keys} keys (median of 5 rounds)`, x.results, x.cpu, 'drop (plain, one thread)') +
          `\n\nshuffle into parallel(2) threads (one way), ${keys} keys: ${fmtRate(t2)} (target ≥ 3 M/s: ${t2 >= 3e6 ? 'met' : 'NOT met'})`
        );
      })
      .join('\n\n') +
    '\n\n' +
    tableWithCpu(`one way into a keyed sum (no work, a timer per record, one output per key and round), ${n.toLocaleString('en')} records, ${k.toLocaleString('en')} keys (median of 5 rounds)`, oneWayResults, oneWayCpu, 'keyed sum (plain, one thread)') +
    `\n\nparallel(2) threads / plain: ${ratio(oneWayResults, 'parallel(2, keyed sum) threads', 'keyed sum (plain, one thread)').toFixed(2)}× (${fmtRate(t2OneWay)})` +
    `\nthread start-up, parallel(2) over an empty input (worker modules loaded through tsx): ${startMs.toFixed(0)} ms (median of 3)` +
    '\n\n' +
    table(`codec on one thread, ${cn.toLocaleString('en')} records (batches of ${batch}) vs structured clone (median of 7 rounds)`, codecResults, 'structured clone, serialise + deserialise (1 000-record arrays)') +
    `\n\ncodec round trip of one record (both sides, one thread): ${fmtRate(few)} at 100 keys, ${fmtRate(many)} at ${k.toLocaleString('en')} keys; structured clone: ${fmtRate(sc)} → codec ${(few / sc).toFixed(1)}× / ${(many / sc).toFixed(1)}× structured clone`
  );
}

const PARTS: Record<string, { run: (n: number) => Promise<string>; n: number }> = {
  speedup: { run: speedupPart, n: 1_000_000 },
  overhead: { run: overheadPart, n: 1_000_000 },
  shuffle: { run: shufflePart, n: 2_000_000 },
};

/**
 * `part` given: runs that part here. Otherwise (or `'all'`) runs each part in a fresh Node process (so one part's JIT
 * state does not colour the next) and returns their reports; `records` overrides every part's size.
 */
export async function parallelBench(part?: string, records?: number): Promise<{ report: string }> {
  if (part !== undefined && part !== 'all') {
    const p = PARTS[part];
    if (p === undefined) throw new Error(`parallel bench: unknown part '${part}'; have: ${Object.keys(PARTS).join(', ')}`);
    return { report: await p.run(records ?? p.n) };
  }
  const reports: string[] = [];
  for (const name of Object.keys(PARTS)) {
    const args = ['--import', 'tsx', 'bench/run.ts', 'parallel', name, ...(records !== undefined ? [String(records)] : [])];
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`parallel bench: part ${name} failed (exit ${r.status})`);
    reports.push(r.stdout.trimEnd());
  }
  return { report: reports.join('\n\n') };
}
