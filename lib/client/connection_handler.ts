/**
 * The shared connection handler: one object that owns how the client
 * reaches servers (TLS trust and client certificates, an HTTP CONNECT proxy,
 * cookies and credentials), reusable across many sockets. Dialing lives in
 * `dial.ts`, the HTTP/2 sessions in `http2_pool.ts`.
 *
 * @module
 */

import type { Socket as NetSocket } from "node:net";
import { rootCertificates } from "node:tls";
import type { ClientHttp2Session } from "node:http2";
import { ReadBuffers } from "../engine/read_buffers.ts";
import { type CookieStore, isCookieStore } from "./cookie_store.ts";
import {
  basicAuthorization,
  type ClientCertificate,
  type Credentials,
  dial,
  type DialSettings,
} from "./dial.ts";
import { Http2Pool, type Http2Route } from "./http2_pool.ts";

export type { ClientCertificate, Credentials } from "./dial.ts";

/**
 * The connection settings a {@linkcode ConnectionHandler} owns. The same
 * names are accepted by `connect()` for a single socket.
 */
export interface ConnectionOptions {
  /** PEM certificates to trust for `wss://`, besides the system's roots. */
  caCerts?: readonly string[] | undefined;
  /** A client certificate, for servers that demand one (mutual TLS). */
  clientCertificate?: ClientCertificate | undefined;
  /**
   * Accepts any server certificate: expired, self-signed, for another host.
   * Anyone on the path can then read and change the traffic, so use it for
   * local testing only.
   */
  dangerouslyIgnoreCertificateErrors?: boolean | undefined;
  /**
   * An HTTP proxy to tunnel through with `CONNECT`, such as
   * `"http://proxy.example:3128"`; user and password in the URL are sent as
   * `Proxy-Authorization: Basic`.
   */
  proxy?: string | URL | undefined;
  /**
   * Stores `Set-Cookie` from handshake responses and sends `Cookie`: a
   * `CookieJar` from `@socketry/socketry/cookies`, or your own
   * {@linkcode CookieStore}.
   */
  cookies?: CookieStore | undefined;
  /** Sent as `Authorization: Basic` with every handshake request. */
  credentials?: Credentials | undefined;
}

/** The options that belong to the handler when one is given to `connect()`. */
export const CONNECTION_OPTIONS: readonly (keyof ConnectionOptions)[] = [
  "caCerts",
  "clientCertificate",
  "dangerouslyIgnoreCertificateErrors",
  "proxy",
  "cookies",
  "credentials",
];

/** What `connect()` uses of a handler and nobody else may. */
interface HandlerInternals {
  /**
   * Opens a connection as `openConnection` does, reading into lent buffers
   * when the socket returned is the one the WebSocket reads (no TLS through
   * a proxy): a bulk transfer then allocates nothing per read.
   */
  openLending(url: URL, signal: AbortSignal): Promise<NetSocket>;
  /** The HTTP/2 route for `url` (see `Http2Pool.route`). */
  http2Route(
    url: URL,
    signal: AbortSignal,
    allowHttp1: boolean,
  ): Promise<Http2Route>;
  /** Counts a WebSocket on a pooled session until `done` settles. */
  trackStream(session: ClientHttp2Session, done: Promise<unknown>): void;
  /** Headers added to a request for `url`: credentials, cookies. */
  requestHeaders(url: URL): [string, string][];
  /** Takes in a response from `url`: stores its cookies. */
  receiveResponse(url: URL, headers: Headers): void;
}

// Set by ConnectionHandler's static block: these are for connect() alone,
// so they are not methods of the public class.
let internalsOf: (handler: ConnectionHandler) => HandlerInternals;

/** The parts of `handler` that `connect()` uses. */
export function handlerInternals(
  handler: ConnectionHandler,
): HandlerInternals {
  return internalsOf(handler);
}

/**
 * Owns connection settings shared by many sockets: TLS trust, a client
 * certificate, an HTTP proxy, a cookie jar and credentials. Give it to
 * `connect()` as `handler`; the same kind of option must then be left
 * unset on the socket, or `connect()` throws a `TypeError` naming it.
 *
 * @example Share cookies and a proxy between sockets
 * ```ts
 * import { ConnectionHandler } from "@socketry/socketry";
 * import { CookieJar } from "@socketry/socketry/cookies";
 *
 * const jar = new CookieJar();
 * const handler = new ConnectionHandler({
 *   cookies: jar,
 *   credentials: { username: "ada", password: "lovelace" },
 * });
 * console.log(handler.cookies === jar, jar.size); // true 0
 * // const a = await connect("wss://example.com/feed", { handler });
 * // const b = await connect("wss://example.com/chat", { handler });
 * ```
 */
export class ConnectionHandler {
  readonly #dial: DialSettings;
  readonly #cookies: CookieStore | undefined;
  readonly #authorization: string | undefined;
  readonly #pool = new Http2Pool((url, signal, alpn) =>
    this.openConnection(url, signal, alpn)
  );

  /** Checks the options at once: bad ones throw `TypeError`. */
  constructor(options: ConnectionOptions = {}) {
    const {
      caCerts,
      clientCertificate,
      dangerouslyIgnoreCertificateErrors = false,
      proxy,
      cookies,
      credentials,
    } = options;
    if (
      caCerts !== undefined &&
      (!Array.isArray(caCerts) ||
        caCerts.some((pem) => typeof pem !== "string" || !isPem(pem)))
    ) {
      throw new TypeError("caCerts must be an array of PEM certificates");
    }
    if (
      clientCertificate !== undefined &&
      (!isPem(clientCertificate.cert) || !isPem(clientCertificate.key))
    ) {
      throw new TypeError(
        "clientCertificate needs cert and key, both in PEM format",
      );
    }
    this.#dial = {
      ca: caCerts === undefined ? undefined : [...rootCertificates, ...caCerts],
      clientCertificate,
      insecure: dangerouslyIgnoreCertificateErrors === true,
      proxy: proxy === undefined ? undefined : parseProxy(proxy),
    };
    if (cookies !== undefined && !isCookieStore(cookies)) {
      throw new TypeError(
        "cookies must be a CookieStore, with store() and header() methods (such as CookieJar from @socketry/socketry/cookies)",
      );
    }
    this.#cookies = cookies;
    if (credentials !== undefined) {
      this.#authorization = basicAuthorization(credentials, "credentials");
    }
  }

  /** The cookie store, if the handler keeps cookies. */
  get cookies(): CookieStore | undefined {
    return this.#cookies;
  }

  /** The proxy the handler tunnels through, if any. */
  get proxy(): URL | undefined {
    return this.#dial.proxy;
  }

  /** Whether the handler sends credentials. */
  get hasCredentials(): boolean {
    return this.#authorization !== undefined;
  }

  /**
   * Opens a byte connection to the host of `url`: TCP, through the proxy
   * when there is one, then TLS for `wss:` and `https:` (offering `alpn`).
   * `connect()` uses it; call it yourself to run another protocol over the
   * same settings. Cancelled by `signal`.
   */
  openConnection(
    url: URL,
    signal: AbortSignal,
    alpn?: readonly string[],
  ): Promise<NetSocket> {
    return dial(this.#dial, url, signal, alpn, undefined);
  }

  static {
    internalsOf = (handler) => ({
      openLending: (url, signal) =>
        dial(handler.#dial, url, signal, undefined, new ReadBuffers()),
      http2Route: (url, signal, allowHttp1) =>
        handler.#pool.route(url, signal, allowHttp1),
      trackStream: (session, done) => handler.#pool.track(session, done),
      requestHeaders: (url) => handler.#requestHeaders(url),
      receiveResponse: (url, headers) =>
        handler.#cookies?.store(url, headers.getSetCookie()),
    });
  }

  /**
   * Closes the pooled HTTP/2 sessions (streams still open, such as
   * WebSockets, finish first). Sockets opened later make new ones.
   */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /** Headers the handler adds to a request for `url`: credentials, cookies. */
  #requestHeaders(url: URL): [string, string][] {
    const headers: [string, string][] = [];
    if (this.#authorization !== undefined) {
      headers.push(["Authorization", this.#authorization]);
    }
    const cookie = this.#cookies?.header(url) ?? "";
    if (cookie !== "") headers.push(["Cookie", cookie]);
    return headers;
  }
}

function isPem(text: unknown): boolean {
  return typeof text === "string" && text.includes("-----BEGIN ");
}

function parseProxy(proxy: string | URL): URL {
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    throw new TypeError(`proxy: not a URL: ${proxy}`);
  }
  if (url.protocol !== "http:") {
    throw new TypeError(
      `proxy: only http:// proxies (HTTP CONNECT) are supported, got ${url.protocol}//`,
    );
  }
  return url;
}
