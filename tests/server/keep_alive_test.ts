/** Keep-alive and silence detection on the native backend (SPEC S1, S6). */

import assert from "node:assert/strict";
import {
  nativeKeepAlive,
  resolveServerOptions,
  type Socket,
  WebSocketStatus,
} from "../../mod.ts";
import { Inbox, TestClient } from "../helpers/client.ts";
import { nativeHarness } from "../helpers/harness.ts";
import { rawWebSocket } from "../helpers/raw.ts";

Deno.test("nativeKeepAlive maps the options onto Deno's idleTimeout", () => {
  const map = (options: Parameters<typeof resolveServerOptions>[0]) =>
    nativeKeepAlive(resolveServerOptions(options));
  assert.deepEqual(map({}), { idleTimeout: 240, ending: "disconnect" });
  assert.deepEqual(map({ keepAliveInterval: 0 }), {
    idleTimeout: 0,
    ending: "disconnect",
  });
  assert.deepEqual(map({ keepAliveInterval: Infinity }), {
    idleTimeout: 0,
    ending: "disconnect",
  });
  assert.deepEqual(
    map({ keepAliveInterval: 30_000, keepAliveTimeout: 10_000 }),
    {
      idleTimeout: 40,
      ending: "timeout",
    },
  );
  assert.deepEqual(map({ clientPingInterval: 15_000 }), {
    idleTimeout: 30,
    ending: "disconnect",
  });
  assert.deepEqual(
    map({ keepAliveInterval: 0, clientPingInterval: 500 }),
    { idleTimeout: 1, ending: "disconnect" },
  );
});

Deno.test("a client that goes silent is ended after 2 x clientPingInterval as a disconnect", async () => {
  const sockets = new Inbox<Socket>();
  const server = await nativeHarness.serve(
    { keepAliveInterval: 0, clientPingInterval: 400 },
    (socket) => sockets.push(socket),
  );
  const conn = await rawWebSocket(server.port); // completes the handshake, then says nothing
  const socket = await sockets.next();
  const started = Date.now();
  const closed = await socket.closed;
  const elapsed = Date.now() - started;
  assert.equal(closed.ending, "disconnect");
  assert.equal(closed.wasClean, false);
  assert.equal(closed.error?.status, WebSocketStatus.Disconnected);
  assert.match(closed.reason, /went silent/);
  assert.ok(
    elapsed >= 600,
    `ended after ${elapsed} ms, before 2 x 400 ms of silence`,
  );
  conn.close();
  await server.close();
});

Deno.test("a client that answers pings stays open past the silence limit", async () => {
  const sockets = new Inbox<Socket>();
  const server = await nativeHarness.serve(
    { keepAliveInterval: 0, clientPingInterval: 300 },
    (socket) => sockets.push(socket),
  );
  const client = await TestClient.open(server.url); // Deno's client answers pings
  const socket = await sockets.next();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(socket.state, "open");
  await client.close();
  assert.equal((await socket.closed).ending, "close");
  await server.close();
});

Deno.test("an unanswered ping with keepAliveTimeout ends as a keep-alive timeout", async () => {
  const sockets = new Inbox<Socket>();
  const server = await nativeHarness.serve(
    { keepAliveInterval: 300, keepAliveTimeout: 300 },
    (socket) => sockets.push(socket),
  );
  const conn = await rawWebSocket(server.port);
  const socket = await sockets.next();
  const pending = socket.receive();
  const closed = await socket.closed;
  assert.equal(closed.ending, "timeout");
  assert.equal(closed.error?.status, WebSocketStatus.KeepAliveTimeout);
  await assert.rejects(pending, /keep-alive timeout/i);
  conn.close();
  await server.close();
});
