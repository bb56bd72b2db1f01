import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Subject } from 'rxjs';
import { record, tumblingWindows, watermark, type StreamElement } from '../src/index.js';
import { intervalJoin, windowJoin } from '../operators/index.js';
import { prng } from '../demo/clicks.js';
import { measure, ratio, type Result } from './harness.js';

/**
 * `npm run bench -- joins`: the interval join and the window join against hand-written `Map`-based joins doing the
 * same work, in the same run, over 1 000 / 10 000 / 100 000 keys.
 *
 * - data: N events (default 1 M), each on the left or the right input at random (`prng(11)`), 10 per ms of event
 *   time in arrival order, keys at random; each input gets a watermark `t − 1` after every 1 000 of its records; both
 *   inputs are fed by one loop into two Subjects, as events arriving interleaved from two sources;
 * - interval join: `l.ts − 50 ≤ r.ts ≤ l.ts + 50` (lower −50, upper 50); window join: tumbling 1 s windows;
 * - the join function builds one result object per pair (`{ l, r }`), which the sink counts (checksum: pairs and
 *   the sum of the right values);
 * - baselines: per key and side a buffer of (timestamp, value) in arrival order in a `Map`; a record scans the other
 *   side's buffer of its key and appends itself; a queue of cleanup times in arrival order drops buffered records
 *   once the watermark (the minimum of both inputs') passes them (interval join); windows as a `Map` of key → both
 *   sides' lists per window, fired and dropped when the watermark passes their end (window join).
 *
 * Target: tidewater ≥ 0.4× its loop in every cell.
 */
export function joinsBench(n = 1_000_000, keyCounts: readonly number[] = [1_000, 10_000, 100_000]): { report: string; results: Result[][] } {
  const lines = [
    '## joins (issue 15)',
    '',
    `\`npm run bench -- joins\`, ${new Date().toISOString()}; ${n.toLocaleString('en')} events on two inputs (10 per ms, keys at random), a watermark per input every 1,000 of its records. Each cell: tidewater M events/s · × the hand-written join (median of per-round ratios) · pairs.`,
    '',
    '| join | ' + keyCounts.map((k) => `${k.toLocaleString('en')} keys`).join(' | ') + ' |',
    '| --- | ' + keyCounts.map(() => '---:').join(' | ') + ' |',
  ];
  const rows = { interval: [] as string[], window: [] as string[] };
  const all: Result[][] = [];
  for (const k of keyCounts) {
    const { sides, elements } = makeData(n, k);
    const interval = measure(n, [
      { name: 'loop', run: () => intervalLoop(sides, elements, -50, 50) },
      { name: 'tidewater', run: () => runTidewater(sides, elements, 'interval') },
    ]);
    const window = measure(n, [
      { name: 'loop', run: () => windowLoop(sides, elements, 1_000) },
      { name: 'tidewater', run: () => runTidewater(sides, elements, 'window') },
    ]);
    for (const [kind, results] of [['interval', interval], ['window', window]] as const) {
      const [loop, tw] = results as [Result, Result];
      if (loop.checksum !== tw.checksum) throw new Error(`joins bench: ${kind} join at ${k} keys: tidewater checksum ${tw.checksum}, loop ${loop.checksum}`);
      rows[kind].push(`${(tw.eventsPerSec / 1e6).toFixed(2)} · ${ratio(results, 'tidewater', 'loop').toFixed(2)}× · ${Math.floor(tw.checksum / 1e6).toLocaleString('en')}`);
      all.push(results);
    }
  }
  lines.push(`| interval join (−50 ms, +50 ms) | ${rows.interval.join(' | ')} |`);
  lines.push(`| window join (tumbling 1 s) | ${rows.window.join(' | ')} |`);
  return { report: lines.join('\n'), results: all };
}

/**
 * `npm run bench -- joins-memory`: an interval join (−50 ms, +50 ms) over 10 M events and 100 000 keys, fed as in
 * {@link joinsBench} but generated as they flow (no input array): the records buffered and the live heap after a full
 * GC, every 1 M events. The state must stay bounded: the buffered records and the heap level off.
 */
export function joinsMemoryBench(n = 10_000_000, keys = 100_000): { report: string } {
  // a full GC before each reading: node's gc(), exposed here if the process was not started with --expose-gc
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const rnd = prng(11);
  const names = Array.from({ length: keys }, (_, i) => `key-${i}`);
  const left = new Subject<Element>();
  const right = new Subject<Element>();
  let pairs = 0;
  left.pipe(intervalJoin<number, number, string, number>(right, { lower: -50, upper: 50 }, (l) => l, { name: 'memory' })).subscribe((e) => {
    if (e.kind === 'record') pairs++;
  });
  const count = [0, 0];
  const rows: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const side = rnd() < 0.5 ? 0 : 1;
    const t = Math.floor(i / 10);
    const input = side === 0 ? left : right;
    input.next(record(i, t, names[Math.floor(rnd() * keys)] as string));
    if (++(count[side] as number) % 1000 === 0) input.next(watermark(t - 1));
    if ((i + 1) % 1_000_000 === 0) {
      gc();
      rows.push(`| ${((i + 1) / 1e6).toFixed(0)} M | ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MB | ${pairs.toLocaleString('en')} |`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  left.complete();
  right.complete();
  return {
    report: [
      '## interval join memory (issue 15)',
      '',
      `\`npm run bench -- joins-memory\`, ${new Date().toISOString()}: ${n.toLocaleString('en')} events, ${keys.toLocaleString('en')} keys, generated as they flow; ${(n / seconds / 1e6).toFixed(2)} M events/s in all (GC pauses included).`,
      '',
      '| events | live heap after a full GC | pairs so far |',
      '| ---: | ---: | ---: |',
      ...rows,
    ].join('\n'),
  };
}

type Element = StreamElement<number, string>;

/** The events in arrival order: per event its input (0 left, 1 right) and its element. */
function makeData(n: number, keys: number): { sides: Uint8Array; elements: Element[] } {
  const rnd = prng(11);
  const names = Array.from({ length: keys }, (_, i) => `key-${i}`);
  const sides: number[] = [];
  const elements: Element[] = [];
  const count = [0, 0];
  for (let i = 0; i < n; i++) {
    const side = rnd() < 0.5 ? 0 : 1;
    const t = Math.floor(i / 10);
    sides.push(side);
    elements.push(record(i, t, names[Math.floor(rnd() * keys)] as string));
    if (++(count[side] as number) % 1000 === 0) {
      sides.push(side);
      elements.push(watermark(t - 1));
    }
  }
  return { sides: Uint8Array.from(sides), elements };
}

/** The checksum of a run: pairs × 1e6 + (sum of right values mod 1e6). */
class Checksum {
  pairs = 0;
  sum = 0;
  add(pair: { readonly l: number; readonly r: number }): void {
    this.pairs++;
    this.sum = (this.sum + pair.r) % 1_000_000;
  }
  get value(): number {
    return this.pairs * 1e6 + this.sum;
  }
}

function runTidewater(sides: Uint8Array, elements: readonly Element[], kind: 'interval' | 'window'): number {
  const left = new Subject<Element>();
  const right = new Subject<Element>();
  const sum = new Checksum();
  const join =
    kind === 'interval'
      ? intervalJoin<number, number, string, { l: number; r: number }>(right, { lower: -50, upper: 50 }, (l, r) => ({ l, r }))
      : windowJoin<number, number, string, { l: number; r: number }>(right, tumblingWindows(1_000), (l, r) => ({ l, r }));
  left.pipe(join).subscribe((e) => {
    if (e.kind === 'record') sum.add(e.value);
  });
  for (let i = 0; i < elements.length; i++) (sides[i] === 0 ? left : right).next(elements[i] as Element);
  left.complete();
  right.complete();
  return sum.value;
}

interface Buffered {
  readonly ts: number;
  readonly value: number;
}

/** A hand-written interval join (see the top of this file). */
function intervalLoop(sides: Uint8Array, elements: readonly Element[], lo: number, hi: number): number {
  const buffers = [new Map<string, Buffered[]>(), new Map<string, Buffered[]>()];
  // cleanup queue, in arrival order (timestamps ascend): when, key, side
  const dueAt: number[] = [];
  const dueKey: string[] = [];
  const dueSide: number[] = [];
  let head = 0;
  const inputWm = [-Infinity, -Infinity];
  let w = -Infinity;
  const sum = new Checksum();
  const keep = [Math.max(hi, 0), Math.max(-lo, 0)];
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i] as Element;
    const side = sides[i] as number;
    if (e.kind === 'watermark') {
      if (e.timestamp > (inputWm[side] as number)) inputWm[side] = e.timestamp;
      const next = Math.min(inputWm[0] as number, inputWm[1] as number);
      if (next <= w) continue;
      w = next;
      for (; head < dueAt.length && (dueAt[head] as number) <= w; head++) {
        const buf = (buffers[dueSide[head] as number] as Map<string, Buffered[]>).get(dueKey[head] as string);
        if (buf === undefined) continue;
        const limit = (dueAt[head] as number) - (keep[dueSide[head] as number] as number);
        let drop = 0;
        while (drop < buf.length && (buf[drop] as Buffered).ts <= limit) drop++;
        if (drop === buf.length) (buffers[dueSide[head] as number] as Map<string, Buffered[]>).delete(dueKey[head] as string);
        else if (drop > 0) buf.splice(0, drop);
      }
      continue;
    }
    if (e.kind !== 'record') continue;
    const ts = e.timestamp;
    if (ts < w) continue;
    const others = (buffers[1 - side] as Map<string, Buffered[]>).get(e.key);
    if (others !== undefined) {
      const from = side === 0 ? ts + lo : ts - hi;
      const to = side === 0 ? ts + hi : ts - lo;
      for (let j = 0; j < others.length; j++) {
        const o = others[j] as Buffered;
        if (o.ts < from || o.ts > to) continue;
        sum.add(side === 0 ? { l: e.value, r: o.value } : { l: o.value, r: e.value });
      }
    }
    const own = buffers[side] as Map<string, Buffered[]>;
    const buf = own.get(e.key);
    if (buf === undefined) own.set(e.key, [{ ts, value: e.value }]);
    else buf.push({ ts, value: e.value });
    dueAt.push(ts + (keep[side] as number));
    dueKey.push(e.key);
    dueSide.push(side);
  }
  return sum.value;
}

interface Window {
  readonly end: number;
  readonly byKey: Map<string, { ls: number[]; rs: number[] }>;
}

/** A hand-written tumbling window join (see the top of this file). */
function windowLoop(sides: Uint8Array, elements: readonly Element[], size: number): number {
  const windows: Window[] = []; // ascending end (in-order data)
  let head = 0;
  const inputWm = [-Infinity, -Infinity];
  let w = -Infinity;
  const sum = new Checksum();
  const fire = (limit: number): void => {
    for (; head < windows.length && (windows[head] as Window).end - 1 <= limit; head++) {
      for (const { ls, rs } of (windows[head] as Window).byKey.values()) for (const l of ls) for (const r of rs) sum.add({ l, r });
    }
  };
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i] as Element;
    const side = sides[i] as number;
    if (e.kind === 'watermark') {
      if (e.timestamp > (inputWm[side] as number)) inputWm[side] = e.timestamp;
      const next = Math.min(inputWm[0] as number, inputWm[1] as number);
      if (next > w) fire((w = next));
      continue;
    }
    if (e.kind !== 'record') continue;
    const end = e.timestamp - (e.timestamp % size) + size;
    if (end - 1 <= w) continue;
    let win = windows[windows.length - 1];
    if (win === undefined || win.end !== end || windows.length === head) windows.push((win = { end, byKey: new Map() }));
    let entry = win.byKey.get(e.key);
    if (entry === undefined) win.byKey.set(e.key, (entry = { ls: [], rs: [] }));
    (side === 0 ? entry.ls : entry.rs).push(e.value);
  }
  fire(Infinity);
  return sum.value;
}
