/**
 * The HTTP servers under the engine listener: `node:http` or `node:https`
 * for HTTP/1.1 alone; `node:http2` for HTTP/2 beside HTTP/1.1 on one port
 * (ALPN over TLS; over cleartext, h2c is told apart from HTTP/1.1 by its
 * connection preface). HTTP/2 sessions advertise
 * `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441) and are tracked, so that
 * shutdown can end them. The first request head of every HTTP/1.1
 * connection is read here: WebSocket upgrades go to the engine directly,
 * the rest to `node:http` with the bytes put back.
 *
 * @module
 */

import type { EventEmitter } from "node:events";
import type { RequestHead } from "../protocol/request_head.ts";
import { destroyEmitter } from "./destroy_emitter.ts";
import {
  type HeadReaderOptions,
  type HeadRoutes,
  readHead,
} from "./head_reader.ts";
import { WaitTimer } from "../wait_timer.ts";
import { createServer as createHttpServer, type Server } from "node:http";
import {
  createSecureServer,
  createServer as createH2cServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type Settings,
} from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { Server as NetServer, Socket } from "node:net";

/** TLS settings of the listener (PEM). */
export interface ListenerTls {
  /** The certificate chain. */
  readonly cert: string;
  /** The private key. */
  readonly key: string;
  /** CAs whose client certificates are required (mutual TLS). */
  readonly clientCa?: readonly string[] | undefined;
}

/** How to build the listener. */
export interface ListenerOptions {
  readonly tls: ListenerTls | undefined;
  readonly http2: boolean;
  readonly maxHeaderSize: number;
  readonly handshakeTimeout: number;
  /**
   * Takes a connection whose first request is a WebSocket upgrade, with
   * the bytes read past its head; the socket is paused.
   */
  readonly webSocket: (
    socket: Socket,
    head: RequestHead,
    rest: Uint8Array,
  ) => void;
}

/** The most header fields a request head may have. */
const MAX_FIELDS = 200;
// Per-stream receive window: how much one slow WebSocket may hold unread
// before flow control stops its sender (others on the connection go on).
const STREAM_WINDOW = 256 * 1024;
const CONNECTION_WINDOW = 8 * 1024 * 1024;

/** The listening server and the servers that emit requests, upgrades and streams. */
export class HttpListener {
  readonly #front: NetServer;
  readonly #apps: EventEmitter[];
  readonly #http1: Server[] = [];
  readonly #sessions = new Set<Http2Session>();
  // Connections whose first head is being read.
  readonly #reading = new Set<Socket>();
  readonly #deadlines: WaitTimer;
  readonly #idleTimeout: number;
  // The connection of the HTTP/2 session node:http2 is making: its
  // "session" event comes while the connection is handed over, and the
  // session shows only a proxy of it.
  #opening: Socket | undefined;

  /** Builds the servers; `listen()` starts them. */
  constructor(options: ListenerOptions) {
    const { tls, http2, maxHeaderSize, handshakeTimeout, webSocket } = options;
    this.#idleTimeout = handshakeTimeout;
    const heads: HeadReaderOptions = {
      maxHeadSize: maxHeaderSize,
      maxFields: MAX_FIELDS,
      deadlines: this.#deadlines = new WaitTimer(handshakeTimeout),
      pending: this.#reading,
    };
    // Slow clients on connections node serves: one that stays quiet this
    // long is dropped (upgrades clear the timeout once they start, HTTP/2
    // sessions while they have a WebSocket open). A head read here has a
    // deadline of its own, and an upgrade from it no idle timer to carry.
    const handOn = (socket: Socket, accept: (socket: Socket) => void) => {
      socket.setTimeout(handshakeTimeout, destroyEmitter);
      accept(socket);
      socket.resume();
    };
    const clientAuth = tls?.clientCa === undefined ? {} : {
      ca: [...tls.clientCa],
      requestCert: true,
      rejectUnauthorized: true,
    };
    const settings: Settings = {
      enableConnectProtocol: true,
      initialWindowSize: STREAM_WINDOW,
      maxHeaderListSize: maxHeaderSize,
    };
    let h2c: Http2Server | undefined;
    if (!http2) {
      const server = tls === undefined
        ? createHttpServer({ maxHeaderSize })
        : createHttpsServer({
          maxHeaderSize,
          cert: tls.cert,
          key: tls.key,
          ...clientAuth,
        });
      this.#front = server;
      this.#apps = [server];
      this.#http1.push(server);
    } else if (tls !== undefined) {
      const server = createSecureServer({
        cert: tls.cert,
        key: tls.key,
        ...clientAuth,
        allowHTTP1: true,
        settings,
      });
      this.#front = server as unknown as NetServer;
      this.#apps = [server];
    } else {
      // h2c: node:http listens (a server that never listened closes every
      // connection after its first response), and the connections that
      // open with the HTTP/2 preface go to node:http2.
      const http1 = createHttpServer({ maxHeaderSize });
      h2c = createH2cServer({ settings });
      this.#http1.push(http1);
      this.#apps = [http1, h2c];
      this.#front = http1;
      this.#track(h2c);
    }
    // The front server's own connection listener (node:http's, or
    // node:http2's ALPN dispatch) runs only for what is not a WebSocket.
    const event = tls === undefined ? "connection" : "secureConnection";
    const front = this.#front;
    const own = front.listeners(event) as ((socket: Socket) => void)[];
    front.removeAllListeners(event);
    const accept = (socket: Socket) => {
      for (const listener of own) listener.call(front, socket);
    };
    const other = (socket: Socket) => handOn(socket, accept);
    const preface = h2c;
    const routes: HeadRoutes = preface === undefined ? { webSocket, other } : {
      webSocket,
      other,
      http2: (socket) =>
        handOn(
          socket,
          (socket) =>
            this.#openSession(socket, () => preface.emit("connection", socket)),
        ),
    };
    front.on(event, (socket: Socket) => {
      // An h2 connection (chosen by ALPN) has no HTTP/1.1 head to read.
      if (
        (socket as { alpnProtocol?: string | false }).alpnProtocol === "h2"
      ) {
        socket.setTimeout(handshakeTimeout, destroyEmitter);
        this.#openSession(socket, () => accept(socket));
        return;
      }
      readHead(socket, heads, routes);
    });
    if (http2 && tls !== undefined) this.#track(this.#apps[0]!);
    for (const server of this.#http1) {
      server.headersTimeout = handshakeTimeout;
      server.keepAliveTimeout = handshakeTimeout;
    }
  }

  /** Adds `listener` for `event` on every server that emits it. */
  on(event: string, listener: (...args: never[]) => void): void {
    for (const app of this.#apps) {
      app.on(event, listener as (...args: unknown[]) => void);
    }
  }

  /** Listens (sharing the port with `reusePort`); resolves with the address. */
  listen(
    port: number,
    hostname: string,
    reusePort: boolean,
  ): Promise<{ hostname: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#front.once("error", reject);
      this.#front.listen({ port, host: hostname, reusePort }, () => {
        this.#front.off("error", reject);
        const address = this.#front.address();
        resolve(
          typeof address === "object" && address !== null
            ? { hostname: address.address, port: address.port }
            : { hostname, port },
        );
      });
    });
  }

  /** Resolves once the listener closed. */
  onClose(callback: () => void): void {
    this.#front.on("close", callback);
  }

  /**
   * Stops accepting, closes idle HTTP/1.1 connections and asks HTTP/2
   * sessions to end (GOAWAY: streams already open, such as WebSockets, go
   * on until they close). Resolves once every connection has ended.
   */
  shutdown(): Promise<void> {
    return new Promise((resolve) => {
      this.#front.close(() => resolve());
      for (const server of this.#http1) server.closeIdleConnections();
      for (const session of this.#sessions) session.close();
      for (const socket of this.#reading) socket.destroy();
      this.#deadlines.clear();
    });
  }

  /** Hands `socket` to node:http2 (`start`), which makes its session. */
  #openSession(socket: Socket, start: () => void): void {
    this.#opening = socket;
    try {
      start();
    } finally {
      this.#opening = undefined;
    }
  }

  #track(server: EventEmitter): void {
    server.on("session", (session: Http2Session) => {
      this.#sessions.add(session);
      session.setLocalWindowSize(CONNECTION_WINDOW);
      const socket = this.#opening;
      if (socket !== undefined) {
        idleOnlyWithoutWebSockets(session, socket, this.#idleTimeout);
      }
      session.on("close", () => this.#sessions.delete(session));
      session.on("error", () => session.destroy());
    });
  }
}

/**
 * An HTTP/2 connection that stays quiet for `timeout` is dropped unless a
 * WebSocket is open on it: a WebSocket may be silent far longer (its
 * keep-alive is its own). Request streams leave the timeout as it is.
 */
function idleOnlyWithoutWebSockets(
  session: Http2Session,
  socket: Socket,
  timeout: number,
): void {
  let open = 0;
  session.on(
    "stream",
    (stream: EventEmitter, headers: IncomingHttpHeaders) => {
      if (headers[":method"] !== "CONNECT" || !headers[":protocol"]) return;
      if (open++ === 0) socket.setTimeout(0);
      stream.once("close", () => {
        if (--open === 0 && !socket.destroyed) {
          socket.setTimeout(timeout, destroyEmitter);
        }
      });
    },
  );
}
