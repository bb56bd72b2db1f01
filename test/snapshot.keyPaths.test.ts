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

/** Every key's value after a full snapshot of `keys` (key i holding i) restored into a new backend, in key order. */
function restored(keys: readonly Key[]): [Key, unknown][] {
  const state = { v: valueState<number>() };
  const backend = new KeyedStateBackend({ operator: 'paths', scheduler: asyncScheduler, state });
  keys.forEach((key, i) => {
    backend.setCurrent(key, keyIdOf(key));
    backend.put(0, i);
  });
  const again = new KeyedStateBackend({ operator: 'paths', scheduler: asyncScheduler, state });
  // through JSON, as a store gives it back (its entries' paths and values as text)
  again.restore(JSON.parse(JSON.stringify(backend.snapshot(true))));
  return again.allKeys().map((key) => {
    again.setCurrent(key, keyIdOf(key));
    return [key, again.get(0)];
  });
}

/** The key as its state holds it: -0 is 0, in a composite key too. */
const plainKey = (k: Key): Key => (Array.isArray(k) ? k.map((p) => (Object.is(p, -0) ? 0 : p)) : Object.is(k, -0) ? 0 : k);

describe('snapshot row paths: the key element', () => {
  it('is the key\'s encoding as a string, whichever form wrote it', () => {
    const keys: Key[] = [7, -3.5, 'plain', 'with "quotes" and \\ back', '[looks like an array', [1001, 1000], [-7, 0, 2147483648, 1.5e-7], [true, false, 3], [], ['eu', 3], [-0], [NaN, 1], [1n, 2]];
    expect(paths(keys).map((p) => p[4])).toStrictEqual(keys.map((k) => encodeValue(plainKey(k))));
  });

  it('is the text JSON.stringify gives the whole path, character for character (nothing escaped that need not be)', () => {
    const keys: Key[] = [7, -3.5, 1e21, '', 'plain', 'é ✓ \u{1F600}', '\u007f', 'with "quotes" and \\ back', 'new\nline', '\u0000nul', '[looks like an array', [1001, 1000], ['eu', 3], []];
    const backend = new KeyedStateBackend({ operator: 'paths', scheduler: asyncScheduler, state: { v: valueState<number>() } });
    keys.forEach((key, i) => {
      backend.setCurrent(key, keyIdOf(key));
      backend.put(0, i);
    });
    const rows = backend.snapshot(true).chunks.flatMap((c) => JSON.parse(c) as [number, string, unknown][]);
    expect(rows.map(([, path]) => path)).toStrictEqual(keys.map((k) => JSON.stringify(['s', 'v', 'value', '', encodeValue(k)])));
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

describe('snapshot row paths: every key restores as itself', () => {
  // (a string or integer key is read from its path without parsing it, src/state/restore.ts `plainKeyOf`; the rest
  // by parsing: both must give the key the snapshot wrote)
  const cases: Key[] = ['plain', '', 'é ünïcode ✓', '\u{1F600}', 'with "quotes"', 'back\\slash', 'new\nline', '\u0000nul first', '[looks like an array', '\u007f', 0, 7, -3, 42, 100, -100, 123456789012345, 1234567890123456, 2 ** 53, -(2 ** 53) + 1, 2.5, -0.125, 1e21, [1001, 1000], ['eu', 3], [], [true], 1n];

  it('strings with and without characters to escape, integers small and large, other numbers, arrays, bigints', () => {
    expect(restored(cases)).toStrictEqual(cases.map((k, i) => [k, i]));
  });

  it('under namespaces (integers, as windows have, and others): each entry in its own', () => {
    const state = { v: valueState<number>() };
    const backend = new KeyedStateBackend({ operator: 'paths', scheduler: asyncScheduler, state });
    const namespaces = ['', 0, 7, -3, 10 ** 15, 2.5, -0.5, 'w', '', 1e21];
    const at = (b: KeyedStateBackend, key: Key, ns: string | number): void => {
      b.setCurrent(key, keyIdOf(key));
      b.ns = ns;
    };
    namespaces.forEach((ns, i) => {
      at(backend, 'k', ns);
      backend.put(0, i);
      at(backend, i, ns);
      backend.put(0, -i);
    });
    const again = new KeyedStateBackend({ operator: 'paths', scheduler: asyncScheduler, state });
    again.restore(JSON.parse(JSON.stringify(backend.snapshot(true))));
    // (the second '' holds what was put last there)
    expect(
      namespaces.map((ns, i) => {
        at(again, 'k', ns);
        const a = again.get(0);
        at(again, i, ns);
        return [a, again.get(0)];
      }),
    ).toStrictEqual(namespaces.map((ns, i) => [ns === '' ? 8 : i, -i]));
  });

  it('a path the writer does not make fails the restore as a parse of it does, or restores as one does', () => {
    const state = { v: valueState<number>() };
    const restoreRow = (path: string) => {
      const again = new KeyedStateBackend({ operator: 'paths', scheduler: asyncScheduler, state });
      again.restore({ operator: 'paths', full: true, maxParallelism: 128, entries: [{ keyGroup: 0, path, value: '[0,5]' }] });
      return again.allKeys();
    };
    for (const bad of ['["s","v","value",01,"\\"k\\""]', '["s","v","value","","\\"k\\""', '["s","v","value","","\\"k"x\\""]', '["s","v","value","","007"]', '["s","v","value","","[01,2]"]', '["s","v","value","","[1,,2]"]', '["s","v","value","","[1,2"]', '["s","v","value","","[1,2]x"]']) {
      expect(() => restoreRow(bad), bad).toThrow();
    }
    // parsed as JSON, these are keys: -0 (held as 0), 15 digits, a namespace of 15 digits
    expect(restoreRow('["s","v","value","","-0"]')).toStrictEqual([0]);
    expect(restoreRow('["s","v","value","","999999999999999"]')).toStrictEqual([999999999999999]);
    expect(restoreRow('["s","v","value",999999999999999,"\\"k\\""]')).toStrictEqual(['k']);
    expect(restoreRow('["s","v","value","","[-7,0,999999999999999]"]')).toStrictEqual([[-7, 0, 999999999999999]]);
    expect(restoreRow('["s","v","value","","[]"]')).toStrictEqual([[]]);
  });

  it('property: strings of any characters, integers, doubles and arrays of them', () => {
    const key = fc.oneof(fc.string({ unit: 'binary' }), fc.string(), fc.integer({ min: -1e6, max: 1e6 }), fc.maxSafeInteger(), fc.double({ noNaN: true }), fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 3 }));
    fc.assert(
      fc.property(fc.uniqueArray(key, { selector: (k) => encodeValue(plainKey(k as Key)), maxLength: 20 }), (keys) => {
        const held = (keys as Key[]).map(plainKey);
        expect(restored(held)).toStrictEqual(held.map((k, i) => [k, i]));
      }),
      { numRuns: 200 },
    );
  });
});
