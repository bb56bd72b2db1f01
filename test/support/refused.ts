import { expect } from 'vitest';
import { ConfigurationError } from '../../src/index.js';

/** Expects `f` to throw a ConfigurationError with exactly `message` in it: what is refused where it is given. */
export function expectRefused(f: () => unknown, message: string): void {
  expect(f).toThrow(ConfigurationError);
  expect(f).toThrow(message);
}
