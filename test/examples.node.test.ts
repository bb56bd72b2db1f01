// The runnable examples (examples/*.ts): each one's main() run here, its printed lines checked exactly; the short
// ones also run as a user runs them (`npx tsx examples/<file>.ts`).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ManualScheduler } from '../testing/index.js';
import { main as customPartitioner } from '../examples/customPartitioner.js';
import { main as tumblingSum } from '../examples/tumblingSum.js';
import { main as statefulSource } from '../examples/statefulSource.js';
import { main as checkpointedJob } from '../examples/checkpointedJob.js';

const quiet = (): void => {};

describe('examples/customPartitioner.ts', () => {
  it('splits 1–5 into 2 partitions by murmurHash(javaHashCode(value)) % 2', () => {
    expect(customPartitioner(2, quiet)).toStrictEqual([
      'values 1–5 into 2 partitions by murmurHash(javaHashCode(value)) % 2:',
      '  value 1 → partition 0',
      '  value 2 → partition 1',
      '  value 3 → partition 1',
      '  value 4 → partition 1',
      '  value 5 → partition 0',
      'partition 0: 1, 5',
      'partition 1: 2, 3, 4',
    ]);
  });

  it('splits 1–5 into 3 partitions by murmurHash(javaHashCode(value)) % 3', () => {
    expect(customPartitioner(3, quiet)).toStrictEqual([
      'values 1–5 into 3 partitions by murmurHash(javaHashCode(value)) % 3:',
      '  value 1 → partition 0',
      '  value 2 → partition 2',
      '  value 3 → partition 2',
      '  value 4 → partition 1',
      '  value 5 → partition 0',
      'partition 0: 1, 5',
      'partition 1: 4',
      'partition 2: 2, 3',
    ]);
  });

  it('prints the same when run as a user runs it: npx tsx examples/customPartitioner.ts 3', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/customPartitioner.ts', '3'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${customPartitioner(3, quiet).join('\n')}\n`);
  });
});

describe('examples/tumblingSum.ts', () => {
  it('sums 1–5 (value v at v − 1 seconds) in 3-second tumbling windows: 6 and 9', async () => {
    expect(await tumblingSum(quiet)).toStrictEqual(['window [0 s, 3 s) of all: 1 + 2 + 3 = 6', 'window [3 s, 6 s) of all: 4 + 5 = 9']);
  });

  it('prints the same when run as a user runs it: npx tsx examples/tumblingSum.ts', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/tumblingSum.ts'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('window [0 s, 3 s) of all: 1 + 2 + 3 = 6\nwindow [3 s, 6 s) of all: 4 + 5 = 9\n');
  });
});

describe('examples/statefulSource.ts', () => {
  it('emits event-0 … event-4, one per processing-time timer 1 000 ms apart, into the printing sink, on the job scheduler', async () => {
    const clock = new ManualScheduler(0);
    const printed: string[] = [];
    let result: string[] | undefined;
    let failure: unknown;
    const run = statefulSource((line) => printed.push(line), clock).then(
      (lines) => (result = lines),
      (err: unknown) => (failure = err),
    );
    // drive the clock: let the job's promises settle, then move one second; what is printed after each step is checked
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) {
        clock.advanceBy(0);
        await new Promise((r) => setTimeout(r, 0));
      }
    };
    await settle();
    expect(printed).toStrictEqual(['+0 ms     event-0   timer registered for +1000 ms']);
    const events = (): number => printed.filter((l) => l.includes(' event-')).length;
    for (let second = 1; second <= 4; second++) {
      clock.advanceBy(999);
      await settle();
      expect(events()).toBe(second); // the timer has not fired a millisecond early
      clock.advanceBy(1);
      await settle();
      expect(events()).toBe(second + 1);
    }
    for (let i = 0; i < 50 && result === undefined && failure === undefined; i++) await settle();
    await run;
    expect(failure).toBeUndefined();
    expect(result).toStrictEqual([
      '+0 ms     event-0   timer registered for +1000 ms',
      '+1000 ms  event-1   timer registered for +2000 ms',
      '+2000 ms  event-2   timer registered for +3000 ms',
      '+3000 ms  event-3   timer registered for +4000 ms',
      '+4000 ms  event-4   no more timers',
      'stopped after 5 events',
    ]);
    expect(printed).toStrictEqual(result);
  });
});

describe('examples/checkpointedJob.ts', () => {
  it('a job checkpointing every 1 000 ms into LevelDB, SIGKILLed after its first checkpoint and resumed, writes its output exactly once', { timeout: 120_000 }, async () => {
    expect(await checkpointedJob(quiet)).toStrictEqual([
      'numbers 1–30, odd and even sums per second of event time, checkpoints every 1000 ms into LevelDB',
      'run 1: killed with SIGKILL 300 ms after its first checkpoint',
      'run 2: restored from the last checkpoint run 1 completed, read on from its source offset, finished',
      '  [0, 1000) ms odd  25',
      '  [0, 1000) ms even 20',
      '  [1000, 2000) ms even 70',
      '  [1000, 2000) ms odd  75',
      '  [2000, 3000) ms even 120',
      '  [2000, 3000) ms odd  125',
      '  [3000, 4000) ms even 30',
      'total 465 = 1 + 2 + … + 30: each number counted once',
      'exactly once: the output is identical to an uninterrupted run',
    ]);
  });
});
