/**
 * A `deno serve --parallel` app for the tests: every isolate holds a
 * processor whose rooms are shared through a BroadcastChannel backplane, in
 * total order (each isolate starts a listening worker of its own).
 * Text messages go to the room, the sender included; `#id` answers with the
 * socket's id, whose first part names the isolate. Each isolate prints
 * "isolate ready" to stderr once its backplane is ready.
 *
 * @module
 */

import {
  BroadcastChannelBackplane,
  SocketProcessor,
  webSockets,
} from "../../mod.ts";

const backplane = new BroadcastChannelBackplane({
  channel: Deno.env.get("SOCKETRY_TEST_CHANNEL") ?? "serve-parallel",
  totalOrder: true,
});
// Served once the listening worker listens: the first messages in order too.
await backplane.ready;
// The test waits for one such line per isolate before it connects.
console.error("isolate ready");
const processor = new SocketProcessor({
  backplane,
  totalOrder: true,
  onSocket: async (socket, processor) => {
    processor.join(socket, "lobby");
    for await (const message of socket) {
      if (message === "#id") await socket.send(`id ${processor.idOf(socket)}`);
      else void processor.sendToGroup("lobby", message);
    }
  },
});

export default {
  fetch: webSockets({ path: "/ws" }, (socket) => processor.add(socket)),
} satisfies Deno.ServeDefaultExport;
