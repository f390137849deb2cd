/**
 * How the load benchmarks take turns over rounds: the contenders run in an
 * order rotated each round, and each is compared with the baseline of its
 * own round, so that the machine's speed drifting between rounds does not
 * skew the ratio.
 *
 * @module
 */

import { delay } from "./children.ts";
import { knownMedian, median } from "./stats.ts";

/** `list` rotated left by `by` places (round 0 as is, round 1 from the second). */
export function rotated<T>(list: readonly T[], by: number): T[] {
  return list.map((_, i) => list[(i + by) % list.length]!);
}

/**
 * `value` of each of `mine` over that of its partner in `base` (by default
 * the measurement of the same round); one without a partner, or whose
 * partner's value is 0, is left out.
 */
export function pairedRatios<T extends { readonly round: number }>(
  mine: readonly T[],
  base: readonly T[],
  value: (m: T) => number,
  partner: (m: T, other: T) => boolean = (m, other) => m.round === other.round,
): number[] {
  return mine.flatMap((m) => {
    const other = base.find((candidate) => partner(m, candidate));
    return other === undefined || value(other) === 0
      ? []
      : [value(m) / value(other)];
  });
}

/**
 * Calls `measure` for every size, round and contender, the contenders in an
 * order rotated by one each round, with a 250 ms pause after each call.
 */
export async function measureInTurns<S, C>(
  sizes: readonly S[],
  rounds: number,
  contenders: readonly C[],
  measure: (
    size: S,
    round: number,
    position: number,
    contender: C,
  ) => Promise<void>,
): Promise<void> {
  for (const size of sizes) {
    for (let round = 0; round < rounds; round++) {
      const order = rotated(contenders, round);
      for (const [position, contender] of order.entries()) {
        await measure(size, round, position, contender);
        await delay(250);
      }
    }
  }
}

/** A measurement of round trips per second, in one round. */
export interface RateMeasurement {
  readonly round: number;
  readonly roundTripsPerSecond: number;
  readonly megabytesPerSecond: number;
}

/** A contender's rates over rounds, and how they compare with the baseline's. */
export interface RateFigures {
  /** Round trips per second, round by round. */
  readonly rates: number[];
  /** Their median. */
  readonly rate: number;
  /** The median MB/s. */
  readonly megabytes: number;
  /** `rate` over the baseline's median; null without one, or if it is 0. */
  readonly ratio: number | null;
  /** The rate over the baseline's in the same round, round by round. */
  readonly pairs: number[];
  /** Their median; null without any. */
  readonly paired: number | null;
}

/** The rate figures of `mine` (not empty) against the baseline's, `base`. */
export function rateFigures(
  mine: readonly RateMeasurement[],
  base: readonly RateMeasurement[],
): RateFigures {
  const rateOf = (m: RateMeasurement) => m.roundTripsPerSecond;
  const rates = mine.map(rateOf);
  const rate = median(rates);
  const baseRate = base.length === 0 ? 0 : median(base.map(rateOf));
  const pairs = pairedRatios(mine, base, rateOf);
  return {
    rates,
    rate,
    megabytes: median(mine.map((m) => m.megabytesPerSecond)),
    ratio: baseRate === 0 ? null : rate / baseRate,
    pairs,
    paired: knownMedian(pairs),
  };
}
