import { PackedSnapshot, type OperatorSnapshot } from '../../checkpoints/snapshot.js';
import { describeValue } from '../../errors/index.js';
import type { WireError, WireSnapshot } from './protocol.js';

/** A snapshot in the form that crosses threads (packed chunks stay packed). @internal */
export function toWireSnapshot(s: OperatorSnapshot): WireSnapshot {
  const base = { operator: s.operator, full: s.full, maxParallelism: s.maxParallelism, ...(s.watermark !== undefined ? { watermark: s.watermark } : {}) };
  return s instanceof PackedSnapshot ? { ...base, chunks: s.chunks, count: s.count, ...(s.churn !== undefined ? { churn: s.churn } : {}), ...(s.rowSizes !== undefined ? { rowSizes: s.rowSizes } : {}) } : { ...base, entries: s.entries };
}

/** A snapshot back from its wire form. @internal */
export function fromWireSnapshot(w: WireSnapshot): OperatorSnapshot {
  if (w.chunks !== undefined) return new PackedSnapshot(w.operator, w.full, w.maxParallelism, w.chunks, w.count ?? 0, w.watermark, w.churn, w.rowSizes);
  return { operator: w.operator, full: w.full, maxParallelism: w.maxParallelism, ...(w.watermark !== undefined ? { watermark: w.watermark } : {}), entries: w.entries ?? [] };
}

/** How deep a chain of causes crosses (a cycle or a very long chain is cut there). */
const MAX_CAUSES = 8;

/** An error in the form that crosses threads, with its chain of causes. @internal */
export function toWireError(err: unknown, depth = 0): WireError {
  if (err instanceof Error) {
    const operator = (err as { operator?: unknown }).operator;
    return {
      name: err.name,
      message: err.message,
      ...(err.stack !== undefined ? { stack: err.stack } : {}),
      ...(typeof operator === 'string' ? { operator } : {}),
      ...(err.cause !== undefined && depth < MAX_CAUSES ? { cause: toWireError(err.cause, depth + 1) } : {}),
    };
  }
  // (a thrown value that is not an Error: described, `{"code":42}` rather than `[object Object]`)
  return { name: 'Error', message: typeof err === 'string' ? err : describeValue(err) };
}

/** An error back from its wire form: name, message, stack, operator and causes as the worker had them. @internal */
export function fromWireError(w: WireError): Error {
  const e = new Error(w.message, w.cause !== undefined ? { cause: fromWireError(w.cause) } : undefined);
  e.name = w.name;
  if (w.stack !== undefined) e.stack = w.stack;
  if (w.operator !== undefined) (e as Error & { operator?: string }).operator = w.operator;
  return e;
}
