/**
 * The fan-out baseline of Bun for `bench/fanout.ts`: every socket subscribes
 * to one topic, and every message is published to it with
 * `server.publish`, which (unlike `ws.publish`) includes the sender.
 *
 *     bun bench/servers/fanout_bun.ts [PORT] [HOST]
 *
 * Prints `Listening on http://HOST:PORT/` once it accepts connections.
 *
 * @module
 */

import { portOption } from "./port_option.ts";

// Bun's globals, declared here so that `deno check` passes without Bun's types.
declare const Bun: {
  serve(
    options: unknown,
  ): { port: number; publish(topic: string, data: unknown): number };
  argv: string[];
};

interface BunSocket {
  subscribe(topic: string): void;
}

const port = portOption(Bun.argv[2] ?? "8080", "PORT");
const hostname = Bun.argv[3] ?? "127.0.0.1";
const server = Bun.serve({
  port,
  hostname,
  fetch(request: Request, server: { upgrade(request: Request): boolean }) {
    if (server.upgrade(request)) return undefined;
    return new Response("fan-out server\n");
  },
  websocket: {
    open(ws: BunSocket) {
      ws.subscribe("room");
    },
    message(_ws: BunSocket, message: string | Uint8Array) {
      server.publish("room", message);
    },
  },
});
console.log(`Listening on http://${hostname}:${server.port}/`);
