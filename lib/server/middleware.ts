/**
 * The `Deno.serve` middleware (SPEC S1, S2, S7): WebSocket routes become
 * sockets handed to your function; everything else goes to the next handler.
 *
 * @module
 */

import { isUpgradeAttempt } from "../protocol/handshake.ts";
import type { Socket } from "../socket/mod.ts";
import { acceptResolved, refuse } from "./accept.ts";
import { admitAndAccept } from "./native_admission.ts";
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
 * Makes a `Deno.serve` handler that turns WebSocket requests on `options.path`
 * into sockets and passes other requests to `next`.
 *
 * - On a WebSocket route, a request that is not a WebSocket handshake gets
 *   400, a wrong `Sec-WebSocket-Version` 426 (with `Sec-WebSocket-Version:
 *   13`), and an `Origin` not in `allowedOrigins` 403, each with a text body
 *   that says why.
 * - Other paths go to `next`, or get 404 without it.
 *
 * @example An echo server beside a page
 * ```ts
 * import { webSockets } from "@socketry/socketry";
 *
 * const handler = webSockets(
 *   { path: "/ws", allowedOrigins: ["http://localhost:8080"] },
 *   async (socket) => {
 *     for await (const message of socket) await socket.send(message);
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
    const onRoute = paths === undefined ||
      paths.has(new URL(request.url).pathname);
    if (!onRoute) {
      return next === undefined
        ? refuse(404, "Not Found")
        : next(request, info);
    }
    if (!isUpgradeAttempt(request)) {
      if (paths === undefined && next !== undefined) return next(request, info);
      return refuse(
        400,
        "This route only accepts WebSocket connections (expected Upgrade: websocket)",
      );
    }
    if (resolved.admission !== undefined) {
      return admitAndAccept(request, info, resolved, resolved.admission, (
        socket,
      ) => runSocketHandler(onSocket, socket, request, resolved.onError));
    }
    const { socket, response } = acceptResolved(request, resolved);
    if (socket === null) return response;
    runSocketHandler(onSocket, socket, request, resolved.onError);
    return response;
  };
}

/**
 * Hands a new socket to the application. A handler that throws or rejects
 * is reported to `onError` and its socket closed with 1011, on every backend.
 */
export function runSocketHandler<Data>(
  onSocket: SocketHandler<Data>,
  socket: Socket,
  request: Request,
  onError: (error: unknown, request: Request) => void,
): void {
  let work: unknown;
  try {
    // The data was set from authorize, which has the type Data.
    work = onSocket(socket as Socket & { data: Data }, request);
  } catch (error) {
    work = Promise.reject(error);
  }
  if (work instanceof Promise) {
    work.catch((error: unknown) => {
      onError(error, request);
      socket.close(1011, "Internal server error");
    });
  }
}
