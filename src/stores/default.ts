import { ConfigurationError } from '../errors/index.js';
import type { StateStore } from './types.js';

/**
 * The durable store for this environment: in Node, `levelStore(name)` (LevelDB in directory `name`, relative to the
 * working directory); in a browser, `indexedDbStore(name)` (IndexedDB database `name`). The backend is imported on
 * first use, so the core bundle does not pull in `level` or `idb-keyval`. In Node it needs the `level` package
 * (an optional peer dependency: `npm install level`); without it, a {@link ConfigurationError} says so.
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
    let level: typeof import('./level.js');
    try {
      level = await import('./level.js');
    } catch (e) {
      // `level` is an optional peer dependency: only LevelDB users install it
      if ((e as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
      throw new ConfigurationError('openDefaultStore', name, `openDefaultStore(${JSON.stringify(name)}): LevelDB in Node needs the \`level\` package, which tidewater does not install (an optional peer dependency): run \`npm install level\`, or pass a store explicitly (e.g. memoryStore()).`, { cause: e });
    }
    return level.levelStore(name);
  }
  if (g.indexedDB !== undefined) {
    const { indexedDbStore } = await import('./indexedDb.js');
    return indexedDbStore(name);
  }
  throw new ConfigurationError('openDefaultStore', name, `openDefaultStore(${JSON.stringify(name)}): this environment has neither Node's file system nor IndexedDB; pass a store explicitly (e.g. memoryStore()).`);
}
