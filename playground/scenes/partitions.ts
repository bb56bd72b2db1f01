/**
 * The "partitioning" scene (playground/partitions.html): keyed records routed to `n` subtasks by the real
 * `partitionStream` — by key group (Flink's hash partitioning: each key's key group, each subtask a range of key
 * groups) or round robin. The strip shows the key groups coloured by the subtask that owns them, with each key at its
 * group; the columns show what each subtask received. Settings live in the URL.
 *
 * DOM contract (test/playground.scenes.node.test.ts): `#scene[data-state]`; `.subtask[data-subtask]` per subtask
 * with `data-records` and `data-first`/`data-last` (its key groups); `.chip[data-key][data-partition]` per record
 * received; `.group[data-group][data-owner]` per key group.
 */
import './scene.css';
import { keyGroupRange, partitionOfKeyGroup } from '../../src/index.js';
import { PARTITION_LIMITS, partitionParamsFromQuery, partitionParamsToQuery, PartitionRun, SENSORS, type PartitionFrame, type PartitionParams } from './partitionsModel.js';
import { byId, player, rangeControl } from './player.js';

let params: PartitionParams = partitionParamsFromQuery(location.search);
let run = new PartitionRun(params);
const strip = byId('groups');
const keysLine = byId('keys');
const columns = byId('subtasks');
const stats = byId('stats');
const code = byId('code');
const hue = (subtask: number): string => `hsl(${(subtask * 137) % 360} 65% 45%)`;
const keyHue = (key: string): string => `hsl(${(SENSORS.indexOf(key) * 47) % 360} 55% 40%)`;

function drawStrip(): void {
  const groups = [];
  for (let g = 0; g < params.maxParallelism; g++) {
    const owner = partitionOfKeyGroup(g, params.n, params.maxParallelism);
    const cell = document.createElement('span');
    cell.className = 'group';
    Object.assign(cell.dataset, { group: String(g), owner: String(owner) });
    cell.style.background = hue(owner);
    cell.title = `key group ${g}: subtask ${owner}`;
    groups.push(cell);
  }
  strip.replaceChildren(...groups);
  keysLine.replaceChildren(
    ...SENSORS.map((k) => {
      const li = document.createElement('li');
      li.textContent = `${k} → key group ${run.keyGroup(k)} → subtask ${run.ownerOf(k)}`;
      li.style.color = keyHue(k);
      return li;
    }),
  );
}

function showCode(): void {
  code.textContent = `const parts = partitionStream(readings$, ${params.n}, '${params.roundRobin === 1 ? 'round-robin' : 'hash'}', { maxParallelism: ${params.maxParallelism} });`;
}

function draw(f: PartitionFrame): void {
  columns.replaceChildren(
    ...f.subtasks.map((recs, i) => {
      const col = document.createElement('section');
      col.className = 'subtask';
      const range = keyGroupRange(i, params.n, params.maxParallelism);
      Object.assign(col.dataset, { subtask: String(i), records: String(recs.length), first: String(range.first), last: String(range.last) });
      const h = document.createElement('h2');
      h.textContent = `subtask ${i} · key groups ${range.first}–${range.last} · ${recs.length}`;
      h.style.color = hue(i);
      col.append(h);
      const chips = document.createElement('div');
      for (const r of recs.slice(-60)) {
        const chip = document.createElement('span');
        chip.className = 'chip';
        Object.assign(chip.dataset, { key: r.key, partition: String(i) });
        chip.textContent = r.key.slice(7);
        chip.title = `${r.key} (key group ${r.keyGroup})`;
        chip.style.background = keyHue(r.key);
        chips.append(chip);
      }
      col.append(chips);
      return col;
    }),
  );
  const total = f.subtasks.reduce((n, r) => n + r.length, 0);
  stats.textContent = `${total} records routed · ${f.subtasks.map((r) => r.length).join(' / ')} per subtask`;
}

const playback = player(
  () => {
    run = new PartitionRun(params);
    drawStrip();
    showCode();
    return run;
  },
  draw,
  () => params.speed,
);
const save = (next: PartitionParams): void => {
  params = next.n > next.maxParallelism ? { ...next, n: next.maxParallelism } : next;
  history.replaceState(null, '', `?${partitionParamsToQuery(params)}`);
  playback.restart();
};
rangeControl('n', PARTITION_LIMITS.n, params.n, (v) => String(v), (v) => save({ ...params, n: v }));
rangeControl('speed', PARTITION_LIMITS.speed, params.speed, (v) => `${v}×`, (v) => {
  params = { ...params, speed: v };
  history.replaceState(null, '', `?${partitionParamsToQuery(params)}`);
});
const maxP = byId<HTMLSelectElement>('maxParallelism');
maxP.value = String(params.maxParallelism);
maxP.addEventListener('change', () => save({ ...params, maxParallelism: Number(maxP.value) }));
const by = byId<HTMLSelectElement>('partitioner');
by.value = params.roundRobin === 1 ? 'round-robin' : 'hash';
by.addEventListener('change', () => save({ ...params, roundRobin: by.value === 'round-robin' ? 1 : 0 }));
