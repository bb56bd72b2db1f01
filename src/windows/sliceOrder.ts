/**
 * The live slices of a slicing window operator in ascending index (`src/windows/slicingWindowOperator.ts`), in blocks
 * of at most {@link SLICE_BLOCK}: a slice made out of order (a record older than every open slice's — a backfill
 * newest-first, a replay in random order) moves one block, not every slice, and slices that are done leave from the
 * front a block at a time. A position is a block and an offset in it.
 *
 * @internal
 */

/** Most slices a block holds after a split (a block that grows past twice this is split in two). @internal */
export const SLICE_BLOCK = 256;

/**
 * Slices in ascending `index`, in blocks.
 *
 * @example
 * ```ts
 * const order = new SliceOrder<{ index: number }>();
 * order.insert({ index: 5 });
 * order.insert({ index: 2 }); // out of order: into its block
 * order.first()?.index;       // 2
 * ```
 * @internal
 */
export class SliceOrder<S extends { readonly index: number }> {
  /** the blocks, each non-empty and ascending, block after block */
  blocks: S[][] = [];
  private count = 0;

  /** Number of slices. */
  get length(): number {
    return this.count;
  }

  /** The slice of the lowest index, if any. */
  first(): S | undefined {
    return this.blocks[0]?.[0];
  }

  /** Adds a slice whose index no slice here has: appended when it is the newest (the common case), else in its place. */
  insert(s: S): void {
    const blocks = this.blocks;
    this.count++;
    const last = blocks[blocks.length - 1];
    if (last === undefined) {
      blocks.push([s]);
      return;
    }
    if ((last[last.length - 1] as S).index < s.index) {
      if (last.length < SLICE_BLOCK) last.push(s);
      else blocks.push([s]);
      return;
    }
    // the first block whose last slice comes after s, and in it the first slice that does
    const b = this.blockOf(s.index);
    const block = blocks[b] as S[];
    block.splice(this.offsetIn(b, s.index), 0, s);
    if (block.length > 2 * SLICE_BLOCK) blocks.splice(b + 1, 0, block.splice(SLICE_BLOCK));
  }

  /** The first block whose last slice's index is at least `index` (`blocks.length` when none is). */
  blockOf(index: number): number {
    const blocks = this.blocks;
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = blocks[mid] as S[];
      if ((block[block.length - 1] as S).index < index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The offset in block `b` (from {@link blockOf}) of its first slice whose index is at least `index`. */
  offsetIn(b: number, index: number): number {
    const block = this.blocks[b] as S[];
    let lo = 0;
    let hi = block.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((block[mid] as S).index < index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops the first `n` slices (at most {@link length}). */
  dropFirst(n: number): void {
    const blocks = this.blocks;
    this.count -= n;
    let whole = 0;
    while (whole < blocks.length && n >= (blocks[whole] as S[]).length) n -= (blocks[whole++] as S[]).length;
    if (whole > 0) blocks.splice(0, whole);
    if (n > 0) (blocks[0] as S[]).splice(0, n);
  }

  /** Every slice, ascending. */
  *[Symbol.iterator](): IterableIterator<S> {
    for (const block of this.blocks) yield* block;
  }
}
