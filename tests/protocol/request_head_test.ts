/** The HTTP/1.x request head parser: byte for byte, limits, refusals. */

import assert from "node:assert/strict";
import {
  type HeadParse,
  parseRequestHead,
} from "../../lib/protocol/request_head.ts";

const encoder = new TextEncoder();
const LIMITS = { maxHeadSize: 1024, maxFields: 10 };

function parse(text: string | Uint8Array, limits = LIMITS): HeadParse {
  return parseRequestHead(
    typeof text === "string" ? encoder.encode(text) : text,
    limits,
  );
}

function statusOf(text: string, limits = LIMITS): number {
  const result = parse(text, limits);
  assert.equal(
    result.kind,
    "error",
    `expected a refusal of ${JSON.stringify(text)}`,
  );
  return result.kind === "error" ? result.error.status : 0;
}

const UPGRADE = "GET /ws?room=1 HTTP/1.1\r\n" +
  "Host: example.com:8080\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection:Upgrade\r\n" +
  "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  \t\r\n" +
  "X-Empty:\r\n" +
  "\r\n";

Deno.test("request head: a handshake parses field by field, bytes after it untouched", () => {
  const frames = new Uint8Array([0x81, 0x85, 1, 2, 3, 4, 5]);
  const bytes = new Uint8Array([...encoder.encode(UPGRADE), ...frames]);
  const result = parse(bytes);
  assert.equal(result.kind, "head");
  if (result.kind !== "head") return;
  const { head } = result;
  assert.equal(head.method, "GET");
  assert.equal(head.target, "/ws?room=1");
  assert.equal(head.minorVersion, 1);
  assert.deepEqual(head.fields, [
    ["Host", "example.com:8080"],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
    ["X-Empty", ""],
  ]);
  assert.equal(head.length, UPGRADE.length);
  assert.deepEqual(bytes.subarray(head.length), frames);
});

Deno.test("request head: every split point asks for more, then parses the same", () => {
  const bytes = encoder.encode(UPGRADE);
  const whole = parse(bytes);
  for (let cut = 0; cut < bytes.length; cut++) {
    const partial = parseRequestHead(bytes.subarray(0, cut), LIMITS);
    assert.equal(partial.kind, "more", `cut at ${cut}`);
    if (partial.kind !== "more") continue;
    // Resuming the search where it stopped finds the same end.
    assert.deepEqual(parseRequestHead(bytes, LIMITS, partial.scanned), whole);
  }
});

Deno.test("request head: HTTP/1.0 parses (without Host), empty lines before it are skipped", () => {
  const result = parse("\r\n\r\nGET / HTTP/1.0\r\n\r\n");
  assert.equal(result.kind, "head");
  if (result.kind !== "head") return;
  assert.equal(result.head.minorVersion, 0);
  assert.deepEqual(result.head.fields, []);
  assert.equal(result.head.length, 22);
});

Deno.test("request head: obs-text in a value is kept as Latin-1", () => {
  const bytes = new Uint8Array([
    ...encoder.encode("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf"),
    0xe9,
    ...encoder.encode("\r\n\r\n"),
  ]);
  const result = parse(bytes);
  assert.equal(result.kind, "head");
  if (result.kind === "head") {
    assert.deepEqual(result.head.fields[1], ["X-Name", "caf\u00e9"]);
  }
});

Deno.test("request head: malformed heads are refused with 400", () => {
  const host = "Host: a\r\n";
  const cases = [
    "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", // two spaces
    "GET /\r\n\r\n", // HTTP/0.9
    "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", // trailing space
    "GET / http/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.2x\r\nHost: a\r\n\r\n",
    "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", // not a token
    " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /a\u007fb HTTP/1.1\r\nHost: a\r\n\r\n", // DEL in the target
    `GET / HTTP/1.1\r\n${host}X-Fold: a\r\n  b\r\n\r\n`,
    `GET / HTTP/1.1\r\n${host}X-Space : a\r\n\r\n`,
    `GET / HTTP/1.1\r\n${host}NoColon\r\n\r\n`,
    `GET / HTTP/1.1\r\n${host}: empty name\r\n\r\n`,
    `GET / HTTP/1.1\r\n${host}X-Ctl: a\u0001b\r\n\r\n`,
    `GET / HTTP/1.1\r\n${host}X-Bare: a\rb\r\n\r\n`, // bare CR
    `GET / HTTP/1.1\nHost: a\r\n\r\n`, // bare LF
    "GET / HTTP/1.1\r\n\r\n", // no Host
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    `POST / HTTP/1.1\r\n${host}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n`,
    `POST / HTTP/1.1\r\n${host}Content-Length: 3\r\nContent-Length: 4\r\n\r\n`,
    `POST / HTTP/1.1\r\n${host}Content-Length: -3\r\n\r\n`,
    `POST / HTTP/1.1\r\n${host}Content-Length: 3, 3\r\n\r\n`,
  ];
  for (const text of cases) {
    assert.equal(statusOf(text), 400, JSON.stringify(text));
  }
  // The same Content-Length twice is one length.
  assert.equal(
    parse(
      `POST / HTTP/1.1\r\n${host}Content-Length: 3\r\nContent-Length: 3\r\n\r\n`,
    ).kind,
    "head",
  );
});

Deno.test("request head: a fragment in the target, a malformed Host, a doubled key or version get 400", () => {
  const upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const version = "Sec-WebSocket-Version: 13\r\n";
  const cases = [
    `GET /ws#top HTTP/1.1\r\nHost: a\r\n${upgrade}${key}${version}\r\n`,
    `GET # HTTP/1.1\r\nHost: a\r\n\r\n`,
    "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a:80:90\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: \u00e9.example\r\n\r\n",
    "GET / HTTP/1.0\r\nHost: a?b\r\n\r\n",
    `GET / HTTP/1.1\r\nHost: a\r\n${upgrade}${key}${key}${version}\r\n`,
    `GET / HTTP/1.1\r\nHost: a\r\n${upgrade}${key}sec-websocket-key:\r\n${version}\r\n`,
    `GET / HTTP/1.1\r\nHost: a\r\n${upgrade}${key}${version}Sec-WebSocket-Version:\r\n\r\n`,
  ];
  for (const text of cases) {
    assert.equal(statusOf(text), 400, JSON.stringify(text));
  }
  // What RFC 3986 allows in a Host stays accepted, the empty one included.
  for (const host of ["", "a.example:", "[::1]:8080", "127.0.0.1", "a_b%41~"]) {
    const result = parse(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    assert.equal(result.kind, "head", host);
  }
});

Deno.test("request head: HTTP/2 and later in a request line get 505", () => {
  assert.equal(statusOf("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
  assert.equal(statusOf("GET / HTTP/3\r\nHost: a\r\n\r\n"), 505);
});

Deno.test("request head: size and field limits give 431, as soon as they are passed", () => {
  const limits = { maxHeadSize: 64, maxFields: 2 };
  // No end in sight after maxHeadSize bytes: refused without waiting for it.
  const endless = "GET / HTTP/1.1\r\nX: " + "a".repeat(60);
  assert.equal(endless.length >= 64, true);
  assert.equal(statusOf(endless, limits), 431);
  assert.equal(parse(endless.slice(0, 63), limits).kind, "more");
  // A complete head one byte over the limit.
  const over = "GET / HTTP/1.1\r\nHost: a\r\nX: " + "b".repeat(33) + "\r\n\r\n";
  assert.equal(over.length, 65);
  assert.equal(statusOf(over, limits), 431);
  assert.equal(parse(over, { ...limits, maxHeadSize: 65 }).kind, "head");
  // Leading empty lines count: they cannot grow the buffer forever.
  assert.equal(statusOf("\r\n".repeat(40), limits), 431);
  const three = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
  assert.equal(statusOf(three, limits), 431);
  assert.equal(parse(three, { ...limits, maxFields: 3 }).kind, "head");
});
