/**
 * The Bun reference for `bench/echo_scenarios.ts`: Bun's own WebSocket
 * server (`Bun.serve` with a `websocket` handler) echoing every message
 * with its type, as Bun's documentation writes it, with compression off
 * (Bun's default) and the same 64 MiB message limit as the socketry
 * sample. Run it with Bun, not Deno:
 *
 *     bun bench/servers/bun_echo.ts [--port 8080] [--hostname 127.0.0.1]
 *
 * Prints `Listening on http://HOST:PORT/` once it accepts connections (with
 * `--port 0` the port is the one the system picked). It upgrades on any
 * path, `/ws` included; other requests get 400.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { portOption } from "./port_option.ts";

// Bun's globals, declared here so that `deno check` passes without Bun's types.
declare const Bun: {
  serve(options: unknown): { port: number };
  argv: string[];
};

interface BunSocket {
  send(message: string | Uint8Array): number;
}

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    port: { type: "string", default: "8080" },
    hostname: { type: "string", default: "127.0.0.1" },
  },
});
const port = portOption(values.port);

const server = Bun.serve({
  port,
  hostname: values.hostname,
  fetch(request: Request, server: { upgrade(request: Request): boolean }) {
    if (server.upgrade(request)) return undefined;
    return new Response("WebSocket only\n", { status: 400 });
  },
  websocket: {
    maxPayloadLength: 64 * 1024 * 1024,
    message(ws: BunSocket, message: string | Uint8Array) {
      ws.send(message);
    },
  },
});
console.log(`Listening on http://${values.hostname}:${server.port}/`);
