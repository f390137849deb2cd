/**
 * One process of a test cluster: a chat-like server whose rooms are shared
 * through Redis. `ws://HOST:PORT/ws?room=R&user=U` joins room R (as user U);
 * each text message goes to the sender's room, the sender included, except
 * commands: `#id` answers `id ID`, `#count` answers `count N` (the room's
 * members in every process), `@user:U TEXT` sends TEXT to user U and
 * `@socket:ID TEXT` to one socket, wherever they are.
 *
 * Usage: deno run -A tests/backplane/cluster_node.ts PORT REDIS_URL PREFIX [total]
 *
 * With `total`, rooms are in total order (the processor's `totalOrder`).
 *
 * @module
 */

import { SocketProcessor, webSockets } from "../../mod.ts";
import { RedisBackplane } from "../../lib/backplane/redis.ts";

const [port, url, prefix, order] = Deno.args;
const backplane = new RedisBackplane({ url: url!, prefix: prefix! });
backplane.onEvent((event) => {
  if (event.type === "state") {
    console.log(
      `backplane ${event.state}`,
      event.error ? String(event.error) : "",
    );
  }
});
const rooms = new WeakMap<object, string>();

const processor = new SocketProcessor({
  backplane,
  totalOrder: order === "total",
  onSocket: async (socket, processor) => {
    const room = rooms.get(socket)!;
    processor.join(socket, room);
    for await (const message of socket) {
      if (typeof message !== "string") {
        void processor.sendToGroup(room, message);
      } else if (message === "#id") {
        await socket.send(`id ${processor.idOf(socket)}`);
      } else if (message === "#count") {
        await socket.send(`count ${processor.clusterCount(room)}`);
      } else if (message.startsWith("@")) {
        const space = message.indexOf(" ");
        const colon = message.indexOf(":");
        const kind = message.slice(1, colon);
        const name = message.slice(colon + 1, space);
        const text = message.slice(space + 1);
        if (kind === "user") void processor.sendToUser(name, text);
        else void processor.sendToSocket(name, text);
      } else {
        void processor.sendToGroup(room, message);
      }
    }
  },
});

const server = Deno.serve(
  {
    port: Number(port),
    hostname: "127.0.0.1",
    onListen: () => console.log(`Listening on http://127.0.0.1:${port}/`),
  },
  webSockets({ path: "/ws" }, (socket, request) => {
    const query = new URL(request.url).searchParams;
    rooms.set(socket, query.get("room") ?? "lobby");
    const user = query.get("user");
    return processor.add(socket, user === null ? {} : { user });
  }),
);

Deno.addSignalListener("SIGTERM", async () => {
  await processor.shutdown({ timeout: 3000 });
  await server.shutdown();
  await backplane.close();
  console.log("stopped");
  Deno.exit(0);
});
