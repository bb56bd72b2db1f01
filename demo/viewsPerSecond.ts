/**
 * The keyed, windowed part of the clickstream demo: page views per user and second of event time. A module of its
 * own, exporting the pipeline as `default`, so that worker threads can load it: `npm start` runs it in the main
 * thread and as `parallel(2, viewsPerSecond, { worker: new URL('./viewsPerSecond.ts', import.meta.url) })` in two
 * worker threads (`demo/parallel.ts`).
 */
import { pipe } from 'rxjs';
import { count, tumblingWindows } from '../src/index.js';
import { aggregate, window } from '../operators/index.js';
import type { Click } from './clicks.js';

/**
 * Per user (the key) and second: the number of page views.
 *
 * @example
 * ```ts
 * clicks$.pipe(eventTime((c) => c.at), keyBy((c) => c.user), viewsPerSecond); // WindowResult<string, number> records
 * ```
 */
export const viewsPerSecond = pipe(window<Click, string>(tumblingWindows(1_000), { name: 'views-per-second' }), aggregate(count()));

export default viewsPerSecond;
