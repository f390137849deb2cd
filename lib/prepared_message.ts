/**
 * A message encoded once and sent to many sockets: the form broadcasts and
 * rooms use, open to applications that choose the receivers themselves.
 *
 * @module
 */

import { frameHeaderLength, writeFrameHeader } from "./protocol/frame.ts";
import { Opcode } from "./protocol/opcodes.ts";
import { utf8ByteLength } from "./utf8_length.ts";
import { NativeSocket } from "./native.ts";
import type {
  MessageData,
  MessageType,
  SendData,
  Socket,
} from "./socket/mod.ts";
import { offerMeasured, sendMeasured } from "./socket/socket.ts";
import type { WebSocketError } from "./errors.ts";

let offerTo: (
  message: PreparedMessage,
  socket: Socket,
) => WebSocketError | undefined;

/**
 * Sends `message` on `socket` for a caller that does not wait (a
 * broadcast): no promise is made, and the refusal, when `socket` refused it
 * at once, is returned. Not part of the package's API.
 */
export function offerPrepared(
  message: PreparedMessage,
  socket: Socket,
): WebSocketError | undefined {
  return offerTo(message, socket);
}

/** Options of {@linkcode PreparedMessage}. */
export interface PreparedMessageOptions {
  /** The message type; by default text for strings, binary for bytes. */
  type?: MessageType;
  /**
   * False to send it uncompressed even to sockets with permessage-deflate,
   * as `send(data, { compress: false })` does. Default true.
   */
  compress?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// The message a payload handed to send() stands for: how an engine socket
// recognises one, whatever queue it went through on the way.
const byPayload = new WeakMap<Uint8Array, PreparedMessage>();

/**
 * One message, encoded once for any number of sockets. Its UTF-8 bytes and
 * its unmasked server frame (header and payload in one buffer) are built on
 * first use and then shared: every engine socket writes the same bytes,
 * without framing or copying the message again. For sockets that compress
 * with permessage-deflate, the message is compressed once per set of
 * parameters when they agreed on no context takeover for the server (each
 * message then stands alone, so one compressed form fits all); with
 * context takeover, each socket compresses it in its own context, as a
 * plain `send()` would.
 *
 * On the native backend (`Deno.upgradeWebSocket`), the same string or bytes
 * object goes to every socket and nothing is copied in JavaScript, but Deno
 * frames and copies the message once per socket inside its runtime, and
 * encodes a text message to UTF-8 each time: its WebSocket takes no
 * pre-framed bytes and cannot share one buffer between sockets.
 *
 * Sending it behaves as `socket.send()` does: the same queue, order,
 * backpressure and errors.
 *
 * @example Sending one message to sockets an application chose
 * ```ts
 * import { PreparedMessage, type Socket } from "@socketry/socketry";
 *
 * const online = new Set<Socket>();
 * const notice = new PreparedMessage(JSON.stringify({ type: "maintenance" }));
 * await Promise.allSettled([...online].map((socket) => notice.send(socket)));
 * console.log(notice.size); // 22
 * ```
 */
export class PreparedMessage {
  /** The message type. */
  readonly type: MessageType;
  /** Whether sockets with permessage-deflate may compress it. */
  readonly compress: boolean;
  readonly #text: string | undefined;
  readonly #size: number;
  // The unmasked, uncompressed frame, and the payload as a view of it: one
  // buffer for both, built on first use (never, for text on the native
  // backend, which takes the string).
  #frame: Uint8Array | undefined;
  #bytes: Uint8Array | undefined;
  #compressed: Map<string, Promise<Uint8Array>> | undefined;

  /**
   * Prepares `data`. Text given as bytes must be valid UTF-8 (`TypeError`
   * otherwise), checked here once rather than per socket. Bytes are copied
   * once, here; the bytes and frames it hands out must not be changed.
   */
  constructor(
    data: SendData | MessageData,
    options: PreparedMessageOptions = {},
  ) {
    const { type, compress = true } = options;
    if (type !== undefined && type !== "text" && type !== "binary") {
      throw new TypeError(
        `Unknown message type "${type}": use "text" or "binary"`,
      );
    }
    this.compress = compress;
    if (typeof data === "string") {
      this.type = type ?? "text";
      this.#size = utf8ByteLength(data);
      if (this.type === "text") this.#text = data;
      else this.#encode(data);
      return;
    }
    this.type = type ?? "binary";
    const source = asBytes(data);
    this.#size = source.byteLength;
    // One copy, so that the shared frames cannot change under the sockets.
    const bytes = this.#allocate();
    bytes.set(source);
    if (this.type === "text") this.#text = decoder.decode(bytes);
  }

  /** The message as a string (text) or bytes (binary). */
  get data(): MessageData {
    return this.#text ?? this.bytes;
  }

  /**
   * The payload bytes (UTF-8 for text), encoded once: a view of the frame's
   * buffer, after its header (`bytes.buffer` holds the whole frame).
   */
  get bytes(): Uint8Array {
    return this.#bytes ?? this.#encode(this.#text!);
  }

  /** The payload size in bytes. */
  get size(): number {
    return this.#size;
  }

  /**
   * Sends the message on `socket`, as `socket.send()` would: resolves once
   * the socket handed it on, rejects as `send()` does.
   */
  send(socket: Socket): Promise<void> {
    return sendMeasured(
      socket,
      this.#payloadFor(socket),
      this.type,
      this.size,
      this.compress,
    );
  }

  static {
    offerTo = (message, socket) =>
      offerMeasured(
        socket,
        message.#payloadFor(socket),
        message.type,
        message.size,
        message.compress,
      );
  }

  #payloadFor(socket: Socket): string | Uint8Array {
    // Deno's socket takes text as a string: bytes would be decoded per socket.
    return this.#text !== undefined && socket instanceof NativeSocket
      ? this.#text
      : this.bytes;
  }

  /**
   * The prepared message that `payload` (bytes handed to a socket by
   * {@linkcode PreparedMessage.send}) belongs to, if any. Backends that can
   * write shared frames call this.
   */
  static of(payload: Uint8Array): PreparedMessage | undefined {
    return byPayload.get(payload);
  }

  /** The whole unmasked, uncompressed frame, built once and shared. */
  frame(): Uint8Array {
    if (this.#frame === undefined) this.#encode(this.#text!);
    return this.#frame!;
  }

  /**
   * The whole unmasked frame compressed with the parameters named by `key`,
   * compressed by `compress` the first time a key is asked for and shared
   * after that.
   */
  compressedFrame(
    key: string,
    compress: (payload: Uint8Array) => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    this.#compressed ??= new Map();
    let frame = this.#compressed.get(key);
    if (frame === undefined) {
      const opcode = this.#opcode();
      frame = compress(this.bytes).then((payload) =>
        frameOf(payload, opcode, true)
      );
      this.#compressed.set(key, frame);
    }
    return frame;
  }

  #opcode(): number {
    return this.type === "text" ? Opcode.Text : Opcode.Binary;
  }

  /** Makes the frame, its header written, and returns its payload view. */
  #allocate(): Uint8Array {
    const size = this.#size;
    const headerLength = frameHeaderLength(size, false);
    const frame = new Uint8Array(headerLength + size);
    writeFrameHeader(frame, { fin: true, opcode: this.#opcode() }, size);
    const bytes = frame.subarray(headerLength);
    this.#frame = frame;
    this.#bytes = bytes;
    byPayload.set(bytes, this);
    return bytes;
  }

  #encode(text: string): Uint8Array {
    const bytes = this.#allocate();
    encoder.encodeInto(text, bytes);
    return bytes;
  }
}

function asBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new TypeError(
    `Cannot prepare ${
      Object.prototype.toString.call(data)
    }: give a string, an ArrayBuffer or a view of one`,
  );
}

function frameOf(payload: Uint8Array, opcode: number, rsv1: boolean) {
  const headerLength = frameHeaderLength(payload.byteLength, false);
  const frame = new Uint8Array(headerLength + payload.byteLength);
  writeFrameHeader(frame, { fin: true, rsv1, opcode }, payload.byteLength);
  frame.set(payload, headerLength);
  return frame;
}
