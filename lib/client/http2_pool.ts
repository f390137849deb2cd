/**
 * The client's HTTP/2 sessions, one per origin, shared by every WebSocket
 * over HTTP/2 (RFC 8441) that goes through the same connection handler.
 *
 * @module
 */

import type { Socket as NetSocket } from "node:net";
import type { TLSSocket } from "node:tls";
import { type ClientHttp2Session, connect as http2Connect } from "node:http2";
import { onAbort } from "../abort.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import {
  HTTP2_CONNECTION_WINDOW,
  HTTP2_STREAM_WINDOW,
} from "../http2_windows.ts";

/**
 * Where a WebSocket over HTTP/2 can go: a pooled `session`, or, when the
 * server answered ALPN with `http/1.1`, that fresh `socket` for an HTTP/1.1
 * handshake; neither means: open an HTTP/1.1 connection.
 */
export interface Http2Route {
  /** The shared HTTP/2 session, when the server speaks RFC 8441. */
  readonly session?: ClientHttp2Session;
  /** A connection that negotiated HTTP/1.1 instead. */
  readonly socket?: NetSocket;
}

/** Opens a byte connection for `url`, offering `alpn` over TLS. */
export type Dialer = (
  url: URL,
  signal: AbortSignal,
  alpn: readonly string[] | undefined,
) => Promise<NetSocket>;

/** HTTP/2 sessions by origin, made on first use. */
export class Http2Pool {
  readonly #dial: Dialer;
  readonly #sessions = new Map<
    string,
    Promise<ClientHttp2Session | NetSocket>
  >();
  readonly #streams = new WeakMap<ClientHttp2Session, number>();
  readonly #taken = new WeakSet<NetSocket>();

  /** Dials new connections with `dial`. */
  constructor(dial: Dialer) {
    this.#dial = dial;
  }

  /**
   * The pooled session to the origin of `url` (ALPN `h2`, or h2c with prior
   * knowledge for `ws:`). With `allowHttp1`, a server that answers ALPN
   * with `http/1.1` or does not advertise `SETTINGS_ENABLE_CONNECT_PROTOCOL`
   * yields an HTTP/1.1 route instead; without it, that is a
   * `WebSocketError` (status `handshakeRejected`). Sockets that ask at the
   * same time share the first one's attempt.
   */
  async route(
    url: URL,
    signal: AbortSignal,
    allowHttp1: boolean,
  ): Promise<Http2Route> {
    const origin = `${url.protocol}//${url.host}`;
    let opening = this.#sessions.get(origin);
    if (opening === undefined) {
      opening = this.#open(url, origin, signal, allowHttp1);
      this.#sessions.set(origin, opening);
      const forget = () => {
        if (this.#sessions.get(origin) === opening) {
          this.#sessions.delete(origin);
        }
      };
      opening.then((result) => {
        if ("request" in result) result.once("close", forget);
        else forget();
      }, forget);
    }
    let result: ClientHttp2Session | NetSocket;
    try {
      result = await opening;
    } catch (error) {
      if (error instanceof NoExtendedConnect && allowHttp1) return {};
      throw error;
    }
    if (!("request" in result)) {
      // Only one caller can take over the HTTP/1.1 connection.
      if (!this.#taken.has(result) && !result.destroyed) {
        this.#taken.add(result);
        return { socket: result };
      }
      return {};
    }
    if (result.closed || result.destroyed) {
      return this.route(url, signal, allowHttp1);
    }
    return { session: result };
  }

  /**
   * Counts a WebSocket on a pooled session until `done` settles, so that
   * an idle session does not keep the process alive.
   */
  track(session: ClientHttp2Session, done: Promise<unknown>): void {
    const count = (this.#streams.get(session) ?? 0) + 1;
    this.#streams.set(session, count);
    if (count === 1) session.ref();
    done.finally(() => {
      const left = (this.#streams.get(session) ?? 1) - 1;
      this.#streams.set(session, left);
      if (left === 0 && !session.destroyed) session.unref();
    });
  }

  /**
   * Closes the sessions (streams still open, such as WebSockets, finish
   * first). Sockets opened later make new ones.
   */
  async close(): Promise<void> {
    const pending = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(pending.map(async (opening) => {
      const result = await opening.catch(() => undefined);
      if (result === undefined) return;
      if (!("request" in result)) {
        if (!this.#taken.has(result)) result.destroy();
        return;
      }
      if (result.closed || result.destroyed) return;
      await new Promise<void>((resolve) => result.close(() => resolve()));
    }));
  }

  async #open(
    url: URL,
    origin: string,
    signal: AbortSignal,
    allowHttp1: boolean,
  ): Promise<ClientHttp2Session | NetSocket> {
    const secure = url.protocol === "wss:" || url.protocol === "https:";
    const noHttp2 = (chose: string) =>
      new WebSocketError(
        `${origin} does not speak HTTP/2 (ALPN chose ${chose}), and the version policy forbids falling back to HTTP/1.1`,
        { status: WebSocketStatus.HandshakeRejected },
      );
    let socket: NetSocket;
    try {
      socket = await this.#dial(
        url,
        signal,
        secure ? (allowHttp1 ? ["h2", "http/1.1"] : ["h2"]) : undefined,
      );
    } catch (error) {
      // A server without h2 may end the TLS handshake over ALPN alone.
      if (
        (error as { code?: unknown }).code ===
          "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL"
      ) throw noHttp2("nothing: the server refused h2");
      throw error;
    }
    if (secure && (socket as TLSSocket).alpnProtocol !== "h2") {
      if (allowHttp1) return socket;
      socket.destroy();
      throw noHttp2((socket as TLSSocket).alpnProtocol || "nothing");
    }
    const scheme = secure ? "https:" : "http:";
    return await new Promise<ClientHttp2Session>((resolve, reject) => {
      const session = http2Connect(`${scheme}//${url.host}`, {
        createConnection: () => socket,
        settings: { initialWindowSize: HTTP2_STREAM_WINDOW },
      });
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        stop();
        queueMicrotask(() => session.destroy());
        reject(error);
      };
      const stop = onAbort(signal, fail);
      session.on("error", (error) => fail(error));
      session.once("close", () =>
        fail(
          new WebSocketError(
            `${origin} closed the HTTP/2 connection (is it an HTTP/2 server?)`,
            { status: WebSocketStatus.HandshakeRejected },
          ),
        ));
      // Deno 2.9 corrupts memory (a segmentation fault at a later garbage
      // collection) when a session is closed inside its own listener for the
      // peer's SETTINGS: everything that follows runs a microtask later.
      session.once("remoteSettings", (settings) =>
        queueMicrotask(() => {
          if (settled) return;
          settled = true;
          stop();
          if (settings.enableConnectProtocol !== true) {
            session.close();
            reject(new NoExtendedConnect(origin));
            return;
          }
          session.setLocalWindowSize(HTTP2_CONNECTION_WINDOW);
          session.unref();
          resolve(session);
        }));
    });
  }
}

/** The server speaks HTTP/2 but accepts no WebSockets over it. */
class NoExtendedConnect extends WebSocketError {
  constructor(origin: string) {
    super(
      `${origin} speaks HTTP/2 but does not accept WebSockets over it (no SETTINGS_ENABLE_CONNECT_PROTOCOL), and the version policy forbids falling back to HTTP/1.1`,
      { status: WebSocketStatus.HandshakeRejected },
    );
  }
}
