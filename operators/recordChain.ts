// Chains of stateless record operators (`map`, `filter`, `keyBy`) run by one subscriber (docs/ARCHITECTURE.md,
// "One record, end to end"): as Flink chains operators into one task, `source.pipe(filter(f), keyBy(k), map(m))`
// subscribes upstream once and runs f, k and m in a row on each record's value, key and timestamp, making one record
// object at the end instead of one per operator. A chain may start with `eventTime` / `ingestionTime` (its head: the
// timestamp assigner makes the record's fields out of each upstream value). Each stage keeps its own operator's
// behaviour: its name in errors, the record it was given, control elements in order.
import { Observable, Subscriber, type OperatorFunction, type Subscription } from 'rxjs';
import { runtimeOf } from '../src/core/runtime.js';
import { CoreSubscriber } from '../src/core/keyedOperator.js';
import { record, type StreamElement } from '../src/elements/index.js';
import { failUserFunction, forwardControl, markTakesPlainValues, OperatorObservable } from '../src/elements/plumbing.js';
import { InvalidKeyError } from '../src/errors/index.js';
import { checkFunction } from '../src/errors/options.js';
import { isKeyOnPath } from '../src/keys/validate.js';
import { TimestampAssigner, type TimestampHead } from '../src/time/assign.js';
import { MutableRecordContext, type RecordContext } from './context.js';

/**
 * One stage of a chain: what its operator does to a record's value (`map`), whether it keeps it (`filter`) or its key
 * (`keyBy`), and the operator alone (run instead of the chain when the chain cannot run as one: a `keyBy` inside
 * `parallel` or a cluster stage, whose records cross an exchange).
 *
 * @example
 * ```ts
 * const double = (v: unknown) => (v as number) * 2;
 * const stage: RecordStage = {
 *   kind: 'map',
 *   name: 'map',
 *   fn: double,
 *   alone: () => recordOperator('map', (e, _ctx, out) => out.next({ kind: 'record', value: double(e.value), timestamp: e.timestamp, key: e.key })),
 * };
 * ```
 *
 * @internal
 */
export type RecordStage =
  | { readonly kind: 'map'; readonly name: string; readonly fn: (value: unknown, ctx: RecordContext<unknown>) => unknown; readonly alone: () => AnyOperator }
  | { readonly kind: 'filter'; readonly name: string; readonly fn: (value: unknown, ctx: RecordContext<unknown>) => boolean; readonly alone: () => AnyOperator }
  | { readonly kind: 'keyBy'; readonly name: string; readonly fn: (value: unknown) => unknown; readonly alone: () => AnyOperator };

type AnyOperator = OperatorFunction<StreamElement<unknown, unknown>, StreamElement<unknown, unknown>>;

/** The observable of a chain: the head (if any) and the stages after `upstream`, run by one subscriber. */
class RecordChainObservable extends OperatorObservable<StreamElement<unknown, unknown>> {
  constructor(
    readonly upstream: Observable<unknown>,
    readonly stages: readonly RecordStage[],
    readonly head: TimestampHead<unknown> | undefined,
  ) {
    super((out) => runChain(upstream, stages, head, out));
  }
}

/**
 * The operator of one stage: applied to a chain's observable, a longer chain over the same upstream (the shorter one
 * stays usable on its own); applied to anything else, a chain of one.
 *
 * @example
 * ```ts
 * export const map = (fn) => chainedRecordOperator({ kind: 'map', name: 'map', fn, alone: () => mapAlone(fn) });
 * ```
 *
 * @internal
 */
export function chainedRecordOperator<T, R, K, L>(stage: RecordStage): OperatorFunction<StreamElement<T, K>, StreamElement<R, L>> {
  // (refused when the pipeline is made, not as a user function's TypeError at the first record)
  checkFunction(stage.name, stage.fn, `${stage.kind}(fn), fn a function of the value${stage.kind === 'keyBy' ? ' returning its key' : ''}`);
  return ((source: Observable<StreamElement<unknown, unknown>>) =>
    source instanceof RecordChainObservable
      ? new RecordChainObservable(source.upstream, [...source.stages, stage], source.head)
      : new RecordChainObservable(source, [stage], undefined)) as unknown as OperatorFunction<StreamElement<T, K>, StreamElement<R, L>>;
}

/**
 * `eventTime` / `ingestionTime`: a chain of no stages yet, headed by the timestamp assigner (src/time/assign.ts), so
 * that the `map`, `filter` and `keyBy` after it run in its subscriber, on the fields it stamped.
 *
 * @example
 * ```ts
 * export const eventTime = (timestampOf, strategy) => timestampChain({ name: 'eventTime', timestampOf, strategy });
 * ```
 *
 * @internal
 */
export function timestampChain<T, K>(head: TimestampHead<T>): OperatorFunction<T | StreamElement<T, K>, StreamElement<T, K>> {
  return ((source: Observable<unknown>) => new RecordChainObservable(source, [], head as TimestampHead<unknown>)) as unknown as OperatorFunction<
    T | StreamElement<T, K>,
    StreamElement<T, K>
  >;
}

/**
 * Subscribes a chain: one subscriber running the head and every stage; or, when a `keyBy` must reach an exchange,
 * each operator alone (the head as a chain of its own).
 */
function runChain(
  upstream: Observable<unknown>,
  stages: readonly RecordStage[],
  head: TimestampHead<unknown> | undefined,
  out: Subscriber<StreamElement<unknown, unknown>>,
): Subscription | (() => void) {
  if (stages.some((s) => s.kind === 'keyBy') && runtimeOf(out)?.exchange !== undefined) {
    let stream = head === undefined ? (upstream as Observable<StreamElement<unknown, unknown>>) : new RecordChainObservable(upstream, [], head);
    for (const s of stages) stream = s.alone()(stream);
    return stream.subscribe(out);
  }
  const keyedInput = out instanceof CoreSubscriber ? (out as CoreSubscriber<unknown, unknown, unknown>) : undefined;
  if (head === undefined) return upstream.subscribe(new ElementChainSubscriber(out, stages, keyedInput));
  const stamp = new TimestampAssigner<unknown, unknown>(head, out);
  const subscriber = new StampedChainSubscriber(out, stamp, head.name, stages, keyedInput);
  // the head stamps a plain value as it stamps an unkeyed record of it: a job may push values as they are
  markTakesPlainValues(subscriber);
  const subscription = upstream.subscribe(subscriber);
  stamp.start();
  return () => {
    stamp.stop();
    subscription.unsubscribe();
  };
}

// The two subscribers below run the stages alike. They are two classes on purpose: V8 keeps what a call site has seen
// per function in the source, shared by every closure and instance that runs it, and inlines a call only while its
// site has seen one function. A program's chains after a source (headed by eventTime, carrying every event) and its
// chains after keyed operators (their own keyBy and map functions) would otherwise share one site per stage kind, and
// the source's chain would call its functions without inlining them. Each is its own `Subscriber` class, whose `next`
// runs the chain (not a handler called through a subscriber shared by every operator, a call no site can inline)
// (docs/ARCHITECTURE.md, "One record, end to end").

/**
 * The subscriber of a chain headed by a timestamp assigner: each upstream value (a plain value, or an element the
 * head takes as it comes) is stamped, then the stages run on the stamped fields.
 */
class StampedChainSubscriber extends Subscriber<unknown> {
  private readonly ctx = new MutableRecordContext<unknown>();
  constructor(
    private readonly out: Subscriber<StreamElement<unknown, unknown>>,
    private readonly stamp: TimestampAssigner<unknown, unknown>,
    /** the head's name (its errors) */
    private readonly first: string,
    private readonly stages: readonly RecordStage[],
    /** the downstream when it is a keyed operator's input: records go to its core as their fields */
    private readonly keyedInput: CoreSubscriber<unknown, unknown, unknown> | undefined,
  ) {
    super(out);
  }

  /** Per upstream value (a stopped subscriber defers to RxJS, as `Subscriber.next` does). */
  override next(v: unknown): void {
    if (this.isStopped) super.next(v);
    else this.take(v);
  }
  protected override _next(v: unknown): void {
    this.take(v);
  }
  protected override _complete(): void {
    try {
      this.stamp.complete();
    } finally {
      this.unsubscribe();
    }
  }

  private take(v: unknown): void {
    const stamp = this.stamp;
    if (!stamp.take(v)) return;
    const out = this.out;
    const stages = this.stages;
    const n = stages.length;
    const ctx = this.ctx;
    const timestamp = stamp.timestamp;
    // the value the head stamped (its generator's onEvent gets it once the record went on)
    const stamped = stamp.value;
    let value = stamped;
    let key = stamp.key;
    // the last map or filter stage and the record it was given: alone, it would have called the downstream's `next`
    // (a keyBy's `next` throws through it), so an error thrown there is its (-1: only keyBys; the error is the head's)
    let nextStage = -1;
    let nextValue: unknown;
    let nextKey: unknown;
    let i = 0;
    let kept = true;
    try {
      for (; i < n; i++) {
        const s = stages[i] as RecordStage;
        if (s.kind === 'keyBy') {
          const k = s.fn(value);
          if (!isKeyOnPath(k)) {
            out.error(new InvalidKeyError(s.name, k, value));
            return;
          }
          key = k;
        } else {
          nextStage = i;
          nextValue = value;
          nextKey = key;
          // set before each call, as each operator alone sets its own: a function that pushes a record into the
          // source re-enters this subscriber, which sets it for that record
          ctx.timestamp = timestamp;
          ctx.key = key;
          if (s.kind === 'filter') {
            if (!s.fn(value, ctx)) {
              kept = false;
              break;
            }
          } else value = s.fn(value, ctx);
        }
        // the downstream stopped (or the stream failed) during the call: alone, the later operators would be stopped
        if (out.closed) return;
      }
    } catch (err) {
      failUserFunction(out, (stages[i] as RecordStage).name, record(value, timestamp, key), err);
      return;
    }
    if (kept) {
      try {
        // into a keyed operator, the record is handed over as its fields (none made)
        const input = this.keyedInput;
        if (input === undefined) out.next({ kind: 'record', value, timestamp, key });
        else if (input.stopped) input.nextStopped(value, timestamp, key);
        else input.core.nextFields(value, timestamp, key);
      } catch (err) {
        if (nextStage >= 0) failUserFunction(out, (stages[nextStage] as RecordStage).name, record(nextValue, timestamp, nextKey), err);
        else failUserFunction(out, this.first, v, err);
        return;
      }
    }
    // (not reached when the record failed the stream or the downstream stopped: alone, eventTime would still have
    // told its generator, into a closed stream — only a custom generator's side effects differ)
    stamp.recordDone(v, stamped, timestamp);
  }
}

/** The subscriber of a chain without a head: stream elements in, records through the stages, control passed on. */
class ElementChainSubscriber extends Subscriber<unknown> {
  private readonly ctx = new MutableRecordContext<unknown>();
  /** the first stage's name (the errors of elements that are not records) */
  private readonly first: string;
  constructor(
    private readonly out: Subscriber<StreamElement<unknown, unknown>>,
    private readonly stages: readonly RecordStage[],
    /** the downstream when it is a keyed operator's input: records go to its core as their fields */
    private readonly keyedInput: CoreSubscriber<unknown, unknown, unknown> | undefined,
  ) {
    super(out);
    this.first = (stages[0] as RecordStage).name;
  }

  /** Per upstream element (a stopped subscriber defers to RxJS, as `Subscriber.next` does). */
  override next(v: unknown): void {
    if (this.isStopped) super.next(v);
    else this.take(v);
  }
  protected override _next(v: unknown): void {
    this.take(v);
  }

  private take(v: unknown): void {
    const out = this.out;
    const e = v as StreamElement<unknown, unknown>;
    if (e?.kind !== 'record') {
      forwardControl(this.first, e, out);
      return;
    }
    const stages = this.stages;
    const n = stages.length;
    const ctx = this.ctx;
    const timestamp = e.timestamp;
    let value = e.value;
    let key = e.key;
    // `e` itself while only filters ran (a filter passes its record on as it is)
    let same = true;
    // the last map or filter stage and the record it was given: alone, it would have called the downstream's `next`
    // (a keyBy's `next` throws through it), so an error thrown there is its (-1: only keyBys; the error goes up)
    let nextStage = -1;
    let nextValue: unknown;
    let nextKey: unknown;
    let nextSame = true;
    let i = 0;
    let kept = true;
    try {
      for (; i < n; i++) {
        const s = stages[i] as RecordStage;
        if (s.kind === 'keyBy') {
          const k = s.fn(value);
          if (!isKeyOnPath(k)) {
            out.error(new InvalidKeyError(s.name, k, value));
            return;
          }
          key = k;
          same = false;
        } else {
          nextStage = i;
          nextValue = value;
          nextKey = key;
          nextSame = same;
          // (set before each call: see StampedChainSubscriber)
          ctx.timestamp = timestamp;
          ctx.key = key;
          if (s.kind === 'filter') {
            if (!s.fn(value, ctx)) {
              kept = false;
              break;
            }
          } else {
            value = s.fn(value, ctx);
            same = false;
          }
        }
        if (out.closed) return;
      }
    } catch (err) {
      failUserFunction(out, (stages[i] as RecordStage).name, same ? e : record(value, timestamp, key), err);
      return;
    }
    if (!kept) return;
    try {
      // into a keyed operator, a record the chain would make is handed over as its fields (none made); one it passes
      // on as it came (only filters ran) stays that object
      const input = this.keyedInput;
      if (same) out.next(e);
      else if (input === undefined) out.next({ kind: 'record', value, timestamp, key });
      else if (input.stopped) input.nextStopped(value, timestamp, key);
      else input.core.nextFields(value, timestamp, key);
    } catch (err) {
      if (nextStage >= 0) failUserFunction(out, (stages[nextStage] as RecordStage).name, nextSame ? e : record(nextValue, timestamp, nextKey), err);
      else throw err;
    }
  }
}
