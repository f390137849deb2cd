/**
 * The message socket (like UWP's `MessageWebSocket`): whole messages in
 * `message` events, sends of the type its control names, a `close` event
 * and `closed` promise saying how it ended.
 *
 * @module
 */

import type { EngineSocket } from "../engine/engine_socket.ts";
import type { MessageData, MessageType, SendData } from "../socket/mod.ts";
import { ClientSocket } from "./client_socket.ts";
import { SocketControl, type SocketControlOptions } from "./socket_control.ts";

/** Settings of a {@linkcode MessageSocket}. */
export interface MessageSocketOptions extends SocketControlOptions {
  /** The type `send()` uses. Default `"text"`; may change at any time. */
  messageType?: MessageType;
}

/** The settings of a message socket: fixed at connect, but for `messageType`. */
export class MessageSocketControl extends SocketControl {
  #messageType: MessageType;

  /** Starts from `options`. */
  constructor(options: MessageSocketOptions = {}) {
    const { messageType = "text", ...rest } = options;
    super(rest);
    this.#messageType = checkType(messageType);
  }

  /** The type of the messages `send()` sends; changeable after connect. */
  get messageType(): MessageType {
    return this.#messageType;
  }

  set messageType(type: MessageType) {
    this.#messageType = checkType(type);
  }
}

/** Options of {@linkcode MessageSocket.send}. */
export interface MessageSendOptions {
  /** Cancels the send while it waits in the queue. */
  signal?: AbortSignal;
  /** False sends this message uncompressed (for secrets: CRIME/BREACH). */
  compress?: boolean;
}

/**
 * A client socket that exchanges whole messages. Settings go in the
 * constructor or `control.set()` before `connect()`, and are fixed after;
 * `control.messageType` says how `send()` sends and may change any time.
 * Incoming messages arrive as `message` events (`data` is a string for
 * text, a `Uint8Array` for binary); `close` says how the socket ended.
 *
 * @example Chat with an echo server
 * ```ts
 * import { MessageSocket, serveEngine } from "@socketry/socketry";
 *
 * const server = serveEngine({ port: 0, path: "/ws" }, (socket) => {
 *   socket.addEventListener("message", ({ data }) => socket.send(data));
 * });
 * const { port } = await server.listening;
 *
 * const socket = new MessageSocket({ messageType: "text" });
 * const echoed = new Promise((resolve) =>
 *   socket.addEventListener("message", (event) => resolve((event as MessageEvent).data))
 * );
 * await socket.connect(`ws://127.0.0.1:${port}/ws`);
 * await socket.send("hello");
 * console.log(await echoed); // "hello"
 * socket.control.messageType = "binary";
 * await socket.send("now as bytes");
 * console.log(socket.information.bandwidth.messagesSent); // 2
 * await socket.close(1000, "done");
 * await server.shutdown();
 * ```
 */
export class MessageSocket extends ClientSocket {
  /** The settings: fixed at `connect()`, but for `messageType`. */
  readonly control: MessageSocketControl;

  /** Creates an unconnected socket with these settings. */
  constructor(options: MessageSocketOptions = {}) {
    super();
    this.control = new MessageSocketControl(options);
  }

  /** Sends one whole message of `control.messageType`. */
  send(data: SendData, options: MessageSendOptions = {}): Promise<void> {
    return this.socket.send(data, {
      type: this.control.messageType,
      ...options,
    });
  }

  /** Forwards each whole message as a `message` event. */
  protected attach(socket: EngineSocket): void {
    socket.addEventListener("message", ({ data }) => {
      this.dispatchEvent(
        new MessageEvent<MessageData>("message", { data }),
      );
    });
  }
}

function checkType(type: MessageType): MessageType {
  if (type !== "text" && type !== "binary") {
    throw new TypeError(
      `messageType must be "text" or "binary", got ${JSON.stringify(type)}`,
    );
  }
  return type;
}
