import type { Subscriber } from 'rxjs';
import type { OperatorSnapshot } from '../checkpoints/snapshot.js';
import { runtimeOf, type OperatorRuntime, type StatefulOperatorInstance } from '../core/runtime.js';
import { decodeValue, encodeValue } from '../state/codec.js';
import type { WatermarkCombiner } from './valve.js';

/** What a merge's snapshot holds (its `watermark` field, encoded): the output watermark and the valve's inputs. */
interface SavedMerge {
  readonly watermark: number;
  readonly inputs: number[];
}

/** The merges subscribed so far in each runtime: the next one's place, which names it in checkpoints. */
const mergesSubscribed = new WeakMap<OperatorRuntime, number>();

/**
 * A merge's valve in checkpoints (docs/SEMANTICS.md §2.4, §8): in a runtime that takes checkpoints, each merge the
 * pipeline writes (`mergeStreams`, `union`, `unionWith`) is a stateful operator of its own,
 * named `union@<k>` by its place among the runtime's merges in subscription order, without keyed state. Its snapshot,
 * taken as a barrier leaves the merge, is what the valve knows of its inputs (each one's watermark and idleness); a
 * restore gives that back, so that the restored merge combines its inputs as the uninterrupted run does — not from
 * every input at `MIN_WATERMARK`, which let an input that was behind hold nothing back and an input that had moved on
 * count for nothing, until each sent a watermark again.
 *
 * @internal
 */
export class MergeInstance implements StatefulOperatorInstance {
  readonly stateEntries = 0;

  private constructor(
    readonly name: string,
    private readonly valve: WatermarkCombiner,
    private readonly maxParallelism: number,
    private readonly runtime: OperatorRuntime,
  ) {}

  /**
   * The merge's instance in the runtime of `destination` — registered, and its valve restored from the runtime's
   * snapshot — or undefined without a runtime that takes checkpoints (or one that refuses operators subscribed after it
   * started: a merge inside a higher-order operator keeps no state, as before merges had any).
   */
  static of(destination: Subscriber<unknown>, valve: WatermarkCombiner): MergeInstance | undefined {
    const runtime = runtimeOf(destination);
    if (runtime === undefined || runtime.checkpointed !== true || runtime.register === undefined) return undefined;
    // (not yet inside parallel subtasks or cluster stages, whose runtimes have an exchange: their merges would need
    // names unique across the subtasks' and the outer runtime's; they start from MIN after a restore, as before)
    if (runtime.exchange !== undefined) return undefined;
    const place = mergesSubscribed.get(runtime) ?? 0;
    mergesSubscribed.set(runtime, place + 1);
    const instance = new MergeInstance(`union@${place}`, valve, runtime.maxParallelism ?? 128, runtime);
    try {
      runtime.register(instance);
    } catch {
      return undefined;
    }
    const snapshots = runtime.restoreFor?.(instance.name);
    const last = snapshots?.[snapshots.length - 1];
    if (last?.watermark !== undefined) {
      const saved = decodeValue(last.watermark) as SavedMerge | number;
      if (typeof saved === 'object' && saved !== null && Array.isArray(saved.inputs)) {
        // (a merge of another number of streams under this name: its inputs are not these; said, and started afresh)
        if (saved.inputs.length === valve.state().length) valve.restore(saved.inputs);
        else {
          runtime.warn?.(
            instance.name,
            `${instance.name}: the checkpoint's merge at this place combined another number of streams; this one starts with every input at MIN_WATERMARK ` +
              '(lateness right after the restore may differ from an uninterrupted run). Merge the same streams as before to restore it.',
          );
        }
      }
    }
    return instance;
  }

  /** A barrier leaves the merge: the runtime takes its snapshot now (the valve as the barrier found it). */
  barrier(checkpointId: number): void {
    this.runtime.onBarrier?.(this, checkpointId);
  }

  snapshot(): OperatorSnapshot {
    const saved: SavedMerge = { watermark: this.valve.outputWatermark, inputs: this.valve.state() };
    return { operator: this.name, full: true, maxParallelism: this.maxParallelism, watermark: encodeValue(saved), entries: [] };
  }

  get watermark(): number {
    return this.valve.outputWatermark;
  }

  peekState(): unknown {
    return undefined;
  }

  keys(): unknown[] {
    return [];
  }

  timersOf(): [domain: 'event' | 'processing', timestamp: number, namespace: string | number][] {
    return [];
  }

  metrics(): Record<string, number> {
    return { stateEntries: 0 };
  }
}
