import { isObservable, type Observable, type Observer, type Subscription } from 'rxjs';
import { checkFunction, checkOptionKeys } from '../errors/options.js';
import { isIndex } from '../checkpoints/snapshot.js';
import { ConfigurationError, describeFailure, describeValue } from '../errors/index.js';
import { decodeValue, encodeValue } from '../state/codec.js';
import type { StateStore } from '../stores/types.js';
import type { Source, SourceContext, SourceHold, SourceRead, SourceReader } from './types.js';

/**
 * Parses an offset the job stored: a non-negative integer (`unit`: what it counts, for the message); undefined → 0.
 *
 * @internal
 */
export function parseOffset(source: string, offset: string | undefined, unit = 'count of values'): number {
  if (offset === undefined) return 0;
  const n = Number(offset);
  if (!isIndex(n)) {
    throw new ConfigurationError(source, offset, `${source}: checkpoint offset ${describeValue(offset)} is not a ${unit}; restore from a checkpoint of this job.`);
  }
  return n;
}

/** A reader over a synchronous iterator that already skipped `start` values. */
class IteratorReader<T> implements SourceReader<T> {
  private done = false;
  constructor(
    private readonly it: Iterator<T>,
    private position: number,
  ) {}
  read(max: number): SourceRead<T> {
    const values: T[] = [];
    while (!this.done && values.length < max) {
      const r = this.it.next();
      if (r.done === true) this.done = true;
      else values.push(r.value);
    }
    this.position += values.length;
    return { values, done: this.done };
  }
  offset(): string {
    return String(this.position);
  }
  close(): void {
    if (!this.done) this.it.return?.();
  }
}

/**
 * A source over an array: its offset is the index of the next value, so a restored job resumes right after the
 * last value its checkpoint covered.
 *
 * @example
 * ```ts
 * runJob({ name: 'demo', source: fromArray([1, 2, 3]), pipeline: pipe(map(x => x * 2)), sink: toArray() });
 * ```
 */
export function fromArray<T>(values: readonly T[]): Source<T> {
  if (!Array.isArray(values)) {
    throw new ConfigurationError('fromArray', values, `fromArray: ${describeValue(values)} is not an array; give fromArray([...values]), or fromIterable(() => iterable) for another iterable.`);
  }
  const description = `fromArray(${values.length} values)`;
  return {
    description,
    open(offset) {
      const start = parseOffset(description, offset);
      let i = Math.min(start, values.length);
      return {
        read(max: number): SourceRead<T> {
          const end = Math.min(values.length, i + max);
          const out = values.slice(i, end);
          i = end;
          return { values: out, done: i >= values.length };
        },
        offset: () => String(i),
        close() {},
      };
    },
  };
}

/**
 * What {@link IteratorReader} does over a plain array's own iterator, without an iterator step per value: the reads
 * follow the iterator's rules — the values read in order at read time (a hole reads `undefined`, an index getter is
 * called once), the end reached only when a read finds fewer values than it asked for (values appended before then
 * are read), and from then on nothing more; the offset counts from `start` even past the end.
 */
class ArrayIterationReader<T> implements SourceReader<T> {
  private done = false;
  constructor(
    private readonly values: readonly T[],
    private position: number,
  ) {}
  read(max: number): SourceRead<T> {
    if (this.done) return { values: [], done: true };
    const values = this.values;
    // made at its size (pushed onto an empty array, a batch reallocated itself as it grew: about three times its
    // room); written past that size only by values an index getter appended during the read, cut back if one removed
    // some
    const out: T[] = new Array<T>(Math.max(0, Math.min(max, values.length - this.position)));
    let n = 0;
    for (let i = this.position; n < max; i++) {
      if (i >= values.length) {
        this.done = true;
        break;
      }
      out[n++] = values[i] as T;
    }
    out.length = n;
    this.position += n;
    return { values: out, done: this.done };
  }
  offset(): string {
    return String(this.position);
  }
  close(): void {}
}

/**
 * Whether `iterable` is a plain array (its prototype `Array.prototype`) iterated by the built-in array iterator: then
 * reading it by index is what iterating it does (`fromIterable` reads it with {@link ArrayIterationReader}).
 */
function isPlainArray<T>(iterable: Iterable<T>): iterable is T[] {
  return Array.isArray(iterable) && Object.getPrototypeOf(iterable) === Array.prototype && iterable[Symbol.iterator] === ARRAY_ITERATOR;
}
const ARRAY_ITERATOR = Array.prototype[Symbol.iterator];

/**
 * A source over an iterable made by `factory` (called again on restore, then the first `offset` values are
 * skipped): the iterable must yield the same values each time.
 *
 * @example
 * ```ts
 * fromIterable(function* () { for (let i = 0; i < 1e6; i++) yield { id: i % 100, at: i }; });
 * ```
 */
export function fromIterable<T>(factory: () => Iterable<T>): Source<T> {
  checkFunction('fromIterable', factory, 'a factory that makes the values afresh, e.g. fromIterable(() => values) (a restore reads them again from their start)');
  const description = 'fromIterable';
  return {
    description,
    open(offset) {
      const skip = parseOffset(description, offset);
      const iterable = factory();
      if (isPlainArray(iterable)) return new ArrayIterationReader(iterable, skip);
      const it = iterable[Symbol.iterator]();
      for (let i = 0; i < skip; i++) if (it.next().done === true) break;
      return new IteratorReader(it, skip);
    },
  };
}

/**
 * A source over an async iterable made by `factory` (called again on restore, then the first `offset` values are
 * skipped): the iterable must yield the same values each time.
 *
 * @example
 * ```ts
 * fromAsyncIterable(async function* () { for await (const line of lines()) yield JSON.parse(line); });
 * ```
 */
export function fromAsyncIterable<T>(factory: () => AsyncIterable<T>): Source<T> {
  checkFunction('fromAsyncIterable', factory, 'a factory that makes the values afresh, e.g. fromAsyncIterable(() => readLines(path)) (a restore reads them again from their start)');
  const description = 'fromAsyncIterable';
  return {
    description,
    async open(offset, context) {
      const skip = parseOffset(description, offset);
      const it = factory()[Symbol.asyncIterator]();
      let position = skip;
      let done = false;
      let reading = false;
      for (let i = 0; i < skip && !done; i++) done = (await it.next()).done === true;
      return {
        // One value per read: an async iterator cannot say whether its next value is ready without awaiting it.
        async read(): Promise<SourceRead<T>> {
          if (done) return { values: [], done };
          reading = true;
          const r = await it.next().finally(() => (reading = false));
          if (r.done === true) {
            done = true;
            return { values: [], done };
          }
          position++;
          return { values: [r.value], done: false };
        },
        offset: () => String(position),
        async close() {
          if (done) return;
          done = true;
          // A generator suspended inside a read finishes that read before it can return: ask, but don't wait for it
          // (its cleanup failing later, after the job ended, is reported as a warning: nobody awaits it any more).
          if (reading) {
            Promise.resolve(it.return?.()).catch((e: unknown) =>
              (context?.warn ?? console.warn)(`${description}: the iterator's return() (its cleanup, asked for at close while a read was in flight) failed: ${describeFailure(e)}`),
            );
          } else await it.return?.();
        },
      };
    },
  };
}

/**
 * Options of {@link fromObservable}.
 *
 * @example
 * ```ts
 * fromObservable(fromEvent(button, 'click'), { journal: await openDefaultStore('clicks') });
 * ```
 */
export interface FromObservableOptions {
  /**
   * Where values are made durable (in batches, in arrival order) before they are processed, and replayed from on
   * restore. Without it the source is live only: values that arrived after the last checkpoint are lost on a crash.
   */
  readonly journal?: StateStore;
  /**
   * Journal name (default `${job}/source-${index}`). Next to it, journal `<name>#committed` holds one entry: up to
   * which record the journal was deleted, and which checkpoint covered them.
   */
  readonly name?: string;
}

/**
 * A subscription taken as a job starts (`Source.hold`), before the source's reader exists: what the observable sends
 * meanwhile is held, in order, and handed to the reader's observer when it opens, then what comes after.
 */
class HeldSubscription<T> implements SourceHold {
  private held: ({ readonly value: T } | { readonly error: unknown } | 'complete')[] = [];
  private observer: Observer<T> | undefined;
  private released = false;
  private readonly subscription: Subscription;

  constructor(source$: Observable<T>) {
    this.subscription = source$.subscribe({
      next: (value) => (this.observer === undefined ? void this.held.push({ value }) : this.observer.next(value)),
      error: (error: unknown) => (this.observer === undefined ? void this.held.push({ error }) : this.observer.error(error)),
      complete: () => (this.observer === undefined ? void this.held.push('complete') : this.observer.complete()),
    });
  }

  /**
   * Hands what was held — values, then the end or the error, when the observable sent them before the reader opened —
   * and what comes after, to `observer`; the subscription (the reader unsubscribes it at close). Once only: undefined
   * when taken already or released (a second open subscribes anew).
   */
  take(observer: Observer<T>): Subscription | undefined {
    if (this.observer !== undefined || this.released) return undefined;
    // (by index: what the observable sends while the held values are handed on, re-entrantly, is held after them)
    for (let i = 0; i < this.held.length; i++) {
      const h = this.held[i] as { readonly value: T } | { readonly error: unknown } | 'complete';
      if (h === 'complete') observer.complete();
      else if ('value' in h) observer.next(h.value);
      else observer.error(h.error);
    }
    this.held = [];
    this.observer = observer;
    return this.subscription;
  }

  release(): void {
    // (once handed on, the reader's: it unsubscribes at its close)
    if (this.observer !== undefined) return;
    this.released = true;
    this.held = [];
    this.subscription.unsubscribe();
  }
}

/** What a journal deleted: the records before `before`, once checkpoint `checkpoint` covered them. */
interface JournalMark {
  readonly checkpoint: number;
  readonly before: number;
}

const markName = (journal: string): string => `${journal}#committed`;

async function readMark(journal: StateStore, name: string): Promise<JournalMark | undefined> {
  const [text] = await journal.readJournal(markName(name), 0, 1);
  if (text === undefined) return undefined;
  let m: Partial<JournalMark> | undefined;
  try {
    m = JSON.parse(text) as Partial<JournalMark>;
  } catch {
    m = undefined;
  }
  if (typeof m !== 'object' || m === null || !isIndex(m.checkpoint) || !isIndex(m.before)) {
    throw new ConfigurationError('fromObservable', text, `fromObservable: the commit mark ${describeValue(text)} of journal ${JSON.stringify(name)} in ${journal.description} is damaged; restore the journal's store, or start over (restore: false, discardCommitted: true).`);
  }
  return { checkpoint: m.checkpoint, before: m.before };
}

/**
 * A source for streams that cannot replay (DOM events, sockets, subjects). With a `journal`, each value is written
 * to the journal (batched: whatever arrived while the previous write was in flight) and only processed once durable;
 * its offset is the journal sequence number, so a restored job replays what its checkpoint did not cover and then
 * continues live, exactly once. Journal entries older than the oldest retained checkpoint are deleted, and the journal
 * notes which checkpoint covered them: a job whose store lost that checkpoint refuses to start (`StoreBehindError`)
 * instead of losing them, unless `discardCommitted`.
 *
 * @example
 * ```ts
 * runJob({ name: 'taps', source: fromObservable(taps$, { journal: memoryStore() }), pipeline, checkpoint });
 * ```
 */
export function fromObservable<T>(source$: Observable<T>, options: FromObservableOptions = {}): Source<T> {
  if (!isObservable(source$)) {
    throw new ConfigurationError('fromObservable', source$, `fromObservable: ${describeValue(source$)} is not an Observable; give fromObservable(obs$) (for an array of values, fromArray(values)).`);
  }
  checkOptionKeys('fromObservable', 'the options', options, ['journal', 'name']);
  const description = 'fromObservable';
  const journal = options.journal;
  const journalName = (context: SourceContext): string => options.name ?? `${context.job}/source-${context.index}`;
  return {
    description,
    hold: () => new HeldSubscription(source$),
    async committedAhead(offset, context) {
      if (journal === undefined) return undefined;
      const name = journalName(context);
      const mark = await readMark(journal, name);
      const from = parseOffset(description, offset);
      if (mark === undefined || (context.startOver !== true && from >= mark.before)) return undefined;
      const first = context.startOver === true ? 0 : from;
      return {
        checkpoint: mark.checkpoint,
        what: `it deleted records ${first}–${mark.before - 1} once checkpoint ${mark.checkpoint} covered them`,
        loss: context.startOver === true ? 'drop the records it holds' : 'lose those records',
        component: `${description} (journal ${JSON.stringify(name)} in ${journal.description})`,
      };
    },
    async open(offset, context: SourceContext) {
      const name = journalName(context);
      let position = parseOffset(description, offset);
      let deletedBefore = 0;
      /** Values ready to process (durable when journaled), in order. */
      let ready: T[] = [];
      let incoming: T[] = [];
      let nextSeq = position;
      let writing = false;
      /** The journal append in flight (settled when none). */
      let appending: Promise<void> = Promise.resolve();
      let completed = false;
      let failure: unknown;
      let wake: (() => void) | undefined;
      const signal = (): void => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      if (journal !== undefined) {
        if (context.startOver === true) {
          // starting over: what the journal holds belongs to an abandoned run
          await journal.truncateJournal(markName(name), Number.MAX_SAFE_INTEGER);
          await journal.truncateJournal(name, Number.MAX_SAFE_INTEGER);
        } else {
          // records the job starts before are gone (it was told to go on without them: discardCommitted)
          deletedBefore = (await readMark(journal, name))?.before ?? 0;
          position = Math.max(position, deletedBefore);
        }
        const replay = await journal.readJournal(name, position);
        for (const s of replay) ready.push(decodeValue(s) as T);
        nextSeq = position + replay.length;
      }
      const flush = (): void => {
        if (journal === undefined || writing || incoming.length === 0) return;
        const batch = incoming;
        incoming = [];
        let encoded: string[];
        try {
          encoded = batch.map((v) => encodeValue(v));
        } catch (err) {
          // a value the journal cannot hold fails the job through the reader (a JobError naming this source), never
          // as an uncaught throw inside the observable's subscriber
          failure = err;
          signal();
          return;
        }
        writing = true;
        appending = journal.appendJournal(name, nextSeq, encoded).then(
          () => {
            nextSeq += batch.length;
            writing = false;
            for (const v of batch) ready.push(v);
            signal();
            flush();
          },
          (err: unknown) => {
            failure = err;
            signal();
          },
        );
      };
      const observer = {
        next: (v: T) => {
          if (journal === undefined) {
            ready.push(v);
            signal();
          } else {
            incoming.push(v);
            flush();
          }
        },
        error: (err: unknown) => {
          failure = err;
          signal();
        },
        complete: () => {
          completed = true;
          signal();
        },
      };
      // (what came since the job started, first: see `hold`; a hold handed on already is no longer one to take)
      const held = context.hold instanceof HeldSubscription ? (context.hold as HeldSubscription<T>) : undefined;
      const sub: Subscription = held?.take(observer) ?? source$.subscribe(observer);
      const take = (max: number): SourceRead<T> => {
        const values = ready.length <= max ? ready : ready.slice(0, max);
        ready = ready.length <= max ? [] : ready.slice(max);
        position += values.length;
        const done = completed && ready.length === 0 && incoming.length === 0 && !writing;
        return { values, done };
      };
      return {
        read(max: number): SourceRead<T> | Promise<SourceRead<T>> {
          // (the values that came before a failure are read first: the observable sent them before its error)
          if (ready.length > 0) return take(max);
          if (failure !== undefined) throw failure;
          if (completed && incoming.length === 0 && !writing) return take(max);
          return new Promise<SourceRead<T>>((resolve, reject) => {
            wake = () => {
              if (failure !== undefined && ready.length === 0) reject(failure);
              else resolve(take(max));
            };
          });
        },
        offset: () => String(position),
        async release(oldestOffset: string, completed: number) {
          if (journal === undefined) return;
          const before = parseOffset(description, oldestOffset);
          if (before > deletedBefore) {
            // noted first: a crash in between leaves a mark that claims no more than the store holds
            await journal.appendJournal(markName(name), 0, [JSON.stringify({ checkpoint: completed, before } satisfies JournalMark)]);
            deletedBefore = before;
          }
          await journal.truncateJournal(name, before);
        },
        async close() {
          sub.unsubscribe();
          // what the source accepted is journaled before the source is closed (the job's stop awaits this): an append
          // still in flight, and what came meanwhile — a store closed after the stop would otherwise lose them, and a
          // restart reading the journal before they landed would number its own values over them
          while (journal !== undefined && failure === undefined && (writing || incoming.length > 0)) {
            flush();
            await appending;
          }
        },
      } satisfies SourceReader<T>;
    },
  };
}
