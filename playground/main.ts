/**
 * The playground page: runs {@link clickPipeline} on a timed, seeded clickstream in the browser and renders every
 * element as it flows.
 *
 * DOM contract (read by `test/playground.node.test.ts`):
 * - `#records li[data-kind=record]`: one per record, in arrival order, with `data-id`, `data-ts` (event time, ms),
 *   `data-key` and `data-value` (the value as JSON).
 * - `#watermarks li`: watermarks (`data-kind="watermark"`, `data-ts`; the end-of-stream one is `data-ts="Infinity"`,
 *   shown as "MAX ∞") and idleness changes (`data-kind="status"`, `data-idle="true" | "false"`), in order.
 * - `#status`: `data-state` is `running`, then `done` (or `error`); when done it carries `data-events`,
 *   `data-records`, `data-watermarks`, `data-statuses` and `data-last-watermark` (`"MAX"` after the final watermark).
 */
import { tap, type Subscription } from 'rxjs';
import { MAX_WATERMARK, MIN_WATERMARK, type StreamElement } from '../src/index.js';
import { clickPipeline, clickSource, generateClicks, START_TIME, STRATEGY, USERS, type PageView } from './pipeline.js';

function byId<E extends HTMLElement = HTMLElement>(id: string): E {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`playground: #${id} is missing from index.html`);
  return el as E;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className !== undefined) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Event time as wall-clock time of day (UTC), e.g. `12:00:03.120`. */
function clock(ts: number): string {
  return new Date(ts).toISOString().slice(11, 23);
}

function watermarkText(ts: number): string {
  if (ts === MAX_WATERMARK) return 'MAX ∞';
  if (ts === MIN_WATERMARK) return '—';
  return clock(ts);
}

function keyClass(key: string): string {
  const i = USERS.indexOf(key);
  return `key k${i < 0 ? 0 : i % 4}`;
}

const pipelineText = `clicks$.pipe(
  eventTime((c) => c.at, boundedOutOfOrderness(${STRATEGY.boundMs}, {
    interval: ${STRATEGY.intervalMs}, idleTimeout: ${STRATEGY.idleTimeoutMs} })),
  keyBy((c) => c.user),
  filter((c) => c.page !== '/health'),
  map((c) => ({ id: c.id, page: c.page })),
)`;

const ui = {
  pipeline: byId<HTMLPreElement>('pipeline'),
  rerun: byId<HTMLButtonElement>('rerun'),
  status: byId('status'),
  records: byId<HTMLOListElement>('records'),
  watermarks: byId<HTMLOListElement>('watermarks'),
  timeline: byId('timeline'),
  axisStart: byId('axis-start'),
  axisEnd: byId('axis-end'),
  statEvents: byId('stat-events'),
  statRecords: byId('stat-records'),
  statWatermark: byId('stat-watermark'),
};
ui.pipeline.textContent = pipelineText;

let running: Subscription | undefined;

function run(): void {
  running?.unsubscribe();
  const clicks = generateClicks();
  const lo = Math.min(START_TIME, ...clicks.map((c) => c.at));
  const hi = Math.max(...clicks.map((c) => c.at));
  const x = (ts: number): string => `${(((Math.min(Math.max(ts, lo), hi) - lo) / (hi - lo)) * 100).toFixed(2)}%`;

  ui.records.replaceChildren();
  ui.watermarks.replaceChildren();
  ui.timeline.replaceChildren(el('div', 'covered'));
  const covered = ui.timeline.firstElementChild as HTMLElement;
  ui.axisStart.textContent = clock(lo);
  ui.axisEnd.textContent = clock(hi);

  const status = ui.status;
  for (const name of Object.keys(status.dataset)) {
    if (name !== 'testid') delete status.dataset[name];
  }
  status.dataset['state'] = 'running';
  status.textContent = `running: ${clicks.length} clicks, one every ${clicks[0]?.delay ?? 0} ms…`;

  const started = performance.now();
  let events = 0;
  let records = 0;
  let watermarks = 0;
  let statuses = 0;
  let current = MIN_WATERMARK;
  let lastRecordTs = MIN_WATERMARK;

  const counted$ = clickSource(clicks).pipe(
    tap(() => {
      events++;
      ui.statEvents.textContent = String(events);
    }),
  );

  const onElement = (e: StreamElement<PageView, string>): void => {
    switch (e.kind) {
      case 'record': {
        records++;
        const late = e.timestamp <= current;
        const li = el('li');
        li.dataset['kind'] = 'record';
        li.dataset['id'] = String(e.value.id);
        li.dataset['ts'] = String(e.timestamp);
        li.dataset['key'] = e.key;
        li.dataset['value'] = JSON.stringify(e.value);
        li.append(
          el('span', 'id mono', `#${e.value.id}`),
          el('span', 'mono', clock(e.timestamp)),
          el('span', keyClass(e.key), e.key),
          el('span', 'mono', JSON.stringify(e.value)),
        );
        if (late) {
          li.dataset['late'] = 'true';
          li.append(el('span', 'badge', 'behind watermark'));
        } else if (e.timestamp < lastRecordTs) {
          li.append(el('span', 'badge ooo', 'out of order'));
        }
        lastRecordTs = Math.max(lastRecordTs, e.timestamp);
        ui.records.append(li);
        ui.records.scrollTop = ui.records.scrollHeight;
        const dot = el('div', `dot ${keyClass(e.key).split(' ')[1] ?? ''}${late ? ' late' : ''}`);
        dot.style.left = x(e.timestamp);
        dot.style.top = `${6 + (USERS.indexOf(e.key) % 4) * 9}px`;
        dot.title = `#${e.value.id} ${e.key} ${e.value.page} @ ${clock(e.timestamp)}`;
        ui.timeline.append(dot);
        ui.statRecords.textContent = String(records);
        break;
      }
      case 'watermark': {
        watermarks++;
        const previous = current;
        current = e.timestamp;
        const li = el('li', e.timestamp === MAX_WATERMARK ? 'max' : undefined);
        li.dataset['kind'] = 'watermark';
        li.dataset['ts'] = String(e.timestamp);
        li.append(el('span', 'mono', watermarkText(e.timestamp)));
        if (e.timestamp !== MAX_WATERMARK && previous !== MIN_WATERMARK) {
          li.append(el('span', 'delta mono', `+${e.timestamp - previous} ms`));
        }
        ui.watermarks.append(li);
        ui.watermarks.scrollTop = ui.watermarks.scrollHeight;
        covered.style.width = e.timestamp === MAX_WATERMARK ? '100%' : x(e.timestamp);
        ui.statWatermark.textContent = watermarkText(e.timestamp);
        break;
      }
      case 'status': {
        statuses++;
        const li = el('li', undefined, e.idle ? `idle — no clicks for > ${STRATEGY.idleTimeoutMs} ms` : 'active again');
        li.dataset['kind'] = 'status';
        li.dataset['idle'] = String(e.idle);
        ui.watermarks.append(li);
        break;
      }
      case 'barrier':
        break;
    }
  };

  running = clickPipeline(counted$).subscribe({
    next: onElement,
    error: (err: unknown) => {
      status.dataset['state'] = 'error';
      status.textContent = `error: ${err instanceof Error ? err.message : String(err)}`;
    },
    complete: () => {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      Object.assign(status.dataset, {
        state: 'done',
        events: String(events),
        records: String(records),
        watermarks: String(watermarks),
        statuses: String(statuses),
        lastWatermark: current === MAX_WATERMARK ? 'MAX' : String(current),
      });
      status.textContent =
        `done in ${seconds} s: ${events} events → ${records} records (${events - records} /health pings filtered), ` +
        `${watermarks} watermarks ending at ${watermarkText(current)}, ${statuses} status changes`;
    },
  });
}

ui.rerun.addEventListener('click', run);
run();
