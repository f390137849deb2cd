/**
 * Detecting WebSocket requests: whether a request asks for a WebSocket
 * upgrade, over HTTP/1.1 or HTTP/2.
 *
 * @module
 */

import {
  checkHandshake,
  type HandshakeRequest,
  isUpgradeAttempt,
} from "../protocol/handshake.ts";

/**
 * Whether a request is a well-formed WebSocket handshake: an HTTP/1.1 `GET`
 * with `Upgrade: websocket`, `Connection: upgrade`, a valid
 * `Sec-WebSocket-Key` and `Sec-WebSocket-Version: 13`, or an HTTP/2
 * extended `CONNECT` with `:protocol websocket` (RFC 8441). Routes must
 * accept both forms: never filter WebSocket routes on `GET` alone.
 *
 * @example
 * ```ts
 * import { isWebSocketRequest } from "@socketry/socketry";
 *
 * const request = new Request("http://localhost/ws", {
 *   headers: {
 *     upgrade: "websocket",
 *     connection: "Upgrade",
 *     "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
 *     "sec-websocket-version": "13",
 *   },
 * });
 * console.log(isWebSocketRequest(request)); // true
 * ```
 */
export function isWebSocketRequest(
  request: Request | HandshakeRequest,
): boolean {
  return isUpgradeAttempt(request) && checkHandshake(request).ok;
}
