/**
 * The message socket (SPEC U1, U3, U4) against an engine echo server over
 * loopback: whole messages as events, the message type changeable after
 * connect and every other setting fixed, the close outcome, information.
 */

import assert from "node:assert/strict";
import {
  type MessageData,
  MessageSocket,
  type Socket,
  type SocketCloseEvent,
  WebSocketError,
  WebSocketStatus,
} from "../../mod.ts";
import { Inbox } from "../helpers/client.ts";
import { engineEcho } from "../helpers/echo.ts";

function messagesOf(socket: MessageSocket): Inbox<MessageData> {
  const inbox = new Inbox<MessageData>();
  socket.addEventListener("message", (event) => {
    inbox.push((event as MessageEvent<MessageData>).data);
  });
  return inbox;
}

Deno.test("message socket: whole messages of the control's type, changeable after connect", async () => {
  const server = await engineEcho();
  const socket = new MessageSocket({ protocols: [] });
  assert.equal(socket.control.messageType, "text");
  const inbox = messagesOf(socket);
  await socket.connect(server.url);
  await socket.send("héllo");
  assert.equal(await inbox.next(), "héllo");
  await socket.send(new TextEncoder().encode("bytes sent as text"));
  assert.equal(await inbox.next(), "bytes sent as text");

  socket.control.messageType = "binary";
  await socket.send("now binary");
  assert.deepEqual(
    await inbox.next(),
    new TextEncoder().encode("now binary"),
  );
  const big = new Uint8Array(300_000).map((_, i) => i % 253);
  await socket.send(big);
  assert.deepEqual(await inbox.next(), big);
  assert.throws(
    () => {
      socket.control.messageType = "json" as "text";
    },
    TypeError,
  );
  await socket.close(1000, "done");
  await server.close();
});

Deno.test("message socket: every other control is fixed at connect", async () => {
  const server = await engineEcho();
  const socket = new MessageSocket();
  socket.control.set({ keepAliveInterval: 60_000, receiveBufferSize: 8192 });
  assert.equal(socket.control.options.receiveBufferSize, 8192);
  await socket.connect(server.url);
  for (
    const change of [
      { protocols: ["chat"] },
      { keepAliveInterval: 1000 },
      { headers: { "x-a": "b" } },
      { deflate: true },
    ]
  ) {
    assert.throws(() => socket.control.set(change), (error: unknown) => {
      assert.ok(error instanceof WebSocketError);
      assert.equal(error.status, WebSocketStatus.InvalidState);
      assert.match(error.message, new RegExp(Object.keys(change)[0]!));
      return true;
    });
  }
  assert.equal(socket.control.options.keepAliveInterval, 60_000);
  await assert.rejects(socket.connect(server.url), (error: unknown) => {
    assert.ok(error instanceof WebSocketError);
    assert.equal(error.status, WebSocketStatus.InvalidState);
    return true;
  });
  await socket.close();
  await server.close();
});

Deno.test("message socket: close event and closed promise say who closed", async () => {
  const sockets = new Inbox<Socket>();
  const server = await engineEcho({}, sockets);
  const local = new MessageSocket();
  const localClose = new Promise<SocketCloseEvent>((resolve) =>
    local.addEventListener(
      "close",
      (event) => resolve(event as SocketCloseEvent),
    )
  );
  await local.connect(server.url);
  await (await sockets.next()).close(1000, "next one");
  const remote = new MessageSocket();
  await remote.connect(server.url);
  await remote.close(4001, "leaving");

  const first = await localClose;
  assert.equal(first.code, 1000);
  assert.equal(first.reason, "next one");
  assert.equal(first.detail.initiator, "remote");
  assert.equal((await local.closed).initiator, "remote");
  const second = await remote.closed;
  assert.equal(second.code, 4001);
  assert.equal(second.initiator, "local");
  assert.equal(second.wasClean, true);
  await server.close();
});

Deno.test("message socket: information gives addresses, protocol, extensions and bandwidth", async () => {
  const server = await engineEcho({
    protocols: ["chat.v2"],
    dangerouslyEnableCompression: true,
  });
  const socket = new MessageSocket({
    protocols: ["chat.v1", "chat.v2"],
    deflate: true,
  });
  const before = socket.information;
  assert.equal(before.remoteAddress, undefined);
  assert.equal(before.bandwidth.bytesSent, 0);
  const inbox = messagesOf(socket);
  await socket.connect(server.url);
  const info = socket.information;
  assert.equal(info.remoteAddress, `127.0.0.1:${server.port}`);
  assert.match(info.localAddress ?? "", /^127\.0\.0\.1:\d+$/);
  assert.equal(info.protocol, "chat.v2");
  assert.match(info.extensions, /^permessage-deflate/);

  const payload = "x".repeat(100_000);
  for (let i = 0; i < 5; i++) {
    await socket.send(payload);
    await inbox.next();
  }
  const after = socket.information.bandwidth;
  assert.equal(after.messagesSent, 5);
  assert.equal(after.messagesReceived, 5);
  assert.equal(after.bytesSent, 500_000);
  assert.equal(after.bytesReceived, 500_000);
  assert.ok(after.outboundBitsPerSecond > 0, "outbound rate");
  assert.ok(after.inboundBitsPerSecond > 0, "inbound rate");
  await socket.close();
  await server.close();
});

Deno.test("message socket: a failed connect rejects and settles closed", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const socket = new MessageSocket();
  await assert.rejects(
    socket.connect(`ws://127.0.0.1:${port}/`),
    (error: unknown) =>
      error instanceof WebSocketError &&
      error.status === WebSocketStatus.CannotConnect,
  );
  const closed = await socket.closed;
  assert.equal(closed.ending, "error");
  assert.equal(closed.error?.status, WebSocketStatus.CannotConnect);
  assert.throws(() => socket.send("x"), WebSocketError);
});
