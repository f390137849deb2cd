/**
 * socketry's client, `connect()`, against real servers: both socketry
 * backends, Node's `ws` server run by Node, python-websockets' server run by
 * Debian's Python, and Deno's own `Deno.upgradeWebSocket`; then handshake
 * answers the client must refuse, and bad arguments. Each network failure
 * status has its own test in `statuses_test.ts`.
 *
 * The Node and Python peers are ignored when missing unless
 * SOCKETRY_REQUIRE_PEERS=1.
 */

import assert from "node:assert/strict";
import {
  connect,
  type ConnectOptions,
  type EngineSocket,
  type MessageData,
  type Socket,
  type SocketClosed,
  WebSocketError,
  WebSocketStatus,
} from "../../mod.ts";
import { Inbox } from "../helpers/client.ts";
import { HARNESSES } from "../helpers/harness.ts";
import { peerAvailable } from "../helpers/peers.ts";
import { rejectsWith } from "../helpers/rejection.ts";
import {
  hasNodeWs,
  hasPythonWebsockets,
  peerPort,
  type PeerProcess,
  pythonPath,
  startPeer,
} from "../helpers/processes.ts";

const decoder = new TextDecoder();

/** Every message `socket` receives, as `message` events. */
function messagesOf(socket: Socket): Inbox<MessageData> {
  const inbox = new Inbox<MessageData>();
  socket.addEventListener("message", ({ data }) => inbox.push(data));
  return inbox;
}

/** The payload of every PONG `socket` receives, decoded as UTF-8. */
function pongsOf(socket: EngineSocket): Inbox<string> {
  const inbox = new Inbox<string>();
  socket.addEventListener("pong", (event) => {
    inbox.push(decoder.decode((event as MessageEvent<Uint8Array>).data));
  });
  return inbox;
}

/** 1 MiB of bytes that are not all alike. */
function bigBinary(): Uint8Array {
  const bytes = new Uint8Array(1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
  return bytes;
}

/** A plain copy of a close outcome, for `deepEqual`. */
function outcome(closed: SocketClosed): Record<string, unknown> {
  return { ...closed };
}

function closedBy(
  initiator: "local" | "remote",
  code: number,
  reason: string,
): Record<string, unknown> {
  return { code, reason, wasClean: true, initiator, ending: "close" };
}

// ---- socketry's own backends ------------------------------------------------

/** A server of `harness` that echoes, and closes on "close me". */
function echoServer(harness: (typeof HARNESSES)[number]) {
  const sockets = new Inbox<Socket>();
  return {
    sockets,
    server: harness.serve({ protocols: ["chat", "v1"] }, (socket) => {
      sockets.push(socket);
      socket.addEventListener("message", ({ data }) => {
        if (data === "close me") socket.close(4001, "server bye");
        else socket.send(data);
      });
    }),
  };
}

for (const harness of HARNESSES) {
  Deno.test(`connect() to the ${harness.name} backend: echo, fragments and subprotocol`, async () => {
    const { sockets, server: serving } = echoServer(harness);
    const server = await serving;
    try {
      const socket = await connect(server.url, { protocols: ["v1", "chat"] });
      const peer = await sockets.next();
      // The server's order of preference wins.
      assert.equal(socket.protocol, "chat");
      assert.equal(peer.protocol, "chat");
      assert.equal(socket.extensions, "");
      assert.equal(socket.role, "client");
      assert.equal(socket.state, "open");
      const messages = messagesOf(socket);

      await socket.send("hello");
      assert.equal(await messages.next(), "hello");
      await socket.send(new Uint8Array([1, 2, 3]));
      assert.deepEqual(await messages.next(), new Uint8Array([1, 2, 3]));
      await socket.send("héllo", { type: "binary" });
      assert.deepEqual(
        await messages.next(),
        new TextEncoder().encode("héllo"),
      );

      await socket.send("frag", { endOfMessage: false });
      await socket.send("men", { endOfMessage: false });
      await socket.send("ted");
      assert.equal(await messages.next(), "fragmented");
      await socket.send(new Uint8Array([4, 5]), { endOfMessage: false });
      await socket.send(new Uint8Array([6]));
      assert.deepEqual(await messages.next(), new Uint8Array([4, 5, 6]));

      assert.deepEqual(
        outcome(await socket.close()),
        closedBy("local", 1000, ""),
      );
      assert.deepEqual(
        outcome(await peer.closed),
        closedBy("remote", 1000, ""),
      );
      assert.equal(socket.stats.messagesSent, 5);
      assert.equal(socket.stats.messagesReceived, 5);
      assert.equal(peer.stats.messagesReceived, 5);
    } finally {
      await server.close();
    }
  });

  Deno.test(`connect() to the ${harness.name} backend: no common subprotocol`, async () => {
    const { sockets, server: serving } = echoServer(harness);
    const server = await serving;
    try {
      const socket = await connect(server.url, { protocols: ["x-other"] });
      const peer = await sockets.next();
      assert.equal(socket.protocol, "");
      assert.equal(peer.protocol, "");
      await socket.close();
      await peer.closed;
    } finally {
      await server.close();
    }
  });

  Deno.test(`connect() to the ${harness.name} backend: the client closes`, async () => {
    const { sockets, server: serving } = echoServer(harness);
    const server = await serving;
    try {
      const socket = await connect(server.url);
      const peer = await sockets.next();
      assert.deepEqual(
        outcome(await socket.close(4000, "client done")),
        closedBy("local", 4000, "client done"),
      );
      assert.equal(socket.state, "closed");
      assert.deepEqual(
        outcome(await peer.closed),
        closedBy("remote", 4000, "client done"),
      );
      await assert.rejects(socket.send("late"), (error: unknown) => {
        assert.ok(error instanceof WebSocketError);
        assert.equal(error.status, WebSocketStatus.Closed);
        return true;
      });
    } finally {
      await server.close();
    }
  });

  Deno.test(`connect() to the ${harness.name} backend: the server closes`, async () => {
    const { sockets, server: serving } = echoServer(harness);
    const server = await serving;
    try {
      const socket = await connect(server.url);
      const peer = await sockets.next();
      const events = new Inbox<string>();
      socket.addEventListener("close", (event) => {
        events.push(`${event.code} ${event.reason} ${event.detail.ending}`);
      });
      await socket.send("close me");
      assert.deepEqual(
        outcome(await socket.closed),
        closedBy("remote", 4001, "server bye"),
      );
      assert.equal(await events.next(), "4001 server bye close");
      assert.deepEqual(
        outcome(await peer.closed),
        closedBy("local", 4001, "server bye"),
      );
    } finally {
      await server.close();
    }
  });
}

// ---- other servers ----------------------------------------------------------

/**
 * The checks run against every foreign server at `url`: echo of both types,
 * client fragments, 1 MiB binary, ping with payload → pong, a close handshake
 * started by the client, and one started by the server ("close me").
 * `peerCloses` yields each close code and reason the server received.
 */
async function checkServer(
  url: string,
  serverBye: string,
  peerCloses: () => Promise<{ code: number; reason: string }>,
): Promise<void> {
  const socket = await connect(url, { protocols: ["x-other", "chat"] });
  try {
    assert.equal(socket.protocol, "chat");
    const messages = messagesOf(socket);
    const pongs = pongsOf(socket);

    await socket.send("hello");
    assert.equal(await messages.next(), "hello");
    await socket.send(new Uint8Array([1, 2, 3]));
    assert.deepEqual(await messages.next(), new Uint8Array([1, 2, 3]));

    await socket.send("frag", { endOfMessage: false });
    await socket.send("ment");
    assert.equal(await messages.next(), "fragment");

    const big = bigBinary();
    await socket.send(big);
    const echo = await messages.next();
    assert.ok(echo instanceof Uint8Array, "a binary echo");
    assert.equal(echo.byteLength, big.byteLength);
    assert.ok(echo.every((byte, i) => byte === big[i]), "the same bytes");

    socket.ping("are you there");
    assert.equal(await pongs.next(), "are you there");
    socket.ping();
    assert.equal(await pongs.next(), "");

    assert.deepEqual(
      outcome(await socket.close(4000, "client done")),
      closedBy("local", 4000, "client done"),
    );
    assert.deepEqual(await peerCloses(), { code: 4000, reason: "client done" });
  } finally {
    socket.abort();
  }

  const second = await connect(url);
  try {
    await second.send("close me");
    assert.deepEqual(
      outcome(await second.closed),
      closedBy("remote", 4001, serverBye),
    );
    assert.deepEqual(await peerCloses(), { code: 4001, reason: serverBye });
  } finally {
    second.abort();
  }
}

/** The close codes a peer server prints, skipping its other lines. */
function printedCloses(
  peer: PeerProcess,
): () => Promise<{ code: number; reason: string }> {
  return async () => {
    while (true) {
      const line = JSON.parse(await peer.lines.next());
      if (line.close !== undefined) return line.close;
    }
  };
}

const runNode = peerAvailable(
  "node",
  hasNodeWs(),
  "install Node.js, then npm ci (for the ws package)",
);

Deno.test({
  name: "connect() to Node's ws server",
  ignore: !runNode,
  fn: async () => {
    const peer = startPeer("node", [
      new URL("../interop/peers/ws_server.mjs", import.meta.url).pathname,
    ]);
    try {
      const port = await peerPort(peer);
      await checkServer(
        `ws://127.0.0.1:${port}/`,
        "ws server bye",
        printedCloses(peer),
      );
    } catch (error) {
      throw new Error(`${error}\n${peer.output()}`, { cause: error });
    } finally {
      await peer.stop();
    }
  },
});

const runPython = peerAvailable(
  "python3-websockets",
  hasPythonWebsockets(),
  `apt-get install python3-websockets (for ${pythonPath})`,
);

Deno.test({
  name: "connect() to python-websockets' server",
  ignore: !runPython,
  fn: async () => {
    const peer = startPeer(pythonPath, [
      new URL("../interop/peers/python_server.py", import.meta.url).pathname,
    ]);
    try {
      const port = await peerPort(peer);
      await checkServer(
        `ws://127.0.0.1:${port}/`,
        "python server bye",
        printedCloses(peer),
      );
    } catch (error) {
      throw new Error(`${error}\n${peer.output()}`, { cause: error });
    } finally {
      await peer.stop();
    }
  },
});

Deno.test("connect() to Deno's own WebSocket server", async () => {
  const closes = new Inbox<{ code: number; reason: string }>();
  const { promise: listening, resolve } = Promise.withResolvers<number>();
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: ({ port }) => resolve(port),
  }, (request) => {
    const offered = (request.headers.get("sec-websocket-protocol") ?? "")
      .split(",").map((p) => p.trim());
    const { socket, response } = Deno.upgradeWebSocket(
      request,
      offered.includes("chat") ? { protocol: "chat" } : {},
    );
    socket.binaryType = "arraybuffer";
    socket.onmessage = ({ data }) => {
      if (data === "close me") socket.close(4001, "deno server bye");
      else socket.send(data);
    };
    socket.onclose = ({ code, reason }) => closes.push({ code, reason });
    return response;
  });
  try {
    const port = await listening;
    await checkServer(
      `ws://127.0.0.1:${port}/`,
      "deno server bye",
      () => closes.next(),
    );
  } finally {
    await server.shutdown();
  }
});

// ---- a scripted server, byte by byte -----------------------------------------

const encoder = new TextEncoder();

/** RFC 6455's accept value, computed with Web Crypto (not socketry's SHA-1). */
async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** An unmasked server frame (payloads under 126 bytes), optionally masked. */
function serverFrame(
  opcode: number,
  payload: Uint8Array | string,
  mask?: number[],
): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  assert.ok(data.length < 126);
  const head = mask === undefined ? 2 : 6;
  const frame = new Uint8Array(head + data.length);
  frame[0] = 0x80 | opcode;
  frame[1] = (mask === undefined ? 0 : 0x80) | data.length;
  if (mask !== undefined) frame.set(mask, 2);
  for (let i = 0; i < data.length; i++) {
    frame[head + i] = mask === undefined ? data[i]! : data[i]! ^ mask[i % 4]!;
  }
  return frame;
}

interface ClientFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}

/** One accepted connection, read with a buffer. */
class RawPeer {
  readonly conn: Deno.Conn;
  #buffer = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buffer.length + n);
    joined.set(this.#buffer);
    joined.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = joined;
    return true;
  }

  async #take(n: number): Promise<Uint8Array> {
    while (this.#buffer.length < n) {
      if (!await this.#fill()) throw new Error("EOF from the client");
    }
    const taken = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return taken;
  }

  /** The request head, without its final blank line. */
  async head(): Promise<string> {
    while (true) {
      const text = new TextDecoder().decode(this.#buffer);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        this.#buffer = this.#buffer.slice(end + 4);
        return text.slice(0, end);
      }
      if (!await this.#fill()) throw new Error("EOF in the request head");
    }
  }

  /** One frame from the client, unmasked. */
  async frame(): Promise<ClientFrame> {
    const [b0, b1] = await this.#take(2);
    let length = b1! & 0x7f;
    if (length === 126) {
      length = new DataView((await this.#take(2)).buffer).getUint16(0);
    } else if (length === 127) {
      length = Number(
        new DataView((await this.#take(8)).buffer).getBigUint64(0),
      );
    }
    const masked = (b1! & 0x80) !== 0;
    const mask = masked ? await this.#take(4) : undefined;
    const payload = await this.#take(length);
    if (mask !== undefined) {
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
    }
    return { fin: (b0! & 0x80) !== 0, opcode: b0! & 0x0f, masked, payload };
  }

  /** Whether the client closed its side (EOF) before sending more. */
  async eof(): Promise<boolean> {
    if (this.#buffer.length > 0) return false;
    return !await this.#fill();
  }

  /** Writes `head` and `frame` in one write, so they may share a segment. */
  async writeAll(head: string, frame: Uint8Array): Promise<void> {
    const bytes = new Uint8Array(encoder.encode(head).length + frame.length);
    bytes.set(encoder.encode(head));
    bytes.set(frame, bytes.length - frame.length);
    await this.write(bytes);
  }

  write(bytes: Uint8Array | string): Promise<number> {
    return this.conn.write(
      typeof bytes === "string" ? encoder.encode(bytes) : bytes,
    );
  }
}

/** Listens once; `script` plays the server on the accepted connection. */
async function withRawServer(
  script: (peer: RawPeer) => Promise<void>,
  client: (port: number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted: Deno.Conn | undefined;
  const close = () => {
    try {
      accepted?.close();
    } catch {
      // Already closed.
    }
  };
  const played = listener.accept().then(async (conn) => {
    accepted = conn;
    try {
      await script(new RawPeer(conn));
    } finally {
      close();
    }
  });
  try {
    await client(listener.addr.port);
    await played;
  } finally {
    close(); // A failed client must not leave the script reading forever.
    listener.close();
    await played.catch(() => {});
  }
}

/** Reads the request and answers 101, with `extra` lines and `after` bytes. */
async function answer101(
  peer: RawPeer,
  extra: string[] = [],
  after?: Uint8Array,
): Promise<Map<string, string>> {
  const [, ...lines] = (await peer.head()).split("\r\n");
  const headers = new Map(
    lines.map((line) => {
      const colon = line.indexOf(":");
      return [
        line.slice(0, colon).trim().toLowerCase(),
        line.slice(colon + 1).trim(),
      ];
    }),
  );
  const response = encoder.encode(
    [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${await acceptFor(
        headers.get("sec-websocket-key")!,
      )}`,
      ...extra,
      "",
      "",
    ].join("\r\n"),
  );
  const bytes = new Uint8Array(response.length + (after?.length ?? 0));
  bytes.set(response);
  if (after !== undefined) bytes.set(after, response.length);
  await peer.write(bytes); // One write: the frame may share the 101's segment.
  return headers;
}

Deno.test("connect() sends an RFC 6455 request and reads a frame sent with the 101", async () => {
  let request = "";
  await withRawServer(async (peer) => {
    const head = await peer.head();
    request = head;
    const key = /^sec-websocket-key: (.*)$/im.exec(head)![1]!;
    await peer.writeAll(
      [
        "HTTP/1.1 101 Switching Protocols",
        "upgrade: WebSocket",
        "connection: keep-alive, Upgrade",
        `sec-websocket-accept: ${await acceptFor(key)}`,
        "sec-websocket-protocol: v1",
        "",
        "",
      ].join("\r\n"),
      serverFrame(0x1, "welcome"),
    );
    // The client's close, masked, then the server closes TCP.
    const close = await peer.frame();
    assert.equal(close.opcode, 0x8);
    assert.equal(close.masked, true);
    assert.deepEqual([...close.payload], [0x03, 0xe8]);
    await peer.write(serverFrame(0x8, new Uint8Array([0x03, 0xe8])));
  }, async (port) => {
    const socket = await connect(`ws://127.0.0.1:${port}/chat/room?id=7`, {
      protocols: ["v1", "v2"],
      headers: { Authorization: "Bearer t0k3n", Origin: "http://example.com" },
    });
    assert.equal(socket.protocol, "v1");
    for await (const message of socket) {
      assert.equal(message, "welcome");
      break;
    }
    assert.deepEqual(
      outcome(await socket.close()),
      closedBy("local", 1000, ""),
    );
  });
  const [requestLine, ...lines] = request.split("\r\n");
  assert.equal(requestLine, "GET /chat/room?id=7 HTTP/1.1");
  const headers = new Headers(
    lines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon), line.slice(colon + 1).trim()] as [
        string,
        string,
      ];
    }),
  );
  assert.match(headers.get("host")!, /^127\.0\.0\.1:\d+$/);
  assert.equal(headers.get("upgrade")?.toLowerCase(), "websocket");
  assert.match(headers.get("connection")!, /upgrade/i);
  assert.equal(headers.get("sec-websocket-version"), "13");
  const key = headers.get("sec-websocket-key")!;
  assert.equal(atob(key).length, 16, `a 16-byte nonce: ${key}`);
  assert.equal(headers.get("sec-websocket-protocol"), "v1, v2");
  assert.equal(headers.get("authorization"), "Bearer t0k3n");
  assert.equal(headers.get("origin"), "http://example.com");
  assert.equal(headers.get("sec-websocket-extensions"), null);
});

Deno.test("connect(): the client masks its frames and answers a server PING with its payload", async () => {
  await withRawServer(async (peer) => {
    await answer101(peer);
    const text = await peer.frame();
    assert.deepEqual(
      { ...text, payload: new TextDecoder().decode(text.payload) },
      { fin: false, opcode: 0x1, masked: true, payload: "a" },
    );
    const rest = await peer.frame();
    assert.deepEqual(
      { ...rest, payload: new TextDecoder().decode(rest.payload) },
      { fin: true, opcode: 0x0, masked: true, payload: "b" },
    );
    await peer.write(serverFrame(0x9, "ping payload"));
    const pong = await peer.frame();
    assert.deepEqual(
      { ...pong, payload: new TextDecoder().decode(pong.payload) },
      { fin: true, opcode: 0xa, masked: true, payload: "ping payload" },
    );
    // The server starts the close: the client echoes the code and reason.
    await peer.write(
      serverFrame(0x8, new Uint8Array([0x0f, 0xa0, ...encoder.encode("bye")])),
    );
    const close = await peer.frame();
    assert.deepEqual(
      { ...close, payload: [...close.payload] },
      {
        fin: true,
        opcode: 0x8,
        masked: true,
        payload: [0x0f, 0xa0, ...encoder.encode("bye")],
      },
    );
    peer.conn.close(); // The server closes TCP first (RFC 6455 7.1.1).
  }, async (port) => {
    const socket = await connect(`ws://127.0.0.1:${port}/`);
    const pings = new Inbox<string>();
    socket.addEventListener("ping", (event) => {
      pings.push(
        new TextDecoder().decode((event as MessageEvent<Uint8Array>).data),
      );
    });
    await socket.send("a", { endOfMessage: false });
    await socket.send("b");
    assert.equal(await pings.next(), "ping payload");
    assert.deepEqual(
      outcome(await socket.closed),
      closedBy("remote", 4000, "bye"),
    );
  });
});

Deno.test("connect(): a masked frame from the server fails the connection with 1002", async () => {
  await withRawServer(async (peer) => {
    await answer101(peer, [], serverFrame(0x1, "hidden", [1, 2, 3, 4]));
    const close = await peer.frame();
    assert.equal(close.opcode, 0x8);
    assert.equal(close.masked, true);
    assert.equal(
      new DataView(close.payload.buffer).getUint16(0),
      1002,
      new TextDecoder().decode(close.payload),
    );
  }, async (port) => {
    const socket = await connect(`ws://127.0.0.1:${port}/`);
    const closed = await socket.closed;
    assert.equal(closed.code, 1002);
    assert.equal(closed.ending, "error");
    assert.equal(closed.wasClean, false);
    assert.equal(closed.error?.status, WebSocketStatus.ProtocolError);
  });
});

Deno.test("connect(): a 101 the client cannot accept is handshakeRejected", async () => {
  const cases: [string, (key: string) => Promise<string[]>, RegExp][] = [
    [
      "a wrong accept value",
      () =>
        Promise.resolve([
          "Upgrade: websocket",
          // The accept value of RFC 6455's sample key, not of the one sent.
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ]),
      /Sec-WebSocket-Accept/,
    ],
    [
      "no Upgrade header",
      async (key) => [`Sec-WebSocket-Accept: ${await acceptFor(key)}`],
      /Upgrade/,
    ],
    [
      "an extension that was not offered",
      async (key) => [
        "Upgrade: websocket",
        `Sec-WebSocket-Accept: ${await acceptFor(key)}`,
        "Sec-WebSocket-Extensions: permessage-deflate",
      ],
      /extensions/,
    ],
    [
      "a subprotocol that was not offered",
      async (key) => [
        "Upgrade: websocket",
        `Sec-WebSocket-Accept: ${await acceptFor(key)}`,
        "Sec-WebSocket-Protocol: other",
      ],
      /subprotocol other/,
    ],
  ];
  for (const [what, lines, message] of cases) {
    await withRawServer(async (peer) => {
      const head = await peer.head();
      const key = /^sec-websocket-key: (.*)$/im.exec(head)![1]!;
      await peer.write(
        [
          "HTTP/1.1 101 Switching Protocols",
          "Connection: Upgrade",
          ...await lines(key),
          "",
          "",
        ].join("\r\n"),
      );
      assert.ok(await peer.eof(), `${what}: the client hangs up`);
    }, async (port) => {
      const error = await rejectsWith(
        connect(`ws://127.0.0.1:${port}/`, { protocols: ["chat"] }),
        WebSocketStatus.HandshakeRejected,
      );
      assert.match(error.message, message, what);
    });
  }
});

// ---- failures ---------------------------------------------------------------

Deno.test("connect() throws TypeError at once for bad arguments", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["an ftp URL", () => connect("ftp://x"), /ws:\/\/ or wss:\/\//],
    ["not a URL", () => connect("not a url"), /Not a URL/],
    ["a fragment", () => connect("ws://127.0.0.1/#x"), /fragment/],
    [
      "a subprotocol with a space",
      () => connect("ws://127.0.0.1/", { protocols: ["chat v1"] }),
      /not a valid subprotocol/,
    ],
    [
      "a subprotocol offered twice",
      () => connect("ws://127.0.0.1/", { protocols: ["chat", "chat"] }),
      /once/,
    ],
    [
      "a reserved header",
      () => connect("ws://127.0.0.1/", { headers: { Upgrade: "h2c" } }),
      /upgrade is set by the handshake/,
    ],
    [
      "another reserved header",
      () =>
        connect("ws://127.0.0.1/", {
          headers: [["Sec-WebSocket-Key", "x"]],
        }),
      /sec-websocket-key/,
    ],
    [
      "a misspelt option",
      () =>
        connect("ws://127.0.0.1/", {
          maxMessageSise: 10,
        } as ConnectOptions),
      /^Unknown option "maxMessageSise": did you mean "maxMessageSize"\?$/,
    ],
    [
      "a server socket's option",
      () => connect("ws://127.0.0.1/", { protocol: "chat" } as ConnectOptions),
      /^Unknown option "protocol"$/,
    ],
  ];
  for (const [what, call, message] of cases) {
    assert.throws(call, (error: unknown) => {
      assert.ok(error instanceof TypeError, `${what}: ${error}`);
      assert.match(error.message, message, what);
      return true;
    }, what);
  }
  assert.throws(
    () => connect("ws://127.0.0.1/", { connectTimeout: 0 }),
    RangeError,
  );
});
