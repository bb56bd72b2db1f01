// The hand-driven clock of tidewater/testing (ManualScheduler, the harness's processing time): only finite times.
import { describe, expect, it } from 'vitest';
import { ConfigurationError, valueState } from '../src/index.js';
import { process } from '../operators/index.js';
import { harness, ManualScheduler } from '../testing/index.js';

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
  });
});
