import { active, idle, MAX_WATERMARK, MIN_WATERMARK, watermark, type StreamStatus, type Watermark } from '../elements/index.js';
import { InputWatermarks, type WatermarkCombiner } from './valve.js';

/**
 * The watermark of a two-input operator (interval join, `coProcess`, `broadcastProcess`): Flink's
 * `CombinedWatermarkStatus` as `AbstractStreamOperator` uses it (docs/SEMANTICS.md §10.1), which differs from the
 * merge's valve in how an input comes back:
 *
 * - per input a watermark (start `MIN_WATERMARK`) and an idle flag (start false); a watermark on an input clears its
 *   idle flag and raises its watermark (never lowers it);
 * - the output watermark is the minimum over the inputs that are not idle; when every input is idle, the maximum over
 *   all of them; it goes out only when strictly above the last one, so it never decreases;
 * - an input that comes back (`active()`, or a watermark) re-joins the minimum at once with its old watermark: it
 *   holds the output where it is until it catches up, never lowers it (the valve waits until it caught up instead);
 * - a status goes out only when "every input is idle" changes: `idle()` after the watermark that change flushes,
 *   `active()` before any watermark that follows.
 *
 * @example
 * ```ts
 * const combined = new CombinedWatermarkStatus(2);
 * combined.inputWatermark(0, 5); // []              — input 2 is still at MIN
 * combined.inputStatus(1, true); // [watermark(5)]  — input 2 idle: the min is input 1's
 * combined.inputStatus(0, true); // [idle()]        — all idle: max (5) is not above 5
 * combined.inputStatus(1, false); // [active()]     — input 2 back at MIN holds the output at 5
 * ```
 *
 * @internal
 */
export class CombinedWatermarkStatus extends InputWatermarks implements WatermarkCombiner {
  /** @param n the number of inputs (an integer ≥ 1). */
  constructor(n: number) {
    super('CombinedWatermarkStatus', n);
  }

  /** A watermark on input `i`: the input is active again (if it was idle) and its watermark rises to `timestamp`. */
  inputWatermark(i: number, timestamp: number): readonly (Watermark | StreamStatus)[] {
    this.checkInput(i);
    this.out.length = 0;
    this.idleInputs[i] = 0;
    if (timestamp > (this.watermarks[i] as number)) this.watermarks[i] = timestamp;
    this.update();
    return this.out;
  }

  /** Input `i` turned idle (`isIdle` true) or active (false). */
  inputStatus(i: number, isIdle: boolean): readonly (Watermark | StreamStatus)[] {
    this.checkInput(i);
    this.out.length = 0;
    this.idleInputs[i] = isIdle ? 1 : 0;
    this.update();
    return this.out;
  }

  /** Input `i` ended: a watermark `MAX_WATERMARK` on it (docs/SEMANTICS.md §10.1). */
  inputEnded(i: number): readonly (Watermark | StreamStatus)[] {
    return this.inputWatermark(i, MAX_WATERMARK);
  }

  /** Recomputes the output: status first when the output turns active, the watermark, status last when it turns idle. */
  private update(): void {
    const allIdle = this.idleInputs.indexOf(0) < 0;
    if (!allIdle && this.lastIdle) {
      this.lastIdle = false;
      this.out.push(active());
    }
    let w = allIdle ? MIN_WATERMARK : MAX_WATERMARK;
    for (let k = 0; k < this.n; k++) {
      const x = this.watermarks[k] as number;
      if (allIdle ? x > w : this.idleInputs[k] === 0 && x < w) w = x;
    }
    if (w > this.lastWatermark) {
      this.lastWatermark = w;
      this.out.push(watermark(w));
    }
    if (allIdle && !this.lastIdle) {
      this.lastIdle = true;
      this.out.push(idle());
    }
  }
}
