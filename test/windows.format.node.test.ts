// Window checkpoints written by an earlier version of the code still restore (docs/SEMANTICS.md §6): the file
// test/fixtures/checkpoints/windows-2026-12-02.json holds, for each operator of test/support/windowFormatCases.ts,
// the checkpoints a harness took at three cuts of a fixed input (a full one, then deltas) and what it emitted. Each
// is restored here and fed the rest of the input: the output equals the recorded one and today's uninterrupted run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { OperatorSnapshot } from '../src/index.js';
import { harness } from '../testing/index.js';
import { formatCases, formatCuts, formatInput, lateSide } from './support/windowFormatCases.js';
import { feed, fmt, sortRuns } from './support/windows.js';

interface RecordedCase {
  readonly name: string;
  readonly checkpoints: readonly { operators: [string, OperatorSnapshot[]][]; latest: [string, OperatorSnapshot][] }[];
  readonly outputs: readonly string[][];
  readonly lates: readonly string[][];
}

const recorded = JSON.parse(readFileSync(new URL('./fixtures/checkpoints/windows-2026-12-02.json', import.meta.url), 'utf8')) as {
  cuts: number[];
  cases: RecordedCase[];
};

const lateLine = (r: { key: unknown; value: [string, number]; timestamp: number }) => `${String(r.key)} ${r.value[1]}@${r.timestamp}`;

describe('window checkpoints of 2026-12-02 restore', () => {
  it('the file was written at the cuts and for the cases the test has', () => {
    expect(recorded.cuts).toStrictEqual(formatCuts);
    expect(recorded.cases.map((c) => c.name)).toStrictEqual(formatCases.map((c) => c.name));
  });

  for (const c of formatCases) {
    it(`${c.name}: from each checkpoint, the recorded output and today's uninterrupted run`, () => {
      const rec = recorded.cases.find((x) => x.name === c.name) as RecordedCase;
      // sliding windows: the order of keys firing one window changed on 2026-12-03 (slice-major, docs/SEMANTICS.md
      // §3.5; Flink leaves it open), so their outputs are compared per run of records between watermarks, sorted
      const canon = c.name.startsWith('sliding') ? sortRuns : (out: string[]) => out;
      // today's uninterrupted run emits what the recorded run emitted
      const late = lateSide();
      const live = harness(c.op(late));
      feed(live, formatInput);
      live.complete();
      const liveOut = live.output().map(fmt);
      const liveLate = live.sideOutput(late).map(lateLine);
      expect(canon(liveOut)).toStrictEqual(canon(rec.outputs.flat()));
      expect(liveLate).toStrictEqual(rec.lates[rec.lates.length - 1]);
      rec.checkpoints.forEach((cp, i) => {
        const side = lateSide();
        const restored = harness(c.op(side), { restore: { operators: new Map(cp.operators), latest: new Map(cp.latest) } });
        feed(restored, formatInput.slice(formatCuts[i]));
        restored.complete();
        expect(canon(restored.output().map(fmt))).toStrictEqual(canon(rec.outputs.slice(i + 1).flat()));
        expect(restored.sideOutput(side).map(lateLine)).toStrictEqual(liveLate.slice((rec.lates[i] as string[]).length));
      });
    });
  }
});
