/** permessage-deflate in the engine (SPEC S8, C5, X1). */

import assert from "node:assert/strict";
import { connect, PerMessageDeflate, type Socket } from "../../mod.ts";
import { FrameParser } from "../../lib/protocol/parser.ts";
import { Inbox, waitFor } from "../helpers/client.ts";
import { engineEcho } from "../helpers/echo.ts";
import { handshakeRequest, rawHttp } from "../helpers/raw.ts";

Deno.test("compression: our client and server agree and round-trip every kind of message", async () => {
  const sockets = new Inbox<Socket>();
  const echo = await engineEcho(
    { dangerouslyEnableCompression: true },
    sockets,
  );
  const socket = await connect(echo.url, { deflate: true });
  assert.match(socket.extensions, /^permessage-deflate/);
  const messages: (string | Uint8Array)[] = [
    "",
    "short",
    "κόσμε ".repeat(50_000),
    new Uint8Array(1 << 20).map((_, i) => i % 7),
  ];
  for (const message of messages) await socket.send(message);
  await socket.send("frag", { endOfMessage: false });
  await socket.send("mented");
  const received: (string | Uint8Array)[] = [];
  for await (const message of socket) {
    received.push(message);
    if (received.length === messages.length + 1) break;
  }
  assert.deepEqual(received, [...messages, "fragmented"]);
  const stats = socket.stats;
  assert.equal(stats.messagesReceived, 5);
  await socket.close();
  await (await sockets.next()).closed;
  await echo.close();
});

Deno.test("compression: RSV1 marks compressed messages; compress: false sends one plain", async () => {
  const sockets = new Inbox<Socket>();
  const echo = await engineEcho(
    { dangerouslyEnableCompression: true },
    sockets,
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
  await conn.write(new TextEncoder().encode(
    handshakeRequest("/ws", ["Sec-WebSocket-Extensions: permessage-deflate"]),
  ));
  const parser = new FrameParser({ role: "client", allowRsv1: true });
  const events: { compressed: boolean }[] = [];
  const buffer = new Uint8Array(65536);
  let head = true;
  const server = await sockets.next();
  await waitFor(() => server.state === "open");
  await server.send("secret token", { compress: false });
  await server.send("public data");
  while (events.length < 2) {
    const n = await conn.read(buffer);
    if (n === null) break;
    let bytes = buffer.slice(0, n);
    if (head) {
      const text = new TextDecoder().decode(bytes);
      const end = text.indexOf("\r\n\r\n");
      assert.match(
        text.slice(0, end),
        /sec-websocket-extensions: permessage-deflate/i,
      );
      bytes = bytes.slice(end + 4);
      head = false;
    }
    parser.push(bytes, (event) => {
      if (event.kind === "data" && event.messageStart) events.push(event);
    });
  }
  assert.deepEqual(events.map((event) => event.compressed), [false, true]);
  server.abort();
  conn.close();
  await echo.close();
});

Deno.test("compression: an offer the server cannot honour still connects, uncompressed", async () => {
  const echo = await engineEcho({ dangerouslyEnableCompression: true });
  const response = await rawHttp(
    echo.port,
    handshakeRequest("/ws", [
      "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=20",
    ]),
  );
  assert.equal(response.status, 101);
  assert.equal(response.headers.get("sec-websocket-extensions"), null);
  await echo.close();
});

Deno.test("compression: off unless the server opts in", async () => {
  const echo = await engineEcho({});
  const socket = await connect(echo.url, { deflate: true });
  assert.equal(socket.extensions, "");
  await socket.send("still works");
  assert.equal(
    (await socket[Symbol.asyncIterator]().next()).value,
    "still works",
  );
  await socket.close();
  await echo.close();
});

Deno.test("compression: a deflate bomb ends the socket with 1009", async () => {
  const sockets = new Inbox<Socket>();
  const echo = await engineEcho(
    { dangerouslyEnableCompression: true, maxMessageSize: 1024 * 1024 },
    sockets,
  );
  const socket = await connect(echo.url, { deflate: true });
  // 16 MiB of zeros compresses to a few KiB on the wire.
  await socket.send(new Uint8Array(16 * 1024 * 1024));
  const closed = await socket.closed;
  assert.equal(closed.code, 1009);
  const server = await (await sockets.next()).closed;
  assert.equal(server.code, 1009);
  assert.equal(server.error?.status, "messageTooBig");
  await echo.close();
});

Deno.test("compression: every zlib handle is freed when sockets close", async () => {
  const before = PerMessageDeflate.liveZlibHandles;
  const sockets = new Inbox<Socket>();
  const echo = await engineEcho(
    { dangerouslyEnableCompression: true },
    sockets,
  );
  const clients = await Promise.all(
    Array.from({ length: 10 }, () => connect(echo.url, { deflate: true })),
  );
  for (const client of clients) await client.send("warm up zlib ".repeat(100));
  for (const client of clients) await client[Symbol.asyncIterator]().next();
  assert.ok(
    PerMessageDeflate.liveZlibHandles > before,
    "handles in use while open",
  );
  await Promise.all(clients.map((client) => client.close()));
  for (let i = 0; i < 10; i++) await (await sockets.next()).closed;
  await waitFor(
    () => PerMessageDeflate.liveZlibHandles === before,
    5000,
    "zlib handles freed",
  );
  await echo.close();
});

Deno.test("compression level: levels 1 and 9 round-trip, a bad level fails at once", async () => {
  const text = JSON.stringify(
    Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })),
  );
  for (const level of [1, 9]) {
    const server = await engineEcho({
      dangerouslyEnableCompression: { level },
    });
    const socket = await connect(server.url, {
      deflate: true,
      compressionLevel: level,
    });
    const messages = new Inbox<unknown>();
    socket.addEventListener("message", ({ data }) => messages.push(data));
    await socket.send(text);
    assert.equal(await messages.next(), text);
    assert.match(socket.extensions, /^permessage-deflate/);
    await socket.close();
    await server.close();
  }
  await assert.rejects(
    engineEcho({ dangerouslyEnableCompression: { level: 12 } }),
    RangeError,
  );
  assert.throws(
    () => connect("ws://127.0.0.1:1/", { deflate: true, compressionLevel: 10 }),
    RangeError,
  );
});
