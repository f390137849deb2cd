/**
 * What the load benchmarks share for running their child processes (the
 * servers and clients they measure) and reading their flags: they start
 * every child through `spawnChild`, keep it in `children`, read its output
 * line by line, and stop every one by its PID.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { messageOf } from "./outcome.ts";

/** Every child process a benchmark started and has not stopped yet. */
export const children: Set<Deno.ChildProcess> = new Set();

/** The path of `path`, relative to `bench/`. */
export function benchFile(path: string): string {
  return fileURLToPath(new URL(`../${path}`, import.meta.url));
}

/** A script a benchmark runs as a child, with Deno or with Node. */
export interface Script {
  readonly key: string;
  readonly label: string;
  readonly runtime: "deno" | "node";
  readonly script: string;
  /** Arguments it always gets. */
  readonly args: readonly string[];
  /**
   * The program that runs the script instead of `deno` or `node` (Bun's
   * binary, say): it gets the script's path, then the arguments.
   */
  readonly executable?: string;
  /** Deno's own flags, before the script (`--v8-flags=...`, say). */
  readonly denoFlags?: readonly string[];
}

/**
 * The command and arguments that run `script` with `args`; Deno grants
 * `permission` (default `--allow-net`).
 */
export function scriptCommand(
  script: Pick<Script, "runtime" | "script" | "executable" | "denoFlags">,
  args: readonly string[],
  permission = "--allow-net",
): [string, string[]] {
  if (script.executable !== undefined) {
    return [script.executable, [script.script, ...args]];
  }
  return script.runtime === "node"
    ? ["node", [script.script, ...args]]
    : [Deno.execPath(), [
      "run",
      permission,
      "--no-prompt",
      ...script.denoFlags ?? [],
      script.script,
      ...args,
    ]];
}

/**
 * `command` run pinned to the CPUs `cpus` (`"0"`, `"0,1"`) through
 * `taskset`, which then runs it in its own process (same PID); as is
 * without `cpus`.
 */
export function pinned(
  [command, args]: [string, string[]],
  cpus: string | undefined,
): [string, string[]] {
  return cpus === undefined
    ? [command, args]
    : ["taskset", ["-c", cpus, command, ...args]];
}

/**
 * The path of a `bun` binary: `given` (a `--bun` flag) when set, else
 * `node_modules/.bin/bun`, else the first on the PATH; undefined when none
 * is a file.
 */
export function findBun(given: string | undefined): string | undefined {
  const candidates = given !== undefined ? [given] : [
    benchFile("../node_modules/.bin/bun"),
    ...(Deno.env.get("PATH") ?? "").split(":").map((dir) => `${dir}/bun`),
  ];
  return candidates.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/** Starts `command` (no stdin, output piped) and adds it to `children`. */
export function spawnChild(
  command: string,
  args: readonly string[],
  env?: Record<string, string>,
): Deno.ChildProcess {
  const child = new Deno.Command(command, {
    args: [...args],
    ...(env === undefined ? {} : { env }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  children.add(child);
  return child;
}

/** A child started by {@linkcode startListening}, listening or not. */
export type Listening =
  & {
    readonly child: Deno.ChildProcess;
    /** The last 40 lines of its stdout and stderr. */
    readonly output: string[];
  }
  & (
    | { readonly url: string }
    | {
      readonly url: null;
      /** Why not: it exited, or printed no such line within 20 s. */
      readonly failure: string;
    }
  );

/**
 * Starts a server (see {@linkcode spawnChild}) and waits up to 20 s for the
 * first line of its stdout that `match` turns into a URL. When none comes,
 * the server is stopped, its output complete.
 */
export async function startListening(
  command: string,
  args: readonly string[],
  match: (line: string) => string | undefined,
  env?: Record<string, string>,
): Promise<Listening> {
  const child = spawnChild(command, args, env);
  const output: string[] = [];
  const listening = Promise.withResolvers<string>();
  collectLines(child.stdout, output, (line) => {
    const url = match(line);
    if (url !== undefined) listening.resolve(url);
  });
  collectLines(child.stderr, output);
  child.status.then(() => listening.reject(new Error("exited")));
  const url = await within(listening.promise, 20_000, null).catch(
    () => "exited" as const,
  );
  if (url !== null && url !== "exited") return { child, output, url };
  await stopChild(child, "SIGKILL", 1_000);
  return {
    child,
    output,
    url: null,
    failure: url === null ? "printed no Listening line within 20 s" : "exited",
  };
}

/**
 * Runs a child (see {@linkcode spawnChild}) to its end, killed past
 * `limitMs`: its exit status (null: killed) and the last 40 lines of its
 * output.
 */
export async function runChild(
  command: string,
  args: readonly string[],
  limitMs: number,
): Promise<{ status: Deno.CommandStatus | null; output: string[] }> {
  const child = spawnChild(command, args);
  const output: string[] = [];
  const reading = Promise.all([
    collectLines(child.stdout, output),
    collectLines(child.stderr, output),
  ]);
  const status = await within(child.status, limitMs, null);
  if (status === null) {
    killChild(child, "SIGKILL");
    await within(child.status, 2_000, null);
  }
  await within(reading, 2_000, 0);
  children.delete(child);
  return { status, output };
}

/**
 * Runs a child like {@linkcode runChild} and returns the last line it
 * printed that starts with `{` (its JSON report); throws, quoting its
 * output, when it ran past `limitMs`, failed or printed none. `who` names
 * it in the error ("ws client").
 */
export async function runForReport(
  command: string,
  args: readonly string[],
  limitMs: number,
  who: string,
): Promise<string> {
  const { status, output } = await runChild(command, args, limitMs);
  if (status === null) {
    throw new Error(
      `the ${who} did not finish within ${limitMs / 1000} s:\n${
        output.join("\n")
      }`,
    );
  }
  const line = output.findLast((text) => text.startsWith("{"));
  if (!status.success || line === undefined) {
    throw new Error(
      `the ${who} failed (exit ${status.code}):\n${output.join("\n")}`,
    );
  }
  return line;
}

/**
 * On SIGINT or SIGTERM, says it is stopping `what`, stops every child and
 * exits 130.
 */
export function stopAllOnSignal(what: string): void {
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`Interrupted: stopping the ${what}`);
    stopAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
}

/**
 * Runs `work`, the measuring part of a run, noting what it throws in
 * `problems`; then stops every child, whatever happened.
 */
export async function measureThenStopAll(
  problems: string[],
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (error) {
    problems.push(messageOf(error));
  } finally {
    await stopAll();
  }
}

/** The version of `node` on the PATH (`v20.1.0`), or `-`. */
export function nodeVersion(): string {
  try {
    const output = new Deno.Command("node", {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return new TextDecoder().decode(output.stdout).trim();
  } catch {
    return "-";
  }
}

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
