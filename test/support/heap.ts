// The heap after full collections, for tests that check what operators keep (test/retention.node.test.ts,
// test/windows.retention.node.test.ts). Node only.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** A full garbage collection, now. */
export const gc = runInNewContext('gc') as () => void;

/** Resolves after `ms` ms (0: the next turn of the event loop). */
export const turn = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The bytes in use after the pending turns ran and two full collections: the JavaScript heap and the array buffers
 * (typed arrays' storage lies outside the heap).
 */
export async function heapAfterGc(): Promise<number> {
  await turn();
  gc();
  await turn(5);
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}
