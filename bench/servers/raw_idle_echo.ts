/**
 * The baseline with keep-alive for `bench/echo_load.ts`: raw Deno with the
 * `idleTimeout` (240 s) that socketry derives from its 2-minute default
 * `keepAliveInterval`, so that keep-alive cost is compared like for like.
 * Otherwise the same as raw_deno_echo.ts: the smallest echo server on raw
 * `Deno.serve` + `Deno.upgradeWebSocket`, with no socketry code at all.
 *
 *     deno run --allow-net bench/servers/raw_deno_echo.ts [--port 8080] [--hostname 127.0.0.1]
 *
 * Prints `Listening on http://HOST:PORT/` once it accepts connections (with
 * `--port 0` the port is the one the system picked).
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "8080" },
    hostname: { type: "string", default: "127.0.0.1" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  Deno.exit(2);
}

Deno.serve({
  port,
  hostname: values.hostname,
  onListen({ hostname, port }) {
    console.log(`Listening on http://${hostname}:${port}/`);
  },
}, (request) => {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("WebSocket only\n", { status: 400 });
  }
  const { socket, response } = Deno.upgradeWebSocket(request, {
    idleTimeout: 240,
  });
  socket.onmessage = (e) => socket.send(e.data);
  return response;
});
