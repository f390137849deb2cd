/**
 * The server on Deno's own WebSocket: the {@linkcode webSockets} middleware
 * for `Deno.serve`, {@linkcode acceptWebSocket} for your own routing, the
 * {@linkcode NativeSocket} they hand you, and the {@linkcode SocketProcessor}
 * that runs sockets in the background with broadcasts, groups, metrics and
 * graceful shutdown.
 *
 * This entry point loads none of `node:http`, `node:http2`, `node:net`,
 * `node:tls` or `node:zlib`, nor any npm package. For compression, HTTP/2
 * or explicit ping control use `@socketry/socketry/engine`.
 *
 * @example Sockets processed in the background
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocketProcessor, webSockets } from "@socketry/socketry/server";
 *
 * const processor = new SocketProcessor({
 *   onSocket: async (socket) => {
 *     for await (const message of socket) await socket.send(message);
 *   },
 * });
 * const server = Deno.serve(
 *   { port: 0, onListen() {} },
 *   webSockets({ path: "/ws" }, (socket) => processor.add(socket)),
 * );
 *
 * const client = new WebSocket(`ws://localhost:${server.addr.port}/ws`);
 * await new Promise((open) => client.onopen = open);
 * client.send("hello");
 * const reply = await new Promise<MessageEvent>((done) =>
 *   client.onmessage = done
 * );
 * assert.equal(reply.data, "hello");
 *
 * const closed = new Promise((done) => client.onclose = done);
 * await processor.shutdown(); // closes every socket with 1001
 * await closed;
 * await server.shutdown();
 * ```
 *
 * @module
 */

export {
  getStatus,
  type HandshakeResponse,
  WebSocketError,
  type WebSocketErrorOptions,
  WebSocketStatus,
} from "../errors.ts";
export { CloseCode, isValidCloseCode } from "../protocol/close_codes.ts";
export type { HandshakeRequest } from "../protocol/handshake.ts";
export { isWebSocketRequest } from "./detect.ts";
export * from "../socket/types.ts";
export type { ResolvedSocketOptions } from "../socket/options.ts";
export { Socket } from "../socket/socket.ts";
export { type NativeSilenceEnding, NativeSocket } from "../native.ts";
export {
  type AcceptOptions,
  type NativeKeepAlive,
  nativeKeepAlive,
  type ResolvedServerOptions,
  resolveServerOptions,
  type WebSocketServerOptions,
} from "./options.ts";
export { type AcceptResult, acceptWebSocket } from "./accept.ts";
export { type SocketHandler, webSockets } from "./middleware.ts";
export type {
  AdmissionOptions,
  Authorize,
  AuthorizeInfo,
} from "./admission.ts";
export type { LimitsOptions, RateLimitPolicy } from "./limits.ts";
export {
  type AddOptions,
  type BroadcastOptions,
  type BroadcastResult,
  type GroupChange,
  type ShutdownOptions,
  type SlowConsumerPolicy,
  type SocketCompletion,
  SocketProcessor,
  type SocketProcessorOptions,
  type SocketWork,
} from "../processor.ts";
export {
  PreparedMessage,
  type PreparedMessageOptions,
} from "../prepared_message.ts";
export * from "../backplane/mod.ts";
export {
  Counter,
  Gauge,
  type Labels,
  type MetricFamily,
  Metrics,
  type MetricSample,
  type MetricType,
} from "../metrics/metrics.ts";
export {
  type GroupHolder,
  type LimitName,
  type RefusalReason,
  ServerMetrics,
  type ServerMetricsSnapshot,
} from "../metrics/server_metrics.ts";
export {
  metricsHandler,
  PROMETHEUS_CONTENT_TYPE,
  prometheusText,
} from "../metrics/prometheus.ts";
