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

/** What Redis counted for one command (`INFO commandstats`). */
export interface CommandStats {
  readonly calls: number;
  /** Time Redis spent executing them, in µs. */
  readonly usec: number;
}

/**
 * Redis' own count of `command` (lower case, `publish`) from
 * `INFO commandstats`, over a connection of its own; null when it cannot
 * be read. Zero calls when Redis has not run the command yet.
 */
export async function commandStats(
  url: string,
  command: string,
): Promise<CommandStats | null> {
  const { hostname, port } = new URL(url);
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname, port: Number(port) });
    await conn.write(new TextEncoder().encode("INFO commandstats\r\n"));
    // The reply is a bulk string, `$LENGTH\r\n` then LENGTH bytes of ASCII.
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(64 * 1024);
    let text = "";
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n));
      if (text.startsWith("-")) return null;
      const header = text.indexOf("\r\n");
      if (
        header > 0 && text.length >= header + 2 + Number(text.slice(1, header))
      ) {
        break;
      }
    }
    const line = new RegExp(
      `^cmdstat_${command}:calls=(\\d+),usec=(\\d+)`,
      "m",
    ).exec(text);
    return line === null
      ? { calls: 0, usec: 0 }
      : { calls: Number(line[1]), usec: Number(line[2]) };
  } catch {
    return null;
  } finally {
    conn?.close();
  }
}
