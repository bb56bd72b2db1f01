import type { Observable, Observer } from 'rxjs';
import { checkTimestamp, isTimestamp } from '../time/timestamps.js';
import { ConfigurationError, describeValue, InvalidTimestampError } from '../errors/index.js';

/**
 * A key a keyed stream may carry: a primitive, or a tuple of primitives (composite key).
 *
 * @example
 * ```ts
 * const k1: Key = 'user-42';
 * const k2: Key = ['eu-west', 7];
 * ```
 */
export type Key = string | number | boolean | bigint | readonly (string | number | boolean | bigint)[];

/**
 * A data element: a value with its event timestamp (ms) and, after `keyBy`, its key.
 * All records have the same four fields (one object shape on the hot path).
 *
 * @example
 * ```ts
 * const r: StreamRecord<number> = record(42, 1_000);
 * r.kind; // 'record'
 * ```
 */
export interface StreamRecord<T, K = unknown> {
  readonly kind: 'record';
  readonly value: T;
  readonly timestamp: number;
  readonly key: K;
}

/**
 * Event-time progress: no more records with `timestamp <= this.timestamp` are expected.
 *
 * @example
 * ```ts
 * const w: Watermark = watermark(5_000);
 * ```
 */
export interface Watermark {
  readonly kind: 'watermark';
  readonly timestamp: number;
}

/**
 * Idleness status of a stream: an idle stream is left out of watermark combination downstream.
 *
 * @example
 * ```ts
 * const s: StreamStatus = idle(); // { kind: 'status', idle: true }
 * ```
 */
export interface StreamStatus {
  readonly kind: 'status';
  readonly idle: boolean;
}

/**
 * In-band checkpoint marker: everything before it belongs to checkpoint `checkpointId`.
 *
 * @example
 * ```ts
 * const b: CheckpointBarrier = barrier(1);
 * ```
 */
export interface CheckpointBarrier {
  readonly kind: 'barrier';
  readonly checkpointId: number;
}

/**
 * A record of a side output (`ctx.output(tag, value)`, docs/SEMANTICS.md §14): it travels in the main stream, in
 * order with its records, watermarks and barriers, so that `sideOutputOf(tag)` (and a job's named sink) sees it with
 * the main output's watermarks and barriers. Every operator forwards it unchanged; `values()` and the main sink skip
 * it.
 *
 * @example
 * ```ts
 * const s: SideRecord<string> = { kind: 'side', tag: 'rejected', value: 'bad line', timestamp: 1_000 };
 * ```
 */
export interface SideRecord<T = unknown> {
  readonly kind: 'side';
  /** The name of its {@link OutputTag}. */
  readonly tag: string;
  readonly value: T;
  readonly timestamp: number;
}

/**
 * Everything that flows through a tidewater pipeline: records and, in order with them, control elements (and the
 * records of side outputs, {@link SideRecord}).
 *
 * @example
 * ```ts
 * const els: StreamElement<string>[] = [record('a', 1), watermark(0), barrier(1)];
 * ```
 */
export type StreamElement<T, K = unknown> = StreamRecord<T, K> | Watermark | StreamStatus | CheckpointBarrier | SideRecord;

/**
 * A control element: anything in a stream that is not a record of the stream itself — watermarks, status, barriers,
 * and side-output records passing through. Operators forward these unchanged, in order.
 *
 * @example
 * ```ts
 * const c: ControlElement = watermark(10);
 * ```
 */
export type ControlElement = Watermark | StreamStatus | CheckpointBarrier | SideRecord;

/**
 * Names a side output of a pipeline (Flink's `OutputTag`): made with {@link sideOutput}, given to `ctx.output(tag, v)`
 * (in `process`, `coProcess`, `broadcastProcess`, window functions) or as a `lateData` option; `sideOutputOf(tag)`
 * gives its stream, and `runJob({ sinks: { main, [tag.name]: sink } })` its sink. Two tags with one name are one
 * side output.
 *
 * @example
 * ```ts
 * const rejected = sideOutput<string>('rejected');
 * rejected.name; // 'rejected'
 * ```
 */
export interface OutputTag<T> {
  readonly kind: 'output-tag';
  readonly name: string;
  /** Carries `T` in the type only (never set). */
  readonly __value?: (value: T) => T;
}

/**
 * Makes a side-output tag (Flink's `new OutputTag<T>(name)`). The name identifies the side output across threads and
 * in a job's `sinks`; `main` is reserved for the main output.
 *
 * @example
 * ```ts
 * const tooLarge = sideOutput<Order>('too-large');
 * orders$.pipe(keyBy((o) => o.user), process({ name: 'check', onElement(o, ctx) { if (o.total > 1e4) ctx.output(tooLarge, o); else ctx.emit(o); } }));
 * ```
 */
export function sideOutput<T>(name: string): OutputTag<T> {
  if (typeof name !== 'string' || name.length === 0 || name === 'main') {
    throw new ConfigurationError('sideOutput', name, `sideOutput(${describeValue(name)}): a side output needs a non-empty name other than 'main' (reserved for the main output), e.g. sideOutput<T>('rejected').`);
  }
  return Object.freeze({ kind: 'output-tag', name }) as OutputTag<T>;
}

/**
 * Whether `x` is a side-output tag (else an `Observer` given where either is accepted).
 *
 * @example
 * ```ts
 * isOutputTag(sideOutput('late')); // true
 * isOutputTag(new Subject());      // false
 * ```
 */
export function isOutputTag<X>(x: OutputTag<X> | Observer<X>): x is OutputTag<X>;
export function isOutputTag(x: unknown): x is OutputTag<unknown>;
export function isOutputTag(x: unknown): x is OutputTag<unknown> {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'output-tag' && typeof (x as { name?: unknown }).name === 'string';
}

/**
 * A pipeline stream: an observable of stream elements.
 *
 * @example
 * ```ts
 * const s: Stream<number> = of(record(1, 0), watermark(MAX_WATERMARK));
 * ```
 */
export type Stream<T, K = unknown> = Observable<StreamElement<T, K>>;

/**
 * The watermark every operator starts at (Flink's `Long.MIN_VALUE`).
 *
 * @example
 * ```ts
 * watermark(MIN_WATERMARK);
 * ```
 */
export const MIN_WATERMARK = -Infinity;

/**
 * The end-of-event-time watermark (Flink's `Long.MAX_VALUE`): emitted at the end of a finite stream.
 *
 * @example
 * ```ts
 * of(record('a', 1), watermark(MAX_WATERMARK));
 * ```
 */
export const MAX_WATERMARK = Infinity;

/**
 * Makes a record. Every record has all four fields, so `key` is `undefined` until `keyBy`.
 *
 * @example
 * ```ts
 * record({ user: 'ann' }, 1_000);         // unkeyed
 * record({ user: 'ann' }, 1_000, 'ann');  // keyed
 * ```
 */
export function record<T, K = undefined>(value: T, timestamp: number, key?: K): StreamRecord<T, K> {
  if (!isTimestamp(timestamp)) checkTimestamp('record', timestamp, value, 'Pass a finite number of ms (or MAX_WATERMARK).', true);
  return { kind: 'record', value, timestamp, key: key as K };
}

/**
 * Records, watermarks and window results made once at module load with every kind of field value, and kept: their
 * hidden classes have the most general field representations from the start (docs/ARCHITECTURE.md, "One object
 * shape").
 *
 * V8 gives every object literal `{ kind, value, timestamp, key }` the same hidden class, whose fields start as narrow
 * as the first values stored (a small-integer key, say) and widen when a later one does not fit (a fractional or
 * large number, a string): the narrower class is then deprecated. A literal site that took its boilerplate before
 * keeps making records of the deprecated class, and each one is migrated to the new class when first read — a runtime
 * call per record (measured: `parallel(2)` of Nexmark q11 took 1.6–2 s instead of 0.6 s a million events after jobs
 * had run in the same process, 1.84 million migrations in two runs). Made "any value" here first, the fields never
 * widen again. The objects are kept because V8 holds the literal classes weakly: once no object of the class is alive,
 * a garbage collection drops it, and the next literal starts a narrow class again.
 *
 * @example
 * ```ts
 * void SETTLED_SHAPES; // made at module load (and kept on globalThis under Symbol.for('tidewater.settledShapes'))
 * ```
 *
 * @internal
 */
export const SETTLED_SHAPES: readonly object[] = [0, 0.5, '', undefined].flatMap((x): object[] => [
  { kind: 'record', value: x, timestamp: x, key: x },
  { kind: 'watermark', timestamp: x },
  // a window's result (`aggregate`: its key and value as varied as a record's)
  { key: x, window: x, value: x },
]);
// reachable from the global object too: a bundler that drops unused constants (Rollup, with the package's
// `sideEffects: false`) keeps a store into it
(globalThis as { [key: symbol]: unknown })[Symbol.for('tidewater.settledShapes')] = SETTLED_SHAPES;

/**
 * Makes a watermark.
 *
 * @example
 * ```ts
 * watermark(999); // { kind: 'watermark', timestamp: 999 }
 * ```
 */
export function watermark(timestamp: number): Watermark {
  // (any number but NaN: a watermark a bound below the earliest timestamp lies below the range of timestamps)
  if (typeof timestamp !== 'number' || timestamp !== timestamp) {
    throw new InvalidTimestampError('watermark', timestamp, undefined, 'Pass a number of ms, or MAX_WATERMARK (Infinity) for the end of event time.', 'is not a number of milliseconds', 'given to watermark(…)');
  }
  return { kind: 'watermark', timestamp };
}

/**
 * Makes a checkpoint barrier.
 *
 * @example
 * ```ts
 * barrier(3); // { kind: 'barrier', checkpointId: 3 }
 * ```
 */
export function barrier(checkpointId: number): CheckpointBarrier {
  if (!Number.isSafeInteger(checkpointId) || checkpointId < 0) {
    throw new ConfigurationError('barrier', checkpointId, `barrier: checkpoint id ${describeValue(checkpointId)} must be an integer ≥ 0 (checkpoints are numbered 1, 2, …).`);
  }
  return { kind: 'barrier', checkpointId };
}

const IDLE: StreamStatus = Object.freeze({ kind: 'status', idle: true });
const ACTIVE: StreamStatus = Object.freeze({ kind: 'status', idle: false });

/**
 * The idle stream status.
 *
 * @example
 * ```ts
 * idle(); // { kind: 'status', idle: true }
 * ```
 */
export function idle(): StreamStatus {
  return IDLE;
}

/**
 * The active stream status.
 *
 * @example
 * ```ts
 * active(); // { kind: 'status', idle: false }
 * ```
 */
export function active(): StreamStatus {
  return ACTIVE;
}

/**
 * True for any stream element shape (record, watermark, status, barrier or side record).
 * Used by operators that accept plain values or elements (`eventTime`).
 *
 * @example
 * ```ts
 * isStreamElement(record(1, 0)); // true
 * isStreamElement({ id: 1 });    // false
 * ```
 */
export function isStreamElement(v: unknown): v is StreamElement<unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as { kind?: unknown };
  switch (e.kind) {
    case 'record':
      return 'value' in e && typeof (e as { timestamp?: unknown }).timestamp === 'number';
    case 'watermark':
      return typeof (e as { timestamp?: unknown }).timestamp === 'number';
    case 'status':
      return typeof (e as { idle?: unknown }).idle === 'boolean';
    case 'barrier':
      return typeof (e as { checkpointId?: unknown }).checkpointId === 'number';
    case 'side':
      return typeof (e as { tag?: unknown }).tag === 'string' && typeof (e as { timestamp?: unknown }).timestamp === 'number';
    default:
      return false;
  }
}
