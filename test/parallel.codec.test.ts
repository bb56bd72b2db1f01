// The batch codec of threaded parallel (src/parallel/threads/codec.ts): every element kind and the value types that
// cross threads come back as they were — numeric columns and msgpackr, mixed in one batch.
import { describe, expect, it } from 'vitest';
import { BatchDecoder, BatchEncoder, type EncodedBatch, type StringColumn } from '../src/parallel/threads/codec.js';
import { createValueCodec } from '../src/parallel/threads/msgpack.js';
import { fromWireError, toWireError } from '../src/parallel/threads/wire.js';
import { active, barrier, idle, record, watermark, type StreamElement } from '../src/index.js';

/** The strings of a string column, cut by its lengths. */
const texts = (column: StringColumn | Uint8Array | undefined): string[] => {
  const out: string[] = [];
  let at = 0;
  if (column instanceof Uint8Array) throw new Error('a string column was expected, not msgpackr bytes');
  for (const length of column?.lengths ?? []) out.push((column as StringColumn).text.slice(at, (at += length)));
  return out;
};

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

  it('string values cross as a string column; one value of another type sends the batch through msgpackr', () => {
    const values = ['', 'short', 'a value of more than thirteen characters', '\ud83d', '😀'];
    const strings = roundTrip(values.map((v, i) => record(v, i, i)));
    expect(texts(strings.batch.values as StringColumn)).toStrictEqual(values);
    expect(strings.out.map(([, e]) => (e.kind === 'record' ? e.value : e.kind))).toStrictEqual(values);
    const mixed = roundTrip([record('a', 1, 1), record(2, 2, 2), record('c', 3, 3)]);
    expect(mixed.batch.values).toBeInstanceOf(Uint8Array);
    expect(mixed.out.map(([, e]) => (e.kind === 'record' ? e.value : e.kind))).toStrictEqual(['a', 2, 'c']);
  });

  it('a batch without records has no value or key column', () => {
    const { batch, out } = roundTrip([watermark(1), barrier(2)]);
    expect([batch.values, batch.keys]).toStrictEqual([undefined, undefined]);
    expect(out.map(([, e]) => e.kind)).toStrictEqual(['watermark', 'barrier']);
  });

  it('string keys cross as dictionary ids, each key text once per channel; a batch re-read decodes the same', () => {
    const codec = createValueCodec();
    const enc = new BatchEncoder();
    const dec = new BatchDecoder(codec);
    const send = (keys: string[]) => {
      keys.forEach((k, i) => enc.add(i, record(i, i, k)));
      return enc.take(codec);
    };
    const read = (b: ReturnType<typeof send>) => {
      const out: unknown[] = [];
      dec.decode(b, (_s, e) => void out.push(e.kind === 'record' ? e.key : e.kind));
      return out;
    };
    const first = send(['a', 'b', 'a', 'c']);
    expect(first.keys).toStrictEqual(new Uint32Array([0, 1, 0, 2]));
    expect([first.keyBase, texts(first.newKeys)]).toStrictEqual([0, ['a', 'b', 'c']]);
    const second = send(['c', 'd', 'a']);
    expect(second.keys).toStrictEqual(new Uint32Array([2, 3, 0]));
    expect([second.keyBase, texts(second.newKeys)]).toStrictEqual([3, ['d']]);
    const third = send(['b', 'b']);
    expect(third.newKeys).toBeUndefined();
    expect(read(first)).toStrictEqual(['a', 'b', 'a', 'c']);
    expect(read(second)).toStrictEqual(['c', 'd', 'a']);
    expect(read(third)).toStrictEqual(['b', 'b']);
    // the receiver gets one string object per key: the same each time
    const again: unknown[] = [];
    dec.decode(second, (_s, e) => void again.push(e.kind === 'record' ? e.key : undefined));
    expect(again).toStrictEqual(['c', 'd', 'a']);
  });

  it('past 16 384 distinct keys the dictionary is dropped: the batch that overflows it and 64 more send key text, then a new dictionary from id 0', () => {
    const codec = createValueCodec();
    const enc = new BatchEncoder();
    const dec = new BatchDecoder(codec);
    const kinds: string[] = [];
    const decoded: unknown[][] = [];
    for (let b = 0; b < 71; b++) {
      // batches 0–3 fill the dictionary; batch 4 has 4 known keys, then one more than it holds
      const keys = Array.from({ length: 4096 }, (_, i) => `k${b < 4 ? b * 4096 + i : b === 4 ? 16_380 + i : i % 7}`);
      keys.forEach((k, i) => enc.add(i, record(i, i, k)));
      const batch = enc.take(codec);
      kinds.push(batch.keys instanceof Uint32Array ? `ids@${batch.keyBase}` : batch.keys !== undefined && 'text' in batch.keys ? 'text' : 'other');
      const out: unknown[] = [];
      dec.decode(batch, (_s, e) => void out.push(e.kind === 'record' ? e.key : undefined));
      decoded.push(out);
      expect(out).toStrictEqual(keys);
    }
    expect(kinds.slice(0, 4)).toStrictEqual(['ids@0', 'ids@4096', 'ids@8192', 'ids@12288']);
    expect(kinds.slice(4, 69)).toStrictEqual(Array.from({ length: 65 }, () => 'text'));
    expect(kinds.slice(69)).toStrictEqual(['ids@0', 'ids@7']);
  });

  it('a dictionary dropped again in the batch that starts it doubles the pause before the next one (64, 128, 256 … 1 024 batches); one that lasted starts the pauses over', () => {
    const codec = createValueCodec();
    const enc = new BatchEncoder();
    let fresh = 0;
    /** Batches of one record until the dictionary takes keys again. */
    const untilDictionary = (): number => {
      let batches = 0;
      while (enc.keyId(`probe-${fresh++}`) < 0) {
        enc.add(0, record(0, 0, 'x'));
        enc.take(codec);
        batches++;
      }
      return batches;
    };
    /** A batch of 16 385 new keys: a dictionary in use overflows in it and is dropped. */
    const overflow = (): void => {
      for (let i = 0; i < 16_385; i++) enc.add(i, record(i, i, `n${fresh++}`));
      enc.take(codec);
    };
    overflow();
    const pauses: number[] = [];
    for (let k = 0; k < 7; k++) {
      pauses.push(untilDictionary());
      overflow();
    }
    expect(pauses).toStrictEqual([64, 128, 256, 512, 1024, 1024, 1024]);
    // a dictionary that lasts more than 64 batches (few keys), then overflows: the next pause is 64 again
    untilDictionary();
    for (let b = 0; b < 70; b++) {
      for (let i = 0; i < 100; i++) enc.add(i, record(i, i, `k${i}`));
      enc.take(codec);
    }
    overflow();
    expect(untilDictionary()).toBe(64);
  });

  it('string keys past the dictionary cross as one text and their lengths: any length and any UTF-16, lone surrogates included', () => {
    const codec = createValueCodec();
    const enc = new BatchEncoder();
    const dec = new BatchDecoder(codec);
    // fill the dictionary past its limit with short keys, so that the next batches send their keys as text
    for (let i = 0; i <= 16_384; i++) enc.add(i, record(i, i, `f${i}`));
    dec.decode(enc.take(codec), () => undefined);
    const keys = ['', 'a', 'twelve chars', 'thirteen char', 'é'.repeat(40), '😀 emoji', 'lone \ud800 high', 'lone \udc00 low', 'x'.repeat(5000)];
    keys.forEach((k, i) => enc.add(i, record(i, i, k)));
    enc.add(keys.length, watermark(1));
    const batch = enc.take(codec);
    expect(texts(batch.keys as StringColumn)).toStrictEqual(keys);
    expect((batch.keys as StringColumn).lengths).toStrictEqual(new Uint32Array(keys.map((k) => k.length)));
    const out: unknown[] = [];
    dec.decode(batch, (_s, e) => void out.push(e.kind === 'record' ? e.key : e.kind));
    expect(out).toStrictEqual([...keys, 'watermark']);
  });

  it('keys with a lone surrogate or a -0 that would go through msgpackr (composite, mixed) cross as they are; values in msgpackr get U+FFFD (documented)', () => {
    const els = [record({ v: 'a\ud800' }, 1, ['\ud800', 0]), record(2, 2, ['\udbff', 0]), record('x', 3, 7), record(['\udc00'], 4, 'k\ud800')];
    const { batch, out } = roundTrip(els);
    expect(Array.isArray(batch.keys)).toBe(true);
    expect(out.map(([, e]) => (e as { key: unknown }).key)).toStrictEqual([['\ud800', 0], ['\udbff', 0], 7, 'k\ud800']);
    expect(out.map(([, e]) => (e as { value: unknown }).value)).toStrictEqual([{ v: 'a\ufffd' }, 2, 'x', ['\ufffd']]);
    // a -0 in a key, alone among other keys or inside a composite one, which msgpackr would send as 0: as it is
    const zero = roundTrip([record(1, 1, -0), record(2, 2, 'a'), record(3, 3, [-0, 'b'])]);
    expect(Array.isArray(zero.batch.keys)).toBe(true);
    const keys = zero.out.map(([, e]) => (e as { key: unknown }).key);
    expect(keys).toStrictEqual([-0, 'a', [-0, 'b']]);
    expect([Object.is(keys[0], -0), Object.is((keys[2] as unknown[])[0], -0)]).toStrictEqual([true, true]);
    // well-formed composite keys still go through msgpackr
    expect(roundTrip([record(1, 1, ['a', 0]), record(2, 2, 'b')]).batch.keys).toBeInstanceOf(Uint8Array);
  });

  it('a batch of mixed keys sends its new dictionary keys too: the next batch refers to them by id', () => {
    const codec = createValueCodec();
    const enc = new BatchEncoder();
    const dec = new BatchDecoder(codec);
    const send = (keys: readonly (string | number)[]): EncodedBatch => {
      keys.forEach((k, i) => enc.add(i, record(i, i, k)));
      return enc.take(codec);
    };
    const read = (batch: EncodedBatch): unknown[] => {
      const out: unknown[] = [];
      dec.decode(batch, (_s, e) => void out.push(e.kind === 'record' ? e.key : undefined));
      return out;
    };
    const mixed = send(['x', 1, 'y']);
    expect(mixed.keys).toBeInstanceOf(Uint8Array);
    expect([mixed.keyBase, texts(mixed.newKeys)]).toStrictEqual([0, ['x', 'y']]);
    expect(read(mixed)).toStrictEqual(['x', 1, 'y']);
    const next = send(['y', 'z', 'x']);
    expect(next.keys).toStrictEqual(new Uint32Array([1, 2, 0]));
    expect([next.keyBase, texts(next.newKeys)]).toStrictEqual([2, ['z']]);
    expect(read(next)).toStrictEqual(['y', 'z', 'x']);
  });

  it('keys by reference: an output record with the key of a record of the message being processed names its index', () => {
    const codec = createValueCodec();
    const enc = new BatchEncoder();
    const key = ['eu', 1];
    enc.add(7, record(1, 1, 'x'), false, 2);
    enc.add(7, record(2, 1, 'other'));
    enc.add(8, watermark(3));
    enc.add(9, record(3, 4, 'y'), false, 0);
    const batch = enc.take(codec);
    expect(batch.keyRefs).toStrictEqual(new Int32Array([2, -1, 0]));
    const sent = [key, 'k1', 'x'];
    const out: StreamElement<unknown, unknown>[] = [];
    new BatchDecoder(codec).decode(batch, (_s, e) => void out.push(e), sent);
    expect(out).toStrictEqual([record(1, 1, 'x'), record(2, 1, 'other'), watermark(3), record(3, 4, key)]);
    // the key object itself, not a copy
    expect((out[3] as { key: unknown }).key).toBe(key);
    // a reference beyond the message is an internal error, never a wrong key
    expect(() => new BatchDecoder(codec).decode(batch, () => undefined, ['only'])).toThrow(/refers to key 2 of a message of 1 records/);
  });
});

describe('errors crossing threads', () => {
  it('keep name, message, operator and causes; a thrown value that is not an Error is described', () => {
    const cause = Object.assign(new RangeError('too far'), { operator: 'window' });
    const back = fromWireError(toWireError(new TypeError('outer', { cause })));
    expect([back.name, back.message, (back.cause as Error).name, (back.cause as Error).message, (back.cause as { operator?: string }).operator]).toStrictEqual([
      'TypeError',
      'outer',
      'RangeError',
      'too far',
      'window',
    ]);
    expect([toWireError({ code: 42 }).message, toWireError('plain text').message, toWireError(undefined).message]).toStrictEqual(['{"code":42}', 'plain text', 'undefined']);
  });
});
