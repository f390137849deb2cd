/**
 * A client engine socket reading through lent buffers, which the next read
 * overwrites unless held: every message and piece the application got must
 * keep its bytes while later reads reuse the buffers, in each way of
 * reading (events, iteration with a slow consumer, `receive()`, `receive()`
 * into a buffer of the application's). The same checks run over a
 * transport that does not lend, as the reference.
 */

import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import {
  EngineSocket,
  type MessageData,
  serveEngine,
  type Socket,
} from "../../mod.ts";
import { ReadBuffers } from "../../lib/engine/read_buffers.ts";
import { NetSocketTransport } from "../../lib/engine/transport.ts";
import { readResponseHead } from "../../lib/client/read_head.ts";
import { generateKey } from "../../lib/protocol/handshake_key.ts";
import { concat } from "../helpers/bytes.ts";

/** Sizes that fall inside one read, span reads, and are fragmented. */
const SIZES = [1, 100, 5000, 40_000, 70_000, 200_000, 0, 33_000];
const COUNT = 120;

function sizeOf(index: number): number {
  return SIZES[index % SIZES.length]!;
}

function bytesOf(index: number): Uint8Array {
  const bytes = new Uint8Array(sizeOf(index));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (index * 31 + i) & 255;
  return bytes;
}

/** Every third message is text (ASCII of the same bytes, masked to 7 bits). */
function expected(index: number): MessageData {
  const bytes = bytesOf(index);
  if (index % 3 !== 2) return bytes;
  return new TextDecoder().decode(bytes.map((byte) => 32 + (byte & 63)));
}

/** Sends the scripted messages, some in fragments, with pings between. */
async function script(socket: Socket): Promise<void> {
  for (let index = 0; index < COUNT; index++) {
    const message = expected(index);
    if (index % 5 === 4 && typeof message !== "string") {
      const half = message.subarray(0, message.length >> 1);
      await socket.send(half, { endOfMessage: false });
      (socket as EngineSocket).ping("between fragments");
      await socket.send(message.subarray(half.length), { endOfMessage: true });
    } else await socket.send(message);
  }
}

/** A client socket over a raw handshake, lending its reads or not. */
async function open(port: number, lent: boolean): Promise<EngineSocket> {
  const buffers = lent ? new ReadBuffers() : undefined;
  const socket = netConnect({
    port,
    host: "127.0.0.1",
    ...(buffers === undefined ? {} : { onread: buffers.onread }),
  });
  buffers?.attach(socket);
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  const key = generateKey(crypto.getRandomValues(new Uint8Array(16)));
  socket.write(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
      `Sec-WebSocket-Version: 13\r\n\r\n`,
  );
  const head = await readResponseHead(socket, 8192, "the test handshake");
  assert.equal(head.status, 101);
  return new EngineSocket(new NetSocketTransport(socket, head.rest), "client");
}

async function withServer(
  run: (port: number) => Promise<void>,
): Promise<void> {
  const server = serveEngine(
    { port: 0, hostname: "127.0.0.1", path: "/ws" },
    (socket) => {
      script(socket).then(
        () => socket.close(),
        (error) => socket.close(1011, String(error).slice(0, 100)),
      );
    },
  );
  const { port } = await server.listening;
  try {
    await run(port);
  } finally {
    await server.shutdown();
  }
}

function assertAll(messages: MessageData[]): void {
  assert.equal(messages.length, COUNT);
  messages.forEach((message, index) => {
    assert.deepEqual(message, expected(index), `message ${index}`);
  });
}

for (const lent of [true, false]) {
  const how = lent ? "lent reads" : "owned reads";

  Deno.test(`${how}: messages kept from events keep their bytes`, async () => {
    await withServer(async (port) => {
      const socket = await open(port, lent);
      const messages: MessageData[] = [];
      const pings: Uint8Array[] = [];
      socket.addEventListener("message", (event) => {
        messages.push((event as MessageEvent<MessageData>).data);
      });
      socket.addEventListener("ping", (event) => {
        pings.push((event as MessageEvent<Uint8Array>).data);
      });
      await socket.closed;
      assertAll(messages);
      const ping = new TextEncoder().encode("between fragments");
      assert.ok(pings.length > 0);
      for (const payload of pings) assert.deepEqual(payload, ping);
    });
  });

  Deno.test(`${how}: a slow iterating consumer gets every message intact`, async () => {
    await withServer(async (port) => {
      const socket = await open(port, lent);
      const messages: MessageData[] = [];
      for await (const message of socket) {
        messages.push(message);
        // Let data queue up behind the consumer, so that buffers are held.
        if (messages.length % 10 === 0) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      assertAll(messages);
    });
  });

  Deno.test(`${how}: receive() pieces, and receive({ into }) copies`, async () => {
    await withServer(async (port) => {
      const socket = await open(port, lent);
      const messages: MessageData[] = [];
      let parts: Uint8Array[] = [];
      // Alternate between new pieces and one reused buffer: the pieces
      // returned by plain receive() are kept to the end.
      const into = new Uint8Array(3000);
      for (let turn = 0;; turn++) {
        const useInto = turn % 2 === 1;
        const result = await socket.receive(useInto ? { into } : {});
        if (result.type === "close") break;
        if (useInto) {
          assert.equal(result.data.buffer, into.buffer);
          assert.ok(result.data.byteLength <= into.byteLength);
          parts.push(result.data.slice());
        } else {
          assert.ok(result.data.byteLength <= 4096);
          parts.push(result.data);
        }
        if (!result.endOfMessage) continue;
        const whole = concat(parts);
        messages.push(
          result.type === "text" ? new TextDecoder().decode(whole) : whole,
        );
        // Check the kept pieces of this message again after later reads.
        parts = [];
      }
      assertAll(messages);
    });
  });
}
