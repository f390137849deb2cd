/**
 * The opening handshake's key exchange (RFC 6455 sections 1.3 and 4.2.2): the
 * client's random `Sec-WebSocket-Key` and the server's `Sec-WebSocket-Accept`
 * proof. Synchronous, so that answering a handshake needs no `await`; Web
 * Crypto's SHA-1 is asynchronous only, hence the small SHA-1 below.
 *
 * @module
 */

/** The GUID that RFC 6455 appends to the key before hashing. */
export const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// Base64 of 16 bytes: 21 free characters, then one that carries only 2 bits
// (the other 4 must be zero), then padding.
const KEY_PATTERN = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

const encoder = new TextEncoder();

/**
 * The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`: base64 of the
 * SHA-1 of the key followed by {@linkcode HANDSHAKE_GUID}.
 *
 * @example The example of RFC 6455 section 1.3
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeAcceptKey } from "@socketry/socketry/protocol";
 *
 * assert.equal(
 *   computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
 *   "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
 * );
 * ```
 */
export function computeAcceptKey(key: string): string {
  return sha1Base64(key + HANDSHAKE_GUID);
}

/**
 * A `Sec-WebSocket-Key` made from 16 random bytes (which the caller draws,
 * with `crypto.getRandomValues`, so this stays pure).
 *
 * @throws {RangeError} unless `random` holds exactly 16 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKey, isValidKey } from "@socketry/socketry/protocol";
 *
 * const key = generateKey(crypto.getRandomValues(new Uint8Array(16)));
 * assert.equal(isValidKey(key), true);
 * ```
 */
export function generateKey(random: Uint8Array): string {
  if (random.length !== 16) {
    throw new RangeError(
      `random must be 16 bytes, got ${random.length}`,
    );
  }
  return toBase64(random, random.length);
}

/**
 * Whether `key` is a well-formed `Sec-WebSocket-Key`: the canonical base64
 * form of 16 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isValidKey } from "@socketry/socketry/protocol";
 *
 * assert.equal(isValidKey("dGhlIHNhbXBsZSBub25jZQ=="), true);
 * assert.equal(isValidKey("c2hvcnQ="), false); // 5 bytes, not 16
 * ```
 */
export function isValidKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

// SHA-1 (FIPS 180-4). Broken for collision resistance, but the handshake only
// uses it to show that the server understood the request. It runs on every
// handshake, so it allocates nothing but its result: the message is written
// into a reused buffer (a key and the GUID take two 64-byte blocks) and the
// digest goes straight to base64.
const schedule = new Int32Array(80);
let blocks = new Uint8Array(128);
const digest = new Uint8Array(20);

function sha1Base64(text: string): string {
  let length = text.length;
  let encoded: Uint8Array | undefined;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 127) {
      encoded = encoder.encode(text);
      length = encoded.length;
      break;
    }
  }
  // Padded: the message, 0x80, zeros, then its length in bits as a 64-bit
  // big-endian number, to a multiple of 64 bytes.
  const size = ((length + 8) >>> 6) * 64 + 64;
  if (blocks.length < size) blocks = new Uint8Array(size);
  const padded = blocks;
  if (encoded !== undefined) padded.set(encoded);
  else for (let i = 0; i < length; i++) padded[i] = text.charCodeAt(i);
  padded.fill(0, length, size);
  padded[length] = 0x80;
  writeWord(padded, size - 8, Math.floor(length / 0x2000_0000));
  writeWord(padded, size - 4, length << 3);

  let h0 = 0x67452301;
  let h1 = 0xefcdab89 | 0;
  let h2 = 0x98badcfe | 0;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0 | 0;
  const w = schedule;
  for (let block = 0; block < size; block += 64) {
    for (let i = 0; i < 16; i++) {
      const at = block + i * 4;
      w[i] = (padded[at]! << 24) | (padded[at + 1]! << 16) |
        (padded[at + 2]! << 8) | padded[at + 3]!;
    }
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!;
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number, k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]!) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  writeWord(digest, 0, h0);
  writeWord(digest, 4, h1);
  writeWord(digest, 8, h2);
  writeWord(digest, 12, h3);
  writeWord(digest, 16, h4);
  return toBase64(digest, 20);
}

const BASE64 =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** The first `length` bytes of `bytes` in padded base64 (RFC 4648 section 4). */
function toBase64(bytes: Uint8Array, length: number): string {
  let text = "";
  for (let i = 0; i < length; i += 3) {
    const left = length - i;
    const group = (bytes[i]! << 16) | (left > 1 ? bytes[i + 1]! << 8 : 0) |
      (left > 2 ? bytes[i + 2]! : 0);
    text += BASE64[group >>> 18]! + BASE64[(group >>> 12) & 63]! +
      (left > 1 ? BASE64[(group >>> 6) & 63]! : "=") +
      (left > 2 ? BASE64[group & 63]! : "=");
  }
  return text;
}

function writeWord(bytes: Uint8Array, at: number, word: number): void {
  bytes[at] = word >>> 24;
  bytes[at + 1] = word >>> 16;
  bytes[at + 2] = word >>> 8;
  bytes[at + 3] = word;
}
