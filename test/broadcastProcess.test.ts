// broadcastProcess: docs/SEMANTICS.md §10.6 (and §10.1 for watermarks, barriers and end of input).
import type { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidKeyError, listState, mapState, MAX_WATERMARK, valueState, type Key, type StreamElement } from '../src/index.js';
import { broadcastProcess } from '../operators/index.js';
import { rec, twoInputHarness, wm } from '../testing/index.js';

type Click = { readonly page: string };
type Rule = { readonly page: string; readonly alert: string } | { readonly clear: string };

const broadcastState = { rules: mapState<string, string>() };
const state = { seen: valueState<number>() };

/** Clicks alerting by the page's rule; counts per user; a broadcast 'clear' resets every user's count. */
const alerts = (rules$: Observable<StreamElement<Rule, unknown>>) =>
  broadcastProcess<Click, Rule, string, string, typeof state, typeof broadcastState>(rules$, {
    name: 'alerts',
    state,
    broadcastState,
    onElement(c, ctx) {
      const seen = (ctx.state.seen.get() ?? 0) + 1;
      ctx.state.seen.set(seen);
      const rule = ctx.broadcast.rules.get(c.page);
      ctx.emit(rule === undefined ? `${ctx.key} ${c.page} #${seen}` : `${ctx.key} ${c.page} #${seen}: ${rule}`);
      if (seen === 1) ctx.timers.registerEventTime(ctx.timestamp + 100);
    },
    onBroadcastElement(r, ctx) {
      if ('clear' in r) {
        const visited: Key[] = [];
        ctx.applyToKeyedState((user, s) => {
          visited.push(user);
          s.seen.clear();
        });
        ctx.emit(`cleared ${visited.join(',')} (${r.clear})`);
        return;
      }
      ctx.broadcast.rules.set(r.page, r.alert);
      ctx.emit(`rule ${r.page} (${ctx.broadcast.rules.size} rules, wm ${ctx.currentWatermark})`);
    },
    onTimer(ts, ctx) {
      ctx.emit(`timer ${ctx.key} at ${ts}, rules ${ctx.broadcast.rules.keys().join(',')}`);
    },
  });

describe('broadcastProcess (docs/SEMANTICS.md §10.6)', () => {
  it('a keyed record sees the broadcast state as the broadcast records before it left it; nothing is buffered', () => {
    const h = twoInputHarness(alerts);
    h.record({ page: '/a' }, 1, 'ann'); // before the rule: does not see it
    h.push2(rec({ page: '/a', alert: 'A!' } as Rule, 2));
    h.record({ page: '/a' }, 3, 'bob').record({ page: '/b' }, 4, 'ann');
    expect(h.records()).toStrictEqual([
      rec('ann /a #1', 1, 'ann'),
      rec('rule /a (1 rules, wm -Infinity)', 2, undefined),
      rec('bob /a #1: A!', 3, 'bob'),
      rec('ann /b #2', 4, 'ann'),
    ]);
  });

  it('the keyed side gets a read-only view; the broadcast side writes', () => {
    let view: object | undefined;
    const h = twoInputHarness((r$: Observable<StreamElement<Rule, unknown>>) =>
      broadcastProcess<Click, Rule, string, string, typeof state, typeof broadcastState>(r$, {
        broadcastState,
        onElement(_c, ctx) {
          view = ctx.broadcast.rules;
        },
        onBroadcastElement(r, ctx) {
          if ('page' in r) ctx.broadcast.rules.set(r.page, r.alert);
        },
      }),
    );
    h.push2(rec({ page: '/a', alert: 'x' } as Rule, 1)).record({ page: '/a' }, 2, 'ann');
    const seen = view as object;
    expect(['set', 'delete', 'clear'].map((m) => m in seen)).toStrictEqual([false, false, false]);
    expect((view as { entries(): unknown }).entries()).toStrictEqual([['/a', 'x']]);
  });

  it('a broadcast state value that cannot be serialized fails the checkpoint naming the operator, the broadcast state and the entry', () => {
    class Threshold {
      constructor(readonly min: number) {}
    }
    const h = twoInputHarness((b$: Observable<StreamElement<Threshold, unknown>>) =>
      broadcastProcess<number, Threshold, string, string, Record<never, never>, { rules: ReturnType<typeof mapState<string, Threshold>> }>(b$, {
        name: 'rules',
        broadcastState: { rules: mapState<string, Threshold>() },
        onElement(v, ctx) {
          ctx.emit(String(ctx.broadcast.rules.get('min')?.min ?? v));
        },
        onBroadcastElement(t, ctx) {
          ctx.broadcast.rules.set('min', t);
        },
      }),
    );
    h.push2(rec(new Threshold(3), 0));
    h.record(1, 1, 'k');
    expect(() => h.snapshot()).toThrow(
      'rules: broadcast state \'rules\', entry "min", cannot be serialized for a checkpoint: an instance of Threshold cannot be serialized (only plain objects, arrays, Map, Set, TrackedSet, Date and primitives restore faithfully; store plain data) at (root). Keep state as plain data (objects, arrays, Map, Set, Date, primitives).',
    );
  });

  it('applyToKeyedState visits every key with keyed state, in the order their state was created', () => {
    const h = twoInputHarness(alerts);
    h.record({ page: '/a' }, 1, 'cy').record({ page: '/a' }, 2, 'ann').record({ page: '/a' }, 3, 'cy');
    h.push2(rec({ clear: 'now' } as Rule, 4));
    expect(h.records().at(-1)).toStrictEqual(rec('cleared cy,ann (now)', 4, undefined));
    expect([h.state('cy', 'seen'), h.state('ann', 'seen')]).toStrictEqual([undefined, undefined]);
    h.record({ page: '/a' }, 5, 'ann');
    expect(h.records().at(-1)).toStrictEqual(rec('ann /a #1', 5, 'ann'));
  });

  it('applyToKeyedState: a key whose state is written again keeps its place — a list set anew as a value set, added to or a map entry set (and after a restore)', () => {
    const kinds = { v: valueState<number>(), l: listState<number>(), m: mapState<string, number>() };
    for (const write of ['v.set', 'l.set', 'l.add', 'l.addAll', 'm.set']) {
      const h = twoInputHarness((b$: Observable<StreamElement<string, unknown>>) =>
        broadcastProcess<string, string, string, string, typeof kinds, Record<string, never>>(b$, {
          name: 'order',
          state: kinds,
          broadcastState: {},
          onElement(n, ctx) {
            if (write === 'v.set') ctx.state.v.set(Number(n));
            else if (write === 'l.set') ctx.state.l.set([Number(n)]);
            else if (write === 'l.add') ctx.state.l.add(Number(n));
            else if (write === 'l.addAll') ctx.state.l.addAll([Number(n)]);
            else ctx.state.m.set('k', Number(n));
          },
          onBroadcastElement(_b, ctx) {
            const keys: Key[] = [];
            ctx.applyToKeyedState((k) => keys.push(k));
            ctx.emit(keys.join(','));
          },
        }),
      );
      h.record('1', 1, 'a').record('1', 2, 'b').record('2', 3, 'a');
      h.push2(rec('go', 4));
      expect(h.records().at(-1), write).toStrictEqual(rec('a,b', 4, undefined));
      const restored = h.restore(h.snapshot());
      restored.push2(rec('go', 5));
      expect(restored.records().at(-1), `${write}, restored`).toStrictEqual(rec('a,b', 5, undefined));
    }
  });

  it('applyToKeyedState with TTL\'d state: a key whose values all expired is not visited, and one set again after it expired comes last — at every cut of a restore as in the run that went on', () => {
    const ttlState = { last: valueState<string>({ ttl: { ms: 100 } }) };
    const visits = (r$: Observable<StreamElement<string, unknown>>) =>
      broadcastProcess<string, string, string, string, typeof ttlState, typeof broadcastState>(r$, {
        name: 'visits',
        state: ttlState,
        broadcastState,
        onElement(v, ctx) {
          ctx.state.last.set(v);
        },
        onBroadcastElement(_, ctx) {
          const seen: string[] = [];
          ctx.applyToKeyedState((k, s) => seen.push(`${String(k)}=${String(s.last.get())}`));
          ctx.emit(seen.join(','));
        },
      });
    type HV = ReturnType<typeof twoInputHarness<string, string, string, string>>;
    const steps: ((h: HV) => void)[] = [
      (h) => h.setProcessingTime(0),
      (h) => h.record('a1', 1, 'a'),
      (h) => h.setProcessingTime(50),
      (h) => h.record('b1', 2, 'b').record('c1', 3, 'c'),
      (h) => h.setProcessingTime(120), // a expired
      (h) => h.push2(rec('go', 10)),
      (h) => h.record('a2', 4, 'a'),
      (h) => h.setProcessingTime(130),
      (h) => h.push2(rec('go', 11)),
    ];
    const whole = twoInputHarness(visits);
    for (const step of steps) step(whole);
    const expected = whole.records().map((r) => r.value);
    expect(expected).toStrictEqual(['b=b1,c=c1', 'b=b1,c=c1,a=a2']);
    for (let cut = 0; cut <= steps.length; cut++) {
      const h = twoInputHarness(visits);
      for (const step of steps.slice(0, cut)) step(h);
      const restored = h.restore(h.snapshot());
      for (const step of steps.slice(cut)) step(restored);
      expect([...h.records(), ...restored.records()].map((r) => r.value), `cut ${cut}`).toStrictEqual(expected);
    }
  });

  it('a broadcast input without watermarks holds event time at MIN until it ends; then the keyed side drives it', () => {
    const h = twoInputHarness(alerts);
    h.record({ page: '/a' }, 10, 'ann').watermark(500);
    expect(h.output().filter((e) => e.kind === 'watermark')).toStrictEqual([]);
    h.push2(rec({ page: '/b', alert: 'B' } as Rule, 20)).complete2();
    expect(h.takeOutput().slice(-2)).toStrictEqual([rec('timer ann at 110, rules /b', 110, 'ann'), wm(500)]);
    h.complete();
    expect(h.takeOutput()).toStrictEqual([wm(MAX_WATERMARK)]);
    expect(h.completed).toBe(true);
  });

  it('restores the broadcast state with the keyed state and timers: a restore at every cut equals the uninterrupted run', () => {
    type HB = ReturnType<typeof twoInputHarness<Click, Rule, string, string>>;
    const steps: ((h: HB) => void)[] = [
      (h) => h.record({ page: '/a' }, 1, 'ann'),
      (h) => h.push2(rec({ page: '/a', alert: 'A' } as Rule, 2)),
      (h) => h.record({ page: '/a' }, 3, 'bob'),
      (h) => h.push2(rec({ page: '/b', alert: 'B' } as Rule, 4)),
      (h) => h.watermark(50).watermark2(60),
      (h) => h.record({ page: '/b' }, 70, 'ann'),
      (h) => h.push2(rec({ clear: 'x' } as Rule, 80)),
      (h) => h.record({ page: '/a' }, 90, 'ann'),
      (h) => h.complete().complete2(),
    ];
    const whole = twoInputHarness(alerts);
    for (const step of steps) step(whole);
    const expected = whole.output();
    expect(expected.filter((e) => e.kind === 'record').map((e) => (e as { value: string }).value)).toStrictEqual([
      'ann /a #1',
      'rule /a (1 rules, wm -Infinity)',
      'bob /a #1: A',
      'rule /b (2 rules, wm -Infinity)',
      'ann /b #2: B',
      'cleared ann,bob (x)',
      'ann /a #1: A',
      'timer ann at 101, rules /a,/b',
      'timer bob at 103, rules /a,/b',
      'timer ann at 190, rules /a,/b',
    ]);
    for (let cut = 0; cut <= steps.length; cut++) {
      const before = twoInputHarness(alerts);
      for (const step of steps.slice(0, cut)) step(before);
      const after = before.restore(before.snapshot());
      for (const step of steps.slice(cut)) step(after);
      expect([...before.output(), ...after.output()], `cut after step ${cut}`).toStrictEqual(expected);
    }
  });

  it('refuses a broadcast state that is not a mapState, or has a TTL; an unkeyed keyed-side record fails', () => {
    const bad = (broadcastState: Record<string, unknown>) => () =>
      twoInputHarness((r$: Observable<StreamElement<Rule, unknown>>) =>
        broadcastProcess(r$, { name: 'b', broadcastState: broadcastState as never, onElement() {}, onBroadcastElement() {} }),
      ).error;
    expect(bad({ rules: valueState<string>() })()).toBeInstanceOf(ConfigurationError);
    expect(String(bad({ rules: valueState<string>() })())).toContain("b: broadcast state 'rules' must be a mapState<K, V>() descriptor");
    expect(String(bad({ rules: mapState<string, string>({ ttl: { ms: 1000 } }) })())).toContain("b: broadcast state 'rules' cannot have a TTL");
    const h = twoInputHarness(alerts);
    h.push({ kind: 'record', value: { page: '/' }, timestamp: 1, key: undefined as unknown as string });
    expect(h.error).toBeInstanceOf(InvalidKeyError);
    expect((h.error as Error).message).toContain('put keyBy(...) before broadcastProcess (on its keyed input)');
  });
});

describe('broadcastProcess under parallel (in-process subtasks)', () => {
  it('every subtask receives every broadcast element: the same output as one instance', async () => {
    const { from, lastValueFrom, toArray: collect } = await import('rxjs');
    const { eventTime, keyBy, parallel, values } = await import('../operators/index.js');
    const clicks = Array.from({ length: 40 }, (_, i) => ({ user: `u${i % 7}`, page: ['/a', '/b', '/c'][i % 3] as string, at: i * 10 }));
    const rules = [{ page: '/a', alert: 'A' }, { page: '/c', alert: 'C' }];
    const spec = () =>
      broadcastProcess<Click & { user: string; at: number }, Rule, string, string, Record<never, never>, typeof broadcastState>(
        from(rules.map((r, i) => rec(r as Rule, i))),
        {
          name: 'rules',
          broadcastState,
          onElement(c, ctx) {
            const rule = ctx.broadcast.rules.get(c.page);
            if (rule !== undefined) ctx.emit(`${ctx.key} ${c.page} ${rule}`);
          },
          onBroadcastElement(r, ctx) {
            if ('page' in r) ctx.broadcast.rules.set(r.page, r.alert);
          },
        },
      );
    const keyed = () => from(clicks).pipe(eventTime((c) => c.at), keyBy((c) => c.user));
    const one = await lastValueFrom(keyed().pipe(spec(), values(), collect()));
    const two = await lastValueFrom(keyed().pipe(parallel(2, (s) => s.pipe(spec())), values(), collect()));
    expect(one.length).toBe(27);
    expect([...two].sort()).toStrictEqual([...one].sort());
  });
});
