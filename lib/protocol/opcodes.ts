/**
 * Frame opcodes (RFC 6455 section 5.2). Every other 4-bit value is reserved
 * and fails the connection when received.
 *
 * @module
 */

/** The opcodes defined by RFC 6455. */
export const Opcode = {
  /** A further frame of a fragmented message. */
  Continuation: 0x0,
  /** The first frame of a text message. */
  Text: 0x1,
  /** The first frame of a binary message. */
  Binary: 0x2,
  /** Starts or answers the close handshake. */
  Close: 0x8,
  /** Asks the peer for a pong. */
  Ping: 0x9,
  /** Answers a ping, or serves as an unsolicited heartbeat. */
  Pong: 0xa,
} as const;

/** One of the values of {@linkcode Opcode}. */
export type Opcode = typeof Opcode[keyof typeof Opcode];

/**
 * Whether `opcode` denotes a control frame (close, ping, pong or a reserved
 * control opcode): those have the high bit of the 4-bit opcode set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isControl, Opcode } from "@socketry/socketry/protocol";
 *
 * assert.equal(isControl(Opcode.Ping), true);
 * assert.equal(isControl(Opcode.Text), false);
 * ```
 */
export function isControl(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}
