/**
 * One rule for the signals a socket's waits take: a signal whose reason is a
 * `TimeoutError` (as `AbortSignal.timeout()` gives) ends the wait with status
 * `timeout`, any other reason with `cancelled`.
 */

import assert from "node:assert/strict";
import {
  fromStream,
  type Socket,
  WebSocketError,
  WebSocketStatus,
} from "../../mod.ts";
import { Inbox, TestClient } from "../helpers/client.ts";
import { HARNESSES } from "../helpers/harness.ts";

function withStatus(status: WebSocketStatus) {
  return (error: unknown) => {
    assert.ok(error instanceof WebSocketError, `${error}`);
    assert.equal(error.status, status, error.message);
    return true;
  };
}

const decoder = new TextDecoder();

for (const harness of HARNESSES) {
  Deno.test(`${harness.name}: receive() and iteration end by signal with timeout or cancelled`, async () => {
    const sockets = new Inbox<Socket>();
    const server = await harness.serve({}, (socket) => sockets.push(socket));
    const client = await TestClient.open(server.url);
    const socket = await sockets.next();

    await assert.rejects(
      socket.receive({ signal: AbortSignal.timeout(100) }),
      withStatus(WebSocketStatus.Timeout),
    );
    const controller = new AbortController();
    const pending = socket.receive({ signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, withStatus(WebSocketStatus.Cancelled));
    await assert.rejects(
      socket.messages({ signal: AbortSignal.timeout(100) }).next(),
      withStatus(WebSocketStatus.Timeout),
    );
    await assert.rejects(
      socket.messages({ signal: AbortSignal.abort() }).next(),
      withStatus(WebSocketStatus.Cancelled),
    );

    // The socket stays open and nothing was lost.
    client.ws.send("still here");
    const result = await socket.receive();
    assert.equal(decoder.decode(result.data), "still here");
    await client.close();
    await socket.closed;
    await server.close();
  });
}

/** A client socket whose peer never takes a byte: sends queue up. */
function stalledSocket(): Socket {
  return fromStream(
    new ReadableStream<Uint8Array>(),
    new WritableStream<Uint8Array>({ write: () => new Promise(() => {}) }, {
      highWaterMark: 0,
    }),
    { sendHighWaterMark: 1024 },
  );
}

Deno.test("a queued send() ends by signal with timeout or cancelled", async () => {
  const socket = stalledSocket();
  // The first send goes straight to the transport, which never drains.
  void socket.send(new Uint8Array(4096)).catch(() => {});
  const timedOut = socket.send("late", { signal: AbortSignal.timeout(100) });
  const controller = new AbortController();
  const cancelled = socket.send("later", { signal: controller.signal });
  assert.ok(socket.bufferedAmount >= 4096 + 4 + 5, "both sends wait");
  controller.abort();
  await assert.rejects(cancelled, withStatus(WebSocketStatus.Cancelled));
  await assert.rejects(timedOut, withStatus(WebSocketStatus.Timeout));
  socket.abort();
});

Deno.test("send() with a signal that already aborted fails at once by its reason", async () => {
  const socket = stalledSocket();
  await assert.rejects(
    socket.send("x", {
      signal: AbortSignal.abort(new DOMException("late", "TimeoutError")),
    }),
    withStatus(WebSocketStatus.Timeout),
  );
  await assert.rejects(
    socket.send("x", { signal: AbortSignal.abort() }),
    withStatus(WebSocketStatus.Cancelled),
  );
  socket.abort();
});
