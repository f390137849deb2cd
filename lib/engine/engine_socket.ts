/**
 * The engine backend: socketry's own RFC 6455 connection over any byte
 * {@linkcode Transport}, in either role. It drives the pure protocol core
 * and owns what needs I/O and time: writing frames, the keep-alive timer,
 * the close handshake, read backpressure.
 *
 * Unlike the native backend it sends real fragments (`endOfMessage: false`
 * puts a frame on the wire at once), hands out message parts as they arrive,
 * answers pings whether or not the application reads, and lets the
 * application answer messages that arrived before the peer's close frame.
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
import {
  type DataEvent,
  FrameParser,
  type ParserEvent,
  type Role,
} from "../protocol/parser.ts";
import { Utf8Validator } from "../protocol/utf8.ts";
import {
  type MessageType,
  resolveSocketOptions,
  Socket,
  type SocketClosed,
  type SocketOptions,
} from "../socket.ts";
import { utf8ByteLength } from "../utf8_length.ts";
import type { DeflateParams } from "../protocol/deflate_negotiation.ts";
import { PerMessageDeflate } from "./deflate.ts";
import { releaseFrame, takeFrame } from "./frame_pool.ts";
import type { Release } from "./read_buffers.ts";
import { KeepAlive } from "./keep_alive.ts";
import type { Transport } from "./transport.ts";

/** Options of an engine socket. Times are in milliseconds. */
export interface EngineSocketOptions extends SocketOptions {
  /**
   * Keep-alive cadence (SPEC C6). 0 or `Infinity`: off. With
   * `keepAliveTimeout` unset, an unsolicited PONG every interval; with it
   * set, a PING once the interval passes without traffic. Default: off.
   */
  keepAliveInterval?: number;
  /** How long a keep-alive PING may go unanswered. Default `Infinity`. */
  keepAliveTimeout?: number;
  /** No frame at all for this long ends the socket as a disconnect. Default: off. */
  silenceLimit?: number;
  /** The most frames one message may span (floods of tiny fragments close with 1008). Default 65536. */
  maxFragments?: number;
  /** Reading pauses while more than this many received bytes wait for the application. Default 1 MiB. */
  receiveHighWaterMark?: number;
  /** The subprotocol agreed in the handshake. */
  protocol?: string;
  /** The extensions agreed in the handshake. */
  extensions?: string;
  /** The HTTP version the handshake used: `"2"` for RFC 8441. Default `"1.1"`. */
  httpVersion?: "1.1" | "2";
  /**
   * permessage-deflate parameters agreed in the handshake: messages are then
   * compressed (unless a send says `compress: false`) and inflated, the
   * inflated size bounded by `maxMessageSize`.
   */
  deflate?: DeflateParams;
  /** With `deflate`, messages smaller than this many bytes go uncompressed. Default 0. */
  compressionThreshold?: number;
  /**
   * With `deflate`, the zlib level, 0 to 9 (-1, the default, is zlib's 6).
   * Lower levels cost much less CPU for a somewhat worse ratio: 1 to 3 suit
   * servers with many compressed connections.
   */
  compressionLevel?: number;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const RANDOM_POOL = 4096;

/** A {@linkcode Socket} speaking RFC 6455 itself over a byte transport. */
export class EngineSocket extends Socket {
  readonly #transport: Transport;
  readonly #role: Role;
  readonly #masked: boolean;
  readonly #parser: FrameParser;
  readonly #keepAlive: KeepAlive;
  readonly #receiveHighWaterMark: number;
  readonly #protocol: string;
  readonly #extensions: string;
  readonly #httpVersion: "1.1" | "2";
  #sendingFragments = false;
  #sendValidator: Utf8Validator | undefined;
  #closeFrameSent = false;
  #awaitingCloseReply = false;
  #paused = false;
  // Set while a lent chunk is parsed: the transport reuses it afterwards.
  #hold: (() => Release) | undefined;
  #finished = false;
  #deflate: PerMessageDeflate | undefined;
  // With compression, work that must stay in order runs on these chains.
  #inbound: Promise<void> | undefined;
  #inboundJobs = 0;
  #outbound: Promise<void> | undefined;
  #sendingCompressed = false;
  #inflatedText: Utf8Validator | undefined;
  #random = new Uint8Array(0);
  #randomOffset = 0;

  /**
   * Runs a connection whose opening handshake is done. `role` is `"server"`
   * for a connection accepted by a server and `"client"` for one this side
   * opened; the socket opens on the next microtask, so listeners added right
   * after construction see `open`.
   */
  constructor(
    transport: Transport,
    role: Role,
    options: EngineSocketOptions = {},
  ) {
    const {
      keepAliveInterval = 0,
      keepAliveTimeout = Infinity,
      silenceLimit = Infinity,
      maxFragments,
      receiveHighWaterMark = 1024 * 1024,
      protocol = "",
      extensions = "",
      httpVersion = "1.1",
      deflate,
      compressionThreshold,
      compressionLevel,
      ...socketOptions
    } = options;
    const resolved = resolveSocketOptions(socketOptions);
    super(resolved);
    this.#transport = transport;
    this.#role = role;
    this.#masked = role === "client";
    this.#protocol = protocol;
    this.#extensions = extensions;
    this.#httpVersion = httpVersion;
    this.#receiveHighWaterMark = receiveHighWaterMark;
    if (deflate !== undefined) {
      this.#deflate = new PerMessageDeflate(deflate, role, {
        maxDecompressedSize: resolved.maxMessageSize,
        ...(compressionThreshold === undefined
          ? {}
          : { threshold: compressionThreshold }),
        ...(compressionLevel === undefined ? {} : { level: compressionLevel }),
      });
    }
    this.#parser = new FrameParser({
      role,
      allowRsv1: deflate !== undefined,
      maxMessageSize: resolved.maxMessageSize,
      ...(maxFragments === undefined ? {} : { maxFragments }),
    });
    this.#keepAlive = new KeepAlive({
      interval: keepAliveInterval,
      timeout: keepAliveTimeout,
      silenceLimit,
    }, {
      ping: (payload) => this.#writeControl(Opcode.Ping, payload),
      pong: () => this.#writeControl(Opcode.Pong, EMPTY),
      timedOut: () => this.#endWith("timeout", keepAliveTimeout),
      silent: () => this.#endWith("disconnect", silenceLimit),
    });
    queueMicrotask(() => {
      this.handleOpen();
      transport.start({
        data: (chunk, hold) => this.#onData(chunk, hold),
        end: (error) => this.#onTransportEnd(error),
      });
    });
  }

  /** The subprotocol agreed in the handshake, or an empty string. */
  get protocol(): string {
    return this.#protocol;
  }

  /** The extensions agreed in the handshake, or an empty string. */
  get extensions(): string {
    return this.#extensions;
  }

  /** Which side of the connection this socket is. */
  get role(): Role {
    return this.#role;
  }

  /** The HTTP version of the handshake: `"2"` for a WebSocket over HTTP/2. */
  get httpVersion(): "1.1" | "2" {
    return this.#httpVersion;
  }

  /** The local address as `host:port`, when known. */
  get localAddress(): string | undefined {
    return this.#transport.localAddress;
  }

  /** The remote address as `host:port`, when known. */
  get remoteAddress(): string | undefined {
    return this.#transport.remoteAddress;
  }

  /**
   * Sends a PING carrying up to 125 bytes. Throws `RangeError` for a longer
   * payload and a `WebSocketError` once the socket can no longer send.
   */
  ping(payload: Uint8Array | string = EMPTY): void {
    this.#writeControl(Opcode.Ping, this.#controlPayload(payload, "ping"));
  }

  /** Sends an unsolicited PONG carrying up to 125 bytes (a one-way heartbeat). */
  pong(payload: Uint8Array | string = EMPTY): void {
    this.#writeControl(Opcode.Pong, this.#controlPayload(payload, "pong"));
  }

  /** Writes one data frame. */
  protected transmit(
    data: string | Uint8Array,
    type: MessageType,
    final: boolean,
    compress: boolean,
  ): void | Promise<void> {
    if (this.#closeFrameSent) {
      throw new WebSocketError(
        "Cannot send: the close frame was already sent",
        {
          status: WebSocketStatus.InvalidState,
        },
      );
    }
    if (type === "text" && typeof data !== "string") {
      this.#checkText(data, final);
    }
    const first = !this.#sendingFragments;
    const opcode = first
      ? type === "text" ? Opcode.Text : Opcode.Binary
      : Opcode.Continuation;
    this.#sendingFragments = !final;
    const deflate = this.#deflate;
    if (deflate === undefined) {
      this.#writeFrame(opcode, final, data);
      return;
    }
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (first) {
      this.#sendingCompressed = compress &&
        deflate.shouldCompress(bytes.byteLength);
    }
    if (!this.#sendingCompressed) {
      return this.#afterOutbound(() => this.#writeFrame(opcode, final, bytes));
    }
    // Compress now (the codec keeps call order), write in order after it.
    const compressed = deflate.compress(bytes, final);
    return this.#afterOutbound(async () => {
      this.#writeFrame(opcode, final, await compressed, first);
    });
  }

  /** Writes a close frame; nothing may follow it. */
  protected transmitClose(code: number, reason: string): void {
    if (this.#closeFrameSent) return;
    // 1005 means the peer's close had no code: answer with none either.
    const payload = code === 1005 ? EMPTY : encodeClosePayload(code, reason);
    this.#closeFrameSent = true;
    this.#afterOutbound(() => this.#writeFrame(Opcode.Close, true, payload));
  }

  /** Ends the transport: flushing first when `graceful`, at once otherwise. */
  protected terminate(graceful: boolean): void {
    if (graceful) this.#afterOutbound(() => this.#transport.end());
    else this.#transport.destroy();
  }

  /** Bytes the transport has not written yet. */
  protected transportBufferedAmount(): number {
    return this.#transport.bufferedAmount;
  }

  /** Resolves when the transport's write queue drained. */
  protected waitForDrain(): Promise<void> {
    return this.#transport.drained();
  }

  /** Resumes reading once the application caught up. */
  protected override onIncomingTaken(): void {
    if (
      this.#paused && this.bufferedIncoming <= this.#receiveHighWaterMark / 2
    ) {
      this.#paused = false;
      this.#transport.resume();
    }
  }

  /** The application read the peer's close: answer it now. */
  protected override onCloseDelivered(): void {
    if (this.#awaitingCloseReply) this.#replyToClose();
  }

  #onData(chunk: Uint8Array, hold?: () => Release): void {
    if (this.state === "closed" || this.state === "aborted") return;
    this.#keepAlive.received();
    this.#hold = hold;
    try {
      this.#parser.push(chunk, this.#onEvent);
    } catch (error) {
      this.failConnection(
        error instanceof WebSocketError ? error : new WebSocketError(
          `Internal error while reading: ${error}`,
          { status: WebSocketStatus.Unknown, code: 1011, cause: error },
        ),
      );
      return;
    } finally {
      this.#hold = undefined;
    }
    // Pause only while a whole message waits to be taken: the parts of an
    // unfinished message cannot be delivered until the rest is read.
    if (
      !this.#paused && this.completeMessagesQueued > 0 &&
      this.bufferedIncoming > this.#receiveHighWaterMark
    ) {
      this.#paused = true;
      this.#transport.pause();
    }
  }

  readonly #onEvent = (event: ParserEvent): void => {
    if (this.state === "closed" || this.state === "aborted") return;
    const lent = this.#hold !== undefined;
    switch (event.kind) {
      case "data":
        if (event.compressed || this.#inbound !== undefined) {
          // Handled after this read: a lent chunk is overwritten by then.
          const owned = lent ? { ...event, data: event.data.slice() } : event;
          this.#afterInbound(() => this.#deliver(owned));
        } else {
          this.handleData(event.type, event.data, event.messageEnd, this.#hold);
        }
        return;
      case "ping": {
        const data = lent ? event.data.slice() : event.data;
        if (!this.#closeFrameSent) this.#writeControl(Opcode.Pong, data);
        this.dispatchEvent(new MessageEvent("ping", { data }));
        return;
      }
      case "pong": {
        const data = lent ? event.data.slice() : event.data;
        this.#keepAlive.ponged(data);
        this.dispatchEvent(new MessageEvent("pong", { data }));
        return;
      }
      case "close":
        if (this.#inbound !== undefined) {
          this.#afterInbound(() =>
            this.#onCloseFrame(event.code, event.reason)
          );
        } else this.#onCloseFrame(event.code, event.reason);
    }
  };

  async #deliver(event: DataEvent): Promise<void> {
    if (!event.compressed) {
      this.handleData(event.type, event.data, event.messageEnd);
      return;
    }
    const data = await this.#deflate!.decompress(event.data, event.messageEnd);
    if (event.type === "text") {
      const validator = this.#inflatedText ??= new Utf8Validator();
      if (!validator.push(data) || (event.messageEnd && !validator.finish())) {
        throw new WebSocketError("Text message is not valid UTF-8", {
          status: WebSocketStatus.InvalidPayload,
          code: 1007,
        });
      }
      if (event.messageEnd) this.#inflatedText = undefined;
    }
    this.handleData(event.type, data, event.messageEnd);
  }

  /** Runs `job` after earlier inbound work; a failure fails the connection. */
  #afterInbound(job: () => void | Promise<void>): void {
    this.#inboundJobs++;
    if (this.#inboundJobs > 64 && !this.#paused) {
      this.#paused = true;
      this.#transport.pause();
    }
    const run = async () => {
      if (this.#finished) return;
      try {
        await job();
      } catch (error) {
        this.failConnection(
          error instanceof WebSocketError ? error : new WebSocketError(
            `Internal error while reading: ${error}`,
            { status: WebSocketStatus.Unknown, code: 1011, cause: error },
          ),
        );
      }
    };
    const next = (this.#inbound ?? Promise.resolve()).then(run).finally(() => {
      this.#inboundJobs--;
      if (this.#inboundJobs === 0 && this.#inbound === next) {
        this.#inbound = undefined;
      }
      if (
        this.#paused && this.#inboundJobs <= 16 &&
        this.completeMessagesQueued === 0
      ) {
        this.#paused = false;
        this.#transport.resume();
      }
    });
    this.#inbound = next;
  }

  /**
   * Runs `job` after the frames already on their way: with compression a
   * frame may wait for zlib, and nothing may overtake it.
   */
  #afterOutbound(job: () => void | Promise<void>): Promise<void> | undefined {
    if (this.#deflate === undefined) {
      job();
      return undefined;
    }
    const next = (this.#outbound ?? Promise.resolve()).then(job);
    this.#outbound = next.catch(() => {});
    return next;
  }

  #onCloseFrame(code: number, reason: string): void {
    const localFirst = this.state === "closeSent";
    this.handleCloseFrame(code, reason, false);
    if (localFirst) return;
    // Answer at once unless messages that came before the close still wait
    // for the application, which may want to reply to them first.
    if (this.completeMessagesQueued === 0) this.#replyToClose();
    else {
      this.#awaitingCloseReply = true;
      setTimeout(() => {
        if (this.#awaitingCloseReply) this.#replyToClose();
      }, this.options.closeTimeout);
    }
  }

  #replyToClose(): void {
    this.#awaitingCloseReply = false;
    this.answerClose();
  }

  /** Stops the timers; after a close handshake, closes the transport too. */
  protected override finish(outcome: SocketClosed): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#keepAlive.stop();
    this.#awaitingCloseReply = false;
    super.finish(outcome);
    const deflate = this.#deflate;
    if (deflate !== undefined) {
      // Free zlib once what is queued has been written.
      this.#afterOutbound(() => deflate.close());
    }
    if (outcome.ending === "close") this.#closeTransportAfterHandshake();
  }

  /** The server closes TCP first; a client waits for it, then gives up. */
  #closeTransportAfterHandshake(): void {
    if (this.#role === "server") {
      this.#afterOutbound(() => this.#transport.end());
    } else {
      const timer = setTimeout(
        () => this.#transport.destroy(),
        this.options.closeTimeout,
      );
      Deno.unrefTimer(timer as unknown as number);
    }
  }

  #onTransportEnd(error: unknown): void {
    if (this.#finished) {
      this.#transport.destroy();
      return;
    }
    const failure = new WebSocketError(
      `The peer disconnected without a close frame${
        error === undefined ? "" : ` (${error})`
      }`,
      { status: WebSocketStatus.Disconnected, code: 1006, cause: error },
    );
    this.finish({
      code: 1006,
      reason: failure.message,
      wasClean: false,
      initiator: this.state === "closeSent" ? "local" : "none",
      ending: "disconnect",
      error: failure,
    });
    this.#transport.destroy();
  }

  #endWith(ending: "timeout" | "disconnect", after: number): void {
    if (this.state === "closed" || this.state === "aborted") return;
    const failure = ending === "timeout"
      ? new WebSocketError(
        `Keep-alive timeout: no PONG answered the PING within ${after} ms`,
        { status: WebSocketStatus.KeepAliveTimeout, code: 1006 },
      )
      : new WebSocketError(
        `The peer went silent: no frame for ${after} ms`,
        { status: WebSocketStatus.Disconnected, code: 1006 },
      );
    this.#transport.destroy();
    this.finish({
      code: 1006,
      reason: failure.message,
      wasClean: false,
      initiator: ending === "timeout" ? "local" : "none",
      ending,
      error: failure,
    });
  }

  #checkText(data: Uint8Array, final: boolean): void {
    const validator = this.#sendValidator ??= new Utf8Validator();
    const valid = validator.push(data) && (!final || validator.finish());
    if (final || !valid) this.#sendValidator = undefined;
    if (!valid) {
      validator.reset();
      throw new TypeError("A text message must be valid UTF-8");
    }
  }

  #controlPayload(payload: Uint8Array | string, what: string): Uint8Array {
    const bytes = typeof payload === "string"
      ? encoder.encode(payload)
      : payload;
    if (bytes.byteLength > 125) {
      throw new RangeError(
        `A ${what} payload is at most 125 bytes, got ${bytes.byteLength}`,
      );
    }
    return bytes;
  }

  #writeControl(opcode: number, payload: Uint8Array): void {
    if (this.#closeFrameSent) {
      if (opcode === Opcode.Close) return;
      throw new WebSocketError(
        "Cannot send: the close frame was already sent",
        {
          status: WebSocketStatus.InvalidState,
        },
      );
    }
    this.#writeFrame(opcode, true, payload);
  }

  /** Builds header and payload in one buffer: one allocation, one write. */
  #writeFrame(
    opcode: number,
    fin: boolean,
    data: string | Uint8Array,
    rsv1 = false,
  ): void {
    const length = typeof data === "string"
      ? utf8ByteLength(data)
      : data.byteLength;
    const headerLength = frameHeaderLength(length, this.#masked);
    const { frame, pooled } = takeFrame(headerLength + length);
    const mask = this.#masked ? this.#maskKey() : undefined;
    writeFrameHeader(frame, { fin, rsv1, opcode, mask }, length);
    const payload = frame.subarray(headerLength);
    if (typeof data === "string") encoder.encodeInto(data, payload);
    else payload.set(data);
    if (mask !== undefined && length > 0) applyMask(payload, mask);
    if (pooled) this.#transport.write(frame, () => releaseFrame(frame));
    else this.#transport.write(frame);
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
