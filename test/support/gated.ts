import { fromAsyncIterable, type Source } from '../../src/index.js';

/**
 * A replayable async source of `values` whose first opening stops before index `gateAt` until `open()` is called
 * (never, if it isn't); later openings (restores) run straight through. `reached` resolves at the gate.
 */
export function gated<T>(values: readonly T[], gateAt: number): { source: Source<T>; reached: Promise<void>; open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let reached!: () => void;
  const atGate = new Promise<void>((r) => (reached = r));
  let first = true;
  const source = fromAsyncIterable(async function* () {
    const gateHere = first;
    first = false;
    for (let i = 0; i < values.length; i++) {
      if (gateHere && i === gateAt) {
        reached();
        await gate;
      }
      yield values[i] as T;
    }
  });
  return { source, reached: atGate, open };
}
