/**
 * The reconnect delay: exponential backoff with full jitter above a floor.
 *
 * @module
 */

/** The bounds of the reconnect delay, in milliseconds. */
export interface BackoffBounds {
  /** The shortest delay, and the base of the exponential growth. */
  readonly minDelay: number;
  /** The longest delay. */
  readonly maxDelay: number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry after a
 * drop): a uniformly random point of the window from `minDelay` to
 * `minDelay + minDelay × 2^attempt`, the window capped at `maxDelay`. With
 * the defaults (500 ms, 20 s) the windows are 0.5–1.5 s, 0.5–2.5 s,
 * 0.5–4.5 s, 0.5–8.5 s, 0.5–16.5 s, then 0.5–20 s. Drawing over the whole
 * window ("full jitter") is what spreads clients that lost the same server
 * at the same instant; the floor keeps a refusing server from being retried
 * in a tight loop. `random` returns a number in [0, 1), as `Math.random`.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "@socketry/socketry/browser";
 *
 * const bounds = { minDelay: 500, maxDelay: 20_000 };
 * console.log(backoffDelay(1, bounds, () => 0)); // 500
 * console.log(backoffDelay(1, bounds, () => 0.5)); // 1000
 * console.log(backoffDelay(10, bounds, () => 0.999_999)); // 19999
 * ```
 */
export function backoffDelay(
  attempt: number,
  bounds: BackoffBounds,
  random: () => number = Math.random,
): number {
  const { minDelay, maxDelay } = bounds;
  const window = Math.min(
    maxDelay - minDelay,
    minDelay * 2 ** Math.min(Math.max(attempt, 1), 30),
  );
  return minDelay + Math.floor(random() * window);
}
