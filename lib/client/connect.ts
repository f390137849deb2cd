/**
 * The client: `connect(url)` opens a WebSocket over `Deno.connect` or
 * `Deno.connectTls`, runs the opening handshake (RFC 6455 section 4.1) and
 * returns an engine socket in the client role.
 *
 * @module
 */

import { ConnTransport } from "../engine/conn_transport.ts";
import {
  EngineSocket,
  type EngineSocketOptions,
} from "../engine/engine_socket.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { headerList, isToken } from "../protocol/handshake.ts";
import {
  acceptClientResponse,
  type DeflateClientOptions,
  type DeflateParams,
  offerClient,
} from "../protocol/deflate_negotiation.ts";
import { computeAcceptKey, generateKey } from "../protocol/handshake_key.ts";

/** Options of {@linkcode connect}. Times are in milliseconds. */
export interface ConnectOptions
  extends Omit<EngineSocketOptions, "protocol" | "extensions" | "deflate"> {
  /**
   * Offers permessage-deflate (RFC 7692). `true` takes the defaults; an
   * object sets `clientMaxWindowBits`, `serverMaxWindowBits` and the context
   * takeover flags. When the server agrees, every message is compressed
   * unless a send says `compress: false` (do that for secrets: CRIME/BREACH).
   */
  deflate?: boolean | DeflateClientOptions;
  /** Subprotocols to offer, in order of preference. */
  protocols?: readonly string[];
  /** Extra request headers, such as `Authorization` or `Origin`. */
  headers?: HeadersInit;
  /** PEM certificates to trust for `wss://`, besides the system's. */
  caCerts?: string[];
  /** How long connecting and the handshake may take. Default 60000. */
  connectTimeout?: number;
  /** Cancels the connection attempt. */
  signal?: AbortSignal;
}

const MAX_RESPONSE_HEAD = 16 * 1024;
const RESERVED_HEADERS = new Set([
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
    caCerts,
    connectTimeout = 60_000,
    signal,
    deflate = false,
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
  const deadline = AbortSignal.timeout(connectTimeout);
  const cancel = signal === undefined
    ? deadline
    : AbortSignal.any([signal, deadline]);
  return handshake(target, protocols, extra, caCerts, cancel, socketOptions, {
    offer,
    header: offerHeader,
  });
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
  protocols: readonly string[],
  extra: Headers,
  caCerts: string[] | undefined,
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
  const secure = url.protocol === "wss:";
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || (secure ? 443 : 80));
  const conn = await cancellable<Deno.Conn>(
    secure
      ? Deno.connectTls({
        hostname,
        port,
        ...(caCerts === undefined ? {} : { caCerts }),
      })
      : Deno.connect({ hostname, port }),
    signal,
    (late) => late.close(),
  ).catch((error: unknown) => {
    throw connectError(error, url, signal);
  });
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
    extra.forEach((value, name) => lines.push(`${name}: ${value}`));
    await cancellable(
      conn.write(encoder.encode(lines.join("\r\n") + "\r\n\r\n")),
      signal,
    );
    const { head, rest } = await cancellable(readHead(conn), signal);
    const { protocol, extensions, params } = checkResponse(
      head,
      key,
      protocols,
      url,
      deflate.offer,
    );
    return new EngineSocket(new ConnTransport(conn, rest), "client", {
      ...socketOptions,
      protocol,
      ...(params === undefined ? {} : { deflate: params, extensions }),
    });
  } catch (error) {
    conn.close();
    throw connectError(error, url, signal);
  }
}

async function readHead(
  conn: Deno.Conn,
): Promise<{ head: string; rest: Uint8Array }> {
  let received = new Uint8Array(0);
  const buffer = new Uint8Array(4096);
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) {
      throw new WebSocketError(
        "The server closed the connection during the handshake",
        {
          status: WebSocketStatus.HandshakeRejected,
        },
      );
    }
    const joined = new Uint8Array(received.byteLength + n);
    joined.set(received);
    joined.set(buffer.subarray(0, n), received.byteLength);
    received = joined;
    const end = findHeadEnd(received);
    if (end !== -1) {
      return {
        head: decoder.decode(received.subarray(0, end)),
        rest: received.slice(end + 4),
      };
    }
    if (received.byteLength > MAX_RESPONSE_HEAD) {
      throw new WebSocketError(
        `The handshake response head exceeds ${MAX_RESPONSE_HEAD} bytes`,
        {
          status: WebSocketStatus.HandshakeRejected,
        },
      );
    }
  }
}

function findHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.byteLength; i++) {
    if (
      bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 &&
      bytes[i + 3] === 10
    ) {
      return i;
    }
  }
  return -1;
}

function checkResponse(
  head: string,
  key: string,
  protocols: readonly string[],
  url: URL,
  deflate: DeflateClientOptions | undefined,
): { protocol: string; extensions: string; params: DeflateParams | undefined } {
  const [statusLine = "", ...lines] = head.split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
  }
  const rejected = (why: string) =>
    new WebSocketError(`${url.href} refused the WebSocket handshake: ${why}`, {
      status: WebSocketStatus.HandshakeRejected,
    });
  if (status !== 101) throw rejected(`HTTP ${statusLine.slice(9) || "?"}`);
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

/** Races `promise` against `signal`; a late result is cleaned up by `discard`. */
function cancellable<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  discard?: (late: T) => void,
): Promise<T> {
  if (signal.aborted) {
    promise.then((late) => discard?.(late), () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.then((late) => discard?.(late), () => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function connectError(
  error: unknown,
  url: URL,
  signal: AbortSignal,
): WebSocketError {
  if (error instanceof WebSocketError) return error;
  if (signal.aborted && error === signal.reason) {
    const timedOut = (error as Error)?.name === "TimeoutError";
    return new WebSocketError(
      timedOut
        ? `Connecting to ${url.href} timed out`
        : `Connecting to ${url.href} was cancelled`,
      {
        status: timedOut ? WebSocketStatus.Timeout : WebSocketStatus.Cancelled,
        cause: error,
      },
    );
  }
  const name = (error as Error)?.name ?? "";
  const message = (error as Error)?.message ?? String(error);
  const status = name === "ConnectionRefused"
    ? WebSocketStatus.CannotConnect
    : /lookup|resolve|dns|name or service/i.test(message)
    ? WebSocketStatus.HostNotFound
    : /certificate|UnknownIssuer|tls/i.test(message)
    ? WebSocketStatus.CertificateInvalid
    : name === "ConnectionReset"
    ? WebSocketStatus.ConnectionReset
    : WebSocketStatus.CannotConnect;
  return new WebSocketError(`Cannot connect to ${url.href}: ${message}`, {
    status,
    cause: error,
  });
}
