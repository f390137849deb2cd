import assert from "node:assert/strict";
import {
  bodyPrefix,
  checkClientResponse,
  HANDSHAKE_FIELDS,
  http1Request,
  http2Request,
} from "../../lib/protocol/client_handshake.ts";

// The sample key and answer of RFC 6455 section 1.3.
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const encoder = new TextEncoder();

const request = {
  url: new URL("ws://example.com:8080/chat?room=1"),
  protocols: ["chat", "superchat"],
  extensions: "permessage-deflate; client_max_window_bits",
  headers: [["Cookie", "a=1"], ["origin", "http://example.com"]] as const,
};

Deno.test("http1Request: the RFC 6455 request, byte for byte", () => {
  assert.equal(
    http1Request(request, KEY),
    "GET /chat?room=1 HTTP/1.1\r\n" +
      "Host: example.com:8080\r\n" +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${KEY}\r\n` +
      "Sec-WebSocket-Version: 13\r\n" +
      "Sec-WebSocket-Protocol: chat, superchat\r\n" +
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
      "Cookie: a=1\r\n" +
      "origin: http://example.com\r\n" +
      "\r\n",
  );
  const bare = { url: new URL("ws://127.0.0.1:9/"), protocols: [] };
  assert.equal(
    http1Request(bare, KEY),
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
});

Deno.test("http2Request: the RFC 8441 extended CONNECT from the same fields", () => {
  assert.deepEqual(
    Object.entries(
      http2Request({
        ...request,
        url: new URL("wss://example.com/chat?room=1"),
      }),
    ),
    [
      [":method", "CONNECT"],
      [":protocol", "websocket"],
      [":scheme", "https"],
      [":path", "/chat?room=1"],
      [":authority", "example.com"],
      ["sec-websocket-version", "13"],
      ["sec-websocket-protocol", "chat, superchat"],
      [
        "sec-websocket-extensions",
        "permessage-deflate; client_max_window_bits",
      ],
      ["cookie", "a=1"],
      ["origin", "http://example.com"],
    ],
  );
  // Fields HTTP/2 forbids are dropped; ws: is scheme http (h2c).
  const h2c = http2Request({
    url: new URL("ws://[::1]:81/"),
    protocols: [],
    headers: [["Keep-Alive", "5"], ["X-Trace", "t"], ["Host", "x"]],
  });
  assert.deepEqual(h2c, {
    ":method": "CONNECT",
    ":protocol": "websocket",
    ":scheme": "http",
    ":path": "/",
    ":authority": "[::1]:81",
    "sec-websocket-version": "13",
    "x-trace": "t",
  });
});

Deno.test("HANDSHAKE_FIELDS names what the handshake sets itself", () => {
  for (const line of http1Request(request, KEY).split("\r\n").slice(1, 7)) {
    assert.ok(HANDSHAKE_FIELDS.has(line.split(":")[0]!.toLowerCase()), line);
  }
  assert.ok(!HANDSHAKE_FIELDS.has("origin"));
});

const good = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-accept": ACCEPT,
};
const http1 = { httpVersion: "1.1", key: KEY, protocols: ["chat"] } as const;

Deno.test("checkClientResponse accepts a correct 101 and a 200 over HTTP/2", () => {
  assert.deepEqual(
    checkClientResponse(
      {
        status: 101,
        headers: new Headers({
          ...good,
          upgrade: "WebSocket",
          connection: "keep-alive, upgrade",
          "sec-websocket-protocol": "chat",
        }),
      },
      http1,
    ),
    { ok: true, protocol: "chat", extensions: "", deflate: undefined },
  );
  assert.deepEqual(
    checkClientResponse(
      { status: 200, headers: new Headers() },
      { httpVersion: "2", protocols: [] },
    ),
    { ok: true, protocol: "", extensions: "", deflate: undefined },
  );
  const deflated = checkClientResponse(
    {
      status: 101,
      headers: new Headers({
        ...good,
        "sec-websocket-extensions": "permessage-deflate",
      }),
    },
    { ...http1, deflate: {} },
  );
  assert.equal(deflated.ok, true);
  assert.equal(deflated.ok && deflated.extensions, "permessage-deflate");
  assert.equal(deflated.ok && deflated.deflate?.serverNoContextTakeover, false);
});

Deno.test("checkClientResponse refuses each wrong answer and says why", () => {
  const cases: [number, Record<string, string>, string, boolean][] = [
    [403, {}, "HTTP 403 Forbidden", true],
    [
      101,
      { ...good, upgrade: "h2c" },
      "the response lacks Upgrade: websocket",
      false,
    ],
    [
      101,
      { ...good, connection: "close" },
      "the response lacks Connection: Upgrade",
      false,
    ],
    [
      101,
      { ...good, "sec-websocket-accept": "x" },
      "Sec-WebSocket-Accept does not match the key",
      false,
    ],
    [
      101,
      { ...good, "sec-websocket-protocol": "other" },
      "the server chose subprotocol other, which was not offered",
      false,
    ],
    [
      101,
      { ...good, "sec-websocket-extensions": "permessage-deflate" },
      "the server answered with extensions that were not offered: permessage-deflate",
      false,
    ],
  ];
  for (const [status, headers, reason, byStatus] of cases) {
    assert.deepEqual(
      checkClientResponse(
        {
          status,
          statusText: `${status} Forbidden`,
          headers: new Headers(headers),
        },
        http1,
      ),
      { ok: false, reason, byStatus },
    );
  }
  assert.deepEqual(
    checkClientResponse(
      { status: 404, headers: new Headers() },
      { httpVersion: "2", protocols: [] },
    ),
    { ok: false, reason: "HTTP 404 (over HTTP/2)", byStatus: true },
  );
  // A 200 over HTTP/1.1 is no upgrade; a 101 over HTTP/2 is no 200.
  assert.equal(
    checkClientResponse({ status: 200, headers: new Headers(good) }, http1).ok,
    false,
  );
  const badDeflate = checkClientResponse(
    {
      status: 101,
      headers: new Headers({
        ...good,
        "sec-websocket-extensions":
          "permessage-deflate; server_max_window_bits=99",
      }),
    },
    { ...http1, deflate: {} },
  );
  assert.equal(badDeflate.ok, false);
});

Deno.test("bodyPrefix: by Content-Length, chunked, or to the end, at most the limit", () => {
  const text = (value: string) => encoder.encode(value);
  assert.deepEqual(
    bodyPrefix(text("no entry"), new Headers({ "content-length": "8" })),
    { text: "no entry", complete: true },
  );
  assert.deepEqual(
    bodyPrefix(text("no e"), new Headers({ "content-length": "8" })),
    { text: "no e", complete: false },
  );
  assert.deepEqual(
    bodyPrefix(text("abcdef"), new Headers({ "content-length": "100" }), 3),
    { text: "abc", complete: true },
  );
  const chunked = new Headers({ "transfer-encoding": "chunked" });
  assert.deepEqual(
    bodyPrefix(text("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), chunked),
    { text: "hello world", complete: true },
  );
  assert.deepEqual(bodyPrefix(text("5\r\nhel"), chunked), {
    text: "hel",
    complete: false,
  });
  assert.deepEqual(bodyPrefix(text("a\r\n0123456789\r\n"), chunked, 4), {
    text: "0123",
    complete: true,
  });
  assert.deepEqual(bodyPrefix(text("until the end"), new Headers()), {
    text: "until the end",
    complete: false,
  });
});
