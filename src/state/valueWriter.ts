import { needsEscape, type ChunkWriter } from '../checkpoints/snapshot.js';
import { hasOnlyItems, isPlainNumber } from './codec.js';
import { TrackedSet } from './trackedSet.js';

/** Deeper values are left to the codec, which detects cycles (as its plain-JSON check does). */
const MAX_DEPTH = 64;

const QUOTE = 34;
const COMMA = 44;
const COLON = 58;

/**
 * Writes the state codec's text of `v` (exactly what `encodeValue(v)` returns, docs/SEMANTICS.md §6.3) straight into a
 * snapshot chunk, where a raw row's value goes (JSON itself, not inside a string literal): no intermediate copy of the
 * value, no text of it, no second UTF-8 encoding. It writes the forms state mostly holds — plain JSON, and `Set`,
 * `Map`, `Date`, `undefined`, bigint and the non-finite numbers in their tagged forms — and returns false for anything
 * else (an object with `$`-keys or a null prototype, an array with holes or extra properties, whatever the codec would
 * refuse, a value nested deeper than 64): the caller then rewinds to where it began and takes the codec's own path,
 * which writes those forms or throws the error that names the offending part. A checkpoint of accumulators holding
 * `Set`s of numbers (Nexmark q16: 1.8 M items) is written about three times as fast as through the codec's text.
 *
 * @example
 * ```ts
 * const at = w.position;
 * if (!writeCodecJson(w, value, 0)) { w.rewind(at); w.text(encodeValue(value)); }
 * ```
 * @internal
 */
export function writeCodecJson(w: ChunkWriter, v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'number':
      if (isPlainNumber(v)) w.num(v);
      else w.ascii(Object.is(v, -0) ? '{"$n":"-0"}' : `{"$n":"${String(v)}"}`);
      return true;
    case 'string':
      writeString(w, v);
      return true;
    case 'boolean':
      w.ascii(v ? 'true' : 'false');
      return true;
    case 'undefined':
      w.ascii('{"$u":1}');
      return true;
    case 'bigint':
      w.ascii(`{"$b":"${v.toString()}"}`);
      return true;
    case 'object':
      if (v === null) {
        w.ascii('null');
        return true;
      }
      if (depth >= MAX_DEPTH) return false;
      return writeObject(w, v, depth + 1);
    default:
      return false;
  }
}

/**
 * Writes the Sets of a value in place of their plain form (`src/state/setAppends.ts`: a Set that only grew since the
 * last snapshot as what it gained). @internal
 */
export interface SetWriter {
  /**
   * Writes `set` (a plain Set or a {@link TrackedSet}, without own properties) as the codec's JSON of it or a form its
   * row allows; false: cannot.
   */
  writeSet(w: ChunkWriter, set: Set<unknown>, depth: number): boolean;
}

/** The set writer of the value being written by {@link writeCodecJsonWith}, if any. */
let setWriter: SetWriter | undefined;

/**
 * {@link writeCodecJson} with each Set of `v` (of `v` itself and of its parts, at every depth) written by `sets`.
 *
 * @example
 * ```ts
 * if (!writeCodecJsonWith(w, accumulator, 1, setAppends)) setAppends.discardRow();
 * ```
 * @internal
 */
export function writeCodecJsonWith(w: ChunkWriter, v: unknown, depth: number, sets: SetWriter): boolean {
  setWriter = sets;
  try {
    return writeCodecJson(w, v, depth);
  } finally {
    setWriter = undefined;
  }
}

/**
 * A Set in the codec's form, `{"$s":[items]}` (a {@link TrackedSet}: `{"$t":[items]}`); false (part of it written)
 * when an item is not one the direct writer writes. @internal
 */
export function writePlainSet(w: ChunkWriter, set: Set<unknown>, depth: number): boolean {
  w.ascii(set instanceof TrackedSet ? '{"$t":[' : '{"$s":[');
  if (!writeSetItems(w, set, depth)) return false;
  w.ascii(']}');
  return true;
}

/**
 * `count` items read from `reader` (a TrackedSet's whole write: its reader is left after its last item, see
 * `trackedSetReader`), comma-separated: integers by the writer's loop, the rest — from the first other item on — as
 * {@link writeSetItems} writes them; false (part of them written) when an item is not one the direct writer writes,
 * or not one `accepts` takes (an append's items: numbers, strings, booleans, null).
 *
 * @example
 * ```ts
 * w.ascii('{"$t":[');
 * if (!writeReaderItems(w, trackedSetReader(set), set.size, depth)) return false;
 * ```
 * @internal
 */
export function writeReaderItems(w: ChunkWriter, reader: Iterator<unknown>, count: number, depth: number, accepts?: (x: unknown) => boolean): boolean {
  let k = w.integerReader(reader, count);
  if (k === count) return true;
  let x = w.declinedItem;
  w.declinedItem = undefined;
  for (;;) {
    if (accepts !== undefined && !accepts(x)) return false;
    if (k > 0) w.byte(COMMA);
    if (isPlainNumber(x)) w.num(x);
    else if (!writeCodecJson(w, x, depth)) return false;
    if (++k === count) return true;
    x = reader.next().value;
  }
}

/** A string as its JSON literal (`JSON.stringify(s)`). */
function writeString(w: ChunkWriter, s: string): void {
  if (!w.asciiString(s)) writeDeclinedString(w, s);
}

/**
 * A string {@link ChunkWriter.asciiString} declined (it has a character from U+0080 on, or it is long and has characters
 * to escape) as its JSON literal.
 */
function writeDeclinedString(w: ChunkWriter, s: string): void {
  if (needsEscape(s)) {
    // (JSON.stringify escapes lone surrogates, so the text is well-formed)
    w.text(JSON.stringify(s));
    return;
  }
  w.byte(QUOTE);
  w.text(s);
  w.byte(QUOTE);
}

/** An item: numbers (most of what large collections hold) without the call through {@link writeCodecJson}. */
function writeItem(w: ChunkWriter, x: unknown, depth: number): boolean {
  if (isPlainNumber(x)) {
    w.num(x);
    return true;
  }
  return writeCodecJson(w, x, depth);
}

function writeObject(w: ChunkWriter, v: object, depth: number): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  if (Array.isArray(v)) return proto === Array.prototype && writeArray(w, v, depth);
  if (proto === Object.prototype) return writePlainObject(w, v as Record<string, unknown>, depth);
  if (proto === Set.prototype || proto === TrackedSet.prototype) {
    if (Reflect.ownKeys(v).length > 0) return false;
    return setWriter === undefined ? writePlainSet(w, v as Set<unknown>, depth) : setWriter.writeSet(w, v as Set<unknown>, depth);
  }
  if (proto === Map.prototype) {
    if (Reflect.ownKeys(v).length > 0) return false;
    w.ascii('{"$m":[');
    let first = true;
    for (const [k, x] of v as Map<unknown, unknown>) {
      w.ascii(first ? '[' : ',[');
      first = false;
      if (!writeItem(w, k, depth)) return false;
      w.byte(COMMA);
      if (!writeItem(w, x, depth)) return false;
      w.byte(93);
    }
    w.ascii(']}');
    return true;
  }
  if (proto === Date.prototype) {
    if (Reflect.ownKeys(v).length > 0) return false;
    const t = (v as Date).getTime();
    w.ascii('{"$d":');
    if (Number.isNaN(t)) w.ascii('null');
    else w.num(t);
    w.byte(125);
    return true;
  }
  return false;
}

/**
 * A Set's items, comma-separated; false (part of them written) when an item is not one the direct writer writes. (In a
 * small function of its own: inside {@link writeObject} the same loop ran about twice as slow.)
 */
function writeSetItems(w: ChunkWriter, set: Set<unknown>, depth: number): boolean {
  if (w.integerItems(set, set.size)) return true;
  let first = true;
  for (const x of set) {
    if (!first) w.byte(COMMA);
    first = false;
    // (the number case inline, not through writeItem: ≈ 10 % faster over q16's 1.8 M items)
    if (isPlainNumber(x)) w.num(x);
    else if (!writeCodecJson(w, x, depth)) return false;
  }
  return true;
}

/** A plain array (no holes, nothing but its items): its items. */
function writeArray(w: ChunkWriter, a: readonly unknown[], depth: number): boolean {
  w.byte(91);
  for (let i = 0; i < a.length; i++) {
    if (i > 0) w.byte(COMMA);
    const x = a[i];
    if (x === undefined && !Object.prototype.hasOwnProperty.call(a, i)) return false; // a hole
    if (!writeItem(w, x, depth)) return false;
  }
  w.byte(93);
  return hasOnlyItems(a);
}

/** A plain object whose properties are all enumerable data properties with keys not starting with `$`. */
function writePlainObject(w: ChunkWriter, o: Record<string, unknown>, depth: number): boolean {
  const names = Object.getOwnPropertyNames(o);
  w.byte(123);
  for (let i = 0; i < names.length; i++) {
    const k = names[i] as string;
    const d = Object.getOwnPropertyDescriptor(o, k) as PropertyDescriptor;
    // (an accessor's descriptor has no `writable`: one own property read, where `get` and `set` are two lookups that
    // miss on a data descriptor)
    if (d.writable === undefined || d.enumerable !== true || k.charCodeAt(0) === 36 /* $ */) return false;
    if (!w.key(k, i > 0)) {
      if (i > 0) w.byte(COMMA);
      writeString(w, k);
      w.byte(COLON);
    }
    // strings and numbers, what records mostly hold, without the calls through writeItem
    const x = d.value;
    if (typeof x === 'string') {
      if (!w.asciiString(x)) writeDeclinedString(w, x);
    } else if (typeof x === 'number' && x > 0 && Number.isSafeInteger(x)) w.positiveInteger(x);
    else if (!writeItem(w, x, depth)) return false;
  }
  w.byte(125);
  return Object.getOwnPropertySymbols(o).length === 0;
}
