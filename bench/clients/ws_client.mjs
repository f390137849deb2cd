/**
 * Node's `ws` client under load, the reference of `bench/client_load.ts`.
 * Everything but the socket calls is `common.mjs`, shared with the socketry
 * client. Run it with Node:
 *
 *     node bench/clients/ws_client.mjs --url ws://HOST:PORT/ws --size BYTES \
 *         [--binary] [--connections 20] [--inflight 4] [--seconds 5]
 *         [--warmup 1] [--server-pid PID]
 *
 * `ws` as its README uses it, compression off (`perMessageDeflate: false`,
 * as socketry's `connect()` does by default): `ws.on("message", (data,
 * isBinary) => ...)`, the fastest way `ws` delivers a message. A text
 * message comes as a `Buffer` and is turned into a string with
 * `data.toString()`, so that the application gets what socketry hands out (a
 * string for text, bytes for binary) and the same check applies; `ws` itself
 * already checked that it is UTF-8. `ws.send(data)` without a callback.
 *
 * @module
 */

import process from "node:process";
import WebSocket from "ws";
import { Load, Messages, parseClientArgs, runLoad } from "./common.mjs";

const args = parseClientArgs(process.argv.slice(2));
const load = new Load(new Messages(args.size, args.binary));

/**
 * @param {import("./common.mjs").LoadConn} conn
 * @param {string} url
 * @returns {Promise<boolean>}
 */
function open(conn, url) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
      handshakeTimeout: 10_000,
    });
    conn.transmit = (data) => ws.send(data);
    conn.close = () => ws.close(1000, "done");
    ws.on("open", () => resolve(true));
    ws.on("message", (data, isBinary) => {
      conn.echoed(isBinary ? data : data.toString());
    });
    ws.on("error", (error) => {
      if (!load.closing) {
        load.fail("socket", `socket ${conn.index}: ${error.message}`);
      }
    });
    ws.on("close", (code, reason) => {
      resolve(false);
      conn.ended(`${code} ${reason.toString()}`);
    });
  });
}

await runLoad({
  name: "ws",
  runtime: `Node ${process.version}, ws ${await wsVersion()}`,
  args,
  open,
  load,
});

/** @returns {Promise<string>} */
async function wsVersion() {
  try {
    const { createRequire } = await import("node:module");
    const require = createRequire(import.meta.url);
    return require("ws/package.json").version;
  } catch {
    return "?";
  }
}
