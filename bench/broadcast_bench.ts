// What socketry itself spends on each member of a broadcast, without the
// network: `SocketProcessor.sendToGroup()` to a room of engine sockets over
// transports that drop what they are given, against the loop an application
// would write without it (`socket.send()` to each member), which frames the
// message once per member.
// A real fan-out (`bench/fanout.ts`) spends 2–5 µs per delivery, nearly all
// of it in the runtime's write and the kernel; divide the times below by the
// room size for socketry's share of that.
// Run with `deno bench --allow-all bench/broadcast_bench.ts`.

import { EngineSocket } from "../lib/engine/engine_socket.ts";
import { TakingTransport } from "../tests/helpers/taking_transport.ts";
import { PreparedMessage } from "../lib/prepared_message.ts";
import { SocketProcessor } from "../lib/processor.ts";

/**
 * Takes every write at once, as a fast peer's socket would, and keeps only
 * a count of the bytes. Holds writes for the turn as the engine's own
 * transport says it does (here, a no-op), so writers take that path.
 */
class DroppingTransport extends TakingTransport {
  bytes = 0;
  protected kept(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
  }
  corkForTurn(): void {}
}

const LINE = "x".repeat(64);

for (const members of [1_000, 10_000]) {
  const transports: DroppingTransport[] = [];
  const sockets: EngineSocket[] = [];
  const processor = new SocketProcessor();
  for (let i = 0; i < members; i++) {
    const transport = new DroppingTransport();
    const socket = new EngineSocket(transport, "server");
    transports.push(transport);
    sockets.push(socket);
    processor.add(socket);
    processor.join(socket, "room");
  }
  // The sockets open in a microtask.
  await null;
  // What is timed below writes a whole frame to every member.
  const { sent } = await processor.sendToGroup("room", LINE);
  const frameSize = 2 + LINE.length;
  if (sent !== members || transports.some((t) => t.bytes !== frameSize)) {
    throw new Error(`a broadcast did not write one frame to each member`);
  }
  const group = `broadcast to ${members.toLocaleString("en")} members`;

  Deno.bench({
    name: `sendToGroup(text), ${members} members`,
    group,
    baseline: true,
    async fn() {
      await processor.sendToGroup("room", LINE);
    },
  });

  Deno.bench({
    name: `sendToGroup(PreparedMessage), ${members} members`,
    group,
    async fn() {
      await processor.sendToGroup("room", new PreparedMessage(LINE));
    },
  });

  Deno.bench({
    name: `socket.send(text) to each member, ${members} members`,
    group,
    async fn() {
      await Promise.all(sockets.map((socket) => socket.send(LINE)));
    },
  });
}
