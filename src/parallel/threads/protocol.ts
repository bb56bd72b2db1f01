import type { SnapshotChurn } from '../../checkpoints/snapshot.js';
import type { EncodedBatch } from './codec.js';

/**
 * The messages between a threaded `parallel` operator and its worker subtasks (docs/ARCHITECTURE.md, "Parallel
 * subtasks"). Elements cross in {@link EncodedBatch}es; every element carries the sequence number the operator gave
 * it on arrival, and every output element the number of the input element that was being processed when it was
 * emitted, so that the operator can merge the subtasks' outputs in the order an in-process run emits them.
 *
 * @internal
 */

/** A snapshot as it crosses threads: packed chunks (keyed operators) or plain entries. @internal */
export interface WireSnapshot {
  readonly operator: string;
  readonly full: boolean;
  readonly maxParallelism: number;
  readonly watermark?: string;
  readonly chunks?: readonly string[];
  readonly count?: number;
  /** see `PackedSnapshot.churn`, `PackedSnapshot.rowSizes` */
  readonly churn?: SnapshotChurn;
  readonly rowSizes?: readonly number[];
  readonly entries?: readonly { readonly keyGroup: number; readonly path: string; readonly value: string | undefined }[];
}

/** An error as it crosses threads. @internal */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly operator?: string;
  /** The error's own cause, in the same form (a UserFunctionError's is what the user function threw). */
  readonly cause?: WireError;
}

/** Operator → worker. @internal */
export type ToWorker =
  | {
      readonly type: 'init';
      /** URL of the module that exports the pipeline. */
      readonly module: string;
      readonly subtask: number;
      readonly n: number;
      readonly maxParallelism: number;
      /** The key groups the subtask owns (by key group), else all. */
      readonly range?: { readonly first: number; readonly last: number };
      /** Positions of unnamed stateful operators, as taken on the operator's side (null: none, names are kinds). */
      readonly positions: readonly number[] | null;
      /** Names of the stateful operators the operator's side found in the pipeline (the worker must find the same). */
      readonly names: readonly string[];
      /**
       * The group's name when the worker keeps its merges in checkpoints: it names them `<group>/<kind>@<k>`, as an
       * in-process subtask does (absent with `checkpointed` false: they are not registered).
       */
      readonly places?: string;
      readonly checkpointed: boolean;
      /**
       * The operator's side may take the subtask's state after its input ended (its runtime takes checkpoints: the
       * job's last one, a harness snapshot): send it with `complete`. Else the state is not taken (a plain pipe).
       */
      readonly sendFinalState: boolean;
      /** Snapshot chains to restore from, by operator name (only the subtask's key groups). */
      readonly restore: readonly (readonly [string, readonly WireSnapshot[]])[];
    }
  | { readonly type: 'batch'; readonly batch: EncodedBatch }
  | { readonly type: 'end'; readonly seq: number };

/** Per stateful operator: name, counters, watermark. @internal */
export type WireMetrics = readonly (readonly [name: string, counters: Record<string, number>, watermark: number])[];

/** Worker → operator. @internal */
export type FromWorker =
  | { readonly type: 'ready'; readonly names: readonly string[] }
  | {
      readonly type: 'output';
      readonly batch: EncodedBatch;
      /** Input messages (batches, the end) processed completely since the last output message. */
      readonly acks: number;
      /** Snapshots taken at barriers in this batch: checkpoint id → the operators' snapshots. */
      readonly snapshots?: readonly (readonly [number, readonly WireSnapshot[]])[];
      readonly metrics: WireMetrics;
      readonly warnings?: readonly (readonly [operator: string, message: string])[];
    }
  | { readonly type: 'complete'; /** empty unless `init.sendFinalState` */ readonly finals: readonly WireSnapshot[]; readonly metrics: WireMetrics }
  | { readonly type: 'error'; readonly error: WireError }
  /** A Web Worker's pipeline called `self.close()` (a browser tells the page nothing when a worker closes itself). */
  | { readonly type: 'closed' };
