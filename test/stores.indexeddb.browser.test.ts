// indexedDbStore on the real IndexedDB of Chromium (browser project only).
import { describe, expect, it } from 'vitest';
import { openDefaultStore } from '../src/index.js';
import { indexedDbStore } from '../src/stores/indexedDb.js';
import { storeConformance } from './support/storeConformance.js';

const run = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
let n = 0;
storeConformance('indexedDbStore (Chromium)', () => indexedDbStore(`tidewater-${run}-${n++}`), { propertyRuns: 15 });

describe('indexedDbStore in a browser', () => {
  it('openDefaultStore is IndexedDB in a browser', async () => {
    const store = await openDefaultStore(`tidewater-${run}-default`);
    expect(store.description).toBe(`indexeddb:tidewater-${run}-default`);
    await store.appendJournal('j', 0, ['x']);
    expect(await store.readJournal('j', 0)).toStrictEqual(['x']);
    await store.close();
  });
});

// `level` in a browser bundle is browser-level (IndexedDB underneath; needs the `events` package)
storeConformance('levelStore (browser-level)', async () => (await import('../src/stores/level.js')).levelStore(`tidewater-level-${run}-${n++}`), { propertyRuns: 10 });
