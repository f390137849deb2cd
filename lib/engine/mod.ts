/**
 * socketry's own RFC 6455 engine, for what Deno's built-in WebSocket does not
 * do: permessage-deflate compression (RFC 7692), WebSockets over HTTP/2
 * (RFC 8441), real fragments and message parts as they arrive, and ping
 * keep-alive under your control.
 *
 * - {@linkcode serveEngine}: a listener on `node:http` (and `node:http2`)
 *   whose WebSocket routes become {@linkcode EngineSocket}s, with the same
 *   checks and options as the `Deno.serve` middleware.
 * - {@linkcode EngineSocket}: the engine's `Socket` over any byte
 *   {@linkcode Transport}, in either role.
 * - {@linkcode PerMessageDeflate}: the compression it uses.
 *
 * It also exports everything of `@socketry/socketry/server` (the `Socket`
 * contract, the options, the processor, metrics and backplanes), so one
 * import serves an engine application.
 *
 * @example An engine echo server, with keep-alive pings
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveEngine } from "@socketry/socketry/engine";
 *
 * const server = serveEngine(
 *   { port: 0, hostname: "127.0.0.1", path: "/ws", keepAliveInterval: 30_000 },
 *   (socket) => {
 *     socket.addEventListener("message", ({ data }) => {
 *       socket.send(data).catch(() => socket.abort());
 *     });
 *   },
 * );
 * const { port } = await server.listening;
 *
 * const client = new WebSocket(`ws://127.0.0.1:${port}/ws`);
 * await new Promise((open) => client.onopen = open);
 * client.send("hello");
 * const reply = await new Promise<MessageEvent>((done) =>
 *   client.onmessage = done
 * );
 * assert.equal(reply.data, "hello");
 *
 * const closed = new Promise((done) => client.onclose = done);
 * client.close();
 * await closed;
 * await server.shutdown();
 * ```
 *
 * @module
 */

export { EngineSocket, type EngineSocketOptions } from "./engine_socket.ts";
export type { Transport, TransportSink } from "./transport.ts";
export type { Role } from "../protocol/parser.ts";
export { PerMessageDeflate } from "./deflate.ts";
export type {
  DeflateClientOptions,
  DeflateParams,
  DeflateServerOptions,
  WindowBits,
} from "../protocol/deflate_negotiation.ts";
export {
  type EngineServer,
  type EngineServerOptions,
  type RequestHandler,
  type RequestInfo,
  serveEngine,
} from "../server/engine_listener.ts";
export * from "../server/mod.ts";
