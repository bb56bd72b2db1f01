// The session operator's due queue (src/windows/sessionDueQueue.ts): entries come out in (time, sequence) order, only
// up to the limit, with the fields they went in with — whether they went to the in-order run or the heap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueQueue } from '../src/windows/sessionDueQueue.js';

interface Entry {
  time: number;
  sequence: number;
  sessionId: number;
  key: string;
  sessions: unknown[];
}

const order = (a: Entry, b: Entry): number => a.time - b.time || a.sequence - b.sequence;

/** Takes every entry the queue gives up to `limit`. */
function takeAll(q: DueQueue, limit: number): Entry[] {
  const out: Entry[] = [];
  while (q.take(limit)) {
    expect(q.keyId).toBe(q.key);
    out.push({ time: q.time, sequence: q.sequence, sessionId: q.sessionId, key: q.key as string, sessions: q.sessions });
  }
  return out;
}

describe('DueQueue', () => {
  it('gives entries in (time, sequence) order up to each limit, as a sorted list does (property: rounds of pushes above the last limit, then a take)', () => {
    // a round: entries later than the last limit (as the operator pushes: new sessions and sessions due again lie past
    // the watermark), some in order, some not, then the watermark advances
    const round = fc.record({
      pushes: fc.array(fc.record({ dt: fc.integer({ min: 1, max: 40 }), inOrder: fc.boolean() }), { maxLength: 30 }),
      advance: fc.integer({ min: 0, max: 30 }),
    });
    fc.assert(
      fc.property(fc.array(round, { maxLength: 40 }), (rounds) => {
        const q = new DueQueue();
        const pending: Entry[] = [];
        let limit = 0;
        let sequence = 0;
        let newest = 0;
        for (const r of rounds) {
          for (const p of r.pushes) {
            // in order: at or after the newest time so far (the run takes it); else anywhere past the limit (the heap)
            const time = p.inOrder ? Math.max(newest, limit + 1) + (p.dt % 3) : limit + p.dt;
            newest = Math.max(newest, time);
            const e: Entry = { time, sequence: sequence++, sessionId: sequence * 7, key: `k${sequence % 5}`, sessions: [sequence] };
            pending.push(e);
            q.push(e.time, e.sequence, e.sessionId, e.key, e.key, e.sessions);
          }
          limit += r.advance;
          pending.sort(order);
          const due = pending.filter((e) => e.time <= limit);
          expect(takeAll(q, limit)).toStrictEqual(due);
          pending.splice(0, due.length);
        }
        expect(takeAll(q, Infinity)).toStrictEqual(pending);
      }),
      { numRuns: 400 },
    );
  });

  it('orders entries of one time by sequence across the run and the heap', () => {
    const q = new DueQueue();
    const s: unknown[] = [];
    q.push(10, 5, 1, 'a', 'a', s); // run
    q.push(12, 6, 2, 'b', 'b', s); // run
    q.push(10, 2, 3, 'c', 'c', s); // heap: before the run's last
    q.push(10, 7, 4, 'd', 'd', s); // heap
    q.push(12, 1, 5, 'e', 'e', s); // heap
    expect(q.take(9)).toBe(false);
    expect(takeAll(q, 12).map((e) => [e.time, e.sequence, e.sessionId])).toStrictEqual([
      [10, 2, 3],
      [10, 5, 1],
      [10, 7, 4],
      [12, 1, 5],
      [12, 6, 2],
    ]);
    expect(q.take(Infinity)).toBe(false);
  });

  it('keeps order through many entries (the run dropping its taken prefix, the heap growing and reusing slots)', () => {
    const q = new DueQueue();
    const want: Entry[] = [];
    let sequence = 0;
    for (let round = 0; round < 50; round++) {
      const base = round * 100;
      // 100 in order, 100 out of order (descending) per round, all past the last limit
      for (let i = 0; i < 100; i++) {
        const e: Entry = { time: base + 100 + i, sequence: sequence++, sessionId: sequence, key: 'x', sessions: [] };
        want.push(e);
        q.push(e.time, e.sequence, e.sessionId, e.key, e.key, e.sessions);
      }
      for (let i = 99; i >= 0; i--) {
        const e: Entry = { time: base + 100 + i, sequence: sequence++, sessionId: sequence, key: 'x', sessions: [] };
        want.push(e);
        q.push(e.time, e.sequence, e.sessionId, e.key, e.key, e.sessions);
      }
      want.sort(order);
      const limit = base + 150;
      const due = want.filter((e) => e.time <= limit);
      expect(takeAll(q, limit)).toStrictEqual(due);
      want.splice(0, due.length);
    }
    expect(takeAll(q, Infinity)).toStrictEqual(want);
  });
});
