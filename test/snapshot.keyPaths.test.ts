// The key element of a snapshot row's path (src/state/snapshotWriter.ts `writeKey`): the fast forms — number keys,
// string keys, arrays of numbers and booleans — write exactly what the general form writes (the key's encoding as a
// JSON string inside the path's JSON string), and every key restores as itself.
import fc from 'fast-check';
import { asyncScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { KeyedStateBackend } from '../src/state/backend.js';
import { valueState } from '../src/state/descriptors.js';
import { encodeValue } from '../src/state/codec.js';
import { keyIdOf } from '../src/keys/keyId.js';
import type { Key } from '../src/index.js';

/** The paths of a full snapshot's rows, parsed, by row. */
function paths(keys: readonly Key[]): unknown[][] {
  const backend = new KeyedStateBackend({ operator: 'paths', scheduler: asyncScheduler, state: { v: valueState<number>() } });
  keys.forEach((key, i) => {
    backend.setCurrent(key, keyIdOf(key));
    backend.put(0, i);
  });
  const rows = backend.snapshot(true).chunks.flatMap((c) => JSON.parse(c) as [number, string, unknown][]);
  return rows.map(([, path]) => JSON.parse(path) as unknown[]);
}

/** The key as its state holds it: -0 is 0, in a composite key too. */
const plainKey = (k: Key): Key => (Array.isArray(k) ? k.map((p) => (Object.is(p, -0) ? 0 : p)) : k);

describe('snapshot row paths: the key element', () => {
  it('is the key\'s encoding as a string, whichever form wrote it', () => {
    const keys: Key[] = [7, -3.5, 'plain', 'with "quotes" and \\ back', '[looks like an array', [1001, 1000], [-7, 0, 2147483648, 1.5e-7], [true, false, 3], [], ['eu', 3], [-0], [NaN, 1], [1n, 2]];
    expect(paths(keys).map((p) => p[4])).toStrictEqual(keys.map((k) => encodeValue(plainKey(k))));
  });

  it('property: arrays of numbers, booleans and strings', () => {
    const part = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.string(), fc.constant(-0));
    fc.assert(
      fc.property(fc.uniqueArray(fc.array(part, { maxLength: 4 }), { selector: (k) => encodeValue(plainKey(k as Key)), maxLength: 20 }), (keys) => {
        expect(paths(keys as Key[]).map((p) => p[4])).toStrictEqual(keys.map((k) => encodeValue(plainKey(k as Key))));
      }),
      { numRuns: 200 },
    );
  });
});
