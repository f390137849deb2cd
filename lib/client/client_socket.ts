/**
 * What message and stream sockets share: settings fixed at `connect()`, a
 * `closed` promise and `close` event, and {@linkcode SocketInformation}.
 *
 * @module
 */

import type { EngineSocket } from "../engine/engine_socket.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { type SocketClosed, SocketCloseEvent } from "../socket/mod.ts";
import { connect } from "./connect.ts";
import { InformationReader, type SocketInformation } from "./information.ts";
import type { SocketControl } from "./socket_control.ts";

// Message and stream sockets keep the 30-second receive limit they document.
const RECEIVE_TIMEOUT = 30_000;

/** Options of `connect()` on a message or stream socket. */
export interface ClientConnectOptions {
  /**
   * Cancels connecting: with status `timeout` when the signal's reason is a
   * `TimeoutError` (as from `AbortSignal.timeout()`), `cancelled` otherwise.
   */
  signal?: AbortSignal;
}

/**
 * The base of {@linkcode MessageSocket} and {@linkcode StreamSocket}: an
 * `EventTarget` that connects once with the settings of its `control`.
 */
export abstract class ClientSocket extends EventTarget {
  /** The settings, fixed once `connect()` is called. */
  abstract readonly control: SocketControl;
  #socket: EngineSocket | undefined;
  readonly #information = new InformationReader();
  readonly #closed = Promise.withResolvers<SocketClosed>();

  /**
   * Connects to a `ws://` or `wss://` URL with the control's settings. It
   * may be called once; the settings are fixed from the call on. Rejects
   * with a `WebSocketError` whose status says why (and `closed` then
   * resolves with the failure). Unlike a socket of `connect()`, a read
   * waits at most 30 s for data unless the control's `receiveTimeout` says
   * otherwise.
   */
  async connect(
    url: string | URL,
    options: ClientConnectOptions = {},
  ): Promise<void> {
    if (this.control.fixed) {
      throw new WebSocketError(
        "connect() was already called on this socket; create a new one to connect again",
        { status: WebSocketStatus.InvalidState },
      );
    }
    this.control.fix();
    let socket: EngineSocket;
    try {
      socket = await connect(url, {
        receiveTimeout: RECEIVE_TIMEOUT,
        ...this.control.options,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      const failure = error instanceof WebSocketError
        ? error
        : new WebSocketError(String(error), {
          status: WebSocketStatus.Unknown,
          cause: error,
        });
      this.#closed.resolve({
        code: 1006,
        reason: failure.message,
        wasClean: false,
        initiator: "none",
        ending: "error",
        error: failure,
      });
      throw error;
    }
    this.#socket = socket;
    this.#information.start();
    this.attach(socket);
    socket.closed.then((outcome) => {
      this.#closed.resolve(outcome);
      this.dispatchEvent(new SocketCloseEvent(outcome));
    });
  }

  /** Addresses, protocol, extensions and bandwidth, read at this moment. */
  get information(): SocketInformation {
    return this.#information.read(this.#socket);
  }

  /** Settles once, when the socket ended (or failed to connect). Never rejects. */
  get closed(): Promise<SocketClosed> {
    return this.#closed.promise;
  }

  /**
   * Starts the close handshake with `code` (default 1000) and `reason`;
   * resolves with how the socket ended.
   */
  close(code?: number, reason?: string): Promise<SocketClosed> {
    return this.socket.close(code, reason);
  }

  /** Drops the connection at once, without a close handshake. */
  abort(): void {
    this.#socket?.abort();
  }

  /** The connected socket; throws before `connect()` resolved. */
  protected get socket(): EngineSocket {
    if (this.#socket === undefined) throw notConnected();
    return this.#socket;
  }

  /** Wires the connected socket to the subclass's API. */
  protected abstract attach(socket: EngineSocket): void;
}

/** The error for using a message or stream socket before it connected. */
export function notConnected(): WebSocketError {
  return new WebSocketError("Not connected: call connect() first", {
    status: WebSocketStatus.InvalidState,
  });
}
