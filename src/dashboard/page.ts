/**
 * The dashboard's page (served by `serveDashboard`, built with esbuild): follows `/events` and draws the job —
 * its operators in pipeline order, charts of throughput, watermarks and checkpoints (uPlot: small, fast on live
 * time series, canvas-drawn, no framework), and the checkpoint history.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './page.css';
import type { DashboardCheckpoint, DashboardJobState, DashboardMessage, DashboardSample } from './protocol.js';

type Wm = number | 'min' | 'max';
type Figures = { readonly watermark: Wm } & Readonly<Record<string, number | Wm>>;

const app = document.getElementById('app') as HTMLElement;
const samples: DashboardSample[] = [];
/** How many readings the page keeps: the server's `keep`, told in its hello. */
let keep = 600;
const checkpoints: DashboardCheckpoint[] = [];
let jobName = 'job';
let jobState: DashboardJobState = { state: 'running' };

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};

const fmtCount = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)} K` : String(Math.round(n)));
const fmtBytes = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`);
/** A watermark: MIN and MAX by name, epoch milliseconds as a UTC time of day, anything else as a number. */
const fmtWatermark = (w: Wm | undefined): string => {
  if (w === undefined || w === 'min') return 'MIN';
  if (w === 'max') return 'MAX (end)';
  if (w > 1e11) return new Date(w).toISOString().slice(11, 23);
  return String(w);
};

/** Records per second between the last two readings. */
function rates(): { inPerSec: number; outPerSec: number } {
  const a = samples.at(-2);
  const b = samples.at(-1);
  if (a === undefined || b === undefined || b.at === a.at) return { inPerSec: 0, outPerSec: 0 };
  const dt = (b.at - a.at) / 1000;
  return { inPerSec: (b.metrics.recordsIn - a.metrics.recordsIn) / dt, outPerSec: (b.metrics.recordsOut - a.metrics.recordsOut) / dt };
}

// ---- layout ------------------------------------------------------------------------------------------------------

const header = el('header');
const title = el('h1');
const badge = el('span', { id: 'state', class: 'badge' });
const totals = el('p', { id: 'totals' });
header.append(title, badge, totals);
const graph = el('section', { id: 'graph', 'aria-label': 'operators' });
const charts = el('section', { id: 'charts' });
const chartBoxes = ['throughput', 'watermarks', 'checkpoint-chart'].map((id) => {
  const box = el('figure', { id });
  box.append(el('figcaption', {}, id === 'throughput' ? 'records per second' : id === 'watermarks' ? 'watermark per operator (event time)' : 'checkpoints: duration (ms) and size (KB)'));
  charts.append(box);
  return box;
});
const history = el('section', { id: 'checkpoints' });
const table = el('table');
table.innerHTML = '<caption>checkpoint history</caption><thead><tr><th>id</th><th>completed</th><th>duration</th><th>size</th><th>entries</th><th>kind</th></tr></thead><tbody></tbody>';
history.append(table);
app.append(header, graph, charts, history);

// ---- operators -------------------------------------------------------------------------------------------------

/**
 * The stateful operators from source to sink. A job lists them as they were subscribed, and RxJS subscribes a chain
 * from its end: the last operator first. So the list, reversed, is the pipeline's order (for a chain; operators of
 * branches keep their relative order).
 */
function pipelineOrder(ops: Readonly<Record<string, Figures>>): [string, Figures][] {
  return Object.entries(ops).reverse();
}

function drawGraph(): void {
  const m = samples.at(-1)?.metrics;
  if (m === undefined) return;
  const boxes: HTMLElement[] = [];
  const source = el('div', { class: 'op endpoint', 'data-operator': 'source' });
  source.append(el('h2', {}, 'source'), el('p', { class: 'in' }, `${fmtCount(m.recordsIn)} read`));
  boxes.push(source);
  for (const [name, f] of pipelineOrder(m.operators as unknown as Readonly<Record<string, Figures>>)) {
    const box = el('div', { class: 'op', 'data-operator': name });
    box.append(el('h2', {}, name));
    const dl = el('dl');
    const row = (label: string, cls: string, value: string): void => {
      dl.append(el('dt', {}, label), el('dd', { class: cls }, value));
    };
    row('in', 'in', fmtCount(Number(f['recordsIn'] ?? 0)));
    row('out', 'out', fmtCount(Number(f['recordsOut'] ?? 0)));
    row('watermark', 'watermark', fmtWatermark(f.watermark));
    row('state entries', 'state', fmtCount(Number(f['stateEntries'] ?? 0)));
    const late = Number(f['lateRecordsDropped'] ?? 0) + Number(f['lateRecordsToSideOutput'] ?? 0);
    if (late > 0 || 'lateRecordsDropped' in f) row('late', 'late', fmtCount(late));
    box.append(dl);
    const subtasks = m.subtasks?.[name];
    if (subtasks !== undefined) {
      const st = el('table', { class: 'subtasks' });
      st.innerHTML = '<thead><tr><th>#</th><th>in</th><th>out</th><th>state</th></tr></thead>';
      const body = el('tbody');
      subtasks.forEach((s, i) => {
        const tr = el('tr');
        tr.append(el('td', {}, String(i)), el('td', {}, fmtCount(s.recordsIn)), el('td', {}, fmtCount(s.recordsOut)), el('td', {}, fmtCount(s.stateEntries)));
        body.append(tr);
      });
      st.append(body);
      box.append(st);
    }
    boxes.push(box);
  }
  const sink = el('div', { class: 'op endpoint', 'data-operator': 'sink' });
  sink.append(el('h2', {}, 'sink'), el('p', { class: 'out' }, `${fmtCount(m.recordsOut)} written`));
  boxes.push(sink);
  graph.replaceChildren(...boxes.flatMap((b, i) => (i === 0 ? [b] : [el('span', { class: 'arrow', 'aria-hidden': 'true' }, '→'), b])));
}

function drawHeader(): void {
  const m = samples.at(-1)?.metrics;
  title.textContent = jobName;
  badge.textContent = jobState.state;
  badge.dataset['state'] = jobState.state;
  app.dataset['state'] = jobState.state;
  if (m === undefined) return;
  const r = rates();
  const restored = m.restoredFrom !== undefined ? ` · restored from checkpoint ${m.restoredFrom}` : '';
  const failed = jobState.state === 'failed' ? ` · ${jobState.error}` : '';
  totals.textContent = `in ${fmtCount(m.recordsIn)} (${fmtCount(r.inPerSec)}/s) · out ${fmtCount(m.recordsOut)} (${fmtCount(r.outPerSec)}/s) · ${m.checkpointsCompleted} checkpoints${restored}${failed}`;
}

function drawHistory(): void {
  const body = table.tBodies[0] as HTMLTableSectionElement;
  const rows = checkpoints
    .slice(-20)
    .reverse()
    .map((c) => {
      const tr = el('tr', { 'data-checkpoint': String(c.id) });
      const kind = `${c.full ? 'full' : 'incremental'}${c.savepoint ? ', savepoint' : ''}`;
      tr.append(
        el('td', {}, String(c.id)),
        el('td', {}, new Date(c.at).toISOString().slice(11, 19)),
        el('td', {}, `${c.durationMs.toFixed(0)} ms`),
        el('td', {}, fmtBytes(c.bytes)),
        el('td', {}, fmtCount(c.entries)),
        el('td', {}, kind),
      );
      return tr;
    });
  body.replaceChildren(...rows);
}

// ---- charts ----------------------------------------------------------------------------------------------------

const width = (box: HTMLElement): number => Math.max(240, Math.min(box.clientWidth || 600, 900) - 8);
let plots: { throughput: uPlot; watermarks: uPlot; checkpoints: uPlot } | undefined;
let wmSeries: string[] = [];

function throughputData(): uPlot.AlignedData {
  const xs: number[] = [];
  const ins: number[] = [];
  const outs: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as DashboardSample;
    const b = samples[i] as DashboardSample;
    const dt = (b.at - a.at) / 1000;
    if (dt <= 0) continue;
    xs.push(b.at / 1000);
    ins.push((b.metrics.recordsIn - a.metrics.recordsIn) / dt);
    outs.push((b.metrics.recordsOut - a.metrics.recordsOut) / dt);
  }
  return [xs, ins, outs];
}

function watermarkData(): uPlot.AlignedData {
  const ops = wmSeries;
  const xs = samples.map((s) => s.at / 1000);
  const ys = ops.map((op) =>
    samples.map((s) => {
      const w = (s.metrics.operators as unknown as Readonly<Record<string, Figures>>)[op]?.watermark;
      return typeof w === 'number' ? w : null;
    }),
  );
  return [xs, ...ys];
}

function checkpointData(): uPlot.AlignedData {
  return [checkpoints.map((c) => c.id), checkpoints.map((c) => c.durationMs), checkpoints.map((c) => c.bytes / 1024)];
}

const timeOfDay = (_u: uPlot, values: number[]): string[] => values.map((v) => (Number.isFinite(v) && v > 1e11 ? new Date(v).toISOString().slice(11, 19) : String(v)));

function makePlots(): void {
  const [tBox, wBox, cBox] = chartBoxes as [HTMLElement, HTMLElement, HTMLElement];
  const ops = pipelineOrder((samples.at(-1)?.metrics.operators ?? {}) as unknown as Readonly<Record<string, Figures>>).map(([n]) => n);
  wmSeries = ops;
  const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];
  plots?.throughput.destroy();
  plots?.watermarks.destroy();
  plots?.checkpoints.destroy();
  plots = {
    throughput: new uPlot(
      { width: width(tBox), height: 180, series: [{}, { label: 'in/s', stroke: '#2563eb' }, { label: 'out/s', stroke: '#16a34a' }], axes: [{}, { size: 60 }] },
      throughputData(),
      tBox,
    ),
    watermarks: new uPlot(
      { width: width(wBox), height: 180, series: [{}, ...ops.map((op, i) => ({ label: op, stroke: palette[i % palette.length] as string, spanGaps: true }))], axes: [{}, { size: 90, values: timeOfDay }] },
      watermarkData(),
      wBox,
    ),
    checkpoints: new uPlot(
      {
        width: width(cBox),
        height: 180,
        scales: { x: { time: false }, kb: {} },
        series: [{ label: 'checkpoint' }, { label: 'duration ms', stroke: '#9333ea', points: { show: true } }, { label: 'size KB', stroke: '#ea580c', scale: 'kb', points: { show: true } }],
        axes: [{}, { size: 50 }, { scale: 'kb', side: 1, grid: { show: false }, size: 60 }],
      },
      checkpointData(),
      cBox,
    ),
  };
}

function drawCharts(): void {
  const ops = pipelineOrder((samples.at(-1)?.metrics.operators ?? {}) as unknown as Readonly<Record<string, Figures>>).map(([n]) => n);
  if (plots === undefined || ops.join('\n') !== wmSeries.join('\n')) {
    makePlots();
    return;
  }
  plots.throughput.setData(throughputData());
  plots.watermarks.setData(watermarkData());
  plots.checkpoints.setData(checkpointData());
}

window.addEventListener('resize', () => {
  if (plots === undefined) return;
  const [tBox, wBox, cBox] = chartBoxes as [HTMLElement, HTMLElement, HTMLElement];
  plots.throughput.setSize({ width: width(tBox), height: 180 });
  plots.watermarks.setSize({ width: width(wBox), height: 180 });
  plots.checkpoints.setSize({ width: width(cBox), height: 180 });
});

// ---- data --------------------------------------------------------------------------------------------------------

function redraw(): void {
  drawHeader();
  drawGraph();
  drawHistory();
  drawCharts();
}

const events = new EventSource('events');
events.onmessage = (e: MessageEvent<string>) => {
  const m = JSON.parse(e.data) as DashboardMessage;
  if (m.type === 'hello') {
    jobName = m.job;
    jobState = m.job_state;
    samples.splice(0, samples.length, ...m.samples);
    checkpoints.splice(0, checkpoints.length, ...m.checkpoints);
    // (a page served by an older server: its fixed number)
    keep = typeof m.keep === 'number' && m.keep >= 1 ? m.keep : 600;
  } else if (m.type === 'sample') {
    samples.push(m.sample);
    if (samples.length > keep) samples.splice(0, samples.length - keep);
  } else if (m.type === 'checkpoint') {
    checkpoints.push(m.checkpoint);
    if (checkpoints.length > 200) checkpoints.shift();
  } else {
    jobState = m.job_state;
    events.close();
  }
  redraw();
};
events.onerror = () => {
  if (jobState.state === 'running') {
    badge.textContent = 'disconnected';
    app.dataset['state'] = 'disconnected';
  }
};
