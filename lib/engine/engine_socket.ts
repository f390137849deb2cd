/**
 * The engine backend: socketry's own RFC 6455 connection over any byte
 * {@linkcode Transport}, in either role. A {@linkcode FrameReader} reads
 * frames and a {@linkcode FrameWriter} writes them; the socket joins them
 * to the {@linkcode Socket} contract and owns the keep-alive timer and the
 * close handshake.
 *
 * Unlike the native backend it sends real fragments (`endOfMessage: false`
 * puts a frame on the wire at once), hands out message parts as they arrive,
 * answers pings whether or not the application reads, and lets the
 * application answer messages that arrived before the peer's close frame.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { Opcode } from "../protocol/opcodes.ts";
import type { Role } from "../protocol/parser.ts";
import {
  type MessageType,
  type ResolvedSocketOptions,
  resolveSocketOptions,
  Socket,
  type SocketClosed,
  type SocketOptions,
} from "../socket/mod.ts";
import type { DeflateParams } from "../protocol/deflate_negotiation.ts";
import { PerMessageDeflate } from "./deflate.ts";
import { FrameReader, type FrameSink } from "./frame_reader.ts";
import type { Release } from "./read_buffers.ts";
import { controlPayload, FrameWriter } from "./frame_writer.ts";
import {
  KeepAlive,
  type KeepAliveActions,
  type KeepAliveSettings,
} from "./keep_alive.ts";
import type { Transport, TransportSink } from "./transport.ts";

/** Options of an engine socket. Times are in milliseconds. */
export interface EngineSocketOptions extends SocketOptions {
  /**
   * Keep-alive cadence. 0 or `Infinity`: off. With
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

const EMPTY = new Uint8Array(0);

/**
 * Options resolved from a frozen options object: a server gives all its
 * sockets one, and resolving it again for each would cost time and memory.
 */
const resolvedOptions = new WeakMap<
  EngineSocketOptions,
  { socket: ResolvedSocketOptions; keepAlive: KeepAliveSettings }
>();

/** A {@linkcode Socket} speaking RFC 6455 itself over a byte transport. */
export class EngineSocket extends Socket {
  readonly #transport: Transport;
  readonly #role: Role;
  readonly #writer: FrameWriter;
  readonly #reader: FrameReader;
  readonly #keepAlive: KeepAlive;
  readonly #protocol: string;
  readonly #extensions: string;
  readonly #httpVersion: "1.1" | "2";
  readonly #deflate: PerMessageDeflate | undefined;
  #awaitingCloseReply = false;
  #finished = false;

  // What the reader, the keep-alive timer and the transport call on their
  // socket: one small object each, with shared methods, instead of a closure
  // per callback (about half a kilobyte per connection).
  static readonly #ReaderLink = class implements FrameSink {
    readonly #socket: EngineSocket;

    constructor(socket: EngineSocket) {
      this.#socket = socket;
    }

    active(): boolean {
      return !this.#socket.#over;
    }

    data(
      type: MessageType,
      data: Uint8Array | string,
      messageEnd: boolean,
      hold?: () => Release,
    ): void {
      this.#socket.handleData(type, data, messageEnd, hold);
    }

    ping(data: Uint8Array): void {
      const socket = this.#socket;
      if (!socket.#writer.closeSent) socket.#writer.control(Opcode.Pong, data);
      socket.dispatchEvent(new MessageEvent("ping", { data }));
    }

    pong(data: Uint8Array): void {
      const socket = this.#socket;
      socket.#keepAlive.ponged(data);
      socket.dispatchEvent(new MessageEvent("pong", { data }));
    }

    close(code: number, reason: string): void {
      this.#socket.#onCloseFrame(code, reason);
    }

    fail(error: WebSocketError): void {
      this.#socket.failConnection(error);
    }

    bufferedIncoming(): number {
      return this.#socket.bufferedIncoming;
    }

    completeMessagesQueued(): number {
      return this.#socket.completeMessagesQueued;
    }
  };

  static readonly #KeepAliveLink = class implements KeepAliveActions {
    readonly #socket: EngineSocket;
    readonly #settings: KeepAliveSettings;

    constructor(socket: EngineSocket, settings: KeepAliveSettings) {
      this.#socket = socket;
      this.#settings = settings;
    }

    ping(payload: Uint8Array): void {
      this.#socket.#writer.control(Opcode.Ping, payload);
    }

    pong(): void {
      this.#socket.#writer.control(Opcode.Pong, EMPTY);
    }

    timedOut(): void {
      this.#socket.#endWith("timeout", this.#settings.timeout);
    }

    silent(): void {
      this.#socket.#endWith("disconnect", this.#settings.silenceLimit);
    }
  };

  static readonly #TransportLink = class implements TransportSink {
    readonly #socket: EngineSocket;

    constructor(socket: EngineSocket) {
      this.#socket = socket;
    }

    data(chunk: Uint8Array, hold?: () => () => void): void {
      const socket = this.#socket;
      if (socket.#over) return;
      socket.#keepAlive.received();
      socket.#reader.push(chunk, hold);
    }

    end(error?: unknown): void {
      this.#socket.#onTransportEnd(error);
    }
  };

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
    let cached = resolvedOptions.get(options);
    if (cached === undefined) {
      cached = {
        socket: resolveSocketOptions(socketOptions),
        keepAlive: {
          interval: keepAliveInterval,
          timeout: keepAliveTimeout,
          silenceLimit,
        },
      };
      if (Object.isFrozen(options)) resolvedOptions.set(options, cached);
    }
    const { socket: resolved, keepAlive } = cached;
    super(resolved);
    this.#transport = transport;
    this.#role = role;
    this.#protocol = protocol;
    this.#extensions = extensions;
    this.#httpVersion = httpVersion;
    if (deflate !== undefined) {
      this.#deflate = new PerMessageDeflate(deflate, role, {
        maxDecompressedSize: resolved.maxMessageSize,
        ...(compressionThreshold === undefined
          ? {}
          : { threshold: compressionThreshold }),
        ...(compressionLevel === undefined ? {} : { level: compressionLevel }),
      });
    }
    this.#writer = new FrameWriter(transport, role === "client", this.#deflate);
    this.#reader = new FrameReader(
      transport,
      new EngineSocket.#ReaderLink(this),
      {
        role,
        maxMessageSize: resolved.maxMessageSize,
        maxFragments,
        receiveHighWaterMark,
        deflate: this.#deflate,
      },
    );
    this.#keepAlive = new KeepAlive(
      keepAlive,
      new EngineSocket.#KeepAliveLink(this, keepAlive),
    );
    queueMicrotask(() => {
      this.handleOpen();
      transport.start(new EngineSocket.#TransportLink(this));
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
    this.#writer.control(Opcode.Ping, controlPayload(payload, "ping"));
  }

  /** Sends an unsolicited PONG carrying up to 125 bytes (a one-way heartbeat). */
  pong(payload: Uint8Array | string = EMPTY): void {
    this.#writer.control(Opcode.Pong, controlPayload(payload, "pong"));
  }

  /** Writes one data frame. */
  protected transmit(
    data: string | Uint8Array,
    type: MessageType,
    final: boolean,
    compress: boolean,
  ): void | Promise<void> {
    return this.#writer.data(data, type, final, compress);
  }

  /** Writes a close frame; nothing may follow it. */
  protected transmitClose(code: number, reason: string): void {
    this.#writer.close(code, reason);
  }

  /** Ends the transport: flushing first when `graceful`, at once otherwise. */
  protected terminate(graceful: boolean): void {
    if (graceful) this.#writer.afterWrites(() => this.#transport.end());
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
    this.#reader.taken();
  }

  /** The application read the peer's close: answer it now. */
  protected override onCloseDelivered(): void {
    if (this.#awaitingCloseReply) this.#replyToClose();
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
    this.#reader.stop();
    this.#keepAlive.stop();
    this.#awaitingCloseReply = false;
    super.finish(outcome);
    const deflate = this.#deflate;
    if (deflate !== undefined) {
      // Free zlib once what is queued has been written.
      this.#writer.afterWrites(() => deflate.close());
    }
    if (outcome.ending === "close") this.#closeTransportAfterHandshake();
  }

  /** The server closes TCP first; a client waits for it, then gives up. */
  #closeTransportAfterHandshake(): void {
    if (this.#role === "server") {
      this.#writer.afterWrites(() => this.#transport.end());
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

  /** Whether the socket has ended: what still arrives is dropped. */
  get #over(): boolean {
    const state = this.state;
    return state === "closed" || state === "aborted";
  }

  #endWith(ending: "timeout" | "disconnect", after: number): void {
    if (this.#over) return;
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
}
