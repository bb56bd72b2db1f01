import type { Observable, Observer, OperatorFunction } from 'rxjs';
import type { Key, OutputTag, StreamElement, StreamRecord } from '../src/elements/index.js';
import type { CoreArgs } from '../src/core/keyedOperator.js';
import { checkSpec, EmittingContext, ProcessContextImpl, ProcessCoreBase, type ProcessContext, type ProcessContextHost, type TimerContext } from '../src/core/processContext.js';
import { twoInputOperator } from '../src/core/twoInputOperator.js';
import { ConfigurationError, describeValue } from '../src/errors/index.js';
import { isKey } from '../src/keys/validate.js';
import { keyIdOf } from '../src/keys/keyId.js';
import { encodeValue, UnserializableValueError } from '../src/state/codec.js';
import { StateSerializationError } from '../src/state/snapshotWriter.js';
import type { MapStateDescriptor, StateDescriptor, StateHandles } from '../src/state/descriptors.js';

/**
 * The declared broadcast states: name → `mapState<K, V>()` descriptor (not keyed: one copy per operator instance).
 *
 * @example
 * ```ts
 * const broadcastState = { rules: mapState<string, Rule>() } satisfies BroadcastStateDescriptors;
 * ```
 */
export type BroadcastStateDescriptors = Record<string, MapStateDescriptor<Key, unknown>>;

/**
 * A broadcast state as the keyed side sees it: read only (Flink's `ReadOnlyBroadcastState`).
 *
 * @example
 * ```ts
 * const rule = ctx.broadcast.rules.get(click.page);
 * ```
 */
export interface ReadOnlyBroadcastState<MK extends Key, MV> {
  get(key: MK): MV | undefined;
  has(key: MK): boolean;
  entries(): [MK, MV][];
  keys(): MK[];
  values(): MV[];
  readonly size: number;
}

/**
 * A broadcast state as the broadcast side sees it: writable (Flink's `BroadcastState`).
 *
 * @example
 * ```ts
 * ctx.broadcast.rules.set(rule.page, rule);
 * ```
 */
export interface BroadcastState<MK extends Key, MV> extends ReadOnlyBroadcastState<MK, MV> {
  set(key: MK, value: MV): void;
  /** Removes an entry; true when it existed. */
  delete(key: MK): boolean;
  clear(): void;
}

type Views<BS extends BroadcastStateDescriptors, W extends boolean> = {
  readonly [N in keyof BS]: BS[N] extends MapStateDescriptor<infer MK, infer MV> ? (W extends true ? BroadcastState<MK, MV> : ReadOnlyBroadcastState<MK, MV>) : never;
};

/**
 * What `onElement` (and `onTimer`) of `broadcastProcess` see: `process`'s context plus the broadcast states, read only.
 *
 * @example
 * ```ts
 * onElement(click, ctx) { if (ctx.broadcast.rules.has(click.page)) ctx.emit(click); }
 * ```
 */
export interface KeyedBroadcastContext<K, S extends Record<string, StateDescriptor>, R, BS extends BroadcastStateDescriptors> extends ProcessContext<K, S, R> {
  readonly broadcast: Views<BS, false>;
}

/**
 * What `onBroadcastElement` sees: no key and no timers; the broadcast states writable; the keyed state of every key
 * through `applyToKeyedState`.
 *
 * @example
 * ```ts
 * onBroadcastElement(rule, ctx) {
 *   ctx.broadcast.rules.set(rule.page, rule);
 *   ctx.applyToKeyedState((user, state) => state.alerts.clear());
 * }
 * ```
 */
export interface BroadcastSideContext<S extends Record<string, StateDescriptor>, R, BS extends BroadcastStateDescriptors> {
  /** The broadcast record's timestamp. */
  readonly timestamp: number;
  readonly currentWatermark: number;
  readonly currentProcessingTime: number;
  readonly broadcast: Views<BS, true>;
  /** Emits a record with the broadcast record's key (usually none); timestamp defaults to the broadcast record's. */
  emit(value: R, timestamp?: number): void;
  /** Sends a value to a side output (a tag: stamped with the broadcast record's timestamp; or an observer). */
  output<X>(side: OutputTag<X> | Observer<X>, value: X): void;
  /**
   * Calls `fn(key, state)` for every key with a value in the declared keyed state, `state` scoped to that key: state
   * by state in declaration order, each in the order its current values were created.
   */
  applyToKeyedState(fn: (key: Key, state: StateHandles<S>) => void): void;
}

/**
 * The definition of a keyed broadcast process function (Flink's `KeyedBroadcastProcessFunction`).
 *
 * @example
 * ```ts
 * const spec: BroadcastProcessSpec<Click, Rule, string, Alert, {}, { rules: MapStateDescriptor<string, Rule> }> = {
 *   name: 'alerts',
 *   broadcastState: { rules: mapState<string, Rule>() },
 *   onElement(c, ctx) { const r = ctx.broadcast.rules.get(c.page); if (r !== undefined) ctx.emit({ user: ctx.key, rule: r.id }); },
 *   onBroadcastElement(r, ctx) { ctx.broadcast.rules.set(r.page, r); },
 * };
 * ```
 */
export interface BroadcastProcessSpec<T, B, K, R, S extends Record<string, StateDescriptor>, BS extends BroadcastStateDescriptors> {
  /** Stable id of this operator's state in checkpoints; defaults to its position (`broadcastProcess#0`, …). */
  readonly name?: string;
  /** Keyed state declarations (of the keyed input). */
  readonly state?: S;
  /** The broadcast states: `{ rules: mapState<string, Rule>() }` (no TTL: they are not keyed). */
  readonly broadcastState: BS;
  onElement(value: T, ctx: KeyedBroadcastContext<K, S, R, BS>): void;
  onBroadcastElement(value: B, ctx: BroadcastSideContext<S, R, BS>): void;
  onTimer?(timestamp: number, ctx: TimerContext<K, S, R> & { readonly broadcast: Views<BS, false> }): void;
}

/** One broadcast state: a `Map` with keys compared by value (through key ids), insertion-ordered. */
class BroadcastMap implements BroadcastState<Key, unknown> {
  readonly entriesById = new Map<unknown, [Key, unknown]>();
  constructor(
    private readonly operator: string,
    private readonly stateName: string,
  ) {}
  get(key: Key): unknown {
    return this.entriesById.get(this.idOf(key))?.[1];
  }
  has(key: Key): boolean {
    return this.entriesById.has(this.idOf(key));
  }
  entries(): [Key, unknown][] {
    return [...this.entriesById.values()].map(([k, v]) => [k, v]);
  }
  keys(): Key[] {
    return [...this.entriesById.values()].map(([k]) => k);
  }
  values(): unknown[] {
    return [...this.entriesById.values()].map(([, v]) => v);
  }
  get size(): number {
    return this.entriesById.size;
  }
  set(key: Key, value: unknown): void {
    this.entriesById.set(this.idOf(key), [key, value]);
  }
  delete(key: Key): boolean {
    return this.entriesById.delete(this.idOf(key));
  }
  clear(): void {
    this.entriesById.clear();
  }
  private idOf(key: Key): unknown {
    if (!isKey(key)) {
      throw new ConfigurationError(this.operator, key, `${this.operator}: broadcast state '${this.stateName}': ${describeValue(key)} is not a valid map key; use a string, number, boolean, bigint or an array of them.`);
    }
    return keyIdOf(key);
  }
}

/** The read-only view the keyed side gets of a broadcast state. */
class ReadOnlyView implements ReadOnlyBroadcastState<Key, unknown> {
  constructor(private readonly map: BroadcastMap) {}
  get(key: Key): unknown {
    return this.map.get(key);
  }
  has(key: Key): boolean {
    return this.map.has(key);
  }
  entries(): [Key, unknown][] {
    return this.map.entries();
  }
  keys(): Key[] {
    return this.map.keys();
  }
  values(): unknown[] {
    return this.map.values();
  }
  get size(): number {
    return this.map.size;
  }
}

/** `process`'s context with the read-only broadcast views (records and timers of the keyed side). */
class KeyedSideContext<K, S extends Record<string, StateDescriptor>, R, BS extends BroadcastStateDescriptors> extends ProcessContextImpl<K, S, R> {
  constructor(
    host: ProcessContextHost,
    readonly broadcast: Views<BS, false>,
  ) {
    super(host);
  }
}

class BroadcastCore<T, B, K, R, S extends Record<string, StateDescriptor>, BS extends BroadcastStateDescriptors> extends ProcessCoreBase<T | B, K, R, S> {
  private readonly maps: Map<string, BroadcastMap>;
  private readonly sideCtx: BroadcastSideContextImpl<S, R, BS>;

  constructor(
    args: CoreArgs<R>,
    private readonly spec: BroadcastProcessSpec<T, B, K, R, S, BS>,
  ) {
    const maps = new Map<string, BroadcastMap>();
    for (const [name, d] of Object.entries(spec.broadcastState ?? {})) {
      if (d?.kind !== 'map') throw new ConfigurationError(args.name, d, `${args.name}: broadcast state '${name}' must be a mapState<K, V>() descriptor, got ${describeValue(d)}.`);
      if (d.ttl !== undefined) throw new ConfigurationError(args.name, d, `${args.name}: broadcast state '${name}' cannot have a TTL: it is not keyed (Flink's broadcast state has none either).`);
      maps.set(name, new BroadcastMap(args.name, name));
    }
    const readOnly = Object.fromEntries([...maps].map(([name, m]) => [name, new ReadOnlyView(m)])) as unknown as Views<BS, false>;
    super(args, spec.state, spec as never, (host) => new KeyedSideContext<K, S, R, BS>(host, readOnly));
    this.maps = maps;
    this.unkeyedInput = 1;
    this.sideCtx = new BroadcastSideContextImpl<S, R, BS>(this, Object.fromEntries(maps) as unknown as Views<BS, true>);
  }

  protected onRecord(r: StreamRecord<T | B, Key>): void {
    if (this.currentInput === 0) {
      this.spec.onElement(r.value as T, this.contextOf(r) as unknown as KeyedBroadcastContext<K, S, R, BS>);
      return;
    }
    const ctx = this.sideCtx;
    ctx.timestamp = r.timestamp;
    ctx.key = r.key;
    this.spec.onBroadcastElement(r.value as B, ctx);
  }

  /** Every key with keyed state, the backend's cursor on it while `fn` runs. */
  forEachKey(fn: (key: Key, state: StateHandles<S>) => void): void {
    const b = this.backend;
    for (const key of b.keysWithState()) {
      b.setCurrentKey(key);
      fn(key, b.handles as StateHandles<S>);
    }
  }

  protected override operatorState(): unknown {
    return [...this.maps].map(([name, m]) => [name, m.entries()]);
  }

  /** The broadcast state and entry whose value the codec refused (docs/SEMANTICS.md §6.3). */
  protected override operatorStateError(err: UnserializableValueError): Error {
    for (const [name, m] of this.maps) {
      for (const [key, value] of m.entries()) {
        try {
          encodeValue(value);
        } catch (e) {
          if (e instanceof UnserializableValueError) return new StateSerializationError(this.name, undefined, name, value, e, `broadcast state '${name}', entry ${describeValue(key)},`);
        }
      }
    }
    return super.operatorStateError(err);
  }

  protected override restoreOperatorState(state: unknown): void {
    for (const [name, entries] of state as [string, [Key, unknown][]][]) {
      const m = this.maps.get(name);
      if (m === undefined) continue; // a broadcast state no longer declared
      m.clear();
      for (const [k, v] of entries) m.set(k, v);
    }
  }

  protected override kindLabel(): string {
    return 'broadcastProcess (on its keyed input)';
  }
}

/** The reused context of the broadcast side. */
class BroadcastSideContextImpl<S extends Record<string, StateDescriptor>, R, BS extends BroadcastStateDescriptors> extends EmittingContext<Key, R> implements BroadcastSideContext<S, R, BS> {
  constructor(
    private readonly broadcastCore: BroadcastCore<unknown, unknown, unknown, R, S, BS>,
    readonly broadcast: Views<BS, true>,
  ) {
    super(broadcastCore);
  }
  readonly applyToKeyedState = (fn: (key: Key, state: StateHandles<S>) => void): void => {
    this.broadcastCore.forEachKey(fn);
  };
}

/**
 * Connects a keyed stream with a broadcast stream (Flink's broadcast state pattern, `KeyedBroadcastProcessFunction`):
 * every element of `broadcast$` (rules, configuration; unkeyed) reaches the operator, whatever the key, and updates
 * the broadcast states; the keyed stream's records see them read only, with their own keyed state and timers.
 * Rules (docs/SEMANTICS.md §10.1, §10.6):
 *
 * - elements are handled in arrival order across both inputs: a keyed record sees the broadcast state as every
 *   broadcast element before it left it; nothing is buffered (a record that comes before its rule does not see it);
 *   `broadcast$` is subscribed first, so rules from a synchronous source (an array) arrive before any keyed record;
 * - `onBroadcastElement` has no key and no timers; `ctx.applyToKeyedState(fn)` visits every key's keyed state;
 * - outputs carry the keyed record's timestamp, the broadcast record's, or the timer's;
 * - the watermark is the minimum over both inputs: a broadcast input without watermarks holds it at MIN until it
 *   ends (then the keyed side's watermarks alone drive time) or goes idle;
 * - the broadcast states are in checkpoints under `name` with the keyed state; on a restore every instance gets them.
 *
 * @example
 * ```ts
 * import { mapState } from 'tidewater';
 * import { broadcastProcess, keyBy } from 'tidewater/operators';
 *
 * const broadcastState = { limits: mapState<string, number>() };
 * payments$.pipe(
 *   keyBy((p) => p.country),
 *   broadcastProcess<Payment, Limit, string, string, {}, typeof broadcastState>(limits$, {
 *     name: 'limits',
 *     broadcastState,
 *     onElement(p, ctx) {
 *       const limit = ctx.broadcast.limits.get(ctx.key);
 *       if (limit !== undefined && p.amount > limit) ctx.emit(`${p.id} over ${limit}`);
 *     },
 *     onBroadcastElement(l, ctx) {
 *       ctx.broadcast.limits.set(l.country, l.max);
 *     },
 *   }),
 * );
 * ```
 */
export function broadcastProcess<T, B, K, R = unknown, S extends Record<string, StateDescriptor> = Record<never, never>, BS extends BroadcastStateDescriptors = BroadcastStateDescriptors>(
  broadcast$: Observable<StreamElement<B, unknown>>,
  spec: BroadcastProcessSpec<T, B, K, R, S, BS>,
): OperatorFunction<StreamElement<T, K>, StreamElement<R, K>> {
  checkSpec('broadcastProcess', spec, ['onElement', 'onBroadcastElement'], ['onTimer'], 'broadcast$, ');
  return twoInputOperator<T, B, K, R>('broadcastProcess', spec.name, broadcast$ as Observable<StreamElement<B, K>>, 'operator', (args) => new BroadcastCore<T, B, K, R, S, BS>(args, spec), true);
}
