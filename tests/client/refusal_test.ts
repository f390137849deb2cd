/**
 * A server that refuses the opening handshake with an HTTP status: the
 * client's error carries that status, the response headers and the start of
 * the body (`error.response`), over HTTP/1.1 and HTTP/2.
 */

import assert from "node:assert/strict";
import {
  connect,
  ConnectionHandler,
  serveEngine,
  type WebSocketError,
  WebSocketStatus,
} from "../../mod.ts";
import { testCertificates } from "../helpers/tls.ts";
import { rejectsWith } from "../helpers/rejection.ts";

/** Asserts that `promise` rejects with `handshakeRejected`, and returns the error. */
function refusal(promise: Promise<unknown>): Promise<WebSocketError> {
  return rejectsWith(promise, WebSocketStatus.HandshakeRejected);
}

Deno.test("a refused handshake carries status, headers and body: 401, 403, 404, 426", async () => {
  const answers: Record<string, [number, Record<string, string>, string]> = {
    "/401": [401, { "www-authenticate": 'Bearer realm="chat"' }, "log in"],
    "/403": [403, { "x-reason": "banned" }, "you are banned"],
    "/404": [404, {}, "no such room: /404"],
    "/426": [426, { upgrade: "websocket" }, "upgrade required"],
  };
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (request) => {
      const [status, headers, body] = answers[new URL(request.url).pathname]!;
      return new Response(body, { status, headers });
    },
  );
  try {
    for (const [path, [status, headers, body]] of Object.entries(answers)) {
      const error = await refusal(
        connect(`ws://127.0.0.1:${server.addr.port}${path}`),
      );
      assert.match(error.message, new RegExp(`HTTP ${status} `));
      assert.ok(error.response !== undefined, `${path}: a response`);
      assert.equal(error.response.status, status);
      assert.equal(error.response.body, body);
      for (const [name, value] of Object.entries(headers)) {
        assert.equal(error.response.headers.get(name), value);
      }
      assert.match(error.response.headers.get("content-type") ?? "", /text/);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("a refusal's body: the first 4 KiB, chunked or not, and none for a bad 101", async () => {
  const long = "x".repeat(3000) + "é" + "y".repeat(3000);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/long") return new Response(long, { status: 403 });
      if (path === "/empty") return new Response(null, { status: 404 });
      // A streamed body goes out chunked.
      const parts = ["first part, ", "second part"];
      return new Response(
        new ReadableStream({
          pull(controller) {
            const part = parts.shift();
            if (part === undefined) controller.close();
            else controller.enqueue(new TextEncoder().encode(part));
          },
        }),
        { status: 401 },
      );
    },
  );
  try {
    const base = `ws://127.0.0.1:${server.addr.port}`;
    const long403 = await refusal(connect(`${base}/long`));
    assert.equal(
      new TextEncoder().encode(long403.response?.body).byteLength,
      4096,
    );
    assert.ok(long403.response?.body.startsWith("x".repeat(3000) + "é"));
    const chunked = await refusal(connect(`${base}/chunked`));
    assert.equal(chunked.response?.headers.get("transfer-encoding"), "chunked");
    assert.equal(chunked.response?.body, "first part, second part");
    const empty = await refusal(connect(`${base}/empty`));
    assert.equal(empty.response?.status, 404);
    assert.equal(empty.response?.body, "");
  } finally {
    await server.shutdown();
  }
  // A 101 with a wrong accept key is refused by the client, not the server.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const answering = (async () => {
    const conn = await listener.accept();
    await conn.read(new Uint8Array(4096));
    await conn.write(
      new TextEncoder().encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n",
      ),
    );
    return conn;
  })();
  try {
    const error = await refusal(
      connect(`ws://127.0.0.1:${listener.addr.port}/`),
    );
    assert.match(error.message, /Sec-WebSocket-Accept does not match/);
    assert.equal(error.response, undefined);
    (await answering).close();
  } finally {
    listener.close();
  }
});

Deno.test("a refusal over HTTP/2 carries status, headers and body", async () => {
  const { ca, cert, key } = await testCertificates();
  const server = serveEngine(
    {
      port: 0,
      hostname: "127.0.0.1",
      path: "/ws",
      http2: true,
      tls: { cert, key },
    },
    () => {},
  );
  const { port } = await server.listening;
  const handler = new ConnectionHandler({ caCerts: [ca] });
  try {
    const error = await refusal(
      connect(`wss://localhost:${port}/elsewhere`, {
        httpVersion: "2",
        versionPolicy: "exact",
        handler,
      }),
    );
    assert.match(error.message, /HTTP 404 \(over HTTP\/2\)/);
    assert.equal(error.response?.status, 404);
    assert.ok(error.response.headers instanceof Headers);
    assert.notEqual(error.response.body, "");
  } finally {
    await handler.close();
    await server.shutdown();
  }
});
