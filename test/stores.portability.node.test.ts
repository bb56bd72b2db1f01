// A savepoint taken with one backend restores with another (IndexedDB on fake-indexeddb ⇄ LevelDB).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeValue, type StateStore } from '../src/index.js';
import { indexedDbStore } from '../src/stores/indexedDb.js';
import { levelStore } from '../src/stores/level.js';
import { snap } from './support/storeConformance.js';

const root = mkdtempSync(join(tmpdir(), 'tidewater-portability-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const state: [string, string][] = [
  ['["s","count","","\\"user-1\\""]', encodeValue(42)],
  ['["s","seen","","\\"ünï©ødé 🌊\\""]', encodeValue(new Map([['a', new Date(0)]]))],
  ['["t","e","","\\"user-1\\"",1000]', encodeValue(-0)],
];

async function roundTrip(from: StateStore, to: StateStore): Promise<void> {
  await from.writeCheckpoint({ job: 'clicks', id: 1, timestamp: 10, savepoint: false, operators: [snap('counts', true, state.slice(0, 2), '"5"')], sources: ['{"index":3}'] });
  await from.writeCheckpoint({
    job: 'clicks',
    id: 2,
    parent: 1,
    timestamp: 20,
    savepoint: false,
    operators: [snap('counts', false, [state[2] as [string, string], ['["s","count","","\\"user-1\\""]', undefined]], '"9"')],
    sources: ['{"index":7}'],
    sink: '{"pending":[2]}',
  });
  const text = await from.exportSavepoint('clicks');
  await from.close();
  const meta = await to.importSavepoint(text);
  expect([meta.id, meta.savepoint, meta.entries]).toStrictEqual([2, true, 2]);
  const loaded = await to.loadCheckpoint('clicks', 'latest');
  expect(loaded?.operators).toStrictEqual([snap('counts', true, [state[1] as [string, string], state[2] as [string, string]], '"9"')]);
  expect([loaded?.sources, loaded?.sink, loaded?.timestamp]).toStrictEqual([['{"index":7}'], '{"pending":[2]}', 20]);
  await to.close();
}

describe('savepoint portability', () => {
  it('IndexedDB → LevelDB', () => roundTrip(indexedDbStore('portable-1'), levelStore(join(root, 'a'))));
  it('LevelDB → IndexedDB', () => roundTrip(levelStore(join(root, 'b')), indexedDbStore('portable-2')));
});
