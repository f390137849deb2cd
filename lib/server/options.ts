/**
 * Server options: what they mean, their defaults and their checks.
 *
 * @module
 */

import { checkMilliseconds } from "../option_checks.ts";
import { isToken, normalizeOrigin } from "../protocol/handshake.ts";
import {
  type ResolvedSocketOptions,
  resolveSocketOptions,
  type SocketOptions,
} from "../socket/mod.ts";
import { Admission, type AdmissionOptions } from "./admission.ts";

/**
 * Options of {@linkcode acceptWebSocket}: how a request is accepted, once
 * you decided it is for a socket. Times are in milliseconds.
 * {@linkcode WebSocketServerOptions} adds routing (`path`) to these.
 */
export interface AcceptOptions extends SocketOptions {
  /**
   * How often the server makes sure the peer is alive. Default 120000 (2
   * minutes); 0 or `Infinity` turns keep-alive off. On the native backend
   * Deno pings after a silence and has no ping without a deadline: see
   * {@linkcode nativeKeepAlive}.
   */
  keepAliveInterval?: number;
  /**
   * How long a ping may go unanswered before the socket is aborted and
   * reported as a keep-alive timeout. Default `Infinity` (off).
   */
  keepAliveTimeout?: number;
  /**
   * How often your clients ping. A connection silent for twice this long is
   * ended and reported as a disconnect. Default: not set.
   */
  clientPingInterval?: number;
  /**
   * Origins allowed to open sockets, such as `"https://example.com"`. A
   * request whose `Origin` is not listed gets 403 and never becomes a socket.
   * Default: every origin. Requests without `Origin` (non-browser clients)
   * are allowed: `Origin` is a browser's statement, any other client can
   * forge it, so it is no authentication.
   */
  allowedOrigins?: readonly string[];
  /**
   * Subprotocols the server speaks, in its own order of preference: the
   * first of these that the client offered is selected. When the client
   * offered none of them the socket opens without a subprotocol
   * (`protocol` is `""`), as RFC 6455 allows, unless `requireProtocol` is
   * set.
   */
  protocols?: readonly string[];
  /**
   * Refuses a handshake that offers none of `protocols` (or offers none at
   * all) with 400 and a text body naming the subprotocols this server
   * speaks, instead of opening a socket without a subprotocol. Default
   * `false`, as in RFC 6455, `ws` and Deno. Needs `protocols`.
   */
  requireProtocol?: boolean;
  /**
   * Answers the heartbeats of socketry's browser client
   * (`@socketry/socketry/browser`): a text message of exactly
   * `"\u0000socketry:ping"` gets `"\u0000socketry:pong"` back and is not
   * handed to your code (the answers count in the socket's `stats`, the
   * heartbeats do not). Default `false`: every message reaches your code.
   */
  heartbeat?: boolean;
  /**
   * Called when a socket handler throws or rejects; the socket is then
   * closed with 1011. Default: `console.error`.
   */
  onError?: (error: unknown, request: Request) => void;
}

/**
 * Options of {@linkcode webSockets} and the engine's `serveEngine`: the
 * options of accepting a socket, and which paths are WebSocket routes.
 */
export interface WebSocketServerOptions<Data = unknown>
  extends AcceptOptions, AdmissionOptions<Data> {
  /**
   * The path or paths that are WebSocket routes, such as `"/ws"`. A path
   * matches exactly: `"/ws/"` is not `"/ws"` unless both are listed, and the
   * query string is ignored. The path compared is the request URL's
   * pathname, on both backends: dot segments resolved (`/a/../ws` is
   * `/ws`), percent escapes as sent. Without `path`, every path is a
   * WebSocket route and only requests that are not WebSocket handshakes go
   * to the next handler.
   */
  path?: string | readonly string[];
}

/** Server options with defaults filled in and checked. */
export interface ResolvedServerOptions {
  /** Options of each socket. */
  readonly socket: ResolvedSocketOptions;
  /** The WebSocket routes, or `undefined` for every path. */
  readonly paths: ReadonlySet<string> | undefined;
  /** Milliseconds; 0 or `Infinity` when off. */
  readonly keepAliveInterval: number;
  /** Milliseconds; `Infinity` when off. */
  readonly keepAliveTimeout: number;
  /** Milliseconds; `Infinity` when not set. */
  readonly clientPingInterval: number;
  /** Normalised allowed origins, or `undefined` for every origin. */
  readonly allowedOrigins: ReadonlySet<string> | undefined;
  /** The server's subprotocols in order of preference. */
  readonly protocols: readonly string[];
  /** Whether a handshake offering none of `protocols` is refused. */
  readonly requireProtocol: boolean;
  /** Whether sockets answer the browser client's heartbeats. */
  readonly heartbeat: boolean;
  /** Receives failures of socket handlers. */
  readonly onError: (error: unknown, request: Request) => void;
  /**
   * Limits, `authorize` and metrics, or `undefined` when none is set.
   *
   * @ignore
   */
  readonly admission: Admission | undefined;
}

/**
 * Fills in defaults and checks every option, throwing `TypeError` or
 * `RangeError` naming the option at fault.
 *
 * @example
 * ```ts
 * import { resolveServerOptions } from "@socketry/socketry";
 *
 * const options = resolveServerOptions({ path: "/ws" });
 * console.log(options.socket.receiveBufferSize); // 4096
 * ```
 */
export function resolveServerOptions(
  options?: WebSocketServerOptions,
): ResolvedServerOptions {
  const {
    path,
    keepAliveInterval = 120_000,
    keepAliveTimeout = Infinity,
    clientPingInterval = Infinity,
    allowedOrigins,
    protocols = [],
    requireProtocol = false,
    heartbeat = false,
    onError = (error: unknown, request: Request) =>
      console.error(
        `socketry: socket handler for ${request.url} failed:`,
        error,
      ),
    authorize,
    limits,
    metrics,
    ...socketOptions
  } = options ?? {};
  return {
    socket: resolveSocketOptions(socketOptions),
    paths: path === undefined ? undefined : new Set(checkPaths(path)),
    keepAliveInterval: checkMilliseconds(
      "keepAliveInterval",
      keepAliveInterval,
    ),
    keepAliveTimeout: checkMilliseconds("keepAliveTimeout", keepAliveTimeout),
    clientPingInterval: checkMilliseconds(
      "clientPingInterval",
      clientPingInterval,
    ),
    allowedOrigins: allowedOrigins === undefined
      ? undefined
      : new Set(allowedOrigins.map(checkOrigin)),
    protocols: protocols.map(checkProtocol),
    requireProtocol: checkRequireProtocol(requireProtocol, protocols),
    heartbeat: heartbeat === true,
    onError,
    admission: Admission.create({ authorize, limits, metrics }, onError),
  };
}

function checkPaths(path: string | readonly string[]): string[] {
  const paths = typeof path === "string" ? [path] : [...path];
  for (const item of paths) {
    if (typeof item !== "string" || !item.startsWith("/")) {
      throw new TypeError(
        `path must start with "/", got ${JSON.stringify(item)}`,
      );
    }
  }
  return paths;
}

function checkOrigin(origin: string): string {
  const normalized = typeof origin === "string"
    ? normalizeOrigin(origin)
    : null;
  if (normalized === null) {
    throw new TypeError(
      `allowedOrigins: ${
        JSON.stringify(origin)
      } is not an origin such as "https://example.com"`,
    );
  }
  return normalized;
}

function checkProtocol(protocol: string): string {
  if (typeof protocol !== "string" || !isToken(protocol)) {
    throw new TypeError(
      `protocols: ${
        JSON.stringify(protocol)
      } is not a valid subprotocol name (an HTTP token)`,
    );
  }
  return protocol;
}

function checkRequireProtocol(
  required: boolean,
  protocols: readonly string[],
): boolean {
  if (typeof required !== "boolean") {
    throw new TypeError(`requireProtocol must be a boolean, got ${required}`);
  }
  if (required && protocols.length === 0) {
    throw new TypeError(
      "requireProtocol needs protocols: list the subprotocols this server speaks",
    );
  }
  return required;
}

/** How the native backend maps the keep-alive options onto Deno's `idleTimeout`. */
export interface NativeKeepAlive {
  /** Deno's `idleTimeout`, in seconds; 0 turns it off. */
  readonly idleTimeout: number;
  /** How the resulting close is reported. */
  readonly ending: "disconnect" | "timeout";
}

/**
 * Maps keep-alive options onto Deno's `idleTimeout`, Deno's only knob: after
 * `idleTimeout / 2` seconds without a message or pong Deno pings, and after
 * another `idleTimeout / 2` without one it closes. Deno has no ping without
 * a deadline, so the deadline is the tightest of
 * `keepAliveInterval + keepAliveTimeout` (with `keepAliveTimeout` unset,
 * `keepAliveInterval` stands in for it) and `2 × clientPingInterval`.
 *
 * @example
 * ```ts
 * import { nativeKeepAlive, resolveServerOptions } from "@socketry/socketry";
 *
 * const { idleTimeout } = nativeKeepAlive(
 *   resolveServerOptions({ clientPingInterval: 15_000 }),
 * );
 * console.log(idleTimeout); // 30: a silent peer is dropped after 30 s
 * ```
 */
export function nativeKeepAlive(
  options: ResolvedServerOptions,
): NativeKeepAlive {
  const interval = options.keepAliveInterval;
  const pinging = interval > 0 && Number.isFinite(interval);
  const keepAliveDeadline = pinging
    ? interval +
      (Number.isFinite(options.keepAliveTimeout)
        ? options.keepAliveTimeout
        : interval)
    : Infinity;
  const silenceDeadline = 2 * options.clientPingInterval;
  const deadline = Math.min(keepAliveDeadline, silenceDeadline);
  return {
    idleTimeout: Number.isFinite(deadline) ? deadline / 1000 : 0,
    ending: silenceDeadline <= keepAliveDeadline ||
        !Number.isFinite(options.keepAliveTimeout)
      ? "disconnect"
      : "timeout",
  };
}
