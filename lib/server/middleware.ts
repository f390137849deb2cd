/**
 * The `Deno.serve` middleware: WebSocket routes become sockets handed to
 * your function, after the handshake, origin and subprotocol checks;
 * everything else goes to the next handler.
 *
 * @module
 */

import { isUpgradeAttempt } from "../protocol/handshake.ts";
import type { Socket } from "../socket/mod.ts";
import { acceptResolved } from "./accept.ts";
import { openingRequest } from "./opening_request.ts";
import { requestOfText, requestText } from "./request_text.ts";
import { admitAndAccept } from "./native_admission.ts";
import { isRoute, notAHandshake, notFound, pathnameOf } from "./routes.ts";
import {
  resolveServerOptions,
  type WebSocketServerOptions,
} from "./options.ts";

/**
 * Receives each accepted socket, still connecting, with the request that
 * opened it. It may return a promise (for example
 * `SocketProcessor.add(socket)`); a throw or a rejection is reported to
 * `onError` and closes the socket with 1011. (Deno has already committed to
 * the upgrade by then, so the client sees the socket open, then close.)
 * `socket.data` is what the `authorize` option returned.
 */
export type SocketHandler<Data = unknown> = (
  socket: Socket & { data: Data },
  request: Request,
) => unknown;

/**
 * Makes a `Deno.serve` handler that turns WebSocket requests into sockets
 * and passes other requests to `next`. How a request is routed:
 *
 * | `options.path` | request | with `next` | without `next` |
 * | --- | --- | --- | --- |
 * | set, path listed | WebSocket handshake | socket | socket |
 * | set, path listed | anything else | 400 | 400 |
 * | set, path not listed | any | `next` | 404 |
 * | not set | WebSocket handshake | socket | socket |
 * | not set | anything else | `next` | 400 |
 *
 * - Paths match exactly: `"/ws/"` is not `"/ws"` unless both are listed
 *   (the 404 then names the route it nearly matched); the query string is
 *   ignored.
 * - A handshake that is malformed gets 400, a wrong `Sec-WebSocket-Version`
 *   426 (with `Sec-WebSocket-Version: 13`), an `Origin` not in
 *   `allowedOrigins` 403, and with `requireProtocol` one that offers none of
 *   `protocols` 400, each with a text body that says why.
 *
 * The socket is handed to `onSocket` before it opens. To answer messages,
 * reply from a `message` listener, as below: on this backend Deno answers a
 * peer's close frame the moment it reads it, and a reply sent later from a
 * `for await` loop, to a message that came just before the close, is lost
 * (see {@linkcode NativeSocket}).
 *
 * @example An echo server beside a page
 * ```ts
 * import { webSockets } from "@socketry/socketry";
 *
 * const handler = webSockets(
 *   { path: "/ws", allowedOrigins: ["http://localhost:8080"] },
 *   (socket) => {
 *     socket.addEventListener("message", ({ data }) => {
 *       socket.send(data).catch(() => socket.abort());
 *     });
 *   },
 *   () => new Response("<h1>Hello</h1>", { headers: { "content-type": "text/html" } }),
 * );
 * // Deno.serve({ port: 8080 }, handler);
 * ```
 */
export function webSockets<Data = unknown>(
  options: WebSocketServerOptions<Data>,
  onSocket: SocketHandler<Data>,
  next?: Deno.ServeHandler,
): Deno.ServeHandler {
  const resolved = resolveServerOptions(options);
  const paths = resolved.paths;
  return (request, info) => {
    const pathname = pathnameOf(request.url);
    if (!isRoute(paths, pathname)) {
      return next === undefined
        ? notFound(paths, pathname)
        : next(request, info);
    }
    if (!isUpgradeAttempt(request)) {
      if (paths === undefined && next !== undefined) return next(request, info);
      return notAHandshake();
    }
    // Deno closes a request it upgrades: the handler gets a stand-in,
    // readable after the upgrade. Deno holds the original request, and so
    // its headers, as long as the socket lives.
    const opening = openingRequest(request);
    const start = (socket: Socket) =>
      runSocketHandler(
        onSocket,
        socket,
        opening,
        resolved.onError,
        request.headers,
      );
    if (resolved.admission !== undefined) {
      return admitAndAccept(
        request,
        info,
        resolved,
        resolved.admission,
        start,
      );
    }
    const { socket, response } = acceptResolved(request, resolved);
    if (socket === null) return response;
    start(socket);
    return response;
  };
}

/**
 * Hands a new socket to the application. A handler that throws or rejects
 * is reported to `onError` and its socket closed with 1011, on every backend.
 * `held` are the request's headers when something else holds them for as
 * long as the socket lives anyway.
 */
export function runSocketHandler<Data>(
  onSocket: SocketHandler<Data>,
  socket: Socket,
  request: Request,
  onError: (error: unknown, request: Request) => void,
  held?: Headers,
): void {
  let work: unknown;
  try {
    // The data was set from authorize, which has the type Data.
    work = onSocket(socket as Socket & { data: Data }, request);
  } catch (error) {
    work = Promise.reject(error);
  }
  if (work instanceof Promise) {
    // The work may last as long as the socket: keep only what a report
    // needs, and as one string. A Headers, or its fields as separate
    // strings, cost more: each field is an object of its own, and a field
    // cut from the request's head keeps that whole head alive.
    const kept = held === undefined
      ? requestText(request)
      : { url: request.url, method: request.method, headers: held };
    work.catch((error: unknown) => {
      onError(
        error,
        typeof kept === "string"
          ? requestOfText(kept)
          : new Request(kept.url, kept),
      );
      socket.close(1011, "Internal server error");
    });
  }
}
