/**
 * Payload masking (RFC 6455 section 5.3): every byte is XORed with the byte of
 * the 4-byte key at the same position modulo 4. Masking and unmasking are the
 * same operation.
 *
 * @module
 */

import { simdMask } from "./simd_mask.ts";

// The key is held as a 32-bit number whose most significant byte is the first
// key byte (big-endian, as on the wire). A Uint32Array view uses the platform's
// byte order, so the word key is byte-swapped on little-endian platforms.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// Below this many bytes the cost of creating a Uint32Array view outweighs the
// gain of working on words (measured with bench/protocol_bench.ts).
const WORD_THRESHOLD = 64;
// From this many bytes WebAssembly SIMD, scratch copies included, beats
// words (measured with bench/mask_simd_bench.ts: even at 1 KiB, 2x at 4 KiB).
const SIMD_THRESHOLD = 1024;

/**
 * Reads a 4-byte masking key at `offset` of `bytes` as a 32-bit number, first
 * key byte most significant: the form {@linkcode applyMask} takes fastest.
 */
export function readMaskKey(bytes: Uint8Array, offset = 0): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) |
    (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/**
 * XORs `data` in place with the masking key, starting at position `keyOffset`
 * (0–3) of the key, and returns the key position for the byte after `data`.
 * Threading that return value through successive calls unmasks a payload that
 * arrives in pieces:
 *
 * ```ts ignore
 * let position = 0;
 * for (const piece of pieces) position = applyMask(piece, key, position);
 * ```
 *
 * @param data The bytes to mask or unmask, changed in place.
 * @param mask The key: 4 bytes, or a number as returned by {@linkcode readMaskKey}.
 * @param keyOffset The position in the key of the first byte of `data`.
 * @returns The position in the key of the byte that follows `data`.
 *
 * @example Unmask a payload that arrives in two pieces
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyMask } from "@socketry/socketry/protocol";
 *
 * const key = new Uint8Array([1, 2, 3, 4]);
 * const payload = new Uint8Array([10, 20, 30, 40, 50]);
 * applyMask(payload, key); // masked, as a client sends it
 * const position = applyMask(payload.subarray(0, 3), key);
 * applyMask(payload.subarray(3), key, position);
 * assert.deepEqual([...payload], [10, 20, 30, 40, 50]);
 * ```
 */
export function applyMask(
  data: Uint8Array,
  mask: Uint8Array | number,
  keyOffset = 0,
): number {
  let key: number;
  if (typeof mask === "number") {
    key = mask >>> 0;
  } else {
    if (mask.length !== 4) {
      throw new RangeError(
        `mask must be 4 bytes, got ${mask.length} bytes`,
      );
    }
    key = readMaskKey(mask);
  }
  const length = data.length;
  // Rotate so that the key byte for data[0] is the most significant one.
  key = rotate(key, keyOffset & 3);
  if (length < WORD_THRESHOLD) {
    maskBytes(data, 0, length, key);
  } else if (length < SIMD_THRESHOLD || !simdMask(data, swapBytes(key))) {
    // Bytes up to the first 4-byte aligned address, then whole words, then
    // the last 0-3 bytes (whole words leave the key's rotation unchanged).
    const head = (4 - (data.byteOffset & 3)) & 3;
    maskBytes(data, 0, head, key);
    key = rotate(key, head);
    const words = (length - head) >>> 2;
    const view = new Uint32Array(data.buffer, data.byteOffset + head, words);
    const word = LITTLE_ENDIAN ? swapBytes(key) : key | 0;
    for (let w = 0; w < words; w++) view[w] = view[w]! ^ word;
    maskBytes(data, head + words * 4, length, key);
  }
  return (keyOffset + length) & 3;
}

// The key in memory order on a little-endian machine (WebAssembly always
// is one): the key byte for the first data byte lowest.
function swapBytes(key: number): number {
  return (key >>> 24) | ((key >>> 8) & 0xff00) | ((key << 8) & 0xff0000) |
    (key << 24);
}

// Rotates the key left by `bytes` bytes.
function rotate(key: number, bytes: number): number {
  const shift = bytes * 8;
  return shift === 0 ? key : ((key << shift) | (key >>> (32 - shift))) >>> 0;
}

// Masks data[start..end) byte by byte, 4 at a time, key byte for data[start]
// most significant.
function maskBytes(
  data: Uint8Array,
  start: number,
  end: number,
  key: number,
): void {
  const k0 = key >>> 24;
  const k1 = (key >>> 16) & 0xff;
  const k2 = (key >>> 8) & 0xff;
  const k3 = key & 0xff;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    data[i] = data[i]! ^ k0;
    data[i + 1] = data[i + 1]! ^ k1;
    data[i + 2] = data[i + 2]! ^ k2;
    data[i + 3] = data[i + 3]! ^ k3;
  }
  if (i < end) data[i] = data[i]! ^ k0;
  if (i + 1 < end) data[i + 1] = data[i + 1]! ^ k1;
  if (i + 2 < end) data[i + 2] = data[i + 2]! ^ k2;
}
