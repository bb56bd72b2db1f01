import { from, of, type Observable, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { count, NotAStreamElementError, tumblingWindows, valueState, type StreamElement } from '../src/index.js';
import { aggregate, filter, flatMap, keyBy, map, process, processWindow, reduce, values, window } from '../operators/index.js';
import { rec, wm } from '../testing/index.js';

/** Subscribes and returns what the stream did: its elements and its error. */
function run<T>(out$: Observable<T>): { out: T[]; error: unknown } {
  const out: T[] = [];
  let error: unknown;
  out$.subscribe({ next: (v) => out.push(v), error: (e: unknown) => (error = e) });
  return { out, error };
}

const remedy =
  'which is not a stream element (a record, watermark, status or barrier). tidewater operators act on stream elements: ' +
  'turn plain values into timestamped records first with eventTime((v) => v.timestamp) or ingestionTime() at the start of the pipeline.';

// every operator that takes stream elements, each as it names itself in errors
const operators: [string, OperatorFunction<StreamElement<unknown, never>, unknown>][] = [
  ['map', map((v) => v) as OperatorFunction<StreamElement<unknown, never>, unknown>],
  ['filter', filter(() => true) as OperatorFunction<StreamElement<unknown, never>, unknown>],
  ['flatMap', flatMap((v) => [v]) as OperatorFunction<StreamElement<unknown, never>, unknown>],
  ['keyBy', keyBy(() => 'k') as OperatorFunction<StreamElement<unknown, never>, unknown>],
  ['values', values() as OperatorFunction<StreamElement<unknown, never>, unknown>],
  ['counts', process({ name: 'counts', state: { n: valueState<number>() }, onElement() {} }) as OperatorFunction<StreamElement<unknown, never>, unknown>],
  ['window#sum', ((s: Observable<StreamElement<number, string>>) => s.pipe(window(tumblingWindows(10), { name: 'window#sum' }), reduce((a: number, b: number) => a + b))) as unknown as OperatorFunction<StreamElement<unknown, never>, unknown>],
];

describe('operators given values that are not stream elements (issue 12, item 5)', () => {
  for (const [name, op] of operators) {
    it(`${name}: plain values fail the stream with NotAStreamElementError naming ${name}, the value and the remedy`, () => {
      const { out, error } = run(of(1, 2).pipe(op as OperatorFunction<unknown, unknown>));
      expect(out).toStrictEqual([]);
      expect(error).toBeInstanceOf(NotAStreamElementError);
      expect((error as NotAStreamElementError).message).toBe(`${name}: received 1, ${remedy}`);
      expect((error as NotAStreamElementError).operator).toBe(name);
      expect((error as NotAStreamElementError).value).toBe(1);
    });
  }

  it('null, undefined and objects of an unknown kind are named as they are', () => {
    for (const [value, shown] of [
      [null, 'null'],
      [undefined, 'undefined'],
      [{ kind: 'timer', timestamp: 1 }, '{"kind":"timer","timestamp":1}'],
      ['x', '"x"'],
    ] as const) {
      for (const [name, op] of operators) {
        const { error } = run(of(value).pipe(op as OperatorFunction<unknown, unknown>));
        expect(error, `${name} on ${shown}`).toBeInstanceOf(NotAStreamElementError);
        expect((error as Error).message).toBe(`${name}: received ${shown}, ${remedy}`);
      }
    }
  });

  it('a pipeline without eventTime fails at its first operator instead of completing empty', () => {
    const clicks = [{ user: 'a', at: 1 }, { user: 'b', at: 2 }];
    const { out, error } = run(
      from(clicks).pipe(
        keyBy((c: { user: string }) => c.user) as unknown as OperatorFunction<{ user: string; at: number }, StreamElement<{ user: string }, string>>,
        window(tumblingWindows(1000)),
        aggregate(count()),
        values(),
      ),
    );
    expect(out).toStrictEqual([]);
    expect(error).toBeInstanceOf(NotAStreamElementError);
    expect((error as Error).message).toBe(`keyBy: received {"user":"a","at":1}, ${remedy}`);
  });

  it('stream elements still pass: records, watermarks, status and barriers', () => {
    const input: StreamElement<number, string>[] = [rec(1, 5, 'k'), { kind: 'status', idle: true }, { kind: 'barrier', checkpointId: 1 }, wm(20)];
    for (const [name, op] of operators.slice(0, 4)) {
      const { out, error } = run(from(input).pipe(op as OperatorFunction<StreamElement<number, string>, unknown>));
      expect(error, name).toBeUndefined();
      expect(out.length, name).toBe(4);
    }
    const windowed = run(
      from(input).pipe(
        window(tumblingWindows(10)),
        processWindow((xs: readonly number[]) => xs.length),
        values(),
      ),
    );
    expect(windowed).toStrictEqual({ out: [{ key: 'k', window: { start: 0, end: 10 }, value: 1 }], error: undefined });
  });
});
