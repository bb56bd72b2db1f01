import type { OperatorFunction } from 'rxjs';
import type { StreamElement } from '../src/elements/index.js';
import { isControlElement, operator, subscribeElements } from '../src/elements/plumbing.js';
import { NotAStreamElementError } from '../src/errors/index.js';

/**
 * Leaves tidewater: emits each record's value as a plain value and drops control elements. A value that is not a
 * stream element fails the stream with a `NotAStreamElementError`.
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
      if (e?.kind === 'record') out.next(e.value);
      else if (!isControlElement(e)) out.error(new NotAStreamElementError('values', e));
    }),
  );
}
