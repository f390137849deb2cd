/**
 * Checks shared by the server, client and processor options, so that a bad
 * value fails with the same words wherever it is given:
 * `NAME must be CONSTRAINT, got VALUE`.
 *
 * @module
 */

/**
 * `value` if it is a duration: a number of milliseconds >= 0, or `Infinity`.
 *
 * @throws {RangeError} for anything else (`NaN` and negative numbers too).
 */
export function checkMilliseconds(name: string, value: unknown): number {
  if (typeof value !== "number" || !(value >= 0)) {
    throw new RangeError(
      `${name} must be a number of milliseconds >= 0 or Infinity, got ${value}`,
    );
  }
  return value;
}
