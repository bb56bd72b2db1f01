// StatusWatermarkValve against the vectors of docs/SEMANTICS.md §2.4.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { active, ConfigurationError, idle, MAX_WATERMARK, MIN_WATERMARK, StatusWatermarkValve, watermark, type StreamStatus, type Watermark } from '../src/index.js';

type Step =
  | readonly ['wm', number, number, readonly (Watermark | StreamStatus)[]]
  | readonly ['idle' | 'active' | 'end', number, readonly (Watermark | StreamStatus)[]];

/** Runs the steps on a valve of `n` inputs; returns each step's output (copied: the valve reuses its array). */
function run(n: number, steps: readonly Step[]): { outputs: (Watermark | StreamStatus)[][]; expected: (readonly (Watermark | StreamStatus)[])[] } {
  const valve = new StatusWatermarkValve(n);
  const outputs = steps.map((s) => {
    switch (s[0]) {
      case 'wm':
        return [...valve.inputWatermark(s[1], s[2])];
      case 'idle':
        return [...valve.inputStatus(s[1], true)];
      case 'active':
        return [...valve.inputStatus(s[1], false)];
      case 'end':
        return [...valve.inputEnded(s[1])];
    }
  });
  return { outputs, expected: steps.map((s) => s[s.length - 1] as readonly (Watermark | StreamStatus)[]) };
}

const w = watermark;
const cases: [string, number, Step[]][] = [
  ['the minimum over the inputs, emitted only when it increases', 2, [
    ['wm', 0, 5, []], ['wm', 1, 3, [w(3)]], ['wm', 1, 4, [w(4)]], ['wm', 1, 7, [w(5)]], ['wm', 0, 6, [w(6)]], ['wm', 0, 8, [w(7)]],
  ]],
  ['an input never goes back: a watermark not above its previous one is ignored', 2, [
    ['wm', 0, 5, []], ['wm', 1, 5, [w(5)]], ['wm', 0, 4, []], ['wm', 0, 5, []], ['wm', 1, 9, []], ['wm', 0, 6, [w(6)]],
  ]],
  ['an idle input holding the minimum is left out: the minimum is recomputed', 2, [
    ['wm', 0, 5, []], ['wm', 1, 3, [w(3)]], ['idle', 1, [w(5)]], ['wm', 1, 10, []], ['wm', 0, 6, [w(6)]],
  ]],
  ['an idle input below the minimum changes nothing until the next watermark', 3, [
    ['wm', 0, 3, []], ['wm', 1, 5, []], ['wm', 2, 4, [w(3)]], ['idle', 1, []], ['wm', 0, 6, [w(4)]], ['wm', 2, 9, [w(6)]],
  ]],
  ['all idle: the maximum is flushed when it advances the output, then the output turns idle', 2, [
    ['wm', 0, 3, []], ['wm', 1, 8, [w(3)]], ['idle', 1, []], ['idle', 0, [w(8), idle()]],
  ]],
  ['all idle at the output watermark: only the status', 2, [
    ['wm', 0, 3, []], ['wm', 1, 8, [w(3)]], ['idle', 0, [w(8)]], ['idle', 1, [idle()]],
  ]],
  ['while idle, watermarks are ignored and a repeated status changes nothing', 2, [
    ['idle', 0, []], ['idle', 0, []], ['idle', 1, [idle()]], ['wm', 0, 20, []], ['idle', 1, []],
  ]],
  ['an input turning active again re-joins only once it caught up, neither holding nor pulling back the output', 2, [
    ['wm', 0, 3, []], ['wm', 1, 8, [w(3)]], ['idle', 1, []], ['idle', 0, [w(8), idle()]],
    ['active', 0, [active()]], // input 0 is at 3 < 8: unaligned
    ['active', 1, []], // input 1 is at 8 ≥ 8: aligned; the output is already active
    ['wm', 1, 12, [w(12)]], // input 0 does not hold the output back
    ['wm', 0, 10, []], // nor pulls it back
    ['wm', 0, 13, []], // caught up: aligned again, min(13, 12) = 12
    ['wm', 1, 20, [w(13)]],
    ['active', 1, []],
  ]],
  ['an ended input counts as MAX_WATERMARK; once all ended the output is at MAX', 2, [
    ['wm', 0, 3, []], ['wm', 1, 8, [w(3)]], ['end', 0, [w(8)]], ['end', 1, [w(MAX_WATERMARK)]], ['end', 1, []],
  ]],
  ['an idle input that ends turns active first, so an idle output turns active and carries the minimum', 2, [
    ['wm', 0, 3, []], ['idle', 0, []], ['idle', 1, [w(3), idle()]], ['end', 0, [active(), w(MAX_WATERMARK)]], ['wm', 1, 5, []],
  ]],
  ['one input: its watermarks pass when they increase; idle and active pass as they change', 1, [
    ['wm', 0, 1, [w(1)]], ['wm', 0, 1, []], ['idle', 0, [idle()]], ['active', 0, [active()]], ['wm', 0, 2, [w(2)]],
  ]],
];

describe('StatusWatermarkValve (docs/SEMANTICS.md §2.4)', () => {
  it.each(cases)('%s', (_name, n, steps) => {
    const { outputs, expected } = run(n, steps);
    expect(outputs).toStrictEqual(expected);
  });

  it('reports its output watermark and status', () => {
    const valve = new StatusWatermarkValve(2);
    valve.inputWatermark(0, 4);
    valve.inputWatermark(1, 6);
    valve.inputStatus(0, true);
    expect([valve.outputWatermark, valve.outputIdle]).toStrictEqual([6, false]);
    valve.inputStatus(1, true);
    expect([valve.outputWatermark, valve.outputIdle]).toStrictEqual([6, true]);
  });

  it('refuses a number of inputs that is not an integer ≥ 1, and an input that does not exist', () => {
    expect(() => new StatusWatermarkValve(0)).toThrow(ConfigurationError);
    expect(() => new StatusWatermarkValve(1.5)).toThrow('StatusWatermarkValve: the number of inputs must be an integer ≥ 1, got 1.5.');
    const valve = new StatusWatermarkValve(2);
    expect(() => valve.inputWatermark(2, 0)).toThrow('StatusWatermarkValve: input 2 does not exist; inputs are 0 … 1.');
    expect(() => valve.inputStatus(-1, true)).toThrow(ConfigurationError);
  });

  it('restored, idle inputs come back active (their sources restart active): one behind rejoins once caught up, as after active(); an all-idle valve is not frozen', () => {
    const wm = (es: readonly (Watermark | StreamStatus)[]) => es.map((e) => (e.kind === 'watermark' ? e.timestamp : e.idle ? 'idle' : 'active'));
    const v = new StatusWatermarkValve(2);
    v.inputWatermark(0, 999);
    v.inputWatermark(1, 999);
    v.inputStatus(1, true);
    v.inputWatermark(0, 1999);
    // uninterrupted: input 1 turns active (behind the output: not in the minimum yet), then catches up
    const restored = new StatusWatermarkValve(2);
    restored.restore(v.state());
    expect(wm(v.inputStatus(1, false))).toStrictEqual([]);
    for (const valve of [v, restored]) {
      expect(wm(valve.inputWatermark(1, 1500))).toStrictEqual([]);
      expect(wm(valve.inputWatermark(1, 2999))).toStrictEqual([]);
      expect(wm(valve.inputWatermark(0, 4999))).toStrictEqual([2999]);
    }
    // every input idle at the checkpoint: restored, watermarks count again
    const all = new StatusWatermarkValve(2);
    all.inputWatermark(0, 10);
    all.inputWatermark(1, 20);
    expect(wm(all.inputStatus(0, true))).toStrictEqual([20]);
    expect(wm(all.inputStatus(1, true))).toStrictEqual(['idle']);
    const back = new StatusWatermarkValve(2);
    back.restore(all.state());
    expect([back.outputIdle, wm(back.inputWatermark(0, 500)), wm(back.inputWatermark(1, 600))]).toStrictEqual([false, [], [500]]);
  });
});

/**
 * The rules of docs/SEMANTICS.md §2.4 written plainly, as an oracle: every change rescans every input for the minimum
 * (the valve counts the inputs holding its output back instead, and rescans only when the last of them moved).
 */
class ScanningValve {
  wm: number[];
  idle: boolean[];
  aligned: boolean[];
  last = MIN_WATERMARK;
  lastIdle = false;
  constructor(readonly n: number) {
    this.wm = new Array<number>(n).fill(MIN_WATERMARK);
    this.idle = new Array<boolean>(n).fill(false);
    this.aligned = new Array<boolean>(n).fill(true);
  }
  private newMin(out: (Watermark | StreamStatus)[]): (Watermark | StreamStatus)[] {
    const ws = this.wm.filter((_, k) => this.aligned[k]);
    const min = Math.min(...ws);
    if (ws.length > 0 && min > this.last) out.push(watermark((this.last = min)));
    return out;
  }
  inputWatermark(i: number, ts: number): (Watermark | StreamStatus)[] {
    if (this.lastIdle || this.idle[i] || !(ts > (this.wm[i] as number))) return [];
    this.wm[i] = ts;
    if (!this.aligned[i] && ts >= this.last) this.aligned[i] = true;
    return this.newMin([]);
  }
  inputStatus(i: number, isIdle: boolean): (Watermark | StreamStatus)[] {
    const out: (Watermark | StreamStatus)[] = [];
    if (isIdle && !this.idle[i]) {
      this.idle[i] = true;
      this.aligned[i] = false;
      if (this.idle.every((x) => x)) {
        const max = Math.max(...this.wm);
        if (max > this.last) out.push(watermark((this.last = max)));
        this.lastIdle = true;
        out.push(idle());
      } else if (this.wm[i] === this.last) this.newMin(out);
    } else if (!isIdle && this.idle[i]) {
      this.idle[i] = false;
      if ((this.wm[i] as number) >= this.last) this.aligned[i] = true;
      if (this.lastIdle) {
        this.lastIdle = false;
        out.push(active());
      }
    }
    return out;
  }
  inputEnded(i: number): (Watermark | StreamStatus)[] {
    const status = this.idle[i] ? this.inputStatus(i, false) : [];
    return [...status, ...this.inputWatermark(i, MAX_WATERMARK)];
  }
  /** As `StatusWatermarkValve.restore`: every input and the output active; an idle input aligned once caught up. */
  restore(state: readonly number[]): void {
    const n = this.n;
    this.last = state[0] as number;
    this.lastIdle = false;
    for (let k = 0; k < n; k++) {
      this.wm[k] = state[2 + k] as number;
      const wasIdle = state[2 + n + k] === 1;
      this.idle[k] = false;
      this.aligned[k] = wasIdle ? (this.wm[k] as number) >= this.last : state[2 + 2 * n + k] === 1;
    }
  }
}

describe('property: the valve emits what rescanning every input on every change emits', () => {
  type Op = readonly ['wm', number, number] | readonly ['idle' | 'active' | 'end', number] | readonly ['restore'];
  const ops = (n: number, maxLength: number): fc.Arbitrary<Op[]> =>
    fc.array(
      fc.oneof(
        { weight: 8, arbitrary: fc.tuple(fc.constant('wm' as const), fc.nat(n - 1), fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(MAX_WATERMARK))) },
        { weight: 2, arbitrary: fc.tuple(fc.constantFrom('idle' as const, 'active' as const), fc.nat(n - 1)) },
        { weight: 1, arbitrary: fc.tuple(fc.constant('end' as const), fc.nat(n - 1)) },
        { weight: 1, arbitrary: fc.constant(['restore'] as const) },
      ),
      { maxLength },
    );

  for (const [min, max, length, runs] of [
    [1, 6, 60, 2_000],
    // (the valve keeps its aligned inputs in a heap: inputs enough for a few levels, steps enough to move them)
    [7, 40, 400, 300],
  ] as const) {
  it(`for random watermarks, statuses, ends and restores over ${min} to ${max} inputs (many inputs at one watermark: broadcasts)`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min, max }).chain((n) => fc.tuple(fc.constant(n), ops(n, length))),
        ([n, steps]) => {
          let valve = new StatusWatermarkValve(n);
          const model = new ScanningValve(n);
          for (const step of steps) {
            let got: (Watermark | StreamStatus)[];
            let want: (Watermark | StreamStatus)[];
            if (step[0] === 'restore') {
              const state = valve.state();
              valve = new StatusWatermarkValve(n);
              valve.restore(state);
              model.restore(state);
              continue;
            }
            if (step[0] === 'wm') {
              got = [...valve.inputWatermark(step[1], step[2])];
              want = model.inputWatermark(step[1], step[2]);
            } else if (step[0] === 'end') {
              got = [...valve.inputEnded(step[1])];
              want = model.inputEnded(step[1]);
            } else {
              got = [...valve.inputStatus(step[1], step[0] === 'idle')];
              want = model.inputStatus(step[1], step[0] === 'idle');
            }
            expect(got).toStrictEqual(want);
            expect([valve.outputWatermark, valve.outputIdle]).toStrictEqual([model.last, model.lastIdle]);
          }
        },
      ),
      { numRuns: runs },
    );
  });
  }

  it('one watermark broadcast to many inputs: emitted once, when the last input has it', () => {
    const valve = new StatusWatermarkValve(64);
    for (let t = 1; t <= 3; t++) {
      for (let k = 0; k < 63; k++) expect(valve.inputWatermark(k, t)).toStrictEqual([]);
      expect(valve.inputWatermark(63, t)).toStrictEqual([watermark(t)]);
    }
  });
});
