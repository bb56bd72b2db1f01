import type { CheckpointInfo, JobMetrics } from '../jobs/types.js';

/**
 * One reading of a job's figures as the dashboard keeps it: when (ms since the epoch, the server's clock) and what
 * `job.metrics()` said.
 *
 * @example
 * ```ts
 * const s: DashboardSample = { at: Date.now(), metrics: job.metrics() };
 * ```
 */
export interface DashboardSample {
  readonly at: number;
  readonly metrics: JobMetrics;
}

/**
 * A completed checkpoint and when the dashboard saw it complete (ms since the epoch).
 *
 * @example
 * ```ts
 * const c: DashboardCheckpoint = { ...info, at: Date.now() };
 * ```
 */
export interface DashboardCheckpoint extends CheckpointInfo {
  readonly at: number;
}

/**
 * How the job stands: running, or how it ended (and, failed, why).
 *
 * @example
 * ```ts
 * const s: DashboardJobState = { state: 'failed', error: 'store indexeddb:x: a write failed' };
 * ```
 */
export type DashboardJobState = { readonly state: 'running' } | { readonly state: 'finished' | 'stopped' } | { readonly state: 'failed'; readonly error: string };

/**
 * What the dashboard's server sends its page over Server-Sent Events (`/events`): first `hello` with everything it
 * kept, then a `sample` per reading, a `checkpoint` per completed checkpoint, and `state` when the job ends.
 *
 * @example
 * ```ts
 * source.addEventListener('message', (e) => { const m = JSON.parse(e.data) as DashboardMessage; });
 * ```
 */
export type DashboardMessage =
  | {
      readonly type: 'hello';
      readonly job: string;
      readonly samples: readonly DashboardSample[];
      readonly checkpoints: readonly DashboardCheckpoint[];
      readonly job_state: DashboardJobState;
      /** How many readings the page keeps (the server's `keep`): the newest ones. */
      readonly keep: number;
    }
  | { readonly type: 'sample'; readonly sample: DashboardSample }
  | { readonly type: 'checkpoint'; readonly checkpoint: DashboardCheckpoint }
  | { readonly type: 'state'; readonly job_state: DashboardJobState };

/**
 * How the messages are written as JSON: numbers that JSON cannot hold (`MIN_WATERMARK`, `MAX_WATERMARK`) as the
 * strings `'min'` and `'max'`.
 *
 * @example
 * ```ts
 * JSON.stringify({ watermark: -Infinity }, dashboardJson); // '{"watermark":"min"}'
 * ```
 */
export function dashboardJson(_key: string, value: unknown): unknown {
  return value === Infinity ? 'max' : value === -Infinity ? 'min' : value;
}
