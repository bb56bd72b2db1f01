/**
 * `npm run bench -- timers`: a timeout per key, reset by every record — the commonest use of keyed timers (an
 * inactivity alert, a session timeout written by hand, a pending order that expires). Each record deletes its key's
 * event-time timer and registers one at `timestamp + 5 s`; a timer that fires emits one result (the key's timeout).
 *
 * Two regimes × 1 000 / 10 000 / 100 000 keys, N records one per ms of event time, keys at random, a watermark
 * (`t − 1`) after every 10 records and MAX at the end:
 * - **own timestamps**: the timeout at `timestamp + 5 000`, so every pending timer has a timestamp of its own;
 * - **shared timestamps**: the timeout rounded up to the next second, so ≈ 1 000 keys' timers share one.
 *
 * Baseline, in the same rounds: a hand-written loop doing the same work — a `Map` of each key's due time and a
 * binary min-heap of (due, registration, key) with stale entries skipped when they surface, firing in (time,
 * registration) order and allocating one result object per timeout. The checksum (number and sum of timeouts) proves
 * the same firings.
 */
import { from } from 'rxjs';
import { MAX_WATERMARK, record, valueState, watermark, type StreamElement } from '../src/index.js';
import { process } from '../operators/index.js';
import { prng } from '../demo/clicks.js';
import { measure, ratio, table, type Result } from './harness.js';

const TIMEOUT = 5_000;
type Regime = 'own timestamps' | 'shared timestamps';
const dueOf = (regime: Regime, t: number): number => (regime === 'own timestamps' ? t + TIMEOUT : Math.ceil((t + TIMEOUT) / 1000) * 1000);

interface Timeout {
  readonly key: string;
  readonly at: number;
}

/** The input: N records (value: the key's index) with a watermark after every 10, then MAX. */
function input(n: number, keys: number): { elements: StreamElement<number, string>[]; names: string[]; keyOf: Int32Array } {
  const rnd = prng(keys);
  const names = Array.from({ length: keys }, (_, i) => `user-${i}`);
  const keyOf = new Int32Array(n);
  const elements: StreamElement<number, string>[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rnd() * keys);
    keyOf[i] = k;
    elements.push(record(k, i, names[k] as string));
    if (i % 10 === 9) elements.push(watermark(i - 1));
  }
  elements.push(watermark(MAX_WATERMARK));
  return { elements, names, keyOf };
}

/** The hand-written loop: due time per key, a min-heap of (due, seq, key) with stale entries skipped. */
function loop(regime: Regime, n: number, names: readonly string[], keyOf: Int32Array, sink: (t: Timeout) => void): void {
  const due = new Map<string, number>();
  const heapAt: number[] = [];
  const heapSeq: number[] = [];
  const heapKey: string[] = [];
  let seq = 0;
  const push = (at: number, key: string): void => {
    let i = heapAt.length;
    heapAt.push(at);
    heapSeq.push(seq);
    heapKey.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((heapAt[p] as number) < at || ((heapAt[p] as number) === at && (heapSeq[p] as number) < seq)) break;
      heapAt[i] = heapAt[p] as number;
      heapSeq[i] = heapSeq[p] as number;
      heapKey[i] = heapKey[p] as string;
      i = p;
    }
    heapAt[i] = at;
    heapSeq[i] = seq++;
    heapKey[i] = key;
  };
  const popTop = (): void => {
    const at = heapAt.pop() as number;
    const s = heapSeq.pop() as number;
    const key = heapKey.pop() as string;
    const n2 = heapAt.length;
    if (n2 === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n2) break;
      const r = l + 1;
      const c = r < n2 && ((heapAt[r] as number) < (heapAt[l] as number) || ((heapAt[r] as number) === (heapAt[l] as number) && (heapSeq[r] as number) < (heapSeq[l] as number))) ? r : l;
      if ((heapAt[c] as number) > at || ((heapAt[c] as number) === at && (heapSeq[c] as number) > s)) break;
      heapAt[i] = heapAt[c] as number;
      heapSeq[i] = heapSeq[c] as number;
      heapKey[i] = heapKey[c] as string;
      i = c;
    }
    heapAt[i] = at;
    heapSeq[i] = s;
    heapKey[i] = key;
  };
  const fire = (wm: number): void => {
    while (heapAt.length > 0 && (heapAt[0] as number) <= wm) {
      const at = heapAt[0] as number;
      const key = heapKey[0] as string;
      popTop();
      if (due.get(key) !== at) continue; // deleted (reset) since
      due.delete(key);
      sink({ key, at });
    }
  };
  for (let i = 0; i < n; i++) {
    const key = names[keyOf[i] as number] as string;
    const at = dueOf(regime, i);
    if (due.get(key) !== at) {
      due.set(key, at);
      push(at, key);
    }
    if (i % 10 === 9) fire(i - 1);
  }
  fire(Infinity);
}

/** The tidewater `process` function: a valueState with the pending timeout, reset per record. */
function tidewater(regime: Regime, elements: readonly StreamElement<number, string>[], sink: (t: Timeout) => void): void {
  const state = { due: valueState<number>() };
  from(elements)
    .pipe(
      process<number, string, Timeout, typeof state>({
        name: 'timeout',
        state,
        onElement(_k, ctx) {
          const at = dueOf(regime, ctx.timestamp);
          const had = ctx.state.due.get();
          if (had === at) return;
          if (had !== undefined) ctx.timers.deleteEventTime(had);
          ctx.timers.registerEventTime(at);
          ctx.state.due.set(at);
        },
        onTimer(at, ctx) {
          ctx.state.due.clear();
          ctx.emit({ key: ctx.key, at });
        },
      }),
    )
    .subscribe((e) => {
      if (e.kind === 'record') sink(e.value);
    });
}

/** Runs the matrix; each group its own `measure` (rounds interleaved between tidewater and the loop). */
export function timersBench(n = 1_000_000, keyCounts: readonly number[] = [1_000, 10_000, 100_000]): { report: string; results: Result[][] } {
  const lines = [
    `## timers: a timeout per key, reset by every record (\`npm run bench -- timers\`)`,
    '',
    `${n.toLocaleString('en')} records, one per ms, keys at random, a watermark after every 10; node ${globalThis.process.version}. Each record deletes its key's timer and registers one 5 s later ("own timestamps"), or at the next second after that ("shared timestamps"). × loop: tidewater's rate over a hand-written loop's (a Map of due times and a min-heap), median of per-round ratios.`,
    '',
  ];
  const all: Result[][] = [];
  const rows: string[] = [];
  for (const regime of ['own timestamps', 'shared timestamps'] as const) {
    for (const k of keyCounts) {
      const { elements, names, keyOf } = input(n, k);
      let last: Timeout | undefined;
      const results = measure(
        n,
        [
          {
            name: 'loop',
            run: () => {
              let sum = 0;
              loop(regime, n, names, keyOf, (t) => {
                last = t;
                sum = (sum + t.at + 1) % 1_000_000_007;
              });
              return sum;
            },
          },
          {
            name: 'tidewater',
            run: () => {
              let sum = 0;
              tidewater(regime, elements, (t) => {
                last = t;
                sum = (sum + t.at + 1) % 1_000_000_007;
              });
              return sum;
            },
          },
        ],
        5,
      );
      void last;
      const [loopR, tw] = results as [Result, Result];
      if (loopR.checksum !== tw.checksum) throw new Error(`timers bench (${regime}, ${k} keys): tidewater's timeouts differ from the loop's`);
      all.push(results);
      lines.push(table(`${regime}, ${k.toLocaleString('en')} keys`, results, 'loop'), '');
      rows.push(`| ${regime} | ${k.toLocaleString('en')} | ${(tw.eventsPerSec / 1e6).toFixed(2)} M/s | ${(loopR.eventsPerSec / 1e6).toFixed(2)} M/s | ${ratio(results, 'tidewater', 'loop').toFixed(2)} |`);
    }
  }
  lines.push('### summary', '', '| timeouts | keys | tidewater | loop | × loop |', '| --- | ---: | ---: | ---: | ---: |', ...rows);
  return { report: lines.join('\n'), results: all };
}
