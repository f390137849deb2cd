/**
 * socketry's echo written the way its docs show it: an async `for await`
 * loop over whole messages, each echoed with `await socket.send()`. Next to
 * `examples/echo/main.ts` (message events) it shows what async iteration
 * costs per message in `bench/echo_load.ts`.
 *
 *     deno run --allow-net bench/servers/socketry_iter_echo.ts [--port 8080] [--hostname 127.0.0.1]
 *
 * Prints `Listening on http://HOST:PORT/` once it accepts connections; the
 * socket route is `/ws`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { webSockets } from "../../mod.ts";

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

const handler = webSockets({ path: "/ws" }, async (socket) => {
  for await (const m of socket) await socket.send(m);
});

Deno.serve({
  port,
  hostname: values.hostname,
  onListen({ hostname, port }) {
    console.log(`Listening on http://${hostname}:${port}/`);
  },
}, handler);
