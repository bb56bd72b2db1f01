/**
 * The "windows" scene (playground/windows.html): per key (a lane each), clicks at their event time as they arrive,
 * the windows they fill (dashed) and the windows that fired (filled, with their count; a re-firing for late data
 * outlined red), the watermark sweeping over event time, late data listed as the side output. Controls: tumbling,
 * sliding or session windows and their size, slide or gap; allowed lateness; the out-of-orderness bound; speed;
 * play, pause, step. Settings live in the URL.
 *
 * DOM contract (test/playground.scenes.node.test.ts): `#scene[data-state]`; `svg#windows-plot` carries
 * `data-fired`, `data-late-firings`, `data-late`, `data-arrived`; each fired window is a `rect.fired` (`data-key`,
 * `data-start`, `data-end`, `data-count`); each filling one a `rect.pane`; `#late li` per late click.
 */
import './scene.css';
import type { Click } from './eventTimeModel.js';
import { assignerWindows, WINDOW_LIMITS, windowParamsFromQuery, windowParamsToQuery, WindowsRun, type WindowsFrame, type WindowsParams } from './windowsModel.js';
import { byId, ms, player, rangeControl, svgEl, USERS } from './player.js';


const plot = byId<SVGSVGElement>('windows-plot');
const stats = byId('stats');
const lateList = byId<HTMLOListElement>('late');
const code = byId('code');
let params: WindowsParams = windowParamsFromQuery(location.search);
let run = new WindowsRun(params);

let W = 800;
const LEFT = 44;
const RIGHT = 10;
const TOP = 18;
/** Rows of windows per lane: a sliding window overlaps size / slide others. */
const rows = (): number => (params.assigner === 'sliding' ? Math.ceil(params.size / params.slide) : 1);
const laneHeight = (): number => 22 + rows() * 16;
const FROM = -1_000;
const TO = 13_000;
const x = (t: number): number => LEFT + ((Math.min(Math.max(t, FROM), TO) - FROM) / (TO - FROM)) * (W - LEFT - RIGHT);
const rowOf = (start: number): number => (params.assigner === 'sliding' ? Math.floor((start - FROM) / params.slide) % rows() : 0);

function fitPlot(): void {
  W = Math.max(300, Math.round((plot.parentElement?.clientWidth ?? 800) - 28));
}

function showCode(): void {
  const assigner = params.assigner === 'sliding' ? `slidingWindows(${params.size}, ${params.slide})` : params.assigner === 'session' ? `sessionWindows(${params.gap})` : `tumblingWindows(${params.size})`;
  code.textContent =
    `const late = sideOutput<Click>('late');\nclicks$.pipe(\n  eventTime((c) => c.at, boundedOutOfOrderness(${params.bound}, { interval: 0 })),\n  keyBy((c) => c.user),\n` +
    `  window(${assigner}, { allowedLateness: ${params.lateness}, lateData: late }),\n  aggregate(count()),\n)`;
}

function draw(f: WindowsFrame): void {
  const H = TOP + USERS.length * laneHeight() + 24;
  plot.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const parts: SVGElement[] = [];
  for (let t = 0; t <= 12_000; t += W < 600 ? 4_000 : 2_000) {
    parts.push(svgEl('line', { x1: x(t), y1: TOP - 6, x2: x(t), y2: H - 20, class: 'grid' }));
    const label = svgEl('text', { x: x(t), y: H - 6, class: 'tick', 'text-anchor': 'middle' });
    label.textContent = `${t / 1000} s`;
    parts.push(label);
  }
  const latest = new Map<string, (typeof f.firings)[number]>();
  for (const fr of f.firings) latest.set(`${fr.key}@${fr.start}-${fr.end}`, fr);
  USERS.forEach((user, lane) => {
    const top = TOP + lane * laneHeight();
    const name = svgEl('text', { x: 4, y: top + 14, class: 'lane-label' });
    name.textContent = user;
    parts.push(name, svgEl('line', { x1: LEFT, y1: top + laneHeight() - 2, x2: W - RIGHT, y2: top + laneHeight() - 2, class: 'grid' }));
    const k = `k${lane}`;
    // windows being filled: those of the key's arrived, not late clicks that have not fired yet
    const mine = f.arrived.filter((a) => a.click.user === user && !a.late).map((a) => a.click as Click);
    for (const w of assignerWindows(params, mine)) {
      if (latest.has(`${user}@${w.start}-${w.end}`)) continue;
      parts.push(svgEl('rect', { x: x(w.start), y: top + 20 + rowOf(w.start) * 16, width: Math.max(2, x(w.end) - x(w.start)), height: 13, rx: 3, class: `pane ${k}`, 'data-key': user, 'data-start': w.start, 'data-end': w.end }));
    }
    for (const fr of latest.values()) {
      if (fr.key !== user) continue;
      const y = top + 20 + rowOf(fr.start) * 16;
      parts.push(
        svgEl('rect', { x: x(fr.start), y, width: Math.max(2, x(fr.end) - x(fr.start)), height: 13, rx: 3, class: `fired ${k}${fr.late ? ' late-firing' : ''}`, 'data-key': user, 'data-start': fr.start, 'data-end': fr.end, 'data-count': fr.count }),
      );
      const label = svgEl('text', { x: x(fr.start) + 4, y: y + 10.5, class: 'count' });
      label.textContent = String(fr.count);
      parts.push(label);
    }
    for (const a of f.arrived) {
      if (a.click.user !== user) continue;
      const c = svgEl('circle', { cx: x(a.click.at), cy: top + 9, r: 4, class: `rec u${lane}${a.late ? ' late' : ''}`, 'data-id': a.click.id, 'data-late': String(a.late) });
      parts.push(c);
    }
  });
  if (Number.isFinite(f.watermark) && f.watermark > FROM) {
    parts.push(svgEl('line', { x1: x(f.watermark), y1: TOP - 10, x2: x(f.watermark), y2: H - 20, class: 'wm-line' }));
    const label = svgEl('text', { x: x(f.watermark) + 3, y: TOP - 8, class: 'wm-label' });
    label.textContent = 'watermark';
    parts.push(label);
  }
  plot.replaceChildren(...parts);
  const late = f.arrived.filter((a) => a.late);
  Object.assign(plot.dataset, {
    fired: String(f.firings.length),
    lateFirings: String(f.firings.filter((fr) => fr.late).length),
    late: String(late.length),
    arrived: String(f.arrived.length),
  });
  stats.textContent = `processing time ${(f.now / 1000).toFixed(1)} s · ${f.arrived.length} clicks · ${f.firings.length} firings · ${late.length} late`;
  lateList.replaceChildren(
    ...late.map((a) => {
      const li = document.createElement('li');
      li.textContent = `#${a.click.id} ${a.click.user}: happened at ${(a.click.at / 1000).toFixed(2)} s, arrived at ${(a.click.arrival / 1000).toFixed(2)} s`;
      return li;
    }),
  );
}

function showFor(): void {
  for (const label of document.querySelectorAll<HTMLElement>('label[data-for]')) label.classList.toggle('hidden', !(label.dataset['for'] ?? '').split(' ').includes(params.assigner));
}

const playback = player(
  () => {
    fitPlot();
    run = new WindowsRun(params);
    showCode();
    showFor();
    return run;
  },
  draw,
  () => params.speed,
);

const save = (next: WindowsParams, replay: boolean): void => {
  params = next;
  history.replaceState(null, '', `?${windowParamsToQuery(params)}`);
  if (replay) playback.restart();
};
const assigner = byId<HTMLSelectElement>('assigner');
assigner.value = params.assigner;
assigner.addEventListener('change', () => save({ ...params, assigner: assigner.value as WindowsParams['assigner'] }, true));
for (const k of ['size', 'slide', 'gap', 'lateness', 'bound', 'speed'] as const) {
  rangeControl(k, WINDOW_LIMITS[k], params[k], k === 'speed' ? (v) => `${v}×` : ms, (v) => {
    const next = { ...params, [k]: v };
    if (next.slide > next.size) next.slide = next.size;
    save(next, k !== 'speed');
  });
}
window.addEventListener('resize', () => {
  fitPlot();
  playback.redraw();
});
