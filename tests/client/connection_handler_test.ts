/**
 * The client's connection settings (SPEC C3) against real loopback peers:
 * cookies kept across handshakes, Basic credentials, the options a shared
 * `ConnectionHandler` owns, TLS trust, client certificates (mutual TLS) and
 * tunnelling through Debian's tinyproxy with HTTP CONNECT.
 *
 * The tinyproxy tests are ignored when it is missing, unless
 * SOCKETRY_REQUIRE_PEERS=1.
 */

import assert from "node:assert/strict";
import {
  connect,
  ConnectionHandler,
  type ConnectOptions,
  type CookieStore,
  type EngineServerOptions,
  type EngineSocket,
  serveEngine,
  type Socket,
  WebSocketStatus,
} from "../../mod.ts";
import { CookieJar } from "../../lib/client/cookie_jar.ts";
import { Inbox } from "../helpers/client.ts";
import { rejection } from "../helpers/rejection.ts";
import { mutualTlsCertificates } from "../helpers/client_cert.ts";
import { testCertificates } from "../helpers/tls.ts";
import { startTinyproxy, tinyproxyAvailable } from "../helpers/tinyproxy.ts";

/** Sends `text` and returns the next message, which an echo server sends back. */
async function roundTrip(socket: Socket, text: string): Promise<unknown> {
  await socket.send(text);
  for await (const message of socket) return message;
  throw new Error(`the socket ended before the echo of ${text}`);
}

/** The user:password of an `Authorization: Basic` value, UTF-8 decoded. */
function basicUser(header: string | null): string {
  assert.ok(header !== null, "an Authorization header");
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
  assert.ok(match !== null, `Basic credentials, got ${header}`);
  const bytes = Uint8Array.from(atob(match[1]!), (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

// ---- a Deno.serve echo server that records requests and sets cookies -------

/** What the server saw of a handshake request (copied: Deno frees requests). */
interface Recorded {
  readonly url: string;
  readonly headers: Headers;
}

interface RecordingServer {
  readonly port: number;
  /** The request of every handshake, in order. */
  readonly requests: Recorded[];
  close(): Promise<void>;
}

/**
 * Answers WebSocket handshakes with `Deno.upgradeWebSocket`, adding the
 * `Set-Cookie` lines `cookies(n)` gives for the n-th handshake (from 1), and
 * echoes messages.
 */
function recordingServer(
  cookies: (n: number) => string[] = () => [],
): Promise<RecordingServer> {
  const requests: Recorded[] = [];
  const { promise, resolve } = Promise.withResolvers<RecordingServer>();
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: ({ port }) =>
      resolve({ port, requests, close: () => server.shutdown() }),
  }, (request) => {
    requests.push({ url: request.url, headers: new Headers(request.headers) });
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = ({ data }) => socket.send(data);
    for (const line of cookies(requests.length)) {
      response.headers.append("set-cookie", line);
    }
    return response;
  });
  return promise;
}

// ---- cookies ----------------------------------------------------------------

Deno.test("ConnectionHandler: cookies set on one handshake are sent with the next", async () => {
  const server = await recordingServer((n) =>
    n === 1 ? ["sid=abc123; Path=/; HttpOnly", "room=7; Path=/chat"] : []
  );
  try {
    const jar = new CookieJar();
    const handler = new ConnectionHandler({ cookies: jar });
    const first = await connect(
      `ws://127.0.0.1:${server.port}/chat/ws`,
      { handler },
    );
    assert.equal(await roundTrip(first, "one"), "one");
    await first.close();
    assert.equal(server.requests[0]?.headers.get("cookie"), null);
    assert.equal(handler.cookies, jar);
    assert.equal(jar.size, 2);

    const second = await connect(
      `ws://127.0.0.1:${server.port}/chat/ws`,
      { handler },
    );
    await second.close();
    // Longest path first.
    assert.equal(
      server.requests[1]?.headers.get("cookie"),
      "room=7; sid=abc123",
    );

    // Another path gets only the cookies whose path matches.
    const elsewhere = await connect(
      `ws://127.0.0.1:${server.port}/feed`,
      { handler },
    );
    await elsewhere.close();
    assert.equal(server.requests[2]?.headers.get("cookie"), "sid=abc123");

    // A socket without the handler has no jar and sends none.
    const stranger = await connect(`ws://127.0.0.1:${server.port}/chat/ws`);
    await stranger.close();
    assert.equal(server.requests[3]?.headers.get("cookie"), null);
    assert.equal(server.requests.length, 4);
  } finally {
    await server.close();
  }
});

Deno.test("connect({ cookies }): one jar shared by plain connect() calls; Max-Age=0 deletes", async () => {
  const server = await recordingServer((n) =>
    n === 1
      ? ["token=t1", "lang=en; Max-Age=3600"]
      : n === 2
      ? ["token=; Max-Age=0"]
      : []
  );
  try {
    const jar = new CookieJar();
    const url = `ws://127.0.0.1:${server.port}/ws`;
    for (let i = 0; i < 3; i++) {
      const socket = await connect(url, { cookies: jar });
      await socket.close();
    }
    assert.deepEqual(
      server.requests.map((request) => request.headers.get("cookie")),
      [null, "token=t1; lang=en", "lang=en"],
    );
    assert.equal(jar.size, 1);
    assert.equal(jar.header(url), "lang=en");
  } finally {
    await server.close();
  }
});

Deno.test("connect({ cookies }) takes any CookieStore: it sees each response's Set-Cookie and its header is sent", async () => {
  const server = await recordingServer((n) => n === 1 ? ["a=1", "b=2"] : []);
  try {
    const seen: { url: string; lines: string[] }[] = [];
    const store: CookieStore = {
      store(url, setCookies) {
        seen.push({ url: String(url), lines: [...setCookies] });
      },
      header: () => "custom=yes",
    };
    const url = `ws://127.0.0.1:${server.port}/ws`;
    for (let i = 0; i < 2; i++) {
      const socket = await connect(url, { cookies: store });
      await socket.close();
    }
    assert.deepEqual(
      server.requests.map((request) => request.headers.get("cookie")),
      ["custom=yes", "custom=yes"],
    );
    assert.deepEqual(seen.map(({ lines }) => lines), [["a=1", "b=2"], []]);
    assert.equal(seen[0]!.url, url);
  } finally {
    await server.close();
  }
});

// ---- credentials --------------------------------------------------------------

Deno.test("connect({ credentials }) sends Authorization: Basic", async () => {
  const server = await recordingServer();
  try {
    const socket = await connect(`ws://127.0.0.1:${server.port}/ws`, {
      credentials: { username: "ada", password: "lövelace: 1815" },
    });
    assert.equal(await roundTrip(socket, "hi"), "hi");
    await socket.close();
    const [request] = server.requests;
    assert.equal(
      basicUser(request!.headers.get("authorization")),
      "ada:lövelace: 1815",
    );
  } finally {
    await server.close();
  }
});

Deno.test("connect() sends the URL's user and password as Authorization: Basic, and not in the request", async () => {
  const server = await recordingServer();
  try {
    const socket = await connect(
      `ws://user:pa%20ss@127.0.0.1:${server.port}/ws?x=1`,
    );
    await socket.close();
    const [request] = server.requests;
    assert.equal(
      basicUser(request!.headers.get("authorization")),
      "user:pa ss",
    );
    assert.equal(request!.headers.get("host"), `127.0.0.1:${server.port}`);
    assert.equal(
      request!.url,
      `http://127.0.0.1:${server.port}/ws?x=1`,
      "no user info in the request",
    );
  } finally {
    await server.close();
  }
});

Deno.test("credentials conflicts throw TypeError at once", () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      "credentials and user info in the URL",
      () =>
        connect("ws://user:pw@127.0.0.1:1/", {
          credentials: { username: "a", password: "b" },
        }),
      /^credentials: given both as an option and in the URL/,
    ],
    [
      "credentials and an Authorization header",
      () =>
        connect("ws://127.0.0.1:1/", {
          credentials: { username: "a", password: "b" },
          headers: { Authorization: "Bearer x" },
        }),
      /^headers: Authorization conflicts with credentials/,
    ],
    [
      "URL user info and an Authorization header",
      () =>
        connect("ws://user:pw@127.0.0.1:1/", {
          headers: [["authorization", "Bearer x"]],
        }),
      /^headers: Authorization conflicts with credentials/,
    ],
    [
      "a handler's credentials and an Authorization header",
      () =>
        connect("ws://127.0.0.1:1/", {
          handler: new ConnectionHandler({
            credentials: { username: "a", password: "b" },
          }),
          headers: { Authorization: "Bearer x" },
        }),
      /^headers: Authorization conflicts with credentials/,
    ],
    [
      "a user name with a colon",
      () =>
        connect("ws://127.0.0.1:1/", {
          credentials: { username: "a:b", password: "c" },
        }),
      /^credentials: a Basic user name may not contain ":"/,
    ],
  ];
  for (const [what, call, message] of cases) {
    assert.throws(call, (error: unknown) => {
      assert.ok(error instanceof TypeError, `${what}: ${error}`);
      assert.match(error.message, message, what);
      return true;
    }, what);
  }
});

// ---- the shared handler (SPEC C3) ----------------------------------------------

Deno.test("connect() with a handler throws TypeError naming each option the handler owns", async () => {
  const { ca, cert, key } = await testCertificates();
  const handler = new ConnectionHandler();
  const owned: [keyof ConnectOptions, unknown][] = [
    ["caCerts", [ca]],
    ["clientCertificate", { cert, key }],
    ["dangerouslyIgnoreCertificateErrors", true],
    ["proxy", "http://127.0.0.1:3128"],
    ["cookies", new CookieJar()],
    ["credentials", { username: "a", password: "b" }],
  ];
  for (const [name, value] of owned) {
    assert.throws(
      () => connect("ws://127.0.0.1:1/", { handler, [name]: value }),
      (error: unknown) => {
        assert.ok(error instanceof TypeError, `${name}: ${error}`);
        assert.match(
          error.message,
          new RegExp(`^${name}: this socket has a shared ConnectionHandler`),
        );
        return true;
      },
      name,
    );
  }
  // User info in the URL is credentials too.
  assert.throws(
    () => connect("ws://user:pw@127.0.0.1:1/", { handler }),
    /^TypeError: credentials: .*the URL carries a user name/,
  );
  assert.throws(
    () =>
      connect("ws://127.0.0.1:1/", {
        handler: {} as unknown as ConnectionHandler,
      }),
    /^TypeError: handler must be a ConnectionHandler/,
  );
});

Deno.test("ConnectionHandler checks its options at once", () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      "caCerts that are not PEM",
      () => new ConnectionHandler({ caCerts: ["not a certificate"] }),
      /^caCerts must be an array of PEM certificates/,
    ],
    [
      "a client certificate that is not PEM",
      () =>
        new ConnectionHandler({
          clientCertificate: { cert: "x", key: "y" },
        }),
      /^clientCertificate needs cert and key/,
    ],
    [
      "an https proxy",
      () => new ConnectionHandler({ proxy: "https://127.0.0.1:3128" }),
      /^proxy: only http:\/\/ proxies/,
    ],
    [
      "a proxy that is not a URL",
      () => new ConnectionHandler({ proxy: "proxy:3128:x" }),
      /^proxy: /,
    ],
    [
      "cookies that are not a CookieStore",
      () =>
        new ConnectionHandler({ cookies: new Map() as unknown as CookieJar }),
      /^cookies must be a CookieStore, with store\(\) and header\(\)/,
    ],
  ];
  for (const [what, call, message] of cases) {
    assert.throws(call, (error: unknown) => {
      assert.ok(error instanceof TypeError, `${what}: ${error}`);
      assert.match(error.message, message, what);
      return true;
    }, what);
  }
  // The same checks through connect(), synchronously.
  assert.throws(
    () => connect("ws://127.0.0.1:1/", { proxy: "https://127.0.0.1:3128" }),
    /^TypeError: proxy: only http:\/\/ proxies \(HTTP CONNECT\) are supported, got https:\/\//,
  );
});

Deno.test("one ConnectionHandler serves three open sockets: shared cookies and credentials", async () => {
  const server = await recordingServer((n) => [`visit=${n}; Path=/`]);
  const handler = new ConnectionHandler({
    cookies: new CookieJar(),
    credentials: { username: "shared", password: "secret" },
  });
  const sockets: EngineSocket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      sockets.push(
        await connect(`ws://127.0.0.1:${server.port}/ws`, { handler }),
      );
    }
    // All three are open at once and independent.
    for (const [i, socket] of sockets.entries()) {
      assert.equal(await roundTrip(socket, `socket ${i}`), `socket ${i}`);
    }
    assert.deepEqual(
      server.requests.map((request) => request.headers.get("cookie")),
      [null, "visit=1", "visit=2"],
    );
    for (const request of server.requests) {
      assert.equal(
        basicUser(request.headers.get("authorization")),
        "shared:secret",
      );
    }
    assert.equal(handler.cookies?.header(`ws://127.0.0.1/ws`), "visit=3");
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
    await server.close();
  }
});

// ---- TLS ------------------------------------------------------------------------

interface EngineEcho {
  readonly port: number;
  /** The server side of every socket opened. */
  readonly sockets: Inbox<EngineSocket>;
  /** How many sockets were opened. */
  opened(): number;
  close(): Promise<void>;
}

async function engineEcho(
  options: EngineServerOptions = {},
): Promise<EngineEcho> {
  const sockets = new Inbox<EngineSocket>();
  let opened = 0;
  const server = serveEngine(
    { port: 0, hostname: "127.0.0.1", path: "/ws", ...options },
    (socket) => {
      opened++;
      sockets.push(socket as EngineSocket);
      socket.addEventListener("message", ({ data }) => {
        socket.send(data).catch(() => socket.abort());
      });
    },
  );
  const { port } = await server.listening;
  return {
    port,
    sockets,
    opened: () => opened,
    close: () => server.shutdown(),
  };
}

Deno.test("wss:// trusts caCerts, by host name and by IP address; https:// means wss://", async () => {
  const { ca, cert, key } = await testCertificates();
  const server = await engineEcho({ tls: { cert, key } });
  try {
    for (
      const url of [
        `wss://localhost:${server.port}/ws`,
        `wss://127.0.0.1:${server.port}/ws`,
        `https://localhost:${server.port}/ws`,
      ]
    ) {
      const socket = await connect(url, { caCerts: [ca] });
      assert.equal(await roundTrip(socket, url), url);
      assert.equal((await socket.close()).ending, "close");
    }
    // A handler with the CA, shared by two sockets open at once.
    const handler = new ConnectionHandler({ caCerts: [ca] });
    const a = await connect(`wss://localhost:${server.port}/ws`, { handler });
    const b = await connect(`wss://localhost:${server.port}/ws`, { handler });
    assert.equal(await roundTrip(a, "a"), "a");
    assert.equal(await roundTrip(b, "b"), "b");
    await Promise.all([a.close(), b.close()]);
    assert.equal(server.opened(), 5);
  } finally {
    await server.close();
  }
});

Deno.test("wss:// without the CA: certificateInvalid; dangerouslyIgnoreCertificateErrors connects", async () => {
  const { cert, key } = await testCertificates();
  const server = await engineEcho({ tls: { cert, key } });
  try {
    const error = await rejection(
      connect(`wss://localhost:${server.port}/ws`, { connectTimeout: 10_000 }),
    );
    assert.equal(
      error.status,
      WebSocketStatus.CertificateInvalid,
      error.message,
    );
    assert.match(error.message, /certificate/);
    assert.equal(server.opened(), 0);

    const socket = await connect(`wss://localhost:${server.port}/ws`, {
      dangerouslyIgnoreCertificateErrors: true,
    });
    assert.equal(await roundTrip(socket, "insecure"), "insecure");
    await socket.close();
    assert.equal(server.opened(), 1);
  } finally {
    await server.close();
  }
});

Deno.test("wss:// to a certificate for another name: certificateInvalid even with its CA", async () => {
  const { ca, wrongName } = await mutualTlsCertificates();
  const server = await engineEcho({ tls: wrongName });
  try {
    for (const host of ["localhost", "127.0.0.1"]) {
      const error = await rejection(
        connect(`wss://${host}:${server.port}/ws`, { caCerts: [ca] }),
      );
      assert.equal(
        error.status,
        WebSocketStatus.CertificateInvalid,
        error.message,
      );
      assert.match(error.message, /altnames/);
    }
    assert.equal(server.opened(), 0);
  } finally {
    await server.close();
  }
});

Deno.test("mutual TLS: a client certificate signed by the server's client CA connects", async () => {
  const { ca, server: serverPair, client } = await mutualTlsCertificates();
  const server = await engineEcho({ tls: { ...serverPair, clientCa: [ca] } });
  try {
    const socket = await connect(`wss://localhost:${server.port}/ws`, {
      caCerts: [ca],
      clientCertificate: client,
    });
    assert.equal(await roundTrip(socket, "mutual"), "mutual");
    await socket.close();
    // The same through a shared handler.
    const handler = new ConnectionHandler({
      caCerts: [ca],
      clientCertificate: client,
    });
    const again = await connect(`wss://127.0.0.1:${server.port}/ws`, {
      handler,
    });
    assert.equal(await roundTrip(again, "again"), "again");
    await again.close();
    assert.equal(server.opened(), 2);
  } finally {
    await server.close();
  }
});

Deno.test("mutual TLS: without a client certificate, or with one of another CA, connect() rejects", async () => {
  const { ca, server: serverPair, strangerClient } =
    await mutualTlsCertificates();
  const server = await engineEcho({ tls: { ...serverPair, clientCa: [ca] } });
  try {
    const cases: [string, ConnectOptions][] = [
      ["no client certificate", { caCerts: [ca] }],
      [
        "a client certificate of another CA",
        { caCerts: [ca], clientCertificate: strangerClient },
      ],
    ];
    for (const [what, options] of cases) {
      const started = Date.now();
      const error = await rejection(
        connect(`wss://localhost:${server.port}/ws`, {
          ...options,
          connectTimeout: 10_000,
        }),
      );
      const took = Date.now() - started;
      // Observed: "no client certificate" is cannotConnect (TLS alert
      // certificate_required) and "another CA" is handshakeRejected (the
      // server hangs up after TLS 1.3 let the client finish); never a hang.
      assert.ok(
        [
          WebSocketStatus.CannotConnect,
          WebSocketStatus.HandshakeRejected,
          WebSocketStatus.CertificateInvalid,
        ].includes(error.status as never),
        `${what}: ${error.status} ${error.message}`,
      );
      assert.ok(took < 5000, `${what}: failed after ${took} ms, not at once`);
    }
    assert.equal(server.opened(), 0, "no socket reached the application");
  } finally {
    await server.close();
  }
});

// ---- HTTP CONNECT through tinyproxy ----------------------------------------------

const runProxy = tinyproxyAvailable();

Deno.test({
  name: "ws:// through tinyproxy: the tunnel carries the socket",
  ignore: !runProxy,
  fn: async () => {
    const server = await engineEcho();
    const proxy = await startTinyproxy({ connectPorts: [server.port] });
    try {
      const socket = await connect(`ws://127.0.0.1:${server.port}/ws`, {
        proxy: proxy.url,
      });
      const peer = await server.sockets.next();
      assert.equal(await roundTrip(socket, "via proxy"), "via proxy");
      // The client talks to the proxy; the server sees the proxy's connection.
      assert.equal(socket.remoteAddress, `127.0.0.1:${proxy.port}`);
      assert.notEqual(peer.remoteAddress, socket.localAddress);
      assert.match(
        await proxy.log(),
        new RegExp(`CONNECT 127\\.0\\.0\\.1:${server.port} HTTP/1\\.1`),
      );
      assert.equal((await socket.close()).ending, "close");
      assert.equal((await peer.closed).ending, "close");

      // A shared handler tunnels too.
      const handler = new ConnectionHandler({ proxy: proxy.url });
      assert.equal(handler.proxy?.href, `${proxy.url}/`);
      const again = await connect(`ws://127.0.0.1:${server.port}/ws`, {
        handler,
      });
      assert.equal(again.remoteAddress, `127.0.0.1:${proxy.port}`);
      await again.close();

      // With the proxy gone, connecting through it fails.
      await proxy.stop();
      const error = await rejection(
        connect(`ws://127.0.0.1:${server.port}/ws`, { handler }),
      );
      assert.equal(error.status, WebSocketStatus.CannotConnect, error.message);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${proxy.port}`));
      assert.equal(server.opened(), 2);
    } finally {
      await proxy.stop();
      await server.close();
    }
  },
});

Deno.test({
  name: "wss:// through tinyproxy: TLS runs inside the tunnel",
  ignore: !runProxy,
  fn: async () => {
    const { ca, cert, key } = await testCertificates();
    const server = await engineEcho({ tls: { cert, key } });
    const proxy = await startTinyproxy({ connectPorts: [server.port] });
    try {
      const socket = await connect(`wss://localhost:${server.port}/ws`, {
        proxy: proxy.url,
        caCerts: [ca],
      });
      const peer = await server.sockets.next();
      assert.equal(await roundTrip(socket, "secure tunnel"), "secure tunnel");
      assert.equal(socket.remoteAddress, `127.0.0.1:${proxy.port}`);
      assert.notEqual(peer.remoteAddress, socket.localAddress);
      // The proxy resolved the name itself and verified nothing: TLS is end to end.
      assert.match(
        await proxy.log(),
        new RegExp(`CONNECT localhost:${server.port} HTTP/1\\.1`),
      );
      await socket.close();
      await peer.closed;

      // The certificate is still checked through the tunnel.
      const error = await rejection(
        connect(`wss://localhost:${server.port}/ws`, { proxy: proxy.url }),
      );
      assert.equal(
        error.status,
        WebSocketStatus.CertificateInvalid,
        error.message,
      );
    } finally {
      await proxy.stop();
      await server.close();
    }
  },
});

Deno.test({
  name:
    "a proxy that refuses the tunnel: a WebSocketError naming the proxy and the HTTP status",
  ignore: !runProxy,
  fn: async () => {
    const server = await engineEcho();
    const other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    // CONNECT is allowed only to another port.
    const proxy = await startTinyproxy({ connectPorts: [other.addr.port] });
    try {
      const error = await rejection(
        connect(`ws://127.0.0.1:${server.port}/ws`, { proxy: proxy.url }),
      );
      assert.equal(error.status, WebSocketStatus.CannotConnect, error.message);
      assert.match(
        error.message,
        new RegExp(
          `^The proxy http://127\\.0\\.0\\.1:${proxy.port} refused to open a tunnel to 127\\.0\\.0\\.1:${server.port}: HTTP 403`,
        ),
      );
      assert.match(
        await proxy.log(),
        new RegExp(`Refused CONNECT method on port ${server.port}`),
      );
      assert.equal(server.opened(), 0);
    } finally {
      other.close();
      await proxy.stop();
      await server.close();
    }
  },
});

Deno.test({
  name:
    "a proxy that wants a password: 407 without it, a tunnel with it in the proxy URL",
  ignore: !runProxy,
  fn: async () => {
    const server = await engineEcho();
    const proxy = await startTinyproxy({
      basicAuth: { username: "proxyuser", password: "s3cret" },
    });
    try {
      const error = await rejection(
        connect(`ws://127.0.0.1:${server.port}/ws`, { proxy: proxy.url }),
      );
      assert.equal(error.status, WebSocketStatus.CannotConnect, error.message);
      assert.match(error.message, /HTTP 407 .*user and password/);
      assert.equal(server.opened(), 0);

      const socket = await connect(`ws://127.0.0.1:${server.port}/ws`, {
        proxy: `http://proxyuser:s3cret@127.0.0.1:${proxy.port}`,
      });
      assert.equal(await roundTrip(socket, "authorised"), "authorised");
      await socket.close();
      assert.equal(server.opened(), 1);
    } finally {
      await proxy.stop();
      await server.close();
    }
  },
});

Deno.test("ConnectionHandler shows only its public face: connect()'s internals are not methods", () => {
  const handler = new ConnectionHandler();
  for (
    const internal of [
      "http2Route",
      "trackStream",
      "requestHeaders",
      "receiveResponse",
      "openLending",
    ]
  ) {
    assert.equal(internal in handler, false, internal);
  }
  assert.deepEqual(
    Object.getOwnPropertyNames(ConnectionHandler.prototype).sort(),
    [
      "close",
      "constructor",
      "cookies",
      "hasCredentials",
      "openConnection",
      "proxy",
    ],
  );
});
