// What the slicing window operator keeps of keys whose windows are gone (docs/ARCHITECTURE.md, "One record, end to
// end"): a stream of ever new keys (sessions, requests, devices that come and go) must not grow its memory by the keys
// it has seen.
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { count, MAX_WATERMARK, record, slidingWindows, tumblingWindows, watermark, type Key, type StreamElement } from '../src/index.js';
import { aggregate, window } from '../operators/index.js';
import { gc, heapAfterGc, turn } from './support/heap.js';

describe('window operator: keys whose windows are gone', () => {
  for (const [name, assigner] of [
    ['tumbling 10', tumblingWindows<number>(10)],
    ['sliding 20 / 10', slidingWindows<number>(20, 10)],
  ] as const) {
    it(`${name}: 40 windows of 2 000 new keys each: the keys of the windows gone are not kept`, async () => {
      // keys collected, per window
      const collected: number[] = new Array<number>(40).fill(0);
      const registry = new FinalizationRegistry((w: number) => (collected[w] = (collected[w] ?? 0) + 1));
      const input = new Subject<StreamElement<number, readonly number[]>>();
      let results = 0;
      const subscription = input.pipe(window<number, readonly number[]>(assigner), aggregate(count())).subscribe((e) => {
        if (e.kind === 'record') results++;
      });
      // (keys made in a function of their own: none stays in the test's frame)
      const feed = (w: number): void => {
        for (let i = 0; i < 2_000; i++) {
          const key = [w, i];
          registry.register(key, w);
          input.next(record(1, w * 10 + (i % 10), key));
        }
        input.next(watermark(w * 10 + 9));
      };
      for (let w = 0; w < 40; w++) feed(w);
      await turn();
      gc();
      await turn(10);
      gc();
      await turn(10);
      // every key of the first 30 windows has gone (a key's last window fired and was cleaned up long before)
      expect(collected.slice(0, 30)).toStrictEqual(new Array<number>(30).fill(2_000));
      input.next(watermark(MAX_WATERMARK));
      expect(results).toBe(assigner.kind === 'tumbling' ? 80_000 : 160_000);
      subscription.unsubscribe();
    });

    // A key the operator kept by value (a number, a string, an array key's id) is no object a FinalizationRegistry can
    // watch: the memory in use is (the heap and array buffers). 40 more windows of 5 000 new keys each, kept, would hold 200 000 map entries (megabytes);
    // gone, memory after the 60th window is what it was after the 20th.
    for (const kind of ['number', 'string', 'array'] as const) {
      it(`${name}: 60 windows of 5 000 new ${kind} keys each: memory does not grow by the keys of the windows gone`, async () => {
        const input = new Subject<StreamElement<number, Key>>();
        let results = 0;
        const subscription = input.pipe(window<number, Key>(assigner), aggregate(count())).subscribe((e) => {
          if (e.kind === 'record') results++;
        });
        const keyOf = (w: number, i: number): Key => (kind === 'number' ? w * 10_000 + i : kind === 'string' ? `key ${w}·${i}` : [w, i]);
        const feed = (w: number): void => {
          for (let i = 0; i < 5_000; i++) input.next(record(1, w * 10 + (i % 10), keyOf(w, i)));
          input.next(watermark(w * 10 + 9));
        };
        for (let w = 0; w < 20; w++) feed(w);
        const before = await heapAfterGc();
        for (let w = 20; w < 60; w++) feed(w);
        const after = await heapAfterGc();
        expect(after - before, `memory in use ${before} → ${after} bytes`).toBeLessThan(1024 * 1024);
        input.next(watermark(MAX_WATERMARK));
        expect(results).toBe(assigner.kind === 'tumbling' ? 300_000 : 600_000);
        subscription.unsubscribe();
      });
    }
  }
});
