/**
 * SPEC U5: every failure the client can meet on loopback ends in a
 * `WebSocketError` whose `status` (and `getStatus(error)`) says what went
 * wrong: cannotConnect, hostNotFound, timeout, cancelled, disconnected (a
 * connection lost mid-message, by FIN or by RST), handshakeRejected,
 * certificateInvalid, keepAliveTimeout, and the send and receive timeouts.
 * Bad arguments throw `TypeError` or `RangeError` at once.
 *
 * Not producible on loopback: serverUnreachable (EHOSTUNREACH/ENETUNREACH)
 * and connectionAborted. connectionReset is only the status of the cause: a
 * reset connection ends the socket as `disconnected` (see below).
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type AddressInfo,
  createServer,
  type Server,
  type Socket as NetSocket,
} from "node:net";
import {
  connect,
  type EngineSocket,
  getStatus,
  serveEngine,
  WebSocketError,
  WebSocketStatus,
} from "../../mod.ts";
import { Inbox } from "../helpers/client.ts";
import { mutualTlsCertificates } from "../helpers/client_cert.ts";
import { rejection } from "../helpers/rejection.ts";

/** Asserts a `WebSocketError` of `status`, also through `getStatus`. */
function assertStatus(
  error: unknown,
  status: WebSocketStatus,
  message?: RegExp,
): WebSocketError {
  assert.ok(error instanceof WebSocketError, `a WebSocketError, got ${error}`);
  assert.equal(error.status, status, error.message);
  assert.equal(getStatus(error), status);
  if (message !== undefined) assert.match(error.message, message);
  return error;
}

/** Asserts that `promise` rejects with a `WebSocketError` of `status`. */
async function rejectsWith(
  promise: Promise<unknown>,
  status: WebSocketStatus,
  message?: RegExp,
): Promise<WebSocketError> {
  return assertStatus(await rejection(promise), status, message);
}

// ---- a raw node:net WebSocket server, for misbehaving on purpose ---------------

interface RawServer {
  readonly port: number;
  /** Destroys every connection and closes the listener. */
  close(): Promise<void>;
}

/** RFC 6455's accept value, with node:crypto (not socketry's SHA-1). */
function acceptFor(key: string): string {
  return createHash("sha1")
    .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
    .digest("base64");
}

/**
 * Listens on loopback; for each connection reads the request head, then
 * `answer` takes over: `complete()` writes a valid 101 response.
 */
async function rawServer(
  answer: (socket: NetSocket, head: string, complete: () => void) => void,
): Promise<RawServer> {
  const sockets = new Set<NetSocket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = "";
    const onData = (chunk: Uint8Array) => {
      head += new TextDecoder().decode(chunk);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      head = head.slice(0, end);
      answer(socket, head, () => {
        const key = /^sec-websocket-key: *(.*)$/im.exec(head)?.[1]?.trim();
        assert.ok(key !== undefined, `a key in ${head}`);
        socket.write(
          [
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket",
            "Connection: Upgrade",
            `Sec-WebSocket-Accept: ${acceptFor(key)}`,
            "",
            "",
          ].join("\r\n"),
        );
      });
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The first bytes of an unmasked binary frame announcing 1 MiB: 10 + `sent`. */
function startOfBigFrame(sent: number): Uint8Array {
  const frame = new Uint8Array(10 + sent);
  frame[0] = 0x82;
  frame[1] = 127;
  new DataView(frame.buffer).setBigUint64(2, 1n << 20n);
  frame.fill(7, 10);
  return frame;
}

/** Drains `socket` with receive() until it rejects; returns the bytes and the error. */
async function receiveUntilFailure(
  socket: EngineSocket,
): Promise<{ bytes: number; ends: boolean[]; error: unknown }> {
  let bytes = 0;
  const ends: boolean[] = [];
  while (true) {
    try {
      const piece = await socket.receive();
      assert.equal(piece.type, "binary");
      bytes += piece.data.byteLength;
      ends.push(piece.endOfMessage);
    } catch (error) {
      return { bytes, ends, error };
    }
  }
}

// ---- connecting ------------------------------------------------------------------

Deno.test("status cannotConnect: a port that was just closed", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const error = await rejectsWith(
    connect(`ws://127.0.0.1:${port}/ws`),
    WebSocketStatus.CannotConnect,
    new RegExp(
      `^Cannot connect to ws://127\\.0\\.0\\.1:${port}/ws: .*ECONNREFUSED`,
    ),
  );
  assert.equal((error.cause as { code?: string }).code, "ECONNREFUSED");
});

Deno.test("status hostNotFound: a name under .invalid", async () => {
  const error = await rejectsWith(
    connect("ws://nothing.invalid/", { connectTimeout: 10_000 }),
    WebSocketStatus.HostNotFound,
    /nothing\.invalid/,
  );
  assert.match(
    String((error.cause as { code?: string }).code),
    /^E(NOTFOUND|AI_)/,
  );
});

Deno.test("status timeout: a listener that accepts and never answers, connectTimeout 300", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  try {
    const started = Date.now();
    await rejectsWith(
      connect(`ws://127.0.0.1:${listener.addr.port}/ws`, {
        connectTimeout: 300,
      }),
      WebSocketStatus.Timeout,
      /timed out/,
    );
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 3000, `gave up after ${took} ms`);
    // The client hung up: after the request head the server reads EOF.
    const conn = await accepted;
    const buffer = new Uint8Array(4096);
    let head = "";
    let n: number | null;
    while ((n = await conn.read(buffer)) !== null) {
      head += new TextDecoder().decode(buffer.subarray(0, n));
    }
    assert.match(head, /^GET \/ws HTTP\/1\.1\r\n/);
    conn.close();
  } finally {
    listener.close();
  }
});

Deno.test("status cancelled: the signal aborts while connecting, or was aborted before", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  try {
    const controller = new AbortController();
    const started = Date.now();
    const connecting = connect(`ws://127.0.0.1:${listener.addr.port}/ws`, {
      signal: controller.signal,
    });
    const conn = await accepted;
    const reason = new Error("the user gave up");
    controller.abort(reason);
    const error = await rejectsWith(
      connecting,
      WebSocketStatus.Cancelled,
      /was cancelled/,
    );
    assert.equal(error.cause, reason);
    assert.ok(Date.now() - started < 3000);
    // The connection was dropped.
    const buffer = new Uint8Array(4096);
    while (await conn.read(buffer) !== null) {
      // The request head, then EOF.
    }
    conn.close();

    await rejectsWith(
      connect(`ws://127.0.0.1:${listener.addr.port}/ws`, {
        signal: AbortSignal.abort(),
      }),
      WebSocketStatus.Cancelled,
    );
  } finally {
    listener.close();
  }
});

Deno.test("status handshakeRejected: a server answering 403 Forbidden", async () => {
  const server = await rawServer((socket) => {
    socket.end(
      "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\nGo away\n",
    );
  });
  try {
    await rejectsWith(
      connect(`ws://127.0.0.1:${server.port}/ws`),
      WebSocketStatus.HandshakeRejected,
      /refused the WebSocket handshake: HTTP 403 Forbidden/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("status certificateInvalid: a self-signed server certificate and no CA", async () => {
  const { selfSigned } = await mutualTlsCertificates();
  let opened = 0;
  const server = serveEngine(
    { port: 0, hostname: "127.0.0.1", path: "/ws", tls: selfSigned },
    () => void opened++,
  );
  const { port } = await server.listening;
  try {
    for (const host of ["localhost", "127.0.0.1"]) {
      const error = await rejectsWith(
        connect(`wss://${host}:${port}/ws`, { connectTimeout: 10_000 }),
        WebSocketStatus.CertificateInvalid,
        /self-signed/,
      );
      assert.equal(
        (error.cause as { code?: string }).code,
        "DEPTH_ZERO_SELF_SIGNED_CERT",
      );
    }
    assert.equal(opened, 0);
  } finally {
    await server.shutdown();
  }
});

// ---- an open socket loses its peer ------------------------------------------------

Deno.test("the peer closes TCP mid-message: ending disconnect, receive() rejects with disconnected", async () => {
  const server = await rawServer((socket, _head, complete) => {
    complete();
    socket.write(startOfBigFrame(1000));
    socket.end();
  });
  try {
    const socket = await connect(`ws://127.0.0.1:${server.port}/ws`);
    const closed = await socket.closed;
    assert.equal(closed.ending, "disconnect");
    assert.equal(closed.code, 1006);
    assert.equal(closed.wasClean, false);
    assert.equal(closed.initiator, "none");
    assertStatus(closed.error, WebSocketStatus.Disconnected);
    // The part of the message that came is handed out, never as a whole message.
    const { bytes, ends, error } = await receiveUntilFailure(socket);
    assert.equal(bytes, 1000);
    assert.ok(ends.every((end) => !end), `no end of message: ${ends}`);
    assertStatus(
      error,
      WebSocketStatus.Disconnected,
      /peer disconnected without a close/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("the peer resets TCP mid-message: ending disconnect, the cause is ECONNRESET (connectionReset)", async () => {
  const server = await rawServer((socket, _head, complete) => {
    complete();
    socket.write(startOfBigFrame(1000));
    // A real RST (SO_LINGER 0), once the bytes are surely read.
    setTimeout(() => socket.resetAndDestroy(), 100);
  });
  try {
    const socket = await connect(`ws://127.0.0.1:${server.port}/ws`);
    const closed = await socket.closed;
    assert.equal(closed.ending, "disconnect");
    assert.equal(closed.code, 1006);
    // The socket reports the reset as disconnected; the reset is its cause.
    const failure = assertStatus(closed.error, WebSocketStatus.Disconnected);
    assert.equal((failure.cause as { code?: string }).code, "ECONNRESET");
    assert.equal(getStatus(failure.cause), WebSocketStatus.ConnectionReset);
    const { error } = await receiveUntilFailure(socket);
    assertStatus(error, WebSocketStatus.Disconnected, /ECONNRESET/);
  } finally {
    await server.close();
  }
});

Deno.test("status keepAliveTimeout: pings nobody answers end the socket with ending timeout", async () => {
  const frames = new Inbox<number>();
  const server = await rawServer((socket, _head, complete) => {
    complete();
    // Reads the client's frames (first bytes: the opcode) and answers nothing.
    socket.on("data", (chunk: Uint8Array) => frames.push(chunk[0]! & 0x0f));
  });
  try {
    const started = Date.now();
    const socket = await connect(`ws://127.0.0.1:${server.port}/ws`, {
      keepAliveInterval: 100,
      keepAliveTimeout: 100,
    });
    const pending = socket.receive();
    pending.catch(() => {});
    assert.equal(await frames.next(), 0x9, "the client pinged");
    const closed = await socket.closed;
    const took = Date.now() - started;
    assert.ok(took >= 180 && took < 3000, `timed out after ${took} ms`);
    assert.equal(closed.ending, "timeout");
    assert.equal(closed.initiator, "local");
    assert.equal(closed.code, 1006);
    assertStatus(closed.error, WebSocketStatus.KeepAliveTimeout);
    await rejectsWith(
      pending,
      WebSocketStatus.KeepAliveTimeout,
      /Keep-alive timeout/,
    );
    await rejectsWith(socket.send("late"), WebSocketStatus.KeepAliveTimeout);
  } finally {
    await server.close();
  }
});

// ---- send and receive timeouts ---------------------------------------------------

Deno.test("status timeout: a send queued behind a peer that never reads (sendTimeout)", async () => {
  const server = await rawServer((socket, _head, complete) => {
    complete();
    socket.pause(); // Never reads: the client's sends back up.
  });
  try {
    const socket = await connect(`ws://127.0.0.1:${server.port}/ws`, {
      sendTimeout: 300,
    });
    const chunk = new Uint8Array(1024 * 1024);
    // Sends one after another: each resolves once handed on, until the
    // kernel buffers are full and one waits in the queue past sendTimeout.
    let failure: unknown;
    let waited = 0;
    let sent = 0;
    for (let i = 0; i < 64 && failure === undefined; i++) {
      const started = Date.now();
      try {
        await socket.send(chunk);
        sent++;
      } catch (error) {
        failure = error;
        waited = Date.now() - started;
      }
    }
    assertStatus(
      failure,
      WebSocketStatus.Timeout,
      /^send\(\) timed out: the data waited 300 ms in the send queue \(sendTimeout\)/,
    );
    assert.ok(sent > 0, "the first sends went through");
    assert.ok(
      waited >= 250 && waited < 5000,
      `the send gave up after ${waited} ms`,
    );
    // A whole message that timed out leaves the socket open.
    assert.equal(socket.state, "open");
    socket.abort();
    assert.equal((await socket.closed).ending, "abort");
  } finally {
    await server.close();
  }
});

Deno.test("status timeout: nothing arrives within receiveTimeout; the socket stays open", async () => {
  const peers = new Inbox<NetSocket>();
  const server = await rawServer((socket, _head, complete) => {
    complete();
    peers.push(socket);
  });
  try {
    const socket = await connect(`ws://127.0.0.1:${server.port}/ws`, {
      receiveTimeout: 200,
    });
    const peer = await peers.next();
    const started = Date.now();
    await rejectsWith(
      socket.receive(),
      WebSocketStatus.Timeout,
      /no data arrived within 200 ms \(receiveTimeout\)/,
    );
    const took = Date.now() - started;
    assert.ok(took >= 150 && took < 3000, `timed out after ${took} ms`);
    assert.equal(socket.state, "open");
    // Iteration is bounded the same way.
    await assert.rejects(
      socket.messages().next(),
      (error: unknown) => {
        assertStatus(error, WebSocketStatus.Timeout);
        return true;
      },
    );
    // A message that comes later is still received.
    peer.write(new Uint8Array([0x81, 5, ...new TextEncoder().encode("later")]));
    const piece = await socket.receive();
    assert.equal(piece.type, "text");
    assert.equal(new TextDecoder().decode(piece.data), "later");
    assert.equal(piece.endOfMessage, true);
    socket.abort();
  } finally {
    await server.close();
  }
});

// ---- bad arguments ------------------------------------------------------------------

Deno.test("bad arguments throw TypeError or RangeError at once", () => {
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    [
      "an ftp URL",
      () => connect("ftp://x"),
      TypeError,
      /starts with ws:\/\/ or wss:\/\/, got ftp:\/\//,
    ],
    [
      "connectTimeout 0",
      () => connect("ws://127.0.0.1:1/", { connectTimeout: 0 }),
      RangeError,
      /^connectTimeout must be > 0 ms, got 0/,
    ],
    [
      "connectTimeout -5",
      () => connect("ws://127.0.0.1:1/", { connectTimeout: -5 }),
      RangeError,
      /connectTimeout/,
    ],
    [
      "a subprotocol with a comma",
      () => connect("ws://127.0.0.1:1/", { protocols: ["a,b"] }),
      TypeError,
      /^protocols: "a,b" is not a valid subprotocol name/,
    ],
    [
      "an empty subprotocol",
      () => connect("ws://127.0.0.1:1/", { protocols: [""] }),
      TypeError,
      /not a valid subprotocol name/,
    ],
    [
      "bad deflate window bits",
      () =>
        connect("ws://127.0.0.1:1/", {
          deflate: { clientMaxWindowBits: 7 as never },
        }),
      RangeError,
      /^clientMaxWindowBits must be an integer from 8 to 15; got 7/,
    ],
  ];
  for (const [what, call, type, message] of cases) {
    assert.throws(call, (error: unknown) => {
      assert.ok(error instanceof type, `${what}: ${error}`);
      assert.match((error as Error).message, message, what);
      return true;
    }, what);
  }
});

Deno.test({
  name: "bad socket options (receiveTimeout: -1, …) throw RangeError at once",
  fn: async () => {
    const cases: [string, Parameters<typeof connect>[1]][] = [
      ["receiveTimeout -1", { receiveTimeout: -1 }],
      ["sendTimeout 0", { sendTimeout: 0 }],
      ["maxMessageSize 0", { maxMessageSize: 0 }],
      ["closeTimeout 1.5", { closeTimeout: 1.5 }],
    ];
    for (const [what, options] of cases) {
      let thrown: unknown;
      let result: Promise<unknown> | undefined;
      try {
        // An aborted signal: should connect() not throw, it settles at once.
        result = connect("ws://127.0.0.1:1/", {
          ...options,
          signal: AbortSignal.abort(),
        });
      } catch (error) {
        thrown = error;
      }
      const late = await result?.catch((error: unknown) => error);
      assert.ok(
        thrown instanceof RangeError,
        `${what}: connect() did not throw; its promise settled with ${late}`,
      );
    }
  },
});

Deno.test("http:// is taken as ws:// (no throw), and reaches a WebSocket server", async () => {
  let opened = 0;
  const server = serveEngine(
    { port: 0, hostname: "127.0.0.1", path: "/ws" },
    (socket) => {
      opened++;
      socket.addEventListener("message", ({ data }) => socket.send(data));
    },
  );
  const { port } = await server.listening;
  try {
    const socket = await connect(`http://127.0.0.1:${port}/ws`);
    await socket.send("over http:");
    for await (const message of socket) {
      assert.equal(message, "over http:");
      break;
    }
    await socket.close();
    assert.equal(opened, 1);
  } finally {
    await server.shutdown();
  }
});
