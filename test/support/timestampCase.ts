/**
 * The cases of test/timestamps.node.test.ts, run in a child process (`node --import tsx … <entry> <assigner> <ts> …`)
 * so that a case that hangs (the bug these cases guard against) is killed and fails its test instead of blocking the
 * run. Prints each outcome as one JSON line: the error (class, message) or the output.
 */
import { pipe, type OperatorFunction } from 'rxjs';
import {
  boundedOutOfOrderness,
  continuousEventTimeTrigger,
  count,
  MAX_WATERMARK,
  sessionWindows,
  slidingWindows,
  tumblingWindows,
  type StreamElement,
  type Trigger,
  type WindowAssigner,
} from '../../src/index.js';
import { aggregate, eventTime, keyBy, window } from '../../operators/index.js';
import { harness } from '../../testing/index.js';
import { fmt } from './windows.js';

const HOUR = 3_600_000;
const assigners: Record<string, () => WindowAssigner<unknown>> = {
  'tumbling 10 ms': () => tumblingWindows(10),
  'tumbling 100 ms': () => tumblingWindows(100),
  'tumbling 1 s': () => tumblingWindows(1_000),
  'tumbling 1 h': () => tumblingWindows(HOUR),
  'sliding 1 h / 10 min': () => slidingWindows(HOUR, HOUR / 6),
  'sliding 1 s / 100 ms': () => slidingWindows(1_000, 100),
  'session 1 s': () => sessionWindows(1_000),
  'tumbling 1 ms': () => tumblingWindows(1),
  'sliding 10 ms / 1 ms': () => slidingWindows(10, 1),
};

/** `eventTime` case: values stamped by eventTime, then keyed and windowed. */
function viaEventTime(a: WindowAssigner<unknown>): OperatorFunction<StreamElement<{ t: number }, undefined>, StreamElement<unknown, undefined>> {
  return pipe(
    eventTime((v: { t: number }) => v.t, boundedOutOfOrderness(0, { interval: 0 })),
    keyBy(() => 'k'),
    window(a),
    aggregate(count()),
  ) as unknown as OperatorFunction<StreamElement<{ t: number }, undefined>, StreamElement<unknown, undefined>>;
}

/** Drives `h` with `steps` until its operator fails: the harness takes no input after a failure (it throws then). */
function upToFailure(h: { readonly error: unknown }, steps: () => unknown): void {
  try {
    steps();
  } catch (e) {
    if (h.error === undefined) throw e;
  }
}

/** Two records of key "k" at `ts` and `ts + 6` through the window operator with assigner `a` (and `trigger`): the output. */
function windowed(a: WindowAssigner<unknown>, ts: number, trigger?: Trigger<unknown>): unknown {
  const h = harness(pipe(window(a, trigger === undefined ? {} : { trigger }), aggregate(count())) as OperatorFunction<StreamElement<number, string>, StreamElement<unknown, string>>);
  upToFailure(h, () => h.record(1, ts, 'k').watermark(ts + 5).record(1, ts + 6, 'k').watermark(ts + 999).complete());
  if (h.error !== undefined) throw h.error;
  return h.output().map(fmt);
}

/**
 * `fraction` cases: fractional sizes, slides, gaps and intervals near the end of the range of timestamps, where one
 * millisecond is the smallest step of a double (each hung, dropped the record or gave an empty window before they were
 * refused).
 */
const fractional: Record<string, (ts: number) => unknown> = {
  'sliding 3 / 0.5': (ts) => slidingWindows(3, 0.5).assign(1, ts, 0),
  'sliding 0.3 / 0.1': (ts) => slidingWindows(0.3, 0.1).assign(1, ts, 0),
  'tumbling 0.1': (ts) => tumblingWindows(0.1).assign(1, ts, 0),
  'tumbling 0.1 processing': (ts) => tumblingWindows(0.1, { time: 'processing' }).assign(1, 0, ts),
  'tumbling 10 offset 0.5': (ts) => tumblingWindows(10, { offset: 0.5 }).assign(1, ts, 0),
  'session 0.5': (ts) => sessionWindows(0.5).assign(1, ts, 0),
  'session dynamic 0.5': (ts) => windowed(sessionWindows(() => 0.5), ts),
  'continuous 0.5': (ts) => windowed(tumblingWindows(1_000), ts, continuousEventTimeTrigger(0.5)),
};

/** Runs one case; returns its outcome: the error (class, message) or the output lines. */
function run(entry: string, assignerName: string, ts: number): unknown {
  if (entry === 'fraction') {
    try {
      return { out: (fractional[assignerName] as (ts: number) => unknown)(ts) };
    } catch (e) {
      return { error: (e as Error).name, message: (e as Error).message };
    }
  }
  const a = (assigners[assignerName] as () => WindowAssigner<unknown>)();
  let error: unknown;
  let out: StreamElement<unknown, unknown>[];
  if (entry === 'eventTime') {
    const h = harness(viaEventTime(a));
    upToFailure(h, () => h.record({ t: ts }, 0, undefined).record({ t: ts + 1 }, 0, undefined).complete());
    error = h.error;
    out = h.output();
  } else if (entry === 'span') {
    // one key with elements at both ends of the range before any watermark: panes ts + 8.64e15 ms apart
    const h = harness(pipe(window(a), aggregate(count())) as OperatorFunction<StreamElement<number, string>, StreamElement<unknown, string>>);
    upToFailure(h, () => h.record(1, -8.64e15, 'k').record(2, ts, 'k').watermark(MAX_WATERMARK).complete());
    error = h.error;
    out = h.output();
  } else {
    // straight into the window operator: records made without record(), so only the window operator can refuse them
    const h = harness(pipe(window(a), aggregate(count())) as OperatorFunction<StreamElement<number, string>, StreamElement<unknown, string>>);
    upToFailure(h, () => {
      h.push({ kind: 'record', value: 1, timestamp: ts, key: 'k' }, { kind: 'record', value: 2, timestamp: ts + 1, key: 'k' });
      h.watermark(ts + 2 * HOUR).complete();
    });
    error = h.error;
    out = h.output();
  }
  return error === undefined ? { out: out.map(fmt) } : { error: (error as Error).name, message: (error as Error).message };
}

// argv: entry, then assigner name and timestamp pairs; one JSON line per case as it completes
const [, , entry, ...pairs] = process.argv;
for (let i = 0; i + 1 < pairs.length; i += 2) console.log(JSON.stringify(run(entry as string, pairs[i] as string, Number(pairs[i + 1]))));
