/**
 * The pure WebSocket core (RFC 6455 and RFC 7692's negotiation), for building
 * your own transport or tooling: bytes in, frames, events and bytes out. No
 * I/O, no timers and no Deno or Node APIs, so it runs in any JavaScript
 * runtime.
 *
 * - Frames: {@linkcode encodeFrame}, {@linkcode encodeClosePayload},
 *   {@linkcode decodeClosePayload}, {@linkcode applyMask},
 *   {@linkcode Opcode}.
 * - Reading: {@linkcode FrameParser}, an incremental parser with receive
 *   limits and streaming UTF-8 validation ({@linkcode Utf8Validator}).
 * - Handshakes: {@linkcode checkHandshake} and {@linkcode computeAcceptKey}
 *   for a server, {@linkcode http1Request}, {@linkcode http2Request} and
 *   {@linkcode checkClientResponse} for a client, and the permessage-deflate
 *   negotiation ({@linkcode negotiateServer}, {@linkcode offerClient}).
 *
 * @example A client frame, parsed by a server
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   encodeFrame,
 *   FrameParser,
 *   Opcode,
 * } from "@socketry/socketry/protocol";
 *
 * const frame = encodeFrame({
 *   opcode: Opcode.Text,
 *   payload: new TextEncoder().encode("hello"),
 *   mask: new Uint8Array([1, 2, 3, 4]),
 * });
 * const texts: string[] = [];
 * new FrameParser({ role: "server" }).push(frame, (event) => {
 *   if (event.kind === "data") texts.push(new TextDecoder().decode(event.data));
 * });
 * assert.deepEqual(texts, ["hello"]);
 * ```
 *
 * @module
 */

export {
  CloseCode,
  isValidCloseCode,
  MAX_CLOSE_REASON_BYTES,
} from "./close_codes.ts";
export { isControl, Opcode } from "./opcodes.ts";
export {
  type ClosePayload,
  decodeClosePayload,
  encodeClosePayload,
  encodeFrame,
  type FrameHeaderOptions,
  type FrameOptions,
} from "./frame.ts";
export { applyMask } from "./mask.ts";
export { Utf8Validator } from "./utf8.ts";
export {
  type CloseFrameEvent,
  type DataEvent,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_MESSAGE_SIZE,
  FrameParser,
  type FrameParserOptions,
  type MessageType,
  type ParserEvent,
  type PingEvent,
  type PongEvent,
  type Role,
} from "./parser.ts";
export {
  checkHandshake,
  type HandshakeCheck,
  type HandshakeRequest,
  isOriginAllowed,
  type RejectedHandshake,
  selectSubprotocol,
  type ValidHandshake,
} from "./handshake.ts";
export { computeAcceptKey, generateKey, isValidKey } from "./handshake_key.ts";
export {
  type AcceptedResponse,
  checkClientResponse,
  type ClientExpectation,
  type ClientRequest,
  type ClientResponse,
  type ClientResponseCheck,
  http1Request,
  http2Request,
  type RefusedResponse,
} from "./client_handshake.ts";
export {
  type HeadError,
  type HeadLimits,
  type HeadParse,
  parseRequestHead,
  type RequestHead,
} from "./request_head.ts";
export {
  acceptClientResponse,
  type DeflateClientOptions,
  type DeflateParams,
  type DeflateServerOptions,
  type DeflateServerResult,
  type ExtensionOffer,
  negotiateServer,
  offerClient,
  parseExtensions,
  type WindowBits,
} from "./deflate_negotiation.ts";
export {
  type HandshakeResponse,
  WebSocketError,
  type WebSocketErrorOptions,
  WebSocketStatus,
} from "../errors.ts";
