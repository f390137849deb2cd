/**
 * The baseline for `bench/echo_load.ts`: the smallest echo server on raw
 * `Deno.serve` + `Deno.upgradeWebSocket`, with no socketry code at all.
 *
 *     deno run --allow-net bench/servers/raw_deno_echo.ts [--port 8080] [--hostname 127.0.0.1]
 *         [--idle-timeout SECONDS]
 *
 * Without `--idle-timeout` Deno's own default applies (30 s: a ping after
 * 15 s of silence), as in an application that calls
 * `Deno.upgradeWebSocket(request)` with no options; socketry's default
 * 2-minute `keepAliveInterval` becomes `idleTimeout: 240`, which costs the
 * same per message (Deno resets its idle timer on every frame).
 * `--idle-timeout 0` turns Deno's keep-alive off, to compare against a
 * socketry server whose keep-alive is off too.
 *
 * Prints `Listening on http://HOST:PORT/` once it accepts connections (with
 * `--port 0` the port is the one the system picked).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { portOption } from "./port_option.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "8080" },
    hostname: { type: "string", default: "127.0.0.1" },
    "idle-timeout": { type: "string" },
  },
});
const port = portOption(values.port);
const idleTimeout = values["idle-timeout"] === undefined
  ? undefined
  : Number(values["idle-timeout"]);

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
  const { socket, response } = Deno.upgradeWebSocket(
    request,
    idleTimeout === undefined ? {} : { idleTimeout },
  );
  socket.onmessage = (e) => socket.send(e.data);
  return response;
});

// Exit normally on SIGTERM, so that `--cpu-prof` gets to write its profile.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
