/**
 * An engine echo server for tests that move a lot of data: it awaits each
 * send before reading on, so backpressure reaches the client. Prints
 * `{"port": N}` once it listens; runs until killed.
 */

import { serveEngine } from "../../../mod.ts";

const server = serveEngine(
  { port: 0, hostname: "127.0.0.1" },
  async (socket) => {
    for await (const message of socket) await socket.send(message);
  },
);
const { port } = await server.listening;
console.log(JSON.stringify({ port }));
