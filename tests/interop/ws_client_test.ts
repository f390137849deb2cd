/**
 * Node.js's `ws` client, run by Node itself, against socketry's server: an
 * independent implementation checks echo, types, fragmentation, ping/pong,
 * subprotocols and the close handshake.
 */

import assert from "node:assert/strict";
import type { Socket } from "../../mod.ts";
import { Inbox } from "../helpers/client.ts";
import { HARNESSES } from "../helpers/harness.ts";

const script = new URL("./peers/ws_client.mjs", import.meta.url).pathname;

for (const harness of HARNESSES) {
  Deno.test(`${harness.name}: Node's ws client round-trips against the server`, async () => {
    const sockets = new Inbox<Socket>();
    const server = await harness.serve(
      { protocols: ["chat", "v1"] },
      (socket) => {
        sockets.push(socket);
        socket.addEventListener("message", ({ data }) => socket.send(data));
      },
    );
    const output = await new Deno.Command("node", {
      args: [script, server.url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const results = JSON.parse(new TextDecoder().decode(output.stdout));
    assert.deepEqual(results, {
      protocol: "chat",
      text: { binary: false, data: "hello" },
      binary: { binary: true, data: [1, 2, 3] },
      fragmented: "fragment",
      big: true,
      pong: "are you there",
      close: { code: 4000, reason: "node done" },
    });
    const socket = await sockets.next();
    const closed = await socket.closed;
    assert.deepEqual(
      { ...closed },
      {
        code: 4000,
        reason: "node done",
        wasClean: true,
        initiator: "remote",
        ending: "close",
      },
    );
    assert.equal(socket.stats.messagesReceived, 4);
    assert.equal(socket.stats.messagesSent, 4);
    await server.close();
  });
}
