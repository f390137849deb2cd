/**
 * python-websockets' client (asyncio API, websockets 10.4 from Debian's
 * python3-websockets), run by Debian's Python against socketry's server:
 * an independent implementation checks echo, types, fragmentation in both
 * directions, 1 MiB messages, ping/pong with a payload, subprotocols,
 * extension refusal and the close handshake.
 *
 * Needs /usr/bin/python3 with `websockets` (ignored without it unless
 * SOCKETRY_REQUIRE_PEERS=1).
 */

import assert from "node:assert/strict";
import type { Socket } from "../../mod.ts";
import { Inbox } from "../helpers/client.ts";
import { deflateEngineHarness, HARNESSES } from "../helpers/harness.ts";
import { peerAvailable } from "../helpers/peers.ts";
import {
  hasPythonWebsockets,
  pythonPath,
  runPeer,
} from "../helpers/processes.ts";

const script = new URL("./peers/python_client.py", import.meta.url).pathname;

const runPython = peerAvailable(
  "python3-websockets",
  hasPythonWebsockets(),
  `apt-get install python3-websockets (for ${pythonPath})`,
);

for (const harness of [...HARNESSES, deflateEngineHarness]) {
  Deno.test({
    name:
      `${harness.name}: python-websockets' client round-trips against the server`,
    ignore: !runPython,
    fn: async () => {
      const sockets = new Inbox<Socket>();
      const server = await harness.serve(
        { protocols: ["chat", "v1"] },
        (socket) => {
          sockets.push(socket);
          socket.addEventListener("message", ({ data }) => {
            if (data === "fragments please") {
              socket.send("from ", { endOfMessage: false });
              socket.send("the ", { endOfMessage: false });
              socket.send("server");
            } else socket.send(data);
          });
        },
      );
      try {
        const { code, stdout, stderr } = await runPeer(pythonPath, [
          script,
          server.url,
        ]);
        assert.equal(code, 0, `${stdout}\n${stderr}`);
        const results = JSON.parse(stdout);
        assert.deepEqual(results, {
          protocol: "chat",
          // The client offers permessage-deflate; only the engine with
          // compression enabled takes it.
          extensions: harness === deflateEngineHarness
            ? ["PerMessageDeflate"]
            : [],
          text: { type: "text", data: "hello" },
          binary: { type: "binary", data: [1, 2, 3] },
          fragmented: { type: "text", data: "fragmented" },
          fragmentedBinary: { type: "binary", data: [4, 5, 6] },
          serverFragments: { type: "text", data: "from the server" },
          big: { type: "binary", size: 1024 * 1024, same: true },
          bigText: { type: "text", size: 1024 * 1024, same: true },
          pong: ["are you there"],
          close: {
            sent: [4000, "python done"],
            received: [4000, "python done"],
            closeCode: 4000,
            closeReason: "python done",
          },
        }, stderr);
        const socket = await sockets.next();
        assert.equal(socket.protocol, "chat");
        const closed = await socket.closed;
        assert.deepEqual(
          { ...closed },
          {
            code: 4000,
            reason: "python done",
            wasClean: true,
            initiator: "remote",
            ending: "close",
          },
        );
        assert.equal(socket.stats.messagesReceived, 7);
        assert.equal(socket.stats.messagesSent, 7);
      } finally {
        await server.close();
      }
    },
  });
}
