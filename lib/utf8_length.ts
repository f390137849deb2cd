/**
 * The UTF-8 size of a string without keeping its encoding, for statistics
 * and limits on the hot path. Lone surrogates count as U+FFFD (3 bytes), as
 * `TextEncoder` would encode them.
 *
 * @module
 */

const encoder = new TextEncoder();
// encodeInto is the fastest exact count there is (SIMD in V8); the scratch
// buffer holds 3 bytes per UTF-16 unit, the most one unit can take.
const SCRATCH_UNITS = 64 * 1024;
const scratch = new Uint8Array(SCRATCH_UNITS * 3);
// Below this many units a loop in JavaScript beats the call into encodeInto.
const SHORT_UNITS = 256;
let lastText = "";
let lastLength = 0;

/** The number of bytes `new TextEncoder().encode(text)` would produce. */
export function utf8ByteLength(text: string): number {
  // An echo measures the same string twice: received, then sent.
  if (text === lastText) return lastLength;
  let length: number;
  if (text.length <= SHORT_UNITS) {
    length = countShort(text);
  } else if (text.length <= SCRATCH_UNITS) {
    length = encoder.encodeInto(text, scratch).written;
  } else {
    length = countLong(text);
  }
  lastText = text;
  lastLength = length;
  return length;
}

// Longer strings: encodeInto over slices of at most SCRATCH_UNITS units
// (substring makes a cheap sliced string), never splitting a surrogate pair.
function countLong(text: string): number {
  let bytes = 0;
  for (let start = 0; start < text.length;) {
    let end = Math.min(text.length, start + SCRATCH_UNITS);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    bytes += encoder.encodeInto(text.substring(start, end), scratch).written;
    start = end;
  }
  return bytes;
}

function countShort(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
      continue;
    }
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A surrogate pair: 4 bytes for its 2 units.
        bytes += 2;
        i++;
        continue;
      }
    }
    // The rest of the BMP, and lone surrogates (encoded as U+FFFD): 3 bytes.
    bytes += 2;
  }
  return bytes;
}
