/**
 * The native backend: Deno's built-in WebSocket (from `Deno.upgradeWebSocket`)
 * wrapped as a socketry {@linkcode Socket}. It is the fast path, with the
 * limits of Deno's socket, stated here once:
 *
 * - Messages go out whole: fragments given with `endOfMessage: false` are
 *   joined and sent as one message when the last fragment arrives.
 * - Keep-alive is Deno's `idleTimeout`: after half of it without a message
 *   or pong, Deno pings; after the other half without one, it closes with
 *   1001. Ping payloads, pong cadence and control frames are not accessible.
 * - Deno cannot drop a connection from JavaScript: `abort()` and timeouts end
 *   the socket at once for the application, and Deno sends a close frame.
 * - After `closeOutput()`, Deno drops data the peer still sends.
 * - No permessage-deflate and no HTTP/2: use the engine backend for those.
 * - Deno answers the peer's close frame the moment it reads it, which is
 *   right after it delivered the message before it, before any promise
 *   continuation runs. When a peer closes right after its last messages, a
 *   reply sent from a `for await` loop, after `receive()` or after an
 *   `await` never reaches the peer: Deno writes it after its close frame,
 *   or `send()` rejects with a `closed` error once Deno reports the close.
 *   A `message` listener runs as each message arrives, before Deno reads
 *   the next frame, so what it sends at once always goes out first: reply
 *   from one on this backend. The engine backend answers a close only once
 *   the application has taken the messages that came before it.
 *
 * @module
 */

import { concatBytes } from "./bytes.ts";
import { WebSocketError, WebSocketStatus } from "./errors.ts";
import {
  type MessageType,
  type ResolvedSocketOptions,
  Socket,
  type SocketEnding,
} from "./socket/mod.ts";

const DENO_PING_TIMEOUT = "No response from ping frame.";
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** How a native socket reports Deno's unanswered-ping close. */
export type NativeSilenceEnding = Extract<
  SocketEnding,
  "disconnect" | "timeout"
>;

/**
 * A {@linkcode Socket} on Deno's built-in WebSocket. The middleware and
 * {@linkcode acceptWebSocket} create these; wrap one yourself only when you
 * call `Deno.upgradeWebSocket` yourself.
 *
 * @example Wrap an upgrade made by hand
 * ```ts
 * import { NativeSocket, resolveServerOptions } from "@socketry/socketry";
 *
 * const handler = (request: Request): Response => {
 *   const { socket: ws, response } = Deno.upgradeWebSocket(request);
 *   const socket = new NativeSocket(ws, resolveServerOptions().socket);
 *   socket.addEventListener("message", ({ data }) => socket.send(data));
 *   return response;
 * };
 * // Deno.serve(handler);
 * ```
 */
export class NativeSocket extends Socket {
  readonly #ws: WebSocket;
  readonly #silenceEnding: NativeSilenceEnding;
  readonly #protocol: string;
  readonly #listener: EventListenerObject;
  #lastError: string | undefined;
  // Made by the first fragment sent with `endOfMessage: false`.
  #fragments: (string | Uint8Array)[] | undefined;
  #lastBuffered = 0;
  #sentSinceBuffered = 0;

  /**
   * Listens to Deno's socket for its socket: one object with a method
   * rather than a closure per socket.
   */
  static readonly #Listener = class implements EventListenerObject {
    readonly #socket: NativeSocket;

    constructor(socket: NativeSocket) {
      this.#socket = socket;
    }

    handleEvent(event: Event): void {
      this.#socket.#onEvent(event);
    }
  };

  /**
   * Wraps a Deno WebSocket that has not opened yet. `silenceEnding` says how
   * to report Deno's keep-alive close: as a disconnect (the peer went silent,
   * the default) or as a keep-alive timeout. `protocol` is the subprotocol
   * given to `Deno.upgradeWebSocket`, known before Deno's socket opens
   * (default none).
   */
  constructor(
    ws: WebSocket,
    options: ResolvedSocketOptions,
    silenceEnding?: NativeSilenceEnding,
    protocol?: string,
  ) {
    super(options);
    this.#ws = ws;
    this.#protocol = protocol ?? "";
    this.#silenceEnding = silenceEnding ?? "disconnect";
    ws.binaryType = "arraybuffer";
    // One listener object for Deno's four events: each on* property would
    // cost a closure, a wrapper and a handler map entry per socket. The
    // open listener goes once the socket opened.
    const listener = this.#listener = new NativeSocket.#Listener(this);
    ws.addEventListener("message", listener);
    ws.addEventListener("open", listener, { once: true });
    ws.addEventListener("error", listener);
    ws.addEventListener("close", listener);
  }

  /** The subprotocol agreed in the handshake, or an empty string. */
  get protocol(): string {
    return this.#protocol;
  }

  /** Always empty: Deno's socket negotiates no extensions. */
  get extensions(): string {
    return this.#ws.extensions;
  }

  /** Sends a message; fragments are held until the last one. */
  protected transmit(
    data: string | Uint8Array,
    type: MessageType,
    final: boolean,
  ): void {
    if (!final) {
      (this.#fragments ??= []).push(data);
      return;
    }
    let message = data;
    if (this.#fragments !== undefined) {
      this.#fragments.push(data);
      message = joinFragments(this.#fragments, type);
      this.#fragments = undefined;
    }
    if (type === "text" && typeof message !== "string") {
      try {
        message = decoder.decode(message);
      } catch {
        throw new TypeError("A text message must be valid UTF-8");
      }
    }
    if (this.#ws.readyState !== WebSocket.OPEN) {
      // Deno would drop the message silently: it already answered the
      // peer's close frame, or is closing.
      throw new WebSocketError(
        "Cannot send: Deno's WebSocket already answered the peer's close frame; on the native backend, reply from a message listener, which runs before Deno reads the close frame",
        { status: WebSocketStatus.Closed },
      );
    }
    this.#ws.send(message);
    // A string's UTF-8 form takes at most 3 bytes per UTF-16 unit.
    this.#sentSinceBuffered += typeof message === "string"
      ? message.length * 3
      : message.byteLength;
  }

  /** Sends a close frame through Deno's `close()`. */
  protected transmitClose(code: number, reason: string): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ws.close(code, reason);
  }

  /** Ends Deno's socket; Deno itself sends a close frame without a code. */
  protected terminate(): void {
    this.#fragments = undefined;
    const ws = this.#ws;
    if (ws.readyState === WebSocket.OPEN) ws.close();
    else if (ws.readyState === WebSocket.CONNECTING) {
      // Deno cannot cancel an upgrade in flight: close as soon as it opens.
      ws.addEventListener("open", () => ws.close(), { once: true });
    }
  }

  /** Deno's `bufferedAmount`. */
  protected transportBufferedAmount(): number {
    this.#lastBuffered = this.#ws.bufferedAmount;
    this.#sentSinceBuffered = 0;
    return this.#lastBuffered;
  }

  /**
   * Deno's `bufferedAmount` is a call into the runtime; it can only have
   * grown by what was sent since it was last read.
   */
  protected override transportBufferedBound(): number {
    return this.#lastBuffered + this.#sentSinceBuffered;
  }

  /**
   * Deno's socket writes what it was given in order, and counts it in
   * `bufferedAmount` until written.
   */
  protected override get transportQueues(): boolean {
    return true;
  }

  /** Deno has no drain event: poll `bufferedAmount` every 2 ms. */
  protected waitForDrain(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 2));
  }

  #onEvent(event: Event): void {
    switch (event.type) {
      case "message": {
        const data = (event as MessageEvent<string | ArrayBuffer>).data;
        if (typeof data === "string") this.handleData("text", data, true);
        else this.handleData("binary", new Uint8Array(data), true);
        return;
      }
      case "open":
        return this.handleOpen();
      case "error":
        this.#lastError = (event as ErrorEvent).message;
        return;
      case "close":
        return this.#onClose(event as CloseEvent);
    }
  }

  #onClose(event: CloseEvent): void {
    // Deno keeps a socket that ended without a close handshake until its
    // keep-alive timer fires (up to half of idleTimeout later): let go of
    // this one, so that only Deno's own object waits that long.
    const ws = this.#ws;
    const listener = this.#listener;
    ws.removeEventListener("message", listener);
    ws.removeEventListener("error", listener);
    ws.removeEventListener("close", listener);
    const error = this.#lastError;
    if (error === DENO_PING_TIMEOUT) {
      const keepAlive = this.#silenceEnding === "timeout";
      const failure = new WebSocketError(
        keepAlive
          ? "Keep-alive timeout: the peer did not answer a ping in time"
          : "The peer went silent: no frame and no answer to a ping in time",
        {
          status: keepAlive
            ? WebSocketStatus.KeepAliveTimeout
            : WebSocketStatus.Disconnected,
          code: 1006,
        },
      );
      this.finish({
        code: 1006,
        reason: failure.message,
        wasClean: false,
        initiator: keepAlive ? "local" : "none",
        ending: this.#silenceEnding,
        error: failure,
      });
    } else if (error !== undefined) {
      this.#onError(error);
    } else if (event.wasClean) {
      this.handleCloseFrame(event.code, event.reason, true);
    } else if (this.state === "closeSent") {
      this.finish({
        code: 1006,
        reason: "The peer sent data after the close frame",
        wasClean: false,
        initiator: "local",
        ending: "close",
      });
    } else {
      this.#onLost("the connection ended");
    }
  }

  #onError(message: string): void {
    if (/eof|reset|broken pipe|connection/i.test(message)) {
      this.#onLost(message);
      return;
    }
    const invalidText = /utf-?8/i.test(message);
    const tooBig = /size|too large|too big/i.test(message);
    const failure = new WebSocketError(
      `The peer broke the protocol: ${message}`,
      {
        status: invalidText
          ? WebSocketStatus.InvalidPayload
          : tooBig
          ? WebSocketStatus.MessageTooBig
          : WebSocketStatus.ProtocolError,
        code: invalidText ? 1007 : tooBig ? 1009 : 1002,
      },
    );
    this.finish({
      code: failure.code!,
      reason: failure.message,
      wasClean: false,
      initiator: "none",
      ending: "error",
      error: failure,
    });
  }

  #onLost(cause: string): void {
    const failure = new WebSocketError(
      `The peer disconnected without a close frame (${cause})`,
      { status: WebSocketStatus.Disconnected, code: 1006 },
    );
    this.finish({
      code: 1006,
      reason: failure.message,
      wasClean: false,
      initiator: "none",
      ending: "disconnect",
      error: failure,
    });
  }
}

function joinFragments(
  fragments: (string | Uint8Array)[],
  type: MessageType,
): string | Uint8Array {
  if (type === "text" && fragments.every((part) => typeof part === "string")) {
    return fragments.join("");
  }
  return concatBytes(
    fragments.map((part) =>
      typeof part === "string" ? encoder.encode(part) : part
    ),
  );
}
