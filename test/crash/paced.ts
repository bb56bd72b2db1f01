import type { Source } from '../../src/index.js';

/**
 * Paces a source like a live feed: each read waits for a timer first (≈ 1 ms), so a run covers many checkpoints
 * whatever the speed of the machine, and the kills of the crash tests land between them.
 */
export function paced<T>(source: Source<T>): Source<T> {
  return {
    description: `paced(${source.description})`,
    async open(offset, context) {
      const inner = await source.open(offset, context);
      return {
        read: async (max) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          return inner.read(max);
        },
        offset: () => inner.offset(),
        close: () => inner.close(),
      };
    },
  };
}
