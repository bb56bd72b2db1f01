import { pipe, startWith } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { count, fromArray, MAX_WATERMARK, runJob, toArray, tumblingWindows, watermark, type StreamElement } from '../src/index.js';
import { aggregate, keyBy, process, window } from '../operators/index.js';
import { harness } from '../testing/index.js';

const warning = (name: string): string =>
  `${name}: a record arrived after the end of event time (watermark MAX_WATERMARK); it is processed, but event-time ` +
  'timers it registers never fire, and a window it belongs to has already fired. Records must come before the ' +
  'end-of-input watermark: check the source or the merge that emitted MAX_WATERMARK early (metric ' +
  'recordsAfterEndOfInput counts them).';

const echo = process<string, string, string>({
  name: 'echo',
  onElement(v, ctx) {
    ctx.emit(v);
    ctx.timers.registerEventTime(ctx.timestamp + 10);
  },
  onTimer(ts, ctx) {
    ctx.emit(`timer@${ts}`);
  },
});

describe('records after the end of input (issue 12, item 7; docs/SEMANTICS.md §2.6)', () => {
  it('process runs them as Flink does, counts them and warns once; their timers never fire', () => {
    const h = harness(echo);
    h.record('a', 1, 'k').watermark(MAX_WATERMARK).record('b', 2, 'k').record('c', 3, 'k').complete();
    expect(h.records().map((r) => r.value)).toStrictEqual(['a', 'timer@11', 'b', 'c']);
    expect(h.warnings()).toStrictEqual([warning('echo')]);
    expect(h.metrics()).toStrictEqual({ recordsIn: 3, recordsOut: 4, stateEntries: 0, recordsAfterEndOfInput: 2 });
    expect(h.timers('k')).toStrictEqual([
      ['event', 12, ''],
      ['event', 13, ''],
    ]);
  });

  it('nothing is counted or reported while records come before MAX', () => {
    const h = harness(echo);
    h.record('a', 1, 'k').watermark(5).record('b', 2, 'k').complete();
    expect(h.warnings()).toStrictEqual([]);
    expect(h.metrics()['recordsAfterEndOfInput']).toBe(0);
  });

  it('a window finds them late (dropped and counted) and counts them as after the end', () => {
    const h = harness(pipe(window(tumblingWindows(10), { name: 'w' }), aggregate(count())));
    h.record('a', 1, 'k').watermark(MAX_WATERMARK).record('b', 2, 'k');
    expect(h.records().map((r) => r.value)).toStrictEqual([{ key: 'k', window: { start: 0, end: 10 }, value: 1 }]);
    expect(h.metrics()).toMatchObject({ lateRecordsDropped: 1, recordsAfterEndOfInput: 1 });
    expect(h.warnings()).toContain(warning('w'));
  });

  it('in a job the warning reaches onWarning and the count the summary', async () => {
    const warnings: string[] = [];
    const job = runJob({
      name: 'late',
      source: fromArray(['a', 'b']),
      pipeline: pipe(
        startWith(watermark(MAX_WATERMARK) as StreamElement<string, undefined>),
        keyBy((s: string) => s),
        echo,
      ),
      sink: toArray<string>(),
      onWarning: (m) => warnings.push(m),
    });
    const summary = await job.done;
    expect(warnings).toStrictEqual([`runJob(late): ${warning('echo')}`]);
    expect(summary.operators['echo']).toMatchObject({ recordsIn: 2, recordsAfterEndOfInput: 2 });
  });
});
