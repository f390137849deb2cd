/**
 * The client's side of the opening handshake as pure functions: the request
 * (RFC 6455 section 4.1 over HTTP/1.1, RFC 8441 section 4 over HTTP/2) built
 * from one list of fields, and the checks of the server's answer (status,
 * `Upgrade`, `Connection`, `Sec-WebSocket-Accept`, subprotocol,
 * extensions). No I/O.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import {
  acceptClientResponse,
  type DeflateClientOptions,
  type DeflateParams,
} from "./deflate_negotiation.ts";
import { HTTP1_ONLY_FIELDS, WEBSOCKET_VERSION } from "./handshake.ts";
import { computeAcceptKey } from "./handshake_key.ts";
import { hasToken } from "./header_tokens.ts";

/** What a client asks for in its opening handshake. */
export interface ClientRequest {
  /** The `ws:` or `wss:` URL; its path and query are the request target. */
  readonly url: URL;
  /** Subprotocols to offer, in order of preference. */
  readonly protocols: readonly string[];
  /** The `Sec-WebSocket-Extensions` offer, if any. */
  readonly extensions?: string | undefined;
  /** Further fields (credentials, cookies, the caller's own), in order. */
  readonly headers?: Iterable<readonly [string, string]>;
}

/** The parts of the server's answer that the checks look at. */
export interface ClientResponse {
  /** The HTTP status code. */
  readonly status: number;
  /** The status line after `HTTP/1.1 ` (`"403 Forbidden"`), for messages. */
  readonly statusText?: string | undefined;
  /** The response headers. */
  readonly headers: Headers;
}

/** What the client offered, which the answer must match. */
export interface ClientExpectation {
  /** `"1.1"` expects a 101 with the accept key of `key`; `"2"` expects a 200. */
  readonly httpVersion: "1.1" | "2";
  /** The `Sec-WebSocket-Key` sent (HTTP/1.1 only). */
  readonly key?: string | undefined;
  /** The subprotocols offered. */
  readonly protocols: readonly string[];
  /** The permessage-deflate settings offered, if any. */
  readonly deflate?: DeflateClientOptions | undefined;
}

/** A server answer the client accepts, with what was agreed. */
export interface AcceptedResponse {
  /** The socket may open. */
  readonly ok: true;
  /** The subprotocol the server chose, or `""`. */
  readonly protocol: string;
  /** The server's `Sec-WebSocket-Extensions`, or `""`. */
  readonly extensions: string;
  /** The agreed permessage-deflate parameters, if compression is on. */
  readonly deflate: DeflateParams | undefined;
}

/** A server answer the client must refuse, and why. */
export interface RefusedResponse {
  /** The handshake failed. */
  readonly ok: false;
  /** Why, as a sentence that follows "refused the WebSocket handshake: ". */
  readonly reason: string;
  /**
   * Whether the server said no by its status code (anything but 101 or
   * 200), in which case its body usually explains.
   */
  readonly byStatus: boolean;
}

/** The outcome of {@linkcode checkClientResponse}. */
export type ClientResponseCheck = AcceptedResponse | RefusedResponse;

/**
 * Header fields the handshake sets itself, which a caller's own headers may
 * not name (lower case).
 */
export const HANDSHAKE_FIELDS: ReadonlySet<string> = new Set([
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
]);

/**
 * The fields both HTTP versions send: version, subprotocols, extensions,
 * then the caller's own.
 */
function commonFields(request: ClientRequest): [string, string][] {
  const fields: [string, string][] = [
    ["Sec-WebSocket-Version", WEBSOCKET_VERSION],
  ];
  if (request.protocols.length > 0) {
    fields.push(["Sec-WebSocket-Protocol", request.protocols.join(", ")]);
  }
  if (request.extensions !== undefined) {
    fields.push(["Sec-WebSocket-Extensions", request.extensions]);
  }
  for (const [name, value] of request.headers ?? []) {
    fields.push([name, value]);
  }
  return fields;
}

/**
 * The HTTP/1.1 request head, ending with the empty line: `GET` with `Host`,
 * `Upgrade`, `Connection`, `Sec-WebSocket-Key` and the common fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { http1Request } from "@socketry/socketry/protocol";
 *
 * const head = http1Request(
 *   { url: new URL("ws://localhost:8080/chat?room=1"), protocols: ["chat"] },
 *   "dGhlIHNhbXBsZSBub25jZQ==",
 * );
 * assert.equal(
 *   head,
 *   "GET /chat?room=1 HTTP/1.1\r\n" +
 *     "Host: localhost:8080\r\n" +
 *     "Upgrade: websocket\r\n" +
 *     "Connection: Upgrade\r\n" +
 *     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
 *     "Sec-WebSocket-Version: 13\r\n" +
 *     "Sec-WebSocket-Protocol: chat\r\n\r\n",
 * );
 * ```
 */
export function http1Request(request: ClientRequest, key: string): string {
  const { url } = request;
  const lines = [
    `GET ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
  ];
  for (const [name, value] of commonFields(request)) {
    lines.push(`${name}: ${value}`);
  }
  return lines.join("\r\n") + "\r\n\r\n";
}

/**
 * The HTTP/2 extended CONNECT headers (RFC 8441): pseudo-headers, then the
 * common fields in lower case, without the fields HTTP/2 forbids and `Host`
 * (`:authority` says it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { http2Request } from "@socketry/socketry/protocol";
 *
 * const headers = http2Request({
 *   url: new URL("wss://example.com/ws"),
 *   protocols: [],
 * });
 * assert.equal(headers[":method"], "CONNECT");
 * assert.equal(headers[":protocol"], "websocket");
 * assert.equal(headers[":scheme"], "https");
 * assert.equal(headers[":authority"], "example.com");
 * ```
 */
export function http2Request(request: ClientRequest): Record<string, string> {
  const { url } = request;
  const headers: Record<string, string> = {
    ":method": "CONNECT",
    ":protocol": "websocket",
    ":scheme": url.protocol === "wss:" || url.protocol === "https:"
      ? "https"
      : "http",
    ":path": `${url.pathname}${url.search}`,
    ":authority": url.host,
  };
  for (const [name, value] of commonFields(request)) {
    const lower = name.toLowerCase();
    if (!HTTP1_ONLY_FIELDS.has(lower) && lower !== "host") {
      headers[lower] = value;
    }
  }
  return headers;
}

/**
 * Checks the server's answer: over HTTP/1.1 status 101, `Upgrade:
 * websocket`, `Connection: Upgrade` and the accept key of `key`; over HTTP/2
 * status 200; in both, a subprotocol that was offered and extensions that
 * match the deflate offer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkClientResponse } from "@socketry/socketry/protocol";
 *
 * const check = checkClientResponse(
 *   {
 *     status: 101,
 *     headers: new Headers({
 *       upgrade: "websocket",
 *       connection: "Upgrade",
 *       "sec-websocket-accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
 *       "sec-websocket-protocol": "chat",
 *     }),
 *   },
 *   { httpVersion: "1.1", key: "dGhlIHNhbXBsZSBub25jZQ==", protocols: ["chat"] },
 * );
 * assert.equal(check.ok && check.protocol, "chat");
 * ```
 */
export function checkClientResponse(
  response: ClientResponse,
  expected: ClientExpectation,
): ClientResponseCheck {
  const { status, headers } = response;
  if (expected.httpVersion === "2") {
    if (status !== 200) {
      return refuse(`HTTP ${status} (over HTTP/2)`, true);
    }
  } else {
    if (status !== 101) {
      return refuse(`HTTP ${response.statusText ?? status}`, true);
    }
    if (!hasToken(headers.get("upgrade"), "websocket")) {
      return refuse("the response lacks Upgrade: websocket");
    }
    if (!hasToken(headers.get("connection"), "upgrade")) {
      return refuse("the response lacks Connection: Upgrade");
    }
    if (
      expected.key === undefined ||
      headers.get("sec-websocket-accept") !== computeAcceptKey(expected.key)
    ) {
      return refuse("Sec-WebSocket-Accept does not match the key");
    }
  }
  const protocol = headers.get("sec-websocket-protocol") ?? "";
  if (protocol !== "" && !expected.protocols.includes(protocol)) {
    return refuse(
      `the server chose subprotocol ${protocol}, which was not offered`,
    );
  }
  const extensions = headers.get("sec-websocket-extensions") ?? "";
  if (extensions === "") {
    return { ok: true, protocol, extensions, deflate: undefined };
  }
  if (expected.deflate === undefined) {
    return refuse(
      `the server answered with extensions that were not offered: ${extensions}`,
    );
  }
  try {
    const deflate = acceptClientResponse(extensions, expected.deflate);
    return { ok: true, protocol, extensions, deflate };
  } catch (error) {
    return refuse((error as Error).message);
  }
}

/** How much of a refusal's body is kept, in bytes. */
export const REFUSAL_BODY_LIMIT = 4096;

/** The start of a response body, as far as the received bytes go. */
export interface BodyPrefix {
  /** Up to `limit` bytes of the body, decoded as UTF-8. */
  readonly text: string;
  /**
   * Whether nothing more is needed: the body ended (by `Content-Length` or
   * the last chunk) or `limit` bytes of it are in.
   */
  readonly complete: boolean;
}

const decoder = new TextDecoder();

/**
 * Decodes the start of an HTTP/1.1 body from the bytes received after the
 * head: by `Content-Length`, as `Transfer-Encoding: chunked`, or up to the
 * end of the connection when neither is given. Keeps `limit` bytes at most.
 */
export function bodyPrefix(
  bytes: Uint8Array,
  headers: Headers,
  limit: number = REFUSAL_BODY_LIMIT,
): BodyPrefix {
  if (hasToken(headers.get("transfer-encoding"), "chunked")) {
    return chunkedPrefix(bytes, limit);
  }
  const length = Number(headers.get("content-length") ?? NaN);
  const wanted = Number.isInteger(length) && length >= 0
    ? Math.min(length, limit)
    : limit;
  const body = bytes.subarray(0, wanted);
  return { text: decoder.decode(body), complete: body.byteLength >= wanted };
}

function chunkedPrefix(bytes: Uint8Array, limit: number): BodyPrefix {
  const parts: Uint8Array[] = [];
  let kept = 0;
  let at = 0;
  const done = (complete: boolean): BodyPrefix => {
    return { text: decoder.decode(concatBytes(parts, kept)), complete };
  };
  while (kept < limit) {
    const lineEnd = indexOfCrLf(bytes, at);
    if (lineEnd === -1) return done(false);
    const size = parseInt(decoder.decode(bytes.subarray(at, lineEnd)), 16);
    if (!Number.isInteger(size) || size < 0) return done(true);
    if (size === 0) return done(true);
    const start = lineEnd + 2;
    const available = Math.min(size, bytes.byteLength - start, limit - kept);
    parts.push(bytes.subarray(start, start + available));
    kept += available;
    if (available < size) return done(kept >= limit);
    at = start + size + 2;
  }
  return done(true);
}

function indexOfCrLf(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.byteLength; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  }
  return -1;
}

function refuse(reason: string, byStatus = false): RefusedResponse {
  return { ok: false, reason, byStatus };
}
