/**
 * socketry: complete WebSocket support for Deno, on web standards.
 *
 * - {@linkcode webSockets}: `Deno.serve` middleware that turns WebSocket
 *   routes into sockets, with origin checks, subprotocols and keep-alive.
 * - {@linkcode Socket}: one contract for every backend: chunked `receive()`,
 *   fragment-aware `send()`, the close handshake, `for await` over messages,
 *   events, a `closed` promise and statistics.
 * - {@linkcode SocketProcessor}: background processing of sockets with a
 *   completion promise per connection, broadcasts, groups and graceful
 *   shutdown.
 *
 * @example Echo server
 * ```ts
 * import { webSockets } from "@socketry/socketry";
 *
 * // A message listener replies as each message arrives: on Deno's own
 * // socket (the default backend) a reply sent later, to a peer that closed
 * // right after sending, can be lost. See NativeSocket.
 * const handler = webSockets({ path: "/ws" }, (socket) => {
 *   socket.addEventListener("message", ({ data }) => {
 *     socket.send(data).catch(() => socket.abort());
 *   });
 * });
 * // Deno.serve({ port: 8080 }, handler);
 * ```
 *
 * @module
 */

export { getStatus, WebSocketError, WebSocketStatus } from "./lib/errors.ts";
export type { HandshakeResponse, WebSocketErrorOptions } from "./lib/errors.ts";
export { CloseCode, isValidCloseCode } from "./lib/protocol/close_codes.ts";
export { isWebSocketRequest } from "./lib/server/detect.ts";
export type { HandshakeRequest } from "./lib/protocol/handshake.ts";
export {
  type MessageData,
  type MessagesOptions,
  type MessageType,
  type ReceivedClose,
  type ReceivedData,
  type ReceiveOptions,
  type ReceiveResult,
  type ResolvedSocketOptions,
  type SendData,
  type SendOptions,
  Socket,
  type SocketClosed,
  SocketCloseEvent,
  type SocketEnding,
  type SocketEventMap,
  type SocketOptions,
  type SocketState,
  type SocketStats,
} from "./lib/socket/mod.ts";
export { type NativeSilenceEnding, NativeSocket } from "./lib/native.ts";
export {
  type AcceptOptions,
  type NativeKeepAlive,
  nativeKeepAlive,
  type ResolvedServerOptions,
  resolveServerOptions,
  type WebSocketServerOptions,
} from "./lib/server/options.ts";
export { type AcceptResult, acceptWebSocket } from "./lib/server/accept.ts";
export { type SocketHandler, webSockets } from "./lib/server/middleware.ts";
export {
  EngineSocket,
  type EngineSocketOptions,
} from "./lib/engine/engine_socket.ts";
export type { Transport, TransportSink } from "./lib/engine/transport.ts";
export type { Role } from "./lib/protocol/parser.ts";
export { connect, type ConnectOptions } from "./lib/client/connect.ts";
export {
  type ClientCertificate,
  ConnectionHandler,
  type ConnectionOptions,
  type Credentials,
  type Http2Route,
} from "./lib/client/connection_handler.ts";
export { type Cookie, CookieJar } from "./lib/client/cookie_jar.ts";
export {
  type ClientConnectOptions,
  ClientSocket,
} from "./lib/client/client_socket.ts";
export {
  type MessageSendOptions,
  MessageSocket,
  MessageSocketControl,
  type MessageSocketOptions,
} from "./lib/client/message_socket.ts";
export {
  StreamSocket,
  type StreamSocketOptions,
} from "./lib/client/stream_socket.ts";
export {
  SocketControl,
  type SocketControlOptions,
} from "./lib/client/socket_control.ts";
export type {
  BandwidthStatistics,
  SocketInformation,
} from "./lib/client/information.ts";
export {
  fromStream,
  type FromStreamOptions,
} from "./lib/client/from_stream.ts";
export type {
  DeflateClientOptions,
  DeflateParams,
  DeflateServerOptions,
  WindowBits,
} from "./lib/protocol/deflate_negotiation.ts";
export { PerMessageDeflate } from "./lib/engine/deflate.ts";
export {
  type EngineServer,
  type EngineServerOptions,
  type RequestHandler,
  type RequestInfo,
  serveEngine,
} from "./lib/server/engine_listener.ts";
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
} from "./lib/processor.ts";
export {
  PreparedMessage,
  type PreparedMessageOptions,
} from "./lib/prepared_message.ts";
export * from "./lib/backplane/mod.ts";
export type {
  AdmissionOptions,
  Authorize,
  AuthorizeInfo,
} from "./lib/server/admission.ts";
export type { LimitsOptions, RateLimitPolicy } from "./lib/server/limits.ts";
export {
  Counter,
  Gauge,
  type Labels,
  type MetricFamily,
  Metrics,
  type MetricSample,
  type MetricType,
} from "./lib/metrics/metrics.ts";
export {
  type LimitName,
  type RefusalReason,
  ServerMetrics,
  type ServerMetricsSnapshot,
} from "./lib/metrics/server_metrics.ts";
export {
  metricsHandler,
  PROMETHEUS_CONTENT_TYPE,
  prometheusText,
} from "./lib/metrics/prometheus.ts";
