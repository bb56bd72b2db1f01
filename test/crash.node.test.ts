// Exactly-once under crashes: a checkpointed job (LevelDB store, keyed process state + windows, two-phase-commit
// NDJSON sink) is SIGKILLed at 20+ random points and restarted until it finishes; its committed output must equal an
// uninterrupted run byte for byte. The same with the job's keyed part in 2 worker threads
// (`parallel(2, keyedPipeline, { worker })`, the threads dying with the process). `npm run crash-test` runs the long
// variants (200+ kills; `-- 200 <seed> --threads` for the thread mode).
import { describe, expect, it } from 'vitest';
import { crashTest, type CrashReport } from './crash/driver.js';

/** The figures of a crash test, in one object so that a failure shows every one of them. */
function figures(r: CrashReport, minOutput: number) {
  return {
    kills: r.kills,
    killsAfterProgress: r.killsAfterProgress >= 10 ? 'at least 10' : r.killsAfterProgress,
    restoredAtEnd: r.restoredAtEnd === null ? null : 'a checkpoint',
    skipped: r.skipped,
    referenceBytes: r.referenceBytes > minOutput ? `over ${minOutput}` : r.referenceBytes,
    outputBytes: r.outputBytes - r.referenceBytes,
    identical: r.identical,
  };
}

function expected(minOutput: number) {
  return { kills: 20, killsAfterProgress: 'at least 10', restoredAtEnd: 'a checkpoint', skipped: [], referenceBytes: `over ${minOutput}`, outputBytes: 0, identical: true };
}

describe('crash test', () => {
  it('SIGKILLed at 20 random points and restarted, the job commits exactly the uninterrupted output', { timeout: 180_000 }, async () => {
    const r = await crashTest({ kills: 20, clicks: 100_000, seed: 20261124 });
    expect(figures(r, 100_000)).toStrictEqual(expected(100_000));
  });

  it('in thread mode (keyed part in parallel(2) worker threads), SIGKILLed at 20 random points and restarted, the job commits exactly the uninterrupted output', { timeout: 300_000 }, async () => {
    const r = await crashTest({ kills: 20, clicks: 100_000, seed: 20261202, threads: 2 });
    // the uninterrupted run in threads also equals the single-threaded job's, byte for byte
    expect({ ...figures(r, 100_000), sameAsSingleThreaded: r.sameAsSingleThreaded }).toStrictEqual({ ...expected(100_000), sameAsSingleThreaded: true });
  });

  it('a job joining two NDJSON files with two side outputs into three files, SIGKILLed at 20 random points and restarted, commits exactly the uninterrupted output in each file', { timeout: 300_000 }, async () => {
    const r = await crashTest({ kills: 20, clicks: 100_000, seed: 20261203, join: true });
    // lines per file of the reference: every file has output (the join's main output, late payments, large payments)
    const lines = Object.fromEntries(
      r.reference
        .split(/^--- /m)
        .filter((part) => part.length > 0)
        .map((part) => {
          const [file, ...rest] = part.split('\n');
          return [file, rest.filter((l) => l.length > 0).length > 100 ? 'over 100' : rest.filter((l) => l.length > 0).length];
        }),
    );
    expect({ ...figures(r, 100_000), lines }).toStrictEqual({ ...expected(100_000), lines: { 'output.ndjson': 'over 100', 'late-payments.ndjson': 'over 100', 'large.ndjson': 'over 100' } });
  });
});
