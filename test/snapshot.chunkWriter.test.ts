// The chunk writer that snapshots are packed with: rows written piece by piece into UTF-8 bytes read back as exactly
// the JSON rows they stand for; numbers as JSON writes them; chunks closed at CHUNK_CHARS bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHUNK_CHARS, ChunkWriter, escapeJson, grownLength, rowSizeClass, takeLargestRows } from '../src/checkpoints/snapshot.js';

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

/** The text `ChunkWriter.num` writes for each number, read back from rows `[0, "<text>"]`. */
function numbersAsWritten(xs: readonly number[]): string[] {
  const w = new ChunkWriter();
  for (const x of xs) {
    w.begin(0);
    w.num(x);
    w.end();
  }
  return (JSON.parse(w.finish().join('')) as [number, string][]).map((r) => r[1]);
}

describe('ChunkWriter', () => {
  it('writes numbers as JSON does', () => {
    const xs = [0, 1, 9, 10, 99, 100, -1, -9, -10, 2147483647, -2147483647, -2147483648, 2147483648, 4294967296, 2 ** 53, -(2 ** 53), 1e21, 1e-7, 0.1, -0.5, 123.456, 5e-324, Number.MAX_VALUE];
    expect(numbersAsWritten(xs)).toStrictEqual(xs.map((x) => JSON.stringify(x)));
  });

  it('writes every digit count of an integer as JSON does (each power of ten and its neighbours, safe integers)', () => {
    const xs: number[] = [];
    for (let p = 1; p <= 1e10; p *= 10) for (const x of [p - 1, p, p + 1, 2 * p, 5 * p + 7]) xs.push(x, -x);
    fc.assert(fc.property(fc.integer(), (x) => void xs.push(x)), { numRuns: 200 });
    // beyond int32: safe integers (epoch milliseconds) are written as two parts, the lower one zero-padded
    xs.push(2 ** 31, -(2 ** 31) - 1, 1e8, 1e8 + 1, 2e8 - 1, 1436918400000, 1436918400007, 100000000000001, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER);
    fc.assert(fc.property(fc.maxSafeInteger(), (x) => void xs.push(x)), { numRuns: 200 });
    expect(numbersAsWritten(xs)).toStrictEqual(xs.map((x) => JSON.stringify(x)));
  });

  it.each([
    ['integerItems', (w: ChunkWriter, xs: Iterable<unknown>, n: number): boolean => w.integerItems(xs, n)],
    ['integerArray', (w: ChunkWriter, xs: Iterable<unknown>): boolean => w.integerArray([...xs])],
  ])('%s writes items that are all integers below 10¹² in magnitude as JSON does, and nothing when any is not', (_, integers) => {
    const edge = [0, 7, 9, 10, 99, 100, 9999, 10_000, 99_999_999, 100_000_000, 2 ** 31, 999_999_999_999, -1, -10_000, -(2 ** 31), -999_999_999_999];
    const integer = fc.oneof(fc.constantFrom(...edge), fc.integer(), fc.integer({ min: -999_999_999_999, max: 999_999_999_999 }));
    fc.assert(
      fc.property(fc.array(integer, { maxLength: 40 }), (xs) => {
        const w = new ChunkWriter();
        w.begin(0);
        w.rawValue();
        w.byte(91);
        expect(integers(w, new Set(xs), new Set(xs).size)).toBe(true);
        w.byte(93);
        w.endRaw();
        expect((JSON.parse(w.finish().join('')) as [[number, string, unknown]])[0][2]).toStrictEqual([...new Set(xs)]);
      }),
    );
    // more items than one step of room (4 096), of every length up to twelve digits and a sign
    const many = Array.from({ length: 20_000 }, (_, i) => (i % 2 === 0 ? 1 : -1) * Math.floor(999_999_999_999 / (1 + (i % 997))));
    const big = new ChunkWriter();
    big.begin(0);
    big.rawValue();
    big.byte(91);
    expect(integers(big, many, many.length)).toBe(true);
    big.byte(93);
    big.endRaw();
    expect((JSON.parse(big.finish().join('')) as [[number, string, unknown]])[0][2]).toStrictEqual(many);
    for (const odd of [1e12, -1e12, 2 ** 53, 0.5, -0, NaN, Infinity, '1', null, undefined, 1n]) {
      const w = new ChunkWriter();
      w.begin(0);
      const at = w.position;
      expect(integers(w, [1, 2, odd, 3], 4)).toBe(false);
      expect(w.position).toBe(at);
    }
  });

  it('integerReader writes the integers it reads, at most count of them (never reading further), and leaves the first other item for its caller', () => {
    const integer = fc.oneof(fc.integer(), fc.integer({ min: -999_999_999_999, max: 999_999_999_999 }));
    const odd = fc.constantFrom<unknown>(1e12, -1e12, 2 ** 53, 0.5, -0, NaN, Infinity, '1', null, undefined, 1n);
    fc.assert(
      fc.property(fc.array(fc.oneof(integer, integer, integer, odd), { maxLength: 40 }), fc.nat(45), (xs, asked) => {
        const count = Math.min(asked, xs.length);
        const reads: unknown[] = [];
        const source = xs[Symbol.iterator]();
        const reader: Iterator<unknown> = { next: () => { const step = source.next(); if (!step.done) reads.push(step.value); return step; } };
        const w = new ChunkWriter();
        w.begin(0);
        w.rawValue();
        w.byte(91);
        const wrote = w.integerReader(reader, count);
        w.byte(93);
        w.endRaw();
        const isInteger = (x: unknown): boolean => typeof x === 'number' && Number.isInteger(x) && Math.abs(x) < 1e12 && !Object.is(x, -0);
        const firstOther = xs.slice(0, count).findIndex((x) => !isInteger(x));
        expect(wrote).toBe(firstOther === -1 ? count : firstOther);
        expect(reads).toStrictEqual(xs.slice(0, firstOther === -1 ? count : firstOther + 1));
        if (firstOther !== -1) expect(w.declinedItem).toBe(xs[firstOther]);
        expect((JSON.parse(w.finish().join('')) as [[number, string, unknown]])[0][2]).toStrictEqual(xs.slice(0, wrote));
      }),
    );
    // more items than one step of room (4 096)
    const many = Array.from({ length: 20_000 }, (_, i) => (i % 2 === 0 ? 1 : -1) * Math.floor(999_999_999_999 / (1 + (i % 997))));
    const big = new ChunkWriter();
    big.begin(0);
    big.rawValue();
    big.byte(91);
    expect(big.integerReader(many[Symbol.iterator](), many.length)).toBe(many.length);
    big.byte(93);
    big.endRaw();
    expect((JSON.parse(big.finish().join('')) as [[number, string, unknown]])[0][2]).toStrictEqual(many);
  });

  /**
   * Writes `s` as a raw row's value with `asciiString`, after a path of `pad` + 1 characters: its JSON literal when it
   * is all ASCII (and not long with characters to escape); otherwise nothing (the position where it was), and the row
   * then ends with a 0.
   */
  function asciiLiteral(s: string, pad = 0): void {
    const w = new ChunkWriter();
    w.begin(0);
    w.ascii('p'.padEnd(pad + 1, 'x'));
    w.rawValue();
    const at = w.position;
    const ok = w.asciiString(s);
    // (a string over 1 024 characters with one to escape goes to JSON.stringify)
    expect(ok).toBe(/^[\x00-\x7f]*$/.test(s) && !(s.length > 1024 && /[^\x20\x21\x23-\x5b\x5d-\x7e]/.test(s)));
    if (!ok) {
      expect(w.position).toBe(at);
      w.ascii('0');
    }
    w.endRaw();
    expect(w.finish().join('')).toBe(`[[0,"${'p'.padEnd(pad + 1, 'x')}",${ok ? JSON.stringify(s) : '0'}]]`);
  }

  it('writes a string of ASCII characters as its JSON literal (escaped as JSON.stringify does), and nothing for any other', () => {
    const spoiler = fc.constantFrom('"', '\\', '\n', '\b', '\t', '\f', '\r', '\u0000', '\u0001', '\u000b', '\u001f', '\u007f', 'é', '\u0080', '😀', '\ud800');
    const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
    // short strings (copied by the writer's loop) and long ones (past 64 characters: checked and copied natively), the
    // long ones spoiled by one character or two at most, anywhere
    const short = fc.string({ unit: fc.oneof(spoiler, printable) });
    const long = fc.string({ unit: fc.oneof({ arbitrary: spoiler, weight: 1 }, { arbitrary: printable, weight: 150 }), minLength: 60, maxLength: 200 });
    fc.assert(
      fc.property(fc.oneof(short, long), (s) => asciiLiteral(s)),
    );
  });

  it('grows its buffer for escapes as it goes, and writes nothing when a character past ASCII comes after the growth', () => {
    // (the writer's buffer starts at 16 KB: strings of up to 1 024 characters, after pads that put them across its end)
    for (const s of ['\u0001'.repeat(1024), `${'\\'.repeat(1023)}x`, `${'\u0001'.repeat(1000)}é`, `${'"'.repeat(1000)}😀`, '\u0001'.repeat(20_000)]) {
      for (const pad of [0, 10_000, 14_000, 15_000, 16_000, 16_300]) asciiLiteral(s, pad);
    }
    // every place against the end of the buffer for an escape and for the closing quote
    for (let pad = 16_280; pad < 16_400; pad++) for (const s of ['\u0001'.repeat(30), 'a"b'.repeat(10), `${'x'.repeat(20)}\n`, `${'x'.repeat(20)}\u0001`]) asciiLiteral(s, pad);
  });

  it('grows its buffer by doubling: to a chunk and its slack at once, and on past it for a row larger than a chunk', () => {
    const lengths = [16_384];
    while ((lengths.at(-1) as number) < 64 * CHUNK_CHARS) lengths.push(grownLength(lengths.at(-1) as number, (lengths.at(-1) as number) + 1));
    // 16, 32, 64, 128 KB, then a chunk and 4 KB of slack, then doubling: a row of 16 MB costs 10 copies, not thousands
    expect(lengths.slice(0, 6)).toStrictEqual([16_384, 32_768, 65_536, 131_072, CHUNK_CHARS + 4096, 2 * (CHUNK_CHARS + 4096)]);
    expect(lengths.length).toBe(11);
    // never less than what must fit, and a row's slack
    expect(grownLength(16_384, 1_000_000)).toBe(1_004_096);
    expect(grownLength(CHUNK_CHARS + 4096, CHUNK_CHARS + 4097)).toBe(2 * (CHUNK_CHARS + 4096));
  });

  it('writes arrays of numbers and nulls as JSON does, and writes nothing for any other array', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null), fc.constantFrom(-0, NaN, Infinity, 'x', undefined))),
        (a) => {
          const w = new ChunkWriter();
          w.begin(0);
          w.ascii('v');
          const ok = w.numbers(a);
          w.end();
          const plain = a.every((x) => x === null || (typeof x === 'number' && Number.isFinite(x) && !Object.is(x, -0)));
          expect(ok).toBe(plain);
          expect(JSON.parse(w.finish()[0] as string)).toStrictEqual([[0, plain ? `v${JSON.stringify(a)}` : 'v']]);
        },
      ),
    );
  });

  it('rows read back exactly; chunks close at the first row that reaches CHUNK_CHARS bytes (multibyte text counted in bytes)', () => {
    const text = fc.string({ unit: fc.oneof(fc.constantFrom('a', '"', '\\', '\n', 'é', '€', '😀', '\u0000'), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 })), maxLength: 60 });
    const row = fc.tuple(fc.nat({ max: 127 }), fc.oneof(text, text.map((s) => s.repeat(2_000))), fc.option(text, { nil: undefined }));
    fc.assert(
      fc.property(fc.array(row, { maxLength: 200 }), (rows) => {
        const w = new ChunkWriter();
        for (const [kg, path, value] of rows) w.row(kg, escapeJson(path), value === undefined ? undefined : escapeJson(value));
        const chunks = w.finish();
        expect(w.count).toBe(rows.length);
        const back = chunks.flatMap((c) => JSON.parse(c) as unknown[]);
        expect(back).toStrictEqual(rows.map(([kg, path, value]) => (value === undefined ? [kg, path] : [kg, path, value])));
        chunks.forEach((c, i) => {
          const parsed = JSON.parse(c) as unknown[];
          const withoutLast = utf8Length(JSON.stringify(parsed.slice(0, -1)));
          // every chunk but the last reached the size with its last row, and was under it before that row
          if (i < chunks.length - 1) expect(utf8Length(c)).toBeGreaterThanOrEqual(CHUNK_CHARS);
          expect(withoutLast).toBeLessThan(CHUNK_CHARS + 1);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('a row far larger than a chunk grows the buffer and is one chunk of its own', () => {
    const w = new ChunkWriter();
    const big = '€'.repeat(3 * CHUNK_CHARS);
    w.row(1, 'a', 'b');
    w.row(2, big, big);
    w.row(3, 'c', undefined);
    const chunks = w.finish();
    expect(chunks.map((c) => JSON.parse(c) as unknown)).toStrictEqual([
      [
        [1, 'a', 'b'],
        [2, big, big],
      ],
      [[3, 'c']],
    ]);
  });

  it('rewinds to a position within a row', () => {
    const w = new ChunkWriter();
    w.begin(5);
    w.text('path');
    const at = w.position;
    w.ascii('discarded');
    w.rewind(at);
    w.value();
    w.text('kept');
    w.end();
    expect(w.finish()).toStrictEqual(['[[5,"path","kept"]]']);
  });

  it('counts its rows by size class; takeLargestRows charges at least (and under 5/4 of) the largest rows, and removes them', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 300 }), { minLength: 1, maxLength: 60 }), fc.nat({ max: 70 }), (values, k) => {
        const w = new ChunkWriter();
        const sizes: number[] = [];
        for (const v of values) {
          const before = w.size;
          w.row(3, 'p', escapeJson(v));
          sizes.push(w.size - before);
        }
        const counts = [...w.rowSizes];
        expect(counts.reduce((a, b) => a + b, 0)).toBe(values.length);
        sizes.forEach((n) => expect(counts[rowSizeClass(n)]).toBeGreaterThan(0));
        const largest = [...sizes].sort((a, b) => b - a).slice(0, k).reduce((a, b) => a + b, 0);
        const charged = takeLargestRows(counts, k);
        expect(charged).toBeGreaterThanOrEqual(largest);
        expect(charged).toBeLessThanOrEqual(1.25 * largest);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(Math.max(0, values.length - k));
      }),
      { numRuns: 300 },
    );
  });

  it('size classes: a quarter of a power of two wide, each row (of 4 bytes or more) at least four fifths of its class top', () => {
    const top = (n: number): number => {
      const sizes = new Array<number>(128).fill(0);
      sizes[rowSizeClass(n)] = 1;
      return takeLargestRows(sizes, 1);
    };
    expect([1, 2, 3, 4, 5, 7, 8, 100, 111, 112, 1_000_000].map((n) => [rowSizeClass(n), top(n)])).toStrictEqual([
      [0, 1],
      [4, 3],
      [4, 3],
      [8, 4],
      [9, 5],
      [11, 7],
      [12, 9],
      [26, 111],
      [26, 111],
      [27, 127],
      [79, 1_048_575],
    ]);
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 2 ** 31 - 1 }), (n) => {
        expect(top(n)).toBeGreaterThanOrEqual(n);
        expect(top(n)).toBeLessThan(1.25 * n);
      }),
    );
  });
});

