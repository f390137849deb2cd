/**
 * The time source of the reconnecting socket, replaceable in tests.
 *
 * @module
 */

/** Reads the time and runs timers; the default uses the global ones. */
export interface Clock {
  /** Milliseconds since some fixed point, such as `Date.now()`. */
  now(): number;
  /** Runs `callback` after `ms` milliseconds; returns a handle. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer by its handle. */
  clearTimeout(handle: unknown): void;
}

/**
 * The global `Date.now`, `setTimeout` and `clearTimeout`.
 *
 * @example
 * ```ts
 * import { systemClock } from "@socketry/socketry/browser";
 *
 * const handle = systemClock.setTimeout(() => console.log("late"), 1000);
 * systemClock.clearTimeout(handle);
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) =>
    clearTimeout(handle as ReturnType<typeof setTimeout>),
};
