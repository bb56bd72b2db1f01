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

/** Characters of snapshot JSON per chunk (a chunk closes once it reaches this size). @internal */
export const CHUNK_CHARS = 64 * 1024;

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * The text of a string inside a JSON string literal (what `JSON.stringify(s)` has between its quotes); the string
 * itself when it has nothing to escape. @internal
 */
export function escapeJson(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s).slice(1, -1) : s;
}

/**
 * Packs snapshot rows into chunk texts as they are produced: each chunk is the JSON array `[[keyGroup, path,
 * value?], …]` a store writes (a row without value is a deletion), closed once it reaches {@link CHUNK_CHARS}
 * characters. Paths and values are given as they appear inside the JSON string literals (escaped), so a row costs
 * a few concatenations and no intermediate objects. @internal
 */
export class ChunkWriter {
  readonly chunks: string[] = [];
  count = 0;
  /** the open chunk's rows and their length; joined once the chunk is full (appending to one string builds a rope
   * whose pieces outlive young-generation collections: several times slower) */
  private rows: string[] = [];
  private chars = 0;

  /** A row; `path` and `value` already escaped ({@link escapeJson}); no value = deletion. */
  row(keyGroup: number, path: string, value: string | undefined): void {
    const r = value === undefined ? `[${keyGroup},"${path}"]` : `[${keyGroup},"${path}","${value}"]`;
    this.rows.push(r);
    this.count++;
    if ((this.chars += r.length + 1) >= CHUNK_CHARS) this.close();
  }

  private close(): void {
    // the brackets go onto the first and last row, not around the joined text: `[` + text + `]` would be a rope that
    // the checksum and the store each flatten again (a copy of the whole chunk)
    const rows = this.rows;
    rows[0] = `[${rows[0] as string}`;
    rows[rows.length - 1] = `${rows[rows.length - 1] as string}]`;
    this.chunks.push(rows.join(','));
    this.rows = [];
    this.chars = 0;
  }

  /** An entry in its plain form (escaped here). */
  entry(e: SnapshotEntry): void {
    this.row(e.keyGroup, escapeJson(e.path), e.value === undefined ? undefined : escapeJson(e.value));
  }

  /** The chunks, the last one closed. */
  finish(): string[] {
    if (this.rows.length > 0) this.close();
    return this.chunks;
  }
}

/** A non-negative safe integer (key groups, ids, counts in stored data). @internal */
export const isIndex = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Decodes parsed chunk rows (`[[keyGroup, path, value?], …]`) into entries (appended to `out`); false when malformed. @internal */
export function unpackRows(rows: unknown, out: SnapshotEntry[]): boolean {
  if (!Array.isArray(rows)) return false;
  for (const r of rows as unknown[]) {
    if (!Array.isArray(r)) return false;
    const [keyGroup, path, value] = r as unknown[];
    if (!isIndex(keyGroup) || typeof path !== 'string' || (value !== undefined && typeof value !== 'string') || r.length > 3) return false;
    out.push({ keyGroup, path, value });
  }
  return true;
}

/** Decodes the rows of one chunk text into entries (appended to `out`); false when it is not a valid chunk. @internal */
export function unpackChunk(text: string, out: SnapshotEntry[]): boolean {
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    return false;
  }
  return unpackRows(rows, out);
}

/**
 * An {@link OperatorSnapshot} whose entries were packed into chunk texts as the operator produced them (what keyed
 * operators take): a store writes the chunks as they are, and `entries` is decoded from them on first use.
 * @internal
 */
export class PackedSnapshot implements OperatorSnapshot {
  private decoded: SnapshotEntry[] | undefined;
  readonly watermark?: string;
  constructor(
    readonly operator: string,
    readonly full: boolean,
    readonly maxParallelism: number,
    /** chunk texts, see {@link ChunkWriter} */
    readonly chunks: readonly string[],
    /** number of entries in the chunks */
    readonly count: number,
    watermark?: string,
  ) {
    if (watermark !== undefined) this.watermark = watermark;
  }

  get entries(): readonly SnapshotEntry[] {
    if (this.decoded === undefined) {
      const out: SnapshotEntry[] = [];
      for (const c of this.chunks) if (!unpackChunk(c, out)) throw new Error(`${this.operator}: a packed snapshot chunk does not decode`);
      this.decoded = out;
    }
    return this.decoded;
  }

  /** The plain {@link OperatorSnapshot} form (what `JSON.stringify` writes). */
  toJSON(): OperatorSnapshot {
    return {
      operator: this.operator,
      full: this.full,
      maxParallelism: this.maxParallelism,
      ...(this.watermark !== undefined ? { watermark: this.watermark } : {}),
      entries: this.entries,
    };
  }

  /** The same snapshot with the operator's watermark. */
  withWatermark(watermark: string): PackedSnapshot {
    return new PackedSnapshot(this.operator, this.full, this.maxParallelism, this.chunks, this.count, watermark);
  }
}
