import assert from "node:assert/strict";
import { utf8ByteLength } from "../lib/utf8_length.ts";

Deno.test("utf8ByteLength matches TextEncoder, short or long, asked twice", () => {
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
    assert.equal(utf8ByteLength(text), expected, "asked again");
  }
});

Deno.test("utf8ByteLength matches TextEncoder on random strings on both sides of the short-string cutoff", () => {
  const encoder = new TextEncoder();
  // Units from every UTF-8 length class, lone and paired surrogates included.
  const units = [
    0x41,
    0x7f,
    0x80,
    0x7ff,
    0x800,
    0xd7ff,
    0xd800,
    0xdbff,
    0xdc00,
    0xdfff,
    0xe000,
    0xffff,
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 2000; i++) {
    const length = Math.floor(random() * 600);
    let text = "";
    for (let j = 0; j < length; j++) {
      text += String.fromCharCode(units[Math.floor(random() * units.length)]!);
    }
    assert.equal(
      utf8ByteLength(text),
      encoder.encode(text).byteLength,
      JSON.stringify(text),
    );
  }
});
