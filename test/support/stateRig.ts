import { type StateDescriptor, type StateHandles } from '../../src/index.js';
import { process } from '../../operators/index.js';
import { harness, type Harness } from '../../testing/index.js';

/**
 * A process operator whose records are functions over the key's state handles: `rig.run(s => s.count.get())`
 * runs that function for key `k` (default 'k') and returns what it returned. Processing time is the harness clock.
 */
export interface Rig<S extends Record<string, StateDescriptor>> {
  run<X>(op: (s: StateHandles<S>) => X, key?: string): X;
  at(processingTime: number): Rig<S>;
  readonly h: Harness<(s: StateHandles<S>) => unknown, string, unknown>;
}

export function stateRig<S extends Record<string, StateDescriptor>>(state: S, name = 'rig'): Rig<S> {
  type Op = (s: StateHandles<S>) => unknown;
  const h = harness(
    process<Op, string, unknown, S>({
      name,
      state,
      onElement(op, ctx) {
        ctx.emit(op(ctx.state));
      },
    }),
  );
  return rigOf(h);
}

export function rigOf<S extends Record<string, StateDescriptor>>(h: Harness<(s: StateHandles<S>) => unknown, string, unknown>): Rig<S> {
  const rig: Rig<S> = {
    h,
    run<X>(op: (s: StateHandles<S>) => X, key = 'k'): X {
      h.record(op as (s: StateHandles<S>) => unknown, 0, key);
      if (h.error !== undefined) throw h.error;
      const recs = h.records();
      return recs[recs.length - 1]?.value as X;
    },
    at(t: number) {
      h.setProcessingTime(t);
      return rig;
    },
  };
  return rig;
}
