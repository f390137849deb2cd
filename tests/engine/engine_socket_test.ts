/** What the engine does beyond the shared contract (issue 3, SPEC C6, X2). */

import assert from "node:assert/strict";
import {
  connect,
  EngineSocket,
  type Socket,
  WebSocketStatus,
} from "../../mod.ts";
import { concatBytes } from "../../lib/bytes.ts";
import { Inbox, waitFor } from "../helpers/client.ts";
import { engineHarness } from "../helpers/harness.ts";
import { FrameReader, maskedFrame, rawWebSocket } from "../helpers/raw.ts";

const decoder = new TextDecoder();

async function rawSetup(
  options: Parameters<typeof engineHarness.serve>[0] = {},
) {
  const sockets = new Inbox<Socket>();
  const server = await engineHarness.serve(
    options,
    (socket) => sockets.push(socket),
  );
  const conn = await rawWebSocket(server.port);
  const socket = await sockets.next();
  await waitFor(() => socket.state === "open");
  return { server, conn, socket, reader: new FrameReader(conn) };
}

Deno.test("engine: a fragment goes on the wire before the message ends", async () => {
  const { server, conn, socket, reader } = await rawSetup();
  await socket.send("Hel", { endOfMessage: false });
  const first = await reader.next();
  assert.equal(first?.kind, "data");
  assert.equal(first?.kind === "data" && first.messageEnd, false);
  assert.equal(first?.kind === "data" && decoder.decode(first.data), "Hel");
  await socket.send("lo");
  const second = await reader.next();
  assert.equal(second?.kind === "data" && second.messageEnd, true);
  socket.abort();
  conn.close();
  await server.close();
});

Deno.test("engine: a large message is written from the caller's bytes, and send() resolves once they are no longer read", async () => {
  const { server, conn, socket, reader } = await rawSetup();
  const size = 16 * 1024 * 1024;
  const big = new Uint8Array(size).fill(1);
  const sent = socket.send(big);
  let resolved = false;
  void sent.then(() => resolved = true);
  // The peer reads nothing yet: most of the message waits to be written.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(resolved, false, "send() resolved while its bytes wait");
  const reading = (async () => {
    const messages: Uint8Array[] = [];
    let parts: Uint8Array[] = [];
    while (messages.length < 2) {
      const event = await reader.next();
      assert.equal(event?.kind, "data");
      if (event?.kind !== "data") break;
      parts.push(event.data.slice());
      if (!event.messageEnd) continue;
      const whole = concatBytes(parts);
      assert.equal(whole.byteLength, size);
      messages.push(whole);
      parts = [];
    }
    return messages;
  })();
  await sent;
  // Once send() resolved, the bytes are the caller's again.
  big.fill(2);
  await socket.send(big);
  const [first, second] = await reading;
  assert.ok(first!.every((byte) => byte === 1), "the first message changed");
  assert.ok(second!.every((byte) => byte === 2));
  socket.abort();
  conn.close();
  await server.close();
});

Deno.test("engine: a large send settles when the peer goes away before reading it", async () => {
  const { server, conn, socket } = await rawSetup();
  const sent = socket.send(new Uint8Array(16 * 1024 * 1024));
  const settled = sent.then(() => "resolved", () => "rejected");
  await new Promise((resolve) => setTimeout(resolve, 100));
  conn.close();
  const outcome = await Promise.race([
    settled,
    new Promise((resolve) => setTimeout(() => resolve("pending"), 5000)),
  ]);
  assert.notEqual(outcome, "pending", "send() never settled");
  await socket.closed;
  await server.close();
});

Deno.test("engine: receive() returns a message's parts as they arrive", async () => {
  const { server, conn, socket } = await rawSetup();
  await conn.write(maskedFrame(0x1, "first part ", false));
  const part = await socket.receive();
  assert.equal(part.type, "text");
  assert.equal(part.endOfMessage, false);
  assert.equal(decoder.decode(part.data), "first part ");
  await conn.write(maskedFrame(0x0, "and the end", true));
  const rest = await socket.receive();
  assert.equal(rest.endOfMessage, true);
  assert.equal(decoder.decode(rest.data), "and the end");
  socket.abort();
  conn.close();
  await server.close();
});

Deno.test("engine: pings are answered while the application does not read", async () => {
  const { server, conn, socket, reader } = await rawSetup();
  const pings = new Inbox<Uint8Array>();
  socket.addEventListener(
    "ping",
    (event) => pings.push((event as MessageEvent<Uint8Array>).data),
  );
  await conn.write(maskedFrame(0x1, "unread message"));
  await conn.write(maskedFrame(0x9, "are you there"));
  const pong = await reader.next();
  assert.equal(pong?.kind, "pong");
  assert.equal(
    pong?.kind === "pong" && decoder.decode(pong.data),
    "are you there",
  );
  assert.equal(decoder.decode(await pings.next()), "are you there");
  socket.abort();
  conn.close();
  await server.close();
});

Deno.test("engine: ping() and pong() validate their payload", async () => {
  const { server, conn, socket, reader } = await rawSetup();
  assert.throws(
    () => socket instanceof EngineSocket && socket.ping(new Uint8Array(126)),
    RangeError,
  );
  (socket as EngineSocket).ping("hi");
  const ping = await reader.next();
  assert.equal(ping?.kind === "ping" && decoder.decode(ping.data), "hi");
  socket.abort();
  conn.close();
  await server.close();
});

Deno.test("engine: keep-alive PINGs carry a token; no PONG ends the socket as a timeout", async () => {
  const { server, conn, socket, reader } = await rawSetup({
    keepAliveInterval: 150,
    keepAliveTimeout: 150,
  });
  const pending = socket.receive();
  const ping = await reader.next();
  assert.equal(ping?.kind, "ping");
  assert.equal(
    ping?.kind === "ping" && ping.data.byteLength,
    4,
    "a 4-byte token",
  );
  const closed = await socket.closed;
  assert.equal(closed.ending, "timeout");
  assert.equal(closed.error?.status, WebSocketStatus.KeepAliveTimeout);
  await assert.rejects(pending, /keep-alive timeout/i);
  conn.close();
  await server.close();
});

Deno.test("engine: a PONG with the token keeps the socket open", async () => {
  const { server, conn, socket, reader } = await rawSetup({
    keepAliveInterval: 100,
    keepAliveTimeout: 300,
  });
  for (let i = 0; i < 4; i++) {
    const ping = await reader.next();
    assert.equal(ping?.kind, "ping");
    if (ping?.kind === "ping") await conn.write(maskedFrame(0xa, ping.data));
  }
  assert.equal(socket.state, "open");
  socket.abort();
  conn.close();
  await server.close();
});

Deno.test("engine: without keepAliveTimeout the socket sends unsolicited PONGs", async () => {
  const { server, conn, socket, reader } = await rawSetup({
    keepAliveInterval: 100,
  });
  const started = Date.now();
  for (let i = 0; i < 3; i++) assert.equal((await reader.next())?.kind, "pong");
  assert.ok(Date.now() - started >= 250);
  assert.equal(socket.state, "open");
  socket.abort();
  conn.close();
  await server.close();
});

Deno.test("engine: 2 x clientPingInterval of silence is a disconnect", async () => {
  const { server, conn, socket } = await rawSetup({
    keepAliveInterval: 0,
    clientPingInterval: 150,
  });
  const started = Date.now();
  const closed = await socket.closed;
  assert.equal(closed.ending, "disconnect");
  assert.ok(Date.now() - started >= 250);
  conn.close();
  await server.close();
});

Deno.test("engine: replies to messages that came before the peer's close go out first", async () => {
  const sockets = new Inbox<Socket>();
  const server = await engineHarness.serve({}, async (socket) => {
    sockets.push(socket);
    for await (const message of socket) await socket.send(message);
  });
  const conn = await rawWebSocket(server.port);
  const reader = new FrameReader(conn);
  const frames = [
    maskedFrame(0x1, "one"),
    maskedFrame(0x1, "two"),
    maskedFrame(0x8, new Uint8Array([0x03, 0xe8, 0x6f, 0x6b])),
  ];
  await conn.write(new Uint8Array(frames.flatMap((frame) => [...frame])));
  const seen = [];
  for (
    let event = await reader.next();
    event !== undefined;
    event = await reader.next()
  ) {
    seen.push(
      event.kind === "data"
        ? decoder.decode(event.data)
        : event.kind === "close"
        ? `close ${event.code} ${event.reason}`
        : event.kind,
    );
  }
  assert.deepEqual(seen, ["one", "two", "close 1000 ok"]);
  assert.equal(reader.eof, true, "the server closes TCP after the handshake");
  const closed = await (await sockets.next()).closed;
  assert.equal(closed.initiator, "remote");
  conn.close();
  await server.close();
});

Deno.test("engine: close() to a peer that never answers times out and drops TCP", async () => {
  const { server, conn, socket, reader } = await rawSetup({
    closeTimeout: 200,
  });
  const closed = await socket.close(1000, "bye");
  assert.equal(closed.ending, "timeout");
  assert.equal((await reader.next())?.kind, "close");
  assert.equal(await reader.next(), undefined, "EOF after the timeout");
  conn.close();
  await server.close();
});

Deno.test("engine: reading pauses while the application does not read, and nothing is lost", async () => {
  const sockets = new Inbox<Socket>();
  // Reading pauses past receiveHighWaterMark (its default, 1 MiB): 8 MiB
  // sent leaves the client holding most of it.
  const server = await engineHarness.serve(
    {},
    (socket) => sockets.push(socket),
  );
  const client = await connect(server.url);
  const socket = await sockets.next();
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const total = 128;
  const sends = Array.from(
    { length: total },
    () => client.send(chunk).catch(() => {}),
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(
    client.bufferedAmount > 1024 * 1024,
    `the client is held back (${client.bufferedAmount} bytes waiting)`,
  );
  let received = 0;
  while (received < total * chunk.byteLength) {
    const piece = await socket.receive({ maxBytes: 4096 });
    if (piece.type === "close") break;
    assert.ok(piece.data.every((byte) => byte === 7));
    received += piece.data.byteLength;
  }
  assert.equal(received, total * chunk.byteLength);
  await Promise.all(sends);
  await client.close();
  await server.close();
});
