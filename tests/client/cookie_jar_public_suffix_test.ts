/**
 * The cookie jar's public-suffix rule and the RFC 6265 rules around it:
 * a server cannot set a cookie for a public suffix (co.uk, github.io) that
 * the jar would then send to every other site under it.
 */

import assert from "node:assert/strict";
import { CookieJar } from "../../lib/client/cookie_jar.ts";

Deno.test("CookieJar refuses Domain=<public suffix>; the cookie reaches no other site", () => {
  const jar = new CookieJar();
  jar.store("wss://a.example.co.uk/ws", [
    "leak=1; Domain=co.uk",
    "leak2=1; Domain=.CO.UK",
    "ok=1; Domain=example.co.uk",
  ]);
  assert.equal(jar.header("wss://b.other.co.uk/ws"), "");
  assert.equal(jar.header("wss://co.uk/ws"), "");
  assert.equal(jar.header("wss://www.example.co.uk/ws"), "ok=1");
  assert.equal(jar.size, 1);
  // Private suffixes of the list count too: each github.io site is its own.
  jar.store("wss://alice.github.io/", ["gh=1; Domain=github.io"]);
  assert.equal(jar.header("wss://mallory.github.io/"), "");
  jar.store("wss://alice.github.io/", ["mine=1"]);
  assert.equal(jar.header("wss://alice.github.io/"), "mine=1");
  assert.equal(jar.header("wss://mallory.github.io/"), "");
  // A bare top-level domain is a public suffix as well.
  jar.store("ws://www.example.com/", ["tld=1; Domain=com"]);
  assert.equal(jar.header("ws://other.com/"), "");
});

Deno.test("CookieJar: host-only, path and Secure rules hold beside the suffix rule", () => {
  const jar = new CookieJar();
  jar.store("wss://api.example.org/chat/ws", [
    "host=1",
    "wide=2; Domain=example.org; Path=/",
    "safe=3; Secure; Path=/",
  ]);
  assert.equal(
    jar.header("wss://api.example.org/chat/x"),
    "host=1; wide=2; safe=3",
  );
  assert.equal(jar.header("wss://www.example.org/chat/x"), "wide=2");
  assert.equal(jar.header("ws://api.example.org/"), "wide=2");
  // A Secure cookie cannot be set from an insecure URL.
  jar.store("ws://api.example.org/", ["spoof=4; Secure"]);
  assert.equal(jar.header("wss://api.example.org/"), "wide=2; safe=3");
});

Deno.test("CookieJar: expiry follows the jar's clock, not the time of the last use", () => {
  let now = Date.UTC(2031, 5, 1);
  const jar = new CookieJar(() => now);
  jar.store("ws://example.net/", [
    "short=1; Max-Age=60",
    `dated=2; Expires=${new Date(now + 120_000).toUTCString()}`,
  ]);
  now += 59_000;
  assert.equal(jar.header("ws://example.net/"), "short=1; dated=2");
  // Using the cookie does not push its end back.
  now += 1_000;
  assert.equal(jar.header("ws://example.net/"), "dated=2");
  now += 60_000;
  assert.equal(jar.header("ws://example.net/"), "");
  assert.equal(jar.size, 0);
});
