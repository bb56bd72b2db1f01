// Checks of what users pass (docs/ARCHITECTURE.md, "Map of the modules"): an option, a function or a factory the type
// checker did not catch — plain JavaScript, or a value built elsewhere — is refused where it is given, named, not
// ignored nor left to fail inside.
import { ConfigurationError, describeValue } from './index.js';

/**
 * Refuses `options` when it is not a plain object, or when it has a key none of `known` — a misspelt option would
 * otherwise be ignored silently (`{ intervall: 0 }` keeping the default interval). The error names `who` (the
 * operator, or `runJob(name)`), `what` the object is, the key, the nearest known option and all of them.
 * `undefined` passes (no options).
 *
 * @example
 * ```ts
 * checkOptionKeys('boundedOutOfOrderness', 'the options', { intervall: 0 }, ['idleTimeout', 'interval', 'scheduler']);
 * // throws ConfigurationError: boundedOutOfOrderness: no option "intervall" in the options — did you mean "interval"? …
 * ```
 * @internal
 */
export function checkOptionKeys(who: string, what: string, options: unknown, known: readonly string[], operator = who): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigurationError(operator, options, `${who}: ${what} ${describeValue(options)} must be an object: { ${known.join(', ')} }.`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = nearestName(key, known);
    throw new ConfigurationError(
      operator,
      key,
      `${who}: no option ${JSON.stringify(key)} in ${what}${near === undefined ? '.' : ` — did you mean ${JSON.stringify(near)}?`} The options: ${known.join(', ')}.`,
    );
  }
}

/**
 * Refuses `fn` when it is not a function, where `who` (an operator, or `runJob(name)`) is given it: a
 * `ConfigurationError` saying `who: [what ]value is not a function; give remedy.` (`what` names the argument when the
 * operator takes several).
 *
 * @example
 * ```ts
 * checkFunction('reduce', 5, 'reduce((acc, value) => acc)');
 * // throws ConfigurationError: reduce: 5 is not a function; give reduce((acc, value) => acc).
 * ```
 * @internal
 */
export function checkFunction(who: string, fn: unknown, remedy: string, { what, operator = who }: { readonly what?: string; readonly operator?: string } = {}): void {
  if (typeof fn === 'function') return;
  throw new ConfigurationError(operator, fn, `${who}: ${what === undefined ? '' : `${what} `}${describeValue(fn)} is not a function; give ${remedy}.`);
}

/**
 * The name of `names` nearest to `name` (the same but for case, or at most two edits away), if any.
 *
 * @example
 * ```ts
 * nearestName('paralelism', ['parallelism', 'name']); // 'parallelism'
 * ```
 *
 * @internal
 */
export function nearestName(name: string, names: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const n of names) {
    const d = n.toLowerCase() === lower ? 0 : editDistance(lower, n.toLowerCase());
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (short names: the plain quadratic table). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length] as number;
}

/** The built-in factories, by identity: what each makes and how it is called ({@link registerFactories}). */
const FACTORIES = new Map<unknown, readonly [makes: string, call: string]>();

/**
 * Registers built-in factories for {@link notCalled}'s hints, by the function itself (a user's function of the same
 * name is not one of them): `makes` the kind of thing, `calls` each function with how it is called.
 *
 * @example
 * ```ts
 * registerFactories('trigger', [[countTrigger, 'countTrigger(100)']]);
 * ```
 * @internal
 */
export function registerFactories(makes: string, calls: readonly (readonly [fn: unknown, call: string])[]): void {
  for (const [fn, call] of calls) FACTORIES.set(fn, [makes, call]);
}

/**
 * The error for a function given where what it makes is wanted (`countTrigger` for `countTrigger(100)`): `op` names
 * the operator, `what` the kind of thing. The hint calls a built-in as it is called, a class with `new`, any other
 * function with its arguments; `example` when the function has no name.
 *
 * @example
 * ```ts
 * throw notCalled('window', 'trigger', countTrigger, 'countTrigger(100)');
 * // window: the trigger is the function countTrigger, not a trigger; call it, e.g. countTrigger(100).
 * ```
 * @internal
 */
export function notCalled(op: string, what: string, fn: unknown, example: string): ConfigurationError {
  const a = (noun: string): string => `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;
  const name = (fn as { name?: unknown }).name;
  const named = typeof name === 'string' && name !== '' ? name : undefined;
  const isClass = typeof fn === 'function' && /^class\b/.test(Function.prototype.toString.call(fn));
  const factory = FACTORIES.get(fn);
  const hint =
    factory !== undefined
      ? factory[0] === what
        ? `call it, e.g. ${factory[1]}`
        : `${named as string}() makes ${a(factory[0])}; give ${a(what)}, e.g. ${example}`
      : isClass
        ? `make one: new ${named ?? 'YourClass'}(…)`
        : named !== undefined
          ? `call it with its arguments: ${named}(…)`
          : `e.g. ${example}`;
  return new ConfigurationError(op, fn, `${op}: the ${what} is the ${isClass ? 'class' : 'function'} ${named ?? '(anonymous)'}, not ${a(what)}; ${hint}.`);
}
