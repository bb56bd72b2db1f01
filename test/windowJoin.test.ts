// windowJoin and coGroup: the vectors of docs/SEMANTICS.md §10.3–10.4, and a property test against a batch oracle
// with restores.
import fc from 'fast-check';
import { Subject, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { active, countTrigger, globalWindows, idle, InvalidKeyError, MAX_WATERMARK, purging, sessionWindows, slidingWindows, tumblingWindows, type StreamElement, type StreamRecord, type Trigger } from '../src/index.js';
import { coGroup, intervalJoin, windowJoin } from '../operators/index.js';
import { rec, twoInputHarness, wm } from '../testing/index.js';
import { runTwoInput, type Step } from './support/twoInputs.js';
import type { WindowAssigner } from '../src/windows/assigners.js';
import { expectRefused } from './support/refused.js';

type H = ReturnType<typeof twoInputHarness<string, string, string, string>>;

const joinIn = (assigner: WindowAssigner<string>, options: Parameters<typeof windowJoin<string, string, string, string>>[3] = {}) =>
  (right$: Observable<StreamElement<string, string>>) =>
    windowJoin<string, string, string, string>(right$, assigner, (l, r, { key, window }) => `${key} ${l}+${r} [${window.start},${window.end})`, { name: 'wj', ...options });

const records = (h: H): [string, number][] => h.records().map((r) => [r.value, r.timestamp]);

describe('windowJoin, coGroup, intervalJoin: what they cannot run, refused where given', () => {
  it('no function (a join emitted nothing, silently), an assigner that is none, a right input that is no Observable, a misspelt option', () => {
    const right$ = new Subject<StreamElement<number, string>>();
    expectRefused(() => windowJoin(right$, tumblingWindows(10), undefined as never), 'windowJoin: undefined is not a function; give windowJoin(right$, assigner, (left, right, ctx) => result).');
    expectRefused(() => coGroup(right$, tumblingWindows(10), 5 as never), 'coGroup: 5 is not a function; give coGroup(right$, assigner, (lefts, rights, ctx) => results).');
    expectRefused(() => windowJoin(right$, 1000 as never, (l: number, r: number) => l + r), 'windowJoin: 1000 is not a window assigner; give tumblingWindows(size), slidingWindows(size, slide), sessionWindows(gap), globalWindows() or their processing-time forms.');
    expectRefused(() => coGroup([1] as never, tumblingWindows(10), () => undefined), 'coGroup: the right input [1] is not an Observable; give coGroup(right$, assigner, fn), right$ a stream keyed as this one.');
    expectRefused(
      () => windowJoin(right$, tumblingWindows(10), (l: number, r: number) => l + r, { lateness: 5 } as never),
      'windowJoin: no option "lateness" in the options. The options: name, trigger, allowedLateness, lateData.',
    );
    expectRefused(() => windowJoin(right$, globalWindows(), (l: number, r: number) => l + r, { trigger: countTrigger as never }), 'windowJoin: the trigger is the function countTrigger, not a trigger; call it, e.g. countTrigger(100).');
    expectRefused(() => intervalJoin(right$, { lower: 0, upper: 5 }, undefined as never), 'intervalJoin: undefined is not a function; give intervalJoin(right$, { lower, upper }, (left, right, ctx) => result).');
    expectRefused(
      () => intervalJoin(right$, { lower: 0, upper: 5, upperInclusve: false } as never, (l: number) => l),
      'intervalJoin: no option "upperInclusve" in the bounds — did you mean "upperInclusive"? The options: lower, upper, lowerInclusive, upperInclusive.',
    );
  });
});

describe('windowJoin (docs/SEMANTICS.md §10.3)', () => {
  it('at each firing: lefts outer, rights inner, each in arrival order; stamped end − 1; one-sided windows emit nothing', () => {
    const h = twoInputHarness(joinIn(tumblingWindows(10)));
    h.record('l1', 1, 'k').record2('r1', 2, 'k').record('l2', 3, 'k').record2('r2', 9, 'k').record('solo', 4, 'other');
    h.record('late-window', 15, 'k');
    h.watermark(20).watermark2(9);
    expect(records(h)).toStrictEqual([
      ['k l1+r1 [0,10)', 9],
      ['k l1+r2 [0,10)', 9],
      ['k l2+r1 [0,10)', 9],
      ['k l2+r2 [0,10)', 9],
    ]);
    expect(h.output().at(-1)).toStrictEqual(wm(9));
  });

  it('sliding windows: a pair is emitted once per window the two elements share', () => {
    const h = twoInputHarness(joinIn(slidingWindows(10, 5)));
    h.record('l', 7, 'k').record2('r', 8, 'k').watermark(30).watermark2(30);
    expect(records(h)).toStrictEqual([
      ['k l+r [0,10)', 9],
      ['k l+r [5,15)', 14],
    ]);
  });

  it('sessions merge across both sides', () => {
    const h = twoInputHarness(joinIn(sessionWindows(5)));
    h.record('l', 0, 'k').record2('r', 8, 'k'); // [0,5) and [8,13): apart
    h.record('bridge', 4, 'k'); // [4,9) touches both: one session [0,13)
    h.watermark(100).watermark2(100);
    expect(records(h)).toStrictEqual([
      ['k l+r [0,13)', 12],
      ['k bridge+r [0,13)', 12],
    ]);
  });

  it('allowed lateness: a late element fires its window again with the whole contents (earlier pairs again)', () => {
    const h = twoInputHarness(joinIn(tumblingWindows(10), { allowedLateness: 5 }));
    h.record('l', 1, 'k').record2('r', 2, 'k').watermark(9).watermark2(9);
    h.record('l2', 3, 'k');
    expect(records(h)).toStrictEqual([
      ['k l+r [0,10)', 9],
      ['k l+r [0,10)', 9],
      ['k l2+r [0,10)', 9],
    ]);
  });

  it('too late for every window: dropped, counted and warned about, or to lateData unchanged (either side)', () => {
    const h = twoInputHarness(joinIn(tumblingWindows(10)));
    h.watermark(20).watermark2(20).record('l', 5, 'k').record2('r', 6, 'k');
    expect(records(h)).toStrictEqual([]);
    expect(h.metrics()).toMatchObject({ lateRecordsDropped: 2 });
    expect(h.warnings()).toHaveLength(1);
    expect(h.warnings()[0]).toMatch(/^wj: a record arrived after its windows were cleaned up \(timestamp 5 \+ allowedLateness 0 <= watermark 20\) and was dropped\./);
    expect(h.warnings()[0]).toContain('pass { lateData: subject } to windowJoin(...) to receive them');
    const late = new Subject<StreamRecord<string, string>>();
    const h2 = twoInputHarness(joinIn(tumblingWindows(10), { lateData: late }));
    h2.watermark(20).watermark2(20).record('l', 5, 'k').record2('r', 6, 'k');
    expect(h2.sideOutput(late)).toStrictEqual([rec('l', 5, 'k'), rec('r', 6, 'k')]);
  });

  it('watermarks are merged by the valve: an input that comes back behind does not hold event time back', () => {
    const h = twoInputHarness(joinIn(tumblingWindows(10)));
    h.record('l', 1, 'k').record2('r', 2, 'k');
    h.push2(idle()).watermark(15);
    expect(h.output()).toStrictEqual([rec('k l+r [0,10)', 9, 'k'), wm(15)]);
    h.push2(active()).watermark(25); // input 2 is back at MIN: the valve leaves it out until it catches up
    expect(h.output().at(-1)).toStrictEqual(wm(25));
  });

  it('ends after both inputs: the remaining windows fire at MAX, MAX goes out once, then complete', () => {
    const h = twoInputHarness(joinIn(tumblingWindows(10)));
    h.record('l', 1, 'k').complete();
    expect(h.completed).toBe(false);
    h.record2('r', 2, 'k').complete2();
    expect(h.output()).toStrictEqual([rec('k l+r [0,10)', 9, 'k'), wm(MAX_WATERMARK)]);
    expect(h.completed).toBe(true);
  });

  it('an unkeyed record fails the output naming windowJoin, the value as given and the fix', () => {
    const h = twoInputHarness(joinIn(tumblingWindows(10)));
    h.push2({ kind: 'record', value: 'r', timestamp: 1, key: undefined as unknown as string });
    expect(h.error).toBeInstanceOf(InvalidKeyError);
    expect((h.error as Error).message).toBe('wj: key undefined of "r" is not a valid key. The stream is not keyed: put keyBy(...) before windowJoin.');
  });

  it('errors name the value as given (not as the join holds it) and the join by its name', () => {
    const bad = twoInputHarness(joinIn(tumblingWindows(10)));
    bad.push2({ kind: 'record', value: 'v', timestamp: NaN, key: 'k' });
    expect((bad.error as Error).message).toBe(
      'tumblingWindows: timestamp NaN of "v" is not a finite number of milliseconds. Window assignment needs finite timestamps: stamp records with eventTime(...) first.',
    );
    const notAnElement = twoInputHarness(joinIn(tumblingWindows(10)));
    notAnElement.push2(42 as unknown as StreamElement<string, string>);
    expect((notAnElement.error as Error).message).toMatch(/^wj: received 42, which is not a stream element/);
  });

  it('the assigner gets each record\'s own value: a dynamic session gap read from either input', () => {
    type V = { id: string; gap: number };
    const h = twoInputHarness<V, V, string, string>((right$) =>
      windowJoin<V, V, string, string>(right$, sessionWindows<V>((v) => v.gap), (l, r, { window }) => `${l.id}+${r.id} [${window.start},${window.end})`, { name: 'dyn' }),
    );
    h.record({ id: 'l', gap: 10 }, 1, 'k').record2({ id: 'r', gap: 4 }, 11, 'k').watermark(40).watermark2(40);
    expect(h.error).toBeUndefined();
    expect(h.records().map((r) => [r.value, r.timestamp])).toStrictEqual([['l+r [1,15)', 14]]);
  });

  it('a frozen assigner and a trigger of a class with private fields work (the join calls them, it does not copy them); a throwing gap names the value', () => {
    class Every {
      readonly canMerge = true;
      #calls = 0;
      onElement(): 'continue' {
        this.#calls++;
        return 'continue';
      }
      onEventTime(time: number, w: { end: number }): 'fire' | 'continue' {
        return time === w.end - 1 && this.#calls > 0 ? 'fire' : 'continue';
      }
      onProcessingTime(): 'continue' {
        return 'continue';
      }
      onMerge(w: { end: number }, ctx: { registerEventTimeTimer(t: number): void }): void {
        ctx.registerEventTimeTimer(w.end - 1);
      }
      clear(): void {}
    }
    const frozen = twoInputHarness(joinIn(Object.freeze(tumblingWindows<string>(10))));
    frozen.record('l', 1, 'k').record2('r', 2, 'k').watermark(100).watermark2(100);
    expect(records(frozen)).toStrictEqual([['k l+r [0,10)', 9]]);
    const classy = twoInputHarness(joinIn(sessionWindows<string>(5), { trigger: new Every() as unknown as Trigger<string> }));
    classy.record('l', 1, 'k').record2('r', 3, 'k').watermark(100).watermark2(100);
    expect(classy.error).toBeUndefined();
    expect(records(classy)).toStrictEqual([['k l+r [1,8)', 7]]);
    const throwing = twoInputHarness(
      joinIn(
        sessionWindows<string>((v) => {
          if (v === 'r') throw new Error('boom');
          return 5;
        }),
      ),
    );
    throwing.record('l', 1, 'k').record2('r', 2, 'k');
    expect((throwing.error as Error).message).toBe('wj: user function threw on record value "r" @ 2 key "k": boom');
  });

  it('a trigger replaces the default one; its onElement gets each record\'s own value; globalWindows fire with it', () => {
    const seen: string[] = [];
    const everyRight: Trigger<string> = {
      canMerge: false,
      onElement: (v) => (seen.push(v), v.startsWith('r') ? 'fire' : 'continue'),
      onEventTime: () => 'continue',
      onProcessingTime: () => 'continue',
      clear: () => undefined,
    };
    const h = twoInputHarness(joinIn(globalWindows(), { trigger: everyRight }));
    h.record('l1', 1, 'k').record2('r1', 2, 'k').record('l2', 3, 'k').record2('r2', 4, 'k');
    expect(seen).toStrictEqual(['l1', 'r1', 'l2', 'r2']);
    expect(records(h).map(([v]) => v)).toStrictEqual(['k l1+r1 [-Infinity,Infinity)', 'k l1+r1 [-Infinity,Infinity)', 'k l1+r2 [-Infinity,Infinity)', 'k l2+r1 [-Infinity,Infinity)', 'k l2+r2 [-Infinity,Infinity)']);
    const counted = twoInputHarness(joinIn(globalWindows(), { trigger: purging(countTrigger(2)) }));
    counted.record('a', 1, 'k').record2('b', 2, 'k').record('c', 3, 'k');
    expect(records(counted).map(([v]) => v.split(' [')[0])).toStrictEqual(['k a+b']);
  });
});

describe('coGroup (docs/SEMANTICS.md §10.4)', () => {
  const groups = (right$: Observable<StreamElement<string, string>>) =>
    coGroup<string, string, string, string>(right$, tumblingWindows(10), (ls, rs, { key, window }) =>
      ls.length + rs.length === 3 ? undefined : ls.length === 0 ? `${key} only right ${rs.join(',')}` : [`${key} [${window.start}] L ${ls.join(',')}`, `${key} R ${rs.join(',')}`],
    { name: 'cg' });

  it('one call per key and window with both lists; a value, an array (a record each) or undefined', () => {
    const h = twoInputHarness(groups);
    h.record('a', 1, 'x').record2('b', 2, 'x'); // 2 elements: array
    h.record2('c', 3, 'y'); // only right
    h.record('d', 4, 'z').record('e', 5, 'z').record2('f', 6, 'z'); // 3 elements: undefined
    h.record('g', 7, 'w'); // only left: array with an empty right list
    h.watermark(9).watermark2(9);
    expect(records(h)).toStrictEqual([
      ['x [0] L a', 9],
      ['x R b', 9],
      ['y only right c', 9],
      ['w [0] L g', 9],
      ['w R ', 9],
    ]);
  });
});

// ---- property: against a batch oracle ----------------------------------------------------------------------------

type Win = { start: number; end: number };

/**
 * The oracle, from the rules (docs/SEMANTICS.md §3, §10.3; no idleness, lateness 0): W is the min of both inputs'
 * watermarks; an element goes into each of its windows with end − 1 > W (late when none); a window fires when W
 * reaches end − 1, windows by ascending end, then by when their key's first element of that window arrived; its
 * pairs are lefts × rights in arrival order.
 */
function oracle(steps: readonly Step[], windowsOf: (ts: number) => Win[], group = false): string[] {
  const inputWm = [-Infinity, -Infinity];
  let w = -Infinity;
  let seq = 0;
  const open = new Map<string, { key: string; win: Win; seq: number; ls: string[]; rs: string[] }>();
  const out: string[] = [];
  const fireUpTo = (limit: number): void => {
    const due = [...open.values()].filter((x) => x.win.end - 1 <= limit).sort((a, b) => a.win.end - b.win.end || a.seq - b.seq);
    for (const x of due) {
      open.delete(`${x.key}|${x.win.start}`);
      if (group) out.push(`${x.key} [${x.ls.join(',')}] [${x.rs.join(',')}] [${x.win.start},${x.win.end}) @${x.win.end - 1}`);
      else for (const l of x.ls) for (const r of x.rs) out.push(`${x.key} ${l}+${r} [${x.win.start},${x.win.end}) @${x.win.end - 1}`);
    }
  };
  steps.forEach((s, n) => {
    if (s[0] === 'wm') {
      inputWm[s[1]] = Math.max(inputWm[s[1]] as number, s[2]);
      const next = Math.min(inputWm[0] as number, inputWm[1] as number);
      if (next > w) {
        w = next;
        fireUpTo(w);
      }
      return;
    }
    const [, side, key, ts] = s;
    for (const win of windowsOf(ts)) {
      if (win.end - 1 <= w) continue;
      const id = `${key}|${win.start}`;
      let x = open.get(id);
      if (x === undefined) open.set(id, (x = { key, win, seq: seq++, ls: [], rs: [] }));
      (side === 0 ? x.ls : x.rs).push(`${side === 0 ? 'l' : 'r'}${n}`);
    }
  });
  fireUpTo(Infinity);
  return out;
}

function runOperator(steps: readonly Step[], assigner: WindowAssigner<string>, cuts: ReadonlySet<number>, group = false): string[] {
  return runTwoInput(
    steps,
    group
      ? (right$) => coGroup<string, string, string, string>(right$, assigner, (ls, rs, { key, window }) => `${key} [${ls.join(',')}] [${rs.join(',')}] [${window.start},${window.end})`, { name: 'p' })
      : (right$) => windowJoin<string, string, string, string>(right$, assigner, (l, r, { key, window }) => `${key} ${l}+${r} [${window.start},${window.end})`, { name: 'p' }),
    cuts,
  );
}

describe('windowJoin: property against a batch oracle', () => {
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constant('rec' as const), fc.constantFrom(0 as const, 1 as const), fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 50 })) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('wm' as const), fc.constantFrom(0 as const, 1 as const), fc.integer({ min: 0, max: 50 })) },
  );
  const cuts = fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 3 });

  it('tumbling: exactly the oracle\'s results in its order, with restores at random cuts', () => {
    const windowsOf = (ts: number): Win[] => [{ start: ts - (ts % 10), end: ts - (ts % 10) + 10 }];
    fc.assert(
      fc.property(fc.array(step, { maxLength: 50 }), cuts, (steps, c) => {
        const expected = oracle(steps, windowsOf);
        expect(runOperator(steps, tumblingWindows(10), new Set())).toStrictEqual(expected);
        expect(runOperator(steps, tumblingWindows(10), new Set(c))).toStrictEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('sliding: exactly the oracle\'s results in its order, with restores at random cuts', () => {
    const windowsOf = (ts: number): Win[] => {
      const out: Win[] = [];
      for (let start = ts - (ts % 5); start > ts - 10; start -= 5) out.push({ start, end: start + 10 });
      return out;
    };
    fc.assert(
      fc.property(fc.array(step, { maxLength: 50 }), cuts, (steps, c) => {
        const expected = oracle(steps, windowsOf);
        expect(runOperator(steps, slidingWindows(10, 5), new Set())).toStrictEqual(expected);
        expect(runOperator(steps, slidingWindows(10, 5), new Set(c))).toStrictEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  for (const [name, assigner, windowsOf] of [
    ['tumbling', tumblingWindows(10), (ts: number): Win[] => [{ start: ts - (ts % 10), end: ts - (ts % 10) + 10 }]],
    [
      'sliding',
      slidingWindows(10, 5),
      (ts: number): Win[] => {
        const out: Win[] = [];
        for (let start = ts - (ts % 5); start > ts - 10; start -= 5) out.push({ start, end: start + 10 });
        return out;
      },
    ],
  ] as const) {
    it(`coGroup, ${name}: one result per key and window with both sides' lists (either may be empty), exactly the oracle's, with restores at random cuts`, () => {
      fc.assert(
        fc.property(fc.array(step, { maxLength: 50 }), cuts, (steps, c) => {
          const expected = oracle(steps, windowsOf, true);
          expect(runOperator(steps, assigner, new Set(), true)).toStrictEqual(expected);
          expect(runOperator(steps, assigner, new Set(c), true)).toStrictEqual(expected);
        }),
        { numRuns: 200 },
      );
    });
  }
});
