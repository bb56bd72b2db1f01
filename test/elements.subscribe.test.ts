import fc from 'fast-check';
import { config, Observable, of, Subject, Subscriber, type Observer, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamElement } from '../src/index.js';
import { OperatorObservable } from '../src/elements/plumbing.js';
import { map, process } from '../operators/index.js';
import { rec } from '../testing/index.js';

/**
 * tidewater's operators return an `OperatorObservable`, whose `subscribe(fn)` / `subscribe(observer)` uses a lighter
 * subscriber than RxJS's `SafeSubscriber`. These tests run the same producer under a plain RxJS `Observable` and
 * under an `OperatorObservable` and require identical logs: what the consumer saw, what RxJS's unhandled-error and
 * stopped-notification hooks saw, teardown, and `closed`.
 */

type Step = { readonly op: 'next'; readonly v: number } | { readonly op: 'error'; readonly v: number } | { readonly op: 'complete' };

/** How the consumer is given to `subscribe`, which of its callbacks throw, and when the producer emits. */
interface ConsumerSpec {
  readonly form: 'fn' | 'callbacks' | 'observer' | 'class' | 'subject' | 'mutating' | 'none' | 'null-next' | 'subscriber';
  readonly hasError: boolean;
  readonly hasComplete: boolean;
  /** next throws for values divisible by this (0: never) */
  readonly throwOnNextMod: number;
  readonly errorThrows: boolean;
  readonly completeThrows: boolean;
  /** the producer emits in a microtask after `subscribe` returned (teardown registered, `sub` known) */
  readonly later: boolean;
}

async function runScript(make: (f: (s: Subscriber<number>) => () => void) => Observable<number>, steps: readonly Step[], spec: ConsumerSpec): Promise<string[]> {
  const log: string[] = [];
  const savedUnhandled = config.onUnhandledError;
  const savedStopped = config.onStoppedNotification;
  config.onUnhandledError = (e) => log.push(`unhandled ${String(e)}`);
  config.onStoppedNotification = (n) => log.push(`stopped ${n.kind}${n.kind === 'N' ? ` ${String(n.value)}` : n.kind === 'E' ? ` ${String(n.error)}` : ''}`);
  let sub: Subscription | undefined;
  try {
    const source = make((s) => {
      const play = (): void => {
        for (const step of steps) {
          if (step.op === 'next') s.next(step.v);
          else if (step.op === 'error') s.error(`E${step.v}`);
          else s.complete();
          log.push(`closed after ${step.op}: ${String(s.closed)}`);
        }
      };
      if (!spec.later) play();
      else {
        queueMicrotask(() => {
          // a bare `Subscriber`'s callbacks throw into the producer (RxJS does not guard them)
          try {
            play();
          } catch (e) {
            log.push(`producer threw ${String(e)}`);
          }
        });
      }
      return () => log.push('teardown');
    });
    const next = (v: number): void => {
      log.push(`next ${v}`);
      if (spec.throwOnNextMod > 0 && v % spec.throwOnNextMod === 0) throw `N${v}`;
    };
    const error = (e: unknown): void => {
      log.push(`error ${String(e)}, closed ${String(sub?.closed)}`);
      if (spec.errorThrows) throw `X${String(e)}`;
    };
    const complete = (): void => {
      log.push(`complete, closed ${String(sub?.closed)}`);
      if (spec.completeThrows) throw 'C';
    };
    /** logs the `this` each method is called with */
    const self = function (this: { tag?: string } | undefined, what: string): void {
      log.push(`${what} this ${String(this?.tag)}`);
    };
    try {
      switch (spec.form) {
        case 'fn':
          sub = source.subscribe(next);
          break;
        case 'callbacks':
          sub = source.subscribe(next, spec.hasError ? error : undefined, spec.hasComplete ? complete : null);
          break;
        case 'null-next':
          sub = source.subscribe(null, spec.hasError ? error : null, spec.hasComplete ? complete : undefined);
          break;
        case 'none':
          sub = source.subscribe();
          break;
        case 'subscriber':
          sub = source.subscribe(new Subscriber<number>({ next, error, complete }));
          break;
        case 'observer': {
          const observer: Partial<Observer<number>> & { readonly tag: string } = {
            tag: 'me',
            next(v: number) {
              self.call(this, 'next');
              next(v);
            },
            ...(spec.hasError
              ? {
                  error(this: { tag?: string }, e: unknown) {
                    self.call(this, 'error');
                    error(e);
                  },
                }
              : {}),
            ...(spec.hasComplete
              ? {
                  complete(this: { tag?: string }) {
                    self.call(this, 'complete');
                    complete();
                  },
                }
              : {}),
          };
          sub = source.subscribe(observer);
          break;
        }
        case 'class': {
          class Consumer implements Observer<number> {
            readonly tag = 'instance';
            next(v: number): void {
              self.call(this, 'next');
              next(v);
            }
            error(e: unknown): void {
              self.call(this, 'error');
              error(e);
            }
            complete(): void {
              self.call(this, 'complete');
              complete();
            }
          }
          sub = source.subscribe(new Consumer());
          break;
        }
        case 'subject': {
          const subject = new Subject<number>();
          subject.subscribe({ next, error, complete });
          sub = source.subscribe(subject);
          break;
        }
        case 'mutating': {
          // RxJS reads the observer's methods at each call: replacing them takes effect
          const observer: { next: (v: number) => void; error?: (e: unknown) => void } = {
            next(v: number) {
              next(v);
              observer.next = (w) => log.push(`replaced next ${w}`);
              observer.error = (e) => log.push(`added error ${String(e)}`);
            },
          };
          sub = source.subscribe(observer);
          break;
        }
      }
    } catch (e) {
      log.push(`subscribe threw ${String(e)}`);
    }
    log.push(`returned closed: ${String(sub?.closed)}`);
    // RxJS reports on a timeout (0 ms); the second wait is scheduled after a `later` producer has run, so after its
    // reports, and timers of equal delay fire in order (browsers clamp nested ones alike)
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    return log;
  } finally {
    config.onUnhandledError = savedUnhandled;
    config.onStoppedNotification = savedStopped;
  }
}

/** A consumer given as a plain callback that never throws, with `over` changed. */
const consumer = (over: Partial<ConsumerSpec>): ConsumerSpec => ({
  form: 'fn',
  hasError: false,
  hasComplete: false,
  throwOnNextMod: 0,
  errorThrows: false,
  completeThrows: false,
  later: false,
  ...over,
});

const rxjs = (f: (s: Subscriber<number>) => () => void): Observable<number> => new Observable<number>(f);
const tidewater = (f: (s: Subscriber<number>) => () => void): Observable<number> => new OperatorObservable<number>(f);

describe('subscribe on tidewater operator outputs (OperatorObservable)', () => {
  beforeEach(() => {
    expect(config.useDeprecatedNextContext).toBe(false);
  });
  afterEach(() => {
    config.useDeprecatedNextContext = false;
    config.useDeprecatedSynchronousErrorHandling = false;
  });

  it('a throwing next is reported to onUnhandledError and delivery goes on, as with RxJS', async () => {
    const steps: Step[] = [{ op: 'next', v: 1 }, { op: 'next', v: 2 }, { op: 'next', v: 3 }, { op: 'complete' }];
    const spec = consumer({ throwOnNextMod: 2 });
    const expected = [
      'next 1',
      'closed after next: false',
      'next 2',
      'closed after next: false',
      'next 3',
      'closed after next: false',
      'closed after complete: true',
      'teardown',
      'returned closed: true',
      'unhandled N2',
    ];
    expect(await runScript(rxjs, steps, spec)).toStrictEqual(expected);
    expect(await runScript(tidewater, steps, spec)).toStrictEqual(expected);
  });

  it('an error without a handler is reported; notifications after it go to onStoppedNotification', async () => {
    const steps: Step[] = [{ op: 'next', v: 1 }, { op: 'error', v: 7 }, { op: 'next', v: 2 }, { op: 'complete' }];
    const spec = consumer({});
    const expected = [
      'next 1',
      'closed after next: false',
      'closed after error: true',
      'closed after next: true',
      'closed after complete: true',
      'teardown',
      'returned closed: true',
      'unhandled E7',
      'stopped N 2',
      'stopped C',
    ];
    expect(await runScript(rxjs, steps, spec)).toStrictEqual(expected);
    expect(await runScript(tidewater, steps, spec)).toStrictEqual(expected);
  });

  it('an observer object is called with itself as this', async () => {
    const steps: Step[] = [{ op: 'next', v: 4 }];
    const spec = consumer({ form: 'observer', hasError: true, hasComplete: true });
    const expected = ['next this me', 'next 4', 'closed after next: false', 'returned closed: false'];
    expect(await runScript(rxjs, steps, spec)).toStrictEqual(expected);
    expect(await runScript(tidewater, steps, spec)).toStrictEqual(expected);
  });

  it('property: every consumer form, throwing callbacks and producer script logs exactly what RxJS logs', async () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('next' as const), v: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ op: fc.constant('error' as const), v: fc.integer({ min: 0, max: 9 }) }),
      fc.constant({ op: 'complete' as const }),
    );
    const spec = fc.record({
      form: fc.constantFrom(
        'fn' as const,
        'callbacks' as const,
        'observer' as const,
        'class' as const,
        'subject' as const,
        'mutating' as const,
        'none' as const,
        'null-next' as const,
        'subscriber' as const,
      ),
      hasError: fc.boolean(),
      hasComplete: fc.boolean(),
      throwOnNextMod: fc.integer({ min: 0, max: 3 }),
      errorThrows: fc.boolean(),
      completeThrows: fc.boolean(),
      later: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 6 }), spec, async (steps, s) => {
        expect(await runScript(tidewater, steps, s)).toStrictEqual(await runScript(rxjs, steps, s));
      }),
      { numRuns: 200 },
    );
  });

  it('unsubscribing inside next stops delivery and tears down, as with RxJS', async () => {
    const runWith = async (make: typeof rxjs): Promise<string[]> => {
      const log: string[] = [];
      const src = make((s) => {
        // emits after subscribe has returned, so the consumer can unsubscribe mid-stream
        queueMicrotask(() => {
          for (let i = 1; i <= 4; i++) {
            s.next(i);
            log.push(`closed ${String(s.closed)}`);
          }
        });
        return () => log.push('teardown');
      });
      const sub = src.subscribe((v) => {
        log.push(`next ${v}`);
        if (v === 2) sub.unsubscribe();
      });
      await new Promise((r) => setTimeout(r, 5));
      return log;
    };
    const expected = ['next 1', 'closed false', 'next 2', 'teardown', 'closed true', 'closed true', 'closed true'];
    expect(await runWith(rxjs)).toStrictEqual(expected);
    expect(await runWith(tidewater)).toStrictEqual(expected);
  });

  it('a deprecated config turned on after subscribing: a throwing callback is dropped, as with RxJS', () => {
    const runWith = (make: typeof rxjs): string[] => {
      const log: string[] = [];
      let emit: (v: number) => void = () => undefined;
      make((s) => {
        emit = (v) => s.next(v);
        return () => undefined;
      }).subscribe(() => {
        throw 'boom';
      });
      config.useDeprecatedSynchronousErrorHandling = true;
      try {
        emit(1);
        log.push('next returned');
      } catch (e) {
        log.push(`next threw ${String(e)}`);
      } finally {
        config.useDeprecatedSynchronousErrorHandling = false;
      }
      return log;
    };
    expect(runWith(tidewater)).toStrictEqual(['next returned']);
    expect(runWith(rxjs)).toStrictEqual(['next returned']);
  });

  it('lets go of the consumer once closed, as RxJS does (a kept Subscription does not keep the callback alive)', () => {
    const consumerFn = (): void => undefined;
    const sub = new OperatorObservable<number>((s) => {
      s.next(1);
      s.complete();
    }).subscribe(consumerFn);
    expect(sub.closed).toBe(true);
    // white-box: ConsumerSubscriber's one reference to the consumer (RxJS sets its `destination` to null)
    expect(Object.values(sub).some((v) => v === consumerFn || (typeof v === 'object' && v !== null && Object.values(v).includes(consumerFn)))).toBe(false);
  });

  it('a function carrying a subscriber’s methods is used as a subscriber, as RxJS does', async () => {
    const runWith = async (make: typeof rxjs): Promise<string[]> => {
      const log: string[] = [];
      const f = Object.assign((v: number) => log.push(`f ${v}`), {
        next: (v: number) => log.push(`f.next ${v}`),
        error: () => log.push('f.error'),
        complete: () => log.push('f.complete'),
        closed: false,
        add: () => undefined,
        remove: () => undefined,
        unsubscribe: () => undefined,
      });
      make((s) => {
        s.next(1);
        s.complete();
        return () => undefined;
      }).subscribe(f);
      await new Promise((r) => setTimeout(r, 5));
      return log;
    };
    expect(await runWith(tidewater)).toStrictEqual(['f.next 1', 'f.complete']);
    expect(await runWith(rxjs)).toStrictEqual(['f.next 1', 'f.complete']);
  });

  it('instrumentation of Subscriber.prototype.next (zone.js) is honoured: delivery goes through RxJS', () => {
    const seen: string[] = [];
    const original = Subscriber.prototype.next;
    Subscriber.prototype.next = function (this: Subscriber<unknown>, v: unknown) {
      seen.push(`patched ${String(v)}`);
      original.call(this, v);
    };
    try {
      new OperatorObservable<number>((s) => s.next(1)).subscribe((v) => seen.push(`consumer ${v}`));
    } finally {
      Subscriber.prototype.next = original;
    }
    expect(seen).toStrictEqual(['patched 1', 'consumer 1']);

    // zone.js may have patched it before tidewater loaded: with zone.js present, RxJS's own subscriber is used
    const g = globalThis as { Zone?: unknown };
    g.Zone = {};
    try {
      const sub = new OperatorObservable<number>((s) => s.next(1)).subscribe(() => undefined);
      expect(sub.constructor.name).toBe('SafeSubscriber');
    } finally {
      delete g.Zone;
    }
    expect(new OperatorObservable<number>(() => undefined).subscribe(() => undefined).constructor.name).toBe('ConsumerSubscriber');
  });

  it('the deprecated next-context config is honoured (falls back to RxJS)', () => {
    config.useDeprecatedNextContext = true;
    const seen: boolean[] = [];
    new OperatorObservable<number>((s) => s.next(1)).subscribe({
      next(this: { unsubscribe?: unknown }) {
        seen.push(typeof this.unsubscribe === 'function');
      },
    });
    expect(seen).toStrictEqual([true]);
  });

  it('reports through the TestScheduler’s virtual timeout inside run(), as RxJS does', () => {
    const errors: unknown[] = [];
    const saved = config.onUnhandledError;
    config.onUnhandledError = (e) => errors.push(e);
    try {
      new TestScheduler((a, b) => expect(a).toStrictEqual(b)).run(({ flush }) => {
        new OperatorObservable<number>((s) => s.next(1)).subscribe(() => {
          throw 'boom';
        });
        expect(errors).toStrictEqual([]);
        flush();
        expect(errors).toStrictEqual(['boom']);
      });
    } finally {
      config.onUnhandledError = saved;
    }
  });

  it('tidewater operators return it, and it stays an Observable for pipe/forEach', async () => {
    const out$ = of<StreamElement<number, string>[]>(rec(1, 1, 'a'), rec(2, 2, 'a')).pipe(map((v: number) => v * 10));
    expect(out$).toBeInstanceOf(OperatorObservable);
    const counted$ = of<StreamElement<number, string>[]>(rec(1, 1, 'a'), rec(2, 2, 'a')).pipe(
      process<number, string, number, Record<string, never>>({
        onElement(v, ctx) {
          ctx.emit(v);
        },
      }),
    );
    expect(counted$).toBeInstanceOf(OperatorObservable);
    const seen: unknown[] = [];
    await counted$.forEach((e) => seen.push(e));
    expect(seen.slice(0, 2)).toStrictEqual([rec(1, 1, 'a'), rec(2, 2, 'a')]);
  });
});
