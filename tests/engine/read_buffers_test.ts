/**
 * Lent read buffers over real loopback sockets: every byte arrives in
 * order, a held buffer is never read into again until released, released
 * buffers are reused, and bytes read while nobody listens are kept.
 */

import assert from "node:assert/strict";
import {
  type AddressInfo,
  connect,
  createServer,
  type Server,
  type Socket,
} from "node:net";
import {
  READ_BUFFER_SIZE,
  ReadBuffers,
} from "../../lib/engine/read_buffers.ts";

const MiB = 1024 * 1024;

/** The byte at `position` of every test stream. */
const byteAt = (position: number) => (position * 7 + (position >> 16)) & 255;

function pattern(from: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = byteAt(from + i);
  return bytes;
}

/** A server that sends `total` pattern bytes to each connection, then ends it. */
async function patternServer(
  total: number,
): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const length = Math.min(256 * 1024, total - sent);
        const more = socket.write(pattern(sent, length));
        sent += length;
        if (!more) {
          socket.once("drain", pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

function lending(port: number, buffers: ReadBuffers): Socket {
  const socket = connect({ port, host: "127.0.0.1", onread: buffers.onread });
  buffers.attach(socket);
  return socket;
}

function ended(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

Deno.test("lent reads: every byte in order, through one buffer when nothing is held", async () => {
  const total = 8 * MiB;
  const { port, server } = await patternServer(total);
  const buffers = new ReadBuffers();
  const socket = lending(port, buffers);
  assert.equal(ReadBuffers.of(socket), buffers);
  let received = 0;
  let wrong = -1;
  buffers.listen((chunk) => {
    assert.ok(chunk.byteLength <= READ_BUFFER_SIZE);
    for (let i = 0; i < chunk.byteLength && wrong < 0; i++) {
      if (chunk[i] !== byteAt(received + i)) wrong = received + i;
    }
    received += chunk.byteLength;
  });
  await ended(socket);
  await closeServer(server);
  assert.equal(wrong, -1, `byte ${wrong} was wrong`);
  assert.equal(received, total);
  assert.equal(buffers.allocated, 1);
});

Deno.test("lent reads: a held buffer keeps its bytes until released, then is reused", async () => {
  const total = 4 * MiB;
  const { port, server } = await patternServer(total);
  const buffers = new ReadBuffers();
  const socket = lending(port, buffers);
  // Hold every chunk for a while: later reads must go elsewhere.
  const held: { view: Uint8Array; from: number; release: () => void }[] = [];
  let received = 0;
  let intact = true;
  buffers.listen((chunk, hold) => {
    held.push({ view: chunk, from: received, release: hold() });
    received += chunk.byteLength;
    if (held.length === 8) {
      for (const { view, from, release } of held.splice(0)) {
        intact &&= view.every((byte, i) => byte === byteAt(from + i));
        release();
        // A second release must not put the buffer in the pool twice.
        release();
      }
    }
  });
  await ended(socket);
  await closeServer(server);
  for (const { view, from } of held) {
    intact &&= view.every((byte, i) => byte === byteAt(from + i));
  }
  assert.equal(received, total);
  assert.ok(intact, "a held buffer was read into again");
  // Eight held at a time, then all given back: the pool needs nine at most.
  assert.ok(
    buffers.allocated <= 9,
    `${buffers.allocated} buffers made for 8 held at a time`,
  );
});

Deno.test("lent reads: bytes read while nobody listens go to the next reader first", async () => {
  const total = 300_000;
  const { port, server } = await patternServer(total);
  const buffers = new ReadBuffers();
  const socket = lending(port, buffers);
  await ended(socket);
  await closeServer(server);
  const chunks: Uint8Array[] = [];
  buffers.listen((chunk) => chunks.push(chunk.slice()));
  const joined = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  assert.deepEqual(joined, pattern(0, total));
  // Handed over once: a later reader gets nothing again.
  let again = 0;
  buffers.listen(() => again++);
  assert.equal(again, 0);
});
