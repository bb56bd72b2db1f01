import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { TidewaterError, UserFunctionError } from '../errors/index.js';

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
  return source.subscribe({
    next(value) {
      if (!destination.closed) next(value);
    },
    error(err: unknown) {
      destination.error(err);
    },
    complete: complete ?? (() => destination.complete()),
  });
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
