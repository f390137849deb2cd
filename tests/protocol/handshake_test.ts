import assert from "node:assert/strict";
import {
  checkHandshake,
  isOriginAllowed,
  isUpgradeAttempt,
  normalizeOrigin,
  selectSubprotocol,
} from "../../lib/protocol/handshake.ts";

const valid = {
  upgrade: "websocket",
  connection: "keep-alive, Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

function request(
  headers: Record<string, string>,
  method = "GET",
  protocol?: string,
) {
  return { method, headers: new Headers(headers), protocol };
}

Deno.test("checkHandshake accepts RFC 6455 and RFC 8441 requests", () => {
  const http1 = checkHandshake(request({
    ...valid,
    "sec-websocket-protocol": "a, b ,c",
    "sec-websocket-extensions": "permessage-deflate",
  }));
  assert.deepEqual(http1, {
    ok: true,
    key: "dGhlIHNhbXBsZSBub25jZQ==",
    protocols: ["a", "b", "c"],
    extensions: "permessage-deflate",
  });
  const http2 = checkHandshake(
    request({ "sec-websocket-version": "13" }, "CONNECT", "websocket"),
  );
  assert.equal(http2.ok, true);
  assert.equal(http2.ok && http2.key, undefined);
});

Deno.test("checkHandshake refuses with 400 or 426 and says why", () => {
  const cases: [Record<string, string>, string, number, RegExp][] = [
    [valid, "POST", 400, /must use GET, not POST/],
    [{ ...valid, upgrade: "h2c" }, "GET", 400, /Upgrade header/],
    [{ ...valid, connection: "keep-alive" }, "GET", 400, /Connection header/],
    [{ ...valid, "sec-websocket-key": "abc" }, "GET", 400, /Sec-WebSocket-Key/],
    [
      { ...valid, "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZR==" },
      "GET",
      400,
      /Sec-WebSocket-Key/,
    ],
    [{ ...valid, "sec-websocket-version": "8" }, "GET", 426, /speaks 13/],
  ];
  for (const [headers, method, status, message] of cases) {
    const result = checkHandshake(request(headers, method));
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.status, status);
    assert.match(!result.ok ? result.message : "", message);
  }
  const noVersion: Record<string, string> = { ...valid };
  delete noVersion["sec-websocket-version"];
  assert.equal(checkHandshake(request(noVersion)).ok, false);
  const badProtocol = checkHandshake(request({}, "CONNECT", "chat"));
  assert.equal(!badProtocol.ok && badProtocol.status, 400);
});

Deno.test("checkHandshake trims only spaces and tabs: a 0xA0 byte is part of a value", () => {
  const nbsp = "\u00a0";
  const cases: Record<string, string>[] = [
    { ...valid, "sec-websocket-key": `${nbsp}${valid["sec-websocket-key"]}` },
    { ...valid, "sec-websocket-version": `13${nbsp}` },
    { ...valid, upgrade: `${nbsp}websocket` },
    { ...valid, connection: `keep-alive, Upgrade${nbsp}` },
  ];
  for (const headers of cases) {
    const text = JSON.stringify(headers);
    assert.equal(checkHandshake(request(headers)).ok, false, text);
  }
  const spaced = { ...valid, connection: "keep-alive,\tUpgrade \t, x" };
  assert.equal(checkHandshake(request(spaced)).ok, true);
});

Deno.test("isUpgradeAttempt looks at Upgrade or :protocol only", () => {
  assert.equal(isUpgradeAttempt(request({ upgrade: "WebSocket" })), true);
  assert.equal(isUpgradeAttempt(request({})), false);
  assert.equal(isUpgradeAttempt(request({}, "CONNECT", "websocket")), true);
  assert.equal(isUpgradeAttempt(request({}, "CONNECT")), false);
});

Deno.test("selectSubprotocol follows the server's preference", () => {
  assert.equal(selectSubprotocol(["a", "b"], ["b", "a"]), "b");
  assert.equal(selectSubprotocol(["a"], ["b"]), undefined);
  assert.equal(selectSubprotocol([], ["b"]), undefined);
});

Deno.test("origins are normalised and checked", () => {
  assert.equal(
    normalizeOrigin("HTTPS://Example.COM:443"),
    "https://example.com",
  );
  assert.equal(normalizeOrigin("http://x:8080/path"), "http://x:8080");
  assert.equal(normalizeOrigin("null"), null);
  assert.equal(normalizeOrigin("not a url"), null);
  const allowed = new Set(["https://example.com"]);
  assert.equal(isOriginAllowed("https://example.com", allowed), true);
  assert.equal(isOriginAllowed("https://evil.com", allowed), false);
  assert.equal(isOriginAllowed("null", allowed), false);
  assert.equal(isOriginAllowed(null, allowed), true);
  assert.equal(isOriginAllowed("https://evil.com", undefined), true);
});
