import { concat, delay, from, NEVER, Subject, Subscription, tap, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { boundedOutOfOrderness, count, MAX_WATERMARK, tumblingWindows, type StreamElement, type WindowResult } from '../src/index.js';
import { CLOCK_CHECK_EVERY } from '../src/time/assign.js';
import { aggregate, eventTime, ingestionTime, keyBy, window } from '../operators/index.js';
import { active, idle, rec, wm } from '../testing/index.js';

/**
 * A clock for synchronous bursts: the test sets `time` (moving it runs nothing, as when a synchronous source keeps
 * the thread), `runDue()` runs the actions due by then. Counts `now()` calls.
 */
class BurstClock implements SchedulerLike {
  time = 0;
  reads = 0;
  private readonly due = new Map<BurstAction<unknown>, number>();

  now(): number {
    this.reads++;
    return this.time;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new BurstAction<T>(this, work).schedule(state, delay);
  }

  /** Due times of the pending actions. */
  get pending(): number[] {
    return [...this.due.values()];
  }

  /** Runs each action due at or before `time` once (what they schedule waits for the next call). */
  runDue(): void {
    for (const [action, at] of [...this.due]) {
      if (at <= this.time) {
        this.due.delete(action);
        action.run();
      }
    }
  }

  /** @internal */
  set(action: BurstAction<unknown>, at: number | undefined): void {
    if (at === undefined) this.due.delete(action);
    else this.due.set(action, at);
  }
}

class BurstAction<T> extends Subscription implements SchedulerAction<T> {
  private state: T | undefined;
  constructor(
    private readonly clock: BurstClock,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super(() => clock.set(this as BurstAction<unknown>, undefined));
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.clock.set(this as BurstAction<unknown>, this.clock.time + delay);
    return this;
  }

  run(): void {
    if (!this.closed) this.work.call(this, this.state);
  }
}

interface Ev {
  readonly i: number;
  readonly at: number;
}
const at = (v: Ev): number => v.at;

/** Events 0…n−1 with event time i; record i arrives at scheduler time `arrival(i)` (the clock is set before it). */
function burst(clock: BurstClock, n: number, arrival: (i: number) => number) {
  const events: Ev[] = Array.from({ length: n }, (_, i) => ({ i, at: i }));
  return from(events).pipe(tap((e) => (clock.time = arrival(e.i))));
}

/** Runs of records as `records a–b`, watermarks as `W ts`, status as `idle` / `active`. */
function summary(els: readonly StreamElement<Ev | string, unknown>[]): string[] {
  const res: string[] = [];
  let first: number | undefined;
  let last = 0;
  const flush = () => {
    if (first !== undefined) res.push(`records ${first}–${last}`);
    first = undefined;
  };
  for (const e of els) {
    if (e.kind === 'record') {
      const i = typeof e.value === 'string' ? Number(e.value) : e.value.i;
      expect(e.timestamp).toBe(i);
      if (first === undefined) first = i;
      else expect(i).toBe(last + 1);
      last = i;
      continue;
    }
    flush();
    if (e.kind === 'watermark') res.push(`W ${e.timestamp === MAX_WATERMARK ? 'MAX' : e.timestamp}`);
    else if (e.kind === 'status') res.push(e.idle ? 'idle' : 'active');
    else res.push(e.kind);
  }
  flush();
  return res;
}

describe('eventTime: periodic watermarks during a synchronous burst (docs/SEMANTICS.md §2.2)', () => {
  it('the check every 256 records emits a periodic watermark when the interval has passed on the scheduler clock', () => {
    expect(CLOCK_CHECK_EVERY).toBe(256);
    const clock = new BurstClock();
    const got: StreamElement<Ev, undefined>[] = [];
    // record i arrives at time i; checks after records 255, 511, 767 find 255, 256, 256 ms passed (≥ 200)
    burst(clock, 1000, (i) => i)
      .pipe(eventTime(at, boundedOutOfOrderness(10, { interval: 200, scheduler: clock })))
      .subscribe((e) => got.push(e));
    expect(summary(got)).toStrictEqual([
      'records 0–255',
      'W 244', // 255 − 10 − 1
      'records 256–511',
      'W 500',
      'records 512–767',
      'W 756',
      'records 768–999',
      'W 988', // the last periodic emit at completion
      'W MAX',
    ]);
    expect(got[256]).toStrictEqual(wm(244));
    expect(got[0]).toStrictEqual(rec({ i: 0, at: 0 }, 0));
  });

  it('on a virtual clock, a burst at exactly a periodic emit\'s frame gets its watermark after it, as one a frame before does (not in its middle)', () => {
    const run = (frame: number): string[] => {
      const out: string[] = [];
      const scheduler = new TestScheduler(() => true);
      scheduler.run(() => {
        // 300 events in one burst: 256 at 1 000 … 1 255, then 44 at 500 (out of order, within the bound of none)
        const events = Array.from({ length: 300 }, (_, i) => ({ i, at: i < 256 ? 1_000 + i : 500 }));
        let records = 0;
        const sub = concat(from(events).pipe(delay(frame)), NEVER)
          .pipe(
            eventTime(at, boundedOutOfOrderness(0)), // (the default interval, 200)
            tap((e) => {
              if (e.kind === 'record') records++;
              else if (e.kind === 'watermark') out.push(`${records} records, then W ${e.timestamp}`);
            }),
          )
          .subscribe();
        scheduler.maxFrames = 1_000; // (the periodic timer goes on forever on an endless input)
        scheduler.flush();
        sub.unsubscribe();
      });
      return out;
    };
    expect(run(199)).toStrictEqual(['300 records, then W 1254']);
    expect(run(200)).toStrictEqual(['300 records, then W 1254']);
    expect(run(201)).toStrictEqual(['300 records, then W 1254']);
  });

  it('reads the clock once at subscription and once per 256 records, never per record', () => {
    const clock = new BurstClock();
    let n = 0;
    burst(clock, 2_600, (i) => i)
      .pipe(eventTime(at, boundedOutOfOrderness(0, { interval: 200, scheduler: clock })))
      .subscribe(() => n++);
    expect(clock.reads).toBe(1 + 10); // floor(2 600 / 256) = 10 checks
    expect(n).toBe(2_600 + 10 + 2); // records, 10 periodic watermarks, the last one and MAX
    expect(clock.pending).toStrictEqual([]); // the timer is gone at completion
  });

  it('a check that finds less than the interval passed since the last periodic emit emits nothing', () => {
    const clock = new BurstClock();
    const got: StreamElement<Ev, undefined>[] = [];
    // record i arrives at time floor(i / 2): checks after records 255 (time 127 < 200), 511 (255: emit), 767 (128 since 255)
    burst(clock, 1000, (i) => Math.floor(i / 2))
      .pipe(eventTime(at, boundedOutOfOrderness(0, { interval: 200, scheduler: clock })))
      .subscribe((e) => got.push(e));
    expect(summary(got)).toStrictEqual(['records 0–511', 'W 510', 'records 512–999', 'W 998', 'W MAX']);
  });

  it('the timer and the record path share one interval: a timer firing after a record-path emit re-arms for the rest', () => {
    const clock = new BurstClock();
    const src = new Subject<Ev>();
    const got: StreamElement<Ev, undefined>[] = [];
    src.pipe(eventTime(at, boundedOutOfOrderness(0, { interval: 200, scheduler: clock }))).subscribe((e) => got.push(e));
    expect(clock.pending).toStrictEqual([200]);
    for (let i = 0; i < 256; i++) {
      clock.time = i;
      src.next({ i, at: i });
    } // the check after record 255 emits W 254 at time 255
    expect(got.at(-1)).toStrictEqual(wm(254));
    clock.time = 260; // the timer due at 200 runs late: only 5 ms since the last emit
    clock.runDue();
    expect(got.length).toBe(257);
    expect(clock.pending).toStrictEqual([455]);
    src.next({ i: 256, at: 300 });
    clock.time = 455;
    clock.runDue();
    expect(got.slice(257)).toStrictEqual([rec({ i: 256, at: 300 }, 300), wm(299)]);
    expect(clock.pending).toStrictEqual([655]);
    clock.time = 655; // nothing new: the generator proposes 299 again, dropped; the timer keeps its pace
    clock.runDue();
    expect(got.length).toBe(259);
    expect(clock.pending).toStrictEqual([855]);
    src.complete();
    expect(got.slice(259)).toStrictEqual([wm(MAX_WATERMARK)]);
    expect(clock.pending).toStrictEqual([]);
  });

  it('a timer that runs a whole interval or more after a record-path emit emits at once and keeps its pace from there', () => {
    const clock = new BurstClock();
    const src = new Subject<Ev>();
    const got: StreamElement<Ev, undefined>[] = [];
    src.pipe(eventTime(at, boundedOutOfOrderness(0, { interval: 200, scheduler: clock }))).subscribe((e) => got.push(e));
    for (let i = 0; i < 256; i++) {
      clock.time = i;
      src.next({ i, at: i });
    } // W 254 at time 255
    src.next({ i: 256, at: 400 });
    clock.time = 470; // the timer due at 200 runs at 470, 215 ms after the record-path emit
    clock.runDue();
    expect(got.slice(256)).toStrictEqual([wm(254), rec({ i: 256, at: 400 }, 400), wm(399)]);
    expect(clock.pending).toStrictEqual([670]);
    src.complete();
  });

  it('idleness is still checked at periodic emits only: quiet after a burst, the stream goes idle as before', () => {
    const clock = new BurstClock();
    const src = new Subject<Ev>();
    const got: StreamElement<Ev, undefined>[] = [];
    src
      .pipe(eventTime(at, boundedOutOfOrderness(0, { interval: 200, idleTimeout: 1000, scheduler: clock })))
      .subscribe((e) => got.push(e));
    for (let i = 0; i < 256; i++) {
      clock.time = i;
      src.next({ i, at: i });
    } // record-path emit at 255 (activity: not idle), W 254
    // then timer checks at 455 (inactivity starts), 655 … 1455 (≤ 1000 ms), 1655 (1200 > 1000 → idle)
    for (let t = 455; t <= 1855; t += 200) {
      clock.time = t;
      clock.runDue();
      expect(got.at(-1)).toStrictEqual(t < 1655 ? wm(254) : idle());
    }
    expect(got.slice(256)).toStrictEqual([wm(254), idle()]);
    clock.time = 1900;
    src.next({ i: 256, at: 2000 }); // stays idle until the next watermark
    src.complete(); // last periodic emit: active, W 1999, then MAX
    expect(got.slice(258)).toStrictEqual([rec({ i: 256, at: 2000 }, 2000), active(), wm(1999), wm(MAX_WATERMARK)]);
  });

  it('interval 0 is unchanged: a periodic emit after every record, no timer and no clock read', () => {
    const clock = new BurstClock();
    const got: StreamElement<Ev, undefined>[] = [];
    burst(clock, 600, (i) => i)
      .pipe(eventTime(at, boundedOutOfOrderness(0, { interval: 0, scheduler: clock })))
      .subscribe((e) => got.push(e));
    expect(got.length).toBe(600 * 2 + 1);
    expect(got.slice(0, 4)).toStrictEqual([rec({ i: 0, at: 0 }, 0), wm(-1), rec({ i: 1, at: 1 }, 1), wm(0)]);
    expect(got.slice(-3)).toStrictEqual([rec({ i: 599, at: 599 }, 599), wm(598), wm(MAX_WATERMARK)]);
    expect(clock.reads).toBe(0);
  });

  it('ingestionTime checks with the arrival time it already read (one clock read per record, none more)', () => {
    const clock = new BurstClock();
    const got: StreamElement<string, undefined>[] = [];
    const values = Array.from({ length: 600 }, (_, i) => String(i));
    from(values)
      .pipe(
        tap((v) => (clock.time = Number(v))),
        ingestionTime(boundedOutOfOrderness(0, { interval: 200, scheduler: clock })),
      )
      .subscribe((e) => got.push(e));
    expect(summary(got)).toStrictEqual(['records 0–255', 'W 254', 'records 256–511', 'W 510', 'records 512–599', 'W 598', 'W MAX']);
    expect(clock.reads).toBe(1 + 600);
  });
});

describe('windows over a synchronous array fire during the burst (docs/SEMANTICS.md §2.2)', () => {
  it('a tumbling count fires the windows a mid-burst watermark closes, interleaved with the input', () => {
    const clock = new BurstClock();
    const log: (number | string)[] = [];
    const events: Ev[] = Array.from({ length: 1000 }, (_, i) => ({ i, at: i }));
    from(events)
      .pipe(
        tap((e) => {
          clock.time = e.i;
          log.push(e.i);
        }),
        eventTime(at, boundedOutOfOrderness(0, { interval: 200, scheduler: clock })),
        keyBy(() => 'all'),
        window(tumblingWindows(100)),
        aggregate(count()),
      )
      .subscribe((e: StreamElement<WindowResult<string, number>, string>) => {
        if (e.kind === 'record') log.push(`[${e.value.window.start},${e.value.window.end}) ${e.value.value}`);
        else if (e.kind === 'watermark') log.push(`W ${e.timestamp === MAX_WATERMARK ? 'MAX' : e.timestamp}`);
      });
    const lines: string[] = [];
    for (const l of log) {
      const prev = lines.at(-1);
      if (typeof l === 'string') lines.push(l);
      else if (prev?.startsWith('in ') === true) lines[lines.length - 1] = `${prev.slice(0, prev.indexOf('–'))}–${l}`;
      else lines.push(`in ${l}–${l}`);
    }
    expect(lines).toStrictEqual([
      'in 0–255',
      '[0,100) 100',
      '[100,200) 100',
      'W 254',
      'in 256–511',
      '[200,300) 100',
      '[300,400) 100',
      '[400,500) 100',
      'W 510',
      'in 512–767',
      '[500,600) 100',
      '[600,700) 100',
      'W 766',
      'in 768–999',
      '[700,800) 100',
      '[800,900) 100',
      'W 998',
      '[900,1000) 100',
      'W MAX',
    ]);
  });
});
