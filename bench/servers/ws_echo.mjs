/**
 * The Node reference for `bench/echo_load.ts` and `bench/idle_memory.ts`:
 * the `ws` package's echo server, as its README writes it, with compression
 * off (unless `--compression`) and the same 64 MiB message limit as the
 * socketry sample. Run it with Node, not Deno:
 *
 *     node bench/servers/ws_echo.mjs [--port 8080] [--hostname 127.0.0.1]
 *         [--compression]
 *
 * `--compression` accepts permessage-deflate with ws's defaults
 * (`perMessageDeflate: true`: context takeover both ways, 15-bit windows,
 * zlib level 6 and memLevel 8, at most 10 zlib operations at once, zlib on
 * libuv's thread pool) except `threshold`, set to 0, socketry's default
 * (`DEFAULT_COMPRESSION_THRESHOLD` in lib/engine/deflate.ts), instead of
 * ws's 1024. ws 8.23.0 only applies its threshold to a side without context
 * takeover (lib/sender.js), so with these defaults it compresses every
 * message whatever the threshold; 0 says so, and keeps it so should a
 * client ask for `server_no_context_takeover`. Every message is then
 * compressed, as by the socketry sample with `--compression`.
 *
 * Prints `Listening on http://HOST:PORT/` once it accepts connections (with
 * `--port 0` the port is the one the system picked). `ws` accepts the
 * upgrade on any path, `/ws` included. SIGINT and SIGTERM exit at once
 * (through `process.exit`, so that `node --cpu-prof` writes its profile).
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { WebSocketServer } from "ws";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    port: { type: "string", default: "8080" },
    hostname: { type: "string", default: "127.0.0.1" },
    compression: { type: "boolean", default: false },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}

const server = new WebSocketServer({
  port,
  host: values.hostname,
  perMessageDeflate: values.compression ? { threshold: 0 } : false,
  maxPayload: 64 * 1024 * 1024,
});
server.on("listening", () => {
  const address = server.address();
  const host = address.family === "IPv6"
    ? `[${address.address}]`
    : address.address;
  console.log(
    `Listening on http://${host}:${address.port}/ (ws${
      values.compression ? ", permessage-deflate" : ""
    })`,
  );
});
server.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => ws.terminate());
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
