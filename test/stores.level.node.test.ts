import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, describe, expect, it } from 'vitest';
import { openDefaultStore } from '../src/index.js';
import { levelStore } from '../src/stores/level.js';
import { snap, storeConformance } from './support/storeConformance.js';

const root = mkdtempSync(join(tmpdir(), 'tidewater-level-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = (): string => join(root, `db${n++}`);

storeConformance('levelStore', () => levelStore(dir()), { propertyRuns: 25 });

describe('levelStore', () => {
  it('keeps everything across close and reopen of the same directory', async () => {
    const location = dir();
    const a = levelStore(location);
    expect(a.description).toBe(`level:${location}`);
    await a.writeCheckpoint({ job: 'j', id: 1, timestamp: 5, savepoint: false, operators: [snap('o', true, [['k', '1']], '3')], sources: ['0'] });
    await a.writeCheckpoint({ job: 'j', id: 2, parent: 1, timestamp: 6, savepoint: false, operators: [snap('o', false, [['k', undefined], ['m', '2']], '4')], sources: ['1'] });
    await a.appendJournal('src', 0, ['x', 'y']);
    await a.close();
    const b = levelStore(location, { sync: false });
    const loaded = await b.loadCheckpoint('j', 'latest');
    expect([loaded?.id, loaded?.operators, loaded?.sources, loaded?.skipped]).toStrictEqual([2, [snap('o', true, [['m', '2']], '4')], ['1'], []]);
    expect(await b.readJournal('src', 0)).toStrictEqual(['x', 'y']);
    await b.close();
  });

  it('accepts an open level database (structural LevelLike)', async () => {
    const db = new Level<string, string>(dir());
    const store = levelStore(db);
    expect(store.description).toBe(`level:${db.location}`);
    await store.appendJournal('j', 0, ['a']);
    expect(await db.get('jr/j/0000000000000000')).toBe('a');
    await store.close();
    expect(db.status).toBe('closed');
  });

  it("puts each job's head aside in a file next to the database (kept by a restart, cleared by a start over, ignored when damaged)", async () => {
    const location = dir();
    const a = levelStore(location);
    const write = (id: number) => a.writeCheckpoint({ job: 'j', id, timestamp: id, savepoint: false, operators: [snap('o', true, [['k', `${id}`]])], sources: [] });
    await write(1);
    await write(2);
    const aside = readdirSync(location).filter((f) => f.startsWith('tidewater-aside-'));
    expect(aside.length).toBe(1);
    const file = join(location, aside[0] as string);
    const head = (): unknown => JSON.parse((JSON.parse(readFileSync(file, 'utf8')) as { value: string }).value.slice(16));
    expect([JSON.parse(readFileSync(file, 'utf8')).key, head()]).toStrictEqual(['cp/j/h', [1, 2]]);
    // every entry of both checkpoints gone from LevelDB (the head in it too): the file still knows them
    await a.kv.batch((await a.kv.keys('cp/j/', 'cp/j0')).map((key) => ({ type: 'del', key })));
    expect(await a.nextCheckpointId('j')).toBe(3);
    expect(await a.loadCheckpoint('j', 'latest')).toBeUndefined();
    await write(3);
    expect(head()).toStrictEqual([1, 2, 3]);
    expect((await a.loadCheckpoint('j', 'latest'))?.fallback).toBeUndefined();
    await a.prune('j', 1);
    expect(head()).toStrictEqual([3]);
    await a.prune('j', 0); // starting over: no checkpoint, and the highest id used (none is used again)
    expect(head()).toStrictEqual([{ above: 3 }]);
    await a.close();
    writeFileSync(file, '{"key":"cp/j/h","value":"damaged"}');
    const b = levelStore(location);
    expect(await b.nextCheckpointId('j')).toBe(4);
    await b.close();
  });

  it('an unreadable head copy (a directory in its place) fails no checkpoint and no restore; its put warns', async () => {
    const location = dir();
    const a = levelStore(location);
    const write = (id: number, warnings: string[]) =>
      a.writeCheckpoint({ job: 'j', id, timestamp: id, savepoint: false, operators: [snap('o', true, [['k', `${id}`]])], sources: [], onWarning: (m) => void warnings.push(m) });
    await write(1, []);
    const file = join(location, readdirSync(location).find((f) => f.startsWith('tidewater-aside-')) as string);
    rmSync(file);
    mkdirSync(join(file, 'x'), { recursive: true });
    const warnings: string[] = [];
    await write(2, warnings);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/checkpoint 2: the checkpoint is complete, but putting the job's head aside failed/);
    expect((await a.loadCheckpoint('j', 'latest'))?.id).toBe(2);
    await a.close();
  });

  it('values put aside at the same time end as the last put', async () => {
    const store = levelStore(dir());
    const { putAside, getAside } = store.kv as Required<typeof store.kv>;
    await Promise.all([putAside('a', '1'), putAside('a', '2'), putAside('b', '3'), putAside('a', '4')]);
    expect([await getAside('a'), await getAside('b'), await getAside('c')]).toStrictEqual(['4', '3', undefined]);
    await store.close();
  });

  it('openDefaultStore is LevelDB in Node', async () => {
    const location = dir();
    const store = await openDefaultStore(location);
    expect(store.description).toBe(`level:${location}`);
    await store.appendJournal('j', 0, ['x']);
    expect(await store.readJournal('j', 0)).toStrictEqual(['x']);
    await store.close();
  });
});
