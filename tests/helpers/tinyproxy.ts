/**
 * Debian's tinyproxy as a real HTTP CONNECT proxy for the client tests: run
 * in the foreground on a free loopback port with a generated configuration,
 * its log and PID file in a temporary directory, and killed by its PID.
 *
 * @module
 */

import { fileExists, peerAvailable } from "./peers.ts";

/** Where Debian's `tinyproxy` package installs the proxy. */
export const tinyproxyPath = "/usr/bin/tinyproxy";

/** Whether the tinyproxy tests run (see `peerAvailable`). */
export function tinyproxyAvailable(): boolean {
  return peerAvailable("tinyproxy", fileExists(tinyproxyPath));
}

/** What the proxy allows. */
export interface TinyproxyOptions {
  /**
   * The only ports CONNECT may reach (`ConnectPort` lines). Without any
   * line tinyproxy allows every port.
   */
  connectPorts?: readonly number[];
  /** Demand `Proxy-Authorization: Basic` for this user (`BasicAuth`). */
  basicAuth?: { username: string; password: string };
}

/** A running tinyproxy. */
export interface Tinyproxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Its log so far. */
  log(): Promise<string>;
  /** Kills it by its PID, waits for it to exit and removes its directory. */
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Starts tinyproxy, retrying on another port if the one picked was taken. */
export async function startTinyproxy(
  options: TinyproxyOptions = {},
): Promise<Tinyproxy> {
  let failure: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options, freePort());
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

async function startOnce(
  options: TinyproxyOptions,
  port: number,
): Promise<Tinyproxy> {
  const dir = await Deno.makeTempDir({ prefix: "socketry-tinyproxy-" });
  const logFile = `${dir}/tinyproxy.log`;
  const lines = [
    `Port ${port}`,
    "Listen 127.0.0.1",
    "Allow 127.0.0.1",
    "Timeout 30",
    "MaxClients 32",
    "LogLevel Info",
    `LogFile "${logFile}"`,
    `PidFile "${dir}/tinyproxy.pid"`,
    ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
  ];
  if (options.basicAuth !== undefined) {
    lines.push(
      `BasicAuth ${options.basicAuth.username} ${options.basicAuth.password}`,
    );
  }
  await Deno.writeTextFile(`${dir}/tinyproxy.conf`, lines.join("\n") + "\n");
  const child = new Deno.Command(tinyproxyPath, {
    args: ["-d", "-c", `${dir}/tinyproxy.conf`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });
  const log = async () => {
    try {
      return await Deno.readTextFile(logFile);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "";
      throw error;
    }
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      if (!exited) {
        try {
          Deno.kill(child.pid, "SIGKILL");
        } catch {
          // It exited in the meantime.
        }
      }
      await status;
      await Deno.remove(dir, { recursive: true });
    })();
  // Ready once it logs that it accepts connections; it exits if the port was taken.
  const deadline = Date.now() + 10_000;
  while (!(await log()).includes("Accepting connections")) {
    if (exited || Date.now() > deadline) {
      const text = await log();
      await stop();
      throw new Error(
        `tinyproxy did not start on port ${port} (${
          exited ? "it exited" : "no sign of life in 10 s"
        }):\n${text}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { url: `http://127.0.0.1:${port}`, port, log, stop };
}
