/** The engine listener: plain and TLS, ordinary requests, refusals, slow clients. */

import assert from "node:assert/strict";
import { connect, serveEngine, type Socket } from "../../mod.ts";
import { Inbox } from "../helpers/client.ts";
import { handshakeRequest, rawHttp } from "../helpers/raw.ts";
import { testCertificates } from "../helpers/tls.ts";

async function start(
  options: Parameters<typeof serveEngine>[0] = {},
  handler?: Parameters<typeof serveEngine>[2],
) {
  const sockets = new Inbox<Socket>();
  const server = serveEngine(
    { port: 0, hostname: "127.0.0.1", path: "/ws", ...options },
    (socket) => {
      sockets.push(socket);
      socket.addEventListener("message", ({ data }) => socket.send(data));
    },
    handler,
  );
  const { port } = await server.listening;
  return { server, port, sockets };
}

Deno.test("engine listener: ordinary requests go to the handler, with bodies", async () => {
  const { server, port } = await start({}, async (request) => {
    if (request.method === "POST") {
      return new Response(`got ${await request.text()}`, { status: 201 });
    }
    return new Response(`page ${new URL(request.url).pathname}`, {
      headers: { "x-app": "yes" },
    });
  });
  const page = await fetch(`http://127.0.0.1:${port}/index`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("x-app"), "yes");
  assert.equal(await page.text(), "page /index");
  const post = await fetch(`http://127.0.0.1:${port}/echo`, {
    method: "POST",
    body: "data",
  });
  assert.equal(post.status, 201);
  assert.equal(await post.text(), "got data");
  const plain = await fetch(`http://127.0.0.1:${port}/ws`);
  assert.equal(plain.status, 400);
  assert.match(await plain.text(), /only accepts WebSocket connections/);
  await server.shutdown();
});

Deno.test("engine listener: refusals match the middleware's (400, 403, 426, 404)", async () => {
  const { server, port } = await start({
    allowedOrigins: ["https://good.example"],
  });
  const version = await rawHttp(
    port,
    handshakeRequest("/ws").replace("Version: 13", "Version: 7"),
  );
  assert.equal(version.status, 426);
  assert.equal(version.headers.get("sec-websocket-version"), "13");
  const key = await rawHttp(
    port,
    handshakeRequest("/ws").replace("dGhlIHNhbXBsZSBub25jZQ==", "bad"),
  );
  assert.equal(key.status, 400);
  assert.match(key.body, /Sec-WebSocket-Key/);
  const origin = await rawHttp(
    port,
    handshakeRequest("/ws", ["Origin: https://evil.example"]),
  );
  assert.equal(origin.status, 403);
  const elsewhere = await rawHttp(port, handshakeRequest("/other"));
  assert.equal(elsewhere.status, 404);
  const fine = await rawHttp(
    port,
    handshakeRequest("/ws", ["Origin: https://good.example"]),
  );
  assert.equal(fine.status, 101);
  assert.equal(
    fine.headers.get("sec-websocket-accept"),
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  );
  await server.shutdown();
});

Deno.test("engine listener: an upgrade over HTTP/1.0 is refused with 400", async () => {
  const { server, port, sockets } = await start();
  const response = await rawHttp(
    port,
    handshakeRequest("/ws").replace("HTTP/1.1", "HTTP/1.0"),
  );
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("upgrade"), null);
  assert.match(response.body, /HTTP\/1\.1/);
  const fine = await rawHttp(port, handshakeRequest("/ws"));
  assert.equal(fine.status, 101);
  await (await sockets.next()).closed;
  await assert.rejects(sockets.next(100), "the HTTP/1.0 request opened none");
  await server.shutdown();
});

Deno.test("engine listener: an upgrade spelled get, or carrying a body, is refused with 400", async () => {
  const { server, port, sockets } = await start();
  const lower = await rawHttp(
    port,
    handshakeRequest("/ws").replace(/^GET/, "get"),
  );
  assert.equal(lower.status, 400);
  assert.match(lower.body, /case-sensitive/);
  for (
    const body of [
      ["Content-Length: 5"],
      ["Transfer-Encoding: chunked"],
    ]
  ) {
    const response = await rawHttp(port, handshakeRequest("/ws", body));
    assert.equal(response.status, 400, body[0]);
    assert.match(response.body, /carries no body/);
  }
  const fine = await rawHttp(
    port,
    handshakeRequest("/ws", ["Content-Length: 0"]),
  );
  assert.equal(fine.status, 101);
  await (await sockets.next()).closed;
  await assert.rejects(sockets.next(100), "the refused requests opened none");
  await server.shutdown();
});

Deno.test("engine listener: TLS serves pages and wss sockets on one port", async () => {
  const { ca, cert, key } = await testCertificates();
  const { server, port, sockets } = await start(
    { tls: { cert, key } },
    () => new Response("secure page"),
  );
  const client = Deno.createHttpClient({ caCerts: [ca] });
  const page = await fetch(`https://localhost:${port}/`, { client });
  assert.equal(await page.text(), "secure page");
  client.close();
  const socket = await connect(`wss://localhost:${port}/ws`, {
    caCerts: [ca],
  });
  await socket.send("over tls");
  const reply = await socket.receive();
  assert.equal(new TextDecoder().decode(reply.data), "over tls");
  await socket.close();
  await (await sockets.next()).closed;
  await server.shutdown();
});

Deno.test("engine listener: a client that sends nothing is dropped after handshakeTimeout", async () => {
  const { server, port } = await start({ handshakeTimeout: 200 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const started = Date.now();
  const n = await conn.read(new Uint8Array(16)).catch(() => null);
  assert.equal(n, null, "the server closes the silent connection");
  assert.ok(Date.now() - started >= 150);
  conn.close();
  await server.shutdown();
});

Deno.test("engine listener: a request head over maxHeaderSize is refused", async () => {
  const { server, port } = await start({ maxHeaderSize: 4096 });
  const response = await rawHttp(
    port,
    handshakeRequest("/ws", [`X-Big: ${"a".repeat(8000)}`]),
  );
  assert.ok(
    response.status === 431 || response.status === 400,
    `status ${response.status}`,
  );
  await server.shutdown();
});

Deno.test("serveEngine({ reusePort }): two listeners share a port and both get connections; a third without it cannot bind", async () => {
  const accepted = [0, 0];
  const serve = (index: number, port: number) =>
    serveEngine(
      { port, hostname: "127.0.0.1", path: "/ws", reusePort: true },
      (socket: Socket) => {
        accepted[index]!++;
        return socket.close();
      },
    );
  const first = serve(0, 0);
  const { port } = await first.listening;
  const second = serve(1, port);
  try {
    assert.equal((await second.listening).port, port);
    const lone = serveEngine(
      { port, hostname: "127.0.0.1", path: "/ws" },
      () => {},
    );
    await assert.rejects(lone.listening, /EADDRINUSE/);
    // The kernel spreads connections by their source port: of 24, both
    // listeners get some (all on one: a chance of 2 in 2^24).
    for (let i = 0; i < 24; i++) {
      const client = await connect(`ws://127.0.0.1:${port}/ws`);
      await client.closed;
    }
    assert.equal(accepted[0]! + accepted[1]!, 24);
    assert.ok(accepted[0]! > 0 && accepted[1]! > 0, `${accepted}`);
  } finally {
    await Promise.all([first.shutdown(), second.shutdown()]);
  }
});

Deno.test("engine listener: maxFragments bounds the frames of one message (1008 past it); bad reading limits fail at once", async () => {
  const { server, port } = await start({ maxFragments: 3 });
  const client = await connect(`ws://127.0.0.1:${port}/ws`);
  const echoes = new Inbox<unknown>();
  client.addEventListener("message", ({ data }) => echoes.push(data));
  await client.send("a", { endOfMessage: false });
  await client.send("b", { endOfMessage: false });
  await client.send("c");
  assert.equal(await echoes.next(), "abc");
  for (const part of ["1", "2", "3"]) {
    await client.send(part, { endOfMessage: false });
  }
  await client.send("4").catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([
    client.closed,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("a fourth fragment did not close the socket")),
        5000,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  assert.equal(closed.code, 1008);
  await server.shutdown();
  for (
    const bad of [
      { receiveHighWaterMark: 0 },
      { receiveHighWaterMark: 1.5 },
      { maxFragments: -1 },
    ]
  ) {
    assert.throws(
      () => serveEngine({ port: 0, ...bad }, () => {}),
      RangeError,
      JSON.stringify(bad),
    );
  }
});
