import { config, Observable, Subscriber, Subscription, type Observer } from 'rxjs';
import { NotAStreamElementError, TidewaterError, UserFunctionError } from '../errors/index.js';
import type { ControlElement, SideRecord, StreamElement } from './index.js';

/**
 * A side record as tidewater makes it (`ctx.output(tag, value)`, a cluster task's exchange entries, one crossing
 * back from a worker thread): a {@link SideRecord} that also remembers, out of sight, the merges it passed — so that
 * a merge passes it once (docs/SEMANTICS.md §14): a copy reaching it on another input (a stream split with RxJS
 * `connect` or `share`, merged again) or again round a feedback loop is dropped, for the cost of a field. Its fields
 * are the literal's, in its order, and deep equality (`toStrictEqual`) takes it for the plain object the docs show.
 *
 * @example
 * ```ts
 * out.next(new EmittedSideRecord('rejected', value, timestamp));
 * EmittedSideRecord.passes(e, mergeToken); // true the first time, false after; undefined: not made by tidewater
 * ```
 *
 * @internal
 */
export class EmittedSideRecord<T> implements SideRecord<T> {
  readonly kind: 'side';
  readonly tag: string;
  readonly value: T;
  readonly timestamp: number;
  /** The merges this passed (their tokens): none, one, or several (merges one after another). */
  #passed: object | object[] | undefined;
  constructor(tag: string, value: T, timestamp: number) {
    this.kind = 'side';
    this.tag = tag;
    this.value = value;
    this.timestamp = timestamp;
    this.#passed = undefined;
  }

  /** Whether `e` passes the merge of `token` (the first time it reaches it); undefined when not made by tidewater. */
  static passes(e: SideRecord<unknown>, token: object): boolean | undefined {
    if (!(#passed in e)) return undefined;
    const passed = e.#passed;
    if (passed === undefined) {
      e.#passed = token;
      return true;
    }
    if (passed === token) return false;
    if (Array.isArray(passed)) {
      if (passed.includes(token)) return false;
      passed.push(token);
      return true;
    }
    e.#passed = [passed, token];
    return true;
  }
}
// (deep equality, e.g. Vitest's and Jest's toStrictEqual, compares constructors: a side record equals its literal)
Object.defineProperty(EmittedSideRecord.prototype, 'constructor', { value: Object, writable: true, configurable: true });

/**
 * The subscriber tidewater operators subscribe upstream with: a `Subscriber` chained to the downstream one (so
 * unsubscription and `closed` propagate as in RxJS's own operators), calling the operator's handler directly for
 * each element — no `SafeSubscriber` wrapper per hop.
 */
class ElementSubscriber<I, O> extends Subscriber<I> {
  constructor(
    destination: Subscriber<O>,
    private readonly onNext: (value: I) => void,
    private readonly onComplete: (() => void) | undefined,
  ) {
    super(destination);
  }
  /**
   * Called by upstream per element. Overridden so that the hot path skips `Subscriber.prototype.next`, one function
   * shared by every subscriber of the process (its `this._next(…)` call goes megamorphic in any real app, which
   * also stops TurboFan from inlining through it). Same semantics: a stopped subscriber defers to RxJS.
   */
  override next(value: I): void {
    if (this.isStopped) super.next(value);
    else this.onNext(value);
  }
  protected override _next(value: I): void {
    this.onNext(value);
  }
  protected override _complete(): void {
    if (this.onComplete === undefined) {
      super._complete();
      return;
    }
    try {
      this.onComplete();
    } finally {
      this.unsubscribe();
    }
  }
}

/**
 * Builds an operator body: subscribes `source`, calls `next` for each element while `destination` is open,
 * forwards errors, and calls `complete` (default: complete `destination`).
 * Internal plumbing shared by every operator; no per-element allocation.
 */
export function subscribeElements<I, O>(
  source: Observable<I>,
  destination: Subscriber<O>,
  next: (value: I) => void,
  complete?: () => void,
): Subscription {
  return source.subscribe(new ElementSubscriber<I, O>(destination, next, complete));
}

/** Subscribers that take a plain value as they take an unkeyed record of it (see {@link takesPlainValues}). */
const PLAIN_VALUE_INPUTS = new WeakSet<object>();

/**
 * Marks `subscriber` as one that takes a plain value as it takes an unkeyed record of it (see {@link takesPlainValues}):
 * for a chain's own subscriber class (operators/recordChain.ts).
 *
 * @example
 * ```ts
 * const subscriber = new StampedChainSubscriber(out, stamp, head.name, stages, core);
 * markTakesPlainValues(subscriber);
 * ```
 *
 * @internal
 */
export function markTakesPlainValues(subscriber: object): void {
  PLAIN_VALUE_INPUTS.add(subscriber);
}

/**
 * Whether `subscriber` takes a plain value exactly as it takes an unkeyed record of that value — the subscriber of a
 * chain headed by `eventTime` / `ingestionTime` (operators/recordChain.ts), which stamps either anew. `runJob` then
 * pushes its sources' values as they are, without a record object each (docs/ARCHITECTURE.md, "Source → pipeline");
 * the head's errors (a throwing timestamp function or generator) then name the value, not a record of it.
 *
 * @example
 * ```ts
 * input.next(takesPlainValues(input) ? value : { kind: 'record', value, timestamp: now, key: undefined });
 * ```
 *
 * @internal
 */
export function takesPlainValues(subscriber: object): boolean {
  return PLAIN_VALUE_INPUTS.has(subscriber);
}

/**
 * Whether `e` is a watermark, a status, a barrier or a side-output record — the elements operators forward. Checked
 * on the cold path only (after `kind !== 'record'`), so that plain values piped in without `eventTime` fail instead
 * of passing through as if they were control elements.
 */
export function isControlElement(e: unknown): e is ControlElement {
  const kind = (e as { kind?: unknown } | null | undefined)?.kind;
  return kind === 'watermark' || kind === 'status' || kind === 'barrier' || kind === 'side';
}

/**
 * What a stateless operator does with an element that is not a record: forwards a control element; fails the stream
 * with a {@link NotAStreamElementError} naming `operator` for anything else.
 */
export function forwardControl<O>(operator: string, e: unknown, destination: Subscriber<StreamElement<O, unknown>>): void {
  if (isControlElement(e)) destination.next(e);
  else destination.error(new NotAStreamElementError(operator, e));
}

/**
 * Fails `destination` with `err`, wrapping anything that is not already a {@link TidewaterError} in a
 * {@link UserFunctionError} naming the operator and the element.
 */
export function failUserFunction(destination: Subscriber<unknown>, operator: string, element: unknown, err: unknown): void {
  destination.error(err instanceof TidewaterError ? err : new UserFunctionError(operator, element, err));
}

/**
 * Reports an error thrown by a consumer's callback exactly as RxJS does for `subscribe(fn)`: RxJS's own
 * `SafeSubscriber` rethrows it to its unhandled-error path (`config.onUnhandledError`, else a throw on a timeout,
 * both through RxJS's timeout provider, which `TestScheduler.run` virtualises). A cold path: errors only.
 */
function reportUnhandledError(err: unknown): void {
  try {
    new Observable<unknown>((s) => s.next(err)).subscribe((e) => {
      throw e;
    });
  } catch {
    // Reached only with `config.useDeprecatedSynchronousErrorHandling` turned on after the consumer subscribed and no
    // `subscribe` in progress: RxJS's `captureError` drops such an error too. (Inside a `subscribe`, RxJS records it
    // for that `subscribe` to throw, and so it does here: nothing is thrown at this point then.)
  }
}

/** Runs a consumer's `error` or `complete` handler; what it throws goes to {@link reportUnhandledError}. */
function reporting(handler: () => void): void {
  try {
    handler();
  } catch (e) {
    reportUnhandledError(e);
  }
}

/** A partial observer as `subscribe` receives it (any method may be missing or `undefined`). */
interface Consumer<T> {
  readonly next?: ((value: T) => void) | undefined;
  readonly error?: ((err: unknown) => void) | undefined;
  readonly complete?: (() => void) | undefined;
}

/** What a {@link ConsumerSubscriber} holds once it is closed, so that the consumer can be collected (as in RxJS). */
const RELEASED: Consumer<unknown> = Object.freeze({});

/**
 * What `Observable.subscribe` wraps a callback or a partial observer in, without the layers of RxJS's
 * `SafeSubscriber`: RxJS delivers each value through `Subscriber.prototype.next` → `_next` → a `ConsumerObserver` →
 * the callback, three calls whose call sites every subscriber of the process shares (megamorphic in any real app, so
 * not inlined). This subscriber calls the callback from its own `next`. Same semantics as `SafeSubscriber` with
 * RxJS's default config, which {@link OperatorObservable} checks before using it: a callback that throws is reported
 * to RxJS's unhandled-error path and the subscription goes on; an `error` without a handler is reported likewise;
 * after `error`/`complete` (or unsubscribe) notifications go to `config.onStoppedNotification`; the observer's
 * methods are read at each call and called with the observer as `this`; once closed it lets go of the observer.
 */
class ConsumerSubscriber<T> extends Subscriber<T> {
  constructor(private observer: Consumer<T>) {
    super();
  }
  override next(value: T): void {
    if (this.isStopped) this.stoppedNext(value);
    else this._next(value);
  }
  /** RxJS's handling of a notification after the end (`config.onStoppedNotification`). */
  private stoppedNext(value: T): void {
    super.next(value);
  }
  protected override _next(value: T): void {
    // the name is RxJS's: a `next` that is not a function fails with the same TypeError message
    const partialObserver = this.observer;
    if (partialObserver.next) {
      try {
        partialObserver.next(value);
      } catch (e) {
        reportUnhandledError(e);
      }
    }
  }
  protected override _error(err: unknown): void {
    try {
      const partialObserver = this.observer;
      if (partialObserver.error) reporting(() => (partialObserver as { error(err: unknown): void }).error(err));
      else reportUnhandledError(err);
    } finally {
      this.unsubscribe();
    }
  }
  protected override _complete(): void {
    try {
      const partialObserver = this.observer;
      if (partialObserver.complete) reporting(() => (partialObserver as { complete(): void }).complete());
    } finally {
      this.unsubscribe();
    }
  }
  override unsubscribe(): void {
    if (this.closed) return;
    super.unsubscribe();
    this.observer = RELEASED;
  }
}

const isFn = (x: unknown): x is (...args: never[]) => unknown => typeof x === 'function';

/** RxJS's own test for "already a subscriber" (`Observable.subscribe` then uses it as it is), read in its order. */
function isSubscriberLike(x: unknown): boolean {
  if (x instanceof Subscriber) return true;
  if ((typeof x !== 'object' && typeof x !== 'function') || x === null) return false;
  const o = x as Partial<Record<'next' | 'error' | 'complete' | 'closed' | 'add' | 'remove' | 'unsubscribe', unknown>>;
  return (
    isFn(o.next) &&
    isFn(o.error) &&
    isFn(o.complete) &&
    (x instanceof Subscription || ('closed' in o && isFn(o.remove) && isFn(o.add) && isFn(o.unsubscribe)))
  );
}

/** `Subscriber.prototype.next` as RxJS defines it, to notice instrumentation that patches it later. */
const RXJS_NEXT = Subscriber.prototype.next;

/**
 * Whether delivery must go through RxJS's own `SafeSubscriber`: RxJS's deprecated config is on, or something
 * instruments `Subscriber.prototype` (zone.js's `zone-patch-rxjs` re-enters the subscriber's zone there; it may have
 * patched it before this module loaded, hence the test for zone.js itself).
 */
function rxjsDelivery(): boolean {
  return (
    config.useDeprecatedNextContext ||
    config.useDeprecatedSynchronousErrorHandling ||
    Subscriber.prototype.next !== RXJS_NEXT ||
    (globalThis as { Zone?: unknown }).Zone !== undefined
  );
}

/**
 * The observable tidewater operators return. An `Observable` in every respect (`pipe`, `lift`, `forEach`, interop);
 * only `subscribe(fn)` / `subscribe(partialObserver)` wrap the consumer in a {@link ConsumerSubscriber} instead of
 * RxJS's `SafeSubscriber`, which saves three megamorphic calls per delivered element (BENCHMARKS.md, keyed-count).
 * With RxJS's deprecated `useDeprecatedNextContext` or `useDeprecatedSynchronousErrorHandling` config on, with
 * zone.js loaded or `Subscriber.prototype.next` patched, or given a `Subscriber`, it subscribes exactly as RxJS does.
 *
 * @example
 * ```ts
 * const out$ = new OperatorObservable<number>((s) => { s.next(1); s.complete(); });
 * out$.subscribe((v) => console.log(v)); // 1 — a throw in the callback goes to config.onUnhandledError, as in RxJS
 * ```
 *
 * @internal
 */
export class OperatorObservable<T> extends Observable<T> {
  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void)): Subscription;
  /** @deprecated Instead of passing separate callback arguments, use an observer argument (as in RxJS). */
  override subscribe(next?: ((value: T) => void) | null, error?: ((error: unknown) => void) | null, complete?: (() => void) | null): Subscription;
  override subscribe(
    observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    if (rxjsDelivery() || isSubscriberLike(observerOrNext)) {
      return super.subscribe(observerOrNext as ((value: T) => void) | null | undefined, error, complete);
    }
    const observer: Consumer<T> =
      typeof observerOrNext === 'function' || !observerOrNext
        ? { next: observerOrNext ?? undefined, error: error ?? undefined, complete: complete ?? undefined }
        : observerOrNext;
    return super.subscribe(new ConsumerSubscriber<T>(observer));
  }
}

/**
 * An operator from a body function, the way RxJS builds its own: `(source) => new Observable(...)` (an
 * {@link OperatorObservable}).
 */
export function operator<I, O>(body: (source: Observable<I>, destination: Subscriber<O>) => Subscription | (() => void) | void) {
  return (source: Observable<I>): Observable<O> => new OperatorObservable<O>((destination) => body(source, destination));
}
