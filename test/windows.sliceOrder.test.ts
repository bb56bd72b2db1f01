// The slicing window operator's live slices in ascending index, in blocks (src/windows/sliceOrder.ts), against a
// sorted array: inserts in order, in reverse and at random (splitting blocks), drops from the front (whole blocks and
// part of one), and the search for the first slice at or after an index.
import { describe, expect, it } from 'vitest';
import { SLICE_BLOCK, SliceOrder } from '../src/windows/sliceOrder.js';
import { seededRandom } from './support/seeded.js';

type S = { readonly index: number };

/** Checks `order` against the ascending `model`: its slices, its blocks' sizes, and the search at `probes`. */
function check(order: SliceOrder<S>, model: readonly number[], probes: readonly number[]): void {
  expect([...order].map((s) => s.index)).toStrictEqual(model);
  expect(order.length).toBe(model.length);
  expect(order.first()?.index).toBe(model[0]);
  for (const block of order.blocks) {
    expect(block.length).toBeGreaterThan(0);
    expect(block.length).toBeLessThanOrEqual(2 * SLICE_BLOCK);
  }
  for (const p of probes) {
    const want = model.findIndex((x) => x >= p);
    const b = order.blockOf(p);
    if (want < 0) {
      expect(b, `probe ${p}`).toBe(order.blocks.length);
      continue;
    }
    const got = (order.blocks[b] as S[])[order.offsetIn(b, p)];
    expect(got?.index, `probe ${p}`).toBe(model[want]);
  }
}

describe('SliceOrder', () => {
  for (const [name, next] of [
    ['ascending', (i: number) => i],
    ['descending', (i: number) => 1_000_000 - i],
    ['random', undefined],
  ] as const) {
    it(`${name} inserts with drops from the front read back as a sorted array`, () => {
      for (let seed = 1; seed <= 4; seed++) {
        const rnd = seededRandom(seed);
        const order = new SliceOrder<S>();
        let model: number[] = [];
        const used = new Set<number>();
        let splits = 0;
        for (let op = 0; op < 3_000; op++) {
          const blocks = order.blocks.length;
          if (rnd(150) > 0 || model.length === 0) {
            let index = next === undefined ? rnd(1_000_000) : next(op);
            while (used.has(index)) index = rnd(1_000_000);
            used.add(index);
            order.insert({ index });
            if (order.blocks.length > blocks && model.length > 0 && index < (model[model.length - 1] as number)) splits++;
            model.push(index);
            model.sort((a, b) => a - b);
          } else {
            // a few slices, or a block and more
            const k = Math.min(model.length, [1, 3, SLICE_BLOCK, SLICE_BLOCK + 7][rnd(4)] as number);
            order.dropFirst(k);
            model = model.slice(k);
          }
          if (op % 97 === 0 || op === 2_999) {
            const probes = [-1, 1_000_001, ...model.filter((_, i) => i % 37 === 0), ...model.filter((_, i) => i % 41 === 0).map((x) => x + 1)];
            check(order, model, probes);
          }
        }
        // (blocks split by inserts in their middle where the order is not ascending)
        if (name !== 'ascending') expect(splits, name).toBeGreaterThan(0);
      }
    });
  }
});
