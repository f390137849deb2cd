/**
 * The baseline for `bench/echo_load.ts`: the smallest echo server on raw
 * `Deno.serve` + `Deno.upgradeWebSocket`, with no socketry code at all.
 *
 *     deno run --allow-net bench/servers/raw_deno_echo.ts [--port 8080] [--hostname 127.0.0.1]
 *         [--idle-timeout SECONDS]
 *
 * `--idle-timeout 240` gives Deno the keep-alive that socketry derives from
 * its 2-minute default `keepAliveInterval`, to compare keep-alive cost like
 * for like.
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
    "idle-timeout": { type: "string", default: "0" },
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
    idleTimeout: Number(values["idle-timeout"]),
  });
  socket.onmessage = (e) => socket.send(e.data);
  return response;
});
