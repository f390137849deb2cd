/**
 * socketry's WebSocket client, on the engine: {@linkcode connect} for one
 * socket over HTTP/1.1 or HTTP/2 (RFC 8441), with compression, proxies,
 * client certificates and cookies; {@linkcode ConnectionHandler} to share
 * those settings and pooled HTTP/2 connections between sockets;
 * {@linkcode MessageSocket} and {@linkcode StreamSocket}, which connect on
 * first use; and {@linkcode fromStream} for a socket over a byte stream you
 * opened yourself.
 *
 * @example Talk to an echo server
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect } from "@socketry/socketry/client";
 * import { serveEngine } from "@socketry/socketry/engine";
 *
 * const server = serveEngine(
 *   { port: 0, hostname: "127.0.0.1", path: "/ws" },
 *   (socket) => {
 *     socket.addEventListener("message", ({ data }) => {
 *       socket.send(data).catch(() => socket.abort());
 *     });
 *   },
 * );
 * const { port } = await server.listening;
 *
 * const socket = await connect(`ws://127.0.0.1:${port}/ws`);
 * await socket.send("hello");
 * for await (const message of socket) {
 *   assert.equal(message, "hello");
 *   break;
 * }
 * await socket.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

export { connect, type ConnectOptions } from "./connect.ts";
export {
  type ClientCertificate,
  ConnectionHandler,
  type ConnectionOptions,
  type Credentials,
} from "./connection_handler.ts";
export { type CookieStore } from "./cookie_store.ts";
export { type ClientConnectOptions, ClientSocket } from "./client_socket.ts";
export {
  type MessageSendOptions,
  MessageSocket,
  MessageSocketControl,
  type MessageSocketOptions,
} from "./message_socket.ts";
export { StreamSocket, type StreamSocketOptions } from "./stream_socket.ts";
export { SocketControl, type SocketControlOptions } from "./socket_control.ts";
export type { BandwidthStatistics, SocketInformation } from "./information.ts";
export { fromStream, type FromStreamOptions } from "./from_stream.ts";
export {
  EngineSocket,
  type EngineSocketOptions,
} from "../engine/engine_socket.ts";
export type { Transport, TransportSink } from "../engine/transport.ts";
export type { Role } from "../protocol/parser.ts";
export type {
  DeflateClientOptions,
  DeflateParams,
  WindowBits,
} from "../protocol/deflate_negotiation.ts";
export {
  getStatus,
  type HandshakeResponse,
  WebSocketError,
  type WebSocketErrorOptions,
  WebSocketStatus,
} from "../errors.ts";
export { CloseCode, isValidCloseCode } from "../protocol/close_codes.ts";
export * from "../socket/types.ts";
export type { ResolvedSocketOptions } from "../socket/options.ts";
export { Socket } from "../socket/socket.ts";
