/** An in-process engine echo server (message events → send), like the sample's. */

import {
  type EngineServerOptions,
  serveEngine,
  type Socket,
} from "../../mod.ts";
import type { Inbox } from "./client.ts";

export async function engineEcho(
  options: EngineServerOptions = {},
  sockets?: Inbox<Socket>,
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = serveEngine(
    { port: 0, hostname: "127.0.0.1", path: "/ws", ...options },
    (socket) => {
      sockets?.push(socket);
      socket.addEventListener("message", ({ data }) => {
        socket.send(data).catch(() => socket.close(1008, "Echo failed"));
      });
    },
  );
  const { port } = await server.listening;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    port,
    close: () => server.shutdown(),
  };
}
