/**
 * Builds the C load generator (`bench/loadgen/loadgen.c`) with `gcc -O2`
 * into `bench/loadgen/.build/loadgen` (ignored by git) when the binary is
 * missing or older than its source, and says where it is.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The load generator's source. */
export const LOADGEN_SOURCE: string = fileURLToPath(
  new URL("./loadgen.c", import.meta.url),
);

/** Where the compiled load generator goes. */
export const LOADGEN_BINARY: string = fileURLToPath(
  new URL("./.build/loadgen", import.meta.url),
);

/** Whether a `gcc` runs here. */
export function gccAvailable(): boolean {
  try {
    return new Deno.Command("gcc", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

function modified(path: string): number | null {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? null;
  } catch {
    return null;
  }
}

/**
 * The path of the compiled load generator, compiling it first when it is
 * missing or older than `loadgen.c`. Throws when `gcc` is missing (saying
 * so) or the compilation fails (with gcc's messages).
 */
export async function buildLoadgen(): Promise<string> {
  const built = modified(LOADGEN_BINARY);
  const source = modified(LOADGEN_SOURCE);
  if (built !== null && source !== null && built >= source) {
    return LOADGEN_BINARY;
  }
  if (!gccAvailable()) {
    throw new Error(
      "gcc is missing: the C load generator (bench/loadgen/loadgen.c) " +
        "cannot be compiled (apt-get install gcc libc6-dev)",
    );
  }
  const directory = fileURLToPath(new URL("./.build/", import.meta.url));
  await Deno.mkdir(directory, { recursive: true });
  // Compiled under a name of its own, then renamed: two runs building at
  // once never execute a half-written binary.
  const temporary = `${LOADGEN_BINARY}.${Deno.pid}`;
  const output = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-o", temporary, LOADGEN_SOURCE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `gcc failed to compile ${LOADGEN_SOURCE}:\n${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
  await Deno.rename(temporary, LOADGEN_BINARY);
  return LOADGEN_BINARY;
}
