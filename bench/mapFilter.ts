import { from, filter as rxFilter, map as rxMap } from 'rxjs';
import { record, type StreamElement, type StreamRecord } from '../src/index.js';
import { filter, map } from '../operators/index.js';
import { measure, ratio, table, type Result } from './harness.js';

/**
 * map → filter over N records: tidewater (records with timestamp and key) vs plain RxJS on plain values vs a plain
 * JS loop. Same arithmetic in all three; the checksum proves they did the same work.
 */
export function mapFilterBench(n = 1_000_000): { results: Result[]; report: string; ratios: Record<string, number> } {
  const values: number[] = [];
  const records: StreamRecord<number, number>[] = [];
  for (let i = 0; i < n; i++) {
    values.push(i);
    records.push(record(i, i, i % 1000));
  }
  const f = (v: number): number => v * 3 + 1;
  const p = (v: number): boolean => (v & 3) !== 0;

  const results = measure(n, [
    {
      name: 'plain JS loop',
      run: () => {
        let sum = 0;
        for (let i = 0; i < values.length; i++) {
          const v = f(values[i]!);
          if (p(v)) sum = (sum + v) | 0;
        }
        return sum;
      },
    },
    {
      name: 'plain RxJS',
      run: () => {
        let sum = 0;
        from(values)
          .pipe(rxMap(f), rxFilter(p))
          .subscribe((v) => (sum = (sum + v) | 0));
        return sum;
      },
    },
    {
      name: 'tidewater',
      run: () => {
        let sum = 0;
        from(records as StreamElement<number, number>[])
          .pipe(
            map((v: number) => f(v)),
            filter((v: number) => p(v)),
          )
          .subscribe((e) => {
            if (e.kind === 'record') sum = (sum + e.value) | 0;
          });
        return sum;
      },
    },
  ]);
  const ratios = {
    'tidewater / plain RxJS': ratio(results, 'tidewater', 'plain RxJS'),
    'tidewater / plain JS loop': ratio(results, 'tidewater', 'plain JS loop'),
  };
  const report =
    table(`map → filter, ${n.toLocaleString('en')} records`, results, 'plain RxJS') +
    '\n\n' +
    Object.entries(ratios)
      .map(([k, v]) => `${k}: ${v.toFixed(2)}×`)
      .join('\n') +
    `\ntarget: tidewater ≥ 0.5× plain RxJS → ${ratios['tidewater / plain RxJS'] >= 0.5 ? 'met' : 'NOT met'}`;
  return { results, report, ratios };
}
