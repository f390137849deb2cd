/**
 * WebSockets over HTTP/2 (RFC 8441, SPEC S9 and C2): socketry's client and
 * engine listener over loopback, TLS (ALPN) and h2c. Many sockets on one
 * connection, flow control per socket, the same route answering HTTP/1.1
 * upgrades and extended CONNECT, ordinary requests over HTTP/2, refusals,
 * and the client's version policy.
 */

import assert from "node:assert/strict";
import {
  connect,
  ConnectionHandler,
  type EngineServerOptions,
  type EngineSocket,
  type RequestInfo,
  serveEngine,
  type Socket,
  WebSocketError,
  WebSocketStatus,
} from "../../mod.ts";
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as http2Connect,
  type IncomingHttpHeaders,
} from "node:http2";
import { Inbox } from "../helpers/client.ts";
import { testCertificates } from "../helpers/tls.ts";

interface Server {
  readonly port: number;
  readonly sockets: Inbox<EngineSocket>;
  readonly requests: RequestInfo[];
  close(): Promise<void>;
}

/** An echo server; `onSocket` may replace the echo. */
async function start(
  options: EngineServerOptions,
  onSocket?: (socket: EngineSocket) => void,
): Promise<Server> {
  const sockets = new Inbox<EngineSocket>();
  const requests: RequestInfo[] = [];
  const live = new Set<Socket>();
  const server = serveEngine(
    { port: 0, hostname: "127.0.0.1", path: "/ws", ...options },
    (socket) => {
      const engine = socket as EngineSocket;
      live.add(socket);
      socket.closed.then(() => live.delete(socket));
      sockets.push(engine);
      if (onSocket !== undefined) onSocket(engine);
      else {
        socket.addEventListener("message", ({ data }) => {
          socket.send(data).catch(() => {});
        });
      }
    },
    (request, info) => {
      requests.push(info);
      return new Response(
        `${info.httpVersion} ${new URL(request.url).pathname}`,
      );
    },
  );
  const { port } = await server.listening;
  return {
    port,
    sockets,
    requests,
    async close() {
      for (const socket of live) socket.abort();
      await server.shutdown();
    },
  };
}

async function echo(socket: Socket, message: string): Promise<string> {
  await socket.send(message);
  const { value } = await socket[Symbol.asyncIterator]().next();
  return value as string;
}

Deno.test("http2: 100 sockets share one TLS connection, each echoes", async () => {
  const { ca, cert, key } = await testCertificates();
  const server = await start({ http2: true, tls: { cert, key } });
  const handler = new ConnectionHandler({ caCerts: [ca] });
  const url = `wss://localhost:${server.port}/ws`;
  const sockets = await Promise.all(
    Array.from(
      { length: 100 },
      () => connect(url, { httpVersion: "2", handler }),
    ),
  );
  assert.ok(sockets.every((socket) => socket.httpVersion === "2"));
  const accepted: EngineSocket[] = [];
  for (let i = 0; i < 100; i++) accepted.push(await server.sockets.next());
  const connections = new Set(accepted.map((socket) => socket.remoteAddress));
  assert.equal(connections.size, 1, `connections: ${[...connections]}`);
  assert.ok(accepted.every((socket) => socket.httpVersion === "2"));
  const replies = await Promise.all(
    sockets.map((socket, i) => echo(socket, `hello ${i}`)),
  );
  assert.deepEqual(replies, sockets.map((_, i) => `hello ${i}`));
  const closed = await Promise.all(
    sockets.map((socket, i) => socket.close(1000, `bye ${i}`)),
  );
  assert.ok(
    closed.every((outcome) => outcome.wasClean && outcome.code === 1000),
  );
  await handler.close();
  await server.close();
});

Deno.test("http2: a slow reader does not stall other sockets on the connection", async () => {
  const { ca, cert, key } = await testCertificates();
  const block = new Uint8Array(64 * 1024).fill(7);
  let flooded = 0;
  const server = await start(
    { http2: true, tls: { cert, key } },
    (socket) => {
      socket.addEventListener("message", ({ data }) => {
        if (data !== "flood") {
          socket.send(data).catch(() => {});
          return;
        }
        // Writes until flow control holds the data back: the client does
        // not read this socket.
        (async () => {
          while (socket.state === "open" && flooded < 64 * 1024 * 1024) {
            await socket.send(block);
            flooded += block.byteLength;
          }
        })().catch(() => {});
      });
    },
  );
  const handler = new ConnectionHandler({ caCerts: [ca] });
  const url = `wss://localhost:${server.port}/ws`;
  const slow = await connect(url, {
    httpVersion: "2",
    handler,
    receiveHighWaterMark: 256 * 1024,
  });
  const fast = await connect(url, { httpVersion: "2", handler });
  await slow.send("flood");
  // Let the flood fill every window and buffer on its way.
  let before = -1;
  while (before !== flooded) {
    before = flooded;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(flooded < 64 * 1024 * 1024, "flow control stopped the flood");
  for (let i = 0; i < 200; i++) {
    assert.equal(await echo(fast, `ping ${i}`), `ping ${i}`);
  }
  // The slow socket's data was held back, not lost: it is all readable.
  let received = 0;
  const reading = (async () => {
    for await (const message of slow) {
      received += (message as Uint8Array).byteLength;
      if (received >= flooded && flooded >= 64 * 1024 * 1024) break;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(received > before, `read ${received} of ${flooded} bytes`);
  await fast.close();
  slow.abort();
  await reading.catch(() => {});
  await handler.close();
  await server.close();
});

Deno.test("http2: a large send held back by flow control settles when the client goes away", async () => {
  const { ca, cert, key } = await testCertificates();
  const outcomes = new Inbox<string>();
  const server = await start({ http2: true, tls: { cert, key } }, (socket) => {
    socket.addEventListener("message", () => {
      socket.send(new Uint8Array(16 * 1024 * 1024)).then(
        () => outcomes.push("resolved"),
        () => outcomes.push("rejected"),
      );
    });
  });
  const handler = new ConnectionHandler({ caCerts: [ca] });
  const client = await connect(`wss://localhost:${server.port}/ws`, {
    httpVersion: "2",
    handler,
    receiveHighWaterMark: 64 * 1024,
  });
  await client.send("go");
  // The client reads nothing: flow control holds most of the message.
  await new Promise((resolve) => setTimeout(resolve, 300));
  client.abort();
  await handler.close();
  const outcome = await outcomes.next(5000).catch(() => "pending");
  assert.notEqual(outcome, "pending", "send() never settled");
  await server.close();
});

Deno.test("http2: one port serves HTTP/1.1 upgrades, extended CONNECT and requests of both versions", async () => {
  const { ca, cert, key } = await testCertificates();
  for (const tls of [true, false]) {
    const server = await start({
      http2: true,
      protocols: ["chat.v2", "chat.v1"],
      ...(tls ? { tls: { cert, key } } : {}),
    });
    const origin = `${tls ? "wss" : "ws"}://localhost:${server.port}`;
    const handler = new ConnectionHandler(tls ? { caCerts: [ca] } : {});
    const h2 = await connect(`${origin}/ws`, {
      httpVersion: "2",
      versionPolicy: "exact",
      handler,
      protocols: ["chat.v1", "chat.v2"],
    });
    const h1 = await connect(`${origin}/ws`, {
      handler,
      protocols: ["chat.v1"],
    });
    assert.equal(h2.httpVersion, "2");
    assert.equal(h2.protocol, "chat.v2", "the server's preference wins");
    assert.equal(h1.httpVersion, "1.1");
    assert.equal(h1.protocol, "chat.v1");
    assert.equal(await echo(h2, "over h2"), "over h2");
    assert.equal(await echo(h1, "over h1"), "over h1");
    assert.equal((await server.sockets.next()).httpVersion, "2");
    assert.equal((await server.sockets.next()).httpVersion, "1.1");

    const page = await fetch(
      `${tls ? "https" : "http"}://localhost:${server.port}/page`,
      tls ? { client: Deno.createHttpClient({ caCerts: [ca] }) } : {},
    );
    assert.equal(await page.text(), `${tls ? "2" : "1.1"} /page`);
    await h2.close();
    await h1.close();
    await handler.close();
    await server.close();
  }
});

Deno.test("http2: refusals arrive as handshakeRejected with the HTTP status", async () => {
  const { ca, cert, key } = await testCertificates();
  const server = await start({
    http2: true,
    tls: { cert, key },
    allowedOrigins: ["https://good.example"],
  });
  const handler = new ConnectionHandler({ caCerts: [ca] });
  const base = `wss://localhost:${server.port}`;
  for (
    const [path, headers, status] of [
      ["/ws", { origin: "https://evil.example" }, "403"],
      ["/elsewhere", {}, "404"],
    ] as const
  ) {
    await assert.rejects(
      connect(`${base}${path}`, { httpVersion: "2", handler, headers }),
      (error: unknown) => {
        assert.ok(error instanceof WebSocketError);
        assert.equal(error.status, WebSocketStatus.HandshakeRejected);
        assert.match(error.message, new RegExp(`HTTP ${status}`));
        return true;
      },
    );
  }
  const good = await connect(`${base}/ws`, {
    httpVersion: "2",
    handler,
    headers: { origin: "https://good.example" },
  });
  assert.equal(good.httpVersion, "2");
  await good.close();
  await handler.close();
  await server.close();
});

Deno.test("http2: the version policy decides the fallback to HTTP/1.1", async () => {
  const { ca, cert, key } = await testCertificates();
  const http1Only = await start({ tls: { cert, key } });
  const url = `wss://localhost:${http1Only.port}/ws`;

  const fallback = await connect(url, { httpVersion: "2", caCerts: [ca] });
  assert.equal(fallback.httpVersion, "1.1", "orLower falls back");
  assert.equal(await echo(fallback, "fell back"), "fell back");
  await fallback.close();

  for (const versionPolicy of ["exact", "orHigher"] as const) {
    await assert.rejects(
      connect(url, { httpVersion: "2", versionPolicy, caCerts: [ca] }),
      (error: unknown) => {
        assert.ok(error instanceof WebSocketError);
        assert.equal(error.status, WebSocketStatus.HandshakeRejected);
        assert.match(error.message, /does not speak HTTP\/2/);
        return true;
      },
    );
  }
  await http1Only.close();

  const both = await start({ http2: true, tls: { cert, key } });
  const upgraded = await connect(`wss://localhost:${both.port}/ws`, {
    versionPolicy: "orHigher",
    caCerts: [ca],
  });
  assert.equal(upgraded.httpVersion, "2", "1.1 or higher takes HTTP/2");
  await upgraded.close();
  const plain = await connect(`wss://localhost:${both.port}/ws`, {
    caCerts: [ca],
  });
  assert.equal(plain.httpVersion, "1.1", "the default stays on HTTP/1.1");
  await plain.close();
  await both.close();
});

Deno.test("http2: bad version options throw TypeError at once", () => {
  assert.throws(
    () => connect("ws://localhost:1/", { httpVersion: "3" as "2" }),
    TypeError,
  );
  assert.throws(
    () =>
      connect("ws://localhost:1/", {
        versionPolicy: "newest" as "exact",
      }),
    TypeError,
  );
});

/**
 * Sends GET requests one after the other on one TCP connection and reads
 * each response (head, and a Content-Length or chunked body); "closed" when
 * the server ended the connection instead of answering.
 */
async function requestsOnOneConnection(
  port: number,
  paths: string[],
): Promise<string[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const decoder = new TextDecoder();
  const answers: string[] = [];
  let pending = "";
  const buffer = new Uint8Array(4096);
  try {
    for (const path of paths) {
      await conn.write(
        new TextEncoder().encode(
          `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
        ),
      );
      for (;;) {
        const body = bodyOf(pending);
        if (body !== undefined) {
          answers.push(body.text);
          pending = pending.slice(body.end);
          break;
        }
        const read = await conn.read(buffer);
        if (read === null) return [...answers, "closed"];
        pending += decoder.decode(buffer.subarray(0, read));
      }
    }
    return answers;
  } finally {
    conn.close();
  }
}

/** The body of the first whole response in `received`, and where it ends. */
function bodyOf(received: string): { text: string; end: number } | undefined {
  const headEnd = received.indexOf("\r\n\r\n");
  if (headEnd === -1) return undefined;
  const head = received.slice(0, headEnd);
  let at = headEnd + 4;
  const length = /^content-length: *(\d+)$/im.exec(head)?.[1];
  if (length !== undefined) {
    const end = at + Number(length);
    return received.length < end
      ? undefined
      : { text: received.slice(at, end), end };
  }
  assert.match(head, /^transfer-encoding: *chunked$/im);
  let text = "";
  for (;;) {
    const lineEnd = received.indexOf("\r\n", at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(received.slice(at, lineEnd), 16);
    if (received.length < lineEnd + 2 + size + 2) return undefined;
    if (size === 0) return { text, end: lineEnd + 4 };
    text += received.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

Deno.test("http2: HTTP/1.1 requests keep their connection alive beside h2c and without HTTP/2", async () => {
  for (const http2 of [true, false]) {
    const server = await start({ http2 });
    assert.deepEqual(
      await requestsOnOneConnection(server.port, ["/one", "/two", "/three"]),
      ["1.1 /one", "1.1 /two", "1.1 /three"],
      `http2: ${http2}`,
    );
    await server.close();
  }
});

/**
 * Opens an RFC 8441 WebSocket stream with node:http2's own client, so that
 * the test sees the session's connection end.
 */
async function rawHttp2WebSocket(
  url: string,
  ca: string | undefined,
): Promise<{ session: ClientHttp2Session; stream: ClientHttp2Stream }> {
  const session = http2Connect(url, ca === undefined ? {} : { ca });
  session.on("error", () => {});
  await new Promise((resolve) => session.once("remoteSettings", resolve));
  const stream = session.request({
    ":method": "CONNECT",
    ":protocol": "websocket",
    ":scheme": url.startsWith("https") ? "https" : "http",
    ":path": "/ws",
    ":authority": new URL(url).host,
    "sec-websocket-version": "13",
  });
  stream.on("error", () => {});
  const headers = await new Promise<IncomingHttpHeaders>((resolve) =>
    stream.once("response", resolve)
  );
  assert.equal(headers[":status"], 200);
  return { session, stream };
}

Deno.test("http2: a quiet WebSocket outlives handshakeTimeout; the connection's idle timeout comes back when its last stream closes", async () => {
  const { ca, cert, key } = await testCertificates();
  const timeout = 300;
  for (const tls of [false, true]) {
    const server = await start({
      http2: true,
      handshakeTimeout: timeout,
      ...(tls ? { tls: { cert, key } } : {}),
    });
    const url = `${tls ? "https" : "http"}://localhost:${server.port}`;
    const { session, stream } = await rawHttp2WebSocket(
      url,
      tls ? ca : undefined,
    );
    const ended = new Promise<number>((resolve) =>
      session.once("close", () => resolve(performance.now()))
    );
    const streamClosed = new Promise<string>((resolve) =>
      stream.once("close", () => resolve("the stream closed"))
    );
    await new Promise((resolve) => setTimeout(resolve, 5 * timeout));
    // A masked text frame, "hi"; the echo comes back unmasked.
    stream.write(new Uint8Array([0x81, 0x82, 1, 2, 3, 4, 0x69, 0x6b]));
    const echo = await Promise.race([
      new Promise<Uint8Array>((resolve) => stream.once("data", resolve)),
      streamClosed,
    ]);
    assert.deepEqual(
      typeof echo === "string" ? echo : [...echo],
      [0x81, 0x02, 0x68, 0x69],
      `tls: ${tls}: the socket died while quiet`,
    );
    stream.close();
    const closedAt = performance.now();
    const end = await Promise.race([
      ended,
      new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5000)),
    ]);
    assert.ok(end !== -1, `tls: ${tls}: the idle connection was kept`);
    assert.ok(end - closedAt >= timeout / 2, `closed after ${end - closedAt}`);
    session.destroy();
    await server.close();
  }
});
