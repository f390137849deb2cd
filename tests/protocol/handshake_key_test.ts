import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  computeAcceptKey,
  generateKey,
  HANDSHAKE_GUID,
  isValidKey,
} from "../../lib/protocol/handshake_key.ts";
import { mulberry32 } from "../helpers/random.ts";

Deno.test("computeAcceptKey() gives the RFC 6455 section 1.3 answer", () => {
  assert.equal(
    computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  );
});

Deno.test("computeAcceptKey() matches node:crypto's SHA-1 across block boundaries", () => {
  const random = mulberry32(1455);
  for (let length = 0; length < 200; length++) {
    const key = Array.from(
      { length },
      () => String.fromCharCode(32 + Math.floor(random() * 95)),
    ).join("");
    const expected = createHash("sha1").update(key + HANDSHAKE_GUID).digest(
      "base64",
    );
    assert.equal(computeAcceptKey(key), expected, `key of length ${length}`);
  }
});

Deno.test("computeAcceptKey() stays right after longer keys and with non-ASCII keys", () => {
  const sha1 = (text: string) =>
    createHash("sha1").update(text).digest("base64");
  // A long key grows the reused buffer; shorter ones after it must not
  // read what it left there.
  for (
    const key of ["x".repeat(300), "short", "", "dGhlIHNhbXBsZSBub25jZQ=="]
  ) {
    assert.equal(computeAcceptKey(key), sha1(key + HANDSHAKE_GUID));
  }
  for (const key of ["caf\u00e9", "\u{1f600}".repeat(20), "\u00ff"]) {
    assert.equal(computeAcceptKey(key), sha1(key + HANDSHAKE_GUID), key);
  }
});

Deno.test("generateKey() encodes 16 bytes as a valid key", () => {
  const random = new Uint8Array(16);
  crypto.getRandomValues(random);
  const key = generateKey(random);
  assert.equal(key.length, 24);
  assert.ok(isValidKey(key));
  assert.equal(generateKey(new Uint8Array(16)), "AAAAAAAAAAAAAAAAAAAAAA==");
  assert.equal(
    generateKey(new Uint8Array(16).fill(255)),
    "/////////////////////w==",
  );
  assert.throws(() => generateKey(new Uint8Array(15)), RangeError);
  assert.throws(() => generateKey(new Uint8Array(17)), RangeError);
});

Deno.test("isValidKey() accepts only the base64 of 16 bytes", () => {
  assert.ok(isValidKey("dGhlIHNhbXBsZSBub25jZQ=="));
  for (
    const key of [
      "",
      "dGhlIHNhbXBsZSBub25jZQ", // no padding
      "dGhlIHNhbXBsZSBub25jZQ=", // short padding
      "dGhlIHNhbXBsZSBub25jZR==", // non-zero bits in the padding
      "dGhlIHNhbXBsZSBub25j", // 15 bytes
      "dGhlIHNhbXBsZSBub25jZSE=", // 17 bytes
      "dGhlIHNhbXBsZSBub25jZ-==", // not base64
      " dGhlIHNhbXBsZSBub25jZQ==",
    ]
  ) {
    assert.equal(isValidKey(key), false, JSON.stringify(key));
  }
});
