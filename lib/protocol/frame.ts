/**
 * Frame encoding (RFC 6455 section 5.2) and the close frame payload (section
 * 5.5.1). The encoder writes what it is given: keeping control frames short
 * and final, and choosing legal opcodes, is the caller's job (which also lets
 * tests build invalid frames on purpose).
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { CloseCode, isValidCloseCode, validateClose } from "./close_codes.ts";
import { applyMask } from "./mask.ts";

/** The largest payload length a frame header can carry here: 2^53 - 1. */
export const MAX_PAYLOAD_LENGTH: number = Number.MAX_SAFE_INTEGER;

/** What goes in a frame header. */
export interface FrameHeaderOptions {
  /** Whether this frame ends its message. Default `true`. */
  fin?: boolean;
  /** The RSV1 bit (set by permessage-deflate on a compressed message's first frame). Default `false`. */
  rsv1?: boolean;
  /** The 4-bit opcode; see `Opcode`. */
  opcode: number;
  /** The payload length in bytes, 0 to {@linkcode MAX_PAYLOAD_LENGTH}. */
  payloadLength: number;
  /** The 4-byte masking key: clients mask every frame, servers never do. */
  mask?: Uint8Array | undefined;
}

/** A whole frame to encode: the header fields, with the payload instead of its length. */
export interface FrameOptions
  extends Omit<FrameHeaderOptions, "payloadLength"> {
  /** The unmasked payload. It is copied, never changed. */
  payload: Uint8Array;
}

/** The status code and reason carried by a close frame. */
export interface ClosePayload {
  /** The close code; 1005 (no status) when the payload was empty. */
  code: number;
  /** The reason, possibly empty. */
  reason: string;
}

/** The header length for a payload of `payloadLength` bytes. */
export function frameHeaderLength(
  payloadLength: number,
  masked: boolean,
): number {
  const lengthBytes = payloadLength < 126 ? 0 : payloadLength < 0x10000 ? 2 : 8;
  return 2 + lengthBytes + (masked ? 4 : 0);
}

/**
 * Encodes a frame header alone, so that a large payload can be written after
 * it without being copied. Meant for unmasked (server) frames: with a `mask`
 * the caller must mask the payload itself.
 *
 * @throws {RangeError} if the opcode, length or key cannot be encoded.
 */
export function encodeFrameHeader(
  options: FrameHeaderOptions,
): Uint8Array<ArrayBuffer> {
  const { payloadLength, mask } = options;
  checkHeader(options.opcode, payloadLength, mask);
  const header = new Uint8Array(
    frameHeaderLength(payloadLength, mask !== undefined),
  );
  writeFrameHeader(header, options, payloadLength);
  return header;
}

/**
 * Encodes a whole frame: header then payload, masked with `mask` when one is
 * given (the input payload is left as it was).
 *
 * @throws {RangeError} if the opcode, length or key cannot be encoded.
 *
 * @example A masked client text frame
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame, Opcode } from "@socketry/socketry/protocol";
 *
 * const frame = encodeFrame({
 *   opcode: Opcode.Text,
 *   payload: new TextEncoder().encode("hi"),
 *   mask: new Uint8Array([0, 0, 0, 0]),
 * });
 * // FIN + text, masked length 2, the key, then the payload.
 * assert.deepEqual([...frame], [0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69]);
 * ```
 */
export function encodeFrame(options: FrameOptions): Uint8Array<ArrayBuffer> {
  const { payload, mask } = options;
  checkHeader(options.opcode, payload.length, mask);
  const headerLength = frameHeaderLength(payload.length, mask !== undefined);
  const frame = new Uint8Array(headerLength + payload.length);
  writeFrameHeader(frame, options, payload.length);
  frame.set(payload, headerLength);
  if (mask !== undefined) applyMask(frame.subarray(headerLength), mask);
  return frame;
}

function checkHeader(
  opcode: number,
  payloadLength: number,
  mask: Uint8Array | undefined,
): void {
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xf) {
    throw new RangeError(
      `opcode must be an integer from 0 to 15, got ${opcode}`,
    );
  }
  if (!Number.isSafeInteger(payloadLength) || payloadLength < 0) {
    throw new RangeError(
      `payloadLength must be an integer from 0 to 2^53-1, got ${payloadLength}`,
    );
  }
  if (mask !== undefined && mask.length !== 4) {
    throw new RangeError(`mask must be 4 bytes, got ${mask.length} bytes`);
  }
}

/**
 * Writes a frame header at the start of `target`, which must have room for
 * {@linkcode frameHeaderLength} bytes; the payload goes right after it. No
 * checks and no allocation: for hot paths that build a frame in one buffer.
 */
export function writeFrameHeader(
  target: Uint8Array,
  options: Omit<FrameHeaderOptions, "payloadLength">,
  payloadLength: number,
): void {
  const { mask } = options;
  target[0] = (options.fin === false ? 0 : 0x80) |
    (options.rsv1 === true ? 0x40 : 0) | options.opcode;
  const maskBit = mask === undefined ? 0 : 0x80;
  let offset: number;
  if (payloadLength < 126) {
    target[1] = maskBit | payloadLength;
    offset = 2;
  } else if (payloadLength < 0x10000) {
    target[1] = maskBit | 126;
    target[2] = payloadLength >>> 8;
    target[3] = payloadLength & 0xff;
    offset = 4;
  } else {
    target[1] = maskBit | 127;
    writeUint32(target, 2, Math.floor(payloadLength / 0x1_0000_0000));
    writeUint32(target, 6, payloadLength >>> 0);
    offset = 10;
  }
  if (mask !== undefined) target.set(mask, offset);
}

/**
 * Encodes the payload of a close frame: nothing when there is no `code`,
 * else the code (2 bytes, big-endian) and the reason in UTF-8.
 *
 * @throws {RangeError} if the code may not be sent, the reason is longer than
 * 123 UTF-8 bytes, or a reason is given without a code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CloseCode, encodeClosePayload } from "@socketry/socketry/protocol";
 *
 * const payload = encodeClosePayload(CloseCode.GoingAway, "bye");
 * assert.deepEqual([...payload], [0x03, 0xe9, 0x62, 0x79, 0x65]);
 * ```
 */
export function encodeClosePayload(
  code?: number,
  reason = "",
): Uint8Array<ArrayBuffer> {
  if (code === undefined) {
    if (reason !== "") {
      throw new RangeError("A close reason needs a close code");
    }
    return new Uint8Array(0);
  }
  const reasonBytes = validateClose(code, reason);
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return payload;
}

function writeUint32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value >>> 24;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

// fatal: invalid UTF-8 throws; ignoreBOM: a leading U+FEFF is kept as text.
const strictDecoder = new TextDecoder("utf-8", {
  fatal: true,
  ignoreBOM: true,
});

/**
 * Decodes the payload of a received close frame. An empty payload means no
 * status: code 1005, empty reason.
 *
 * @throws {WebSocketError} `protocolError` (1002) for a 1-byte payload or a
 * code that may not appear on the wire; `invalidPayload` (1007) for a reason
 * that is not valid UTF-8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeClosePayload } from "@socketry/socketry/protocol";
 *
 * assert.deepEqual(decodeClosePayload(new Uint8Array([0x03, 0xe8])), {
 *   code: 1000,
 *   reason: "",
 * });
 * assert.equal(decodeClosePayload(new Uint8Array()).code, 1005);
 * ```
 */
export function decodeClosePayload(bytes: Uint8Array): ClosePayload {
  if (bytes.length === 0) return { code: CloseCode.NoStatus, reason: "" };
  if (bytes.length === 1) {
    throw new WebSocketError("Close frame payload of 1 byte: a code is 2", {
      status: WebSocketStatus.ProtocolError,
      code: CloseCode.ProtocolError,
    });
  }
  const code = (bytes[0]! << 8) | bytes[1]!;
  if (!isValidCloseCode(code)) {
    throw new WebSocketError(`Close frame with invalid close code ${code}`, {
      status: WebSocketStatus.ProtocolError,
      code: CloseCode.ProtocolError,
    });
  }
  let reason: string;
  try {
    reason = bytes.length === 2 ? "" : strictDecoder.decode(bytes.subarray(2));
  } catch (cause) {
    throw new WebSocketError("Close frame reason is not valid UTF-8", {
      status: WebSocketStatus.InvalidPayload,
      code: CloseCode.InvalidPayload,
      cause,
    });
  }
  return { code, reason };
}
