/**
 * Opening-handshake rules as pure functions (RFC 6455 section 4.2.1 for
 * HTTP/1.1, RFC 8441 section 4 for HTTP/2): whether a request is a WebSocket
 * upgrade, what is wrong with it, which subprotocol to select and whether its
 * `Origin` is allowed. No I/O.
 *
 * @module
 */

import { isValidKey } from "./handshake_key.ts";
import { hasToken, headerList, trimOws } from "./header_tokens.ts";

/** The parts of a request the handshake rules look at. */
export interface HandshakeRequest {
  /** The HTTP method: `GET` for HTTP/1.1, `CONNECT` for HTTP/2. */
  readonly method: string;
  /** The request headers. */
  readonly headers: Headers;
  /** The HTTP/2 `:protocol` pseudo-header of an extended CONNECT, if any. */
  readonly protocol?: string | undefined;
}

/** A well-formed WebSocket request, with the fields the server answers with. */
export interface ValidHandshake {
  /** The request may be accepted. */
  readonly ok: true;
  /** `Sec-WebSocket-Key` (HTTP/1.1 only; HTTP/2 has none). */
  readonly key: string | undefined;
  /** The subprotocols the client offered, in its order. */
  readonly protocols: string[];
  /** The raw `Sec-WebSocket-Extensions` offer, or an empty string. */
  readonly extensions: string;
}

/** A request that must be refused, with the HTTP status to refuse it with. */
export interface RejectedHandshake {
  /** The request must be refused. */
  readonly ok: false;
  /** 400 for a malformed request, 426 for an unsupported version. */
  readonly status: 400 | 426;
  /** Why, in a sentence fit for the response body. */
  readonly message: string;
}

/** The outcome of {@linkcode checkHandshake}. */
export type HandshakeCheck = ValidHandshake | RejectedHandshake;

/** The only WebSocket version there is (RFC 6455). */
export const WEBSOCKET_VERSION = "13";

/**
 * Connection-specific header fields, which HTTP/2 forbids (RFC 9113 section
 * 8.2.2): dropped when a response or request goes out over HTTP/2.
 */
export const HTTP1_ONLY_FIELDS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `value` is an RFC 7230 token, as subprotocol names must be. */
export function isToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

/**
 * Whether the request is an attempt at a WebSocket handshake at all: an
 * HTTP/1.1 `Upgrade: websocket` or an HTTP/2 extended CONNECT with
 * `:protocol websocket`. An attempt may still be malformed.
 */
export function isUpgradeAttempt(request: HandshakeRequest): boolean {
  if (request.method.toUpperCase() === "CONNECT") {
    return request.protocol?.toLowerCase() === "websocket";
  }
  return hasToken(request.headers.get("upgrade"), "websocket");
}

/**
 * Checks a handshake request against RFC 6455 (HTTP/1.1) or RFC 8441
 * (HTTP/2): method, `Upgrade`, `Connection`, `Sec-WebSocket-Key`,
 * `Sec-WebSocket-Version`. A wrong version gives 426; anything else that is
 * wrong gives 400.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkHandshake } from "@socketry/socketry/protocol";
 *
 * const check = checkHandshake({
 *   method: "GET",
 *   headers: new Headers({
 *     upgrade: "websocket",
 *     connection: "Upgrade",
 *     "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
 *     "sec-websocket-version": "8",
 *   }),
 * });
 * assert.equal(check.ok, false);
 * assert.equal(!check.ok && check.status, 426); // only version 13 is spoken
 * ```
 */
export function checkHandshake(request: HandshakeRequest): HandshakeCheck {
  const method = request.method.toUpperCase();
  const headers = request.headers;
  const isHttp2 = method === "CONNECT";
  if (isHttp2) {
    if (request.protocol?.toLowerCase() !== "websocket") {
      return reject(400, "Extended CONNECT must carry :protocol websocket");
    }
  } else {
    if (method !== "GET") {
      return reject(
        400,
        `A WebSocket handshake over HTTP/1.1 must use GET, not ${method}`,
      );
    }
    if (!hasToken(headers.get("upgrade"), "websocket")) {
      return reject(400, "Missing or wrong Upgrade header: expected websocket");
    }
    if (!hasToken(headers.get("connection"), "upgrade")) {
      return reject(
        400,
        "Missing or wrong Connection header: expected Upgrade",
      );
    }
  }
  const version = headers.get("sec-websocket-version");
  if (version === null) {
    return reject(426, "Missing Sec-WebSocket-Version: this server speaks 13");
  }
  if (trimOws(version) !== WEBSOCKET_VERSION) {
    return reject(
      426,
      `Unsupported Sec-WebSocket-Version ${version}: this server speaks 13`,
    );
  }
  let key: string | undefined;
  if (!isHttp2) {
    const value = headers.get("sec-websocket-key");
    key = value === null ? undefined : trimOws(value);
    if (key === undefined || !isValidKey(key)) {
      return reject(
        400,
        "Missing or malformed Sec-WebSocket-Key: expected 16 bytes in base64",
      );
    }
  }
  return {
    ok: true,
    key,
    protocols: headerList(headers.get("sec-websocket-protocol")),
    extensions: headers.get("sec-websocket-extensions") ?? "",
  };
}

function reject(status: 400 | 426, message: string): RejectedHandshake {
  return { ok: false, status, message };
}

/**
 * Picks the subprotocol to answer with: the first of the server's own
 * `supported` list, in the server's order of preference, that the client
 * offered. Never simply the client's first choice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selectSubprotocol } from "@socketry/socketry/protocol";
 *
 * // The server's preference wins over the client's order.
 * assert.equal(selectSubprotocol(["v1", "v2"], ["v2", "v1"]), "v2");
 * assert.equal(selectSubprotocol(["v3"], ["v2", "v1"]), undefined);
 * ```
 */
export function selectSubprotocol(
  offered: readonly string[],
  supported: readonly string[],
): string | undefined {
  return supported.find((protocol) => offered.includes(protocol));
}

/**
 * Normalises an origin (`https://Example.com:443` → `https://example.com`) so
 * that equal origins compare equal. Returns `null` for the opaque origin
 * `null` and for strings that are not URLs.
 */
export function normalizeOrigin(origin: string): string | null {
  if (origin === "null") return null;
  try {
    const url = new URL(origin);
    return url.origin === "null" ? null : url.origin;
  } catch {
    return null;
  }
}

/**
 * Whether a request's `Origin` may open a socket. With no list, every origin
 * may. With a list, a request that carries `Origin` must name one of them; a
 * request without `Origin` (not sent by a browser) is allowed, because the
 * header is a browser's statement and not authentication.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isOriginAllowed } from "@socketry/socketry/protocol";
 *
 * const allowed = new Set(["https://example.com"]);
 * assert.equal(isOriginAllowed("https://EXAMPLE.com:443", allowed), true);
 * assert.equal(isOriginAllowed("https://evil.example", allowed), false);
 * assert.equal(isOriginAllowed(null, allowed), true); // not a browser
 * ```
 */
export function isOriginAllowed(
  origin: string | null,
  allowed: ReadonlySet<string> | undefined,
): boolean {
  if (allowed === undefined || origin === null) return true;
  const normalized = normalizeOrigin(origin);
  return normalized !== null && allowed.has(normalized);
}
