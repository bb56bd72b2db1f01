/**
 * The "partitioning" scene's model, without the DOM: keyed records (16 sensors) through the real `partitionStream`
 * — Flink's hash partitioning by key group (`partitionOfKeyGroup(keyGroupOf(key, maxParallelism), n, maxParallelism)`,
 * docs/SEMANTICS.md §7), or round robin — one record per 100 ms of processing time, so the page can show each record
 * reach its subtask.
 */
import { Subject } from 'rxjs';
import { keyGroupOf, partitionOfKeyGroup, partitionStream, record, type StreamElement } from '../../src/index.js';
import { numbersFromQuery, settingsToQuery } from './eventTimeModel.js';
import { prng } from '../../demo/clicks.js';

export interface PartitionParams {
  readonly n: number;
  readonly maxParallelism: number;
  /** 0: hash (by key group), 1: round robin. */
  readonly roundRobin: number;
  readonly speed: number;
  readonly seed: number;
}

export const PARTITION_DEFAULTS: PartitionParams = { n: 3, maxParallelism: 16, roundRobin: 0, speed: 1, seed: 7 };
export const PARTITION_LIMITS = { n: [1, 8, 1], maxParallelism: [8, 128, 8], roundRobin: [0, 1, 1], speed: [0.25, 32, 0.25], seed: [1, 999, 1] } as const;
export const partitionParamsFromQuery = (query: string): PartitionParams => {
  const p = numbersFromQuery(query, PARTITION_DEFAULTS, PARTITION_LIMITS);
  return p.n > p.maxParallelism ? { ...p, n: p.maxParallelism } : p;
};
export const partitionParamsToQuery = (p: PartitionParams): string => settingsToQuery(p);

export const SENSORS = Array.from({ length: 16 }, (_, i) => `sensor-${String.fromCharCode(97 + i)}`);

export interface Routed {
  readonly id: number;
  readonly key: string;
  readonly keyGroup: number;
}

export interface PartitionFrame {
  readonly now: number;
  /** Per subtask, the records it received, in order. */
  readonly subtasks: readonly (readonly Routed[])[];
  readonly done: boolean;
}

const STEP = 100;
const COUNT = 120;

export class PartitionRun {
  readonly endsAt = COUNT * STEP + STEP;
  private readonly input = new Subject<StreamElement<string, string>>();
  private readonly routed: Routed[][];
  private readonly keys: string[];
  private next = 0;
  private now = 0;
  private done = false;

  constructor(readonly params: PartitionParams) {
    const rnd = prng(params.seed);
    this.keys = Array.from({ length: COUNT }, () => SENSORS[Math.floor(rnd() * SENSORS.length)] as string);
    this.routed = Array.from({ length: params.n }, () => []);
    const parts = partitionStream(this.input, params.n, params.roundRobin === 1 ? 'round-robin' : 'hash', { maxParallelism: params.maxParallelism });
    parts.forEach((p, i) =>
      p.subscribe((e) => {
        if (e.kind === 'record') (this.routed[i] as Routed[]).push({ id: e.timestamp, key: e.key, keyGroup: keyGroupOf(e.key, params.maxParallelism) });
      }),
    );
  }

  /** A key's key group. */
  keyGroup(key: string): number {
    return keyGroupOf(key, this.params.maxParallelism);
  }

  /** The subtask that owns a key's key group (what hash partitioning sends it to). */
  ownerOf(key: string): number {
    return partitionOfKeyGroup(keyGroupOf(key, this.params.maxParallelism), this.params.n, this.params.maxParallelism);
  }

  advanceTo(t: number): PartitionFrame {
    const target = Math.min(Math.max(t, this.now), this.endsAt);
    while (this.next < COUNT && (this.next + 1) * STEP <= target) {
      const key = this.keys[this.next] as string;
      this.input.next(record(key, this.next + 1, key));
      this.next++;
    }
    this.now = target;
    if (target >= this.endsAt && !this.done) {
      this.done = true;
      this.input.complete();
    }
    return this.frame();
  }

  nextArrival(): number {
    return Math.min((this.next + 1) * STEP, this.endsAt);
  }

  frame(): PartitionFrame {
    return { now: this.now, subtasks: this.routed, done: this.done };
  }
}
