/**
 * The state codec: values ⇄ strings that a store writes, portable between Node and browsers.
 * JSON, plus tagged forms for what JSON cannot say: `undefined`, NaN/±Infinity/-0, bigint, Date (invalid ones too),
 * Map, Set, {@link TrackedSet}, null-prototype objects, arrays with holes or extra properties, and objects whose own
 * keys start with `$`. Anything else is rejected with the path to the offending part, so state never changes silently
 * on restore: functions, symbols, class instances and subclasses of Array/Date/Map/Set (other than TrackedSet itself),
 * typed arrays, symbol-keyed, non-enumerable and getter/setter properties, own properties on a Date, Map or Set
 * (docs/SEMANTICS.md §6). What is not kept: whether an
 * object was frozen or sealed, which parts were shared (each reference restores as its own copy), and a getter
 * defined on an array's index (read as its value: finding one would cost a look at every item's descriptor).
 */
import { TrackedSet } from './trackedSet.js';

/**
 * Thrown by {@link encodeValue} for a value the codec cannot represent; `path` locates the offending part. A plain
 * `Error`, not a `TidewaterError`: it names no operator, and tidewater passes its own errors on unchanged — where the
 * engine meets it (a state value, a source's journal, a broadcast entry) it becomes the cause of an error naming the
 * operator, the state or the source (`StateSerializationError`, `JobError`).
 *
 * @example
 * ```ts
 * try { encodeValue({ cb: () => 1 }); } catch (e) { (e as UnserializableValueError).path; } // '.cb'
 * ```
 */
export class UnserializableValueError extends Error {
  override name = 'UnserializableValueError';
  constructor(
    readonly path: string,
    readonly offending: unknown,
    readonly reason: string,
  ) {
    super(`${reason} at ${path || '(root)'}`);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Whether `v` is a number the codec writes as plain JSON digits: finite and not -0 (those are tagged).
 *
 * @example
 * ```ts
 * isPlainNumber(1.5); // true
 * isPlainNumber(-0);  // false: written as { $n: '-0' }
 * ```
 * @internal
 */
export function isPlainNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0);
}

/**
 * Whether array `a`, whose items all read as defined, is a plain array and nothing more: of `Array.prototype`, and its
 * own properties are its items and `length` (no extra or symbol-keyed property, so no hole either). The check the
 * direct writers of arrays make before writing `a` as a JSON array.
 *
 * @example
 * ```ts
 * hasOnlyItems([1, 2]);                            // true
 * hasOnlyItems(Object.assign([1, 2], { x: 1 }));   // false: written tagged, so x survives
 * ```
 * @internal
 */
export function hasOnlyItems(a: readonly unknown[]): boolean {
  return (
    Object.getPrototypeOf(a) === Array.prototype &&
    Object.getOwnPropertyNames(a).length === a.length + 1 &&
    Object.getOwnPropertySymbols(a).length === 0
  );
}

/**
 * Sets an own property, also for the key `__proto__` (which plain assignment would treat as the prototype).
 *
 * @example
 * ```ts
 * setOwn(out, '__proto__', 1); // an own property named __proto__, as JSON.parse makes it
 * ```
 * @internal
 */
export function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** Tells why `o` (a plain object or an array) would not restore as it is, or `undefined` when it would. */
type Refusal = { key: string; reason: string };

/**
 * The keys of `o`'s own properties to encode: its enumerable string-keyed data properties (an array's `length`
 * aside). A symbol key, a non-enumerable property or an accessor would not survive a checkpoint (JSON drops the
 * first two and freezes the third into a data property), so they are refused rather than changed silently.
 */
/** An enumerable data property: what {@link encodableKeys} and {@link isPlainJson} encode (anything else is refused). */
function isEncodableProperty(d: PropertyDescriptor): boolean {
  return d.get === undefined && d.set === undefined && d.enumerable === true;
}

function encodableKeys(o: object): string[] | Refusal {
  const names = Object.getOwnPropertyNames(o);
  const isArray = Array.isArray(o);
  const keys: string[] = [];
  for (const k of names) {
    if (isArray && k === 'length') continue;
    const d = Object.getOwnPropertyDescriptor(o, k) as PropertyDescriptor;
    if (isEncodableProperty(d)) {
      keys.push(k);
      continue;
    }
    if (d.get !== undefined || d.set !== undefined) {
      return { key: k, reason: `a getter/setter property cannot be serialized (it would restore as a plain value); store the value itself` };
    }
    return { key: k, reason: `a non-enumerable property cannot be serialized (it would be lost on restore); make it enumerable or drop it` };
  }
  if (Object.getOwnPropertySymbols(o).length > 0) return { key: '', reason: 'an object with symbol keys cannot be serialized' };
  return keys;
}

function refuse(path: string, v: unknown, r: Refusal): never {
  throw new UnserializableValueError(r.key === '' ? path : `${path}.${r.key}`, v, r.reason);
}

function notPlain(path: string, v: object): never {
  const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
  throw new UnserializableValueError(
    path,
    v,
    `an instance of ${name} cannot be serialized (only plain objects, arrays, Map, Set, TrackedSet, Date and primitives restore faithfully; store plain data)`,
  );
}

/** A Date, Map or Set carries nothing but its contents: an own property would be lost on restore. */
function noOwnProperties(path: string, v: object, kind: string): void {
  const own = Reflect.ownKeys(v);
  if (own.length > 0) {
    throw new UnserializableValueError(
      path,
      v,
      `a ${kind} with own properties (${own.map((k) => String(k)).join(', ')}) cannot be serialized (they would be lost on restore); keep them beside it in a plain object`,
    );
  }
}

function entriesToJson(src: Record<string, unknown>, keys: readonly string[], path: string, seen: Set<object>): Json[] {
  return keys.map((k) => [k, toJson(src[k], `${path}.${k}`, seen)]);
}

/** A string, boolean or plain number: its own JSON (checked before a call of {@link toJson} and its path text). */
function isPlainPrimitive(x: unknown): x is string | boolean | number {
  return typeof x === 'string' || typeof x === 'boolean' || isPlainNumber(x);
}

/**
 * The index of the first item from `from` on that is not a plain primitive (`items.length` if none). The scans over a
 * Set's or Map's items live in these small functions of their own: inside {@link toJson} (large, recursive, with a
 * `finally`) the same loop ran several times slower.
 */
function firstTaggedItem(items: readonly unknown[], from: number): number {
  let i = from;
  while (i < items.length && isPlainPrimitive(items[i])) i++;
  return i;
}

/** {@link firstTaggedItem} over a Map's `[key, value]` entries: the first whose key or value is not a plain primitive. */
function firstTaggedEntry(entries: readonly (readonly [unknown, unknown])[], from: number): number {
  let i = from;
  while (i < entries.length) {
    const e = entries[i] as readonly [unknown, unknown];
    if (!isPlainPrimitive(e[0]) || !isPlainPrimitive(e[1])) break;
    i++;
  }
  return i;
}

/** The deepest nesting of objects, arrays, Maps and Sets the codec writes (docs/SEMANTICS.md §6.3). */
const MAX_NESTING = 1000;

function toJson(v: unknown, path: string, seen: Set<object>): Json {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (isPlainNumber(v)) return v;
      return { $n: Object.is(v, -0) ? '-0' : String(v) };
    case 'undefined':
      return { $u: 1 };
    case 'bigint':
      return { $b: v.toString() };
    case 'object': {
      if (v === null) return null;
      if (seen.has(v)) throw new UnserializableValueError(path, v, 'a circular reference cannot be serialized');
      // (`seen` holds the objects the value is inside: its depth. A fixed cap, not the stack here: decoding takes
      // more stack per level, so a value encoded up to the stack's end could not be restored)
      if (seen.size >= MAX_NESTING) {
        throw new UnserializableValueError(path, v, `a value nested more than ${MAX_NESTING} levels deep cannot be serialized (nest it less, e.g. an array in place of a linked list)`);
      }
      seen.add(v);
      try {
        const proto = Object.getPrototypeOf(v) as unknown;
        if (Array.isArray(v)) {
          if (proto !== Array.prototype) return notPlain(path, v);
          if (hasOnlyItems(v)) {
            // (then a hole would be made up for by an extra property: seen as an undefined item that is not own)
            const out: Json[] = new Array<Json>(v.length);
            let i = 0;
            for (; i < v.length; i++) {
              const x: unknown = v[i];
              if (x === undefined && !Object.prototype.hasOwnProperty.call(v, i)) break;
              out[i] = isPlainPrimitive(x) ? x : toJson(x, `${path}[${i}]`, seen);
            }
            if (i === v.length) return out;
          }
          // holes or extra properties: the length and the own entries, so that both come back as they were
          const keys = encodableKeys(v);
          if (!Array.isArray(keys)) return refuse(path, v, keys);
          return { $a: [v.length, entriesToJson(v as unknown as Record<string, unknown>, keys, path, seen)] };
        }
        if (proto === Object.prototype || proto === null) {
          const src = v as Record<string, unknown>;
          const keys = encodableKeys(src);
          if (!Array.isArray(keys)) refuse(path, v, keys);
          // a null-prototype object keeps its null prototype ($z); an object with `$`-keys is tagged ($o) so that
          // its keys cannot be read as a tag
          if (proto === null) return { $z: entriesToJson(src, keys, path, seen) };
          if (keys.some((k) => k.charCodeAt(0) === 36 /* $ */)) return { $o: entriesToJson(src, keys, path, seen) };
          const out: { [k: string]: Json } = {};
          for (const k of keys) {
            const x = src[k];
            setOwn(out, k, isPlainPrimitive(x) ? x : toJson(x, `${path}.${k}`, seen));
          }
          return out;
        }
        if (proto === Date.prototype) {
          noOwnProperties(path, v, 'Date');
          // an invalid Date's time is NaN, written as null: decoded back to an invalid Date
          const t = (v as Date).getTime();
          return { $d: Number.isNaN(t) ? null : t };
        }
        if (proto === Map.prototype) {
          noOwnProperties(path, v, 'Map');
          // (Array.from copies the entries in one builtin; only items that are not plain primitives are replaced)
          const out = Array.from(v as Map<unknown, unknown>) as [unknown, unknown][];
          for (let i = firstTaggedEntry(out, 0); i < out.length; i = firstTaggedEntry(out, i + 1)) {
            const entry = out[i] as [unknown, unknown];
            const k = entry[0];
            const x = entry[1];
            if (!isPlainPrimitive(k)) entry[0] = toJson(k, `${path}<key ${i}>`, seen);
            if (!isPlainPrimitive(x)) entry[1] = toJson(x, `${path}<value ${i}>`, seen);
          }
          return { $m: out as Json[] };
        }
        if (proto === Set.prototype || proto === TrackedSet.prototype) {
          const tracked = proto === TrackedSet.prototype;
          noOwnProperties(path, v, tracked ? 'TrackedSet' : 'Set');
          // (through Set.prototype.values: Array.from of a Set subclass, TrackedSet, misses V8's fast path — 4× slower)
          const out = Array.from(Set.prototype.values.call(v as Set<unknown>));
          for (let i = firstTaggedItem(out, 0); i < out.length; i = firstTaggedItem(out, i + 1)) {
            out[i] = toJson(out[i], `${path}<item ${i}>`, seen);
          }
          return tracked ? { $t: out as Json[] } : { $s: out as Json[] };
        }
        return notPlain(path, v);
      } finally {
        seen.delete(v);
      }
    }
    default:
      throw new UnserializableValueError(path, v, `a ${typeof v} cannot be serialized`);
  }
}

function setEntries(out: Record<string, unknown>, entries: [string, Json][]): void {
  for (const [k, v] of entries) setOwn(out, k, fromJson(v));
}

function fromJson(j: Json): unknown {
  if (j === null || typeof j !== 'object') return j;
  if (Array.isArray(j)) return j.map(fromJson);
  const keys = Object.keys(j);
  if (keys.length === 1) {
    const tag = keys[0] as string;
    const x = j[tag] as Json;
    switch (tag) {
      case '$u':
        return undefined;
      case '$n':
        return x === '-0' ? -0 : Number(x);
      case '$b':
        return BigInt(x as string);
      case '$d':
        return new Date(x === null ? NaN : (x as number));
      case '$m':
        return new Map((x as Json[][]).map(([k, v]) => [fromJson(k as Json), fromJson(v as Json)]));
      case '$s':
        return new Set((x as Json[]).map(fromJson));
      case '$t':
        return new TrackedSet((x as Json[]).map(fromJson));
      case '$o': {
        const out: Record<string, unknown> = {};
        setEntries(out, x as [string, Json][]);
        return out;
      }
      case '$z': {
        const out = Object.create(null) as Record<string, unknown>;
        setEntries(out, x as [string, Json][]);
        return out;
      }
      case '$a': {
        const [length, entries] = x as [number, [string, Json][]];
        const out = new Array<unknown>(length);
        setEntries(out as unknown as Record<string, unknown>, entries);
        return out;
      }
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) setOwn(out, k, fromJson(j[k] as Json));
  return out;
}

/**
 * Encodes a value to a string; throws {@link UnserializableValueError} naming the offending path.
 *
 * @example
 * ```ts
 * encodeValue({ n: 1n, at: new Date(0) }); // '{"n":{"$b":"1"},"at":{"$d":0}}'
 * ```
 */
export function encodeValue(v: unknown): string {
  // most state is plain JSON already: then JSON.stringify gives exactly what the tagged walk would, without its copy
  return isPlainJson(v, 0) ? JSON.stringify(v) : JSON.stringify(toJson(v, '', new Set()));
}

/**
 * True when `v` is JSON that the codec writes untagged: finite numbers (not -0), strings, booleans, null, arrays
 * without holes, `undefined` or other properties, and plain objects (not null-prototype) without `$`-keys, symbol
 * keys, non-enumerable or accessor properties, nested at most 64 deep (deeper or
 * possibly circular values take the tagged walk, which detects cycles).
 */
function isPlainJson(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return isPlainNumber(v);
    case 'object': {
      if (v === null) return true;
      if (depth >= 64) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!isPlainJson(v[i], depth + 1)) return false;
        return hasOnlyItems(v);
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) return false;
      // (the rule of encodableKeys, without its list of keys: the descriptor gives the value too)
      const names = Object.getOwnPropertyNames(v);
      for (let i = 0; i < names.length; i++) {
        const k = names[i] as string;
        const d = Object.getOwnPropertyDescriptor(v, k) as PropertyDescriptor;
        if (!isEncodableProperty(d) || k.charCodeAt(0) === 36 /* $ */) return false;
        if (!isPlainJson(d.value, depth + 1)) return false;
      }
      return Object.getOwnPropertySymbols(v).length === 0;
    }
    default:
      return false;
  }
}

/**
 * Decodes a string made by {@link encodeValue}.
 *
 * @example
 * ```ts
 * decodeValue(encodeValue(new Map([['a', 1]]))); // Map { 'a' => 1 }
 * ```
 */
export function decodeValue(s: string): unknown {
  return fromJson(JSON.parse(s) as Json);
}

/** {@link decodeValue} of text already parsed: `decodeParsed(JSON.parse(s))` equals `decodeValue(s)`. @internal */
export function decodeParsed(parsed: unknown): unknown {
  return fromJson(parsed as Json);
}
