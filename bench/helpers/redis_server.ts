/**
 * A `redis-server` of its own for a load benchmark: on a free loopback
 * port, without persistence, started through {@linkcode spawnChild} (so
 * that `stopAll` stops it by its PID) and pinned like the servers it
 * serves.
 *
 * @module
 */

import { pinned, spawnChild, stopChild, within } from "./children.ts";

/** Where Debian installs Redis. */
export const REDIS_SERVER = "/usr/bin/redis-server";

/** A running Redis. */
export interface BenchRedis {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly pid: number;
  /** Stops it (SIGTERM, SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** A loopback port that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Throws a message saying what to install when `program` is not a file. */
export function checkRedisServer(program: string): void {
  let found = false;
  try {
    found = Deno.statSync(program).isFile;
  } catch {
    // Not there: said below.
  }
  if (!found) {
    throw new Error(
      `${program} not found: install Redis 7 (Debian: apt-get install redis-server) or name the binary with --redis-server PATH`,
    );
  }
}

/**
 * Starts `program` (Debian's `redis-server` by default) pinned to `cpus`
 * and waits up to 10 s until it accepts connections; throws when the binary
 * is missing (see {@linkcode checkRedisServer}), or quoting its output when
 * it does not start.
 */
export async function startBenchRedis(
  program = REDIS_SERVER,
  cpus?: string,
): Promise<BenchRedis> {
  checkRedisServer(program);
  const port = freePort();
  const [command, args] = pinned([program, [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--loglevel",
    "notice",
  ]], cpus);
  const child = spawnChild(command, args);
  child.stderr.cancel();
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let output = "";
  const ready = (async () => {
    while (!output.includes("Ready to accept connections")) {
      const { value, done } = await reader.read();
      if (done) return false;
      output += value;
    }
    return true;
  })();
  if (!await within(ready, 10_000, false)) {
    await stopChild(child, "SIGKILL", 1_000);
    throw new Error(`redis-server did not start:\n${output}`);
  }
  // Keep draining its output so that it never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () => stopChild(child, "SIGTERM", 5_000),
  };
}
