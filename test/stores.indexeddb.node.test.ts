// indexedDbStore on fake-indexeddb (loaded by the node project's setupFiles).
import { describe, expect, it } from 'vitest';
import { indexedDbStore } from '../src/stores/indexedDb.js';
import { storeConformance } from './support/storeConformance.js';

let n = 0;
storeConformance('indexedDbStore (fake-indexeddb)', () => indexedDbStore(`tidewater-node-${n++}`), { propertyRuns: 25 });

describe('indexedDbStore', () => {
  it('keeps everything across close and reopen of the same database', async () => {
    const a = indexedDbStore('reopen');
    expect(a.description).toBe('indexeddb:reopen');
    await a.appendJournal('src', 0, ['x', 'y']);
    await a.close();
    const b = indexedDbStore('reopen');
    expect(await b.readJournal('src', 0)).toStrictEqual(['x', 'y']);
    await b.close();
  });
});
