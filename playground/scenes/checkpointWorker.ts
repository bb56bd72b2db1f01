/**
 * The "checkpoints and recovery" scene's job, in a Web Worker (so that the page can kill it mid-stream with
 * `terminate()`): the scene's clicks read slowly, checkpointing into IndexedDB; it reports what it read, its
 * checkpoints and each committed transaction to the page. Started again after a crash, it restores the newest
 * checkpoint.
 */
import { runJob } from '../../src/index.js';
import { indexedDbStore } from '../../src/stores/indexedDb.js';
import { checkpointsPipeline, committedTo, sceneClicks, slowly, type StartMessage, type WorkerMessage } from './checkpointsModel.js';

const post = (m: WorkerMessage): void => (self as unknown as Worker).postMessage(m);
const offsetOf = (o: unknown): number => (typeof o === 'number' ? o : Number((o as { index?: number })?.index ?? o));

self.onmessage = (e: MessageEvent<StartMessage>) => {
  const { name, intervalMs, delayMs } = e.data;
  const clicks = sceneClicks();
  let announced = false;
  const job = runJob({
    name,
    source: slowly(clicks, 2, () => delayMs, (offset) => {
      // (by its first read the job has opened its store: restored or not)
      if (!announced) {
        announced = true;
        post({ type: 'started', restoredFrom: job.metrics().restoredFrom ?? null, offset });
      }
      post({ type: 'read', offset });
    }),
    pipeline: checkpointsPipeline,
    sink: committedTo((committed) => post({ type: 'commit', committed })),
    checkpoint: { intervalMs, store: indexedDbStore(`tidewater-playground-${name}`) },
  });
  job.checkpoints$.subscribe((c) => post({ type: 'checkpoint', id: c.id, offset: offsetOf(c.sourceOffsets[0]), entries: c.entries, bytes: c.bytes, full: c.full }));
  job.done.then(
    (s) => {
      post({ type: 'done', restoredFrom: s.restoredFrom ?? null });
    },
    (err: unknown) => {
      post({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
    },
  );
};
