/**
 * A token bucket: `rate` tokens a second, at most `burst` saved up. Spending
 * may run it into debt, which later time pays back before anything else.
 *
 * @module
 */

/** A token bucket on a monotonic clock. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  /**
   * Starts full. `rate` is tokens per second, `burst` the most that can be
   * saved (default: one second's worth); `now` gives milliseconds.
   */
  constructor(
    rate: number,
    burst: number = rate,
    now: () => number = () => performance.now(),
  ) {
    this.#rate = rate;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#at = now();
  }

  /** The tokens there are now (negative while in debt). */
  get tokens(): number {
    const now = this.#now();
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + (now - this.#at) * this.#rate / 1000,
    );
    this.#at = now;
    return this.#tokens;
  }

  /** Takes `count` tokens if there are that many; says whether it did. */
  take(count: number): boolean {
    if (this.tokens < count) return false;
    this.#tokens -= count;
    return true;
  }

  /** Takes `count` tokens even into debt; returns what is left. */
  spend(count: number): number {
    return this.#tokens = this.tokens - count;
  }
}
