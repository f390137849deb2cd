/**
 * Errors as values a caller can act on: every failure socketry reports is a
 * {@linkcode WebSocketError} carrying a {@linkcode WebSocketStatus}, the close
 * code when there is one, and a message that names the cause.
 *
 * @module
 */

/**
 * What went wrong, as a stable machine-readable name. Compare against the
 * constants, for example `error.status === WebSocketStatus.Disconnected`.
 *
 * @example Branch on the status of a failed send
 * ```ts
 * import { WebSocketError, WebSocketStatus } from "@socketry/socketry";
 *
 * const error = new WebSocketError("the peer vanished", {
 *   status: WebSocketStatus.Disconnected,
 * });
 * if (error.status === WebSocketStatus.Disconnected) {
 *   console.log("reconnect later");
 * }
 * ```
 */
export const WebSocketStatus = {
  /** Nothing more specific is known. */
  Unknown: "unknown",
  /** The operation is not allowed in the socket's current state. */
  InvalidState: "invalidState",
  /** The socket ended with a close handshake. */
  Closed: "closed",
  /** The peer vanished: no close frame, or silence past the allowed limit. */
  Disconnected: "disconnected",
  /** The socket was aborted locally. */
  Aborted: "aborted",
  /** A keep-alive ping went unanswered within `keepAliveTimeout`. */
  KeepAliveTimeout: "keepAliveTimeout",
  /** An operation did not complete within its time limit. */
  Timeout: "timeout",
  /** The peer broke RFC 6455 (close code 1002). */
  ProtocolError: "protocolError",
  /** A text message was not valid UTF-8 (close code 1007). */
  InvalidPayload: "invalidPayload",
  /** The peer broke a policy of this endpoint, such as a fragment limit (close code 1008). */
  PolicyViolation: "policyViolation",
  /** A message exceeded `maxMessageSize` (close code 1009). */
  MessageTooBig: "messageTooBig",
  /** The send queue is over its limit: the peer reads too slowly. */
  SendQueueFull: "sendQueueFull",
  /** The operation was cancelled through its `AbortSignal`. */
  Cancelled: "cancelled",
  /** The TCP connection could not be established. */
  CannotConnect: "cannotConnect",
  /** The host name did not resolve. */
  HostNotFound: "hostNotFound",
  /** The connection was reset by the peer. */
  ConnectionReset: "connectionReset",
  /** The connection was aborted. */
  ConnectionAborted: "connectionAborted",
  /** The server did not answer. */
  ServerUnreachable: "serverUnreachable",
  /** A server (such as a backplane's broker) refused the user or password it was given. */
  CredentialsRefused: "credentialsRefused",
  /** The server's TLS certificate was not accepted. */
  CertificateInvalid: "certificateInvalid",
  /** The server answered the opening handshake with something other than 101. */
  HandshakeRejected: "handshakeRejected",
} as const;

/** One of the values of {@linkcode WebSocketStatus}. */
export type WebSocketStatus =
  typeof WebSocketStatus[keyof typeof WebSocketStatus];

/**
 * What a server answered when it refused an opening handshake: its HTTP
 * status, headers and the start of its body, which often says why.
 */
export interface HandshakeResponse {
  /** The HTTP status code, such as 401, 403, 404 or 426. */
  readonly status: number;
  /** The response headers. */
  readonly headers: Headers;
  /** The first 4 KiB of the body, decoded as UTF-8 (`""` without one). */
  readonly body: string;
}

/** Details given when creating a {@linkcode WebSocketError}. */
export interface WebSocketErrorOptions {
  /** What went wrong. */
  status: WebSocketStatus;
  /** The WebSocket close code that goes with the failure, if any. */
  code?: number;
  /** The underlying error, if any. */
  cause?: unknown;
  /** The server's answer, when it refused the opening handshake. */
  response?: HandshakeResponse;
}

/**
 * The one error type socketry throws or rejects with for WebSocket failures.
 * Argument mistakes are reported as `TypeError` or `RangeError` instead, at
 * the moment of the call.
 *
 * @example Inspect a failure
 * ```ts
 * import { WebSocketError, WebSocketStatus } from "@socketry/socketry";
 *
 * const error = new WebSocketError("message of 20 MiB exceeds 16 MiB", {
 *   status: WebSocketStatus.MessageTooBig,
 *   code: 1009,
 * });
 * console.log(error.status, error.code, error.message);
 * ```
 *
 * @example Read why a server refused the handshake
 * ```ts
 * import { connect, WebSocketError } from "@socketry/socketry";
 *
 * const server = Deno.serve(
 *   { port: 0, onListen() {} },
 *   () => new Response("log in first", { status: 401 }),
 * );
 * try {
 *   await connect(`ws://127.0.0.1:${server.addr.port}/`);
 * } catch (error) {
 *   if (error instanceof WebSocketError && error.response !== undefined) {
 *     console.log(error.response.status); // 401
 *     console.log(error.response.body); // "log in first"
 *   }
 * }
 * await server.shutdown();
 * ```
 */
export class WebSocketError extends Error {
  /** What went wrong. */
  readonly status: WebSocketStatus;
  /** The close code that goes with the failure, when there is one. */
  readonly code: number | undefined;
  /**
   * When a server refused the opening handshake with an HTTP status (status
   * `handshakeRejected`): that status, the headers and the start of the
   * body. `undefined` for every other failure.
   */
  readonly response: HandshakeResponse | undefined;

  /** Creates an error with a message that names the cause. */
  constructor(message: string, options: WebSocketErrorOptions) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "WebSocketError";
    this.status = options.status;
    this.code = options.code;
    this.response = options.response;
  }
}

const ERROR_NAME_STATUS: Record<string, WebSocketStatus> = {
  ConnectionRefused: WebSocketStatus.CannotConnect,
  ConnectionReset: WebSocketStatus.ConnectionReset,
  ConnectionAborted: WebSocketStatus.ConnectionAborted,
  BrokenPipe: WebSocketStatus.ConnectionReset,
  NotConnected: WebSocketStatus.ConnectionAborted,
  TimedOut: WebSocketStatus.Timeout,
  TimeoutError: WebSocketStatus.Timeout,
  AbortError: WebSocketStatus.Cancelled,
  InvalidData: WebSocketStatus.CertificateInvalid,
  AddrNotAvailable: WebSocketStatus.CannotConnect,
};

// Error codes of `node:net` and `node:tls` (which the engine runs on).
const ERROR_CODE_STATUS: Record<string, WebSocketStatus> = {
  ECONNREFUSED: WebSocketStatus.CannotConnect,
  ENOTFOUND: WebSocketStatus.HostNotFound,
  EAI_AGAIN: WebSocketStatus.HostNotFound,
  EAI_NONAME: WebSocketStatus.HostNotFound,
  EAI_FAIL: WebSocketStatus.HostNotFound,
  ECONNRESET: WebSocketStatus.ConnectionReset,
  EPIPE: WebSocketStatus.ConnectionReset,
  ECONNABORTED: WebSocketStatus.ConnectionAborted,
  ETIMEDOUT: WebSocketStatus.Timeout,
  EHOSTUNREACH: WebSocketStatus.ServerUnreachable,
  ENETUNREACH: WebSocketStatus.ServerUnreachable,
  EHOSTDOWN: WebSocketStatus.ServerUnreachable,
  EADDRNOTAVAIL: WebSocketStatus.CannotConnect,
  ABORT_ERR: WebSocketStatus.Cancelled,
  SELF_SIGNED_CERT_IN_CHAIN: WebSocketStatus.CertificateInvalid,
  DEPTH_ZERO_SELF_SIGNED_CERT: WebSocketStatus.CertificateInvalid,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: WebSocketStatus.CertificateInvalid,
  UNABLE_TO_GET_ISSUER_CERT: WebSocketStatus.CertificateInvalid,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: WebSocketStatus.CertificateInvalid,
  CERT_HAS_EXPIRED: WebSocketStatus.CertificateInvalid,
  CERT_NOT_YET_VALID: WebSocketStatus.CertificateInvalid,
  CERT_REVOKED: WebSocketStatus.CertificateInvalid,
  CERT_UNTRUSTED: WebSocketStatus.CertificateInvalid,
  ERR_TLS_CERT_ALTNAME_INVALID: WebSocketStatus.CertificateInvalid,
  // The server demanded a client certificate and got none.
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: WebSocketStatus.CertificateInvalid,
};

/** The status of a `node:net`/`node:tls` error code, if it is a known one. */
export function errorCodeStatus(code: unknown): WebSocketStatus | undefined {
  return typeof code === "string" ? ERROR_CODE_STATUS[code] : undefined;
}

/**
 * Maps any error to a {@linkcode WebSocketStatus}: a `WebSocketError` gives
 * its own status; Deno's network errors, DNS failures, timeouts and aborts
 * are recognised by name; anything else is `unknown`.
 *
 * @example
 * ```ts
 * import { getStatus, WebSocketStatus } from "@socketry/socketry";
 *
 * const status = getStatus(new DOMException("gave up", "TimeoutError"));
 * console.log(status === WebSocketStatus.Timeout); // true
 * ```
 */
export function getStatus(error: unknown): WebSocketStatus {
  if (error instanceof WebSocketError) return error.status;
  if (!(error instanceof Error)) return WebSocketStatus.Unknown;
  const byCode = errorCodeStatus((error as { code?: unknown }).code);
  if (byCode !== undefined) return byCode;
  const byName = ERROR_NAME_STATUS[error.name];
  if (byName !== undefined) return byName;
  const text = error.message.toLowerCase();
  if (
    text.includes("failed to lookup address") ||
    text.includes("name or service not known") ||
    text.includes("dns error")
  ) {
    return WebSocketStatus.HostNotFound;
  }
  if (text.includes("certificate")) return WebSocketStatus.CertificateInvalid;
  if (error.cause !== undefined && error.cause !== error) {
    return getStatus(error.cause);
  }
  return WebSocketStatus.Unknown;
}
