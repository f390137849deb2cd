/**
 * The browser client: a WebSocket that reconnects, keeps a heartbeat and
 * queues what is sent while it is away.
 *
 * @module
 */

import { WebSocketError } from "../errors.ts";
import { backoffDelay } from "./backoff.ts";
import { ClosedEvent, ConnectingEvent, ReconnectingEvent } from "./events.ts";
import { Heartbeat, HEARTBEAT_PING, HEARTBEAT_PONG } from "./heartbeat.ts";
import { type BrowserSendData, OfflineQueue } from "./offline_queue.ts";
import {
  type ReconnectingSocketOptions,
  type ResolvedOptions,
  resolveReconnectingOptions,
  type SocketUrl,
} from "./options.ts";

/**
 * Where the socket is: `connecting` (the first connection), `open`,
 * `reconnecting` (lost, waiting or trying again; it stays so until the
 * next `open`), `closed` (stopped for good, or not started).
 */
export type ReconnectingState =
  | "connecting"
  | "open"
  | "reconnecting"
  | "closed";

/** What {@linkcode ReconnectingSocket.send} did with a message. */
export type SendOutcome = "sent" | "queued" | "dropped";

/** Options of one {@linkcode ReconnectingSocket.send}. */
export interface BrowserSendOptions {
  /**
   * Send only if open now: while disconnected the message is dropped (and
   * `send` returns `"dropped"`) instead of queued. For data that is stale
   * by the time the socket is back, such as a cursor position.
   */
  volatile?: boolean;
}

/** Counters of a {@linkcode ReconnectingSocket} since it was created. */
export interface ReconnectingStats {
  /** Connection attempts started. */
  readonly attempts: number;
  /** Open connections lost without `close()`. */
  readonly drops: number;
  /** Messages waiting in the offline queue. */
  readonly queued: number;
  /** Bytes waiting in the offline queue. */
  readonly queuedBytes: number;
}

/** The events of a {@linkcode ReconnectingSocket}. */
export interface ReconnectingSocketEventMap {
  /** An attempt starts. */
  connecting: ConnectingEvent;
  /** A connection opened; queued messages have just been sent. */
  open: Event;
  /** A connection or attempt was lost; the next attempt is scheduled. */
  reconnecting: ReconnectingEvent;
  /** The socket stopped for good. */
  closed: ClosedEvent;
  /** A message from the server (heartbeats excluded). */
  message: MessageEvent<string | ArrayBuffer | Blob>;
}

/** Server close codes after which the socket does not come back. */
function isFinalCode(code: number): boolean {
  return code === 1008 || (code >= 4000 && code <= 4999);
}

/**
 * A WebSocket client for browsers (and Deno) that survives dropped
 * connections: it reconnects with exponential backoff and full jitter,
 * detects a dead line with heartbeats, and queues messages sent while
 * disconnected, up to a bound, to send them in order once it is back.
 *
 * - The URL may be a function, called before every attempt (fresh tokens).
 * - It stops retrying when the server closes with 1008 (policy) or a code
 *   of 4000–4999 (the application's "do not come back"), after
 *   `maxRetries`, or on `close()`.
 * - Where `globalThis.addEventListener` exists, the browser's `online`
 *   event starts an attempt at once and `offline` counts as a drop.
 * - Delivery is at most once: a message handed to the browser just before
 *   a connection died may be lost; messages queued while disconnected go
 *   out once each after the reconnect.
 *
 * @example A page that stays connected
 * ```ts
 * import { ReconnectingSocket } from "@socketry/socketry/browser";
 *
 * const socket = new ReconnectingSocket("ws://localhost:8080/ws", {
 *   startClosed: true, // connect with socket.open()
 * });
 * socket.addEventListener("reconnecting", (event) => {
 *   console.log(`retry ${event.attempt} in ${event.delay} ms`);
 * });
 * socket.addEventListener("message", (event) => console.log(event.data));
 * console.log(socket.state); // closed
 * socket.close();
 * ```
 *
 * @example A fresh token on every attempt
 * ```ts
 * import { ReconnectingSocket } from "@socketry/socketry/browser";
 *
 * const token = () => Promise.resolve("t0k3n");
 * const socket = new ReconnectingSocket(
 *   async () => `wss://example.com/ws?token=${await token()}`,
 *   { startClosed: true },
 * );
 * socket.close();
 * ```
 */
export class ReconnectingSocket extends EventTarget {
  readonly #url: SocketUrl;
  readonly #options: ResolvedOptions;
  readonly #queue: OfflineQueue;
  readonly #heartbeat: Heartbeat | undefined;
  #state: ReconnectingState = "closed";
  #ws: WebSocket | undefined;
  /** Bumped to make pending work of an earlier attempt stale. */
  #generation = 0;
  #retries = 0;
  #timer: unknown;
  #openedAt = 0;
  #attempts = 0;
  #drops = 0;
  #closing: { code: number; reason: string } | undefined;

  /**
   * A socket to `url`. It starts connecting at once unless
   * `options.startClosed` is set.
   */
  constructor(url: SocketUrl, options: ReconnectingSocketOptions = {}) {
    super();
    this.#url = url;
    const resolved = this.#options = resolveReconnectingOptions(options);
    this.#queue = new OfflineQueue(
      resolved.maxQueuedMessages,
      resolved.maxQueuedBytes,
    );
    if (resolved.heartbeatInterval > 0) {
      this.#heartbeat = new Heartbeat(
        resolved.heartbeatInterval,
        resolved.heartbeatTimeout,
        resolved.clock,
        {
          ping: () => this.#ws?.send(HEARTBEAT_PING),
          dead: () => this.#lost(1006, "heartbeat timeout", false),
        },
      );
    }
    if (!resolved.startClosed) this.open();
  }

  /** Adds a listener for one of the socket's events. */
  override addEventListener<K extends keyof ReconnectingSocketEventMap>(
    type: K,
    listener: (
      this: ReconnectingSocket,
      event: ReconnectingSocketEventMap[K],
    ) => void,
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
    super.addEventListener(type, listener, options);
  }

  /** Removes a listener added for one of the socket's events. */
  override removeEventListener<K extends keyof ReconnectingSocketEventMap>(
    type: K,
    listener: (
      this: ReconnectingSocket,
      event: ReconnectingSocketEventMap[K],
    ) => void,
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
    super.removeEventListener(type, listener, options);
  }

  /** Where the socket is now. */
  get state(): ReconnectingState {
    return this.#state;
  }

  /** The subprotocol the server selected on the open connection, or `""`. */
  get protocol(): string {
    return this.#state === "open" ? this.#ws?.protocol ?? "" : "";
  }

  /** Bytes handed to the open connection and not yet sent, as `WebSocket.bufferedAmount`. */
  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  /** Counters since the socket was created. */
  get stats(): ReconnectingStats {
    return {
      attempts: this.#attempts,
      drops: this.#drops,
      queued: this.#queue.length,
      queuedBytes: this.#queue.bytes,
    };
  }

  /**
   * Starts connecting if the socket is `closed` (created with
   * `startClosed`, or closed before); otherwise does nothing.
   */
  open(): void {
    if (this.#state !== "closed") return;
    this.#closing = undefined;
    this.#retries = 0;
    this.#state = "connecting";
    this.#watchNetwork(true);
    // Later, so that listeners added right after the constructor see it all.
    const generation = this.#generation;
    queueMicrotask(() => {
      if (generation === this.#generation) this.#connect();
    });
  }

  /**
   * Sends `data` now if the socket is open; otherwise queues it to be sent
   * after the reconnect (or drops it, for a `volatile` send). Throws a
   * `WebSocketError` with status `sendQueueFull` when the queue is at its
   * bound, and with status `invalidState` after `close()`.
   */
  send(data: BrowserSendData, options: BrowserSendOptions = {}): SendOutcome {
    if (this.#state === "closed") {
      throw new WebSocketError(
        "Cannot send: the socket is closed (call open() to connect again)",
        { status: "invalidState" },
      );
    }
    // A socket already closing would discard the message without a word.
    if (this.#state === "open" && this.#ws!.readyState === 1) {
      this.#ws!.send(data);
      return "sent";
    }
    if (options.volatile) return "dropped";
    this.#queue.push(data);
    return "queued";
  }

  /**
   * Closes for good: no more attempts. The `closed` event follows once the
   * connection has closed, with its code and reason; messages still queued
   * are discarded and counted in its `unsent`.
   */
  close(code = 1000, reason = ""): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#closing = { code, reason };
    this.#stopTimers();
    this.#watchNetwork(false);
    const ws = this.#ws;
    if (ws === undefined) return this.#finish(code, reason, true);
    ws.close(code, reason);
    // The close handshake of a dead line could take the browser minutes.
    this.#timer = this.#options.clock.setTimeout(
      () => this.#ended(ws, 1006, reason, false),
      this.#options.connectTimeout,
    );
  }

  /** Drops the current connection or wait and starts an attempt now. */
  reconnect(): void {
    if (this.#state === "closed") return;
    if (this.#state === "open") this.#state = "reconnecting";
    this.#detach();
    this.#stopTimers();
    this.#connect();
  }

  /**
   * Messages from the server across reconnects, until the socket is
   * closed for good (at once if it is closed now). Messages that arrive
   * while nobody iterates are not kept.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<
    string | ArrayBuffer | Blob,
    void,
    void
  > {
    const messages: (string | ArrayBuffer | Blob)[] = [];
    let done = this.#state === "closed";
    let wake = () => {};
    const onMessage = (event: MessageEvent) => {
      messages.push(event.data);
      wake();
    };
    const onClosed = () => {
      done = true;
      wake();
    };
    this.addEventListener("message", onMessage);
    this.addEventListener("closed", onClosed);
    try {
      while (true) {
        if (messages.length > 0) yield messages.shift()!;
        else if (done) return;
        else await new Promise<void>((resolve) => wake = resolve);
      }
    } finally {
      this.removeEventListener("message", onMessage);
      this.removeEventListener("closed", onClosed);
    }
  }

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    const { clock, connectTimeout } = this.#options;
    this.#attempts++;
    this.dispatchEvent(new ConnectingEvent(this.#retries));
    this.#timer = clock.setTimeout(
      () => this.#lost(1006, "connect timeout", false),
      connectTimeout,
    );
    let url: string | URL;
    try {
      url = typeof this.#url === "function" ? await this.#url() : this.#url;
    } catch (error) {
      if (generation === this.#generation) {
        this.#lost(1006, `the URL function failed: ${error}`, false);
      }
      return;
    }
    if (generation !== this.#generation) return;
    let ws: WebSocket;
    try {
      ws = new this.#options.WebSocket(url, this.#options.protocols);
    } catch (error) {
      this.#state = "closed";
      this.#stopTimers();
      this.#watchNetwork(false);
      return this.#finish(1006, `invalid URL: ${error}`, false);
    }
    this.#ws = ws;
    ws.binaryType = this.#options.binaryType;
    ws.onopen = () => this.#opened(ws);
    ws.onmessage = (event) => this.#received(event);
    ws.onclose = (event) =>
      this.#ended(ws, event.code, event.reason, event.wasClean);
  }

  #opened(ws: WebSocket): void {
    this.#stopTimers();
    this.#state = "open";
    this.#openedAt = this.#options.clock.now();
    for (const data of this.#queue.take()) ws.send(data);
    this.#heartbeat?.start();
    this.dispatchEvent(new Event("open"));
  }

  #received(event: MessageEvent): void {
    const { data } = event;
    const reserved = data === HEARTBEAT_PONG || data === HEARTBEAT_PING;
    this.#heartbeat?.received(reserved);
    if (!reserved) {
      this.dispatchEvent(new MessageEvent("message", { data }));
    }
  }

  #ended(ws: WebSocket, code: number, reason: string, wasClean: boolean): void {
    if (ws !== this.#ws) return;
    // Deno reports a connection that never opened with code 0.
    if (this.#closing === undefined) {
      return this.#lost(code || 1006, reason, wasClean);
    }
    this.#detach();
    this.#stopTimers();
    this.#finish(code, reason, wasClean);
  }

  /** The connection or attempt ended without `close()`: retry or stop. */
  #lost(code: number, reason: string, wasClean: boolean): void {
    const { clock, minUptime, maxRetries } = this.#options;
    const wasOpen = this.#state === "open";
    this.#detach();
    this.#stopTimers();
    this.#generation++;
    if (wasOpen) {
      this.#drops++;
      if (clock.now() - this.#openedAt >= minUptime) this.#retries = 0;
    }
    if (isFinalCode(code) || this.#retries >= maxRetries) {
      this.#state = "closed";
      this.#watchNetwork(false);
      const why = isFinalCode(code)
        ? reason
        : `gave up after ${this.#retries} retries (last: ${code} ${reason})`;
      return this.#finish(code, why, wasClean);
    }
    this.#retries++;
    const delay = backoffDelay(
      this.#retries,
      this.#options,
      this.#options.random,
    );
    this.#state = "reconnecting";
    this.#timer = clock.setTimeout(() => this.#connect(), delay);
    this.dispatchEvent(
      new ReconnectingEvent(this.#retries, delay, code, reason),
    );
  }

  /** Forgets the current connection, closing it if it is still there. */
  #detach(): void {
    this.#heartbeat?.stop();
    const ws = this.#ws;
    if (ws === undefined) return;
    this.#ws = undefined;
    ws.onopen = ws.onmessage = ws.onclose = null;
    if (ws.readyState < 2) ws.close(1000, "reconnecting");
  }

  #stopTimers(): void {
    this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    this.#generation++;
    const unsent = this.#queue.take().length;
    this.dispatchEvent(new ClosedEvent(code, reason, wasClean, unsent));
  }

  #watchNetwork(on: boolean): void {
    const global = globalThis as {
      addEventListener?: EventTarget["addEventListener"];
      removeEventListener?: EventTarget["removeEventListener"];
    };
    if (typeof global.addEventListener !== "function") return;
    const method = on ? "addEventListener" : "removeEventListener";
    global[method]!("online", this.#online);
    global[method]!("offline", this.#offline);
  }

  readonly #online = (): void => {
    if (this.#state === "reconnecting" && this.#ws === undefined) {
      this.#stopTimers();
      this.#connect();
    }
  };

  readonly #offline = (): void => {
    if (this.#state === "open" || this.#ws !== undefined) {
      this.#lost(1006, "the browser went offline", false);
    }
  };
}
