/**
 * The engine's sending side: frames data and control messages onto a
 * transport, masks them in the client role, compresses messages with
 * permessage-deflate while keeping every frame in the order it was sent,
 * and refuses everything once the close frame is out.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "../errors.ts";
import {
  encodeClosePayload,
  frameHeaderLength,
  writeFrameHeader,
} from "../protocol/frame.ts";
import { applyMask } from "../protocol/mask.ts";
import { Opcode } from "../protocol/opcodes.ts";
import { PreparedMessage } from "../prepared_message.ts";
import { Utf8Validator } from "../protocol/utf8.ts";
import type { MessageType } from "../socket/mod.ts";
import { utf8ByteLength } from "../utf8_length.ts";
import type { PerMessageDeflate } from "./deflate.ts";
import { releaseFrame, takeFrame } from "./frame_pool.ts";
import { SerialQueue, type SerialTask } from "./serial_queue.ts";
import type { Transport } from "./transport.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** Mask keys are cut from this many random bytes drawn at once. */
const RANDOM_POOL = 4096;
/**
 * Unmasked payloads of at least this many bytes go out as they are, after
 * a header of their own (one writev), instead of copied into a new frame:
 * allocating and filling a large frame costs more than a second chunk in
 * the writev (below it, measured at 16 KiB, the single frame is cheaper).
 */
const UNCOPIED_PAYLOAD = 64 * 1024;

/**
 * The bytes of a PING or PONG payload; throws `RangeError` past the
 * 125 bytes a control frame may carry. `what` names the frame in the error.
 */
export function controlPayload(
  payload: Uint8Array | string,
  what: string,
): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  if (bytes.byteLength > 125) {
    throw new RangeError(
      `A ${what} payload is at most 125 bytes, got ${bytes.byteLength}`,
    );
  }
  return bytes;
}

/** Writes the frames of one connection, in order, onto its transport. */
export class FrameWriter {
  readonly #transport: Transport;
  readonly #masked: boolean;
  readonly #deflate: PerMessageDeflate | undefined;
  // With compression a frame may wait for zlib, and nothing may overtake it.
  // Made on first use: an idle connection without compression needs none.
  #serial: SerialQueue | undefined;
  #fragmenting = false;
  #compressing = false;
  #textValidator: Utf8Validator | undefined;
  #closeSent = false;
  #random = EMPTY;
  #randomOffset = 0;

  /**
   * Writes onto `transport`, masking every frame when `masked` (the client
   * role), compressing messages with `deflate` when given.
   */
  constructor(
    transport: Transport,
    masked: boolean,
    deflate?: PerMessageDeflate,
  ) {
    this.#transport = transport;
    this.#masked = masked;
    this.#deflate = deflate;
  }

  /** Whether the close frame has been sent (or queued): nothing may follow. */
  get closeSent(): boolean {
    return this.#closeSent;
  }

  /**
   * Writes one frame of a message: its first frame carries `type`, the rest
   * are continuations until `final`. Bytes sent as text are checked to be
   * UTF-8 (`TypeError` otherwise). Resolves once a compressed or queued
   * frame is written, or a large payload sent without a copy no longer read;
   * returns nothing when it was written at once.
   */
  data(
    data: string | Uint8Array,
    type: MessageType,
    final: boolean,
    compress: boolean,
  ): void | Promise<void> {
    if (this.#closeSent) throw closedError();
    if (typeof data !== "string" && final && !this.#fragmenting) {
      const prepared = PreparedMessage.of(data);
      if (prepared?.type === type) {
        const written = this.#prepared(prepared, compress);
        if (written !== false) return written;
      }
    }
    if (type === "text" && typeof data !== "string") {
      this.#checkText(data, final);
    }
    const first = !this.#fragmenting;
    const opcode = first
      ? type === "text" ? Opcode.Text : Opcode.Binary
      : Opcode.Continuation;
    this.#fragmenting = !final;
    const deflate = this.#deflate;
    if (deflate === undefined) return this.#write(opcode, final, data);
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (first) {
      this.#compressing = compress && deflate.shouldCompress(bytes.byteLength);
    }
    if (!this.#compressing) {
      return this.#queue().run(() => this.#write(opcode, final, bytes));
    }
    // Compress now (the codec keeps call order), write in order after it.
    const compressed = deflate.compress(bytes, final);
    return this.#queue().run(async () => {
      this.#write(opcode, final, await compressed, first, true);
    });
  }

  /**
   * Writes a PING or PONG at once (a control frame may go between the
   * frames of a message). Throws a `WebSocketError` after the close frame.
   */
  control(
    opcode: typeof Opcode.Ping | typeof Opcode.Pong,
    payload: Uint8Array,
  ): void {
    if (this.#closeSent) throw closedError();
    this.#write(opcode, true, payload);
  }

  /**
   * Writes the close frame after the frames already on their way; later
   * calls do nothing. Code 1005 (the peer's close had none) sends no code.
   */
  close(code: number, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    const payload = code === 1005 ? EMPTY : encodeClosePayload(code, reason);
    this.#queue().run(() => this.#write(Opcode.Close, true, payload));
  }

  /** Runs `task` once every frame given before it has been written. */
  afterWrites(task: SerialTask): void {
    this.#queue().run(task);
  }

  /**
   * Writes the shared frame of a prepared message, its compressed form
   * where every message stands alone; false where this connection must
   * frame it itself (masked frames, compression with context takeover).
   */
  #prepared(
    message: PreparedMessage,
    compress: boolean,
  ): false | void | Promise<void> {
    if (this.#masked) return false;
    // Many sockets take a broadcast in one turn: each joins its writes.
    this.#transport.corkForTurn?.();
    const deflate = this.#deflate;
    if (deflate === undefined) return this.#transport.write(message.frame());
    if (!compress || !deflate.shouldCompress(message.size)) {
      return this.#queue().run(() => this.#transport.write(message.frame()));
    }
    const key = deflate.standaloneKey;
    if (key === undefined) return false;
    const frame = message.compressedFrame(
      key,
      (payload) => deflate.compressAlone(payload),
    );
    return this.#queue().run(async () => this.#transport.write(await frame));
  }

  #queue(): SerialQueue {
    return this.#serial ??= new SerialQueue();
  }

  #checkText(data: Uint8Array, final: boolean): void {
    const validator = this.#textValidator ??= new Utf8Validator();
    const valid = validator.push(data) && (!final || validator.finish());
    if (final || !valid) this.#textValidator = undefined;
    if (!valid) {
      validator.reset();
      throw new TypeError("A text message must be valid UTF-8");
    }
  }

  /**
   * Builds header and payload in one buffer: one allocation, one write.
   * A large unmasked payload goes out as it is instead; unless it is
   * `owned` (made here, as compressed data is), the result then resolves
   * once the transport no longer reads it, so that the caller may change
   * its bytes again.
   */
  #write(
    opcode: number,
    fin: boolean,
    data: string | Uint8Array,
    rsv1 = false,
    owned = false,
  ): void | Promise<void> {
    const length = typeof data === "string"
      ? utf8ByteLength(data)
      : data.byteLength;
    const headerLength = frameHeaderLength(length, this.#masked);
    const transport = this.#transport;
    if (
      length >= UNCOPIED_PAYLOAD && typeof data !== "string" &&
      !this.#masked && transport.reportsWrites === true
    ) {
      const header = new Uint8Array(headerLength);
      writeFrameHeader(header, { fin, rsv1, opcode }, length);
      // Held, so that header and payload leave in one system call.
      transport.corkForTurn?.();
      transport.write(header);
      if (owned) return transport.write(data);
      const { promise, resolve } = Promise.withResolvers<void>();
      transport.write(data, resolve);
      return promise;
    }
    const { frame, pooled } = takeFrame(headerLength + length);
    const mask = this.#masked ? this.#maskKey() : undefined;
    writeFrameHeader(frame, { fin, rsv1, opcode, mask }, length);
    const payload = frame.subarray(headerLength);
    if (typeof data === "string") encoder.encodeInto(data, payload);
    else payload.set(data);
    if (mask !== undefined && length > 0) applyMask(payload, mask);
    // A pooled buffer goes back once the transport no longer reads it.
    if (pooled) transport.write(frame, () => releaseFrame(frame));
    else transport.write(frame);
  }

  #maskKey(): Uint8Array {
    if (this.#randomOffset + 4 > this.#random.byteLength) {
      this.#random = crypto.getRandomValues(new Uint8Array(RANDOM_POOL));
      this.#randomOffset = 0;
    }
    const key = this.#random.subarray(
      this.#randomOffset,
      this.#randomOffset + 4,
    );
    this.#randomOffset += 4;
    return key;
  }
}

function closedError(): WebSocketError {
  return new WebSocketError("Cannot send: the close frame was already sent", {
    status: WebSocketStatus.InvalidState,
  });
}
