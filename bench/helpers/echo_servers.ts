/**
 * The echo servers the load benchmarks measure, each a child process: a
 * script taking `--port` and `--hostname`, printing `Listening on
 * http://HOST:PORT/` and echoing on `/ws`; how `--servers` and `--extra`
 * pick them, and how one is started.
 *
 * @module
 */

import {
  benchFile,
  pinned,
  type Script,
  scriptCommand,
  startListening,
} from "./children.ts";

/** An echo server a benchmark can run. */
export interface ServerSpec extends Script {
  /** Whether it takes `--compression` (permessage-deflate). */
  readonly compresses?: boolean;
}

/** The echo servers the benchmarks run, by key. */
export const ECHO_SERVERS: Readonly<
  Record<"raw" | "native" | "engine" | "ws", ServerSpec>
> = {
  raw: {
    key: "raw",
    label: "raw Deno.upgradeWebSocket",
    runtime: "deno",
    script: benchFile("./servers/raw_deno_echo.ts"),
    args: [],
    compresses: false,
  },
  native: {
    key: "native",
    label: "socketry examples/echo (native backend)",
    runtime: "deno",
    script: benchFile("../examples/echo/main.ts"),
    args: [],
    compresses: false,
  },
  engine: {
    key: "engine",
    label: "socketry examples/echo --backend engine",
    runtime: "deno",
    script: benchFile("../examples/echo/main.ts"),
    args: ["--backend", "engine"],
    compresses: true,
  },
  ws: {
    key: "ws",
    label: "Node ws (bench/servers/ws_echo.mjs)",
    runtime: "node",
    script: benchFile("./servers/ws_echo.mjs"),
    args: [],
    compresses: true,
  },
};

/**
 * Bun's echo server (`bench/servers/bun_echo.ts`, `Bun.serve` with a
 * `websocket` handler), run with the `bun` binary at `bun`.
 */
export function bunEchoServer(bun: string): ServerSpec {
  return {
    key: "bun",
    label: "Bun.serve websocket (bench/servers/bun_echo.ts)",
    runtime: "node",
    executable: bun,
    script: benchFile("./servers/bun_echo.ts"),
    args: [],
    compresses: false,
  };
}

/** A started echo server. */
export interface RunningServer {
  readonly spec: ServerSpec;
  readonly child: Deno.ChildProcess;
  /** `ws://127.0.0.1:PORT/ws`. */
  readonly url: string;
  /** The last 40 lines of its stdout and stderr. */
  readonly output: string[];
  /** Whether it has exited since it started listening. */
  exited: boolean;
}

/**
 * Starts `spec` on 127.0.0.1 and a port the system picks, `args` passed on
 * to the script, pinned to the CPUs `cpus` when given (see `pinned`);
 * throws, quoting its output, when it does not listen within 20 s (it is
 * stopped then).
 */
export async function startEchoServer(
  spec: ServerSpec,
  args: readonly string[] = [],
  cpus?: string,
): Promise<RunningServer> {
  const [command, commandArgs] = pinned(
    scriptCommand(
      spec,
      ["--port", "0", "--hostname", "127.0.0.1", ...spec.args, ...args],
    ),
    cpus,
  );
  const started = await startListening(command, commandArgs, (line) => {
    const match = /Listening on http:\/\/([^/\s]+)\//.exec(line);
    return match === null ? undefined : `ws://${match[1]}/ws`;
  });
  if (started.url === null) {
    throw new Error(
      `the ${spec.key} server (${spec.script}) ${started.failure}:\n${
        started.output.join("\n")
      }`,
    );
  }
  const { child, url, output } = started;
  const server: RunningServer = { spec, child, url, output, exited: false };
  child.status.then(() => server.exited = true);
  return server;
}

/**
 * The servers of `--servers` (`names`, keys of `all`, comma-separated), then
 * those of `--extra NAME=SCRIPT` (`.mjs`, `.cjs` and `.js` run with Node),
 * labelled by `extraLabel`. Prints the problem and exits 2 on an unknown
 * name, a malformed `--extra`, or, with `compression`, a server that cannot
 * compress.
 */
export function pickServers(
  names: string,
  extras: readonly string[],
  all: readonly ServerSpec[],
  compression: boolean,
  extraLabel: (key: string, script: string) => string,
): ServerSpec[] {
  const fail = (message: string): never => {
    console.error(message);
    Deno.exit(2);
  };
  const specs = names.split(",").map((text) => {
    const key = text.trim();
    const spec = all.find((candidate) => candidate.key === key) ??
      fail(
        `--servers: unknown server ${key} (use ${
          all.map((s) => s.key).join(", ")
        })`,
      );
    if (compression && !spec.compresses) {
      fail(
        `--compression: the ${key} server cannot compress (use engine, ws or --extra)`,
      );
    }
    return spec;
  });
  for (const extra of extras) {
    const at = extra.indexOf("=");
    if (at <= 0 || at === extra.length - 1) {
      fail(`--extra must be NAME=SCRIPT, got ${extra}`);
    }
    const key = extra.slice(0, at);
    const script = extra.slice(at + 1);
    specs.push({
      key,
      label: extraLabel(key, script),
      runtime: /\.(mjs|cjs|js)$/.test(script) ? "node" : "deno",
      script,
      args: [],
      compresses: true,
    });
  }
  return specs;
}
