/**
 * A python-websockets client flooding past `messagesPerSecond` and never
 * pausing to read (each `await send()` returns at once until its writes
 * block): on the engine it still gets the 1008 close frame, because the
 * engine holds reading back after sending it, so that the flooder's writes
 * block and it reads. Deno's own socket resets the connection instead.
 *
 * Needs /usr/bin/python3 with `websockets` (ignored without it unless
 * SOCKETRY_REQUIRE_PEERS=1).
 */

import assert from "node:assert/strict";
import { connect, ServerMetrics, type Socket } from "../../mod.ts";
import { waitFor } from "../helpers/client.ts";
import { HARNESSES } from "../helpers/harness.ts";
import { peerAvailable } from "../helpers/peers.ts";
import {
  hasPythonWebsockets,
  pythonPath,
  runPeer,
} from "../helpers/processes.ts";

const script = new URL("./peers/python_flooder.py", import.meta.url).pathname;

const runPython = peerAvailable(
  "python3-websockets",
  hasPythonWebsockets(),
  `apt-get install python3-websockets (for ${pythonPath})`,
);

for (const harness of HARNESSES) {
  Deno.test({
    name:
      `${harness.name}: a python flooder that never pauses to read is closed past the rate; a calm client carries on`,
    ignore: !runPython,
    fn: async () => {
      const metrics = new ServerMetrics();
      const server = await harness.serve(
        { metrics, limits: { messagesPerSecond: 20 } },
        (socket: Socket) => {
          socket.addEventListener("message", ({ data }) => {
            socket.send(data).catch(() => {});
          });
        },
      );
      const calm = await connect(server.url);
      let echoed = 0;
      calm.addEventListener("message", () => echoed++);
      let stop = false;
      const chatting = (async () => {
        let sent = 0;
        while (!stop) {
          await calm.send(`calm ${sent++}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return sent;
      })();
      try {
        const { code, stdout, stderr } = await runPeer(pythonPath, [
          script,
          server.url,
        ]);
        assert.equal(code, 0, `${stdout}\n${stderr}`);
        const result = JSON.parse(stdout);
        if (harness.name === "engine") {
          assert.equal(result.code, 1008, stdout);
          assert.equal(
            result.reason,
            "Rate limit: more than 20 messages per second",
          );
        } else {
          // Deno closes the connection under the flood: the reset takes the
          // close frame with it.
          assert.ok([1006, 1008].includes(result.code), stdout);
        }
        assert.ok(result.sent > 20, stdout);
        stop = true;
        const sent = await chatting;
        await waitFor(() => echoed === sent, 5000, "every calm message");
        assert.equal(calm.state, "open");
        assert.equal(metrics.snapshot().limitHits.messages_per_second, 1);
      } finally {
        stop = true;
        await chatting.catch(() => {});
        await calm.close();
        await server.close();
      }
    },
  });
}
