/**
 * Masking with WebAssembly SIMD (128-bit XOR), for payloads large enough to
 * pay for it. A WebAssembly function works only on its own memory, so the
 * bytes pass through a 64 KiB scratch page: copied in, XORed, copied back.
 * Copies stay in the CPU's cache at that size, and the three steps still
 * take half the time of `applyMask`'s 32-bit words from 4 KiB up (measured
 * with `bench/mask_simd_bench.ts`). Where WebAssembly or its SIMD is
 * missing, nothing here is used.
 *
 * The module (207 bytes), assembled with `wat2wasm` from:
 *
 *     (module
 *       (memory (export "memory") 1 1)
 *       (func (export "mask") (param $ptr i32) (param $len i32) (param $key i32)
 *         (local $end i32) (local $vend i32) (local $k v128)
 *         (local.set $end (i32.add (local.get $ptr) (local.get $len)))
 *         (local.set $vend (i32.sub (local.get $end) (i32.const 63)))
 *         (local.set $k (i32x4.splat (local.get $key)))
 *         (block $done4 (loop $l4
 *           (br_if $done4 (i32.ge_s (local.get $ptr) (local.get $vend)))
 *           ;; the same for offsets 16, 32 and 48
 *           (v128.store offset=0 (local.get $ptr)
 *             (v128.xor (v128.load offset=0 (local.get $ptr)) (local.get $k)))
 *           (local.set $ptr (i32.add (local.get $ptr) (i32.const 64)))
 *           (br $l4)))
 *         (block $done (loop $l
 *           (br_if $done (i32.ge_s (local.get $ptr) (local.get $end)))
 *           (i32.store8 (local.get $ptr)
 *             (i32.xor (i32.load8_u (local.get $ptr)) (local.get $key)))
 *           (local.set $key (i32.rotr (local.get $key) (i32.const 8)))
 *           (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
 *           (br $l))))
 *
 * Internal to the protocol core.
 *
 * @module
 */

const MODULE =
  "AGFzbQEAAAABBwFgA39/fwADAgEABQQBAQEBBxECBm1lbW9yeQIABG1hc2sAAAqeAQGbAQICfwF7IAAgAWohAyADQT9rIQQgAv0RIQUCQANAIAAgBE4NASAAIAD9AAQAIAX9Uf0LBAAgACAA/QAEECAF/VH9CwQQIAAgAP0ABCAgBf1R/QsEICAAIAD9AAQwIAX9Uf0LBDAgAEHAAGohAAwACwsCQANAIAAgA04NASAAIAAtAAAgAnM6AAAgAkEIeCECIABBAWohAAwACwsL";

/** The scratch page: what one call to the module masks at most. */
const BLOCK = 64 * 1024;

interface Masker {
  readonly mask: (pointer: number, length: number, key: number) => void;
  readonly scratch: Uint8Array;
}

// Made on first use; null once it proved unavailable.
let masker: Masker | null | undefined;

function load(): Masker | null {
  try {
    const bytes = Uint8Array.from(atob(MODULE), (char) => char.charCodeAt(0));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    const exports = instance.exports as {
      mask: Masker["mask"];
      memory: WebAssembly.Memory;
    };
    return {
      mask: exports.mask,
      scratch: new Uint8Array(exports.memory.buffer),
    };
  } catch {
    // No WebAssembly, no SIMD, or code generation refused: words it is.
    return null;
  }
}

/**
 * XORs `data` in place with `key`, the 4 key bytes as a little-endian word
 * (the byte for `data[0]` lowest, as they lie in memory), and returns
 * true; false, leaving `data` as it is, where WebAssembly SIMD is not
 * available.
 */
export function simdMask(data: Uint8Array, key: number): boolean {
  // Loaded once: `??=` would try again after a failure, on every call.
  if (masker === undefined) masker = load();
  if (masker === null) return false;
  const { mask, scratch } = masker;
  // Whole blocks keep the key's position: each block starts with byte 0.
  for (let at = 0; at < data.length; at += BLOCK) {
    const block = data.subarray(at, at + BLOCK);
    scratch.set(block);
    mask(0, block.length, key);
    block.set(scratch.subarray(0, block.length));
  }
  return true;
}
