import type { OperatorFunction, Subject } from 'rxjs';
import { MAX_WATERMARK, type StreamElement, type StreamRecord, type WindowResult } from '../../src/index.js';
import { harness, type Harness, type HarnessCheckpoint } from '../../testing/index.js';

/** (key, value) tuples, as Flink's WindowOperatorTest uses. */
export type E = [string, number];
export const sumE = (a: E, b: E): E => [a[0], a[1] + b[1]];

/** One line per element: `key [start,end) value @ts`, `W ts`, `idle`, `barrier n`. */
export function fmt(e: StreamElement<unknown, unknown>): string {
  switch (e.kind) {
    case 'record': {
      const v = e.value as WindowResult<unknown, unknown>;
      const ts = e.timestamp === MAX_WATERMARK ? 'MAX' : String(e.timestamp);
      if (typeof v === 'object' && v !== null && 'window' in v) {
        const { start, end } = v.window;
        const win = start === -Infinity ? 'global' : `[${start},${end})`;
        return `${String(v.key)} ${win} ${JSON.stringify(v.value)} @${ts}`;
      }
      return `${JSON.stringify(e.value)} @${ts}`;
    }
    case 'watermark':
      return `W ${e.timestamp === MAX_WATERMARK ? 'MAX' : e.timestamp}`;
    case 'status':
      return e.idle ? 'idle' : 'active';
    case 'barrier':
      return `barrier ${e.checkpointId}`;
    case 'side':
      return `side ${e.tag} ${JSON.stringify(e.value)} @${e.timestamp}`;
  }
}

/** Steps: [key, value, timestamp] records, numbers are watermarks. */
export type Step = [string, number, number] | number;

export function feed<R>(h: Harness<E, string, R>, steps: readonly Step[]): Harness<E, string, R> {
  for (const s of steps) {
    if (typeof s === 'number') h.watermark(s);
    else h.record([s[0], s[1]], s[2], s[0]);
  }
  return h;
}

export function windowed<R>(op: OperatorFunction<StreamElement<E, string>, StreamElement<R, string>>, steps: readonly Step[]): Harness<E, string, R> {
  return feed(harness(op), steps);
}

export const lines = (h: Harness<E, string, unknown>): string[] => h.takeOutput().map(fmt);

/**
 * Sorts each run of records between two watermarks by timestamp, then text: the canonical form for comparing outputs
 * where only the order of different keys at one timestamp may differ (Flink leaves it unspecified).
 */
export function sortRuns(out: readonly string[]): string[] {
  const res: string[] = [];
  let run: string[] = [];
  const ts = (l: string): number => Number(l.slice(l.lastIndexOf('@') + 1).replace('MAX', 'Infinity'));
  const flush = () => {
    res.push(...run.sort((a, b) => ts(a) - ts(b) || (a < b ? -1 : a > b ? 1 : 0)));
    run = [];
  };
  for (const l of out) {
    if (l.startsWith('W ')) {
      flush();
      res.push(l);
    } else run.push(l);
  }
  flush();
  return res;
}

/** A window operator over {@link E} records (string keys), for {@link runWithRestore}. */
export type WindowOp = OperatorFunction<StreamElement<E, string>, StreamElement<WindowResult<string, unknown>, string>>;
/** The late-data side output of such an operator. */
export type LateSide = Subject<StreamRecord<E, string>>;

/**
 * Output (in order), late records and final state entries of a run that checkpoints after each cut (a full
 * snapshot, then deltas) and restores from the last checkpoint.
 */
export function runWithRestore(op: () => WindowOp, late: LateSide, input: readonly Step[], cuts: readonly number[]): { out: string[]; late: string[]; entries: number } {
  let h = harness(op());
  const out: string[] = [];
  const lates: string[] = [];
  const drain = () => {
    out.push(...h.output().map(fmt));
    lates.push(...h.sideOutput(late).map((r) => `${r.key} ${r.value[1]}@${r.timestamp}`));
  };
  let at = 0;
  let cp: HarnessCheckpoint | undefined;
  for (const c of cuts) {
    feed(h, input.slice(at, c));
    at = c;
    cp = h.snapshot();
  }
  if (cp !== undefined) {
    drain();
    h = h.restore(cp);
  }
  feed(h, input.slice(at));
  h.complete();
  drain();
  return { out, late: lates, entries: h.operators[0]?.stateEntries ?? NaN };
}
