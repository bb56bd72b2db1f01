/**
 * `npm start`: a generated clickstream through tidewater. Clicks arrive out of order (paced on the real clock);
 * event time with bounded out-of-orderness produces watermarks; keyBy user; filter out health checks; map to a line.
 * Prints every element that flows, in order: records with their key and timestamp, watermarks, the end-of-input MAX.
 */
import { map as rxMap, take, timer } from 'rxjs';
import { boundedOutOfOrderness, MAX_WATERMARK, type StreamElement } from '../src/index.js';
import { eventTime, filter, keyBy, map } from '../operators/index.js';
import { generateClicks } from './clicks.js';

const clicks = generateClicks(40, { seed: 7, stepMs: 100, maxDelayMs: 250 });
const t0 = clicks.reduce((min, c) => Math.min(min, c.at), Infinity);
const rel = (ts: number): string => (ts === MAX_WATERMARK ? 'MAX' : `+${ts - t0}ms`);

const pipeline = timer(0, 10).pipe(
  take(clicks.length),
  rxMap((i) => clicks[i]!),
  eventTime((c) => c.at, boundedOutOfOrderness(250, { interval: 50 })),
  keyBy((c) => c.user),
  filter((c) => c.page !== '/health'),
  map((c) => c.page),
);

let records = 0;
let watermarks = 0;
let lastWatermark = -Infinity;
let late = 0;
const show = (e: StreamElement<string, string>): void => {
  switch (e.kind) {
    case 'record': {
      records++;
      const behind = e.timestamp <= lastWatermark;
      if (behind) late++;
      console.log(`  record     ${e.key.padEnd(4)} ${e.value.padEnd(10)} t=${rel(e.timestamp)}${behind ? '   (behind the watermark: a window would call it late)' : ''}`);
      break;
    }
    case 'watermark':
      watermarks++;
      lastWatermark = e.timestamp;
      console.log(`  watermark  ${rel(e.timestamp)}`);
      break;
    case 'status':
      console.log(`  status     ${e.idle ? 'idle' : 'active'}`);
      break;
    case 'barrier':
      console.log(`  barrier    ${e.checkpointId}`);
      break;
  }
};

console.log(`tidewater demo: ${clicks.length} clicks, out of order by up to 250 ms, watermarks = max seen − 250 − 1 every 50 ms\n`);
pipeline.subscribe({
  next: show,
  error: (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
  complete: () => console.log(`\ndone: ${records} records (${clicks.length - records} /health filtered out), ${watermarks} watermarks, ${late} records behind the watermark`),
});
