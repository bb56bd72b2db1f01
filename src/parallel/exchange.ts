import type { Observable, Subscriber } from 'rxjs';
import { withRuntime, type OperatorRuntime } from '../core/runtime.js';
import type { Key, StreamElement, StreamRecord } from '../elements/index.js';
import { keyGroupUnchecked } from '../keys/keyGroups.js';
import { ConfigurationError } from '../errors/index.js';
import { mergeWithValve } from '../partitioning/merge.js';
import { partitionStream } from '../partitioning/partition.js';

type Element = StreamElement<unknown, unknown>;

/**
 * Where a `keyBy` inside parallel subtasks sends its records: to the subtask that owns the new key's key group
 * (Flink's hash shuffle between subtasks). @internal
 */
export interface KeyExchange {
  /** `keyed$` is subtask-local `keyBy` output; `out` receives, for this subtask, the records of its key groups from every subtask. */
  join(keyed$: Observable<Element>, out: Subscriber<Element>): void;
}

/** One `keyBy` position (the k-th `keyBy` subscribed in each subtask) across the `n` subtasks. */
interface Slot {
  readonly keyed: (Observable<Element> | undefined)[];
  readonly outs: (Subscriber<Element> | undefined)[];
  joined: number;
}

/**
 * The in-process hash exchange of `n` subtasks (docs/ARCHITECTURE.md, "Parallel subtasks"): the k-th `keyBy` of
 * every subtask meets here; once all `n` joined, each one's keyed output is partitioned by key group and each
 * subtask receives the merge of its partitions (watermark = minimum over the senders, aligned barriers), so that a
 * key's records — and its state — live in the subtask that owns its key group, whichever subtask read them.
 *
 * @internal
 */
export class SubtaskExchange {
  private readonly slots: Slot[] = [];

  constructor(
    private readonly n: number,
    /** The instances that own key groups (the first `owners`; the others receive control elements only). */
    private readonly owners: number,
    private readonly maxParallelism: number,
    /** The runtime of each subtask (the upstream of its keyBy runs in it). */
    private readonly runtimes: readonly OperatorRuntime[],
  ) {}

  /** The exchange as subtask `subtask` sees it (its keyBys in subscription order). */
  forSubtask(subtask: number): KeyExchange {
    let ordinal = 0;
    return { join: (keyed$, out) => this.join(ordinal++, subtask, keyed$, out) };
  }

  private join(ordinal: number, subtask: number, keyed$: Observable<Element>, out: Subscriber<Element>): void {
    let slot = this.slots[ordinal];
    if (slot === undefined) {
      slot = { keyed: new Array(this.n).fill(undefined), outs: new Array(this.n).fill(undefined), joined: 0 };
      this.slots[ordinal] = slot;
    }
    slot.keyed[subtask] = withRuntime(keyed$, this.runtimes[subtask] as OperatorRuntime);
    slot.outs[subtask] = out;
    if (++slot.joined < this.n) return;
    const s = slot;
    const { n, owners, maxParallelism } = this;
    // (keys were checked by keyBy: the key group without checks, as 'hash' computes it)
    const by = owners === n ? 'hash' : (r: StreamRecord<unknown, unknown>) => Math.floor((keyGroupUnchecked(r.key as Key, maxParallelism) * owners) / maxParallelism);
    const parts = s.keyed.map((k) => partitionStream(k as Observable<Element>, n, by, { maxParallelism }));
    for (let j = 0; j < this.n; j++) {
      const receiver = s.outs[j] as Subscriber<Element>;
      receiver.add(mergeWithValve(parts.map((p) => p[j] as Observable<Element>), true).subscribe(receiver));
    }
    return;
  }
}

/** The exchange of subtasks in worker threads: a keyBy there would move keys away from their key groups. @internal */
export const NO_EXCHANGE: KeyExchange = {
  join(_keyed$, out) {
    out.error(
      new ConfigurationError(
        'keyBy',
        undefined,
        'keyBy: a pipeline run in worker threads by parallel(…, { worker }) cannot re-key its stream: the new keys would live in subtasks that do not own their key groups. ' +
          'Re-key before parallel (keyBy(...) then parallel(...)), or run the parallel pipeline in-process.',
      ),
    );
    return;
  },
};
