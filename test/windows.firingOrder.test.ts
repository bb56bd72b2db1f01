// The slicing operator's firing order within one event time (src/windows/slicingWindowOperator.ts, firingOrder): ascending
// sequence number, ties by position — the comparator sort's order, by a numeric sort of packed numbers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firingOrder } from '../src/windows/slicingWindowOperator.js';

const byComparator = (os: readonly number[]) => Array.from({ length: os.length }, (_, i) => i).sort((x, y) => (os[x] as number) - (os[y] as number) || x - y);

describe('firingOrder', () => {
  it('is the comparator sort, ties by position (property; small and huge sequence numbers)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -1, max: 50 }), fc.integer({ min: -1, max: 2 ** 40 })), { maxLength: 300 }), (os) => {
        expect(Array.from(firingOrder(os, os.length))).toStrictEqual(byComparator(os));
      }),
      { numRuns: 300 },
    );
  });

  it('only the first len entries count', () => {
    expect(Array.from(firingOrder([5, 3, 4, 0, 0], 3))).toStrictEqual([1, 2, 0]);
  });
});
