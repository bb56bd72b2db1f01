import { from, groupBy, mergeMap, Observable, scan } from 'rxjs';
import { record, valueState, type StreamElement, type StreamRecord } from '../src/index.js';
import { process } from '../operators/index.js';
import { prng } from '../demo/clicks.js';
import { measure, ratio, table, type Result } from './harness.js';

/**
 * Keyed running count over N records with K keys (keys drawn at random): tidewater `process` + `valueState` vs a
 * hand-written `Map` loop vs a hand-written RxJS operator with a `Map` inside (`new Observable` around a `Map`,
 * emitting the same records: what one would write by hand in RxJS) vs RxJS `groupBy` + `mergeMap` + `scan` (a
 * Subject per key). Each emits the running count per record; the checksum (sum of counts) proves the same work.
 */
export function keyedCountBench(n = 1_000_000, keyCounts: readonly number[] = [10_000, 100_000]): { report: string; results: Result[][] } {
  const reports: string[] = [];
  const all: Result[][] = [];
  for (const k of keyCounts) {
    const rnd = prng(k);
    const names = Array.from({ length: k }, (_, i) => `user-${i}`);
    const keys: string[] = [];
    const records: StreamRecord<number, string>[] = [];
    for (let i = 0; i < n; i++) {
      const key = names[Math.floor(rnd() * k)] as string;
      keys.push(key);
      records.push(record(i, i, key));
    }
    const state = { n: valueState<number>() };
    const results = measure(n, [
      {
        name: 'Map loop',
        run: () => {
          const m = new Map<string, number>();
          let sum = 0;
          for (let i = 0; i < keys.length; i++) {
            const key = keys[i] as string;
            const c = (m.get(key) ?? 0) + 1;
            m.set(key, c);
            sum = (sum + c) | 0;
          }
          return sum;
        },
      },
      {
        name: 'tidewater process + valueState',
        run: () => {
          let sum = 0;
          from(records as StreamElement<number, string>[])
            .pipe(
              process<number, string, number, typeof state>({
                state,
                onElement(_v, ctx) {
                  const c = (ctx.state.n.get() ?? 0) + 1;
                  ctx.state.n.set(c);
                  ctx.emit(c);
                },
              }),
            )
            .subscribe((e) => {
              if (e.kind === 'record') sum = (sum + e.value) | 0;
            });
          return sum;
        },
      },
      {
        // what one would write by hand: RxJS's plumbing (`new Observable`, `subscribe(fn)`) around a Map
        name: 'hand-written RxJS operator (Map inside)',
        run: () => {
          let sum = 0;
          from(records as StreamElement<number, string>[])
            .pipe(
              (source) =>
                new Observable<StreamElement<number, string>>((out) => {
                  const m = new Map<string, number>();
                  return source.subscribe({
                    next(r) {
                      if (r.kind !== 'record') return;
                      const c = (m.get(r.key) ?? 0) + 1;
                      m.set(r.key, c);
                      out.next({ kind: 'record', value: c, timestamp: r.timestamp, key: r.key });
                    },
                    error: (e: unknown) => out.error(e),
                    complete: () => out.complete(),
                  });
                }),
            )
            .subscribe((e) => {
              if (e.kind === 'record') sum = (sum + e.value) | 0;
            });
          return sum;
        },
      },
      {
        name: 'RxJS groupBy+mergeMap+scan',
        run: () => {
          let sum = 0;
          from(records)
            .pipe(
              groupBy((r) => r.key),
              mergeMap((g) => g.pipe(scan((c) => c + 1, 0))),
            )
            .subscribe((c) => (sum = (sum + c) | 0));
          return sum;
        },
      },
    ], k >= 100_000 ? 5 : 9);
    all.push(results);
    const vsMap = ratio(results, 'tidewater process + valueState', 'Map loop');
    const vsGroupBy = ratio(results, 'tidewater process + valueState', 'RxJS groupBy+mergeMap+scan');
    const vsOperator = ratio(results, 'tidewater process + valueState', 'hand-written RxJS operator (Map inside)');
    const byHand = ratio(results, 'hand-written RxJS operator (Map inside)', 'Map loop');
    reports.push(
      table(`keyed running count, ${n.toLocaleString('en')} records, ${k.toLocaleString('en')} keys`, results, 'Map loop') +
        `\n\ntidewater / Map loop: ${vsMap.toFixed(2)}× (target ≥ 0.5: ${vsMap >= 0.5 ? 'met' : 'NOT met'})` +
        `\nhand-written RxJS operator / Map loop: ${byHand.toFixed(2)}×; tidewater / it: ${vsOperator.toFixed(2)}×` +
        `\ntidewater / RxJS groupBy: ${vsGroupBy.toFixed(1)}×${k >= 100_000 ? ` (target ≥ 10 at 100 K keys: ${vsGroupBy >= 10 ? 'met' : 'NOT met'})` : ''}`,
    );
  }
  return { report: reports.join('\n\n'), results: all };
}
