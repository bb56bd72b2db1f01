import { Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';
import type { ControlElement, Key, StreamElement, StreamRecord } from '../elements/index.js';
import { OperatorObservable, subscribeElements } from '../elements/plumbing.js';
import { CombinedWatermarkStatus } from '../partitioning/combinedWatermark.js';
import { AlignedInputs, type AlignedInputsTarget } from '../partitioning/merge.js';
import { StatusWatermarkValve } from '../partitioning/valve.js';
import { startCore, type CoreArgs, type KeyedOperatorCore } from './keyedOperator.js';
import { runtimeOf } from './runtime.js';

/**
 * How a two-input operator combines its inputs' watermarks and statuses (docs/SEMANTICS.md §10.1):
 * `'operator'` — Flink's `CombinedWatermarkStatus` (interval join, `coProcess`, `broadcastProcess`: an input that
 * comes back holds the watermark where it is); `'union'` — the merge's valve (window join and `coGroup`, which Flink
 * builds on a union: an input that comes back re-joins once it caught up).
 *
 * @internal
 */
export type WatermarkRule = 'operator' | 'union';

/** Delivers what the aligned inputs let through to a keyed core: records with their input, control elements in turn. */
class CoreTarget<OUT> implements AlignedInputsTarget {
  constructor(
    private readonly core: KeyedOperatorCore<unknown, OUT>,
    private readonly out: Subscriber<StreamElement<OUT, Key>>,
  ) {}
  get closed(): boolean {
    return this.out.closed;
  }
  record(input: number, e: StreamRecord<unknown, unknown>): void {
    this.core.nextRecordFrom(input, e);
  }
  control(e: ControlElement): void {
    this.core.next(e);
  }
  complete(): void {
    this.core.complete();
  }
  error(err: unknown): void {
    this.out.error(err);
  }
}

/**
 * Makes the pipeable operator of a keyed core with two inputs: the piped stream is input 0, `second` is input 1.
 * Both are subscribed (input 0 first, unless `secondFirst`) with the operator's subscriber as destination, so stateful operators inside `second` find the
 * same runtime. Their elements go through {@link AlignedInputs}: one element at a time in arrival order, watermarks
 * combined by `rule`, barrier `n` taken (snapshot, then forwarded) once it arrived on both inputs not yet completed,
 * an input that delivered it held back meanwhile (docs/SEMANTICS.md §8, §10.1). The output completes after both inputs
 * completed; an error of either fails it.
 *
 * @example
 * ```ts
 * const op = twoInputOperator('coProcess', spec.name, right$, 'operator', (args) => new CoProcessCore(args, spec));
 * left$.pipe(op);
 * ```
 *
 * @internal
 */
export function twoInputOperator<IN1, IN2, K, OUT>(
  kind: string,
  name: string | undefined,
  second: Observable<StreamElement<IN2, K>>,
  rule: WatermarkRule,
  create: (args: CoreArgs<OUT>) => KeyedOperatorCore<IN1 | IN2, OUT>,
  /**
   * `second` is a broadcast input (`broadcastProcess`): subscribed before the piped stream (synchronous rules arrive
   * first), and, in subtasks whose inputs are dealt among them (a job's `parallelism`), joined with every subtask's
   * through the exchange (docs/ARCHITECTURE.md, "Parallel subtasks").
   */
  broadcast = false,
): OperatorFunction<StreamElement<IN1, K>, StreamElement<OUT, K>> {
  return (first) =>
    new OperatorObservable<StreamElement<OUT, K>>((out) => {
      const typedOut = out as unknown as Subscriber<StreamElement<OUT, Key>>;
      const combiner = rule === 'operator' ? new CombinedWatermarkStatus(2) : new StatusWatermarkValve(2);
      // the combiner's state is part of the core's snapshot (restored with it)
      const core = startCore(kind, name, typedOut, create, combiner);
      if (core === undefined) return undefined;
      const inputs = new AlignedInputs(new CoreTarget(core as KeyedOperatorCore<unknown, OUT>, typedOut), 2, true, combiner, core.name);
      core.wakeUpGate = (fire) => inputs.inTurn(fire);
      const subscriptions: Subscription[] = [];
      // a broadcast input of subtasks whose inputs are dealt among them: every subtask's, through the exchange
      const exchange = broadcast ? runtimeOf(out)?.exchange?.broadcast : undefined;
      const inputStreams = [
        first,
        exchange === undefined ? second : new Observable<StreamElement<unknown, unknown>>((s) => exchange(second as Observable<StreamElement<unknown, unknown>>, s)),
      ] as const;
      for (const i of broadcast ? [1, 0] : [0, 1]) {
        if (out.closed) break;
        subscriptions.push(
          subscribeElements(
            inputStreams[i] as Observable<StreamElement<unknown, unknown>>,
            out,
            (e: StreamElement<unknown, unknown>) => inputs.next(i, e),
            () => inputs.complete(i),
          ),
        );
      }
      return () => {
        core.finish();
        for (const s of subscriptions) s.unsubscribe();
      };
    });
}
