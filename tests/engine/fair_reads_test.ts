/**
 * Engine sockets share reading: connections that all have a backlog are
 * read in turns, so none is served far ahead while the others wait.
 */

import assert from "node:assert/strict";
import {
  type AddressInfo,
  connect,
  createServer,
  type Socket as NetSocket,
} from "node:net";
import { EngineSocket } from "../../lib/engine/engine_socket.ts";
import { NetSocketTransport } from "../../lib/engine/transport.ts";
import { Opcode } from "../../lib/protocol/opcodes.ts";
import { waitFor } from "../helpers/client.ts";
import { maskedFrame } from "../helpers/raw.ts";

const CONNECTIONS = 4;
const MESSAGES = 1024;
const MESSAGE_SIZE = 1024;

Deno.test("engine: connections with a backlog are read in turns, none far ahead of the others", async () => {
  const accepted: NetSocket[] = [];
  // Accepted sockets do not read until their engine socket starts them.
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    accepted.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const clients = Array.from(
    { length: CONNECTIONS },
    () => connect({ port, host: "127.0.0.1" }),
  );
  await waitFor(() => accepted.length === CONNECTIONS, 5000, "accepts");
  // 1 MiB per connection, all of it in the kernel before any is read.
  const backlog = new Uint8Array(MESSAGES * (MESSAGE_SIZE + 8));
  const frame = maskedFrame(Opcode.Binary, new Uint8Array(MESSAGE_SIZE));
  for (let i = 0; i < MESSAGES; i++) backlog.set(frame, i * frame.byteLength);
  for (const client of clients) {
    client.on("data", () => {});
    client.write(backlog);
  }
  await waitFor(
    () => clients.every((client) => client.writableLength === 0),
    10000,
    "the backlogs in the kernel",
  );

  const counts = new Array<number>(CONNECTIONS).fill(0);
  let lead = 0;
  const sockets = accepted.map((connection, index) => {
    const socket = new EngineSocket(
      new NetSocketTransport(connection),
      "server",
    );
    socket.addEventListener("message", () => {
      counts[index]!++;
      // How far the most-read connection is ahead of the least-read one,
      // while every connection still has messages waiting.
      if (counts.every((count) => count < MESSAGES)) {
        lead = Math.max(lead, Math.max(...counts) - Math.min(...counts));
      }
    });
    return socket;
  });
  await waitFor(
    () => counts.every((count) => count === MESSAGES),
    20000,
    "every message",
  );
  // A read takes at most 64 KiB (63 messages) and a connection reads once
  // or twice per turn before the others get theirs: the lead stays at a
  // few reads (about 250 messages here). Read without turns, the first
  // connection delivered its whole backlog before the others got any.
  assert.ok(
    lead <= MESSAGES / 2,
    `one connection got ${lead} messages ahead of another`,
  );
  for (const client of clients) client.destroy();
  await Promise.all(sockets.map((socket) => socket.closed));
  await new Promise((resolve) => server.close(resolve));
});
