// The session operator's due queue (src/windows/sessionDueQueue.ts): entries come out in (time, sequence) order, only
// up to the limit, with the fields they went in with — whether they went to the in-order run or the heap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueQueue } from '../src/windows/sessionDueQueue.js';

interface Entry {
  time: number;
  sequence: number;
  sessionId: number;
  keyId: string;
  key: string;
  sessions: unknown[];
}

const order = (a: Entry, b: Entry): number => a.time - b.time || a.sequence - b.sequence;

/** Takes every entry the queue gives up to `limit`. */
function takeAll(q: DueQueue, limit: number): Entry[] {
  const out: Entry[] = [];
  while (q.take(limit)) out.push({ time: q.time, sequence: q.sequence, sessionId: q.sessionId, keyId: q.keyId as string, key: q.key as string, sessions: q.sessions });
  return out;
}

describe('DueQueue', () => {
  it('gives entries in (time, sequence) order up to each limit, as a sorted list does (property: rounds of pushes above the last limit, pushes during a drain, then the rest)', () => {
    // a round: entries later than the last limit (as the operator pushes: new sessions and sessions due again lie past
    // the watermark), some in order, some not; then the watermark advances and the due entries are taken, some of
    // them pushing an entry at or below the new limit meanwhile (a session that grew but is due all the same), which
    // the same drain must give in order. Sequences are distinct but not in push order (as after a restore).
    const push = fc.record({ dt: fc.integer({ min: 1, max: 40 }), inOrder: fc.boolean(), sequence: fc.integer({ min: 0, max: 1_000_000 }) });
    const round = fc.record({
      pushes: fc.array(push, { maxLength: 30 }),
      advance: fc.integer({ min: 0, max: 30 }),
      duringDrain: fc.array(fc.record({ after: fc.integer({ min: 0, max: 10 }), back: fc.integer({ min: 0, max: 30 }), sequence: fc.integer({ min: 0, max: 1_000_000 }) }), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(round, { maxLength: 40 }), (rounds) => {
        const q = new DueQueue();
        const pending: Entry[] = [];
        const used = new Set<number>();
        // a distinct sequence near the one drawn
        const distinct = (s: number): number => {
          while (used.has(s)) s++;
          used.add(s);
          return s;
        };
        let limit = 0;
        let newest = 0;
        let n = 0;
        const add = (time: number, sequence: number): void => {
          n++;
          const e: Entry = { time, sequence, sessionId: n, keyId: `id${n}`, key: `k${n % 5}`, sessions: [n] };
          pending.push(e);
          q.push(e.time, e.sequence, e.sessionId, e.keyId, e.key, e.sessions);
        };
        for (const r of rounds) {
          for (const p of r.pushes) {
            // in order: at or after the newest time so far (the run may take it); else anywhere past the limit (the heap)
            const time = p.inOrder ? Math.max(newest, limit + 1) + (p.dt % 3) : limit + p.dt;
            newest = Math.max(newest, time);
            add(time, distinct(p.sequence));
          }
          limit += r.advance;
          // the drain, with pushes at or below the limit after some takes: each is given in order within the drain
          const taken: Entry[] = [];
          const plan = [...r.duringDrain].sort((a, b) => a.after - b.after);
          let next = 0;
          for (;;) {
            while (next < plan.length && (plan[next] as { after: number }).after <= taken.length) {
              const d = plan[next++] as { back: number; sequence: number };
              // not before what was taken already (the operator's pushes never are: a session's new due time is after the entry that came up)
              const floor = taken.length > 0 ? (taken[taken.length - 1] as Entry).time + 1 : -Infinity;
              const time = Math.max(limit - d.back, floor);
              if (time <= limit) add(time, distinct(d.sequence));
            }
            if (!q.take(limit)) break;
            taken.push({ time: q.time, sequence: q.sequence, sessionId: q.sessionId, keyId: q.keyId as string, key: q.key as string, sessions: q.sessions });
          }
          pending.sort(order);
          const due = pending.filter((e) => e.time <= limit);
          expect(taken).toStrictEqual(due);
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

  it('keeps order through many entries (the run across its chunks, the heap growing and reusing slots)', () => {
    const q = new DueQueue();
    const want: Entry[] = [];
    let sequence = 0;
    for (let round = 0; round < 50; round++) {
      const base = round * 100;
      // 100 in order, 100 out of order (descending) per round, all past the last limit
      for (let i = 0; i < 100; i++) {
        const e: Entry = { time: base + 100 + i, sequence: sequence++, sessionId: sequence, keyId: `id${sequence}`, key: `k${sequence % 7}`, sessions: [sequence] };
        want.push(e);
        q.push(e.time, e.sequence, e.sessionId, e.keyId, e.key, e.sessions);
      }
      for (let i = 99; i >= 0; i--) {
        const e: Entry = { time: base + 100 + i, sequence: sequence++, sessionId: sequence, keyId: `id${sequence}`, key: `k${sequence % 7}`, sessions: [sequence] };
        want.push(e);
        q.push(e.time, e.sequence, e.sessionId, e.keyId, e.key, e.sessions);
      }
      want.sort(order);
      const limit = base + 150;
      const due = want.filter((e) => e.time <= limit);
      expect(takeAll(q, limit)).toStrictEqual(due);
      want.splice(0, due.length);
    }
    expect(takeAll(q, Infinity)).toStrictEqual(want);
  });

  it("gives the run's entries ahead of its front (across chunks), only those due by the limit, none past the last", () => {
    const q = new DueQueue();
    const arrays = Array.from({ length: 1_000 }, (_, i) => [i]);
    for (let i = 0; i < 1_000; i++) q.push(i, 0, i, 'a', 'a', arrays[i] as unknown[]);
    // the fronts of the first chunks (256, then 512 entries) and places near their ends
    let front = 0; // entries taken: the front entry's time and index
    for (const taken of [0, 1, 240, 255, 256, 500, 760, 767, 768, 990]) {
      for (; front < taken; front++) expect(q.take(Infinity) && q.time).toBe(front);
      for (let ahead = 0; ahead < 16; ahead++) {
        const i = front + ahead;
        expect(q.sessionsAhead(ahead, Infinity)).toBe(i < 1_000 ? arrays[i] : undefined);
        // due by the limit only
        expect(q.sessionsAhead(ahead, i - 1)).toBe(undefined);
        if (i < 1_000) expect(q.sessionsAhead(ahead, i)).toBe(arrays[i]);
      }
    }
  });

  it('appends in order only while the run holds fewer than 4 × live keys + 65 536 entries, and only after its last entry', () => {
    const q = new DueQueue();
    const s: unknown[] = [];
    let n = 0;
    while (q.appendsInOrder(n, 0, 2)) q.append(n, 0, n, 'a', 'a', s), n++;
    expect(n).toBe(4 * 2 + 65_536);
    expect(q.appendsInOrder(n, 0, 3)).toBe(true);
    expect(q.appendsInOrder(n - 1, 0, 3)).toBe(false); // before the last entry
    expect(q.appendsInOrder(n - 1, 1, 3)).toBe(true); // the same time, a later sequence
    // taking entries makes room
    expect(q.take(9)).toBe(true);
    expect(q.appendsInOrder(n, 0, 2)).toBe(true);
    expect(takeAll(q, Infinity).map((e) => e.time)).toStrictEqual(Array.from({ length: n - 1 }, (_, i) => i + 1));
  });
});

/** An entry of {@link RunModel}. */
interface ModelEntry {
  time: number;
  seq: number;
  arr: unknown[];
}

/** A model of DueQueue: the run (a FIFO of the entries pushed in order) and the heap (the others, sorted). */
class RunModel {
  run: ModelEntry[] = [];
  runFront = 0;
  heap: ModelEntry[] = [];
  get runSize() {
    return this.run.length - this.runFront;
  }
  push(e: ModelEntry) {
    const last = this.runSize > 0 ? this.run[this.run.length - 1]! : undefined;
    if (last === undefined || e.time > last.time || (e.time === last.time && e.seq > last.seq)) this.run.push(e);
    else {
      this.heap.push(e);
      this.heap.sort((a, b) => a.time - b.time || a.seq - b.seq);
    }
    if (this.runFront > 100_000) {
      this.run = this.run.slice(this.runFront);
      this.runFront = 0;
    }
  }
  take(limit: number): ModelEntry | undefined {
    const r = this.runSize > 0 ? this.run[this.runFront]! : undefined;
    const h = this.heap[0];
    const fromRun = r !== undefined && (h === undefined || r.time < h.time || (r.time === h.time && r.seq < h.seq));
    const e = fromRun ? r : h;
    if (e === undefined || e.time > limit) return undefined;
    if (fromRun) this.runFront++;
    else this.heap.shift();
    return e;
  }
  ahead(k: number, limit: number): unknown[] | undefined {
    if (k >= this.runSize) return undefined;
    const e = this.run[this.runFront + k]!;
    return e.time <= limit ? e.arr : undefined;
  }
}

/** `sessionsAhead(k, limit)` for every k < 256 and each limit, against the model. */
function checkAhead(q: DueQueue, m: RunModel, limits: number[]) {
  for (const limit of limits) {
    for (let k = 0; k < 256; k++) {
      const got = q.sessionsAhead(k, limit);
      const want = m.ahead(k, limit);
      if (got !== want) throw new Error(`sessionsAhead(${k}, ${limit}): got ${JSON.stringify(got)} want ${JSON.stringify(want)} (run size ${m.runSize})`);
    }
  }
}

describe('DueQueue.sessionsAhead against a model', () => {
  const cmd = fc.oneof(
    // in-order pushes: a batch of n entries after time t0 (some of them out of order: to the heap)
    fc.record({ kind: fc.constant('push' as const), n: fc.integer({ min: 1, max: 3000 }), ooo: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ kind: fc.constant('take' as const), n: fc.integer({ min: 1, max: 3000 }), slack: fc.integer({ min: -5, max: 50 }) }),
  );
  it('gives the entry k places ahead of the run\'s front, due by the limit, through random pushes (some out of order: the heap) and takes, in small runs and past 65 536 entries (chunks of 32 768)', () => {
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 40 }), fc.boolean(), (cmds, big) => {
        const q = new DueQueue();
        const m = new RunModel();
        let t = 0;
        let seq = 0;
        let taken = 0;
        if (big) {
          // past MANY (65 536): chunks of 32 768
          for (let i = 0; i < 70_000; i++) {
            const e = { time: t++, seq: seq++, arr: [i] };
            q.push(e.time, e.seq, 0, 'k', 'k', e.arr);
            m.push(e);
          }
        }
        for (const c of cmds) {
          if (c.kind === 'push') {
            for (let i = 0; i < c.n; i++) {
              const time = c.ooo > 0 && i % (c.ooo + 3) === 0 ? Math.max(0, t - 100) : t++;
              const e = { time, seq: seq++, arr: [time, seq] };
              q.push(e.time, e.seq, 0, 'k', 'k', e.arr);
              m.push(e);
            }
          } else {
            const limit = taken + c.n + c.slack;
            for (let i = 0; i < c.n; i++) {
              const e = m.take(limit);
              const ok = q.take(limit);
              expect(ok).toBe(e !== undefined);
              if (e === undefined) break;
              expect(q.sessions).toBe(e.arr);
              taken = Math.max(taken, e.time);
              // a full check every 97 takes
              if (i % 97 === 0) checkAhead(q, m, [Infinity, limit, taken + 3]);
            }
          }
          checkAhead(q, m, [Infinity, t - 10, taken + 8]);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('gives the 16 entries ahead at every front position of a long run (chunks of 256 … 2 048, then 32 768), emptied and refilled (the spare chunk reused)', () => {
    const q = new DueQueue();
    const m = new RunModel();
    let t = 0;
    for (let round = 0; round < 3; round++) {
      const n = round === 1 ? 3000 : 70_000;
      for (let i = 0; i < n; i++) {
        const e = { time: t++, seq: 0, arr: [t] };
        q.push(e.time, e.seq, 0, 'k', 'k', e.arr);
        m.push(e);
      }
      for (;;) {
        for (let k = 0; k < 16; k++) {
          if (q.sessionsAhead(k, Infinity) !== m.ahead(k, Infinity)) throw new Error(`round ${round} k ${k} runSize ${m.runSize}`);
        }
        const e = m.take(Infinity);
        expect(q.take(Infinity)).toBe(e !== undefined);
        if (e === undefined) break;
        expect(q.sessions).toBe(e.arr);
      }
    }
  });
});
