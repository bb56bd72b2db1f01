/**
 * The crash test's job (run in a child process, killed with SIGKILL at random points and restarted): clicks from an
 * NDJSON file → event time → per-user running count in keyed state (`process`) → per-user tumbling 1 s windows →
 * NDJSON output through the two-phase-commit sink, checkpointing to LevelDB every few ms.
 *
 * Usage: node job.js <dir>   (reads <dir>/input.ndjson, writes <dir>/output.ndjson, state in <dir>/state)
 *
 * With CRASH_MODE=join it runs the join job instead (test/crash/joinPipeline.ts): <dir>/orders.ndjson and
 * <dir>/payments.ndjson joined into output.ndjson, late-payments.ndjson and large.ndjson.
 *
 * With CRASH_WORKER set (the URL of test/crash/pipeline.ts built to JavaScript) the keyed part runs in
 * `parallel(CRASH_PARALLELISM ?? 2, keyedPipeline, { worker: CRASH_WORKER })`: in worker threads, each loading that module.
 */
import { join } from 'node:path';
import { fromNdjsonFile, runJob, toNdjsonFile } from '../../src/index.js';
import { levelStore } from '../../src/stores/level.js';
import type { Click } from '../../demo/clicks.js';
import { crashPipeline, threadedCrashPipeline } from './pipeline.js';
import { joinPipeline, large, latePayments, type Order, type Payment } from './joinPipeline.js';
import { paced } from './paced.js';

const dir = globalThis.process.argv[2];
if (dir !== undefined) {
  const interval = Number(globalThis.process.env['CRASH_INTERVAL_MS'] ?? '5');
  const worker = globalThis.process.env['CRASH_WORKER'];
  const parallelism = Number(globalThis.process.env['CRASH_PARALLELISM'] ?? '2');
  const store = levelStore(join(dir, 'state'));
  const checkpoint = { intervalMs: interval, store, retain: 2 };
  const job =
    globalThis.process.env['CRASH_MODE'] === 'join'
      ? runJob({
          name: 'crash-join',
          sources: { orders: paced(fromNdjsonFile<Order>(join(dir, 'orders.ndjson'))), payments: paced(fromNdjsonFile<Payment>(join(dir, 'payments.ndjson'))) },
          pipeline: joinPipeline,
          sinks: {
            main: toNdjsonFile(join(dir, 'output.ndjson')),
            [latePayments.name]: toNdjsonFile(join(dir, `${latePayments.name}.ndjson`)),
            [large.name]: toNdjsonFile(join(dir, `${large.name}.ndjson`)),
          },
          checkpoint,
          batchSize: 100,
        })
      : runJob({
          name: 'crash',
          source: paced(fromNdjsonFile<Click>(join(dir, 'input.ndjson'))),
          pipeline: worker === undefined ? crashPipeline : threadedCrashPipeline(parallelism, worker),
          sink: toNdjsonFile(join(dir, 'output.ndjson')),
          checkpoint,
          batchSize: 100,
        });
  globalThis.process.stdout.write('ready\n');
  job.checkpoints$.subscribe((c) => {
    globalThis.process.stdout.write(`cp ${c.id} ${String(c.sourceOffsets[0])} ${performance.now().toFixed(0)}\n`);
  });
  const s = await job.done;
  await store.close();
  globalThis.process.stdout.write(`${JSON.stringify({ restoredFrom: s.restoredFrom ?? null, lastCheckpoint: s.lastCheckpoint ?? null, recordsIn: s.recordsIn, skipped: s.skipped })}\n`);
}
