/**
 * The client: `connect(url)` opens a WebSocket over `Deno.connect` or
 * `Deno.connectTls`, runs the opening handshake (RFC 6455 section 4.1) and
 * returns an engine socket in the client role.
 *
 * @module
 */

import type { Socket as NetSocket } from "node:net";
import {
  EngineSocket,
  type EngineSocketOptions,
} from "../engine/engine_socket.ts";
import { NetSocketTransport } from "../engine/transport.ts";
import { errorCodeStatus, WebSocketError, WebSocketStatus } from "../errors.ts";
import { headerList, isToken } from "../protocol/handshake.ts";
import {
  acceptClientResponse,
  type DeflateClientOptions,
  type DeflateParams,
  offerClient,
} from "../protocol/deflate_negotiation.ts";
import { computeAcceptKey, generateKey } from "../protocol/handshake_key.ts";
import {
  CONNECTION_OPTIONS,
  ConnectionHandler,
  type ConnectionOptions,
} from "./connection_handler.ts";
import { readResponseHead, type ResponseHead } from "./read_head.ts";

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
  /** How long connecting and the handshake may take. Default 60000. */
  connectTimeout?: number;
  /** Cancels the connection attempt. */
  signal?: AbortSignal;
}

const MAX_RESPONSE_HEAD = 16 * 1024;
const CLIENT_DEFAULTS = {
  keepAliveInterval: 30_000,
  sendTimeout: 30_000,
  receiveTimeout: 30_000,
} as const;
const RESERVED_HEADERS = new Set([
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
]);

/**
 * Connects to a `ws://` or `wss://` URL and resolves with an open socket.
 * Rejects with a `WebSocketError` whose `status` says why: `cannotConnect`,
 * `hostNotFound`, `timeout`, `handshakeRejected` (with the HTTP status in the
 * message), `certificateInvalid`, …; bad arguments throw `TypeError` or
 * `RangeError` at once.
 *
 * @example Talk to an echo server
 * ```ts
 * import { connect, serveEngine } from "@socketry/socketry";
 *
 * const server = serveEngine({ port: 0, path: "/ws" }, (socket) => {
 *   socket.addEventListener("message", ({ data }) => socket.send(data));
 * });
 * const { port } = await server.listening;
 * const socket = await connect(`ws://127.0.0.1:${port}/ws`);
 * await socket.send("hello");
 * for await (const message of socket) {
 *   console.log(message); // "hello"
 *   break;
 * }
 * await socket.close();
 * await server.shutdown();
 * ```
 */
export function connect(
  url: string | URL,
  options: ConnectOptions = {},
): Promise<EngineSocket> {
  const target = parseUrl(url);
  const {
    protocols = [],
    headers,
    handler,
    connectTimeout = 60_000,
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
  const offerHeader = offer === undefined ? undefined : offerClient(offer);
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
    if (RESERVED_HEADERS.has(name)) {
      throw new TypeError(`headers: ${name} is set by the handshake itself`);
    }
  }
  if (!(connectTimeout > 0)) {
    throw new RangeError(
      `connectTimeout must be > 0 ms, got ${connectTimeout}`,
    );
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
      connection[name] !== undefined
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
  const deadline = AbortSignal.timeout(connectTimeout);
  const cancel = signal === undefined
    ? deadline
    : AbortSignal.any([signal, deadline]);
  return handshake(target, owner, protocols, extra, cancel, {
    ...CLIENT_DEFAULTS,
    ...socketOptions,
  }, {
    offer,
    header: offerHeader,
  });
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

async function handshake(
  url: URL,
  handler: ConnectionHandler,
  protocols: readonly string[],
  extra: Headers,
  signal: AbortSignal,
  socketOptions: Omit<
    EngineSocketOptions,
    "protocol" | "extensions" | "deflate"
  >,
  deflate: {
    offer?: DeflateClientOptions | undefined;
    header?: string | undefined;
  },
): Promise<EngineSocket> {
  let socket: NetSocket;
  try {
    socket = await handler.openConnection(url, signal);
  } catch (error) {
    throw connectError(error, url, signal);
  }
  const onAbort = () => socket.destroy();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const key = generateKey(crypto.getRandomValues(new Uint8Array(16)));
    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
    ];
    if (protocols.length > 0) {
      lines.push(`Sec-WebSocket-Protocol: ${protocols.join(", ")}`);
    }
    if (deflate.header !== undefined) {
      lines.push(`Sec-WebSocket-Extensions: ${deflate.header}`);
    }
    for (const [name, value] of handler.requestHeaders(url)) {
      lines.push(`${name}: ${value}`);
    }
    extra.forEach((value, name) => lines.push(`${name}: ${value}`));
    socket.write(lines.join("\r\n") + "\r\n\r\n");
    const head = await readResponseHead(
      socket,
      MAX_RESPONSE_HEAD,
      "the opening handshake",
    );
    handler.receiveResponse(url, head.headers);
    const { protocol, extensions, params } = checkResponse(
      head,
      key,
      protocols,
      url,
      deflate.offer,
    );
    signal.removeEventListener("abort", onAbort);
    return new EngineSocket(
      new NetSocketTransport(socket, head.rest),
      "client",
      {
        ...socketOptions,
        protocol,
        ...(params === undefined ? {} : { deflate: params, extensions }),
      },
    );
  } catch (error) {
    signal.removeEventListener("abort", onAbort);
    socket.destroy();
    throw connectError(error, url, signal);
  }
}

function checkResponse(
  { status, statusText, headers }: ResponseHead,
  key: string,
  protocols: readonly string[],
  url: URL,
  deflate: DeflateClientOptions | undefined,
): { protocol: string; extensions: string; params: DeflateParams | undefined } {
  const rejected = (why: string) =>
    new WebSocketError(`${url.href} refused the WebSocket handshake: ${why}`, {
      status: WebSocketStatus.HandshakeRejected,
    });
  if (status !== 101) throw rejected(`HTTP ${statusText}`);
  if (
    !headerList(headers.get("upgrade")).some((v) =>
      v.toLowerCase() === "websocket"
    )
  ) {
    throw rejected("the response lacks Upgrade: websocket");
  }
  if (
    !headerList(headers.get("connection")).some((v) =>
      v.toLowerCase() === "upgrade"
    )
  ) {
    throw rejected("the response lacks Connection: Upgrade");
  }
  if (headers.get("sec-websocket-accept") !== computeAcceptKey(key)) {
    throw rejected("Sec-WebSocket-Accept does not match the key");
  }
  const protocol = headers.get("sec-websocket-protocol") ?? "";
  if (protocol !== "" && !protocols.includes(protocol)) {
    throw rejected(
      `the server chose subprotocol ${protocol}, which was not offered`,
    );
  }
  const extensions = headers.get("sec-websocket-extensions") ?? "";
  if (extensions === "") return { protocol, extensions, params: undefined };
  if (deflate === undefined) {
    throw rejected(
      `the server answered with extensions that were not offered: ${extensions}`,
    );
  }
  try {
    return {
      protocol,
      extensions,
      params: acceptClientResponse(extensions, deflate),
    };
  } catch (error) {
    throw rejected((error as Error).message);
  }
}

function connectError(
  error: unknown,
  url: URL,
  signal: AbortSignal,
): WebSocketError {
  if (signal.aborted) {
    const timedOut = (signal.reason as Error)?.name === "TimeoutError";
    return new WebSocketError(
      timedOut
        ? `Connecting to ${url.href} timed out`
        : `Connecting to ${url.href} was cancelled`,
      {
        status: timedOut ? WebSocketStatus.Timeout : WebSocketStatus.Cancelled,
        cause: signal.reason,
      },
    );
  }
  if (error instanceof WebSocketError) return error;
  const message = (error as Error)?.message ?? String(error);
  const status = errorCodeStatus((error as { code?: unknown })?.code) ??
    WebSocketStatus.CannotConnect;
  return new WebSocketError(`Cannot connect to ${url.href}: ${message}`, {
    status,
    cause: error,
  });
}
