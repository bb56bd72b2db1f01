// Records (and window results) made anywhere share one hidden class whose fields take any value (src/elements/index.ts, SETTLED_SHAPES;
// docs/ARCHITECTURE.md "One object shape"): a pipeline keyed by small integers, then one keyed by fractions, then the
// first again — with garbage collections between — make records of one class, none of a deprecated one. Checked with
// V8's own test intrinsics (Node only).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { boundedOutOfOrderness, count, mean, tumblingWindows, type StreamElement } from '../src/index.js';
import { aggregate, eventTime, keyBy, map, window } from '../operators/index.js';

setFlagsFromString('--allow-natives-syntax');
setFlagsFromString('--expose-gc');
const sameClass = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
const gc = runInNewContext('gc') as () => void;

/** The records a chain makes (eventTime, keyBy, map: one record literal) over values keyed by `keyOf`. */
function recordsOf(keyOf: (v: number) => number | string): StreamElement<number, unknown>[] {
  const out: StreamElement<number, unknown>[] = [];
  from([1, 2, 3, 4, 5, 6, 7, 8])
    .pipe(
      eventTime((v: number) => v * 1_000, boundedOutOfOrderness(0)),
      keyBy(keyOf),
      map((v: number) => v + 1),
    )
    .subscribe((e) => void out.push(e));
  return out.filter((e) => e.kind === 'record');
}

describe('one record shape', () => {
  it('records keyed by integers, then by fractions and strings, then by integers again: one hidden class throughout', () => {
    // (a collection first: a class no live object has would be dropped here, and the next records start a narrow one)
    gc();
    const first = recordsOf((v) => v % 3);
    gc();
    const fractions = recordsOf((v) => v / 4);
    gc();
    const strings = recordsOf((v) => `k${v}`);
    gc();
    const again = recordsOf((v) => v % 3);
    const literal = { kind: 'record', value: 1, timestamp: 2, key: 3 };
    for (const r of [...first, ...fractions, ...strings, ...again]) expect(sameClass(r, literal)).toBe(true);
    expect(again).toHaveLength(8);
  });
});

describe('one window-result shape', () => {
  it('counts (integers) keyed by integers, then means (fractions) keyed by strings, then counts again: one hidden class', () => {
    const results = (keyOf: (v: number) => number | string, average: boolean): object[] => {
      const out: object[] = [];
      const values = from([1, 2, 3, 4, 5, 6, 7, 8]).pipe(eventTime((v: number) => v * 1_000, boundedOutOfOrderness(0)), keyBy(keyOf), window(tumblingWindows(2_000)));
      (average ? values.pipe(aggregate(mean((v: number) => v / 4))) : values.pipe(aggregate(count()))).subscribe((e) => {
        if (e.kind === 'record') out.push(e.value as object);
      });
      return out;
    };
    gc();
    const counts = results((v) => v % 2, false);
    gc();
    const means = results((v) => `k${v % 2}`, true);
    gc();
    const again = results((v) => v % 2, false);
    const literal = { key: 1, window: { start: 0, end: 1 }, value: 1 };
    expect(counts.length + means.length + again.length).toBe(24);
    for (const r of [...counts, ...means, ...again]) expect(sameClass(r, literal)).toBe(true);
  });
});
