/**
 * The fan-out baseline of Node's `ws` for `bench/fanout.ts`: every message a
 * client sends goes to every client, the sender included, looping over
 * `wss.clients` as ws's README shows.
 *
 *     node bench/servers/fanout_ws.mjs [PORT] [HOST]
 *
 * Prints `Listening on http://HOST:PORT/` once it accepts connections.
 */

import { WebSocketServer } from "ws";

const port = Number(process.argv[2] ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got ${process.argv[2]}`);
  process.exit(2);
}
const host = process.argv[3] ?? "127.0.0.1";
const wss = new WebSocketServer({ port, host });
wss.on("listening", () => {
  console.log(`Listening on http://${host}:${wss.address().port}/`);
});
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => {
    for (const client of wss.clients) client.send(data, { binary: isBinary });
  });
});
