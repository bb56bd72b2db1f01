// jetStreamStore (tidewater/nats): the shared StateStore conformance suite, and what is its own — the log replayed by a
// new opener, an incomplete batch skipped, a second writer refused, batches larger than a message, compaction.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../src/index.js';
import { jetStreamStore } from '../src/nats/index.js';
import { natsAvailable, startNatsServer, type NatsServer } from './support/natsServer.js';
import { snap, storeConformance } from './support/storeConformance.js';

const run = natsAvailable();
let server: NatsServer;
let nc: NatsConnection;
let n = 0;

describe.runIf(run)('jetStreamStore', () => {
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  storeConformance('jetStreamStore', () => jetStreamStore({ connection: nc, name: `conformance.s${n++}` }), { propertyRuns: 10 });

  const checkpoint = (id: number, value: string) => ({
    job: 'j',
    id,
    timestamp: id,
    savepoint: false,
    operators: [snap('counts', true, [['a', value]])],
    sources: ['{}'],
  });

  it('a store opened again (by any process) reads what was written: the log replayed', async () => {
    const a = jetStreamStore({ connection: nc, name: 'replay' });
    await a.writeCheckpoint(checkpoint(1, '"one"'));
    await a.writeCheckpoint(checkpoint(2, '"two"'));
    await a.close();
    const b = jetStreamStore({ connection: nc, name: 'replay' });
    const loaded = await b.loadCheckpoint('j', 'latest');
    expect(loaded?.id).toBe(2);
    expect(loaded?.operators[0]?.entries.map((e) => [e.path, e.value])).toStrictEqual([['a', '"two"']]);
    expect((await b.listCheckpoints('j')).map((c) => c.id)).toStrictEqual([2, 1]);
  });

  it('a batch whose writer died between its parts is skipped; the next writer goes on after it', async () => {
    const a = jetStreamStore({ connection: nc, name: 'torn' });
    await a.kv.batch([{ type: 'put', key: 'k', value: 'before' }]);
    // half of a two-part batch, as a writer killed between its parts leaves it
    const h = natsHeaders();
    h.set('Tidewater-Batch', 'dead:1');
    h.set('Tidewater-Part', '0/2');
    await jetstream(nc).publish('tidewater.state.torn', new TextEncoder().encode('[["p","k","af'), { headers: h });
    const b = jetStreamStore({ connection: nc, name: 'torn' });
    expect(await b.kv.get('k')).toBe('before');
    await b.kv.batch([{ type: 'put', key: 'k', value: 'after' }]);
    const c = jetStreamStore({ connection: nc, name: 'torn' });
    expect(await c.kv.range('', 'z')).toStrictEqual([['k', 'after']]);
  });

  it('refuses a write when another process wrote since it opened (one writer per store)', async () => {
    const a = jetStreamStore({ connection: nc, name: 'two-writers' });
    const b = jetStreamStore({ connection: nc, name: 'two-writers' });
    await a.kv.get('x');
    await b.kv.get('x');
    await a.kv.batch([{ type: 'put', key: 'x', value: 'a' }]);
    const refused = b.kv.batch([{ type: 'put', key: 'x', value: 'b' }]);
    await expect(refused).rejects.toThrow(StoreError);
    await expect(refused).rejects.toThrow(
      /^store jetstream:TIDEWATER_STATE\/two-writers: a write failed: .*wrong last sequence.*\. Another process wrote to this store since it was opened: a store belongs to one job \(task\) at a time\. Stop the other process \(two members running the same task\?\), then reopen the store\.$/,
    );
    expect(await jetStreamStore({ connection: nc, name: 'two-writers' }).kv.get('x')).toBe('a');
  });

  it('writes of one store that overlap go one after another (a journal appended while a checkpoint is written)', async () => {
    const a = jetStreamStore({ connection: nc, name: 'overlapping' });
    await Promise.all([a.appendJournal('j', 1, ['a']), a.appendJournal('m', 0, ['b']), a.kv.batch([{ type: 'put', key: 'k', value: 'v' }])]);
    const b = jetStreamStore({ connection: nc, name: 'overlapping' });
    expect([await b.readJournal('j', 1), await b.readJournal('m', 0), await b.kv.get('k')]).toStrictEqual([['a'], ['b'], 'v']);
  });

  it('a batch larger than a message is written in parts and read back whole', async () => {
    const big = 'x'.repeat(1_500_000) + 'é'.repeat(300_000);
    const a = jetStreamStore({ connection: nc, name: 'big' });
    await a.kv.batch([
      { type: 'put', key: 'big', value: big },
      { type: 'put', key: 'small', value: '1' },
    ]);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('TIDEWATER_STATE', { subjects_filter: 'tidewater.state.big' });
    expect(info.state.subjects?.["tidewater.state.big"]).toBe(5); // (2.1 MB of UTF-8 in parts of 512 KB)
    const b = jetStreamStore({ connection: nc, name: 'big' });
    expect(await b.kv.get('big')).toBe(big);
    expect(await b.kv.get('small')).toBe('1');
  });

  it('compacts its log once it outgrows the live data: the data stays, the old messages go', async () => {
    const a = jetStreamStore({ connection: nc, name: 'compact' });
    const value = (i: number): string => String(i).padStart(200_000, '-');
    for (let i = 0; i < 30; i++) await a.kv.batch([{ type: 'put', key: 'v', value: value(i) }, { type: 'put', key: `k${i % 3}`, value: String(i) }]);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('TIDEWATER_STATE', { subjects_filter: 'tidewater.state.compact' });
    // 30 batches of ≈ 200 KB; compaction at 4 × the ≈ 200 KB live data (at least 4 MB): far fewer messages remain
    expect(info.state.subjects?.['tidewater.state.compact']).toBeLessThan(25);
    const b = jetStreamStore({ connection: nc, name: 'compact' });
    expect(await b.kv.range('', 'z')).toStrictEqual([
      ['k0', '27'],
      ['k1', '28'],
      ['k2', '29'],
      ['v', value(29)],
    ]);
  });

  it('a write whose acknowledgement is lost fails saying it may be stored; the store reads its log again and goes on', async () => {
    // a connection whose next publish to the store's subject is stored by the server but answered by a timeout
    let loseAck = false;
    const lossy = new Proxy(nc, {
      get(target, prop) {
        if (prop === 'request') {
          return async (subject: string, data: Uint8Array, opts?: unknown) => {
            const reply = await target.request(subject, data, opts as never);
            if (loseAck && subject === 'tidewater.state.lost-ack') {
              loseAck = false;
              throw new Error('TIMEOUT (the acknowledgement was lost)');
            }
            return reply;
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const a = jetStreamStore({ connection: lossy, name: 'lost-ack' });
    await a.kv.batch([{ type: 'put', key: 'k', value: 'one' }]);
    loseAck = true;
    const unsure = a.kv.batch([{ type: 'put', key: 'k', value: 'two' }]);
    await expect(unsure).rejects.toThrow(
      "store jetstream:TIDEWATER_STATE/lost-ack: a write failed: TIMEOUT (the acknowledgement was lost). The batch may or may not have been stored (the server's acknowledgement did not come); the store reads its log again before its next read or write. Check that the NATS server runs and the connection is open.",
    );
    // the batch was stored: the store reads it back (as a new opener would), and its next write expects the right sequence
    expect(await a.kv.get('k')).toBe('two');
    await a.kv.batch([{ type: 'put', key: 'k', value: 'three' }, { type: 'put', key: 'm', value: '3' }]);
    expect(await a.kv.range('', 'z')).toStrictEqual([['k', 'three'], ['m', '3']]);
    const b = jetStreamStore({ connection: nc, name: 'lost-ack' });
    expect(await b.kv.range('', 'z')).toStrictEqual([['k', 'three'], ['m', '3']]);
  });

  it('refuses a name that is not a subject token path', () => {
    expect(() => jetStreamStore({ connection: nc, name: 'a b' })).toThrow('jetStreamStore: name "a b" must be letters, digits, \'-\' or \'_\', in parts joined by \'.\'.');
  });
});
