/**
 * The state codec: values ⇄ strings that a store writes, portable between Node and browsers.
 * JSON, plus tagged forms for what JSON cannot say: `undefined`, NaN/±Infinity/-0, bigint, Date, Map, Set, and
 * objects whose own keys start with `$`. Anything else (functions, symbols, class instances, typed arrays …) is
 * rejected with the path to the offending part, so state never changes shape silently on restore.
 */

/**
 * Thrown by {@link encodeValue} for a value the codec cannot represent; `path` locates the offending part.
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

/** Sets an own property, also for the key `__proto__` (which plain assignment would treat as the prototype). */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

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
      seen.add(v);
      try {
        if (Array.isArray(v)) {
          const out: Json[] = new Array<Json>(v.length);
          for (let i = 0; i < v.length; i++) out[i] = toJson(v[i], `${path}[${i}]`, seen);
          return out;
        }
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto === Object.prototype || proto === null) {
          const src = v as Record<string, unknown>;
          let dollar = false;
          const out: { [k: string]: Json } = {};
          for (const k of Object.keys(src)) {
            if (k.charCodeAt(0) === 36 /* $ */) dollar = true;
            setOwn(out, k, toJson(src[k], `${path}.${k}`, seen));
          }
          if (Object.getOwnPropertySymbols(src).length > 0) {
            throw new UnserializableValueError(path, v, 'an object with symbol keys cannot be serialized');
          }
          return dollar ? { $o: Object.entries(out).map(([k, x]) => [k, x]) } : out;
        }
        if (v instanceof Date) return { $d: v.getTime() };
        if (v instanceof Map) {
          const out: Json[] = [];
          let i = 0;
          for (const [k, x] of v) {
            out.push([toJson(k, `${path}<key ${i}>`, seen), toJson(x, `${path}<value ${i}>`, seen)]);
            i++;
          }
          return { $m: out };
        }
        if (v instanceof Set) {
          const out: Json[] = [];
          let i = 0;
          for (const x of v) out.push(toJson(x, `${path}<item ${i++}>`, seen));
          return { $s: out };
        }
        const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
        throw new UnserializableValueError(
          path,
          v,
          `an instance of ${name} cannot be serialized (only plain objects, arrays, Map, Set, Date and primitives restore faithfully; store plain data)`,
        );
      } finally {
        seen.delete(v);
      }
    }
    default:
      throw new UnserializableValueError(path, v, `a ${typeof v} cannot be serialized`);
  }
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
        return new Date(x as number);
      case '$m':
        return new Map((x as Json[][]).map(([k, v]) => [fromJson(k as Json), fromJson(v as Json)]));
      case '$s':
        return new Set((x as Json[]).map(fromJson));
      case '$o': {
        const out: Record<string, unknown> = {};
        for (const [k, v] of x as [string, Json][]) setOwn(out, k, fromJson(v));
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
 * without holes or `undefined`, and plain objects without `$`-keys or symbol keys, nested at most 64 deep (deeper or
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
        return true;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) if (k.charCodeAt(0) === 36 /* $ */ || !isPlainJson(o[k], depth + 1)) return false;
      return Object.getOwnPropertySymbols(o).length === 0;
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
