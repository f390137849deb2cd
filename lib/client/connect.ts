/**
 * The client: `connect(url)` dials through a {@linkcode ConnectionHandler}
 * (proxy, certificates, cookies, credentials), runs the opening handshake
 * (RFC 6455 section 4.1, or an RFC 8441 extended CONNECT on a pooled HTTP/2
 * connection) and returns an engine socket in the client role. The
 * handshake's request and checks are pure (`client_handshake.ts`) and the
 * options are checked in `options.ts`: this file does the I/O.
 *
 * @module
 */

import type { ClientHttp2Session, ClientHttp2Stream } from "node:http2";
import type { Socket as NetSocket } from "node:net";
import { onAbort, signalError } from "../abort.ts";
import { EngineSocket } from "../engine/engine_socket.ts";
import { NetSocketTransport } from "../engine/transport.ts";
import {
  errorCodeStatus,
  type HandshakeResponse,
  WebSocketError,
  WebSocketStatus,
} from "../errors.ts";
import {
  type AcceptedResponse,
  checkClientResponse,
  type ClientRequest,
  type ClientResponse,
  http1Request,
  http2Request,
} from "../protocol/client_handshake.ts";
import { generateKey } from "../protocol/handshake_key.ts";
import { handlerInternals } from "./connection_handler.ts";
import {
  type ConnectOptions,
  resolveConnectOptions,
  type ResolvedConnectOptions,
} from "./options.ts";
import { readResponseHead } from "./read_head.ts";
import { socketBody, streamBody } from "./refusal_body.ts";

export type { ConnectOptions } from "./options.ts";

const MAX_RESPONSE_HEAD = 16 * 1024;

/**
 * Connects to a `ws://` or `wss://` URL and resolves with an open socket.
 * `http://` and `https://` are taken as `ws://` and `wss://`, as the WHATWG
 * `WebSocket` takes them.
 *
 * Rejects with a `WebSocketError` whose `status` says why: `cannotConnect`,
 * `hostNotFound`, `certificateInvalid`, `handshakeRejected` (when the server
 * answered with an HTTP status, `error.response` holds that status, the
 * headers and the first 4 KiB of the body), `timeout` (after
 * `connectTimeout`, or when `signal` aborts with a `TimeoutError` reason),
 * `cancelled` (`signal` aborted for any other reason), …; bad arguments throw
 * `TypeError` or `RangeError` at once, before any I/O.
 *
 * The socket's defaults differ from a server socket's in two ways: it sends
 * a keep-alive every 30 s (`keepAliveInterval`) and a `send()` may wait 30 s
 * (`sendTimeout`). `receive()` and `for await` wait indefinitely, as on the
 * server: a quiet connection is not an error, and keep-alive finds a dead
 * one. Set `receiveTimeout` to give up on waiting for data.
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
  const resolved = resolveConnectOptions(url, options);
  const { handler, connectTimeout, signal } = resolved;
  const deadline = AbortSignal.timeout(connectTimeout);
  const attempt: Attempt = {
    ...resolved,
    signal: signal === undefined
      ? deadline
      : AbortSignal.any([signal, deadline]),
  };
  const opened = attempt.http2
    ? viaHttp2(attempt)
    : viaHttp1(attempt, undefined);
  if (resolved.ownHandler) {
    // A handler of this socket's own: its HTTP/2 session ends with the socket.
    opened.then(
      (socket) => socket.closed.then(() => handler.close()),
      () => handler.close(),
    );
  }
  return opened;
}

/** One connection attempt: the checked options and its cancelling signal. */
interface Attempt extends Omit<ResolvedConnectOptions, "signal"> {
  /** The caller's signal and the connect timeout, together. */
  readonly signal: AbortSignal;
}

/** The request of `attempt`, with the handler's credentials and cookies. */
function clientRequest(attempt: Attempt): ClientRequest {
  const { url, handler, headers } = attempt;
  return {
    url,
    protocols: attempt.protocols,
    extensions: attempt.extensionOffer,
    headers: [
      ...handlerInternals(handler).requestHeaders(url),
      ...headers,
    ],
  };
}

async function viaHttp2(attempt: Attempt): Promise<EngineSocket> {
  const { url, handler, signal } = attempt;
  let route;
  try {
    route = await handlerInternals(handler).http2Route(
      url,
      signal,
      attempt.http1,
    );
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
  const { url, handler, signal } = attempt;
  const internals = handlerInternals(handler);
  let stream: ClientHttp2Stream;
  try {
    stream = session.request(http2Request(clientRequest(attempt)));
  } catch (error) {
    throw connectError(error, url, signal);
  }
  const stop = onAbort(signal, () => stream.destroy());
  try {
    const fields = await new Promise<Record<string, unknown>>(
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
    const response: ClientResponse = {
      status: Number(fields[":status"]),
      headers: http2Headers(fields),
    };
    internals.receiveResponse(url, response.headers);
    const accepted = await accept(
      attempt,
      response,
      "2",
      undefined,
      () => streamBody(stream),
    );
    stop();
    const socket = new EngineSocket(new NetSocketTransport(stream), "client", {
      ...attempt.socketOptions,
      ...agreed(accepted),
      httpVersion: "2",
    });
    internals.trackStream(session, socket.closed);
    return socket;
  } catch (error) {
    stop();
    stream.destroy();
    throw connectError(error, url, signal);
  }
}

async function viaHttp1(
  attempt: Attempt,
  connection: NetSocket | undefined,
): Promise<EngineSocket> {
  const { url, handler, signal } = attempt;
  const internals = handlerInternals(handler);
  let socket: NetSocket;
  try {
    socket = connection ?? await internals.openLending(url, signal);
  } catch (error) {
    throw connectError(error, url, signal);
  }
  const stop = onAbort(signal, () => socket.destroy());
  try {
    const key = generateKey(crypto.getRandomValues(new Uint8Array(16)));
    socket.write(http1Request(clientRequest(attempt), key));
    const head = await readResponseHead(
      socket,
      MAX_RESPONSE_HEAD,
      "the opening handshake",
    );
    internals.receiveResponse(url, head.headers);
    const accepted = await accept(
      attempt,
      head,
      "1.1",
      key,
      () => socketBody(socket, head.rest, head.headers),
    );
    stop();
    return new EngineSocket(
      new NetSocketTransport(socket, head.rest),
      "client",
      { ...attempt.socketOptions, ...agreed(accepted) },
    );
  } catch (error) {
    stop();
    socket.destroy();
    throw connectError(error, url, signal);
  }
}

/**
 * Checks the answer; a refusal becomes a `handshakeRejected` error, with
 * the status, headers and start of the body when the server said no by its
 * status.
 */
async function accept(
  attempt: Attempt,
  response: ClientResponse,
  httpVersion: "1.1" | "2",
  key: string | undefined,
  readBody: () => Promise<string>,
): Promise<AcceptedResponse> {
  const check = checkClientResponse(response, {
    httpVersion,
    key,
    protocols: attempt.protocols,
    deflate: attempt.deflate,
  });
  if (check.ok) return check;
  const refusal: HandshakeResponse | undefined = check.byStatus
    ? {
      status: response.status,
      headers: response.headers,
      body: await readBody(),
    }
    : undefined;
  throw new WebSocketError(
    `${attempt.url.href} refused the WebSocket handshake: ${check.reason}`,
    {
      status: WebSocketStatus.HandshakeRejected,
      ...(refusal === undefined ? {} : { response: refusal }),
    },
  );
}

/** The engine socket options that the handshake settled. */
function agreed({ protocol, extensions, deflate }: AcceptedResponse) {
  return deflate === undefined
    ? { protocol }
    : { protocol, extensions, deflate };
}

function http2Headers(fields: Record<string, unknown>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(fields)) {
    if (name.startsWith(":") || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      headers.append(name, String(item));
    }
  }
  return headers;
}

function connectError(
  error: unknown,
  url: URL,
  signal: AbortSignal,
): WebSocketError {
  if (signal.aborted) return signalError(`Connecting to ${url.href}`, signal);
  if (error instanceof WebSocketError) return error;
  const message = (error as Error)?.message ?? String(error);
  const status = errorCodeStatus((error as { code?: unknown })?.code) ??
    WebSocketStatus.CannotConnect;
  return new WebSocketError(`Cannot connect to ${url.href}: ${message}`, {
    status,
    cause: error,
  });
}
