import { Observable, Subscriber } from 'rxjs';
import type { OperatorSnapshot } from '../../checkpoints/snapshot.js';
import type { SideRecord, StreamElement, StreamRecord } from '../../elements/index.js';
import { isControlElement } from '../../elements/plumbing.js';
import { ConfigurationError, NotAStreamElementError, SubtaskError, TidewaterError, UserFunctionError } from '../../errors/index.js';
import { hashPartitionOf } from '../../partitioning/partition.js';
import { subtaskSnapshots } from '../../partitioning/mergeState.js';
import { ownsKeyGroup, type ParallelGroup } from '../group.js';
import { BatchDecoder, BatchEncoder, cannotCrossMessage, transferables, type BatchReader, type ValueCodec } from './codec.js';
import { startThread, type SubtaskThread } from './platform.js';
import type { FromWorker, WireError, WireSnapshot } from './protocol.js';
import { fromWireError, fromWireSnapshot } from './wire.js';

type Element = StreamElement<unknown, unknown>;

const NO_KEYS: readonly unknown[] = [];

/** An input message in flight to a subtask: see `Remote.inflight`. */
interface InFlight {
  readonly firstSeq: number;
  readonly keys: readonly unknown[];
}

/** Whose errors the routing of the input gives (the same as an in-process `parallel`'s). */
const PARTITION_OP = 'partitionStream';

/** Records per subtask per input message (a barrier, the end or a pause in the input sends sooner). */
const INPUT_BATCH = 8192;

/**
 * Input messages a subtask may have in flight before the runtime's feeder is asked to pause (`runJob`'s pump waits;
 * a plain RxJS source cannot be paused and is buffered).
 */
const MAX_IN_FLIGHT = 8;

/** A FIFO without shifting. */
class Queue<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T {
    const v = this.items[this.head++] as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * Records the `'hash'` input routes at once (see {@link HashInputSubscriber}): enough for the CPU to have many keys'
 * cache misses in flight together.
 */
const ROUTE_RUN = 128;

/**
 * The input of the threads under `'hash'`, in one subscriber (what `partitionStream`, the numbering and the
 * per-partition inputs do, without three calls per element): numbers each element, routes a record to the subtask
 * that owns its key group (docs/SEMANTICS.md §9), and a watermark, status or barrier to every subtask in order.
 * Errors are `partitionStream`'s.
 *
 * With many distinct keys (once a channel's key dictionary was dropped), records are routed in runs of up to
 * {@link ROUTE_RUN}, in arrival order: a run is routed when it is full, before a control element or the end, and at
 * the end of the synchronous burst that brought it (a microtask). Routing reads each record's key, and with many
 * distinct keys that read is a cache miss (the key's string is far from the record): one record at a time, each miss
 * is waited for on its own; a run first reads every key in a loop of independent loads, whose misses the CPU
 * overlaps, then routes the run with its keys in cache.
 */
class HashInputSubscriber extends Subscriber<Element> {
  /**
   * String key → `id * n + subtask`: its subtask and its id in that channel's key dictionary, learnt on the key's
   * first record (one lookup routes and encodes a record, instead of hashing its key and looking its id up). Kept
   * while the channels' dictionaries keep their ids; forgotten when one is dropped (many distinct keys: then keys are
   * hashed and sent as text).
   */
  private readonly routes = new Map<string, number>();
  /**
   * Whether records are routed in runs: once a channel's dictionary was dropped (many distinct keys, whose reads
   * miss the caches). With few keys each record is routed as it comes (a run would only cost).
   */
  private inRuns = false;
  /** Records arrived and not yet routed, in arrival order. */
  private readonly run: StreamRecord<unknown, unknown>[] = [];
  private runScheduled = false;
  /** What reading the run's keys added up (kept, so that the reads are not dropped as dead code). */
  private touched = 0;

  constructor(
    private readonly host: ThreadedSubtasks,
    private readonly remotes: readonly Remote[],
    private readonly maxParallelism: number,
  ) {
    super();
    for (const r of remotes) {
      r.encoder.onDictionaryDropped = () => {
        this.routes.clear();
        this.inRuns = true;
      };
    }
  }
  override next(e: Element): void {
    if (this.isStopped) super.next(e);
    else this._next(e);
  }
  protected override _next(e: Element): void {
    if (e?.kind === 'record') {
      if (!this.inRuns) {
        this.route(e);
        return;
      }
      const run = this.run;
      run.push(e);
      if (run.length >= ROUTE_RUN) this.routeRun();
      else if (!this.runScheduled) {
        this.runScheduled = true;
        queueMicrotask(() => {
          this.runScheduled = false;
          if (!this.closed) this.routeRun();
        });
      }
      return;
    }
    if (!this.routeRun()) return;
    const host = this.host;
    if (!isControlElement(e)) {
      this._error(new NotAStreamElementError(PARTITION_OP, e));
      return;
    }
    host.arrived();
    // a side-output record passing through goes to subtask 0 only (docs/SEMANTICS.md §14), the rest to every one
    if (e.kind === 'side') host.takeInput(this.remotes[0] as Remote, e);
    else for (let i = 0; i < this.remotes.length; i++) host.takeInput(this.remotes[i] as Remote, e);
  }

  /** Routes the records of the run, in order; false when one failed the stream (the rest are dropped). */
  private routeRun(): boolean {
    const run = this.run;
    const count = run.length;
    if (count === 0) return true;
    let touched = 0;
    for (let i = 0; i < count; i++) {
      const key = (run[i] as StreamRecord<unknown, unknown>).key;
      if (typeof key === 'string') touched += key.length;
    }
    this.touched += touched;
    try {
      for (let i = 0; i < count; i++) if (!this.route(run[i] as StreamRecord<unknown, unknown>)) return false;
      return true;
    } finally {
      run.length = 0;
    }
  }

  /** Routes one record; false when it failed the stream. */
  private route(e: StreamRecord<unknown, unknown>): boolean {
    const host = this.host;
    const key = e.key;
    const n = this.remotes.length;
    // (no routes while the dictionaries are dropped: many distinct keys, whose lookups would miss)
    if (typeof key === 'string' && this.routes.size > 0) {
      const route = this.routes.get(key);
      if (route !== undefined) {
        const p = route % n;
        host.arrived();
        host.takeRecord(this.remotes[p] as Remote, e, (route - p) / n);
        return true;
      }
    }
    let p: number;
    try {
      p = hashPartitionOf(e, n, this.maxParallelism);
    } catch (err) {
      this._error(err instanceof TidewaterError ? err : new UserFunctionError(PARTITION_OP, e, err));
      return false;
    }
    const r = this.remotes[p] as Remote;
    let id = -1;
    if (typeof key === 'string') {
      id = r.encoder.keyId(key);
      if (id >= 0) this.routes.set(key, id * n + p);
    }
    host.arrived();
    host.takeRecord(r, e, id);
    return true;
  }
  protected override _error(err: unknown): void {
    this.run.length = 0;
    this.unsubscribe();
    this.host.inputFailed(err);
  }
  protected override _complete(): void {
    if (!this.routeRun()) return;
    this.unsubscribe();
    this.host.inputEnded(this.remotes.length);
  }
}

/** Takes one partition's elements into its subtask's messages. */
class InputSubscriber extends Subscriber<Element> {
  constructor(
    private readonly host: ThreadedSubtasks,
    private readonly remote: Remote,
  ) {
    super();
  }
  override next(e: Element): void {
    if (this.isStopped) super.next(e);
    else this.host.takePartitioned(this.remote, e);
  }
  protected override _next(e: Element): void {
    this.host.takePartitioned(this.remote, e);
  }
  protected override _error(err: unknown): void {
    this.unsubscribe();
    this.host.inputFailed(err);
  }
  protected override _complete(): void {
    this.unsubscribe();
    this.host.inputEnded();
  }
}

/** One worker subtask as the operator sees it. */
interface Remote {
  readonly index: number;
  thread: SubtaskThread | undefined;
  /** Input not yet sent. */
  readonly encoder: BatchEncoder;
  /** Decodes its output (made when the codec is loaded; one per channel: it keeps the channel's key dictionary). */
  decoder: BatchDecoder | undefined;
  /**
   * Each input message sent and not yet acknowledged, in order: its first sequence number, and the keys of its
   * records (a keyed operator's output refers to them rather than sending its keys back: see `EncodedBatch.keyRefs`).
   */
  readonly inflight: Queue<InFlight>;
  /**
   * Output received and not yet released, as received: one batch per message, in order (each element is made when
   * it is released, so output held back for ordering is held as columns, not as objects that outlive a GC cycle).
   */
  readonly out: BatchReader[];
  /** The first chunk not fully released. */
  outHead: number;
  /** The subscriber of this subtask's output stream (the merge's input). */
  output: Subscriber<Element> | undefined;
  /** The worker reported its pipeline complete (and sent its final state). */
  done: boolean;
  /** Its output stream was completed. */
  closed: boolean;
}

/**
 * The operator side of a threaded `parallel` subscription (docs/ARCHITECTURE.md, "Parallel subtasks"): routes the
 * input to `n` worker threads in batches, each element numbered in input order; collects each worker's output,
 * snapshots and metrics; and releases the outputs into the merge in the order an in-process run emits them —
 * by the number of the input element that caused them, then by subtask — once every subtask has processed every
 * input up to that number. The output is thus the same whatever the timing of the threads.
 *
 * @internal
 */
export class ThreadedSubtasks {
  private readonly remotes: Remote[] = [];
  private codec: ValueCodec | undefined;
  /** Sequence number of the latest input element. */
  private seq = -1;
  /**
   * Side records sent to a subtask, by number, until every subtask processed that number (then they are released):
   * one the worker passes on unchanged comes back as the object that went in (not one the codec made anew), so that
   * a merge meeting it on another branch too (a stream split with `connect` around this `parallel`) knows it
   * (docs/SEMANTICS.md §14).
   */
  private readonly sentSides = new Map<number, SideRecord<unknown>>();
  /** Whether a flush of every subtask's buffered input is scheduled (at the end of the current burst). */
  flushScheduled = false;
  private failed = false;
  /** The element {@link takePartitioned} numbered last, and the subtask it went to. */
  private lastDelivered: Element | undefined;
  private lastDeliveredTo = -1;
  private releasing = false;
  /** Whether this asked the runtime's feeder to pause. */
  private pressing = false;
  /** Subtasks whose thread loaded the pipeline (the feeder waits until all did). */
  private ready = 0;
  private partitionsEnded = 0;
  /** The number of the end of input, once the input ended. */
  private endSeq: number | undefined;

  constructor(
    private readonly group: ParallelGroup,
    private readonly module: string,
    private readonly names: readonly string[],
    /** Whether the workers take snapshots at barriers, and keep their merges (named after the group, as in-process). */
    private readonly checkpointed: boolean,
    private readonly fail: (err: unknown) => void,
  ) {
    for (let i = 0; i < group.n; i++) {
      this.remotes.push({
        index: i,
        thread: undefined,
        encoder: new BatchEncoder(),
        decoder: undefined,
        inflight: new Queue<InFlight>(),
        out: [],
        outHead: 0,
        output: undefined,
        done: false,
        closed: false,
      });
    }
  }

  /** The output stream of subtask `i` (one subscriber: the merge). */
  output(i: number): Observable<Element> {
    return new Observable<Element>((subscriber) => {
      (this.remotes[i] as Remote).output = subscriber;
    });
  }

  /** Counts an element arriving (the `'hash'` input numbers each element as it routes it). */
  arrived(): void {
    this.seq++;
  }

  /**
   * An element `partitionStream` delivers to subtask `r` (every partitioner but `'hash'`), numbered as it is
   * delivered: one number per element, the same for each subtask a broadcast reaches (in increasing order) — so that a range sample held
   * back and then released keeps its elements' order against each other (numbered on arrival, the held elements all
   * took the number of the one that released them, and their outputs came out by subtask).
   */
  takePartitioned(r: Remote, e: Element): void {
    // a broadcast reaches the subtasks in increasing order: the same object to a lower or the same subtask again is
    // another element (a source may push one object twice)
    if (e !== this.lastDelivered || r.index <= this.lastDeliveredTo) this.seq++;
    this.lastDelivered = e;
    this.lastDeliveredTo = r.index;
    this.takeInput(r, e);
  }

  /** The subscriber that takes partition `i`'s elements into subtask `i`'s next message. */
  input(i: number): Subscriber<Element> {
    return new InputSubscriber(this, this.remotes[i] as Remote);
  }

  /** An element of subtask `r`'s partition: into its next message (a barrier sends the message at once). */
  takeInput(r: Remote, e: Element): void {
    if (this.failed) return;
    if (e.kind === 'side') this.sentSides.set(this.seq, e);
    if (e.kind === 'barrier') {
      r.encoder.add(this.seq, e, this.group.parent?.fullSnapshot?.(e.checkpointId) === true);
      this.send(r);
      return;
    }
    r.encoder.add(this.seq, e);
    if (r.encoder.records >= INPUT_BATCH) this.send(r);
    else if (!this.flushScheduled) this.scheduleFlush();
  }

  /** A record of subtask `r`'s partition whose key has dictionary id `keyId` (−1: none yet), into its next message. */
  takeRecord(r: Remote, e: Element, keyId: number): void {
    if (this.failed) return;
    r.encoder.add(this.seq, e, false, -1, keyId);
    if (r.encoder.records >= INPUT_BATCH) this.send(r);
    else if (!this.flushScheduled) this.scheduleFlush();
  }

  /**
   * The subscriber that takes the whole input under `'hash'` (numbering and routing included), in place of
   * `partitionStream` and {@link input}.
   */
  hashInput(): Subscriber<Element> {
    return new HashInputSubscriber(this, this.remotes, this.group.maxParallelism);
  }

  /**
   * `partitions` partitions ended; once all did: one number for the end, sent to every subtask after what is left of
   * the input.
   */
  inputEnded(partitions = 1): void {
    this.partitionsEnded += partitions;
    if (this.partitionsEnded < this.remotes.length) return;
    this.endSeq = ++this.seq;
    for (const x of this.remotes) {
      this.send(x);
      this.sendEnd(x);
    }
  }

  /** The input failed. */
  inputFailed(err: unknown): void {
    this.fail(err);
  }

  /**
   * Asks the runtime's feeder to wait while the threads start (what a synchronous source pushes meanwhile is held
   * here), then starts them once the codec is loaded (see {@link start}).
   */
  holdUntilReady(): void {
    this.press(true);
  }

  /** Starts the worker threads (their module loads while the input is held back here). */
  start(codec: ValueCodec): void {
    this.codec = codec;
    const parent = this.group.parent;
    for (const r of this.remotes) {
      r.decoder = new BatchDecoder(codec);
      const range = this.group.range(r.index);
      const owns = ownsKeyGroup(parent, range);
      const restore: [string, WireSnapshot[]][] = [];
      for (const name of this.names) {
        // (keyed state is found by key group; a merge's valve and a keyed operator's clock are the subtask's own)
        const chain = subtaskSnapshots(parent?.restoreFor?.(name), r.index, this.group.n, this.group.owners);
        if (chain !== undefined && chain.length > 0) restore.push([name, chain.map((s) => restoreWire(s, owns))]);
      }
      const thread = startThread(this.module, {
        message: (m) => this.onMessage(r, m),
        error: (err) => this.failWith(r, undefined, err),
        exit: (code) => {
          if (!r.done && !this.failed) this.failWith(r, undefined, new Error(`the worker thread exited with code ${code} before its input ended`));
        },
      });
      r.thread = thread;
      thread.post({
        type: 'init',
        module: this.module,
        subtask: r.index,
        n: this.group.n,
        maxParallelism: this.group.maxParallelism,
        ...(range !== undefined ? { range } : {}),
        positions: parent?.nextPosition === undefined ? null : this.group.takenPositions(),
        names: this.names,
        ...(this.checkpointed ? { places: this.group.name } : {}),
        checkpointed: this.checkpointed,
        sendFinalState: parent?.checkpointed === true,
        restore,
      });
    }
    for (const r of this.remotes) {
      this.send(r);
      this.sendEnd(r);
    }
  }

  /** Tells subtask `r` its input ended (once the threads started). */
  private sendEnd(r: Remote): void {
    const seq = this.endSeq;
    if (this.codec === undefined || seq === undefined || this.failed) return;
    r.inflight.push({ firstSeq: seq, keys: NO_KEYS });
    this.post(r, { type: 'end', seq });
  }

  private post(r: Remote, m: Parameters<SubtaskThread['post']>[0], transfer?: ArrayBuffer[]): void {
    r.thread?.post(m, transfer);
  }

  /** Sends what subtask `r` has buffered (once the threads started). */
  private send(r: Remote): void {
    if (this.codec === undefined || r.encoder.size === 0 || this.failed) return;
    r.inflight.push({ firstSeq: r.encoder.firstSeq, keys: r.encoder.recordKeys() });
    if (r.inflight.length > MAX_IN_FLIGHT) this.press(true);
    let batch: ReturnType<BatchEncoder['take']>;
    try {
      batch = r.encoder.take(this.codec);
    } catch (cause) {
      // a value the codec cannot carry (a symbol, a cycle): the stream fails, naming it (in a microtask, nothing else would)
      this.failWith(
        r,
        new SubtaskError(
          'parallel',
          r.index,
          cannotCrossMessage(`parallel: a record for subtask ${r.index} cannot cross to its worker thread`, cause, 'map them to plain data before parallel(...)'),
          { cause },
        ),
      );
      return;
    }
    this.post(r, { type: 'batch', batch }, transferables(batch));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      for (const r of this.remotes) this.send(r);
    });
  }

  /** A message from subtask `r`'s thread; whatever it throws here (downstream, a checkpoint) fails the stream. */
  private onMessage(r: Remote, m: FromWorker): void {
    if (this.failed) return;
    try {
      this.handle(r, m);
    } catch (err) {
      this.fail(err);
    }
  }

  private handle(r: Remote, m: FromWorker): void {
    switch (m.type) {
      case 'ready': {
        this.ready++;
        this.relieveIfCaughtUp();
        const same = m.names.length === this.names.length && m.names.every((n, k) => n === this.names[k]);
        if (!same) {
          this.failWith(
            r,
            new ConfigurationError(
              'parallel',
              m.names,
              `parallel: the worker module ${this.module} builds a pipeline with stateful operators [${m.names.join(', ')}], the pipeline given to parallel has [${this.names.join(', ')}]. ` +
                'Pass the pipeline the module exports (import it from the module).',
            ),
          );
        }
        return;
      }
      case 'output': {
        for (const [id, list] of m.snapshots ?? []) for (const w of list) this.group.operator(w.operator).capture(r.index, id, fromWireSnapshot(w));
        this.report(r, m.metrics);
        for (const [operator, message] of m.warnings ?? []) {
          if (this.group.parent?.warn !== undefined) this.group.parent.warn(operator, message);
          else console.warn(message);
        }
        // (key references point into the message the worker was processing: the first not yet acknowledged)
        if (m.batch.kinds.length > 0) r.out.push((r.decoder as BatchDecoder).open(m.batch, r.inflight.peek()?.keys, this.takeSent));
        for (let k = 0; k < m.acks && r.inflight.length > 0; k++) r.inflight.shift();
        this.relieveIfCaughtUp();
        this.release();
        return;
      }
      case 'complete': {
        for (const w of m.finals) this.group.operator(w.operator).finals[r.index] = fromWireSnapshot(w);
        this.report(r, m.metrics);
        r.done = true;
        r.inflight.clear();
        this.relieveIfCaughtUp();
        this.release();
        return;
      }
      case 'error':
        this.failWith(r, undefined, m.error);
        return;
      case 'closed':
        if (!r.done && !this.failed) this.failWith(r, undefined, new Error('the Web Worker closed itself (self.close()) before its input ended'));
        return;
    }
  }

  private report(r: Remote, metrics: readonly (readonly [string, Record<string, number>, number])[]): void {
    for (const [name, counters, watermark] of metrics) {
      const op = this.group.operators.get(name);
      if (op !== undefined) op.reported[r.index] = { counters, watermark };
    }
  }

  /**
   * Releases, in order of (input number, subtask), every output element whose input number every subtask has
   * processed (or will never see: nothing of it is in flight to them).
   */
  private release(): void {
    if (this.releasing) return;
    this.releasing = true;
    try {
      let bound = Infinity;
      for (const r of this.remotes) {
        if (r.done) continue;
        // the first input not yet processed: in flight, else buffered, else the end not yet sent
        const first = r.inflight.length > 0 ? (r.inflight.peek() as InFlight).firstSeq : Math.min(r.encoder.firstSeq, this.codec === undefined ? (this.endSeq ?? Infinity) : Infinity);
        if (first < bound) bound = first;
      }
      for (;;) {
        // the remote whose next output has the lowest input number (ties: the lower subtask)
        let pick: Remote | undefined;
        let chunk: BatchReader | undefined;
        let min = Infinity;
        for (const r of this.remotes) {
          const c = r.out[r.outHead];
          if (c !== undefined && c.seqAt(c.position) < min) {
            min = c.seqAt(c.position);
            pick = r;
            chunk = c;
          }
        }
        if (pick === undefined || chunk === undefined || min >= bound || this.failed) break;
        // release the run of this chunk below the next remote's lowest number (and the bound)
        let limit = bound;
        for (const r of this.remotes) {
          if (r === pick) continue;
          const c = r.out[r.outHead];
          if (c !== undefined) limit = Math.min(limit, c.seqAt(c.position) + (r.index < pick.index ? 0 : 1));
        }
        const output = pick.output;
        const length = chunk.length;
        while (chunk.position < length && chunk.seqAt(chunk.position) < limit && !this.failed) {
          const e = chunk.next();
          output?.next(e);
        }
        if (chunk.position === length) {
          pick.out[pick.outHead++] = undefined as unknown as BatchReader;
          if (pick.outHead === pick.out.length) {
            pick.out.length = 0;
            pick.outHead = 0;
          }
        }
      }
      // (side records sent in below the bound: whatever of them comes back was released above)
      for (const [seq] of this.sentSides) {
        if (seq >= bound) break;
        this.sentSides.delete(seq);
      }
      for (const r of this.remotes) {
        if (r.done && !r.closed && r.out.length === r.outHead && !this.failed) {
          r.closed = true;
          r.output?.complete();
        }
      }
    } finally {
      this.releasing = false;
    }
  }

  /** The side record that went in as input number `seq`, which a subtask passed on unchanged (see `sentSides`). */
  private readonly takeSent = (seq: number): SideRecord<unknown> | undefined => this.sentSides.get(seq);

  private failWith(r: Remote, err: Error | undefined, cause?: unknown): void {
    if (this.failed) return;
    const wire = cause as WireError | undefined;
    const what = err ?? new SubtaskError(
      'parallel',
      r.index,
      `parallel: subtask ${r.index} (worker module ${this.module}) failed: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : wire !== undefined && typeof wire.message === 'string' ? `${wire.name}: ${wire.message}` : String(cause)}`,
      { cause: cause instanceof Error ? cause : wire !== undefined ? fromWireError(wire) : cause },
    );
    this.fail(what);
  }

  /** Lets the feeder go on once every subtask is down to half its input in flight. */
  private relieveIfCaughtUp(): void {
    if (this.pressing && this.ready === this.remotes.length && this.remotes.every((x) => x.inflight.length <= MAX_IN_FLIGHT / 2)) this.press(false);
  }

  /** Asks the runtime's feeder to pause (too much input in flight to a subtask) or to go on. */
  private press(on: boolean): void {
    if (this.pressing === on) return;
    this.pressing = on;
    this.group.parent?.pressure?.(this, on);
  }

  /** Stops every thread (after the end, an error, or an unsubscription). */
  close(): void {
    this.press(false);
    this.failed = true;
    for (const r of this.remotes) {
      r.thread?.terminate();
      r.thread = undefined;
    }
  }
}

/** A restored snapshot, for a worker: only the entries of key groups it owns. */
function restoreWire(s: OperatorSnapshot, owns: ((g: number) => boolean) | undefined): WireSnapshot {
  const entries = owns === undefined ? s.entries : s.entries.filter((e) => owns(e.keyGroup));
  return { operator: s.operator, full: s.full, maxParallelism: s.maxParallelism, ...(s.watermark !== undefined ? { watermark: s.watermark } : {}), entries };
}
