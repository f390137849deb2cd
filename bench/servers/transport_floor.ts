/**
 * The least a WebSocket server can hold per idle connection on each of
 * Deno's two TCP transports, for `bench/idle_memory.ts` (`--extra`): a
 * server that answers the opening handshake and then only keeps the
 * connection read, with no WebSocket object, no frame parser and no timer.
 *
 * - `node:net` (`bench/servers/floor_node_net.ts`): the transport under the
 *   engine backend and under Node's `ws`; a `data` listener keeps it read.
 * - `Deno.Conn` (`bench/servers/floor_deno_conn.ts`): `Deno.listen`, with a
 *   read of 128 bytes pending on each connection (a real server would read
 *   more at a time, and hold more).
 *
 * Both print `Listening on http://HOST:PORT/` and take `--port` and
 * `--hostname`. The handshake is read naively (its key found by name), and
 * so are frames: each chunk read is taken as whole client frames of under
 * 126 bytes, echoed unmasked (a close frame is echoed and the connection
 * ended), which is what the benchmark's warm-up sockets send. This is a
 * measuring stick, not a server.
 *
 * @module
 */

import { createServer, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { portOption } from "./port_option.ts";
import { computeAcceptKey } from "../../lib/protocol/handshake_key.ts";

/** Which transport a floor server holds its connections on. */
export type FloorTransport = "node:net" | "Deno.Conn";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The 101 answer to a head, or `undefined` when it has no key. */
function answer(head: string): Uint8Array | undefined {
  const key = /^sec-websocket-key:[ \t]*(\S+)/im.exec(head)?.[1];
  if (key === undefined) return undefined;
  return encoder.encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
      `Connection: Upgrade\r\nSec-WebSocket-Accept: ${
        computeAcceptKey(key)
      }\r\n\r\n`,
  );
}

/**
 * The echo of the whole client frames in `chunk`, and whether one of them
 * was a close frame.
 */
function echoFrames(chunk: Uint8Array): { reply: Uint8Array; close: boolean } {
  const out: number[] = [];
  let close = false;
  for (let at = 0; at + 6 <= chunk.length;) {
    const opcode = chunk[at]! & 0x0f;
    const length = chunk[at + 1]! & 0x7f;
    const mask = chunk.subarray(at + 2, at + 6);
    const payload = chunk.subarray(at + 6, at + 6 + length);
    out.push(0x80 | opcode, length);
    for (let i = 0; i < payload.length; i++) {
      out.push(payload[i]! ^ mask[i & 3]!);
    }
    if (opcode === 8) close = true;
    at += 6 + length;
  }
  return { reply: new Uint8Array(out), close };
}

function onNetSocket(socket: Socket): void {
  socket.setNoDelay(true);
  socket.once("data", (chunk: Uint8Array) => {
    const reply = answer(decoder.decode(chunk));
    if (reply === undefined) {
      socket.destroy();
      return;
    }
    socket.write(reply);
    socket.on("data", (frames: Uint8Array) => {
      const { reply, close } = echoFrames(frames);
      if (close) socket.end(reply);
      else socket.write(reply);
    });
  });
  socket.on("error", () => socket.destroy());
}

async function holdConn(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(128);
  try {
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) return;
      head += decoder.decode(buffer.subarray(0, n));
    }
    const reply = answer(head);
    if (reply === undefined) return;
    await conn.write(reply);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      const { reply, close } = echoFrames(buffer.subarray(0, n));
      await conn.write(reply);
      if (close) return;
    }
  } catch {
    // The peer went away: nothing to hold.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** Parses `--port` and `--hostname` and serves on `transport` until killed. */
export function serveFloor(transport: FloorTransport): void {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8080" },
      hostname: { type: "string", default: "127.0.0.1" },
    },
  });
  const port = portOption(values.port);
  const hostname = values.hostname;
  const listening = (actual: number) =>
    console.log(`Listening on http://${hostname}:${actual}/ (${transport})`);
  if (transport === "node:net") {
    const server = createServer(onNetSocket);
    server.listen(port, hostname, () => {
      const address = server.address();
      listening(typeof address === "object" && address ? address.port : port);
    });
    return;
  }
  const listener = Deno.listen({ port, hostname });
  listening(listener.addr.port);
  (async () => {
    for await (const conn of listener) {
      conn.setNoDelay(true);
      holdConn(conn);
    }
  })();
}
