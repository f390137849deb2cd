/**
 * The fan-out baseline for `bench/fanout.ts`: one room on raw `Deno.serve` +
 * `Deno.upgradeWebSocket`, no socketry code. Every message a socket sends
 * goes to every socket, the sender included, in a plain loop.
 *
 *     deno run --allow-net bench/servers/fanout_deno.ts [--port 8080] [--hostname 127.0.0.1]
 *
 * Prints `Listening on http://HOST:PORT/` once it accepts connections.
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
  },
});

const room = new Set<WebSocket>();
Deno.serve({
  port: portOption(values.port),
  hostname: values.hostname,
  onListen: ({ hostname, port }) =>
    console.log(`Listening on http://${hostname}:${port}/`),
}, (request) => {
  if (request.headers.get("upgrade") !== "websocket") {
    return new Response("fan-out server\n");
  }
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.onopen = () => room.add(socket);
  socket.onclose = () => room.delete(socket);
  socket.onmessage = ({ data }) => {
    for (const member of room) member.send(data);
  };
  return response;
});
