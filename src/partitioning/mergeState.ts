import type { Subscriber } from 'rxjs';
import { PackedSnapshot, type OperatorSnapshot } from '../checkpoints/snapshot.js';
import { runtimeOf, type OperatorRuntime, type PlaceKind, type StatefulOperatorInstance } from '../core/runtime.js';
import { clockOfSubtask } from '../checkpoints/subtaskClocks.js';
import { decodeValue, encodeValue } from '../state/codec.js';
import type { WatermarkCombiner } from './valve.js';

/**
 * What a merge's snapshot holds (its `watermark` field, encoded): the output watermark and the valve's inputs
 * (`merge: 1` marks it; snapshots written before the mark have `inputs` only). A merge in parallel subtasks saves one
 * of these per subtask ({@link combineMergeSnapshots}); a restore that cannot tell each input's watermark (another
 * parallelism, another layout) gets {@link AtWatermark}.
 */
interface SavedMerge {
  readonly watermark: number;
  readonly inputs: number[];
  readonly merge?: 1;
}
/** The merge snapshots of a parallel pipeline's subtasks, by subtask: one per subtask, each a SavedMerge or again this. */
interface SavedSubtaskMerges {
  readonly watermark: number;
  readonly subtasks: (SavedMerge | SavedSubtaskMerges)[];
}
/** Every input at `watermark`, active: what a restore knows when the checkpoint's inputs were others. */
interface AtWatermark {
  readonly watermark: number;
  readonly atWatermark: 1;
}
type SavedState = SavedMerge | SavedSubtaskMerges | AtWatermark;

/** The names given so far in runtimes that do not name merges themselves, by kind: the next one's number. */
const placesTaken = new WeakMap<OperatorRuntime, Map<PlaceKind, number>>();

/**
 * The checkpoint name of the next merge or `parallel` group subscribed in `runtime` (see
 * {@link OperatorRuntime.placeName}): the runtime's own, or else `<kind>@<k>`, counted here per runtime.
 *
 * @example
 * ```ts
 * const name = nextPlaceName(runtime, 'union'); // union@0, union@1, … in subscription order
 * ```
 *
 * @internal
 */
export function nextPlaceName(runtime: OperatorRuntime, kind: PlaceKind): string {
  if (runtime.placeName !== undefined) return runtime.placeName(kind);
  let places = placesTaken.get(runtime);
  if (places === undefined) placesTaken.set(runtime, (places = new Map()));
  const place = places.get(kind) ?? 0;
  places.set(kind, place + 1);
  return `${kind}@${place}`;
}

/** Whether a runtime keeps merges in its checkpoints: one that takes checkpoints and registers operators. */
function keepsMerges(runtime: OperatorRuntime | undefined): runtime is OperatorRuntime & { register: NonNullable<OperatorRuntime['register']> } {
  return runtime !== undefined && runtime.checkpointed === true && runtime.register !== undefined;
}

/** The merges a parallel pipeline makes itself (named after their group), which come and go with the parallelism. */
const MADE_BY_PARALLELISM = /\/(outputs|keyBy@\d+|broadcast@\d+)$/;

/**
 * Whether a merge's name says parallelism made it (`<group>/outputs`, `<group>/keyBy@<k>`, `<group>/broadcast@<k>`),
 * not the pipeline (`union@<k>`, `<group>/union@<k>`).
 *
 * @example
 * ```ts
 * madeByParallelism('runJob/keyBy@0'); // true
 * madeByParallelism('union@0');        // false
 * ```
 *
 * @internal
 */
export function madeByParallelism(name: string): boolean {
  return MADE_BY_PARALLELISM.test(name);
}

/**
 * Whether snapshot `s` is a merge's (no keyed state, its valve in `watermark`); and of those, whether parallelism made
 * it (`<group>/outputs`, `<group>/keyBy@<k>`, `<group>/broadcast@<k>`: a run at another parallelism may lack it).
 *
 * @example
 * ```ts
 * mergeSnapshotKind(snapshot); // 'parallelism' | 'pipeline' | undefined (not a merge)
 * ```
 *
 * @internal
 */
export function mergeSnapshotKind(s: OperatorSnapshot): 'parallelism' | 'pipeline' | undefined {
  if (s.watermark === undefined || s.entries.length > 0 || (s instanceof PackedSnapshot && s.count > 0)) return undefined;
  let saved: unknown;
  try {
    saved = decodeValue(s.watermark);
  } catch {
    return undefined;
  }
  if (typeof saved !== 'object' || saved === null) return undefined;
  const merge =
    ('merge' in saved && saved.merge === 1) ||
    ('subtasks' in saved && Array.isArray(saved.subtasks)) ||
    // (a merge's snapshot written before the mark)
    (/^union@\d+$/.test(s.operator) && 'inputs' in saved && Array.isArray(saved.inputs) && !('operator' in saved));
  if (!merge) return undefined;
  return madeByParallelism(s.operator) ? 'parallelism' : 'pipeline';
}

/**
 * A merge's valve in checkpoints (docs/SEMANTICS.md §2.4, §2.6, §8): in a runtime that takes checkpoints, each merge
 * is a stateful operator of its own without keyed state — a merge the pipeline writes (`mergeStreams`, `union`,
 * `unionWith`) named `union@<k>` by its place among the runtime's merges in subscription order (inside parallel
 * subtasks `<group>/union@<k>`, counted in the subtask), and the merges a parallel pipeline makes named after their
 * group (`<group>/outputs`, `<group>/keyBy@<k>`, `<group>/broadcast@<k>`). Its snapshot, taken as a barrier leaves
 * the merge, is what the valve knows of its inputs (each one's watermark and idleness); a restore gives that back, so
 * that the restored merge combines its inputs as the uninterrupted run does — not from every input at
 * `MIN_WATERMARK`, which let an input that was behind hold nothing back and an input that had moved on count for
 * nothing, until each sent a watermark again. A merge of a parallel group restored at another parallelism starts
 * each input at the merge's lowest saved watermark: never later than the uninterrupted run.
 *
 * @internal
 */
export class MergeInstance implements StatefulOperatorInstance {
  readonly stateEntries = 0;
  readonly isMerge = true;

  private constructor(
    readonly name: string,
    private readonly valve: WatermarkCombiner,
    private readonly maxParallelism: number,
    private readonly runtime: OperatorRuntime,
    /** A merge the pipeline wrote (`union@<k>`, `<group>/union@<k>`), not parallelism: another number of inputs is another merge. */
    private readonly written: boolean,
  ) {}

  /**
   * The merge's instance in the runtime of `destination` — registered, and its valve restored from the runtime's
   * snapshot — or undefined without a runtime that keeps merges in checkpoints (or one that refuses operators
   * subscribed after it started: a merge inside a higher-order operator keeps no state, as before merges had any).
   * `name`: a merge a parallel pipeline makes (else the pipeline's own, `union@<place>`).
   */
  static of(destination: Subscriber<unknown>, valve: WatermarkCombiner, name?: string): MergeInstance | undefined {
    const runtime = runtimeOf(destination);
    if (!keepsMerges(runtime)) return undefined;
    const instance = new MergeInstance(name ?? nextPlaceName(runtime, 'union'), valve, runtime.maxParallelism ?? 128, runtime, name === undefined);
    try {
      runtime.register(instance);
    } catch {
      return undefined;
    }
    const snapshots = runtime.restoreFor?.(instance.name);
    const last = snapshots?.[snapshots.length - 1];
    if (last?.watermark !== undefined) instance.restore(decodeValue(last.watermark) as SavedState | number);
    return instance;
  }

  private restore(saved: SavedState | number): void {
    if (typeof saved !== 'object' || saved === null) return;
    if ('inputs' in saved && Array.isArray(saved.inputs)) {
      if (saved.inputs.length === this.valve.state().length) {
        this.valve.restore(saved.inputs);
        return;
      }
      // (a merge parallelism makes, at another parallelism: its inputs are the subtasks, as many as there are)
      if (!this.written) {
        if (typeof saved.watermark === 'number') this.valve.restoreAt(saved.watermark);
        return;
      }
      // (a merge of another number of streams under this name: its inputs are not these; said, and started afresh)
      this.runtime.warn?.(
        this.name,
        `${this.name}: the checkpoint's merge at this place combined another number of streams; this one starts with every input at MIN_WATERMARK ` +
          '(lateness right after the restore may differ from an uninterrupted run). Merge the same streams as before to restore it.',
      );
      return;
    }
    if (typeof saved.watermark === 'number') this.valve.restoreAt(saved.watermark);
  }

  /** A barrier leaves the merge: the runtime takes its snapshot now (the valve as the barrier found it). */
  barrier(checkpointId: number): void {
    this.runtime.onBarrier?.(this, checkpointId);
  }

  snapshot(): OperatorSnapshot {
    const saved: SavedMerge = { watermark: this.valve.outputWatermark, inputs: this.valve.state(), merge: 1 };
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

/**
 * The snapshot of a merge running in each of a parallel pipeline's subtasks: the subtasks' valves side by side (a
 * merge's inputs are its subtask's, not found by key group), the watermark the lowest of theirs.
 *
 * @example
 * ```ts
 * combineMergeSnapshots('runJob/keyBy@0', [subtask0.snapshot(), subtask1.snapshot()]);
 * ```
 *
 * @internal
 */
export function combineMergeSnapshots(name: string, parts: readonly OperatorSnapshot[]): OperatorSnapshot {
  const subtasks = parts.map((p) => (p.watermark === undefined ? undefined : (decodeValue(p.watermark) as SavedState | number)));
  let watermark = Infinity;
  for (const s of subtasks) watermark = Math.min(watermark, typeof s === 'object' && s !== null ? s.watermark : -Infinity);
  const saved: SavedSubtaskMerges = { watermark, subtasks: subtasks as (SavedMerge | SavedSubtaskMerges)[] };
  return { operator: name, full: true, maxParallelism: parts[0]?.maxParallelism ?? 128, watermark: encodeValue(saved), entries: [] };
}

/** The `watermark` fields {@link subtaskSnapshots} decoded, by snapshot. */
const decodedWatermarks = new WeakMap<OperatorSnapshot, unknown>();

/**
 * The snapshots of an operator as subtask `subtask` of `n` (the first `owners` owning key groups) restores them: a
 * merge's own part of its group's snapshot (see {@link combineMergeSnapshots}) when the checkpoint had `n` subtasks
 * too, else every input at the merge's lowest watermark (another parallelism); a keyed operator's with its own clock,
 * or the lowest when the subtasks or their key groups were others (src/checkpoints/subtaskClocks.ts; its state is
 * found by key group). (A merge inside subtasks is named after its group, `<group>/…`, so no merge saved outside
 * them reaches here.)
 *
 * @example
 * ```ts
 * restoreFor(name) { return subtaskSnapshots(parent.restoreFor(name), this.subtask, this.group.n, this.group.owners); }
 * ```
 *
 * @internal
 */
export function subtaskSnapshots(snapshots: readonly OperatorSnapshot[] | undefined, subtask: number, n: number, owners: number): readonly OperatorSnapshot[] | undefined {
  const last = snapshots?.[snapshots.length - 1];
  if (snapshots === undefined || last?.watermark === undefined) return snapshots;
  // (decoded once for all the subtasks restoring from it)
  let saved = decodedWatermarks.get(last) as SavedState | number | undefined;
  if (saved === undefined) decodedWatermarks.set(last, (saved = decodeValue(last.watermark) as SavedState | number));
  let own: string | undefined;
  if (typeof saved === 'object' && saved !== null && 'subtasks' in saved && Array.isArray(saved.subtasks)) {
    const part = saved.subtasks[subtask];
    own = encodeValue(saved.subtasks.length === n && part !== undefined ? part : { watermark: saved.watermark, atWatermark: 1 });
  } else {
    own = clockOfSubtask(last.watermark, saved, subtask, n, owners);
    if (own === last.watermark) return snapshots;
  }
  const mine: OperatorSnapshot =
    last instanceof PackedSnapshot
      ? last.withWatermark(own)
      : { operator: last.operator, full: last.full, maxParallelism: last.maxParallelism, ...(own !== undefined ? { watermark: own } : {}), entries: last.entries };
  return [...snapshots.slice(0, -1), mine];
}
