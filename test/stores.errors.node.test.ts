// Issue 12, item 8: LevelDB and IndexedDB open, read and write failures reject with a StoreError (a TidewaterError)
// naming the store's location, the real cause (not level's "Database is not open") and the remedy, with `cause` set.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import { afterAll, describe, expect, it } from 'vitest';
import { fromArray, runJob, StoreError, TidewaterError, toArray, type StateStore } from '../src/index.js';
import { map } from '../operators/index.js';
import { indexedDbStore } from '../src/stores/indexedDb.js';
import { levelStore } from '../src/stores/level.js';

const root = mkdtempSync(join(tmpdir(), 'tidewater-store-errors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = (): string => join(root, `db${n++}`);

const LOCKED = 'Another process, or another store in this process, has this database open: stop that process or close that store first, or give each its own directory.';
const NOT_A_DIRECTORY = 'The location is a file, not a directory: give levelStore the path of a directory (it is created when missing).';
const DAMAGED = 'The database is damaged (a file of it is missing or corrupt): restore the directory from a backup, or move it aside and start the job over (restore: false).';
const ACCESS = 'This process may not read or write the directory: give its user read and write access to the directory and its files.';
const CLOSED = 'The store was closed: open a new one.';

/** What `p` rejected with, checked to be a StoreError whose cause has `code`. */
async function storeError(p: Promise<unknown>, code: string | undefined): Promise<{ message: string; cause: Error }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StoreError);
  expect(e).toBeInstanceOf(TidewaterError);
  const cause = (e as StoreError).cause as Error & { code?: string };
  expect(cause).toBeInstanceOf(Error);
  expect(cause.code).toBe(code);
  return { message: (e as StoreError).message, cause };
}

/** A LevelDB directory with a few checkpoints' worth of data, closed. */
async function written(location: string): Promise<void> {
  const store = levelStore(location);
  await store.appendJournal('j', 0, ['a', 'b', 'c']);
  await store.close();
}

describe('levelStore: open and read failures', () => {
  it('a directory locked by another store (LEVEL_LOCKED)', async () => {
    const location = dir();
    const first = levelStore(location);
    await first.appendJournal('j', 0, ['a']);
    const second = levelStore(location);
    try {
      const { message, cause } = await storeError(second.loadCheckpoint('j', 'latest'), 'LEVEL_LOCKED');
      expect(message).toBe(`store level:${location}: opening the database failed: IO error: lock ${location}/LOCK: already held by process. ${LOCKED}`);
      expect(cause.message).toBe(`IO error: lock ${location}/LOCK: already held by process`);
      // every later call says the same (nothing is half open)
      expect((await storeError(second.appendJournal('j', 1, ['b']), 'LEVEL_LOCKED')).message).toBe(message);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('a directory locked by another process', async () => {
    const location = dir();
    await written(location);
    // the child holds the lock until its stdin closes
    const holder = `import('level').then(async ({ Level }) => { const db = new Level(process.argv[1]); await db.open(); process.stdout.write('open\\n'); process.stdin.resume().on('end', () => db.close()); });`;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', holder, location], { stdio: ['pipe', 'pipe', 'inherit'], cwd: resolve(import.meta.dirname, '..') });
    await new Promise<void>((ready) => child.stdout.on('data', (d: Buffer) => d.toString().includes('open') && ready()));
    const store = levelStore(location);
    try {
      const { message } = await storeError(store.readJournal('j', 0), 'LEVEL_LOCKED');
      expect(message).toBe(`store level:${location}: opening the database failed: IO error: lock ${location}/LOCK: Resource temporarily unavailable. ${LOCKED}`);
    } finally {
      child.stdin.end();
      await new Promise((exited) => child.on('exit', exited));
      await store.close();
    }
    // once the other process let go, the same directory opens
    const again = levelStore(location);
    expect(await again.readJournal('j', 0)).toStrictEqual(['a', 'b', 'c']);
    await again.close();
  });

  it('a path that is a file', async () => {
    const location = join(root, `file${n++}`);
    writeFileSync(location, 'not a database');
    const store = levelStore(location);
    const { message } = await storeError(store.loadCheckpoint('j', 'latest'), 'EEXIST');
    expect(message).toBe(`store level:${location}: opening the database failed: EEXIST: file already exists, mkdir '${location}'. ${NOT_A_DIRECTORY}`);
    await store.close();
  });

  it('a missing MANIFEST', async () => {
    const location = dir();
    await written(location);
    const manifest = readdirSync(location).find((f) => f.startsWith('MANIFEST-')) as string;
    rmSync(join(location, manifest));
    const store = levelStore(location);
    const { message } = await storeError(store.listCheckpoints('j'), 'LEVEL_IO_ERROR');
    expect(message).toBe(`store level:${location}: opening the database failed: IO error: ${location}/${manifest}: No such file or directory. ${DAMAGED}`);
    await store.close();
  });

  it('a missing .ldb table file', async () => {
    const location = dir();
    const db = new Level<string, string>(location);
    await db.put('jr/j/0000000000000000', 'a');
    await (db as unknown as { compactRange(a: string, b: string): Promise<void> }).compactRange('jr/', 'jr0'); // the memtable goes into a table file
    await db.close();
    const table = readdirSync(location).find((f) => f.endsWith('.ldb')) as string;
    rmSync(join(location, table));
    const store = levelStore(location);
    const { message } = await storeError(store.readJournal('j', 0), 'LEVEL_CORRUPTION');
    expect(message).toBe(`store level:${location}: opening the database failed: Corruption: 1 missing files; e.g.: ${location}/${table}. ${DAMAGED}`);
    await store.close();
  });

  it('permission denied (a child process as user nobody)', (ctx) => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) ctx.skip(); // needs root to start the child as another user
    const parent = join(root, `perm${n++}`);
    mkdirSync(parent);
    for (const d of [root, parent]) chmodSync(d, 0o755); // nobody may pass through
    const results: unknown[] = [];
    for (const [location, prepare] of [
      [join(parent, 'db'), (l: string) => mkdirSync(l, { mode: 0o700 })], // exists, not ours: LevelDB cannot take its LOCK
      [join(parent, 'locked-parent', 'db'), (l: string) => mkdirSync(join(l, '..'), { mode: 0o700 })], // cannot be created
    ] as const) {
      prepare(location);
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/support/levelOpenChild.ts', location], {
        cwd: resolve(import.meta.dirname, '..'),
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      results.push(JSON.parse(r.stdout));
    }
    const [lock, mkdir] = [join(parent, 'db', 'LOCK'), join(parent, 'locked-parent', 'db')];
    expect(results).toStrictEqual([
      {
        storeError: true,
        tidewaterError: true,
        message: `store level:${join(parent, 'db')}: opening the database failed: IO error: ${lock}: Permission denied. ${ACCESS}`,
        cause: `IO error: ${lock}: Permission denied`,
        code: 'LEVEL_IO_ERROR',
      },
      {
        storeError: true,
        tidewaterError: true,
        message: `store level:${mkdir}: opening the database failed: EACCES: permission denied, mkdir '${mkdir}'. ${ACCESS}`,
        cause: `EACCES: permission denied, mkdir '${mkdir}'`,
        code: 'EACCES',
      },
    ]);
  });

  it('a failing write (disk full) rejects writeCheckpoint with the StoreError itself', async () => {
    const db = new Level<string, string>(dir());
    const full = Object.assign(new Error('IO error: /var/lib/app/state/000005.log: No space left on device'), { code: 'LEVEL_IO_ERROR' });
    const failing = { location: db.location, open: () => db.open(), get: (k: string) => db.get(k), iterator: db.iterator.bind(db), keys: db.keys.bind(db), close: () => db.close(), batch: () => Promise.reject(full) };
    const store = levelStore(failing);
    const e = await store.writeCheckpoint({ job: 'j', id: 1, timestamp: 0, savepoint: false, operators: [], sources: [] }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).cause).toBe(full);
    expect((e as StoreError).message).toBe(
      `store level:${db.location}: a write failed: IO error: /var/lib/app/state/000005.log: No space left on device. The disk is full: free space, then restart the job (it resumes from its last complete checkpoint).`,
    );
    expect(await store.listCheckpoints('j')).toStrictEqual([]);
    await store.close();
  });

  it('use after close', async () => {
    const location = dir();
    const store = levelStore(location);
    await store.appendJournal('j', 0, ['a']);
    await store.close();
    const { message } = await storeError(store.readJournal('j', 0), 'LEVEL_DATABASE_NOT_OPEN');
    expect(message).toBe(`store level:${location}: a read failed: Database is not open. ${CLOSED}`);
  });

  it('a job on a locked store fails with the StoreError (job.done rejects, nothing crashes)', async () => {
    const location = dir();
    const first = levelStore(location);
    await first.appendJournal('x', 0, ['a']);
    const second = levelStore(location);
    try {
      const job = runJob({ name: 'j', source: fromArray([1, 2]), pipeline: map((v: number) => v), sink: toArray(), checkpoint: { intervalMs: 1000, store: second } });
      const { message } = await storeError(job.done, 'LEVEL_LOCKED');
      expect(message).toBe(`store level:${location}: opening the database failed: IO error: lock ${location}/LOCK: already held by process. ${LOCKED}`);
    } finally {
      await second.close();
      await first.close();
    }
  });
});

describe('indexedDbStore: open and read failures (fake-indexeddb)', () => {
  it('a database of that name that tidewater did not create (no object store "tidewater")', async () => {
    const name = `foreign-${n++}`;
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('theirs');
    await new Promise((r) => (open.onsuccess = r));
    open.result.close();
    const store: StateStore = indexedDbStore(name);
    const e = await store.loadCheckpoint('j', 'latest').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).cause).toMatchObject({ name: 'NotFoundError' });
    expect((e as StoreError).message).toBe(
      `store indexeddb:${name}: opening the database failed: the database has no object store "tidewater" (it was created by something else). Give indexedDbStore a name of its own.`,
    );
    await store.close();
  });

  it('a quota error on a write', async () => {
    const store = indexedDbStore(`quota-${n++}`);
    await store.appendJournal('j', 0, ['a']);
    const proto = IDBObjectStore.prototype; // fake-indexeddb's, installed globally by the node project's setup
    const put = proto.put;
    proto.put = () => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
    try {
      const e = await store.appendJournal('j', 1, ['b']).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(StoreError);
      expect((e as StoreError).cause).toMatchObject({ name: 'QuotaExceededError' });
      expect((e as StoreError).message).toBe(
        `store ${store.description}: a write failed: The quota has been exceeded. The browser's storage quota for this site is used up: free space (delete old data, keep fewer checkpoints: retain); navigator.storage.estimate() tells the quota and the use.`,
      );
    } finally {
      proto.put = put;
    }
    expect(await store.readJournal('j', 0)).toStrictEqual(['a']);
    await store.close();
  });

  it('a put whose request fails (its error event, then the transaction aborts): the error of the request is the cause', async () => {
    const store = indexedDbStore(`request-error-${n++}`);
    await store.appendJournal('j', 0, ['a']);
    // a put that fails on its request, asynchronously, as a browser reports a quota error on a put: here an add of a
    // key that exists (ConstraintError)
    const proto = IDBObjectStore.prototype;
    const put = proto.put;
    proto.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      return this.add(value, key);
    };
    try {
      const e = await store.appendJournal('j', 0, ['b']).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(StoreError);
      expect((e as StoreError).cause).toMatchObject({ name: 'ConstraintError' });
      expect((e as StoreError).message).toMatch(
        new RegExp(`^store ${store.description}: a write failed: \\S.*\\. Check that this page may use IndexedDB \\(storage is not disabled, e\\.g\\. in a private window\\) and that there is space\\.$`),
      );
    } finally {
      proto.put = put;
    }
    expect(await store.readJournal('j', 0)).toStrictEqual(['a']);
    await store.close();
  });

  it('a store closed before its first use opens no connection: reads and writes fail, nothing is written', async () => {
    const name = `closed-early-${n++}`;
    const store = indexedDbStore(name);
    await store.close();
    const e = await store.appendJournal('j', 0, ['a']).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).message).toBe(`store ${store.description}: a write failed: the store was closed. The store was closed: open a new one.`);
    await expect(store.readJournal('j', 0)).rejects.toThrow('a read failed: the store was closed. The store was closed: open a new one.');
    const again = indexedDbStore(name);
    expect(await again.readJournal('j', 0)).toStrictEqual([]);
    await again.close();
  });

  it('use after close', async () => {
    const store = indexedDbStore(`closed-${n++}`);
    await store.appendJournal('j', 0, ['a']);
    await store.close();
    const e = await store.readJournal('j', 0).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).message).toMatch(new RegExp(`^store ${store.description}: a read failed: .*\\. The store was closed: open a new one\\.$`));
  });
});
