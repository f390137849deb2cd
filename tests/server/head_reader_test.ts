/**
 * The engine listener reads the first request head of a connection itself:
 * upgrades go to the engine, ordinary requests to the handler through
 * node:http with the bytes put back. Raw sockets, TLS, h2c.
 */

import assert from "node:assert/strict";
import { connect as tlsConnect } from "node:tls";
import { serveEngine, type Socket } from "../../mod.ts";
import { FrameParser } from "../../lib/protocol/parser.ts";
import { Inbox } from "../helpers/client.ts";
import { handshakeRequest, maskedFrame, rawHttp } from "../helpers/raw.ts";
import { testCertificates } from "../helpers/tls.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function start(
  options: Parameters<typeof serveEngine>[0] = {},
) {
  const sockets = new Inbox<Socket>();
  const server = serveEngine(
    { port: 0, hostname: "127.0.0.1", path: "/ws", ...options },
    (socket) => {
      sockets.push(socket);
      socket.addEventListener("message", ({ data }) => socket.send(data));
    },
    async (request) => {
      const body = request.body === null ? "" : await request.text();
      return new Response(
        `${request.method} ${new URL(request.url).pathname} ${body}`,
      );
    },
  );
  const { port } = await server.listening;
  return { server, port, sockets };
}

/** Reads from `conn` until `done(text so far)` or EOF; returns the bytes. */
async function readUntil(
  conn: Deno.Conn,
  done: (bytes: Uint8Array) => boolean,
  ms = 5000,
): Promise<{ bytes: Uint8Array; eof: boolean }> {
  let bytes = new Uint8Array(0);
  const buffer = new Uint8Array(65536);
  const timer = setTimeout(() => conn.close(), ms);
  try {
    while (!done(bytes)) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) return { bytes, eof: true };
      const joined = new Uint8Array(bytes.length + n);
      joined.set(bytes);
      joined.set(buffer.subarray(0, n), bytes.length);
      bytes = joined;
    }
    return { bytes, eof: false };
  } finally {
    clearTimeout(timer);
  }
}

function headEnd(bytes: Uint8Array): number {
  const text = decoder.decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  return end === -1 ? -1 : encoder.encode(text.slice(0, end + 4)).length;
}

/** The text messages in `bytes` (server frames). */
function textMessages(bytes: Uint8Array): string[] {
  const messages: string[] = [];
  new FrameParser({ role: "client" }).push(bytes, (event) => {
    if (event.kind === "data") messages.push(decoder.decode(event.data));
  });
  return messages;
}

Deno.test("head reader: frames sent with the handshake, in the same write, are not lost", async () => {
  const { server, port, sockets } = await start();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const request = encoder.encode(handshakeRequest("/ws"));
  const frames = [maskedFrame(1, "first"), maskedFrame(1, "second")];
  await conn.write(new Uint8Array([...request, ...frames[0]!, ...frames[1]!]));
  const { bytes } = await readUntil(conn, (bytes) => {
    const end = headEnd(bytes);
    return end !== -1 && textMessages(bytes.subarray(end)).length === 2;
  });
  const end = headEnd(bytes);
  assert.match(decoder.decode(bytes.subarray(0, end)), /^HTTP\/1\.1 101 /);
  assert.deepEqual(textMessages(bytes.subarray(end)), ["first", "second"]);
  conn.close();
  await (await sockets.next()).closed;
  await server.shutdown();
});

Deno.test("head reader: a head trickling in byte by byte still upgrades", async () => {
  const { server, port, sockets } = await start();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const bytes = encoder.encode(handshakeRequest("/ws"));
  for (const byte of bytes) {
    await conn.write(new Uint8Array([byte]));
  }
  await conn.write(maskedFrame(1, "trickled"));
  const { bytes: reply } = await readUntil(conn, (bytes) => {
    const end = headEnd(bytes);
    return end !== -1 && textMessages(bytes.subarray(end)).length === 1;
  });
  assert.deepEqual(textMessages(reply.subarray(headEnd(reply))), ["trickled"]);
  conn.close();
  await (await sockets.next()).closed;
  await server.shutdown();
});

Deno.test("head reader: a slow head is dropped after handshakeTimeout, however it trickles", async () => {
  const { server, port } = await start({ handshakeTimeout: 300 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const started = Date.now();
  // One byte every 50 ms never leaves the connection idle for long.
  let open = true;
  const trickle = (async () => {
    for (const byte of encoder.encode(handshakeRequest("/ws"))) {
      if (!open) return;
      await conn.write(new Uint8Array([byte])).catch(() => open = false);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const { eof } = await readUntil(conn, () => false, 3000);
  open = false;
  const elapsed = Date.now() - started;
  assert.ok(eof, "the server closed the connection");
  assert.ok(elapsed >= 250 && elapsed < 2000, `closed after ${elapsed} ms`);
  await trickle;
  conn.close();
  await server.shutdown();
});

Deno.test("head reader: an oversize head gets 431, a malformed one 400, HTTP/2 in a request line 505", async () => {
  const { server, port, sockets } = await start({ maxHeaderSize: 4096 });
  const big = await rawHttp(
    port,
    handshakeRequest("/ws", [`X-Big: ${"a".repeat(8000)}`]),
  );
  assert.equal(big.status, 431);
  assert.equal(big.headers.get("connection"), "close");
  const folded = await rawHttp(
    port,
    handshakeRequest("/ws", ["X-Folded: a", " b"]),
  );
  assert.equal(folded.status, 400);
  assert.match(folded.body, /Folded/);
  const noColon = await rawHttp(
    port,
    "GET /page HTTP/1.1\r\nHost: a\r\nnonsense\r\n\r\n",
  );
  assert.equal(noColon.status, 400);
  const version = await rawHttp(port, "GET /page HTTP/2.0\r\nHost: a\r\n\r\n");
  assert.equal(version.status, 505);
  await assert.rejects(sockets.next(50), "none of them opened a socket");
  await server.shutdown();
});

Deno.test("head reader: ordinary requests on the same port: pipelined, keep-alive, chunked, HEAD, then an upgrade on the same connection", async () => {
  const { server, port, sockets } = await start();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  // Two requests in one write, the second with a chunked body.
  await conn.write(encoder.encode(
    "GET /one HTTP/1.1\r\nHost: a\r\n\r\n" +
      "POST /two HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
  ));
  const { bytes } = await readUntil(
    conn,
    (bytes) => decoder.decode(bytes).includes("POST /two abcde"),
  );
  const text = decoder.decode(bytes);
  assert.match(
    text,
    /^HTTP\/1\.1 200 OK\r\n[^]*GET \/one [^]*HTTP\/1\.1 200 OK[^]*POST \/two abcde/,
  );
  assert.equal(text.match(/HTTP\/1\.1 200/g)?.length, 2);
  // HEAD: the length of the body, without it.
  await conn.write(encoder.encode("HEAD /three HTTP/1.1\r\nHost: a\r\n\r\n"));
  const head = await readUntil(conn, (bytes) => headEnd(bytes) !== -1);
  assert.match(decoder.decode(head.bytes), /^HTTP\/1\.1 200 OK/);
  assert.equal(head.bytes.length, headEnd(head.bytes), "no body after HEAD");
  // An upgrade after ordinary requests, on the same connection.
  await conn.write(encoder.encode(handshakeRequest("/ws")));
  await conn.write(maskedFrame(1, "after requests"));
  const { bytes: reply } = await readUntil(conn, (bytes) => {
    const end = headEnd(bytes);
    return end !== -1 && textMessages(bytes.subarray(end)).length === 1;
  });
  assert.match(decoder.decode(reply), /^HTTP\/1\.1 101 /);
  assert.deepEqual(textMessages(reply.subarray(headEnd(reply))), [
    "after requests",
  ]);
  conn.close();
  await (await sockets.next()).closed;
  // Connection: close is honoured.
  const closing = await Deno.connect({ hostname: "127.0.0.1", port });
  await closing.write(encoder.encode(
    "GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
  ));
  const last = await readUntil(closing, () => false);
  assert.ok(last.eof);
  assert.match(decoder.decode(last.bytes), /^HTTP\/1\.1 200 OK[^]*GET \/last /);
  closing.close();
  await server.shutdown();
});

Deno.test("head reader: over TLS, frames sent with the handshake arrive, and pages are served", async () => {
  const { ca, cert, key } = await testCertificates();
  for (const http2 of [false, true]) {
    const { server, port, sockets } = await start({
      tls: { cert, key },
      http2,
    });
    const socket = tlsConnect({
      host: "127.0.0.1",
      servername: "localhost",
      port,
      ca,
      ALPNProtocols: ["http/1.1"],
    });
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    let received = new Uint8Array(0);
    const replied = Promise.withResolvers<void>();
    socket.on("data", (chunk: Uint8Array) => {
      received = new Uint8Array([...received, ...chunk]);
      const end = headEnd(received);
      if (end !== -1 && textMessages(received.subarray(end)).length === 1) {
        replied.resolve();
      }
    });
    socket.write(
      new Uint8Array([
        ...encoder.encode(handshakeRequest("/ws")),
        ...maskedFrame(1, "early over tls"),
      ]),
    );
    await replied.promise;
    assert.match(decoder.decode(received), /^HTTP\/1\.1 101 /);
    assert.deepEqual(
      textMessages(received.subarray(headEnd(received))),
      ["early over tls"],
    );
    socket.destroy();
    await (await sockets.next()).closed;
    const client = Deno.createHttpClient({ caCerts: [ca] });
    const page = await fetch(`https://localhost:${port}/page`, { client });
    assert.equal(await page.text(), "GET /page ");
    client.close();
    await server.shutdown();
  }
});

Deno.test("head reader: shutdown drops a connection still sending its head", async () => {
  const { server, port } = await start();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode("GET /ws HTTP/1.1\r\nHost: a\r\n"));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await server.shutdown();
  assert.ok(Date.now() - started < 2000);
  const { eof } = await readUntil(conn, () => false, 2000);
  assert.ok(eof);
  conn.close();
});

Deno.test("head reader: with http2 on cleartext, a preface in pieces is HTTP/2 and a POST is HTTP/1.1", async () => {
  const { server, port } = await start({ http2: true });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const preface = encoder.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  await conn.write(preface.subarray(0, 5));
  await new Promise((resolve) => setTimeout(resolve, 30));
  await conn.write(preface.subarray(5));
  // An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
  await conn.write(new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0]));
  const { bytes } = await readUntil(conn, (bytes) => bytes.length >= 9);
  assert.equal(bytes[3], 4, "the server's first frame is its SETTINGS");
  conn.close();
  // "P" starts the preface and POST alike: this one is HTTP/1.1.
  const post = await rawHttp(
    port,
    "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody",
  );
  assert.equal(post.status, 200);
  assert.match(post.body, /POST \/form body/);
  await server.shutdown();
});

Deno.test("head reader: Expect: 100-continue gets 100, then the body is read", async () => {
  const { server, port } = await start();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(
    "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" +
      "Expect: 100-continue\r\nConnection: close\r\n\r\n",
  ));
  const interim = await readUntil(conn, (bytes) => headEnd(bytes) !== -1);
  assert.match(decoder.decode(interim.bytes), /^HTTP\/1\.1 100 Continue\r\n/);
  await conn.write(encoder.encode("hello"));
  const { bytes } = await readUntil(conn, () => false);
  assert.match(
    decoder.decode(bytes),
    /^HTTP\/1\.1 200 OK[^]*POST \/upload hello/,
  );
  conn.close();
  await server.shutdown();
});
