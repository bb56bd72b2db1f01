/**
 * The program of a worker thread (Node) or Web Worker (browser) that runs one subtask of a threaded `parallel`
 * operator: it imports the module that exports the pipeline, subscribes the pipeline in a runtime of its own (the
 * subtask's key groups, the restored state, the positions of unnamed operators taken outside), feeds it the
 * batches it receives and sends back the output, the snapshots taken at barriers and the metrics
 * (docs/ARCHITECTURE.md, "Parallel subtasks").
 *
 * @internal
 */
import { asyncScheduler, Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';
import type { OperatorSnapshot } from '../../checkpoints/snapshot.js';
import { nodeBuiltin } from '../../core/node.js';
import { PipelineRuntime, placesIn, type StatefulOperatorInstance } from '../../core/runtime.js';
import type { SideRecord, StreamElement } from '../../elements/index.js';
import { BatchDecoder, BatchEncoder, cannotCrossMessage, transferables } from './codec.js';
import { createValueCodec } from './msgpack.js';
import { NO_EXCHANGE } from '../exchange.js';
import type { FromWorker, ToWorker, WireMetrics, WireSnapshot } from './protocol.js';
import { fromWireSnapshot, toWireError, toWireSnapshot } from './wire.js';

interface Port {
  post(m: FromWorker, transfer?: ArrayBuffer[]): void;
  onMessage(fn: (m: ToWorker) => void): void;
}

/**
 * The channel to the operator: Node's `parentPort`, or the Web Worker's global scope. In a Web Worker, `uncaught`
 * hears of an error no step caught — a throw in a timer, a rejection nobody handled — which the page would hear of
 * only as an event without the error (and of a rejection not at all): on Node the thread's `error` event carries it.
 */
function connect(uncaught: (reason: unknown) => void): Port {
  const threads = nodeBuiltin<{ parentPort: { postMessage(m: unknown, t?: readonly ArrayBuffer[]): void; on(e: 'message', fn: (m: ToWorker) => void): void } | null }>(
    'node:worker_threads',
  );
  if (threads !== undefined) {
    const parent = threads.parentPort;
    if (parent == null) throw new Error('tidewater worker entry: not running in a worker thread');
    return { post: (m, t) => parent.postMessage(m, t), onMessage: (fn) => parent.on('message', fn) };
  }
  const scope = globalThis as unknown as {
    postMessage(m: unknown, t?: ArrayBuffer[]): void;
    onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
    close?: () => void;
    addEventListener?(type: 'error' | 'unhandledrejection', fn: (ev: { preventDefault(): void; error?: unknown; message?: string; reason?: unknown }) => void): void;
  };
  scope.addEventListener?.('error', (ev) => {
    ev.preventDefault();
    uncaught(ev.error ?? new Error(ev.message ?? 'an error in the Web Worker'));
  });
  scope.addEventListener?.('unhandledrejection', (ev) => {
    ev.preventDefault();
    uncaught(ev.reason);
  });
  // a Web Worker that closes itself sends no event to the page (Node's threads have 'exit'): it says so first, or
  // the job would wait for it for ever
  const close = scope.close;
  if (typeof close === 'function') {
    scope.close = () => {
      const closed: FromWorker = { type: 'closed' };
      scope.postMessage(closed);
      close.call(scope);
    };
  }
  return {
    post: (m, t) => scope.postMessage(m, t ?? []),
    onMessage: (fn) => {
      scope.onmessage = (ev) => fn(ev.data);
    },
  };
}

type Pipeline = OperatorFunction<StreamElement<unknown, unknown>, StreamElement<unknown, unknown>>;

/** Output elements per message at most (a larger output goes out in several messages). */
const OUTPUT_BATCH = 8192;

/** One subtask: its pipeline, its input, what it owes the operator. */
class Subtask {
  private readonly codec = createValueCodec();
  private readonly encoder = new BatchEncoder();
  private readonly decoder = new BatchDecoder(this.codec);
  private input: Subscriber<StreamElement<unknown, unknown>> | undefined;
  private subscription: Subscription | undefined;
  private readonly runtime: PipelineRuntime;
  /** The sequence number of the input element being processed (or the last one): output elements carry it. */
  private seq = -1;
  /**
   * The index of the latest record of the input message being processed (−1: none, or no message is), and its key:
   * an output record with that key refers to it rather than carrying its key back (see `EncodedBatch.keyRefs`).
   */
  private inputIndex = -1;
  private inputKey: unknown = undefined;
  private acks = 0;
  /** Side records received, with their input numbers (see `BatchEncoder.addPassedSide`). */
  private readonly sidesIn = new WeakMap<object, number>();
  private handling = false;
  private flushScheduled = false;
  private failed = false;
  private completed = false;
  /** Snapshots taken at barriers, sent with the batch the barrier leaves in. */
  private readonly captured = new Map<number, WireSnapshot[]>();
  private barriersOut: number[] = [];
  private readonly fullFlags = new Map<number, boolean>();
  private warnings: [string, string][] = [];
  private readonly sendFinalState: boolean;

  constructor(
    private readonly port: Port,
    init: Extract<ToWorker, { type: 'init' }>,
    pipeline: Pipeline,
  ) {
    this.sendFinalState = init.sendFinalState;
    const restore = new Map<string, readonly OperatorSnapshot[]>(init.restore.map(([name, chain]) => [name, chain.map(fromWireSnapshot)]));
    const range = init.range;
    this.runtime = new PipelineRuntime({
      owner: `parallel subtask ${init.subtask}`,
      scheduler: asyncScheduler,
      restore,
      checkpointed: init.checkpointed,
      maxParallelism: init.maxParallelism,
      positions: init.positions,
      ...(init.places !== undefined ? { placeName: placesIn(init.places) } : {}),
      exchange: NO_EXCHANGE,
      ...(range !== undefined ? { ownsKeyGroup: (g: number) => g >= range.first && g <= range.last } : {}),
      fullSnapshot: (id) => this.fullFlags.get(id) === true,
      warn: (operator, message) => {
        this.warnings.push([operator, `parallel subtask ${init.subtask}: ${message}`]);
        this.scheduleFlush();
      },
      ...(init.checkpointed ? { onBarrier: (instance: StatefulOperatorInstance, id: number) => this.capture(instance, id) } : {}),
    });
    const input$ = new Observable<StreamElement<unknown, unknown>>((s) => {
      this.input = s;
    });
    this.subscription = this.runtime.subscribe(pipeline(input$), {
      next: (e) => this.out(e),
      error: (err) => this.fail(err),
      complete: () => this.complete(),
    });
    const names = this.runtime.instances.map((i) => i.name);
    if (!this.failed) this.port.post({ type: 'ready', names });
  }

  private capture(instance: StatefulOperatorInstance, id: number): void {
    let list = this.captured.get(id);
    if (list === undefined) this.captured.set(id, (list = []));
    list.push(toWireSnapshot(instance.snapshot({ full: this.fullFlags.get(id) === true })));
  }

  handle(m: ToWorker): void {
    if (this.failed) return;
    this.handling = true;
    try {
      if (m.type === 'batch') {
        this.decoder.decode(m.batch, (seq, e, full) => {
          this.seq = seq;
          if (e.kind === 'record') {
            this.inputIndex++;
            this.inputKey = e.key;
          } else if (e.kind === 'side') {
            // (a side record takes a record slot of the batch: output keys refer to slots)
            this.inputIndex++;
            this.inputKey = undefined;
            this.sidesIn.set(e, seq);
          } else if (e.kind === 'barrier') this.fullFlags.set(e.checkpointId, full);
          this.input?.next(e);
          return !this.failed;
        });
      } else if (m.type === 'end') {
        this.seq = m.seq;
        this.input?.complete();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.handling = false;
      this.inputIndex = -1;
      this.inputKey = undefined;
    }
    this.acks++;
    this.flush();
    if (this.completed) this.finishSoon();
  }

  private out(e: StreamElement<unknown, unknown>): void {
    const from = e.kind === 'side' ? this.sidesIn.get(e) : undefined;
    if (from !== undefined) {
      // (a side record that came in, passed on unchanged: the operator hands back the object it sent)
      this.encoder.addPassedSide(this.seq, e as SideRecord<unknown>, from);
    } else {
      const ref = this.inputIndex >= 0 && e.kind === 'record' && Object.is(e.key, this.inputKey) ? this.inputIndex : -1;
      this.encoder.add(this.seq, e, false, ref);
    }
    if (e.kind === 'barrier') this.barriersOut.push(e.checkpointId);
    if (this.encoder.size >= OUTPUT_BATCH) this.flush();
    else if (!this.handling) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.handling) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
      if (this.completed) this.finishSoon();
    });
  }

  private metrics(): WireMetrics {
    return this.runtime.instances.map((i) => [i.name, i.metrics(), i.watermark] as const);
  }

  private flush(): void {
    if (this.failed) return;
    if (this.encoder.size === 0 && this.acks === 0 && this.warnings.length === 0) return;
    let batch: ReturnType<BatchEncoder['take']>;
    try {
      batch = this.encoder.take(this.codec);
    } catch (cause) {
      // a value the codec cannot carry (a symbol, a cycle), named as the input side names one (src/parallel/threads/host.ts)
      this.fail(
        new Error(cannotCrossMessage('an output record cannot cross back from the worker thread', cause, 'map them to plain data at the end of the parallel pipeline'), { cause }),
      );
      return;
    }
    const snapshots = this.barriersOut.flatMap((id) => {
      const list = this.captured.get(id);
      this.captured.delete(id);
      this.fullFlags.delete(id);
      return list === undefined ? [] : [[id, list] as const];
    });
    this.barriersOut = [];
    const message: FromWorker = {
      type: 'output',
      batch,
      acks: this.acks,
      metrics: this.metrics(),
      ...(snapshots.length > 0 ? { snapshots } : {}),
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
    };
    this.acks = 0;
    this.warnings = [];
    this.port.post(message, transferables(batch));
  }

  private complete(): void {
    this.completed = true;
    if (!this.handling) this.scheduleFlush();
  }

  /**
   * {@link finish}, a macrotask later: a rejection the last records left unhandled, or a throw in a timer they set for
   * now, then reaches the operator first and fails the stream, instead of coming after the subtask completed (and
   * being lost). Later work of theirs cannot fail a subtask that has completed.
   */
  private finishSoon(): void {
    if (this.finishScheduled) return;
    this.finishScheduled = true;
    // (two: a browser queues its unhandled-rejection event as a task of its own, after the microtasks of the task the
    // rejection happened in, where this first timer was set)
    setTimeout(() => setTimeout(() => this.finish(), 0), 0);
  }

  private finishScheduled = false;

  /**
   * The pipeline completed and everything it emitted went out: its operators finished, and their finished snapshots
   * (clocks and inputs, no keyed state: docs/SEMANTICS.md §8 "End of input") go to the operator for the job's last
   * checkpoint when it may take them (`init.sendFinalState`; a plain pipe never does).
   */
  private finish(): void {
    if (this.failed || this.subscription === undefined) return;
    this.subscription = undefined;
    try {
      const finals = this.sendFinalState ? this.runtime.instances.map((i) => toWireSnapshot(i.snapshot({ full: true, finished: true }))) : [];
      this.port.post({ type: 'complete', finals, metrics: this.metrics() });
    } catch (err) {
      this.fail(err);
    }
  }

  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.port.post({ type: 'error', error: toWireError(err) });
  }
}

const port = connect((reason) => {
  if (subtask !== undefined) subtask.fail(reason);
  else port.post({ type: 'error', error: toWireError(reason) });
});
let subtask: Subtask | undefined;
let pending: ToWorker[] | undefined = [];

async function start(init: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  try {
    const mod = (await import(/* @vite-ignore */ init.module)) as { default?: unknown; pipeline?: unknown };
    const pipeline = typeof mod.default === 'function' ? mod.default : mod.pipeline;
    if (typeof pipeline !== 'function') {
      throw new TypeError(`parallel: worker module ${init.module} exports no pipeline: export it as default (export default pipe(...)) or as 'pipeline'.`);
    }
    subtask = new Subtask(port, init, pipeline as Pipeline);
    const queued = pending ?? [];
    pending = undefined;
    for (const m of queued) subtask.handle(m);
  } catch (err) {
    pending = undefined;
    port.post({ type: 'error', error: toWireError(err) });
  }
}

port.onMessage((m) => {
  if (m.type === 'init') void start(m);
  else if (subtask !== undefined) subtask.handle(m);
  else pending?.push(m);
});
