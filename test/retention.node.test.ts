// What stateful operators keep of keys that are gone (docs/ARCHITECTURE.md, "One record, end to end"): a stream of ever
// new keys — sessions, requests, devices that come and go — must not grow memory by the keys it has seen once their
// windows, timers or join intervals are over. Keys kept by value (strings and numbers here) are no object a
// FinalizationRegistry can watch: the memory in use after full collections is (test/windows.retention.node.test.ts
// has the slicing path's cases).
import { Subject, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  count,
  countTrigger,
  eventTimeTrigger,
  record,
  sessionWindows,
  tumblingWindows,
  valueState,
  watermark,
  type StreamElement,
} from '../src/index.js';
import { aggregate, coGroup, intervalJoin, process, window, windowJoin } from '../operators/index.js';
import { heapAfterGc } from './support/heap.js';

type In = StreamElement<number, string | number>;
/** A pipeline over the left input (and, for two-input operators, the right one). */
type Case = (left: Observable<In>, right: Observable<In>) => Observable<StreamElement<unknown, unknown>>;

const WINDOWS = 60;
const KEYS = 5_000;
/** Window w's keys are new (`key w·i`, or the number 10 000 w + i), each with one element (both inputs: one each) in [10 w, 10 w + 9]. */
const keyOf = (kind: 'string' | 'number', w: number, i: number): string | number => (kind === 'string' ? `key ${w}·${i}` : w * 10_000 + i);

const cases: readonly (readonly [string, Case, number])[] = [
  ['sessions (gap 3)', (l) => l.pipe(window<number, string | number>(sessionWindows(3)), aggregate(count())), WINDOWS * KEYS],
  [
    'sessions on the general operator (a trigger that is not the built-in one)',
    (l) => l.pipe(window<number, string | number>(sessionWindows(3), { trigger: { ...eventTimeTrigger<number>() } }), aggregate(count())),
    WINDOWS * KEYS,
  ],
  ['tumbling 10 on the general operator (countTrigger)', (l) => l.pipe(window<number, string | number>(tumblingWindows(10), { trigger: countTrigger(1) }), aggregate(count())), WINDOWS * KEYS],
  [
    'process: a value per key, cleared by a timer',
    (l) => {
      const state = { seen: valueState<number>() };
      return l.pipe(
        process<number, string | number, number, typeof state>({
          state,
          onElement(v, ctx) {
            ctx.state.seen.set(v);
            ctx.timers.registerEventTime(ctx.timestamp + 10);
          },
          onTimer(_, ctx) {
            ctx.emit(ctx.state.seen.get() ?? -1);
            ctx.state.seen.clear();
          },
        }),
      );
    },
    WINDOWS * KEYS,
  ],
  // (right − left is 3, or −7 for the keys i with i mod 10 ≥ 7: those 30 % are outside the bounds)
  ['intervalJoin [−5, 5]', (l, r) => l.pipe(intervalJoin(r, { lower: -5, upper: 5 }, (a: number, b: number) => a + b)), WINDOWS * KEYS * 0.7],
  ['windowJoin tumbling 10', (l, r) => l.pipe(windowJoin(r, tumblingWindows(10), (a: number, b: number) => a + b)), WINDOWS * KEYS],
  ['coGroup tumbling 10', (l, r) => l.pipe(coGroup(r, tumblingWindows(10), (as: readonly number[], bs: readonly number[]) => as.length + bs.length)), WINDOWS * KEYS],
];

describe('stateful operators: keys that are gone', () => {
  for (const [name, pipeline, expected] of cases) {
    for (const kind of ['string', 'number'] as const) {
      it(`${name}: ${WINDOWS} windows of ${KEYS.toLocaleString('en')} new ${kind} keys each: memory does not grow by the keys gone`, async () => {
        const left = new Subject<In>();
        const right = new Subject<In>();
        let results = 0;
        const subscription = pipeline(left, right).subscribe((e) => {
          if (e.kind === 'record') results++;
        });
        const feed = (w: number): void => {
          for (let i = 0; i < KEYS; i++) {
            const key = keyOf(kind, w, i);
            left.next(record(1, w * 10 + (i % 10), key));
            right.next(record(2, w * 10 + ((i + 3) % 10), key));
          }
          left.next(watermark(w * 10 + 9));
          right.next(watermark(w * 10 + 9));
        };
        for (let w = 0; w < 20; w++) feed(w);
        const before = await heapAfterGc();
        for (let w = 20; w < WINDOWS; w++) feed(w);
        const after = await heapAfterGc();
        // kept, 200 000 keys would take megabytes (strings, map entries, timers; 10 bytes a key are 2 MB); gone, memory
        // stays within its noise (± 0.2 MB measured)
        expect(after - before, `memory in use ${before} → ${after} bytes`).toBeLessThan(1024 * 1024);
        left.complete();
        right.complete();
        expect(results).toBe(expected);
        subscription.unsubscribe();
      });
    }
  }
});
