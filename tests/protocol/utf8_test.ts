import assert from "node:assert/strict";
import { Utf8Validator } from "../../lib/protocol/utf8.ts";
import { hex } from "../helpers/bytes.ts";
import { mulberry32 } from "../helpers/random.ts";

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

function isValidByDecoder(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function validate(bytes: Uint8Array): boolean {
  const validator = new Utf8Validator();
  return validator.push(bytes) && validator.finish();
}

// The index of the byte at which a byte-by-byte push first fails, or -1.
function failingIndex(bytes: Uint8Array): number {
  const validator = new Utf8Validator();
  for (let i = 0; i < bytes.length; i++) {
    if (!validator.push(bytes.subarray(i, i + 1))) return i;
  }
  return -1;
}

const VALID: [string, Uint8Array][] = [
  ["empty", new Uint8Array(0)],
  ["κόσμε", encoder.encode("κόσμε")],
  ["ASCII", encoder.encode("Hello, world! 0123456789 ~\x7f")],
  ["U+0000", hex("00")],
  ["U+007F", hex("7f")],
  ["U+0080", hex("c2 80")],
  ["U+07FF", hex("df bf")],
  ["U+0800", hex("e0 a0 80")],
  ["U+D7FF", hex("ed 9f bf")],
  ["U+E000", hex("ee 80 80")],
  ["U+FFFD", hex("ef bf bd")],
  ["U+FFFE", hex("ef bf be")],
  ["U+FFFF", hex("ef bf bf")],
  ["U+10000", hex("f0 90 80 80")],
  ["U+FFFFF", hex("f3 bf bf bf")],
  ["U+100000", hex("f4 80 80 80")],
  ["U+10FFFF", hex("f4 8f bf bf")],
  ["mixed", encoder.encode("a€𝄞é世界🎉z")],
];

// [name, bytes, index of the byte at which the text can no longer be valid
// (-1: only the missing end shows it)]
const INVALID: [string, Uint8Array, number][] = [
  ["lone continuation 80", hex("80"), 0],
  ["lone continuation bf", hex("41 bf"), 1],
  ["overlong / in 2 bytes", hex("c0 af"), 0],
  ["overlong / in 3 bytes", hex("e0 80 af"), 1],
  ["overlong / in 4 bytes", hex("f0 80 80 af"), 1],
  ["largest 2-byte overlong", hex("c1 bf"), 0],
  ["largest 3-byte overlong", hex("e0 9f bf"), 1],
  ["largest 4-byte overlong", hex("f0 8f bf bf"), 1],
  ["surrogate U+D800", hex("ed a0 80"), 1],
  ["surrogate U+DFFF", hex("ed bf bf"), 1],
  ["surrogate pair", hex("ed a0 80 ed b0 80"), 1],
  ["U+110000 (f4 90)", hex("f4 90 80 80"), 1],
  ["lead f5", hex("f5 80 80 80"), 0],
  ["lead fe", hex("fe"), 0],
  ["lead ff", hex("ff"), 0],
  ["missing continuation", hex("c2 41"), 1],
  ["3-byte cut by ASCII", hex("e2 82 41"), 2],
  ["4-byte cut by a lead", hex("f0 9f 98 f0"), 3],
  [
    "κόσμε then stray byte",
    hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64"),
    12,
  ],
  ["truncated 2-byte at end", hex("41 c2"), -1],
  ["truncated 3-byte at end", hex("e0 a0"), -1],
  ["truncated 4-byte at end", hex("f0 90 80"), -1],
];

Deno.test("Utf8Validator accepts valid text, including boundary code points", () => {
  for (const [name, bytes] of VALID) {
    assert.ok(validate(bytes), name);
    assert.equal(failingIndex(bytes), -1, name);
  }
});

Deno.test("Utf8Validator rejects invalid text at the first impossible byte", () => {
  for (const [name, bytes, index] of INVALID) {
    assert.equal(validate(bytes), false, name);
    assert.equal(failingIndex(bytes), index, name);
  }
});

Deno.test("Utf8Validator gives the same answer for every split", () => {
  for (const [name, bytes] of [...VALID, ...INVALID]) {
    const expected = validate(bytes);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const validator = new Utf8Validator();
      const result = validator.push(bytes.subarray(0, cut)) &&
        validator.push(bytes.subarray(cut)) && validator.finish();
      assert.equal(result, expected, `${name} cut at ${cut}`);
    }
  }
});

Deno.test("Utf8Validator stays failed until reset, and finish() resets", () => {
  const validator = new Utf8Validator();
  assert.equal(validator.push(hex("ff")), false);
  assert.equal(validator.push(hex("41")), false);
  assert.equal(validator.finish(), false);
  assert.ok(validator.push(hex("41")) && validator.finish());

  assert.equal(validator.push(hex("ff")), false);
  validator.reset();
  assert.ok(validator.push(hex("e2 82")));
  validator.reset();
  assert.ok(validator.push(hex("41")) && validator.finish());

  assert.ok(validator.push(hex("f0 9f")));
  assert.equal(validator.finish(), false, "cut short");
  assert.ok(validator.finish(), "finish() reset the state");
});

Deno.test("Utf8Validator agrees with TextDecoder on random byte strings", () => {
  const seed = 0x5eed_0001;
  const random = mulberry32(seed);
  // Bytes biased towards the interesting boundaries.
  const interesting = hex(
    "00 41 7f 80 8f 90 9f a0 bf c0 c1 c2 df e0 e1 ec ed ee ef f0 f1 f3 f4 f5 ff",
  );
  const texts = ["κόσμε", "€", "𝄞", "\u{10ffff}", "\u{d7ff}", "\u{e000}", "ab"]
    .map((text) => encoder.encode(text));
  for (let iteration = 0; iteration < 4000; iteration++) {
    const parts: number[] = [];
    const count = Math.floor(random() * 12);
    for (let i = 0; i < count; i++) {
      const choice = random();
      if (choice < 0.4) {
        parts.push(...texts[Math.floor(random() * texts.length)]!);
      } else if (choice < 0.8) {
        parts.push(interesting[Math.floor(random() * interesting.length)]!);
      } else parts.push(Math.floor(random() * 256));
    }
    const bytes = Uint8Array.from(parts);
    const cut = Math.floor(random() * (bytes.length + 1));
    const validator = new Utf8Validator();
    const result = validator.push(bytes.subarray(0, cut)) &&
      validator.push(bytes.subarray(cut)) && validator.finish();
    assert.equal(
      result,
      isValidByDecoder(bytes),
      `seed ${seed} iteration ${iteration}: ${bytes}`,
    );
  }
});

Deno.test("Utf8Validator handles long ASCII runs and text after them", () => {
  const ascii = new Uint8Array(100_003).fill(0x61);
  assert.ok(validate(ascii));
  ascii[99_999] = 0x80;
  assert.equal(validate(ascii), false);
  ascii[99_999] = 0xc3;
  assert.equal(validate(ascii), false, "0xc3 then 'a'");
  ascii[100_000] = 0xa9;
  assert.ok(validate(ascii));
});

Deno.test("Utf8Validator finds a non-ASCII byte anywhere in a long ASCII run, at any alignment", () => {
  for (let alignment = 0; alignment < 4; alignment++) {
    for (let at = 0; at < 150; at++) {
      for (
        const insert of [hex("80"), hex("c3 a9"), hex("f4 90"), hex("e2 82")]
      ) {
        const buffer = new Uint8Array(alignment + 150 + insert.length).fill(
          0x61,
        );
        buffer.set(insert, alignment + at);
        const bytes = buffer.subarray(alignment);
        assert.equal(
          validate(bytes),
          isValidByDecoder(bytes),
          `alignment ${alignment}, ${insert} at ${at}`,
        );
      }
    }
  }
});
