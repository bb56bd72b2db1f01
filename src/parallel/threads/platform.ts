import { nodeBuiltin } from '../../core/node.js';
import type { FromWorker, ToWorker } from './protocol.js';

/**
 * A worker thread as the threaded `parallel` operator uses it, the same on Node (`worker_threads`) and in browsers
 * (Web Workers).
 *
 * @internal
 */
export interface SubtaskThread {
  post(message: ToWorker, transfer?: ArrayBuffer[]): void;
  terminate(): void;
}

/** What a thread reports. @internal */
export interface ThreadEvents {
  message(m: FromWorker): void;
  /** An uncaught error in the thread, or a message that could not be read. */
  error(err: unknown): void;
  /** The thread stopped (Node: with its exit code). */
  exit(code: number): void;
}

interface NodeWorker {
  postMessage(m: unknown, transfer?: readonly ArrayBuffer[]): void;
  terminate(): Promise<number>;
  on(event: 'message', fn: (m: FromWorker) => void): void;
  on(event: 'error' | 'messageerror', fn: (e: unknown) => void): void;
  on(event: 'exit', fn: (code: number) => void): void;
  unref?(): void;
}

/**
 * Starts a thread running the worker entry. On Node a TypeScript entry or pipeline module is loaded through tsx
 * (a development setup: tests, `tsx` scripts); built code needs nothing.
 *
 * @internal
 */
export function startThread(module: string, events: ThreadEvents): SubtaskThread {
  // The worker entry, written as `new URL('<literal>', import.meta.url)` so that bundlers and dev servers (Vite) see
  // the worker and serve or bundle it as one: from the sources (tests, tsx) `workerEntry.ts` next to this file; the
  // build (scripts/build.mjs) rewrites it to the bundle's `./worker.js`.
  const entry = new URL('./workerEntry.ts', import.meta.url);
  const threads = nodeBuiltin<{ Worker: new (code: string, options: object) => NodeWorker }>('node:worker_threads');
  if (threads === undefined) {
    if (typeof Worker === 'undefined') throw new Error('parallel: this environment has neither worker_threads nor Web Workers');
    const w = new Worker(new URL('./workerEntry.ts', import.meta.url), { type: 'module' });
    /** Whether the worker said anything yet: its entry loaded (the pipeline module's import failing is a message). */
    let heard = false;
    w.onmessage = (ev: MessageEvent<FromWorker>) => {
      heard = true;
      events.message(ev.data);
    };
    w.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      // (what the entry catches it sends as a message, with the error itself; an event here is what it could not)
      const what = heard
        ? 'the Web Worker failed'
        : `the page could not load tidewater's worker entry ${entry.href}: a bundled app must serve tidewater's worker file beside the code that starts the workers (dist/worker.js of the package, next to the bundle; Vite does so itself, esbuild does not: copy it)`;
      events.error(ev.error ?? new Error(ev.message || what));
    };
    w.onmessageerror = () => events.error(new Error('a message from the Web Worker could not be read'));
    return {
      post: (m, transfer) => w.postMessage(m, transfer ?? []),
      terminate: () => w.terminate(),
    };
  }
  const needsTsx = entry.pathname.endsWith('.ts') || /\.[mc]?tsx?$/.test(new URL(module, 'file:///').pathname);
  // a tiny bootstrap (eval; valid as a script and as a module): registers tsx when TypeScript must be loaded, then
  // imports the entry
  const bootstrap =
    "import('node:worker_threads').then(async ({ workerData }) => {" +
    ' if (workerData.tsx) { const { register } = await import(workerData.tsx); register(); }' +
    ' await import(workerData.entry); })' +
    '.catch((e) => { setTimeout(() => { throw e; }); });';
  const tsx = needsTsx ? tsxApi() : undefined;
  const w = new threads.Worker(bootstrap, { eval: true, workerData: { entry: entry.href, tsx } });
  w.on('message', (m) => events.message(m));
  w.on('error', (e) => events.error(e));
  w.on('messageerror', (e) => events.error(e));
  w.on('exit', (code) => events.exit(code));
  return {
    post: (m, transfer) => w.postMessage(m, transfer),
    terminate: () => void w.terminate(),
  };
}

/** tsx's register API, resolved from the working directory (a development dependency of whoever runs sources). */
function tsxApi(): string {
  const mod = nodeBuiltin<{ createRequire(from: string): { resolve(id: string): string } }>('node:module');
  const cwd = (globalThis as { process?: { cwd(): string } }).process?.cwd() ?? '.';
  try {
    // the package's ESM register API (its CommonJS one cannot register ESM hooks from a worker's bootstrap)
    const pkg = mod?.createRequire(`${cwd}/`).resolve('tsx/package.json');
    if (pkg !== undefined) return new URL('./dist/esm/api/index.mjs', `file://${pkg}`).href;
  } catch {
    // fall through
  }
  throw new Error("parallel: running TypeScript in worker threads needs 'tsx' (npm install -D tsx), or build the worker module to JavaScript");
}
