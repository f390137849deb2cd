/** The Hono adapter with the real framework on Deno.serve. */

import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  connect,
  ServerMetrics,
  type Socket,
  SocketProcessor,
  WebSocketError,
} from "../../mod.ts";
import { webSocketRoute } from "../../lib/adapters/hono.ts";
import { handshakeRequest, rawHttp } from "../helpers/raw.ts";

interface User {
  readonly name: string;
}

async function serve(
  app: Hono,
): Promise<{ port: number; server: Deno.HttpServer }> {
  const { promise, resolve } = Promise.withResolvers<number>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: ({ port }) => resolve(port) },
    app.fetch,
  );
  return { port: await promise, server };
}

Deno.test("hono: a route gives socketry sockets with typed data, Hono middleware first, a page beside it", async () => {
  const metrics = new ServerMetrics();
  const processor = new SocketProcessor({
    onSocket: async (socket: Socket) => {
      const user = (socket as Socket & { data: User }).data;
      for await (const message of socket) {
        await socket.send(`${user.name}: ${message}`);
      }
    },
  });
  const seen: string[] = [];
  const app = new Hono();
  app.use("*", async (c, next) => {
    seen.push(new URL(c.req.url).pathname);
    if (c.req.header("x-blocked") !== undefined) {
      return c.text("Blocked by middleware\n", 403);
    }
    await next();
  });
  app.get(
    "/ws",
    webSocketRoute<User>({
      metrics,
      limits: { connectionsPerAddress: 2 },
      authorize: (request) => {
        const name = new URL(request.url).searchParams.get("user");
        return name === null
          ? new Response("Unauthorized\n", { status: 401 })
          : { name };
      },
    }, (socket) => {
      assert.equal(typeof socket.data.name, "string");
      return processor.add(socket);
    }),
    (c) => c.text("This path speaks WebSocket; the page is at /\n", 400),
  );
  app.get("/", (c) => c.html("<h1>chat</h1>"));
  const { port, server } = await serve(app);
  const url = `ws://127.0.0.1:${port}/ws`;

  const ann = await connect(`${url}?user=ann`);
  const reply = new Promise((resolve) =>
    ann.addEventListener("message", ({ data }) => resolve(data), { once: true })
  );
  await ann.send("hi");
  assert.equal(await reply, "ann: hi");

  const page = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(await page.text(), "<h1>chat</h1>");
  const plain = await fetch(url.replace("ws:", "http:"));
  assert.equal(plain.status, 400);
  assert.match(await plain.text(), /speaks WebSocket/);

  const unauthorized = await connect(url).catch((error: unknown) => error);
  assert.ok(unauthorized instanceof WebSocketError);
  assert.equal(unauthorized.response?.status, 401);
  const blocked = await rawHttp(
    port,
    handshakeRequest("/ws?user=bob", ["X-Blocked: 1"]),
  );
  assert.equal(blocked.status, 403);
  assert.match(blocked.body, /Blocked by middleware/);

  // The client's address comes through Hono's c.env: the third is refused.
  const bob = await connect(`${url}?user=bob`);
  const third = await rawHttp(port, handshakeRequest("/ws?user=cy"));
  assert.equal(third.status, 429);

  const snapshot = metrics.snapshot();
  assert.equal(snapshot.handshakesAccepted, 2);
  assert.deepEqual(snapshot.handshakesRefused, {
    authorize: 1,
    address_limit: 1,
  });
  assert.ok(seen.includes("/ws") && seen.includes("/"));

  await processor.shutdown();
  assert.equal((await ann.closed).code, 1001);
  assert.equal((await bob.closed).code, 1001);
  await server.shutdown();
});

Deno.test("hono: a path option is refused, the route is Hono's", () => {
  assert.throws(
    () => webSocketRoute({ path: "/ws" } as never, () => {}),
    /takes no path/,
  );
});
