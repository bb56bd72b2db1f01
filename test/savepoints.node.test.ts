// Savepoints are portable: a job's savepoint taken on IndexedDB (fake-indexeddb here; the browser's format is the
// same) restores a job on LevelDB, and the reverse, with exactly-once output across the move.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromArray, runJob, toArray, type StateStore, type WindowResult } from '../src/index.js';
import { indexedDbStore } from '../src/stores/indexedDb.js';
import { levelStore } from '../src/stores/level.js';
import { generateClicks } from '../demo/clicks.js';
import { crashPipeline } from './crash/pipeline.js';
import { gated } from './support/gated.js';

const clicks = generateClicks(2000, { seed: 3 });
type Out = WindowResult<string, unknown>;

/** Runs the pipeline over clicks[0..cut) on `from`, stops with a savepoint, moves it to `to`, and finishes there. */
async function moveMidStream(from: StateStore, to: StateStore, cut: number): Promise<{ out: readonly Out[]; restoredFrom: number | undefined }> {
  const { source, reached: atCut } = gated(clicks, cut); // the first run never reads past the cut
  const out = toArray<Out>();
  const checkpoint = (store: StateStore) => ({ intervalMs: 1e9, store });
  const job1 = runJob({ name: 'portable', source, pipeline: crashPipeline, sink: out, checkpoint: checkpoint(from) });
  await atCut;
  await job1.stop({ savepoint: true });
  const file = await from.exportSavepoint('portable');
  await to.importSavepoint(file);
  const s = await runJob({ name: 'portable', source, pipeline: crashPipeline, sink: out, checkpoint: checkpoint(to) }).done;
  return { out: out.values, restoredFrom: s.restoredFrom };
}

describe('portable savepoints', () => {
  it('IndexedDB → LevelDB and LevelDB → IndexedDB, exactly once across the move', async () => {
    const reference = toArray<Out>();
    await runJob({ name: 'reference', source: fromArray(clicks), pipeline: crashPipeline, sink: reference }).done;
    const dir = mkdtempSync(join(tmpdir(), 'tidewater-savepoint-'));

    const idb1 = indexedDbStore('portable-1');
    const level1 = levelStore(join(dir, 'a'));
    const there = await moveMidStream(idb1, level1, 700);
    expect(there.restoredFrom).toBe(1);
    expect(there.out).toStrictEqual(reference.values);

    const level2 = levelStore(join(dir, 'b'));
    const idb2 = indexedDbStore('portable-2');
    const back = await moveMidStream(level2, idb2, 1300);
    expect(back.restoredFrom).toBe(1);
    expect(back.out).toStrictEqual(reference.values);
    for (const s of [idb1, level1, level2, idb2]) await s.close();
  });
});
