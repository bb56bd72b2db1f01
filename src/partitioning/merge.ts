import { isObservable, type Observable, type Subscriber } from 'rxjs';
import type { CheckpointBarrier, ControlElement, StreamElement, StreamRecord, StreamStatus, Watermark } from '../elements/index.js';
import { EmittedSideRecord, OperatorObservable, isControlElement, subscribeElements } from '../elements/plumbing.js';
import { ConfigurationError, NotAStreamElementError, describeValue } from '../errors/index.js';
import { MergeInstance } from './mergeState.js';
import { StatusWatermarkValve, type WatermarkCombiner } from './valve.js';

/**
 * Options of {@link mergeStreams}, {@link union} and `unionWith`, passed as the last argument.
 *
 * - `mode: 'exactly-once'` (default): barrier `n` leaves once it arrived on every input not yet completed; an input
 *   that delivered it is blocked meanwhile — its records, watermarks and status are held back in order and released
 *   in arrival order once the barrier left (Flink's aligned checkpoints, docs/SEMANTICS.md §8).
 * - `mode: 'at-least-once'`: nothing is held back; only the barrier waits for every input and leaves once.
 *
 * @example
 * ```ts
 * const options: MergeOptions = { mode: 'at-least-once' };
 * mergeStreams(a$, b$, options);
 * ```
 */
export interface MergeOptions {
  readonly mode?: 'exactly-once' | 'at-least-once';
}

/** Any tidewater stream, whatever its value and key types (the constraint of {@link mergeStreams}' inputs). */
export type AnyStream = Observable<StreamElement<unknown, unknown>>;

/** The record value type of a stream type (distributes over a union of stream types). */
export type ValueOf<S> = S extends Observable<infer E> ? (Extract<E, { kind: 'record' }> extends StreamRecord<infer T, unknown> ? T : never) : never;
/** The record key type of a stream type (distributes over a union of stream types). */
export type KeyOf<S> = S extends Observable<infer E> ? (Extract<E, { kind: 'record' }> extends StreamRecord<unknown, infer K> ? K : never) : never;

/**
 * The stream {@link mergeStreams} returns for inputs `S`: the union of their value and key types.
 *
 * @example
 * ```ts
 * type M = MergedStream<[Stream<number, string>, Stream<boolean, string>]>; // Stream<number | boolean, string>
 * ```
 */
export type MergedStream<S extends readonly AnyStream[]> = Observable<StreamElement<ValueOf<S[number]>, KeyOf<S[number]>>>;

const NAME = 'union';

/** The end of an input, held in order with its elements while the input is blocked. */
const END: unique symbol = Symbol('end of input');
type Held = StreamElement<unknown, unknown> | typeof END;

/**
 * Where {@link AlignedInputs} delivers: records with the index of their input, and one stream of control elements
 * (the combined watermarks and statuses, each barrier once). The merge delivers both to one subscriber; a two-input
 * operator hands records to its core with their input.
 *
 * @internal
 */
export interface AlignedInputsTarget {
  readonly closed: boolean;
  record(input: number, e: StreamRecord<unknown, unknown>): void;
  /** A control element to pass on (watermarks and status the combiner produced, a barrier, a side record in turn). */
  control(e: ControlElement): void;
  complete(): void;
  error(err: unknown): void;
}

/** The merge's target: everything to one subscriber. */
class SubscriberTarget implements AlignedInputsTarget {
  /** The merge in checkpoints, when its runtime takes them: told of each barrier as it leaves. */
  state: MergeInstance | undefined;
  constructor(private readonly destination: Subscriber<StreamElement<unknown, unknown>>) {}
  get closed(): boolean {
    return this.destination.closed;
  }
  record(_input: number, e: StreamRecord<unknown, unknown>): void {
    this.destination.next(e);
  }
  control(e: ControlElement): void {
    if (e.kind === 'barrier') this.state?.barrier(e.checkpointId);
    this.destination.next(e);
  }
  complete(): void {
    this.destination.complete();
  }
  error(err: unknown): void {
    this.destination.error(err);
  }
}

/**
 * The inputs of one subscription of a merge or a two-input operator: their watermarks combined (the merge's valve, or
 * a two-input operator's {@link WatermarkCombiner}), the barrier alignment and the elements held back
 * (docs/SEMANTICS.md §2.4, §8, §10.1). Elements are handled one at a time, in arrival order; one that arrives while
 * another's outputs are going out (re-entrantly) waits its turn.
 *
 * @internal
 */
export class AlignedInputs {
  private readonly valve: WatermarkCombiner;
  /** Per input: 1 while it delivered a barrier that has not left yet (exactly-once only). */
  private readonly blocked: Uint8Array;
  /** Counts the changes of {@link blocked} (a run of releases ends at one, see `release`). */
  private blockings = 0;
  /** What {@link oldestReleasable} found of the other inputs: the arrival number of their oldest held element. */
  private nextOldest = Infinity;
  /** Per input: the id of the newest barrier it delivered (`Infinity` once completed: it delivered every barrier). */
  private readonly seen: Float64Array;
  private readonly seenBarrier: (CheckpointBarrier | undefined)[];
  private lastBarrier = -Infinity;
  /**
   * The inputs that delivered no barrier after the last one that left ({@link seen} ≤ {@link lastBarrier}): while
   * any does, no barrier can leave, and a barrier's arrival costs no look at the other inputs (one per checkpoint).
   */
  private waiting: number;
  private live: number;
  /**
   * Per input: the elements held back while it is blocked, oldest first from `heldHead`, with their arrival numbers
   * (`heldOrder`): released in arrival order across inputs. Per input, so that an input that blocks again at its next
   * barrier keeps what it holds where it is (one queue for all, copied at each release, cost the held elements per
   * barrier: quadratic with an input many barriers ahead).
   */
  private readonly held: Held[][];
  private readonly heldOrder: number[][];
  private readonly heldHead: number[];
  private arrivalNumber = 0;
  /** True while an element is being processed: what arrives meanwhile (re-entrantly) waits in `arrivals`. */
  private busy = false;
  /** True while held elements are being released. */
  private draining = false;
  /** The newest barrier delivered by an input that has completed since (at-least-once: it must still leave). */
  private endedBarrier: CheckpointBarrier | undefined;
  /**
   * Elements that arrived while one was being processed, in arrival order (one queue: they are taken one at a time
   * from its head, so that what arrives while one of them is processed goes after all of them).
   */
  private arrivalInputs: number[] = [];
  private arrivals: Held[] = [];
  /** The index of the next arrival to process. */
  private arrivalHead = 0;
  /** What side records remember of this merge (not the merge itself, which they would keep alive). */
  private readonly sideToken = {};
  /** Side records made outside tidewater passed on so far (see {@link firstSeen}). */
  private sidesPassed: WeakSet<object> | undefined;

  constructor(
    private readonly destination: AlignedInputsTarget,
    n: number,
    private readonly aligned: boolean,
    combiner: WatermarkCombiner = new StatusWatermarkValve(n),
    /** who is named in the error for a value that is not a stream element */
    private readonly name: string = NAME,
  ) {
    this.valve = combiner;
    this.blocked = new Uint8Array(n);
    this.seen = new Float64Array(n).fill(-Infinity);
    this.waiting = n;
    this.seenBarrier = new Array<CheckpointBarrier | undefined>(n).fill(undefined);
    this.held = Array.from({ length: n }, () => []);
    this.heldOrder = Array.from({ length: n }, () => []);
    this.heldHead = new Array<number>(n).fill(0);
    this.live = n;
  }

  /**
   * The hot path: a record of an unblocked input goes straight through (its turn: what arrives meanwhile waits, as in
   * {@link arrive}).
   */
  next(i: number, e: StreamElement<unknown, unknown>): void {
    if (e?.kind !== 'record' || this.blocked[i] !== 0 || this.busy || this.arrivalHead < this.arrivals.length) {
      this.arrive(i, e);
      return;
    }
    this.busy = true;
    try {
      this.destination.record(i, e);
      if (this.arrivals.length > this.arrivalHead) this.takeArrivals();
    } finally {
      this.busy = false;
    }
  }

  complete(i: number): void {
    this.arrive(i, END);
  }

  /**
   * Runs `work` — the operator behind firing timers on its own (processing time) — as one of the inputs' elements:
   * what arrives meanwhile (its output fed back into an input) waits, then goes in its turn.
   */
  inTurn(work: () => void): void {
    if (this.busy) {
      work();
      return;
    }
    this.busy = true;
    try {
      work();
      if (this.arrivals.length > this.arrivalHead) this.takeArrivals();
    } finally {
      this.busy = false;
    }
  }

  private arrive(i: number, e: Held): void {
    if (e !== END && e?.kind !== 'record' && !isControlElement(e)) {
      this.destination.error(new NotAStreamElementError(this.name, e));
      return;
    }
    if (this.busy || this.arrivalHead < this.arrivals.length) {
      // arrived while an element's outputs are going out (a consumer feeding an input), or while earlier arrivals
      // still wait (the processing of one threw out of `takeArrivals`): in its turn, after them
      this.arrivalInputs.push(i);
      this.arrivals.push(e);
      if (this.busy) return;
      this.busy = true;
      try {
        this.takeArrivals();
      } finally {
        this.busy = false;
      }
      return;
    }
    this.busy = true;
    try {
      this.process(i, e);
      this.takeArrivals();
    } finally {
      this.busy = false;
    }
  }

  /** Processes, in their turn, the elements that arrived while one was being processed (and those they bring). */
  private takeArrivals(): void {
    while (this.arrivalHead < this.arrivals.length && !this.destination.closed) {
      const k = this.arrivalHead++;
      const e = this.arrivals[k] as Held;
      this.arrivals[k] = END; // (not kept alive by the queue)
      this.process(this.arrivalInputs[k] as number, e);
    }
    // all taken (or nothing can go out any more: the destination closed)
    this.arrivalInputs.length = 0;
    this.arrivals.length = 0;
    this.arrivalHead = 0;
  }

  /** Handles `e` of input `i` in its turn: holds it if the input is blocked. */
  private process(i: number, e: Held): void {
    if (this.blocked[i] === 1) {
      (this.held[i] as Held[]).push(e);
      (this.heldOrder[i] as number[]).push(this.arrivalNumber++);
      return;
    }
    if (e === END) {
      this.live--;
      const last = this.seenBarrier[i];
      if (last !== undefined && last.checkpointId > (this.endedBarrier?.checkpointId ?? -Infinity)) this.endedBarrier = last;
      if ((this.seen[i] as number) <= this.lastBarrier) this.waiting--;
      this.seen[i] = Infinity;
      this.emit(this.valve.inputEnded(i));
      this.align();
      if (this.live === 0) this.destination.complete();
      return;
    }
    switch (e.kind) {
      case 'record':
        this.destination.record(i, e);
        return;
      case 'side':
        // a side-output record passing through: in its input's order, held back with its records; once, though it
        // reach this on several inputs — a stream split (RxJS `connect`, `share`) and merged again carries each side
        // record on every branch, the same object — or again round a feedback loop (docs/SEMANTICS.md §14)
        if (!(EmittedSideRecord.passes(e, this.sideToken) ?? this.firstSeen(e))) return;
        this.destination.control(e);
        return;
      case 'watermark':
        this.emit(this.valve.inputWatermark(i, e.timestamp));
        return;
      case 'status':
        this.emit(this.valve.inputStatus(i, e.idle));
        return;
      case 'barrier':
        if (e.checkpointId <= this.lastBarrier) return; // already left: deduplicated
        if ((this.seen[i] as number) <= this.lastBarrier) this.waiting--;
        this.seen[i] = e.checkpointId;
        this.seenBarrier[i] = e;
        if (this.aligned) {
          this.blocked[i] = 1;
          this.blockings++;
        }
        this.align();
    }
  }

  private emit(out: readonly (Watermark | StreamStatus)[]): void {
    for (let k = 0; k < out.length; k++) this.destination.control(out[k] as Watermark | StreamStatus);
  }

  /** {@link EmittedSideRecord.passes} for a side record made outside tidewater (no memory of its own). */
  private firstSeen(e: object): boolean {
    const seen = (this.sidesPassed ??= new WeakSet());
    if (seen.has(e)) return false;
    seen.add(e);
    return true;
  }

  /**
   * Lets the barrier out that every input not yet completed delivered (the lowest of their newest ones), then
   * unblocks the inputs that delivered it and releases what they held, in arrival order.
   */
  private align(): void {
    if (this.waiting > 0) return; // (an input delivered none since the last barrier left: the lowest is not newer)
    let lowest = Infinity;
    let from = -1;
    for (let k = 0; k < this.seen.length; k++) {
      // an ended input's `seen` is Infinity: it is never the one waited for
      if ((this.seen[k] as number) < lowest) {
        lowest = this.seen[k] as number;
        from = k;
      }
    }
    if (from < 0) {
      // every input ended: a barrier delivered by one of them before it ended still leaves (an ended input counts as
      // having delivered every barrier)
      const last = this.endedBarrier;
      if (last !== undefined && last.checkpointId > this.lastBarrier) {
        this.lastBarrier = last.checkpointId;
        this.destination.control(last);
      }
      return;
    }
    if (!(lowest > this.lastBarrier)) return;
    this.lastBarrier = lowest;
    let waiting = 0;
    for (let k = 0; k < this.seen.length; k++) if ((this.seen[k] as number) <= lowest) waiting++;
    this.waiting = waiting;
    this.destination.control(this.seenBarrier[from] as CheckpointBarrier);
    if (!this.aligned) return;
    for (let k = 0; k < this.blocked.length; k++) if ((this.seen[k] as number) <= lowest) this.blocked[k] = 0;
    this.blockings++;
    this.release();
  }

  /**
   * Releases the held elements of unblocked inputs in arrival order: each step takes the oldest held element of an
   * input not blocked now. Processing one may block its input again (its next barrier: what it still holds stays) or
   * let another barrier out and unblock inputs (their elements then take their turn by arrival). What arrives
   * meanwhile waits in the arrivals, after every held element: `takeArrivals` takes it in its turn.
   */
  private release(): void {
    if (this.draining) return; // (the loop below goes on with whatever is unblocked now)
    this.draining = true;
    try {
      for (;;) {
        const from = this.oldestReleasable();
        if (from < 0) return;
        // a run of that input's elements, while they arrived before the other inputs' oldest and no input's blocking
        // changed: one scan of the inputs per run, not per element
        const before = this.nextOldest;
        const blockings = this.blockings;
        do {
          this.process(from, this.takeHeld(from));
          if (this.destination.closed) return;
        } while (this.blockings === blockings && this.oldestHeldOf(from) < before);
      }
    } catch (err) {
      // handling one threw out of the merge: what unblocked inputs still hold goes first among the waiting arrivals
      // (it came before them), so that it keeps its order and its side of the next barrier
      this.requeueReleasable();
      throw err;
    } finally {
      this.draining = false;
    }
  }

  /** Moves the held elements of inputs not blocked now, oldest first, to the head of the arrivals. */
  private requeueReleasable(): void {
    const inputs: number[] = [];
    const elements: Held[] = [];
    for (let from = this.oldestReleasable(); from >= 0; from = this.oldestReleasable()) {
      inputs.push(from);
      elements.push(this.takeHeld(from));
    }
    if (elements.length === 0) return;
    this.arrivalInputs = [...inputs, ...this.arrivalInputs.slice(this.arrivalHead)];
    this.arrivals = [...elements, ...this.arrivals.slice(this.arrivalHead)];
    this.arrivalHead = 0;
  }

  /**
   * The input not blocked now whose oldest held element arrived first (-1: none holds any); {@link nextOldest} the
   * arrival number of the oldest held element of the other inputs not blocked (Infinity: none).
   */
  private oldestReleasable(): number {
    let from = -1;
    let oldest = Infinity;
    let next = Infinity;
    for (let i = 0; i < this.blocked.length; i++) {
      if (this.blocked[i] === 1) continue;
      const order = this.oldestHeldOf(i);
      if (order < oldest) {
        next = oldest;
        oldest = order;
        from = i;
      } else if (order < next) next = order;
    }
    this.nextOldest = next;
    return from;
  }

  /** The arrival number of input `i`'s oldest held element (Infinity: it holds none). */
  private oldestHeldOf(i: number): number {
    const head = this.heldHead[i] as number;
    const order = this.heldOrder[i] as number[];
    return head < order.length ? (order[head] as number) : Infinity;
  }

  /** Takes the oldest held element of input `i` (which has one). */
  private takeHeld(i: number): Held {
    const elements = this.held[i] as Held[];
    const order = this.heldOrder[i] as number[];
    const head = this.heldHead[i] as number;
    const e = elements[head] as Held;
    if (head + 1 === elements.length) {
      elements.length = order.length = 0;
      this.heldHead[i] = 0;
    } else if (head >= 1024 && 2 * head >= elements.length) {
      // (the taken prefix cut off once it is half the queue: amortised O(1) an element)
      elements.splice(0, head + 1);
      order.splice(0, head + 1);
      this.heldHead[i] = 0;
    } else {
      elements[head] = END; // (not kept alive by the queue)
      this.heldHead[i] = head + 1;
    }
    return e;
  }
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Splits `mergeStreams`' arguments into the streams and the options, checking both. */
export function streamsAndOptions(args: readonly unknown[], caller: string): { streams: AnyStream[]; aligned: boolean } {
  const last = args[args.length - 1];
  if (Array.isArray(last)) {
    throw new ConfigurationError(NAME, last, `${caller}: got an array; pass the streams as separate arguments: ${caller}(a$, b$) or ${caller}(...streams).`);
  }
  // (options are a plain object: a Promise, a Map or a class instance last is an input that is not an Observable)
  const hasOptions = args.length > 0 && !isObservable(last) && typeof last === 'object' && last !== null && isPlainObject(last);
  const unknown = hasOptions ? Object.keys(last).filter((k) => k !== 'mode') : [];
  if (unknown.length > 0) {
    throw new ConfigurationError(NAME, last, `${caller}: unknown option(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} in ${describeValue(last)}; the only option is mode: 'exactly-once' | 'at-least-once'.`);
  }
  const streams = (hasOptions ? args.slice(0, -1) : args.slice()) as unknown[];
  for (const s of streams) {
    if (!isObservable(s)) {
      throw new ConfigurationError(NAME, s, `${caller}: every input must be an Observable of stream elements, got ${describeValue(s)}; options go last ({ mode: 'exactly-once' | 'at-least-once' }).`);
    }
  }
  const mode = hasOptions ? (last as MergeOptions).mode : undefined;
  if (mode !== undefined && mode !== 'exactly-once' && mode !== 'at-least-once') {
    throw new ConfigurationError(NAME, mode, `${caller}: mode must be 'exactly-once' or 'at-least-once', got ${describeValue(mode)}.`);
  }
  return { streams: streams as AnyStream[], aligned: mode !== 'at-least-once' };
}

/**
 * The merge of `streams` (shared by every entry point). Its valve is in the checkpoints of a runtime that takes them
 * (src/partitioning/mergeState.ts): `inCheckpoints` true names it by its place (`union@<k>`, a merge the pipeline's
 * author wrote), a string is its name (a merge a parallel pipeline makes), false keeps it out (a merge inside an
 * operator that restores its inputs itself).
 */
export function mergeWithValve(streams: readonly AnyStream[], aligned: boolean, inCheckpoints: boolean | string): Observable<StreamElement<unknown, unknown>> {
  return new OperatorObservable<StreamElement<unknown, unknown>>((destination) => {
    if (streams.length === 0) {
      destination.complete();
      return;
    }
    const target = new SubscriberTarget(destination);
    const valve = new StatusWatermarkValve(streams.length);
    // (its valve in checkpoints, restored now, before any input is subscribed)
    if (inCheckpoints !== false) target.state = MergeInstance.of(destination, valve, inCheckpoints === true ? undefined : inCheckpoints);
    const merge = new AlignedInputs(target, streams.length, aligned, valve);
    streams.forEach((s, i) => {
      if (destination.closed) return;
      subscribeElements(
        s,
        destination,
        (e: StreamElement<unknown, unknown>) => merge.next(i, e),
        () => merge.complete(i),
      );
    });
  });
}

/** {@link mergeStreams} and {@link union}, named after the caller for errors in their arguments. */
function mergeArgs(args: readonly unknown[], caller: string): Observable<StreamElement<unknown, unknown>> {
  const { streams, aligned } = streamsAndOptions(args, caller);
  return mergeWithValve(streams, aligned, true);
}

/**
 * Merges tidewater streams into one, with Flink's rules (docs/SEMANTICS.md §2.4, §8): records pass through as they
 * come; the output watermark is the minimum over the active inputs and never decreases, idle inputs are left out, all
 * idle turns the output idle, an input that turns active again re-joins once it caught up (`StatusWatermarkValve`);
 * barrier `n` leaves once, after it arrived on every input not yet completed; the output completes when every input
 * completed (a completed input counts as being at `MAX_WATERMARK`); an error of any input fails it at once.
 *
 * Options go last ({@link MergeOptions}): by default barriers are aligned (exactly-once): an input that delivered
 * barrier `n` is held back until `n` left. `{ mode: 'at-least-once' }` holds nothing back.
 *
 * Unlike RxJS `merge`, a slow input holds the watermark back, so none of its records turns late downstream.
 * A value that is not a stream element fails the output with `NotAStreamElementError` naming `union`.
 *
 * @example
 * ```ts
 * import { mergeStreams } from 'tidewater';
 * import { eventTime } from 'tidewater/operators';
 *
 * const all$ = mergeStreams(slow$.pipe(eventTime((v) => v.at)), fast$.pipe(eventTime((v) => v.at)));
 * const loose$ = mergeStreams(a$, b$, { mode: 'at-least-once' });
 * ```
 */
export function mergeStreams<S extends readonly AnyStream[]>(...streams: S): MergedStream<S>;
export function mergeStreams<S extends readonly AnyStream[]>(...args: [...streams: S, options: MergeOptions]): MergedStream<S>;
export function mergeStreams(...args: unknown[]): Observable<StreamElement<unknown, unknown>> {
  return mergeArgs(args, 'mergeStreams');
}

/**
 * Flink's name for {@link mergeStreams} (`DataStream.union`): the same function.
 *
 * @example
 * ```ts
 * import { union } from 'tidewater';
 *
 * const all$ = union(clicksEu$, clicksUs$);
 * ```
 */
export function union<S extends readonly AnyStream[]>(...streams: S): MergedStream<S>;
export function union<S extends readonly AnyStream[]>(...args: [...streams: S, options: MergeOptions]): MergedStream<S>;
export function union(...args: unknown[]): Observable<StreamElement<unknown, unknown>> {
  return mergeArgs(args, 'union');
}
