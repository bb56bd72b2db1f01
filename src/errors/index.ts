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

function describeObject(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Date) return `Date(${Number.isNaN(v.getTime()) ? 'Invalid' : v.toISOString()})`;
  const seen = new WeakSet<object>();
  try {
    const json = JSON.stringify(v, (_k, x: unknown) => {
      if (typeof x === 'bigint') return `${x}n`;
      if (typeof x === 'number' && !Number.isFinite(x)) return String(x);
      if (x === undefined) return 'undefined';
      if (typeof x === 'object' && x !== null) {
        if (seen.has(x)) return '[Circular]';
        seen.add(x);
      }
      return x;
    });
    const ctor = (v as { constructor?: { name?: string } }).constructor?.name;
    const prefix = ctor && ctor !== 'Object' && ctor !== 'Array' ? `${ctor} ` : '';
    return prefix + (json ?? String(v));
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
  constructor(operator: string, timestamp: unknown, element: unknown, remedy: string, problem = 'is not a finite number of milliseconds') {
    super(operator, timestamp, `${operator}: timestamp ${describeValue(timestamp)} of ${describeValue(element)} ${problem}. ${remedy}`);
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
