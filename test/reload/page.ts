/**
 * The browser reload test's page: a checkpointed job on IndexedDB (`indexedDbStore`) whose source is paced like a
 * live feed, and whose sink commits into localStorage with the two-phase-commit callbacks. Reloading the page
 * mid-stream kills the job; the next load restores from the newest checkpoint and carries on. When the job finishes,
 * `#status[data-state=done]` holds the summary and localStorage `out` the committed output.
 */
import { callbackSink, fromAsyncIterable, runJob } from '../../src/index.js';
import { indexedDbStore } from '../../src/stores/indexedDb.js';
import { generateClicks } from '../../demo/clicks.js';
import { crashPipeline } from '../crash/pipeline.js';

const params = new URLSearchParams(location.search);
const clicks = generateClicks(Number(params.get('clicks') ?? '3000'), { seed: Number(params.get('seed') ?? '7') });
const status = document.getElementById('status') as HTMLElement;

function pendingKeys(): number[] {
  const ids: number[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i) ?? '';
    if (k.startsWith('pending/')) ids.push(Number(k.slice('pending/'.length)));
  }
  return ids.sort((a, b) => a - b);
}

let buffer: unknown[] = [];
const sink = callbackSink<unknown>({
  write: (v) => buffer.push(v),
  // pre-commit: the transaction's values become durable as pending under the checkpoint id
  preCommit: (id) => {
    localStorage.setItem(`pending/${id}`, JSON.stringify(buffer));
    buffer = [];
  },
  // commit: append every pending transaction ≤ id to the output (one synchronous step: a reload cannot split it)
  commit: (id) => {
    const out = JSON.parse(localStorage.getItem('out') ?? '[]') as unknown[];
    for (const p of pendingKeys().filter((p) => p <= id)) {
      out.push(...(JSON.parse(localStorage.getItem(`pending/${p}`) ?? '[]') as unknown[]));
      localStorage.removeItem(`pending/${p}`);
    }
    localStorage.setItem('out', JSON.stringify(out));
  },
  // abort: transactions after the restored checkpoint are produced again
  abort: (after) => {
    for (const p of pendingKeys()) if (after === undefined || p > after) localStorage.removeItem(`pending/${p}`);
    if (after === undefined) localStorage.removeItem('out');
  },
});

const loads = Number(localStorage.getItem('loads') ?? '0') + 1;
localStorage.setItem('loads', String(loads));
const store = indexedDbStore('tidewater-reload-test');
const job = runJob({
  name: 'reload',
  // paced like a live feed: a short pause every 10 clicks (≈ 300 pauses: the job outlasts three reloads even when
  // the test process driving the page is slowed by a loaded machine)
  source: fromAsyncIterable(async function* () {
    for (let i = 0; i < clicks.length; i++) {
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
      yield clicks[i] as (typeof clicks)[number];
    }
  }),
  pipeline: crashPipeline,
  sink,
  checkpoint: { intervalMs: 15, store, retain: 2 },
});
status.dataset['state'] = 'running';
job.checkpoints$.subscribe((c) => (status.dataset['checkpoint'] = String(c.id)));
job.done.then(
  (s) => {
    status.dataset['restoredFrom'] = String(s.restoredFrom ?? '');
    status.dataset['loads'] = String(loads);
    status.dataset['state'] = 'done';
  },
  (e: unknown) => {
    status.dataset['state'] = 'failed';
    status.textContent = e instanceof Error ? e.message : String(e);
  },
);
