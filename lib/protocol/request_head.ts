/**
 * The head of an HTTP/1.x request (RFC 9112 sections 2 to 5) as pure
 * functions: find where it ends in the bytes received so far, then parse
 * the request line and the header fields, within limits on its size and on
 * the number of fields. No I/O.
 *
 * @module
 */

/** A parsed request head. */
export interface RequestHead {
  /** The method, as sent (`GET`). */
  readonly method: string;
  /** The request target, as sent (`/chat?room=1`). */
  readonly target: string;
  /** The minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minorVersion: 0 | 1;
  /** The header fields in order, names as sent, values trimmed. */
  readonly fields: readonly (readonly [string, string])[];
  /** The bytes the head took, its final empty line included. */
  readonly length: number;
}

/** Why a head was refused: the status to answer with, and a sentence. */
export interface HeadError {
  /** 400 (malformed), 431 (too large) or 505 (unsupported version). */
  readonly status: 400 | 431 | 505;
  /** What was wrong, for the response body. */
  readonly message: string;
}

/** The outcome of {@linkcode parseRequestHead}. */
export type HeadParse =
  | { readonly kind: "head"; readonly head: RequestHead }
  | {
    readonly kind: "more";
    /** Pass this as `from` next time: where the search for the end resumes. */
    readonly scanned: number;
  }
  | { readonly kind: "error"; readonly error: HeadError };

/** Limits of {@linkcode parseRequestHead}. */
export interface HeadLimits {
  /** The largest head accepted, in bytes, final empty line included. */
  readonly maxHeadSize: number;
  /** The most header fields accepted. */
  readonly maxFields: number;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const HASH = 35;
// RFC 9110 5.6.2 tchar, by byte.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;
// RFC 9110 7.2: Host is uri-host [":" port] (RFC 3986 3.2.2), an IP literal
// or a registered name; anything else in it is a 400.
const HOST =
  /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;
const ONCE = new Set(["sec-websocket-key", "sec-websocket-version"]);

/**
 * Looks for the end of the head (the empty line) in `bytes`, starting the
 * search at `from`, and parses the head once it is there. Empty lines
 * before the request line are skipped (RFC 9112 section 2.2), and count
 * towards `maxHeadSize`. Bytes past
 * the head (a body, or WebSocket frames sent early) are not looked at:
 * they start at `head.length`.
 *
 * Refused with 400: a malformed request line (a target with a fragment
 * included), a version other than HTTP/1.0 or HTTP/1.1 (505 for HTTP/2 and
 * later), a line not ended by CRLF, a field line folded or without a colon,
 * whitespace before the colon, control characters in a value, an HTTP/1.1
 * request without exactly one `Host`, a `Host` that is not a host and
 * optional port, `Sec-WebSocket-Key` or `Sec-WebSocket-Version` given twice,
 * `Content-Length` beside `Transfer-Encoding`, invalid, or given twice
 * differently. Refused with 431: a head over `maxHeadSize` bytes (as soon as
 * that many arrived without its end) or with over `maxFields` fields.
 *
 * @example Parsing a head, and asking for more
 * ```ts
 * import { parseRequestHead } from "@socketry/socketry/protocol";
 *
 * const limits = { maxHeadSize: 16384, maxFields: 100 };
 * const bytes = new TextEncoder().encode("GET /ws HTTP/1.1\r\nHost: a\r\n\r\nrest");
 * const partial = parseRequestHead(bytes.subarray(0, 10), limits);
 * console.log(partial.kind); // "more"
 * const parsed = parseRequestHead(bytes, limits);
 * if (parsed.kind === "head") {
 *   console.log(parsed.head.target, parsed.head.fields, parsed.head.length); // "/ws" [["Host", "a"]] 29
 * }
 * ```
 */
export function parseRequestHead(
  bytes: Uint8Array,
  limits: HeadLimits,
  from = 0,
): HeadParse {
  let start = 0;
  while (
    start + 1 < bytes.length && bytes[start] === CR && bytes[start + 1] === LF
  ) {
    start += 2;
  }
  const end = headEnd(bytes, Math.max(from, start));
  if (end === -1) {
    if (bytes.length >= limits.maxHeadSize) {
      return fail(431, "The request head is too large");
    }
    // The last three bytes may begin the empty line: search them again.
    return { kind: "more", scanned: Math.max(start, bytes.length - 3) };
  }
  if (end > limits.maxHeadSize) {
    return fail(431, "The request head is too large");
  }
  return parseLines(bytes, start, end, limits);
}

/** Where the head ends (just past CRLF CRLF), or -1. */
function headEnd(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 3 < bytes.length; i++) {
    if (
      bytes[i + 3] === LF && bytes[i + 2] === CR && bytes[i + 1] === LF &&
      bytes[i] === CR
    ) {
      return i + 4;
    }
  }
  return -1;
}

function parseLines(
  bytes: Uint8Array,
  start: number,
  end: number,
  limits: HeadLimits,
): HeadParse {
  const lineEnd = lineEndAt(bytes, start, end);
  if (lineEnd < 0) {
    return fail(400, "A line of the request head is not ended by CRLF");
  }
  // The head as text once: each name and value is then a slice of it,
  // cheaper than turning each one's bytes into a string.
  const text: Latin1 = { text: latin1(bytes, start, end), offset: start };
  const line = requestLine(bytes, text, start, lineEnd);
  if ("status" in line) return { kind: "error", error: line };
  const fields: [string, string][] = [];
  let hosts = 0;
  const once = new Set<string>();
  let contentLength: string | undefined;
  let transferEncoding = false;
  let at = lineEnd + 2;
  // The head ends with an empty line, at end - 2.
  while (at < end - 2) {
    const fieldEnd = lineEndAt(bytes, at, end);
    if (fieldEnd < 0) {
      return fail(400, "A line of the request head is not ended by CRLF");
    }
    if (fields.length === limits.maxFields) {
      return fail(431, "The request has too many header fields");
    }
    const field = fieldLine(bytes, text, at, fieldEnd);
    if ("status" in field) return { kind: "error", error: field };
    const lower = field[0].toLowerCase();
    if (lower === "host") {
      if (!HOST.test(field[1])) return fail(400, "The Host field is malformed");
      hosts++;
    } else if (lower === "transfer-encoding") transferEncoding = true;
    else if (ONCE.has(lower)) {
      // RFC 6455 11.3.1 and 11.3.5: at most once in a request.
      if (once.has(lower)) return fail(400, `${field[0]} is given twice`);
      once.add(lower);
    } else if (lower === "content-length") {
      if (!/^[0-9]+$/.test(field[1])) {
        return fail(400, "Content-Length is not a number");
      }
      if (contentLength !== undefined && contentLength !== field[1]) {
        return fail(400, "Content-Length is given twice, differently");
      }
      contentLength = field[1];
    }
    fields.push(field);
    at = fieldEnd + 2;
  }
  if (line.minorVersion === 1 && hosts !== 1) {
    return fail(400, "An HTTP/1.1 request needs exactly one Host field");
  }
  if (transferEncoding && contentLength !== undefined) {
    return fail(400, "Content-Length and Transfer-Encoding together");
  }
  return {
    kind: "head",
    head: { ...line, fields, length: end },
  };
}

/** The CR of the CRLF that ends the line at `from`; -1 for a bare CR or LF. */
function lineEndAt(bytes: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    const byte = bytes[i];
    if (byte === CR) return bytes[i + 1] === LF ? i : -1;
    if (byte === LF) return -1;
  }
  return -1;
}

/** The head's bytes as a string, and where in the bytes it starts. */
interface Latin1 {
  readonly text: string;
  readonly offset: number;
}

function slice({ text, offset }: Latin1, start: number, end: number): string {
  return text.slice(start - offset, end - offset);
}

function requestLine(
  bytes: Uint8Array,
  text: Latin1,
  start: number,
  end: number,
): { method: string; target: string; minorVersion: 0 | 1 } | HeadError {
  let i = start;
  while (i < end && isTchar(bytes[i]!)) i++;
  if (i === start || bytes[i] !== SP) {
    return error(400, "The request line is malformed");
  }
  const method = slice(text, start, i);
  const targetStart = ++i;
  // A target is visible ASCII without a fragment (RFC 9112 3.2); anything
  // else is refused.
  while (i < end && bytes[i]! > SP && bytes[i]! < 127 && bytes[i] !== HASH) {
    i++;
  }
  if (i === targetStart || bytes[i] !== SP) {
    return error(400, "The request line is malformed");
  }
  const target = slice(text, targetStart, i);
  const version = slice(text, i + 1, end);
  if (version === "HTTP/1.1") return { method, target, minorVersion: 1 };
  if (version === "HTTP/1.0") return { method, target, minorVersion: 0 };
  if (/^HTTP\/[2-9](\.[0-9])?$/.test(version)) {
    return error(505, `${version} is not supported here`);
  }
  return error(400, "The request line is malformed");
}

function fieldLine(
  bytes: Uint8Array,
  text: Latin1,
  start: number,
  end: number,
): [string, string] | HeadError {
  if (bytes[start] === SP || bytes[start] === HTAB) {
    return error(400, "Folded header lines are not accepted");
  }
  let i = start;
  while (i < end && isTchar(bytes[i]!)) i++;
  if (i === start || bytes[i] !== COLON) {
    return error(400, "A header field is malformed");
  }
  const name = slice(text, start, i);
  let valueStart = i + 1;
  let valueEnd = end;
  while (
    valueStart < valueEnd &&
    (bytes[valueStart] === SP || bytes[valueStart] === HTAB)
  ) valueStart++;
  while (
    valueEnd > valueStart &&
    (bytes[valueEnd - 1] === SP || bytes[valueEnd - 1] === HTAB)
  ) valueEnd--;
  for (let j = valueStart; j < valueEnd; j++) {
    const byte = bytes[j]!;
    if ((byte < SP && byte !== HTAB) || byte === 127) {
      return error(400, `The value of ${name} holds a control character`);
    }
  }
  return [name, slice(text, valueStart, valueEnd)];
}

function isTchar(byte: number): boolean {
  return byte < 128 && TCHAR[byte] === 1;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i += 4096) {
    // apply() takes the bytes as they are; a spread would copy them into
    // an array of numbers first.
    text += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return text;
}

function error(status: 400 | 431 | 505, message: string): HeadError {
  return { status, message };
}

function fail(status: 400 | 431 | 505, message: string): HeadParse {
  return { kind: "error", error: { status, message } };
}
