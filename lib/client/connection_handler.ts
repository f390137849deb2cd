/**
 * The shared connection handler (SPEC C3): one object that owns how the
 * client reaches servers (TLS trust and client certificates, an HTTP CONNECT
 * proxy, cookies and credentials), reusable across many sockets.
 *
 * @module
 */

import {
  connect as netConnect,
  isIP,
  type Socket as NetSocket,
} from "node:net";
import {
  connect as tlsConnect,
  rootCertificates,
  type TLSSocket,
} from "node:tls";
import { type ClientHttp2Session, connect as http2Connect } from "node:http2";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { ReadBuffers } from "../engine/read_buffers.ts";
import { CookieJar } from "./cookie_jar.ts";
import { readResponseHead } from "./read_head.ts";

/** A client certificate and its private key, both PEM. */
export interface ClientCertificate {
  /** The certificate chain (PEM). */
  readonly cert: string;
  /** The private key (PEM). */
  readonly key: string;
}

/** A user name and password for HTTP Basic authentication. */
export interface Credentials {
  /** The user name; it may not contain `:`. */
  readonly username: string;
  /** The password. */
  readonly password: string;
}

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
  /** Stores `Set-Cookie` from handshake responses and sends `Cookie`. */
  cookies?: CookieJar | undefined;
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

const MAX_PROXY_HEAD = 16 * 1024;
// Per-stream and per-connection receive windows of pooled HTTP/2 sessions.
const STREAM_WINDOW = 256 * 1024;
const CONNECTION_WINDOW = 8 * 1024 * 1024;

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
const encoder = new TextEncoder();

// Set by ConnectionHandler's static block: lent reads are for connect()
// alone, so the method that opens them is not public.
let openLending: (
  handler: ConnectionHandler,
  url: URL,
  signal: AbortSignal,
) => Promise<NetSocket>;

/**
 * Owns connection settings shared by many sockets: TLS trust, a client
 * certificate, an HTTP proxy, a cookie jar and credentials. Give it to
 * `connect()` as `handler`; the same kind of option must then be left
 * unset on the socket, or `connect()` throws a `TypeError` naming it.
 *
 * @example Share cookies and a proxy between sockets
 * ```ts
 * import { ConnectionHandler, CookieJar } from "@socketry/socketry";
 *
 * const handler = new ConnectionHandler({
 *   cookies: new CookieJar(),
 *   credentials: { username: "ada", password: "lovelace" },
 * });
 * console.log(handler.cookies?.size); // 0
 * // const a = await connect("wss://example.com/feed", { handler });
 * // const b = await connect("wss://example.com/chat", { handler });
 * ```
 */
export class ConnectionHandler {
  readonly #ca: string[] | undefined;
  readonly #clientCertificate: ClientCertificate | undefined;
  readonly #insecure: boolean;
  readonly #proxy: URL | undefined;
  readonly #cookies: CookieJar | undefined;
  readonly #authorization: string | undefined;
  readonly #sessions = new Map<
    string,
    Promise<ClientHttp2Session | NetSocket>
  >();
  readonly #streams = new WeakMap<ClientHttp2Session, number>();
  readonly #taken = new WeakSet<NetSocket>();

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
    if (caCerts !== undefined) {
      if (
        !Array.isArray(caCerts) ||
        caCerts.some((pem) => typeof pem !== "string" || !isPem(pem))
      ) {
        throw new TypeError("caCerts must be an array of PEM certificates");
      }
      this.#ca = [...rootCertificates, ...caCerts];
    }
    if (clientCertificate !== undefined) {
      if (
        !isPem(clientCertificate.cert) || !isPem(clientCertificate.key)
      ) {
        throw new TypeError(
          "clientCertificate needs cert and key, both in PEM format",
        );
      }
      this.#clientCertificate = clientCertificate;
    }
    this.#insecure = dangerouslyIgnoreCertificateErrors === true;
    if (proxy !== undefined) this.#proxy = parseProxy(proxy);
    if (cookies !== undefined && !(cookies instanceof CookieJar)) {
      throw new TypeError("cookies must be a CookieJar");
    }
    this.#cookies = cookies;
    if (credentials !== undefined) {
      this.#authorization = basicAuthorization(credentials, "credentials");
    }
  }

  /** The cookie jar, if the handler keeps cookies. */
  get cookies(): CookieJar | undefined {
    return this.#cookies;
  }

  /** The proxy the handler tunnels through, if any. */
  get proxy(): URL | undefined {
    return this.#proxy;
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
    return this.#open(url, signal, alpn, undefined);
  }

  static {
    openLending = (handler, url, signal) =>
      handler.#open(url, signal, undefined, new ReadBuffers());
  }

  async #open(
    url: URL,
    signal: AbortSignal,
    alpn: readonly string[] | undefined,
    buffers: ReadBuffers | undefined,
  ): Promise<NetSocket> {
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const secure = url.protocol === "wss:" || url.protocol === "https:";
    const port = Number(url.port || (secure ? 443 : 80));
    const proxy = this.#proxy;
    if (secure && proxy === undefined) {
      return await this.#startTls({ host, port }, host, alpn, signal, buffers);
    }
    // TLS through a tunnel reads the tunnel itself: nothing to lend there.
    const lent = secure ? undefined : buffers;
    let socket = proxy === undefined
      ? await openTcp(host, port, signal, lent)
      : await openTcp(
        proxy.hostname.replace(/^\[(.*)\]$/, "$1"),
        Number(proxy.port || 80),
        signal,
        lent,
      );
    try {
      if (proxy !== undefined) {
        await cancellable(tunnel(socket, proxy, host, port), signal);
      }
      if (secure) {
        socket = await this.#startTls({ socket }, host, alpn, signal);
      }
      return socket;
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  /**
   * The pooled HTTP/2 session to the origin of `url` (one per origin, made
   * on first use: ALPN `h2`, or h2c with prior knowledge for `ws:`), for a
   * WebSocket over HTTP/2 (RFC 8441). With `allowHttp1`, a server that
   * answers ALPN with `http/1.1` or does not advertise
   * `SETTINGS_ENABLE_CONNECT_PROTOCOL` yields an HTTP/1.1 route instead;
   * without it, that is a `WebSocketError` (status `handshakeRejected`).
   * Sockets that ask at the same time share the first one's attempt.
   */
  async http2Route(
    url: URL,
    signal: AbortSignal,
    allowHttp1: boolean,
  ): Promise<Http2Route> {
    const origin = `${url.protocol}//${url.host}`;
    let opening = this.#sessions.get(origin);
    if (opening === undefined) {
      opening = this.#openSession(url, origin, signal, allowHttp1);
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
      return this.http2Route(url, signal, allowHttp1);
    }
    return { session: result };
  }

  /**
   * Counts a WebSocket on a pooled session until `done` settles, so that
   * an idle session does not keep the process alive.
   */
  trackStream(session: ClientHttp2Session, done: Promise<unknown>): void {
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
   * Closes the pooled HTTP/2 sessions (streams still open, such as
   * WebSockets, finish first). Sockets opened later make new ones.
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

  async #openSession(
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
      socket = await this.openConnection(
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
        settings: { initialWindowSize: STREAM_WINDOW },
      });
      const fail = (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        session.destroy();
        reject(error);
      };
      const onAbort = () => fail(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      session.on("error", (error) => fail(error));
      session.once("close", () =>
        fail(
          new WebSocketError(
            `${origin} closed the HTTP/2 connection (is it an HTTP/2 server?)`,
            { status: WebSocketStatus.HandshakeRejected },
          ),
        ));
      session.once("remoteSettings", (settings) => {
        signal.removeEventListener("abort", onAbort);
        if (settings.enableConnectProtocol !== true) {
          session.close();
          reject(new NoExtendedConnect(origin));
          return;
        }
        session.setLocalWindowSize(CONNECTION_WINDOW);
        session.unref();
        resolve(session);
      });
    });
  }

  /** Headers the handler adds to a request for `url`: credentials, cookies. */
  requestHeaders(url: URL): [string, string][] {
    const headers: [string, string][] = [];
    if (this.#authorization !== undefined) {
      headers.push(["Authorization", this.#authorization]);
    }
    const cookie = this.#cookies?.header(url) ?? "";
    if (cookie !== "") headers.push(["Cookie", cookie]);
    return headers;
  }

  /** Takes in a response from `url`: stores its cookies. */
  receiveResponse(url: URL, headers: Headers): void {
    this.#cookies?.store(url, headers.getSetCookie());
  }

  /** TLS over `over`: a connected socket, or a new TCP connection. */
  #startTls(
    over: { socket: NetSocket } | { host: string; port: number },
    host: string,
    alpn: readonly string[] | undefined,
    signal: AbortSignal,
    buffers?: ReadBuffers,
  ): Promise<NetSocket> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const secured = tlsConnect({
        ...over,
        ...(buffers === undefined ? {} : { onread: buffers.onread }),
        host,
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...(this.#ca === undefined ? {} : { ca: this.#ca }),
        ...(this.#clientCertificate ?? {}),
        rejectUnauthorized: !this.#insecure,
        ...(alpn === undefined ? {} : { ALPNProtocols: [...alpn] }),
      });
      const fail = (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        secured.off("error", fail);
        secured.destroy();
        reject(error);
      };
      const onAbort = () => fail(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      secured.once("error", fail);
      secured.once("secureConnect", () => {
        signal.removeEventListener("abort", onAbort);
        secured.off("error", fail);
        buffers?.attach(secured);
        resolve(secured);
      });
    });
  }
}

/** `Authorization: Basic …` for `credentials`; `TypeError` when malformed. */
export function basicAuthorization(
  credentials: Credentials,
  option: string,
): string {
  const { username, password } = credentials ?? {};
  if (typeof username !== "string" || typeof password !== "string") {
    throw new TypeError(`${option} needs a username and a password string`);
  }
  if (username.includes(":")) {
    throw new TypeError(`${option}: a Basic user name may not contain ":"`);
  }
  const bytes = encoder.encode(`${username}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
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

function openTcp(
  host: string,
  port: number,
  signal: AbortSignal,
  buffers: ReadBuffers | undefined,
): Promise<NetSocket> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const socket = netConnect({
      host,
      port,
      ...(buffers === undefined ? {} : { onread: buffers.onread }),
    });
    buffers?.attach(socket);
    const onAbort = () => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("error", (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
    socket.once("connect", () => {
      signal.removeEventListener("abort", onAbort);
      resolve(socket);
    });
  });
}

async function tunnel(
  socket: NetSocket,
  proxy: URL,
  host: string,
  port: number,
): Promise<void> {
  const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (proxy.username !== "") {
    lines.push(
      `Proxy-Authorization: ${
        basicAuthorization({
          username: decodeURIComponent(proxy.username),
          password: decodeURIComponent(proxy.password),
        }, "proxy")
      }`,
    );
  }
  socket.write(lines.join("\r\n") + "\r\n\r\n");
  const where = `${proxy.protocol}//${proxy.host}`;
  const head = await readResponseHead(
    socket,
    MAX_PROXY_HEAD,
    `the CONNECT request to the proxy ${where}`,
  );
  if (!(head.status >= 200 && head.status < 300)) {
    throw new WebSocketError(
      `The proxy ${where} refused to open a tunnel to ${authority}: HTTP ${head.statusText}${
        head.status === 407
          ? " (put the proxy's user and password in the proxy URL)"
          : ""
      }`,
      { status: WebSocketStatus.CannotConnect },
    );
  }
  if (head.rest.byteLength > 0) {
    throw new WebSocketError(
      `The proxy ${where} sent data before the tunnel was used`,
      { status: WebSocketStatus.ProtocolError },
    );
  }
}

/**
 * Opens a connection as {@linkcode ConnectionHandler.openConnection} does,
 * but reading into lent buffers when the socket returned is the one the
 * WebSocket reads (no TLS through a proxy): a bulk transfer then allocates
 * nothing per read. Such a socket emits no `data` events; read it through
 * its {@linkcode ReadBuffers}.
 */
export function openWithLentReads(
  handler: ConnectionHandler,
  url: URL,
  signal: AbortSignal,
): Promise<NetSocket> {
  return openLending(handler, url, signal);
}

/** Races `promise` against `signal`. */
function cancellable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
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

/** The server speaks HTTP/2 but accepts no WebSockets over it. */
class NoExtendedConnect extends WebSocketError {
  constructor(origin: string) {
    super(
      `${origin} speaks HTTP/2 but does not accept WebSockets over it (no SETTINGS_ENABLE_CONNECT_PROTOCOL), and the version policy forbids falling back to HTTP/1.1`,
      { status: WebSocketStatus.HandshakeRejected },
    );
  }
}
