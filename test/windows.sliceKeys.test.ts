// The slicing operator keeps no key array per slice while every key is its own id (src/windows/slicingWindowOperator.ts,
// `keysKept`): a tumbling window fires its keys from the slice's map. These cases cross into keeping keys (mid-slice,
// at a snapshot, at a restore) and check the exact results: keys, their order, their identity.
import { pipe } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { count, tumblingWindows, type Key, type WindowResult } from '../src/index.js';
import { aggregate, processWindow, window } from '../operators/index.js';
import { harness } from '../testing/index.js';

type Out = [key: unknown, start: number, count: number];

const counts = () => pipe(window<number, Key>(tumblingWindows(10)), aggregate(count()));
const keysOf = (h: { records(): { value: { key: unknown } }[] }): unknown[] => h.records().map((r) => r.value.key);
const results = (rs: readonly { value: WindowResult<Key, number> }[]): Out[] => rs.map((r) => [r.value.key, r.value.window.start, r.value.value]);

describe('slice keys', () => {
  it('string and number keys, then an array key: every key of every live slice fires, in first-element order, the array as given', () => {
    const arrayKey: Key = ['x', 1];
    const h = harness(counts());
    // (two live slices without keys when the array key comes)
    h.record(1, 12, 'c').record(1, 1, 'a').record(1, 2, 7).record(1, 3, 'a').record(1, 4, arrayKey).record(1, 5, 'b').record(1, 6, 7);
    const later: Key = ['y'];
    h.record(1, 15, later).record(1, 16, 'c').watermark(9);
    const first = results(h.records());
    expect(first).toStrictEqual([
      ['a', 0, 2],
      [7, 0, 2],
      [['x', 1], 0, 1],
      ['b', 0, 1],
    ]);
    expect(first[2]?.[0]).toBe(arrayKey);
    h.watermark(19);
    const second = results(h.records()).slice(4);
    expect(second).toStrictEqual([
      ['c', 10, 2],
      [['y'], 10, 1],
    ]);
    expect(second[1]?.[0]).toBe(later);
  });

  it('strings that are not their own ids (starting with U+0000 or "[") keep the keys: they fire as they came', () => {
    const h = harness(counts());
    h.record(1, 1, 'plain').record(1, 2, '[not json').record(1, 3, '\u0000nul').record(1, 4, 'plain').watermark(9);
    expect(results(h.records())).toStrictEqual([
      ['plain', 0, 2],
      ['[not json', 0, 1],
      ['\u0000nul', 0, 1],
    ]);
  });

  it('-0 and 0 are one key; the key of its first element fires (-0 first: -0; 0 first: 0)', () => {
    const minusFirst = harness(counts());
    minusFirst.record(1, 1, -0).record(1, 2, 0).watermark(9);
    const [m] = results(minusFirst.records());
    expect(Object.is(m?.[0], -0)).toBe(true);
    expect(m?.[2]).toBe(2);
    const zeroFirst = harness(counts());
    zeroFirst.record(1, 1, 0).record(1, 2, -0).watermark(9);
    const [z] = results(zeroFirst.records());
    expect(Object.is(z?.[0], 0)).toBe(true);
    expect(z?.[2]).toBe(2);
  });

  it('a snapshot taken while no keys are kept, restored: the same results as the uninterrupted run, and keys() lists them', () => {
    const steps = (h: { record(value: number, timestamp: number, key: Key): unknown }, from: number, to: number) => {
      for (let t = from; t < to; t++) h.record(1, t, t % 3 === 0 ? 'a' : t % 3 === 1 ? 5 : 'b');
    };
    const whole = harness(counts());
    steps(whole, 0, 25);
    whole.watermark(29);
    const expected = results(whole.records());

    const before = harness(counts());
    steps(before, 0, 13);
    expect(new Set(before.keys())).toStrictEqual(new Set(['a', 5, 'b']));
    const checkpoint = before.snapshot();
    const after = harness(counts(), { restore: checkpoint });
    steps(after, 13, 25);
    after.watermark(29);
    expect([...results(before.records()), ...results(after.records())]).toStrictEqual(expected);
    expect(expected).toStrictEqual([
      ['a', 0, 4],
      [5, 0, 3],
      ['b', 0, 3],
      [5, 10, 4],
      ['b', 10, 3],
      ['a', 10, 3],
      ['b', 20, 2],
      ['a', 20, 2],
      [5, 20, 1],
    ]);
  });

  it('restored array and escaped-string keys fire as keys, also when an own-id key comes after the restore', () => {
    const h = harness(counts());
    h.record(1, 1, ['x', 1]).record(1, 2, '[s').record(1, 3, 'a');
    const after = harness(counts(), { restore: h.snapshot() });
    after.record(1, 4, 'b').record(1, 12, 'c').watermark(19);
    expect(keysOf(after)).toStrictEqual([['x', 1], '[s', 'a', 'b', 'c']);
  });

  it('a slice made after keys are kept (no snapshot between) fires its array key as given', () => {
    const k: Key = ['y'];
    const h = harness(counts());
    h.record(1, 1, ['x']).record(1, 12, k).record(1, 13, 'a').watermark(19);
    expect(keysOf(h)).toStrictEqual([['x'], ['y'], 'a']);
    expect(keysOf(h)[1]).toBe(k);
  });

  it('keys() lists an array key as the key, before any snapshot', () => {
    const h = harness(counts());
    h.record(1, 1, 'a').record(1, 2, ['x', 1]);
    expect(h.keys()).toStrictEqual(['a', ['x', 1]]);
  });

  it('a window function that throws while keys are not kept: the error names the key it fired', () => {
    const h = harness(
      pipe(
        window<number, Key>(tumblingWindows(10)),
        processWindow((els: readonly number[]) => {
          if (els.length > 1) throw new Error('two');
          return 1;
        }),
      ),
    );
    h.record(1, 1, 'a').record(1, 2, 7).record(1, 3, 7).watermark(9);
    expect((h.error as Error).message).toBe('window#0: user function threw on event-time timer 9 of key 7: two');
  });
});
