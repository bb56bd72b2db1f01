// Exactly-once under crashes: a checkpointed job (LevelDB store, keyed process state + windows, two-phase-commit
// NDJSON sink) is SIGKILLed at 20+ random points and restarted until it finishes; its committed output must equal an
// uninterrupted run byte for byte. `npm run crash-test` runs the long variant (200+ kills).
import { describe, expect, it } from 'vitest';
import { crashTest } from './crash/driver.js';

describe('crash test', () => {
  it('SIGKILLed at 20 random points and restarted, the job commits exactly the uninterrupted output', { timeout: 180_000 }, async () => {
    const r = await crashTest({ kills: 20, clicks: 100_000, seed: 20261124 });
    expect(r.kills).toBeGreaterThanOrEqual(20);
    expect(r.killsAfterProgress).toBeGreaterThanOrEqual(10);
    expect(r.restoredAtEnd).not.toBeNull();
    expect(r.referenceBytes).toBeGreaterThan(100_000);
    expect(r.skipped).toStrictEqual([]);
    expect(r.outputBytes).toBe(r.referenceBytes);
    expect(r.identical).toBe(true);
  });
});
