/**
 * The "keyed state and timers" scene (playground/state.html): the state a `process` function keeps per user — a click
 * count and the deadline of its event-time timer — as a table that changes as clicks arrive, each timer firing when the
 * watermark passes it (the user's count emitted, their state cleared). Settings (the timeout, the bound, the speed)
 * live in the URL.
 *
 * DOM contract (test/playground.scenes.node.test.ts): `#scene[data-state]`; `#state-table tr[data-user]` per user
 * with `data-count` and `data-timers` (empty when the user has no state); `#closed li` per emitted session;
 * `#state-table` carries `data-watermark` and `data-now` (processing time).
 */
import './scene.css';
import { stateParamsFromQuery, stateParamsToQuery, STATE_LIMITS, StateRun, type StateFrame, type StateParams } from './stateModel.js';
import { byId, ms, player, rangeControl } from './player.js';

let params: StateParams = stateParamsFromQuery(location.search);
const table = byId<HTMLTableElement>('state-table');
const closedList = byId<HTMLOListElement>('closed');
const stats = byId('stats');
const code = byId('code');
const secs = (t: number | undefined): string => (t === undefined ? '—' : `${(t / 1000).toFixed(2)} s`);
let previous = new Map<string, string>();

function showCode(): void {
  code.textContent = `clicks$.pipe(
  eventTime((c) => c.at, boundedOutOfOrderness(${params.bound}, { interval: 0 })),
  keyBy((c) => c.user),
  process({
    name: 'sessions',
    state: { count: valueState(), deadline: valueState() },
    onElement(c, ctx) {
      ctx.state.count.set((ctx.state.count.get() ?? 0) + 1);
      const old = ctx.state.deadline.get();
      if (old !== undefined) ctx.timers.deleteEventTime(old);
      ctx.state.deadline.set(ctx.timestamp + ${params.timeout});
      ctx.timers.registerEventTime(ctx.timestamp + ${params.timeout});
    },
    onTimer(ts, ctx) {
      ctx.emit({ user: ctx.key, count: ctx.state.count.get() });
      ctx.state.count.clear();
      ctx.state.deadline.clear();
    },
  }),
)`;
}

function draw(f: StateFrame): void {
  const body = table.tBodies[0] as HTMLTableSectionElement;
  const seen = new Map<string, string>();
  body.replaceChildren(
    ...f.rows.map((r) => {
      const tr = document.createElement('tr');
      const sig = `${r.count}|${r.deadline}|${r.timers.join(',')}`;
      seen.set(r.user, sig);
      Object.assign(tr.dataset, { user: r.user, count: r.count === undefined ? '' : String(r.count), timers: r.timers.join(',') });
      if (previous.has(r.user) && previous.get(r.user) !== sig) tr.className = 'changed';
      if (r.count === undefined) tr.classList.add('empty');
      for (const text of [r.user, r.count === undefined ? '—' : String(r.count), secs(r.deadline), r.timers.length === 0 ? '—' : r.timers.map((t) => secs(t)).join(', ')]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  previous = seen;
  table.dataset['watermark'] = String(f.watermark);
  table.dataset['now'] = String(f.now);
  closedList.replaceChildren(
    ...f.closed.map((c) => {
      const li = document.createElement('li');
      li.textContent = `${c.user}: ${c.count} click${c.count === 1 ? '' : 's'} — timer ${secs(c.timer)} fired at ${(c.at / 1000).toFixed(1)} s`;
      return li;
    }),
  );
  stats.textContent = `processing time ${(f.now / 1000).toFixed(1)} s · watermark ${Number.isFinite(f.watermark) ? secs(f.watermark) : f.watermark > 0 ? 'MAX' : 'MIN'} · ${f.closed.length} sessions closed`;
}

const playback = player(
  () => {
    showCode();
    previous = new Map();
    return new StateRun(params);
  },
  draw,
  () => params.speed,
);
for (const k of ['timeout', 'bound', 'speed'] as const) {
  rangeControl(k, STATE_LIMITS[k], params[k], k === 'speed' ? (v) => `${v}×` : ms, (v) => {
    params = { ...params, [k]: v };
    history.replaceState(null, '', `?${stateParamsToQuery(params)}`);
    if (k !== 'speed') playback.restart();
  });
}
