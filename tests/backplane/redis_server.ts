/**
 * A real `redis-server` (Debian's) for the backplane tests: on a free
 * loopback port, without persistence, stopped by its PID, restartable on
 * the same port.
 *
 * @module
 */

/** Where Debian installs Redis. */
export const REDIS_SERVER = "/usr/bin/redis-server";

/** A running (or stopped, restartable) Redis server. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** Its PID while it runs. */
  readonly pid: number | undefined;
  /** Stops it (SIGKILL when `crash`, else SIGTERM) and waits for its exit. */
  stop(crash?: boolean): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

/** A loopback port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Starts `redis-server` (on a free port by default, with `options` such as
 * `["--requirepass", "secret"]` added to its command line) and waits until
 * it accepts connections.
 */
export async function startRedis(
  port = freePort(),
  options: readonly string[] = [],
): Promise<RedisServer> {
  let child: Deno.ChildProcess | undefined;
  let output = "";
  const start = async () => {
    child = new Deno.Command(REDIS_SERVER, {
      args: [
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
        ...options,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream());
    const reader = lines.getReader();
    const deadline = setTimeout(() => child?.kill("SIGKILL"), 10_000);
    try {
      while (!output.includes("Ready to accept connections")) {
        const { value, done } = await reader.read();
        if (done) {
          throw new Error(`redis-server did not start:\n${output}`);
        }
        output += value;
      }
    } finally {
      clearTimeout(deadline);
    }
    // Keep draining its output so that it never blocks on a full pipe.
    (async () => {
      while (!(await reader.read()).done);
    })();
    child.stderr.cancel();
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    async stop(crash = false) {
      const running = child;
      if (running === undefined) return;
      child = undefined;
      try {
        Deno.kill(running.pid, crash ? "SIGKILL" : "SIGTERM");
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      await running.status;
    },
    async start() {
      if (child === undefined) {
        output = "";
        await start();
      }
    },
  };
}
