import type { Key } from '../elements/index.js';
import { InvalidKeyError, TidewaterError, describeValue } from '../errors/index.js';
import { keyIdOf, type KeyId } from '../keys/keyId.js';
import { isKey } from '../keys/validate.js';
import { mergeSnapshots, rawPayloadOf, type OperatorSnapshot } from '../checkpoints/snapshot.js';
import { APPEND, SETS_PATCH } from '../checkpoints/deltaRows.js';
import type { Namespace } from '../timers/queue.js';
import type { KeyedStateBackend } from './backend.js';
import { decodeParsed, decodeValue } from './codec.js';
import { statePathStart } from './snapshotWriter.js';
import type { StateDescriptor, StateKind } from './descriptors.js';
import { UNDEFINED, type MapItem } from './handles.js';

/**
 * A snapshot that does not fit the operator it is restored into (unknown state name, other state kind, bad entry).
 *
 * @example
 * ```ts
 * harness(process({ name: 'op', state: { n: valueState() }, onElement() {} }), { restore: otherCheckpoint }).error;
 * ```
 */
export class StateRestoreError extends TidewaterError {
  override name = 'StateRestoreError';
}

/**
 * Restores a fresh `KeyedStateBackend` from a full snapshot, or a full snapshot followed by deltas (merged first):
 * every entry's value is decoded into the current descriptor's stored form (`fill`), timers are registered again in
 * their stored order with their registration numbers, and change tracking starts (the restored state counts as the
 * last snapshot). Only key groups accepted by `keyGroups` are taken (default: all).
 *
 * @example
 * ```ts
 * restoreBackend(backend, [full, delta1, delta2], (group) => group < 64);
 * ```
 * @internal
 */
export function restoreBackend(
  b: KeyedStateBackend,
  snapshots: OperatorSnapshot | readonly OperatorSnapshot[],
  keyGroups?: (group: number) => boolean,
  /** States of the snapshot that this operator drops instead of refusing (it has no use for them). */
  drops?: (name: string) => boolean,
): void {
  const operator = b.operator;
  const list: readonly OperatorSnapshot[] = Array.isArray(snapshots) ? snapshots : [snapshots as OperatorSnapshot];
  if (list.length === 0) return;
  const merged = list.length === 1 ? (list[0] as OperatorSnapshot) : mergeSnapshots(list);
  if (!merged.full) {
    throw new StateRestoreError(
      operator,
      merged.operator,
      `${operator}: cannot restore from an incremental snapshot alone; give the full snapshot and the deltas after it, in order.`,
    );
  }
  if (merged.maxParallelism !== b.maxParallelism) {
    throw new StateRestoreError(
      operator,
      merged.maxParallelism,
      `${operator}: snapshot has maxParallelism ${merged.maxParallelism}, operator has ${b.maxParallelism}; key groups cannot be remapped (keep maxParallelism fixed for the lifetime of the state).`,
    );
  }
  b.tracking = false;
  const now = b.now();
  const pendingTimers: { key: Key; domain: 'event' | 'processing'; ns: Namespace; ts: number; seq: number }[] = [];
  /** Entries restored into another TTL form than they were written in: (state, key id, namespace). */
  let reformed: [number, KeyId, Namespace][] | undefined;
  // `["s",<name>,<kind>,` per declared state: how the path of each of its entries starts
  const plainPrefixes = b.descriptors.map((d, j) => statePathStart(b.names[j] as string, d.kind));
  let lastState = 0;
  for (const se of merged.entries) {
    const raw = rawPayloadOf(se);
    if (raw === undefined && se.value === undefined) continue;
    if (keyGroups !== undefined && !keyGroups(se.keyGroup)) continue;
    // what most entries are — a declared state's, without a namespace or with an integer one (a window's), under a
    // plain string key, an integer or an array of integers — is read without parsing its path (what parsing gives:
    // the key's text in it read as JSON twice gives the same key)
    const p = se.path;
    let i = p.startsWith(plainPrefixes[lastState] ?? ']') ? lastState : plainPrefixes.findIndex((x) => p.startsWith(x));
    const at = i >= 0 ? (plainPrefixes[i] as string).length : -1;
    const keyAt = at >= 0 ? namespaceEnd(p, at) : -1;
    let key = keyAt >= 0 ? plainKeyOf(p, keyAt) : undefined;
    let ns: Namespace = '';
    let payload: unknown;
    if (key !== undefined) {
      lastState = i;
      if (p.charCodeAt(at) !== 34) ns = Number(p.slice(at, keyAt - 1));
      payload = raw !== undefined ? decodeParsed(raw) : decodeValue(se.value as string);
    } else {
      let path: unknown;
      try {
        path = JSON.parse(p);
      } catch {
        path = undefined;
      }
      if (!Array.isArray(path) || (path[0] !== 't' && path[0] !== 's')) {
        throw new StateRestoreError(operator, p, `${operator}: corrupt snapshot entry path ${describeValue(p)}`);
      }
      const decoded = decodeValue((path[0] === 't' ? path[1] : path[4]) as string);
      if (!isKey(decoded)) throw new InvalidKeyError(operator, decoded, p);
      key = decoded;
      payload = raw !== undefined ? decodeParsed(raw) : decodeValue(se.value as string);
      if (path[0] === 't') {
        if (isChangeRow(payload)) {
          throw new StateRestoreError(operator, p, `${operator}: the snapshot's entry ${p} changes timers that the snapshots given do not have; give the full snapshot and every delta after it, in order.`);
        }
        for (const [d, tns, ts, seq] of payload as [0 | 1, Namespace, number, number][]) {
          pendingTimers.push({ key, domain: d === 0 ? 'event' : 'processing', ns: tns, ts, seq });
        }
        continue;
      }
      const [, name, stateKind] = path as [string, string, StateKind, Namespace];
      ns = path[3] as Namespace;
      i = b.names.indexOf(name);
      if (i < 0 && drops?.(name) === true) continue;
      if (i < 0) {
        throw new StateRestoreError(
          operator,
          name,
          `${operator}: the snapshot has state '${name}' that this operator does not declare (declared: ${b.names.join(', ') || 'none'}). Declare it, or restore into the operator it came from.`,
        );
      }
      const declared = (b.descriptors[i] as StateDescriptor).kind;
      if (declared !== stateKind) {
        throw new StateRestoreError(operator, name, `${operator}: state '${name}' is a ${declared} state here but a ${stateKind} state in the snapshot.`);
      }
    }
    const d = b.descriptors[i] as StateDescriptor;
    if (isChangeRow(payload)) {
      // (mergeSnapshots folds an append or patch row into the list or map before it: one left means it was missing)
      throw new StateRestoreError(operator, p, `${operator}: the snapshot's entry ${p} changes a ${d.kind} that the snapshots given do not have; give the full snapshot and every delta after it, in order.`);
    }
    b.setCurrentKey(key);
    b.ns = ns;
    b.put(i, fill(d, payload as [0 | 1, unknown, number?], now));
    // written with TTL times and restored without, or the other way (TTL configured otherwise since): rewritten whole
    // by the next snapshot, so that the chain holds the value in its new form (a list appended to, a map patched
    // later would otherwise fold with the old form, and lose the new items' times)
    if ((payload as unknown[])[0] !== (d.ttl === undefined ? 0 : 1)) (reformed ??= []).push([i, b.id as KeyId, ns]);
  }
  pendingTimers.sort((x, y) => x.ts - y.ts || x.seq - y.seq);
  // timers keep their registration numbers: the entries of keys whose timers do not change again stay in the
  // stored chain with them, so the timers registered from now on must number after every one of them
  let nextSeq = 0;
  for (const t of pendingTimers) {
    b.setCurrentKey(t.key);
    b.timerSeq = t.seq;
    const timer = b.registerTimer(t.domain, t.ts, t.ns);
    if (timer !== undefined) b.tracker.persistTimer(timer);
    nextSeq = Math.max(nextSeq, t.seq + 1);
  }
  b.timerSeq = nextSeq;
  b.tracker.trackAfterRestore();
  if (reformed !== undefined) for (const [i, id, ns] of reformed) b.tracker.mark(i, id, ns);
  b.key = undefined;
  b.ns = '';
}

/**
 * Where the key starts in an entry's path after its namespace at `at`: past `"",` (none) or an integer and `,`; -1 for
 * any other namespace (the caller parses the path).
 */
function namespaceEnd(p: string, at: number): number {
  if (p.charCodeAt(at) === 34) return p.charCodeAt(at + 1) === 34 && p.charCodeAt(at + 2) === 44 ? at + 3 : -1;
  const k = integerEnd(p, at);
  return k >= 0 && p.charCodeAt(k) === 44 ? k + 1 : -1;
}

/**
 * The key of an entry path's tail `<key>]` (from `from` on), where `<key>` is the codec's text of the key as a JSON
 * string: a string key with nothing escaped (`"\"k\""`, the key `k`), an integer key (`"42"`) or an array of
 * integers (`"[20101,58300]"`); undefined for any other (the caller parses the path), e.g. `"\"a\\nb\""`, `"2.5"`,
 * `"[\"eu\",3]"`.
 */
function plainKeyOf(p: string, from: number): Key | undefined {
  const end = p.length - 1;
  if (p.charCodeAt(end) !== 93 || p.charCodeAt(from) !== 34 || p.charCodeAt(end - 1) !== 34) return undefined;
  const first = p.charCodeAt(from + 1);
  if (first === 92) {
    // `"\"k\""`: the key's JSON string inside the path's
    if (p.charCodeAt(from + 2) !== 34 || p.charCodeAt(end - 2) !== 34 || p.charCodeAt(end - 3) !== 92 || end - 3 < from + 3) return undefined;
    for (let k = from + 3; k < end - 3; k++) {
      const c = p.charCodeAt(k);
      if (c === 92 || c === 34 || c < 0x20) return undefined;
    }
    return p.slice(from + 3, end - 3);
  }
  if (first === 91) {
    // `"[20101,58300]"`: integers, comma-separated
    if (p.charCodeAt(end - 2) !== 93) return undefined;
    const parts: number[] = [];
    let k = from + 2;
    if (k === end - 2) return parts;
    for (;;) {
      const e = integerEnd(p, k);
      if (e < 0) return undefined;
      parts.push(Number(p.slice(k, e)));
      if (e === end - 2) return parts;
      if (p.charCodeAt(e) !== 44) return undefined;
      k = e + 1;
    }
  }
  // `"42"`, `"-7"`
  const k = integerEnd(p, from + 1);
  return k === end - 1 ? Number(p.slice(from + 1, k)) : undefined;
}

/**
 * Where the integer at `k` ends: an optional `-`, then 1–15 digits without a leading zero (but 0 itself) — a safe
 * integer, as JSON writes it; -1 for anything else.
 */
function integerEnd(p: string, k: number): number {
  const start = k;
  if (p.charCodeAt(k) === 45) k++;
  const first = k;
  while (k < p.length) {
    const c = p.charCodeAt(k);
    if (c < 48 || c > 57) break;
    k++;
  }
  const digits = k - first;
  if (digits < 1 || digits > 15 || (p.charCodeAt(first) === 48 && (digits > 1 || first > start))) return -1;
  return k;
}

/**
 * Whether a decoded payload is a change row's — append, patch, blocks or sets (its first item a flag from 2 to 8) —, not
 * a value's or timers'.
 */
function isChangeRow(payload: unknown): boolean {
  const flag = (payload as unknown[])[0];
  return typeof flag === 'number' && flag >= APPEND && flag <= SETS_PATCH;
}

/** The stored form of a snapshot payload under the current descriptor (TTL added or removed since is handled). */
function fill(d: StateDescriptor, payload: [0 | 1, unknown, number?], now: number): unknown {
  const [hadTtl, data] = payload;
  const ttl = d.ttl !== undefined;
  switch (d.kind) {
    case 'list': {
      const items = data as unknown[];
      if (ttl) return hadTtl ? (items as [unknown, number][]).map(([x, t]) => ({ v: x, t })) : items.map((x) => ({ v: x, t: now }));
      return hadTtl ? (items as [unknown, number][]).map(([x]) => x) : items;
    }
    case 'map': {
      const m = new Map<KeyId, MapItem<Key, unknown>>();
      for (const [k, x, t] of data as [Key, unknown, number?][]) m.set(keyIdOf(k), { k, v: x, t: hadTtl && t !== undefined ? t : now });
      return m;
    }
    default: {
      const raw = data === undefined ? UNDEFINED : data;
      return ttl ? { v: raw, t: hadTtl ? (payload[2] ?? now) : now } : raw;
    }
  }
}
