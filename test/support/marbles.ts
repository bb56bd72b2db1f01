import { configure } from 'rxjs-marbles';
import { expect } from 'vitest';

/** rxjs-marbles for vitest (run mode: asyncScheduler time is virtual inside `marbles`). */
export const { marbles } = configure({
  assert: (v: unknown, m: string) => expect(v, m).toBeTruthy(),
  assertDeepEqual: (a: unknown, e: unknown) => expect(a).toStrictEqual(e),
  frameworkMatcher: true,
});
