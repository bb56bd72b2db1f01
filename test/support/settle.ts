import type { ManualScheduler } from '../../testing/index.js';

/**
 * For a job on a virtual clock: runs what is due now, then lets promises (store writes) settle, a few times over.
 *
 * @example
 * ```ts
 * const settle = settler(clock);
 * input.next('a');
 * await settle();
 * ```
 */
export function settler(clock: ManualScheduler): () => Promise<void> {
  return async () => {
    for (let i = 0; i < 10; i++) {
      clock.advanceBy(0);
      await new Promise((r) => setTimeout(r, 0));
    }
  };
}
