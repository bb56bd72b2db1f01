// tidewater/nats in real Chromium: the same source and sink over the WebSocket transport (`wsconnect` of
// @nats-io/nats-core), checkpoints in IndexedDB. The server is the browser project's (test/support/natsGlobalSetup.ts).
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { wsconnect } from '@nats-io/nats-core';
import { pipe } from 'rxjs';
import { describe, expect, inject, it } from 'vitest';
import { boundedOutOfOrderness, count, runJob, tumblingWindows, type WindowResult } from '../src/index.js';
import { indexedDbStore } from '../src/stores/indexedDb.js';
import { aggregate, keyBy, map, window } from '../operators/index.js';
import { jetStreamSink, jetStreamSource } from '../src/nats/index.js';

const url = inject('natsWsUrl');

describe.runIf(url !== '')('tidewater/nats in a browser (Chromium, WebSocket)', () => {
  it('a job reads a JetStream stream, checkpoints into IndexedDB and publishes its output once; restarted on the same store, it publishes nothing twice', async () => {
    const nc = await wsconnect({ servers: url });
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const id = crypto.randomUUID().slice(0, 8);
      await jsm.streams.add({ name: `IN_${id}`, subjects: [`in-${id}.*`], storage: StorageType.Memory });
      await jsm.streams.add({ name: `OUT_${id}`, subjects: [`out-${id}`], storage: StorageType.Memory });
      const utf8 = new TextEncoder();
      // 3 users, 1 s windows: 60 clicks over 6 s, two partitions
      for (let i = 0; i < 60; i++) await js.publish(`in-${id}.${i % 2}`, utf8.encode(JSON.stringify({ user: `u${i % 3}`, at: i * 100 })));
      const store = indexedDbStore(`tidewater-nats-${id}`);
      const run = () =>
        runJob({
          name: 'browser-counts',
          source: jetStreamSource<{ user: string; at: number }>({ connection: nc, stream: `IN_${id}`, bounded: true, eventTime: { timestamp: (c) => c.at, watermarks: boundedOutOfOrderness(0, { interval: 0 }) } }),
          pipeline: pipe(
            keyBy((c: { user: string }) => c.user),
            window(tumblingWindows(1_000)),
            aggregate(count()),
            map((r: WindowResult<string, number>) => `${r.key}@${r.window.start}:${r.value}`),
          ),
          sink: jetStreamSink<string>({ connection: nc, subject: `out-${id}` }),
          checkpoint: { intervalMs: 1, store },
          batchSize: 7,
        });
      const first = await run().done;
      const read = async (): Promise<string[]> => {
        const info = await jsm.streams.info(`OUT_${id}`);
        const out: string[] = [];
        if (info.state.messages === 0) return out;
        const consumer = await js.consumers.get(`OUT_${id}`);
        for await (const m of await consumer.fetch({ max_messages: info.state.messages, expires: 5_000 })) {
          out.push(JSON.parse(new TextDecoder().decode(m.data)) as string);
          if (out.length === info.state.messages) break;
        }
        return out;
      };
      const expected = Array.from({ length: 6 }, (_, w) => [0, 1, 2].map((u) => `u${u}@${w * 1000}:${u === w % 3 ? 4 : 3}`)).flat();
      expect([first.restoredFrom ?? null, (await read()).sort()]).toStrictEqual([null, [...expected].sort()]);
      // the same job again on its store: restored at its last checkpoint, at the end of its bounded input
      const second = await run().done;
      expect([typeof second.restoredFrom, (await read()).length]).toStrictEqual(['number', expected.length]);
      await store.close();
    } finally {
      await nc.close();
    }
  });
});
