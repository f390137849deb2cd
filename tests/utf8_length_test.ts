import assert from "node:assert/strict";
import { utf8ByteLength } from "../lib/utf8_length.ts";

Deno.test("utf8ByteLength matches TextEncoder, cached or not, short or long", () => {
  const encoder = new TextEncoder();
  const samples = [
    "",
    "abc",
    "héllo",
    "日本語",
    "😀x",
    "\ud800",
    "a\udc00b",
    "x".repeat(70_000) + "é",
    "😀".repeat(40_000),
    "é".repeat(65_536),
    "é".repeat(65_537),
  ];
  for (const text of samples) {
    const expected = encoder.encode(text).byteLength;
    assert.equal(utf8ByteLength(text), expected, `${text.length} units`);
    assert.equal(utf8ByteLength(text), expected, "the cached answer");
  }
});
