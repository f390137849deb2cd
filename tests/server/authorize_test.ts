/**
 * The `authorize` option on both backends: refusals before any socket
 * exists, typed socket data, slow and throwing checks.
 */

import assert from "node:assert/strict";
import {
  connect,
  ConnectionHandler,
  serveEngine,
  ServerMetrics,
  type Socket,
  WebSocketError,
  webSockets,
  type WebSocketServerOptions,
} from "../../mod.ts";
import { handshakeRequest, rawHttp } from "../helpers/raw.ts";
import { testCertificates } from "../helpers/tls.ts";

interface User {
  readonly name: string;
}

interface Served {
  readonly port: number;
  readonly sockets: (Socket & { data: User })[];
  close(): Promise<void>;
}

type Serve = (options: WebSocketServerOptions<User>) => Promise<Served>;

// Each socket says who it belongs to, so a test sees the data arrive typed.
const greet = (socket: Socket & { data: User }) => {
  socket.send(`hello ${socket.data.name}`).catch(() => {});
};

const backends: [string, Serve][] = [
  ["native", (options) => {
    const sockets: (Socket & { data: User })[] = [];
    const { promise, resolve } = Promise.withResolvers<Served>();
    const server = Deno.serve(
      {
        port: 0,
        hostname: "127.0.0.1",
        onListen: ({ port }) =>
          resolve({ port, sockets, close: () => server.shutdown() }),
      },
      webSockets({ path: "/ws", ...options }, (socket) => {
        sockets.push(socket);
        greet(socket);
      }),
    );
    return promise;
  }],
  ["engine", async (options) => {
    const sockets: (Socket & { data: User })[] = [];
    const server = serveEngine(
      { port: 0, hostname: "127.0.0.1", path: "/ws", ...options },
      (socket) => {
        sockets.push(socket);
        greet(socket);
      },
    );
    const { port } = await server.listening;
    return { port, sockets, close: () => server.shutdown() };
  }],
];

async function firstMessage(socket: Socket): Promise<unknown> {
  for await (const message of socket) return message;
}

async function refusal(url: string, headers?: HeadersInit) {
  const error = await connect(url, headers === undefined ? {} : { headers })
    .then(
      (socket) => {
        socket.abort();
        throw new Error("the handshake was accepted");
      },
      (error: unknown) => error,
    );
  assert.ok(error instanceof WebSocketError, String(error));
  assert.ok(error.response !== undefined, error.message);
  return error.response;
}

for (const [backend, serve] of backends) {
  Deno.test(`${backend}: authorize reads a token in the query; 401 creates no socket`, async () => {
    const seen: string[] = [];
    const server = await serve({
      authorize(request) {
        const token = new URL(request.url).searchParams.get("token");
        seen.push(token ?? "");
        return token === "s3cret"
          ? { name: "ann" }
          : new Response("Who are you?\n", {
            status: 401,
            headers: { "www-authenticate": "Token" },
          });
      },
    });
    const base = `ws://127.0.0.1:${server.port}/ws`;
    const refused = await refusal(`${base}?token=wrong`);
    assert.equal(refused!.status, 401);
    assert.equal(refused!.headers.get("www-authenticate"), "Token");
    assert.match(refused!.body, /Who are you/);
    assert.equal(server.sockets.length, 0);
    const socket = await connect(`${base}?token=s3cret`);
    assert.equal(await firstMessage(socket), "hello ann");
    assert.deepEqual(server.sockets.map((s) => s.data), [{ name: "ann" }]);
    assert.deepEqual(seen, ["wrong", "s3cret"]);
    await socket.close();
    await server.close();
  });

  Deno.test(`${backend}: authorize reads a cookie and a header`, async () => {
    const server = await serve({
      authorize(request) {
        const cookie = request.headers.get("cookie") ?? "";
        const session = /(?:^|;\s*)session=([^;]+)/.exec(cookie)?.[1];
        if (session !== undefined) return { name: `cookie:${session}` };
        const bearer = /^Bearer (.+)$/.exec(
          request.headers.get("authorization") ?? "",
        )?.[1];
        if (bearer !== undefined) return { name: `bearer:${bearer}` };
        return new Response("Forbidden\n", { status: 403 });
      },
    });
    const url = `ws://127.0.0.1:${server.port}/ws`;
    const byCookie = await connect(url, {
      headers: { cookie: "theme=dark; session=abc" },
    });
    assert.equal(await firstMessage(byCookie), "hello cookie:abc");
    const byHeader = await connect(url, {
      headers: { authorization: "Bearer xyz" },
    });
    assert.equal(await firstMessage(byHeader), "hello bearer:xyz");
    assert.equal((await refusal(url))!.status, 403);
    assert.equal(server.sockets.length, 2);
    await byCookie.close();
    await byHeader.close();
    await server.close();
  });

  Deno.test(`${backend}: a slow async authorize holds only its own handshake`, async () => {
    const gate = Promise.withResolvers<void>();
    const server = await serve({
      async authorize(request) {
        const name = new URL(request.url).searchParams.get("name")!;
        if (name === "slow") await gate.promise;
        return { name };
      },
    });
    const url = `ws://127.0.0.1:${server.port}/ws`;
    const slow = connect(`${url}?name=slow`);
    const fast = await connect(`${url}?name=fast`);
    assert.equal(await firstMessage(fast), "hello fast");
    assert.deepEqual(server.sockets.map((s) => s.data.name), ["fast"]);
    gate.resolve();
    const late = await slow;
    assert.equal(await firstMessage(late), "hello slow");
    await fast.close();
    await late.close();
    await server.close();
  });

  Deno.test(`${backend}: a throwing authorize answers 500 without upgrading and reports the error`, async () => {
    const reported: unknown[] = [];
    const metrics = new ServerMetrics();
    const server = await serve({
      metrics,
      onError: (error) => reported.push(error),
      authorize(request) {
        if (request.url.endsWith("async")) {
          return Promise.reject(new Error("directory unreachable"));
        }
        throw new Error("bad check");
      },
    });
    const url = `ws://127.0.0.1:${server.port}/ws`;
    const response = await rawHttp(
      server.port,
      handshakeRequest("/ws?sync").replace(
        "\r\n\r\n",
        "\r\nConnection: close\r\n\r\n",
      ),
    );
    assert.equal(response.status, 500);
    assert.doesNotMatch(response.raw, /101 Switching/);
    assert.equal((await refusal(`${url}?async`))!.status, 500);
    assert.deepEqual(
      reported.map((error) => (error as Error).message),
      ["bad check", "directory unreachable"],
    );
    assert.equal(server.sockets.length, 0);
    const snapshot = metrics.snapshot();
    assert.equal(snapshot.handshakesRefused.authorize_error, 2);
    assert.equal(snapshot.handshakesAccepted, 0);
    await server.close();
  });
}

Deno.test("engine over HTTP/2: authorize and the per-address limit apply to extended CONNECT streams", async () => {
  const { ca, cert, key } = await testCertificates();
  const metrics = new ServerMetrics();
  const sockets: (Socket & { data: User })[] = [];
  const server = serveEngine<User>(
    {
      port: 0,
      hostname: "127.0.0.1",
      path: "/ws",
      http2: true,
      tls: { cert, key },
      metrics,
      limits: { connectionsPerAddress: 2 },
      authorize: async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const name = new URL(request.url).searchParams.get("user");
        return name === null
          ? new Response("Unauthorized\n", { status: 401 })
          : { name };
      },
    },
    (socket) => {
      sockets.push(socket);
      greet(socket);
    },
  );
  const { port } = await server.listening;
  const handler = new ConnectionHandler({ caCerts: [ca] });
  const url = `wss://localhost:${port}/ws`;
  const refused = await connect(url, { httpVersion: "2", handler }).then(
    (socket) => {
      socket.abort();
      throw new Error("accepted");
    },
    (error: unknown) => error,
  );
  assert.ok(refused instanceof WebSocketError);
  assert.equal(refused.response?.status, 401);
  const ann = await connect(`${url}?user=ann`, { httpVersion: "2", handler });
  const bob = await connect(`${url}?user=bob`, { httpVersion: "2", handler });
  assert.equal(ann.httpVersion, "2");
  assert.equal(await firstMessage(ann), "hello ann");
  assert.equal(await firstMessage(bob), "hello bob");
  const third = await connect(`${url}?user=cy`, { httpVersion: "2", handler })
    .then(() => undefined, (error: unknown) => error);
  assert.ok(third instanceof WebSocketError);
  assert.equal(third.response?.status, 429);
  assert.deepEqual(sockets.map((socket) => socket.data.name), ["ann", "bob"]);
  assert.deepEqual(metrics.snapshot().handshakesRefused, {
    authorize: 1,
    address_limit: 1,
  });
  await ann.close();
  await bob.close();
  await handler.close();
  await server.shutdown();
});
