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
 * This entry point holds everything. To load only a part, import one of:
 * `@socketry/socketry/server` (the middleware, the native socket and the
 * processor, with no `node:` networking modules), `/engine` (the RFC 6455
 * engine and its listener, with compression and HTTP/2), `/client`
 * (`connect()` and the client sockets), `/protocol` (the pure frame codec,
 * parser and handshakes), `/browser` (the reconnecting browser client),
 * `/redis` (the Redis backplane) or `/hono` (the Hono adapter).
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

export * from "./lib/engine/mod.ts";
export * from "./lib/client/mod.ts";
export * from "./lib/protocol/mod.ts";
