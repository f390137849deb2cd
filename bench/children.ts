/**
 * What the load benchmarks share for running their child processes (the
 * servers and clients they measure) and reading their flags: starting
 * nothing themselves, they keep each child in `children`, read its output
 * line by line, and stop every one by its PID.
 *
 * @module
 */

/** Every child process a benchmark started and has not stopped yet. */
export const children: Set<Deno.ChildProcess> = new Set();

/** Sends `signal` to `child`, if it still runs. */
export function killChild(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

/** Stops `child` by PID: `signal` first, SIGKILL after `ms`. */
export async function stopChild(
  child: Deno.ChildProcess,
  signal: Deno.Signal,
  ms: number,
): Promise<void> {
  killChild(child, signal);
  if (await within(child.status, ms, null) === null) {
    killChild(child, "SIGKILL");
    await within(child.status, 2_000, null);
  }
  children.delete(child);
}

/** Stops every child in `children`: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopAll(graceMs = 5_000): Promise<void> {
  const pending = [...children];
  for (const child of pending) killChild(child, "SIGTERM");
  const done = await within(
    Promise.all(pending.map((child) => child.status)),
    graceMs,
    "timeout" as const,
  );
  if (done === "timeout") {
    for (const child of pending) killChild(child, "SIGKILL");
    await within(Promise.all(pending.map((child) => child.status)), 2_000, 0);
  }
  children.clear();
}

/** Keeps the last 40 lines of a child's output in `tail`, calling `onLine` per line. */
export async function collectLines(
  stream: ReadableStream<Uint8Array>,
  tail: string[],
  onLine?: (line: string) => void,
): Promise<void> {
  let pending = "";
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    onLine?.(line);
  };
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf("\n")) !== -1) {
        keep(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    }
  } catch {
    // The child went away.
  }
  if (pending !== "") keep(pending);
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`'s value, or `fallback` once `ms` passed first. */
export async function within<T, F>(
  promise: Promise<T>,
  ms: number,
  fallback: F,
): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The median of a non-empty list. */
export function median(numbers: readonly number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The value of flag `--name` as a positive number (an integer unless
 * `integer` is false); anything else goes to `fail` (default: print it and
 * exit with 2).
 */
export function positive(
  name: string,
  text: string,
  integer = true,
  fail: (message: string) => never = (message) => {
    console.error(message);
    Deno.exit(2);
  },
): number {
  const value = Number(text);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    fail(`--${name} must be a positive number, got ${text}`);
  }
  return value;
}
