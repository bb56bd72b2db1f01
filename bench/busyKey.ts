/**
 * `npm run bench -- busy-key`: one key with many open sessions or join buckets while the watermark lags — the regime
 * where a per-key sorted array costs a move of all of the key's entries per change. Each case runs at N and 2 N
 * elements (one process, best of 3 rounds each) and prints its time and the ratio 2 N / N: ≈ 2 when the cost is
 * linear, ≈ 4 when it is quadratic.
 *
 * - session operator (`aggregate(count())`): sessions made in order, then half of them merged in pairs by
 *   elements between them; sessions made in reverse order (each before all others); in random order;
 * - general window operator (sessions with `processWindow`, element lists): the same merges in pairs;
 * - interval join: one side's elements in reverse order, and in random order (each a bucket among the others);
 * - slicing window operator (tumbling 1 ms, `aggregate(count())`): slices made in reverse order; slices made in
 *   order, then the watermark passing them one by one;
 * - `mergeStreams` (exactly-once): one input delivers its records and a barrier every 10 before the other input
 *   delivers any barrier, then the other delivers them one by one (each releases one stretch of what is held);
 * - `mergeStreams` of N / 100 inputs (1 000 at N): 100 watermarks each, every one on the input that holds the
 *   minimum, and 10 checkpoints' barriers on every input;
 * - a long window's element list (tumbling 1 day, `processWindow`, four keys) with an incremental snapshot every
 *   100 elements: each delta appends the elements added since (it wrote the whole lists before);
 * - one key's map state of N entries, each set again in turn, an incremental snapshot every 100 sets: each delta
 *   patches the entries set since (it wrote the whole map before);
 * - one key's interval join, a timestamp per element, the watermark 60 s behind (≈ 30 000 timestamps a side), an
 *   incremental snapshot every 1 000 elements: each delta writes the blocks of the buffer that changed (it wrote the
 *   whole buffer before);
 * - one key's sessions piling up (the session operator; the general one, with `reduce`: its merging window set), an
 *   incremental snapshot every 500 elements: the same;
 * - sessions (the general operator, `processWindow`) each merged into a big one by an element bridging it, an
 *   incremental snapshot every 100 elements: the merged elements are appended to the big one's list in place (it was
 *   copied, and written whole, at each merge).
 *
 * The watermark stays below every element until the end, then passes everything (all sessions fire, all buckets go),
 * but in the second slicing case.
 */
import { pipe, Subject, type Observable } from 'rxjs';
import { barrier, count, mapState, mergeStreams, record, sessionWindows, tumblingWindows, type StreamElement } from '../src/index.js';
import { aggregate, intervalJoin, process, processWindow, reduce, window } from '../operators/index.js';
import { harness, twoInputHarness } from '../testing/index.js';

type E = [string, number];

/** A seeded shuffle (the same order every run). */
function shuffled(values: number[], seed: number): number[] {
  let x = seed;
  for (let i = values.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [values[i], values[j]] = [values[j] as number, values[i] as number];
  }
  return values;
}

/** Timestamps of `n` sessions of gap 10 that do not touch (15 ms apart), in the given order. */
function sessionTimes(n: number, order: 'in order' | 'reverse' | 'random'): number[] {
  const ts = Array.from({ length: n }, (_, i) => 15 * i);
  return order === 'reverse' ? ts.reverse() : order === 'random' ? shuffled(ts, 7) : ts;
}

function sessions(general: boolean, n: number, order: 'merges' | 'reverse' | 'random'): number {
  const op = general
    ? pipe(window<E, string>(sessionWindows(10), { name: 'w' }), processWindow((els: readonly E[]) => els.length))
    : pipe(window<E, string>(sessionWindows(10), { name: 'w' }), aggregate(count()));
  const h = harness(op);
  const t0 = performance.now();
  if (order === 'merges') {
    // n sessions 20 ms apart, then an element between each other pair: [20 i, 20 i + 10) and [20 i + 20, …) merge
    for (let i = 0; i < n; i++) h.record(['k', 1], 20 * i, 'k');
    for (let i = 0; i < n; i += 2) h.record(['k', 1], 20 * i + 10, 'k');
  } else for (const t of sessionTimes(n, order)) h.record(['k', 1], t, 'k');
  h.watermark(Number.MAX_SAFE_INTEGER);
  const ms = performance.now() - t0;
  if (h.output().length === 0) throw new Error('busy-key: no sessions fired');
  return ms;
}

function join(n: number, order: 'reverse' | 'random'): number {
  const h = twoInputHarness((right$: Observable<StreamElement<number, string>>) => intervalJoin<number, number, string, number>(right$, { lower: -1, upper: 1 }, (l) => l, { name: 'j' }));
  const ts = Array.from({ length: n }, (_, i) => 3 * i);
  const els: StreamElement<number, string>[] = (order === 'reverse' ? ts.reverse() : shuffled(ts, 3)).map((t) => ({ kind: 'record', value: t, timestamp: t, key: 'k' }));
  const t0 = performance.now();
  for (let i = 0; i < els.length; i += 10_000) h.push(...els.slice(i, i + 10_000));
  h.push({ kind: 'watermark', timestamp: Number.MAX_SAFE_INTEGER });
  h.push2({ kind: 'watermark', timestamp: Number.MAX_SAFE_INTEGER });
  const ms = performance.now() - t0;
  if (h.keys().length > 0) throw new Error('busy-key: join state left');
  return ms;
}

function slices(n: number, order: 'reverse' | 'watermark steps'): number {
  const h = harness(pipe(window<number, string>(tumblingWindows(1), { name: 'w' }), aggregate(count())));
  const t0 = performance.now();
  if (order === 'reverse') {
    for (let t = n - 1; t >= 0; t--) h.record(1, t, 'k');
    h.watermark(Number.MAX_SAFE_INTEGER);
  } else {
    for (let t = 0; t < n; t++) h.record(1, t, 'k');
    for (let t = 0; t < n; t++) h.watermark(t);
  }
  const ms = performance.now() - t0;
  if (h.records().length !== n) throw new Error('busy-key: slices lost');
  return ms;
}

function longWindowSnapshots(n: number): number {
  const h = harness(pipe(window<number, string>(tumblingWindows(86_400_000), { name: 'w' }), processWindow((els: readonly number[]) => els.length)));
  const t0 = performance.now();
  for (let t = 0; t < n; t++) {
    h.record(t, t, `k${t % 4}`);
    if (t % 100 === 99) h.snapshot();
  }
  h.watermark(Number.MAX_SAFE_INTEGER);
  const ms = performance.now() - t0;
  if (h.records().reduce((sum, r) => sum + (r.value as { value: number }).value, 0) !== n) throw new Error('busy-key: elements of the long window lost');
  return ms;
}

function bigMapSnapshots(n: number): number {
  const state = { m: mapState<number, number>() };
  const h = harness(
    process<number, string, number, typeof state>({
      name: 'p',
      state,
      onElement(v, ctx) {
        if (v < 0) for (let k = 0; k < n; k++) ctx.state.m.set(k, k);
        else ctx.state.m.set(v % n, v);
      },
    }),
  );
  const t0 = performance.now();
  h.record(-1, 0, 'k');
  h.snapshot();
  for (let t = 0; t < n; t++) {
    h.record(t, t, 'k');
    if (t % 100 === 99) h.snapshot();
  }
  const ms = performance.now() - t0;
  if ((h.state('k', 'm') as Map<number, number>).get(n - 1) !== n - 1) throw new Error('busy-key: the map lost its entries');
  return ms;
}

function hotJoinSnapshots(n: number): number {
  const h = twoInputHarness((right$: Observable<StreamElement<string, string>>) => intervalJoin<string, string, string, string>(right$, { lower: -1, upper: 1 }, (l, r) => l + r, { name: 'j' }));
  let pairs = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) h.record('l', i, 'k');
    else h.record2('r', i, 'k');
    if (i % 1000 === 999) {
      h.watermark(i - 60_000).watermark2(i - 60_000);
      pairs += h.takeOutput().length;
      h.snapshot();
    }
  }
  const ms = performance.now() - t0;
  if (pairs < n) throw new Error('busy-key: the hot key joined too little');
  return ms;
}

function pilingSessionSnapshots(n: number, general = false): number {
  // (reduce: the general operator, with the key's merging window set; count: the session operator)
  const h = harness(pipe(window<number, string>(sessionWindows(12), { name: 'w' }), general ? reduce((a: number, b: number) => a + b) : aggregate(count())));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    h.record(1, 20 * i, 'k');
    if (i % 500 === 499) h.snapshot();
  }
  h.watermark(Number.MAX_SAFE_INTEGER);
  const ms = performance.now() - t0;
  if (h.records().length !== n) throw new Error('busy-key: sessions lost');
  return ms;
}

function bridgedSessionSnapshots(n: number): number {
  const h = harness(pipe(window<number, string>(sessionWindows(10), { name: 'w' }), processWindow((els: readonly number[]) => els.length)));
  const t0 = performance.now();
  // the big session [0, …) grows by a small session 15 ms after its end, bridged by an element 8 ms after its end
  let end = 10;
  h.record(1, 0, 'k');
  for (let i = 1; i < n; i += 2) {
    h.record(1, end + 5, 'k');
    h.record(1, end - 2, 'k');
    end += 15;
    if (i % 100 === 99) h.snapshot();
  }
  h.watermark(Number.MAX_SAFE_INTEGER);
  const ms = performance.now() - t0;
  const results = h.records();
  if (results.length !== 1 || (results[0] as { value: { value: number } }).value.value < n - 1) throw new Error('busy-key: the bridged session lost elements');
  return ms;
}

/** `mergeStreams` of N / 100 inputs, 100 watermarks each, each arriving on the input that holds the minimum. */
function manyInputsStaggered(n: number): number {
  const k = n / 100;
  const inputs = Array.from({ length: k }, () => new Subject<StreamElement<number, string>>());
  let watermarks = 0;
  let barriers = 0;
  const sub = mergeStreams(...inputs).subscribe((e) => {
    if (e.kind === 'watermark') watermarks++;
    else if (e.kind === 'barrier') barriers++;
  });
  const t0 = performance.now();
  for (let r = 0; r < 100; r++) {
    for (let i = 0; i < k; i++) inputs[i]?.next({ kind: 'watermark', timestamp: r * k + i });
    // a checkpoint every 10 rounds: its barrier arrives on every input
    if (r % 10 === 9) for (let i = 0; i < k; i++) inputs[i]?.next(barrier(r / 10 + 1));
  }
  for (const s of inputs) s.complete();
  const ms = performance.now() - t0;
  sub.unsubscribe();
  if (watermarks < 99 || barriers !== 10) throw new Error(`busy-key: the merge of ${k} inputs gave ${watermarks} watermarks and ${barriers} barriers`);
  return ms;
}

function aheadByBarriers(n: number): number {
  const a = new Subject<StreamElement<number, string>>();
  const b = new Subject<StreamElement<number, string>>();
  let out = 0;
  const sub = mergeStreams(a, b).subscribe(() => out++);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    a.next(record(i, i, 'k'));
    if (i % 10 === 9) a.next(barrier((i + 1) / 10));
  }
  for (let id = 1; id <= n / 10; id++) b.next(barrier(id));
  a.complete();
  b.complete();
  const ms = performance.now() - t0;
  sub.unsubscribe();
  if (out < n + n / 10) throw new Error(`busy-key: the merge gave ${out} elements, fewer than its ${n} records and ${n / 10} barriers`);
  return ms;
}

const CASES: readonly { readonly name: string; readonly n: number; readonly run: (n: number) => number }[] = [
  { name: 'session operator, pairs merged', n: 100_000, run: (n) => sessions(false, n, 'merges') },
  { name: 'session operator, reverse order', n: 100_000, run: (n) => sessions(false, n, 'reverse') },
  { name: 'session operator, random order', n: 100_000, run: (n) => sessions(false, n, 'random') },
  { name: 'general operator, pairs merged', n: 10_000, run: (n) => sessions(true, n, 'merges') },
  { name: 'general operator, pairs merged', n: 40_000, run: (n) => sessions(true, n, 'merges') },
  { name: 'interval join, reverse order', n: 100_000, run: (n) => join(n, 'reverse') },
  { name: 'interval join, random order', n: 100_000, run: (n) => join(n, 'random') },
  { name: 'slicing operator, slices in reverse order', n: 100_000, run: (n) => slices(n, 'reverse') },
  { name: 'slicing operator, the watermark in steps', n: 100_000, run: (n) => slices(n, 'watermark steps') },
  { name: 'mergeStreams, one input N / 10 barriers ahead', n: 100_000, run: (n) => aheadByBarriers(n) },
  { name: 'mergeStreams of N / 100 inputs, each watermark on the input at the minimum, 10 checkpoints', n: 100_000, run: (n) => manyInputsStaggered(n) },
  { name: 'long window lists, a snapshot every 100 elements', n: 40_000, run: (n) => longWindowSnapshots(n) },
  { name: "one key's map of N entries, a snapshot every 100 sets", n: 40_000, run: (n) => bigMapSnapshots(n) },
  { name: "one key's interval join, 60 s behind, a snapshot every 1 000", n: 100_000, run: (n) => hotJoinSnapshots(n) },
  { name: "one key's sessions piling up, a snapshot every 500", n: 40_000, run: (n) => pilingSessionSnapshots(n) },
  { name: "one key's sessions piling up (general operator, reduce), a snapshot every 500", n: 20_000, run: (n) => pilingSessionSnapshots(n, true) },
  { name: 'sessions bridged into a big one (processWindow), a snapshot every 100', n: 20_000, run: (n) => bridgedSessionSnapshots(n) },
];

/** Runs every case (or those whose name contains `only`) at N and 2 N; returns the markdown table. */
export function busyKeyBench(only?: string): { report: string } {
  const rows: string[] = [];
  for (const c of CASES) {
    if (only !== undefined && !c.name.includes(only)) continue;
    const best = (n: number): number => Math.min(...[0, 1, 2].map(() => c.run(n)));
    const t1 = best(c.n);
    const t2 = best(2 * c.n);
    const row = `| ${c.name} | ${c.n.toLocaleString('en')} | ${t1.toFixed(0)} ms | ${t2.toFixed(0)} ms | ${(t2 / t1).toFixed(2)} |`;
    console.error(row);
    rows.push(row);
  }
  return {
    report: [
      `\`npm run bench -- busy-key${only !== undefined ? ` ${only}` : ''}\`, ${new Date().toISOString()}: one key, the watermark lagging until the end; best of 3 rounds at N and 2 N.`,
      '',
      '| case | N | time at N | time at 2 N | 2 N / N |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows,
    ].join('\n'),
  };
}
