import type { Observer, SchedulerLike } from 'rxjs';
import { addRows, ChunkWriter, CLEAR_KEY_GROUP_PATH, escapeJson, noRows, PackedSnapshot, type OperatorSnapshot, type RowSizes } from '../checkpoints/snapshot.js';
import { MIN_WATERMARK, type Key } from '../elements/index.js';
import { ConfigurationError, InvalidKeyError, describeValue } from '../errors/index.js';
import { keyGroupOf, keyGroupRange, partitionOfKeyGroup } from '../keys/keyGroups.js';
import { isKey } from '../keys/validate.js';
import { combineClocks } from '../checkpoints/subtaskClocks.js';
import { SubtaskExchange, type KeyExchange } from './exchange.js';
import { lateOperatorError, placesIn, type OperatorRuntime, type PlaceKind, type SnapshotOptions, type StatefulOperatorInstance } from '../core/runtime.js';
import { combineMergeSnapshots, nextPlaceName, subtaskSnapshots } from '../partitioning/mergeState.js';

/**
 * One subtask's view of a stateful operator of a parallel pipeline: its counters and watermark (in `job.metrics$`).
 *
 * @example
 * ```ts
 * job.metrics$.subscribe((m) => m.subtasks?.['window#1']?.forEach((s) => console.log(s.subtask, s.recordsIn)));
 * ```
 */
export interface SubtaskMetrics {
  /** The subtask's index, 0 … n − 1. */
  readonly subtask: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly stateEntries: number;
  /** The subtask's current watermark for this operator. */
  readonly watermark: number;
}

/** What a remote (worker) subtask last reported about one of its operators. @internal */
export interface ReportedMetrics {
  readonly counters: Record<string, number>;
  readonly watermark: number;
}

/**
 * Folds the snapshots the subtasks took of one operator at one checkpoint into the operator's one snapshot: the
 * subtasks own disjoint key groups, so their entries side by side are the whole state (docs/SEMANTICS.md §7.1); each
 * subtask's clock is kept (src/checkpoints/subtaskClocks.ts). All full: full. Otherwise a delta; a subtask that
 * snapshotted in full (its first snapshot, or its change tracking saturated) has its key groups (`ranges[i]`, of them
 * only those `owns` says the group's own subtask owns: a group nested in a parallel job owns part of its range)
 * marked as replaced whole ({@link CLEAR_KEY_GROUP_PATH}), its entries following.
 *
 * @internal
 */
export function combineSnapshots(
  name: string,
  parts: readonly OperatorSnapshot[],
  /** How many of the subtasks own key groups (the first ones). */
  owners: number,
  ranges: readonly ({ readonly first: number; readonly last: number } | undefined)[] = [],
  owns?: (group: number) => boolean,
): OperatorSnapshot {
  const first = parts[0];
  if (first === undefined) throw new Error(`${name}: no subtask snapshots to combine`);
  if (parts.length === 1) return first;
  const full = parts.every((p) => p.full);
  const chunks: string[] = [];
  let count = 0;
  // of a delta: the parts' churn — not known when a part is full (its key groups' earlier rows all superseded) or not
  // packed; and their row sizes, added up
  const churn = { rewriteRows: 0, rewriteBytes: 0, deleteRows: 0, deleteBytes: 0 };
  let churnKnown = true;
  let rowSizes: number[] | undefined = noRows();
  const addSizes = (sizes: RowSizes | undefined): void => {
    if (rowSizes === undefined || sizes === undefined) rowSizes = undefined;
    else addRows(rowSizes, sizes);
  };
  parts.forEach((p, i) => {
    if (p.maxParallelism !== first.maxParallelism) throw new Error(`${name}: subtask snapshots disagree on maxParallelism (${p.maxParallelism} vs ${first.maxParallelism})`);
    // a full part within a delta: its key groups are cleared before its entries; a part not packed yet is packed
    const range = ranges[i];
    const clear = !full && p.full;
    if (clear && range === undefined) throw new Error(`${name}: subtask ${i} snapshotted in full, the others as deltas, and its key groups are not known`);
    if (clear || !(p instanceof PackedSnapshot)) {
      const w = new ChunkWriter();
      if (clear && range !== undefined) for (let g = range.first; g <= range.last; g++) if (owns === undefined || owns(g)) w.row(g, CLEAR_PATH_ESCAPED, undefined);
      if (!(p instanceof PackedSnapshot)) for (const e of p.entries) w.entry(e);
      chunks.push(...w.finish());
      count += w.count;
      churnKnown = false;
      addSizes(w.rowSizes);
    }
    if (p instanceof PackedSnapshot) {
      chunks.push(...p.chunks);
      count += p.count;
      if (!p.full && p.churn !== undefined) {
        churn.rewriteRows += p.churn.rewriteRows;
        churn.rewriteBytes += p.churn.rewriteBytes;
        churn.deleteRows += p.churn.deleteRows;
        churn.deleteBytes += p.churn.deleteBytes;
      } else churnKnown = false;
      addSizes(p.rowSizes);
    }
  });
  // each subtask's clock (its watermark; a two-input operator's inputs and broadcast state beside it), or the one they share
  const clocks = combineClocks(parts.map((p) => p.watermark), owners);
  return new PackedSnapshot(name, full, first.maxParallelism, chunks, count, clocks, !full && churnKnown ? churn : undefined, rowSizes);
}

/** {@link CLEAR_KEY_GROUP_PATH} as it is written inside a chunk's JSON string. */
const CLEAR_PATH_ESCAPED = escapeJson(CLEAR_KEY_GROUP_PATH);

/**
 * One stateful operator of a parallel pipeline as the runtime outside sees it: the `n` subtasks' instances of one
 * name, one checkpoint identity. Its snapshot is the subtasks' snapshots taken when the barrier passed each of them,
 * combined; its state is found by key group (docs/SEMANTICS.md §7.1). In-process, the members are the instances;
 * with worker threads they are remote, and what this knows of them comes with their output.
 *
 * @internal
 */
export class ParallelOperatorInstance implements StatefulOperatorInstance {
  /** The in-process instances, by subtask. */
  readonly members: (StatefulOperatorInstance | undefined)[];
  /** Snapshots taken at a barrier, by checkpoint id, then subtask. */
  private readonly captured = new Map<number, (OperatorSnapshot | undefined)[]>();
  /** Remote subtasks: the last metrics each reported, and the full snapshot each sent when its input ended. */
  readonly reported: (ReportedMetrics | undefined)[];
  readonly finals: (OperatorSnapshot | undefined)[];
  /** The checkpoint whose captured snapshots {@link snapshot} returns (set while the barrier passes). */
  private taking: number | undefined;

  constructor(
    readonly name: string,
    private readonly group: ParallelGroup,
    /** Whether the subtasks' instances are merges (or groups of them, nested): their snapshots are kept per subtask. */
    readonly isMerge = false,
  ) {
    const n = group.n;
    this.members = new Array<StatefulOperatorInstance | undefined>(n).fill(undefined);
    this.reported = new Array<ReportedMetrics | undefined>(n).fill(undefined);
    this.finals = new Array<OperatorSnapshot | undefined>(n).fill(undefined);
  }

  capture(subtask: number, checkpointId: number, snapshot: OperatorSnapshot): void {
    let list = this.captured.get(checkpointId);
    if (list === undefined) {
      list = new Array<OperatorSnapshot | undefined>(this.group.n).fill(undefined);
      this.captured.set(checkpointId, list);
    }
    list[subtask] = snapshot;
  }

  /** Barrier `checkpointId` left the merge: the outer runtime takes this operator's snapshot now. */
  barrierPassed(checkpointId: number, onBarrier: (instance: StatefulOperatorInstance, id: number) => void): void {
    this.taking = checkpointId;
    try {
      onBarrier(this, checkpointId);
    } finally {
      this.taking = undefined;
      for (const id of [...this.captured.keys()]) if (id <= checkpointId) this.captured.delete(id);
    }
  }

  snapshot(options?: SnapshotOptions): OperatorSnapshot {
    const captured = this.taking === undefined ? undefined : this.captured.get(this.taking);
    const parts: OperatorSnapshot[] = [];
    for (let i = 0; i < this.group.n; i++) {
      // a subtask the barrier did not pass (its input had ended): its state now, or — a worker thread's — the finished
      // snapshot it sent at its end: its clock and inputs, its key groups empty (docs/SEMANTICS.md §8, "End of input")
      const part = captured?.[i] ?? this.members[i]?.snapshot(options) ?? this.finals[i];
      if (part === undefined) {
        throw new ConfigurationError(
          this.name,
          i,
          `${this.name}: subtask ${i} runs in a worker thread and its state can only be taken with a checkpoint barrier (or when its input ended). ` +
            'Snapshot a threaded parallel pipeline through runJob checkpoints, or run it in-process (no worker option) to snapshot it by hand.',
        );
      }
      parts.push(part);
    }
    // a merge's valve per subtask, side by side; keyed state by key group (nested in a parallel job, the group owns
    // only its subtask's key groups: the others' are not cleared)
    if (this.isMerge) return combineMergeSnapshots(this.name, parts);
    return combineSnapshots(this.name, parts, this.group.owners, parts.map((_, i) => this.group.range(i)), this.group.parent?.ownsKeyGroup);
  }

  /** The subtask that owns `key` (by key group: state is found by key group, not by subtask number). */
  private memberOf(key: unknown): StatefulOperatorInstance {
    if (!isKey(key)) throw new InvalidKeyError(this.name, key, describeValue(key));
    const g = this.group;
    const i = partitionOfKeyGroup(keyGroupOf(key as Key, g.maxParallelism), g.owners, g.maxParallelism);
    const m = this.members[i];
    if (m === undefined) {
      throw new ConfigurationError(this.name, key, `${this.name}: subtask ${i} runs in a worker thread; its state cannot be read from here. Read it in-process (no worker option).`);
    }
    return m;
  }

  peekState(key: unknown, name: string, namespace?: string | number): unknown {
    return this.memberOf(key).peekState(key, name, namespace);
  }
  keys(): unknown[] {
    return this.members.flatMap((m) => m?.keys() ?? []);
  }
  timersOf(key: unknown): [domain: 'event' | 'processing', timestamp: number, namespace: string | number][] {
    return this.memberOf(key).timersOf(key);
  }
  get watermark(): number {
    // the lowest of the subtasks' (MAX_WATERMARK when every one finished)
    let w: number | undefined;
    for (const s of this.subtasks()) w = w === undefined ? s.watermark : Math.min(w, s.watermark);
    return w ?? MIN_WATERMARK;
  }
  get stateEntries(): number {
    return this.subtasks().reduce((n, s) => n + s.stateEntries, 0);
  }
  metrics(): Record<string, number> {
    const sum: Record<string, number> = {};
    for (let i = 0; i < this.group.n; i++) {
      const counters = this.members[i]?.metrics() ?? this.reported[i]?.counters ?? {};
      for (const [k, v] of Object.entries(counters)) sum[k] = (sum[k] ?? 0) + v;
    }
    return sum;
  }
  /** Per subtask: records in/out, state entries and watermark (remote ones as last reported). */
  subtasks(): SubtaskMetrics[] {
    const out: SubtaskMetrics[] = [];
    for (let i = 0; i < this.group.n; i++) {
      const m = this.members[i];
      const counters = m?.metrics() ?? this.reported[i]?.counters ?? {};
      out.push({
        subtask: i,
        recordsIn: counters.recordsIn ?? 0,
        recordsOut: counters.recordsOut ?? 0,
        stateEntries: counters.stateEntries ?? 0,
        watermark: m?.watermark ?? this.reported[i]?.watermark ?? MIN_WATERMARK,
      });
    }
    return out;
  }
}

/** What a {@link ParallelGroup} is made of. @internal */
export interface ParallelGroupOptions {
  /** Pipeline instances. */
  readonly n: number;
  /**
   * How many of them own key groups (default `n`): instances `0 … owners − 1` own `keyGroupRange(i, owners)`, the
   * others none (`runJob` with more sources than `parallelism` runs one instance per source: docs/SEMANTICS.md §7.1).
   */
  readonly owners?: number;
  readonly maxParallelism: number;
  /** Whether records are routed by key group (then each subtask owns a key-group range and restores only it). */
  readonly byKeyGroup: boolean;
  /** How the partitioner is named in messages (`'round-robin'`, `a function` …). */
  readonly partitioner: string;
  /**
   * Whether a `broadcastProcess` in the subtasks gets every subtask's broadcast input (a job's `parallelism`, whose
   * sources are dealt among the subtasks); otherwise each subtask reads its broadcast input whole itself (`parallel`,
   * whose pipeline reads a stream from outside in every subtask).
   */
  readonly dealtInputs?: boolean;
  /**
   * What names the group's merges in checkpoints (`<name>/outputs`, `<name>/keyBy@<k>`): default
   * `parallel@<place>`, the group's place among the job's `parallel` groups.
   */
  readonly name?: string;
}

/**
 * The `n` subtasks of one `parallel` operator: their runtimes, their stateful operators (one
 * {@link ParallelOperatorInstance} per name, registered with the runtime outside), their positions (unnamed
 * operators are named the same in every subtask, and as in the pipeline without `parallel`), and the barrier that
 * leaves the merge (docs/ARCHITECTURE.md, "Parallel subtasks").
 *
 * @internal
 */
export class ParallelGroup {
  readonly n: number;
  readonly owners: number;
  readonly maxParallelism: number;
  readonly operators = new Map<string, ParallelOperatorInstance>();
  /** Positions taken from the outer runtime (by subtask 0), replayed by the others. */
  private readonly positions: number[] = [];
  /** What names the group's merges in checkpoints (see {@link ParallelGroupOptions.name}). */
  readonly name: string;
  /** Set once every subtask subscribed its pipeline: stateful operators after that are refused or unregistered. */
  started = false;

  constructor(
    readonly parent: OperatorRuntime | undefined,
    private readonly options: ParallelGroupOptions,
  ) {
    this.n = options.n;
    this.owners = options.owners ?? options.n;
    this.maxParallelism = options.maxParallelism;
    this.name = options.name ?? (parent === undefined ? 'parallel@0' : nextPlaceName(parent, 'parallel'));
  }

  /** The position an unnamed operator of subtask `subtask` takes as its `local`-th. */
  position(local: number): number | undefined {
    const known = this.positions[local];
    if (known !== undefined) return known;
    const p = this.parent?.nextPosition?.();
    if (p === undefined) return undefined;
    this.positions[local] = p;
    return p;
  }

  /** Positions taken so far (sent to worker subtasks). */
  takenPositions(): readonly number[] {
    return this.positions;
  }

  /** Subtask `subtask`'s first and last key group (by key group; none: first > last), else undefined. */
  range(subtask: number): { readonly first: number; readonly last: number } | undefined {
    if (!this.options.byKeyGroup) return undefined;
    return subtask < this.owners ? keyGroupRange(subtask, this.owners, this.maxParallelism) : { first: 1, last: 0 };
  }

  /**
   * The stateful operator of this name (made and registered with the outer runtime on first sight). `merge`: a
   * merge's valve, which has no keyed state to split over subtasks (allowed under any partitioner).
   */
  operator(name: string, merge = false): ParallelOperatorInstance {
    let op = this.operators.get(name);
    if (op === undefined) {
      if (this.parent?.checkpointed === true && !this.options.byKeyGroup && !merge) {
        throw new ConfigurationError(
          'parallel',
          this.options.partitioner,
          `parallel: stateful operator '${name}' runs in subtasks fed by the ${this.options.partitioner} partitioner, so a key's state could be split over ` +
            "subtasks and no checkpoint could restore it. Keyed state inside parallel needs by: 'hash' (the default), or run without checkpoints.",
        );
      }
      op = new ParallelOperatorInstance(name, this, merge);
      this.parent?.register?.(op);
      this.operators.set(name, op);
    }
    return op;
  }

  register(subtask: number, instance: StatefulOperatorInstance): void {
    if (this.started) {
      if (this.parent?.checkpointed === true) throw lateOperatorError(instance.name, `parallel subtask ${subtask}`);
      return;
    }
    const op = this.operator(instance.name, instance.isMerge === true);
    if (op.members[subtask] !== undefined) throw duplicateNameError(instance.name);
    op.members[subtask] = instance;
  }

  /** Barrier `checkpointId` left the merge: every operator's subtask snapshots go out as one. */
  barrierPassed(checkpointId: number): void {
    const onBarrier = this.parent?.onBarrier;
    if (onBarrier === undefined) return;
    for (const op of this.operators.values()) op.barrierPassed(checkpointId, onBarrier);
  }

  /** Whether snapshots are wanted at barriers (someone outside takes checkpoints). */
  get snapshotsWanted(): boolean {
    return this.parent?.onBarrier !== undefined;
  }

  /**
   * What names the merges and groups one subtask subscribes (see {@link OperatorRuntime.placeName}):
   * `<group>/<kind>@<k>`, `k` counted in the subtask — a new counter per subtask.
   */
  placeNamer(): (kind: PlaceKind) => string {
    return placesIn(this.name);
  }

  /** The runtimes of the in-process subtasks, with the exchange their `keyBy`s re-key through. */
  runtimes(): SubtaskRuntime[] {
    const runtimes: SubtaskRuntime[] = [];
    const exchange = new SubtaskExchange(this.name, this.n, this.owners, this.maxParallelism, runtimes, this.options.dealtInputs === true, this.parent?.ownsKeyGroup);
    for (let i = 0; i < this.n; i++) runtimes.push(new SubtaskRuntime(this, i, exchange.forSubtask(i)));
    return runtimes;
  }
}

/** The runtime an in-process subtask's pipeline runs in (see {@link ParallelGroup}). @internal */
export class SubtaskRuntime implements OperatorRuntime {
  readonly scheduler: SchedulerLike | undefined;
  readonly maxParallelism: number;
  readonly ownsKeyGroup: ((group: number) => boolean) | undefined;
  readonly checkpointed: boolean | undefined;
  readonly fullSnapshot: ((checkpointId: number) => boolean) | undefined;
  readonly sideOutput: (<X>(operator: string, observer: Observer<X>, value: X) => void) | undefined;
  /** Unnamed operators take the positions subtask 0 took from the outer runtime (none without one). */
  readonly nextPosition: (() => number) | undefined;
  private local = 0;
  readonly placeName: (kind: PlaceKind) => string;

  readonly crossThreads: (() => void) | undefined;
  readonly pressure: ((source: object, on: boolean) => void) | undefined;

  constructor(
    private readonly group: ParallelGroup,
    private readonly subtask: number,
    readonly exchange: KeyExchange,
  ) {
    const parent = group.parent;
    this.crossThreads = parent?.crossThreads;
    this.pressure = parent?.pressure;
    this.scheduler = parent?.scheduler;
    this.maxParallelism = group.maxParallelism;
    this.ownsKeyGroup = ownsKeyGroup(parent, group.range(subtask));
    this.checkpointed = parent?.checkpointed;
    this.fullSnapshot = parent?.fullSnapshot;
    this.sideOutput = parent?.sideOutput;
    this.nextPosition = parent?.nextPosition === undefined ? undefined : () => group.position(this.local++) as number;
    this.placeName = group.placeNamer();
  }

  register(instance: StatefulOperatorInstance): void {
    this.group.register(this.subtask, instance);
  }
  restoreFor(name: string): readonly OperatorSnapshot[] | undefined {
    // (keyed state is found by key group; a merge's valve is this subtask's own)
    return subtaskSnapshots(this.group.parent?.restoreFor?.(name), this.subtask, this.group.n, this.group.owners);
  }
  warn(operator: string, message: string): void {
    const text = `parallel subtask ${this.subtask}: ${message}`;
    if (this.group.parent?.warn !== undefined) this.group.parent.warn(operator, text);
    else console.warn(text);
  }
  // (bound: a nested group takes it over as it is, see OperatorRuntime)
  readonly onBarrier = (instance: StatefulOperatorInstance, checkpointId: number): void => {
    if (!this.group.snapshotsWanted) return;
    const full = this.fullSnapshot?.(checkpointId) ?? false;
    this.group.operator(instance.name).capture(this.subtask, checkpointId, instance.snapshot({ full }));
  };
}

/** A subtask's key-group filter: its range, within the outer runtime's own (nested parallel pipelines). @internal */
export function ownsKeyGroup(parent: OperatorRuntime | undefined, range: { readonly first: number; readonly last: number } | undefined): ((group: number) => boolean) | undefined {
  const outer = parent?.ownsKeyGroup;
  if (range === undefined) return outer;
  const { first, last } = range;
  return outer === undefined ? (g) => g >= first && g <= last : (g) => g >= first && g <= last && outer(g);
}

/**
 * Two stateful operators of a parallel pipeline with one name: their state would mix in checkpoints (in-process and
 * in worker threads alike). @internal
 */
export function duplicateNameError(name: string): ConfigurationError {
  return new ConfigurationError(name, name, `parallel: two stateful operators in the parallel pipeline are named '${name}'; give each a unique name.`);
}
