import { isObservable, type Observable, type Observer, type OperatorFunction } from 'rxjs';
import { ConfigurationError, describeValue } from '../errors/index.js';
import { checkFunction, checkOptionKeys } from '../errors/options.js';
import type { CoreArgs, KeyedOperatorCore } from '../core/keyedOperator.js';
import { twoInputOperator } from '../core/twoInputOperator.js';
import type { OutputTag, StreamElement, StreamRecord } from '../elements/index.js';
import { forwardControl, operator, subscribeElements } from '../elements/plumbing.js';
import { checkAssigner, type WindowAssigner } from '../windows/assigners.js';
import { checkTrigger, isEventTimeTrigger, isProcessingTimeTrigger, type OnMergeContext, type Trigger } from '../windows/triggers.js';
import type { TimeWindow, WindowContext, WindowResult } from '../windows/types.js';
import type { WindowFunction } from '../windows/windowOperatorBase.js';
import { windowOperatorOf } from '../windows/windowOperatorChoice.js';

/**
 * Options of `windowJoin` and `coGroup`.
 *
 * @example
 * ```ts
 * const late = new Subject<StreamRecord<Click | View, string>>();
 * const options: WindowJoinOptions<Click, View, string> = { name: 'clicks-views', allowedLateness: 5_000, lateData: late };
 * ```
 */
export interface WindowJoinOptions<L, R, K> {
  /** Stable id of the join's state in checkpoints; defaults to its position (`windowJoin#0`, `coGroup#0`, …). */
  readonly name?: string;
  /**
   * Replaces the assigner's default trigger (Flink's `JoinedStreams…window(…).trigger(…)`); its `onElement` gets each
   * record's own value, of either input. `globalWindows()` needs one: its default trigger never fires.
   */
  readonly trigger?: Trigger<L | R>;
  /** Keep windows this many whole ms of event time after their end, firing again on late elements (default 0). */
  readonly allowedLateness?: number;
  /**
   * Where records of either input too late for every window go: a side output (each late value with its timestamp,
   * docs/SEMANTICS.md §14) or an observer (the record); otherwise they are dropped, counted and warned about.
   */
  readonly lateData?: Observer<StreamRecord<L | R, K>> | OutputTag<L | R>;
}

/** A record's value with the input it came from (0: left, 1: right), as the window holds it. */
interface Sided {
  readonly side: 0 | 1;
  readonly value: unknown;
}

/** Tags each record's value with its input; control elements pass. */
function tagged<T, K>(side: 0 | 1, name: string): OperatorFunction<StreamElement<T, K>, StreamElement<Sided, K>> {
  return operator<StreamElement<T, K>, StreamElement<Sided, K>>((source, out) =>
    subscribeElements(source, out, (e) => {
      if (e?.kind === 'record') out.next({ kind: 'record', value: { side, value: e.value }, timestamp: e.timestamp, key: e.key });
      else forwardControl(name, e, out);
    }),
  );
}

const untag = (v: unknown): unknown => (v as Sided).value;

/**
 * The user's assigner over the tagged values: it is given each record's own value (a dynamic session gap, a custom
 * assigner reading the value, the value named in its errors), everything else as the assigner has it — a new object
 * calling the assigner's own methods (frozen assigners and class instances with private fields keep working).
 */
function sidedAssigner(a: WindowAssigner<unknown>): WindowAssigner<Sided> {
  return {
    kind: a.kind,
    isEventTime: a.isEventTime,
    merging: a.merging,
    assign: (v, timestamp, processingTime) => a.assign(v.value, timestamp, processingTime),
    defaultTrigger: () => sidedTrigger(a.defaultTrigger()),
    namespaceOf: (w) => a.namespaceOf(w),
    windowOf: (ns) => a.windowOf(ns),
    ...(a.size !== undefined ? { size: a.size } : {}),
    ...(a.slide !== undefined ? { slide: a.slide } : {}),
    ...(a.offset !== undefined ? { offset: a.offset } : {}),
    ...(a.gap !== undefined ? { gap: a.gap } : {}),
  };
}

/**
 * The user's trigger over the tagged values, its `onElement` given each record's own value; a new object calling the
 * trigger's own methods. The built-in event-time and processing-time triggers as they are (they read no value, and
 * the window operators recognise them by identity).
 */
function sidedTrigger(t: Trigger<unknown>): Trigger<Sided> {
  if (isEventTimeTrigger(t) || isProcessingTimeTrigger(t)) return t as Trigger<Sided>;
  const onMerge = t.onMerge;
  return {
    ...(t.kind !== undefined ? { kind: t.kind } : {}),
    ...(t.state !== undefined ? { state: t.state } : {}),
    canMerge: t.canMerge,
    onElement: (v, timestamp, window, ctx) => t.onElement(v.value, timestamp, window, ctx),
    onEventTime: (time, window, ctx) => t.onEventTime(time, window, ctx),
    onProcessingTime: (time, window, ctx) => t.onProcessingTime(time, window, ctx),
    ...(onMerge !== undefined ? { onMerge: (window: TimeWindow, ctx: OnMergeContext) => onMerge.call(t, window, ctx) } : {}),
    clear: (window, ctx) => t.clear(window, ctx),
  };
}

/** A firing's elements split by side, each in arrival order. */
function sides<L, R>(elements: readonly unknown[]): [L[], R[]] {
  const lefts: L[] = [];
  const rights: R[] = [];
  for (const e of elements as readonly Sided[]) {
    if (e.side === 0) lefts.push(e.value as L);
    else rights.push(e.value as R);
  }
  return [lefts, rights];
}

/** The options of `windowJoin` and `coGroup` (an unknown one is refused). */
const WINDOW_JOIN_OPTIONS = ['name', 'trigger', 'allowedLateness', 'lateData'] as const satisfies readonly (keyof WindowJoinOptions<unknown, unknown, unknown>)[];

/**
 * Builds a window join or a coGroup as Flink does (`JoinedStreams`, `CoGroupedStreams`; docs/SEMANTICS.md §10.3,
 * §10.4): the two inputs, their values tagged with their side, merged by the valve with aligned barriers (§2.4, §8;
 * the valve's state is checkpointed with the operator, §10.1), into one window operator holding both sides' elements per key and window; at each firing `fire(lefts, rights, ctx)`
 * (each list in arrival order) returns the results, emitted as plain values stamped `end - 1`.
 *
 * @example
 * ```ts
 * windowJoinOperator('coGroup', right$, assigner, options, { group: (ls, rs) => [{ ls, rs }] });
 * ```
 *
 * @internal
 */
export function windowJoinOperator<L, R, K, OUT>(
  kind: 'windowJoin' | 'coGroup',
  right$: Observable<StreamElement<R, K>>,
  assigner: WindowAssigner<L | R>,
  options: WindowJoinOptions<L, R, K>,
  results:
    | { readonly group: (lefts: L[], rights: R[], ctx: WindowContext<K>) => OUT | readonly OUT[] | undefined }
    | { readonly pair: (left: L, right: R, ctx: WindowContext<K>) => OUT },
): OperatorFunction<StreamElement<L, K>, StreamElement<OUT, K>> {
  // (refused when the pipeline is made: without a function a join emitted nothing, silently)
  if (!isObservable(right$)) {
    throw new ConfigurationError(kind, right$, `${kind}: the right input ${describeValue(right$)} is not an Observable; give ${kind}(right$, assigner, fn), right$ a stream keyed as this one.`);
  }
  checkAssigner(kind, assigner);
  const given = 'pair' in results ? results.pair : results.group;
  checkFunction(kind, given, kind === 'windowJoin' ? 'windowJoin(right$, assigner, (left, right, ctx) => result)' : 'coGroup(right$, assigner, (lefts, rights, ctx) => results)');
  checkOptionKeys(kind, 'the options', options, WINDOW_JOIN_OPTIONS);
  if (options.trigger !== undefined) checkTrigger(kind, options.trigger);
  // coGroup: one call per firing with both sides; windowJoin: one call per pair, emitted as it comes (no array)
  const pair = 'pair' in results ? results.pair : undefined;
  const fn: WindowFunction<Sided, K, OUT> = {
    kind: 'process',
    aggregator: undefined,
    name: kind,
    plain:
      pair === undefined
        ? { lateValue: untag }
        : {
            lateValue: untag,
            each: (elements, ctx, emit) => {
              const [lefts, rights] = sides<L, R>(elements);
              for (let i = 0; i < lefts.length; i++) for (let j = 0; j < rights.length; j++) emit(pair(lefts[i] as L, rights[j] as R, ctx as WindowContext<K>));
            },
          },
    fn: (elements, ctx) => ('group' in results ? results.group(...sides<L, R>(elements), ctx) : undefined),
  };
  const windowOptions = {
    ...(options.trigger !== undefined ? { trigger: sidedTrigger(options.trigger as Trigger<unknown>) } : {}),
    ...(options.allowedLateness !== undefined ? { allowedLateness: options.allowedLateness } : {}),
    ...(options.lateData !== undefined ? { lateData: options.lateData as unknown as Observer<StreamRecord<Sided, K>> | OutputTag<Sided> } : {}),
  };
  // the window operator's output type says `WindowResult`; with `plain` its records carry the results themselves
  const sided = sidedAssigner(assigner as WindowAssigner<unknown>);
  // (a value that is not a stream element is reported by the tagging, under the join's name when it has one)
  const name = options.name ?? kind;
  const join = twoInputOperator<Sided, Sided, K, OUT>(
    kind,
    options.name,
    right$.pipe(tagged<R, K>(1, name)),
    'union',
    (args) => windowOperatorOf<Sided, K, OUT>(args as unknown as CoreArgs<WindowResult<K, OUT>>, sided, windowOptions, fn) as unknown as KeyedOperatorCore<Sided, OUT>,
  );
  return (left$) => left$.pipe(tagged<L, K>(0, name), join);
}
