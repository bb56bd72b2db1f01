import { Observable, Subscriber, type Subscription } from 'rxjs';
import { TidewaterError, UserFunctionError } from '../errors/index.js';

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

/**
 * Fails `destination` with `err`, wrapping anything that is not already a {@link TidewaterError} in a
 * {@link UserFunctionError} naming the operator and the element.
 */
export function failUserFunction(destination: Subscriber<unknown>, operator: string, element: unknown, err: unknown): void {
  destination.error(err instanceof TidewaterError ? err : new UserFunctionError(operator, element, err));
}

/**
 * An operator from a body function, the way RxJS builds its own: `(source) => new Observable(...)`.
 */
export function operator<I, O>(body: (source: Observable<I>, destination: Subscriber<O>) => Subscription | (() => void) | void) {
  return (source: Observable<I>): Observable<O> => new Observable<O>((destination) => body(source, destination));
}
