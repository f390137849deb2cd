/**
 * permessage-deflate negotiation (RFC 7692 section 7) as pure functions, for
 * both roles: parsing `Sec-WebSocket-Extensions`, choosing the server's answer
 * to a client's offers, building the client's offer and checking the server's
 * answer against it. No I/O.
 *
 * Window sizes are the base-2 logarithm of the LZ77 window, 8 to 15. The
 * compressor (`lib/engine/deflate.ts`) runs zlib, which cannot deflate with a
 * 256-byte window: when 8 bits are agreed for the side this endpoint
 * compresses, it deflates with 9. That still honours 8, because zlib never
 * emits a match distance beyond its window minus 262 bytes (250 with 9 bits),
 * which fits the peer's 256-byte window. So 8 is accepted and answered like
 * any other value.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "../errors.ts";

/** The extension token of RFC 7692's compression extension. */
export const PERMESSAGE_DEFLATE = "permessage-deflate";

/** An LZ77 window size in bits, as RFC 7692 allows it: 8 (256 bytes) to 15 (32 KiB). */
export type WindowBits = 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15;

/** The largest window, and the default when a side is not limited. */
export const MAX_WINDOW_BITS: WindowBits = 15;

/**
 * What both endpoints agreed to, whatever side computed it: the window each
 * side compresses with at most, and whether each side starts every message
 * with an empty window.
 */
export interface DeflateParams {
  /** The largest window the server compresses with (and the client must inflate with). */
  readonly serverMaxWindowBits: WindowBits;
  /** The largest window the client compresses with (and the server must inflate with). */
  readonly clientMaxWindowBits: WindowBits;
  /** The server resets its compressor after every message. */
  readonly serverNoContextTakeover: boolean;
  /** The client resets its compressor after every message. */
  readonly clientNoContextTakeover: boolean;
}

/** One element of a `Sec-WebSocket-Extensions` list. */
export interface ExtensionOffer {
  /** The extension token, in lower case. */
  readonly name: string;
  /**
   * The parameters, by lower-case name: the value (unquoted), or `true` for
   * a parameter without one. A repeated parameter keeps its first value here
   * and is listed in {@linkcode ExtensionOffer.duplicates}.
   */
  readonly params: Map<string, string | true>;
  /** Names of the parameters that appeared more than once, in lower case. */
  readonly duplicates: string[];
}

/** Server-side permessage-deflate settings. */
export interface DeflateServerOptions {
  /**
   * The largest window the server compresses with. Below 15 it is announced
   * even when the client did not ask. Default 15.
   */
  serverMaxWindowBits?: WindowBits;
  /**
   * Reset the server's compressor after every message: less memory kept
   * between messages and less shared context, at some cost in ratio.
   * Default `false`.
   */
  disableServerContextTakeover?: boolean;
  /**
   * The largest window clients may compress with, which bounds the memory
   * the server inflates with. An offer whose client cannot be limited (no
   * `client_max_window_bits` in it) is declined when this is below 15.
   * Default: no limit (15).
   */
  clientMaxWindowBits?: WindowBits;
}

/** An accepted offer: the header value to answer with and what it means. */
export interface DeflateServerResult {
  /** The `Sec-WebSocket-Extensions` response value. */
  readonly response: string;
  /** The agreed parameters. */
  readonly params: DeflateParams;
}

/** Client-side permessage-deflate settings. */
export interface DeflateClientOptions {
  /**
   * `true` (the default) offers `client_max_window_bits` without a value:
   * the server may limit the client's window. A number also promises that
   * the client compresses with at most that window.
   */
  clientMaxWindowBits?: WindowBits | true;
  /** Ask the server to compress with at most this window. Default: no request. */
  serverMaxWindowBits?: WindowBits;
  /** Promise that the client resets its compressor after every message. Default `false`. */
  clientNoContextTakeover?: boolean;
  /** Ask the server to reset its compressor after every message. Default `false`. */
  serverNoContextTakeover?: boolean;
}

const SERVER_NO_CONTEXT_TAKEOVER = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS = "client_max_window_bits";

// RFC 7692 section 7.1.2: "a decimal integer value without leading zeroes
// between 8 to 15, inclusive".
const WINDOW_BITS_PATTERN = /^(?:[89]|1[0-5])$/;

// RFC 7230 tchar.
const TOKEN_CHARS = new Uint8Array(128);
for (const char of "!#$%&'*+-.^_`|~") TOKEN_CHARS[char.charCodeAt(0)] = 1;
for (let code = 0x30; code <= 0x39; code++) TOKEN_CHARS[code] = 1;
for (let code = 0x41; code <= 0x5a; code++) TOKEN_CHARS[code] = 1;
for (let code = 0x61; code <= 0x7a; code++) TOKEN_CHARS[code] = 1;

/**
 * Parses a `Sec-WebSocket-Extensions` value (RFC 6455 section 9.1): a comma
 * list of `name; param; param=value` elements, values as tokens or quoted
 * strings (whose unescaped content must be a token), optional whitespace
 * around the separators. Names are case-insensitive and returned in lower
 * case. Never throws: an element that does not parse is skipped whole, up
 * to the next comma outside quotes; empty elements are ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExtensions } from "@socketry/socketry/protocol";
 *
 * const [offer] = parseExtensions(
 *   "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
 * );
 * assert.equal(offer?.name, "permessage-deflate");
 * assert.equal(offer?.params.get("client_max_window_bits"), true);
 * assert.equal(offer?.params.get("server_max_window_bits"), "10");
 * ```
 */
export function parseExtensions(header: string): ExtensionOffer[] {
  return scanExtensions(header).offers;
}

interface Scan {
  offers: ExtensionOffer[];
  malformed: number;
}

function scanExtensions(header: string): Scan {
  const offers: ExtensionOffer[] = [];
  let malformed = 0;
  let position = 0;
  while (position < header.length) {
    position = skipWhitespace(header, position);
    if (position >= header.length) break;
    if (header[position] === ",") {
      position++;
      continue;
    }
    const element = parseElement(header, position);
    if (element.offer === undefined) malformed++;
    else offers.push(element.offer);
    // element.end is at a comma or at the end.
    position = element.end + 1;
  }
  return { offers, malformed };
}

interface Element {
  offer: ExtensionOffer | undefined;
  end: number;
}

function parseElement(text: string, start: number): Element {
  let position = start;
  const nameEnd = tokenEnd(text, position);
  if (nameEnd === position) return skipElement(text, position);
  const name = text.slice(position, nameEnd).toLowerCase();
  position = skipWhitespace(text, nameEnd);
  const params = new Map<string, string | true>();
  const duplicates: string[] = [];
  while (text[position] === ";") {
    position = skipWhitespace(text, position + 1);
    const keyEnd = tokenEnd(text, position);
    if (keyEnd === position) return skipElement(text, position);
    const key = text.slice(position, keyEnd).toLowerCase();
    position = skipWhitespace(text, keyEnd);
    let value: string | true = true;
    if (text[position] === "=") {
      position = skipWhitespace(text, position + 1);
      if (text[position] === '"') {
        const quoted = readQuoted(text, position);
        if (quoted === undefined) return skipElement(text, position);
        position = quoted.end;
        if (!isTokenText(quoted.value)) return skipElement(text, position);
        value = quoted.value;
      } else {
        const valueEnd = tokenEnd(text, position);
        if (valueEnd === position) return skipElement(text, position);
        value = text.slice(position, valueEnd);
        position = valueEnd;
      }
      position = skipWhitespace(text, position);
    }
    if (!params.has(key)) params.set(key, value);
    else if (!duplicates.includes(key)) duplicates.push(key);
  }
  if (position < text.length && text[position] !== ",") {
    return skipElement(text, position);
  }
  return { offer: { name, params, duplicates }, end: position };
}

// A malformed element: skip to the next comma outside a quoted string.
function skipElement(text: string, from: number): Element {
  let inQuotes = false;
  let position = from;
  for (; position < text.length; position++) {
    const char = text[position];
    if (inQuotes) {
      if (char === "\\") position++;
      else if (char === '"') inQuotes = false;
    } else if (char === '"') inQuotes = true;
    else if (char === ",") break;
  }
  return { offer: undefined, end: position };
}

function readQuoted(
  text: string,
  start: number,
): { value: string; end: number } | undefined {
  let value = "";
  for (let position = start + 1; position < text.length; position++) {
    const char = text[position]!;
    if (char === '"') return { value, end: position + 1 };
    if (char === "\\") {
      position++;
      if (position >= text.length) return undefined;
      value += text[position];
    } else value += char;
  }
  return undefined;
}

function skipWhitespace(text: string, position: number): number {
  while (text[position] === " " || text[position] === "\t") position++;
  return position;
}

function tokenEnd(text: string, position: number): number {
  while (position < text.length) {
    const code = text.charCodeAt(position);
    if (code >= 128 || TOKEN_CHARS[code] !== 1) break;
    position++;
  }
  return position;
}

function isTokenText(value: string): boolean {
  return value.length > 0 && tokenEnd(value, 0) === value.length;
}

// The parameters of one permessage-deflate element, checked against the
// rules that hold for offers and responses alike.
interface DeflateElement {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: WindowBits | undefined;
  clientMaxWindowBits: WindowBits | true | undefined;
}

type ElementCheck =
  | { ok: true; element: DeflateElement }
  | { ok: false; reason: string };

function readDeflateElement(offer: ExtensionOffer): ElementCheck {
  if (offer.duplicates.length > 0) {
    return { ok: false, reason: `parameter ${offer.duplicates[0]} repeated` };
  }
  const element: DeflateElement = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  for (const [key, value] of offer.params) {
    switch (key) {
      case SERVER_NO_CONTEXT_TAKEOVER:
      case CLIENT_NO_CONTEXT_TAKEOVER:
        if (value !== true) {
          return { ok: false, reason: `${key} must not have a value` };
        }
        if (key === SERVER_NO_CONTEXT_TAKEOVER) {
          element.serverNoContextTakeover = true;
        } else element.clientNoContextTakeover = true;
        break;
      case SERVER_MAX_WINDOW_BITS: {
        const bits = windowBitsValue(value);
        if (bits === undefined) {
          return {
            ok: false,
            reason: `${key} needs a value from 8 to 15, got ${describe(value)}`,
          };
        }
        element.serverMaxWindowBits = bits;
        break;
      }
      case CLIENT_MAX_WINDOW_BITS: {
        if (value === true) {
          element.clientMaxWindowBits = true;
          break;
        }
        const bits = windowBitsValue(value);
        if (bits === undefined) {
          return {
            ok: false,
            reason: `${key} must be 8 to 15, got ${describe(value)}`,
          };
        }
        element.clientMaxWindowBits = bits;
        break;
      }
      default:
        return { ok: false, reason: `unknown parameter ${key}` };
    }
  }
  return { ok: true, element };
}

function windowBitsValue(value: string | true): WindowBits | undefined {
  return value !== true && WINDOW_BITS_PATTERN.test(value)
    ? Number(value) as WindowBits
    : undefined;
}

function describe(value: string | true): string {
  return value === true ? "no value" : JSON.stringify(value);
}

function checkWindowBits(name: string, value: unknown): void {
  if (
    value !== undefined &&
    !(Number.isInteger(value) && (value as number) >= 8 &&
      (value as number) <= 15)
  ) {
    throw new RangeError(
      `${name} must be an integer from 8 to 15; got ${String(value)}`,
    );
  }
}

/**
 * Chooses the server's answer to a client's `Sec-WebSocket-Extensions`
 * offers (RFC 7692 section 7.1): the first permessage-deflate offer, in the
 * client's order, that is valid and that the server can honour. Returns
 * `undefined` when there is none: the connection then opens uncompressed.
 *
 * Declined: a repeated or unknown parameter, a value on
 * `server_no_context_takeover` or `client_no_context_takeover`, a missing,
 * out-of-range or zero-padded value of `server_max_window_bits`, an invalid
 * value of `client_max_window_bits`, and an offer without
 * `client_max_window_bits` when `clientMaxWindowBits` is below 15.
 *
 * The answer: `server_no_context_takeover` when asked for or configured;
 * `client_no_context_takeover` echoed when offered; `server_max_window_bits`
 * with the smaller of the request and the configured value (sent whenever
 * requested or below 15); `client_max_window_bits` with the smaller of the
 * offered value and the configured one (sent when the client offered the
 * parameter and either side gave a value).
 *
 * @throws {RangeError} for window bits outside 8 to 15 in `options`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { negotiateServer } from "@socketry/socketry/protocol";
 *
 * const result = negotiateServer(
 *   "permessage-deflate; client_max_window_bits",
 *   { serverMaxWindowBits: 12 },
 * );
 * assert.equal(
 *   result?.response,
 *   "permessage-deflate; server_max_window_bits=12",
 * );
 * ```
 */
export function negotiateServer(
  offersHeader: string,
  options: DeflateServerOptions = {},
): DeflateServerResult | undefined {
  checkWindowBits("serverMaxWindowBits", options.serverMaxWindowBits);
  checkWindowBits("clientMaxWindowBits", options.clientMaxWindowBits);
  const serverLimit = options.serverMaxWindowBits ?? MAX_WINDOW_BITS;
  const clientLimit = options.clientMaxWindowBits;
  for (const offer of parseExtensions(offersHeader)) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const check = readDeflateElement(offer);
    if (!check.ok) continue;
    const asked = check.element;
    if (
      asked.clientMaxWindowBits === undefined && clientLimit !== undefined &&
      clientLimit < MAX_WINDOW_BITS
    ) {
      continue;
    }

    const serverNoContextTakeover = asked.serverNoContextTakeover ||
      options.disableServerContextTakeover === true;
    const clientNoContextTakeover = asked.clientNoContextTakeover;
    const serverMaxWindowBits = asked.serverMaxWindowBits === undefined
      ? serverLimit
      : min(serverLimit, asked.serverMaxWindowBits);
    const announceServerBits = asked.serverMaxWindowBits !== undefined ||
      serverMaxWindowBits < MAX_WINDOW_BITS;
    let clientMaxWindowBits: WindowBits = MAX_WINDOW_BITS;
    let announceClientBits = false;
    if (typeof asked.clientMaxWindowBits === "number") {
      clientMaxWindowBits = min(
        clientLimit ?? MAX_WINDOW_BITS,
        asked.clientMaxWindowBits,
      );
      announceClientBits = true;
    } else if (
      asked.clientMaxWindowBits === true && clientLimit !== undefined
    ) {
      clientMaxWindowBits = clientLimit;
      announceClientBits = true;
    }

    const parts = [PERMESSAGE_DEFLATE];
    if (serverNoContextTakeover) parts.push(SERVER_NO_CONTEXT_TAKEOVER);
    if (clientNoContextTakeover) parts.push(CLIENT_NO_CONTEXT_TAKEOVER);
    if (announceServerBits) {
      parts.push(`${SERVER_MAX_WINDOW_BITS}=${serverMaxWindowBits}`);
    }
    if (announceClientBits) {
      parts.push(`${CLIENT_MAX_WINDOW_BITS}=${clientMaxWindowBits}`);
    }
    return {
      response: parts.join("; "),
      params: {
        serverMaxWindowBits,
        clientMaxWindowBits,
        serverNoContextTakeover,
        clientNoContextTakeover,
      },
    };
  }
  return undefined;
}

function min(a: WindowBits, b: WindowBits): WindowBits {
  return a < b ? a : b;
}

function checkClientOptions(options: DeflateClientOptions): void {
  checkWindowBits("serverMaxWindowBits", options.serverMaxWindowBits);
  if (options.clientMaxWindowBits !== true) {
    checkWindowBits("clientMaxWindowBits", options.clientMaxWindowBits);
  }
}

/**
 * Builds the client's `Sec-WebSocket-Extensions` offer: one
 * permessage-deflate element with the requested parameters, and always
 * `client_max_window_bits` (with a value when `clientMaxWindowBits` is a
 * number), so the server may limit the client's window.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { offerClient } from "@socketry/socketry/protocol";
 *
 * assert.equal(offerClient({}), "permessage-deflate; client_max_window_bits");
 * ```
 *
 * @throws {RangeError} for window bits outside 8 to 15.
 */
export function offerClient(options: DeflateClientOptions = {}): string {
  checkClientOptions(options);
  const parts = [PERMESSAGE_DEFLATE];
  if (options.serverNoContextTakeover) parts.push(SERVER_NO_CONTEXT_TAKEOVER);
  if (options.clientNoContextTakeover) parts.push(CLIENT_NO_CONTEXT_TAKEOVER);
  if (options.serverMaxWindowBits !== undefined) {
    parts.push(`${SERVER_MAX_WINDOW_BITS}=${options.serverMaxWindowBits}`);
  }
  const clientBits = options.clientMaxWindowBits ?? true;
  parts.push(
    clientBits === true
      ? CLIENT_MAX_WINDOW_BITS
      : `${CLIENT_MAX_WINDOW_BITS}=${clientBits}`,
  );
  return parts.join("; ");
}

/**
 * Checks the server's `Sec-WebSocket-Extensions` answer to the offer that
 * {@linkcode offerClient} built from the same `offered` options, and returns
 * the agreed parameters. Call it only when the answer carries the header.
 *
 * The answer must be exactly one well-formed permessage-deflate element with
 * valid parameters that the offer allows: `server_no_context_takeover` when
 * it was requested; `server_max_window_bits` no larger than requested (and
 * present when a value below 15 was requested); `client_max_window_bits`
 * with a value, no larger than offered.
 *
 * @throws {WebSocketError} with status `handshakeRejected` naming what is
 * wrong with the answer.
 * @throws {RangeError} for window bits outside 8 to 15 in `offered`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptClientResponse } from "@socketry/socketry/protocol";
 *
 * const params = acceptClientResponse(
 *   "permessage-deflate; server_max_window_bits=12",
 * );
 * assert.equal(params.serverMaxWindowBits, 12);
 * assert.equal(params.clientMaxWindowBits, 15);
 * ```
 */
export function acceptClientResponse(
  responseHeader: string,
  offered: DeflateClientOptions = {},
): DeflateParams {
  checkClientOptions(offered);
  const { offers, malformed } = scanExtensions(responseHeader);
  if (malformed > 0) {
    throw rejected(`malformed Sec-WebSocket-Extensions: ${responseHeader}`);
  }
  if (offers.length === 0) {
    throw rejected("Sec-WebSocket-Extensions names no extension");
  }
  const [answer] = offers;
  if (offers.length > 1 || answer!.name !== PERMESSAGE_DEFLATE) {
    throw rejected(
      `the server accepted extensions that were not offered: ${responseHeader}`,
    );
  }
  const check = readDeflateElement(answer!);
  if (!check.ok) throw rejected(`invalid permessage-deflate: ${check.reason}`);
  const agreed = check.element;
  if (offered.serverNoContextTakeover && !agreed.serverNoContextTakeover) {
    throw rejected(
      `${SERVER_NO_CONTEXT_TAKEOVER} was requested but not accepted`,
    );
  }
  const serverMaxWindowBits = agreed.serverMaxWindowBits ?? MAX_WINDOW_BITS;
  const serverRequest = offered.serverMaxWindowBits ?? MAX_WINDOW_BITS;
  if (serverMaxWindowBits > serverRequest) {
    throw rejected(
      agreed.serverMaxWindowBits === undefined
        ? `${SERVER_MAX_WINDOW_BITS}=${serverRequest} was requested but not accepted`
        : `${SERVER_MAX_WINDOW_BITS}=${serverMaxWindowBits} exceeds the requested ${serverRequest}`,
    );
  }
  const clientOffer = offered.clientMaxWindowBits ?? true;
  let clientMaxWindowBits: WindowBits = clientOffer === true
    ? MAX_WINDOW_BITS
    : clientOffer;
  if (agreed.clientMaxWindowBits === true) {
    throw rejected(`${CLIENT_MAX_WINDOW_BITS} in a response needs a value`);
  }
  if (agreed.clientMaxWindowBits !== undefined) {
    if (agreed.clientMaxWindowBits > clientMaxWindowBits) {
      throw rejected(
        `${CLIENT_MAX_WINDOW_BITS}=${agreed.clientMaxWindowBits} exceeds the offered ${clientMaxWindowBits}`,
      );
    }
    clientMaxWindowBits = agreed.clientMaxWindowBits;
  }
  return {
    serverMaxWindowBits,
    clientMaxWindowBits,
    serverNoContextTakeover: agreed.serverNoContextTakeover,
    clientNoContextTakeover: agreed.clientNoContextTakeover ||
      offered.clientNoContextTakeover === true,
  };
}

function rejected(reason: string): WebSocketError {
  return new WebSocketError(
    `permessage-deflate negotiation failed: ${reason}`,
    {
      status: WebSocketStatus.HandshakeRejected,
    },
  );
}
