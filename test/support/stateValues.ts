// Values as state may hold them, for property tests of the state codec and of what writes its text: fast-check's
// `anything`, with what JSON cannot say mixed in — holes, invalid Dates, null prototypes, -0, extra array
// properties, getters, non-enumerables, subclasses, `$`-keys, bigints — nested in arrays, objects, Sets and Maps.
import fc from 'fast-check';

/** An object with a null prototype holding `entries`. */
export const nullProto = (entries: Record<string, unknown>): Record<string, unknown> => Object.assign(Object.create(null) as Record<string, unknown>, entries);

/** A Date subclass: refused by the codec (it would restore as a plain Date). */
export class Stamp extends Date {}

const odd = fc.constantFrom<() => unknown>(
  () => new Date(NaN),
  () => new Date(-8.64e15),
  () => -0,
  () => new Array(3),
  // eslint-disable-next-line no-sparse-arrays
  () => [1, , 2],
  () => Object.assign([1], { extra: -0 }),
  () => nullProto({ a: undefined }),
  () => new Stamp(1),
  () => ({ get g() { return 1; } }),
  () => Object.defineProperty({}, 'n', { value: 1 }),
  () => Object.assign(new Map(), { p: 1 }),
  () => /(?<x>a)/.exec('a'),
  () => 1n,
);

const leaf = fc.oneof(odd.map((f) => f()), fc.anything({ withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withBigInt: true, withBoxedValues: true, withObjectString: true }));

/** Any value state may be asked to hold (some the codec refuses). */
export const stateValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('v'), { maxKeys: 4 }),
    fc.array(tie('v'), { maxLength: 3 }).map((xs) => new Set(xs)),
    fc.array(fc.tuple(tie('v'), tie('v')), { maxLength: 3 }).map((xs) => new Map(xs)),
    fc.array(tie('v'), { maxLength: 3 }).map((xs) => nullProto(Object.fromEntries(xs.map((x, i) => [`$${i}`, x])))),
  ),
})).v;
