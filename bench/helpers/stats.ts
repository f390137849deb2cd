/**
 * The statistics the load benchmarks report over rounds: medians and
 * spreads, of lists that may hold unknown (`null`) readings.
 *
 * @module
 */

/** The median of a non-empty list. */
export function median(numbers: readonly number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The values that are known, without the `null`s. */
export function known(values: readonly (number | null)[]): number[] {
  return values.filter((value) => value !== null);
}

/** The median of the known values, or null when none is. */
export function knownMedian(values: readonly (number | null)[]): number | null {
  const numbers = known(values);
  return numbers.length === 0 ? null : median(numbers);
}

/** (max − min) / median, or null with fewer than two values or a zero median. */
export function spread(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const middle = median(values);
  return middle === 0
    ? null
    : (Math.max(...values) - Math.min(...values)) / middle;
}

/** `value` rounded to `digits` decimals, as a JSON summary gives it, or null. */
export function rounded(value: number | null, digits: number): number | null {
  return value === null ? null : Number(value.toFixed(digits));
}
