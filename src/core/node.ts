/**
 * Node's built-in modules, found at run time through `process.getBuiltinModule` (Node ≥ 20.16): no import statement,
 * so the modules that use them also load in browsers, and browser bundles never see Node's modules.
 *
 * @example
 * ```ts
 * const fs = nodeBuiltin<typeof import('node:fs')>('node:fs'); // undefined in a browser
 * ```
 *
 * @internal
 */
export function nodeBuiltin<M>(id: string): M | undefined {
  const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?(id: string): unknown } }).process;
  return proc?.versions?.node === undefined ? undefined : (proc.getBuiltinModule?.(id) as M | undefined);
}

/** Node's `fs` and `path`, or undefined outside Node. @internal */
export function nodeFiles(): { fs: typeof import('node:fs'); path: typeof import('node:path') } | undefined {
  const fs = nodeBuiltin<typeof import('node:fs')>('node:fs');
  const path = nodeBuiltin<typeof import('node:path')>('node:path');
  return fs === undefined || path === undefined ? undefined : { fs, path };
}
