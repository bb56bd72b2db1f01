// The batch codec of threaded parallel (src/parallel/threads/codec.ts): every element kind and the value types that
// cross threads come back as they were — numeric columns and msgpackr, mixed in one batch.
import { describe, expect, it } from 'vitest';
import { BatchDecoder, BatchEncoder } from '../src/parallel/threads/codec.js';
import { createValueCodec } from '../src/parallel/threads/msgpack.js';
import { active, barrier, idle, record, watermark, type StreamElement } from '../src/index.js';

const roundTrip = (elements: readonly StreamElement<unknown, unknown>[], full = false) => {
  const codec = createValueCodec();
  const enc = new BatchEncoder();
  elements.forEach((e, i) => enc.add(100 + i, e, full));
  expect(enc.size).toBe(elements.length);
  const batch = enc.take(codec);
  expect(enc.size).toBe(0);
  const out: [number, StreamElement<unknown, unknown>, boolean][] = [];
  new BatchDecoder(codec).decode(batch, (seq, e, f) => void out.push([seq, e, f]));
  return { batch, out };
};

describe('threads batch codec', () => {
  it('numbers travel as float64 columns, -0 and NaN included; control elements in their places', () => {
    const els = [record(1.5, 10, 7), watermark(9), record(-0, 11, -0), idle(), record(NaN, 12, 3), active(), barrier(4)];
    const { batch, out } = roundTrip(els, true);
    expect(batch.values).toBeInstanceOf(Float64Array);
    expect(batch.keys).toBeInstanceOf(Float64Array);
    expect(out.map(([seq]) => seq)).toStrictEqual([100, 101, 102, 103, 104, 105, 106]);
    expect(out.map(([, e]) => e)).toStrictEqual([
      { kind: 'record', value: 1.5, timestamp: 10, key: 7 },
      { kind: 'watermark', timestamp: 9 },
      { kind: 'record', value: -0, timestamp: 11, key: -0 },
      { kind: 'status', idle: true },
      { kind: 'record', value: NaN, timestamp: 12, key: 3 },
      { kind: 'status', idle: false },
      { kind: 'barrier', checkpointId: 4 },
    ]);
    expect(Object.is((out[2]?.[1] as { value: number }).value, -0)).toBe(true);
    expect(out.map(([, , full]) => full)).toStrictEqual([false, false, false, false, false, false, true]);
  });

  it('other values and keys go through msgpackr: objects, Maps, Sets, Dates, bigint and composite keys, undefined', () => {
    const value = { user: 'u1', tags: new Set(['a']), at: new Date(5), m: new Map<unknown, unknown>([[1, { x: [1, 2] }]]), big: 2n ** 70n, none: undefined };
    const els = [record(value, 1, 'u1'), record('text', 2, ['eu', 3]), record(3, 3, 10n), record(null, 4, undefined), record([1, 'x'], 5, true)];
    const { batch, out } = roundTrip(els);
    expect(batch.values).not.toBeInstanceOf(Float64Array);
    expect(batch.keys).not.toBeInstanceOf(Float64Array);
    expect(out.map(([, e]) => e)).toStrictEqual(els);
  });

  it('a batch without records has no value or key column', () => {
    const { batch, out } = roundTrip([watermark(1), barrier(2)]);
    expect([batch.values, batch.keys]).toStrictEqual([undefined, undefined]);
    expect(out.map(([, e]) => e.kind)).toStrictEqual(['watermark', 'barrier']);
  });
});
