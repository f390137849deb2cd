/**
 * socketry's browser client: a WebSocket that reconnects with backoff and
 * full jitter, notices a dead line with heartbeats that a socketry server
 * answers, and queues (within bounds) what is sent while it is away. Web
 * standards only: it runs in browsers, in Deno, and in any runtime with a
 * `WebSocket`. `npm run build` bundles it as `dist/socketry.browser.js`.
 *
 * @example
 * ```ts
 * import { ReconnectingSocket } from "@socketry/socketry/browser";
 *
 * const socket = new ReconnectingSocket("ws://localhost:8080/ws", {
 *   startClosed: true,
 * });
 * socket.addEventListener("open", () => console.log("open"));
 * socket.addEventListener("reconnecting", ({ attempt, delay }) =>
 *   console.log(`reconnecting: attempt ${attempt} in ${delay} ms`)
 * );
 * socket.addEventListener("message", ({ data }) => console.log(data));
 * // socket.open(); socket.send("hello"); // queued until the socket is open
 * socket.close();
 * ```
 *
 * @module
 */

export { type BackoffBounds, backoffDelay } from "./backoff.ts";
export { type Clock, systemClock } from "./clock.ts";
export { ClosedEvent, ConnectingEvent, ReconnectingEvent } from "./events.ts";
export {
  Heartbeat,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  type HeartbeatActions,
} from "./heartbeat.ts";
export {
  type BrowserSendData,
  messageSize,
  OfflineQueue,
} from "./offline_queue.ts";
export {
  type ReconnectingSocketOptions,
  type ResolvedOptions,
  resolveReconnectingOptions,
  type SocketUrl,
  type WebSocketConstructor,
} from "./options.ts";
export {
  type BrowserSendOptions,
  ReconnectingSocket,
  type ReconnectingSocketEventMap,
  type ReconnectingState,
  type ReconnectingStats,
  type SendOutcome,
} from "./reconnecting_socket.ts";
export {
  type HandshakeResponse,
  WebSocketError,
  type WebSocketStatus,
} from "../errors.ts";
