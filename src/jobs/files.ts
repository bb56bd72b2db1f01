import { nodeFiles } from '../core/node.js';
import type * as NodeFs from 'node:fs';
import type * as NodePath from 'node:path';
import { ConfigurationError, describeFailure, describeValue, TidewaterError } from '../errors/index.js';
import { isIndex } from '../checkpoints/snapshot.js';
import { parseSinkState } from './sinks.js';
import { parseOffset } from './sources.js';
import type { Sink, SinkContext, SinkWriter, Source, SourceRead } from './types.js';

/** Node's `fs` and `path` (see src/core/node.ts), or an error naming `what` in a browser. */
function nodeModules(what: string): { fs: typeof NodeFs; path: typeof NodePath } {
  const files = nodeFiles();
  if (files === undefined) {
    throw new ConfigurationError(what, undefined, `${what} needs Node.js ≥ 20.16 (files); in a browser use fromObservable/fromArray and callbackSink.`);
  }
  return files;
}

/**
 * A file that does not hold what a job expects: a line that is not JSON, a transaction file gone missing, an output
 * file changed behind the job's back.
 *
 * @example
 * ```ts
 * job.done.catch((e) => { if (e instanceof FileFormatError) console.error(e.message); });
 * ```
 */
export class FileFormatError extends TidewaterError {
  override name = 'FileFormatError';
}

const CHUNK = 1 << 20;

/** How many bytes before a position its fingerprint covers at most (see {@link fromNdjsonFile}). */
const FINGERPRINT_BYTES = 64;

/** FNV-1a (32 bits) of `bytes`, as 8 hex digits: the fingerprint of the bytes before a resume position. */
function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** A resume position of {@link fromNdjsonFile}: the byte position, and the fingerprint of the bytes before it (if known). */
interface NdjsonPosition {
  readonly position: number;
  readonly fingerprint?: { readonly length: number; readonly hash: string };
}

/** Reads an offset of {@link fromNdjsonFile}: `<position>:<length>:<hash>`, or a plain position (written before fingerprints). */
function parseNdjsonOffset(description: string, offset: string | undefined): NdjsonPosition {
  const m = offset === undefined ? null : /^(\d+):(\d+):([0-9a-f]{8})$/.exec(offset);
  if (m === null) return { position: parseOffset(description, offset, 'byte position') };
  const position = Number(m[1]);
  const length = Number(m[2]);
  if (!Number.isSafeInteger(position) || length > position || length > FINGERPRINT_BYTES) {
    throw new ConfigurationError(description, offset, `${description}: checkpoint offset ${describeValue(offset)} is not a byte position; restore from a checkpoint of this job.`);
  }
  return { position, fingerprint: { length, hash: m[3] as string } };
}

/**
 * A source reading a newline-delimited JSON file: one value per line (blank lines skipped). Its offset is the byte
 * position after the last line read, with a fingerprint of the bytes before it (up to 64, `<position>:<length>:<FNV-1a>`),
 * so a restored job resumes right after that line — and refuses a file replaced or rewritten since, whose bytes there
 * differ.
 *
 * @example
 * ```ts
 * runJob({ name: 'orders', source: fromNdjsonFile('orders.ndjson'), pipeline, sink: toNdjsonFile('totals.ndjson'), checkpoint });
 * ```
 */
export function fromNdjsonFile<T = unknown>(file: string): Source<T> {
  const description = `fromNdjsonFile(${file})`;
  /**
   * A position to resume from must still fit the file (docs/SEMANTICS.md §8): not beyond its end (the file was cut
   * back or replaced), and not inside a line (a last line read without its line end, which has grown since: the
   * record it gave was part of a line being written).
   */
  const checkResumePosition = async (fh: { stat(): Promise<{ size: number }>; read(b: Buffer, o: number, l: number, p: number): Promise<{ bytesRead: number }> }, resume: NdjsonPosition): Promise<void> => {
    const { position, fingerprint } = resume;
    const { size } = await fh.stat();
    if (position > size) {
      throw new FileFormatError(
        description,
        position,
        `${description}: the checkpoint resumes at byte ${position}, but the file has ${size} B: it was cut back or replaced since. Restore the file, or start over (restore: false) to read it from its start.`,
      );
    }
    if (fingerprint !== undefined) {
      const before = Buffer.alloc(fingerprint.length);
      const { bytesRead } = await fh.read(before, 0, fingerprint.length, position - fingerprint.length);
      if (bytesRead !== fingerprint.length || fnv1a(before) !== fingerprint.hash) {
        throw new FileFormatError(
          description,
          position,
          `${description}: the checkpoint resumes at byte ${position}, but the ${fingerprint.length} B before it differ from those read before: the file was replaced or rewritten since. Restore the file, or start over (restore: false) to read it from its start.`,
        );
      }
    }
    if (position === size) return;
    const around = Buffer.alloc(2);
    await fh.read(around, 0, 2, position - 1);
    if (around[0] !== 10 && around[1] !== 10 && around[1] !== 13) {
      throw new FileFormatError(
        description,
        position,
        `${description}: the checkpoint resumes at byte ${position}, inside a line: the file's last line was read without a line end, and that line has grown since, so the record taken from it was part of a line still being written. ` +
          'Write each line with its line end at once (or only whole lines), then start over (restore: false).',
      );
    }
  };
  return {
    description,
    async open(offset) {
      const { fs } = nodeModules(description);
      const resume = parseNdjsonOffset(description, offset);
      const position = resume.position;
      // the offset: the position and the fingerprint of the bytes before it (the restored one until a line is taken)
      let current = offset ?? '0';
      const fh = await fs.promises.open(file, 'r');
      if (position > 0) {
        try {
          await checkResumePosition(fh, resume);
        } catch (e) {
          await fh.close();
          throw e;
        }
      }
      /** Byte position of the first unread byte of the file. */
      let readPos = position;
      /**
       * The bytes read of a line not ended yet, in the pieces read (joined once its end comes: a line of many reads
       * is copied once, not once per read), and how many.
       */
      let rest: Buffer[] = [];
      let restBytes = 0;
      let eof = false;
      let values: T[] = [];
      let ends: number[] = [];
      let taken = 0;
      /** The bytes the values come from, from the start of their first line, and its byte position. */
      let chunk: Buffer = Buffer.alloc(0);
      let chunkBase = 0;
      /** A line that is not JSON: thrown once the values of the lines before it were taken. */
      let failure: FileFormatError | undefined;
      const parse = (line: Buffer, start: number): boolean => {
        const text = line.toString('utf8');
        if (text.trim() === '') return true;
        try {
          values.push(JSON.parse(text) as T);
        } catch (err) {
          failure = new FileFormatError(description, text, `${description}: the line at byte ${start} is not JSON (${describeFailure(err)}): ${describeValue(text, 120)}. Fix or remove the line.`);
          return false;
        }
        ends.push(start + line.length + 1);
        return true;
      };
      const fill = async (): Promise<void> => {
        const buf = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await fh.read(buf, 0, CHUNK, readPos);
        readPos += bytesRead;
        const read = buf.subarray(0, bytesRead);
        values = [];
        ends = [];
        taken = 0;
        // (the line read so far has no line end: only the new bytes are searched for one)
        if (bytesRead > 0 && read.indexOf(10) === -1) {
          rest.push(read);
          restBytes += bytesRead;
          return;
        }
        const data = restBytes === 0 ? read : Buffer.concat([...rest, read], restBytes + bytesRead);
        const base = readPos - data.length;
        rest = [];
        restBytes = 0;
        // a UTF-8 byte order mark at the start of the file is not part of the first line
        let from = base === 0 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? 3 : 0;
        chunk = data;
        chunkBase = base;
        for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
          if (!parse(data.subarray(from, nl), base + from)) return;
          from = nl + 1;
        }
        if (bytesRead === 0) {
          eof = true;
          if (from < data.length && parse(data.subarray(from), base + from)) {
            const last = ends.length - 1;
            if (last >= 0) ends[last] = (ends[last] as number) - 1; // no newline after the last line
          }
        } else if (from < data.length) {
          // (a view of this read's buffer, which no later read reuses)
          rest = [data.subarray(from)];
          restBytes = data.length - from;
        }
      };
      const take = (max: number): SourceRead<T> => {
        const end = Math.min(values.length, taken + max);
        const out = values.slice(taken, end);
        if (end > taken) {
          const after = ends[end - 1] as number;
          const length = Math.min(FINGERPRINT_BYTES, after - chunkBase);
          current = `${after}:${length}:${fnv1a(chunk.subarray(after - chunkBase - length, after - chunkBase))}`;
        }
        taken = end;
        return { values: out, done: eof && failure === undefined && taken >= values.length };
      };
      return {
        read(max: number): SourceRead<T> | Promise<SourceRead<T>> {
          if (taken < values.length) return take(max);
          // the lines before a line that is not JSON were taken: now its error
          if (failure !== undefined) throw failure;
          if (eof) return take(max);
          return (async () => {
            while (taken >= values.length && !eof && failure === undefined) await fill();
            if (taken >= values.length && failure !== undefined) throw failure;
            return take(max);
          })();
        },
        offset: () => current,
        close: () => fh.close(),
      };
    },
  };
}

interface PendingTxn {
  readonly id: number;
  readonly start: number;
  readonly length: number;
}

interface NdjsonState {
  readonly sink: 'toNdjsonFile';
  readonly committed: number;
  readonly pending: readonly PendingTxn[];
}

/** The commit record `<file>.committed`: the newest checkpoint whose lines were appended, and the file's size then. */
interface CommitRecord {
  readonly format: typeof COMMIT_FORMAT;
  readonly checkpoint: number;
  readonly bytes: number;
}
const COMMIT_FORMAT = 'tidewater-ndjson-commit/1';

/** The size of file `f`, or undefined when it does not exist. */
async function sizeOf(fsp: typeof NodeFs.promises, f: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(f)).size;
  } catch {
    return undefined;
  }
}

/** The state of a toNdjsonFile sink in a checkpoint (refused when it is another sink's). */
function ndjsonState(description: string, restored: string): NdjsonState {
  return parseSinkState(description, 'toNdjsonFile', restored, (o) => isIndex(o['committed']) && Array.isArray(o['pending'])) as unknown as NdjsonState;
}


/**
 * A sink writing one JSON line per value to `file`. With checkpointing it is a two-phase-commit sink: the values of a
 * checkpoint interval are written to `file.pending-<id>` and fsynced at the barrier (pre-commit); when the checkpoint
 * is durable they are appended to `file` (commit: truncate to the transaction's start, append, fsync, delete the
 * pending file — so a commit repeated after a crash is harmless). On restore, the pending transactions of the
 * checkpoint are committed and everything after them is cut off and aborted, so `file` holds each result exactly
 * once. Without checkpointing, lines are appended as they come.
 *
 * Each commit first notes in `file.committed` (replaced atomically, before the lines are appended) the checkpoint it
 * commits and the file's size after it: a job whose store lost that checkpoint (a deleted store directory, lost
 * completion markers) refuses to start with `StoreBehindError` instead of cutting the file back (so does a restored job
 * whose file is longer than its checkpoint's output, which only a newer commit makes it); `discardCommitted: true` (with `restore: false` to start over)
 * lets it. A file without that note (not written by a checkpointed job) is emptied when a job starts from scratch.
 *
 * @example
 * ```ts
 * runJob({ name: 'counts', source, pipeline, sink: toNdjsonFile('out/counts.ndjson'),
 *   checkpoint: { intervalMs: 1000, store: levelStore('state') } });
 * ```
 */
export function toNdjsonFile<R>(file: string): Sink<R> {
  const description = `toNdjsonFile(${file})`;
  const recordFile = `${file}.committed`;
  const readRecord = async (fsp: typeof NodeFs.promises): Promise<CommitRecord | undefined> => {
    let text: string;
    try {
      text = await fsp.readFile(recordFile, 'utf8');
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
      throw e;
    }
    let r: Partial<CommitRecord> | undefined;
    try {
      r = JSON.parse(text) as Partial<CommitRecord>;
    } catch {
      r = undefined;
    }
    if (typeof r !== 'object' || r === null || r.format !== COMMIT_FORMAT || !isIndex(r.checkpoint) || !isIndex(r.bytes)) {
      throw new FileFormatError(description, text, `${description}: the commit record ${recordFile} is damaged (${describeValue(text, 120)}); restore it, or delete it if ${file} holds no output you need to keep.`);
    }
    return r as CommitRecord;
  };
  return {
    description,
    async committedAhead(context) {
      const { fs } = nodeModules(description);
      const record = await readRecord(fs.promises);
      const restored = context.transactional && context.restored !== undefined;
      const from = restored ? ndjsonState(description, context.restored as string).committed : 0;
      const at = context.restoredCheckpoint;
      // a start at or after the recorded checkpoint cuts nothing committed (transactions are appended in id order)
      if (record !== undefined && record.bytes > from && (at === undefined || record.checkpoint > at)) {
        return { checkpoint: record.checkpoint, what: `${record.bytes} B of output`, loss: from === 0 ? 'discard it' : `discard ${record.bytes - from} B of it` };
      }
      if (!restored) return undefined; // (a file without a record, not written by a checkpointed job, is emptied)
      // Only commits extend the file, and only after their checkpoint is durable: a file longer than the restored
      // checkpoint's output holds a newer checkpoint's lines, even when the record does not say so (a file left by a
      // crash between an append and the record's update, before the record was written first; see commit below).
      const size = (await sizeOf(fs.promises, file)) ?? 0;
      if (size <= from) return undefined;
      const after = Math.max(record?.checkpoint ?? -1, at ?? -1) + 1;
      const note =
        record === undefined ? `its commit record ${recordFile} is missing` : `its commit record ${recordFile} names only checkpoint ${record.checkpoint} at ${record.bytes} B: a crash cut its update short`;
      return { checkpoint: after, what: `${size} B of output, the last ${size - from} B by checkpoint ${after} or later; ${note}`, loss: `discard ${size - from} B of it` };
    },
    async open(context: SinkContext): Promise<SinkWriter<R>> {
      const { fs, path } = nodeModules(description);
      const fsp = fs.promises;
      const pendingFile = (id: number): string => `${file}.pending-${id}`;
      const commitOne = async (t: PendingTxn): Promise<void> => {
        const pf = pendingFile(t.id);
        const size = (await sizeOf(fsp, file)) ?? 0;
        if (t.length === 0) return;
        if ((await sizeOf(fsp, pf)) === undefined) {
          if (size >= t.start + t.length) return; // committed before
          throw new FileFormatError(description, t, `${description}: transaction ${t.id} is neither committed nor pending (${pf} is missing); the output file was changed behind the job's back. Delete the checkpoints and start over.`);
        }
        if (size < t.start) {
          throw new FileFormatError(description, t, `${description}: ${file} is shorter (${size} B) than its committed output (${t.start} B); it was changed behind the job's back. Delete the checkpoints and start over.`);
        }
        const data = await fsp.readFile(pf);
        const fh = await fsp.open(file, 'r+');
        try {
          await fh.truncate(t.start);
          await fh.write(data, 0, data.length, t.start);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fsp.unlink(pf);
      };
      const removeStrayPending = async (): Promise<void> => {
        const dir = path.dirname(file);
        const prefix = `${path.basename(file)}.pending-`;
        for (const name of await fsp.readdir(dir)) if (name.startsWith(prefix)) await fsp.unlink(path.join(dir, name));
      };

      /** Makes a created (or removed) file's directory entry durable too (Linux needs the directory fsynced). */
      const syncDir = async (): Promise<void> => {
        try {
          const dh = await fsp.open(path.dirname(file), 'r');
          try {
            await dh.sync();
          } finally {
            await dh.close();
          }
        } catch {
          // platforms that cannot open or fsync a directory (Windows) persist entries with the file
        }
      };

      /** Notes checkpoint `checkpoint` as committed at `bytes` (undefined: removes the note), atomically and durably. */
      const writeRecord = async (checkpoint: number | undefined, bytes: number): Promise<void> => {
        if (checkpoint === undefined) {
          await fsp.rm(recordFile, { force: true });
          return;
        }
        const tmp = `${recordFile}.tmp`;
        const fh = await fsp.open(tmp, 'w');
        try {
          await fh.writeFile(JSON.stringify({ format: COMMIT_FORMAT, checkpoint, bytes } satisfies CommitRecord));
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fsp.rename(tmp, recordFile);
        await syncDir();
      };

      let end = 0;
      const restoredFrom = context.transactional ? context.restoredCheckpoint : undefined;
      if (context.transactional && context.restored !== undefined) {
        const state = ndjsonState(description, context.restored);
        end = state.committed;
        // the record first, as in commit below
        if (state.pending.some((t) => t.length > 0) && restoredFrom !== undefined) await writeRecord(restoredFrom, end);
        for (const t of state.pending) await commitOne(t);
      } else if (restoredFrom !== undefined) {
        // the restored checkpoint has no state of this sink (it was left out of the run that took it): the output an
        // earlier checkpoint committed stays (only commits extend the file, each after its checkpoint is durable)
        const record = await readRecord(fsp);
        if (record !== undefined && record.checkpoint <= restoredFrom) end = record.bytes;
      }
      if (end > 0) {
        const size = (await sizeOf(fsp, file)) ?? 0;
        if (size < end) {
          throw new FileFormatError(description, size, `${description}: ${file} is shorter (${size} B) than the output its checkpoint committed (${end} B); it was changed behind the job's back. Restore it, or start over (restore: false).`);
        }
      }
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await removeStrayPending();
      // the job checked that nothing committed is cut here, or was told to (discardCommitted): the note follows first
      const record = await readRecord(fsp);
      if (record !== undefined && (restoredFrom === undefined || record.checkpoint > restoredFrom)) await writeRecord(restoredFrom, end);
      const fh0 = await fsp.open(file, 'a');
      try {
        // only when longer: a device (e.g. /dev/full) can be neither truncated nor fsynced
        if ((await fh0.stat()).size > end) {
          await fh0.truncate(end);
          await fh0.sync();
        }
      } finally {
        await fh0.close();
      }

      let lines: string[] = [];
      let pending: PendingTxn[] = [];
      const line = (v: R): string => {
        const s = JSON.stringify(v) as string | undefined;
        if (s === undefined) throw new ConfigurationError(description, v, `${description}: ${describeValue(v)} has no JSON form; map results to JSON values before the sink.`);
        return s;
      };
      if (!context.transactional) {
        let chain: Promise<void> = Promise.resolve();
        /** The first failed append: thrown by the next write, or at close (never left as an unhandled rejection). */
        let failed: { readonly error: unknown } | undefined;
        const flush = (): void => {
          if (lines.length === 0) return;
          const data = lines.join('\n') + '\n';
          lines = [];
          chain = chain
            .then(() => (failed === undefined ? fsp.appendFile(file, data) : undefined))
            .catch((error: unknown) => {
              failed ??= { error };
            });
        };
        return {
          write(v) {
            if (failed !== undefined) throw failed.error;
            lines.push(line(v));
            if (lines.length >= 4096) flush();
          },
          preCommit: () => '{"sink":"toNdjsonFile","committed":0,"pending":[]}',
          commit() {},
          async close() {
            flush();
            await chain;
            if (failed !== undefined) throw failed.error;
          },
        };
      }
      return {
        write(v) {
          lines.push(line(v));
        },
        async preCommit(id) {
          const data = lines.length === 0 ? '' : lines.join('\n') + '\n';
          lines = [];
          const length = Buffer.byteLength(data);
          if (length > 0) {
            const fh = await fsp.open(pendingFile(id), 'w');
            try {
              await fh.writeFile(data);
              await fh.sync();
            } finally {
              await fh.close();
            }
            await syncDir();
          }
          pending.push({ id, start: end, length });
          end += length;
          const state: NdjsonState = { sink: 'toNdjsonFile', committed: end, pending };
          return JSON.stringify(state);
        },
        async commit(id) {
          const due = pending.filter((t) => t.id <= id);
          let bytes: number | undefined;
          for (const t of due) if (t.length > 0) bytes = t.start + t.length;
          // The record is written (durably) before the lines are appended, never after: their pending files are
          // durable already, and checkpoint `id` is, so a crash at any point of the append leaves a record naming
          // `id` and the size the file is about to reach, and a restart whose store lost `id` refuses to cut them
          // (StoreBehindError, docs/SEMANTICS.md §8). A record written after the append left a window (appended,
          // record still naming the older checkpoint) in which the file was cut back silently; committedAhead also
          // measures the file itself, for files left in that state.
          if (bytes !== undefined) await writeRecord(id, bytes);
          for (const t of due) {
            await commitOne(t);
            pending = pending.slice(1);
          }
        },
        close() {
          lines = [];
        },
      };
    },
  };
}
