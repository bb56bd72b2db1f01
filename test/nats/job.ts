/**
 * The NATS crash test's job (a child process, SIGKILLed at random points and restarted): clicks from a JetStream
 * stream (`jetStreamSource`, bounded) → the crash test's pipeline (event time, per-user running count in keyed
 * state, per-user 1 s windows; test/crash/pipeline.ts) → a JetStream subject through the exactly-once
 * `jetStreamSink`, checkpointing to LevelDB every few ms.
 *
 * Usage: node job.js <natsUrl> <stream> <outputSubject> <stateDir>
 */
import { connect } from '@nats-io/transport-node';
import { runJob } from '../../src/index.js';
import { levelStore } from '../../src/stores/level.js';
import { jetStreamSink, jetStreamSource } from '../../src/nats/index.js';
import type { Click } from '../../demo/clicks.js';
import { crashPipeline } from '../crash/pipeline.js';
import { paced } from '../crash/paced.js';

const [url, stream, subject, dir] = globalThis.process.argv.slice(2);
if (url !== undefined && stream !== undefined && subject !== undefined && dir !== undefined) {
  const nc = await connect({ servers: url });
  const store = levelStore(dir);
  const job = runJob({
    name: 'nats-crash',
    source: paced(jetStreamSource<Click>({ connection: nc, stream, bounded: true, batch: 256 })),
    pipeline: crashPipeline,
    sink: jetStreamSink({ connection: nc, subject }),
    checkpoint: { intervalMs: Number(globalThis.process.env['CRASH_INTERVAL_MS'] ?? '5'), store, retain: 2 },
    batchSize: 100,
  });
  globalThis.process.stdout.write('ready\n');
  job.checkpoints$.subscribe((c) => {
    const seq = (c.sourceOffsets[0] as { seq: number }).seq;
    globalThis.process.stdout.write(`cp ${c.id} ${seq} ${performance.now().toFixed(0)}\n`);
  });
  const s = await job.done;
  await store.close();
  await nc.drain();
  globalThis.process.stdout.write(`${JSON.stringify({ restoredFrom: s.restoredFrom ?? null, lastCheckpoint: s.lastCheckpoint ?? null, recordsIn: s.recordsIn, skipped: s.skipped })}\n`);
}
