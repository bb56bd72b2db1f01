/**
 * `tidewater/dashboard`: a live page for a running job (`serveDashboard`), Node only.
 *
 * @example
 * ```ts
 * import { serveDashboard } from 'tidewater/dashboard';
 * ```
 */
export { serveDashboard, type Dashboard, type DashboardOptions } from './server.js';
export type { DashboardCheckpoint, DashboardJobState, DashboardMessage, DashboardSample } from './protocol.js';
