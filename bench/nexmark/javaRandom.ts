/**
 * `java.util.Random` exactly (bench/nexmark/README.md, "Generator"): the 48-bit linear congruential generator that
 * Beam's Nexmark generator seeds with each event's id. The state is kept as two 24-bit halves so every intermediate
 * product stays below 2^53 and is exact in a double — no BigInt on the path that draws ≈ 30 numbers per event.
 */

const TWO_24 = 0x1000000;
/** 0x5DEECE66D split at bit 24 */
const MULT_HIGH = 0x5de;
const MULT_LOW = 0xece66d;
const ADDEND = 0xb;
const TWO_31 = 0x80000000;
const TWO_53 = 9007199254740992;

/**
 * A `java.util.Random` with the same sequence as the JDK's for the same seed.
 *
 * @example
 * ```ts
 * const r = new JavaRandom(42);
 * r.nextInt(11); // 7, as `new java.util.Random(42).nextInt(11)`
 * ```
 */
export class JavaRandom {
  private high: number;
  private low: number;

  /** `seed`: a non-negative integer below 2^48 (event ids are). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 48) throw new RangeError(`JavaRandom: seed ${seed} must be an integer in [0, 2^48)`);
    // (seed ^ 0x5DEECE66D) & (2^48 − 1), half by half
    this.low = (seed % TWO_24) ^ MULT_LOW;
    this.high = (Math.floor(seed / TWO_24) ^ MULT_HIGH) % TWO_24;
  }

  /** Java's `next(bits)`: advances the state and returns its top `bits` bits (signed when `bits` is 32). */
  next(bits: number): number {
    const lowProduct = this.low * MULT_LOW + ADDEND;
    const carry = Math.floor(lowProduct / TWO_24);
    const highProduct = this.high * MULT_LOW + this.low * MULT_HIGH + carry;
    this.low = lowProduct - carry * TWO_24;
    this.high = highProduct - Math.floor(highProduct / TWO_24) * TWO_24;
    // the top `bits` (> 24) of the 48: all of `high` and the top `bits − 24` of `low`
    return (this.high * (1 << (bits - 24)) + (this.low >>> (48 - bits))) | 0;
  }

  /** `nextInt()` without a bound, or `nextInt(bound)`: uniform in `[0, bound)` with Java's rejection rule. */
  nextInt(bound?: number): number {
    if (bound === undefined) return this.next(32);
    let r = this.next(31);
    const m = bound - 1;
    if ((bound & m) === 0) return Math.floor((bound * r) / TWO_31);
    for (let u = r; ((u - (r = u % bound) + m) | 0) < 0; u = this.next(31));
    return r;
  }

  /** `nextDouble()`: 53 random bits in `[0, 1)`. */
  nextDouble(): number {
    return (this.next(26) * 134217728 + this.next(27)) / TWO_53;
  }

  /** Beam's `nextLong(random, n)` for the bounds the generator uses (`n` < 2^31 − 1): `nextInt(n)`. */
  nextLong(bound: number): number {
    if (bound >= 0x7fffffff) throw new RangeError(`JavaRandom.nextLong: bound ${bound} is beyond what the Nexmark generator draws`);
    return this.nextInt(bound);
  }
}
