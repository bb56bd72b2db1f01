import type { Observer, Subscriber } from 'rxjs';
import type { Key, OutputTag, StreamElement, StreamRecord } from '../elements/index.js';
import type { KeyedStateBackend } from '../state/backend.js';
import type { StateDescriptor, StateHandles } from '../state/descriptors.js';
import type { Timer } from '../timers/queue.js';
import { ConfigurationError, describeValue } from '../errors/index.js';
import { KeyedOperatorCore, type CoreArgs } from './keyedOperator.js';

/**
 * Checks a process function's spec when the operator is made (not at its first record, where a missing function
 * failed as a user function's `TypeError`): an object, with the `required` functions, and the `optional` ones
 * functions if given.
 *
 * @example
 * ```ts
 * checkSpec('coProcess', spec, ['onElement1', 'onElement2'], ['onTimer'], 'right$, ');
 * ```
 *
 * @internal
 */
export function checkSpec(kind: string, spec: unknown, required: readonly string[], optional: readonly string[], before = ''): void {
  const example = `${before}{ ${required.map((f) => `${f}(…) { … }`).join(', ')} }`;
  if (typeof spec !== 'object' || spec === null) {
    throw new ConfigurationError(kind, spec, `${kind}: the spec ${describeValue(spec)} is not an object; give ${kind}(${example}).`);
  }
  const named = (spec as { name?: unknown }).name;
  const who = typeof named === 'string' ? `${kind}(${named})` : kind;
  for (const f of [...required, ...optional]) {
    const fn = (spec as Record<string, unknown>)[f];
    if (typeof fn === 'function' || (fn === undefined && !required.includes(f))) continue;
    throw new ConfigurationError(kind, fn, `${who}: ${f} is ${describeValue(fn)}, not a function; give ${kind}(${example})${required.includes(f) ? '' : ` (${f} may be left out)`}.`);
  }
}

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
  /**
   * Sends a value to a side output (docs/SEMANTICS.md §14): to a tag's stream (`sideOutputOf(tag)`, a job's sink of
   * that name), stamped with the current timestamp and in order with the main output; or to any observer (e.g. a
   * Subject), at once.
   */
  output<X>(side: OutputTag<X> | Observer<X>, value: X): void;
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
 * What the process context needs of its operator core (`process`, `coProcess`, `broadcastProcess`).
 *
 * @internal
 */
export interface ProcessContextHost {
  readonly output: Subscriber<StreamElement<unknown, Key>>;
  readonly backend: KeyedStateBackend;
  readonly watermark: number;
  recordsOut: number;
  now(): number;
  checkTimestamp(what: string, ts: unknown): number;
  outputTo<X>(side: OutputTag<X> | Observer<X>, value: X, timestamp: number): void;
}

/**
 * What every process-like context has: the current record's key and timestamp, the clocks, `emit` and `output`
 * (the keyed contexts below, and `broadcastProcess`'s broadcast side).
 *
 * @example
 * ```ts
 * class BroadcastSideContextImpl extends EmittingContext<Key, R> { … }
 * ```
 *
 * @internal
 */
export class EmittingContext<K, R> {
  key: K = undefined as K;
  timestamp = 0;
  private readonly out: Subscriber<StreamElement<R, Key>>;
  constructor(protected readonly core: ProcessContextHost) {
    this.out = core.output as Subscriber<StreamElement<R, Key>>;
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
  readonly output = <X>(side: OutputTag<X> | Observer<X>, value: X): void => {
    this.core.outputTo(side, value, this.timestamp);
  };
}

/**
 * The reused context object of the process operators (a class: one hidden class, prototype getters).
 *
 * @example
 * ```ts
 * const ctx = new ProcessContextImpl<string, typeof state, number>(this);
 * ctx.key = record.key; ctx.timestamp = record.timestamp; spec.onElement(record.value, ctx);
 * ```
 *
 * @internal
 */
export class ProcessContextImpl<K, S extends Record<string, StateDescriptor>, R> extends EmittingContext<K, R> implements TimerContext<K, S, R> {
  timeDomain: 'event' | 'processing' = 'event';
  readonly state: StateHandles<S>;
  readonly timers: TimerService;
  constructor(core: ProcessContextHost) {
    super(core);
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
}

/**
 * The core of the process operators (`process`, `coProcess`): the reused context, the host it needs, and `onTimer`
 * calling the spec's. Subclasses say which handler a record goes to.
 *
 * @example
 * ```ts
 * class CoProcessCore extends ProcessCoreBase<T, K, R, S> {
 *   protected onRecord(r) { this.spec.onElement1(r.value, this.contextOf(r)); }
 * }
 * ```
 *
 * @internal
 */
export abstract class ProcessCoreBase<IN, K, R, S extends Record<string, StateDescriptor>> extends KeyedOperatorCore<IN, R> implements ProcessContextHost {
  protected readonly ctx: ProcessContextImpl<K, S, R>;

  constructor(
    args: CoreArgs<R>,
    state: S | undefined,
    private readonly timerSpec: { onTimer?(timestamp: number, ctx: TimerContext<K, S, R>): void },
    context: (host: ProcessContextHost) => ProcessContextImpl<K, S, R> = (host) => new ProcessContextImpl<K, S, R>(host),
  ) {
    super(args, state ?? {});
    this.ctx = context(this);
  }

  now(): number {
    return this.scheduler.now();
  }

  /** The downstream subscriber (the context emits into it directly). */
  get output(): Subscriber<StreamElement<R, Key>> {
    return this.out;
  }

  /** The context, set for a record. */
  protected contextOf(r: StreamRecord<IN, Key>): ProcessContextImpl<K, S, R> {
    const ctx = this.ctx;
    ctx.key = r.key as K;
    ctx.timestamp = r.timestamp;
    return ctx;
  }

  protected onTimer(t: Timer): void {
    const onTimer = this.timerSpec.onTimer;
    if (onTimer === undefined) return;
    const ctx = this.ctx;
    ctx.key = t.key as K;
    ctx.timestamp = t.timestamp;
    ctx.timeDomain = t.domain;
    onTimer.call(this.timerSpec, t.timestamp, ctx);
  }
}
