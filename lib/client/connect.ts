/**
 * The client: `connect(url)` opens a WebSocket over `node:net` or
 * `node:tls` (through a {@linkcode ConnectionHandler}: proxy, certificates,
 * cookies, credentials), runs the opening handshake (RFC 6455 section 4.1,
 * or an RFC 8441 extended CONNECT on a pooled HTTP/2 connection) and returns
 * an engine socket in the client role.
 *
 * @module
 */

import type { ClientHttp2Session, OutgoingHttpHeaders } from "node:http2";
import type { Socket as NetSocket } from "node:net";
import {
  EngineSocket,
  type EngineSocketOptions,
} from "../engine/engine_socket.ts";
import { NetSocketTransport } from "../engine/transport.ts";
import { errorCodeStatus, WebSocketError, WebSocketStatus } from "../errors.ts";
import {
  headerList,
  HTTP1_ONLY_FIELDS,
  isToken,
} from "../protocol/handshake.ts";
import { checkSocketOptions } from "../socket/mod.ts";
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
  openWithLentReads,
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
  /**
   * The HTTP version to ask for (SPEC C2): `"1.1"` (default) upgrades a
   * connection of its own; `"2"` opens the socket as an extended CONNECT
   * stream (RFC 8441) on an HTTP/2 connection, shared by every socket to
   * the same origin through the same `handler` (over `wss:` by ALPN `h2`,
   * over `ws:` as h2c with prior knowledge).
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
  const plan: VersionPlan = httpVersion === "2"
    ? { http2: true, http1: versionPolicy === "orLower" }
    : { http2: versionPolicy === "orHigher" && secure, http1: true };
  checkSocketOptions(socketOptions);
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
    if (value !== undefined && !(value >= 0)) {
      throw new RangeError(
        `${name} must be a number of milliseconds >= 0 or Infinity, got ${value}`,
      );
    }
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
  const deadline = AbortSignal.timeout(connectTimeout);
  const cancel = signal === undefined
    ? deadline
    : AbortSignal.any([signal, deadline]);
  const attempt: Attempt = {
    url: target,
    handler: owner,
    protocols,
    extra,
    signal: cancel,
    socketOptions: { ...CLIENT_DEFAULTS, ...socketOptions },
    offer,
    offerHeader,
  };
  const opened = plan.http2 ? viaHttp2(attempt, plan.http1) : viaHttp1(attempt);
  if (handler === undefined) {
    // A handler of this socket's own: its HTTP/2 session ends with the socket.
    opened.then(
      (socket) => socket.closed.then(() => owner.close()),
      () => owner.close(),
    );
  }
  return opened;
}

/** Which HTTP versions a connection attempt may use. */
interface VersionPlan {
  readonly http2: boolean;
  readonly http1: boolean;
}

/** Everything one connection attempt needs. */
interface Attempt {
  readonly url: URL;
  readonly handler: ConnectionHandler;
  readonly protocols: readonly string[];
  readonly extra: Headers;
  readonly signal: AbortSignal;
  readonly socketOptions: Omit<
    EngineSocketOptions,
    "protocol" | "extensions" | "deflate"
  >;
  readonly offer: DeflateClientOptions | undefined;
  readonly offerHeader: string | undefined;
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

async function viaHttp2(
  attempt: Attempt,
  allowHttp1: boolean,
): Promise<EngineSocket> {
  const { url, handler, signal } = attempt;
  let route;
  try {
    route = await handler.http2Route(url, signal, allowHttp1);
  } catch (error) {
    throw connectError(error, url, signal);
  }
  if (route.session === undefined) return viaHttp1(attempt, route.socket);
  return await extendedConnect(attempt, route.session);
}

/** RFC 8441: the socket as an extended CONNECT stream on `session`. */
async function extendedConnect(
  attempt: Attempt,
  session: ClientHttp2Session,
): Promise<EngineSocket> {
  const { url, handler, protocols, extra, signal } = attempt;
  const headers: OutgoingHttpHeaders = {
    ":method": "CONNECT",
    ":protocol": "websocket",
    ":scheme": url.protocol === "wss:" ? "https" : "http",
    ":path": `${url.pathname}${url.search}`,
    ":authority": url.host,
    "sec-websocket-version": "13",
  };
  if (protocols.length > 0) {
    headers["sec-websocket-protocol"] = protocols.join(", ");
  }
  if (attempt.offerHeader !== undefined) {
    headers["sec-websocket-extensions"] = attempt.offerHeader;
  }
  for (const [name, value] of handler.requestHeaders(url)) {
    headers[name.toLowerCase()] = value;
  }
  extra.forEach((value, name) => {
    if (!HTTP1_ONLY_FIELDS.has(name) && name !== "host") {
      headers[name] = value;
    }
  });
  let stream;
  try {
    stream = session.request(headers);
  } catch (error) {
    throw connectError(error, url, signal);
  }
  const onAbort = () => stream.destroy();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const response = await new Promise<Record<string, unknown>>(
      (resolve, reject) => {
        stream.once("response", resolve);
        stream.once("error", reject);
        stream.once("close", () =>
          reject(
            new WebSocketError(
              `${url.href}: the HTTP/2 stream closed before the server answered`,
              { status: WebSocketStatus.HandshakeRejected },
            ),
          ));
      },
    );
    const status = Number(response[":status"]);
    const fields = new Headers();
    for (const [name, value] of Object.entries(response)) {
      if (name.startsWith(":") || value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) {
        fields.append(name, String(item));
      }
    }
    handler.receiveResponse(url, fields);
    if (status !== 200) {
      throw new WebSocketError(
        `${url.href} refused the WebSocket handshake: HTTP ${status} (over HTTP/2)`,
        { status: WebSocketStatus.HandshakeRejected },
      );
    }
    const { protocol, extensions, params } = negotiated(
      fields,
      protocols,
      url,
      attempt.offer,
    );
    signal.removeEventListener("abort", onAbort);
    const socket = new EngineSocket(new NetSocketTransport(stream), "client", {
      ...attempt.socketOptions,
      protocol,
      httpVersion: "2",
      ...(params === undefined ? {} : { deflate: params, extensions }),
    });
    handler.trackStream(session, socket.closed);
    return socket;
  } catch (error) {
    signal.removeEventListener("abort", onAbort);
    stream.destroy();
    throw connectError(error, url, signal);
  }
}

async function viaHttp1(
  attempt: Attempt,
  connection?: NetSocket,
): Promise<EngineSocket> {
  const { url, handler, protocols, extra, signal } = attempt;
  let socket: NetSocket;
  try {
    socket = connection ?? await openWithLentReads(handler, url, signal);
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
    if (attempt.offerHeader !== undefined) {
      lines.push(`Sec-WebSocket-Extensions: ${attempt.offerHeader}`);
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
    checkUpgrade(head, key, url);
    const { protocol, extensions, params } = negotiated(
      head.headers,
      protocols,
      url,
      attempt.offer,
    );
    signal.removeEventListener("abort", onAbort);
    return new EngineSocket(
      new NetSocketTransport(socket, head.rest),
      "client",
      {
        ...attempt.socketOptions,
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

function rejected(url: URL, why: string): WebSocketError {
  return new WebSocketError(
    `${url.href} refused the WebSocket handshake: ${why}`,
    { status: WebSocketStatus.HandshakeRejected },
  );
}

/** The HTTP/1.1 parts of the answer: 101, Upgrade, Connection, Accept. */
function checkUpgrade(
  { status, statusText, headers }: ResponseHead,
  key: string,
  url: URL,
): void {
  if (status !== 101) throw rejected(url, `HTTP ${statusText}`);
  if (
    !headerList(headers.get("upgrade")).some((v) =>
      v.toLowerCase() === "websocket"
    )
  ) {
    throw rejected(url, "the response lacks Upgrade: websocket");
  }
  if (
    !headerList(headers.get("connection")).some((v) =>
      v.toLowerCase() === "upgrade"
    )
  ) {
    throw rejected(url, "the response lacks Connection: Upgrade");
  }
  if (headers.get("sec-websocket-accept") !== computeAcceptKey(key)) {
    throw rejected(url, "Sec-WebSocket-Accept does not match the key");
  }
}

/** What the server chose, in either HTTP version: subprotocol, extensions. */
function negotiated(
  headers: Headers,
  protocols: readonly string[],
  url: URL,
  deflate: DeflateClientOptions | undefined,
): { protocol: string; extensions: string; params: DeflateParams | undefined } {
  const protocol = headers.get("sec-websocket-protocol") ?? "";
  if (protocol !== "" && !protocols.includes(protocol)) {
    throw rejected(
      url,
      `the server chose subprotocol ${protocol}, which was not offered`,
    );
  }
  const extensions = headers.get("sec-websocket-extensions") ?? "";
  if (extensions === "") return { protocol, extensions, params: undefined };
  if (deflate === undefined) {
    throw rejected(
      url,
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
    throw rejected(url, (error as Error).message);
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
