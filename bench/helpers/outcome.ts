/**
 * How a load benchmark's run ends: the error counts summed over the
 * clients' reports and the problems met, said in one `FAILED` message, then
 * the JSON summary line and the exit code.
 *
 * @module
 */

/** Adds each of `more`'s counts to the same one of `total`. */
export function addCounts<K extends string>(
  total: Record<K, number>,
  more: Readonly<Record<K, number>>,
): void {
  for (const key of Object.keys(more) as K[]) total[key] += more[key];
}

/** The message of a thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Ends the run. It failed on a problem or any of `counts` above 0: then
 * prints `FAILED`, the counts and the problems on stderr. Prints `summary`
 * as one JSON line, with `errors` (the counts, if given) and `ok` added,
 * and exits 1 if the run failed, else 0.
 */
export function finish<K extends string>(
  summary: Record<string, unknown>,
  problems: readonly string[],
  counts?: Readonly<Record<K, number>>,
): never {
  const errorCount = counts === undefined
    ? 0
    : Object.values<number>(counts).reduce((a, b) => a + b, 0);
  const failed = errorCount > 0 || problems.length > 0;
  if (failed) {
    console.error(
      `\nFAILED:${counts === undefined ? "" : ` ${JSON.stringify(counts)}`}\n${
        problems.join("\n")
      }`,
    );
  }
  console.log(JSON.stringify({
    ...summary,
    ...(counts === undefined ? {} : { errors: counts }),
    ok: !failed,
  }));
  Deno.exit(failed ? 1 : 0);
}
