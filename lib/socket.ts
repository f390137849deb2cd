/**
 * The `Socket` contract shared by every backend (SPEC S3): states, chunked
 * `receive()`, fragment-aware `send()`, the close handshake, async iteration
 * over whole messages, `EventTarget` events, the `closed` promise and
 * statistics. Backends feed it incoming data and implement the transport
 * primitives; applications never see the difference.
 *
 * @module
 */

import { validateClose } from "./protocol/close_codes.ts";
import { WebSocketError, WebSocketStatus } from "./errors.ts";
import { utf8ByteLength } from "./utf8_length.ts";
import { WaitTimer } from "./wait_timer.ts";

/**
 * Where a socket is in its life. `closeSent` and `closeReceived` are the two
 * halves of the close handshake; `closed` and `aborted` are final.
 */
export type SocketState =
  | "connecting"
  | "open"
  | "closeSent"
  | "closeReceived"
  | "closed"
  | "aborted";

/** The type of a data message. */
export type MessageType = "text" | "binary";

/** A whole message: a string for text, bytes for binary. */
export type MessageData = string | Uint8Array;

/** What `send()` accepts. Strings default to text, bytes to binary. */
export type SendData = string | ArrayBuffer | ArrayBufferView;

/** A piece of a data message returned by `receive()`. */
export interface ReceivedData {
  /** The type of the message this piece belongs to. */
  readonly type: MessageType;
  /** At most `receiveBufferSize` bytes of the message (with `into`, a view of it). */
  readonly data: Uint8Array;
  /** Whether this piece ends the message. */
  readonly endOfMessage: boolean;
}

/** What `receive()` returns once the peer's close frame has arrived. */
export interface ReceivedClose {
  /** Always `"close"`. */
  readonly type: "close";
  /** Always empty. */
  readonly data: Uint8Array;
  /** Always true. */
  readonly endOfMessage: true;
  /** The peer's close status (1005 when it sent none). */
  readonly code: number;
  /** The peer's close description. */
  readonly reason: string;
}

/** The result of `receive()`. */
export type ReceiveResult = ReceivedData | ReceivedClose;

/** Options of `receive()`. */
export interface ReceiveOptions {
  /** Return at most this many bytes (capped by `receiveBufferSize`, or by `into`'s length). */
  maxBytes?: number;
  /**
   * Copy the bytes into this buffer instead of returning new memory, as
   * .NET's `ReceiveAsync(buffer)` does: `data` is then a view of `into`,
   * and a piece may be as long as `into` (`receiveBufferSize` does not
   * apply). Reading a bulk transfer into one reused buffer allocates nothing
   * per piece. Must have room for at least one byte.
   */
  into?: Uint8Array;
  /** Cancels the wait; the data stays queued for the next call. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Socket.messages}. */
export interface MessagesOptions {
  /** Ends the iteration: the waiting step rejects with status `cancelled`. */
  signal?: AbortSignal;
}

/** Options of `send()`. */
export interface SendOptions {
  /** The message type; by default text for strings, binary for bytes. */
  type?: MessageType;
  /** False to send a fragment and continue the message in the next call. */
  endOfMessage?: boolean;
  /**
   * False to send this message uncompressed even when permessage-deflate is
   * negotiated: use it for messages that carry secrets next to data an
   * attacker controls (CRIME/BREACH). Ignored where nothing is compressed.
   */
  compress?: boolean;
  /**
   * Cancels the send while it waits in the queue: it is removed at once and
   * rejects with status `cancelled`. Cancelling a fragment of a message
   * whose other fragments were queued or sent aborts the socket, since the
   * message can no longer be completed.
   */
  signal?: AbortSignal;
}

/**
 * How a socket ended:
 * - `close`: a close handshake took place (see `initiator` and `wasClean`);
 * - `disconnect`: the peer vanished without a close frame, or was silent past
 *   the allowed limit (SPEC S6);
 * - `timeout`: a keep-alive ping or the close handshake went unanswered in time;
 * - `abort`: `abort()` was called;
 * - `error`: the peer broke the protocol or the transport failed.
 */
export type SocketEnding =
  | "close"
  | "disconnect"
  | "timeout"
  | "abort"
  | "error";

/** The outcome of a socket, from its `closed` promise and its `close` event. */
export interface SocketClosed {
  /** The close code: the one exchanged, or 1006 when no close frame came. */
  readonly code: number;
  /** The close reason exchanged, or a description of what happened. */
  readonly reason: string;
  /** Whether both close frames were exchanged. */
  readonly wasClean: boolean;
  /** Who started the close: this side, the peer, or nobody (a lost connection). */
  readonly initiator: "local" | "remote" | "none";
  /** How the socket ended. */
  readonly ending: SocketEnding;
  /** The error behind an `error`, `timeout` or `disconnect` ending. */
  readonly error?: WebSocketError;
}

/** Counters kept for every socket. Byte counts are message payload bytes. */
export interface SocketStats {
  /** Payload bytes sent. */
  readonly bytesSent: number;
  /** Payload bytes received. */
  readonly bytesReceived: number;
  /** Whole messages sent. */
  readonly messagesSent: number;
  /** Whole messages received. */
  readonly messagesReceived: number;
  /** When the socket opened (ms since the epoch), if it has. */
  readonly openedAt: number | undefined;
  /** When the last message was sent or received (ms since the epoch). */
  readonly lastActivityAt: number | undefined;
}

/** Limits and sizes common to every socket. Times are in milliseconds. */
export interface SocketOptions {
  /** The largest piece one `receive()` returns. Default 4096. */
  receiveBufferSize?: number;
  /** The largest message accepted; a bigger one closes with 1009. Default 64 MiB. */
  maxMessageSize?: number;
  /** `send()` resolves once fewer bytes than this wait to be written. Default 1 MiB. */
  sendHighWaterMark?: number;
  /**
   * Bytes that may wait to be written before `send()` rejects with
   * `sendQueueFull` (the slow-consumer policy). Default 16 MiB.
   */
  maxBufferedAmount?: number;
  /** How long `close()` waits for the peer's close frame. Default 5000. */
  closeTimeout?: number;
  /**
   * How long a `send()` may wait in the queue (behind backpressure) before
   * it rejects with status `timeout`. Default `Infinity` on server sockets,
   * 30000 for {@linkcode connect}.
   */
  sendTimeout?: number;
  /**
   * How long `receive()` or a `for await` step may wait for data before it
   * rejects with status `timeout`; the socket stays open and data arriving
   * later is kept. Control frames do not count as data. Default `Infinity`
   * on server sockets, 30000 for {@linkcode connect}.
   */
  receiveTimeout?: number;
}

/**
 * A `close` event: a `CloseEvent` that also says how the socket ended.
 *
 * @example
 * ```ts
 * import { SocketCloseEvent } from "@socketry/socketry";
 *
 * const event = new SocketCloseEvent({
 *   code: 1000,
 *   reason: "bye",
 *   wasClean: true,
 *   initiator: "remote",
 *   ending: "close",
 * });
 * console.log(event.code, event.detail.ending); // 1000 "close"
 * ```
 */
export class SocketCloseEvent extends CloseEvent {
  /** The full outcome, as the `closed` promise gives it. */
  readonly detail: SocketClosed;

  /** Creates the event from a socket's outcome. */
  constructor(detail: SocketClosed) {
    super("close", {
      code: detail.code,
      reason: detail.reason,
      wasClean: detail.wasClean,
    });
    this.detail = detail;
  }
}

/** The events a socket dispatches. */
export interface SocketEventMap {
  /** The socket is open. */
  open: Event;
  /** A whole message arrived; `data` is a string (text) or bytes (binary). */
  message: MessageEvent<MessageData>;
  /** The socket ended; the event says how. */
  close: SocketCloseEvent;
  /** Something went wrong; `error` is a `WebSocketError`. */
  error: ErrorEvent;
}

interface Incoming {
  readonly type: MessageType;
  payload: string | Uint8Array;
  readonly size: number;
  readonly final: boolean;
  offset: number;
  /** Gives the transport back the lent buffer `payload` views, once taken. */
  readonly release: (() => void) | undefined;
}

interface WaitingReader {
  readonly resolvers: PromiseWithResolvers<ReceiveResult>;
  readonly maxBytes: number;
  readonly into: Uint8Array | undefined;
}

interface Outgoing {
  readonly data: string | Uint8Array;
  readonly type: MessageType;
  readonly final: boolean;
  /** Whether this item starts a message (false for a continuation). */
  readonly first: boolean;
  readonly compress: boolean;
  readonly size: number;
  readonly resolvers: PromiseWithResolvers<void>;
}

const DEFAULTS = {
  receiveBufferSize: 4096,
  maxMessageSize: 64 * 1024 * 1024,
  sendHighWaterMark: 1024 * 1024,
  maxBufferedAmount: 16 * 1024 * 1024,
  closeTimeout: 5000,
  sendTimeout: Infinity,
  receiveTimeout: Infinity,
} as const;

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the message, not a marker to drop.
// Not fatal: backends hand over text bytes they already validated (the
// engine fails invalid UTF-8 with 1007), and Deno decodes 8x faster so.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Resolved options of a socket. */
export type ResolvedSocketOptions = Required<SocketOptions>;

/** Fills in defaults and checks every option, throwing `RangeError` or `TypeError`. */
export function resolveSocketOptions(
  options: SocketOptions = {},
): ResolvedSocketOptions {
  const resolved = { ...DEFAULTS, ...definedOnly(options) };
  for (const [name, value] of Object.entries(resolved)) {
    if (name === "sendTimeout" || name === "receiveTimeout") {
      timeoutValue(name, value);
    } else positiveInteger(name, value);
  }
  return resolved;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

function timeoutValue(name: string, value: unknown): void {
  if (
    typeof value !== "number" || Number.isNaN(value) || value <= 0
  ) {
    throw new RangeError(
      `${name} must be a number of milliseconds > 0 or Infinity, got ${value}`,
    );
  }
}

/**
 * Checks the {@linkcode SocketOptions} found in `options` (other keys are
 * ignored), so that a caller can fail bad ones before any I/O.
 */
export function checkSocketOptions(options: object): void {
  resolveSocketOptions(
    Object.fromEntries(
      Object.entries(options).filter(([name]) => name in DEFAULTS),
    ) as SocketOptions,
  );
}

/** Throws `RangeError` unless `value` is a positive safe integer. */
export function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * A WebSocket connection, whichever backend carries it. Obtain one from the
 * `Deno.serve` middleware ({@linkcode webSockets}) or
 * {@linkcode acceptWebSocket}; backends subclass it.
 *
 * Reading: use exactly one of `receive()` (pieces of at most
 * `receiveBufferSize` bytes), `for await` (whole messages) or `message`
 * events. Adding a `message` listener switches the socket to event delivery
 * for good; from then on `receive()` and iteration throw.
 *
 * @example An echo handler
 * ```ts
 * import { webSockets } from "@socketry/socketry";
 *
 * const handler = webSockets({ path: "/ws" }, async (socket) => {
 *   for await (const message of socket) await socket.send(message);
 * });
 * // Deno.serve(handler);
 * ```
 */
export abstract class Socket extends EventTarget {
  /** The options this socket runs with. */
  protected readonly options: ResolvedSocketOptions;
  #state: SocketState = "connecting";
  #incoming: Incoming[] = [];
  // One timer each for the waits of sends and of reads (see WaitTimer).
  #sendTimer: WaitTimer | undefined;
  #receiveTimer: WaitTimer | undefined;
  #incomingBytes = 0;
  #queuedFinals = 0;
  #incomingMessageSize = 0;
  #reader: WaitingReader | undefined;
  #arrival: PromiseWithResolvers<void> | undefined;
  #peerClose: ReceivedClose | undefined;
  #closeDelivered = false;
  #eventMode = false;
  #outgoing: Outgoing[] = [];
  #outgoingBytes = 0;
  #pumping = false;
  #sendingType: MessageType | undefined;
  #localCloseRequested = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #opened = Promise.withResolvers<void>();
  #ended: SocketClosed | undefined;
  #closed = Promise.withResolvers<SocketClosed>();
  #bytesSent = 0;
  #bytesReceived = 0;
  #messagesSent = 0;
  #messagesReceived = 0;
  #openedAt: number | undefined;
  #lastActivityAt: number | undefined;
  #onmessage: ((event: MessageEvent<MessageData>) => void) | null = null;
  #messageListeners: {
    readonly callback: EventListenerOrEventListenerObject;
    readonly once: boolean;
  }[] = [];

  /** Sets the options; backends call this with options already resolved. */
  protected constructor(options: ResolvedSocketOptions) {
    super();
    this.options = options;
    // A socket that never opens must not leave `send()` waiters hanging.
    this.#opened.promise.catch(() => {});
  }

  /** Where the socket is in its life. */
  get state(): SocketState {
    return this.#state;
  }

  /** The subprotocol agreed in the handshake, or an empty string. */
  abstract get protocol(): string;

  /** The extensions agreed in the handshake, or an empty string. */
  abstract get extensions(): string;

  /** Bytes accepted by `send()` and not yet handed to the network. */
  get bufferedAmount(): number {
    return this.#outgoingBytes + this.transportBufferedAmount();
  }

  /** Settles once, when the socket has ended, saying how. Never rejects. */
  get closed(): Promise<SocketClosed> {
    return this.#closed.promise;
  }

  /** A snapshot of the socket's counters. */
  get stats(): SocketStats {
    return {
      bytesSent: this.#bytesSent,
      bytesReceived: this.#bytesReceived,
      messagesSent: this.#messagesSent,
      messagesReceived: this.#messagesReceived,
      openedAt: this.#openedAt,
      lastActivityAt: this.#lastActivityAt,
    };
  }

  /** A handler for `message` events; setting one switches to event delivery. */
  get onmessage(): ((event: MessageEvent<MessageData>) => void) | null {
    return this.#onmessage;
  }

  set onmessage(handler: ((event: MessageEvent<MessageData>) => void) | null) {
    if (this.#onmessage !== null) {
      this.removeEventListener("message", this.#onmessage);
    }
    this.#onmessage = handler;
    if (handler !== null) {
      this.addEventListener("message", handler as EventListener);
    }
  }

  /**
   * Adds an event listener. The first `message` listener switches the socket
   * to event delivery: messages already queued are dispatched at once.
   */
  override addEventListener<K extends keyof SocketEventMap>(
    type: K,
    listener: (this: Socket, event: SocketEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Adds a listener for any event type. */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (type !== "message" || listener === null) {
      super.addEventListener(type, listener, options);
      return;
    }
    // Message listeners are called directly, not through dispatchEvent: it is
    // the hot path, and EventTarget's dispatch costs as much as the rest.
    const once = typeof options === "object" && options.once === true;
    const signal = typeof options === "object" ? options.signal : undefined;
    if (signal?.aborted) return;
    if (!this.#messageListeners.some((entry) => entry.callback === listener)) {
      this.#messageListeners.push({ callback: listener, once });
      signal?.addEventListener(
        "abort",
        () => this.removeEventListener("message", listener as EventListener),
        { once: true },
      );
    }
    if (!this.#eventMode) {
      this.#eventMode = true;
      if (this.#reader !== undefined) {
        this.#reader.resolvers.reject(this.#eventModeError("receive()"));
        this.#reader = undefined;
      }
      queueMicrotask(() => this.#dispatchQueuedMessages());
    }
  }

  /** Removes an event listener added for one of the socket's events. */
  override removeEventListener<K extends keyof SocketEventMap>(
    type: K,
    listener: (this: Socket, event: SocketEventMap[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Removes a listener for any event type. */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    if (type !== "message") {
      super.removeEventListener(type, listener, options);
      return;
    }
    const index = this.#messageListeners.findIndex((entry) =>
      entry.callback === listener
    );
    if (index !== -1) this.#messageListeners.splice(index, 1);
  }

  /**
   * Waits for the next piece of data, at most `receiveBufferSize` bytes, or
   * for the peer's close. Rejects with a `WebSocketError` once the socket has
   * ended without a close frame, and after the close was already returned.
   * With `into`, the piece is copied into that buffer, up to its length.
   *
   * @throws {TypeError} when `into` is not a `Uint8Array`.
   * @throws {RangeError} when `maxBytes` is not a positive integer or `into`
   * is empty.
   */
  receive(options: ReceiveOptions = {}): Promise<ReceiveResult> {
    const into = options.into;
    if (into !== undefined) {
      if (!(into instanceof Uint8Array)) {
        throw new TypeError(`into must be a Uint8Array, got ${typeof into}`);
      }
      if (into.byteLength === 0) {
        throw new RangeError("into must have room for at least one byte");
      }
    }
    const cap = into?.byteLength ?? this.options.receiveBufferSize;
    const maxBytes = options.maxBytes === undefined
      ? cap
      : Math.min(positiveInteger("maxBytes", options.maxBytes), cap);
    if (this.#eventMode) {
      return Promise.reject(this.#eventModeError("receive()"));
    }
    if (this.#reader !== undefined) {
      return Promise.reject(
        new WebSocketError("Another receive() is already waiting", {
          status: WebSocketStatus.InvalidState,
        }),
      );
    }
    const ready = this.#takeReady(maxBytes, into);
    if (ready !== undefined) return Promise.resolve(ready);
    const failure = this.#receiveFailure();
    if (failure !== undefined) return Promise.reject(failure);
    const reader: WaitingReader = {
      resolvers: Promise.withResolvers<ReceiveResult>(),
      maxBytes,
      into,
    };
    this.#reader = reader;
    const fail = (error: WebSocketError) => {
      if (this.#reader !== reader) return;
      this.#reader = undefined;
      reader.resolvers.reject(error);
    };
    const { promise } = reader.resolvers;
    const stop = this.#bound("receive()", options.signal, fail);
    if (stop !== undefined) promise.then(stop, stop);
    return promise;
  }

  // Waits of one kind all last as long: one timer serves them.
  #waitTimer(send: boolean, timeout: number): WaitTimer {
    return send
      ? this.#sendTimer ??= new WaitTimer(timeout)
      : this.#receiveTimer ??= new WaitTimer(timeout);
  }

  /**
   * Watches a waiting operation: `fail` gets a `cancelled` error when
   * `signal` aborts and a `timeout` error after `receiveTimeout` or
   * `sendTimeout`. Returns the function that stops watching, if any.
   */
  #bound(
    what: "receive()" | "send()" | "iteration",
    signal: AbortSignal | undefined,
    fail: (error: WebSocketError) => void,
  ): (() => void) | undefined {
    const timeout = what === "send()"
      ? this.options.sendTimeout
      : this.options.receiveTimeout;
    const timed = Number.isFinite(timeout);
    if (signal === undefined && !timed) return undefined;
    const stopTimer = timed
      ? this.#waitTimer(what === "send()", timeout).start(() =>
        fail(
          new WebSocketError(
            what === "send()"
              ? `send() timed out: the data waited ${timeout} ms in the send queue (sendTimeout)`
              : `${what} timed out: no data arrived within ${timeout} ms (receiveTimeout)`,
            { status: WebSocketStatus.Timeout },
          ),
        )
      )
      : undefined;
    if (signal === undefined) return stopTimer;
    const onAbort = () => fail(cancelled(what, signal));
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener("abort", onAbort, { once: true });
    return () => {
      stopTimer?.();
      signal.removeEventListener("abort", onAbort);
    };
  }

  /**
   * Iterates over whole messages (strings for text, bytes for binary) until
   * the socket ends, however it ends; `closed` says how. A step that waits
   * longer than `receiveTimeout` throws a `timeout` error.
   */
  [Symbol.asyncIterator](): AsyncGenerator<MessageData, void, void> {
    return this.messages();
  }

  /**
   * Iterates over whole messages like `for await (… of socket)`, with a
   * signal that ends the iteration: the waiting step then throws a
   * `cancelled` error. The socket stays open.
   *
   * @example Stop reading after a second
   * ```ts
   * import { fromStream, type MessageData } from "@socketry/socketry";
   *
   * const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
   * const socket = fromStream(readable, writable, { role: "client" });
   * const seen: MessageData[] = [];
   * try {
   *   for await (const message of socket.messages({ signal: AbortSignal.timeout(1000) })) {
   *     seen.push(message);
   *   }
   * } catch (error) {
   *   console.log((error as Error).message); // iteration was cancelled
   * }
   * socket.abort();
   * ```
   */
  async *messages(
    options: MessagesOptions = {},
  ): AsyncGenerator<MessageData, void, void> {
    if (this.#eventMode) throw this.#eventModeError("iteration");
    while (true) {
      const message = this.#takeMessage();
      if (message !== undefined) {
        yield message;
        continue;
      }
      if (this.#peerClose !== undefined) {
        if (!this.#closeDelivered && this.#incoming.length === 0) {
          this.#closeDelivered = true;
          this.onCloseDelivered();
        }
        return;
      }
      if (this.#ended !== undefined) return;
      await this.#nextArrival(options.signal);
    }
  }

  async #nextArrival(signal: AbortSignal | undefined): Promise<void> {
    const arrival = this.#arrival ??= Promise.withResolvers<void>();
    const failure = Promise.withResolvers<never>();
    const stop = this.#bound("iteration", signal, failure.reject);
    if (stop === undefined) return await arrival.promise;
    try {
      await Promise.race([arrival.promise, failure.promise]);
    } finally {
      stop();
    }
  }

  /**
   * Sends data. With `endOfMessage: false` the data is a fragment and the next
   * `send()` continues the same message. Resolves once the data was handed
   * to the transport and fewer than `sendHighWaterMark` bytes wait behind it;
   * rejects with `sendQueueFull` when more than `maxBufferedAmount` would wait.
   * Before the socket opens, sends wait for it.
   */
  send(data: SendData, options: SendOptions = {}): Promise<void> {
    const final = options.endOfMessage ?? true;
    const { payload, type, size } = normalizeSendData(data, options.type);
    if (this.#sendingType !== undefined && this.#sendingType !== type) {
      throw new TypeError(
        `A ${this.#sendingType} message is being sent in fragments; its next fragment cannot be ${type}`,
      );
    }
    const unusable = this.#sendFailure();
    if (unusable !== undefined) return Promise.reject(unusable);
    if (options.signal?.aborted) {
      return Promise.reject(cancelled("send()", options.signal));
    }
    // An upper bound first: reading the exact figure costs a call into the
    // runtime on some backends, and the bound usually settles both checks.
    let transportBuffered = this.transportBufferedBound();
    if (
      transportBuffered >= this.options.sendHighWaterMark ||
      this.#outgoingBytes + transportBuffered + size >
        this.options.maxBufferedAmount
    ) {
      transportBuffered = this.transportBufferedAmount();
    }
    const buffered = this.#outgoingBytes + transportBuffered;
    if (buffered + size > this.options.maxBufferedAmount) {
      return Promise.reject(
        new WebSocketError(
          `Send queue full: ${buffered} bytes wait to be written and ${size} more would pass maxBufferedAmount (${this.options.maxBufferedAmount}); the peer reads too slowly`,
          { status: WebSocketStatus.SendQueueFull },
        ),
      );
    }
    const first = this.#sendingType === undefined;
    this.#sendingType = final ? undefined : type;
    const compress = options.compress ?? true;
    if (
      this.#state === "open" && this.#outgoing.length === 0 &&
      transportBuffered < this.options.sendHighWaterMark
    ) {
      let written: Promise<void> | void;
      try {
        written = this.transmit(payload, type, final, compress);
      } catch (error) {
        if (error instanceof WebSocketError) return Promise.reject(error);
        throw error;
      }
      this.#countSent(size, final);
      return written ?? Promise.resolve();
    }
    const resolvers = Promise.withResolvers<void>();
    const item: Outgoing = {
      data: payload,
      type,
      final,
      first,
      compress,
      size,
      resolvers,
    };
    this.#outgoing.push(item);
    this.#outgoingBytes += size;
    const stop = this.#bound(
      "send()",
      options.signal,
      (error) => this.#dropQueued(item, error),
    );
    if (stop !== undefined) resolvers.promise.then(stop, stop);
    this.#pump();
    return resolvers.promise;
  }

  /** Takes a cancelled or timed-out send out of the queue. */
  #dropQueued(item: Outgoing, error: WebSocketError): void {
    const index = this.#outgoing.indexOf(item);
    if (index === -1) return;
    this.#outgoing.splice(index, 1);
    this.#outgoingBytes -= item.size;
    item.resolvers.reject(error);
    if (item.first && item.final) return;
    // Part of a message is gone: the rest can never form a valid message.
    this.abort();
  }

  /**
   * Runs the close handshake: waits for queued sends, sends a close frame
   * and waits up to `closeTimeout` for the peer's. Codes must be 1000–1003,
   * 1007–1014 or 3000–4999 and the reason at most 123 UTF-8 bytes, or it
   * throws `RangeError`. Once the socket has ended it returns the outcome.
   */
  close(code = 1000, reason = ""): Promise<SocketClosed> {
    validateClose(code, reason);
    this.#startClose(code, reason);
    return this.closed;
  }

  /**
   * Sends a close frame without waiting for the peer's (a half-close): this
   * side will send nothing more, and `receive()` keeps returning what the
   * peer still sends until its close frame. Resolves once the close frame
   * was handed to the transport.
   */
  closeOutput(code = 1000, reason = ""): Promise<void> {
    validateClose(code, reason);
    return this.#startClose(code, reason);
  }

  /** Drops the connection at once, without a close handshake. */
  abort(): void {
    if (this.#ended !== undefined) return;
    this.#state = "aborted";
    this.terminate(false);
    this.finish({
      code: 1006,
      reason: "Aborted",
      wasClean: false,
      initiator: "local",
      ending: "abort",
    });
  }

  // ---- for backends -------------------------------------------------------

  /**
   * Writes one message or fragment. May return a promise that settles once
   * the transport took the bytes.
   */
  protected abstract transmit(
    data: string | Uint8Array,
    type: MessageType,
    final: boolean,
    compress: boolean,
  ): Promise<void> | void;

  /** Sends a close frame. */
  protected abstract transmitClose(code: number, reason: string): void;

  /**
   * Ends the transport without completing a close handshake. With
   * `graceful`, bytes already written (a close frame that fails the
   * connection) are flushed first; otherwise the connection drops at once.
   */
  protected abstract terminate(graceful: boolean): void;

  /** Bytes the transport holds that are not yet on the network. */
  protected abstract transportBufferedAmount(): number;

  /**
   * At least what `transportBufferedAmount()` would say, possibly more;
   * backends where the exact figure is costly keep a cheaper bound.
   */
  protected transportBufferedBound(): number {
    return this.transportBufferedAmount();
  }

  /** Resolves when the transport's buffer may have drained. */
  protected abstract waitForDrain(): Promise<void>;

  /** Backends call this when the connection opens. */
  protected handleOpen(): void {
    if (this.#state !== "connecting") return;
    this.#state = "open";
    this.#openedAt = Date.now();
    this.#opened.resolve();
    this.dispatchEvent(new Event("open"));
    this.#pump();
  }

  /**
   * Backends call this with each piece of incoming data, in order; `final`
   * marks the end of a message. Text given as bytes must already be
   * validated UTF-8: it is decoded without checks. `hold` comes with bytes
   * that view a transport's lent buffer (see the engine's `TransportSink`):
   * they are copied or held, never kept as they are.
   */
  protected handleData(
    type: MessageType,
    payload: string | Uint8Array,
    final: boolean,
    hold?: () => () => void,
  ): void {
    if (this.#ended !== undefined) return;
    const size = typeof payload === "string"
      ? stringByteLengthUpTo(payload, this.options.maxMessageSize)
      : payload.byteLength;
    this.#incomingMessageSize += size;
    if (this.#incomingMessageSize > this.options.maxMessageSize) {
      this.failConnection(
        new WebSocketError(
          `Message exceeds maxMessageSize (${this.options.maxMessageSize} bytes)`,
          { status: WebSocketStatus.MessageTooBig, code: 1009 },
        ),
      );
      return;
    }
    this.#bytesReceived += size;
    this.#lastActivityAt = Date.now();
    if (final) {
      this.#messagesReceived++;
      this.#incomingMessageSize = 0;
    }
    if (
      this.#eventMode && final && this.#incoming.length === 0
    ) {
      this.#dispatchMessage(messageData(type, payload, hold !== undefined));
      return;
    }
    let release: (() => void) | undefined;
    if (hold !== undefined && typeof payload !== "string") {
      // Holding a lent buffer for a small piece would pin all of it for a
      // few bytes; copying those keeps what is held under twice the data.
      if (payload.byteLength * 2 >= payload.buffer.byteLength) release = hold();
      else payload = payload.slice();
    }
    this.#incoming.push({ type, payload, size, final, offset: 0, release });
    this.#incomingBytes += size;
    if (final) this.#queuedFinals++;
    if (!this.#eventMode) this.#wakeReader();
    else if (final) this.#dispatchQueuedMessages();
  }

  /**
   * Backends call this when the peer's close frame arrived. With `replied`
   * the backend already answered it and the handshake is complete.
   */
  protected handleCloseFrame(
    code: number,
    reason: string,
    replied: boolean,
  ): void {
    if (this.#ended !== undefined || this.#peerClose !== undefined) return;
    this.#peerClose = {
      type: "close",
      data: EMPTY,
      endOfMessage: true,
      code,
      reason,
    };
    const localFirst = this.#state === "closeSent";
    this.#state = "closeReceived";
    this.#wakeReader();
    if (localFirst || replied) {
      this.finish({
        code,
        reason,
        wasClean: true,
        initiator: localFirst ? "local" : "remote",
        ending: "close",
      });
    }
  }

  /**
   * Fails the connection because of `error` (a protocol violation or limit):
   * sends its close code when the backend can, then ends the socket.
   */
  protected failConnection(error: WebSocketError): void {
    if (this.#ended !== undefined) return;
    this.transmitClose(error.code ?? 1011, closeReasonFor(error));
    this.terminate(true);
    this.finish({
      code: error.code ?? 1006,
      reason: error.message,
      wasClean: false,
      initiator: "local",
      ending: "error",
      error,
    });
  }

  /**
   * Ends the socket once: settles `closed`, fails waiting sends and reads,
   * dispatches `error` (when there is one) and `close`.
   */
  protected finish(outcome: SocketClosed): void {
    if (this.#ended !== undefined) return;
    this.#ended = outcome;
    if (this.#state !== "aborted") this.#state = "closed";
    clearTimeout(this.#closeTimer);
    this.#sendTimer?.clear();
    this.#receiveTimer?.clear();
    this.#sendingType = undefined;
    const failure = this.#sendFailure()!;
    this.#opened.reject(failure);
    for (const item of this.#outgoing.splice(0)) item.resolvers.reject(failure);
    this.#outgoingBytes = 0;
    this.#wakeReader();
    if (outcome.error !== undefined) {
      this.dispatchEvent(
        new ErrorEvent("error", {
          error: outcome.error,
          message: outcome.error.message,
        }),
      );
    }
    this.dispatchEvent(new SocketCloseEvent(outcome));
    this.#closed.resolve(outcome);
  }

  /**
   * Answers the peer's close frame, echoing its code and reason, once the
   * sends already queued were written: replies to messages that came before
   * the close still go out.
   */
  protected answerClose(): void {
    const peer = this.#peerClose;
    if (peer !== undefined && this.#state === "closeReceived") {
      this.#startClose(peer.code, peer.reason);
    }
  }

  /** Bytes received and queued that the application has not taken yet. */
  protected get bufferedIncoming(): number {
    return this.#incomingBytes;
  }

  /**
   * Called after the application took queued data: a backend that paused
   * reading because `bufferedIncoming` grew may resume.
   */
  protected onIncomingTaken(): void {}

  /** Complete messages received and not taken by the application yet. */
  protected get completeMessagesQueued(): number {
    return this.#queuedFinals;
  }

  /**
   * Called when `receive()` hands the peer's close to the application: a
   * backend that waits for the application before answering may answer now.
   */
  protected onCloseDelivered(): void {}

  /** The close frame the peer sent, if one arrived. */
  protected get peerClose(): ReceivedClose | undefined {
    return this.#peerClose;
  }

  // ---- internals ----------------------------------------------------------

  #startClose(code: number, reason: string): Promise<void> {
    if (this.#ended !== undefined || this.#localCloseRequested) {
      return this.#closed.promise.then(() => {});
    }
    this.#localCloseRequested = true;
    this.#sendingType = undefined;
    const sent = Promise.withResolvers<void>();
    const deadline = setTimeout(() => {
      if (this.#ended !== undefined) return;
      this.terminate(false);
      const error = new WebSocketError(
        `The peer did not complete the close handshake within ${this.options.closeTimeout} ms`,
        { status: WebSocketStatus.Timeout, code: 1006 },
      );
      this.finish({
        code: 1006,
        reason: error.message,
        wasClean: false,
        initiator: "local",
        ending: "timeout",
        error,
      });
    }, this.options.closeTimeout);
    this.#closeTimer = deadline;
    this.#drained().then(() => {
      if (this.#ended !== undefined) return;
      const replying = this.#state === "closeReceived";
      this.transmitClose(code, reason);
      if (replying) {
        const peer = this.#peerClose!;
        this.finish({
          code: peer.code,
          reason: peer.reason,
          wasClean: true,
          initiator: "remote",
          ending: "close",
        });
      } else {
        this.#state = "closeSent";
      }
    }).finally(() => sent.resolve());
    return sent.promise;
  }

  /** Resolves when the socket is open and every queued send was written. */
  async #drained(): Promise<void> {
    try {
      await this.#opened.promise;
    } catch {
      return;
    }
    while (this.#outgoing.length > 0 || this.#pumping) {
      if (this.#ended !== undefined) return;
      await this.waitForDrain();
    }
  }

  async #pump(): Promise<void> {
    if (this.#pumping || this.#state === "connecting") return;
    this.#pumping = true;
    try {
      while (this.#outgoing.length > 0 && this.#ended === undefined) {
        while (
          this.transportBufferedAmount() >= this.options.sendHighWaterMark &&
          this.#ended === undefined
        ) {
          await this.waitForDrain();
        }
        const item = this.#outgoing.shift();
        if (item === undefined || this.#ended !== undefined) break;
        this.#outgoingBytes -= item.size;
        try {
          await this.transmit(item.data, item.type, item.final, item.compress);
          this.#countSent(item.size, item.final);
          item.resolvers.resolve();
        } catch (error) {
          item.resolvers.reject(this.#sendFailure() ?? error);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #countSent(size: number, final: boolean): void {
    this.#bytesSent += size;
    if (final) this.#messagesSent++;
    this.#lastActivityAt = Date.now();
  }

  #takeReady(
    maxBytes: number,
    into: Uint8Array | undefined,
  ): ReceiveResult | undefined {
    const head = this.#incoming[0];
    if (head === undefined) {
      if (this.#peerClose !== undefined && !this.#closeDelivered) {
        this.#closeDelivered = true;
        this.onCloseDelivered();
        return this.#peerClose;
      }
      return undefined;
    }
    if (typeof head.payload === "string") {
      head.payload = encoder.encode(head.payload);
    }
    const bytes = head.payload;
    const end = Math.min(bytes.byteLength, head.offset + maxBytes);
    let data: Uint8Array;
    if (into !== undefined) {
      data = into.subarray(0, end - head.offset);
      data.set(bytes.subarray(head.offset, end));
    } else if (head.release !== undefined) {
      data = bytes.slice(head.offset, end);
    } else data = bytes.subarray(head.offset, end);
    head.offset = end;
    const done = end === bytes.byteLength;
    if (done) {
      this.#incoming.shift();
      head.release?.();
      if (head.final) this.#queuedFinals--;
    }
    this.#incomingBytes -= data.byteLength;
    this.onIncomingTaken();
    return { type: head.type, data, endOfMessage: done && head.final };
  }

  /** Takes the next complete message from the queue, joining its parts. */
  #takeMessage(): MessageData | undefined {
    const head = this.#incoming[0];
    if (head === undefined || this.#queuedFinals === 0) return undefined;
    this.#queuedFinals--;
    if (head.final && head.offset === 0) {
      this.#incoming.shift();
      this.#incomingBytes -= head.size;
      const message = messageData(
        head.type,
        head.payload,
        head.release !== undefined,
      );
      head.release?.();
      this.onIncomingTaken();
      return message;
    }
    const end = this.#incoming.findIndex((item) => item.final);
    const items = this.#incoming.splice(0, end + 1);
    const parts = items.map((item) =>
      (typeof item.payload === "string"
        ? encoder.encode(item.payload)
        : item.payload).subarray(item.offset)
    );
    let total = 0;
    for (const part of parts) total += part.byteLength;
    const whole = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      whole.set(part, offset);
      offset += part.byteLength;
    }
    for (const item of items) item.release?.();
    this.#incomingBytes -= total;
    this.onIncomingTaken();
    return head.type === "text" ? decoder.decode(whole) : whole;
  }

  #dispatchQueuedMessages(): void {
    for (
      let message = this.#takeMessage();
      message !== undefined;
      message = this.#takeMessage()
    ) {
      this.#dispatchMessage(message);
    }
  }

  #dispatchMessage(data: MessageData): void {
    const listeners = this.#messageListeners;
    if (listeners.length === 0) return;
    const event = new MessageEvent("message", { data });
    for (const entry of listeners.length === 1 ? listeners : [...listeners]) {
      if (entry.once) {
        this.removeEventListener("message", entry.callback as EventListener);
      }
      try {
        if (typeof entry.callback === "function") {
          entry.callback.call(this, event);
        } else entry.callback.handleEvent(event);
      } catch (error) {
        // As EventTarget does: a throwing listener is reported, not propagated.
        reportError(error);
      }
    }
  }

  #wakeReader(): void {
    const arrival = this.#arrival;
    if (arrival !== undefined) {
      this.#arrival = undefined;
      arrival.resolve();
    }
    const reader = this.#reader;
    if (reader === undefined) return;
    const ready = this.#takeReady(reader.maxBytes, reader.into);
    if (ready !== undefined) {
      this.#reader = undefined;
      reader.resolvers.resolve(ready);
      return;
    }
    const failure = this.#receiveFailure();
    if (failure !== undefined) {
      this.#reader = undefined;
      reader.resolvers.reject(failure);
    }
  }

  #receiveFailure(): WebSocketError | undefined {
    if (this.#ended === undefined) return undefined;
    return endedError("receive()", this.#ended);
  }

  #sendFailure(): WebSocketError | undefined {
    if (this.#ended !== undefined) return endedError("send()", this.#ended);
    if (this.#localCloseRequested) {
      return new WebSocketError(
        "Cannot send: close() or closeOutput() was already called on this socket",
        { status: WebSocketStatus.InvalidState },
      );
    }
    return undefined;
  }

  #eventModeError(what: string): WebSocketError {
    return new WebSocketError(
      `Cannot use ${what}: this socket delivers messages as "message" events since a listener was added`,
      { status: WebSocketStatus.InvalidState },
    );
  }
}

function normalizeSendData(
  data: SendData,
  type: MessageType | undefined,
): { payload: string | Uint8Array; type: MessageType; size: number } {
  if (type !== undefined && type !== "text" && type !== "binary") {
    throw new TypeError(
      `Unknown message type "${type}": use "text" or "binary"`,
    );
  }
  if (typeof data === "string") {
    if (type === "binary") {
      const bytes = encoder.encode(data);
      return { payload: bytes, type, size: bytes.byteLength };
    }
    return { payload: data, type: "text", size: utf8ByteLength(data) };
  }
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) {
    bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } else {
    throw new TypeError(
      `Cannot send ${
        Object.prototype.toString.call(data)
      }: use a string, ArrayBuffer or typed array`,
    );
  }
  return { payload: bytes, type: type ?? "binary", size: bytes.byteLength };
}

/**
 * A whole message as the application gets it: text decoded, binary bytes
 * copied out of a lent buffer (`lent`), which the transport reuses.
 */
function messageData(
  type: MessageType,
  payload: string | Uint8Array,
  lent: boolean,
): MessageData {
  if (typeof payload === "string") return payload;
  if (type === "text") return decoder.decode(payload);
  return lent ? payload.slice() : payload;
}

/** The UTF-8 size of `text`, exact unless it certainly exceeds `limit`. */
function stringByteLengthUpTo(text: string, limit: number): number {
  // Each UTF-16 unit is at most 3 UTF-8 bytes and at least 1.
  if (text.length * 3 <= limit) return utf8ByteLength(text);
  if (text.length > limit) return text.length;
  return utf8ByteLength(text);
}

function describeClose(code: number, reason: string): string {
  return reason === "" ? `${code}` : `${code} "${reason}"`;
}

function closeReasonFor(error: WebSocketError): string {
  const reason = error.message;
  return encoder.encode(reason).byteLength <= 123
    ? reason
    : reason.slice(0, 40);
}

function endedError(what: string, outcome: SocketClosed): WebSocketError {
  const how = describeEnding(outcome);
  const status = outcome.error?.status ??
    (outcome.ending === "abort"
      ? WebSocketStatus.Aborted
      : outcome.ending === "disconnect"
      ? WebSocketStatus.Disconnected
      : WebSocketStatus.Closed);
  return new WebSocketError(`Cannot use ${what}: ${how}`, {
    status,
    code: outcome.code,
    ...(outcome.error === undefined ? {} : { cause: outcome.error }),
  });
}

/** A sentence saying how a socket ended, for error messages and logs. */
export function describeEnding(outcome: SocketClosed): string {
  switch (outcome.ending) {
    case "close":
      return `the socket was closed by ${
        outcome.initiator === "remote" ? "the peer" : "this side"
      } (${describeClose(outcome.code, outcome.reason)})`;
    case "disconnect":
      return `the peer disconnected without a close handshake (${outcome.reason})`;
    case "timeout":
      return `the socket timed out (${outcome.reason})`;
    case "abort":
      return "the socket was aborted";
    case "error":
      return `the socket failed (${
        describeClose(outcome.code, outcome.reason)
      })`;
  }
}

function cancelled(what: string, signal: AbortSignal): WebSocketError {
  return new WebSocketError(`${what} was cancelled`, {
    status: WebSocketStatus.Cancelled,
    cause: signal.reason,
  });
}
