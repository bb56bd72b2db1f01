import { isIndex } from '../checkpoints/snapshot.js';
import { ConfigurationError, describeValue } from '../errors/index.js';
import type { CommittedAhead, Sink, SinkContext, SinkWriter } from './types.js';

/**
 * Reads the sink state a checkpoint holds for a sink of kind `kind` (`{"sink": kind, …}`, accepted by `valid`); a
 * state of another sink, or a damaged one, is refused with a clear error.
 *
 * @internal
 */
export function parseSinkState(description: string, kind: string, state: string, valid: (s: Record<string, unknown>) => boolean): Record<string, unknown> {
  let o: Record<string, unknown> | undefined;
  try {
    o = JSON.parse(state) as Record<string, unknown>;
  } catch {
    o = undefined;
  }
  if (typeof o !== 'object' || o === null || o['sink'] !== kind || !valid(o)) {
    throw new ConfigurationError(description, state, `${description}: sink state ${describeValue(state)} from the checkpoint is not a ${kind} sink's; restore with the sink the job was checkpointed with.`);
  }
  return o;
}

/**
 * A sink that collects committed values in memory ({@link ArraySink.values}).
 *
 * @example
 * ```ts
 * const out = toArray<number>();
 * await runJob({ name: 'demo', source: fromArray([1, 2]), pipeline: pipe(map(x => x + 1)), sink: out }).done;
 * out.values; // [2, 3]
 * ```
 */
export interface ArraySink<R> extends Sink<R> {
  /** Committed values, in order: with checkpointing, a value appears once its checkpoint completes. */
  readonly values: readonly R[];
}

/**
 * A sink into an array ({@link ArraySink.values}). With checkpointing it is two-phase: values of a transaction are
 * appended when its checkpoint completes, and a job restored (in the same process) from a checkpoint commits its
 * transactions (kept with the sink) — so `values` holds every result exactly once. Values committed beyond where a
 * job starts (a restore of an older checkpoint, or a fresh start of a checkpointed job after values were committed)
 * are refused as any sink's are (`StoreBehindError`), unless `discardCommitted: true`: then the array is cut back to
 * that point (emptied on a fresh start). In memory only: a new process starts with an empty array.
 *
 * @example
 * ```ts
 * const out = toArray<string>();
 * const job = runJob({ name: 'j', source: fromArray(['a']), pipeline: pipe(map(s => s.toUpperCase())), sink: out });
 * await job.done; // out.values = ['A']
 * ```
 */
export function toArray<R>(): ArraySink<R> {
  const values: R[] = [];
  const description = 'toArray';
  /** Pre-committed, not yet committed transactions by checkpoint id, kept with the sink (in memory, not in checkpoints). */
  const pending = new Map<number, R[]>();
  /** The newest checkpoint whose values are in `values`. */
  let lastCommitted: number | undefined;
  const commitUpTo = (id: number): void => {
    for (const [tid, vs] of [...pending].sort((a, b) => a[0] - b[0])) {
      if (tid > id) break;
      for (const v of vs) values.push(v);
      pending.delete(tid);
      lastCommitted = tid;
    }
  };
  /** `committed` of a restored state: the length `values` has once that checkpoint's transactions are committed. */
  const restoredLength = (context: SinkContext): number =>
    context.restored === undefined ? 0 : (parseSinkState(description, 'toArray', context.restored, (o) => isIndex(o['committed']))['committed'] as number);
  return {
    description,
    values,
    // (values committed beyond where the job starts would be cut back, or kept and committed again after a fresh
    // start: refused, as for any sink, unless discardCommitted — docs/SEMANTICS.md §8, "restore safety")
    committedAhead(context: SinkContext): CommittedAhead | undefined {
      if (!context.transactional) return undefined;
      const at = context.restoredCheckpoint;
      let length = values.length;
      if (at !== undefined) for (const [tid, vs] of pending) if (tid <= at) length += vs.length;
      const target = restoredLength(context);
      if (length <= target) return undefined;
      return {
        checkpoint: lastCommitted ?? at ?? 0,
        what: `${length} values`,
        loss: target === 0 ? 'discard them' : `discard the last ${length - target}`,
      };
    },
    open(context: SinkContext): SinkWriter<R> {
      if (context.restored !== undefined) {
        commitUpTo(context.restoredCheckpoint ?? -1); // recover: commit what the checkpoint pre-committed
        const target = restoredLength(context);
        if (values.length > target) values.length = target; // abort what came after it (discardCommitted, or never committed)
      } else if (context.transactional) values.length = 0; // a fresh start (with discardCommitted, if any were committed)
      pending.clear();
      let current: R[] = [];
      return {
        write(value) {
          if (context.transactional) current.push(value);
          else values.push(value);
        },
        preCommit(id) {
          pending.set(id, current);
          current = [];
          let target = values.length;
          for (const vs of pending.values()) target += vs.length;
          return JSON.stringify({ sink: 'toArray', committed: target });
        },
        commit: commitUpTo,
        close() {
          current = [];
        },
      };
    },
  };
}

/**
 * Callbacks of {@link callbackSink}.
 *
 * @example
 * ```ts
 * const cb: SinkCallbacks<number> = { write: (v) => pending.push(v), preCommit: (id) => stage(id, pending.splice(0)), commit: publishUpTo };
 * ```
 */
export interface SinkCallbacks<R> {
  /** A value reached the sink (it belongs to the transaction the next `preCommit` closes). */
  write(value: R): void;
  /** Checkpoint `checkpointId`'s barrier reached the sink: the values written since the previous pre-commit form its transaction; make them durable as pending. */
  preCommit?(checkpointId: number): void | Promise<void>;
  /**
   * Checkpoint `checkpointId` is durable: publish every pending transaction ≤ it. Also called on restore for the
   * checkpoint restored from (it may already be published: commit must be idempotent).
   */
  commit?(checkpointId: number): void | Promise<void>;
  /**
   * At the start of a checkpointed job, restored from checkpoint `afterCheckpointId` (undefined: starting from
   * scratch): discard everything written after it (those values are produced again).
   */
  abort?(afterCheckpointId: number | undefined): void | Promise<void>;
  /**
   * The newest checkpoint whose values your `commit` published durably (in any earlier run), or undefined. With it a
   * job refuses to start from an older checkpoint, or from none (a store that lost checkpoints), unless
   * `discardCommitted` — then `abort(k)` asks you to discard what you published after checkpoint k.
   */
  lastCommitted?(): number | undefined | Promise<number | undefined>;
}

/**
 * A sink that calls your functions, with Flink's two-phase-commit protocol when the job checkpoints: `write` per
 * value, `preCommit(n)` at checkpoint n's barrier, `commit(n)` once checkpoint n is durable, and at the start
 * `commit(k)` (recover) then `abort(k)` for the checkpoint k restored from (`abort(undefined)` on a fresh start). Without checkpointing only `write` is
 * called. With `lastCommitted`, the job first checks that it does not start before what you published.
 *
 * @example
 * ```ts
 * const sink = callbackSink<Count>({
 *   write: (c) => buffer.push(c),
 *   preCommit: (id) => db.put(`pending/${id}`, buffer.splice(0)),
 *   commit: (id) => db.publishPendingUpTo(id),
 *   abort: (after) => db.dropPendingAfter(after),
 * });
 * ```
 */
export function callbackSink<R>(callbacks: SinkCallbacks<R>): Sink<R> {
  const description = 'callbackSink';
  return {
    description,
    async committedAhead(context) {
      const published = await callbacks.lastCommitted?.();
      const from = context.restoredCheckpoint;
      if (published === undefined || (from !== undefined && published <= from)) return undefined;
      return { checkpoint: published, what: 'its lastCommitted()', loss: from === undefined ? 'discard it' : `discard what it published after checkpoint ${from}` };
    },
    async open(context) {
      const last = context.restored === undefined ? undefined : (parseSinkState(description, 'callbackSink', context.restored, (o) => isIndex(o['last']))['last'] as number);
      if (context.transactional) {
        if (last !== undefined) await callbacks.commit?.(last);
        // (a checkpoint without this sink's state — the sink was left out of the run that took it: what it committed
        // before that checkpoint stays; after it, it goes)
        await callbacks.abort?.(last ?? context.restoredCheckpoint);
      }
      return {
        write: (v) => callbacks.write(v),
        async preCommit(id) {
          await callbacks.preCommit?.(id);
          return JSON.stringify({ sink: 'callbackSink', last: id });
        },
        commit: (id) => callbacks.commit?.(id),
        close() {},
      };
    },
  };
}
