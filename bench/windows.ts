import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Observable, pipe, type OperatorFunction } from 'rxjs';
import {
  count,
  MAX_WATERMARK,
  record,
  sessionWindows,
  slidingWindows,
  tumblingWindows,
  watermark,
  type StreamElement,
  type WindowResult,
} from '../src/index.js';
import { aggregate, window } from '../operators/index.js';
import { prng } from '../demo/clicks.js';
import { ratio, type Result } from './harness.js';

/**
 * `npm run bench -- windows`: a matrix of the windowed-count regimes users meet, each cell against a hand-written
 * loop doing the same work, all in one run.
 *
 * - window kinds: tumbling, sliding (size / slide = 10), sessions (gap = the size);
 * - sizes: 1 s, 10 s, 60 s;
 * - watermark regimes: one on every advance of event time (after each record whose timestamp is higher than the
 *   last, `t − 1`, as `monotonousTimestamps({ interval: 0 })` emits), one every 1 000 records (`t − 1`), only the
 *   final `MAX_WATERMARK` (a replay); every stream ends with `MAX_WATERMARK`;
 * - keys: 1 000, 10 000, 100 000 (`user-<i>`, drawn at random with `prng(7)`);
 * - data: N events (default 1 M) and 2 N, 10 events per ms of event time (timestamp `floor(i / 10)`), value 1,
 *   already keyed (`record(1, ts, key)` with the regime's watermarks interleaved), kept as typed arrays and made into
 *   elements as they are read (`Input`), as a source makes them, for tidewater and the loops alike;
 * - pipeline: `window(assigner)` then `aggregate(count())`, fed by a loop over the elements as they are made (plus a deadline check
 *   every 4 096 elements, for the time cap below);
 * - baseline: a hand-written loop per kind (below) emitting one `{ key, window: { start, end }, value }` object per
 *   firing into a sink that sums the counts, as the tidewater case's subscriber does. Per cell and size, the number
 *   of results and the sum of counts of both must be equal, or the run fails.
 *
 * Each (kind, size, regime, keys) group runs in its own Node process (JIT state does not leak between cells): a
 * warm-up (tidewater and the loop, twice, on N / 10 events), then 5 rounds, each of tidewater and the loop at N, then
 * at 2 N (see `runGroup`). Each run follows a full garbage collection, so that none pays for the garbage of the one
 * before. Times are medians of the 5 rounds; a ratio — to the loop, or of the time at 2 N to the time at N — is the
 * median of the per-round ratios (`ratio` in bench/harness.ts). Time cap: a tidewater run stops feeding input once
 * it has run for `--cap` seconds (default 20); the cell is then reported as "> 20 s", and tidewater's further runs
 * at that size (at 2 N too, when N was capped) are skipped.
 *
 * Targets: tumbling and sliding ≥ 0.5× their loop, sessions ≥ 0.3×; linearity: tidewater's time at 2 N ≤ 2.2× its
 * time at N; the cost of a result on the slicing path ≤ 150 ns — measured in a process of its own per regime (every
 * advance, end only) when the run selects tumbling windows, the 60 s size and 1 000 keys (see `RESULT_COST`).
 *
 * The issue-4 case (1-minute tumbling, a watermark every 10 000 events, 10 000 keys — what this benchmark measured
 * before the matrix, on the same data) runs as an extra group whenever tumbling, 60 s, 10 000 keys and that regime
 * are selected (`--regimes` not given, or listing `10000`). Its baseline now emits result objects, so its ratio is
 * not the old "Map loop" ratio.
 *
 * Usage: `npm run bench -- windows [tumbling|sliding|sessions …] [--sizes 1000,10000] [--keys 1000]
 * [--regimes advance,1000,end] [--events 1000000] [--cap 20] [--write]` (`--write`: the report also replaces or
 * appends the section "## windows matrix (issue 14)" of BENCHMARKS.md).
 */

type Kind = 'tumbling' | 'sliding' | 'sessions';
/** `'advance'`: a watermark on every advance of event time; `'end'`: only the final MAX; a number: every n records. */
type Regime = 'advance' | 'end' | number;

interface Group {
  readonly kind: Kind;
  /** window size, slide × 10, or session gap, in ms */
  readonly size: number;
  readonly regime: Regime;
  readonly keys: number;
}

interface Options {
  readonly kinds: readonly Kind[];
  readonly sizes: readonly number[];
  readonly regimes: readonly Regime[];
  readonly regimesGiven: boolean;
  readonly keys: readonly number[];
  readonly events: number;
  readonly capSeconds: number;
  readonly write: boolean;
  /** `--group kind,size,regime,keys`: run that group here (the child process's mode) */
  readonly group: Group | undefined;
  /** `--result-cost regime`: measure the cost of a result at that regime here (the child process's mode) */
  readonly resultCost: Regime | undefined;
}

const KINDS: readonly Kind[] = ['tumbling', 'sliding', 'sessions'];
const DEFAULT_SIZES = [1_000, 10_000, 60_000];
const DEFAULT_REGIMES: readonly Regime[] = ['advance', 1_000, 'end'];
const DEFAULT_KEYS = [1_000, 10_000, 100_000];
const LEGACY: Group = { kind: 'tumbling', size: 60_000, regime: 10_000, keys: 10_000 };
/**
 * The cost of a result (issue 14: one firing ≤ 150 ns on the slicing path): tumbling windows of 100 ms against 60 s
 * at 1 000 keys, on the same events. The 100 ms windows give ≈ 630 000 results per 1 M events against 2 000 (each
 * key's first element in a slice makes an entry, the others update it), so the difference of their times over the
 * difference of their results is what a result costs: its entry made in its slice, filled, fired and emitted. Both
 * run in one process, rounds alternating, and the cost is the median of the per-round costs (a change in the host's
 * speed weighs on both sides of a round alike). Measured for each of the regimes 'advance' and 'end' (every entry
 * held until the end) the run selects, when it selects tumbling windows, the 60 s size and 1 000 keys.
 */
const RESULT_COST = { small: 100, large: 60_000, keys: 1_000, regimes: ['advance', 'end'] as const, target: 150 };
const ROUNDS = 5;
const TARGET: Record<Kind, number> = { tumbling: 0.5, sliding: 0.5, sessions: 0.3 };
const LINEARITY = 2.2;
/** The line of a child's stdout that carries its cell (JSON). */
const CELL_MARK = '@@windows-cell ';

function fail(message: string): never {
  throw new Error(`windows bench: ${message}`);
}

function parseNumbers(flag: string, text: string | undefined): number[] {
  if (text === undefined) fail(`${flag} needs a value, e.g. ${flag} 1000,10000`);
  return text.split(',').map((s) => {
    const n = Number(s.replace(/_/g, ''));
    if (!Number.isInteger(n) || n <= 0) fail(`${flag}: '${s}' is not a positive integer`);
    return n;
  });
}

function parseRegime(s: string): Regime {
  if (s === 'advance' || s === 'end') return s;
  const n = Number(s.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) fail(`regime '${s}': use advance, end, or a number of records between watermarks`);
  return n;
}

function parseArgs(args: readonly string[]): Options {
  const kinds: Kind[] = [];
  let sizes = DEFAULT_SIZES;
  let regimes = DEFAULT_REGIMES;
  let regimesGiven = false;
  let keys = DEFAULT_KEYS;
  let events = 1_000_000;
  let capSeconds = 20;
  let write = false;
  let group: Group | undefined;
  let resultCost: Regime | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if ((KINDS as readonly string[]).includes(a)) kinds.push(a as Kind);
    else if (a === '--sizes') sizes = parseNumbers(a, args[++i]);
    else if (a === '--keys') keys = parseNumbers(a, args[++i]);
    else if (a === '--events') events = parseNumbers(a, args[++i])[0] as number;
    else if (a === '--cap') capSeconds = parseNumbers(a, args[++i])[0] as number;
    else if (a === '--regimes') {
      const text = args[++i];
      if (text === undefined) fail('--regimes needs a value, e.g. --regimes advance,1000,end');
      regimes = text.split(',').map(parseRegime);
      regimesGiven = true;
    } else if (a === '--write') write = true;
    else if (a === '--group') {
      const [kind, size, regime, k] = (args[++i] ?? '').split(',');
      if (!(KINDS as readonly string[]).includes(kind ?? '')) fail(`--group: unknown kind '${kind}'`);
      group = { kind: kind as Kind, size: parseNumbers('--group size', size)[0] as number, regime: parseRegime(regime ?? ''), keys: parseNumbers('--group keys', k)[0] as number };
    } else if (a === '--result-cost') resultCost = parseRegime(args[++i] ?? '');
    else fail(`unknown argument '${a}'; usage: windows [tumbling|sliding|sessions] [--sizes 1000,10000] [--keys 1000] [--regimes advance,1000,end] [--events 1000000] [--cap 20] [--write]`);
  }
  for (const s of sizes) if (s % 10 !== 0 && (kinds.length === 0 || kinds.includes('sliding'))) fail(`size ${s}: sliding windows slide by size / 10, so sizes must be multiples of 10 ms`);
  return { kinds: kinds.length > 0 ? KINDS.filter((k) => kinds.includes(k)) : KINDS, sizes, regimes, regimesGiven, keys, events, capSeconds, write, group, resultCost };
}

// ---------------------------------------------------------------------------------------------------------------
// Data

type Element = StreamElement<number, string>;

/**
 * A run's input, kept compact: element `i` is a record of key `names[keyIndex[i]]` at `timestamps[i]`, or a watermark
 * at `timestamps[i]` where `keyIndex[i]` is −1. Its elements are made as they are read ({@link elementAt}), by
 * tidewater's source and by the loops alike, as a source reading a file or a topic makes them: 2 M element objects
 * held through a run would be marked by every major collection in it, a cost that grows with the input held, not
 * with the work measured (see `runGroup`).
 */
interface Input {
  readonly length: number;
  readonly timestamps: Float64Array;
  readonly keyIndex: Int32Array;
  readonly names: readonly string[];
}

/** Element `i` of `input`, made now (a record in the one shape of `record()`, or a watermark). */
function elementAt(input: Input, i: number): Element {
  const k = input.keyIndex[i] as number;
  const t = input.timestamps[i] as number;
  return k >= 0 ? record(1, t, input.names[k] as string) : watermark(t);
}

/** N records of `keys` keys, 10 per ms of event time, with the regime's watermarks, ending with MAX. */
function makeInput(n: number, keys: number, regime: Regime): Input {
  const rnd = prng(7);
  const names = Array.from({ length: keys }, (_, i) => `user-${i}`);
  const watermarks = regime === 'advance' ? Math.ceil(n / 10) : regime === 'end' ? 0 : Math.floor(n / regime);
  const capacity = n + watermarks + 1;
  const timestamps = new Float64Array(capacity);
  const keyIndex = new Int32Array(capacity);
  let length = 0;
  const push = (t: number, k: number): void => {
    timestamps[length] = t;
    keyIndex[length++] = k;
  };
  let last = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = Math.floor(i / 10);
    push(t, Math.floor(rnd() * keys));
    if (regime === 'advance') {
      if (t > last) push(t - 1, -1);
    } else if (regime !== 'end' && i % regime === regime - 1) push(t - 1, -1);
    last = t;
  }
  push(MAX_WATERMARK, -1);
  if (length !== capacity) throw new Error(`windows bench: ${length} elements made, ${capacity} expected`);
  return { length, timestamps, keyIndex, names };
}

// ---------------------------------------------------------------------------------------------------------------
// The hand-written loops: in-order data (they throw otherwise), the same firings as tidewater's (docs/SEMANTICS.md
// §1.2–§1.4: a window [start, end) fires when the watermark reaches end − 1; sessions merge when they touch).

type Sink = (result: WindowResult<string, number>) => void;

function outOfOrder(t: number): never {
  throw new Error(`windows bench loop: record at ${t} is out of order (the loops assume in-order data)`);
}

/** Floors `t` onto the grid of `step` (negative timestamps too). */
const floorTo = (t: number, step: number): number => t - (((t % step) + step) % step);

interface CountWindow {
  readonly start: number;
  readonly counts: Map<string, number>;
}

/** Tumbling: a Map of key → count per open window, the windows in start (= end) order, fired from the front. */
function tumblingLoop(input: Input, size: number, sink: Sink): void {
  const open: (CountWindow | undefined)[] = [];
  let head = 0;
  let current: Map<string, number> | undefined;
  let currentStart = -Infinity;
  let currentEnd = -Infinity;
  for (let i = 0; i < input.length; i++) {
    const e = elementAt(input, i);
    if (e.kind === 'record') {
      const t = e.timestamp;
      if (t >= currentEnd || current === undefined) {
        if (t < currentStart) outOfOrder(t);
        currentStart = floorTo(t, size);
        currentEnd = currentStart + size;
        current = new Map();
        open.push({ start: currentStart, counts: current });
      } else if (t < currentStart) outOfOrder(t);
      current.set(e.key, (current.get(e.key) ?? 0) + 1);
    } else if (e.kind === 'watermark') {
      const w = e.timestamp;
      while (head < open.length) {
        const win = open[head] as CountWindow;
        const end = win.start + size;
        if (end - 1 > w) break;
        const window = { start: win.start, end };
        for (const [key, value] of win.counts) sink({ key, window, value });
        open[head++] = undefined;
        if (win.counts === current) current = undefined;
      }
    }
  }
}

/**
 * Sliding (size = 10 × slide): counts per pane (slice of `slide` ms) per key; a running Map of the counts of the
 * window about to fire, which adds the pane entering it and subtracts the one leaving it (keys at 0 removed), so a
 * firing emits the running map. Cheaper than re-combining the 10 panes into a fresh map per firing (≈ 3× faster
 * than that at 1 M events, 1 000 to 100 000 keys, in a scratch comparison) or a map per window (10 updates per
 * record).
 */
function slidingLoop(input: Input, size: number, slide: number, sink: Sink): void {
  const panes: (CountWindow | undefined)[] = [];
  let added = 0; // panes[0, added) are in `running` or were subtracted
  let subtracted = 0; // panes[0, subtracted) left `running`
  let current: Map<string, number> | undefined;
  let currentStart = -Infinity;
  let currentEnd = -Infinity;
  const running = new Map<string, number>();
  let nextEnd = -Infinity; // end of the next window to fire
  for (let i = 0; i < input.length; i++) {
    const e = elementAt(input, i);
    if (e.kind === 'record') {
      const t = e.timestamp;
      if (t >= currentEnd || current === undefined) {
        if (t < currentStart) outOfOrder(t);
        currentStart = floorTo(t, slide);
        currentEnd = currentStart + slide;
        current = new Map();
        panes.push({ start: currentStart, counts: current });
      } else if (t < currentStart) outOfOrder(t);
      current.set(e.key, (current.get(e.key) ?? 0) + 1);
    } else if (e.kind === 'watermark') {
      const w = e.timestamp;
      for (;;) {
        if (running.size === 0) {
          if (added === panes.length) break;
          // nothing open: the next window to fire is the first holding the next pane
          nextEnd = Math.max(nextEnd, (panes[added] as CountWindow).start + slide);
        }
        if (nextEnd - 1 > w) break;
        const start = nextEnd - size;
        for (; added < panes.length && (panes[added] as CountWindow).start < nextEnd; added++) {
          const pane = panes[added] as CountWindow;
          if (pane.counts === current) current = undefined;
          for (const [key, c] of pane.counts) running.set(key, (running.get(key) ?? 0) + c);
        }
        for (; subtracted < added && (panes[subtracted] as CountWindow).start < start; subtracted++) {
          for (const [key, c] of (panes[subtracted] as CountWindow).counts) {
            const r = (running.get(key) as number) - c;
            if (r === 0) running.delete(key);
            else running.set(key, r);
          }
          panes[subtracted] = undefined;
        }
        const window = { start, end: nextEnd };
        for (const [key, value] of running) sink({ key, window, value });
        nextEnd += slide;
      }
    }
  }
}

interface Session {
  readonly key: string;
  readonly start: number;
  end: number;
  count: number;
  open: boolean;
}

/**
 * Sessions: per key its current session (start, end = last timestamp + gap, count); a record at `t ≤ end` joins it
 * (touching windows merge). A queue of (end, session) in end order (in-order data: ends never decrease) holds the
 * due times; a firing pops the entries whose end − 1 the watermark reached and skips stale ones (the session grew
 * or fired since).
 */
function sessionsLoop(input: Input, gap: number, sink: Sink): void {
  const sessions = new Map<string, Session>();
  let dueEnds: number[] = [];
  let dueSessions: Session[] = [];
  let head = 0;
  let last = -Infinity;
  for (let i = 0; i < input.length; i++) {
    const e = elementAt(input, i);
    if (e.kind === 'record') {
      const t = e.timestamp;
      if (t < last) outOfOrder(t);
      last = t;
      const end = t + gap;
      const s = sessions.get(e.key);
      if (s !== undefined && t <= s.end) {
        s.count++;
        if (end === s.end) continue;
        s.end = end;
        dueEnds.push(end);
        dueSessions.push(s);
      } else {
        const fresh: Session = { key: e.key, start: t, end, count: 1, open: true };
        sessions.set(e.key, fresh);
        dueEnds.push(end);
        dueSessions.push(fresh);
      }
    } else if (e.kind === 'watermark') {
      const w = e.timestamp;
      for (; head < dueEnds.length && (dueEnds[head] as number) - 1 <= w; head++) {
        const s = dueSessions[head] as Session;
        if (!s.open || s.end !== dueEnds[head]) continue;
        s.open = false;
        if (sessions.get(s.key) === s) sessions.delete(s.key);
        sink({ key: s.key, window: { start: s.start, end: s.end }, value: s.count });
      }
      if (head >= 4096 && head * 2 >= dueEnds.length) {
        dueEnds = dueEnds.slice(head);
        dueSessions = dueSessions.slice(head);
        head = 0;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One group, in this process

interface Totals {
  readonly results: number;
  readonly sum: number;
}

interface Run extends Totals {
  readonly ms: number;
  /** stopped at the time cap */
  readonly capped: boolean;
}

type WindowCount = OperatorFunction<Element, StreamElement<WindowResult<string, number>, string>>;

function pipelineOf(g: Group): WindowCount {
  const assigner = g.kind === 'tumbling' ? tumblingWindows(g.size) : g.kind === 'sliding' ? slidingWindows(g.size, g.size / 10) : sessionWindows(g.size);
  return pipe(window<number, string>(assigner), aggregate(count()));
}

/** Keeps result objects alive past the sink (so they are really allocated). */
let lastResult: WindowResult<string, number> | undefined;

/** A full garbage collection before a timed run (the child runs with --expose-gc), so that no run pays for another's garbage. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function runTidewater(op: WindowCount, input: Input, capMs: number): Run {
  collectGarbage();
  let results = 0;
  let sum = 0;
  let capped = false;
  const t0 = performance.now();
  const deadline = t0 + capMs;
  // `from(elements)`'s loop over the elements as they are made, plus the deadline check
  const source = new Observable<Element>((subscriber) => {
    for (let i = 0; i < input.length && !subscriber.closed; i++) {
      subscriber.next(elementAt(input, i));
      if ((i & 4095) === 4095 && performance.now() > deadline) {
        capped = true;
        return;
      }
    }
    subscriber.complete();
  });
  const subscription = source.pipe(op).subscribe((e) => {
    if (e.kind !== 'record') return;
    lastResult = e.value;
    results++;
    sum += e.value.value;
  });
  const ms = performance.now() - t0;
  subscription.unsubscribe();
  return { results, sum, ms, capped };
}

function runLoop(g: Group, input: Input): Run {
  let results = 0;
  let sum = 0;
  const sink: Sink = (r) => {
    lastResult = r;
    results++;
    sum += r.value;
  };
  collectGarbage();
  const t0 = performance.now();
  if (g.kind === 'tumbling') tumblingLoop(input, g.size, sink);
  else if (g.kind === 'sliding') slidingLoop(input, g.size, g.size / 10, sink);
  else sessionsLoop(input, g.size, sink);
  return { results, sum, ms: performance.now() - t0, capped: false };
}

function check(g: Group, n: number, tidewater: Run, loop: Run): void {
  if (tidewater.capped) return;
  if (tidewater.results !== loop.results || tidewater.sum !== loop.sum) {
    fail(
      `${groupLabel(g)}, ${n.toLocaleString('en')} events: tidewater emitted ${tidewater.results} results summing to ${tidewater.sum}, ` +
        `the hand-written loop ${loop.results} summing to ${loop.sum} — one of them is wrong`,
    );
  }
}

/** What a child reports for its group. */
interface Cell {
  readonly group: Group;
  readonly events: number;
  /** median ms of tidewater at N and 2 N (null: capped) */
  readonly tidewaterMs: readonly [number | null, number | null];
  readonly loopMs: readonly [number, number];
  /** median of per-round (loop time / tidewater time), at N and 2 N */
  readonly vsLoop: readonly [number | null, number | null];
  /** median of per-round (time at 2 N / time at N) of tidewater (null: capped) and of the loop */
  readonly growth: number | null;
  readonly loopGrowth: number;
  /** which sizes hit the time cap */
  readonly capped: readonly [boolean, boolean];
  /** the loop's results and sum of counts at N and 2 N (tidewater's are checked equal when it ran to the end) */
  readonly totals: readonly [Totals, Totals];
  readonly capSeconds: number;
  /** the group's process died (e.g. out of memory with its heap raised to 8 GB): how */
  readonly failed?: string;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

const asResult = (name: string, n: number, times: readonly number[]): Result => ({ name, eventsPerSec: (n / median(times)) * 1000, checksum: 0, times });

function runGroup(g: Group, n: number, capSeconds: number): Cell {
  const capMs = capSeconds * 1000;
  const op = pipelineOf(g);
  const sizes = [n, 2 * n] as const;
  const tw: [number[], number[]] = [[], []];
  const loop: [number[], number[]] = [[], []];
  const capped: [boolean, boolean] = [false, false];
  const totals: [Totals, Totals] = [
    { results: 0, sum: 0 },
    { results: 0, sum: 0 },
  ];

  // warm-up: both, round-robin, on N / 10 events
  let warm: Input | undefined = makeInput(Math.max(1, Math.floor(n / 10)), g.keys, g.regime);
  for (let w = 0; w < 2; w++) {
    const b = runLoop(g, warm);
    if (capped[0]) continue;
    const a = runTidewater(op, warm, capMs);
    check(g, Math.max(1, Math.floor(n / 10)), a, b);
    if (a.capped) capped[0] = capped[1] = true;
  }
  warm = undefined;
  // Both sizes' inputs made after the warm-up, kept compact (`Input`: two typed arrays, off the JS heap) and made
  // into elements as they flow, by tidewater's source and the loops alike:
  // - A major collection marks the whole heap. With the elements held as objects (≈ 174 MB of the 217 MB live at 2 M
  //   events in the cell traced) every major collection in a run marked them, and a run at 2 N, whose state pushes
  //   the heap past V8's limit (set from the live size after the collection before the run), paid one or two such
  //   collections that a run at N did not: 2 N / N exceeded 2.2 for the loops as for tidewater in cells that hold
  //   many windows (the fifth run of the matrix: up to 2.95 and 3.57). Now a collection marks the state, which is the
  //   work measured.
  // - V8 generalizes the representation of a record's fields the first time a record with another kind of value
  //   goes by (here: the window results, whose values are objects). Records made before that keep the old,
  //   deprecated object shape and are migrated one by one when code first touches them; records made as they flow
  //   never pay this.
  // Each round runs tidewater and the loop at N, then at 2 N; every ratio — to the loop, 2 N to N — is the median of
  // its per-round ratios, so that a change in the machine's speed during the group (another tenant of the host)
  // weighs on both sides of a ratio alike. The loop runs every round: a capped tidewater cell still gets a bound on
  // its ratio.
  const inputs = [makeInput(sizes[0], g.keys, g.regime), makeInput(sizes[1], g.keys, g.regime)] as const;
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of [0, 1] as const) {
      const a = capped[s] ? undefined : runTidewater(op, inputs[s], capMs);
      const b = runLoop(g, inputs[s]);
      loop[s].push(b.ms);
      totals[s] = { results: b.results, sum: b.sum };
      if (a === undefined) continue;
      check(g, sizes[s], a, b);
      if (a.capped) {
        capped[s] = true;
        if (s === 0) capped[1] = true;
      } else tw[s].push(a.ms);
    }
  }
  // a size capped in a later round: its completed rounds do not count either
  const tidewaterMs = [0, 1].map((s) => (capped[s] ? null : median(tw[s as 0 | 1]))) as [number | null, number | null];
  // every ratio the median of per-round ratios (bench/harness.ts `ratio`): later[i] / earlier[i]
  const perRound = (earlier: readonly number[], later: readonly number[]): number =>
    ratio([asResult('earlier', 1, earlier), asResult('later', 1, later)], 'earlier', 'later');
  const vsLoop = [0, 1].map((s) => (capped[s] ? null : perRound(tw[s as 0 | 1], loop[s as 0 | 1]))) as [number | null, number | null];
  const loopMs = [0, 1].map((s) => median(loop[s as 0 | 1])) as [number, number];
  const growth = capped[1] ? null : perRound(tw[0], tw[1]);
  const loopGrowth = perRound(loop[0], loop[1]);
  void lastResult; // (written by the sinks only to keep their objects alive)
  return { group: g, events: n, tidewaterMs, loopMs, vsLoop, growth, loopGrowth, capped, totals, capSeconds };
}

// ---------------------------------------------------------------------------------------------------------------
// The matrix: one child process per group, then the report

const sizeLabel = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);
const regimeLabel = (r: Regime): string => (r === 'advance' ? 'every advance' : r === 'end' ? 'end only' : `every ${r.toLocaleString('en')}`);
const keysLabel = (k: number): string => `${k.toLocaleString('en')} keys`;
const kindSize = (g: Group): string =>
  g.kind === 'tumbling' ? `tumbling ${sizeLabel(g.size)}` : g.kind === 'sliding' ? `sliding ${sizeLabel(g.size)} / ${sizeLabel(g.size / 10)}` : `sessions, gap ${sizeLabel(g.size)}`;
const groupLabel = (g: Group): string => `${kindSize(g)}, watermark ${regimeLabel(g.regime)}, ${keysLabel(g.keys)}`;
const groupArg = (g: Group): string => `${g.kind},${g.size},${g.regime},${g.keys}`;

/** The heap of each group's process, in MB (the cells that hold every window to the end need more than the default). */
const CHILD_HEAP_MB = 8192;

const RUN_TS = fileURLToPath(new URL('./run.ts', import.meta.url));
const BENCHMARKS_MD = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

/** Runs this bench in a child process in the mode `mode` (`--group …` or `--result-cost …`), at the run's size and cap. */
function spawnChild(mode: readonly string[], o: Options): SpawnSyncReturns<string> {
  const args = [`--max-old-space-size=${CHILD_HEAP_MB}`, '--expose-gc', '--import', 'tsx', RUN_TS, 'windows', ...mode, '--events', String(o.events), '--cap', String(o.capSeconds)];
  return spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 24 });
}

/** What a child printed on its marked line (see {@link CELL_MARK}), parsed; `what` names the child in the error. */
function childResult<X>(stdout: string, what: string): X {
  const line = stdout.split('\n').find((l) => l.startsWith(CELL_MARK));
  if (line === undefined) fail(`${what} printed no result`);
  return JSON.parse(line.slice(CELL_MARK.length)) as X;
}

function runChild(g: Group, o: Options): Cell {
  const r = spawnChild(['--group', groupArg(g)], o);
  if (r.status !== 0) {
    // a group whose process dies of a signal (V8 aborts when a cell that holds everything to the end runs out of
    // memory) is reported as failed and the matrix goes on; an error (a failed check of results) stops the run
    if (r.signal === null) fail(`group '${groupLabel(g)}' failed (exit ${r.status}); its error is above`);
    const how = `killed by ${r.signal}${r.signal === 'SIGABRT' ? ', out of memory' : ''}`;
    console.error(`windows bench: group '${groupLabel(g)}' died (${how}); reported as failed`);
    const none: Totals = { results: 0, sum: 0 };
    return { group: g, events: o.events, tidewaterMs: [null, null], loopMs: [NaN, NaN], vsLoop: [null, null], growth: null, loopGrowth: NaN, capped: [false, false], totals: [none, none], capSeconds: o.capSeconds, failed: how };
  }
  return childResult<Cell>(r.stdout, `group '${groupLabel(g)}'`);
}

const mevs = (events: number, ms: number): string => `${((events / ms) / 1000).toFixed(2)}`;

/** "tidewater M ev/s · ratio to loop · 2N/N time ratio", misses of targets in bold. */
function cellText(c: Cell): string {
  if (c.failed !== undefined) return `**failed: ${c.failed}**`;
  const cap = `> ${c.capSeconds} s`;
  const [t1, t2] = c.tidewaterMs;
  if (t1 === null) return `${cap} (< ${mevs(c.events, c.capSeconds * 1000)}) · **< ${((c.loopMs[0] / 1000) / c.capSeconds).toFixed(2)}×** · –`;
  const r = c.vsLoop[0] as number;
  const rText = `${r.toFixed(2)}×`;
  const lin = t2 === null ? null : c.growth;
  const linText = lin === null ? `2N ${cap}` : lin.toFixed(2);
  return `${mevs(c.events, t1)} · ${r >= TARGET[c.group.kind] ? rText : `**${rText}**`} · ${lin !== null && lin <= LINEARITY ? linText : `**${linText}**`}`;
}

function progressLine(c: Cell, i: number, total: number, seconds: number): string {
  if (c.failed !== undefined) return `[${i}/${total}] ${groupLabel(c.group)} (${seconds.toFixed(0)} s): failed: ${c.failed}`;
  const [t1, t2] = c.tidewaterMs;
  const parts = [
    `[${i}/${total}] ${groupLabel(c.group)} (${seconds.toFixed(0)} s):`,
    t1 === null ? `tidewater > ${c.capSeconds} s` : `tidewater ${mevs(c.events, t1)} M ev/s, ${(c.vsLoop[0] as number).toFixed(2)}× loop`,
    `loop ${mevs(c.events, c.loopMs[0])} M ev/s`,
    t2 === null || t1 === null ? `2N: tidewater > ${c.capSeconds} s` : `2N: ${(c.vsLoop[1] as number).toFixed(2)}× loop, time 2N/N tidewater ${(c.growth as number).toFixed(2)}, loop ${c.loopGrowth.toFixed(2)}`,
    `results ${c.totals[0].results} (sum ${c.totals[0].sum})`,
  ];
  return parts.join(' · ');
}

function groupsOf(o: Options): Group[] {
  const groups: Group[] = [];
  for (const kind of o.kinds) for (const size of o.sizes) for (const regime of o.regimes) for (const keys of o.keys) groups.push({ kind, size, regime, keys });
  const legacy =
    o.kinds.includes('tumbling') && o.sizes.includes(LEGACY.size) && o.keys.includes(LEGACY.keys) && (!o.regimesGiven || o.regimes.includes(LEGACY.regime));
  if (legacy && !groups.some((g) => groupArg(g) === groupArg(LEGACY))) groups.push(LEGACY);
  return groups;
}

/** The regimes the cost of a result is measured at in this run (see {@link RESULT_COST}). */
function resultCostRegimes(o: Options): Regime[] {
  if (!o.kinds.includes('tumbling') || !o.sizes.includes(RESULT_COST.large) || !o.keys.includes(RESULT_COST.keys)) return [];
  return RESULT_COST.regimes.filter((r) => o.regimes.includes(r));
}

/** What a child reports for the cost of a result at one regime (see {@link RESULT_COST}). */
interface ResultCost {
  readonly regime: Regime;
  /** ns a result: tidewater (null: a run hit the time cap) and the loop, medians of the per-round costs */
  readonly tidewaterNs: number | null;
  readonly loopNs: number;
  /** the per-round costs of tidewater, in ns */
  readonly rounds: readonly number[];
  /** how many more results the small windows give */
  readonly results: number;
}

/**
 * The cost of a result at `regime` (the child's side): the 100 ms and 60 s pipelines and loops on the same `n` events,
 * after a warm-up, {@link ROUNDS} rounds each running all four (tidewater's results checked against the loops').
 */
function runResultCost(regime: Regime, n: number, capSeconds: number): ResultCost {
  const capMs = capSeconds * 1000;
  const groups = [RESULT_COST.small, RESULT_COST.large].map((size): Group => ({ kind: 'tumbling', size, regime, keys: RESULT_COST.keys }));
  const ops = groups.map(pipelineOf);
  const warm = makeInput(Math.max(1, Math.floor(n / 10)), RESULT_COST.keys, regime);
  for (let w = 0; w < 2; w++) for (let i = 0; i < 2; i++) runTidewater(ops[i] as WindowCount, warm, capMs), runLoop(groups[i] as Group, warm);
  const input = makeInput(n, RESULT_COST.keys, regime);
  const tw: number[] = [];
  const loop: number[] = [];
  let capped = false;
  let results = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const runs = groups.map((g, i) => {
      const a = capped ? undefined : runTidewater(ops[i] as WindowCount, input, capMs);
      const b = runLoop(g, input);
      if (a !== undefined && !a.capped) check(g, n, a, b);
      else capped = true;
      return { a, b };
    });
    const [small, large] = runs as [(typeof runs)[number], (typeof runs)[number]];
    results = small.b.results - large.b.results;
    if (results <= 0) fail(`cost of a result: ${sizeLabel(RESULT_COST.small)} windows gave ${small.b.results} results, ${sizeLabel(RESULT_COST.large)} ${large.b.results}`);
    loop.push(((small.b.ms - large.b.ms) * 1e6) / results);
    if (!capped && small.a !== undefined && large.a !== undefined) tw.push(((small.a.ms - large.a.ms) * 1e6) / results);
  }
  void lastResult;
  return { regime, tidewaterNs: capped ? null : median(tw), loopNs: median(loop), rounds: capped ? [] : tw, results };
}

/** Runs {@link runResultCost} at `regime` in a child process. */
function runResultCostChild(regime: Regime, o: Options): ResultCost {
  const what = `the cost of a result (${regimeLabel(regime)})`;
  const r = spawnChild(['--result-cost', String(regime)], o);
  if (r.status !== 0) fail(`${what} failed (exit ${r.status ?? r.signal}); its error is above`);
  return childResult<ResultCost>(r.stdout, what);
}

function report(cells: readonly Cell[], costs: readonly ResultCost[], o: Options): string {
  const n = o.events;
  const out: string[] = [
    `${n.toLocaleString('en')} and ${(2 * n).toLocaleString('en')} events (10 per ms of event time, value 1, keys at random), ` +
      `\`window(…)\` + \`aggregate(count())\`; node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}. ` +
      `Each cell: tidewater M events/s at ${n.toLocaleString('en')} · × the hand-written loop (median of ${ROUNDS} per-round ratios) · ` +
      `tidewater's time at ${(2 * n).toLocaleString('en')} / at ${n.toLocaleString('en')} (median of ${ROUNDS} per-round ratios). Bold: target missed (× loop ≥ 0.5 tumbling and sliding, ≥ 0.3 sessions; time ratio ≤ ${LINEARITY}). ` +
      `"> ${o.capSeconds} s": a run hit the time cap (its rate an upper bound, its ratio too).`,
  ];
  const summary: string[] = [];
  for (const kind of o.kinds) {
    const mine = cells.filter((c) => c.group.kind === kind && groupArg(c.group) !== groupArg(LEGACY));
    if (mine.length === 0) continue;
    const title = kind === 'tumbling' ? 'tumbling windows (size)' : kind === 'sliding' ? 'sliding windows (size, slide = size / 10)' : 'session windows (gap)';
    out.push('', `### ${title}`, '', `| ${kind === 'sessions' ? 'gap' : 'size'} · watermark | ${o.keys.map(keysLabel).join(' | ')} |`, `| --- |${o.keys.map(() => ' ---: |').join('')}`);
    for (const size of o.sizes) {
      for (const regime of o.regimes) {
        const row = o.keys.map((k) => {
          const c = mine.find((x) => x.group.size === size && x.group.regime === regime && x.group.keys === k);
          return c === undefined ? '' : cellText(c);
        });
        out.push(`| ${sizeLabel(size)} · ${regimeLabel(regime)} | ${row.join(' | ')} |`);
      }
    }
    const misses = mine.filter((c) => c.vsLoop[0] === null || (c.vsLoop[0] as number) < TARGET[kind]);
    const nonLinear = mine.filter((c) => c.tidewaterMs[0] === null || c.growth === null || c.growth > LINEARITY);
    const list = (cs: readonly Cell[]) => (cs.length === 0 ? '' : ` — missed: ${cs.map((c) => `${sizeLabel(c.group.size)} · ${regimeLabel(c.group.regime)} · ${keysLabel(c.group.keys)}`).join('; ')}`);
    summary.push(
      `- ${kind}: × loop ≥ ${TARGET[kind]} in ${mine.length - misses.length} of ${mine.length} cells${list(misses)}`,
      `- ${kind}: time 2N/N ≤ ${LINEARITY} in ${mine.length - nonLinear.length} of ${mine.length} cells${list(nonLinear)}`,
    );
  }
  const legacy = cells.find((c) => groupArg(c.group) === groupArg(LEGACY));
  if (legacy !== undefined) {
    out.push(
      '',
      `Issue 4's case (what \`npm run bench -- windows\` measured before this matrix, same data): ${groupLabel(LEGACY)} — ${cellText(legacy)} ` +
        `(its loop now emits result objects; the old "Map loop" did not).`,
    );
  }
  if (costs.length > 0) {
    const text = costs.map((c) =>
      c.tidewaterNs === null
        ? `${regimeLabel(c.regime)}: tidewater > ${o.capSeconds} s (the loop ${c.loopNs.toFixed(0)} ns)`
        : `${regimeLabel(c.regime)}: **${c.tidewaterNs.toFixed(0)} ns** a result (per round ${c.rounds.map((x) => x.toFixed(0)).join(', ')}; the loop ${c.loopNs.toFixed(0)} ns)`,
    );
    out.push(
      '',
      `The cost of a result (tumbling ${sizeLabel(RESULT_COST.small)} against ${sizeLabel(RESULT_COST.large)}, ${keysLabel(RESULT_COST.keys)}, the same ${n.toLocaleString('en')} events, ` +
        `${(costs[0] as ResultCost).results.toLocaleString('en')} results more; in one process, rounds alternating: the median of the per-round differences of time over the difference of results): ${text.join('; ')}. Target ≤ ${RESULT_COST.target} ns.`,
    );
    for (const c of costs) {
      const value = c.tidewaterNs;
      summary.push(
        `- cost of a result on the slicing path, ${regimeLabel(c.regime)}: ` +
          (value === null ? `not measured (a run hit the time cap)` : `${value.toFixed(0)} ns (target ≤ ${RESULT_COST.target} ns: ${value > 0 && value <= RESULT_COST.target ? 'met' : 'NOT met'})`),
      );
    }
  }
  out.push('', '**Targets**', '', ...summary);
  return out.join('\n');
}

function writeSection(command: string, text: string): void {
  const heading = '## windows matrix (issue 14)';
  const section = `${heading}\n\n\`${command}\`, ${new Date().toISOString()}\n\n${text}\n`;
  const md = readFileSync(BENCHMARKS_MD, 'utf8');
  const lines = md.split('\n');
  const from = lines.findIndex((l) => l === heading);
  if (from < 0) {
    writeFileSync(BENCHMARKS_MD, md.trimEnd() + '\n\n' + section);
    return;
  }
  let to = lines.findIndex((l, i) => i > from && l.startsWith('## '));
  if (to < 0) to = lines.length;
  const next = lines.slice(to).join('\n');
  writeFileSync(BENCHMARKS_MD, [...lines.slice(0, from), ...section.split('\n').slice(0, -1), ...(next === '' ? [] : ['', next])].join('\n').replace(/\n*$/, '\n'));
}

/**
 * `args` (what follows `windows` on the command line) as described at the top of this file. With `--group`, runs
 * that group in this process and returns its cell as one marked JSON line (the child's side).
 */
export function windowsBench(args: readonly string[] = []): { report: string } {
  const o = parseArgs(args);
  if (o.group !== undefined) return { report: CELL_MARK + JSON.stringify(runGroup(o.group, o.events, o.capSeconds)) };
  if (o.resultCost !== undefined) return { report: CELL_MARK + JSON.stringify(runResultCost(o.resultCost, o.events, o.capSeconds)) };
  const groups = groupsOf(o);
  const cells: Cell[] = [];
  const t0 = performance.now();
  for (const g of groups) {
    const t = performance.now();
    const c = runChild(g, o);
    cells.push(c);
    console.error(progressLine(c, cells.length, groups.length, (performance.now() - t) / 1000));
  }
  const costs: ResultCost[] = [];
  for (const regime of resultCostRegimes(o)) {
    const t = performance.now();
    const c = runResultCostChild(regime, o);
    costs.push(c);
    console.error(
      `[cost of a result, ${regimeLabel(regime)}] (${((performance.now() - t) / 1000).toFixed(0)} s): ` +
        (c.tidewaterNs === null ? 'tidewater hit the time cap' : `tidewater ${c.tidewaterNs.toFixed(0)} ns`) +
        ` · loop ${c.loopNs.toFixed(0)} ns · ${c.results} results more`,
    );
  }
  const text = report(cells, costs, o);
  const command = `npm run bench -- windows${args.filter((a) => a !== '--write').map((a) => ` ${a}`).join('')}`;
  console.error(`windows matrix: ${groups.length} groups in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (o.write) writeSection(command, text);
  return { report: `## windows matrix (issue 14)\n\n\`${command}\`\n\n${text}` };
}
