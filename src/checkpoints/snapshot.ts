/**
 * One entry of an operator's snapshot: a piece of keyed state (or a key's timers) in one key group.
 * `value` is the encoded state; `undefined` means "deleted since the previous snapshot".
 *
 * @example
 * ```ts
 * const e: SnapshotEntry = { keyGroup: 41, path: '["s","count","","\\"key1\\""]', value: '[3]' };
 * ```
 */
export interface SnapshotEntry {
  readonly keyGroup: number;
  /** Identifies the entry inside the operator: kind, state name, namespace and encoded key. */
  readonly path: string;
  readonly value: string | undefined;
}

/**
 * A stateful operator's snapshot: every entry (`full`) or only what changed since the previous snapshot.
 *
 * @example
 * ```ts
 * const snap: OperatorSnapshot = h.snapshot();
 * snap.entries.length;
 * ```
 */
export interface OperatorSnapshot {
  /** The operator's stable name (its `name`, or its position). */
  readonly operator: string;
  /** True when `entries` is the whole state; false when it is a delta on the previous snapshot. */
  readonly full: boolean;
  readonly maxParallelism: number;
  /**
   * The operator's event-time clock (its current watermark) when the snapshot was taken, encoded with the state
   * codec (so MIN/MAX survive JSON). Restored with the state so that lateness decisions after a restore are the
   * ones an uninterrupted run makes; undefined = MIN.
   */
  readonly watermark?: string;
  readonly entries: readonly SnapshotEntry[];
}

/**
 * Folds a full snapshot and the deltas after it into one full snapshot (what a store materialises on restore).
 *
 * @example
 * ```ts
 * const whole = mergeSnapshots([first, delta1, delta2]);
 * ```
 */
export function mergeSnapshots(snapshots: readonly OperatorSnapshot[]): OperatorSnapshot {
  const first = snapshots[0];
  if (first === undefined) throw new Error('mergeSnapshots: no snapshots given');
  const table = new Map<string, { keyGroup: number; value: string }>();
  let full = false;
  for (const s of snapshots) {
    if (s.full) {
      table.clear();
      full = true;
    }
    for (const e of s.entries) {
      if (e.value === undefined) table.delete(e.path);
      else table.set(e.path, { keyGroup: e.keyGroup, value: e.value });
    }
  }
  const last = snapshots[snapshots.length - 1] ?? first;
  return {
    operator: last.operator,
    full,
    maxParallelism: last.maxParallelism,
    ...(last.watermark !== undefined ? { watermark: last.watermark } : {}),
    entries: [...table].map(([path, { keyGroup, value }]) => ({ keyGroup, path, value })),
  };
}
