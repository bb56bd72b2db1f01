import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipe } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { callbackSink, FileFormatError, fromArray, fromNdjsonFile, memoryStore, toNdjsonFile, runJob, type SourceReader } from '../src/index.js';
import { map } from '../operators/index.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tidewater-files-'));
}

async function readAll<T>(reader: SourceReader<T>, max: number): Promise<{ values: T[]; offsets: string[] }> {
  const values: T[] = [];
  const offsets: string[] = [];
  for (;;) {
    const r = await reader.read(max);
    values.push(...r.values);
    offsets.push(reader.offset());
    if (r.done) return { values, offsets };
  }
}

const ctx = { job: 'j', index: 0, scheduler: { now: () => 0, schedule: () => ({ unsubscribe() {} }) } } as never;

describe('fromNdjsonFile', () => {
  it('reads one value per line, skips blank lines, and resumes at a byte offset', async () => {
    const dir = tmp();
    const file = join(dir, 'in.ndjson');
    writeFileSync(file, '{"a":1}\n\n{"a":"ü"}\n{"a":3}'); // no newline at the end; a 2-byte character
    const source = fromNdjsonFile<{ a: unknown }>(file);
    const r1 = await source.open(undefined, ctx);
    const all = await readAll(r1, 2);
    expect(all.values).toStrictEqual([{ a: 1 }, { a: 'ü' }, { a: 3 }]);
    // (each with the fingerprint of the bytes before it: their number, their FNV-1a)
    expect(all.offsets).toStrictEqual(['20:20:66da50c9', '27:7:8799c197']);
    await r1.close();
    const r2 = await source.open('8', ctx); // right after the first line (a plain position: an offset written before fingerprints)
    expect((await readAll(r2, 10)).values).toStrictEqual([{ a: 'ü' }, { a: 3 }]);
    await r2.close();
    const r3 = await source.open('27:7:8799c197', ctx);
    expect(await r3.read(10)).toStrictEqual({ values: [], done: true });
    expect(r3.offset()).toBe('27:7:8799c197');
    await r3.close();
  });

  it('refuses to resume in a file replaced since, even one as long, whose bytes before the position differ', async () => {
    const file = join(tmp(), 'rotated.ndjson');
    writeFileSync(file, '{"n":1}\n{"n":2}\n');
    const source = fromNdjsonFile<{ n: number }>(file);
    const r1 = await source.open(undefined, ctx);
    expect((await r1.read(1)).values).toStrictEqual([{ n: 1 }]);
    const offset = r1.offset();
    expect(offset).toBe('8:8:e9ce161e');
    await r1.close();
    // rotated: a new file, longer, with a line end at the same place
    writeFileSync(file, '{"n":7}\n{"n":8}\n{"n":9}\n');
    await expect(source.open(offset, ctx)).rejects.toThrow(
      `fromNdjsonFile(${file}): the checkpoint resumes at byte 8, but the 8 B before it differ from those read before: the file was replaced or rewritten since. Restore the file, or start over (restore: false) to read it from its start.`,
    );
    // the same content again: resumes
    writeFileSync(file, '{"n":1}\n{"n":2}\n{"n":3}\n');
    const r2 = await source.open(offset, ctx);
    expect((await readAll(r2, 10)).values).toStrictEqual([{ n: 2 }, { n: 3 }]);
    await r2.close();
  });

  it('resumes in a file that grew by whole lines; refuses a position beyond the end or inside a line that grew after it was read', async () => {
    const file = join(tmp(), 'grow.ndjson');
    writeFileSync(file, '1\n2\n3'); // the last line without its line end: read as 3, position 5
    const source = fromNdjsonFile<number>(file);
    const r1 = await source.open(undefined, ctx);
    expect((await readAll(r1, 10)).values).toStrictEqual([1, 2, 3]);
    expect(r1.offset()).toBe('5:1:360caa42');
    await r1.close();
    // the line end came, then whole lines: read on
    writeFileSync(file, '1\n2\n3\n4\n');
    const r2 = await source.open('5', ctx);
    expect((await readAll(r2, 10)).values).toStrictEqual([4]);
    await r2.close();
    // the last line grew (3 was part of 34): the record taken from it was wrong
    writeFileSync(file, '1\n2\n34\n5\n');
    await expect(source.open('5', ctx)).rejects.toThrow(
      `fromNdjsonFile(${file}): the checkpoint resumes at byte 5, inside a line: the file's last line was read without a line end, and that line has grown since, so the record taken from it was part of a line still being written. Write each line with its line end at once (or only whole lines), then start over (restore: false).`,
    );
    // cut back below the position
    writeFileSync(file, '1\n');
    await expect(source.open('5', ctx)).rejects.toThrow(
      `fromNdjsonFile(${file}): the checkpoint resumes at byte 5, but the file has 2 B: it was cut back or replaced since. Restore the file, or start over (restore: false) to read it from its start.`,
    );
    await expect(source.open('5', ctx)).rejects.toThrow(FileFormatError);
  });

  it('skips a UTF-8 byte order mark at the start of the file', async () => {
    const file = join(tmp(), 'bom.ndjson');
    writeFileSync(file, '\ufeff{"a":1}\n{"a":2}\n');
    const r = await fromNdjsonFile(file).open(undefined, ctx);
    const all = await readAll(r, 10);
    expect(all).toStrictEqual({ values: [{ a: 1 }, { a: 2 }], offsets: all.offsets.length === 1 ? ['19:19:666575c1'] : ['19:19:666575c1', '19:19:666575c1'] });
    await r.close();
  });

  it('names the file, the byte position and the line when a line is not JSON, after giving the lines before it', async () => {
    const file = join(tmp(), 'bad.ndjson');
    writeFileSync(file, '{"a":1}\n{oops\n{"a":3}\n');
    const r = await fromNdjsonFile(file).open(undefined, ctx);
    expect(await r.read(10)).toStrictEqual({ values: [{ a: 1 }], done: false });
    expect(r.offset()).toBe('8:8:e526c981');
    await expect(Promise.resolve().then(() => r.read(10))).rejects.toThrow(FileFormatError);
    await expect(Promise.resolve().then(() => r.read(10))).rejects.toThrow(`fromNdjsonFile(${file}): the line at byte 8 is not JSON`);
    await r.close();
  });

  it('a job reading a line that is not JSON delivers the records of the lines before it, then fails naming the line', async () => {
    // (a reader that parsed a whole read at once lost the good lines read with the bad one)
    const file = join(tmp(), 'bad.ndjson');
    writeFileSync(file, '1\n2\n3\n{oops\n5\n');
    const written: number[] = [];
    const job = runJob({ name: 'bad-line', source: fromNdjsonFile<number>(file), pipeline: pipe(map((v: number) => v * 10)), sink: callbackSink<number>({ write: (v) => void written.push(v) }) });
    await expect(job.done).rejects.toThrow(`fromNdjsonFile(${file}): the line at byte 6 is not JSON`);
    expect(written).toStrictEqual([10, 20, 30]);
  });

  it('reads lines longer than a read (1 MiB), and resumes after one', async () => {
    const file = join(tmp(), 'long.ndjson');
    const long = 'x'.repeat(2_500_000);
    writeFileSync(file, `1\n"${long}"\n2\n"${'y'.repeat(1_048_570)}"\n3`);
    const r = await fromNdjsonFile<unknown>(file).open(undefined, ctx);
    const all = await readAll(r, 1);
    expect(all.values.map((v) => (typeof v === 'string' ? `${v[0] ?? ''}×${v.length}` : v))).toStrictEqual([1, `x×${long.length}`, 2, 'y×1048570', 3]);
    await r.close();
    const afterLong = all.offsets[1] as string;
    expect(afterLong.split(':')[0]).toBe(String(2 + long.length + 3));
    const again = await fromNdjsonFile<unknown>(file).open(afterLong, ctx);
    expect((await readAll(again, 10)).values.map((v) => (typeof v === 'string' ? v.length : v))).toStrictEqual([2, 1_048_570, 3]);
    await again.close();
  });

  it('feeds a job that writes NDJSON (no checkpoints: lines appended as they come)', async () => {
    const dir = tmp();
    const input = join(dir, 'in.ndjson');
    const output = join(dir, 'out', 'doubled.ndjson');
    writeFileSync(input, Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n');
    const summary = await runJob({
      name: 'double',
      source: fromNdjsonFile<{ i: number }>(input),
      pipeline: pipe(map((v: { i: number }) => v.i * 2)),
      sink: toNdjsonFile<number>(output),
    }).done;
    expect(summary.recordsOut).toBe(10_000);
    expect(readFileSync(output, 'utf8')).toBe(Array.from({ length: 10_000 }, (_, i) => String(i * 2)).join('\n') + '\n');
    expect(existsSync(`${output}.pending-1`)).toBe(false);
  });

  it('rejects a value without a JSON form, naming it', async () => {
    const output = join(tmp(), 'out.ndjson');
    const job = runJob({ name: 'undef', source: fromArray([1]), pipeline: pipe(map(() => undefined)), sink: toNdjsonFile<undefined>(output) });
    await expect(job.done).rejects.toThrow(`toNdjsonFile(${output}): undefined has no JSON form; map results to JSON values before the sink.`);
  });
});

describe('toNdjsonFile (two-phase commit)', () => {
  it('refuses to resume when the output file lost committed lines', async () => {
    const dir = tmp();
    const output = join(dir, 'out.ndjson');
    const store = memoryStore();
    const cfg = { intervalMs: 1e9, store };
    await runJob({ name: 'n', source: fromArray([1, 2, 3]), pipeline: pipe(map((x: number) => x)), sink: toNdjsonFile<number>(output), checkpoint: cfg }).done;
    expect(readFileSync(output, 'utf8')).toBe('1\n2\n3\n');
    writeFileSync(output, '1\n');
    const job = runJob({ name: 'n', source: fromArray([1, 2, 3]), pipeline: pipe(map((x: number) => x)), sink: toNdjsonFile<number>(output), checkpoint: cfg });
    await expect(job.done).rejects.toThrow(FileFormatError);
    await expect(job.done).rejects.toThrow(`toNdjsonFile(${output}): transaction 1 is neither committed nor pending (${output}.pending-1 is missing); the output file was changed behind the job's back.`);
  });
});
