import assert from "node:assert/strict";
import {
  hasToken,
  headerList,
  trimOws,
} from "../../lib/protocol/header_tokens.ts";

// What the functions must agree with: split on commas, trim SP and HTAB,
// drop empty items, compare ASCII case-insensitively.
function referenceList(value: string): string[] {
  return value.split(",").map((item) => item.replace(/^[ \t]+|[ \t]+$/g, ""))
    .filter((item) => item !== "");
}

const VALUES = [
  "",
  ",",
  " , ,\t,",
  "websocket",
  "WebSocket",
  " websocket ",
  "\twebsocket\t",
  "websocket,",
  ",websocket",
  "keep-alive, Upgrade",
  "keep-alive,Upgrade,",
  "upgrade ,keep-alive",
  "upgrades",
  "upgrad",
  "up grade",
  "\u00a0upgrade",
  "upgrade\u00a0",
  "h2c, websocket , x",
  "a,,b",
];

Deno.test("trimOws drops SP and HTAB only, and returns an untrimmed value as it is", () => {
  assert.equal(trimOws(""), "");
  assert.equal(trimOws(" \t "), "");
  assert.equal(trimOws(" \t13\t "), "13");
  assert.equal(trimOws("a b"), "a b");
  assert.equal(trimOws("\u00a0x\u00a0"), "\u00a0x\u00a0");
  assert.equal(trimOws("\nx"), "\nx");
  const value = "dGhlIHNhbXBsZSBub25jZQ==";
  assert.equal(trimOws(value), value);
});

Deno.test("headerList trims and drops empty items, as splitting and trimming would", () => {
  assert.deepEqual(headerList(" a ,, b,"), ["a", "b"]);
  assert.deepEqual(headerList(null), []);
  for (const value of VALUES) {
    assert.deepEqual(headerList(value), referenceList(value), `${value}`);
  }
});

Deno.test("hasToken finds a token among the items in any ASCII case, never a part of one", () => {
  for (const value of VALUES) {
    for (const token of ["websocket", "upgrade", "keep-alive", "x", "b"]) {
      assert.equal(
        hasToken(value, token),
        referenceList(value).some((item) => item.toLowerCase() === token),
        `${JSON.stringify(value)} has ${token}`,
      );
    }
  }
  assert.equal(hasToken(null, "upgrade"), false);
  assert.equal(hasToken("UPGRADE", "upgrade"), true);
  assert.equal(hasToken("upgrade\u00a0", "upgrade"), false);
  // Only ASCII letters fold: the Kelvin sign lower-cases to "k" in
  // JavaScript, but a token is ASCII (RFC 9110 5.6.2).
  assert.equal(hasToken("\u212aeep-alive", "keep-alive"), false);
});
