// The snapshot writer's direct path for state values: what it writes into a chunk is exactly the codec's text
// (`encodeValue`), and it declines (false) whatever it leaves to the codec — which then writes the tagged form or
// names what cannot be serialized.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkWriter } from '../src/checkpoints/snapshot.js';
import { encodeValue } from '../src/state/codec.js';
import { writeCodecJson } from '../src/state/valueWriter.js';
import { nullProto, Stamp, stateValue } from './support/stateValues.js';

/** What the direct path writes for `v` (a raw row's value, after a path of `pad` + 1 characters), or false when it declines. */
function written(v: unknown, pad = 0): string | false {
  const w = new ChunkWriter();
  w.begin(0);
  w.ascii('p'.padEnd(pad + 1, 'x'));
  w.rawValue();
  const ok = writeCodecJson(w, v, 0);
  w.endRaw();
  const chunk = w.finish().join('');
  const prefix = `[[0,"${'p'.padEnd(pad + 1, 'x')}",`;
  expect(chunk.startsWith(prefix) && chunk.endsWith(']]')).toBe(true);
  return ok ? chunk.slice(prefix.length, -2) : false;
}

describe('writeCodecJson', () => {
  it('writes the codec text of the forms state mostly holds', () => {
    const accumulator = {
      bids: 3,
      bidsByBand: [1, 2, 0],
      bidders: new Set([1001, 1002]),
      biddersByBand: [new Set([1001]), new Set([1002]), new Set()],
      minute: '12:07',
    };
    const cases: unknown[] = [
      accumulator,
      { u: undefined, n: [NaN, Infinity, -Infinity, -0, 1.5, 2 ** 40, -7], b: 12345678901234567890n, d: [new Date(86_400_000), new Date(NaN)] },
      new Map<unknown, unknown>([['a', 1], [2, new Set(['x', null, true])], [{ k: 1 }, [undefined]]]),
      { 'quote"': 'back\\slash', 'new\nline': '\u0000\u001f', surrogates: '😀 \ud800 \udfff', accents: 'héllo wörld', __proto__x: 1 },
      Object.defineProperty({ a: 1 }, '__proto__', { value: 2, enumerable: true, writable: true, configurable: true }),
      { 10: 'a', 2: 'b', z: 'c', 1: 'd' },
      [],
      {},
      '',
      null,
      false,
      undefined,
    ];
    for (const v of cases) expect(written(v)).toBe(encodeValue(v));
  });

  it('writes long strings (past the length checked natively) exactly as the codec, whatever character spoils them where', () => {
    const long = ' !#Hz[]^_`~a'.repeat(8); // 96 printable characters (the ends of the ranges a literal holds as they are)
    const spoilers = ['"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '😀', '\ud800', '\udfff', '\u2028'];
    const cases: unknown[] = [long, long.slice(0, 64), long.slice(0, 65), { extra: long, n: 1 }];
    for (const c of spoilers) for (const at of [0, 40, 64, long.length]) cases.push(long.slice(0, at) + c + long.slice(at));
    for (const v of cases) expect(written(v)).toBe(encodeValue(v));
  });

  it('writes exactly wherever a piece lands against the end of its buffer, and rows many times a chunk', () => {
    // the writer's buffer starts at 16 KB: pads that put each key, string and integer across its end
    const record = { a: 'plain', key: 123_456_789_012_345, 'q"k': 1, esc: 'tab\there "quoted" \\', long: `${'x'.repeat(70)}\n`, n: 9_007_199_254_740_991, u: 'é' };
    const pieces = [record, { n: 9_007_199_254_740_991 }, { key: 'plain' }, { k: 'esc"aped' }, { first: 1, 'q"k': 1 }, { a: 1, second: 2 }];
    for (let pad = 16_300; pad < 16_400; pad++) for (const v of pieces) expect(written(v, pad)).toBe(encodeValue(v));
    // values of several MB written piece by piece
    const many = Array.from({ length: 1_000_000 }, (_, i) => i * 1_000_003);
    expect(written(many)).toBe(encodeValue(many));
    const records = Array.from({ length: 20_000 }, (_, i) => ({ ...record, key: i }));
    expect(written(records)).toBe(encodeValue(records));
  });

  it('declines what the codec tags otherwise or refuses, and values nested deeper than 64', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: unknown[] = [
      // eslint-disable-next-line no-sparse-arrays
      [1, , 2],
      Object.assign([1], { extra: 1 }),
      { $b: 'a dollar key' },
      nullProto({ a: 1 }),
      new Stamp(0),
      Object.assign(new Set([1]), { p: 1 }),
      Object.assign(new Map(), { p: 1 }),
      Object.assign(new Date(0), { p: 1 }),
      { get g() { return 1; } },
      Object.defineProperty({}, 'hidden', { value: 1 }),
      { [Symbol('s')]: 1 },
      { f: () => 1 },
      new Set([Symbol('s')]),
      new Uint8Array(2),
      deep,
      cyclic,
    ];
    for (const v of cases) expect(written(v)).toBe(false);
  });

  it('property: the codec text exactly, or declined; declined whenever the codec refuses', () => {
    fc.assert(
      fc.property(stateValue, (v) => {
        const direct = written(v);
        let text: string | undefined;
        try {
          text = encodeValue(v);
        } catch {
          expect(direct).toBe(false);
          return;
        }
        if (direct !== false) expect(direct).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  it('property: a Set of numbers (integers, large ones, fractions, -0, non-finite ones) and other items as the codec writes it', () => {
    const item = fc.oneof(
      fc.integer(),
      fc.integer({ min: -999_999_999_999, max: 999_999_999_999 }),
      fc.constantFrom(1e12, -1e12, 2 ** 53, -0, NaN, Infinity, -Infinity, 0.5),
      fc.double(),
      fc.string({ maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), fc.boolean(), (xs, onlyIntegers) => {
        const set = new Set(onlyIntegers ? xs.filter((x) => Number.isSafeInteger(x) && Math.abs(x as number) < 1e12) : xs);
        expect(written(set)).toBe(encodeValue(set));
        expect(written({ s: set, a: [set] })).toBe(encodeValue({ s: set, a: [set] }));
      }),
      { numRuns: 500 },
    );
  });

  it('property: any number as an object\'s property is written as the codec writes it', () => {
    const number = fc.oneof(
      fc.integer(),
      fc.maxSafeInteger(),
      fc.double(),
      fc.constantFrom(0, -0, 1, 9_999, 10_000, 99_999_999, 100_000_000, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e21, 5e-324, NaN, Infinity, -Infinity),
    );
    fc.assert(
      fc.property(fc.array(number, { minLength: 1, maxLength: 6 }), (xs) => {
        const o = Object.fromEntries(xs.map((x, i) => [`k${i}`, x]));
        expect(written(o)).toBe(encodeValue(o));
      }),
      { numRuns: 1000 },
    );
  });

  it('property: any string, as a value and as a key, is written as the codec writes it', () => {
    const unit = fc.oneof(
      fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u2028', 'é', '€', '😀', '\ud800', '\udfff'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (s) => {
        expect(written(s)).toBe(encodeValue(s));
        if (!s.startsWith('$')) {
          expect(written({ [s]: s })).toBe(encodeValue({ [s]: s }));
          // a key after the first (after a comma), written by the fast path or escaped
          expect(written({ a: 1, [s]: s, z: s })).toBe(encodeValue({ a: 1, [s]: s, z: s }));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('writes most values itself (the property above is not passed by declining)', () => {
    let declined = 0;
    let encodable = 0;
    fc.assert(
      fc.property(stateValue, (v) => {
        try {
          encodeValue(v);
        } catch {
          return;
        }
        encodable++;
        if (written(v) === false) declined++;
      }),
      { numRuns: 500, seed: 7 },
    );
    expect(encodable).toBeGreaterThan(200);
    expect(declined / encodable).toBeLessThan(0.5);
  });
});
