/**
 * The incremental frame parser: bytes from the peer in, in any split, and
 * events out (message data in pieces, ping, pong, close), with every check of
 * RFC 6455 (and RFC 7692's use of RSV1) and the receive limits applied as
 * early as the bytes allow.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { CloseCode } from "./close_codes.ts";
import { decodeClosePayload } from "./frame.ts";
import { applyMask, readMaskKey } from "./mask.ts";
import { isControl, Opcode } from "./opcodes.ts";
import { Utf8Validator } from "./utf8.ts";

/** The type of a data message. */
export type MessageType = "text" | "binary";

/** Which end of the connection the parser reads for. */
export type Role = "server" | "client";

/**
 * A piece of a text or binary message. A frame's payload comes as one or
 * more pieces in order: one per pushed chunk it spans, never an empty piece
 * except for an empty frame, which comes as exactly one empty piece.
 */
export interface DataEvent {
  /** Discriminant. */
  readonly kind: "data";
  /** The type of the message this piece belongs to. */
  readonly type: MessageType;
  /**
   * The unmasked bytes. This may be a view into the chunk given to
   * {@linkcode FrameParser.push}: use or copy it before reusing that chunk.
   */
  readonly data: Uint8Array;
  /** The first piece of the message. */
  readonly messageStart: boolean;
  /** The last piece of the message (the last piece of its final frame). */
  readonly messageEnd: boolean;
  /** The first piece of a frame. */
  readonly frameStart: boolean;
  /** The last piece of a frame. */
  readonly frameEnd: boolean;
  /**
   * The message had RSV1 on its first frame (permessage-deflate, only with
   * `allowRsv1`): its bytes are compressed, and a text message is not
   * UTF-8-checked here; the caller checks it after inflating.
   */
  readonly compressed: boolean;
}

/** A ping frame. Control frames come whole; they may fall between the frames of a message. */
export interface PingEvent {
  /** Discriminant. */
  readonly kind: "ping";
  /** The payload (0–125 bytes), to echo in the pong; may view the pushed chunk. */
  readonly data: Uint8Array;
}

/** A pong frame, solicited or not. */
export interface PongEvent {
  /** Discriminant. */
  readonly kind: "pong";
  /** The payload (0–125 bytes); may view the pushed chunk. */
  readonly data: Uint8Array;
}

/**
 * A close frame, checked: the code may appear on the wire and the reason is
 * UTF-8. The parser ignores every byte after it.
 */
export interface CloseFrameEvent {
  /** Discriminant. */
  readonly kind: "close";
  /** The close code; 1005 (no status) when the frame had no payload. */
  readonly code: number;
  /** The reason, possibly empty. */
  readonly reason: string;
}

/** What {@linkcode FrameParser.push} reports, in wire order. */
export type ParserEvent =
  | DataEvent
  | PingEvent
  | PongEvent
  | CloseFrameEvent;

/** Settings of a {@linkcode FrameParser}. */
export interface FrameParserOptions {
  /** `"server"` reads masked client frames; `"client"` reads unmasked server frames. */
  role: Role;
  /** Accept RSV1 on a message's first frame: permessage-deflate was negotiated. Default `false`. */
  allowRsv1?: boolean;
  /**
   * The largest message, in payload bytes on the wire (compressed bytes for
   * a compressed message). A frame that would take its message past this
   * fails with 1009 as soon as its header arrives. Default
   * {@linkcode DEFAULT_MAX_MESSAGE_SIZE}; `Infinity` for no limit.
   */
  maxMessageSize?: number;
  /**
   * The most frames one message may span. More fail with 1008. Default
   * {@linkcode DEFAULT_MAX_FRAGMENTS}; `Infinity` for no limit.
   */
  maxFragments?: number;
}

/** Default `maxMessageSize`: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/**
 * Default `maxFragments`: 65,536 frames, enough for a largest message
 * (64 MiB) sent in 1 KiB fragments, while a flood of empty fragments, which
 * `maxMessageSize` never sees, stops long before a consumer collecting the
 * pieces of one message holds more than a few megabytes of bookkeeping.
 */
export const DEFAULT_MAX_FRAGMENTS = 65_536;

/**
 * The most bytes a parser ever holds ({@linkcode FrameParser.bufferedBytes}):
 * a control frame's payload split across chunks. A split header (at most 13
 * bytes) is held instead of, never beside, it; data payloads are never held.
 */
export const MAX_BUFFERED_BYTES = 125;

const MAX_CONTROL_PAYLOAD = 125;

/**
 * Parses the frames one peer sends, incrementally. Feed it every chunk read
 * from the connection, in order, through {@linkcode FrameParser.push}.
 *
 * Data payloads are never held: each chunk's share of a frame is unmasked in
 * place and reported at once as a {@linkcode DataEvent}, so messages can be
 * streamed. Only a split header or a split control frame is copied.
 *
 * Any violation throws a {@linkcode WebSocketError} whose `code` is the close
 * code to send: 1002 for protocol errors, 1007 for invalid UTF-8 in a text
 * message, 1008 past `maxFragments`, 1009 past `maxMessageSize`. After that
 * the parser is dead and every further push throws the same error.
 *
 * @example A fragmented message and a ping between its frames
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   encodeFrame,
 *   FrameParser,
 *   Opcode,
 *   type ParserEvent,
 * } from "@socketry/socketry/protocol";
 *
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * const parser = new FrameParser({ role: "client" }); // reads a server
 * const events: ParserEvent[] = [];
 * for (
 *   const frame of [
 *     encodeFrame({ opcode: Opcode.Text, fin: false, payload: bytes("hel") }),
 *     encodeFrame({ opcode: Opcode.Ping, payload: bytes("?") }),
 *     encodeFrame({ opcode: Opcode.Continuation, payload: bytes("lo") }),
 *   ]
 * ) {
 *   parser.push(frame, (event) => events.push(event));
 * }
 * assert.deepEqual(events.map((event) => event.kind), ["data", "ping", "data"]);
 * const last = events[2];
 * assert.equal(last?.kind === "data" && last.messageEnd, true);
 * ```
 */
export class FrameParser {
  readonly #masked: boolean;
  readonly #allowRsv1: boolean;
  readonly #maxMessageSize: number;
  readonly #maxFragments: number;
  readonly #utf8 = new Utf8Validator();
  #failure: WebSocketError | undefined;
  #closed = false;

  // A header or a control payload split across chunks is gathered here (never
  // both at once: the header is used up before its payload starts).
  // Made on first use: most connections never split a header or a control
  // payload, and an idle one should not hold the bytes.
  #scratchBytes: Uint8Array | undefined;
  #headerFill = 0;
  #controlFill = 0;

  // The frame whose payload is being read, when #inPayload.
  #inPayload = false;
  #opcode = 0;
  #fin = false;
  #maskKey = 0;
  #keyOffset = 0;
  #remaining = 0;
  #frameStart = false;

  // The data message in progress; #type is undefined between messages.
  #type: MessageType | undefined;
  #compressed = false;
  #messageStart = false;
  #messageBytes = 0;
  #fragments = 0;

  /**
   * Creates a parser for one connection.
   *
   * @throws {TypeError} for an unknown role.
   * @throws {RangeError} for a limit that is not a non-negative integer or `Infinity`.
   */
  constructor(options: FrameParserOptions) {
    if (options.role !== "server" && options.role !== "client") {
      throw new TypeError(
        `role must be "server" or "client", got ${String(options.role)}`,
      );
    }
    this.#masked = options.role === "server";
    this.#allowRsv1 = options.allowRsv1 ?? false;
    this.#maxMessageSize = checkLimit(
      "maxMessageSize",
      options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    );
    this.#maxFragments = checkLimit(
      "maxFragments",
      options.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
    );
  }

  /** How many bytes the parser holds between pushes; at most {@linkcode MAX_BUFFERED_BYTES}. */
  get bufferedBytes(): number {
    return this.#headerFill + this.#controlFill;
  }

  /**
   * Parses the next bytes from the peer, calling `onEvent` for each event in
   * wire order; events before a violation are delivered before it throws.
   *
   * The parser takes over `chunk`: masked payload bytes are unmasked in place
   * and events may view them. Bytes after a close frame are ignored.
   *
   * @throws {WebSocketError} on a violation, or on any push after one. An
   * error thrown by `onEvent` propagates as it is, and stops the parser too.
   */
  push(chunk: Uint8Array, onEvent: (event: ParserEvent) => void): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closed) return;
    try {
      let position = 0;
      while (position < chunk.length && !this.#closed) {
        position = this.#inPayload
          ? this.#readPayload(chunk, position, onEvent)
          : this.#readHeader(chunk, position, onEvent);
      }
    } catch (error) {
      this.#failure = error instanceof WebSocketError
        ? error
        : new WebSocketError(
          "The frame parser stopped: an event handler threw",
          {
            status: WebSocketStatus.Unknown,
            code: CloseCode.InternalError,
            cause: error,
          },
        );
      throw error;
    }
  }

  #readHeader(
    chunk: Uint8Array,
    position: number,
    onEvent: (event: ParserEvent) => void,
  ): number {
    const available = chunk.length - position;
    if (
      this.#headerFill === 0 && available >= 2 &&
      available >= headerLength(chunk[position + 1]!)
    ) {
      // Common case: the whole header is in this chunk.
      this.#checkStart(chunk[position]!, chunk[position + 1]!);
      this.#beginFrame(chunk, position);
      position += headerLength(chunk[position + 1]!);
    } else {
      const header = this.#scratch();
      for (;;) {
        if (position === chunk.length) return position;
        header[this.#headerFill++] = chunk[position++]!;
        if (this.#headerFill < 2) continue;
        // Fail on the first two bytes without waiting for the rest.
        if (this.#headerFill === 2) this.#checkStart(header[0]!, header[1]!);
        if (this.#headerFill === headerLength(header[1]!)) break;
      }
      this.#headerFill = 0;
      this.#beginFrame(header, 0);
    }
    // An empty frame ends here: report it now, not with the next chunk.
    return this.#remaining === 0
      ? this.#readPayload(chunk, position, onEvent)
      : position;
  }

  // The checks that need only the first two header bytes.
  #checkStart(byte0: number, byte1: number): void {
    const opcode = byte0 & 0x0f;
    const rsv1 = (byte0 & 0x40) !== 0;
    if ((byte0 & 0x30) !== 0) {
      throw protocolError("RSV2 or RSV3 set: no extension defines them");
    }
    if (rsv1 && !this.#allowRsv1) {
      throw protocolError("RSV1 set but no extension was negotiated");
    }
    switch (opcode) {
      case Opcode.Continuation:
        if (this.#type === undefined) {
          throw protocolError("Continuation frame with no message to continue");
        }
        if (rsv1) throw protocolError("RSV1 set on a continuation frame");
        break;
      case Opcode.Text:
      case Opcode.Binary:
        if (this.#type !== undefined) {
          throw protocolError(
            "New data frame while a fragmented message is still open",
          );
        }
        break;
      case Opcode.Close:
      case Opcode.Ping:
      case Opcode.Pong:
        if ((byte0 & 0x80) === 0) {
          throw protocolError("Fragmented control frame");
        }
        if (rsv1) throw protocolError("RSV1 set on a control frame");
        if ((byte1 & 0x7f) > MAX_CONTROL_PAYLOAD) {
          throw protocolError("Control frame payload over 125 bytes");
        }
        break;
      default:
        throw protocolError(`Reserved opcode ${opcode}`);
    }
    if (((byte1 & 0x80) !== 0) !== this.#masked) {
      throw protocolError(
        this.#masked
          ? "Unmasked frame from a client: clients must mask"
          : "Masked frame from a server: servers must not mask",
      );
    }
  }

  #scratch(): Uint8Array {
    return this.#scratchBytes ??= new Uint8Array(MAX_CONTROL_PAYLOAD);
  }

  // Starts a frame from its complete, start-checked header at `offset` of `source`.
  #beginFrame(source: Uint8Array, offset: number): void {
    const byte0 = source[offset]!;
    let length = source[offset + 1]! & 0x7f;
    let position = offset + 2;
    if (length === 126) {
      length = (source[position]! << 8) | source[position + 1]!;
      position += 2;
    } else if (length === 127) {
      const high = readUint32(source, position);
      if (high >= 0x8000_0000) {
        throw protocolError("64-bit payload length with the top bit set");
      }
      // Past 2^53 this is approximate, but far over any size limit anyway.
      length = high * 0x1_0000_0000 + readUint32(source, position + 4);
      position += 8;
    }
    this.#maskKey = this.#masked ? readMaskKey(source, position) : 0;
    this.#keyOffset = 0;
    this.#opcode = byte0 & 0x0f;
    this.#fin = (byte0 & 0x80) !== 0;
    this.#remaining = length;
    this.#inPayload = true;

    if (isControl(this.#opcode)) return;
    if (this.#opcode !== Opcode.Continuation) {
      this.#type = this.#opcode === Opcode.Text ? "text" : "binary";
      this.#compressed = (byte0 & 0x40) !== 0;
      this.#messageStart = true;
      this.#messageBytes = 0;
      this.#fragments = 0;
    }
    if (++this.#fragments > this.#maxFragments) {
      throw policyViolation(
        `Message spans more than ${this.#maxFragments} frames`,
      );
    }
    this.#messageBytes += length;
    if (this.#messageBytes > this.#maxMessageSize) {
      throw new WebSocketError(
        `Message exceeds maxMessageSize (${this.#maxMessageSize} bytes)`,
        {
          status: WebSocketStatus.MessageTooBig,
          code: CloseCode.MessageTooBig,
        },
      );
    }
    this.#frameStart = true;
  }

  #readPayload(
    chunk: Uint8Array,
    position: number,
    onEvent: (event: ParserEvent) => void,
  ): number {
    const end = position + Math.min(chunk.length - position, this.#remaining);
    this.#remaining -= end - position;
    if (!isControl(this.#opcode)) {
      const piece = chunk.subarray(position, end);
      if (this.#masked) {
        this.#keyOffset = applyMask(piece, this.#maskKey, this.#keyOffset);
      }
      this.#emitData(piece, onEvent);
    } else if (this.#controlFill === 0 && this.#remaining === 0) {
      // The whole control payload is in this chunk: no copy.
      const payload = chunk.subarray(position, end);
      if (this.#masked) applyMask(payload, this.#maskKey);
      this.#endControl(payload, onEvent);
    } else {
      this.#scratch().set(chunk.subarray(position, end), this.#controlFill);
      this.#controlFill += end - position;
      if (this.#remaining === 0) {
        const payload = this.#scratch().slice(0, this.#controlFill);
        this.#controlFill = 0;
        if (this.#masked) applyMask(payload, this.#maskKey);
        this.#endControl(payload, onEvent);
      }
    }
    return end;
  }

  #emitData(data: Uint8Array, onEvent: (event: ParserEvent) => void): void {
    const type = this.#type!;
    const frameEnd = this.#remaining === 0;
    const messageEnd = frameEnd && this.#fin;
    if (type === "text" && !this.#compressed) {
      if (!this.#utf8.push(data)) {
        throw invalidPayload("Text message is not valid UTF-8");
      }
      if (messageEnd && !this.#utf8.finish()) {
        throw invalidPayload("Text message ends inside a UTF-8 sequence");
      }
    }
    const event: DataEvent = {
      kind: "data",
      type,
      data,
      messageStart: this.#messageStart,
      messageEnd,
      frameStart: this.#frameStart,
      frameEnd,
      compressed: this.#compressed,
    };
    this.#messageStart = false;
    this.#frameStart = false;
    if (frameEnd) this.#inPayload = false;
    if (messageEnd) this.#type = undefined;
    onEvent(event);
  }

  #endControl(
    payload: Uint8Array,
    onEvent: (event: ParserEvent) => void,
  ): void {
    this.#inPayload = false;
    if (this.#opcode === Opcode.Ping) {
      onEvent({ kind: "ping", data: payload });
    } else if (this.#opcode === Opcode.Pong) {
      onEvent({ kind: "pong", data: payload });
    } else {
      const { code, reason } = decodeClosePayload(payload);
      this.#closed = true;
      onEvent({ kind: "close", code, reason });
    }
  }
}

// The header length announced by its second byte.
function headerLength(byte1: number): number {
  const length = byte1 & 0x7f;
  return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) +
    ((byte1 & 0x80) !== 0 ? 4 : 0);
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) |
    (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

function checkLimit(name: string, value: number): number {
  if (value !== Infinity && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new RangeError(
      `${name} must be an integer >= 0 or Infinity, got ${value}`,
    );
  }
  return value;
}

function protocolError(message: string): WebSocketError {
  return new WebSocketError(message, {
    status: WebSocketStatus.ProtocolError,
    code: CloseCode.ProtocolError,
  });
}

function policyViolation(message: string): WebSocketError {
  return new WebSocketError(message, {
    status: WebSocketStatus.PolicyViolation,
    code: CloseCode.PolicyViolation,
  });
}

function invalidPayload(message: string): WebSocketError {
  return new WebSocketError(message, {
    status: WebSocketStatus.InvalidPayload,
    code: CloseCode.InvalidPayload,
  });
}
