/**
 * The stream socket (SPEC U2) over loopback: parts of messages as they
 * arrive, writes with backpressure, 200 MiB through it in bounded memory,
 * and how the streams end.
 */

import assert from "node:assert/strict";
import { peerPort, runPeer, startPeer } from "../helpers/processes.ts";
import { type Socket, StreamSocket, WebSocketError } from "../../mod.ts";
import { Inbox } from "../helpers/client.ts";
import { engineEcho } from "../helpers/echo.ts";

const MiB = 1024 * 1024;

Deno.test("stream socket: readable yields message parts before the message ends", async () => {
  const sockets = new Inbox<Socket>();
  const server = await engineEcho({}, sockets);
  const stream = new StreamSocket({ receiveBufferSize: 1000 });
  assert.throws(() => stream.readable, WebSocketError);
  await stream.connect(server.url);
  const peer = await sockets.next();
  // One message in two fragments: the first part must be readable before
  // the second fragment is even sent.
  await peer.send(new Uint8Array(2500).fill(1), { endOfMessage: false });
  const reader = stream.readable.getReader();
  const parts: number[] = [];
  let received = 0;
  while (received < 2500) {
    const { value } = await reader.read();
    parts.push(value!.byteLength);
    received += value!.byteLength;
  }
  assert.deepEqual(parts, [1000, 1000, 500]);
  await peer.send(new Uint8Array(10).fill(2), { endOfMessage: true });
  const { value: last } = await reader.read();
  assert.deepEqual(last, new Uint8Array(10).fill(2));
  reader.releaseLock();
  await stream.close();
  await server.close();
});

Deno.test("stream socket: a BYOB reader gets the parts in its own buffer, and done at the close", async () => {
  const sockets = new Inbox<Socket>();
  const server = await engineEcho({}, sockets);
  const stream = new StreamSocket();
  await stream.connect(server.url);
  const peer = await sockets.next();
  const payload = new Uint8Array(2500).map((_, i) => i % 253);
  await peer.send(payload);
  const reader = stream.readable.getReader({ mode: "byob" });
  let buffer = new Uint8Array(1000);
  const parts: Uint8Array[] = [];
  let received = 0;
  while (received < payload.byteLength) {
    const { value } = await reader.read(buffer);
    assert.ok(value!.byteLength <= 1000);
    parts.push(value!.slice());
    received += value!.byteLength;
    buffer = new Uint8Array(value!.buffer);
  }
  assert.deepEqual(new Uint8Array(parts.flatMap((part) => [...part])), payload);
  // A read waiting when the close arrives ends the stream.
  const waiting = reader.read(buffer);
  await peer.close(1000, "done");
  const end = await waiting;
  assert.equal(end.done, true);
  assert.equal((await stream.closed).code, 1000);
  await server.close();
});

Deno.test("stream socket: closing writable sends the close frame and readable ends", async () => {
  const server = await engineEcho();
  const stream = new StreamSocket();
  await stream.connect(server.url);
  const writer = stream.writable.getWriter();
  await writer.write(new Uint8Array([1, 2, 3]));
  await writer.close();
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream.readable) chunks.push(chunk);
  assert.deepEqual(chunks, [new Uint8Array([1, 2, 3])]);
  const closed = await stream.closed;
  assert.equal(closed.code, 1000);
  assert.equal(closed.initiator, "local");
  await server.close();
});

Deno.test("stream socket: 200 MiB echoed through it without memory following the data", async () => {
  // Both ends run in processes of their own, so that only the stream
  // socket's memory is measured. The server awaits each send before reading
  // on, so that backpressure reaches the writer; the client reads with a
  // BYOB reader, which is how to move bulk data in bounded memory.
  const peer = startPeer(Deno.execPath(), [
    "run",
    "--allow-net",
    "tests/client/peers/backpressure_echo.ts",
  ]);
  try {
    const port = await peerPort(peer);
    const { code, stdout, stderr } = await runPeer(Deno.execPath(), [
      "run",
      "--allow-net",
      "tests/client/peers/stream_transfer.ts",
      String(port),
    ], 60_000);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as {
      total: number;
      received: number;
      checksum: number;
      expected: number;
      baseline: number;
      peak: number;
      closeCode: number;
    };
    assert.equal(result.received, result.total);
    assert.equal(result.total, 200 * MiB);
    assert.equal(
      result.checksum,
      result.expected,
      "the bytes came back in order",
    );
    assert.equal(result.closeCode, 1000);
    // Measured from a cold start (RSS once connected), so this includes the
    // runtime's own warm-up: on this machine 17-26 MiB. A socket that kept
    // a sixth of the data, or read into a new buffer per part, fails it.
    const growth = result.peak - result.baseline;
    assert.ok(
      growth < 32 * MiB,
      `RSS grew by ${(growth / MiB).toFixed(1)} MiB moving 200 MiB`,
    );
  } finally {
    await peer.stop();
  }
});
