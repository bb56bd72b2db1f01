import { asyncScheduler, Subscriber, type Observer, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';
import { ownClock } from '../checkpoints/subtaskClocks.js';
import { isOutputTag, MAX_WATERMARK, MIN_WATERMARK, type Key, type OutputTag, type StreamElement, type StreamRecord } from '../elements/index.js';
import { ConfigurationError, describeValue, InvalidKeyError, NotAStreamElementError, TidewaterError, UserFunctionError } from '../errors/index.js';
import { EmittedSideRecord, isControlElement, OperatorObservable } from '../elements/plumbing.js';
import { checkedKeyIdOf, NOT_A_KEY } from '../keys/keyId.js';
import { isKey } from '../keys/validate.js';
import { KeyedStateBackend } from '../state/backend.js';
import { decodeValue, encodeValue, UnserializableValueError } from '../state/codec.js';
import { StateSerializationError } from '../state/snapshotWriter.js';
import type { StateDescriptor } from '../state/descriptors.js';
import { checkTimestamp, isTimestamp, MAX_OPERATOR_TIMESTAMP, MAX_SCHEDULE_DELAY } from '../time/timestamps.js';
import type { Timer } from '../timers/queue.js';
import type { WatermarkCombiner } from '../partitioning/valve.js';
import { runtimeOf, type OperatorRuntime, type SnapshotOptions, type StatefulOperatorInstance } from './runtime.js';

/** What a two-input operator saves beside its keyed state (in the snapshot's watermark field). */
interface OperatorLevelState {
  readonly watermark: number;
  readonly inputs: number[];
  readonly operator?: unknown;
}

/** What a keyed operator core is built from. @internal */
export interface CoreArgs<OUT> {
  readonly name: string;
  readonly kind: string;
  readonly out: Subscriber<StreamElement<OUT, Key>>;
  readonly scheduler: SchedulerLike;
  readonly runtime: OperatorRuntime | undefined;
  /** A two-input operator's combiner of its inputs' watermarks (see {@link KeyedOperatorCore.inputs}). */
  readonly inputs?: WatermarkCombiner | undefined;
}

/** What a keyed operator defers while it is busy (see `KeyedOperatorCore.busy`). */
const DEFER_ELEMENT = 0;
const DEFER_FROM = 1;
const DEFER_COMPLETE = 2;
const DEFER_WAKE_UP = 3;
type DeferredKind = typeof DEFER_ELEMENT | typeof DEFER_FROM | typeof DEFER_COMPLETE | typeof DEFER_WAKE_UP;
/** An arrival deferred: an element (of input `input` for {@link DEFER_FROM}), the end, or a wake-up. */
interface Deferred<IN> {
  readonly what: DeferredKind;
  readonly e: StreamElement<IN, unknown> | undefined;
  readonly input: number;
}

/**
 * The one stateful core under `process`, windows and joins: keyed state and timers in a {@link KeyedStateBackend},
 * element dispatch, watermark → timers → forward, processing-time wake-ups on the scheduler, snapshot/restore.
 * Subclasses say what a record and a timer do.
 *
 * Order rules (docs/SEMANTICS.md §2.5, §5): on a watermark W (only strictly increasing ones are taken), the current
 * watermark is set to W first, then every event-time timer ≤ W fires in ascending timestamp (ties: registration
 * order), including timers registered while firing, then W is forwarded. A timer registered at or below the current
 * watermark fires at the next watermark. Processing-time timers fire on the scheduler, all timers ≤ now in order.
 * On complete without a MAX watermark the operator acts as if MAX arrived, emits it, then completes; pending
 * processing-time timers are dropped at the end (as Flink does when input ends).
 *
 * The operator's current watermark is part of its snapshot (a deviation from Flink, where operators restart at MIN):
 * after a restore, watermarks at or below it are ignored and records are judged late exactly as they would have
 * been without the interruption, so a restored run emits what an uninterrupted one does (event time: TTL'd state with
 * `return-expired-if-not-cleaned-up` may differ, docs/SEMANTICS.md §6.2).
 *
 * @internal
 */
export abstract class KeyedOperatorCore<IN, OUT> implements StatefulOperatorInstance {
  readonly name: string;
  readonly kind: string;
  readonly backend: KeyedStateBackend;
  watermark = MIN_WATERMARK;
  /** Records this operator took in and emitted (metrics). */
  recordsIn = 0;
  recordsOut = 0;
  /** The input of the record being processed: 0, or 1 for the second input of a two-input operator. */
  protected currentInput = 0;
  /** Records that arrived after the MAX watermark (docs/SEMANTICS.md §2.6). */
  private recordsAfterEnd = 0;
  /**
   * Restored at the end of event time, from a checkpoint taken after the end of input: as a finished operator (no
   * keyed state), or with its state kept (a checkpoint written before finished snapshots); undefined: not so restored.
   */
  private restoredAtEnd: 'finished' | 'kept' | undefined;
  protected readonly out: Subscriber<StreamElement<OUT, Key>>;
  protected readonly scheduler: SchedulerLike;
  private readonly runtime: OperatorRuntime | undefined;
  private wakeUp: Subscription | undefined;
  private wakeUpAt = Infinity;
  private finished = false;
  /**
   * True while an element, a timer firing or the end is being handled: what arrives meanwhile (re-entrantly — a
   * consumer of the output feeding the input) waits in {@link deferred} and is handled after it, in arrival order
   * (docs/SEMANTICS.md §12: each is handled to completion before the next).
   */
  private busy = false;
  private deferred: Deferred<IN>[] | undefined = undefined;
  private draining = false;

  constructor(args: CoreArgs<OUT>, state: Readonly<Record<string, StateDescriptor>>, layout?: { namespaceMajor?: readonly string[] }) {
    this.name = args.name;
    this.kind = args.kind;
    this.out = args.out;
    this.scheduler = args.scheduler;
    this.runtime = args.runtime;
    this.inputs = args.inputs;
    this.backend = new KeyedStateBackend({
      operator: args.name,
      state,
      scheduler: args.scheduler,
      ...(args.runtime?.maxParallelism !== undefined ? { maxParallelism: args.runtime.maxParallelism } : {}),
      onProcessingTimer: (ts) => this.scheduleWakeUp(ts),
      ...(layout?.namespaceMajor !== undefined ? { namespaceMajor: layout.namespaceMajor } : {}),
    });
  }

  /** Restores from the runtime's snapshots for this operator, if any. Call once, before elements flow. */
  restoreFromRuntime(): void {
    const snaps = this.runtime?.restoreFor?.(this.name);
    if (snaps !== undefined && snaps.length > 0) this.restore(snaps);
  }

  restore(snapshots: readonly OperatorSnapshot[]): void {
    this.backend.restore(snapshots, this.runtime?.ownsKeyGroup, (name) => this.dropsOnRestore(name));
    const last = snapshots[snapshots.length - 1];
    if (last?.watermark === undefined) return;
    // one input: the watermark; two inputs: { watermark, inputs: what the combiner knows of them, operator?: the
    // operator's own state beside the keyed state (a broadcast state) }
    // (saved by parallel subtasks each at its own time, restored outside them: the lowest, src/checkpoints/subtaskClocks.ts)
    const saved = ownClock(decodeValue(last.watermark)) as number | OperatorLevelState;
    this.watermark = typeof saved === 'number' ? saved : saved.watermark;
    // (a finished snapshot holds no keyed state; one taken at MAX before that existed holds all of it)
    if (this.watermark === MAX_WATERMARK) this.restoredAtEnd = this.backend.entryCount === 0 ? 'finished' : 'kept';
    if (typeof saved === 'number') return;
    this.inputs?.restore(saved.inputs);
    if (saved.operator !== undefined) this.restoreOperatorState(saved.operator);
  }

  /**
   * Whether a state of the restored snapshot that this operator does not declare is dropped (true) or refused
   * (false, the default: docs/SEMANTICS.md §8) — for an operator reading another operator's checkpoints of the same
   * function (the window operators' conversions).
   */
  protected dropsOnRestore(name: string): boolean {
    void name;
    return false;
  }

  /** State of the operator instance beside its keyed state, in its checkpoints (undefined: none). */
  protected operatorState(): unknown {
    return undefined;
  }

  /**
   * The error for an {@link operatorState} the codec refused: which state and entry, when the operator can tell
   * (by default the operator and the path in its state).
   */
  protected operatorStateError(err: UnserializableValueError): Error {
    return new StateSerializationError(this.name, undefined, 'operator state', err.offending, err, 'its operator state (beside its keyed state)');
  }

  /** Takes back {@link operatorState} (a restore; every subtask gets the last snapshot's copy). */
  protected restoreOperatorState(state: unknown): void {
    void state;
  }

  /**
   * A two-input operator's combiner of its inputs' watermarks (docs/SEMANTICS.md §10.1): saved with the operator's
   * watermark, so that a restored operator combines the inputs as the uninterrupted one does. Given at construction.
   */
  readonly inputs: WatermarkCombiner | undefined;

  // ---- subclass hooks -------------------------------------------------------------------------------------------

  /** A record, with the backend's current key set to its key. */
  protected abstract onRecord(record: StreamRecord<IN, Key>): void;
  /** A timer, with the backend's current key (and namespace) set to the timer's. */
  protected abstract onTimer(timer: Timer): void;
  /**
   * A new watermark, already current, before the keyed event-time timers up to it fire: for a subclass that keeps an
   * event-time schedule of its own (the slicing and session window operators). Default: nothing.
   */
  protected onWatermark(watermark: number): void {
    void watermark;
  }

  // ---- dispatch --------------------------------------------------------------------------------------------------

  // The per-record functions (`next`, `nextRecord`) are kept small: TurboFan inlines a call chain only up to a
  // cumulative bytecode budget (920 bytes in Node 20), counted over whole functions, cold branches included. Past
  // it, the user's `onElement` and everything under it become a real call per record (≈ 20 % of a keyed count).

  next(e: StreamElement<IN, unknown>): void {
    if (this.busy) this.defer(DEFER_ELEMENT, e, -1);
    else if (e?.kind === 'record') this.nextRecord(e);
    else this.nextControl(e);
  }

  /**
   * Handles an arrival after what is being handled now (see {@link busy}). (Data, not a closure: a closure over a
   * per-record function's parameters would give every call of it a context object.)
   */
  private defer(what: DeferredKind, e: StreamElement<IN, unknown> | undefined, input: number): void {
    (this.deferred ??= []).push({ what, e, input });
  }

  /** Handles what arrived while something was being handled, in arrival order (and what arrives meanwhile). */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      const work = this.deferred as Deferred<IN>[];
      for (let i = 0; i < work.length && !this.out.closed; i++) {
        const { what, e, input } = work[i] as Deferred<IN>;
        if (what === DEFER_ELEMENT) this.next(e as StreamElement<IN, unknown>);
        else if (what === DEFER_FROM) this.nextRecordFrom(input, e as StreamRecord<IN, unknown>);
        else if (what === DEFER_COMPLETE) this.complete();
        else this.onWakeUp();
      }
    } finally {
      this.deferred = undefined;
      this.draining = false;
    }
  }

  /**
   * Ends a step begun with `busy = true`: the next one may start; what waited is handled. (The cold steps — a
   * watermark, the end, a wake-up — also clear `busy` in a `finally`: one that throws does not leave the operator
   * deferring everything after it.)
   */
  private done(): void {
    this.busy = false;
    if (this.deferred !== undefined) this.drain();
  }

  /**
   * Watermarks, barriers and status (the cold branch of {@link next}); anything else is not a stream element and
   * fails the stream (plain values piped in without `eventTime`).
   */
  private nextControl(e: Exclude<StreamElement<IN, unknown>, StreamRecord<IN, unknown>>): void {
    if (!isControlElement(e)) {
      this.fail(new NotAStreamElementError(this.name, e));
    } else if (e.kind === 'watermark') {
      if (e.timestamp > this.watermark) {
        this.busy = true;
        try {
          this.advanceWatermark(e.timestamp);
        } finally {
          this.busy = false;
        }
        this.done();
      }
    } else {
      if (e.kind === 'barrier') this.runtime?.onBarrier?.(this, e.checkpointId);
      this.out.next(e);
    }
  }

  /**
   * A record of input `input` (0: the first, 1: the second) of a two-input operator, delivered by its aligned inputs
   * (docs/SEMANTICS.md §10): {@link currentInput} says which input the record being processed came from.
   */
  nextRecordFrom(input: number, e: StreamRecord<IN, unknown>): void {
    if (this.busy) {
      this.defer(DEFER_FROM, e, input);
      return;
    }
    this.currentInput = input;
    if (input === this.unkeyedInput) this.nextUnkeyedRecord(e);
    else this.nextRecord(e);
  }

  /** The input whose records carry no key (a broadcast input, docs/SEMANTICS.md §10.6); -1: none. */
  protected unkeyedInput = -1;

  /** A record of the unkeyed input: no key context; `onRecord` sees it with {@link currentInput} set. */
  private nextUnkeyedRecord(e: StreamRecord<IN, unknown>): void {
    this.recordsIn++;
    this.busy = true;
    try {
      this.onRecord(e as StreamRecord<IN, Key>);
    } catch (err) {
      this.failUser(err, e);
    }
    this.done();
  }

  private nextRecord(e: StreamRecord<IN, unknown>): void {
    if (!this.enterRecord(e.key)) {
      this.failKey(e);
      return;
    }
    this.busy = true;
    try {
      this.onRecord(e as StreamRecord<IN, Key>);
    } catch (err) {
      this.failUser(err, e);
    }
    this.done();
  }

  /**
   * A record given as its fields: from a chain of stateless operators ending in this operator, which makes no record
   * object (operators/recordChain.ts). The same as {@link nextRecord}; a record is made only where one is handed on
   * (to an error, a late-data output, a core without {@link onFields} of its own).
   */
  nextFields(value: IN, timestamp: number, key: unknown): void {
    // (the cold cases, which make the record, in calls of their own: see "The per-record functions" above)
    if (this.busy || !this.enterRecord(key)) {
      this.nextFieldsNotEntered(value, timestamp, key);
      return;
    }
    this.busy = true;
    try {
      this.onFields(value, timestamp, key as Key);
    } catch (err) {
      this.failUserFields(err, value, timestamp, key);
    }
    this.done();
  }

  /** {@link nextFields} while busy (deferred) or with a value that is not a key (the stream fails). */
  private nextFieldsNotEntered(value: IN, timestamp: number, key: unknown): void {
    if (this.busy) this.defer(DEFER_ELEMENT, { kind: 'record', value, timestamp, key }, -1);
    else this.failKey({ kind: 'record', value, timestamp, key });
  }

  /** A user function's error on a record given as its fields. */
  private failUserFields(err: unknown, value: IN, timestamp: number, key: unknown): void {
    this.failUser(err, { kind: 'record', value, timestamp, key });
  }

  /** Counts a record and sets its key as the current one; false when it is not a key (the caller fails the stream). */
  private enterRecord(key: unknown): boolean {
    this.recordsIn++;
    if (this.watermark === MAX_WATERMARK) this.afterEndOfInput();
    const id = checkedKeyIdOf(key);
    if (id === NOT_A_KEY) return false;
    this.backend.setCurrent(key as Key, id);
    return true;
  }

  /** {@link onRecord} of a record given as its fields; by default, of a record made of them. */
  protected onFields(value: IN, timestamp: number, key: Key): void {
    this.onRecord({ kind: 'record', value, timestamp, key });
  }

  /**
   * A record after the end of event time (the MAX watermark): it is processed as Flink processes it (windows find it
   * late), but event-time timers it registers can never fire. Counted in `recordsAfterEndOfInput`; the first one is
   * reported as a warning (docs/SEMANTICS.md §2.6).
   */
  private afterEndOfInput(): void {
    if (this.recordsAfterEnd++ === 0) {
      this.warn(
        `${this.name}: a record arrived after the end of event time (watermark MAX_WATERMARK); it is processed, but ` +
          'event-time timers it registers never fire, and a window it belongs to has already fired. ' +
          (this.restoredAtEnd !== undefined
            ? `The operator was restored from a checkpoint taken after the end of input${this.restoredAtEnd === 'finished' ? ': it had finished, and its keyed state was not kept' : ''} ` +
              '(docs/SEMANTICS.md §8). To go on with more input, resume from a savepoint taken before the input ' +
              'ended, job.stop({ savepoint: true }) '
            : 'Records must come before the end-of-input watermark: check the source or the merge that emitted ' +
              'MAX_WATERMARK early ') +
          '(metric recordsAfterEndOfInput counts them).',
      );
    }
  }

  /** The cold path of {@link nextRecord}, kept out of it so the per-record dispatch stays small enough to inline. */
  private failKey(e: StreamRecord<IN, unknown>): void {
    const key = e.key;
    this.fail(
      new InvalidKeyError(this.name, key, this.valueInErrors(e.value), key === undefined ? `The stream is not keyed: put keyBy(...) before ${this.kindLabel()}.` : undefined),
    );
  }

  complete(): void {
    if (this.busy) {
      this.defer(DEFER_COMPLETE, undefined, -1);
      return;
    }
    this.busy = true;
    try {
      if (this.watermark < MAX_WATERMARK) this.advanceWatermark(MAX_WATERMARK);
      this.finish();
      if (!this.out.closed) this.out.complete();
    } finally {
      this.busy = false;
    }
    this.done();
  }

  finish(): void {
    this.finished = true;
    this.wakeUp?.unsubscribe();
    this.wakeUp = undefined;
  }

  private advanceWatermark(w: number): void {
    this.watermark = w;
    this.onWatermark(w);
    const b = this.backend;
    let t: Timer | undefined;
    while (!this.out.closed && (t = b.popTimer('event', w)) !== undefined) this.fire(t);
    if (!this.out.closed) this.out.next({ kind: 'watermark', timestamp: w });
  }

  private fire(t: Timer): void {
    this.backend.setCurrentTimer(t);
    try {
      this.onTimer(t);
    } catch (err) {
      this.failUser(err, { kind: 'timer', timestamp: t.timestamp, domain: t.domain, key: t.key });
    }
  }

  // ---- processing time ---------------------------------------------------------------------------------------------

  /** Wakes the operator up at processing time `ts` (at once if past; the earliest of those asked for). */
  protected scheduleWakeUp(ts: number): void {
    if (this.finished || ts >= this.wakeUpAt) return;
    this.wakeUp?.unsubscribe();
    this.wakeUpAt = ts;
    // (a wake-up further than the host's longest timer comes early, finds nothing due and asks again)
    const delay = Math.min(Math.max(0, ts - this.scheduler.now()), MAX_SCHEDULE_DELAY);
    this.wakeUp = this.scheduler.schedule(() => this.onWakeUp(), delay);
  }

  private onWakeUp(): void {
    this.wakeUp = undefined;
    this.wakeUpAt = Infinity;
    if (this.busy) {
      // (a scheduler that runs due work at once, while an element is being handled: after it)
      this.defer(DEFER_WAKE_UP, undefined, -1);
      return;
    }
    if (this.wakeUpGate !== undefined) this.wakeUpGate(this.fireWakeUp);
    else this.fireWakeUp();
  }

  private readonly fireWakeUp = (): void => {
    this.busy = true;
    try {
      this.fireProcessingTimers(this.scheduler.now());
    } finally {
      this.busy = false;
    }
    this.done();
  };

  /**
   * Runs a processing-time firing in turn with the elements of the inputs in front of the operator (a two-input
   * operator's `AlignedInputs`): what its output feeds back into them meanwhile waits there, so that their watermark
   * combiner — in the operator's snapshot — sees nothing after a barrier before the barrier is taken.
   */
  wakeUpGate: ((fire: () => void) => void) | undefined;

  /** Fires every processing-time timer <= now, in order, then schedules the next wake-up. */
  fireProcessingTimers(now: number): void {
    const b = this.backend;
    let t: Timer | undefined;
    while (!this.out.closed && (t = b.popTimer('processing', now)) !== undefined) this.fire(t);
    const next = b.nextProcessingTimer();
    if (next !== undefined && !this.out.closed) this.scheduleWakeUp(next);
  }

  // ---- errors ------------------------------------------------------------------------------------------------------

  /** The operator kind (`process`, `window`), for messages. */
  protected kindLabel(): string {
    return this.kind;
  }

  /** A record's value as the user gave it, for messages (a window join's operator holds it tagged with its input). */
  protected valueInErrors(value: unknown): unknown {
    return value;
  }

  protected fail(err: TidewaterError): void {
    this.finish();
    this.out.error(err);
  }

  protected failUser(err: unknown, what: unknown): void {
    this.finish();
    if (err instanceof TidewaterError) this.out.error(err);
    else this.out.error(new UserFunctionError(this.name, this.recordInErrors(what), err));
  }

  /** A record named in an error with its value as the user gave it ({@link valueInErrors}); anything else as it is. */
  private recordInErrors(what: unknown): unknown {
    if ((what as { kind?: unknown } | null)?.kind !== 'record') return what;
    const r = what as StreamRecord<unknown, unknown>;
    const value = this.valueInErrors(r.value);
    return value === r.value ? r : { ...r, value };
  }

  /** Validates a timestamp given by user code (timers, emit): within ±MAX_OPERATOR_TIMESTAMP, or ±Infinity (src/time/timestamps.ts). */
  checkTimestamp(what: string, ts: unknown): number {
    if (isTimestamp(ts, MAX_OPERATOR_TIMESTAMP)) return ts;
    return checkTimestamp(this.name, ts, undefined, 'Timestamps are numbers of ms (MAX_WATERMARK allowed for timers).', true, MAX_OPERATOR_TIMESTAMP, `given to ${what}(…)`);
  }

  // ---- StatefulOperatorInstance -----------------------------------------------------------------------------------

  snapshot(options?: SnapshotOptions): OperatorSnapshot {
    const snap = options?.finished === true ? this.backend.finishedSnapshot() : this.backend.snapshot(options?.full === true);
    const operator = this.operatorState();
    if (this.inputs !== undefined || operator !== undefined) {
      const saved: OperatorLevelState = { watermark: this.watermark, inputs: this.inputs?.state() ?? [], ...(operator !== undefined ? { operator } : {}) };
      let encoded: string;
      try {
        encoded = encodeValue(saved);
      } catch (err) {
        throw err instanceof UnserializableValueError ? this.operatorStateError(err) : err;
      }
      return snap.withWatermark(encoded);
    }
    return this.watermark === MIN_WATERMARK ? snap : snap.withWatermark(encodeValue(this.watermark));
  }
  peekState(key: unknown, name: string, namespace: string | number = ''): unknown {
    if (!isKey(key)) throw new InvalidKeyError(this.name, key, describeValue(key));
    return this.backend.peekState(key, name, namespace);
  }
  keys(): unknown[] {
    return this.backend.allKeys();
  }
  timersOf(key: unknown): [domain: 'event' | 'processing', timestamp: number, namespace: string | number][] {
    if (!isKey(key)) throw new InvalidKeyError(this.name, key, describeValue(key));
    return this.backend.timersOf(key);
  }
  get stateEntries(): number {
    return this.backend.entryCount;
  }
  metrics(): Record<string, number> {
    return {
      recordsIn: this.recordsIn,
      recordsOut: this.recordsOut,
      stateEntries: this.backend.entryCount,
      recordsAfterEndOfInput: this.recordsAfterEnd,
    };
  }

  /** A warning about lost or suspicious input, through the runtime (the harness records them), else console. */
  protected warn(message: string): void {
    if (this.runtime?.warn !== undefined) this.runtime.warn(this.name, message);
    else console.warn(message);
  }

  /** Side output to an observer: through the runtime (the harness records them), else straight to the observer. */
  protected sideOutput<X>(observer: Observer<X>, value: X): void {
    if (this.runtime?.sideOutput !== undefined) this.runtime.sideOutput(this.name, observer, value);
    else observer.next(value);
  }

  /**
   * `ctx.output(side, value)`: to a tag, a side record stamped `timestamp` goes downstream in order with the main
   * output's records, watermarks and barriers (docs/SEMANTICS.md §14); to an observer, the value at once
   * ({@link sideOutput}).
   */
  outputTo<X>(side: OutputTag<X> | Observer<X>, value: X, timestamp: number): void {
    if (isOutputTag(side)) (this.out as unknown as Subscriber<StreamElement<unknown, Key>>).next(new EmittedSideRecord(side.name, value, timestamp));
    else this.sideOutput(side, value);
  }

  /** Checks a late-data option: a side-output tag, an observer, or undefined (else a ConfigurationError naming it). */
  protected checkLateOutput(option: string, value: unknown): void {
    if (value === undefined || isOutputTag(value) || typeof (value as { next?: unknown } | null)?.next === 'function') return;
    throw new ConfigurationError(this.name, value, `${this.name}: ${option} ${describeValue(value)} must be a side output (sideOutput<T>(name)) or an observer (e.g. a Subject).`);
  }

  /** A late record to its late-data output: a tag gets its value and timestamp, an observer the record itself. */
  protected lateOutput<X>(target: Observer<StreamRecord<X, Key>> | OutputTag<X>, r: StreamRecord<X, Key>): void {
    if (isOutputTag(target)) this.outputTo(target, r.value, r.timestamp);
    else this.sideOutput(target as Observer<StreamRecord<X, Key>>, r);
  }
}

/**
 * Feeds a keyed core straight from upstream (a `Subscriber` chained to the downstream one, no closure per hop); a
 * chain upstream hands its core records as their fields ({@link KeyedOperatorCore.nextFields}).
 *
 * @example
 * ```ts
 * const sub = source.subscribe(new CoreSubscriber(out, core));
 * // in a chain subscriber's next (operators/recordChain.ts), its downstream being a CoreSubscriber:
 * if (downstream.stopped) downstream.nextStopped(value, timestamp, key);
 * else downstream.core.nextFields(value, timestamp, key);
 * ```
 *
 * @internal
 */
export class CoreSubscriber<IN, K, OUT> extends Subscriber<StreamElement<IN, K>> {
  constructor(
    destination: Subscriber<StreamElement<OUT, K>>,
    /** The core it feeds; a chain upstream hands it records as their fields ({@link KeyedOperatorCore.nextFields}). */
    readonly core: KeyedOperatorCore<IN, OUT>,
  ) {
    super(destination);
  }
  /**
   * Upstream calls this per element. Overridden so that the hot path skips `Subscriber.prototype.next`: that one
   * function serves every subscriber of the process, so its `this._next(…)` call site goes polymorphic or
   * megamorphic as soon as other operators run (e.g. `groupBy` in the same process), and how it is compiled then
   * depends on when TurboFan happened to (re)optimise it. Same semantics: a stopped subscriber defers to RxJS.
   */
  override next(e: StreamElement<IN, K>): void {
    if (this.isStopped) super.next(e);
    else this.core.next(e);
  }
  protected override _next(e: StreamElement<IN, K>): void {
    this.core.next(e);
  }
  /**
   * Whether it stopped (completed or failed): a chain upstream then gives a record to {@link nextStopped}, as
   * {@link next} defers to RxJS, instead of to {@link core}. (The chain makes these calls itself, so that the record
   * path has one function fewer to inline: docs/ARCHITECTURE.md, "One record, end to end".)
   */
  get stopped(): boolean {
    return this.isStopped;
  }
  /** A record given as its fields once {@link stopped}: made, and given to RxJS as {@link next} gives it. */
  nextStopped(value: IN, timestamp: number, key: unknown): void {
    super.next({ kind: 'record', value, timestamp, key: key as K });
  }
  protected override _complete(): void {
    try {
      this.core.complete();
    } finally {
      this.unsubscribe();
    }
  }
}

/**
 * Makes the pipeable operator of a keyed core: on subscribe it finds the pipeline's runtime through its subscriber
 * ({@link runtimeOf}: clock, registration, restore), builds the core, restores it, registers it, and feeds it every
 * element. A runtime that refuses the instance (a stateful operator subscribed after a checkpointed job started)
 * fails the stream with its error.
 *
 * @internal
 */
export function keyedOperator<IN, K, OUT>(
  kind: string,
  name: string | undefined,
  create: (args: CoreArgs<OUT>) => KeyedOperatorCore<IN, OUT>,
): OperatorFunction<StreamElement<IN, K>, StreamElement<OUT, K>> {
  return (source) =>
    new OperatorObservable<StreamElement<OUT, K>>((out) => {
      const core = startCore(kind, name, out as unknown as Subscriber<StreamElement<OUT, Key>>, create);
      if (core === undefined) return undefined;
      const sub = source.subscribe(new CoreSubscriber<IN, K, OUT>(out, core));
      return () => {
        core.finish();
        sub.unsubscribe();
      };
    });
}

/**
 * Builds a keyed core for a subscription (`keyedOperator`, `twoInputOperator`): finds the pipeline's runtime through
 * the subscriber ({@link runtimeOf}: clock, registration, restore), names the core (`kind#position` by default),
 * gives it `inputs` (a two-input operator's watermark combiner, part of its snapshot), registers it and restores it.
 * A runtime that refuses the instance fails `out` with its error; then `undefined`.
 *
 * @example
 * ```ts
 * const core = startCore('process', spec.name, out, (args) => new ProcessCore(args, spec));
 * if (core === undefined) return undefined;
 * ```
 *
 * @internal
 */
export function startCore<IN, OUT, C extends KeyedOperatorCore<IN, OUT>>(
  kind: string,
  name: string | undefined,
  out: Subscriber<StreamElement<OUT, Key>>,
  create: (args: CoreArgs<OUT>) => C,
  inputs?: WatermarkCombiner,
): C | undefined {
  const runtime = runtimeOf(out);
  const position = runtime?.nextPosition?.();
  const core = create({ name: name ?? (position === undefined ? kind : `${kind}#${position}`), kind, out, scheduler: runtime?.scheduler ?? asyncScheduler, runtime, inputs });
  try {
    runtime?.register?.(core);
  } catch (err) {
    out.error(err);
    return undefined;
  }
  core.restoreFromRuntime();
  return core;
}
