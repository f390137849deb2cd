/**
 * The public types of a socket: its states, what `send()` takes and
 * `receive()` gives, the options, the outcome, the statistics and the
 * events.
 *
 * @module
 */

import type { WebSocketError } from "../errors.ts";
import type { MessageType } from "../protocol/parser.ts";

export type { MessageType };

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
  /**
   * Ends the wait; the data stays queued for the next call. It rejects with
   * status `timeout` when the signal's reason is a `TimeoutError` (as from
   * `AbortSignal.timeout()`), `cancelled` otherwise.
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode Socket.messages}. */
export interface MessagesOptions {
  /**
   * Ends the iteration: the waiting step rejects with status `timeout` when
   * the signal's reason is a `TimeoutError`, `cancelled` otherwise.
   */
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
   * rejects with status `timeout` when the signal's reason is a
   * `TimeoutError` (as from `AbortSignal.timeout()`), `cancelled` otherwise. Cancelling a fragment of a message
   * whose other fragments were queued or sent aborts the socket, since the
   * message can no longer be completed.
   */
  signal?: AbortSignal;
}

/**
 * How a socket ended:
 * - `close`: a close handshake took place (see `initiator` and `wasClean`);
 * - `disconnect`: the peer vanished without a close frame, or was silent past
 *   the allowed limit (`clientPingInterval`);
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
  /**
   * When the last message was sent or received (ms since the epoch). A
   * processor's broadcast stamps every socket it reaches with the time it
   * began.
   */
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
   * `sendQueueFull` (the slow-consumer policy). Default 16 MiB. It counts
   * payload bytes: each waiting message also holds memory of its own (on
   * the native backend about 1 KiB inside Deno), so small messages can hold
   * many times this limit; a lower limit also closes readers that fall
   * behind only during a burst.
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
   * (a quiet connection is no error), 30000 on message and stream sockets.
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
