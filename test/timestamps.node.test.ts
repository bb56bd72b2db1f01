import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Runs cases of test/support/timestampCase.ts in a child process, one outcome per case; once the child has run for
 * `guardMs` it is killed and the cases it has not finished are reported as 'hung' (the guard turns a regression into
 * a failure instead of a hung test run; it times nothing).
 */
function runCases(entry: 'eventTime' | 'window' | 'span' | 'fraction', cases: readonly (readonly [string, number, ...unknown[]])[], guardMs = 60_000): Promise<unknown[]> {
  const args = cases.flatMap(([assigner, ts]) => [assigner, String(ts)]);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/timestampCase.ts', entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), guardMs);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (code !== 0 && signal !== 'SIGKILL') {
        reject(new Error(`the cases exited with ${code}: ${err}`));
        return;
      }
      const done = out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
      resolve(cases.map((_, i) => (i < done.length ? done[i] : 'hung')));
    });
  });
}

const range = 'Timestamps are milliseconds since the epoch within ±8640000000000000 (-8640000000000000 … 8640000000000000); convert or drop such values before they enter the stream.';
const outside = 'is outside the range of timestamps (±8.64e15 ms, the range of Date).';
// inside operators (assigners, emit, timers) the bound leaves room for window ends past MAX_TIMESTAMP
const opRange = 'Timestamps are milliseconds since the epoch within ±8907199254740991 (±MAX_TIMESTAMP and room for window ends); convert or drop such values before they enter the stream.';
const opOutside = 'is outside the range in which tidewater computes exactly.';

// the hangs and silent drops of issue 12 item 4: each now fails at once with InvalidTimestampError
const cases: [assigner: string, ts: number, hint: string][] = [
  ['tumbling 10 ms', 1.7e18, 'Nanoseconds? Divide by 1e6 (a nanosecond epoch of today is about 1.7e18). '],
  ['tumbling 100 ms', 1.7e18, 'Nanoseconds? Divide by 1e6 (a nanosecond epoch of today is about 1.7e18). '],
  ['tumbling 1 s', 1e19, 'Nanoseconds? Divide by 1e6 (a nanosecond epoch of today is about 1.7e18). '],
  ['tumbling 1 h', 1e300, ''],
  ['sliding 1 h / 10 min', 1e300, ''],
  ['sliding 1 s / 100 ms', 1e19, 'Nanoseconds? Divide by 1e6 (a nanosecond epoch of today is about 1.7e18). '],
  ['session 1 s', 1e19, 'Nanoseconds? Divide by 1e6 (a nanosecond epoch of today is about 1.7e18). '],
  ['tumbling 1 s', -1.7e16, 'Microseconds? Divide by 1e3 (nanoseconds: by 1e6). '],
];

describe('timestamps beyond ±MAX_TIMESTAMP fail fast where they enter (issue 12 item 4)', () => {
  let viaEventTime: unknown[] = [];
  let intoWindow: unknown[] = [];
  beforeAll(async () => {
    [viaEventTime, intoWindow] = await Promise.all([runCases('eventTime', cases), runCases('window', cases)]);
  }, 90_000);

  it.each(cases.map((c, i) => [...c, i] as const))('eventTime into %s at %d: InvalidTimestampError naming eventTime, the value and the unit', (_assigner, ts, hint, i) => {
    const shown = String(ts);
    expect(viaEventTime[i]).toStrictEqual({
      error: 'InvalidTimestampError',
      message: `eventTime: timestamp ${shown} of {"t":${JSON.stringify(ts)}} ${outside} ${hint}${range}`,
    });
  });

  it.each(cases.map((c, i) => [...c, i] as const))('records made by hand straight into the window operator, %s at %d: the assigner refuses them', (assigner, ts, hint, i) => {
    const op = assigner.split(' ')[0] as string;
    expect(intoWindow[i]).toStrictEqual({
      error: 'InvalidTimestampError',
      message: `${op}Windows: timestamp ${String(ts)} of 1 ${opOutside} ${hint}${opRange}`,
    });
  });

  it('one key with elements at both ends of the range (slicing operator): every window exact — slices are kept per slice, not in a per-key array spanning them', async () => {
    const [tumbling, sliding, near] = await runCases('span', [
      ['tumbling 1 ms', 8.64e15],
      ['sliding 10 ms / 1 ms', 8.64e15],
      ['tumbling 1 s', -8.64e15 + 3_600_000_000],
    ]);
    const line = (start: number, size: number) => `k [${start},${start + size}) 1 @${start + size - 1}`;
    expect(tumbling).toStrictEqual({ out: [line(-8.64e15, 1), line(8.64e15, 1), 'W MAX'] });
    // each element is in ten windows of 10 ms; the starts are exact integers (below 2^53)
    const tens = (t: number) => Array.from({ length: 10 }, (_, i) => line(t - 9 + i, 10));
    expect(sliding).toStrictEqual({ out: [...tens(-8.64e15), ...tens(8.64e15), 'W MAX'] });
    // a thousand hours apart in 1 s slices: both windows, exact
    expect(near).toStrictEqual({
      out: ['k [-8640000000000000,-8639999999999000) 1 @-8639999999999001', 'k [-8639996400000000,-8639996399999000) 1 @-8639996399999001', 'W MAX'],
    });
  }, 120_000);
});

describe('fractional window sizes near the end of the range are refused, not hung or dropped (issue 12 item 4)', () => {
  const whole = (noun: string, v: number, instead: number) =>
    `is not a whole number of milliseconds: ${noun} are whole milliseconds, as timestamps are (near the ends of their range a fraction of a millisecond rounds away): use ${instead} instead of ${v}.`;
  const sizes = 'window sizes, slides and gaps';
  // (the cases that hung come last, so that on a hang the others still report) before: a hang (the window loop's `st -= slide` and the trigger's `t + interval` did not move), no window (the
  // record dropped) or a window whose start equals its end
  const cases: [name: string, ts: number, error: string, message: string][] = [
    ['sliding 0.3 / 0.1', 8e15, 'ConfigurationError', `slidingWindows: size 0.3 ${whole(sizes, 0.3, 1)}`],
    ['tumbling 0.1', 8e15, 'ConfigurationError', `tumblingWindows: size 0.1 ${whole(sizes, 0.1, 1)}`],
    ['tumbling 0.1 processing', 8e15, 'ConfigurationError', `tumblingWindows: size 0.1 ${whole(sizes, 0.1, 1)}`],
    ['tumbling 10 offset 0.5', 8e15, 'ConfigurationError', `tumblingWindows: offset 0.5 ${whole('window offsets', 0.5, 0)}`],
    ['session 0.5', 8e15, 'ConfigurationError', `sessionWindows: gap 0.5 ${whole(sizes, 0.5, 1)}`],
    ['session dynamic 0.5', 8e15, 'ConfigurationError', `sessionWindows: the dynamic gap 0.5 of the element 1 at 8000000000000000 ${whole(sizes, 0.5, 1)}`],
    ['sliding 3 / 0.5', 8e15 + 1, 'ConfigurationError', `slidingWindows: slide 0.5 ${whole(sizes, 0.5, 1)}`],
    ['continuous 0.5', 8e15 + 1, 'ConfigurationError', `continuousEventTimeTrigger: interval 0.5 ${whole('trigger intervals', 0.5, 1)}`],
  ];
  let outcomes: unknown[] = [];
  beforeAll(async () => {
    // a short guard: every case fails at once, at construction or with the first element
    outcomes = await runCases('fraction', cases, 15_000);
  }, 30_000);

  it.each(cases.map((c, i) => [...c, i] as const))('%s at %d: %s', (_name, _ts, error, message, i) => {
    expect(outcomes[i]).toStrictEqual({ error, message });
  });
});

