// runJob's metrics: one entry per stateful operator, under its name whatever the name.
import { describe, expect, it } from 'vitest';
import { fromArray, runJob, toArray, valueState } from '../src/index.js';
import { keyBy, process } from '../operators/index.js';

describe('job.metrics()', () => {
  it('has an own entry per operator name, `__proto__` included (a plain assignment would set the prototype instead)', async () => {
    const counter = (name: string) =>
      process<number, number, number, { c: ReturnType<typeof valueState<number>> }>({
        name,
        state: { c: valueState<number>() },
        onElement(v, ctx) {
          ctx.state.c.set((ctx.state.c.get() ?? 0) + 1);
          ctx.emit(v);
        },
      });
    const job = runJob({
      name: 'names',
      source: fromArray([1, 2, 3]),
      pipeline: (s) => s.pipe(keyBy((n: number) => n % 2), counter('__proto__'), counter('constructor')),
      sink: toArray(),
    });
    await job.done;
    const { operators } = job.metrics();
    expect(Object.getPrototypeOf(operators)).toBe(Object.prototype);
    expect(Object.keys(operators).sort()).toStrictEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(operators, '__proto__')?.value).toMatchObject({ recordsIn: 3, recordsOut: 3, stateEntries: 2 });
    expect(Object.getOwnPropertyDescriptor(operators, 'constructor')?.value).toMatchObject({ recordsIn: 3, recordsOut: 3, stateEntries: 2 });
  });
});
