// mergeStreams / union / unionWith: Flink's StatusWatermarkValve and barrier alignment over N inputs
// (docs/SEMANTICS.md §2.4, §8).
import fc from 'fast-check';
import { merge, of, Subject, Subscriber, type Observable } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  boundedOutOfOrderness,
  ConfigurationError,
  count,
  MAX_WATERMARK,
  mergeStreams,
  MIN_WATERMARK,
  NotAStreamElementError,
  tumblingWindows,
  union,
  type MergeOptions,
  type StreamElement,
  type StreamRecord,
} from '../src/index.js';
import { aggregate, eventTime, keyBy, unionWith, window } from '../operators/index.js';
import { active, ckpt, idle, rec, wm } from '../testing/index.js';
import { marbles } from './support/marbles.js';
import { fmt } from './support/windows.js';

type El = StreamElement<string>;

/** `n` subject inputs merged; the output as `fmt` lines, with `complete` and `error: <message>` at the end. */
function rig(n: number, options?: MergeOptions) {
  const inputs = Array.from({ length: n }, () => new Subject<El>());
  const out: string[] = [];
  const errors: unknown[] = [];
  const merged = options === undefined ? mergeStreams(...inputs) : mergeStreams(...inputs, options);
  merged.subscribe({
    next: (e) => out.push(fmt(e)),
    error: (e: unknown) => {
      errors.push(e);
      out.push(`error: ${(e as Error).message}`);
    },
    complete: () => out.push('complete'),
  });
  return { inputs, out, errors };
}

const r = (v: string, ts = 0) => rec(v, ts);
const push = (input: Subject<El>, ...elements: El[]) => elements.forEach((e) => input.next(e));

describe('mergeStreams: watermarks and status through the valve (docs/SEMANTICS.md §2.4)', () => {
  it('passes records as they come; the watermark is the minimum over the inputs and never decreases', () => {
    const { inputs: [a, b], out } = rig(2);
    push(a!, r('a1', 1), wm(5));
    push(b!, r('b1', 2), wm(3), wm(4));
    a!.next(wm(4)); // a regression of input a: ignored
    b!.next(wm(10));
    a!.next(wm(12));
    expect(out).toStrictEqual(['"a1" @1', '"b1" @2', 'W 3', 'W 4', 'W 5', 'W 10']);
  });

  it('leaves an idle input out; all idle flushes the maximum and turns idle; an input re-joins only once caught up', () => {
    const { inputs: [a, b], out } = rig(2);
    a!.next(wm(3));
    b!.next(wm(8));
    b!.next(idle()); // b is not at the minimum: nothing
    a!.next(idle()); // all idle: flush 8, then idle
    a!.next(active());
    a!.next(wm(5)); // a is behind the output (8): unaligned
    push(b!, active(), wm(12));
    a!.next(wm(9)); // still behind (12): neither holds back nor pulls back the output
    a!.next(wm(12)); // caught up: aligned again
    b!.next(wm(20)); // a holds the output back now
    a!.next(wm(15));
    expect(out).toStrictEqual(['W 3', 'W 8', 'idle', 'active', 'W 12', 'W 15']);
  });

  it('completes only when every input completed; a completed input counts as MAX_WATERMARK', () => {
    const { inputs: [a, b, c], out } = rig(3);
    a!.next(wm(5));
    b!.next(wm(7));
    c!.next(wm(6));
    a!.complete();
    b!.complete();
    expect(out).toStrictEqual(['W 5', 'W 6']);
    c!.next(r('c1', 9));
    c!.complete();
    expect(out).toStrictEqual(['W 5', 'W 6', '"c1" @9', 'W MAX', 'complete']);
  });

  it('completes at once with no inputs', () => {
    const out: string[] = [];
    mergeStreams().subscribe({ complete: () => out.push('complete') });
    expect(out).toStrictEqual(['complete']);
  });
});

describe('mergeStreams: barriers (docs/SEMANTICS.md §8)', () => {
  /** The same interleaving for both modes. */
  function feed([a, b]: Subject<El>[]) {
    push(a!, r('a1'), ckpt(1), r('a2'), wm(10), r('a3'));
    push(b!, r('b1'), wm(7), ckpt(1), r('b2'));
    a!.next(r('a4'));
  }

  it('exactly-once: holds back what follows barrier n on an input until n arrived on every input, then releases it in arrival order', () => {
    const { inputs, out } = rig(2);
    feed(inputs);
    expect(out).toStrictEqual(['"a1" @0', '"b1" @0', 'barrier 1', '"a2" @0', 'W 7', '"a3" @0', '"b2" @0', '"a4" @0']);
  });

  it('at-least-once: records pass; only the barrier waits and leaves once', () => {
    const { inputs, out } = rig(2, { mode: 'at-least-once' });
    feed(inputs);
    expect(out).toStrictEqual(['"a1" @0', '"a2" @0', '"a3" @0', '"b1" @0', 'W 7', 'barrier 1', '"b2" @0', '"a4" @0']);
  });

  it('at-least-once: a barrier whose input ended before the others delivered it still leaves, before the end', () => {
    const { inputs: [a, b], out } = rig(2, { mode: 'at-least-once' });
    a!.next(ckpt(1));
    a!.complete();
    b!.next(r('x', 1));
    b!.complete();
    expect(out).toStrictEqual(['"x" @1', 'W MAX', 'barrier 1', 'complete']);
  });

  it('a consumer feeding an input while a watermark and a status go out: what it feeds comes after them, in order', () => {
    const [a, b] = [new Subject<El>(), new Subject<El>()];
    let fed = false;
    const merged = mergeStreams(a, b);
    const seen: string[] = [];
    merged.subscribe((e) => {
      seen.push(fmt(e));
      if (!fed && e.kind === 'watermark' && e.timestamp === 5) {
        fed = true;
        a!.complete();
      }
    });
    push(a, wm(5));
    push(b, wm(3));
    a.next(idle());
    b.next(idle());
    // all idle: the maximum (5) is flushed, then idle; a's end, fed from inside, comes after both: a turns active
    // again, then MAX — once
    expect(seen).toStrictEqual(['W 3', 'W 5', 'idle', 'active', 'W MAX']);
  });

  it('a consumer feeding an input while a record goes out: what it feeds comes after that record\'s handling, not inside it', () => {
    const [a, b] = [new Subject<El>(), new Subject<El>()];
    const seen: string[] = [];
    let depth = 0;
    mergeStreams(a, b).subscribe((e) => {
      depth++;
      seen.push(`${fmt(e)} depth ${depth}`);
      if (e.kind === 'record' && e.value === 'x') b.next(r('fed', 2));
      seen.push(`done ${fmt(e)}`);
      depth--;
    });
    push(a, r('x', 1), r('y', 3));
    expect(seen).toStrictEqual(['"x" @1 depth 1', 'done "x" @1', '"fed" @2 depth 1', 'done "fed" @2', '"y" @3 depth 1', 'done "y" @3']);
  });

  it('a held barrier n+1 blocks its input again when released', () => {
    const { inputs: [a, b], out } = rig(2);
    push(a!, ckpt(1), r('a1'), ckpt(2), r('a2'));
    b!.next(ckpt(1));
    expect(out).toStrictEqual(['barrier 1', '"a1" @0']);
    push(b!, r('b1'), ckpt(2));
    expect(out).toStrictEqual(['barrier 1', '"a1" @0', '"b1" @0', 'barrier 2', '"a2" @0']);
  });

  it('an input completing while others wait counts as having delivered every pending barrier', () => {
    const { inputs: [a, b], out } = rig(2);
    push(a!, r('a1'), ckpt(1), r('a2'));
    b!.next(r('b1'));
    b!.complete();
    expect(out).toStrictEqual(['"a1" @0', '"b1" @0', 'barrier 1', '"a2" @0']);
    a!.next(ckpt(2)); // the only input left: nothing to wait for
    a!.next(r('a3'));
    a!.complete();
    expect(out).toStrictEqual(['"a1" @0', '"b1" @0', 'barrier 1', '"a2" @0', 'barrier 2', '"a3" @0', 'W MAX', 'complete']);
  });

  it('a blocked input that completes: its end is held with its records, after them', () => {
    const { inputs: [a, b], out } = rig(2);
    push(a!, ckpt(1), r('a1'), wm(4));
    a!.complete();
    b!.next(wm(2));
    expect(out).toStrictEqual([]);
    b!.next(ckpt(1));
    expect(out).toStrictEqual(['barrier 1', '"a1" @0', 'W 2']);
    b!.complete();
    expect(out).toStrictEqual(['barrier 1', '"a1" @0', 'W 2', 'W MAX', 'complete']);
  });

  it('keeps arrival order when a consumer pushes into an input while held elements are released', () => {
    const a = new Subject<El>();
    const b = new Subject<El>();
    const out: string[] = [];
    mergeStreams(a, b).subscribe((e) => {
      out.push(fmt(e));
      if (e.kind === 'barrier') a.next(r('on barrier')); // a is still blocked: held behind a1
      if (e.kind === 'record' && e.value === 'a1') a.next(r('on a1')); // during the release: after a2
    });
    push(a, ckpt(1), r('a1'), r('a2'));
    b.next(ckpt(1));
    expect(out).toStrictEqual(['barrier 1', '"a1" @0', '"a2" @0', '"on barrier" @0', '"on a1" @0']);
  });

  it('elements fed in while the release after a barrier is going out wait behind those fed in earlier: order within an input, nothing lost, exactly-once', () => {
    // (each fed element is taken in its turn from one queue: a release that starts while earlier arrivals wait does
    // not take later ones ahead of them)
    const feed = (onOut: (e: El, a: Subject<El>, b: Subject<El>) => void, drive: (a: Subject<El>, b: Subject<El>) => void): string[] => {
      const a = new Subject<El>();
      const b = new Subject<El>();
      const out: string[] = [];
      mergeStreams(a, b).subscribe({ next: (e) => (out.push(fmt(e)), onOut(e, a, b)), complete: () => out.push('complete') });
      drive(a, b);
      return out;
    };
    // b's y was fed before z: it comes out before z
    expect(
      feed(
        (e, _a, b) => {
          if (e.kind === 'record' && e.value === 'x') push(b, ckpt(1), r('y', 2));
          if (e.kind === 'record' && e.value === 'r0') b.next(r('z', 3));
        },
        (a, b) => {
          push(a, ckpt(1), r('r0', 1));
          b.next(r('x', 1));
        },
      ),
    ).toStrictEqual(['"x" @1', 'barrier 1', '"r0" @1', '"y" @2', '"z" @3']);
    // a's y was fed before a ended: it comes out, then the end
    expect(
      feed(
        (e, a, b) => {
          if (e.kind === 'record' && e.value === 'x') push(b, ckpt(1)), a.next(r('y', 5));
          if (e.kind === 'record' && e.value === 'r0') a.complete(), b.complete();
        },
        (a, b) => {
          push(a, ckpt(1), r('r0', 1));
          b.next(r('x', 1));
        },
      ),
    ).toStrictEqual(['"x" @1', 'barrier 1', '"r0" @1', '"y" @5', 'W MAX', 'complete']);
    // a record fed into a after a's barrier 2 comes out after barrier 2
    expect(
      feed(
        (e, a, b) => {
          if (e.kind === 'record' && e.value === 'x') b.next(ckpt(1)), a.next(ckpt(2));
          if (e.kind === 'record' && e.value === 'r0') a.next(r('after 2', 9));
        },
        (a, b) => {
          push(a, ckpt(1), r('r0', 1));
          push(b, r('x', 1), ckpt(2));
        },
      ),
    ).toStrictEqual(['"x" @1', 'barrier 1', '"r0" @1', 'barrier 2', '"after 2" @9']);
  });

  it('elements left waiting when handling one threw out of the merge go before anything that arrives later', () => {
    const a = new Subject<El>();
    const b = new Subject<El>();
    const out: string[] = [];
    let thrown = false;
    // a Subscriber whose destination throws: RxJS passes the throw through to the merge (a SafeSubscriber would report it)
    mergeStreams(a, b).subscribe(
      new Subscriber<El>({
        next: (e) => {
          out.push(fmt(e));
          if (e.kind === 'record' && e.value === 'x') a.next(r('y')), b.next(r('z'));
          if (e.kind === 'record' && e.value === 'y' && !thrown) {
            thrown = true;
            throw new Error('consumer failed on y');
          }
        },
        error: () => undefined,
        complete: () => undefined,
      }),
    );
    expect(() => b.next(r('x'))).toThrow('consumer failed on y');
    a.next(r('w'));
    expect(out).toStrictEqual(['"x" @0', '"y" @0', '"z" @0', '"w" @0']);
  });

  it('held elements left when handling a released one threw out of the merge go next, before what arrives later and on their side of the next barrier', () => {
    const a = new Subject<El>();
    const b = new Subject<El>();
    const out: string[] = [];
    mergeStreams(a, b).subscribe(
      new Subscriber<El>({
        next: (e) => {
          out.push(fmt(e));
          if (e.kind === 'record' && e.value === 'r10') throw new Error('consumer failed on r10');
        },
        error: () => undefined,
        complete: () => undefined,
      }),
    );
    push(b, ckpt(1), r('r10'), r('r11'), r('r12'));
    expect(() => a.next(ckpt(1))).toThrow('consumer failed on r10');
    b.next(r('r13'));
    push(a, ckpt(2));
    push(b, ckpt(2));
    expect(out).toStrictEqual(['barrier 1', '"r10" @0', '"r11" @0', '"r12" @0', '"r13" @0', 'barrier 2']);
  });

  it('property: with a consumer feeding the inputs as elements go out, the records of each input come out in order, all of them, between the barriers they were fed between', () => {
    type Item = { readonly kind: 'r'; readonly id: string } | { readonly kind: 'b'; readonly id: number } | { readonly kind: 'end' };
    /** Per input: records and ascending barrier ids, then its end. */
    const script = (k: number) =>
      fc.array(fc.oneof(fc.constant<'r'>('r'), fc.integer({ min: 1, max: 2 })), { maxLength: 10 }).map((steps) => {
        let b = 0;
        const items = steps.map((s, j): Item => (s === 'r' ? { kind: 'r', id: `${k}.${j}` } : { kind: 'b', id: (b += s) }));
        return [...items, { kind: 'end' } as Item];
      });
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 3 }).chain((n) =>
          fc.tuple(
            fc.tuple(...Array.from({ length: n }, (_, i) => script(i))),
            // per output element, the inputs the consumer feeds one item of
            fc.array(fc.array(fc.nat({ max: n - 1 }), { maxLength: 2 }), { maxLength: 80 }),
            fc.array(fc.nat({ max: n - 1 }), { maxLength: 40 }),
          ),
        ),
        ([scripts, feeds, schedule]) => {
          const n = scripts.length;
          const inputs = scripts.map(() => new Subject<El>());
          const next = scripts.map(() => 0);
          /** Per input, how many barriers it had delivered when each of its records was fed. */
          const epochOf = new Map<string, number>();
          const delivered = scripts.map(() => 0);
          const feed = (i: number) => {
            const item = scripts[i]![next[i]!];
            if (item === undefined) return;
            next[i]!++;
            if (item.kind === 'r') {
              epochOf.set(item.id, delivered[i]!);
              inputs[i]!.next(r(item.id));
            } else if (item.kind === 'b') {
              delivered[i] = item.id;
              inputs[i]!.next(ckpt(item.id));
            } else inputs[i]!.complete();
          };
          const records: string[][] = scripts.map(() => []);
          const problems: string[] = [];
          let lastBarrier = 0;
          let completed = false;
          let outputs = 0;
          mergeStreams(...inputs).subscribe({
            next: (e) => {
              if (completed) problems.push(`${fmt(e)} after the end`);
              if (e.kind === 'record') {
                const i = Number(e.value.split('.')[0]);
                records[i]!.push(e.value);
                // fed after its input's barrier m: after m left; before m + 1 (which its input delivers after it)
                const epoch = epochOf.get(e.value) as number;
                if (lastBarrier < epoch) problems.push(`${e.value} (fed after barrier ${epoch}) before barrier ${epoch}`);
              } else if (e.kind === 'barrier') {
                if (e.checkpointId <= lastBarrier) problems.push(`barrier ${e.checkpointId} after ${lastBarrier}`);
                for (const [id, epoch] of epochOf) {
                  const i = Number(id.split('.')[0]);
                  if (epoch < e.checkpointId && !records[i]!.includes(id) && delivered[i]! >= e.checkpointId) problems.push(`barrier ${e.checkpointId} before ${id}`);
                }
                lastBarrier = e.checkpointId;
              }
              for (const i of feeds[outputs++] ?? []) feed(i);
            },
            complete: () => (completed = true),
          });
          for (const i of schedule) feed(i);
          for (let i = 0; i < n; i++) while (next[i]! < scripts[i]!.length) feed(i);
          expect(problems).toStrictEqual([]);
          expect(records).toStrictEqual(scripts.map((s) => s.flatMap((item) => (item.kind === 'r' ? [item.id] : []))));
          expect(completed).toBe(true);
          expect(lastBarrier).toBe(Math.max(0, ...delivered));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('releases the held elements of several inputs in their arrival order across inputs', () => {
    const { inputs: [a, b, c], out } = rig(3);
    push(a!, ckpt(1), r('a1'));
    push(b!, ckpt(1), r('b1'));
    push(a!, r('a2'));
    push(c!, r('c1'), ckpt(1), r('c2'));
    expect(out).toStrictEqual(['"c1" @0', 'barrier 1', '"a1" @0', '"b1" @0', '"a2" @0', '"c2" @0']);
  });

  it('an input many barriers ahead: each barrier releases its stretch, the rest stays held; two such inputs interleave by arrival', () => {
    // (a queue per input: its held elements stay where they are when it blocks again, across 3 000 of them)
    const { inputs: [a, b, c], out } = rig(3);
    const expected: string[] = [];
    for (let n = 1; n <= 30; n++) {
      push(a!, ckpt(n));
      for (let j = 0; j < 100; j++) push(a!, r(`a${n}.${j}`));
      push(c!, ckpt(n), r(`c${n}`));
    }
    expect(out).toStrictEqual([]);
    for (let n = 1; n <= 30; n++) {
      b!.next(ckpt(n));
      expected.push(`barrier ${n}`);
      for (let j = 0; j < 100; j++) {
        expected.push(`"a${n}.${j}" @0`);
        if (j === 99) expected.push(`"c${n}" @0`);
      }
      expect(out).toStrictEqual(expected);
    }
  });

  it('a barrier that already left is dropped', () => {
    const { inputs: [a, b], out } = rig(2);
    a!.next(ckpt(1));
    b!.next(ckpt(1));
    push(a!, ckpt(1), r('a1'));
    expect(out).toStrictEqual(['barrier 1', '"a1" @0']);
  });

  it('aligns synchronous inputs (each completes before the next is subscribed)', () => {
    const a$: Observable<El> = of(r('a1', 1), ckpt(1), r('a2', 2), wm(2), wm(MAX_WATERMARK));
    const b$: Observable<El> = of(r('b1', 1), wm(1), ckpt(1), r('b2', 3));
    const out: string[] = [];
    union(a$, b$).subscribe({ next: (e) => out.push(fmt(e)), complete: () => out.push('complete') });
    // a's watermarks are held behind its barrier, so b's W 1 does not advance the output until a's W 2 is released
    expect(out).toStrictEqual(['"a1" @1', '"b1" @1', 'barrier 1', '"a2" @2', 'W 1', '"b2" @3', 'W MAX', 'complete']);
  });
});

describe('mergeStreams: errors', () => {
  it('fails at once with an input\'s error, records held or not, and unsubscribes the other inputs', () => {
    const { inputs: [a, b], out, errors } = rig(2);
    const boom = new Error('boom');
    push(a!, ckpt(1), r('a1'));
    b!.error(boom);
    expect(out).toStrictEqual(['error: boom']);
    expect(errors[0]).toBe(boom);
    expect(a!.observed).toBe(false);
  });

  it('fails with NotAStreamElementError naming union for a value that is not a stream element', () => {
    const inputs = [new Subject<unknown>(), new Subject<unknown>()];
    const errors: unknown[] = [];
    mergeStreams(...(inputs as unknown as Observable<El>[])).subscribe({ error: (e: unknown) => errors.push(e) });
    inputs[1]!.next(42);
    expect(errors[0]).toBeInstanceOf(NotAStreamElementError);
    expect((errors[0] as Error).message).toContain('union: received 42, which is not a stream element');
    inputs[0]!.next(null);
    expect(errors).toHaveLength(1);
  });

  it('refuses an array of streams and unknown options, instead of merging nothing', () => {
    expect(() => mergeStreams([of<El>(), of<El>()] as unknown as Observable<El>)).toThrow(
      'mergeStreams: got an array; pass the streams as separate arguments: mergeStreams(a$, b$) or mergeStreams(...streams).',
    );
    expect(() => mergeStreams(of<El>(), { mod: 'at-least-once' } as unknown as MergeOptions)).toThrow(
      `mergeStreams: unknown option(s) "mod" in {"mod":"at-least-once"}; the only option is mode: 'exactly-once' | 'at-least-once'.`,
    );
  });

  it('refuses an input that is not an Observable and an unknown mode', () => {
    expect(() => mergeStreams(of<El>(), 5 as unknown as Observable<El>)).toThrow(ConfigurationError);
    expect(() => mergeStreams(of<El>(), 5 as unknown as Observable<El>)).toThrow('mergeStreams: every input must be an Observable of stream elements, got 5');
    // an object last that is not plain is an input, not the options (it was taken for empty options, its stream dropped)
    for (const [last, shown] of [[Promise.resolve(r('p')), 'Promise {}'], [new Map(), 'Map {}']] as const) {
      expect(() => mergeStreams(of<El>(), last as unknown as Observable<El>)).toThrow(`mergeStreams: every input must be an Observable of stream elements, got ${shown}`);
    }
    expect(() => unionWith(of<El>(), { mode: 'exactly-twice' } as unknown as MergeOptions)).toThrow(
      "unionWith: mode must be 'exactly-once' or 'at-least-once', got \"exactly-twice\".",
    );
  });
});

describe('types', () => {
  it('the merged stream carries the union of the inputs\' value and key types, with or without options', () => {
    const nums = new Subject<StreamElement<number, string>>();
    const flags = new Subject<StreamElement<boolean, string>>();
    expectTypeOf(mergeStreams(nums, flags)).toEqualTypeOf<Observable<StreamElement<number | boolean, string>>>();
    expectTypeOf(union(nums, flags, { mode: 'at-least-once' })).toEqualTypeOf<Observable<StreamElement<number | boolean, string>>>();
    expectTypeOf(nums.pipe(unionWith(flags))).toEqualTypeOf<Observable<StreamElement<number | boolean, string>>>();
  });
});

describe('unionWith', () => {
  it('is mergeStreams with the source first, options last', () => {
    const a = new Subject<El>();
    const b = new Subject<El>();
    const out: string[] = [];
    a.pipe(unionWith(b, { mode: 'at-least-once' })).subscribe((e) => out.push(fmt(e)));
    a.next(ckpt(1));
    a.next(r('a1'));
    a.next(wm(3));
    b.next(wm(2));
    b.next(ckpt(1));
    expect(out).toStrictEqual(['"a1" @0', 'W 2', 'barrier 1']);
  });
});

describe('mergeStreams: marbles', () => {
  it('min watermark, idleness and an aligned barrier', marbles((m) => {
    const values = { a: r('a'), b: r('b'), c: r('c'), d: r('d'), w: wm(5), x: wm(3), y: wm(9), k: ckpt(1), i: idle(), M: wm(MAX_WATERMARK) };
    const a$ = m.cold<El>('a 9ms w 9ms k 9ms c 19ms y 9ms |', values);
    const b$ = m.cold<El>('5ms b 9ms x 9ms d 4ms k 24ms i 4ms |', values);
    // a's c waits behind its barrier until b's; b idle leaves a's 9 as the minimum; a's end is MAX (b is idle)
    m.expect(mergeStreams(a$, b$)).toBeObservable('a 4ms b 9ms x 9ms d 4ms (kc) 21ms y 4ms (M|)', values);
  }));
});

describe('mergeStreams: property against a batch oracle', () => {
  type Op = { readonly kind: 'r'; readonly id: string } | { readonly kind: 'w'; readonly ts: number };

  /** Per input: records and ascending watermarks (steps ≥ 0, so repeats occur). */
  const inputOps = (k: number) =>
    fc.array(fc.oneof(fc.constant<'r'>('r'), fc.nat({ max: 5 })), { maxLength: 12 }).map((steps) => {
      let ts = 0;
      return steps.map((s, j): Op => {
        if (s === 'r') return { kind: 'r', id: `${k}.${j}` };
        ts += s;
        return { kind: 'w', ts };
      });
    });

  it('emits the running minimum over the inputs\' last watermarks (strict increases only) and every record once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((k) =>
          fc.tuple(
            fc.tuple(...Array.from({ length: k }, (_, i) => inputOps(i))),
            fc.array(fc.nat({ max: k - 1 }), { maxLength: 60 }),
            fc.shuffledSubarray(Array.from({ length: k }, (_, i) => i), { minLength: k, maxLength: k }),
          ),
        ),
        ([ops, schedule, endOrder]) => {
          const k = ops.length;
          const inputs = ops.map(() => new Subject<El>());
          const watermarks: number[] = [];
          const records: string[] = [];
          let completed = false;
          mergeStreams(...inputs).subscribe({
            next: (e) => (e.kind === 'record' ? records.push(e.value) : e.kind === 'watermark' && watermarks.push(e.timestamp)),
            complete: () => (completed = true),
          });
          // the oracle: each input's last watermark; the output is their minimum whenever it strictly increases
          const last = ops.map(() => MIN_WATERMARK);
          const expected: number[] = [];
          const advance = (i: number, ts: number) => {
            last[i] = Math.max(last[i] as number, ts);
            const min = Math.min(...last);
            if (min > (expected.at(-1) ?? MIN_WATERMARK)) expected.push(min);
          };
          const next = ops.map(() => 0);
          const deliver = (i: number) => {
            const op = ops[i]![next[i]!++]!;
            if (op.kind === 'r') inputs[i]!.next(r(op.id));
            else {
              inputs[i]!.next(wm(op.ts));
              advance(i, op.ts);
            }
          };
          for (const i of schedule) if (next[i]! < ops[i]!.length) deliver(i);
          for (let i = 0; i < k; i++) while (next[i]! < ops[i]!.length) deliver(i);
          for (const i of endOrder) {
            inputs[i]!.complete();
            advance(i, MAX_WATERMARK);
          }
          expect(watermarks).toStrictEqual(expected);
          expect(records.sort()).toStrictEqual(ops.flatMap((o) => o.flatMap((op) => (op.kind === 'r' ? [op.id] : []))).sort());
          expect(completed).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the motivating case: a slow and a fast event-time stream, merged, then a tumbling window', () => {
  type Ev = { readonly at: number; readonly from: 'fast' | 'slow' };

  /**
   * fast: events every 250 ms of event time; slow: every 1 000 ms, each delivered only after fast reached 2 000 ms
   * later (the rest after fast ended). Returns the window counts and the records the window found late.
   */
  function run(combine: (fast$: Observable<El2>, slow$: Observable<El2>) => Observable<El2>) {
    const fast = new Subject<Ev>();
    const slow = new Subject<Ev>();
    const stamp = eventTime((e: Ev) => e.at, boundedOutOfOrderness(0, { interval: 0 }));
    const late: StreamRecord<Ev, string>[] = [];
    const counts: string[] = [];
    combine(fast.pipe(stamp), slow.pipe(stamp))
      .pipe(keyBy(() => 'all'), window(tumblingWindows(1_000), { lateData: { next: (l) => late.push(l), error: () => {}, complete: () => {} } }), aggregate(count()))
      .subscribe((e) => e.kind === 'record' && counts.push(`[${e.value.window.start},${e.value.window.end}) ${e.value.value}`));
    for (let t = 0; t < 6_000; t += 250) {
      fast.next({ at: t, from: 'fast' });
      if (t >= 2_000 && t % 1_000 === 0) slow.next({ at: t - 2_000, from: 'slow' });
    }
    fast.complete();
    slow.next({ at: 4_000, from: 'slow' });
    slow.next({ at: 5_000, from: 'slow' });
    slow.complete();
    return { counts, late: late.map((l) => `${l.value.from} ${l.timestamp}`) };
  }
  type El2 = StreamElement<Ev, unknown>;

  it('mergeStreams drops nothing: every window counts its 4 fast and 1 slow record', () => {
    const { counts, late } = run((f, s) => mergeStreams(f, s));
    expect(late).toStrictEqual([]);
    expect(counts).toStrictEqual(['[0,1000) 5', '[1000,2000) 5', '[2000,3000) 5', '[3000,4000) 5', '[4000,5000) 5', '[5000,6000) 5']);
  });

  it('RxJS merge lets the fast stream\'s watermark run ahead: every slow record is late', () => {
    const { counts, late } = run((f, s) => merge(f, s));
    expect(late).toStrictEqual(['slow 0', 'slow 1000', 'slow 2000', 'slow 3000', 'slow 4000', 'slow 5000']);
    expect(counts).toStrictEqual(['[0,1000) 4', '[1000,2000) 4', '[2000,3000) 4', '[3000,4000) 4', '[4000,5000) 4', '[5000,6000) 4']);
  });
});
