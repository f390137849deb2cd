/**
 * The engine listener: an HTTP/1.1 server on `node:http` (plain or TLS) whose
 * WebSocket upgrades pass the same checks as the `Deno.serve` middleware
 * (paths, versions, origins, subprotocols: 400/403/426) and become
 * {@linkcode EngineSocket}s, while ordinary requests go to a `fetch`-style
 * handler, so one application serves both.
 *
 * @module
 */

import { type IncomingMessage, STATUS_CODES } from "node:http";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket as NetSocket } from "node:net";
import { Readable } from "node:stream";
import { EngineSocket } from "../engine/engine_socket.ts";
import { NetSocketTransport } from "../engine/transport.ts";
import {
  checkHandshake,
  isOriginAllowed,
  isUpgradeAttempt,
  selectSubprotocol,
} from "../protocol/handshake.ts";
import { computeAcceptKey } from "../protocol/handshake_key.ts";
import {
  type DeflateServerOptions,
  negotiateServer,
} from "../protocol/deflate_negotiation.ts";
import { refuse } from "./accept.ts";
import type { SocketHandler } from "./middleware.ts";
import {
  type ResolvedServerOptions,
  resolveServerOptions,
  type WebSocketServerOptions,
} from "./options.ts";

/** Options of {@linkcode serveEngine}. Times are in milliseconds. */
export interface EngineServerOptions extends WebSocketServerOptions {
  /** The port to listen on. Default 8080; 0 picks a free one. */
  port?: number;
  /** The address to listen on. Default `"0.0.0.0"`. */
  hostname?: string;
  /**
   * Serve TLS with this PEM certificate chain and key. With
   * `clientCa`, clients must present a certificate signed by one of these
   * CAs (mutual TLS); others fail the TLS handshake.
   */
  tls?: { cert: string; key: string; clientCa?: readonly string[] };
  /**
   * How long a connection may take to send its request headers, and how
   * long an HTTP connection may sit idle. Default 10000.
   */
  handshakeTimeout?: number;
  /** The largest request head accepted, in bytes. Default 16384. */
  maxHeaderSize?: number;
  /** Called once the server listens. */
  onListen?: (address: { hostname: string; port: number }) => void;
  /** Stops the server when aborted, as `shutdown()` does. */
  signal?: AbortSignal;
  /**
   * Accepts permessage-deflate (RFC 7692) when a client offers it. Off by
   * default, and named to say why: compressing secrets next to data an
   * attacker controls leaks them through the compressed size (CRIME,
   * BREACH). Send such messages with `send(data, { compress: false })`.
   * `true` takes the defaults; an object sets `serverMaxWindowBits` (8–15),
   * `disableServerContextTakeover` (less memory, worse ratio),
   * `clientMaxWindowBits` and `threshold` (smaller messages go uncompressed).
   * A client whose offer cannot be honoured still connects, uncompressed.
   */
  dangerouslyEnableCompression?:
    | boolean
    | (DeflateServerOptions & { threshold?: number });
}

/** A fetch-style handler for the requests that are not WebSocket routes. */
export type RequestHandler = (request: Request) => Response | Promise<Response>;

/** A running engine listener. */
export interface EngineServer {
  /** Resolves with the address once the server listens. */
  readonly listening: Promise<{ hostname: string; port: number }>;
  /** Resolves once the server has closed. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting connections and closes idle HTTP connections. Open
   * sockets are left to their owner (a `SocketProcessor` shuts them down).
   */
  shutdown(): Promise<void>;
}

/**
 * Starts the engine listener: WebSocket routes become engine sockets handed
 * to `onSocket`; other requests go to `handler`, or get 404.
 *
 * @example An engine echo server beside a page
 * ```ts
 * import { serveEngine } from "@socketry/socketry";
 *
 * const server = serveEngine(
 *   { port: 0, path: "/ws" },
 *   (socket) => {
 *     socket.addEventListener("message", ({ data }) => socket.send(data));
 *   },
 *   () => new Response("<h1>Hello</h1>", { headers: { "content-type": "text/html" } }),
 * );
 * const { port } = await server.listening;
 * console.log(`listening on ${port}`);
 * await server.shutdown();
 * ```
 */
export function serveEngine(
  options: EngineServerOptions,
  onSocket: SocketHandler,
  handler?: RequestHandler,
): EngineServer {
  const {
    port = 8080,
    hostname = "0.0.0.0",
    tls,
    handshakeTimeout = 10_000,
    maxHeaderSize = 16_384,
    onListen,
    signal,
    dangerouslyEnableCompression = false,
    ...serverOptions
  } = options;
  const compression = dangerouslyEnableCompression === true
    ? {}
    : dangerouslyEnableCompression === false
    ? undefined
    : dangerouslyEnableCompression;
  const resolved = resolveServerOptions(serverOptions);
  const scheme = tls === undefined ? "http" : "https";
  const server: Server = tls === undefined
    ? createHttpServer({ maxHeaderSize })
    : createHttpsServer({
      maxHeaderSize,
      cert: tls.cert,
      key: tls.key,
      ...(tls.clientCa === undefined ? {} : {
        ca: [...tls.clientCa],
        requestCert: true,
        rejectUnauthorized: true,
      }),
    });
  server.headersTimeout = handshakeTimeout;
  server.keepAliveTimeout = handshakeTimeout;

  server.on("connection", (socket: NetSocket) => {
    // Slow clients: a connection that stays quiet this long is dropped.
    socket.setTimeout(handshakeTimeout, () => socket.destroy());
  });
  server.on("request", (incoming: IncomingMessage, outgoing) => {
    const request = toRequest(incoming, scheme);
    respond(request, resolved, handler).then(
      (response) => writeResponse(response, outgoing),
      (error: unknown) => {
        resolved.onError(error, request);
        outgoing.writeHead(500, { "content-type": "text/plain" });
        outgoing.end("Internal Server Error\n");
      },
    );
  });
  server.on(
    "upgrade",
    (incoming: IncomingMessage, socket: NetSocket, head: Uint8Array) => {
      socket.setTimeout(0);
      upgrade(incoming, socket, head, resolved, onSocket, scheme, compression);
    },
  );

  const listening = Promise.withResolvers<{ hostname: string; port: number }>();
  const finished = Promise.withResolvers<void>();
  server.once("error", (error) => listening.reject(error));
  server.on("close", () => finished.resolve());
  server.listen(port, hostname, () => {
    const address = server.address();
    const actual = typeof address === "object" && address !== null
      ? { hostname: address.address, port: address.port }
      : { hostname, port };
    listening.resolve(actual);
    onListen?.(actual);
  });
  let closing: Promise<void> | undefined;
  const shutdown = () =>
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  signal?.addEventListener("abort", () => shutdown(), { once: true });
  return { listening: listening.promise, finished: finished.promise, shutdown };
}

function onRoute(options: ResolvedServerOptions, url: string): boolean {
  if (options.paths === undefined) return true;
  const query = url.indexOf("?");
  return options.paths.has(query === -1 ? url : url.slice(0, query));
}

function respond(
  request: Request,
  options: ResolvedServerOptions,
  handler: RequestHandler | undefined,
): Promise<Response> {
  const url = new URL(request.url);
  if (
    onRoute(options, url.pathname) &&
    (options.paths !== undefined || isUpgradeAttempt(request))
  ) {
    if (isUpgradeAttempt(request)) {
      const check = checkHandshake(request);
      if (!check.ok) {
        return Promise.resolve(refuse(check.status, check.message));
      }
    }
    return Promise.resolve(refuse(
      400,
      "This route only accepts WebSocket connections (expected Upgrade: websocket)",
    ));
  }
  if (handler === undefined) return Promise.resolve(refuse(404, "Not Found"));
  return Promise.resolve(handler(request));
}

function upgrade(
  incoming: IncomingMessage,
  socket: NetSocket,
  head: Uint8Array,
  options: ResolvedServerOptions,
  onSocket: SocketHandler,
  scheme: string,
  compression: (DeflateServerOptions & { threshold?: number }) | undefined,
): void {
  socket.on("error", () => socket.destroy());
  const request = toRequest(incoming, scheme);
  if (!onRoute(options, incoming.url ?? "/")) {
    writeRefusal(socket, refuse(404, "Not Found"));
    return;
  }
  const check = checkHandshake(request);
  if (!check.ok) {
    writeRefusal(socket, refuse(check.status, check.message));
    return;
  }
  const origin = request.headers.get("origin");
  if (!isOriginAllowed(origin, options.allowedOrigins)) {
    writeRefusal(
      socket,
      refuse(403, `Origin ${origin} is not allowed to open a WebSocket`),
    );
    return;
  }
  const protocol = selectSubprotocol(check.protocols, options.protocols);
  const lines = [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${computeAcceptKey(check.key!)}`,
  ];
  if (protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  const { threshold, ...deflateOptions } = compression ?? {};
  const deflate = compression === undefined || check.extensions === ""
    ? undefined
    : negotiateServer(check.extensions, deflateOptions);
  if (deflate !== undefined) {
    lines.push(`Sec-WebSocket-Extensions: ${deflate.response}`);
  }
  socket.write(lines.join("\r\n") + "\r\n\r\n");
  const interval = options.keepAliveInterval;
  const engineSocket = new EngineSocket(
    new NetSocketTransport(socket, head),
    "server",
    {
      ...options.socket,
      keepAliveInterval: interval,
      keepAliveTimeout: options.keepAliveTimeout,
      silenceLimit: 2 * options.clientPingInterval,
      ...(protocol === undefined ? {} : { protocol }),
      ...(deflate === undefined ? {} : {
        deflate: deflate.params,
        extensions: deflate.response,
        ...(threshold === undefined ? {} : { compressionThreshold: threshold }),
      }),
    },
  );
  let work: unknown;
  try {
    work = onSocket(engineSocket, request);
  } catch (error) {
    work = Promise.reject(error);
  }
  if (work instanceof Promise) {
    work.catch((error: unknown) => {
      options.onError(error, request);
      engineSocket.close(1011, "Internal server error");
    });
  }
}

function toRequest(incoming: IncomingMessage, scheme: string): Request {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!);
    } catch {
      // A header Headers refuses (an invalid name) cannot matter to the checks.
    }
  }
  const host = incoming.headers.host ?? "localhost";
  const method = incoming.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(`${scheme}://${host}${incoming.url ?? "/"}`, {
    method,
    headers,
    ...(hasBody
      ? {
        body: Readable.toWeb(incoming) as ReadableStream<Uint8Array>,
        duplex: "half",
      }
      : {}),
  });
}

async function writeResponse(
  response: Response,
  outgoing: import("node:http").ServerResponse,
): Promise<void> {
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => headers.push([name, value]));
  outgoing.writeHead(
    response.status,
    response.statusText || undefined,
    headers,
  );
  if (response.body === null) {
    outgoing.end();
    return;
  }
  try {
    for await (const chunk of response.body) {
      if (!outgoing.write(chunk)) {
        await new Promise((resolve) => outgoing.once("drain", resolve));
      }
    }
  } finally {
    outgoing.end();
  }
}

async function writeRefusal(
  socket: NetSocket,
  response: Response,
): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  const lines = [
    `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ""}`,
  ];
  response.headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  lines.push(`content-length: ${body.byteLength}`, "connection: close", "", "");
  socket.write(lines.join("\r\n"));
  socket.end(body);
}
