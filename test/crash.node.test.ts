// Exactly-once under crashes: a checkpointed job (LevelDB store, keyed process state + windows, two-phase-commit
// NDJSON sink) is SIGKILLed at 20+ random points and restarted until it finishes; its committed output must equal an
// uninterrupted run byte for byte. `npm run crash-test` runs the long variant (200+ kills).
import { describe, expect, it } from 'vitest';
import { crashTest } from './crash/driver.js';

describe('crash test', () => {
  it('SIGKILLed at 20 random points and restarted, the job commits exactly the uninterrupted output', { timeout: 180_000 }, async () => {
    const r = await crashTest({ kills: 20, clicks: 100_000, seed: 20261124 });
    // one object, so that a failure shows every figure
    expect({
      kills: r.kills,
      killsAfterProgress: r.killsAfterProgress >= 10 ? 'at least 10' : r.killsAfterProgress,
      restoredAtEnd: r.restoredAtEnd === null ? null : 'a checkpoint',
      skipped: r.skipped,
      referenceBytes: r.referenceBytes > 100_000 ? 'over 100 000' : r.referenceBytes,
      outputBytes: r.outputBytes - r.referenceBytes,
      identical: r.identical,
    }).toStrictEqual({
      kills: 20,
      killsAfterProgress: 'at least 10',
      restoredAtEnd: 'a checkpoint',
      skipped: [],
      referenceBytes: 'over 100 000',
      outputBytes: 0,
      identical: true,
    });
  });
});
