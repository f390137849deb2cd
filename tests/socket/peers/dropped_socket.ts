/**
 * Child process of `tests/socket/dropped_socket_test.ts`, run with
 * `--v8-flags=--expose-gc`: on each backend, peers complete the handshake
 * and then drop their connections without a close frame. Once every
 * socket's `closed` settled and the server lets go of it, a collection must
 * free it. Prints `{ "native": N, "engine": N }`: how many of the sockets are
 * still alive after the collections.
 */

import type { Socket } from "../../../mod.ts";
import { HARNESSES } from "../../helpers/harness.ts";
import { rawWebSocket } from "../../helpers/raw.ts";

const SOCKETS = Number(Deno.args[0] ?? "20");
const gc = (globalThis as unknown as { gc(): void }).gc;

async function survivors(
  harness: (typeof HARNESSES)[number],
): Promise<number> {
  const refs: WeakRef<Socket>[] = [];
  const closed: Promise<unknown>[] = [];
  const server = await harness.serve({}, (socket) => {
    refs.push(new WeakRef(socket));
    closed.push(socket.closed);
  });
  try {
    const conns = [];
    for (let i = 0; i < SOCKETS; i++) {
      conns.push(await rawWebSocket(server.port));
    }
    while (closed.length < SOCKETS) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const conn of conns) conn.close();
    await Promise.all(closed);
    closed.length = 0;
    // Timers and callbacks of the ending run out within a few turns.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 0; i < 4; i++) gc();
    return refs.filter((ref) => ref.deref() !== undefined).length;
  } finally {
    await server.close();
  }
}

const result: Record<string, number> = {};
for (const harness of HARNESSES) {
  result[harness.name] = await survivors(harness);
}
console.log(JSON.stringify(result));
// Deno's keep-alive timers of the dropped connections would hold the
// process for two more minutes.
Deno.exit(0);
