import type { Plugin } from 'esbuild';
/** See workerEntryPlugin.mjs. */
export declare const workerEntryPlugin: Plugin;
