/**
 * Child process of `tests/socket/dropped_socket_test.ts`, run with
 * `--v8-flags=--expose-gc`: on each backend, sockets end in three ways (the
 * peer drops its connection without a close frame; the peer closes with a
 * close frame; the server closes) and, once every socket's `closed` settled
 * and the server lets go of it, a collection must free it. Prints, per
 * backend and way, how many sockets are still alive after the collections.
 */

import type { Socket } from "../../../mod.ts";
import { HARNESSES } from "../../helpers/harness.ts";
import { maskedFrame, rawWebSocket } from "../../helpers/raw.ts";

const SOCKETS = Number(Deno.args[0] ?? "20");
const gc = (globalThis as unknown as { gc(): void }).gc;
const ENDINGS = ["dropped", "peer close", "server close"] as const;
type Ending = (typeof ENDINGS)[number];

async function survivors(
  harness: (typeof HARNESSES)[number],
  ending: Ending,
): Promise<number> {
  const refs: WeakRef<Socket>[] = [];
  const closed: Promise<unknown>[] = [];
  const server = await harness.serve({}, (socket) => {
    refs.push(new WeakRef(socket));
    closed.push(socket.closed);
    if (ending === "server close") {
      socket.addEventListener("open", () => socket.close(1000, "bye"));
    }
  });
  try {
    const conns = [];
    for (let i = 0; i < SOCKETS; i++) {
      conns.push(await rawWebSocket(server.port));
    }
    while (closed.length < SOCKETS) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // 1000, no reason: the peer's own close, or its answer to the server's.
    const closeFrame = maskedFrame(0x8, new Uint8Array([0x03, 0xe8]));
    for (const conn of conns) {
      if (ending === "dropped") conn.close();
      else await conn.write(closeFrame);
    }
    await Promise.all(closed);
    closed.length = 0;
    if (ending !== "dropped") { for (const conn of conns) conn.close(); }
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
  for (const ending of ENDINGS) {
    result[`${harness.name}, ${ending}`] = await survivors(harness, ending);
  }
}
console.log(JSON.stringify(result));
// Deno's keep-alive timers of the dropped connections would hold the
// process for two more minutes (README, Known issues).
Deno.exit(0);
