import { pipe } from 'rxjs';
import { fromAsyncIterable, valueState, type Source } from '../../src/index.js';
import { keyBy, process } from '../../operators/index.js';

/** A pause of a {@link gatedAt} source before one index. */
export interface Gate {
  readonly at: number;
  /** resolves when the source has reached the gate */
  readonly reached: Promise<void>;
  /** lets the source go on */
  open(): void;
}

/**
 * A replayable async source of `values` whose first opening pauses before each index in `ats` (`values.length`
 * pauses after the last value) until that gate is opened; later openings (restores) run straight through.
 */
export function gatedAt<T>(values: readonly T[], ats: readonly number[]): { source: Source<T>; gates: Gate[] } {
  const gates = ats.map((at) => {
    let open!: () => void;
    let reached!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    return { at, opened, reached: new Promise<void>((r) => (reached = r)), reach: () => reached(), open: () => open() };
  });
  let first = true;
  const source = fromAsyncIterable(async function* () {
    const gated = first;
    first = false;
    for (let i = 0; i <= values.length; i++) {
      const g = gated ? gates.find((x) => x.at === i) : undefined;
      if (g !== undefined) {
        g.reach();
        await g.opened;
      }
      if (i < values.length) yield values[i] as T;
    }
  });
  return { source, gates };
}

/**
 * A replayable async source of `values` whose first opening stops before index `gateAt` until `open()` is called
 * (never, if it isn't); later openings (restores) run straight through. `reached` resolves at the gate.
 */
export function gated<T>(values: readonly T[], gateAt: number): { source: Source<T>; reached: Promise<void>; open(): void } {
  const { source, gates } = gatedAt(values, [gateAt]);
  const g = gates[0] as Gate;
  return { source, reached: g.reached, open: () => g.open() };
}

/** A click of user `user` at `ts`. */
export interface UserClick {
  readonly user: string;
  readonly ts: number;
}

/**
 * A 'wide' operator keeping a count per user (many keys), emitting the count for users `emits` accepts, into a
 * 'narrow' one keeping the running total of those counts (one key) and emitting it.
 */
export function wideNarrow(emits: (user: string) => boolean = () => true) {
  return pipe(
    keyBy((c: UserClick) => c.user),
    process<UserClick, string, number, { n: ReturnType<typeof valueState<number>> }>({
      name: 'wide',
      state: { n: valueState<number>() },
      onElement(c, ctx) {
        const n = (ctx.state.n.get() ?? 0) + 1;
        ctx.state.n.set(n);
        if (emits(c.user)) ctx.emit(n);
      },
    }),
    keyBy(() => 'all'),
    process<number, string, number, { total: ReturnType<typeof valueState<number>> }>({
      name: 'narrow',
      state: { total: valueState<number>() },
      onElement(n, ctx) {
        const t = (ctx.state.total.get() ?? 0) + n;
        ctx.state.total.set(t);
        ctx.emit(t);
      },
    }),
  );
}

/** A running sum of everything seen (one key, operator 'sum'): any lost or repeated value shows in every later result. */
export const runningSum = () =>
  pipe(
    keyBy((_: number) => 'k'),
    process<number, string, number, { sum: ReturnType<typeof valueState<number>> }>({
      name: 'sum',
      state: { sum: valueState<number>() },
      onElement(v, ctx) {
        const s = (ctx.state.sum.get() ?? 0) + v;
        ctx.state.sum.set(s);
        ctx.emit(s);
      },
    }),
  );
