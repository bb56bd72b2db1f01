// coProcess and the two-input operator core: docs/SEMANTICS.md §10.1 (combined watermark, idleness, barriers, end of
// input) and §10.5 (coProcess), with CombinedWatermarkStatus's vectors.
import { Subject, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { active, barrier, ConfigurationError, idle, InvalidKeyError, MAX_WATERMARK, UserFunctionError, valueState, watermark, type StreamElement, type StreamStatus, type Watermark } from '../src/index.js';
import type { OperatorSnapshot } from '../src/checkpoints/snapshot.js';
import { PipelineRuntime } from '../src/core/runtime.js';
import { CombinedWatermarkStatus } from '../src/partitioning/combinedWatermark.js';
import { coProcess } from '../operators/index.js';
import { ckpt, ManualScheduler, rec, twoInputHarness, wm } from '../testing/index.js';

const w = watermark;

type Step =
  | readonly ['wm', number, number, readonly (Watermark | StreamStatus)[]]
  | readonly ['idle' | 'active' | 'end', number, readonly (Watermark | StreamStatus)[]];

function outputsOf(n: number, steps: readonly Step[]): (Watermark | StreamStatus)[][] {
  const c = new CombinedWatermarkStatus(n);
  return steps.map((s) => {
    if (s[0] === 'wm') return [...c.inputWatermark(s[1], s[2])];
    if (s[0] === 'end') return [...c.inputEnded(s[1])];
    return [...c.inputStatus(s[1], s[0] === 'idle')];
  });
}

describe('CombinedWatermarkStatus (docs/SEMANTICS.md §10.1)', () => {
  const cases: [string, Step[]][] = [
    ['the minimum over the inputs, emitted only when strictly greater than the last', [
      ['wm', 0, 5, []], ['wm', 1, 3, [w(3)]], ['wm', 1, 3, []], ['wm', 1, 7, [w(5)]], ['wm', 0, 9, [w(7)]],
    ]],
    ['an input never goes back: a lower watermark on it is ignored', [
      ['wm', 0, 5, []], ['wm', 1, 6, [w(5)]], ['wm', 0, 2, []], ['wm', 0, 8, [w(6)]],
    ]],
    ['an idle input is left out of the minimum', [
      ['wm', 0, 5, []], ['idle', 1, [w(5)]], ['wm', 0, 9, [w(9)]],
    ]],
    ['all idle: the maximum if greater, then idle(); a status is emitted only when "all idle" changes', [
      ['wm', 0, 5, []], ['wm', 1, 8, [w(5)]], ['idle', 0, [w(8)]], ['idle', 1, [idle()]], ['idle', 1, []],
    ]],
    ['an input that comes back holds the watermark where it is, never lowers it (unlike the valve)', [
      ['wm', 0, 10, []], ['idle', 1, [w(10)]], ['wm', 0, 20, [w(20)]],
      ['active', 1, []], // input 2 rejoins at MIN: holds 20
      ['wm', 0, 30, []], // held back by input 2
      ['wm', 1, 25, [w(25)]], ['wm', 1, 40, [w(30)]],
    ]],
    ['a watermark on an idle input makes it active; coming back from all idle emits active() first', [
      ['wm', 0, 10, []], ['wm', 1, 10, [w(10)]], ['idle', 0, []], ['idle', 1, [idle()]],
      ['wm', 1, 15, [active(), w(15)]], // input 1 is idle: the min is input 2's
      ['active', 0, []], ['wm', 0, 12, []], ['wm', 0, 20, []], ['wm', 1, 30, [w(20)]],
    ]],
    ['an ended input counts as MAX on it; both ended: MAX', [
      ['wm', 0, 5, []], ['end', 1, [w(5)]], ['wm', 0, 7, [w(7)]], ['end', 0, [w(MAX_WATERMARK)]],
    ]],
  ];
  for (const [name, steps] of cases) {
    it(name, () => {
      expect(outputsOf(2, steps)).toStrictEqual(steps.map((s) => s[s.length - 1]));
    });
  }

  it('rejects a bad input count and a missing input, naming both', () => {
    expect(() => new CombinedWatermarkStatus(0)).toThrow(ConfigurationError);
    expect(() => new CombinedWatermarkStatus(2).inputWatermark(2, 1)).toThrow('CombinedWatermarkStatus: input 2 does not exist; inputs are 0 … 1.');
  });
});

type Order = { readonly id: string; readonly amount: number };
type Payment = { readonly order: string; readonly paid: number };

/** Orders matched with payments, whichever comes first; an order unpaid when the watermark passes ts + 100 is reported. */
const matching = (right$: Observable<StreamElement<Payment, string>>) =>
  coProcess<Order, Payment, string, string, { order: ReturnType<typeof valueState<Order>>; payment: ReturnType<typeof valueState<Payment>> }>(right$, {
    name: 'match',
    state: { order: valueState<Order>(), payment: valueState<Payment>() },
    onElement1(o, ctx) {
      const p = ctx.state.payment.get();
      if (p !== undefined) {
        ctx.emit(`paid ${o.id} ${p.paid}/${o.amount}`);
        ctx.state.payment.clear();
        return;
      }
      ctx.state.order.set(o);
      ctx.timers.registerEventTime(ctx.timestamp + 100);
    },
    onElement2(p, ctx) {
      const o = ctx.state.order.get();
      if (o === undefined) {
        ctx.state.payment.set(p);
        return;
      }
      ctx.emit(`paid ${o.id} ${p.paid}/${o.amount}`);
      ctx.state.order.clear();
    },
    onTimer(ts, ctx) {
      const o = ctx.state.order.get();
      if (o !== undefined) ctx.emit(`unpaid ${o.id} at ${ts} (wm ${ctx.currentWatermark})`);
      ctx.state.order.clear();
    },
  });

describe('coProcess (docs/SEMANTICS.md §10.5)', () => {
  it('a record fed back while a processing-time timer fires waits for the firing (docs/SEMANTICS.md §12): the timer keeps its key', async () => {
    const left$ = new Subject<StreamElement<string, string>>();
    const right$ = new Subject<StreamElement<string, string>>();
    const state = { n: valueState<number>() };
    const log: string[] = [];
    let fed = false;
    const sub = left$
      .pipe(
        coProcess<string, string, string, string, typeof state>(right$, {
          name: 'co',
          state,
          onElement1(_v, ctx) {
            ctx.timers.registerProcessingTime(ctx.currentProcessingTime + 5);
          },
          onElement2(v, ctx) {
            ctx.emit(`2:${v}@${String(ctx.key)}`);
          },
          onTimer(_ts, ctx) {
            ctx.emit(`timer@${String(ctx.key)} first`);
            ctx.state.n.set(1);
            ctx.emit(`timer@${String(ctx.key)} second (state ${ctx.state.n.get()})`);
          },
        }),
      )
      .subscribe((e) => {
        if (e.kind !== 'record') return;
        log.push(e.value);
        if (!fed && e.value.startsWith('timer')) {
          fed = true;
          right$.next(rec('fb', 5, 'other'));
        }
      });
    left$.next(rec('a', 1, 'k'));
    await new Promise((resolve) => setTimeout(resolve, 40));
    sub.unsubscribe();
    expect(log).toStrictEqual(['timer@k first', 'timer@k second (state 1)', '2:fb@other']);
  });

  it('both inputs share the key state; outputs carry the record timestamp, timers the timer timestamp', () => {
    const h = twoInputHarness(matching);
    h.record({ id: 'a', amount: 5 }, 10, 'a').record2({ order: 'b', paid: 7 }, 11, 'b').record2({ order: 'a', paid: 5 }, 12, 'a');
    h.record({ id: 'b', amount: 7 }, 13, 'b').record({ id: 'c', amount: 1 }, 14, 'c');
    expect(h.output()).toStrictEqual([rec('paid a 5/5', 12, 'a'), rec('paid b 7/7', 13, 'b')]);
    h.watermark(200);
    expect(h.takeOutput().slice(2)).toStrictEqual([]); // input 2 is still at MIN: no watermark, no timer
    h.watermark2(150);
    expect(h.takeOutput()).toStrictEqual([rec('unpaid c at 114 (wm 150)', 114, 'c'), wm(150)]);
    expect(h.keys()).toStrictEqual([]);
  });

  it('no lateness: a record behind the watermark is processed', () => {
    const h = twoInputHarness(matching);
    h.watermark(100).watermark2(100).record({ id: 'a', amount: 1 }, 5, 'a').record2({ order: 'a', paid: 1 }, 6, 'a');
    expect(h.output()).toStrictEqual([wm(100), rec('paid a 1/1', 6, 'a')]);
    expect(h.metrics()).toMatchObject({ recordsIn: 2, recordsOut: 1 });
  });

  it('an idle input is left out; when it comes back it holds the watermark until it catches up', () => {
    const h = twoInputHarness(matching);
    h.record({ id: 'a', amount: 1 }, 10, 'a');
    h.watermark(50).push2(idle());
    expect(h.takeOutput()).toStrictEqual([wm(50)]);
    h.push2(active()).watermark(500);
    expect(h.takeOutput()).toStrictEqual([]);
    h.watermark2(120);
    expect(h.takeOutput()).toStrictEqual([rec('unpaid a at 110 (wm 120)', 110, 'a'), wm(120)]);
  });

  it('all inputs idle: idle() once; a watermark flushed before it', () => {
    const h = twoInputHarness(matching);
    h.watermark(30).watermark2(20).push(idle());
    expect(h.takeOutput()).toStrictEqual([wm(20)]); // input 1 idle: input 2's 20 is the minimum
    h.push2(idle());
    expect(h.takeOutput()).toStrictEqual([wm(30), idle()]);
    h.push(active());
    expect(h.takeOutput()).toStrictEqual([active()]);
  });

  it('barriers are aligned: the first input to deliver n waits; the snapshot is taken once both did, then n goes out once', () => {
    const h = twoInputHarness(matching);
    h.record({ id: 'a', amount: 1 }, 1, 'a').barrier(1);
    h.record({ id: 'b', amount: 2 }, 2, 'b'); // held back behind barrier 1
    expect(h.keys()).toStrictEqual(['a']);
    expect(h.output()).toStrictEqual([]);
    h.record2({ order: 'b', paid: 2 }, 3, 'b'); // input 2 has not delivered barrier 1: goes through
    expect(h.keys()).toStrictEqual(['a', 'b']);
    h.barrier2(1);
    expect(h.output()).toStrictEqual([ckpt(1), rec('paid b 2/2', 2, 'b')]);
    expect(h.keys()).toStrictEqual(['a']);
  });

  it('ends after both inputs ended: every event-time timer fires at MAX, MAX goes out once, then complete', () => {
    const h = twoInputHarness(matching);
    h.record({ id: 'a', amount: 1 }, 10, 'a').complete();
    expect(h.completed).toBe(false);
    expect(h.output()).toStrictEqual([]);
    h.record2({ order: 'z', paid: 1 }, 11, 'z').complete2();
    expect(h.output()).toStrictEqual([rec(`unpaid a at 110 (wm ${MAX_WATERMARK})`, 110, 'a'), wm(MAX_WATERMARK)]);
    expect(h.completed).toBe(true);
  });

  it('restores state and timers: a restore at every cut emits what the uninterrupted run emits', () => {
    type H = ReturnType<typeof twoInputHarness<Order, Payment, string, string>>;
    const steps: ((h: H) => void)[] = [
      (h) => h.record({ id: 'a', amount: 1 }, 10, 'a'),
      (h) => h.record2({ order: 'b', paid: 3 }, 12, 'b'),
      (h) => h.watermark(40).watermark2(40),
      (h) => h.record({ id: 'c', amount: 4 }, 45, 'c'),
      (h) => h.record({ id: 'b', amount: 3 }, 50, 'b'),
      (h) => h.watermark(120).watermark2(115),
      (h) => h.record2({ order: 'c', paid: 4 }, 130, 'c'),
      (h) => h.complete().complete2(),
    ];
    const whole = twoInputHarness(matching);
    for (const step of steps) step(whole);
    const expected = whole.output();
    expect(expected).toStrictEqual([
      wm(40),
      rec('paid b 3/3', 50, 'b'),
      rec('unpaid a at 110 (wm 115)', 110, 'a'),
      wm(115),
      rec('paid c 4/4', 130, 'c'), // its timer at 145 still fires at MAX, and finds no order
      wm(MAX_WATERMARK),
    ]);
    for (let cut = 0; cut <= steps.length; cut++) {
      const before = twoInputHarness(matching);
      for (const step of steps.slice(0, cut)) step(before);
      const after = before.restore(before.snapshot());
      for (const step of steps.slice(cut)) step(after);
      expect([...before.output(), ...after.output()], `cut after step ${cut}`).toStrictEqual(expected);
    }
  });

  it('an unkeyed record on either input fails with InvalidKeyError naming the operator; a throwing handler with UserFunctionError', () => {
    const h = twoInputHarness(matching);
    h.push2({ kind: 'record', value: { order: 'x', paid: 1 }, timestamp: 1, key: undefined as unknown as string });
    expect(h.error).toBeInstanceOf(InvalidKeyError);
    expect(String((h.error as Error).message)).toMatch(/^match: key undefined of \{"order":"x","paid":1\} is not a valid key/);
    expect(String((h.error as Error).message)).toContain('put keyBy(...) before coProcess (on both inputs)');
    const bad = twoInputHarness<number, number, string, number>((r$) =>
      coProcess<number, number, string, number>(r$, {
        name: 'boom',
        onElement1() {},
        onElement2(v) {
          throw new Error(`no ${v}`);
        },
      }),
    );
    bad.record(1, 1, 'k').record2(2, 2, 'k');
    expect(bad.error).toBeInstanceOf(UserFunctionError);
    expect(String((bad.error as Error).message)).toContain('no 2');
  });

  it('a record fed into an input while another record\'s outputs go out waits its turn: it never runs under the other\'s key (§10.1 rule 1)', () => {
    const left$ = new Subject<StreamElement<string, string>>();
    const right$ = new Subject<StreamElement<string, string>>();
    const log: string[] = [];
    let fed = false;
    left$
      .pipe(
        coProcess<string, string, string, string>(right$, {
          name: 'feedback',
          onElement1(v, ctx) {
            ctx.emit(`1:${v}@${ctx.key} first`);
            ctx.emit(`1:${v}@${ctx.key} second`);
          },
          onElement2(v, ctx) {
            ctx.emit(`2:${v}@${ctx.key}`);
          },
        }),
      )
      .subscribe((e) => {
        if (e.kind !== 'record') return;
        log.push(e.value);
        if (!fed) {
          fed = true;
          right$.next({ kind: 'record', value: 'fb', timestamp: 5, key: 'other' });
        }
      });
    left$.next({ kind: 'record', value: 'a', timestamp: 1, key: 'k' });
    expect(log).toStrictEqual(['1:a@k first', '1:a@k second', '2:fb@other']);
  });

  it('a value that is not a stream element on the second input fails the output naming the operator', () => {
    const h = twoInputHarness(matching);
    h.push2(42 as unknown as StreamElement<Payment, string>);
    expect(String((h.error as Error).message)).toContain('match');
  });
});

describe('coProcess: a processing-time firing whose output feeds its inputs', () => {
  // the output of the timer at 10 pushes barrier 1 on both inputs, then watermark 50 on both: the snapshot taken at
  // the barrier must hold the inputs' watermarks from before it (docs/SEMANTICS.md §12), so that a restore replaying
  // what came after the barrier gives the uninterrupted run's output
  function build(restore?: Map<string, OperatorSnapshot[]>) {
    const clock = new ManualScheduler(0);
    const left = new Subject<StreamElement<string, string>>();
    const right = new Subject<StreamElement<string, string>>();
    const snapshots = new Map<string, OperatorSnapshot[]>();
    const out: string[] = [];
    let feedback = true;
    const runtime = new PipelineRuntime({
      owner: 'test',
      scheduler: clock,
      checkpointed: true,
      ...(restore !== undefined ? { restore } : {}),
      onBarrier: (instance, id) => {
        snapshots.set(instance.name, [instance.snapshot()]);
        out.push(`snapshot ${id}`);
      },
    });
    const op = coProcess<string, string, string, string>(right, {
      name: 'co',
      onElement1(v, ctx) {
        if (v === 'ptimer') ctx.timers.registerProcessingTime(10);
        ctx.timers.registerEventTime(40);
      },
      onElement2() {},
      onTimer(ts, ctx) {
        ctx.emit(`${ctx.timeDomain}@${ts}`);
      },
    });
    runtime.subscribe(left.pipe(op), {
      next: (e: StreamElement<string, string>) => {
        out.push(e.kind === 'record' ? e.value : e.kind === 'watermark' ? `W ${e.timestamp}` : e.kind);
        if (feedback && e.kind === 'record' && e.value === 'processing@10') {
          feedback = false;
          left.next(barrier(1));
          right.next(barrier(1));
          left.next(watermark(50));
          right.next(watermark(50));
        }
      },
      error: (e: unknown) => void out.push(`error ${String(e)}`),
      complete: () => void out.push('complete'),
    });
    return { clock, left, right, snapshots, out, runtime };
  }

  it('the snapshot at the fed-back barrier holds the watermarks from before it: a restore replaying what came after gives the same output', () => {
    const a = build();
    a.runtime.run(() => a.left.next(rec('ptimer', 1, 'k')));
    a.clock.advanceTo(20);
    expect(a.out).toStrictEqual(['processing@10', 'snapshot 1', 'barrier', 'event@40', 'W 50']);
    const b = build(a.snapshots);
    b.runtime.run(() => {
      b.left.next(watermark(50));
      b.right.next(watermark(50));
    });
    expect(b.out).toStrictEqual(['event@40', 'W 50']);
  });
});
