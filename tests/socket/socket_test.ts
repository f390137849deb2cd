/**
 * The `Socket` contract (SPEC S3), over real loopback connections with Deno's
 * own WebSocket client, for every backend in `HARNESSES`.
 */

import assert from "node:assert/strict";
import {
  type ReceiveResult,
  type Socket,
  type SocketClosed,
  WebSocketError,
  type WebSocketServerOptions,
  WebSocketStatus,
} from "../../mod.ts";
import { Inbox, TestClient, waitFor } from "../helpers/client.ts";
import {
  type Harness,
  HARNESSES,
  type TestServer,
} from "../helpers/harness.ts";
import { rawWebSocket } from "../helpers/raw.ts";

const decoder = new TextDecoder();

/** A server whose accepted sockets arrive in an inbox, plus one client. */
async function setup(
  harness: Harness,
  options: WebSocketServerOptions = {},
): Promise<{
  server: TestServer;
  sockets: Inbox<Socket>;
  client: TestClient;
  socket: Socket;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const sockets = new Inbox<Socket>();
  const server = await harness.serve(options, (socket) => sockets.push(socket));
  const client = await TestClient.open(server.url);
  const socket = await sockets.next();
  await waitFor(() => socket.state !== "connecting", 5000, "open");
  return {
    server,
    sockets,
    client,
    socket,
    async [Symbol.asyncDispose]() {
      await client.close();
      await socket.closed;
      await server.close();
    },
  };
}

function expectData(
  result: ReceiveResult,
): asserts result is Extract<ReceiveResult, { type: "text" | "binary" }> {
  assert.notEqual(result.type, "close", "expected data, got a close");
}

for (const harness of HARNESSES) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`${harness.name}: ${name}`, fn);

  test("opens, and dispatches open", async () => {
    const sockets = new Inbox<{ socket: Socket; states: string[] }>();
    const server = await harness.serve({}, (socket) => {
      const states = [socket.state];
      socket.addEventListener("open", () => states.push(socket.state));
      sockets.push({ socket, states });
    });
    const client = await TestClient.open(server.url);
    const { socket, states } = await sockets.next();
    await waitFor(() => states.length === 2, 5000, "open event");
    assert.deepEqual(states, ["connecting", "open"]);
    assert.ok(socket.stats.openedAt! > 0);
    await client.close();
    await socket.closed;
    await server.close();
  });

  test("receive() returns pieces of at most receiveBufferSize", async () => {
    await using ctx = await setup(harness, { receiveBufferSize: 4096 });
    const payload = new Uint8Array(10_000).map((_, i) => i % 251);
    ctx.client.ws.send(payload);
    const pieces: ReceiveResult[] = [];
    do pieces.push(await ctx.socket.receive()); while (
      !pieces.at(-1)!.endOfMessage
    );
    assert.deepEqual(pieces.map((piece) => piece.data.byteLength), [
      4096,
      4096,
      1808,
    ]);
    assert.deepEqual(pieces.map((piece) => piece.endOfMessage), [
      false,
      false,
      true,
    ]);
    assert.ok(pieces.every((piece) => piece.type === "binary"));
    const joined = new Uint8Array(10_000);
    let offset = 0;
    for (const piece of pieces) {
      joined.set(piece.data, offset);
      offset += piece.data.byteLength;
    }
    assert.deepEqual(joined, payload);
  });

  test("receive() honours maxBytes and reports text", async () => {
    await using ctx = await setup(harness);
    ctx.client.ws.send("héllo wörld");
    const first = await ctx.socket.receive({ maxBytes: 5 });
    expectData(first);
    assert.equal(first.type, "text");
    assert.equal(first.data.byteLength, 5);
    assert.equal(first.endOfMessage, false);
    const rest = await ctx.socket.receive();
    assert.equal(rest.endOfMessage, true);
    assert.equal(
      decoder.decode(new Uint8Array([...first.data, ...rest.data])),
      "héllo wörld",
    );
  });

  test("receive({ into }) copies into the buffer, as long as it is", async () => {
    await using ctx = await setup(harness);
    const payload = new Uint8Array(10_000).map((_, i) => i % 251);
    ctx.client.ws.send(payload);
    // Longer than receiveBufferSize (4096): the buffer sets the limit.
    const into = new Uint8Array(6000);
    const pieces: Uint8Array[] = [];
    for (;;) {
      const piece = await ctx.socket.receive({ into });
      expectData(piece);
      assert.equal(piece.data.buffer, into.buffer);
      pieces.push(piece.data.slice());
      if (piece.endOfMessage) break;
    }
    assert.deepEqual(new Uint8Array(pieces.flatMap((p) => [...p])), payload);
    assert.ok(
      pieces.some((piece) => piece.byteLength > 4096),
      `pieces of ${pieces.map((p) => p.byteLength)} bytes`,
    );
    ctx.client.ws.send(payload);
    const capped = await ctx.socket.receive({ into, maxBytes: 3000 });
    expectData(capped);
    assert.equal(capped.data.byteLength, 3000);
    assert.deepEqual(capped.data, payload.subarray(0, 3000));
    for (let end = capped.endOfMessage; !end;) {
      end = (await ctx.socket.receive({ into })).endOfMessage;
    }
    assert.throws(
      () => ctx.socket.receive({ into: new Uint8Array(0) }),
      RangeError,
    );
    assert.throws(
      () =>
        ctx.socket.receive({
          into: new ArrayBuffer(8) as unknown as Uint8Array,
        }),
      TypeError,
    );
  });

  test("receive() returns the peer's close, then the closed outcome", async () => {
    await using ctx = await setup(harness);
    ctx.client.ws.close(4001, "bye now");
    const result = await ctx.socket.receive();
    assert.equal(result.type, "close");
    assert.equal(result.type === "close" && result.code, 4001);
    assert.equal(result.type === "close" && result.reason, "bye now");
    const closed = await ctx.socket.closed;
    assert.equal(closed.ending, "close");
    assert.equal(closed.initiator, "remote");
    assert.equal(closed.wasClean, true);
    assert.equal(closed.code, 4001);
    const event = await ctx.client.closed;
    assert.equal(
      event.code,
      4001,
      "the handshake is completed with the client's code",
    );
    assert.equal(event.reason, "bye now");
    await assert.rejects(ctx.socket.receive(), (error: unknown) => {
      assert.ok(error instanceof WebSocketError);
      assert.equal(error.status, WebSocketStatus.Closed);
      assert.match(error.message, /closed by the peer \(4001 "bye now"\)/);
      return true;
    });
  });

  test("a pending receive() is woken by data and by the close", async () => {
    await using ctx = await setup(harness);
    const pending = ctx.socket.receive();
    ctx.client.ws.send("late");
    const data = await pending;
    expectData(data);
    assert.equal(decoder.decode(data.data), "late");
    const pendingClose = ctx.socket.receive();
    ctx.client.ws.close(1000);
    assert.equal((await pendingClose).type, "close");
  });

  test("only one receive() may wait at a time", async () => {
    await using ctx = await setup(harness);
    const first = ctx.socket.receive();
    await assert.rejects(
      ctx.socket.receive(),
      /Another receive\(\) is already waiting/,
    );
    ctx.client.ws.send("x");
    await first;
  });

  test("receive() can be cancelled and the data stays queued", async () => {
    await using ctx = await setup(harness);
    const controller = new AbortController();
    const pending = ctx.socket.receive({ signal: controller.signal });
    controller.abort();
    await assert.rejects(
      pending,
      (error: unknown) =>
        error instanceof WebSocketError &&
        error.status === WebSocketStatus.Cancelled,
    );
    ctx.client.ws.send("kept");
    const data = await ctx.socket.receive();
    expectData(data);
    assert.equal(decoder.decode(data.data), "kept");
  });

  test("send() delivers text and binary with their types", async () => {
    await using ctx = await setup(harness);
    await ctx.socket.send("text");
    await ctx.socket.send(new Uint8Array([1, 2, 3]));
    await ctx.socket.send("as bytes", { type: "binary" });
    await ctx.socket.send(new TextEncoder().encode("bytes as text"), {
      type: "text",
    });
    assert.equal(await ctx.client.next(), "text");
    assert.deepEqual(
      new Uint8Array(await ctx.client.next() as ArrayBuffer),
      new Uint8Array([1, 2, 3]),
    );
    assert.equal(
      decoder.decode(await ctx.client.next() as ArrayBuffer),
      "as bytes",
    );
    assert.equal(await ctx.client.next(), "bytes as text");
  });

  test("send() with endOfMessage: false continues one message", async () => {
    await using ctx = await setup(harness);
    await ctx.socket.send("Hel", { endOfMessage: false });
    await ctx.socket.send("lo, ", { endOfMessage: false });
    await ctx.socket.send("world");
    await ctx.socket.send(new Uint8Array([1]), { endOfMessage: false });
    await ctx.socket.send(new Uint8Array([2]));
    assert.equal(await ctx.client.next(), "Hello, world");
    assert.deepEqual(
      new Uint8Array(await ctx.client.next() as ArrayBuffer),
      new Uint8Array([1, 2]),
    );
  });

  test("send() refuses to change type mid-message and bad data", async () => {
    await using ctx = await setup(harness);
    await ctx.socket.send("a", { endOfMessage: false });
    assert.throws(() => ctx.socket.send(new Uint8Array([1])), TypeError);
    assert.throws(() => ctx.socket.send(42 as unknown as string), TypeError);
    assert.throws(
      () => ctx.socket.send("x", { type: "json" as "text" }),
      /Unknown message type "json"/,
    );
    await ctx.socket.send("b");
    assert.equal(await ctx.client.next(), "ab");
  });

  test("send() before open waits for the socket to open", async () => {
    const server = await harness.serve({}, (socket) => {
      assert.equal(socket.state, "connecting");
      socket.send("welcome");
    });
    const client = await TestClient.open(server.url);
    assert.equal(await client.next(), "welcome");
    await client.close();
    await server.close();
  });

  test("close() validates codes and reasons", async () => {
    await using ctx = await setup(harness);
    for (
      const code of [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5]
    ) {
      assert.throws(() => ctx.socket.close(code), RangeError, `code ${code}`);
    }
    assert.throws(
      () => ctx.socket.close(1000, "x".repeat(124)),
      /124 UTF-8 bytes; the limit is 123/,
    );
    assert.throws(() => ctx.socket.close(1000, "é".repeat(62)), RangeError);
    assert.throws(() => ctx.socket.closeOutput(1005), RangeError);
    assert.equal(ctx.socket.state, "open");
    const closed = await ctx.socket.close(1001, "é".repeat(61) + "x");
    assert.equal(closed.code, 1001);
  });

  test("close() runs the handshake and resolves how it ended", async () => {
    await using ctx = await setup(harness);
    const closing = ctx.socket.close(4000, "done");
    const event = await ctx.client.closed;
    assert.equal(event.code, 4000);
    assert.equal(event.reason, "done");
    const closed = await closing;
    assert.deepEqual(
      { ...closed },
      {
        code: 4000,
        reason: "done",
        wasClean: true,
        initiator: "local",
        ending: "close",
      },
    );
    assert.equal(ctx.socket.state, "closed");
    assert.deepEqual(
      await ctx.socket.close(),
      closed,
      "close() after the end returns the outcome",
    );
    await assert.rejects(ctx.socket.send("late"), (error: unknown) => {
      assert.ok(error instanceof WebSocketError);
      assert.match(
        error.message,
        /send\(\).*closed by this side \(4000 "done"\)/,
      );
      return true;
    });
  });

  test("close() writes queued sends first", async () => {
    await using ctx = await setup(harness);
    const sends = Array.from(
      { length: 20 },
      (_, i) => ctx.socket.send(`m${i}`),
    );
    const closing = ctx.socket.close(1000, "after all");
    await Promise.all(sends);
    for (let i = 0; i < 20; i++) assert.equal(await ctx.client.next(), `m${i}`);
    assert.equal((await ctx.client.closed).reason, "after all");
    assert.equal((await closing).ending, "close");
  });

  test("closeOutput() half-closes", async () => {
    await using ctx = await setup(harness);
    await ctx.socket.closeOutput(1000, "half");
    assert.equal(ctx.socket.state, "closeSent");
    await assert.rejects(
      ctx.socket.send("no"),
      /close\(\) or closeOutput\(\) was already called/,
    );
    const event = await ctx.client.closed;
    assert.equal(event.reason, "half");
    const closed = await ctx.socket.closed;
    assert.equal(closed.initiator, "local");
    assert.equal(closed.wasClean, true);
  });

  test("abort() ends the socket at once", async () => {
    await using ctx = await setup(harness);
    ctx.socket.abort();
    assert.equal(ctx.socket.state, "aborted");
    const closed = await ctx.socket.closed;
    assert.equal(closed.ending, "abort");
    assert.equal(closed.wasClean, false);
    await assert.rejects(
      ctx.socket.send("x"),
      (error: unknown) =>
        error instanceof WebSocketError &&
        error.status === WebSocketStatus.Aborted &&
        /aborted/.test(error.message),
    );
    await assert.rejects(
      ctx.socket.receive(),
      (error: unknown) =>
        error instanceof WebSocketError &&
        error.status === WebSocketStatus.Aborted,
    );
    await ctx.client.closed;
  });

  test("async iteration yields whole messages until the peer closes", async () => {
    await using ctx = await setup(harness, { receiveBufferSize: 16 });
    const big = "x".repeat(100);
    ctx.client.ws.send("one");
    ctx.client.ws.send(new Uint8Array([7, 8]));
    ctx.client.ws.send(big);
    ctx.client.ws.send("");
    ctx.client.ws.close(1000, "done");
    const seen: (string | Uint8Array)[] = [];
    for await (const message of ctx.socket) seen.push(message);
    assert.deepEqual(seen, ["one", new Uint8Array([7, 8]), big, ""]);
    assert.equal((await ctx.socket.closed).reason, "done");
  });

  test("message events deliver whole messages and rule out receive()", async () => {
    await using ctx = await setup(harness);
    ctx.client.ws.send("queued before the listener");
    await waitFor(
      () => ctx.socket.stats.messagesReceived === 1,
      5000,
      "first message",
    );
    const events = new Inbox<string | Uint8Array>();
    ctx.socket.addEventListener("message", (event) => events.push(event.data));
    assert.equal(await events.next(), "queued before the listener");
    ctx.client.ws.send(new Uint8Array([1, 2]));
    assert.deepEqual(await events.next(), new Uint8Array([1, 2]));
    await assert.rejects(
      ctx.socket.receive(),
      /delivers messages as "message" events/,
    );
  });

  test("message listeners honour once, signal, handleEvent and removal", async () => {
    await using ctx = await setup(harness);
    const seen: string[] = [];
    const controller = new AbortController();
    const keep = (event: MessageEvent) => seen.push(`keep:${event.data}`);
    ctx.socket.addEventListener("message", keep);
    ctx.socket.addEventListener("message", keep); // a duplicate is ignored
    ctx.socket.addEventListener(
      "message",
      (event) => seen.push(`once:${event.data}`),
      { once: true },
    );
    ctx.socket.addEventListener(
      "message",
      (event) => seen.push(`signal:${event.data}`),
      {
        signal: controller.signal,
      },
    );
    ctx.socket.addEventListener("message", {
      handleEvent: (event: Event) =>
        seen.push(`object:${(event as MessageEvent).data}`),
    });
    ctx.client.ws.send("a");
    await waitFor(() => seen.length === 4, 5000, "first message");
    controller.abort();
    ctx.socket.removeEventListener("message", keep);
    ctx.client.ws.send("b");
    await waitFor(() => seen.length === 5, 5000, "second message");
    assert.deepEqual(seen, [
      "keep:a",
      "once:a",
      "signal:a",
      "object:a",
      "object:b",
    ]);
  });

  test("onmessage works like a listener", async () => {
    await using ctx = await setup(harness);
    const events = new Inbox<string | Uint8Array>();
    ctx.socket.onmessage = (event) => events.push(event.data);
    ctx.client.ws.send("via onmessage");
    assert.equal(await events.next(), "via onmessage");
    ctx.socket.onmessage = null;
    assert.equal(ctx.socket.onmessage, null);
  });

  test("close and error events say how the socket ended", async () => {
    await using ctx = await setup(harness);
    const events = new Inbox<SocketClosed>();
    ctx.socket.addEventListener("close", (event) => events.push(event.detail));
    ctx.client.ws.close(3001, "app");
    const detail = await events.next();
    assert.equal(detail.code, 3001);
    assert.equal(detail.ending, "close");
  });

  test("stats count payload bytes and messages both ways", async () => {
    await using ctx = await setup(harness);
    ctx.client.ws.send("héllo"); // 6 bytes
    ctx.client.ws.send(new Uint8Array(10));
    await ctx.socket.receive();
    await ctx.socket.receive();
    await ctx.socket.send("wörld!"); // 7 bytes
    await ctx.client.next();
    const stats = ctx.socket.stats;
    assert.equal(stats.bytesReceived, 16);
    assert.equal(stats.messagesReceived, 2);
    assert.equal(stats.bytesSent, 7);
    assert.equal(stats.messagesSent, 1);
    assert.ok(stats.lastActivityAt! >= stats.openedAt!);
  });

  test("a message over maxMessageSize closes with 1009", async () => {
    await using ctx = await setup(harness, { maxMessageSize: 1000 });
    ctx.client.ws.send("x".repeat(1001));
    const closed = await ctx.socket.closed;
    assert.equal(closed.ending, "error");
    assert.equal(closed.code, 1009);
    assert.equal(closed.error?.status, WebSocketStatus.MessageTooBig);
    assert.equal((await ctx.client.closed).code, 1009);
  });

  test("a peer that vanishes is a disconnect, not a close", async () => {
    const sockets = new Inbox<Socket>();
    const server = await harness.serve({}, (socket) => sockets.push(socket));
    const conn = await rawWebSocket(server.port);
    const socket = await sockets.next();
    conn.close();
    const closed = await socket.closed;
    assert.equal(closed.ending, "disconnect");
    assert.equal(closed.wasClean, false);
    assert.equal(closed.initiator, "none");
    assert.equal(closed.error?.status, WebSocketStatus.Disconnected);
    await assert.rejects(
      socket.receive(),
      (error: unknown) =>
        error instanceof WebSocketError &&
        error.status === WebSocketStatus.Disconnected,
    );
    await server.close();
  });

  test("a slow consumer fills the queue and send() rejects with sendQueueFull", async () => {
    const sockets = new Inbox<Socket>();
    const server = await harness.serve({
      sendHighWaterMark: 256 * 1024,
      maxBufferedAmount: 4 * 1024 * 1024,
    }, (socket) => sockets.push(socket));
    const conn = await rawWebSocket(server.port); // never reads
    const socket = await sockets.next();
    await waitFor(() => socket.state === "open");
    const chunk = new Uint8Array(512 * 1024);
    const outcomes = Array.from(
      { length: 64 },
      () => socket.send(chunk).then(() => "sent", (error: unknown) => error),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(socket.bufferedAmount <= 4 * 1024 * 1024);
    socket.abort();
    const full = (await Promise.all(outcomes)).filter((outcome) =>
      outcome instanceof WebSocketError &&
      outcome.status === WebSocketStatus.SendQueueFull
    );
    assert.ok(full.length > 0, "some sends must be refused");
    socket.abort();
    conn.close();
    await server.close();
  });
}
