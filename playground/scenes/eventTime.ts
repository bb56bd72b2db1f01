/**
 * The "event time vs processing time" scene (playground/event-time.html): clicks plotted by when they arrived
 * (processing time, →) and when they happened (event time, ↑), the watermark as a line that steps up as the
 * `eventTime` operator emits it, records that arrived behind it ringed, idle spells shaded. Controls set the
 * strategy's bound, watermark interval and idle timeout, the data's disorder and the speed; play, pause, step. The
 * settings live in the URL, so a scene can be shared.
 *
 * DOM contract (test/playground.scenes.node.test.ts): `#scene[data-state]` is `playing`, `paused` or `done`;
 * `svg#plot` carries `data-records`, `data-late`, `data-watermarks`, `data-idle-spells` and `data-now`; each record
 * is a `circle.rec` (`data-id`, `data-late`); the watermark is `path#watermark`.
 */
import './scene.css';
import { EventTimeRun, LIMITS, paramsFromQuery, paramsToQuery, parseStrategy, strategyCode, strategyProblem, type EventTimeParams, type Frame } from './eventTimeModel.js';
import { byId, ms, player, rangeControl, svgEl, USERS } from './player.js';

/** The plot's size in its own units: the width it is shown at (so text keeps its size on a phone), taller when narrow. */
let W = 800;
let H = 420;
function fitPlot(): void {
  const shown = plot.parentElement?.clientWidth ?? 800;
  W = Math.max(300, Math.round(shown - 28));
  H = W < 600 ? Math.round(W * 0.9) : 420;
  plot.setAttribute('viewBox', `0 0 ${W} ${H}`);
}
const PAD = { left: 56, right: 12, top: 12, bottom: 36 };


const plot = byId<SVGSVGElement>('plot');
const code = byId('code');
const stats = byId('stats');

let params: EventTimeParams = paramsFromQuery(location.search);
let run = new EventTimeRun(params);

const strategy = byId<HTMLInputElement>('strategy');
const strategyError = byId('strategy-error');

function showCode(): void {
  code.textContent = `clicks$.pipe(\n  eventTime((c) => c.at, ${strategyCode(params)}),\n)`;
  strategy.value = strategyCode(params);
  strategyError.textContent = '';
  delete strategy.dataset['invalid'];
}

// the strategy, edited as code: read (not evaluated) into the settings, which the page then loads from its URL
strategy.addEventListener('change', () => {
  const parsed = parseStrategy(strategy.value, params);
  if ('error' in parsed) {
    strategyError.textContent = parsed.error;
    strategy.dataset['invalid'] = 'true';
    return;
  }
  location.search = `?${paramsToQuery(parsed)}`;
});

function setUpControls(restart: () => void): void {
  for (const k of ['bound', 'interval', 'idle', 'disorder', 'speed'] as const) {
    const format = k === 'speed' ? (v: number) => `${v}×` : k === 'idle' ? (v: number) => (v === 0 ? 'off' : ms(v)) : ms;
    rangeControl(k, LIMITS[k], params[k], format, (v) => {
      // (a strategy the library refuses — an idle timeout without periodic emits — is said, not run)
      const problem = strategyProblem({ ...params, [k]: v });
      if (problem !== undefined) {
        strategyError.textContent = problem;
        return;
      }
      params = { ...params, [k]: v };
      history.replaceState(null, '', `?${paramsToQuery(params)}`);
      // the speed only changes the playback; anything else runs the scene again from the start
      if (k !== 'speed') restart();
    });
  }
}

const x = (t: number): number => PAD.left + (t / run.endsAt) * (W - PAD.left - PAD.right);
const y = (t: number): number => H - PAD.bottom - (Math.max(0, t) / run.endsAt) * (H - PAD.top - PAD.bottom);
const seconds = (t: number): string => `${(t / 1000).toFixed(t % 1000 === 0 ? 0 : 1)} s`;

function axes(): SVGElement[] {
  const out: SVGElement[] = [];
  const x0 = PAD.left;
  const y0 = H - PAD.bottom;
  out.push(svgEl('line', { x1: x0, y1: y0, x2: W - PAD.right, y2: y0, class: 'axis' }), svgEl('line', { x1: x0, y1: y0, x2: x0, y2: PAD.top, class: 'axis' }));
  for (let t = 0; t <= run.endsAt; t += W < 600 ? 4_000 : 2_000) {
    const tx = svgEl('text', { x: x(t), y: y0 + 16, class: 'tick', 'text-anchor': 'middle' });
    tx.textContent = seconds(t);
    const ty = svgEl('text', { x: x0 - 6, y: y(t) + 4, class: 'tick', 'text-anchor': 'end' });
    ty.textContent = seconds(t);
    out.push(tx, ty, svgEl('line', { x1: x(t), y1: y0, x2: x(t), y2: PAD.top, class: 'grid' }), svgEl('line', { x1: x0, y1: y(t), x2: W - PAD.right, y2: y(t), class: 'grid' }));
  }
  const lx = svgEl('text', { x: W - PAD.right, y: H - 4, class: 'label', 'text-anchor': 'end' });
  lx.textContent = 'processing time (arrival) →';
  const ly = svgEl('text', { x: 4, y: PAD.top + 10, class: 'label' });
  ly.textContent = '↑ event time';
  // a click that arrived the moment it happened would sit on the diagonal; every delay puts it below
  const diag = svgEl('line', { x1: x(0), y1: y(0), x2: x(run.endsAt), y2: y(run.endsAt), class: 'diagonal' });
  out.push(lx, ly, diag);
  return out;
}

function draw(f: Frame): void {
  const parts: SVGElement[] = axes();
  // idle spells
  let idleSince: number | undefined;
  let spells = 0;
  for (const [t, idle] of f.statuses) {
    if (idle) idleSince = t;
    else if (idleSince !== undefined) {
      parts.push(svgEl('rect', { x: x(idleSince), y: PAD.top, width: x(t) - x(idleSince), height: H - PAD.top - PAD.bottom, class: 'idle' }));
      spells++;
      idleSince = undefined;
    }
  }
  if (idleSince !== undefined) {
    parts.push(svgEl('rect', { x: x(idleSince), y: PAD.top, width: x(f.now) - x(idleSince), height: H - PAD.top - PAD.bottom, class: 'idle' }));
    spells++;
  }
  // the watermark: event time the stream has declared complete, as it stood at each processing time
  let d = '';
  let covered = `M ${x(0)} ${y(0)}`;
  let level = 0;
  for (const [t, w] of f.watermarks) {
    const to = Number.isFinite(w) ? Math.max(0, w) : run.endsAt;
    d += d === '' ? `M ${x(t)} ${y(to)}` : ` H ${x(t)} V ${y(to)}`;
    covered += ` H ${x(t)} V ${y(to)}`;
    level = to;
  }
  if (d !== '') {
    d += ` H ${x(f.now)}`;
    covered += ` H ${x(f.now)} V ${y(0)} Z`;
    parts.push(svgEl('path', { d: covered, class: 'covered' }), svgEl('path', { d, id: 'watermark', class: 'watermark' }));
  }
  for (const r of f.records) {
    const c = svgEl('circle', { cx: x(r.click.arrival), cy: y(r.click.at), r: 5, class: `rec u${USERS.indexOf(r.click.user)}${r.late ? ' late' : ''}`, 'data-id': r.click.id, 'data-late': String(r.late) });
    const title = svgEl('title', {});
    title.textContent = `#${r.click.id} ${r.click.user}: happened at ${seconds(r.click.at)}, arrived at ${seconds(r.click.arrival)}${r.late ? ' — behind the watermark' : ''}`;
    c.append(title);
    parts.push(c);
  }
  parts.push(svgEl('line', { x1: x(f.now), y1: PAD.top, x2: x(f.now), y2: H - PAD.bottom, class: 'now' }));
  plot.replaceChildren(...parts);
  const late = f.records.filter((r) => r.late).length;
  Object.assign(plot.dataset, { records: String(f.records.length), late: String(late), watermarks: String(f.watermarks.length), idleSpells: String(spells), now: String(f.now) });
  stats.textContent = `processing time ${seconds(f.now)} · ${f.records.length} records, ${late} behind the watermark · watermark ${f.watermarks.length === 0 ? 'MIN' : Number.isFinite(level) && level < run.endsAt ? seconds(level) : 'MAX'}`;
}

const playback = player(
  () => {
    fitPlot();
    run = new EventTimeRun(params);
    showCode();
    return run;
  },
  draw,
  () => params.speed,
);
setUpControls(playback.restart);
window.addEventListener('resize', () => {
  fitPlot();
  playback.redraw();
});
