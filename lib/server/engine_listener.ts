/**
 * The engine listener: an HTTP server on `node:http`/`node:https`, or on
 * `node:http2` for HTTP/2 beside HTTP/1.1 on one port. WebSocket handshakes
 * (HTTP/1.1 upgrades and RFC 8441 extended CONNECT streams) pass the same
 * checks as the `Deno.serve` middleware (paths, versions, origins,
 * subprotocols: 400/403/426) and become {@linkcode EngineSocket}s, while
 * ordinary requests go to a `fetch`-style handler, so one application
 * serves both. The listener reads the first request head of each
 * connection itself: a WebSocket upgrade becomes a socket without passing
 * through `node:http`, which costs memory and time on every connection.
 *
 * @module
 */

import {
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type {
  Http2ServerRequest,
  Http2ServerResponse,
  IncomingHttpHeaders,
  ServerHttp2Stream,
} from "node:http2";
import type { Socket as NetSocket } from "node:net";
import { Readable } from "node:stream";
import {
  EngineSocket,
  type EngineSocketOptions,
} from "../engine/engine_socket.ts";
import { answeringHeartbeats } from "./heartbeat.ts";
import { hostPort } from "../engine/host_port.ts";
import { NetSocketTransport } from "../engine/transport.ts";
import {
  checkHandshake,
  type HandshakeRequest,
  HTTP1_ONLY_FIELDS,
  isOriginAllowed,
  isUpgradeAttempt,
} from "../protocol/handshake.ts";
import { computeAcceptKey } from "../protocol/handshake_key.ts";
import {
  type DeflateServerOptions,
  type DeflateServerResult,
  negotiateServer,
} from "../protocol/deflate_negotiation.ts";
import { negotiateSubprotocol, refuse } from "./accept.ts";
import { type Ticket, whenAdmitted } from "./admission.ts";
import { destroyEmitter } from "./destroy_emitter.ts";
import { HttpListener } from "./http_listener.ts";
import type { RequestHead } from "../protocol/request_head.ts";
import { runSocketHandler, type SocketHandler } from "./middleware.ts";
import { isRoute, notAHandshake, notFound, pathnameOf } from "./routes.ts";
import {
  type ResolvedServerOptions,
  resolveServerOptions,
  type WebSocketServerOptions,
} from "./options.ts";
import { positiveInteger } from "../socket/options.ts";

/** Options of {@linkcode serveEngine}. Times are in milliseconds. */
export interface EngineServerOptions<Data = unknown>
  extends WebSocketServerOptions<Data> {
  /** The port to listen on. Default 8080; 0 picks a free one. */
  port?: number;
  /** The address to listen on. Default `"0.0.0.0"`. */
  hostname?: string;
  /**
   * Let other listeners (in other workers or processes) bind the same
   * port, the kernel spreading new connections over them (`SO_REUSEPORT`,
   * Linux). Default false.
   */
  reusePort?: boolean;
  /**
   * Speak HTTP/2 as well, on the same port: with `tls`, ALPN offers `h2`
   * and `http/1.1`; without it, cleartext h2c (prior knowledge) is told
   * apart from HTTP/1.1 by its connection preface. HTTP/2 connections
   * advertise `SETTINGS_ENABLE_CONNECT_PROTOCOL`, so WebSockets open as
   * extended CONNECT streams (RFC 8441), many on one connection, each with
   * its own flow control. Default false.
   */
  http2?: boolean;
  /**
   * Serve TLS with this PEM certificate chain and key. With
   * `clientCa`, clients must present a certificate signed by one of these
   * CAs (mutual TLS); others fail the TLS handshake.
   */
  tls?: { cert: string; key: string; clientCa?: readonly string[] };
  /**
   * How long a connection may take to send its request headers, and how
   * long an HTTP connection may sit idle (an HTTP/2 connection only while
   * no WebSocket is open on it). Default 10000.
   */
  handshakeTimeout?: number;
  /** The largest request head accepted, in bytes. Default 16384. */
  maxHeaderSize?: number;
  /**
   * Reading a socket pauses while more than this many received bytes wait
   * for the application, so that a client cannot fill the server's memory
   * faster than the application reads. Default 1 MiB.
   */
  receiveHighWaterMark?: number;
  /**
   * The most frames one message may span: a flood of tiny fragments closes
   * the socket with 1008. Default 65536.
   */
  maxFragments?: number;
  /** Called once the server listens. */
  onListen?: (address: { hostname: string; port: number }) => void;
  /** Stops the server when aborted, as `shutdown()` does. */
  signal?: AbortSignal;
  /**
   * Looks at an upgrade request that passed the route, handshake and origin
   * checks, before any socket exists: return a `Response` (400, 401, …) to
   * refuse it with, or `undefined` to accept. On `Deno.serve`, wrap the
   * handler instead.
   */
  checkUpgrade?: (request: Request) => Response | undefined;
  /**
   * Accepts permessage-deflate (RFC 7692) when a client offers it. Off by
   * default, and named to say why: compressing secrets next to data an
   * attacker controls leaks them through the compressed size (CRIME,
   * BREACH). Send such messages with `send(data, { compress: false })`.
   * `true` takes the defaults; an object sets `serverMaxWindowBits` (8–15),
   * `disableServerContextTakeover` (less memory, worse ratio),
   * `clientMaxWindowBits`, `threshold` (smaller messages go uncompressed)
   * and `level` (zlib 0–9; 1–3 cost far less CPU with many connections).
   * A client whose offer cannot be honoured still connects, uncompressed.
   */
  dangerouslyEnableCompression?:
    | boolean
    | (DeflateServerOptions & { threshold?: number; level?: number });
}

/** What a {@linkcode RequestHandler} learns besides the request. */
export interface RequestInfo {
  /** The client's address as `host:port`. */
  readonly remoteAddress: string | undefined;
  /** The HTTP version the request came over. */
  readonly httpVersion: "1.1" | "2";
}

/** A fetch-style handler for the requests that are not WebSocket routes. */
export type RequestHandler = (
  request: Request,
  info: RequestInfo,
) => Response | Promise<Response>;

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
export function serveEngine<Data = unknown>(
  options: EngineServerOptions<Data>,
  onSocket: SocketHandler<Data>,
  handler?: RequestHandler,
): EngineServer {
  const {
    port = 8080,
    hostname = "0.0.0.0",
    reusePort = false,
    tls,
    http2 = false,
    handshakeTimeout = 10_000,
    maxHeaderSize = 16_384,
    onListen,
    signal,
    dangerouslyEnableCompression = false,
    checkUpgrade,
    receiveHighWaterMark,
    maxFragments,
    ...serverOptions
  } = options;
  const site: Site = {
    options: resolveServerOptions(serverOptions),
    reading: {
      ...(receiveHighWaterMark === undefined ? {} : {
        receiveHighWaterMark: positiveInteger(
          "receiveHighWaterMark",
          receiveHighWaterMark,
        ),
      }),
      ...(maxFragments === undefined
        ? {}
        : { maxFragments: positiveInteger("maxFragments", maxFragments) }),
    },
    checkUpgrade,
    // Sockets carry the data of the options' own authorize.
    onSocket: onSocket as SocketHandler,
    handler,
    scheme: tls === undefined ? "http" : "https",
    compression: dangerouslyEnableCompression === true
      ? {}
      : dangerouslyEnableCompression === false
      ? undefined
      : dangerouslyEnableCompression,
    plainOptions: new Map(),
  };
  const level = site.compression?.level;
  if (
    level !== undefined &&
    !(Number.isInteger(level) && level >= -1 && level <= 9)
  ) {
    throw new RangeError(
      `dangerouslyEnableCompression.level must be -1 to 9, got ${level}`,
    );
  }
  const server = new HttpListener({
    tls,
    http2,
    maxHeaderSize,
    handshakeTimeout,
    webSocket: (socket, head, rest) => {
      const problem = upgradeHeadProblem(head);
      if (problem !== undefined) {
        site.options.admission?.refusedByChecks(400);
        writeRefusal(socket, refuse(400, problem));
        return;
      }
      const request = requestOfHead(head, site.scheme);
      if (request === undefined) {
        site.options.admission?.refusedByChecks(400);
        writeRefusal(socket, refuse(400, "The request target is malformed"));
        return;
      }
      upgrade(request, head.minorVersion, socket, rest, site);
    },
  });

  server.on(
    "request",
    (
      incoming: IncomingMessage | Http2ServerRequest,
      outgoing: ServerResponse | Http2ServerResponse,
    ) => serveRequest(incoming, outgoing, site),
  );
  server.on(
    "upgrade",
    (incoming: IncomingMessage, socket: NetSocket, head: Uint8Array) => {
      socket.setTimeout(0);
      upgrade(
        toRequest(incoming, site.scheme),
        incoming.httpVersionMajor > 1 ? 1 : incoming.httpVersionMinor,
        socket,
        head,
        site,
      );
    },
  );
  server.on(
    "stream",
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      if (headers[":method"] === "CONNECT") {
        connectStream(stream, headers, site);
      }
    },
  );
  // HTTP/2 CONNECT streams are taken by the "stream" listener above; this
  // one keeps node:http2's compatibility layer from answering them with 405,
  // and refuses HTTP/1.1 CONNECT (a proxy request: this is no proxy).
  server.on(
    "connect",
    (incoming: IncomingMessage | Http2ServerRequest, socket: unknown) => {
      if (incoming.httpVersionMajor === 2) return;
      const raw = socket as NetSocket;
      raw.on("error", destroyEmitter);
      writeRefusal(raw, refuse(405, "This server is not a proxy"));
    },
  );

  const finished = Promise.withResolvers<void>();
  server.onClose(() => finished.resolve());
  const listening = server.listen(port, hostname, reusePort);
  listening.then(onListen, () => {});
  let closing: Promise<void> | undefined;
  const shutdown = () => closing ??= server.shutdown();
  signal?.addEventListener("abort", () => shutdown(), { once: true });
  return { listening, finished: finished.promise, shutdown };
}

/** What every connection of one listener shares. */
interface Site {
  readonly options: ResolvedServerOptions;
  /** The engine's own limits on reading, when the options set them. */
  readonly reading: Pick<
    EngineSocketOptions,
    "receiveHighWaterMark" | "maxFragments"
  >;
  readonly onSocket: SocketHandler;
  readonly handler: RequestHandler | undefined;
  readonly checkUpgrade:
    | ((request: Request) => Response | undefined)
    | undefined;
  readonly scheme: string;
  readonly compression:
    | (DeflateServerOptions & { threshold?: number; level?: number })
    | undefined;
  /**
   * The options of the sockets that agreed on no subprotocol and no
   * compression, per HTTP version: one frozen object for all of them, so
   * that each socket need not resolve and check its own.
   */
  readonly plainOptions: Map<"1.1" | "2", EngineSocketOptions>;
}

function serveRequest(
  incoming: IncomingMessage | Http2ServerRequest,
  outgoing: ServerResponse | Http2ServerResponse,
  site: Site,
): void {
  const request = toRequest(incoming, site.scheme);
  const http2 = incoming.httpVersionMajor === 2;
  const socket = http2
    ? (incoming as Http2ServerRequest).stream.session?.socket
    : (incoming as IncomingMessage).socket;
  const info: RequestInfo = {
    remoteAddress: hostPort(socket?.remoteAddress, socket?.remotePort),
    httpVersion: http2 ? "2" : "1.1",
  };
  respond(request, info, site).then(
    (response) => writeResponse(response, outgoing, http2),
    (error: unknown) => {
      site.options.onError(error, request);
      if (outgoing.headersSent) {
        outgoing.end();
        return;
      }
      (outgoing as ServerResponse).writeHead(500, {
        "content-type": "text/plain",
      });
      outgoing.end("Internal Server Error\n");
    },
  );
}

function respond(
  request: Request,
  info: RequestInfo,
  { options, handler }: Site,
): Promise<Response> {
  const pathname = pathnameOf(request.url);
  const route = isRoute(options.paths, pathname);
  if (route && (options.paths !== undefined || isUpgradeAttempt(request))) {
    if (isUpgradeAttempt(request)) {
      const check = checkHandshake(request);
      if (!check.ok) {
        return Promise.resolve(refuse(check.status, check.message));
      }
    }
    return Promise.resolve(notAHandshake());
  }
  if (handler !== undefined) return Promise.resolve(handler(request, info));
  // Without a handler the routes are all there is, as with webSockets().
  return Promise.resolve(
    route ? notAHandshake() : notFound(options.paths, pathname),
  );
}

/** An accepted handshake: what to answer with and how to run the socket. */
interface Acceptance {
  readonly protocol: string | undefined;
  readonly deflate: DeflateServerResult | undefined;
  readonly key: string | undefined;
}

/**
 * The checks of SPEC S1/S2 for a handshake in either HTTP version: the
 * route, the request itself, the origin; then the subprotocol and the
 * compression parameters. Returns the refusal to send, or the acceptance.
 */
function accept(
  request: HandshakeRequest,
  { options, compression, checkUpgrade }: Site,
  application: Request,
): Acceptance | Response {
  // As the native middleware reads it: dot segments resolved.
  const pathname = pathnameOf(application.url);
  if (!isRoute(options.paths, pathname)) {
    return notFound(options.paths, pathname);
  }
  const check = checkHandshake(request);
  if (!check.ok) return refuse(check.status, check.message);
  const origin = request.headers.get("origin");
  if (!isOriginAllowed(origin, options.allowedOrigins)) {
    return refuse(403, `Origin ${origin} is not allowed to open a WebSocket`);
  }
  const refusal = checkUpgrade?.(application);
  if (refusal !== undefined) return refusal;
  const protocol = negotiateSubprotocol(check.protocols, options);
  if (protocol instanceof Response) return protocol;
  const { threshold: _, level: __, ...deflateOptions } = compression ?? {};
  return {
    protocol,
    deflate: compression === undefined || check.extensions === ""
      ? undefined
      : negotiateServer(check.extensions, deflateOptions),
    key: check.key,
  };
}

const encoder = new TextEncoder();
const HeartbeatEngineSocket = answeringHeartbeats(EngineSocket);

/** The options of a socket accepted on `site`. */
function socketOptions(
  site: Site,
  httpVersion: "1.1" | "2",
  { protocol, deflate }: Acceptance,
): EngineSocketOptions {
  const plain = protocol === undefined && deflate === undefined;
  const cached = plain ? site.plainOptions.get(httpVersion) : undefined;
  if (cached !== undefined) return cached;
  const { options, compression } = site;
  const threshold = compression?.threshold;
  const level = compression?.level;
  const made: EngineSocketOptions = {
    ...options.socket,
    ...site.reading,
    keepAliveInterval: options.keepAliveInterval,
    keepAliveTimeout: options.keepAliveTimeout,
    silenceLimit: 2 * options.clientPingInterval,
    httpVersion,
    ...(protocol === undefined ? {} : { protocol }),
    ...(deflate === undefined ? {} : {
      deflate: deflate.params,
      extensions: deflate.response,
      ...(threshold === undefined ? {} : { compressionThreshold: threshold }),
      ...(level === undefined ? {} : { compressionLevel: level }),
    }),
  };
  if (plain) {
    // Frozen: the socket may keep what it resolved from a frozen object.
    site.plainOptions.set(httpVersion, Object.freeze(made));
  }
  return made;
}

/** Runs the accepted socket and hands it to the application. */
function start(
  transport: NetSocketTransport,
  acceptance: Acceptance,
  request: Request,
  httpVersion: "1.1" | "2",
  site: Site,
  ticket: Ticket | undefined,
): void {
  const { options, onSocket } = site;
  const Base = options.heartbeat ? HeartbeatEngineSocket : EngineSocket;
  const Engine = options.admission?.socketClass(Base) ?? Base;
  const socket = new Engine(
    transport,
    "server",
    socketOptions(site, httpVersion, acceptance),
  );
  ticket?.attach(socket);
  runSocketHandler(onSocket, socket, request, options.onError);
}

/**
 * What an upgrade head gets wrong that the `Request` made of it would hide:
 * a method that is GET only case-insensitively (methods are case-sensitive,
 * RFC 9110 9.1; a `Request` spells `get` as `GET`), and a body, whose bytes
 * would otherwise be read as WebSocket frames.
 */
export function upgradeHeadProblem(head: RequestHead): string | undefined {
  if (head.method !== "GET" && head.method.toUpperCase() === "GET") {
    return `A WebSocket handshake is a GET request (methods are case-sensitive), got ${head.method}`;
  }
  for (const [name, value] of head.fields) {
    const lower = name.toLowerCase();
    if (
      lower === "transfer-encoding" ||
      (lower === "content-length" && value !== "0")
    ) {
      return "A WebSocket handshake carries no body";
    }
  }
  return undefined;
}

/**
 * An HTTP/1.x upgrade request: `minorVersion` of HTTP/1.x, `head` the
 * bytes read past the request head.
 */
function upgrade(
  request: Request,
  minorVersion: number,
  socket: NetSocket,
  head: Uint8Array,
  site: Site,
): void {
  // RFC 6455 4.1 and 4.2.1: the opening handshake needs HTTP/1.1 or higher.
  if (minorVersion < 1) {
    site.options.admission?.refusedByChecks(400);
    writeRefusal(
      socket,
      refuse(400, "A WebSocket handshake needs HTTP/1.1 or higher"),
    );
    return;
  }
  const acceptance = accept(request, site, request);
  if (acceptance instanceof Response) {
    site.options.admission?.refusedByChecks(acceptance.status);
    writeRefusal(socket, acceptance);
    return;
  }
  whenAdmitted(
    site.options.admission,
    request,
    () => socket.remoteAddress,
    () => socket.destroyed,
    (refusal) => writeRefusal(socket, refusal),
    (ticket) => {
      const lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Accept: ${computeAcceptKey(acceptance.key!)}`,
      ];
      if (acceptance.protocol !== undefined) {
        lines.push(`Sec-WebSocket-Protocol: ${acceptance.protocol}`);
      }
      if (acceptance.deflate !== undefined) {
        lines.push(`Sec-WebSocket-Extensions: ${acceptance.deflate.response}`);
      }
      // As bytes: node:net writes a string through a slower path.
      socket.write(encoder.encode(lines.join("\r\n") + "\r\n\r\n"));
      const transport = new NetSocketTransport(socket, head);
      start(transport, acceptance, request, "1.1", site, ticket);
    },
  );
}

/** An RFC 8441 extended CONNECT stream: a WebSocket over HTTP/2. */
function connectStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  site: Site,
): void {
  stream.on("error", destroyEmitter);
  const path = String(headers[":path"] ?? "/");
  const authority = String(headers[":authority"] ?? "localhost");
  const fields = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      try {
        fields.append(name, item);
      } catch {
        // A field Headers refuses cannot matter to the checks.
      }
    }
  }
  const handshake: HandshakeRequest = {
    method: "CONNECT",
    headers: fields,
    protocol: String(headers[":protocol"] ?? ""),
  };
  // The application sees the handshake as the GET it stands for.
  const request = new Request(`${site.scheme}://${authority}${path}`, {
    headers: fields,
  });
  const acceptance = accept(handshake, site, request);
  if (acceptance instanceof Response) {
    site.options.admission?.refusedByChecks(acceptance.status);
    respondOnStream(stream, acceptance);
    return;
  }
  whenAdmitted(
    site.options.admission,
    request,
    () => stream.session?.socket?.remoteAddress,
    () => stream.destroyed,
    (refusal) => respondOnStream(stream, refusal),
    (ticket) => {
      const response: Record<string, string | number> = { ":status": 200 };
      if (acceptance.protocol !== undefined) {
        response["sec-websocket-protocol"] = acceptance.protocol;
      }
      if (acceptance.deflate !== undefined) {
        response["sec-websocket-extensions"] = acceptance.deflate.response;
      }
      stream.respond(response);
      const transport = new NetSocketTransport(stream);
      start(transport, acceptance, request, "2", site, ticket);
    },
  );
}

async function respondOnStream(
  stream: ServerHttp2Stream,
  response: Response,
): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  const headers: Record<string, string | number> = {
    ":status": response.status,
  };
  response.headers.forEach((value, name) => headers[name] = value);
  if (stream.destroyed) return;
  stream.respond(headers);
  stream.end(body);
}

/**
 * The request a head read by the listener stands for; `undefined` when its
 * target cannot be one (origin form and absolute form are taken).
 */
export function requestOfHead(
  head: RequestHead,
  scheme: string,
): Request | undefined {
  let host = "localhost";
  for (const [name, value] of head.fields) {
    if (name.length === 4 && name.toLowerCase() === "host") host = value;
  }
  let url: string;
  try {
    url = head.target.startsWith("/")
      ? `${scheme}://${host}${head.target}`
      : new URL(head.target).href;
  } catch {
    return undefined;
  }
  const { method } = head;
  try {
    // All fields at once: several times cheaper than appending each.
    return new Request(url, {
      method,
      headers: head.fields as [string, string][],
    });
  } catch {
    // Some field Headers refuses (it cannot matter to the checks): the
    // others, one by one.
  }
  const headers = new Headers();
  for (const [name, value] of head.fields) {
    try {
      headers.append(name, value);
    } catch {
      // Left out, as above.
    }
  }
  try {
    return new Request(url, { method, headers });
  } catch {
    return undefined;
  }
}

function toRequest(
  incoming: IncomingMessage | Http2ServerRequest,
  scheme: string,
): Request {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.startsWith(":")) continue;
    try {
      headers.append(raw[i]!, raw[i + 1]!);
    } catch {
      // A header Headers refuses (an invalid name) cannot matter to the checks.
    }
  }
  const host = incoming.headers.host ??
    String(incoming.headers[":authority"] ?? "localhost");
  const method = incoming.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  // Seen as a plain Readable: @types/node 26 types Http2ServerRequest's
  // read() so that it no longer fits toWeb()'s parameter.
  const body: Readable = incoming;
  return new Request(`${scheme}://${host}${incoming.url ?? "/"}`, {
    method,
    headers,
    ...(hasBody
      ? {
        body: Readable.toWeb(body) as ReadableStream<Uint8Array>,
        duplex: "half",
      }
      : {}),
  });
}

async function writeResponse(
  response: Response,
  outgoing: ServerResponse | Http2ServerResponse,
  http2: boolean,
): Promise<void> {
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => {
    if (!http2 || !HTTP1_ONLY_FIELDS.has(name)) headers.push([name, value]);
  });
  if (http2) {
    (outgoing as Http2ServerResponse).writeHead(
      response.status,
      Object.fromEntries(headers),
    );
  } else {
    (outgoing as ServerResponse).writeHead(
      response.status,
      response.statusText || undefined,
      headers,
    );
  }
  if (response.body === null) {
    outgoing.end();
    return;
  }
  try {
    for await (const chunk of response.body) {
      if (!(outgoing as ServerResponse).write(chunk)) {
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
