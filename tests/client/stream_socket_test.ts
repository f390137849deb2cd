/**
 * The stream socket (SPEC U2) over loopback: parts of messages as they
 * arrive, writes with backpressure, 200 MiB through it in bounded memory,
 * and how the streams end.
 */

import assert from "node:assert/strict";
import { peerPort, startPeer } from "../helpers/processes.ts";
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

Deno.test("stream socket: 200 MiB echoed through it with memory growth under 32 MiB", async () => {
  // The server runs in its own process, so that only the stream socket's
  // memory is measured; it awaits each send before reading on, so that
  // backpressure reaches the writer.
  const peer = startPeer(Deno.execPath(), [
    "run",
    "--allow-net",
    "tests/client/peers/backpressure_echo.ts",
  ]);
  const port = await peerPort(peer);
  const stream = new StreamSocket();
  await stream.connect(`ws://127.0.0.1:${port}/`);
  const total = 200 * MiB;
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) % 251;

  // Every part read is a fresh ArrayBuffer, and V8 collects those only once
  // tens of MiB of them piled up (its external-memory limit), so from a cold
  // start RSS rises by some 60 MiB whatever the transfer's size, then stays
  // flat. So a 128 MiB warm-up first (two such cycles), and the baseline is the highest RSS
  // seen during it: what is asserted is that 200 MiB more do not raise the
  // high-water mark, i.e. that backpressure holds the data at its source.
  let peak = Deno.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, Deno.memoryUsage().rss);
  }, 10);
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const warmup = (async () => {
    for (let sent = 0; sent < 128 * MiB; sent += chunk.length) {
      await writer.write(chunk);
    }
  })();
  for (let got = 0; got < 128 * MiB;) {
    got += (await reader.read()).value!.byteLength;
  }
  await warmup;
  const baseline = Math.max(peak, Deno.memoryUsage().rss);
  peak = baseline;

  const writing = (async () => {
    for (let sent = 0; sent < total; sent += chunk.length) {
      await writer.write(chunk);
    }
  })();
  // A sample every 4099 bytes, weighted by position: reordered, lost or
  // repeated data changes it.
  const STEP = 4099;
  let received = 0;
  let checksum = 0;
  let next = 0;
  while (received < total) {
    const { value } = await reader.read();
    const end = received + value!.byteLength;
    for (; next < end; next += STEP) {
      checksum = (checksum + value![next - received]! * (next % 65536)) >>> 0;
    }
    received = end;
  }
  await writing;
  clearInterval(sampler);
  peak = Math.max(peak, Deno.memoryUsage().rss);

  let expected = 0;
  for (let position = 0; position < total; position += STEP) {
    expected =
      (expected + chunk[position % chunk.length]! * (position % 65536)) >>> 0;
  }
  assert.equal(received, total);
  assert.equal(checksum, expected, "the bytes came back in order");
  const growth = peak - baseline;
  assert.ok(
    growth < 32 * MiB,
    `RSS grew by ${(growth / MiB).toFixed(1)} MiB moving 200 MiB`,
  );
  reader.releaseLock();
  await writer.close();
  await stream.closed;
  await peer.stop();
});
