import type { Observer, OperatorFunction, Subscriber } from 'rxjs';
import type { Key, StreamElement, StreamRecord } from '../src/elements/index.js';
import { KeyedOperatorCore, keyedOperator, type CoreArgs } from '../src/core/keyedOperator.js';
import type { StateDescriptor, StateHandles } from '../src/state/descriptors.js';
import type { Timer } from '../src/timers/queue.js';

/**
 * Timers of the current key (Flink's `TimerService`). One timer per (key, timestamp) per time domain: registering
 * it again is a no-op, deleting a missing one too. Event-time timers fire when a watermark reaches them;
 * processing-time timers when the scheduler's clock does.
 *
 * @example
 * ```ts
 * ctx.timers.registerEventTime(ctx.timestamp + 60_000); // fires when the watermark passes it
 * ctx.timers.deleteEventTime(previousDeadline);
 * ```
 */
export interface TimerService {
  registerEventTime(timestamp: number): void;
  registerProcessingTime(timestamp: number): void;
  deleteEventTime(timestamp: number): void;
  deleteProcessingTime(timestamp: number): void;
}

/**
 * What `onElement` sees: the record's key and timestamp, time, the key's typed state, timers, and outputs.
 * The object is reused between calls: read it inside the call, do not keep it.
 *
 * @example
 * ```ts
 * onElement(click, ctx) {
 *   const n = (ctx.state.count.get() ?? 0) + 1;
 *   ctx.state.count.set(n);
 *   ctx.emit(n);
 * }
 * ```
 */
export interface ProcessContext<K, S extends Record<string, StateDescriptor>, R> {
  readonly key: K;
  /** The record's timestamp (in `onTimer`: the timer's). */
  readonly timestamp: number;
  readonly currentWatermark: number;
  /** The scheduler's clock. */
  readonly currentProcessingTime: number;
  /** Typed handles of the declared state, scoped to `key`. */
  readonly state: StateHandles<S>;
  readonly timers: TimerService;
  /** Emits a record with the current key; timestamp defaults to the record's (in `onTimer`: the timer's). */
  emit(value: R, timestamp?: number): void;
  /** Sends a value to a side output (any observer, e.g. a Subject). */
  output<X>(side: Observer<X>, value: X): void;
}

/**
 * What `onTimer` sees: the process context plus which time domain fired.
 *
 * @example
 * ```ts
 * onTimer(ts, ctx) { if (ctx.timeDomain === 'event') ctx.emit(ctx.state.count.get() ?? 0); }
 * ```
 */
export interface TimerContext<K, S extends Record<string, StateDescriptor>, R> extends ProcessContext<K, S, R> {
  readonly timeDomain: 'event' | 'processing';
}

/**
 * The definition of a keyed process function.
 *
 * @example
 * ```ts
 * const spec: ProcessSpec<Click, string, number, { count: ValueStateDescriptor<number> }> = {
 *   name: 'count-clicks',
 *   state: { count: valueState<number>() },
 *   onElement(c, ctx) { ctx.state.count.set((ctx.state.count.get() ?? 0) + 1); },
 * };
 * ```
 */
export interface ProcessSpec<T, K, R, S extends Record<string, StateDescriptor>> {
  /** Stable id of this operator's state in checkpoints; defaults to its position (`process#0`, …). */
  readonly name?: string;
  /** Keyed state declarations: `{ count: valueState<number>(), … }`. */
  readonly state?: S;
  onElement(value: T, ctx: ProcessContext<K, S, R>): void;
  onTimer?(timestamp: number, ctx: TimerContext<K, S, R>): void;
}

/** The reused context object of a process operator (a class: one hidden class, prototype getters). */
class Context<K, S extends Record<string, StateDescriptor>, R> implements TimerContext<K, S, R> {
  key: K = undefined as K;
  timestamp = 0;
  timeDomain: 'event' | 'processing' = 'event';
  readonly state: StateHandles<S>;
  readonly timers: TimerService;
  private readonly out: Subscriber<StreamElement<R, Key>>;
  constructor(private readonly core: ProcessCore<unknown, K, R, S>) {
    this.out = core.output;
    this.state = core.backend.handles as StateHandles<S>;
    const b = core.backend;
    this.timers = {
      registerEventTime(ts) {
        b.registerTimer('event', core.checkTimestamp('registerEventTime', ts));
      },
      registerProcessingTime(ts) {
        b.registerTimer('processing', core.checkTimestamp('registerProcessingTime', ts));
      },
      deleteEventTime(ts) {
        b.deleteTimer('event', ts);
      },
      deleteProcessingTime(ts) {
        b.deleteTimer('processing', ts);
      },
    };
  }
  get currentWatermark(): number {
    return this.core.watermark;
  }
  get currentProcessingTime(): number {
    return this.core.now();
  }
  /** Own arrow properties: `const { emit } = ctx` works too. */
  readonly emit = (value: R, timestamp?: number): void => {
    const ts = timestamp === undefined ? this.timestamp : this.core.checkTimestamp('emit', timestamp);
    this.core.recordsOut++;
    this.out.next({ kind: 'record', value, timestamp: ts, key: this.key as Key });
  };
  readonly output = <X>(side: Observer<X>, value: X): void => {
    this.core.emitSide(side, value);
  };
}

class ProcessCore<T, K, R, S extends Record<string, StateDescriptor>> extends KeyedOperatorCore<T, R> {
  private readonly spec: ProcessSpec<T, K, R, S>;
  private readonly ctx: Context<K, S, R>;

  constructor(args: CoreArgs<R>, spec: ProcessSpec<T, K, R, S>) {
    super(args, spec.state ?? {});
    this.spec = spec;
    this.ctx = new Context<K, S, R>(this as unknown as ProcessCore<unknown, K, R, S>);
  }

  now(): number {
    return this.scheduler.now();
  }

  /** The downstream subscriber (the context emits into it directly). */
  get output(): Subscriber<StreamElement<R, Key>> {
    return this.out;
  }

  emitSide<X>(side: Observer<X>, value: X): void {
    this.sideOutput(side, value);
  }

  protected onRecord(r: StreamRecord<T, Key>): void {
    const ctx = this.ctx;
    ctx.key = r.key as K;
    ctx.timestamp = r.timestamp;
    this.spec.onElement(r.value, ctx);
  }

  protected onTimer(t: Timer): void {
    const onTimer = this.spec.onTimer;
    if (onTimer === undefined) return;
    const ctx = this.ctx;
    ctx.key = t.key as K;
    ctx.timestamp = t.timestamp;
    ctx.timeDomain = t.domain;
    onTimer.call(this.spec, t.timestamp, ctx);
  }
}

/**
 * The keyed process function: per-key state and timers, the building block of custom stateful logic (Flink's
 * `KeyedProcessFunction`). Needs a keyed stream (`keyBy` first). State lives in one `Map`-based store inside the
 * operator (never a Subject per key) and is part of checkpoints under `name`.
 *
 * Outputs: `ctx.emit(value, ts?)` emits a record with the current key; its timestamp defaults to the input record's,
 * in `onTimer` to the timer's. (Flink erases the timestamp of processing-time timer output; tidewater records always
 * carry one, so they get the timer's processing-time timestamp unless `emit` is given one.)
 *
 * Type parameters `<T, K, R, S>`: T and K are inferred from the stream; to type `emit`, give all four, e.g.
 * `process<Click, string, number, typeof state>({ state, … })`.
 *
 * @example
 * ```ts
 * import { valueState } from 'tidewater';
 * import { keyBy, process } from 'tidewater/operators';
 *
 * // emit a user's click count once they have been quiet for 30 s of event time
 * const state = { count: valueState<number>(), deadline: valueState<number>() };
 * clicks$.pipe(
 *   keyBy((c) => c.user),
 *   process<Click, string, number, typeof state>({
 *     name: 'sessions',
 *     state,
 *     onElement(c, ctx) {
 *       ctx.state.count.set((ctx.state.count.get() ?? 0) + 1);
 *       const old = ctx.state.deadline.get();
 *       if (old !== undefined) ctx.timers.deleteEventTime(old);
 *       ctx.state.deadline.set(ctx.timestamp + 30_000);
 *       ctx.timers.registerEventTime(ctx.timestamp + 30_000);
 *     },
 *     onTimer(ts, ctx) {
 *       ctx.emit(ctx.state.count.get() ?? 0);
 *       ctx.state.count.clear();
 *       ctx.state.deadline.clear();
 *     },
 *   }),
 * );
 * ```
 */
export function process<T, K, R = unknown, S extends Record<string, StateDescriptor> = Record<never, never>>(
  spec: ProcessSpec<T, K, R, S>,
): OperatorFunction<StreamElement<T, K>, StreamElement<R, K>> {
  return keyedOperator<T, K, R>('process', spec.name, (args) => new ProcessCore<T, K, R, S>(args, spec));
}
