import { from, pipe, type OperatorFunction } from 'rxjs';
import { count, record, sessionWindows, slidingWindows, tumblingWindows, watermark, type StreamElement, type WindowResult } from '../src/index.js';
import { aggregate, window } from '../operators/index.js';
import { prng } from '../demo/clicks.js';
import { measure, ratio, table, type Result } from './harness.js';

/**
 * Windowed count per key over N events: K devices drawn at random, 10 000 events per second of event time (each
 * device reports about once a second), a watermark every second. Tumbling 1 min, sliding 1 min / 6 s (10 windows
 * per element; pane pre-aggregation), sessions with a 3 s gap — against a hand-written Map loop doing the tumbling
 * count (a Map of counts per window start, fired when the watermark passes). The checksum is the sum of all counts
 * emitted.
 */
export function windowsBench(n = 1_000_000, k = 10_000): { report: string; results: Result[] } {
  const rnd = prng(7);
  const names = Array.from({ length: k }, (_, i) => `user-${i}`);
  const keys: string[] = [];
  const ts: number[] = [];
  const elements: StreamElement<number, string>[] = [];
  for (let i = 0; i < n; i++) {
    const key = names[Math.floor(rnd() * k)] as string;
    const t = Math.floor(i / 10);
    keys.push(key);
    ts.push(t);
    elements.push(record(i, t, key));
    if (i % 10_000 === 9_999) elements.push(watermark(t - 1));
  }
  const SIZE = 60_000;

  const run = (op: OperatorFunction<StreamElement<number, string>, StreamElement<WindowResult<string, number>, string>>) => () => {
    let sum = 0;
    from(elements)
      .pipe(op)
      .subscribe((e) => {
        if (e.kind === 'record') sum += e.value.value;
      });
    return sum;
  };

  const results = measure(
    n,
    [
      {
        name: 'Map loop (tumbling count)',
        run: () => {
          const windows = new Map<number, Map<string, number>>();
          let sum = 0;
          const fire = (wm: number) => {
            for (const [start, counts] of windows) {
              if (start + SIZE - 1 > wm) continue;
              for (const c of counts.values()) sum += c;
              windows.delete(start);
            }
          };
          for (let i = 0; i < n; i++) {
            const t = ts[i] as number;
            const start = t - (t % SIZE);
            let m = windows.get(start);
            if (m === undefined) {
              m = new Map();
              windows.set(start, m);
            }
            const key = keys[i] as string;
            m.set(key, (m.get(key) ?? 0) + 1);
            if (i % 10_000 === 9_999) fire(t - 1);
          }
          fire(Infinity);
          return sum;
        },
      },
      { name: 'tidewater tumbling 1 min', run: run(pipe(window<number, string>(tumblingWindows(SIZE)), aggregate(count()))) },
      { name: 'tidewater sliding 1 min / 6 s', run: run(pipe(window<number, string>(slidingWindows(SIZE, 6_000)), aggregate(count()))) },
      { name: 'tidewater sessions, gap 3 s', run: run(pipe(window<number, string>(sessionWindows(3_000)), aggregate(count()))) },
    ],
    7,
  );
  const vsLoop = ratio(results, 'tidewater tumbling 1 min', 'Map loop (tumbling count)');
  const slidingCost = ratio(results, 'tidewater tumbling 1 min', 'tidewater sliding 1 min / 6 s');
  const report =
    table(`windowed count, ${n.toLocaleString('en')} events, ${k.toLocaleString('en')} keys`, results, 'Map loop (tumbling count)') +
    `\n\ntumbling / Map loop: ${vsLoop.toFixed(2)}× (target ≥ 0.5: ${vsLoop >= 0.5 ? 'met' : 'NOT met'})` +
    `\nsliding (size/slide 10) cost / tumbling cost: ${slidingCost.toFixed(2)}× (target ≤ 1.5: ${slidingCost <= 1.5 ? 'met' : 'NOT met'})`;
  return { report, results };
}
