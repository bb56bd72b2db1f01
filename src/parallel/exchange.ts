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
  /**
   * Where the broadcast input of a `broadcastProcess` meets when the subtasks' inputs are dealt among them (a job's
   * `parallelism`): `local$` is what this subtask read of it; `out` receives every subtask's (Flink's broadcast
   * partitioning). Absent where every subtask reads all of it already (a stream from outside `parallel`).
   */
  readonly broadcast?: ((local$: Observable<Element>, out: Subscriber<Element>) => void) | undefined;
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
  private readonly broadcastSlots: Slot[] = [];
  /**
   * Positions every subtask joined, waiting for {@link connect}, in the order they completed. Connected only once
   * every subtask's pipeline has been subscribed: connecting a position subscribes what is upstream of it in every
   * subtask, and done in the middle of the last subtask's subscription it would put that upstream part before the
   * rest of that subtask's pipeline — so the subtasks would subscribe their `keyBy`s, merges and operators in
   * different orders and pair up different ones (their k-th `keyBy` exchanged with another subtask's other one).
   */
  private readonly waiting: (() => void)[] = [];
  private connected = false;

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
   * Subtask `subtask`'s stream at one position of `slots`; once all `n` met, each receives the merge (watermark =
   * minimum over the senders, aligned barriers) of its partitions of every subtask's stream: its key groups', or
   * (`broadcast`) all of each.
   */
  private meet(slots: Slot[], ordinal: number, subtask: number, stream$: Observable<Element>, out: Subscriber<Element>, broadcast: boolean): void {
    let slot = slots[ordinal];
    if (slot === undefined) {
      slot = { keyed: new Array(this.n).fill(undefined), outs: new Array(this.n).fill(undefined), joined: 0 };
      slots[ordinal] = slot;
    }
    slot.keyed[subtask] = withRuntime(stream$, this.runtimes[subtask] as OperatorRuntime);
    slot.outs[subtask] = out;
    if (++slot.joined < this.n) return;
    const s = slot;
    const connect = (): void => this.connectSlot(s, ordinal, broadcast);
    if (this.connected) connect();
    else this.waiting.push(connect);
  }

  /**
   * Every subtask's pipeline has been subscribed: connects the positions all joined, in the order they completed —
   * each one's upstream subscribed in every subtask in turn, in full, before the next position's (positions completed
   * meanwhile, upstream ones, wait their turn). A position joined later (a `keyBy` subscribed late, inside a
   * higher-order operator) connects once all joined.
   */
  connect(): void {
    if (this.connected) return;
    for (let i = 0; i < this.waiting.length; i++) (this.waiting[i] as () => void)();
    this.waiting.length = 0;
    this.connected = true;
  }

  /** Connects one position: each subtask receives the merge of its partitions of every subtask's stream. */
  private connectSlot(s: Slot, ordinal: number, broadcast: boolean): void {
    const { n, owners, maxParallelism } = this;
    // (keys were checked by keyBy: the key group without checks, as 'hash' computes it)
    const by = broadcast ? 'broadcast' : owners === n ? 'hash' : (r: StreamRecord<unknown, unknown>) => Math.floor((keyGroupUnchecked(r.key as Key, maxParallelism) * owners) / maxParallelism);
    const parts = s.keyed.map((k) => partitionStream(k as Observable<Element>, n, by, { maxParallelism }));
    for (let j = 0; j < this.n; j++) {
      const receiver = s.outs[j] as Subscriber<Element>;
      // (each receiver's merge in its subtask's checkpoints: its valve knows which sender was where)
      const name = `${this.group}/${broadcast ? 'broadcast' : 'keyBy'}@${ordinal}`;
      receiver.add(mergeWithValve(parts.map((p) => p[j] as Observable<Element>), true, name).subscribe(receiver));
    }
  }
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
