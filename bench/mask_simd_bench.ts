// Unmasking large payloads: `applyMask`, which from 1 KiB up XORs with
// WebAssembly SIMD through a 64 KiB scratch page (`lib/protocol/simd_mask.ts`:
// copy in, XOR 128 bits at a time, copy back), against the 32-bit words it
// used before (repeated here), for the question "would SIMD masking speed up
// the engine's large frames?".
//
//     deno bench bench/mask_simd_bench.ts
//
// Measured on the 2-core development machine (4 Dec 2026), before the
// change, with the module's function called directly: on bytes already in
// wasm memory SIMD unmasks 1 MiB in 17 µs against 92 µs for the words (5.4×;
// 16 KiB: 0.22 against 1.4 µs); with the copies in and out of wasm memory it
// still wins (1 MiB 64 µs, 1.4×; 16 KiB 0.61 µs, 2.4×; break-even about
// 1 KiB), since copies at cache size cost less than the XOR saves.

import assert from "node:assert/strict";
import { applyMask, readMaskKey } from "../lib/protocol/mask.ts";

const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

function bytes(length: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length }, (_, i) => (i * 131 + 7) & 0xff);
}

/** The words, as `applyMask` did them: 4-byte aligned data, key position 0. */
function maskWords(data: Uint8Array, key: Uint8Array): void {
  const word = new DataView(key.buffer, key.byteOffset).getUint32(0, true);
  const words = data.length >>> 2;
  const view = new Uint32Array(data.buffer, data.byteOffset, words);
  for (let w = 0; w < words; w++) view[w] = view[w]! ^ word;
  for (let i = words * 4; i < data.length; i++) {
    data[i] = data[i]! ^ key[i & 3]!;
  }
}

// Both give the same bytes, an odd length's tail included.
{
  const words = bytes(1_000_003);
  const simd = words.slice();
  maskWords(words, KEY);
  applyMask(simd, readMaskKey(KEY));
  assert.deepEqual(simd, words);
}

for (
  const [name, size] of [["4 KiB", 4096], ["16 KiB", 16 * 1024], [
    "1 MiB",
    1 << 20,
  ]] as const
) {
  const data = bytes(size);
  Deno.bench(`32-bit words in place, ${name}`, {
    group: `in place ${name}`,
    baseline: true,
  }, () => {
    maskWords(data, KEY);
  });
  Deno.bench(`applyMask (SIMD) in place, ${name}`, {
    group: `in place ${name}`,
  }, () => {
    applyMask(data, KEY);
  });
  Deno.bench(`32-bit words, then copy into a new buffer, ${name}`, {
    group: `into a message ${name}`,
    baseline: true,
  }, () => {
    maskWords(data, KEY);
    data.slice();
  });
  Deno.bench(`applyMask (SIMD), then copy into a new buffer, ${name}`, {
    group: `into a message ${name}`,
  }, () => {
    applyMask(data, KEY);
    data.slice();
  });
}
