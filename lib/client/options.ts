/**
 * Options of `connect()`: what they mean, their defaults and their checks,
 * all made before any I/O.
 *
 * @module
 */

import type { EngineSocketOptions } from "../engine/engine_socket.ts";
import {
  type DeflateClientOptions,
  offerClient,
} from "../protocol/deflate_negotiation.ts";
import { checkMilliseconds, optionNames } from "../option_checks.ts";
import { HANDSHAKE_FIELDS } from "../protocol/client_handshake.ts";
import { isToken } from "../protocol/handshake.ts";
import { checkSocketOptions, type SocketOptions } from "../socket/mod.ts";
import {
  CONNECTION_OPTIONS,
  ConnectionHandler,
  type ConnectionOptions,
} from "./connection_handler.ts";

/** Options of {@linkcode connect}. Times are in milliseconds. */
export interface ConnectOptions
  extends
    Omit<EngineSocketOptions, "protocol" | "extensions" | "deflate">,
    ConnectionOptions {
  /**
   * Offers permessage-deflate (RFC 7692). `true` takes the defaults; an
   * object sets `clientMaxWindowBits`, `serverMaxWindowBits` and the context
   * takeover flags. When the server agrees, every message is compressed
   * unless a send says `compress: false` (do that for secrets: CRIME/BREACH).
   */
  deflate?: boolean | DeflateClientOptions;
  /** Subprotocols to offer, in order of preference. */
  protocols?: readonly string[];
  /** Extra request headers, such as `Origin`. */
  headers?: HeadersInit;
  /**
   * A shared {@linkcode ConnectionHandler} that owns TLS, the proxy, cookies
   * and credentials. With it, `caCerts`, `clientCertificate`,
   * `dangerouslyIgnoreCertificateErrors`, `proxy`, `cookies` and
   * `credentials` must be left unset here.
   */
  handler?: ConnectionHandler;
  /**
   * The HTTP version to ask for: `"1.1"` (default) upgrades a connection of
   * its own; `"2"` opens the socket as an extended CONNECT stream (RFC
   * 8441) on an HTTP/2 connection, shared by every socket to the same
   * origin through the same `handler` (over `wss:` by ALPN `h2`, over `ws:`
   * as h2c with prior knowledge).
   */
  httpVersion?: "1.1" | "2";
  /**
   * How strictly `httpVersion` holds: `"orLower"` (default) falls back to
   * HTTP/1.1 when the server does not do WebSockets over HTTP/2;
   * `"exact"` and `"orHigher"` with `"2"` fail instead, with status
   * `handshakeRejected`; `"orHigher"` with `"1.1"` offers HTTP/2 to `wss:`
   * servers and takes it when they accept.
   */
  versionPolicy?: "exact" | "orLower" | "orHigher";
  /** How long connecting and the handshake may take. Default 60000. */
  connectTimeout?: number;
  /**
   * Cancels the connection attempt. A signal whose reason is a
   * `TimeoutError` (as from `AbortSignal.timeout()`) fails it with status
   * `timeout`, any other reason with `cancelled`.
   */
  signal?: AbortSignal;
}

/** The options of the engine socket that `connect()` resolves with. */
export type ClientSocketOptions = Omit<
  EngineSocketOptions,
  "protocol" | "extensions" | "deflate"
>;

/** `connect()`'s arguments, checked, with defaults filled in. */
export interface ResolvedConnectOptions {
  /** The `ws:` or `wss:` URL, without user and password. */
  readonly url: URL;
  /** The handler that dials: the caller's, or one of this socket's own. */
  readonly handler: ConnectionHandler;
  /** Whether `handler` belongs to this socket alone (closed with it). */
  readonly ownHandler: boolean;
  /** Subprotocols to offer. */
  readonly protocols: readonly string[];
  /** The caller's extra request headers. */
  readonly headers: Headers;
  /** How long connecting may take. */
  readonly connectTimeout: number;
  /** The caller's signal, if any. */
  readonly signal: AbortSignal | undefined;
  /** Whether to try HTTP/2 (RFC 8441). */
  readonly http2: boolean;
  /** Whether HTTP/1.1 is allowed (first, or as the fallback). */
  readonly http1: boolean;
  /** The deflate offer, if compression is asked for. */
  readonly deflate: DeflateClientOptions | undefined;
  /** Its `Sec-WebSocket-Extensions` value. */
  readonly extensionOffer: string | undefined;
  /** Options of the socket, with the client's defaults. */
  readonly socketOptions: ClientSocketOptions;
}

// The socket options a client takes beyond SocketOptions (httpVersion is
// one of connect()'s own), checked here.
const ENGINE_SOCKET_OPTIONS = optionNames<
  Exclude<keyof ClientSocketOptions, keyof SocketOptions | "httpVersion">
>({
  keepAliveInterval: true,
  keepAliveTimeout: true,
  silenceLimit: true,
  maxFragments: true,
  receiveHighWaterMark: true,
  compressionThreshold: true,
  compressionLevel: true,
});

/**
 * Client defaults that differ from a server socket's. A quiet connection is
 * no error, so receiving waits indefinitely unless asked otherwise.
 */
const CLIENT_DEFAULTS = {
  keepAliveInterval: 30_000,
  sendTimeout: 30_000,
} as const;

/**
 * Checks `connect()`'s arguments: `TypeError` or `RangeError` for a bad
 * one, naming it, before any I/O.
 */
export function resolveConnectOptions(
  url: string | URL,
  options: ConnectOptions,
): ResolvedConnectOptions {
  const target = parseUrl(url);
  const {
    protocols = [],
    headers,
    handler,
    connectTimeout = 60_000,
    httpVersion = "1.1",
    versionPolicy = "orLower",
    signal,
    deflate = false,
    caCerts,
    clientCertificate,
    dangerouslyIgnoreCertificateErrors,
    proxy,
    cookies,
    credentials,
    ...socketOptions
  } = options;
  const offer = deflate === false ? undefined : deflate === true ? {} : deflate;
  // Builds the offer now, so that bad window bits throw RangeError at once.
  const extensionOffer = offer === undefined ? undefined : offerClient(offer);
  for (const protocol of protocols) {
    if (!isToken(protocol)) {
      throw new TypeError(
        `protocols: ${
          JSON.stringify(protocol)
        } is not a valid subprotocol name`,
      );
    }
  }
  if (new Set(protocols).size !== protocols.length) {
    throw new TypeError("protocols: each subprotocol may be offered once");
  }
  const extra = new Headers(headers);
  for (const name of extra.keys()) {
    if (HANDSHAKE_FIELDS.has(name)) {
      throw new TypeError(`headers: ${name} is set by the handshake itself`);
    }
  }
  if (!(connectTimeout > 0)) {
    throw new RangeError(
      `connectTimeout must be > 0 ms, got ${connectTimeout}`,
    );
  }
  if (httpVersion !== "1.1" && httpVersion !== "2") {
    throw new TypeError(
      `httpVersion must be "1.1" or "2", got ${JSON.stringify(httpVersion)}`,
    );
  }
  if (!["exact", "orLower", "orHigher"].includes(versionPolicy)) {
    throw new TypeError(
      `versionPolicy must be "exact", "orLower" or "orHigher", got ${
        JSON.stringify(versionPolicy)
      }`,
    );
  }
  const secure = target.protocol === "wss:";
  checkSocketOptions(socketOptions, ENGINE_SOCKET_OPTIONS);
  const { compressionLevel } = socketOptions;
  if (
    compressionLevel !== undefined &&
    !(Number.isInteger(compressionLevel) && compressionLevel >= -1 &&
      compressionLevel <= 9)
  ) {
    throw new RangeError(
      `compressionLevel must be -1 to 9, got ${compressionLevel}`,
    );
  }
  for (const name of ["keepAliveInterval", "keepAliveTimeout"] as const) {
    const value = socketOptions[name];
    if (value !== undefined) checkMilliseconds(name, value);
  }
  const userinfo = urlCredentials(target);
  const connection: ConnectionOptions = {
    caCerts,
    clientCertificate,
    dangerouslyIgnoreCertificateErrors,
    proxy,
    cookies,
    credentials: credentials ?? userinfo,
  };
  if (credentials !== undefined && userinfo !== undefined) {
    throw new TypeError(
      "credentials: given both as an option and in the URL; use one",
    );
  }
  let owner: ConnectionHandler;
  if (handler !== undefined) {
    if (!(handler instanceof ConnectionHandler)) {
      throw new TypeError("handler must be a ConnectionHandler");
    }
    const conflict = CONNECTION_OPTIONS.find((name) =>
      connection[name] !== undefined && connection[name] !== false
    );
    if (conflict !== undefined) {
      throw new TypeError(
        `${conflict}: this socket has a shared ConnectionHandler, which owns ${conflict}; leave it unset here or set it on the handler${
          conflict === "credentials" && userinfo !== undefined
            ? " (the URL carries a user name)"
            : ""
        }`,
      );
    }
    owner = handler;
  } else owner = new ConnectionHandler(connection);
  if (owner.hasCredentials && extra.has("authorization")) {
    throw new TypeError(
      "headers: Authorization conflicts with credentials; use one",
    );
  }
  target.username = "";
  target.password = "";
  return {
    url: target,
    handler: owner,
    ownHandler: handler === undefined,
    protocols,
    headers: extra,
    connectTimeout,
    signal,
    http2: httpVersion === "2" || (versionPolicy === "orHigher" && secure),
    http1: httpVersion === "1.1" || versionPolicy === "orLower",
    deflate: offer,
    extensionOffer,
    socketOptions: { ...CLIENT_DEFAULTS, ...socketOptions },
  };
}

/**
 * The URL as a `ws:` or `wss:` URL: `http:` and `https:` are taken as
 * `ws:` and `wss:`, as the WHATWG `WebSocket` does.
 */
function parseUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Not a URL: ${url}`);
  }
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  if (parsed.protocol === "https:") parsed.protocol = "wss:";
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new TypeError(
      `A WebSocket URL starts with ws:// or wss://, got ${parsed.protocol}//`,
    );
  }
  if (parsed.hash !== "") {
    throw new TypeError("A WebSocket URL has no fragment (#…)");
  }
  return parsed;
}

function urlCredentials(
  url: URL,
): { username: string; password: string } | undefined {
  if (url.username === "" && url.password === "") return undefined;
  return {
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}
