/**
 * The `Socket` shared by every backend: its state, the close handshake and
 * the public face (`receive()`, `send()`, `for await`, events, `closed`,
 * statistics, web streams), composed of an {@linkcode Inbox} for what
 * arrives and an {@linkcode Outbox} for what leaves. Backends subclass it:
 * they feed it incoming data and implement the transport primitives;
 * applications never see the difference.
 *
 * @module
 */

import { validateClose } from "../protocol/close_codes.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { utf8ByteLength } from "../utf8_length.ts";
import { Counters } from "./counters.ts";
import { closeReasonFor, endedError } from "./ending.ts";
import { Inbox, type InboxHooks, messageData } from "./inbox.ts";
import { MessageListeners } from "./message_listeners.ts";
import { positiveInteger, type ResolvedSocketOptions } from "./options.ts";
import { Outbox, type OutboxTransport } from "./outbox.ts";
import { messageReadable, messageWritable } from "./streams.ts";
import {
  type MessageData,
  type MessagesOptions,
  type MessageType,
  type ReceivedClose,
  type ReceiveOptions,
  type ReceiveResult,
  type SendData,
  type SendOptions,
  type SocketClosed,
  SocketCloseEvent,
  type SocketEventMap,
  type SocketState,
  type SocketStats,
} from "./types.ts";

/** What {@linkcode onSocketEnd} calls: the socket and how it ended. */
export type SocketEndHook = (socket: Socket, closed: SocketClosed) => void;

let setEndHook: (socket: Socket, hook: SocketEndHook) => boolean;
let outboxOf: (socket: Socket) => Outbox;

/**
 * Has `hook` called as `socket` ends, before any `error` or `close` listener
 * runs and before `closed` settles (after the hooks set before it). The
 * processor uses it to take an ended socket out of its groups and to
 * complete it: an event listener would cost every socket the storage of a
 * listener (about half a kilobyte), and would run after listeners added
 * before it; waiting on `closed` would cost every socket that promise and a
 * reaction. Returns false, and sets nothing, when the socket has already
 * ended. Not part of the package's API.
 */
export function onSocketEnd(socket: Socket, hook: SocketEndHook): boolean {
  return setEndHook(socket, hook);
}

/**
 * Sends a whole message already checked and measured (a prepared message)
 * on `socket`, as `send()` would, without checking and measuring it again
 * for every socket of a broadcast. Not part of the package's API.
 */
export function sendMeasured(
  socket: Socket,
  payload: string | Uint8Array,
  type: MessageType,
  size: number,
  compress: boolean,
): Promise<void> {
  return outboxOf(socket).sendMeasured(payload, type, size, compress);
}

/**
 * As {@linkcode sendMeasured}, for a caller that will not wait for the send
 * (a broadcast): makes no promise, and returns the refusal when `socket`
 * refused the message at once. Not part of the package's API.
 */
export function offerMeasured(
  socket: Socket,
  payload: string | Uint8Array,
  type: MessageType,
  size: number,
  compress: boolean,
): WebSocketError | undefined {
  return outboxOf(socket).offerMeasured(payload, type, size, compress);
}

/**
 * A WebSocket connection, whichever backend carries it. Obtain one from the
 * `Deno.serve` middleware ({@linkcode webSockets}) or
 * {@linkcode acceptWebSocket}; backends subclass it.
 *
 * Reading: use exactly one of `receive()` (pieces of at most
 * `receiveBufferSize` bytes), `for await` (whole messages), `readable` (whole
 * messages as a web stream) or `message` events. Adding a `message`
 * listener switches the socket to event delivery for good; from then on
 * `receive()`, iteration and `readable` throw.
 *
 * @example An echo handler
 * ```ts
 * import { webSockets } from "@socketry/socketry";
 *
 * // Replies from a message listener go out before Deno answers a close
 * // that follows them (see the README's "Replying on the default backend").
 * const handler = webSockets({ path: "/ws" }, (socket) => {
 *   socket.addEventListener("message", ({ data }) => {
 *     socket.send(data).catch(() => socket.abort());
 *   });
 * });
 * // Deno.serve(handler);
 * ```
 */
export abstract class Socket extends EventTarget {
  /** The options this socket runs with. */
  protected readonly options: ResolvedSocketOptions;
  /**
   * What the server's `authorize` check returned for this socket (typed in
   * your socket handler), or `undefined`. Free for your own use otherwise.
   */
  data: unknown = undefined;
  #state: SocketState = "connecting";
  readonly #counters = new Counters();
  readonly #inbox: Inbox;
  readonly #outbox: Outbox;
  readonly #listeners = new MessageListeners();
  #incomingMessageSize = 0;
  #eventMode = false;
  #localCloseRequested = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Made when a close waits for the socket to open: settles as it opens or ends. */
  #opening: PromiseWithResolvers<void> | undefined;
  #ended: SocketClosed | undefined;
  // Made when `closed` is first read: most sockets' promise never is, and
  // one with its resolver costs about a quarter of a kilobyte.
  #closed: Promise<SocketClosed> | undefined;
  #settleClosed: ((closed: SocketClosed) => void) | undefined;
  #onmessage: ((event: MessageEvent<MessageData>) => void) | null = null;
  #endHook: SocketEndHook | undefined;
  #readable: ReadableStream<MessageData> | undefined;
  #writable: WritableStream<SendData> | undefined;

  /**
   * What the inbox and the outbox call on their socket: one object per
   * socket rather than a closure per call (they add up over many sockets).
   */
  static readonly #Link = class implements InboxHooks, OutboxTransport {
    readonly #socket: Socket;
    readonly queues: boolean;

    constructor(socket: Socket) {
      this.#socket = socket;
      this.queues = socket.transportQueues;
    }

    taken(): void {
      this.#socket.onIncomingTaken();
    }

    closeDelivered(): void {
      this.#socket.onCloseDelivered();
    }

    transmit(
      data: string | Uint8Array,
      type: MessageType,
      final: boolean,
      compress: boolean,
    ): Promise<void> | void {
      return this.#socket.transmit(data, type, final, compress);
    }

    bufferedAmount(): number {
      return this.#socket.transportBufferedAmount();
    }

    bufferedBound(): number {
      return this.#socket.transportBufferedBound();
    }

    waitForDrain(): Promise<void> {
      return this.#socket.waitForDrain();
    }

    abort(): void {
      this.#socket.abort();
    }
  };

  static {
    setEndHook = (socket, hook) => {
      if (socket.#ended !== undefined) return false;
      const before = socket.#endHook;
      socket.#endHook = before === undefined ? hook : (ended, closed) => {
        before(ended, closed);
        hook(ended, closed);
      };
      return true;
    };
    outboxOf = (socket) => socket.#outbox;
  }

  /** Sets the options; backends call this with options already resolved. */
  protected constructor(options: ResolvedSocketOptions) {
    super();
    this.options = options;
    const link = new Socket.#Link(this);
    this.#inbox = new Inbox(options.receiveTimeout, link);
    this.#outbox = new Outbox(options, this.#counters, link);
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
    return this.#outbox.bytes + this.transportBufferedAmount();
  }

  /** Settles once, when the socket has ended, saying how. Never rejects. */
  get closed(): Promise<SocketClosed> {
    if (this.#closed === undefined) {
      if (this.#ended !== undefined) {
        this.#closed = Promise.resolve(this.#ended);
      } else {
        const { promise, resolve } = Promise.withResolvers<SocketClosed>();
        this.#closed = promise;
        this.#settleClosed = resolve;
      }
    }
    return this.#closed;
  }

  /** A snapshot of the socket's counters. */
  get stats(): SocketStats {
    return this.#counters.snapshot();
  }

  /**
   * The messages received as a web stream, one chunk per message (a
   * string for text, bytes for binary). Messages are taken from the socket
   * only as the stream is read: while nobody reads, the socket keeps at most
   * its own receive buffer, and a backend that can pause reading (the engine
   * and the client) stops reading from the network until the stream is read
   * again. The stream ends when the peer's close frame arrives, and errors with
   * a `WebSocketError` when the socket ends without one. Cancelling it closes
   * the socket: with code 1000 when
   * cancelled without a reason, a `WebSocketError`'s own `code` when a close
   * frame may carry it, 1011 otherwise; what still arrives is discarded.
   *
   * Reading the stream is one of the socket's reading modes: use it instead
   * of `receive()`, `for await` or `message` events.
   *
   * @example Save an upload as it arrives
   * ```ts
   * import { serveEngine } from "@socketry/socketry";
   *
   * let received = 0;
   * const server = serveEngine({ port: 0, path: "/upload" }, async (socket) => {
   *   await socket.readable.pipeTo(
   *     new WritableStream({
   *       write(chunk) {
   *         received += typeof chunk === "string" ? chunk.length : chunk.byteLength;
   *       },
   *     }),
   *   );
   * });
   * const { port } = await server.listening;
   *
   * const client = new WebSocket(`ws://127.0.0.1:${port}/upload`);
   * await new Promise((resolve) => client.onopen = resolve);
   * for (let i = 0; i < 4; i++) client.send(new Uint8Array(64 * 1024));
   * client.close(1000);
   * await new Promise((resolve) => client.onclose = resolve);
   * await server.shutdown();
   * console.log(received); // 262144
   * ```
   */
  get readable(): ReadableStream<MessageData> {
    return this.#readable ??= messageReadable(
      this,
      () => this.#inbox.peerClose !== undefined,
    );
  }

  /**
   * A web stream that sends each chunk written as one message with
   * `send()` (strings as text, bytes as binary); a write settles as
   * `send()` does, so a writer that awaits `ready` or each write is held back
   * while the peer reads slowly. Closing the stream sends a close frame with
   * code 1000; the socket's `closed` settles once the peer answers. Aborting
   * it closes the socket with 1011, or with a `WebSocketError` reason's own
   * `code` when a close frame may carry it.
   *
   * @example Send a stream of messages
   * ```ts
   * import { serveEngine } from "@socketry/socketry";
   *
   * const server = serveEngine({ port: 0 }, async (socket) => {
   *   await ReadableStream.from(["one", "two", "three"]).pipeTo(socket.writable);
   * });
   * const { port } = await server.listening;
   *
   * const client = new WebSocket(`ws://127.0.0.1:${port}/`);
   * const received: string[] = [];
   * client.onmessage = ({ data }) => received.push(data);
   * const { code } = await new Promise<CloseEvent>((resolve) =>
   *   client.onclose = resolve
   * );
   * await server.shutdown();
   * console.log(received, code); // [ "one", "two", "three" ] 1000
   * ```
   */
  get writable(): WritableStream<SendData> {
    return this.#writable ??= messageWritable(this);
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
    const once = typeof options === "object" && options.once === true;
    const signal = typeof options === "object" ? options.signal : undefined;
    if (!this.#listeners.add(listener, once, signal)) return;
    if (!this.#eventMode) {
      this.#eventMode = true;
      this.#inbox.rejectReader(() => this.#eventModeError("receive()"));
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
    if (type !== "message") super.removeEventListener(type, listener, options);
    else this.#listeners.remove(listener);
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
    return this.#inbox.receive(maxBytes, into, options.signal);
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
   * signal that ends the iteration: the waiting step then throws, with status
   * `timeout` when the signal's reason is a `TimeoutError` (as from
   * `AbortSignal.timeout()`), `cancelled` otherwise. The socket stays open.
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
   *   console.log((error as Error).message); // iteration timed out
   * }
   * socket.abort();
   * ```
   */
  messages(
    options: MessagesOptions = {},
  ): AsyncGenerator<MessageData, void, void> {
    if (this.#eventMode) return failing(this.#eventModeError("iteration"));
    return this.#inbox.messages(options.signal);
  }

  /**
   * Sends data. With `endOfMessage: false` the data is a fragment and the next
   * `send()` continues the same message. Resolves once the data was handed
   * to the transport and fewer than `sendHighWaterMark` bytes wait behind it;
   * rejects with `sendQueueFull` when more than `maxBufferedAmount` would wait.
   * Before the socket opens, sends wait for it. Bytes given may be read
   * until the promise settles: change them only after. (The engine writes
   * binary data of 64 KiB and more from the caller's buffer without a copy,
   * and resolves once it was written.)
   */
  send(data: SendData, options: SendOptions = NO_OPTIONS): Promise<void> {
    return this.#outbox.send(data, options);
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

  /**
   * Whether the transport queues every message it is given, in order,
   * counts it in `transportBufferedAmount()` until written, and cannot take
   * it back: sends that nothing can cancel then go to it at once, even
   * behind backpressure, and only their promises wait. Read once, by the
   * constructor.
   */
  protected get transportQueues(): boolean {
    return false;
  }

  /** Backends call this when the connection opens. */
  protected handleOpen(): void {
    if (this.#state !== "connecting") return;
    this.#state = "open";
    this.#counters.opened();
    this.#opening?.resolve();
    this.#opening = undefined;
    this.dispatchEvent(new Event("open"));
    this.#outbox.open();
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
    this.#counters.received(size, final);
    if (final) this.#incomingMessageSize = 0;
    const inbox = this.#inbox;
    if (!this.#eventMode) {
      inbox.push(type, payload, size, final, hold);
      inbox.wake();
    } else if (final && inbox.empty) {
      this.#listeners.dispatch(
        this,
        messageData(type, payload, hold !== undefined),
      );
    } else {
      inbox.push(type, payload, size, final, hold);
      if (final) this.#dispatchQueuedMessages();
    }
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
    if (this.#ended !== undefined || this.#inbox.peerClose !== undefined) {
      return;
    }
    this.#inbox.closeArrived(code, reason);
    this.#outbox.peerClosed();
    const localFirst = this.#state === "closeSent";
    this.#state = "closeReceived";
    this.#inbox.wake();
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
    // Errors are made only for someone to receive them: each costs a stack.
    const failure = () => endedError("send()", outcome);
    this.#opening?.reject(failure());
    this.#opening = undefined;
    this.#outbox.end(failure);
    this.#inbox.end(outcome);
    const hook = this.#endHook;
    this.#endHook = undefined;
    if (hook !== undefined) {
      try {
        hook(this, outcome);
      } catch (error) {
        // As a throwing event listener would be: reported, not in the way.
        reportError(error);
      }
    }
    if (outcome.error !== undefined) {
      this.dispatchEvent(
        new ErrorEvent("error", {
          error: outcome.error,
          message: outcome.error.message,
        }),
      );
    }
    this.dispatchEvent(new SocketCloseEvent(outcome));
    this.#settleClosed?.(outcome);
    this.#settleClosed = undefined;
  }

  /**
   * Answers the peer's close frame, echoing its code and reason, once the
   * sends already queued were written: replies to messages that came before
   * the close still go out.
   */
  protected answerClose(): void {
    const peer = this.#inbox.peerClose;
    if (peer !== undefined && this.#state === "closeReceived") {
      this.#startClose(peer.code, peer.reason);
    }
  }

  /** Bytes received and queued that the application has not taken yet. */
  protected get bufferedIncoming(): number {
    return this.#inbox.bytes;
  }

  /**
   * Called after the application took queued data: a backend that paused
   * reading because `bufferedIncoming` grew may resume.
   */
  protected onIncomingTaken(): void {}

  /** Complete messages received and not taken by the application yet. */
  protected get completeMessagesQueued(): number {
    return this.#inbox.completeMessages;
  }

  /**
   * Called when `receive()` hands the peer's close to the application: a
   * backend that waits for the application before answering may answer now.
   */
  protected onCloseDelivered(): void {}

  /** The close frame the peer sent, if one arrived. */
  protected get peerClose(): ReceivedClose | undefined {
    return this.#inbox.peerClose;
  }

  // ---- internals ----------------------------------------------------------

  #startClose(code: number, reason: string): Promise<void> {
    if (this.#ended !== undefined || this.#localCloseRequested) {
      return this.closed.then(() => {});
    }
    this.#localCloseRequested = true;
    this.#outbox.refuse(() =>
      new WebSocketError(
        "Cannot send: close() or closeOutput() was already called on this socket",
        { status: WebSocketStatus.InvalidState },
      )
    );
    const sent = Promise.withResolvers<void>();
    // A reply with nothing queued before it cannot be held up: no timer.
    const nothingAhead = this.#state === "closeReceived" && this.#outbox.idle;
    if (!nothingAhead) this.#armCloseTimer();
    this.#drained().then(() => {
      if (this.#ended !== undefined) return;
      const replying = this.#state === "closeReceived";
      this.transmitClose(code, reason);
      if (replying) {
        const peer = this.#inbox.peerClose!;
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

  /** Ends the socket if the close handshake is not done within `closeTimeout`. */
  #armCloseTimer(): void {
    this.#closeTimer = setTimeout(() => {
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
  }

  /** Resolves when the socket is open and every queued send was written. */
  async #drained(): Promise<void> {
    if (this.#state === "connecting") {
      if (this.#opening === undefined) {
        this.#opening = Promise.withResolvers<void>();
        // Rejected if the socket ends unopened, which the catch below handles.
        this.#opening.promise.catch(() => {});
      }
      try {
        await this.#opening.promise;
      } catch {
        return;
      }
    }
    await this.#outbox.drained();
  }

  #dispatchQueuedMessages(): void {
    const inbox = this.#inbox;
    for (
      let message = inbox.takeMessage();
      message !== undefined;
      message = inbox.takeMessage()
    ) {
      this.#listeners.dispatch(this, message);
    }
  }

  #eventModeError(what: string): WebSocketError {
    return new WebSocketError(
      `Cannot use ${what}: this socket delivers messages as "message" events since a listener was added`,
      { status: WebSocketStatus.InvalidState },
    );
  }
}

/** The options of a `send()` given none, shared rather than made per call. */
const NO_OPTIONS: SendOptions = Object.freeze({});

/** An iteration that throws `error` on its first step. */
// deno-lint-ignore require-yield
async function* failing(error: WebSocketError): AsyncGenerator<never> {
  throw error;
}

/** The UTF-8 size of `text`, exact unless it certainly exceeds `limit`. */
function stringByteLengthUpTo(text: string, limit: number): number {
  // Each UTF-16 unit is at most 3 UTF-8 bytes and at least 1.
  if (text.length * 3 <= limit) return utf8ByteLength(text);
  if (text.length > limit) return text.length;
  return utf8ByteLength(text);
}
