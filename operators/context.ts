/**
 * What a stateless operator's function sees besides the value: the record's timestamp and key.
 * The object is reused between calls: read it inside the call, do not keep it.
 *
 * @example
 * ```ts
 * stream$.pipe(map((v: number, ctx: RecordContext<string>) => `${ctx.key}@${ctx.timestamp}: ${v}`));
 * ```
 */
export interface RecordContext<K = unknown> {
  readonly timestamp: number;
  readonly key: K;
}

/** @internal the mutable form operators reuse for every record. */
export interface MutableRecordContext<K> {
  timestamp: number;
  key: K;
}

/** @internal */
export function newContext<K>(): MutableRecordContext<K> {
  return { timestamp: 0, key: undefined as K };
}
