/**
 * socketry in a [Hono](https://hono.dev) application on `Deno.serve`: a
 * route handler that turns WebSocket handshakes into socketry sockets, with
 * the same options, `authorize`, limits, metrics and processor as
 * {@linkcode webSockets}, and everything the main entry point exports. It
 * needs nothing of Hono but the shape of its handlers, so it imports none of
 * it: your application brings its own Hono.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { webSocketRoute } from "@socketry/socketry/hono";
 *
 * const app = new Hono();
 * app.get("/", (c) => c.text("Hello"));
 * app.get("/ws", webSocketRoute({}, (socket) => {
 *   socket.addEventListener("message", ({ data }) => {
 *     socket.send(data).catch(() => socket.abort());
 *   });
 * }));
 * // Deno.serve(app.fetch);
 * ```
 *
 * @module
 */

import { isUpgradeAttempt } from "../protocol/handshake.ts";
import { type SocketHandler, webSockets } from "../server/middleware.ts";
import type { WebSocketServerOptions } from "../server/options.ts";

export * from "../server/mod.ts";

/** What {@linkcode webSocketRoute} uses of Hono's `Context`. */
export interface HonoContext {
  /** The request; `raw` is the web `Request` that `Deno.serve` received. */
  readonly req: { readonly raw: Request };
  /** What `app.fetch` got after the request: `Deno.serve`'s connection information. */
  readonly env: unknown;
}

/** A Hono handler as {@linkcode webSocketRoute} makes it: usable with `app.get`, `app.all`, `app.use`. */
export type HonoHandler = (
  c: HonoContext,
  next: () => Promise<void>,
) => Promise<Response | void>;

/** Options of {@linkcode webSocketRoute}: the server options less `path`, which is Hono's route. */
export type WebSocketRouteOptions<Data = unknown> = Omit<
  WebSocketServerOptions<Data>,
  "path"
>;

/**
 * A Hono handler for a WebSocket route: a WebSocket handshake becomes a
 * socket handed to `onSocket` (refusals answer 400, 401, 403, 426, 429,
 * 503 as on {@linkcode webSockets}); any other request goes on to the next
 * handler of the route, so a page may share the path. Middleware registered
 * before it (logging, CORS, your own checks) runs first. Serve the app with
 * `Deno.serve(app.fetch)`: the upgrade is Deno's, and the client's address
 * comes from the connection information Deno passes as Hono's `c.env`.
 *
 * @example Typed socket data from `authorize`
 * ```ts
 * import { Hono } from "hono";
 * import { webSocketRoute } from "@socketry/socketry/hono";
 *
 * const app = new Hono();
 * app.get("/ws", webSocketRoute({
 *   authorize: (request) =>
 *     new URL(request.url).searchParams.get("user") ??
 *       new Response("Unauthorized\n", { status: 401 }),
 * }, (socket) => {
 *   socket.send(`hello ${socket.data}`).catch(() => {});
 * }));
 * const response = await app.request("/ws", {
 *   headers: {
 *     upgrade: "websocket",
 *     connection: "Upgrade",
 *     "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
 *     "sec-websocket-version": "13",
 *   },
 * });
 * console.log(response.status); // 401: no user in the query
 * ```
 */
export function webSocketRoute<Data = unknown>(
  options: WebSocketRouteOptions<Data>,
  onSocket: SocketHandler<Data>,
): HonoHandler {
  if ((options as { path?: unknown }).path !== undefined) {
    throw new TypeError(
      "webSocketRoute() takes no path: the Hono route says where it is",
    );
  }
  const handler = webSockets(options, onSocket);
  return async (c, next) => {
    if (!isUpgradeAttempt(c.req.raw)) return await next();
    return await handler(c.req.raw, serveInfo(c));
  };
}

/** Deno's connection information, which `Deno.serve(app.fetch)` passes as `c.env`. */
function serveInfo(c: HonoContext): Deno.ServeHandlerInfo {
  const env: unknown = c.env;
  if (
    typeof env === "object" && env !== null && "remoteAddr" in env &&
    "completed" in env
  ) {
    return env as Deno.ServeHandlerInfo;
  }
  // Called without Deno's information (app.request() in tests): no address.
  return {
    remoteAddr: { transport: "tcp", hostname: "", port: 0 },
    completed: Promise.resolve(),
  };
}
