import { from, pipe } from 'rxjs';
import { count, record, slidingWindows, tumblingWindows, watermark, type StreamElement } from '../src/index.js';
import { aggregate, window } from '../operators/index.js';
import { prng } from '../demo/clicks.js';
const n = 1_000_000, k = 10_000;
const rnd = prng(7);
const names = Array.from({ length: k }, (_, i) => `user-${i}`);
const elements: StreamElement<number, string>[] = [];
for (let i = 0; i < n; i++) { const t = Math.floor(i / 10); elements.push(record(i, t, names[Math.floor(rnd() * k)] as string)); if (i % 10_000 === 9_999) elements.push(watermark(t - 1)); }
const which = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.W ?? 'tumbling';
for (let r = 0; r < 4; r++) {
  const t0 = performance.now(); let sum = 0;
  from(elements).pipe(pipe(window<number, string>(which === 'sliding' ? slidingWindows(60000, 6000) : tumblingWindows(60000)), aggregate(count()))).subscribe((e) => { if (e.kind === 'record') sum += e.value.value; });
  console.log(which, (n / (performance.now() - t0) / 1e3).toFixed(2), 'M/s', sum);
}
