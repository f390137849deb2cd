import assert from "node:assert/strict";
import { applyMask, readMaskKey } from "../../lib/protocol/mask.ts";
import { simdMask } from "../../lib/protocol/simd_mask.ts";

const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

function naiveMask(data: Uint8Array, key: Uint8Array, keyOffset = 0) {
  return data.map((byte, i) => byte ^ key[(keyOffset + i) % 4]!);
}

function sample(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 131 + 7) & 0xff);
}

Deno.test("applyMask() masks the RFC 6455 'Hello' example", () => {
  const data = new TextEncoder().encode("Hello");
  applyMask(data, KEY);
  assert.deepEqual(data, new Uint8Array([0x7f, 0x9f, 0x4d, 0x51, 0x58]));
  applyMask(data, KEY);
  assert.deepEqual(new TextDecoder().decode(data), "Hello");
});

Deno.test("readMaskKey() reads the first key byte as the most significant", () => {
  assert.equal(readMaskKey(KEY), 0x37fa213d);
  assert.equal(
    readMaskKey(new Uint8Array([0, 0xff, 0xfe, 0xfd, 0xfc]), 1),
    0xfffefdfc,
  );
});

Deno.test("applyMask() matches a byte-wise mask for every length, alignment and key position", () => {
  const lengths = [
    ...Array(80).keys(),
    127,
    128,
    1000,
    1023,
    1024,
    1025,
    4099,
    65_535,
    65_536,
    65_537,
    200_003,
  ];
  for (const length of lengths) {
    for (let alignment = 0; alignment < 4; alignment++) {
      for (let keyOffset = 0; keyOffset < 4; keyOffset++) {
        const buffer = new Uint8Array(length + 8);
        const data = buffer.subarray(alignment, alignment + length);
        data.set(sample(length));
        const expected = naiveMask(data, KEY, keyOffset);
        const key = alignment % 2 === 0 ? KEY : readMaskKey(KEY);
        const next = applyMask(data, key, keyOffset);
        assert.deepEqual(
          data,
          expected,
          `length ${length} align ${alignment} key ${keyOffset}`,
        );
        assert.equal(next, (keyOffset + length) % 4);
        // Bytes around the view are untouched.
        assert.ok(buffer.subarray(0, alignment).every((b) => b === 0));
        assert.ok(buffer.subarray(alignment + length).every((b) => b === 0));
      }
    }
  }
});

Deno.test("applyMask() unmasks a payload split anywhere by threading the key position", () => {
  const payload = sample(300);
  const masked = naiveMask(payload, KEY);
  for (const cuts of [[1], [3, 50], [4, 8, 12], [33, 34, 35, 299], [150]]) {
    const data = masked.slice();
    let position = 0;
    let start = 0;
    for (const end of [...cuts, data.length]) {
      position = applyMask(data.subarray(start, end), KEY, position);
      start = end;
    }
    assert.deepEqual(data, payload, `cuts ${cuts}`);
  }
});

Deno.test("applyMask() rejects a key that is not 4 bytes", () => {
  assert.throws(
    () => applyMask(new Uint8Array(8), new Uint8Array(3)),
    RangeError,
  );
});

Deno.test("simdMask() runs in Deno and matches a byte-wise mask across its 64 KiB blocks", () => {
  for (const length of [0, 1, 63, 64, 65, 1024, 65_536, 65_600, 131_073]) {
    for (let keyOffset = 0; keyOffset < 4; keyOffset++) {
      const data = sample(length);
      const expected = naiveMask(data, KEY, keyOffset);
      // The key rotated to start at keyOffset, as a little-endian word.
      const rotated = Uint8Array.from(
        { length: 4 },
        (_, i) => KEY[(keyOffset + i) % 4]!,
      );
      const key = new DataView(rotated.buffer).getUint32(0, true);
      assert.equal(simdMask(data, key), true, "WebAssembly SIMD is missing");
      assert.deepEqual(data, expected, `length ${length} key ${keyOffset}`);
    }
  }
});
