/**
 * How a socket ended, put into words: for the errors of operations tried
 * after the end, for close reasons and for logs.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "../errors.ts";
import type { SocketClosed } from "./types.ts";

const encoder = new TextEncoder();

/** A sentence saying how a socket ended. */
function describeEnding(outcome: SocketClosed): string {
  switch (outcome.ending) {
    case "close":
      return `the socket was closed by ${
        outcome.initiator === "remote" ? "the peer" : "this side"
      } (${describeClose(outcome.code, outcome.reason)})`;
    case "disconnect":
      return `the peer disconnected without a close handshake (${outcome.reason})`;
    case "timeout":
      return `the socket timed out (${outcome.reason})`;
    case "abort":
      return "the socket was aborted";
    case "error":
      return `the socket failed (${
        describeClose(outcome.code, outcome.reason)
      })`;
  }
}

/** The error of `what` (an operation) tried after the socket ended. */
export function endedError(
  what: string,
  outcome: SocketClosed,
): WebSocketError {
  const how = describeEnding(outcome);
  const status = outcome.error?.status ??
    (outcome.ending === "abort"
      ? WebSocketStatus.Aborted
      : outcome.ending === "disconnect"
      ? WebSocketStatus.Disconnected
      : WebSocketStatus.Closed);
  return new WebSocketError(`Cannot use ${what}: ${how}`, {
    status,
    code: outcome.code,
    ...(outcome.error === undefined ? {} : { cause: outcome.error }),
  });
}

/** The close reason that carries `error`: its message, cut to fit a close frame. */
export function closeReasonFor(error: WebSocketError): string {
  const reason = error.message;
  return encoder.encode(reason).byteLength <= 123
    ? reason
    : reason.slice(0, 40);
}

function describeClose(code: number, reason: string): string {
  return reason === "" ? `${code}` : `${code} "${reason}"`;
}
