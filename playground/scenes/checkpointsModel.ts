/**
 * The "checkpoints and recovery" scene's job, shared by the page (the reference: the job run uninterrupted), its Web
 * Worker (the job that checkpoints into IndexedDB, is crashed and restored) and its end-to-end test: the scenes'
 * clicks, read slowly, counted per user and second of event time, into a sink that hands each checkpoint's results to
 * the page when the checkpoint is durable (two-phase commit).
 */
import { pipe } from 'rxjs';
import { boundedOutOfOrderness, count, fromArray, tumblingWindows, type Sink, type Source, type WindowResult } from '../../src/index.js';
import { aggregate, eventTime, keyBy, window } from '../../operators/index.js';
import { clicksOf, type Click } from './eventTimeModel.js';

export type Result = WindowResult<string, number>;

/** The scene's clicks: three of the event-time scene's 12-second streams (seeds 7, 8, 9) one after another, ≈ 190. */
export const sceneClicks = (): Click[] =>
  [7, 8, 9].flatMap((seed, i) => clicksOf({ disorder: 600, seed }).map((c) => ({ ...c, id: c.id + i * 1_000, at: c.at + i * 13_000, arrival: c.arrival + i * 13_000 })));

/** Clicks per user and second of event time. */
export const checkpointsPipeline = pipe(
  eventTime((c: Click) => c.at, boundedOutOfOrderness(600, { interval: 0 })),
  keyBy((c: Click) => c.user),
  window(tumblingWindows(1_000), { name: 'clicks-per-second' }),
  aggregate(count()),
);

/**
 * `fromArray(values)` read `perRead` values at a time, each read after `delayMs` (a live feed, slow enough to watch);
 * `onRead` gets the position after each read (its offset: the index of the next value).
 */
export function slowly<T>(values: readonly T[], perRead: number, delayMs: () => number, onRead: (offset: number) => void = () => undefined): Source<T> {
  const inner = fromArray(values);
  return {
    description: `slowly(${inner.description})`,
    async open(offset, context) {
      const reader = await inner.open(offset, context);
      return {
        read: async (max) => {
          await new Promise((resolve) => setTimeout(resolve, delayMs()));
          const r = await reader.read(Math.min(max, perRead));
          onRead(Number(reader.offset()));
          return r;
        },
        offset: () => reader.offset(),
        close: () => reader.close(),
      };
    },
  };
}

/** A committed transaction: the results of one checkpoint, handed over once it is durable. */
export interface Committed {
  readonly checkpoint: number;
  readonly results: readonly Result[];
}

/**
 * A two-phase-commit sink whose "external system" is `publish`: a checkpoint's results are held in its transaction
 * (stored with the checkpoint) and published when the checkpoint is durable; a restored job publishes its restored
 * transactions again, which the receiver takes once per checkpoint id (as a JetStream subject drops a message id it
 * has: docs/NATS.md).
 */
export function committedTo(publish: (c: Committed) => void): Sink<Result> {
  return {
    description: 'committedTo(page)',
    open(context) {
      let current: Result[] = [];
      let pending: Committed[] = context.restored !== undefined ? (JSON.parse(context.restored) as { pending: Committed[] }).pending : [];
      for (const c of pending) publish(c);
      pending = [];
      return {
        write: (r) => void current.push(r),
        preCommit(id) {
          pending.push({ checkpoint: id, results: current });
          current = [];
          return JSON.stringify({ pending });
        },
        commit(id) {
          for (const c of pending) if (c.checkpoint <= id) publish(c);
          pending = pending.filter((c) => c.checkpoint > id);
        },
        close() {},
      };
    },
  };
}

/** Messages from the worker to the page. */
export type WorkerMessage =
  | { readonly type: 'started'; readonly restoredFrom: number | null; readonly offset: number }
  | { readonly type: 'read'; readonly offset: number }
  | { readonly type: 'checkpoint'; readonly id: number; readonly offset: number; readonly entries: number; readonly bytes: number; readonly full: boolean }
  | { readonly type: 'commit'; readonly committed: Committed }
  | { readonly type: 'done'; readonly restoredFrom: number | null }
  | { readonly type: 'failed'; readonly error: string };

/** Messages from the page to the worker. */
export interface StartMessage {
  readonly type: 'start';
  /** The job's name: its checkpoints in IndexedDB (`tidewater-playground-<name>`). */
  readonly name: string;
  readonly intervalMs: number;
  readonly delayMs: number;
}
