// The hand-driven clock of tidewater/testing (ManualScheduler, the harness's processing time): only finite times.
import { describe, expect, it } from 'vitest';
import { ConfigurationError, valueState } from '../src/index.js';
import { pipe } from 'rxjs';
import { map, process } from '../operators/index.js';
import { harness, ManualScheduler, twoInputHarness } from '../testing/index.js';
import { expectRefused } from './support/refused.js';

describe('ManualScheduler and the harness clock', () => {
  it('refuse a time that is not a finite number, and keep their time (a NaN clock ran due actions at time NaN)', () => {
    const clock = new ManualScheduler(100);
    const ran: number[] = [];
    clock.schedule(() => void ran.push(clock.now()), 50);
    for (const t of [NaN, Infinity, -Infinity]) {
      expect(() => clock.advanceTo(t)).toThrow(ConfigurationError);
      expect(() => clock.advanceTo(t)).toThrow(`ManualScheduler: cannot move the clock to ${String(t)}: give a finite number of ms, at or after its time 100.`);
      expect(() => clock.advanceBy(t)).toThrow(`ManualScheduler: cannot advance the clock by ${String(t)}: give a finite number of ms, ≥ 0.`);
    }
    expect(() => new ManualScheduler(NaN)).toThrow('ManualScheduler: the start time NaN must be a finite number of ms.');
    expect([clock.now(), ran]).toStrictEqual([100, []]);
    clock.advanceTo(200);
    expect([clock.now(), ran]).toStrictEqual([200, [150]]);
  });

  it('harness.setProcessingTime names the harness', () => {
    const h = harness(
      process<number, string, string, { n: ReturnType<typeof valueState<number>> }>({
        name: 'timer',
        state: { n: valueState<number>() },
        onElement(_v, ctx) {
          ctx.timers.registerProcessingTime(100);
        },
        onTimer(ts, ctx) {
          ctx.emit(`fired ${ts} at ${ctx.currentProcessingTime}`);
        },
      }),
    );
    h.record(1, 0, 'k');
    expect(() => h.setProcessingTime(NaN)).toThrow("harness: setProcessingTime(NaN): the processing time must be a finite number of ms, at or after the clock's 0.");
    h.setProcessingTime(200);
    expect(h.records().map((r) => r.value)).toStrictEqual(['fired 100 at 100']);
    expect(() => h.setProcessingTime(50)).toThrow("harness: setProcessingTime(50): the processing time must be a finite number of ms, at or after the clock's 200.");
    expect(() => h.setProcessingTime(50)).toThrow(ConfigurationError);
    expect(() => harness(pipe(map((x: number) => x)), { processingTime: NaN })).toThrow('harness({ processingTime: NaN }): the start time must be a finite number of ms (default 0).');
  });
});

describe('the harness checks what runJob checks', () => {
  const counter = (name: string) =>
    process<number, string, string, { n: ReturnType<typeof valueState<number>> }>({
      name,
      state: { n: valueState<number>() },
      onElement(v, ctx) {
        const n = (ctx.state.n.get() ?? 0) + v;
        ctx.state.n.set(n);
        ctx.emit(`${name}:${n}`);
      },
    });

  it('two stateful operators of one name are refused (their state would mix in its checkpoints)', () => {
    expect(() => harness(pipe(counter('c'), map((s: string) => s.length), counter('c') as never) as never)).toThrow(
      "harness: two stateful operators are named 'c'; give each a unique name (their state would mix in checkpoints).",
    );
  });

  it('a checkpoint holding state of an operator the pipeline lacks is refused, unless allowNonRestoredState', () => {
    const h = harness(counter('before'));
    h.record(1, 0, 'k');
    const checkpoint = h.snapshot();
    expect(() => harness(counter('after'), { restore: checkpoint })).toThrow(
      "harness: the checkpoint holds state of operator(s) 'before' that the pipeline lacks (it has: 'after'). Name the operators as before (name: '…'), or pass allowNonRestoredState: true to drop that state.",
    );
    const dropped = harness(counter('after'), { restore: checkpoint, allowNonRestoredState: true });
    expect(dropped.record(1, 1, 'k').records().map((r) => r.value)).toStrictEqual(['after:1']);
    // (its own checkpoints hold the pipeline's operators only, as a job's: they restore as they are)
    expect([...dropped.snapshot().operators.keys()]).toStrictEqual(['after']);
    expect(dropped.restore(dropped.snapshot()).record(2, 2, 'k').records().map((r) => r.value)).toStrictEqual(['after:3']);
  });

  it('a bad key given to state() or timers() is refused naming the call, not the operator', () => {
    const h = harness(counter('c'));
    expect(() => h.state({} as never, 'n')).toThrow('harness.state({}, …): not a key; a key is a string, a number (not NaN), a boolean, a bigint, or an array of them — the key the records were given.');
    expect(() => h.timers(undefined as never)).toThrow('harness.timers(undefined, …): not a key; a key is a string, a number (not NaN), a boolean, a bigint, or an array of them — the key the records were given.');
  });

  it('an operator that is none, a state or operator name it does not have: a ConfigurationError naming what there is', () => {
    expectRefused(() => harness(5 as never), 'harness: 5 is not an operator (a function of a stream); give harness(process({ … })), or a pipe(…) of operators.');
    expectRefused(
      () => twoInputHarness(undefined as never),
      'twoInputHarness: undefined is not an operator (a function of a stream); give twoInputHarness((second$) => coProcess(second$, { … })), or a pipe(…) of operators.',
    );
    const h = harness(counter('c'));
    expectRefused(() => h.state('k', 'nope'), "c: no state named 'nope'; name one of its states: n.");
    expectRefused(() => h.state('k', 'n', { operator: 'other' }), "harness: no stateful operator named 'other' (have: c)");
  });
});
