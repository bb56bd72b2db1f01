import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { operator, subscribeElements } from '../src/elements/plumbing.js';

/**
 * Leaves tidewater: emits each record's value as a plain value and drops control elements.
 *
 * @example
 * ```ts
 * import { values } from 'tidewater/operators';
 *
 * pipeline$.pipe(values()).subscribe((v) => console.log(v));
 * ```
 */
export function values<T>(): OperatorFunction<StreamElement<T, unknown>, T> {
  return operator<StreamElement<T, unknown>, T>((source, out) =>
    subscribeElements(source, out, (e) => {
      if (e.kind === 'record') out.next(e.value);
    }),
  );
}
