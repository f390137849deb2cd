/** The Deno.serve middleware's answers (SPEC S1, S2, S7), over raw HTTP. */

import assert from "node:assert/strict";
import {
  type Socket,
  webSockets,
  type WebSocketServerOptions,
} from "../../mod.ts";
import { Inbox, TestClient } from "../helpers/client.ts";
import { HARNESSES } from "../helpers/harness.ts";
import { handshakeRequest, rawHttp } from "../helpers/raw.ts";

async function serve(
  options: WebSocketServerOptions,
  next?: Deno.ServeHandler,
): Promise<{ port: number; sockets: Inbox<Socket>; server: Deno.HttpServer }> {
  const sockets = new Inbox<Socket>();
  const { promise, resolve } = Promise.withResolvers<number>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: ({ port }) => resolve(port) },
    webSockets(options, (socket) => {
      sockets.push(socket);
      socket.addEventListener("message", ({ data }) => socket.send(data));
    }, next),
  );
  return { port: await promise, sockets, server };
}

Deno.test("a plain request on a WebSocket route gets 400 with a reason", async () => {
  const { port, server } = await serve({ path: "/ws" });
  const response = await rawHttp(
    port,
    "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(response.status, 400);
  assert.match(response.body, /only accepts WebSocket connections/);
  assert.match(response.headers.get("content-type")!, /text\/plain/);
  await server.shutdown();
});

Deno.test("a wrong Sec-WebSocket-Version gets 426 naming version 13", async () => {
  const { port, server } = await serve({ path: "/ws" });
  const request = handshakeRequest("/ws").replace("Version: 13", "Version: 8");
  const response = await rawHttp(port, request);
  assert.equal(response.status, 426);
  assert.equal(response.headers.get("sec-websocket-version"), "13");
  assert.match(response.body, /Unsupported Sec-WebSocket-Version 8/);
  const missing = await rawHttp(
    port,
    handshakeRequest("/ws").replace("Sec-WebSocket-Version: 13\r\n", ""),
  );
  assert.equal(missing.status, 426);
  await server.shutdown();
});

Deno.test("malformed handshakes get 400", async () => {
  const { port, server } = await serve({ path: "/ws" });
  const cases: [string, RegExp][] = [
    [
      handshakeRequest("/ws").replace("dGhlIHNhbXBsZSBub25jZQ==", "short"),
      /Sec-WebSocket-Key/,
    ],
    [
      handshakeRequest("/ws").replace(
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        "",
      ),
      /Sec-WebSocket-Key/,
    ],
    [
      handshakeRequest("/ws").replace(
        "Connection: Upgrade",
        "Connection: keep-alive",
      ),
      /Connection/,
    ],
  ];
  for (const [request, reason] of cases) {
    const response = await rawHttp(port, request);
    assert.equal(response.status, 400, request);
    assert.match(response.body, reason);
  }
  await server.shutdown();
});

Deno.test("an Origin outside allowedOrigins gets 403 and never becomes a socket", async () => {
  const { port, sockets, server } = await serve({
    path: "/ws",
    allowedOrigins: ["https://good.example", "http://localhost:8080"],
  });
  const bad = await rawHttp(
    port,
    handshakeRequest("/ws", ["Origin: https://evil.example"]),
  );
  assert.equal(bad.status, 403);
  assert.match(bad.body, /Origin https:\/\/evil\.example is not allowed/);
  const good = await rawHttp(
    port,
    handshakeRequest("/ws", ["Origin: https://GOOD.example:443"]),
  );
  assert.equal(good.status, 101, "origins compare after normalisation");
  const local = await rawHttp(
    port,
    handshakeRequest("/ws", ["Origin: http://localhost:8080"]),
  );
  assert.equal(local.status, 101);
  const none = await rawHttp(port, handshakeRequest("/ws"));
  assert.equal(none.status, 101, "non-browser clients send no Origin");
  const opaque = await rawHttp(port, handshakeRequest("/ws", ["Origin: null"]));
  assert.equal(opaque.status, 403);
  for (let i = 0; i < 3; i++) await (await sockets.next()).closed;
  await server.shutdown();
});

Deno.test("other paths go to the next handler, or 404 without one", async () => {
  const withNext = await serve(
    { path: ["/ws", "/chat"] },
    () => new Response("page"),
  );
  const page = await rawHttp(
    withNext.port,
    "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(page.status, 200);
  assert.equal(page.body, "page");
  const chat = await rawHttp(withNext.port, handshakeRequest("/chat"));
  assert.equal(chat.status, 101, "every listed path is a WebSocket route");
  await (await withNext.sockets.next()).closed;
  await withNext.server.shutdown();

  const without = await serve({ path: "/ws" });
  const missing = await rawHttp(
    without.port,
    "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(missing.status, 404);
  await without.server.shutdown();
});

Deno.test("without a path, plain requests fall through to next", async () => {
  const { port, sockets, server } = await serve(
    {},
    () => new Response("fallthrough"),
  );
  const plain = await rawHttp(
    port,
    "GET /anything HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(plain.body, "fallthrough");
  const upgrade = await rawHttp(port, handshakeRequest("/anything"));
  assert.equal(upgrade.status, 101);
  await (await sockets.next()).closed;
  await server.shutdown();
});

Deno.test("the server's protocol preference wins, not the client's order", async () => {
  const { port, sockets, server } = await serve({
    path: "/ws",
    protocols: ["v2", "v1"],
  });
  const client = await TestClient.open(`ws://127.0.0.1:${port}/ws`, [
    "v1",
    "v2",
  ]);
  assert.equal(client.ws.protocol, "v2");
  const socket = await sockets.next();
  assert.equal(socket.protocol, "v2");
  await client.close();
  const none = await rawHttp(
    port,
    handshakeRequest("/ws", ["Sec-WebSocket-Protocol: v9"]),
  );
  assert.equal(none.status, 101);
  assert.equal(
    none.headers.get("sec-websocket-protocol"),
    null,
    "no common protocol: none selected",
  );
  await (await sockets.next()).closed;
  await server.shutdown();
});

Deno.test("the native backend never claims an extension", async () => {
  const { port, sockets, server } = await serve({ path: "/ws" });
  const response = await rawHttp(
    port,
    handshakeRequest("/ws", [
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
    ]),
  );
  assert.equal(response.status, 101);
  assert.equal(response.headers.get("sec-websocket-extensions"), null);
  assert.equal((await sockets.next()).extensions, "");
  await server.shutdown();
});

Deno.test("bad options fail at once with a clear error", () => {
  const noop = () => {};
  assert.throws(
    () => webSockets({ path: "ws" }, noop),
    /path must start with "\/"/,
  );
  assert.throws(
    () => webSockets({ allowedOrigins: ["example.com"] }, noop),
    /not an origin/,
  );
  assert.throws(
    () => webSockets({ protocols: ["a b"] }, noop),
    /not a valid subprotocol/,
  );
  assert.throws(() => webSockets({ receiveBufferSize: 0 }, noop), RangeError);
  assert.throws(() => webSockets({ keepAliveInterval: -1 }, noop), RangeError);
  assert.throws(
    () =>
      webSockets({ maxbufferedamount: 1024 } as WebSocketServerOptions, noop),
    /^TypeError: Unknown option "maxbufferedamount": did you mean "maxBufferedAmount"\?$/,
  );
  assert.throws(
    () => webSockets({ onSocket: noop } as WebSocketServerOptions, noop),
    /^TypeError: Unknown option "onSocket"$/,
  );
  // An option left undefined (from JavaScript) is as good as absent.
  const fromJavaScript: Record<string, unknown> = { maxMessageSize: undefined };
  webSockets(fromJavaScript as WebSocketServerOptions, noop);
});

for (const harness of HARNESSES) {
  Deno.test(`${harness.name}: a handler that throws or rejects closes the socket with 1011 and reports the request`, async () => {
    const errors: unknown[] = [];
    const reported: Request[] = [];
    let calls = 0;
    const server = await harness.serve({
      onError: (error, request) => {
        errors.push(error);
        reported.push(request);
      },
    }, () => {
      if (++calls === 1) throw new Error("sync failure");
      return Promise.reject(new Error("async failure"));
    });
    for (let i = 0; i < 2; i++) {
      const client = new WebSocket(`${server.url}?try=${i}`, "chat");
      const closed = await new Promise<CloseEvent>((done) =>
        client.onclose = done
      );
      assert.equal(closed.code, 1011);
      assert.equal(closed.reason, "Internal server error");
    }
    assert.deepEqual(errors.map((error) => (error as Error).message), [
      "sync failure",
      "async failure",
    ]);
    // The report names the request, with its headers, even long after it.
    assert.deepEqual(
      reported.map((request) => [
        request.url,
        request.method,
        request.headers.get("sec-websocket-protocol"),
        request.headers.get("upgrade"),
      ]),
      [0, 1].map((i) => [
        `http://127.0.0.1:${server.port}/ws?try=${i}`,
        "GET",
        "chat",
        "websocket",
      ]),
    );
    await server.close();
  });
}

for (const harness of HARNESSES) {
  for (const admission of [false, true]) {
    Deno.test(
      `${harness.name}${
        admission ? " with authorize" : ""
      }: the socket handler reads the request's headers`,
      async () => {
        const seen = new Inbox<{ token: string | null; url: string }>();
        const sockets = new Inbox<Socket>();
        const server = await harness.serve(
          admission ? { authorize: () => "ok" } : {},
          (socket, request) => {
            sockets.push(socket);
            seen.push({
              token: request.headers.get("x-token"),
              url: request.url,
            });
          },
        );
        try {
          const response = await rawHttp(
            server.port,
            handshakeRequest("/ws?room=1", ["X-Token: abc"]),
          );
          assert.equal(response.status, 101);
          const { token, url } = await seen.next();
          assert.equal(token, "abc");
          assert.equal(new URL(url).search, "?room=1");
          await (await sockets.next()).closed;
        } finally {
          await server.close();
        }
      },
    );
  }
}

for (const harness of HARNESSES) {
  Deno.test(`${harness.name}: routes read the path as the request's URL has it, dot segments resolved`, async () => {
    const server = await harness.serve({}, () => {});
    try {
      const cases: [string, number][] = [
        ["/x/../ws", 101],
        ["/ws/./", 404],
        ["/./ws?room=a", 101],
        ["/%77s", 404],
        ["/x/ws/..", 404],
      ];
      for (const [target, status] of cases) {
        const answer = await rawHttp(server.port, handshakeRequest(target));
        assert.equal(answer.status, status, target);
      }
      // Without the upgrade, the same path is the route too.
      const plain = await rawHttp(
        server.port,
        "GET /x/../ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
      );
      assert.equal(plain.status, 400);
      assert.match(plain.body, /only accepts WebSocket connections/);
    } finally {
      await server.close();
    }
  });
}
