import { MIN_WATERMARK } from '../elements/index.js';
import { decodeValue, encodeValue } from '../state/codec.js';

/**
 * The clocks of a keyed operator's parallel subtasks in its one snapshot (docs/SEMANTICS.md §7.1): when the subtasks
 * stood at different event times (watermarks made inside the subtasks, an idle one), the operator's `watermark` field
 * keeps each subtask's own saved clock — its watermark, and a two-input operator's inputs beside it — so that a
 * restore at the same parallelism gives each subtask its own back, and a restore at another parallelism gives every
 * subtask the lowest (never later than the uninterrupted run). When all subtasks stood alike the field is what one
 * subtask saves, as before this form existed.
 *
 * @internal
 */
interface SubtaskClocks {
  /** The lowest subtask's event time (what a reader of `watermark` alone takes). */
  readonly watermark: number;
  /** The saved clock of the lowest subtask, as one subtask saves it (never this form again); null: MIN. */
  readonly lowest: string | null;
  /** Each subtask's saved clock, by subtask (a nested group's: this form again); null: MIN. */
  readonly bySubtask: (string | null)[];
}

function isSubtaskClocks(saved: unknown): saved is SubtaskClocks {
  return typeof saved === 'object' && saved !== null && 'bySubtask' in saved && Array.isArray(saved.bySubtask);
}

/** The event time a saved clock holds: one input saves a number, two inputs an object with it; MIN when none. */
function eventTimeOf(saved: string | undefined): number {
  if (saved === undefined) return MIN_WATERMARK;
  const decoded = decodeValue(saved) as number | { readonly watermark: number };
  return typeof decoded === 'number' ? decoded : decoded.watermark;
}

/**
 * The `watermark` field of a parallel keyed operator's snapshot, from its subtasks' (by subtask; undefined: MIN): the
 * one they share, else each one's in a {@link SubtaskClocks}.
 *
 * @example
 * ```ts
 * combineClocks(['1499', undefined]); // '{"watermark":{"$n":"-Infinity"},"lowest":null,"bySubtask":["1499",null]}'
 * combineClocks(['7', '7']);          // '7'
 * ```
 *
 * @internal
 */
export function combineClocks(parts: readonly (string | undefined)[]): string | undefined {
  const first = parts[0];
  if (parts.every((p) => p === first)) return first;
  let lowestAt = 0;
  let lowest = Infinity;
  parts.forEach((p, i) => {
    const t = eventTimeOf(p);
    if (t < lowest) {
      lowest = t;
      lowestAt = i;
    }
  });
  const atLowest = parts[lowestAt];
  const decoded = atLowest === undefined ? undefined : decodeValue(atLowest);
  const clocks: SubtaskClocks = {
    watermark: lowest,
    lowest: isSubtaskClocks(decoded) ? decoded.lowest : (atLowest ?? null),
    bySubtask: parts.map((p) => p ?? null),
  };
  return encodeValue(clocks);
}

/**
 * The saved clock subtask `subtask` of `n` restores from a `watermark` field: its own when the field holds the
 * clocks of `n` subtasks, the lowest when it holds another number's; the field as it is otherwise (undefined: MIN).
 *
 * @example
 * ```ts
 * clockOfSubtask(combineClocks(['1499', undefined]), 0, 2); // '1499'
 * clockOfSubtask(combineClocks(['1499', undefined]), 0, 3); // undefined (MIN: the lowest)
 * ```
 *
 * @internal
 */
export function clockOfSubtask(field: string | undefined, subtask: number, n: number): string | undefined {
  if (field === undefined) return undefined;
  const saved = decodeValue(field);
  if (!isSubtaskClocks(saved)) return field;
  const own = saved.bySubtask.length === n ? saved.bySubtask[subtask] : saved.lowest;
  return own ?? undefined;
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
  return saved.lowest === null ? MIN_WATERMARK : decodeValue(saved.lowest);
}
