import { ConfigurationError } from '../errors/index.js';
import type { StateStore } from './types.js';

/**
 * The durable store for this environment: in Node, `levelStore(name)` (LevelDB in directory `name`, relative to the
 * working directory); in a browser, `indexedDbStore(name)` (IndexedDB database `name`). The backend is imported on
 * first use, so the core bundle does not pull in `level` or `idb-keyval`.
 *
 * @example
 * ```ts
 * const store = await openDefaultStore('clicks-state');
 * const job = runJob({ name: 'clicks', source, pipeline, checkpoint: { intervalMs: 1000, store } });
 * ```
 */
export async function openDefaultStore(name: string): Promise<StateStore> {
  const g = globalThis as { process?: { versions?: { node?: string } }; indexedDB?: unknown };
  if (typeof g.process?.versions?.node === 'string') {
    const { levelStore } = await import('./level.js');
    return levelStore(name);
  }
  if (g.indexedDB !== undefined) {
    const { indexedDbStore } = await import('./indexedDb.js');
    return indexedDbStore(name);
  }
  throw new ConfigurationError('openDefaultStore', name, `openDefaultStore(${JSON.stringify(name)}): this environment has neither Node's file system nor IndexedDB; pass a store explicitly (e.g. memoryStore()).`);
}
