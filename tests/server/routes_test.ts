import assert from "node:assert/strict";
import { isRoute, pathnameOf } from "../../lib/server/routes.ts";

Deno.test("pathnameOf reads every URL's path as the URL parser does", () => {
  const urls = [
    "http://127.0.0.1:8080/ws",
    "http://localhost/",
    "http://localhost",
    "http://localhost?x=1",
    "http://localhost#top",
    "https://example.com/chat/room-1_a~b?user=x#frag",
    "http://[::1]:9000/ws?",
    "http://h//double//slash",
    "http://h/a/./b",
    "http://h/a/../ws",
    "http://h/%77s",
    "http://h/%2e%2E/ws",
    "http://h/ws.json",
    "http://h/caf\u00e9",
    "http://h/a b",
    "http://h/a\\b",
    "http://h\\ws",
    "http://user:pass@h/ws",
    "http://h/{x}",
    "http://h/ws;v=1",
    "http://h/WS",
    "http://h/a%20b?q#f",
  ];
  for (const url of urls) {
    assert.equal(pathnameOf(url), new URL(url).pathname, url);
  }
});

Deno.test("isRoute matches exactly, or everything without paths", () => {
  const paths = new Set(["/ws"]);
  assert.equal(isRoute(paths, "/ws"), true);
  assert.equal(isRoute(paths, "/ws/"), false);
  assert.equal(isRoute(undefined, "/anything"), true);
});
