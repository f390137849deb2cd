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

/**
 * The names of an options type, from an object with every one of them as a
 * key (`K` given, so that the compiler checks there are no more and no
 * fewer), for {@linkcode checkKnownOptions}.
 */
export function optionNames<K extends string>(
  names: Record<K, unknown>,
): ReadonlySet<string> {
  return new Set(Object.keys(names));
}

/**
 * Throws for the first name in `given` that is not in `known`: a misspelt
 * option would otherwise be ignored without a word, its default used.
 *
 * @throws {TypeError} `Unknown option "NAME"`, with the known name it is
 * nearest to when one differs from it by case or by two letters at most.
 */
export function checkKnownOptions(
  given: Iterable<string>,
  known: ReadonlySet<string>,
): void {
  for (const name of given) {
    if (known.has(name)) continue;
    const near = [...known].find((candidate) => nearName(name, candidate));
    throw new TypeError(
      `Unknown option "${name}"${
        near === undefined ? "" : `: did you mean "${near}"?`
      }`,
    );
  }
}

/** Whether `a` and `b` differ by case only, or by at most two edits. */
function nearName(a: string, b: string): boolean {
  if (a.toLowerCase() === b.toLowerCase()) return true;
  if (Math.abs(a.length - b.length) > 2) return false;
  // Levenshtein distance, one row at a time.
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length]! <= 2;
}
