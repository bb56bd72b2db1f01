import { ConfigurationError, describeValue } from '../errors/index.js';
import type { Sink, SinkContext, SinkWriter } from './types.js';

/** Reads a sink state written by this module's sinks: `{"committed": n}` or `{"last": n}`. */
export function parseSinkState(sink: string, state: string | undefined, field: string): number | undefined {
  if (state === undefined) return undefined;
  let v: unknown;
  try {
    v = (JSON.parse(state) as Record<string, unknown>)[field];
  } catch {
    v = undefined;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ConfigurationError(sink, state, `${sink}: sink state ${describeValue(state)} from the checkpoint is not this sink's; restore with the sink the job was checkpointed with.`);
  }
  return v;
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
 * appended when its checkpoint completes, and a job restored (in the same process) from an earlier checkpoint first
 * cuts the array back to what that checkpoint had committed — so `values` holds every result exactly once. In memory
 * only: a new process starts with an empty array.
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
  return {
    description,
    values,
    open(context: SinkContext): SinkWriter<R> {
      const committed = parseSinkState(description, context.restored, 'committed');
      if (committed !== undefined && values.length > committed) values.length = committed;
      let current: R[] = [];
      const pending: [id: number, values: R[]][] = [];
      return {
        write(value) {
          if (context.transactional) current.push(value);
          else values.push(value);
        },
        preCommit(id) {
          pending.push([id, current]);
          current = [];
          let total = values.length;
          for (const [, vs] of pending) total += vs.length;
          return JSON.stringify({ committed: total });
        },
        commit(id) {
          while (pending.length > 0 && (pending[0] as [number, R[]])[0] <= id) {
            for (const v of (pending.shift() as [number, R[]])[1]) values.push(v);
          }
        },
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
}

/**
 * A sink that calls your functions, with Flink's two-phase-commit protocol when the job checkpoints: `write` per
 * value, `preCommit(n)` at checkpoint n's barrier, `commit(n)` once checkpoint n is durable, and at the start
 * `commit(k)` (recover) then `abort(k)` for the checkpoint k restored from (`abort(undefined)` on a fresh start). Without checkpointing only `write` is
 * called.
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
    async open(context) {
      const last = parseSinkState(description, context.restored, 'last');
      if (context.transactional) {
        if (last !== undefined) await callbacks.commit?.(last);
        await callbacks.abort?.(last);
      }
      return {
        write: (v) => callbacks.write(v),
        async preCommit(id) {
          await callbacks.preCommit?.(id);
          return JSON.stringify({ last: id });
        },
        commit: (id) => callbacks.commit?.(id),
        close() {},
      };
    },
  };
}
