import { Observable, Subject, type OperatorFunction, type Subscriber } from 'rxjs';
import { PipelineRuntime } from '../core/runtime.js';
import { barrier, type Key, type SideRecord, type StreamElement } from '../elements/index.js';
import { EmittedSideRecord } from '../elements/plumbing.js';
import { ConfigurationError, describeValue } from '../errors/index.js';
import { keyGroupUnchecked } from '../keys/keyGroups.js';
import type { KeyExchange } from '../parallel/exchange.js';

type Element = StreamElement<unknown, unknown>;

/**
 * One entry of a cluster job's exchange (docs/NATS.md, "Multi-process jobs"), as the sending stage's side output
 * carries it to the exchange writer: the downstream task it goes to (`-1`: every task), then the element — a record
 * `[to, 0, timestamp, key, value]`, a watermark `[-1, 1, timestamp]` (`null` for `MAX_WATERMARK`, `'min'` for
 * `MIN_WATERMARK`), a status
 * `[-1, 2, idle]` (1 or 0), the end of the sender's stream `[-1, 3]`.
 *
 * @internal
 */
export type ExchangeEntry =
  | readonly [to: number, kind: 0, timestamp: number, key: Key, value: unknown]
  | readonly [to: -1, kind: 1, timestamp: number | null | 'min']
  | readonly [to: -1, kind: 2, idle: 0 | 1]
  | readonly [to: -1, kind: 3];

/** The side output that carries stage `stage`'s exchange entries to its writer. @internal */
export function exchangeTag(stage: number): string {
  return `tidewater.exchange.${stage}`;
}

/** How a job's pipeline splits at its `keyBy`s: the edge (0, 1, …, upstream first) of each `keyBy` by subscription order. @internal */
export interface StagePlan {
  readonly edgeOfOrdinal: readonly number[];
  /** Stages: one more than the edges. */
  readonly stages: number;
}

/**
 * Finds where a pipeline's `keyBy`s cut it into stages (Kafka Streams' sub-topologies): builds it once on an empty
 * input, lets a barrier run through it and notes which `keyBy` it reaches from which. The `keyBy`s must form one
 * chain — each stage's stream re-keyed at most once, no two keyed streams meeting (a join, a union of keyed streams):
 * anything else is refused with a `ConfigurationError`.
 *
 * @internal
 */
export function planStages(owner: string, pipeline: OperatorFunction<StreamElement<unknown, undefined>, Element>): StagePlan {
  const parent: (number | undefined)[] = [];
  const reached: boolean[] = [];
  let forwarding: number | undefined;
  let joins = 0;
  const probe: KeyExchange = {
    join(keyed$, out) {
      const ordinal = joins++;
      reached[ordinal] = false;
      out.add(
        keyed$.subscribe({
          next(e) {
            if (e.kind !== 'barrier') return;
            reached[ordinal] = true;
            parent[ordinal] = forwarding;
            const outer = forwarding;
            forwarding = ordinal;
            try {
              out.next(e);
            } finally {
              forwarding = outer;
            }
          },
          error: (e: unknown) => out.error(e),
          complete: () => out.complete(),
        }),
      );
    },
  };
  const input = new Subject<StreamElement<unknown, undefined>>();
  const runtime = new PipelineRuntime({ owner, checkpointed: false, exchange: probe, positions: null, warn: () => undefined });
  let failure: unknown;
  const sub = runtime.subscribe(pipeline(input), { next: () => undefined, error: (e) => (failure = e), complete: () => undefined });
  runtime.run(() => input.next(barrier(0)));
  sub.unsubscribe();
  if (failure !== undefined) throw failure;
  const roots = parent.filter((p, o) => reached[o] === true && p === undefined).length;
  const children = new Map<number, number>();
  for (const p of parent) if (p !== undefined) children.set(p, (children.get(p) ?? 0) + 1);
  if (reached.some((r) => !r) || roots > 1 || [...children.values()].some((c) => c > 1)) {
    throw new ConfigurationError(
      owner,
      joins,
      `${owner}: a cluster job's keyBys must form one chain (the pipeline's stream re-keyed one after another), so that each keyBy starts the next stage; this pipeline has ${joins} keyBys that ${roots > 1 ? 'start in parallel branches (a join or union of keyed streams)' : 'do not follow one another'}. Run such a pipeline with runJob, or key the joined streams in one keyBy.`,
    );
  }
  const edgeOfOrdinal = parent.map((_, o) => {
    let depth = 0;
    for (let p = parent[o]; p !== undefined; p = parent[p]) depth++;
    return depth;
  });
  return { edgeOfOrdinal, stages: joins + 1 };
}

/**
 * The `keyBy` exchange of one task of stage `stage` in a cluster job (docs/NATS.md, "Multi-process jobs"): the
 * task runs the whole pipeline, but only its stage carries records — the stage's input (the job's source for stage
 * 0, else `input`, the exchange reader's elements) enters at the previous edge's `keyBy`, and the stage's re-keyed
 * records leave at the next edge's `keyBy` as exchange entries (a side output for the exchange writer, routed to the
 * downstream task that owns their key group). Every other `keyBy` passes barriers and side records only, so every
 * operator of the pipeline still takes part in each checkpoint.
 *
 * @internal
 */
export class StageExchange implements KeyExchange {
  private ordinal = 0;

  constructor(
    private readonly plan: StagePlan,
    private readonly stage: number,
    /** The stage's input from the exchange (stages ≥ 1). */
    private readonly input: Observable<Element> | undefined,
    /** Tasks of the next stage. */
    private readonly downstreamTasks: number,
    private readonly maxParallelism: number,
    private readonly owner: string,
  ) {}

  join(keyed$: Observable<Element>, out: Subscriber<Element>): void {
    const edge = this.plan.edgeOfOrdinal[this.ordinal++] ?? -1;
    if (edge === this.stage) this.send(keyed$, out);
    else if (edge === this.stage - 1) this.receive(keyed$, out);
    else out.add(keyed$.subscribe({ next: (e) => passControl(e, out), error: (e: unknown) => out.error(e), complete: () => out.complete() }));
  }

  /** The stage's end: re-keyed records, watermarks and statuses become exchange entries; barriers pass. */
  private send(keyed$: Observable<Element>, out: Subscriber<Element>): void {
    const tag = exchangeTag(this.stage);
    const { downstreamTasks: n, maxParallelism } = this;
    const side = (value: ExchangeEntry, timestamp: number): SideRecord<ExchangeEntry> => new EmittedSideRecord(tag, value, timestamp);
    out.add(
      keyed$.subscribe({
        next: (e) => {
          switch (e.kind) {
            case 'record': {
              const key = e.key as Key;
              if (typeof key === 'bigint' || (Array.isArray(key) && key.some((k) => typeof k === 'bigint'))) {
                out.error(new ConfigurationError(this.owner, key, `${this.owner}: key ${describeValue(key)} is a bigint, which the exchange between processes (JSON) cannot carry; key by a string or number.`));
                return;
              }
              const to = Math.floor((keyGroupUnchecked(key, maxParallelism) * n) / maxParallelism);
              out.next(side([to, 0, e.timestamp, key, e.value], e.timestamp));
              return;
            }
            case 'watermark':
              out.next(side([-1, 1, Number.isFinite(e.timestamp) ? e.timestamp : e.timestamp > 0 ? null : 'min'], e.timestamp));
              return;
            case 'status':
              out.next(side([-1, 2, e.idle ? 1 : 0], 0));
              return;
            default:
              out.next(e);
          }
        },
        error: (e: unknown) => out.error(e),
        complete: () => {
          out.next(side([-1, 3], Infinity));
          out.complete();
        },
      }),
    );
  }

  /** The stage's start: the exchange reader's elements, with the barriers that pass the pipeline's head. */
  private receive(keyed$: Observable<Element>, out: Subscriber<Element>): void {
    let open = 2;
    const ended = (): void => {
      if (--open === 0) out.complete();
    };
    out.add(keyed$.subscribe({ next: (e) => passControl(e, out), error: (e: unknown) => out.error(e), complete: ended }));
    if (this.input !== undefined) out.add(this.input.subscribe({ next: (e) => out.next(e), error: (e: unknown) => out.error(e), complete: ended }));
    else ended();
  }
}

/** Outside its stage a pipeline's part carries only barriers and side records (those of the stage's own exchange). */
function passControl(e: Element, out: Subscriber<Element>): void {
  if (e.kind === 'barrier' || e.kind === 'side') out.next(e);
}

/**
 * The pipeline of a task of a stage ≥ 1: the job's input (the exchange reader's elements and the job's barriers) is
 * split — barriers enter at the pipeline's head and pass along it, the elements enter at the stage's `keyBy`
 * (through `input`, given to its {@link StageExchange}).
 *
 * @internal
 */
export function stageInput(
  pipeline: OperatorFunction<StreamElement<unknown, undefined>, Element>,
  input: Subject<Element>,
): OperatorFunction<StreamElement<unknown, undefined>, Element> {
  return (source$) =>
    new Observable<Element>((out) => {
      const head = new Subject<StreamElement<unknown, undefined>>();
      const sub = pipeline(head).subscribe(out);
      sub.add(
        source$.subscribe({
          next: (e) => {
            if (e.kind === 'barrier') head.next(e);
            else input.next(e);
          },
          error: (e: unknown) => {
            input.error(e);
            head.error(e);
          },
          complete: () => {
            input.complete();
            head.complete();
          },
        }),
      );
      return sub;
    });
}

/**
 * The error of a task restored with other `partitions` than its checkpoint was taken with (docs/NATS.md,
 * "Rescaling"): `what` says what the checkpoint holds (e.g. `is of a stage of 4 tasks`), `saved` the partitions it
 * was taken with. Its exchange writer and reader both check. @internal
 *
 * @example
 * ```ts
 * throw partitionsChanged('exchange(j.1.0)', 'sends to 4 tasks of the next stage', 4, 2);
 * ```
 */
export function partitionsChanged(description: string, what: string, saved: number, partitions: number): ConfigurationError {
  return new ConfigurationError(
    'exchange',
    partitions,
    `${description}: its checkpoint ${what}, and this job runs ${partitions} (partitions ${partitions}): partitions is fixed for the life of the job's state, as a key's state stays in the task of its key group. Restart the job with partitions: ${saved}, or start it anew without its checkpoints (docs/NATS.md, "Rescaling").`,
  );
}
