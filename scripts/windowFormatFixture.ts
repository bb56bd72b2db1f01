// Writes test/fixtures/checkpoints/windows-<date>.json: for each case of test/support/windowFormatCases.ts, the
// checkpoints (a full one, then deltas) a harness took at each cut, the output between cuts and the late records so far.
// Run once with the code whose format the file records: `npx tsx scripts/windowFormatFixture.ts <date>`; the test
// (test/windows.format.node.test.ts) then restores every later version of the code from it.
import { writeFileSync } from 'node:fs';
import { harness, type HarnessCheckpoint } from '../testing/index.js';
import { feed, fmt } from '../test/support/windows.js';
import { formatCases, formatCuts, formatInput, lateSide } from '../test/support/windowFormatCases.js';

const date = process.argv[2];
if (date === undefined) throw new Error('usage: npx tsx scripts/windowFormatFixture.ts YYYY-MM-DD');

const plain = (cp: HarnessCheckpoint) => ({ operators: [...cp.operators], latest: [...cp.latest] });

const cases = formatCases.map((c) => {
  const late = lateSide();
  const h = harness(c.op(late));
  const outputs: string[][] = [];
  const lates: string[][] = [];
  const checkpoints: ReturnType<typeof plain>[] = [];
  let at = 0;
  for (const cut of formatCuts) {
    feed(h, formatInput.slice(at, cut));
    at = cut;
    checkpoints.push(plain(h.snapshot()));
    outputs.push(h.takeOutput().map(fmt));
    lates.push(h.sideOutput(late).map((r) => `${r.key} ${r.value[1]}@${r.timestamp}`));
  }
  feed(h, formatInput.slice(at));
  h.complete();
  outputs.push(h.takeOutput().map(fmt));
  lates.push(h.sideOutput(late).map((r) => `${r.key} ${r.value[1]}@${r.timestamp}`));
  return { name: c.name, checkpoints, outputs, lates };
});

const file = new URL(`../test/fixtures/checkpoints/windows-${date}.json`, import.meta.url);
writeFileSync(file, JSON.stringify({ written: date, cuts: formatCuts, cases }) + '\n');
console.log(`wrote ${file.pathname}`);
