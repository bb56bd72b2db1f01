/**
 * The checkpoint layer, written once for every backend: checkpoints, savepoint files and source journals on top of
 * an ordered string key-value store ({@link KeyValueBackend}).
 *
 * Key layout (ASCII; `<job>` and `<name>` are `encodeURIComponent`-escaped, ids and sequence numbers are zero-padded
 * to 16 digits so that they sort):
 *
 * | key | value |
 * | --- | --- |
 * | `cp/<job>/c/<id>/<op:4>/<chunk:6>` | a chunk of operator `op`'s snapshot entries: JSON `[[keyGroup, path, value?], …]` (~256 KB of UTF-8; no value = deletion) |
 * | `cp/<job>/m/<id>` | the manifest: JSON (id, parent, timestamp, savepoint, operators with their chunk checksums, sources, sink, bytes) |
 * | `cp/<job>/d/<id>` | the completion marker: the manifest's checksum |
 * | `cp/<job>/h` | the job's head: the ids of its complete checkpoints (savepoints included) as of the last checkpoint write or prune, checksummed; also put aside where the backend can (`putAside`) |
 * | `jr/<name>/<seq>` | journal value `seq` of journal `name` |
 *
 * A checkpoint's chunks, manifest and marker are written in one `kv.batch`, together with the head; a prune rewrites the
 * head with the deletions; once that batch is durable, the head is also put aside where the backend keeps values apart
 * from its own storage (LevelDB: a file next to the database); a failure to do so is a warning, not a failed checkpoint
 * (the copy only serves fallback reporting). So a checkpoint that vanishes later (LevelDB drops a
 * write it finds damaged in its log when it reopens, and whatever followed it in that block of the log) is still
 * known, and a restore that falls back past it says so (docs/SEMANTICS.md §8, "tidewater: restore safety").
 */
import { ChunkWriter, hasValue, isIndex, mergeSnapshots, PackedSnapshot, unpackChunk, unpackRows, type OperatorSnapshot, type SnapshotEntry } from '../checkpoints/snapshot.js';
import { ConfigurationError, CorruptCheckpointError, describeValue, StoreError, TidewaterError } from '../errors/index.js';
import { CHECKSUM_CHARS, checksum, checksumMatches } from './checksum.js';
import type { BatchOp, CheckpointFallback, CheckpointMeta, CheckpointWrite, KeyValueBackend, LoadedCheckpoint, SkipKind, SkippedCheckpoint, StateStore } from './types.js';

/** The largest count a backend's range read takes (IndexedDB's `getAll` counts are unsigned 32-bit). */
const MAX_RANGE_LIMIT = 2 ** 32 - 1;

/**
 * The `StoreError` of a batch whose `expect`ed values another writer changed since they were read (see
 * `KeyValueBackend.batch`). @internal
 */
export function conflictError(description: string, key: string): StoreError {
  return new StoreError(
    description,
    'write',
    new Error(`another writer changed '${key}' since this one read it`),
    'Nothing of this write was stored. Two writers write the same checkpoints: a job runs in one process, tab or worker at a time (in a browser, e.g. behind navigator.locks), or give each its own store.',
  );
}

/**
 * Rejects (with a TypeError naming the op) a batch with a key or value that is not a string, before any of it is
 * applied: every backend calls it first, so a malformed batch changes nothing anywhere.
 *
 * @example
 * ```ts
 * checkBatch([{ type: 'put', key: 'a', value: '1' }]); // ok
 * ```
 */
export function checkBatch(ops: readonly BatchOp[]): void {
  for (const [i, op] of ops.entries()) {
    if (typeof op.key !== 'string' || (op.type === 'put' && typeof op.value !== 'string') || (op.type !== 'put' && op.type !== 'del')) {
      throw new TypeError(`batch op ${i} (${JSON.stringify(op)}): keys and values must be strings and type 'put' or 'del'`);
    }
  }
}

const pad = (n: number, width = 16): string => String(n).padStart(width, '0');

interface OperatorManifest {
  readonly name: string;
  readonly full: boolean;
  readonly maxParallelism: number;
  readonly watermark?: string;
  readonly entries: number;
  /** One checksum per chunk, in chunk order (their number is the chunk count). */
  readonly chunks: readonly string[];
}

/** A checkpoint's manifest: its meta, and per operator what is needed to read and check its chunks. */
interface Manifest extends CheckpointMeta {
  readonly format: (typeof READ_FORMATS)[number];
  readonly operators: readonly OperatorManifest[];
  readonly sources: readonly string[];
  readonly sink?: string;
}
/**
 * The manifest format written: 2 since deltas may hold append and patch rows (`src/checkpoints/deltaRows.ts`), which a
 * reader of format 1 would take for whole values — it refuses a manifest of format 2 instead (the checkpoint is
 * unusable to it); 3 since deltas may hold blocks rows, which a reader of format 2 would take for whole values too; 4
 * since deltas may hold sets rows (a value whose large Sets only grew, written as what they gained), which a reader of
 * format 3 would take for whole values; 5 since values may hold a `TrackedSet` (`{"$t": items}`), which a reader of
 * format 4 would decode as a plain object. Manifests of formats 1 to 4 are read as ever.
 */
const MANIFEST_FORMAT = 'tidewater-checkpoint/5';
/** The manifest formats this version reads, oldest first (the one it writes last). */
const READ_FORMATS = ['tidewater-checkpoint/1', 'tidewater-checkpoint/2', 'tidewater-checkpoint/3', 'tidewater-checkpoint/4', MANIFEST_FORMAT] as const;
/** Whether a manifest's `format` is one this version reads. */
const readsFormat = (format: unknown): boolean => (READ_FORMATS as readonly unknown[]).includes(format);
const SAVEPOINT_FORMAT = 'tidewater-savepoint';
/** The savepoint version written: 2 since values may hold a `TrackedSet` (`{"$t": items}`), which a reader of version 1 would decode as a plain object; version 1 is read as ever. */
const SAVEPOINT_VERSION = 2;

/** Why a checkpoint cannot be used (becomes a `skipped` entry). */
class Unusable {
  constructor(
    readonly kind: SkipKind,
    readonly reason: string,
  ) {}
}

const VANISHED = 'vanished: the store recorded it as complete, but none of its entries are left (lost after it was written)';

/**
 * The warning a job gives when its restore fell back: which checkpoint it expected, which one it restores, and why.
 *
 * @example
 * ```ts
 * describeFallback('clicks', { expected: 12, used: 11, skipped: [{ id: 12, kind: 'vanished', reason: 'vanished: …' }] }, 'level:./state');
 * // 'runJob(clicks): restoring checkpoint 11 instead of checkpoint 12, the newest in level:./state; skipped checkpoint 12 (vanished: …).'
 * ```
 */
export function describeFallback(job: string, f: CheckpointFallback, store: string): string {
  return `runJob(${job}): restoring checkpoint ${f.used} instead of checkpoint ${f.expected}, the newest in ${store}; skipped ${f.skipped.map((k) => `checkpoint ${k.id} (${k.reason})`).join(', ')}.`;
}

/** What a scan of a job's keys found per checkpoint id. */
interface Found {
  marker?: string;
  manifest?: string;
  readonly chunkKeys: string[];
}

interface Verified {
  readonly manifest: Manifest;
  readonly snapshots: readonly OperatorSnapshot[];
}

/** A job's or journal's name as it is in keys (`encodeURIComponent`); a name that is not well-formed text is refused. */
function escapedName(kind: 'job' | 'journal', name: string): string {
  try {
    return encodeURIComponent(name);
  } catch {
    throw new ConfigurationError(
      'checkpoint store',
      name,
      `checkpoint store: ${kind} name ${describeValue(name)} is not well-formed text (it holds a lone UTF-16 surrogate), so it cannot name the ${kind}'s keys; name the ${kind} with well-formed text.`,
    );
  }
}

class JobKeys {
  readonly base: string;
  constructor(job: string) {
    this.base = `cp/${escapedName('job', job)}/`;
  }
  marker(id: number): string {
    return `${this.base}d/${pad(id)}`;
  }
  /** The job's head (outside every `all(kind)` range). */
  head(): string {
    return `${this.base}h`;
  }
  manifest(id: number): string {
    return `${this.base}m/${pad(id)}`;
  }
  chunks(id: number): string {
    return `${this.base}c/${pad(id)}/`;
  }
  chunk(id: number, op: number, i: number): string {
    return `${this.chunks(id)}${pad(op, 4)}/${pad(i, 6)}`;
  }
  /** [gte, lt) of every key under `<base><kind>/` ('0' follows '/'). */
  all(kind: 'c' | 'd' | 'm'): [string, string] {
    return [`${this.base}${kind}/`, `${this.base}${kind}0`];
  }
}

function parseManifest(text: string): Manifest | undefined {
  try {
    const m = JSON.parse(text) as Partial<Manifest> | null;
    if (m === null || typeof m !== 'object' || !readsFormat(m.format) || !isIndex(m.id) || !Array.isArray(m.operators)) return undefined;
    return m as Manifest;
  } catch {
    return undefined;
  }
}

/** Why a manifest that {@link parseManifest} refused is unreadable: one of a format this code does not know, or broken. */
function unreadableManifest(text: string): string {
  let format: unknown;
  try {
    format = (JSON.parse(text) as { format?: unknown } | null)?.format;
  } catch {
    format = undefined;
  }
  return typeof format === 'string' && !readsFormat(format)
    ? `unreadable manifest: its format ${JSON.stringify(format)} is not one this version of tidewater reads (${READ_FORMATS.join(', ')}): a newer version wrote it`
    : 'unreadable manifest';
}

/**
 * A job's head value (the checksum of a JSON list, then the list): the ids of its complete checkpoints (and of those gone missing, still to be reported), and — when a
 * prune deleted checkpoints above them — `{ "above": n }`, the highest id ever used, so that no id is used twice
 * (docs/SEMANTICS.md §8). (Readers that know only ids skip that item.)
 */
function headValue(ids: Iterable<number>, above = 0): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const text = JSON.stringify(above > (sorted.at(-1) ?? 0) ? [...sorted, { above }] : sorted);
  return checksum(text) + text;
}

/** The items of a head value; undefined when it is missing or damaged (then only what is found in the store is known). */
function headItems(value: string | undefined): unknown[] | undefined {
  if (value === undefined) return undefined;
  const text = value.slice(CHECKSUM_CHARS);
  if (!checksumMatches(text, value.slice(0, CHECKSUM_CHARS))) return undefined;
  try {
    const items = JSON.parse(text) as unknown;
    return Array.isArray(items) ? items : undefined;
  } catch {
    return undefined;
  }
}

/** The highest id a head says was used (its `above` item), or 0. */
function headAbove(items: readonly unknown[] | undefined): number {
  let above = 0;
  for (const item of items ?? []) {
    const n = typeof item === 'object' && item !== null ? (item as { above?: unknown }).above : undefined;
    if (isIndex(n) && n > above) above = n;
  }
  return above;
}

function metaOf(m: Manifest): CheckpointMeta {
  return {
    job: m.job,
    id: m.id,
    ...(m.parent !== undefined ? { parent: m.parent } : {}),
    timestamp: m.timestamp,
    savepoint: m.savepoint,
    bytes: m.bytes,
    entries: m.entries,
    sources: m.sources,
  };
}

/** A full snapshot as is when it has no deletions; otherwise (or for a chain) folded by {@link mergeSnapshots}. */
function fold(chain: readonly OperatorSnapshot[]): OperatorSnapshot {
  const only = chain.length === 1 ? chain[0] : undefined;
  if (only?.full === true && only.entries.every(hasValue)) return only;
  return mergeSnapshots(chain);
}

/**
 * Builds a {@link StateStore} (checkpoints with manifests, chunk checksums and completion markers; delta chains;
 * retention; savepoint files; journals) on any ordered key-value backend. `memoryStore`, `levelStore` and
 * `indexedDbStore` are this over a `Map`, LevelDB and IndexedDB.
 *
 * @example
 * ```ts
 * const store = checkpointStore(myBackend, 'custom:redis');
 * await store.writeCheckpoint({ job: 'clicks', id: 1, timestamp: 0, savepoint: false, operators: [], sources: [] });
 * ```
 */
export function checkpointStore(kv: KeyValueBackend, description: string): StateStore {
  return new CheckpointStore(kv, description);
}

class CheckpointStore implements StateStore {
  constructor(
    readonly kv: KeyValueBackend,
    readonly description: string,
  ) {}

  private corrupt(job: string | undefined, id: number | undefined, problem: string, remedy: string): CorruptCheckpointError {
    return new CorruptCheckpointError(this.description, job, id, problem, remedy);
  }

  private misuse(what: string, value: unknown, message: string): ConfigurationError {
    return new ConfigurationError(`store ${this.description}`, value, `store ${this.description}: ${what}: ${message}`);
  }

  /**
   * Per job, the last of its head's read-modify-writes in this store ({@link writeCheckpoint}, {@link prune},
   * {@link importSavepoint}): they
   * run one after another, so that two at once cannot both find an id free, or one put a head that drops the other's.
   */
  private readonly jobTurns = new Map<string, Promise<void>>();

  private inTurn<R>(job: string, work: () => Promise<R>): Promise<R> {
    const before = this.jobTurns.get(job) ?? Promise.resolve();
    const run = before.then(work);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.jobTurns.set(job, settled);
    void settled.then(() => {
      if (this.jobTurns.get(job) === settled) this.jobTurns.delete(job);
    });
    return run;
  }

  writeCheckpoint(write: CheckpointWrite): Promise<CheckpointMeta> {
    return this.inTurn(String(write.job), () => this.writeInTurn(write));
  }

  private async writeInTurn(write: CheckpointWrite): Promise<CheckpointMeta> {
    const { job, id } = write;
    if (!isIndex(id)) throw this.misuse(`job ${JSON.stringify(job)}`, id, `checkpoint id ${String(id)} is not a non-negative safe integer`);
    if (write.parent !== undefined && (!isIndex(write.parent) || write.parent >= id)) {
      throw this.misuse(`job ${JSON.stringify(job)}, checkpoint ${id}`, write.parent, `parent ${String(write.parent)} must be an earlier checkpoint id`);
    }
    const names = new Set(write.operators.map((o) => o.operator));
    if (names.size !== write.operators.length) {
      throw this.misuse(`job ${JSON.stringify(job)}, checkpoint ${id}`, write.operators.map((o) => o.operator), 'operator names must be unique');
    }
    const k = new JobKeys(job);
    const [marker, manifest, head] = await Promise.all([this.kv.get(k.marker(id)), this.kv.get(k.manifest(id)), this.head(k)]);
    if (marker !== undefined || manifest !== undefined) {
      throw this.misuse(`job ${JSON.stringify(job)}`, id, `checkpoint ${id} already exists; checkpoint ids must strictly increase`);
    }

    const ops: BatchOp[] = [];
    let bytes = 0;
    const put = (key: string, value: string): void => {
      ops.push({ type: 'put', key, value });
      bytes += key.length + value.length;
    };
    let entries = 0;
    const operators = write.operators.map((s, i): OperatorManifest => {
      // keyed operators hand over their entries packed already; other snapshots are packed here
      let texts: readonly string[];
      let count: number;
      if (s instanceof PackedSnapshot) {
        texts = s.chunks;
        count = s.count;
      } else {
        const w = new ChunkWriter();
        for (const e of s.entries) w.entry(e);
        texts = w.finish();
        count = w.count;
      }
      const chunks = texts.map((text, j) => {
        put(k.chunk(id, i, j), text);
        return checksum(text);
      });
      entries += count;
      return {
        name: s.operator,
        full: s.full,
        maxParallelism: s.maxParallelism,
        ...(s.watermark !== undefined ? { watermark: s.watermark } : {}),
        entries: count,
        chunks,
      };
    });
    const body: Omit<Manifest, 'bytes'> = {
      format: MANIFEST_FORMAT,
      job,
      id,
      ...(write.parent !== undefined ? { parent: write.parent } : {}),
      timestamp: write.timestamp,
      savepoint: write.savepoint,
      operators,
      sources: write.sources,
      ...(write.sink !== undefined ? { sink: write.sink } : {}),
      entries,
    };
    // `bytes` counts every character written, the manifest's own included: iterate to the fixed point.
    const fixed = bytes + k.manifest(id).length + k.marker(id).length + CHECKSUM_CHARS;
    let total = fixed;
    let text = '';
    for (;;) {
      text = JSON.stringify({ ...body, bytes: total });
      if (fixed + text.length === total) break;
      total = fixed + text.length;
    }
    put(k.manifest(id), text);
    put(k.marker(id), checksum(text));
    const headNow = headValue([...head.last, id], head.above);
    ops.push({ type: 'put', key: k.head(), value: headNow });
    // (as read above: a second writer of the job — another tab on the same IndexedDB — that wrote this id, or moved
    // the head, meanwhile makes this write fail whole, not mix its checkpoint with this one)
    const expect = new Map<string, string | undefined>([
      [k.marker(id), undefined],
      [k.manifest(id), undefined],
      [k.head(), head.inStore],
    ]);
    try {
      await this.kv.batch(ops, expect);
    } catch (cause) {
      if (cause instanceof StoreError) throw cause; // names the store, the cause and the remedy already
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new TidewaterError(
        `store ${this.description}`,
        id,
        `store ${this.description}, job ${JSON.stringify(job)}, checkpoint ${id}: the write failed (${why}); nothing of it was stored. ` +
          'Check that the store is open and has space; the previous complete checkpoint is still the one a restore uses.',
        { cause },
      );
    }
    await this.putHeadAside(k, headNow, head.aside, `job ${JSON.stringify(job)}, checkpoint ${id}: the checkpoint`, write.onWarning);
    return metaOf({ ...body, bytes: total });
  }

  /** Every checkpoint id of `job` with whatever of it exists (marker, manifest, chunk keys). */
  private async scan(k: JobKeys): Promise<Map<number, Found>> {
    const [markers, manifests, chunkKeys] = await Promise.all([
      this.kv.range(...k.all('d')),
      this.kv.range(...k.all('m')),
      this.kv.keys(...k.all('c')),
    ]);
    const found = new Map<number, Found>();
    const at = (id: number): Found => {
      let f = found.get(id);
      if (f === undefined) found.set(id, (f = { chunkKeys: [] }));
      return f;
    };
    const idOf = (key: string, prefix: string): number => Number(key.slice(prefix.length, prefix.length + 16));
    const [d] = k.all('d');
    const [m] = k.all('m');
    const [c] = k.all('c');
    for (const [key, v] of markers) at(idOf(key, d)).marker = v;
    for (const [key, v] of manifests) at(idOf(key, m)).manifest = v;
    for (const key of chunkKeys) at(idOf(key, c)).chunkKeys.push(key);
    return found;
  }

  /**
   * The job's head: `ids`, every id recorded as complete in the store or put aside (where the backend keeps a copy
   * apart); `last`, the ids as last written (the store's head, or the copy when that one is gone or damaged); and both
   * raw values.
   */
  private async head(k: JobKeys): Promise<{ ids: number[]; last: number[]; above: number; inStore: string | undefined; aside: string | undefined }> {
    const [inStore, aside] = await Promise.all([this.kv.get(k.head()), this.kv.getAside?.(k.head())]);
    const [a, b] = [headItems(inStore), headItems(aside)];
    const [idsA, idsB] = [a?.filter(isIndex), b?.filter(isIndex)];
    return { ids: [...(idsA ?? []), ...(idsB ?? [])], last: idsA ?? idsB ?? [], above: Math.max(headAbove(a), headAbove(b)), inStore, aside };
  }

  /**
   * Puts the head aside (after the batch holding it is durable), where the backend can and it changed. The batch is
   * complete and usable whatever happens here, and the copy only serves to report a newest checkpoint the store loses
   * later (docs/SEMANTICS.md §8): a failure is a warning naming `what` was complete, never a rejection (the next write
   * tries again, as its head differs from the copy).
   */
  private async putHeadAside(k: JobKeys, value: string, aside: string | undefined, what: string, onWarning: ((message: string) => void) | undefined): Promise<void> {
    if (value === aside || this.kv.putAside === undefined) return;
    try {
      await this.kv.putAside(k.head(), value);
    } catch (e) {
      (onWarning ?? ((m: string) => console.warn(m)))(
        `store ${this.description}, ${what} is complete, but putting the job's head aside failed (${e instanceof Error ? e.message : String(e)}); ` +
          'the copy only serves to report a newest checkpoint that the store loses later. Check the space and permissions next to the store; the next checkpoint tries again.',
      );
    }
  }

  /** The manifest of a checkpoint whose marker and manifest agree, or why there is none. */
  private completeManifest(f: Found | undefined): Manifest | Unusable {
    if (f?.marker === undefined) return new Unusable('torn', 'torn: no completion marker (the write never completed)');
    if (f.manifest === undefined) return new Unusable('missing-part', 'missing manifest');
    if (!checksumMatches(f.manifest, f.marker)) return new Unusable('checksum-mismatch', 'checksum mismatch in manifest');
    return parseManifest(f.manifest) ?? new Unusable('unreadable', unreadableManifest(f.manifest));
  }

  /** Reads and checks every chunk of a checkpoint. */
  private async verify(k: JobKeys, id: number, f: Found | undefined): Promise<Verified | Unusable> {
    const manifest = this.completeManifest(f);
    if (manifest instanceof Unusable) return manifest;
    const chunks = new Map(await this.kv.range(k.chunks(id), `${k.chunks(id).slice(0, -1)}0`));
    const snapshots: OperatorSnapshot[] = [];
    for (const [i, op] of manifest.operators.entries()) {
      const entries: SnapshotEntry[] = [];
      for (const [j, sum] of op.chunks.entries()) {
        const text = chunks.get(k.chunk(id, i, j));
        const where = `chunk ${j} of operator ${JSON.stringify(op.name)}`;
        if (text === undefined) return new Unusable('missing-part', `missing ${where} (truncated write)`);
        if (!checksumMatches(text, sum)) return new Unusable('checksum-mismatch', `checksum mismatch in ${where}`);
        if (!unpackChunk(text, entries)) return new Unusable('unreadable', `unreadable ${where}`);
      }
      if (entries.length !== op.entries) {
        return new Unusable('unreadable', `operator ${JSON.stringify(op.name)} has ${entries.length} entries, its manifest says ${op.entries}`);
      }
      snapshots.push({
        operator: op.name,
        full: op.full,
        maxParallelism: op.maxParallelism,
        ...(op.watermark !== undefined ? { watermark: op.watermark } : {}),
        entries,
      });
    }
    return { manifest, snapshots };
  }

  /** Checkpoint `id` with every operator's delta chain folded, or why it cannot be used. */
  private async assemble(id: number, verify: (id: number) => Promise<Verified | Unusable>, found: Map<number, Found>): Promise<LoadedCheckpoint | Unusable> {
    const own = await verify(id);
    if (own instanceof Unusable) return own;
    // chains[i]: operator i's snapshots, newest first, until a full one
    const chains = own.snapshots.map((s) => [s]);
    const open = (): number[] => chains.flatMap((c, i) => ((c.at(-1) as OperatorSnapshot).full ? [] : [i]));
    let parent = own.manifest.parent;
    for (let pending = open(); pending.length > 0; pending = open()) {
      const names = pending.map((i) => JSON.stringify(own.manifest.operators[i]?.name)).join(', ');
      if (parent === undefined) return new Unusable('broken-chain', `broken chain: no full snapshot of operator ${names} precedes it`);
      if (!found.has(parent)) return new Unusable('broken-chain', `broken chain: parent checkpoint ${parent} is missing`);
      const p = await verify(parent);
      if (p instanceof Unusable) return new Unusable('broken-chain', `broken chain: parent checkpoint ${parent} is unusable (${p.reason})`);
      for (const i of pending) {
        const name = own.manifest.operators[i]?.name;
        const s = p.snapshots.find((x) => x.operator === name);
        if (s === undefined) return new Unusable('broken-chain', `broken chain: parent checkpoint ${parent} has no snapshot of operator ${JSON.stringify(name)}`);
        chains[i]?.push(s);
      }
      parent = p.manifest.parent;
    }
    const m = own.manifest;
    return {
      ...metaOf(m),
      operators: chains.map((c) => fold(c.reverse())),
      ...(m.sink !== undefined ? { sink: m.sink } : {}),
      skipped: [],
    };
  }

  async listCheckpoints(job: string): Promise<CheckpointMeta[]> {
    const found = await this.scan(new JobKeys(job));
    const out: CheckpointMeta[] = [];
    for (const f of found.values()) {
      const m = this.completeManifest(f);
      if (!(m instanceof Unusable)) out.push(metaOf(m));
    }
    return out.sort((a, b) => b.id - a.id);
  }

  async nextCheckpointId(job: string, options?: { readonly recordedOnly?: boolean }): Promise<number> {
    return (await this.newestId(new JobKeys(job), 0, options?.recordedOnly !== true)) + 1;
  }

  /**
   * The highest id that left anything in the store or that the head records (`none` when there is none); with
   * `pruned`, also the highest a prune deleted.
   */
  private async newestId(k: JobKeys, none: number, pruned = true): Promise<number> {
    const [found, head] = await Promise.all([this.scan(k), this.head(k)]);
    return Math.max(none, ...found.keys(), ...head.ids, pruned ? head.above : 0);
  }

  async loadCheckpoint(job: string, which: 'latest' | number): Promise<LoadedCheckpoint | undefined> {
    if (which !== 'latest' && !isIndex(which)) throw this.misuse(`job ${JSON.stringify(job)}`, which, `loadCheckpoint takes 'latest' or a checkpoint id, not ${String(which)}`);
    const k = new JobKeys(job);
    const [found, { ids: known }] = await Promise.all([this.scan(k), this.head(k)]);
    const cache = new Map<number, Promise<Verified | Unusable>>();
    const verify = (id: number): Promise<Verified | Unusable> => {
      let p = cache.get(id);
      if (p === undefined) cache.set(id, (p = this.verify(k, id, found.get(id))));
      return p;
    };
    const ids = [...new Set([...found.keys(), ...known])].filter((id) => which === 'latest' || id <= which).sort((a, b) => b - a);
    const skipped: SkippedCheckpoint[] = [];
    for (const id of ids) {
      const cp = found.has(id) ? await this.assemble(id, verify, found) : new Unusable('vanished', VANISHED);
      if (!(cp instanceof Unusable)) {
        const expected = skipped[0]?.id;
        return { ...cp, skipped, ...(expected !== undefined ? { fallback: { expected, used: cp.id, skipped } } : {}) };
      }
      skipped.push({ id, kind: cp.kind, reason: cp.reason });
    }
    return undefined;
  }

  prune(job: string, retain: number, onWarning?: (message: string) => void, options?: { readonly abandonAfter?: number }): Promise<CheckpointMeta[]> {
    return this.inTurn(String(job), () => this.pruneInTurn(job, retain, onWarning, options));
  }

  private async pruneInTurn(job: string, retain: number, onWarning?: (message: string) => void, options?: { readonly abandonAfter?: number }): Promise<CheckpointMeta[]> {
    if (!isIndex(retain)) throw this.misuse(`job ${JSON.stringify(job)}`, retain, `prune: retain must be a non-negative integer, not ${String(retain)}`);
    const abandonAfter = options?.abandonAfter;
    if (abandonAfter !== undefined && !isIndex(abandonAfter)) {
      throw this.misuse(`job ${JSON.stringify(job)}`, abandonAfter, `prune: abandonAfter must be a checkpoint id, not ${String(abandonAfter)}`);
    }
    const k = new JobKeys(job);
    // the head first, then the scan: a write of another writer after the head read moves the head, which the prune's
    // batch expects as read (and fails whole); one before it is in the scan
    const head = await this.head(k);
    const found = await this.scan(k);
    const complete = new Map<number, Manifest>();
    for (const [id, f] of found) {
      const m = this.completeManifest(f);
      if (!(m instanceof Unusable)) complete.set(id, m);
    }
    // an abandoned timeline's checkpoints (complete, torn or corrupt) go; savepoints stay
    const abandoned = (id: number): boolean => abandonAfter !== undefined && id > abandonAfter && complete.get(id)?.savepoint !== true;
    // the highest id ever used, kept in the head: no id is used again (docs/SEMANTICS.md §8)
    const above = Math.max(head.above, ...found.keys(), ...head.ids);
    for (const id of [...complete.keys()]) if (abandoned(id)) complete.delete(id);
    const newestFirst = [...complete.keys()].sort((a, b) => b - a);
    // as in Flink, savepoints do not count towards the retained checkpoints
    const isSavepoint = (id: number): boolean => complete.get(id)?.savepoint === true;
    const keep = new Set([...newestFirst.filter((id) => !isSavepoint(id)).slice(0, retain), ...newestFirst.filter(isSavepoint)]);
    for (const id of [...keep]) {
      const m = complete.get(id) as Manifest;
      const pending = new Set(m.operators.filter((o) => !o.full).map((o) => o.name));
      for (let p = m.parent; pending.size > 0 && p !== undefined; ) {
        keep.add(p);
        const pm = complete.get(p);
        if (pm === undefined) break;
        for (const o of pm.operators) if (o.full) pending.delete(o.name);
        p = pm.parent;
      }
    }
    const newest = newestFirst[0] ?? -1;
    const ops: BatchOp[] = [];
    for (const [id, f] of found) {
      if (keep.has(id) || (!complete.has(id) && !abandoned(id) && id >= newest)) continue;
      if (f.marker !== undefined) ops.push({ type: 'del', key: k.marker(id) });
      if (f.manifest !== undefined) ops.push({ type: 'del', key: k.manifest(id) });
      for (const key of f.chunkKeys) ops.push({ type: 'del', key });
    }
    // the head keeps what is kept, and the recorded ids within the retained ones that are gone (still to be reported)
    const floor = Math.min(...[...keep].filter((id) => complete.has(id) && !isSavepoint(id)));
    const kept = [...keep].filter((id) => complete.has(id));
    const value = headValue([...kept, ...head.ids.filter((id) => id > floor && !complete.has(id) && !abandoned(id))], above);
    if (value !== head.inStore) ops.push({ type: 'put', key: k.head(), value });
    if (ops.length > 0) await this.kv.batch(ops, new Map([[k.head(), head.inStore]]));
    // (only a head the prune changed: a copy left stale by a failed put is retried by the next checkpoint write)
    if (value !== head.inStore) await this.putHeadAside(k, value, head.aside, `job ${JSON.stringify(job)}: the prune`, onWarning);
    return [...keep]
      .filter((id) => complete.has(id))
      .sort((a, b) => b - a)
      .map((id) => metaOf(complete.get(id) as Manifest));
  }

  async exportSavepoint(job: string, id?: number): Promise<string> {
    const cp = await this.loadCheckpoint(job, id ?? 'latest');
    if (cp === undefined || (id !== undefined && cp.id !== id)) {
      const skipped = cp?.skipped ?? [];
      const why = skipped.find((s) => s.id === id)?.reason;
      throw this.corrupt(
        job,
        id,
        id === undefined ? 'no usable checkpoint to export' : why === undefined ? 'no such checkpoint' : `checkpoint unusable: ${why}`,
        'List the usable ones with listCheckpoints(job) and export one of those (or take a new checkpoint first).',
      );
    }
    const content = JSON.stringify({
      job,
      id: cp.id,
      timestamp: cp.timestamp,
      operators: cp.operators.map((o) => ({
        operator: o.operator,
        maxParallelism: o.maxParallelism,
        ...(o.watermark !== undefined ? { watermark: o.watermark } : {}),
        entries: o.entries.map((e) => [e.keyGroup, e.path, e.value]),
      })),
      sources: cp.sources,
      ...(cp.sink !== undefined ? { sink: cp.sink } : {}),
    });
    return `{"format":"${SAVEPOINT_FORMAT}","version":${SAVEPOINT_VERSION},"checksum":"${checksum(content)}","content":${content}}\n`;
  }

  async importSavepoint(text: string, options?: { job?: string }): Promise<CheckpointMeta> {
    const content = this.readSavepoint(text);
    const job = options?.job ?? content.job;
    // (its id chosen in the job's turn: above every id written before it, whatever else writes meanwhile)
    return this.inTurn(job, async () => {
      const newest = await this.newestId(new JobKeys(job), -1);
      return this.writeInTurn({
        job,
        id: Math.max(content.id, newest + 1),
        timestamp: content.timestamp,
        savepoint: true,
        operators: content.operators,
        sources: content.sources,
        ...(content.sink !== undefined ? { sink: content.sink } : {}),
      });
    });
  }

  /** Parses and verifies a savepoint file; throws a {@link CorruptCheckpointError} naming the problem. */
  private readSavepoint(text: string): SavepointContent {
    const fail = (problem: string, job?: string, id?: number): CorruptCheckpointError =>
      this.corrupt(job, id, `cannot import savepoint: ${problem}`, 'Use the unmodified text returned by exportSavepoint (export it again if the file was damaged).');
    let file: unknown;
    try {
      file = JSON.parse(text);
    } catch (e) {
      throw fail(`the file is not JSON (${(e as Error).message})`);
    }
    const f = (typeof file === 'object' && file !== null ? file : {}) as { format?: unknown; version?: unknown; checksum?: unknown; content?: unknown };
    if (f.format !== SAVEPOINT_FORMAT) throw fail(`not a tidewater savepoint (format is ${JSON.stringify(f.format) ?? 'missing'}, expected "${SAVEPOINT_FORMAT}")`);
    if (f.version !== SAVEPOINT_VERSION && f.version !== 1) throw fail(`unsupported savepoint version ${JSON.stringify(f.version) ?? 'missing'} (this tidewater reads versions 1 and ${SAVEPOINT_VERSION})`);
    const c = (typeof f.content === 'object' && f.content !== null ? f.content : {}) as Record<string, unknown>;
    const job = typeof c.job === 'string' ? c.job : undefined;
    const id = isIndex(c.id) ? c.id : undefined;
    if (typeof f.checksum !== 'string' || !checksumMatches(JSON.stringify(f.content) ?? '', f.checksum)) {
      throw fail('checksum mismatch (the file was modified or damaged)', job, id);
    }
    const parsed = parseSavepointContent(c);
    if (typeof parsed === 'string') throw fail(`malformed content: ${parsed}`, job, id);
    return parsed;
  }

  async appendJournal(name: string, from: number, values: readonly string[]): Promise<void> {
    this.checkSeq(name, from);
    this.checkSeq(name, from + values.length);
    await this.kv.batch(values.map((value, i) => ({ type: 'put', key: journalKey(name, from + i), value })));
  }

  async readJournal(name: string, from: number, limit?: number): Promise<string[]> {
    this.checkSeq(name, from);
    if (limit !== undefined && !isIndex(limit)) throw this.misuse(`journal ${JSON.stringify(name)}`, limit, `limit must be a non-negative integer, not ${String(limit)}`);
    if (limit === 0) return [];
    // (a limit past 2³² − 1 asks for everything: IndexedDB refuses such counts and LevelDB's wraps around)
    const rows = await this.kv.range(journalKey(name, from), journalEnd(name), limit !== undefined && limit <= MAX_RANGE_LIMIT ? limit : undefined);
    return rows.map(([, v]) => v);
  }

  async truncateJournal(name: string, before: number): Promise<void> {
    this.checkSeq(name, before);
    const keys = await this.kv.keys(journalKey(name, 0), journalKey(name, before));
    if (keys.length > 0) await this.kv.batch(keys.map((key) => ({ type: 'del', key })));
  }

  private checkSeq(name: string, seq: number): void {
    if (!isIndex(seq)) throw this.misuse(`journal ${JSON.stringify(name)}`, seq, `sequence number ${String(seq)} is not a non-negative safe integer`);
  }

  close(): Promise<void> {
    return this.kv.close();
  }
}

const journalKey = (name: string, seq: number): string => `jr/${escapedName('journal', name)}/${pad(seq)}`;
const journalEnd = (name: string): string => `jr/${escapedName('journal', name)}0`;

interface SavepointContent {
  readonly job: string;
  readonly id: number;
  readonly timestamp: number;
  readonly operators: OperatorSnapshot[];
  readonly sources: string[];
  readonly sink?: string;
}

/** The savepoint's content, or what is wrong with it. */
function parseSavepointContent(c: Record<string, unknown>): SavepointContent | string {
  if (typeof c.job !== 'string') return 'no job name';
  if (!isIndex(c.id)) return 'no checkpoint id';
  if (typeof c.timestamp !== 'number') return 'no timestamp';
  if (!Array.isArray(c.sources) || !c.sources.every((s) => typeof s === 'string')) return 'sources must be an array of strings';
  if (c.sink !== undefined && typeof c.sink !== 'string') return 'sink must be a string';
  if (!Array.isArray(c.operators)) return 'no operators';
  const operators: OperatorSnapshot[] = [];
  for (const o of c.operators as unknown[]) {
    const op = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
    if (typeof op.operator !== 'string' || !isIndex(op.maxParallelism) || (op.watermark !== undefined && typeof op.watermark !== 'string')) {
      return `operator ${operators.length} lacks a name, maxParallelism or a valid watermark`;
    }
    const entries: SnapshotEntry[] = [];
    if (!unpackRows(op.entries, entries) || entries.some((e) => !hasValue(e))) return `entries of operator ${JSON.stringify(op.operator)} are malformed`;
    operators.push({
      operator: op.operator,
      full: true,
      maxParallelism: op.maxParallelism,
      ...(op.watermark !== undefined ? { watermark: op.watermark } : {}),
      entries,
    });
  }
  return {
    job: c.job,
    id: c.id,
    timestamp: c.timestamp,
    operators,
    sources: c.sources as string[],
    ...(c.sink !== undefined ? { sink: c.sink } : {}),
  };
}
