/**
 * Dialing a server: TCP, through an HTTP CONNECT proxy when there is one,
 * then TLS for `wss:` and `https:`, each step cancelled by a signal.
 *
 * @module
 */

import {
  connect as netConnect,
  isIP,
  type Socket as NetSocket,
} from "node:net";
import { connect as tlsConnect } from "node:tls";
import { cancellable, onAbort } from "../abort.ts";
import type { ReadBuffers } from "../engine/read_buffers.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
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

/** How to reach servers: checked settings of a connection handler. */
export interface DialSettings {
  /** The certificates to trust (system roots included), or the defaults. */
  readonly ca: readonly string[] | undefined;
  /** The client certificate for mutual TLS, if any. */
  readonly clientCertificate: ClientCertificate | undefined;
  /** Accept any server certificate. */
  readonly insecure: boolean;
  /** The HTTP proxy to tunnel through, if any. */
  readonly proxy: URL | undefined;
}

const MAX_PROXY_HEAD = 16 * 1024;
const encoder = new TextEncoder();

/**
 * Opens a byte connection to the host of `url` (offering `alpn` over TLS).
 * With `buffers`, the socket the WebSocket reads lends its reads into them;
 * TLS through a tunnel reads the tunnel itself, so nothing is lent there.
 */
export async function dial(
  settings: DialSettings,
  url: URL,
  signal: AbortSignal,
  alpn: readonly string[] | undefined,
  buffers: ReadBuffers | undefined,
): Promise<NetSocket> {
  const host = unbracket(url.hostname);
  const secure = url.protocol === "wss:" || url.protocol === "https:";
  const port = Number(url.port || (secure ? 443 : 80));
  const { proxy } = settings;
  if (secure && proxy === undefined) {
    return await startTls(
      settings,
      { host, port },
      host,
      alpn,
      signal,
      buffers,
    );
  }
  const lent = secure ? undefined : buffers;
  let socket = proxy === undefined
    ? await openTcp(host, port, signal, lent)
    : await openTcp(
      unbracket(proxy.hostname),
      Number(proxy.port || 80),
      signal,
      lent,
    );
  try {
    if (proxy !== undefined) {
      await cancellable(tunnel(socket, proxy, host, port), signal);
    }
    if (secure) {
      socket = await startTls(settings, { socket }, host, alpn, signal);
    }
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
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

function unbracket(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, "$1");
}

/** TLS over `over`: a connected socket, or a new TCP connection. */
function startTls(
  settings: DialSettings,
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
      ...(settings.ca === undefined ? {} : { ca: [...settings.ca] }),
      ...(settings.clientCertificate ?? {}),
      rejectUnauthorized: !settings.insecure,
      ...(alpn === undefined ? {} : { ALPNProtocols: [...alpn] }),
    });
    const fail = (error: unknown) => {
      stop();
      secured.off("error", fail);
      secured.destroy();
      reject(error);
    };
    const stop = onAbort(signal, fail);
    secured.once("error", fail);
    secured.once("secureConnect", () => {
      stop();
      secured.off("error", fail);
      buffers?.attach(secured);
      resolve(secured);
    });
  });
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
    const stop = onAbort(signal, (reason) => {
      socket.destroy();
      reject(reason);
    });
    socket.once("error", (error) => {
      stop();
      reject(error);
    });
    socket.once("connect", () => {
      stop();
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
