import { asyncScheduler } from 'rxjs';
import { generateNexmark, type Bid } from './nexmark/generator.js';
import { KeyedStateBackend } from '../src/state/backend.js';
import { valueState, type StateDescriptor } from '../src/state/descriptors.js';
import { keyIdOf } from '../src/keys/keyId.js';
import { TrackedSet, type Key } from '../src/index.js';
import { measure, table, type Result } from './harness.js';
import { CHUNK_CHARS } from '../src/checkpoints/snapshot.js';

/**
 * `npm run bench -- snapshots`: a keyed operator's full snapshot (what a checkpoint writes: every entry packed into
 * ~256 KB JSON chunks, `src/state/snapshotWriter.ts`) and its restore, over state of the shapes the Nexmark queries
 * keep, against a hand-written loop doing the least that holds the same information: `JSON.stringify([keyGroup, key,
 * value])` per entry, joined into chunks of the same size (and for the restore `JSON.parse` of those chunks, each value
 * put in a `Map` by its key).
 *
 * - `top-10 bids`: per auction an array of its 10 highest bids (q19; ≈ 2.4 KB per entry);
 * - `bid per [bidder, auction]`: one bid per composite key (q18; ≈ 250 B);
 * - `count per string key`: a number per `user-<i>` (a keyed count; ≈ 10 B);
 * - `accumulator with Sets`: per channel an object holding counts and two Sets of ids (q16's distinct counts, tagged
 *   by the codec); the same with `TrackedSet`s (no copy of their items kept for the next checkpoint).
 */
export function snapshotsBench(): { report: string; results: Result[][] } {
  const bids = generateNexmark({ events: 600_000, rate: 10_000 }).filter((e): e is Bid => e.type === 'bid');
  const shapes: { name: string; entries: [Key, unknown][] }[] = [
    { name: 'top-10 bids (q19)', entries: Array.from({ length: Math.floor(bids.length / 10) }, (_, i) => [i, bids.slice(10 * i, 10 * i + 10).map((b) => ({ ...b }))]) },
    { name: 'bid per [bidder, auction] (q18)', entries: bids.slice(0, 200_000).map((b, i) => [[b.bidder, b.auction + i], { ...b }]) },
    { name: 'count per string key', entries: Array.from({ length: 500_000 }, (_, i) => [`user-${i}`, i % 1000]) },
    {
      name: 'accumulator with Sets (q16)',
      entries: Array.from({ length: 2_000 }, (_, i) => [
        `channel-${i}`,
        { bids: i, total: i * 7, bidders: new Set(Array.from({ length: 200 }, (_, j) => i * 1000 + j)), auctions: new Set(Array.from({ length: 100 }, (_, j) => j * 3 + i)) },
      ]),
    },
    {
      name: 'accumulator with TrackedSets (q16)',
      entries: Array.from({ length: 2_000 }, (_, i) => [
        `channel-${i}`,
        { bids: i, total: i * 7, bidders: new TrackedSet(Array.from({ length: 200 }, (_, j) => i * 1000 + j)), auctions: new TrackedSet(Array.from({ length: 100 }, (_, j) => j * 3 + i)) },
      ]),
    },
  ];
  const sections: string[] = [];
  const all: Result[][] = [];
  for (const shape of shapes) {
    const state: Record<string, StateDescriptor> = { v: valueState<unknown>() };
    const backend = new KeyedStateBackend({ operator: 'bench', scheduler: asyncScheduler, state });
    for (const [key, value] of shape.entries) {
      backend.setCurrent(key, keyIdOf(key));
      backend.put(0, value);
    }
    const snapshot = backend.snapshot(true);
    const bytes = snapshot.chunks.reduce((n, c) => n + c.length, 0);
    // the hand-written loop: one JSON text per entry (a Set as its items), joined into chunks of the same size
    // (a Set's items through `Set.prototype.values`: spreading a Set subclass, TrackedSet, misses V8's fast path)
    const plain = (v: unknown): unknown => (v instanceof Set ? [...(Set.prototype.values.call(v) as IterableIterator<unknown>)] : v);
    const loopChunks = (): string[] => {
      const chunks: string[] = [];
      let rows: string[] = [];
      let size = 0;
      for (const [key, value] of shape.entries) {
        const v = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).map(([k, x]) => [k, plain(x)])) : value;
        const row = JSON.stringify([0, key, v]);
        rows.push(row);
        size += row.length;
        if (size >= CHUNK_CHARS) {
          chunks.push(`[${rows.join(',')}]`);
          rows = [];
          size = 0;
        }
      }
      if (rows.length > 0) chunks.push(`[${rows.join(',')}]`);
      return chunks;
    };
    const loopText = loopChunks();
    const n = shape.entries.length;
    const write = measure(n, [
      { name: 'snapshot (tidewater)', run: () => backend.snapshot(true).count },
      { name: 'hand-written loop', run: () => loopChunks().length },
    ], 5);
    const read = measure(n, [
      {
        name: 'restore (tidewater)',
        run: () => {
          const b = new KeyedStateBackend({ operator: 'bench', scheduler: asyncScheduler, state: { v: valueState<unknown>() } });
          b.restore(snapshot);
          return b.allKeys().length;
        },
      },
      {
        name: 'hand-written loop',
        run: () => {
          // the rows parsed and their values put in a Map by key (a composite key by its text)
          const m = new Map<unknown, unknown>();
          for (const c of loopText) for (const [, key, value] of JSON.parse(c) as [number, Key, unknown][]) m.set(typeof key === 'object' ? JSON.stringify(key) : key, value);
          return m.size;
        },
      },
    ], 5);
    all.push(write, read);
    sections.push(
      table(`${shape.name}: full snapshot, ${n.toLocaleString('en')} entries, ${(bytes / 1e6).toFixed(1)} MB of chunks (entries/s)`, write, 'hand-written loop'),
      table(`${shape.name}: restore (entries/s)`, read, 'hand-written loop'),
    );
  }
  return { report: sections.join('\n\n'), results: all };
}
