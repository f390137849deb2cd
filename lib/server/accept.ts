/**
 * Accepting one request as a socket on the native backend: the handshake
 * checks (version 426, malformed 400, origin 403), subprotocol selection, and
 * `Deno.upgradeWebSocket`.
 *
 * @module
 */

import {
  checkHandshake,
  isOriginAllowed,
  selectSubprotocol,
  WEBSOCKET_VERSION,
} from "../protocol/handshake.ts";
import { NativeSocket } from "../native.ts";
import { answeringHeartbeats } from "./heartbeat.ts";
import type { Socket } from "../socket/mod.ts";
import {
  type AcceptOptions,
  nativeKeepAlive,
  type ResolvedServerOptions,
  resolveServerOptions,
} from "./options.ts";

/** The outcome of {@linkcode acceptWebSocket}: a socket, or a refusal to send. */
export type AcceptResult =
  | { readonly socket: Socket; readonly response: Response }
  | { readonly socket: null; readonly response: Response };

/**
 * Accepts a WebSocket request under `Deno.serve` on the native backend.
 * Return `response` from your handler either way: it is the 101 upgrade when
 * `socket` is set, and otherwise a 400, 403 or 426 whose text body says why.
 * It does not route: decide which requests are for sockets before calling
 * it (`options` has no `path`; giving one throws `TypeError`). Read what
 * you need from `request` first: once Deno upgrades it, reading its headers
 * throws.
 *
 * @example Route by hand
 * ```ts
 * import { acceptWebSocket } from "@socketry/socketry";
 *
 * const handler = (request: Request): Response => {
 *   if (new URL(request.url).pathname !== "/ws") {
 *     return new Response("Not Found", { status: 404 });
 *   }
 *   const { socket, response } = acceptWebSocket(request, {
 *     protocols: ["chat.v2"],
 *     requireProtocol: true,
 *   });
 *   socket?.addEventListener("message", ({ data }) => {
 *     socket.send(data).catch(() => socket.abort());
 *   });
 *   return response;
 * };
 * // Deno.serve(handler);
 * ```
 */
export function acceptWebSocket(
  request: Request,
  options?: AcceptOptions,
): AcceptResult {
  if ((options as { path?: unknown } | undefined)?.path !== undefined) {
    throw new TypeError(
      "acceptWebSocket() does not route: check the path before calling it, or use webSockets({ path })",
    );
  }
  return acceptResolved(request, resolveServerOptions(options ?? {}));
}

/** {@linkcode acceptWebSocket} with options already resolved. */
export function acceptResolved(
  request: Request,
  options: ResolvedServerOptions,
): AcceptResult {
  const check = checkHandshake(request);
  if (!check.ok) {
    return { socket: null, response: refuse(check.status, check.message) };
  }
  const origin = request.headers.get("origin");
  if (!isOriginAllowed(origin, options.allowedOrigins)) {
    return {
      socket: null,
      response: refuse(
        403,
        `Origin ${origin} is not allowed to open a WebSocket`,
      ),
    };
  }
  const protocol = negotiateSubprotocol(check.protocols, options);
  if (protocol instanceof Response) return { socket: null, response: protocol };
  const keepAlive = nativeKeepAlive(options);
  let upgrade: Deno.WebSocketUpgrade;
  try {
    upgrade = Deno.upgradeWebSocket(request, {
      idleTimeout: keepAlive.idleTimeout,
    });
  } catch (error) {
    return {
      socket: null,
      response: refuse(
        400,
        `Deno refused the upgrade: ${(error as Error).message}`,
      ),
    };
  }
  // Deno only parses protocol lists separated by ", " (ws sends "a,b"), so
  // the selected protocol is answered here rather than through Deno.
  if (protocol !== undefined) {
    upgrade.response.headers.set("sec-websocket-protocol", protocol);
  }
  return {
    socket: new (nativeClass(options))(
      upgrade.socket,
      options.socket,
      keepAlive.ending,
      protocol,
    ),
    response: upgrade.response,
  };
}

/**
 * The subprotocol to answer with (`undefined` for none), or the 400 that
 * refuses the handshake when `requireProtocol` finds no match.
 */
export function negotiateSubprotocol(
  offered: readonly string[],
  options: ResolvedServerOptions,
): string | undefined | Response {
  const protocol = selectSubprotocol(offered, options.protocols);
  if (protocol !== undefined || !options.requireProtocol) return protocol;
  return refuse(
    400,
    `${
      offered.length === 0
        ? "No subprotocol was offered"
        : `None of the offered subprotocols (${
          offered.join(", ")
        }) is spoken here`
    }; this server requires one of: ${options.protocols.join(", ")}`,
  );
}

const HeartbeatNativeSocket = answeringHeartbeats(NativeSocket);

function nativeClass(options: ResolvedServerOptions): typeof NativeSocket {
  const Native = options.heartbeat ? HeartbeatNativeSocket : NativeSocket;
  return options.admission?.socketClass(Native) ?? Native;
}

/** A plain-text refusal; 426 also names the version this server speaks. */
export function refuse(
  status: 400 | 403 | 404 | 405 | 426 | 500,
  message: string,
): Response {
  const headers = new Headers({ "content-type": "text/plain; charset=utf-8" });
  if (status === 426) headers.set("sec-websocket-version", WEBSOCKET_VERSION);
  return new Response(`${message}\n`, { status, headers });
}
