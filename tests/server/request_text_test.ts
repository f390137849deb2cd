import assert from "node:assert/strict";
import { requestOfText, requestText } from "../../lib/server/request_text.ts";

Deno.test("a request kept as text comes back with its method, URL and every field", () => {
  const request = new Request("http://example.com:8080/ws?room=a%20b#x", {
    method: "GET",
    headers: [
      ["Upgrade", "websocket"],
      ["Sec-WebSocket-Protocol", "chat, superchat"],
      ["X-Empty", ""],
      ["X-Latin1", "caf\u00e9"],
      ["Cookie", "a=1"],
      ["Cookie", "b=2"],
      ["Set-Cookie", "c=3"],
      ["Set-Cookie", "d=4"],
    ],
  });
  const text = requestText(request);
  const back = requestOfText(text);
  assert.equal(back.method, "GET");
  assert.equal(back.url, request.url);
  assert.deepEqual([...back.headers], [...request.headers]);
  assert.deepEqual(back.headers.getSetCookie(), ["c=3", "d=4"]);
  assert.equal(back.headers.get("x-empty"), "");
  assert.equal(back.body, null);
});

Deno.test("a request without fields, and another method, come back as they were", () => {
  const back = requestOfText(
    requestText(new Request("http://h/", { method: "DELETE" })),
  );
  assert.equal(back.method, "DELETE");
  assert.equal(back.url, "http://h/");
  assert.deepEqual([...back.headers], []);
});
