/**
 * A custom hash partitioner: the values 1–5 are split into `n` partitions by a function `(record, n) => index`
 * that hashes each value as Flink hashes a key (Java `hashCode`, then murmur) and takes it modulo `n`. Watermarks go
 * to every partition; records to the one the function picks (docs/SEMANTICS.md §9).
 *
 * Flink equivalent: `stream.partitionCustom((key, n) -> MathUtils.murmurHash(key.hashCode()) % n, v -> v)`
 * (PyFlink: `partition_custom`).
 *
 * Run: `npx tsx examples/customPartitioner.ts [n]` (n defaults to 2).
 */
import { from } from 'rxjs';
import { fileURLToPath } from 'node:url';
import { javaHashCode, murmurHash, partitionStream, type Partitioner } from '../src/index.js';
import { eventTime } from '../operators/index.js';

/** The partitioner: the value's Flink key hash (non-negative), modulo the number of partitions. */
export const byHash: Partitioner<number> = (record, n) => murmurHash(javaHashCode(record.value)) % n;

/**
 * Splits the values 1–5 into `n` partitions with {@link byHash}; prints, in order, where each value goes, then
 * each partition's values. Returns the printed lines.
 *
 * @example
 * ```ts
 * main(3); // ['value 1 → partition …', …, 'partition 0: …', …]
 * ```
 */
export function main(n = 2, print: (line: string) => void = console.log): string[] {
  const lines: string[] = [];
  const say = (line: string): void => {
    lines.push(line);
    print(line);
  };
  say(`values 1–5 into ${n} partitions by murmurHash(javaHashCode(value)) % ${n}:`);
  // event time: value v happens at v seconds (the partitions also get the watermarks, and the end of input)
  const numbers = from([1, 2, 3, 4, 5]).pipe(eventTime((v: number) => v * 1_000));
  const partitions = partitionStream(numbers, n, byHash);
  const received: number[][] = partitions.map(() => []);
  // the source runs once every partition has a subscriber, so the last subscribe below starts it
  partitions.forEach((partition, i) =>
    partition.subscribe((e) => {
      if (e.kind !== 'record') return;
      received[i]?.push(e.value);
      say(`  value ${e.value} → partition ${i}`);
    }),
  );
  received.forEach((values, i) => say(`partition ${i}: ${values.length > 0 ? values.join(', ') : '(nothing)'}`));
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(Number(process.argv[2] ?? 2));
