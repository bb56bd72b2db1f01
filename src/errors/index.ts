/**
 * Renders any value for an error message: strings quoted, bigint with `n`, NaN/Infinity/undefined as such,
 * objects as (truncated) JSON, cycles tolerated.
 *
 * @example
 * ```ts
 * describeValue(NaN);        // 'NaN'
 * describeValue({ a: 1 });   // '{"a":1}'
 * describeValue(10n);        // '10n'
 * ```
 */
export function describeValue(v: unknown, max = 200): string {
  let s: string;
  switch (typeof v) {
    case 'string':
      s = JSON.stringify(v);
      break;
    case 'bigint':
      s = `${v}n`;
      break;
    case 'number':
      s = Object.is(v, -0) ? '-0' : String(v);
      break;
    case 'undefined':
      s = 'undefined';
      break;
    case 'symbol':
      s = v.toString();
      break;
    case 'function':
      s = `[function ${(v as { name?: string }).name || 'anonymous'}]`;
      break;
    default:
      s = describeObject(v);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * The text of a failure for an error message: an `Error`'s message, anything else as {@link describeValue} renders it.
 *
 * @example
 * ```ts
 * describeFailure(new Error('ECONNRESET')); // 'ECONNRESET'
 * describeFailure({ code: 'E' });           // '{"code":"E"}'
 * ```
 */
export function describeFailure(e: unknown): string {
  return e instanceof Error ? e.message : describeValue(e);
}

/** Marks, around a value's text in JSON, text to write unquoted (JSON writes U+0000 and U+0001 as escapes). */
const BARE = '\u0000\u0001';
const BARE_END = '\u0001\u0000';
const BARE_TEXT = /"\\u0000\\u0001([^"\\]*)\\u0001\\u0000"/g;

function describeObject(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Date) return `Date(${Number.isNaN(v.getTime()) ? 'Invalid' : v.toISOString()})`;
  const seen = new WeakSet<object>();
  try {
    // (values JSON has no text for are written as they are in JavaScript, unquoted: [NaN] is not ["NaN"])
    const json = JSON.stringify(v, (_k, x: unknown) => {
      if (typeof x === 'bigint') return `${BARE}${x}n${BARE_END}`;
      if (typeof x === 'number' && (!Number.isFinite(x) || Object.is(x, -0))) return `${BARE}${Object.is(x, -0) ? '-0' : String(x)}${BARE_END}`;
      if (x === undefined) return `${BARE}undefined${BARE_END}`;
      if (typeof x === 'object' && x !== null) {
        if (seen.has(x)) return '[Circular]';
        seen.add(x);
      }
      return x;
    });
    const ctor = (v as { constructor?: { name?: string } }).constructor?.name;
    const prefix = ctor && ctor !== 'Object' && ctor !== 'Array' ? `${ctor} ` : '';
    return prefix + (json === undefined ? String(v) : json.replace(BARE_TEXT, '$1'));
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/**
 * Base class of every error tidewater raises for bad input or failing user code.
 * `operator` names the operator, `value` is the offending value.
 *
 * @example
 * ```ts
 * source$.pipe(keyBy(v => v.user)).subscribe({
 *   error: (e) => { if (e instanceof TidewaterError) console.error(e.operator, e.value); },
 * });
 * ```
 */
export class TidewaterError extends Error {
  override name = 'TidewaterError';
  constructor(
    /** The operator that raised the error (its name in the pipeline). */
    readonly operator: string,
    /** The offending value (a timestamp, a key, a record …). */
    readonly value: unknown,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A timestamp that is not a finite number of milliseconds, or one outside ±`MAX_TIMESTAMP` (8.64e15 ms, the range of
 * `Date`), the range in which tidewater computes exactly (`problem` then says so, the remedy gives the likely unit).
 *
 * @example
 * ```ts
 * of({ t: NaN }).pipe(eventTime(v => v.t));   // errors with InvalidTimestampError
 * of({ t: 1.7e18 }).pipe(eventTime(v => v.t)); // errors too: "… Nanoseconds? Divide by 1e6 …"
 * ```
 */
export class InvalidTimestampError extends TidewaterError {
  override name = 'InvalidTimestampError';
  constructor(
    operator: string,
    timestamp: unknown,
    element: unknown,
    remedy: string,
    problem = 'is not a finite number of milliseconds',
    /** Where the timestamp came from, when not from an element (`'given to emit(…)'`): said instead of the element. */
    origin?: string,
  ) {
    super(operator, timestamp, `${operator}: timestamp ${describeValue(timestamp)} ${origin ?? `of ${describeValue(element)}`} ${problem}. ${remedy}`);
  }
}

/**
 * A key outside `Key` (objects, undefined, null, NaN, functions, symbols, nested arrays).
 *
 * @example
 * ```ts
 * of(record({ u: undefined }, 0)).pipe(keyBy(v => v.u)); // errors with InvalidKeyError
 * ```
 */
export class InvalidKeyError extends TidewaterError {
  override name = 'InvalidKeyError';
  constructor(operator: string, key: unknown, element: unknown, remedy?: string) {
    super(
      operator,
      key,
      `${operator}: key ${describeValue(key)} of ${describeValue(element)} is not a valid key. ` +
        (remedy ??
          'A key must be a string, a number other than NaN, a boolean, a bigint, or an array of those; ' +
            'derive one from the value (e.g. `v => v.user.id` or `v => [v.region, v.shop]`).'),
    );
  }
}

/**
 * A tidewater operator received a value that is not a stream element (a record, watermark, status or barrier):
 * usually plain values piped into `keyBy`, `map`, `window` … without `eventTime` or `ingestionTime` first.
 *
 * @example
 * ```ts
 * of(1, 2).pipe(keyBy((v) => v % 2)); // errors with NotAStreamElementError: put eventTime(...) or ingestionTime() first
 * ```
 */
export class NotAStreamElementError extends TidewaterError {
  override name = 'NotAStreamElementError';
  constructor(operator: string, value: unknown) {
    super(
      operator,
      value,
      `${operator}: received ${describeValue(value)}, which is not a stream element (a record, watermark, status or barrier). ` +
        'tidewater operators act on stream elements: turn plain values into timestamped records first with ' +
        'eventTime((v) => v.timestamp) or ingestionTime() at the start of the pipeline.',
    );
  }
}

/**
 * A user function (map, filter, keyBy, timestamp extractor …) threw: the job fails with the operator name and the
 * record in the message; the original error is the `cause`.
 *
 * @example
 * ```ts
 * of(record(0, 0)).pipe(map(() => { throw new Error('boom'); }));
 * // errors with UserFunctionError: "map: user function threw on record value 0 @ 0: boom"
 * ```
 */
export class UserFunctionError extends TidewaterError {
  override name = 'UserFunctionError';
  constructor(operator: string, element: unknown, cause: unknown) {
    const msg = cause instanceof Error ? cause.message : describeValue(cause);
    super(operator, element, `${operator}: user function threw on ${describeElement(element)}: ${msg}`, { cause });
  }
}

/**
 * A misused operator or option (a bad argument to a factory, an operator in the wrong place).
 *
 * @example
 * ```ts
 * boundedOutOfOrderness(-1); // throws ConfigurationError
 * ```
 */
export class ConfigurationError extends TidewaterError {
  override name = 'ConfigurationError';
}

/**
 * What a job's source or sink was doing when it failed (see {@link JobError.phase}).
 *
 * @example
 * ```ts
 * const phase: JobPhase = 'pre-commit';
 * ```
 */
export type JobPhase = 'start' | 'open' | 'read' | 'write' | 'pre-commit' | 'commit' | 'close';

/**
 * A job failed for a reason of the job itself (not of an operator): a checkpoint that cannot be restored into this
 * pipeline, a barrier that never reached the sink, a store that failed — or one of its sources or sinks failed: then
 * `operator` names the source or sink, `phase` says what it was doing, `checkpoint` which checkpoint it was at, and
 * `cause` is the original error (e.g. `ENOSPC`).
 *
 * @example
 * ```ts
 * job.done.catch((e) => {
 *   if (e instanceof JobError) console.error(e.message, e.phase, e.checkpoint, e.cause);
 * });
 * ```
 */
export class JobError extends TidewaterError {
  override name = 'JobError';
  /** For a failure of a source or sink: what it was doing. */
  readonly phase: JobPhase | undefined;
  /**
   * For a failure of a source or sink: the checkpoint being pre-committed or committed, or — for the other phases —
   * the last checkpoint the job completed (or restored), which a restart resumes from; undefined without one.
   */
  readonly checkpoint: number | undefined;
  constructor(operator: string, value: unknown, message: string, options?: { cause?: unknown; phase?: JobPhase; checkpoint?: number }) {
    super(operator, value, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.phase = options?.phase;
    this.checkpoint = options?.checkpoint;
  }
}

/**
 * A job refused to start because the point it would start from — the store's newest usable checkpoint, none (a lost
 * or damaged store), the checkpoint named by `restore`, or nothing with `restore: false` — lies before what its sinks
 * or journals already committed: starting would discard committed output or lose journaled records. The message names
 * the store, both checkpoints, each sink or journal, and the remedy (restore the store, or start over explicitly with
 * `discardCommitted: true`).
 *
 * @example
 * ```ts
 * job.done.catch((e) => {
 *   if (e instanceof StoreBehindError) console.error(`store at ${e.restoring ?? 'nothing'}, committed: ${e.committed.map((c) => c.checkpoint)}`);
 * });
 * ```
 */
export class StoreBehindError extends JobError {
  override name = 'StoreBehindError';
  constructor(
    job: string,
    /** The checkpoint the job would start from (undefined: from scratch). */
    readonly restoring: number | undefined,
    /** Each sink or journal ahead of it: its description and the newest checkpoint it committed. */
    readonly committed: readonly { readonly component: string; readonly checkpoint: number }[],
    message: string,
  ) {
    super(`runJob(${job})`, restoring, message);
  }
}

function describeElement(e: unknown): string {
  if (typeof e === 'object' && e !== null && (e as { kind?: unknown }).kind === 'record') {
    const r = e as { value: unknown; timestamp: unknown; key: unknown };
    const key = r.key === undefined ? '' : ` key ${describeValue(r.key)}`;
    return `record value ${describeValue(r.value)} @ ${describeValue(r.timestamp)}${key}`;
  }
  if (typeof e === 'object' && e !== null && (e as { kind?: unknown }).kind === 'timer') {
    const t = e as { timestamp: number; domain: string; key: unknown };
    return `${t.domain}-time timer ${describeValue(t.timestamp)} of key ${describeValue(t.key)}`;
  }
  return `value ${describeValue(e)}`;
}

/**
 * A checkpoint or savepoint that cannot be used: torn, failing its checksums, missing a chunk or a parent, or a file
 * that is not a tidewater savepoint. The message names the store, the job, the checkpoint and what to do; `problem` is
 * the bare reason. (`operator` holds the store's description, `value` the checkpoint id.)
 *
 * @example
 * ```ts
 * try { await store.importSavepoint(text); }
 * catch (e) { if (e instanceof CorruptCheckpointError) console.error(e.store, e.job, e.checkpoint, e.problem); }
 * ```
 */
export class CorruptCheckpointError extends TidewaterError {
  override name = 'CorruptCheckpointError';
  constructor(
    /** The store's description, e.g. `level:/var/lib/app/state`. */
    readonly store: string,
    /** The job, when known. */
    readonly job: string | undefined,
    /** The checkpoint id, when known. */
    readonly checkpoint: number | undefined,
    /** What is wrong, e.g. `checksum mismatch in chunk 3 of operator "counts"`. */
    readonly problem: string,
    remedy: string,
  ) {
    const where = [job === undefined ? undefined : `job ${JSON.stringify(job)}`, checkpoint === undefined ? undefined : `checkpoint ${checkpoint}`]
      .filter((s) => s !== undefined)
      .join(', ');
    super(store, checkpoint, `store ${store}${where === '' ? '' : `, ${where}`}: ${problem}. ${remedy}`);
  }
}

/**
 * A store (LevelDB, IndexedDB …) that cannot be opened, read or written: the message names the store and its location,
 * what failed, the underlying error's message and what to do; `cause` is the underlying error (for LevelDB, the error
 * its open failed with — `LEVEL_LOCKED`, `LEVEL_CORRUPTION`, `EACCES` … — not `level`'s generic "Database is not open").
 * (`operator` holds the store's description, `value` what failed: `open`, `read` or `write`.)
 *
 * @example
 * ```ts
 * try { await store.loadCheckpoint('clicks', 'latest'); }
 * catch (e) { if (e instanceof StoreError) console.error(e.store, e.action, e.cause); }
 * // StoreError: store level:./state: opening the database failed: IO error: lock ./state/LOCK: already held by process. Another process …
 * ```
 */
export class StoreError extends TidewaterError {
  override name = 'StoreError';
  constructor(
    /** The store's description, e.g. `level:/var/lib/app/state`. */
    readonly store: string,
    /** What failed. */
    readonly action: 'open' | 'read' | 'write',
    cause: unknown,
    remedy: string,
  ) {
    const what = action === 'open' ? 'opening the database' : action === 'read' ? 'a read' : 'a write';
    // (a DOMException may carry only its name: `QuotaExceededError` with an empty message)
    const why = (cause instanceof Error ? cause.message || cause.name : describeValue(cause)).replace(/\.$/, '');
    super(store, action, `store ${store}: ${what} failed: ${why}. ${remedy}`, { cause });
  }
}

/**
 * A partitioner gave `partitionStream` something it cannot route a record by: a function partitioner's index that is
 * not an integer in `[0, n)`, or a range partitioner's sort key that is not a string or a number other than NaN, or
 * of another type than the boundaries. The message names the value, the record and the remedy; the stream fails with
 * it on every partition.
 *
 * @example
 * ```ts
 * partitionStream(source$, 2, (r) => r.value.shard); // a record with shard 5 fails every partition:
 * // InvalidPartitionError: partitionStream: the function partitioner returned 5 for record value {"shard":5} @ 0. Return an integer in [0, 2) (n = 2).
 * ```
 */
export class InvalidPartitionError extends TidewaterError {
  override name = 'InvalidPartitionError';
  constructor(operator: string, value: unknown, element: unknown, problem: string, remedy: string) {
    super(operator, value, `${operator}: ${problem} ${describeValue(value)} for ${describeElement(element)}. ${remedy}`);
  }
}

/**
 * A subtask of a `parallel` operator running in a worker thread failed: its pipeline threw or errored, its module
 * could not be loaded, or the thread died. `subtask` is its index; `cause` is the worker's error (name, message and
 * stack as the worker had them), or the thread's exit.
 *
 * @example
 * ```ts
 * job.done.catch((e) => { if (e instanceof SubtaskError) console.error(e.subtask, e.cause); });
 * ```
 */
export class SubtaskError extends TidewaterError {
  override name = 'SubtaskError';
  constructor(
    operator: string,
    /** The failed subtask's index. */
    readonly subtask: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(operator, subtask, message, options);
  }
}
