import { active, idle, MAX_WATERMARK, MIN_WATERMARK, watermark, type StreamStatus, type Watermark } from '../elements/index.js';
import { ConfigurationError, describeValue } from '../errors/index.js';

/**
 * What combines the watermarks and statuses of several inputs into one (the merge's valve, a two-input operator's
 * combined watermark). Each method returns what to emit downstream, in order; the array is the combiner's own and is
 * reused by its next call.
 *
 * @example
 * ```ts
 * const combiner: WatermarkCombiner = new StatusWatermarkValve(2);
 * for (const e of combiner.inputWatermark(0, 10)) downstream.next(e);
 * ```
 *
 * @internal
 */
export interface WatermarkCombiner {
  /** The last watermark the combiner emitted (`MIN_WATERMARK` before the first). */
  readonly outputWatermark: number;
  inputWatermark(i: number, timestamp: number): readonly (Watermark | StreamStatus)[];
  inputStatus(i: number, isIdle: boolean): readonly (Watermark | StreamStatus)[];
  inputEnded(i: number): readonly (Watermark | StreamStatus)[];
  /** What the combiner knows of its inputs, as numbers (for an operator's checkpoint). */
  state(): number[];
  /** Takes back {@link state}'s numbers (a restore). */
  restore(state: readonly number[]): unknown;
  /** A restore that knows only a watermark: every input, and the output, active at `watermark`. */
  restoreAt(watermark: number): void;
}

/**
 * What the combiners keep of their inputs and output: per input a watermark (start `MIN_WATERMARK`) and an idle flag,
 * the last watermark and status emitted, the reused output array; the checks of input numbers; the checkpoint form.
 *
 * @example
 * ```ts
 * class MyCombiner extends InputWatermarks implements WatermarkCombiner { … }
 * ```
 *
 * @internal
 */
export abstract class InputWatermarks {
  protected readonly watermarks: Float64Array;
  protected readonly idleInputs: Uint8Array;
  protected readonly out: (Watermark | StreamStatus)[] = [];
  protected lastWatermark = MIN_WATERMARK;
  protected lastIdle = false;

  /** @param kind the combiner's name, for errors; @param n the number of inputs (an integer ≥ 1). */
  constructor(
    private readonly kind: string,
    readonly n: number,
  ) {
    if (!Number.isInteger(n) || n < 1) {
      throw new ConfigurationError(kind, n, `${kind}: the number of inputs must be an integer ≥ 1, got ${describeValue(n)}.`);
    }
    this.watermarks = new Float64Array(n).fill(MIN_WATERMARK);
    this.idleInputs = new Uint8Array(n);
  }

  /** Whether input `i` is idle. */
  isInputIdle(i: number): boolean {
    return this.idleInputs[i] === 1;
  }

  /** The last watermark emitted (`MIN_WATERMARK` before the first). */
  get outputWatermark(): number {
    return this.lastWatermark;
  }

  /** Whether the output is idle (every input is). */
  get outputIdle(): boolean {
    return this.lastIdle;
  }

  /** `[last watermark, last idle, ...watermarks, ...idle flags]` (a subclass appends what it adds). */
  state(): number[] {
    return [this.lastWatermark, this.lastIdle ? 1 : 0, ...this.watermarks, ...this.idleInputs];
  }

  /**
   * Takes back {@link state}'s watermarks; returns what a subclass appended. Every input comes back active, and so does
   * the output: the inputs' sources restart active (their generators do, docs/SEMANTICS.md §2.6), so an input kept
   * idle would never send the `active()` that lets its watermarks count again — and an output kept idle would ignore
   * every watermark. An input that was idle rejoins as it would on `active()` (see {@link wasIdle}).
   */
  restore(state: readonly number[]): readonly number[] {
    const n = this.n;
    if (state.length < 2 + 2 * n) throw new Error(`${this.kind}: a checkpoint of fewer inputs cannot be restored into ${n}`);
    this.lastWatermark = state[0] as number;
    this.lastIdle = false;
    for (let k = 0; k < n; k++) {
      this.watermarks[k] = state[2 + k] as number;
      this.idleInputs[k] = 0;
    }
    return state.slice(2 + 2 * n);
  }

  /** A restore that knows only a watermark: every input, and the output, active at `watermark`. */
  restoreAt(watermark: number): void {
    this.restore([watermark, 0, ...new Array<number>(this.n).fill(watermark), ...new Array<number>(this.n).fill(0)]);
  }

  /** Whether input `k` was idle in {@link state}'s numbers. */
  protected wasIdle(state: readonly number[], k: number): boolean {
    return state[2 + this.n + k] === 1;
  }

  protected checkInput(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) {
      throw new ConfigurationError(this.kind, i, `${this.kind}: input ${describeValue(i)} does not exist; inputs are 0 … ${this.n - 1}.`);
    }
  }
}

/**
 * Flink's `StatusWatermarkValve`: combines the watermarks and idleness of `n` inputs into one output watermark and
 * status (docs/SEMANTICS.md §2.4). Per input: its watermark (start `MIN_WATERMARK`), its status (start active) and
 * whether it is aligned (start true). The output watermark is the minimum over the active, aligned inputs and never
 * decreases; an input turning idle is left out; when every input is idle the maximum watermark among them is flushed
 * (if it advances the output) and the output turns idle; an input turning active again re-joins the minimum only once
 * its watermark reached the output's.
 *
 * Each method returns what to emit downstream, in order (a watermark, then a status; often nothing). The returned
 * array is the valve's own, reused by the next call: read it before calling the valve again.
 *
 * @example
 * ```ts
 * const valve = new StatusWatermarkValve(2);
 * valve.inputWatermark(0, 5);  // []              — input 1 is still at MIN
 * valve.inputWatermark(1, 3);  // [watermark(3)]
 * valve.inputStatus(1, true);  // [watermark(5)]  — idle input 1 no longer holds the output back
 * valve.inputStatus(0, true);  // [idle()]        — all idle: the max (5) is not above the output, so only the status
 * ```
 */
export class StatusWatermarkValve extends InputWatermarks implements WatermarkCombiner {
  private readonly aligned: Uint8Array;
  /**
   * The aligned inputs by watermark (then input number): a binary min-heap of input numbers, as Flink keeps them, so
   * that a watermark costs O(log n) whichever input holds the minimum; `heapAt[k]` is input k's place in it, −1 when
   * it is not aligned.
   */
  private readonly heap: Int32Array;
  private readonly heapAt: Int32Array;
  private heapSize: number;
  /** Inputs not idle; and the highest watermark of any input (each only rises, but at a restore). */
  private activeInputs: number;
  private highest = MIN_WATERMARK;

  /** @param n the number of inputs (an integer ≥ 1). */
  constructor(n: number) {
    super('StatusWatermarkValve', n);
    this.aligned = new Uint8Array(n).fill(1);
    this.heap = new Int32Array(n);
    this.heapAt = new Int32Array(n);
    for (let k = 0; k < n; k++) this.heap[k] = this.heapAt[k] = k;
    this.heapSize = n;
    this.activeInputs = n;
  }

  /**
   * A watermark `timestamp` arrived on input `i`. Ignored when the input or the whole valve is idle, or when it does
   * not exceed the input's previous watermark; otherwise returns the new output watermark if the minimum advanced.
   */
  inputWatermark(i: number, timestamp: number): readonly (Watermark | StreamStatus)[] {
    this.checkInput(i);
    this.out.length = 0;
    if (this.lastIdle || this.idleInputs[i] === 1 || !(timestamp > (this.watermarks[i] as number))) return this.out;
    this.watermarks[i] = timestamp;
    if (timestamp > this.highest) this.highest = timestamp;
    if (this.aligned[i] === 1) this.siftDown(this.heapAt[i] as number);
    else if (timestamp >= this.lastWatermark) {
      this.aligned[i] = 1;
      this.heapInsert(i);
    } else return this.out; // (still not aligned: the minimum is not its)
    this.emitNewMin();
    return this.out;
  }

  /**
   * Input `i` turned idle (`isIdle` true) or active (false). Returns what the output does: going idle may advance the
   * watermark (and, once no input is active, flush the maximum and turn the output idle); going active turns an idle
   * output active. A status equal to the input's current one changes nothing.
   */
  inputStatus(i: number, isIdle: boolean): readonly (Watermark | StreamStatus)[] {
    this.checkInput(i);
    this.out.length = 0;
    if (isIdle && this.idleInputs[i] === 0) {
      this.idleInputs[i] = 1;
      this.activeInputs--;
      if (this.aligned[i] === 1) {
        this.aligned[i] = 0;
        this.heapRemove(i);
      }
      if (this.activeInputs === 0) {
        if (this.highest > this.lastWatermark) this.emitWatermark(this.highest);
        this.lastIdle = true;
        this.out.push(idle());
      } else if (this.watermarks[i] === this.lastWatermark) {
        this.emitNewMin();
      }
    } else if (!isIdle && this.idleInputs[i] === 1) {
      this.idleInputs[i] = 0;
      this.activeInputs++;
      if ((this.watermarks[i] as number) >= this.lastWatermark) {
        this.aligned[i] = 1;
        this.heapInsert(i);
      }
      if (this.lastIdle) {
        this.lastIdle = false;
        this.out.push(active());
      }
    }
    return this.out;
  }

  /**
   * Input `i` ended: it counts as an input at `MAX_WATERMARK` and no longer holds the output back. An idle input
   * turns active first (as Flink's sources do before their last watermark), so an idle output turns active and then
   * carries the new minimum (docs/SEMANTICS.md §2.4, tidewater).
   */
  inputEnded(i: number): readonly (Watermark | StreamStatus)[] {
    const status = this.idleInputs[i] === 1 ? this.inputStatus(i, false)[0] : undefined;
    this.inputWatermark(i, MAX_WATERMARK);
    if (status !== undefined) this.out.unshift(status);
    return this.out;
  }

  override state(): number[] {
    return [...super.state(), ...this.aligned];
  }

  override restore(state: readonly number[]): readonly number[] {
    const aligned = super.restore(state);
    // (an input that was idle rejoins the minimum once its watermark reaches the output's, as after `active()`)
    this.heapSize = 0;
    this.highest = MIN_WATERMARK;
    for (let k = 0; k < this.n; k++) {
      const w = this.watermarks[k] as number;
      if (w > this.highest) this.highest = w;
      this.aligned[k] = this.wasIdle(state, k) ? (w >= this.lastWatermark ? 1 : 0) : (aligned[k] ?? 1);
      this.heapAt[k] = -1;
      if (this.aligned[k] === 1) this.heapInsert(k);
    }
    this.activeInputs = this.n;
    return [];
  }

  /**
   * {@link restore}, then each input that was idle in `state` idle again; returns what that emits (an idle status when
   * every input was idle), a copy. For inputs that do not restart with the valve, whose idleness therefore holds on:
   * a cluster task's upstream tasks, which sent their idle status once, before the checkpoint; a source's partitions,
   * idle until their next message (docs/NATS.md, "Idleness across a restart").
   *
   * @example
   * ```ts
   * const saved = valve.state(); // input 1 idle
   * const restored = new StatusWatermarkValve(2);
   * restored.restoreKeepingIdleness(saved); // input 1 idle again: input 0's watermarks alone move the output
   * ```
   */
  restoreKeepingIdleness(state: readonly number[]): (Watermark | StreamStatus)[] {
    this.restore(state);
    const out: (Watermark | StreamStatus)[] = [];
    for (let k = 0; k < this.n; k++) if (this.wasIdle(state, k)) for (const e of this.inputStatus(k, true)) out.push(e);
    return out;
  }

  /** Emits the aligned inputs' minimum when it is above the output watermark. */
  private emitNewMin(): void {
    if (this.heapSize === 0) return;
    const min = this.watermarks[this.heap[0] as number] as number;
    if (min > this.lastWatermark) this.emitWatermark(min);
  }

  private emitWatermark(timestamp: number): void {
    this.lastWatermark = timestamp;
    this.out.push(watermark(timestamp));
  }

  // ---- the heap of aligned inputs ------------------------------------------------------------------------------------

  /** Whether input `a` sorts before input `b` (lower watermark, then lower number). */
  private before(a: number, b: number): boolean {
    const wa = this.watermarks[a] as number;
    const wb = this.watermarks[b] as number;
    return wa < wb || (wa === wb && a < b);
  }

  private place(at: number, k: number): void {
    this.heap[at] = k;
    this.heapAt[k] = at;
  }

  private heapInsert(k: number): void {
    this.place(this.heapSize++, k);
    this.siftUp(this.heapSize - 1);
  }

  private heapRemove(k: number): void {
    const at = this.heapAt[k] as number;
    this.heapAt[k] = -1;
    const last = this.heap[--this.heapSize] as number;
    if (at === this.heapSize) return;
    this.place(at, last);
    this.siftUp(at);
    this.siftDown(this.heapAt[last] as number);
  }

  private siftUp(at: number): void {
    const k = this.heap[at] as number;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const p = this.heap[parent] as number;
      if (!this.before(k, p)) break;
      this.place(at, p);
      at = parent;
    }
    this.place(at, k);
  }

  private siftDown(at: number): void {
    const k = this.heap[at] as number;
    const size = this.heapSize;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && this.before(this.heap[right] as number, this.heap[child] as number)) child = right;
      const c = this.heap[child] as number;
      if (!this.before(c, k)) break;
      this.place(at, c);
      at = child;
    }
    this.place(at, k);
  }
}

/**
 * A combiner's {@link WatermarkCombiner.state} as JSON can hold it: `MIN_WATERMARK` and `MAX_WATERMARK` (which
 * `JSON.stringify` turns into `null`) as the strings `'min'` and `'max'`. {@link valveStateFromJson} takes it back.
 *
 * @example
 * ```ts
 * JSON.stringify(valveStateToJson(valve.state())); // '[-Infinity…' stays readable: '["min",0,"min","min",0,0,…]'
 * ```
 *
 * @internal
 */
export function valveStateToJson(state: readonly number[]): (number | 'min' | 'max')[] {
  return state.map((n) => (n === MIN_WATERMARK ? 'min' : n === MAX_WATERMARK ? 'max' : n));
}

/** The numbers of {@link valveStateToJson}'s form (`null`, as older offsets wrote ±∞, read as `MIN_WATERMARK`). @internal */
export function valveStateFromJson(json: readonly unknown[]): number[] {
  return json.map((v) => (v === 'max' ? MAX_WATERMARK : v === 'min' || v === null ? MIN_WATERMARK : Number(v)));
}
