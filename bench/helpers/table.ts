/**
 * How the load benchmarks print their figures: aligned tables, and the
 * sizes, rates and throughputs in their cells and lines.
 *
 * @module
 */

/**
 * `rows` (the first one the header) as lines of columns two spaces apart,
 * the columns in `rightAligned` padded on the left, the others on the
 * right; without `rightAligned`, every column but the first is on the right.
 */
export function table(
  rows: readonly (readonly string[])[],
  rightAligned?: ReadonlySet<number>,
): string {
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => row[column]!.length))
  );
  const right = (column: number) =>
    rightAligned === undefined ? column > 0 : rightAligned.has(column);
  return rows.map((row) =>
    row.map((cell, column) =>
      right(column)
        ? cell.padStart(widths[column]!)
        : cell.padEnd(widths[column]!)
    ).join("  ").trimEnd()
  ).join("\n");
}

/** A size in bytes as `N MiB`, `N KiB` (whole ones only) or `N B`. */
export function formatBytes(size: number): string {
  if (size >= 1048576 && size % 1048576 === 0) return `${size / 1048576} MiB`;
  if (size >= 1024 && size % 1024 === 0) return `${size / 1024} KiB`;
  return `${size} B`;
}

/** A rate, rounded, with thousands separators (`131,097`). */
export function formatRate(rate: number): string {
  return Math.round(rate).toLocaleString("en-US");
}

/** MB/s with two, one or no decimals, by size. */
export function formatMegabytes(megabytes: number): string {
  return megabytes >= 100
    ? megabytes.toFixed(0)
    : megabytes >= 10
    ? megabytes.toFixed(1)
    : megabytes.toFixed(2);
}
