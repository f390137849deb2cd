/**
 * Routing and handshake options on both backends: which requests become
 * sockets, go to the next handler or are refused, exact path matching, and
 * `requireProtocol`.
 */

import assert from "node:assert/strict";
import {
  acceptWebSocket,
  serveEngine,
  type Socket,
  webSockets,
  type WebSocketServerOptions,
} from "../../mod.ts";
import { Inbox } from "../helpers/client.ts";
import { handshakeRequest, rawHttp } from "../helpers/raw.ts";

interface Served {
  readonly port: number;
  readonly sockets: Inbox<Socket>;
  close(): Promise<void>;
}

type Next = (request: Request) => Response;

const BACKENDS: Record<
  string,
  (options: WebSocketServerOptions, next?: Next) => Promise<Served>
> = {
  async native(options, next) {
    const sockets = new Inbox<Socket>();
    const { promise, resolve } = Promise.withResolvers<number>();
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: ({ port }) => resolve(port) },
      webSockets(options, (socket) => sockets.push(socket), next),
    );
    return { port: await promise, sockets, close: () => server.shutdown() };
  },
  async engine(options, next) {
    const sockets = new Inbox<Socket>();
    const server = serveEngine(
      { port: 0, hostname: "127.0.0.1", ...options },
      (socket) => sockets.push(socket),
      next,
    );
    const { port } = await server.listening;
    return { port, sockets, close: () => server.shutdown() };
  },
};

// A fixed length: rawHttp reads no chunked bodies.
const page: Next = () =>
  new Response("next", { headers: { "content-length": "4" } });
const plain = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

/** Makes a request; a socket that opened is awaited until it ends. */
async function ask(served: Served, request: string) {
  const response = await rawHttp(served.port, request);
  if (response.status === 101) await (await served.sockets.next()).closed;
  return response;
}

for (const [name, serve] of Object.entries(BACKENDS)) {
  Deno.test(`${name}: the routing table, with and without next`, async () => {
    // [path option, request path, handshake?, with next, status]. The
    // engine's handler only answers ordinary requests: a handshake on a
    // path that is not a route gets 404 there.
    const otherHandshake = name === "engine" ? 404 : 200;
    const rows: [string | undefined, string, boolean, boolean, number][] = [
      ["/ws", "/ws", true, true, 101],
      ["/ws", "/ws", true, false, 101],
      ["/ws", "/ws", false, true, 400],
      ["/ws", "/ws", false, false, 400],
      ["/ws", "/other", true, true, otherHandshake],
      ["/ws", "/other", false, true, 200],
      ["/ws", "/other", true, false, 404],
      ["/ws", "/other", false, false, 404],
      [undefined, "/any", true, true, 101],
      [undefined, "/any", true, false, 101],
      [undefined, "/any", false, true, 200],
      [undefined, "/any", false, false, 400],
    ];
    for (const [path, target, handshake, withNext, expected] of rows) {
      const served = await serve(
        path === undefined ? {} : { path },
        withNext ? page : undefined,
      );
      try {
        const response = await ask(
          served,
          handshake ? handshakeRequest(target) : plain(target),
        );
        const row = `path ${path}, ${
          handshake ? "handshake" : "plain"
        } ${target}, ${withNext ? "with" : "without"} next`;
        assert.equal(response.status, expected, row);
        if (expected === 200) assert.equal(response.body, "next", row);
        if (expected === 400 && !handshake) {
          assert.match(response.body, /only accepts WebSocket/, row);
        }
      } finally {
        await served.close();
      }
    }
  });

  Deno.test(`${name}: paths match exactly; a trailing-slash miss names the route`, async () => {
    const served = await serve({ path: ["/ws", "/chat/"] });
    try {
      const slash = await ask(served, handshakeRequest("/ws/"));
      assert.equal(slash.status, 404);
      assert.match(slash.body, /routes match exactly \(did you mean \/ws\?\)/);
      const noSlash = await ask(served, handshakeRequest("/chat"));
      assert.equal(noSlash.status, 404);
      assert.match(noSlash.body, /did you mean \/chat\/\?/);
      const other = await ask(served, handshakeRequest("/elsewhere"));
      assert.equal(other.status, 404);
      assert.doesNotMatch(other.body, /did you mean/, "no route named");
      assert.equal((await ask(served, handshakeRequest("/chat/"))).status, 101);
      const query = await ask(served, handshakeRequest("/ws?room=1"));
      assert.equal(query.status, 101, "the query string is ignored");
    } finally {
      await served.close();
    }
  });

  Deno.test(`${name}: requireProtocol refuses a handshake without a common subprotocol`, async () => {
    const strict = await serve({
      path: "/ws",
      protocols: ["chat.v2", "chat.v1"],
      requireProtocol: true,
    });
    try {
      const offered = (value: string) =>
        handshakeRequest("/ws", [`Sec-WebSocket-Protocol: ${value}`]);
      const matched = await ask(strict, offered("chat.v1, chat.v2"));
      assert.equal(matched.status, 101);
      assert.equal(matched.headers.get("sec-websocket-protocol"), "chat.v2");
      const other = await ask(strict, offered("mqtt"));
      assert.equal(other.status, 400);
      assert.match(
        other.body,
        /None of the offered subprotocols \(mqtt\) is spoken here; this server requires one of: chat\.v2, chat\.v1/,
      );
      const none = await ask(strict, handshakeRequest("/ws"));
      assert.equal(none.status, 400);
      assert.match(none.body, /No subprotocol was offered/);
    } finally {
      await strict.close();
    }
    const lenient = await serve({ path: "/ws", protocols: ["chat.v2"] });
    try {
      const other = await ask(
        lenient,
        handshakeRequest("/ws", ["Sec-WebSocket-Protocol: mqtt"]),
      );
      assert.equal(other.status, 101, "by default, RFC 6455's choice");
      assert.equal(other.headers.get("sec-websocket-protocol"), null);
    } finally {
      await lenient.close();
    }
  });
}

Deno.test("requireProtocol without protocols fails at once", () => {
  assert.throws(
    () => webSockets({ requireProtocol: true }, () => {}),
    { name: "TypeError", message: /requireProtocol needs protocols/ },
  );
  assert.throws(
    () => serveEngine({ port: 0, requireProtocol: true }, () => {}),
    { name: "TypeError", message: /requireProtocol needs protocols/ },
  );
});

Deno.test("acceptWebSocket does not route: a path is a type error and a TypeError", () => {
  const request = new Request("http://localhost/ws", {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  assert.throws(
    // @ts-expect-error: acceptWebSocket's options have no path.
    () => acceptWebSocket(request, { path: "/ws" }),
    { name: "TypeError", message: /does not route/ },
  );
});
