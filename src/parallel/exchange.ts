import type { Observable, Subscriber, Subscription } from 'rxjs';
import { subscribeInRuntime, withRuntime, type OperatorRuntime } from '../core/runtime.js';
import type { Key, StreamElement, StreamRecord } from '../elements/index.js';
import { keyGroupUnchecked } from '../keys/keyGroups.js';
import { ConfigurationError, describeValue } from '../errors/index.js';
import { OperatorObservable, subscribeElements } from '../elements/plumbing.js';
import { mergeWithValve } from '../partitioning/merge.js';
import { eagerPartitions } from '../partitioning/partition.js';

type Element = StreamElement<unknown, unknown>;

/**
 * Where a `keyBy` inside parallel subtasks sends its records: to the subtask that owns the new key's key group
 * (Flink's hash shuffle between subtasks). @internal
 */
export interface KeyExchange {
  /** `keyed$` is subtask-local `keyBy` output; `out` receives, for this subtask, the records of its key groups from every subtask. */
  join(keyed$: Observable<Element>, out: Subscriber<Element>): void;
  /**
   * Where the broadcast input of a `broadcastProcess` meets when the subtasks' inputs are dealt among them (a job's
   * `parallelism`): `local$` is what this subtask read of it; `out` receives every subtask's (Flink's broadcast
   * partitioning). Absent where every subtask reads all of it already (a stream from outside `parallel`).
   */
  readonly broadcast?: ((local$: Observable<Element>, out: Subscriber<Element>) => void) | undefined;
}

/** One `keyBy` position (the k-th `keyBy` subscribed in each subtask) across the `n` subtasks. */
interface Slot {
  /** Per subtask: its stream's partitions, one per receiving subtask. */
  readonly parts: (readonly Observable<Element>[] | undefined)[];
  readonly outs: (Subscriber<Element> | undefined)[];
  /** Per subtask: its partitioning's subscription to its stream. */
  readonly subscriptions: (Subscription | undefined)[];
  joined: number;
}

/**
 * The in-process hash exchange of `n` subtasks (docs/ARCHITECTURE.md, "Parallel subtasks"): the k-th `keyBy` of
 * every subtask meets here. Each subtask's keyed output is partitioned by key group as its `keyBy` is subscribed —
 * its upstream subscribed then, as a `keyBy` outside `parallel` subscribes it, so that every subtask subscribes its
 * pipeline in the order the pipeline alone does (its operators' positions, merges and `keyBy`s numbered alike; what
 * a partition is sent before its receiver comes is kept for it). Once all `n` joined, each subtask receives the merge
 * of its partitions (watermark = minimum over the senders, aligned barriers), so that a key's records — and its
 * state — live in the subtask that owns its key group, whichever subtask read them.
 *
 * @internal
 */
export class SubtaskExchange {
  private readonly slots: Slot[] = [];
  private readonly broadcastSlots: Slot[] = [];

  constructor(
    /** The group's name: its merges are `<group>/keyBy@<k>` and `<group>/broadcast@<k>` in checkpoints. */
    private readonly group: string,
    private readonly n: number,
    /** The instances that own key groups (the first `owners`; the others receive control elements only). */
    private readonly owners: number,
    private readonly maxParallelism: number,
    /** The runtime of each subtask (the upstream of its keyBy runs in it). */
    private readonly runtimes: readonly OperatorRuntime[],
    /** Whether broadcast inputs meet here (the subtasks' inputs are dealt among them: see {@link KeyExchange.broadcast}). */
    private readonly broadcasts = false,
    /**
     * The key groups of the runtime the group runs in, when that is one subtask of an outer parallel pipeline (a
     * `parallel` inside a job's copies or a worker thread): a `keyBy` here exchanges among this group's subtasks only.
     */
    private readonly outerOwns?: (group: number) => boolean,
  ) {}

  /** The exchange as subtask `subtask` sees it (its keyBys, and its broadcast inputs, in subscription order). */
  forSubtask(subtask: number): KeyExchange {
    let ordinal = 0;
    let broadcastOrdinal = 0;
    return {
      join: (keyed$, out) => this.meet(this.slots, ordinal++, subtask, keyed$, out, false),
      broadcast: this.broadcasts ? (local$, out) => this.meet(this.broadcastSlots, broadcastOrdinal++, subtask, local$, out, true) : undefined,
    };
  }

  /**
   * Subtask `subtask`'s stream at one position of `slots`: partitioned now (its upstream subscribed); once all `n`
   * met, each receives the merge (watermark = minimum over the senders, aligned barriers) of its partitions of every
   * subtask's stream: its key groups', or (`broadcast`) all of each.
   */
  private meet(slots: Slot[], ordinal: number, subtask: number, stream$: Observable<Element>, out: Subscriber<Element>, broadcast: boolean): void {
    let slot = slots[ordinal];
    if (slot === undefined) {
      slot = { parts: new Array(this.n).fill(undefined), outs: new Array(this.n).fill(undefined), subscriptions: new Array(this.n).fill(undefined), joined: 0 };
      slots[ordinal] = slot;
    }
    const { n, owners, maxParallelism } = this;
    // (keys were checked by keyBy: the key group without checks, as 'hash' computes it)
    const by = broadcast ? 'broadcast' : owners === n ? 'hash' : (r: StreamRecord<unknown, unknown>) => Math.floor((keyGroupUnchecked(r.key as Key, maxParallelism) * owners) / maxParallelism);
    slot.outs[subtask] = out;
    const owns = this.outerOwns;
    const own$ = owns === undefined || broadcast ? stream$ : ownedKeysOnly(stream$, owns, maxParallelism);
    const { partitions, subscription } = eagerPartitions(withRuntime(own$, this.runtimes[subtask] as OperatorRuntime), n, by, maxParallelism);
    // (until every subtask joined, the subtask's teardown ends it; then the receivers' merges hold it, and it ends
    // when they all let go of it)
    out.add(subscription);
    slot.parts[subtask] = partitions;
    slot.subscriptions[subtask] = subscription;
    if (++slot.joined < n) return;
    for (let i = 0; i < n; i++) (slot.outs[i] as Subscriber<Element>).remove(slot.subscriptions[i] as Subscription);
    // (each receiver's merge in its subtask's checkpoints: its valve knows which sender was where. Subscribed with
    // the receiver's runtime active: a receiver feeding a Subject — RxJS `connect` — leads to no runtime itself, and
    // the one subscribing now is the last subtask's)
    const name = `${this.group}/${broadcast ? 'broadcast' : 'keyBy'}@${ordinal}`;
    for (let j = 0; j < n; j++) {
      const receiver = slot.outs[j] as Subscriber<Element>;
      const merged$ = mergeWithValve(slot.parts.map((p) => (p as readonly Observable<Element>[])[j] as Observable<Element>), true, name);
      receiver.add(subscribeInRuntime(merged$, receiver, this.runtimes[j] as OperatorRuntime));
    }
  }
}

/**
 * `keyed$` failing at the first record whose key the outer subtask does not own: a `keyBy` inside a `parallel` nested
 * in an outer subtask re-keys among the inner subtasks only, so a new key belonging to another outer subtask would
 * keep its state apart from that subtask's (the key's records counted in two places).
 */
function ownedKeysOnly(keyed$: Observable<Element>, owns: (group: number) => boolean, maxParallelism: number): Observable<Element> {
  return new OperatorObservable<Element>((out) =>
    subscribeElements(keyed$, out, (e: Element) => {
      if (e.kind === 'record' && !owns(keyGroupUnchecked(e.key as Key, maxParallelism))) {
        out.error(
          new ConfigurationError(
            'keyBy',
            e.key,
            `keyBy: key ${describeValue(e.key)} belongs to another subtask of the parallel pipeline around this parallel(…): a keyBy inside a parallel pipeline nested in parallel copies (runJob's parallelism, or a worker thread) re-keys within one copy only, so the key's state would be split over the copies. ` +
              'Re-key before the outer parallelism (keyBy(...) then parallel(...)), or drop the inner parallel(…): the job\'s parallelism already runs the pipeline in parallel.',
          ),
        );
        return;
      }
      out.next(e);
    }),
  );
}

/** The exchange of subtasks in worker threads: a keyBy there would move keys away from their key groups. @internal */
export const NO_EXCHANGE: KeyExchange = {
  broadcast: undefined,
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
