/**
 * Close codes and close reasons (RFC 6455 section 7.4): which codes may be
 * sent by an application, which may appear on the wire, and the limit on the
 * reason's length. Pure functions, no I/O.
 *
 * @module
 */

/**
 * Close codes with a name in RFC 6455 and the IANA registry.
 *
 * @example
 * ```ts
 * import { CloseCode } from "@socketry/socketry";
 *
 * console.log(CloseCode.GoingAway); // 1001
 * ```
 */
export const CloseCode = {
  /** The purpose for which the connection was established has been fulfilled. */
  Normal: 1000,
  /** The endpoint is going away: server shutdown or page navigation. */
  GoingAway: 1001,
  /** The peer broke the protocol. */
  ProtocolError: 1002,
  /** The endpoint received a type of data it cannot accept. */
  UnsupportedData: 1003,
  /** Reserved: no status code was present. Never sent on the wire. */
  NoStatus: 1005,
  /** Reserved: the connection ended without a close frame. Never sent on the wire. */
  Abnormal: 1006,
  /** A text message was not valid UTF-8, or data was inconsistent with its type. */
  InvalidPayload: 1007,
  /** A message violated the endpoint's policy. */
  PolicyViolation: 1008,
  /** A message was too big to process. */
  MessageTooBig: 1009,
  /** The client expected an extension the server did not negotiate. */
  MandatoryExtension: 1010,
  /** The server met an unexpected condition. */
  InternalError: 1011,
  /** The service is restarting. */
  ServiceRestart: 1012,
  /** The service is overloaded: try again later. */
  TryAgainLater: 1013,
  /** A gateway received an invalid response. */
  BadGateway: 1014,
} as const;

/** The largest close reason, in UTF-8 bytes: 125 bytes of payload less the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Whether `code` may appear in a close frame on the wire: 1000–1003,
 * 1007–1014 and 3000–4999. 1004–1006 and 1015 are reserved and never sent.
 *
 * @example
 * ```ts
 * import { isValidCloseCode } from "@socketry/socketry";
 *
 * console.log(isValidCloseCode(4000), isValidCloseCode(1005)); // true false
 * ```
 */
export function isValidCloseCode(code: number): boolean {
  return Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
      (code >= 3000 && code <= 4999));
}

const encoder = new TextEncoder();

/**
 * Checks a close code and reason given by an application and returns the
 * reason's UTF-8 bytes. Throws `RangeError` naming the problem.
 */
export function validateClose(code: number, reason: string): Uint8Array {
  if (!isValidCloseCode(code)) {
    throw new RangeError(
      `Invalid close code ${code}: use 1000-1003, 1007-1014 or 3000-4999`,
    );
  }
  const bytes = encoder.encode(reason);
  if (bytes.byteLength > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(
      `Close reason is ${bytes.byteLength} UTF-8 bytes; the limit is ${MAX_CLOSE_REASON_BYTES}`,
    );
  }
  return bytes;
}
