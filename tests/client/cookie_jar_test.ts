/**
 * The client's cookie jar (RFC 6265, the parts a WebSocket handshake uses),
 * as a unit: host-only and Domain cookies, Path defaults and matching, Secure,
 * expiry by Max-Age and Expires on an injected clock, deletion, foreign
 * domains and the order of the `Cookie` header.
 */

import assert from "node:assert/strict";
import { type Cookie, CookieJar } from "../../lib/client/cookie_jar.ts";

/** A clock the test moves by hand. */
function clock(start = Date.UTC(2030, 0, 1)) {
  const state = { now: start };
  return {
    now: () => state.now,
    advance(ms: number) {
      state.now += ms;
    },
  };
}

/** The names of the cookies that go to `url`, in header order. */
function names(jar: CookieJar, url: string): string[] {
  return jar.cookies(url).map((cookie) => cookie.name);
}

Deno.test("CookieJar stores a cookie and describes it", () => {
  const time = clock();
  const jar = new CookieJar(time.now);
  assert.equal(jar.size, 0);
  assert.equal(jar.header("ws://example.com/ws"), "");
  jar.store("ws://example.com/chat/ws", [
    "sid=a=b; Max-Age=60; HttpOnly",
    "theme=dark",
  ]);
  assert.equal(jar.size, 2);
  const [sid] = jar.cookies("ws://example.com/chat/ws").filter((cookie) =>
    cookie.name === "sid"
  );
  assert.deepEqual({ ...sid } as Cookie, {
    name: "sid",
    // Only the first "=" separates the name from the value.
    value: "a=b",
    domain: "example.com",
    hostOnly: true,
    // The default path is the request path up to its last "/".
    path: "/chat",
    expires: time.now() + 60_000,
    secure: false,
    httpOnly: true,
  });
  const theme = jar.cookies("ws://example.com/chat/ws").find((cookie) =>
    cookie.name === "theme"
  );
  assert.equal(theme?.expires, undefined, "a session cookie");
  assert.equal(theme?.httpOnly, false);
  // HttpOnly cookies still go out: a WebSocket client is not a script.
  assert.equal(jar.header("ws://example.com/chat/ws"), "sid=a=b; theme=dark");
  jar.clear();
  assert.equal(jar.size, 0);
  assert.equal(jar.header("ws://example.com/chat/ws"), "");
});

Deno.test("CookieJar: a cookie without Domain is host-only", () => {
  const jar = new CookieJar();
  jar.store("ws://example.com/", ["host=1"]);
  assert.deepEqual(names(jar, "ws://example.com/"), ["host"]);
  assert.deepEqual(names(jar, "wss://EXAMPLE.com:8443/x"), ["host"]);
  assert.deepEqual(names(jar, "ws://www.example.com/"), []);
  assert.deepEqual(names(jar, "ws://other.com/"), []);
  assert.equal(jar.cookies("ws://example.com/")[0]?.hostOnly, true);
});

Deno.test("CookieJar: a Domain cookie goes to the domain and its subdomains", () => {
  const jar = new CookieJar();
  jar.store("ws://www.example.com/", [
    "wide=1; Domain=example.com",
    "dotted=2; Domain=.EXAMPLE.com",
  ]);
  const [wide] = jar.cookies("ws://example.com/");
  assert.equal(wide?.hostOnly, false);
  assert.equal(wide?.domain, "example.com");
  for (
    const url of [
      "ws://example.com/",
      "ws://www.example.com/",
      "ws://a.b.example.com/",
    ]
  ) {
    assert.deepEqual(names(jar, url), ["wide", "dotted"], url);
  }
  // A suffix that is not a whole label does not match.
  assert.deepEqual(names(jar, "ws://notexample.com/"), []);
  assert.deepEqual(names(jar, "ws://example.com.evil.test/"), []);
});

Deno.test("CookieJar ignores cookies for a foreign domain and malformed lines", () => {
  const jar = new CookieJar();
  jar.store("ws://www.example.com/", [
    "evil=1; Domain=evil.test",
    "sibling=1; Domain=api.example.com",
    "tld-ish=1; Domain=www.example.com.evil.test",
    "novalue",
    "=nameless",
    "",
  ]);
  assert.equal(jar.size, 0);
  assert.deepEqual(names(jar, "ws://evil.test/"), []);
  assert.deepEqual(names(jar, "ws://api.example.com/"), []);
  // An IP address has no subdomains: a Domain that is a suffix of it is foreign.
  jar.store("ws://127.0.0.1/", ["ip=1; Domain=0.0.1"]);
  assert.equal(jar.size, 0);
  jar.store("ws://127.0.0.1/", ["ip=2; Domain=127.0.0.1", "plain=3"]);
  assert.deepEqual(names(jar, "ws://127.0.0.1:9000/"), ["ip", "plain"]);
});

Deno.test("CookieJar: Path defaults to the request's directory and matches by segments", () => {
  const jar = new CookieJar();
  jar.store("ws://example.com/a/b/ws?x=1", ["dir=1"]);
  jar.store("ws://example.com/ws", ["top=1"]);
  jar.store("ws://example.com/", ["root=1"]);
  // A Path that does not start with "/" is ignored: the default applies.
  jar.store("ws://example.com/a/b/ws", ["relative=1; Path=c"]);
  jar.store("ws://example.com/", ["explicit=1; Path=/a/b"]);
  jar.store("ws://example.com/", ["slash=1; Path=/a/"]);
  const paths = Object.fromEntries(
    jar.cookies("ws://example.com/a/b/c").map((c) => [c.name, c.path]),
  );
  assert.deepEqual(paths, {
    dir: "/a/b",
    relative: "/a/b",
    explicit: "/a/b",
    slash: "/a/",
    top: "/",
    root: "/",
  });
  assert.deepEqual(names(jar, "ws://example.com/a/b").sort(), [
    "dir",
    "explicit",
    "relative",
    "root",
    "slash",
    "top",
  ]);
  // "/a/b" matches "/a/b/..." but not "/a/bc".
  assert.deepEqual(names(jar, "ws://example.com/a/bc").sort(), [
    "root",
    "slash",
    "top",
  ]);
  // "/a/" does not match "/a" itself.
  assert.deepEqual(names(jar, "ws://example.com/a").sort(), ["root", "top"]);
  assert.deepEqual(names(jar, "ws://example.com/other").sort(), [
    "root",
    "top",
  ]);
});

Deno.test("CookieJar sends the longest path first", () => {
  const jar = new CookieJar();
  jar.store("ws://example.com/", [
    "short=1; Path=/",
    "longest=3; Path=/chat/room",
    "middle=2; Path=/chat",
  ]);
  assert.deepEqual(names(jar, "ws://example.com/chat/room/7"), [
    "longest",
    "middle",
    "short",
  ]);
  assert.equal(
    jar.header("ws://example.com/chat/room/7"),
    "longest=3; middle=2; short=1",
  );
});

Deno.test("CookieJar: a cookie of the same name, domain and path replaces the old one", () => {
  const jar = new CookieJar();
  jar.store("ws://example.com/", ["sid=old; Path=/", "sid=chat; Path=/chat"]);
  jar.store("ws://example.com/", ["sid=new; Path=/"]);
  assert.equal(jar.size, 2);
  assert.equal(jar.header("ws://example.com/chat"), "sid=chat; sid=new");
  assert.equal(jar.header("ws://example.com/"), "sid=new");
});

Deno.test("CookieJar: Secure cookies only go over wss: and https:", () => {
  const jar = new CookieJar();
  jar.store("wss://example.com/", ["safe=1; Secure", "open=2"]);
  assert.equal(jar.cookies("wss://example.com/")[0]?.secure, true);
  assert.equal(jar.header("wss://example.com/"), "safe=1; open=2");
  assert.equal(jar.header("https://example.com/"), "safe=1; open=2");
  assert.equal(jar.header("ws://example.com/"), "open=2");
  assert.equal(jar.header("http://example.com/"), "open=2");
});

Deno.test("CookieJar: Max-Age expires a cookie on the jar's clock", () => {
  const time = clock();
  const jar = new CookieJar(time.now);
  jar.store("ws://example.com/", ["short=1; Max-Age=10", "session=2"]);
  assert.equal(jar.header("ws://example.com/"), "short=1; session=2");
  time.advance(9_999);
  assert.equal(jar.header("ws://example.com/"), "short=1; session=2");
  time.advance(1);
  assert.equal(jar.header("ws://example.com/"), "session=2");
  // An expired cookie is dropped once the jar is used.
  assert.equal(jar.size, 1);
});

Deno.test("CookieJar: Expires expires a cookie; Max-Age wins over Expires", () => {
  const time = clock(Date.UTC(2030, 0, 1, 12, 0, 0));
  const jar = new CookieJar(time.now);
  jar.store("ws://example.com/", [
    "dated=1; Expires=Tue, 01 Jan 2030 13:00:00 GMT",
    // Max-Age is used even though Expires is long past.
    "both=2; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=7200",
    // An invalid Max-Age is ignored and Expires applies.
    "badage=3; Max-Age=soon; Expires=Tue, 01 Jan 2030 12:30:00 GMT",
  ]);
  assert.deepEqual(
    jar.cookies("ws://example.com/").map((c) => [c.name, c.expires]),
    [
      ["dated", Date.UTC(2030, 0, 1, 13)],
      ["both", Date.UTC(2030, 0, 1, 14)],
      ["badage", Date.UTC(2030, 0, 1, 12, 30)],
    ],
  );
  time.advance(30 * 60_000);
  assert.deepEqual(names(jar, "ws://example.com/"), ["dated", "both"]);
  time.advance(30 * 60_000);
  assert.deepEqual(names(jar, "ws://example.com/"), ["both"]);
  time.advance(60 * 60_000);
  assert.deepEqual(names(jar, "ws://example.com/"), []);
});

Deno.test("CookieJar: Max-Age=0, a negative Max-Age or a past Expires deletes the cookie", () => {
  const time = clock();
  const jar = new CookieJar(time.now);
  jar.store("ws://example.com/", ["a=1", "b=2", "c=3", "keep=4"]);
  assert.equal(jar.size, 4);
  jar.store("ws://example.com/", ["a=; Max-Age=0"]);
  assert.deepEqual(names(jar, "ws://example.com/"), ["b", "c", "keep"]);
  jar.store("ws://example.com/", ["b=; Max-Age=-1"]);
  jar.store("ws://example.com/", ["c=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]);
  assert.deepEqual(names(jar, "ws://example.com/"), ["keep"]);
  assert.equal(jar.size, 1);
  // Deleting needs the same domain and path: this one names another path.
  jar.store("ws://example.com/", ["keep=; Max-Age=0; Path=/other"]);
  assert.deepEqual(names(jar, "ws://example.com/"), ["keep"]);
  // A cookie that arrives already expired is not stored at all.
  jar.store("ws://example.com/", ["never=1; Max-Age=0"]);
  assert.equal(jar.size, 1);
});
