import { MIN_WATERMARK } from '../elements/index.js';
import { decodeValue, encodeValue } from '../state/codec.js';

/**
 * The clocks of a keyed operator's parallel subtasks in its one snapshot (docs/SEMANTICS.md §7.1): when the subtasks
 * stood at different event times (watermarks made inside the subtasks, an idle one), the operator's `watermark` field
 * keeps each subtask's own saved clock — its watermark, and a two-input operator's inputs beside it — so that a
 * restore with the same subtasks owning the same key groups gives each subtask its own back, and any other restore
 * gives every subtask the lowest (never later than the uninterrupted run). When all subtasks stood alike the field is
 * what one subtask saves, as before this form existed.
 *
 * @internal
 */
interface SubtaskClocks {
  /** The lowest subtask's event time (what a reader of `watermark` alone takes). */
  readonly watermark: number;
  /** How many of the subtasks owned key groups (`runJob` with more sources than `parallelism` runs more copies). */
  readonly owners: number;
  /** The subtask whose clock is the lowest (an index into {@link bySubtask}). */
  readonly lowest: number;
  /** Each subtask's saved clock as one subtask saves it (a nested group's: this form again); null: MIN. */
  readonly bySubtask: unknown[];
}

function isSubtaskClocks(saved: unknown): saved is SubtaskClocks {
  return typeof saved === 'object' && saved !== null && 'bySubtask' in saved && Array.isArray(saved.bySubtask) && 'lowest' in saved && typeof saved.lowest === 'number';
}

/** The event time of a saved clock: one input saves a number, two inputs an object with it; MIN when none. */
function eventTimeOf(saved: unknown): number {
  if (typeof saved === 'number') return saved;
  return typeof saved === 'object' && saved !== null && 'watermark' in saved && typeof saved.watermark === 'number' ? saved.watermark : MIN_WATERMARK;
}

/** The clock of the lowest subtask, at the bottom of nested groups (null: MIN). */
function lowestOf(clocks: SubtaskClocks): unknown {
  let saved: unknown = clocks;
  while (isSubtaskClocks(saved)) saved = saved.bySubtask[saved.lowest] ?? null;
  return saved;
}

/**
 * The `watermark` field of a parallel keyed operator's snapshot, from its subtasks' (by subtask; undefined: MIN), of
 * which the first `owners` owned key groups: the one they share, else each one's in a {@link SubtaskClocks}.
 *
 * @example
 * ```ts
 * combineClocks(['1499', undefined], 2); // '{"watermark":{"$n":"-Infinity"},"owners":2,"lowest":1,"bySubtask":[1499,null]}'
 * combineClocks(['7', '7'], 2);          // '7'
 * ```
 *
 * @internal
 */
export function combineClocks(parts: readonly (string | undefined)[], owners: number): string | undefined {
  const first = parts[0];
  if (parts.every((p) => p === first)) return first;
  const bySubtask = parts.map((p) => (p === undefined ? null : decodeValue(p)));
  let lowest = 0;
  let watermark = Infinity;
  bySubtask.forEach((saved, i) => {
    const t = eventTimeOf(saved);
    if (t < watermark) {
      watermark = t;
      lowest = i;
    }
  });
  const clocks: SubtaskClocks = { watermark, owners, lowest, bySubtask };
  return encodeValue(clocks);
}

/**
 * The saved clock subtask `subtask` of `n` (the first `owners` owning key groups) restores from a `watermark` field
 * (`saved`: the field decoded, which every subtask reads): its own when the field holds the clocks of as many
 * subtasks, as many of them owning key groups; the lowest otherwise; the field as it is when it holds one clock
 * (undefined: MIN).
 *
 * @example
 * ```ts
 * const field = combineClocks(['1499', undefined], 2) as string;
 * clockOfSubtask(field, decodeValue(field), 0, 2, 2); // '1499'
 * clockOfSubtask(field, decodeValue(field), 0, 3, 3); // undefined (MIN: the lowest)
 * ```
 *
 * @internal
 */
export function clockOfSubtask(field: string, saved: unknown, subtask: number, n: number, owners: number): string | undefined {
  if (!isSubtaskClocks(saved)) return field;
  const own = saved.bySubtask.length === n && saved.owners === owners ? saved.bySubtask[subtask] : lowestOf(saved);
  return own === null || own === undefined ? undefined : encodeValue(own);
}

/**
 * What an operator outside parallel subtasks restores from a decoded `watermark` field: the lowest subtask's clock
 * when it holds several (a job resumed without the `parallel` it ran in), else the field as decoded.
 *
 * @example
 * ```ts
 * const saved = ownClock(decodeValue(last.watermark)); // a number, or a two-input operator's object
 * ```
 *
 * @internal
 */
export function ownClock(saved: unknown): unknown {
  if (!isSubtaskClocks(saved)) return saved;
  return lowestOf(saved) ?? MIN_WATERMARK;
}
