/**
 * The "checkpoints and recovery" scene (playground/checkpoints.html): the job runs in a Web Worker, checkpointing into
 * IndexedDB; the page shows how far it read, each checkpoint (the barrier's position in the input), and the results
 * committed with each checkpoint. "Crash" terminates the worker mid-stream; "Restore" starts a new one, which restores
 * the newest checkpoint and reads on from its offset. At the end the page compares the committed output with the same
 * job run uninterrupted in the page: exactly once means identical.
 *
 * DOM contract (test/playground.scenes.node.test.ts): `#scene[data-state]` is `running`, `crashed`, `done` (or
 * `failed`); `#progress` carries `data-offset`, `data-checkpoints`, `data-crashes`; `#result` carries
 * `data-identical`, `data-results`, `data-expected`, `data-restored-from`; `#output li` per committed result.
 */
import './scene.css';
import { fromArray, runJob, toArray } from '../../src/index.js';
import { checkpointsPipeline, sceneClicks, type Result, type StartMessage, type WorkerMessage } from './checkpointsModel.js';
import { numbersFromQuery, settingsToQuery } from './eventTimeModel.js';
import { byId, ms, rangeControl } from './player.js';

interface Settings {
  readonly interval: number;
  readonly delay: number;
}
const LIMITS = { interval: [100, 3_000, 100], delay: [5, 200, 5] } as const;
let settings: Settings = numbersFromQuery(location.search, { interval: 1_000, delay: 40 }, LIMITS);

const scene = byId('scene');
const progress = byId('progress');
const bar = byId('bar');
const marks = byId('marks');
const log = byId<HTMLOListElement>('log');
const output = byId<HTMLOListElement>('output');
const result = byId('result');
const crashButton = byId<HTMLButtonElement>('crash');
const restoreButton = byId<HTMLButtonElement>('restore');

const clicks = sceneClicks();
const committed = new Map<number, readonly Result[]>();
let worker: Worker | undefined;
let jobName = '';
let offset = 0;
let checkpoints = 0;
let crashes = 0;
let restoredFrom: number | null = null;

const fmt = (r: Result): string => `${r.key} ${(r.window.start / 1000).toFixed(0)}–${(r.window.end / 1000).toFixed(0)} s: ${r.value}`;
const note = (text: string, kind = ''): void => {
  const li = document.createElement('li');
  li.textContent = text;
  if (kind !== '') li.className = kind;
  log.prepend(li);
};
const pct = (o: number): string => `${((o / clicks.length) * 100).toFixed(2)}%`;

function showProgress(): void {
  bar.style.width = pct(offset);
  Object.assign(progress.dataset, { offset: String(offset), checkpoints: String(checkpoints), crashes: String(crashes) });
  byId('read').textContent = `${offset} of ${clicks.length} clicks read · ${checkpoints} checkpoints · ${crashes} crashes`;
}

function showOutput(): void {
  const all = [...committed.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, rs]) => rs);
  output.replaceChildren(
    ...all.map((r) => {
      const li = document.createElement('li');
      li.textContent = fmt(r);
      return li;
    }),
  );
  result.dataset['results'] = String(all.length);
}

/** The same job, uninterrupted, in the page: what the output must be. */
const expected: Promise<readonly Result[]> = (async () => {
  const sink = toArray<Result>();
  await runJob({ name: 'reference', source: fromArray(clicks), pipeline: checkpointsPipeline, sink }).done;
  return sink.values;
})();

async function finish(): Promise<void> {
  const want = await expected;
  const got = [...committed.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, rs]) => rs);
  const identical = got.length === want.length && got.every((r, i) => JSON.stringify(r) === JSON.stringify(want[i]));
  Object.assign(result.dataset, { identical: String(identical), expected: String(want.length), restoredFrom: String(restoredFrom ?? '') });
  result.textContent = identical
    ? `✓ exactly once: ${got.length} results, identical to the job run uninterrupted${crashes > 0 ? `, through ${crashes} crash${crashes > 1 ? 'es' : ''}` : ''}`
    : `✗ ${got.length} results, expected ${want.length}: not what the uninterrupted job produces`;
  scene.dataset['state'] = 'done';
  crashButton.disabled = true;
  restoreButton.disabled = true;
}

function start(): void {
  worker = new Worker(new URL('./checkpoint-worker.js', location.href), { type: 'module' });
  worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    const m = e.data;
    switch (m.type) {
      case 'started':
        restoredFrom = m.restoredFrom;
        note(m.restoredFrom === null ? 'started from the beginning' : `restored checkpoint ${m.restoredFrom}: reading on from its offset`, 'restore');
        break;
      case 'read':
        offset = m.offset;
        showProgress();
        break;
      case 'checkpoint': {
        checkpoints++;
        const tick = document.createElement('span');
        tick.className = 'mark';
        tick.style.left = pct(m.offset);
        tick.title = `checkpoint ${m.id} at click ${m.offset}`;
        marks.append(tick);
        note(
          `checkpoint ${m.id}: barrier after click ${m.offset} → the window's state snapshot (${m.entries} ${m.full ? '' : 'changed '}entries) → the sink's results pre-committed → ${(m.bytes / 1024).toFixed(1)} KB durable in IndexedDB → committed`,
        );
        showProgress();
        break;
      }
      case 'commit':
        // (a restored transaction comes again: taken once per checkpoint, as a log drops a message id it has)
        if (!committed.has(m.committed.checkpoint)) {
          committed.set(m.committed.checkpoint, m.committed.results);
          showOutput();
        }
        break;
      case 'done':
        note('finished: every click read, the last transaction committed');
        void finish();
        break;
      case 'failed':
        note(`failed: ${m.error}`, 'crash');
        scene.dataset['state'] = 'failed';
        break;
    }
  };
  const message: StartMessage = { type: 'start', name: jobName, intervalMs: settings.interval, delayMs: settings.delay };
  worker.postMessage(message);
  scene.dataset['state'] = 'running';
  crashButton.disabled = false;
  restoreButton.disabled = true;
}

function crash(): void {
  worker?.terminate();
  worker = undefined;
  crashes++;
  const tick = document.createElement('span');
  tick.className = 'mark crash';
  tick.style.left = pct(offset);
  marks.append(tick);
  note(`crashed after click ${offset}: the worker is gone, with everything after the last checkpoint`, 'crash');
  scene.dataset['state'] = 'crashed';
  crashButton.disabled = true;
  restoreButton.disabled = false;
  showProgress();
}

function fresh(): void {
  worker?.terminate();
  jobName = `crash-${Date.now().toString(36)}`;
  committed.clear();
  offset = 0;
  checkpoints = 0;
  crashes = 0;
  restoredFrom = null;
  marks.replaceChildren();
  log.replaceChildren();
  for (const k of ['identical', 'expected', 'restoredFrom']) delete result.dataset[k];
  result.textContent = '';
  showOutput();
  showProgress();
  start();
}

crashButton.addEventListener('click', crash);
restoreButton.addEventListener('click', start);
byId('again').addEventListener('click', fresh);
for (const k of ['interval', 'delay'] as const) {
  rangeControl(k, LIMITS[k], settings[k], ms, (v) => {
    settings = { ...settings, [k]: v };
    history.replaceState(null, '', `?${settingsToQuery(settings)}`);
    fresh();
  });
}
fresh();
