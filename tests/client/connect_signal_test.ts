/**
 * One rule for signals: connect() stopped by a signal whose reason is a
 * `TimeoutError` fails with status `timeout`, for any other reason with
 * `cancelled`, and the reason is the error's cause.
 */

import assert from "node:assert/strict";
import { connect, MessageSocket } from "../../mod.ts";
import { rejection } from "../helpers/rejection.ts";

/** A listener that accepts and never answers; `close()` ends it. */
function silentServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) conns.push(conn);
  })();
  return {
    url: `ws://127.0.0.1:${listener.addr.port}/`,
    async close() {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of conns) conn.close();
    },
  };
}

Deno.test("connect(): a TimeoutError reason is timeout, any other cancelled", async () => {
  const server = silentServer();
  try {
    const timedOut = await rejection(
      connect(server.url, { signal: AbortSignal.timeout(200) }),
    );
    assert.equal(timedOut.status, "timeout");
    assert.match(timedOut.message, /^Connecting to ws:.* timed out$/);
    assert.equal((timedOut.cause as DOMException).name, "TimeoutError");

    const byHand = new AbortController();
    const stopped = connect(server.url, { signal: byHand.signal });
    setTimeout(() => byHand.abort(), 50);
    const cancelled = await rejection(stopped);
    assert.equal(cancelled.status, "cancelled");
    assert.match(cancelled.message, /was cancelled$/);
    assert.equal((cancelled.cause as DOMException).name, "AbortError");

    const ownTimeout = new AbortController();
    ownTimeout.abort(new DOMException("too slow", "TimeoutError"));
    assert.equal(
      (await rejection(connect(server.url, { signal: ownTimeout.signal })))
        .status,
      "timeout",
    );
    const socket = new MessageSocket();
    const viaSocket = await rejection(
      socket.connect(server.url, { signal: AbortSignal.timeout(100) }),
    );
    assert.equal(viaSocket.status, "timeout");
    assert.equal((await socket.closed).error, viaSocket);
  } finally {
    await server.close();
  }
});
